// The gateway's end of a container's egress channel. A container cannot inherit the socketpair end
// bubblewrap's bridge uses (`docker run -i` passes stdio only), and its seccomp profile refuses
// socket(AF_UNIX) (see ../sandbox/seccomp-oci.ts), so the channel is a pair of named pipes (FIFOs)
// in a private directory made for one launch; the directory is bind-mounted into the container and
// the in-container bridge opens the pipes once (fifo-protocol.ts: the handshake, after which both
// pipes are unlinked).
//
// One channel carrying the multiplexed protocol (mux.ts), not one per stream: the proxy side is then
// exactly bubblewrap's (attachEgress: the same judging, audit records, stream limit and per-stream
// flow control), and the channel's end stops the server the same way.
//
// The gateway opens its ends before the container starts, without blocking: the pipe it writes
// read-write (a FIFO opened O_RDWR never waits for a reader; the gateway never reads it), the pipe it
// reads read-only and non-blocking (no end of file is reported before a writer has come). When the
// bridge goes away, its pipe's end of file ends the channel; when the gateway goes away, the bridge
// reads end of file on its own.
//
// The directory is 0700 and the pipes 0600. When the gateway runs as root the container's user is
// another uid (nobody), which needs to search the directory and open the pipes: all three are handed
// to that user. Everything is removed at close().
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync, unlinkSync } from "node:fs";
import type * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectPreamble, FIFO_ACK, FIFO_FROM_BRIDGE, FIFO_HELLO, FIFO_TO_BRIDGE, fifoStream, PipePair } from "./fifo-protocol.js";
import { attachEgress, type EgressHandle, type EgressOptions } from "./proxy.js";

export interface ChannelOwner {
  uid: number;
  gid: number;
}

/** "uid" or "uid:gid" (a container's --user) as numbers; the gid defaults to ours. */
export function ownerOf(user: string): ChannelOwner {
  const [uid, gid] = user.split(":");
  const owner = { uid: Number(uid), gid: gid === undefined ? (process.getgid?.() ?? 0) : Number(gid) };
  if (!Number.isSafeInteger(owner.uid) || !Number.isSafeInteger(owner.gid) || owner.uid < 0 || owner.gid < 0) throw new Error(`egress channel: ${JSON.stringify(user)} is not a numeric uid:gid`);
  return owner;
}

/** Makes a FIFO with mode 0600 (Node has no mkfifo: coreutils' program does it). Throws with what to do. */
function mkfifo(path: string): void {
  try {
    execFileSync("mkfifo", ["-m", "600", "--", path], { env: { PATH: "/usr/bin:/bin", LC_ALL: "C" }, stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
  } catch (err) {
    const said = String((err as { stderr?: Buffer }).stderr ?? "").trim() || (err as Error).message;
    throw new Error(`cannot create the egress channel's pipe ${path} (mkfifo: ${said.slice(0, 300)}); install coreutils, or set TMPDIR to a local writable directory`);
  }
}

export class EgressFifos {
  /** The private directory (bind-mounted into the container). */
  readonly dir: string;
  /** The pipe the gateway writes and the bridge reads (host path). */
  readonly toBridge: string;
  /** The pipe the bridge writes and the gateway reads (host path). */
  readonly fromBridge: string;
  /** Who may open the pipes: the container's user. Unset: only this process's own uid. */
  owner: ChannelOwner | undefined;
  private streams: net.Socket[] = [];
  private handle: EgressHandle | undefined;
  private serving = false;
  private closed = false;

  /** Creates the private directory (0700) under `parent` (default os.tmpdir()). */
  constructor(parent: string = tmpdir()) {
    this.dir = mkdtempSync(join(parent, "mcp-warden-egress-"));
    this.toBridge = join(this.dir, FIFO_TO_BRIDGE);
    this.fromBridge = join(this.dir, FIFO_FROM_BRIDGE);
  }

  /**
   * Makes the pipes and opens the gateway's ends; on the bridge's HELLO unlinks them, answers ACK and
   * hands the channel to the proxy (attachEgress with `opts`). The pipes exist when this returns,
   * so a container started afterwards finds them. Throws (everything closed) when they cannot be
   * made or handed to their owner; a wrong or missing HELLO ends in `opts.onClose`.
   */
  serve(opts: EgressOptions): EgressHandle {
    if (this.closed) throw new Error("egress channel: already closed");
    if (this.serving) throw new Error("egress channel: already serving");
    this.serving = true;
    let output: net.Socket;
    let input: net.Socket;
    try {
      mkfifo(this.toBridge);
      mkfifo(this.fromBridge);
      const owner = this.owner;
      if (owner !== undefined && owner.uid !== process.getuid?.()) for (const p of [this.toBridge, this.fromBridge, this.dir]) chownSync(p, owner.uid, owner.gid);
      chmodSync(this.dir, 0o700);
      const writeFd = openSync(this.toBridge, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
      let readFd: number;
      try {
        readFd = openSync(this.fromBridge, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      } catch (err) {
        closeSync(writeFd);
        throw err;
      }
      output = fifoStream(writeFd, "write");
      input = fifoStream(readFd, "read");
      this.streams = [output, input];
    } catch (err) {
      this.close();
      throw new Error(`cannot open the egress proxy's channel in ${this.dir}: ${(err as Error).message}`);
    }
    expectPreamble(input, FIFO_HELLO, "greeting").then(
      () => {
        if (this.closed) return;
        this.unlinkPipes();
        output.write(FIFO_ACK);
        this.handle = attachEgress(new PipePair(input, output), opts);
      },
      (err: Error) => {
        if (this.closed) return;
        this.close();
        opts.onClose?.(err);
      },
    );
    return { close: () => this.close() };
  }

  private unlinkPipes(): void {
    for (const p of [this.toBridge, this.fromBridge]) {
      try {
        unlinkSync(p);
      } catch {
        // not created, or already gone
      }
    }
  }

  /** Closes the channel and removes the pipes and the directory. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlinkPipes();
    this.handle?.close();
    for (const s of this.streams) s.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
