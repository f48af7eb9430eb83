// Files mcp-warden itself writes (logs, status, state, audit checkpoints) are opened so that a
// symlink planted where one of them goes is never followed: a log that a repository or a sandboxed
// server pre-created as `x.log -> ~/.bashrc` must not turn the gateway into a writer of the user's
// shell start-up file. Directories are created 0700 and must be real directories owned by us.
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** Thrown when a path the gateway writes is a symlink, not a regular file, or in a directory not owned by us. */
export class UnsafeFileError extends Error {
  override name = "UnsafeFileError";
}

const uid = typeof process.getuid === "function" ? process.getuid() : undefined;

/**
 * Creates `dir` (0700, with parents) if missing, then checks that `dir` itself is a directory, not a
 * symlink, and owned by this user (or root). Throws UnsafeFileError otherwise.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new UnsafeFileError(`${dir} is a symbolic link; mcp-warden writes only into real directories (remove the link)`);
  if (!st.isDirectory()) throw new UnsafeFileError(`${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw new UnsafeFileError(`${dir} belongs to uid ${st.uid}, not to this user (${uid}); mcp-warden writes only into its own directories`);
}

/**
 * Opens `file` for appending (created 0600 when missing) without following a symlink at its last
 * component, and refuses anything but a regular file (a FIFO or device would block or leak).
 */
export function openAppendNoFollow(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") throw new UnsafeFileError(`${file} is a symbolic link; mcp-warden does not write through links (remove it)`);
    throw e;
  }
  try {
    // fstat, not lstat: the descriptor is what gets written, whatever the name points at by now.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafeFileError(`${file} is not a regular file`);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Replaces `file` atomically: a fresh temp file in the same directory (O_EXCL, O_NOFOLLOW, `mode`),
 * fsync, rename over the target. A symlink at the target is replaced, never written through.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = join(dirname(file), `.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
