// The egress channel's multiplexer: strict framing, per-stream flow control, and fail-closed teardown.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import {
  DEFAULT_WINDOW,
  encodeFrame,
  FRAME_CLOSE,
  FRAME_DATA,
  FRAME_END,
  FRAME_OPEN,
  FRAME_WINDOW,
  FrameParser,
  HEADER_BYTES,
  MAX_PAYLOAD,
  Mux,
  MuxProtocolError,
  type MuxStream,
} from "../../src/egress/mux.js";

/** Two connected in-memory duplexes with real backpressure (a writer waits until the reader reads). */
export function duplexPair(highWaterMark = 64 * 1024): [Duplex, Duplex] {
  class End extends Duplex {
    peer!: End;
    waiting: (() => void) | undefined;
    constructor() {
      super({ highWaterMark, allowHalfOpen: true });
    }
    override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void) {
      if (this.peer.destroyed) return cb(new Error("peer closed"));
      if (this.peer.push(chunk)) cb();
      else this.peer.waiting = () => cb();
    }
    override _read() {
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    }
    override _final(cb: (err?: Error | null) => void) {
      this.peer.push(null);
      cb();
    }
    override _destroy(err: Error | null, cb: (err?: Error | null) => void) {
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
      if (!this.peer.destroyed) this.peer.destroy();
      cb(err);
    }
  }
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function withTimeout<T>(p: Promise<T>, ms = 5000, what = "operation"): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out`)), ms)))]).finally(() => clearTimeout(t));
}

/** Resolves when the stream has closed (at once if it already has). */
function closed(s: Duplex): Promise<unknown> {
  return s.closed ? Promise.resolve() : once(s, "close").catch(() => undefined);
}

async function readAll(s: Duplex): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on("data", (c: Buffer) => parts.push(c));
  await withTimeout(once(s, "end"), 10_000, "readAll");
  return Buffer.concat(parts);
}

function pairOfMuxes(opts: { maxStreams?: number; acceptorMax?: number } = {}) {
  const [a, b] = duplexPair();
  const initiator = new Mux(a, { role: "initiator", maxStreams: opts.maxStreams });
  const acceptor = new Mux(b, { role: "acceptor", maxStreams: opts.acceptorMax });
  const accepted: MuxStream[] = [];
  const waiters: ((s: MuxStream) => void)[] = [];
  acceptor.on("stream", (s) => {
    const w = waiters.shift();
    if (w) w(s);
    else accepted.push(s);
  });
  const next = () => withTimeout(new Promise<MuxStream>((resolve) => (accepted.length > 0 ? resolve(accepted.shift() as MuxStream) : waiters.push(resolve))), 5000, "accept");
  return { a, b, initiator, acceptor, next };
}

/** An acceptor whose peer is the test, writing raw bytes. */
function rawAgainst(role: "initiator" | "acceptor") {
  const [raw, b] = duplexPair();
  const mux = new Mux(b, { role });
  const closed = new Promise<Error | undefined>((resolve) => mux.once("close", resolve));
  const received: Buffer[] = [];
  raw.on("data", (c: Buffer) => received.push(c));
  raw.on("error", () => {});
  return { raw, mux, closed, received };
}

describe("egress mux: frame parsing", () => {
  it("round-trips frames fed one byte at a time", () => {
    const frames = [encodeFrame(FRAME_OPEN, 1), encodeFrame(FRAME_DATA, 1, Buffer.from("hello")), encodeFrame(FRAME_END, 1), encodeFrame(FRAME_CLOSE, 7)];
    const bytes = Buffer.concat(frames);
    const p = new FrameParser();
    const out = [];
    for (let i = 0; i < bytes.length; i++) out.push(...p.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(
      out.map((f) => [f.type, f.id, f.payload.toString()]),
      [
        [FRAME_OPEN, 1, ""],
        [FRAME_DATA, 1, "hello"],
        [FRAME_END, 1, ""],
        [FRAME_CLOSE, 7, ""],
      ],
    );
    assert.equal(p.pending, 0);
  });

  it("parses coalesced frames, and frames split across chunks at any point", () => {
    const big = randomBytes(MAX_PAYLOAD);
    const bytes = Buffer.concat([encodeFrame(FRAME_DATA, 3, Buffer.from("a")), encodeFrame(FRAME_DATA, 3, big), encodeFrame(FRAME_WINDOW, 3, Buffer.from([0, 0, 1, 0]))]);
    assert.equal(new FrameParser().push(bytes).length, 3, "all in one chunk");
    for (const cut of [1, 5, HEADER_BYTES, HEADER_BYTES + 1, 20, bytes.length - 4, bytes.length - 1]) {
      const p = new FrameParser();
      const got = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
      assert.equal(got.length, 3, `cut at ${cut}`);
      assert.ok(got[1]?.payload.equals(big));
      assert.equal(got[2]?.payload.readUInt32BE(0), 256);
    }
  });

  it("refuses an unknown type, id 0, and a length wrong for its type, from the header alone", () => {
    const header = (type: number, id: number, length: number) => {
      const h = Buffer.alloc(HEADER_BYTES);
      h.writeUInt8(type, 0);
      h.writeUInt32BE(id, 1);
      h.writeUInt32BE(length, 5);
      return h;
    };
    const cases: [string, Buffer][] = [
      ["unknown type 0", header(0, 1, 0)],
      ["unknown type 9", header(9, 1, 0)],
      ["unknown type 0xff", header(0xff, 1, 0)],
      ["id 0", header(FRAME_DATA, 0, 1)],
      ["oversize DATA (header only, payload never sent)", header(FRAME_DATA, 1, MAX_PAYLOAD + 1)],
      ["4 GiB DATA", header(FRAME_DATA, 1, 0xffffffff)],
      ["empty DATA", header(FRAME_DATA, 1, 0)],
      ["OPEN with a payload", header(FRAME_OPEN, 1, 1)],
      ["END with a payload", header(FRAME_END, 1, 2)],
      ["CLOSE with a payload", header(FRAME_CLOSE, 1, 3)],
      ["WINDOW of 8 bytes", header(FRAME_WINDOW, 1, 8)],
    ];
    for (const [what, bytes] of cases) {
      const p = new FrameParser();
      assert.throws(() => p.push(bytes), MuxProtocolError, what);
      assert.throws(() => p.push(encodeFrame(FRAME_OPEN, 1)), MuxProtocolError, `${what}: stays failed`);
    }
  });

  it("encodeFrame refuses what the parser would refuse", () => {
    assert.throws(() => encodeFrame(FRAME_DATA, 0, Buffer.from("x")), RangeError);
    assert.throws(() => encodeFrame(FRAME_DATA, 1, Buffer.alloc(MAX_PAYLOAD + 1)), RangeError);
  });
});

describe("egress mux: streams", () => {
  it("carries bytes both ways with half-close", async () => {
    const { initiator, next } = pairOfMuxes();
    const s = initiator.open();
    const t = await next();
    s.end("ping");
    assert.equal((await readAll(t)).toString(), "ping");
    // The acceptor can still answer after the initiator's END.
    t.end("pong");
    assert.equal((await readAll(s)).toString(), "pong");
    await withTimeout(Promise.all([closed(s), closed(t)]), 5000, "close");
    assert.equal(initiator.size, 0);
  });

  it("moves megabytes intact in both directions at once, across many streams", async () => {
    const { initiator, next } = pairOfMuxes();
    const jobs = [];
    for (let i = 0; i < 4; i++) {
      const up = randomBytes(1_500_000 + i);
      const down = randomBytes(1_200_000 + i);
      const s = initiator.open();
      jobs.push(
        (async () => {
          const t = await next();
          const gotUp = readAll(t);
          const gotDown = readAll(s);
          s.end(up);
          t.end(down);
          const [u, d] = await Promise.all([gotUp, gotDown]);
          assert.equal(createHash("sha256").update(u).digest("hex"), createHash("sha256").update(up).digest("hex"));
          assert.equal(createHash("sha256").update(d).digest("hex"), createHash("sha256").update(down).digest("hex"));
        })(),
      );
    }
    await withTimeout(Promise.all(jobs), 20_000, "transfer");
  });

  it("a stream whose reader is stuck holds at most one window and does not stall the others", async () => {
    const { initiator, next } = pairOfMuxes();
    const stuck = initiator.open();
    const stuckPeer = await next();
    stuckPeer.pause(); // never read
    let accepted = 0;
    const payload = Buffer.alloc(64 * 1024);
    // The writer sees backpressure: write() turns false and the callbacks stop.
    let writes = 0;
    for (let i = 0; i < 64 && stuck.write(payload); i++) writes++;
    assert.ok(writes < 64, "write() reports backpressure");
    stuck.write(payload, () => accepted++);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(stuckPeer.readableLength <= DEFAULT_WINDOW, `buffered ${stuckPeer.readableLength}`);
    // Another stream still works.
    const other = initiator.open();
    const otherPeer = await next();
    const big = randomBytes(1_000_000);
    const got = readAll(otherPeer);
    other.end(big);
    assert.ok((await got).equals(big));
    // Reading the stuck stream releases the writer.
    stuckPeer.resume();
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => (accepted === 1 ? resolve() : setTimeout(check, 10));
        check();
      }),
      5000,
      "stuck writer released",
    );
  });

  it("stops sending when the channel's write() returns false, and resumes on drain", async () => {
    const [a, raw] = duplexPair(16 * 1024);
    const mux = new Mux(a, { role: "initiator" });
    raw.pause(); // the far side does not read for now
    const streams = Array.from({ length: 8 }, () => mux.open());
    for (const s of streams) s.write(Buffer.alloc(1024 * 1024));
    await new Promise((r) => setTimeout(r, 50));
    // One frame past the channel's high-water mark at most, not 8 streams' worth.
    assert.ok(a.writableLength <= 16 * 1024 + MAX_PAYLOAD + 8 * 64, `channel buffered ${a.writableLength}`);
    const parser = new FrameParser();
    let data = 0;
    raw.on("data", (c: Buffer) => {
      for (const f of parser.push(c)) if (f.type === FRAME_DATA) data += f.payload.length;
    });
    raw.resume();
    await new Promise((r) => setTimeout(r, 100));
    // Everything the windows allow arrived (nobody granted more).
    assert.equal(data, 8 * DEFAULT_WINDOW);
    mux.close();
  });

  it("destroying one side aborts the peer stream (CLOSE), leaving others alone", async () => {
    const { initiator, next } = pairOfMuxes();
    const s = initiator.open();
    const t = await next();
    const s2 = initiator.open();
    const t2 = await next();
    t.on("error", () => {});
    s.destroy();
    await withTimeout(closed(t), 5000, "peer close");
    assert.ok(t.destroyed);
    s2.end("still here");
    assert.equal((await readAll(t2)).toString(), "still here");
    assert.equal(initiator.closed, false);
  });

  it("bounds concurrent streams on both sides", async () => {
    const { initiator, next } = pairOfMuxes({ acceptorMax: 2 });
    const a = initiator.open();
    const b = initiator.open();
    await next();
    await next();
    const c = initiator.open();
    c.on("error", () => {});
    await withTimeout(closed(c), 5000, "excess stream refused");
    assert.ok(c.destroyed);
    assert.ok(!a.destroyed && !b.destroyed);
    const small = pairOfMuxes({ maxStreams: 1 });
    small.initiator.open();
    assert.throws(() => small.initiator.open(), /too many/);
  });

  it("closing the mux destroys every stream and the channel", async () => {
    const { initiator, a, next } = pairOfMuxes();
    const s = initiator.open();
    const t = await next();
    s.on("error", () => {});
    t.on("error", () => {});
    initiator.close();
    assert.ok(s.destroyed);
    assert.ok(a.destroyed);
    await withTimeout(closed(t), 5000, "far side torn down");
  });
});

describe("egress mux: fails closed on protocol violations", () => {
  const violations: [string, "initiator" | "acceptor", Buffer[]][] = [
    ["unknown frame type", "acceptor", [Buffer.from([0x42, 0, 0, 0, 1, 0, 0, 0, 0])]],
    ["oversize length", "acceptor", [encodeFrame(FRAME_OPEN, 1), Buffer.from([FRAME_DATA, 0, 0, 0, 1, 0, 1, 0, 1])]],
    ["DATA for a stream never opened", "acceptor", [encodeFrame(FRAME_DATA, 5, Buffer.from("x"))]],
    ["WINDOW for a stream never opened", "acceptor", [encodeFrame(FRAME_WINDOW, 9, Buffer.from([0, 0, 0, 1]))]],
    ["OPEN for an id already used", "acceptor", [encodeFrame(FRAME_OPEN, 2), encodeFrame(FRAME_OPEN, 2)]],
    ["OPEN with a smaller id", "acceptor", [encodeFrame(FRAME_OPEN, 5), encodeFrame(FRAME_OPEN, 3)]],
    ["OPEN sent to the initiator", "initiator", [encodeFrame(FRAME_OPEN, 1)]],
    ["DATA for an id the initiator never allocated", "initiator", [encodeFrame(FRAME_DATA, 1, Buffer.from("x"))]],
    ["DATA after END", "acceptor", [encodeFrame(FRAME_OPEN, 1), encodeFrame(FRAME_END, 1), encodeFrame(FRAME_DATA, 1, Buffer.from("x"))]],
    ["a second END", "acceptor", [encodeFrame(FRAME_OPEN, 1), encodeFrame(FRAME_END, 1), encodeFrame(FRAME_END, 1)]],
    ["a zero WINDOW", "acceptor", [encodeFrame(FRAME_OPEN, 1), encodeFrame(FRAME_WINDOW, 1, Buffer.from([0, 0, 0, 0]))]],
    ["DATA past the window", "acceptor", [encodeFrame(FRAME_OPEN, 1), ...Array.from({ length: DEFAULT_WINDOW / MAX_PAYLOAD + 1 }, () => encodeFrame(FRAME_DATA, 1, Buffer.alloc(MAX_PAYLOAD)))]],
    ["a channel ending inside a frame", "acceptor", [encodeFrame(FRAME_OPEN, 1).subarray(0, 4)]],
  ];
  for (const [what, role, frames] of violations) {
    it(`tears the channel down on ${what}`, async () => {
      const { raw, mux, closed: muxClosed } = rawAgainst(role);
      const streams: MuxStream[] = [];
      mux.on("stream", (s) => {
        s.on("error", () => {});
        s.pause(); // never read: DATA stays buffered, so a window overrun is the sender's fault
        streams.push(s);
      });
      for (const f of frames) raw.write(f);
      if (what.startsWith("a channel ending")) raw.end();
      const err = await withTimeout(muxClosed, 5000, what);
      assert.ok(err instanceof MuxProtocolError || what.startsWith("a channel ending"), `${what}: ${String(err)}`);
      assert.ok(mux.closed);
      for (const s of streams) assert.ok(s.destroyed, "open streams are destroyed");
      await withTimeout(closed(raw), 5000, "channel destroyed");
    });
  }

  it("drops frames for a stream that has closed (they may have been in flight)", async () => {
    const { raw, mux, received } = rawAgainst("acceptor");
    const streams: MuxStream[] = [];
    mux.on("stream", (s) => {
      s.on("error", () => {});
      streams.push(s);
    });
    raw.write(encodeFrame(FRAME_OPEN, 1));
    await new Promise((r) => setTimeout(r, 20));
    streams[0]?.destroy();
    await new Promise((r) => setTimeout(r, 20));
    const sent = Buffer.concat(received);
    assert.ok(sent.equals(encodeFrame(FRAME_CLOSE, 1)), "the acceptor sent CLOSE");
    raw.write(encodeFrame(FRAME_DATA, 1, Buffer.from("late")));
    raw.write(encodeFrame(FRAME_END, 1));
    raw.write(encodeFrame(FRAME_CLOSE, 1));
    raw.write(encodeFrame(FRAME_OPEN, 2));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(mux.closed, false);
    assert.equal(streams.length, 2);
    mux.close();
  });

  it("answers an OPEN past the limit with CLOSE and keeps the channel", async () => {
    const [raw, b] = duplexPair();
    const mux = new Mux(b, { role: "acceptor", maxStreams: 1 });
    const received: Buffer[] = [];
    raw.on("data", (c: Buffer) => received.push(c));
    raw.on("error", () => {});
    raw.write(Buffer.concat([encodeFrame(FRAME_OPEN, 1), encodeFrame(FRAME_OPEN, 2), encodeFrame(FRAME_DATA, 2, Buffer.from("ignored"))]));
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(Buffer.concat(received).equals(encodeFrame(FRAME_CLOSE, 2)));
    assert.equal(mux.closed, false);
    mux.close();
  });
});
