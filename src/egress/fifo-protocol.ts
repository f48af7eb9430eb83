// The container egress channel's two named pipes (FIFOs), shared by the gateway's end
// (fifo-channel.ts) and the in-container bridge (bridge.ts; kept free of heavy imports, it is bundled
// into the bridge's one file).
//
// Why FIFOs and not a Unix socket: the container's seccomp profile refuses socket(AF_UNIX), as
// bubblewrap's filter does, so that no host socket in a mounted directory (ssh-agent, docker.sock)
// can be reached; opening a FIFO is an ordinary open(2). libuv treats a FIFO descriptor as a pipe, so
// both ends are plain non-blocking streams.
//
// The handshake makes the pipes single-use: the gateway holds its ends open before the container
// starts; the bridge opens its ends and writes HELLO; the gateway, on HELLO, unlinks both FIFOs and
// answers ACK; only after ACK does the bridge start the command. So nothing else in the container
// ever finds the pipes, and a later opener on the host finds nothing either. After ACK the pipes
// carry the multiplexed protocol (mux.ts), the bridge being the initiator.
import * as net from "node:net";
import { Duplex } from "node:stream";

/** The gateway writes, the bridge reads. */
export const FIFO_TO_BRIDGE = "to-bridge";
/** The bridge writes, the gateway reads. */
export const FIFO_FROM_BRIDGE = "from-bridge";
export const FIFO_HELLO = Buffer.from("mcp-warden egress fifo hello 1\n");
export const FIFO_ACK = Buffer.from("mcp-warden egress fifo ack 1\n");

/**
 * Reads exactly `expected` from `input` and resolves; what follows it is put back (unshift) and the
 * stream is left paused. Rejects on other bytes, on the end of the stream, or after `timeoutMs`.
 */
export function expectPreamble(input: net.Socket, expected: Buffer, what: string, timeoutMs?: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let got = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (timer) clearTimeout(timer);
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("close", onEnd);
      input.off("error", onError);
      input.pause();
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const n = Math.min(got.length, expected.length);
      if (!got.subarray(0, n).equals(expected.subarray(0, n))) return finish(new Error(`the egress channel's ${what} is wrong; closing it`));
      if (got.length < expected.length) return;
      const rest = got.subarray(expected.length);
      input.pause();
      if (rest.length > 0) input.unshift(rest);
      finish();
    };
    const onEnd = () => finish(new Error(`the egress channel closed before its ${what}`));
    const onError = (err: Error) => finish(err);
    if (timeoutMs !== undefined) timer = setTimeout(() => finish(Object.assign(new Error(`no ${what} on the egress channel within ${timeoutMs} ms`), { code: "ETIMEDOUT" })), timeoutMs);
    input.on("data", onData);
    input.once("end", onEnd);
    input.once("close", onEnd);
    input.once("error", onError);
    input.resume();
  });
}

/** One duplex stream over a pipe read from and a pipe written to (what the mux runs over). */
export class PipePair extends Duplex {
  constructor(
    private readonly input: net.Socket,
    private readonly output: net.Socket,
  ) {
    super({ allowHalfOpen: true });
    input.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) input.pause();
    });
    input.once("end", () => this.push(null));
    input.on("error", (err) => this.destroy(err));
    output.on("error", (err) => this.destroy(err));
    // The peer closed its reading end: nothing more can be sent.
    output.once("close", () => this.destroy());
  }

  override _read(): void {
    this.input.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.output.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.output.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.input.destroy();
    this.output.destroy();
    done(err);
  }
}

/** A stream over an open FIFO descriptor (libuv treats it as a pipe). */
export function fifoStream(fd: number, direction: "read" | "write"): net.Socket {
  return new net.Socket({ fd, readable: direction === "read", writable: direction === "write", allowHalfOpen: true });
}
