// The gateway's end of a container's egress channel. A container cannot inherit the socketpair end
// bubblewrap's bridge uses (`docker run -i` passes stdio only), so the proxy listens on a Unix socket
// in a private directory made for one launch; the directory is bind-mounted into the container,
// read-only, and the in-container bridge connects to the socket once.
//
// One connection carrying the multiplexed protocol (mux.ts), not one connection per stream: the
// proxy side is then exactly bubblewrap's (attachEgress: the same judging, audit records, stream
// limit and per-stream flow control), the channel's end stops the server the same way, and the
// socket can accept a single connection and disappear, so nothing else in the container (or on the
// host) can open a second channel later.
//
// The directory is 0700. When the gateway runs as root the container's user is another uid
// (nobody), which needs to search the directory and write the socket: both are handed to that user
// (the directory stays 0700, the socket 0600), after the socket is listening. It is removed with the
// socket at close().
import { chmodSync, chownSync, mkdtempSync, rmSync, unlinkSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachEgress, type EgressHandle, type EgressOptions } from "./proxy.js";

/** The socket's name inside its directory. */
export const EGRESS_SOCKET_NAME = "egress.sock";
/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface SocketOwner {
  uid: number;
  gid: number;
}

/** "uid" or "uid:gid" (a container's --user) as numbers; the gid defaults to ours. */
export function ownerOf(user: string): SocketOwner {
  const [uid, gid] = user.split(":");
  const owner = { uid: Number(uid), gid: gid === undefined ? (process.getgid?.() ?? 0) : Number(gid) };
  if (!Number.isSafeInteger(owner.uid) || !Number.isSafeInteger(owner.gid) || owner.uid < 0 || owner.gid < 0) throw new Error(`egress socket: ${JSON.stringify(user)} is not a numeric uid:gid`);
  return owner;
}

export class EgressSocket {
  /** The private directory (bind-mounted into the container). */
  readonly dir: string;
  /** The socket's path on the host. */
  readonly path: string;
  /** Who may connect: the container's user. Unset: only this process's own uid. */
  owner: SocketOwner | undefined;
  private server: net.Server | undefined;
  private handle: EgressHandle | undefined;
  private closed = false;

  /** Creates the private directory (0700) under `parent` (default os.tmpdir(); socket paths are limited to 108 bytes). */
  constructor(parent: string = tmpdir()) {
    this.dir = mkdtempSync(join(parent, "mcp-warden-egress-"));
    this.path = join(this.dir, EGRESS_SOCKET_NAME);
    if (Buffer.byteLength(this.path) > MAX_SOCKET_PATH) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new Error(`the egress proxy's socket path ${this.path} is longer than ${MAX_SOCKET_PATH} bytes, the limit of a Unix socket; set TMPDIR to a shorter directory`);
    }
  }

  /**
   * Listens, and hands the first connection to the proxy (attachEgress with `opts`); the listener
   * then closes and the socket is unlinked. The socket exists when this returns (Node binds a path
   * synchronously), so a container started afterwards finds it. Throws (everything closed) when
   * the socket cannot be made or handed to its owner; a later listener error ends in `opts.onClose`.
   */
  serve(opts: EgressOptions): EgressHandle {
    if (this.closed) throw new Error("egress socket: already closed");
    if (this.server) throw new Error("egress socket: already serving");
    const server = net.createServer({ allowHalfOpen: true }, (conn) => {
      if (this.handle || this.closed) {
        conn.destroy();
        return;
      }
      this.stopListening();
      this.handle = attachEgress(conn, opts);
    });
    this.server = server;
    server.on("error", (err) => {
      if (this.closed || this.handle) return;
      this.close();
      opts.onClose?.(err);
    });
    server.listen({ path: this.path, exclusive: true, backlog: 1 });
    try {
      chmodSync(this.path, 0o600);
      const owner = this.owner;
      if (owner !== undefined && owner.uid !== process.getuid?.()) {
        chownSync(this.path, owner.uid, owner.gid);
        chownSync(this.dir, owner.uid, owner.gid);
      }
    } catch (err) {
      // Not listening (a bind error), or the socket cannot be handed over: nothing may connect.
      this.close();
      throw new Error(`cannot open the egress proxy's socket ${this.path}: ${(err as Error).message}`);
    }
    return { close: () => this.close() };
  }

  private stopListening(): void {
    const server = this.server;
    if (server === undefined) return;
    server.close();
    try {
      unlinkSync(this.path);
    } catch {
      // not created, or already gone
    }
  }

  /** Closes the channel and the listener, and removes the directory. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    this.handle?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
