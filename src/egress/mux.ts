// Many TCP connections over one inherited stream. The sandbox reaches the egress proxy through a
// single connected socket (its fd 3); the in-sandbox bridge opens one mux stream per accepted
// connection and the gateway's proxy judges each stream on its own.
//
// Frame: [type u8][stream id u32 BE][length u32 BE][payload]
//   OPEN   (1, length 0)        the initiator opens stream `id` (ids only grow: 1, 2, 3, ...)
//   DATA   (2, 1..64 KiB)       bytes of stream `id`
//   END    (3, length 0)        the sender will send no more DATA on `id` (half-close)
//   CLOSE  (4, length 0)        abort `id` in both directions
//   WINDOW (5, length 4, u32)   the receiver consumed that many more bytes of `id`: the sender may
//                               send as many more. Per-stream flow control: one connection whose
//                               reader is stuck (an unconsumed fetch body) stalls only itself, never
//                               the channel; a peer that sends past its window is a protocol error.
//
// Parsing is strict and fails closed: an unknown type, a length out of range for its type, id 0,
// an OPEN from the wrong side or for an id already used, or a frame for an id that was never opened
// tears the whole channel down. Frames for a stream that was opened and has since closed are
// dropped: they may have been in flight when it closed.
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";

export const FRAME_OPEN = 1;
export const FRAME_DATA = 2;
export const FRAME_END = 3;
export const FRAME_CLOSE = 4;
export const FRAME_WINDOW = 5;
export type FrameType = typeof FRAME_OPEN | typeof FRAME_DATA | typeof FRAME_END | typeof FRAME_CLOSE | typeof FRAME_WINDOW;

export const HEADER_BYTES = 9;
export const MAX_PAYLOAD = 64 * 1024;
/** Bytes a sender may have outstanding (sent, not yet consumed) on one stream. */
export const DEFAULT_WINDOW = 128 * 1024;
export const DEFAULT_MAX_STREAMS = 256;
const MAX_ID = 0xffffffff;

export interface Frame {
  type: FrameType;
  id: number;
  payload: Buffer;
}

/** A violation of the framing or of the stream protocol; the channel is torn down. */
export class MuxProtocolError extends Error {
  override name = "MuxProtocolError";
}

export function encodeFrame(type: FrameType, id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  if (!Number.isInteger(id) || id < 1 || id > MAX_ID) throw new RangeError(`stream id ${id} out of range`);
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(id, 1);
  out.writeUInt32BE(payload.length, 5);
  out.set(payload, HEADER_BYTES);
  return out;
}

function lengthOk(type: number, length: number): boolean {
  switch (type) {
    case FRAME_OPEN:
    case FRAME_END:
    case FRAME_CLOSE:
      return length === 0;
    case FRAME_DATA:
      return length >= 1 && length <= MAX_PAYLOAD;
    case FRAME_WINDOW:
      return length === 4;
    default:
      return false;
  }
}

/**
 * Incremental frame parser: feed it chunks as they arrive (fragmented or coalesced), get whole
 * frames. Throws MuxProtocolError as soon as a header is wrong, before waiting for its payload.
 * Buffers at most one frame (header plus 64 KiB).
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  push(chunk: Buffer): Frame[] {
    if (this.failed) throw new MuxProtocolError("the channel already failed");
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < HEADER_BYTES) break;
      const head = this.peek(HEADER_BYTES);
      const type = head.readUInt8(0);
      const id = head.readUInt32BE(1);
      const length = head.readUInt32BE(5);
      if (type < FRAME_OPEN || type > FRAME_WINDOW) return this.fail(`unknown frame type ${type}`);
      if (id === 0) return this.fail("stream id 0");
      if (!lengthOk(type, length)) return this.fail(`frame type ${type} with length ${length}`);
      if (this.buffered < HEADER_BYTES + length) break;
      const whole = this.take(HEADER_BYTES + length);
      frames.push({ type: type as FrameType, id, payload: whole.subarray(HEADER_BYTES) });
    }
    return frames;
  }

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  private fail(message: string): never {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    throw new MuxProtocolError(message);
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    // Copy so a small frame does not pin a large chunk.
    return Buffer.from(out);
  }
}

export interface MuxOptions {
  /** "initiator" opens streams (the bridge); "acceptor" receives them (the proxy). */
  role: "initiator" | "acceptor";
  /** Live streams at most; an OPEN past it is answered with CLOSE. Default 256. */
  maxStreams?: number;
  /** Per-stream flow-control window in bytes. Default 128 KiB. Both sides must agree. */
  window?: number;
}

/** One multiplexed connection: a Duplex whose bytes travel as DATA frames of its id. */
export class MuxStream extends Duplex {
  /** Bytes we may still send before the peer grants more. */
  credit: number;
  /** Bytes the peer may still send before we grant more. */
  recvAllowance: number;
  /** Bytes pushed to our readable side, and bytes of those already granted back. */
  pushedTotal = 0;
  grantedTotal = 0;
  sentEnd = false;
  gotEnd = false;
  /** Removed from the mux: completed, reset by the peer, aborted, or the channel died. */
  detached = false;
  pending: Buffer | undefined;
  pendingCb: ((err?: Error | null) => void) | undefined;

  constructor(
    private readonly mux: Mux,
    readonly id: number,
    window: number,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: window, writableHighWaterMark: MAX_PAYLOAD });
    this.credit = window;
    this.recvAllowance = window;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.detached) return cb(new Error("mux stream is closed"));
    this.pending = chunk;
    this.pendingCb = cb;
    this.mux.pump(this);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.detached) return cb(new Error("mux stream is closed"));
    this.sentEnd = true;
    this.mux.send(FRAME_END, this.id);
    this.mux.maybeComplete(this);
    cb();
  }

  override _read(): void {
    this.mux.grant(this);
  }

  // _read alone is not enough: while a read is "in progress" (we had nothing to push when it was
  // called) Readable does not call it again, so consumption is also noticed here and after push.
  override read(size?: number): any {
    const out: unknown = super.read(size);
    this.mux.grant(this);
    return out;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.mux.abort(this);
    const done = this.pendingCb;
    this.pending = undefined;
    this.pendingCb = undefined;
    if (done) done(err ?? new Error("mux stream destroyed"));
    cb(err);
  }
}

export interface Mux {
  on(event: "stream", listener: (stream: MuxStream) => void): this;
  on(event: "close", listener: (err: Error | undefined) => void): this;
  once(event: "close", listener: (err: Error | undefined) => void): this;
}

/** The multiplexer on one side of the channel. */
export class Mux extends EventEmitter {
  private readonly parser = new FrameParser();
  private queue: Frame[] = [];
  private handling = false;
  private readonly streams = new Map<number, MuxStream>();
  private readonly waitingForDrain = new Set<MuxStream>();
  private readonly maxStreams: number;
  private readonly window: number;
  private readonly role: "initiator" | "acceptor";
  /** Initiator: the next id to use. Acceptor: the highest id opened so far. */
  private idMark: number;
  private channelWritable = true;
  private isClosed = false;

  constructor(
    private readonly channel: Duplex,
    options: MuxOptions,
  ) {
    super();
    this.role = options.role;
    this.maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(this.window) || this.window < MAX_PAYLOAD || this.window > 0x7fffffff) throw new RangeError("window out of range");
    this.idMark = this.role === "initiator" ? 1 : 0;
    channel.on("data", this.onData);
    channel.on("drain", this.onDrain);
    channel.on("end", this.onEnd);
    channel.on("close", this.onChannelClose);
    channel.on("error", this.onError);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Live streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Opens a stream (initiator only). Throws when the channel is closed or too many streams are live. */
  open(): MuxStream {
    if (this.role !== "initiator") throw new Error("only the initiator opens streams");
    if (this.isClosed) throw new Error("mux channel is closed");
    if (this.streams.size >= this.maxStreams) throw new Error(`too many connections (at most ${this.maxStreams})`);
    if (this.idMark > MAX_ID) throw new Error("stream ids exhausted");
    const id = this.idMark++;
    const s = new MuxStream(this, id, this.window);
    this.streams.set(id, s);
    this.send(FRAME_OPEN, id);
    return s;
  }

  /**
   * Tears the channel down: every stream is destroyed (with `err`, when given: streams then emit
   * 'error', so consumers must listen) and the channel with it.
   */
  close(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.channel.off("data", this.onData);
    this.channel.off("drain", this.onDrain);
    this.channel.off("end", this.onEnd);
    this.channel.off("close", this.onChannelClose);
    // Keep an error listener: a late EPIPE must not crash the process.
    this.channel.on("error", () => {});
    this.channel.off("error", this.onError);
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.waitingForDrain.clear();
    for (const s of streams) {
      s.detached = true;
      // An intentional close() ends streams without an error event; a failure carries its error.
      s.destroy(err);
    }
    this.channel.destroy();
    this.emit("close", err);
  }

  // ---- used by MuxStream ----

  send(type: FrameType, id: number, payload?: Uint8Array): void {
    if (this.isClosed) return;
    const ok = this.channel.write(encodeFrame(type, id, payload));
    if (!ok) this.channelWritable = false;
  }

  /** Sends as much of the stream's pending chunk as credit and the channel allow. */
  pump(s: MuxStream): void {
    if (this.isClosed || s.detached) return;
    // State is updated before each send: a synchronous channel can re-enter here from send().
    while (s.pending && s.credit > 0 && this.channelWritable) {
      const n = Math.min(s.pending.length, s.credit, MAX_PAYLOAD);
      const piece = s.pending.subarray(0, n);
      s.credit -= n;
      s.pending = n === s.pending.length ? undefined : s.pending.subarray(n);
      this.send(FRAME_DATA, s.id, piece);
      if (this.isClosed || s.detached) return;
    }
    if (!this.channelWritable) {
      this.waitingForDrain.add(s);
      return;
    }
    if (!s.pending && s.pendingCb) {
      const cb = s.pendingCb;
      s.pendingCb = undefined;
      cb();
    }
    // Else: waiting for a WINDOW frame.
  }

  /** Grants the peer the bytes our reader consumed. */
  grant(s: MuxStream): void {
    if (this.isClosed || s.detached || s.gotEnd) return;
    const consumed = s.pushedTotal - s.readableLength;
    const delta = consumed - s.grantedTotal;
    // Batch small grants unless the reader has caught up.
    if (delta <= 0 || (delta < this.window / 4 && s.readableLength > 0)) return;
    s.grantedTotal += delta;
    s.recvAllowance += delta;
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(delta, 0);
    this.send(FRAME_WINDOW, s.id, p);
  }

  /** Both halves closed cleanly: forget the id (the stream object lives on until read out). */
  maybeComplete(s: MuxStream): void {
    if (s.sentEnd && s.gotEnd && !s.detached) this.detach(s);
  }

  /** The local side destroyed the stream: tell the peer unless it is already gone. */
  abort(s: MuxStream): void {
    if (s.detached) return;
    this.detach(s);
    this.send(FRAME_CLOSE, s.id);
  }

  private detach(s: MuxStream): void {
    s.detached = true;
    this.streams.delete(s.id);
    this.waitingForDrain.delete(s);
  }

  // ---- channel events ----

  private readonly onData = (chunk: Buffer | string): void => {
    if (this.isClosed) return;
    try {
      this.queue.push(...this.parser.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
    } catch (err) {
      this.close(err as Error);
      return;
    }
    // Frames are handled in arrival order, never re-entrantly (a synchronous channel can deliver
    // the peer's answer while an earlier frame is still being handled).
    if (this.handling) return;
    this.handling = true;
    try {
      for (let f = this.queue.shift(); f !== undefined && !this.isClosed; f = this.queue.shift()) {
        try {
          this.handle(f);
        } catch (err) {
          this.close(err instanceof MuxProtocolError ? err : new MuxProtocolError(String((err as Error)?.message ?? err)));
          return;
        }
      }
    } finally {
      this.handling = false;
      if (this.isClosed) this.queue = [];
    }
  };

  private handle(f: Frame): void {
    if (f.type === FRAME_OPEN) {
      if (this.role !== "acceptor") throw new MuxProtocolError("OPEN sent to the initiator");
      if (f.id <= this.idMark) throw new MuxProtocolError(`OPEN for stream ${f.id}, at or below ${this.idMark}`);
      this.idMark = f.id;
      if (this.streams.size >= this.maxStreams) {
        this.send(FRAME_CLOSE, f.id);
        return;
      }
      const s = new MuxStream(this, f.id, this.window);
      this.streams.set(f.id, s);
      this.emit("stream", s);
      return;
    }
    const s = this.streams.get(f.id);
    if (!s) {
      const everOpened = this.role === "acceptor" ? f.id <= this.idMark : f.id < this.idMark;
      if (!everOpened) throw new MuxProtocolError(`frame type ${f.type} for stream ${f.id}, which was never opened`);
      return; // a stream that closed while this frame was in flight
    }
    switch (f.type) {
      case FRAME_DATA: {
        if (s.gotEnd) throw new MuxProtocolError(`DATA after END on stream ${f.id}`);
        if (f.payload.length > s.recvAllowance) throw new MuxProtocolError(`stream ${f.id} sent past its window`);
        s.recvAllowance -= f.payload.length;
        s.pushedTotal += f.payload.length;
        s.push(f.payload);
        this.grant(s);
        return;
      }
      case FRAME_END: {
        if (s.gotEnd) throw new MuxProtocolError(`second END on stream ${f.id}`);
        s.gotEnd = true;
        s.push(null);
        this.maybeComplete(s);
        return;
      }
      case FRAME_CLOSE: {
        this.detach(s);
        s.destroy(new Error("connection reset by peer"));
        return;
      }
      case FRAME_WINDOW: {
        const n = f.payload.readUInt32BE(0);
        if (n === 0 || s.credit + n > 0x7fffffff) throw new MuxProtocolError(`WINDOW of ${n} on stream ${f.id}`);
        s.credit += n;
        this.pump(s);
        return;
      }
    }
  }

  private readonly onDrain = (): void => {
    this.channelWritable = true;
    const waiting = [...this.waitingForDrain];
    this.waitingForDrain.clear();
    for (const s of waiting) {
      if (!this.channelWritable) {
        this.waitingForDrain.add(s);
        continue;
      }
      this.pump(s);
    }
  };

  private readonly onEnd = (): void => {
    if (this.parser.pending > 0) this.close(new MuxProtocolError("channel ended inside a frame"));
    else this.close(new Error("mux channel ended"));
  };

  private readonly onChannelClose = (): void => this.close(new Error("mux channel closed"));
  private readonly onError = (err: Error): void => this.close(err);
}

/**
 * Relays bytes both ways between two duplexes with backpressure, half-close included. An abnormal
 * end of either (an error, or a close before both of its directions finished) destroys the other.
 */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const clean = (s: Duplex) => s.readableEnded && s.writableFinished;
  const watch = (s: Duplex, other: Duplex) => {
    s.on("error", () => other.destroy());
    s.on("close", () => {
      if (!clean(s)) other.destroy();
    });
  };
  watch(a, b);
  watch(b, a);
}
