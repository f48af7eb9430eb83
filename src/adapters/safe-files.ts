// Files mcp-warden itself writes (logs, status, state, audit checkpoints) are opened so that a
// symlink planted where one of them goes is never followed: a log that a repository or a sandboxed
// server pre-created as `x.log -> ~/.bashrc` must not turn the gateway into a writer of the user's
// shell start-up file. Directories are created 0700 and must be real directories owned by us.
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, type Stats } from "node:fs";
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
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    // EEXIST: a file (or a dangling link) holds the name; reported below by lstat.
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new UnsafeFileError(`${dir} is a symbolic link; mcp-warden writes only into real directories (remove the link, or choose another directory)`);
  if (!st.isDirectory()) throw new UnsafeFileError(`${dir} is not a directory (remove it, or choose another directory)`);
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new UnsafeFileError(`${dir} belongs to uid ${st.uid}, not to this user (${uid}); mcp-warden writes only into its own directories (choose another directory)`);
}

/**
 * Why a file mcp-warden would write is unsafe, or undefined when it is a regular file of ours with
 * one name (a hard link to ~/.bashrc is as bad as a symlink) or does not exist.
 */
export function unsafeFileReason(file: string): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return describeUnsafe(file, st);
}

function describeUnsafe(file: string, st: Stats): string | undefined {
  const fix = `; mcp-warden does not write through it. Remove it (rm '${file}'); mcp-warden then creates its own`;
  if (st.isSymbolicLink()) return `${file} is a symbolic link${fix}`;
  if (st.isDirectory()) return `${file} is a directory where mcp-warden writes a file${fix}`;
  if (!st.isFile()) return `${file} is not a regular file (a FIFO, socket or device)${fix}`;
  if (uid !== undefined && st.uid !== uid) return `${file} belongs to uid ${st.uid}, not to this user (${uid})${fix}`;
  if (st.nlink !== 1) return `${file} has ${st.nlink} hard links (another name of the same file)${fix}`;
  return undefined;
}

/** Fails with UnsafeFileError when `file` exists and is not a plain file of ours (see unsafeFileReason). */
export function assertSafeFile(file: string): void {
  const why = unsafeFileReason(file);
  if (why !== undefined) throw new UnsafeFileError(why);
}

/** Opens with O_NOFOLLOW (and O_NONBLOCK, so a FIFO cannot block us), then checks what was opened. */
function openChecked(file: string, flags: number, mode: number): number {
  let fd: number;
  try {
    fd = openSync(file, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ELOOP: a symlink at the last component. EISDIR: a directory. ENXIO: a FIFO with no reader.
    // EEXIST (O_EXCL): something, perhaps a link, took the name.
    if (code === "ELOOP" || code === "EISDIR" || code === "ENXIO" || code === "EEXIST") {
      throw new UnsafeFileError(unsafeFileReason(file) ?? `${file} appeared while mcp-warden was creating it; mcp-warden does not write into a file it did not create. Remove it (rm '${file}')`);
    }
    throw e;
  }
  try {
    // fstat, not lstat: the descriptor is what gets written, whatever the name points at by now.
    const why = describeUnsafe(file, fstatSync(fd));
    if (why !== undefined) throw new UnsafeFileError(why);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Opens `file` for appending (created 0600 when missing) without following a symlink at its last
 * component, and refuses anything but a regular file of ours with one link (a FIFO or device would
 * block or leak; a hard link would append to another file).
 */
export function openAppendNoFollow(file: string): number {
  return openChecked(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
}

/**
 * Creates `file` (`mode`, default 0600) for writing; fails with UnsafeFileError when anything at all,
 * a link included, already has that name (O_CREAT|O_EXCL never follows a link).
 */
export function createExclusiveNoFollow(file: string, mode = 0o600): number {
  return openChecked(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
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
    if ((e as NodeJS.ErrnoException).code === "EISDIR" || (e as NodeJS.ErrnoException).code === "ENOTEMPTY")
      throw new UnsafeFileError(`${file} is a directory where mcp-warden writes a file; remove it (rm -r '${file}')`);
    throw e;
  }
}
