// Where tool pins and server approvals live. PinStore is the interface, and what a change means is
// the same for every store (pin-store-core.ts); filePinStore keeps them in one JSON file, e.g.
// <stateDir>/pins.json; postgresPinStore (pin-store-postgres.ts) in PostgreSQL, shared by replicas;
// pinStoreFor (pin-store-factory.ts) chooses between them from the settings.
//
// The file, and why:
// - `{"version": 2, "servers": {"<identity digest>": ServerPins}}`, 2-space indented, mode 0600. Each
//   server record holds its identity (server-identity.ts: version 2, or a version 1 identity recorded
//   before) and three maps of pins by name: tools, prompts, resourceTemplates. Version 1 files (tools
//   only, version 1 identities) are read as they are (no prompts or templates pinned) and written back
//   as version 2 at the next change.
//   Read strictly: unknown fields, a newer version, a digest that does not match what it covers or
//   any other inconsistency is a PinStoreError, never an empty store (fail closed: the caller then
//   exposes nothing). A missing file is an empty store: nothing is pinned yet.
// - Every change is read-modify-write under a lock `<file>.lock` (a directory holding one owner file
//   named by a random nonce, with our pid and host), so concurrent gateways and `pins approve` never
//   lose each other's updates: the change is applied to what is on disk at that moment, not to a
//   cached copy. Why the lock is correct: see "Writing under the lock" below.
// - Written atomically: a temp file in the same directory (O_EXCL, 0600), fsync, rename over the
//   file, fsync the directory. Readers see the old or the new file, never part of one.
// - A lock is stale when its holder is a dead process on this host, or it is older than
//   lockStaleMs (a holder on another host, a pid reused, a hung holder). It is broken by unlinking
//   its owner file by name, which cannot remove a newer lock; the holder checks it still owns the
//   lock, with half the staleness margin left, just before its rename and retries the whole change
//   if not. Waiting is bounded by lockWaitMs, then the change fails (closed).
// - Reads are cached by (dev, ino, size, mtime, ctime) and cost one lstat, except within RACY_MS of a
//   write (as in git's racy-index rule: a later write in the same timestamp tick could keep every
//   stat field equal), when the file is read again.
// - Returned objects are frozen: they are the cache. Copy before changing them.
import { isAlive } from "./process-alive.js";
import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rmdir, unlink, utimes, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { isRecord, onlyKeys, parseServerRecord, pinStoreOver, PinStoreError, serializeServerRecord, type PinStore, type Records, type ServerPins } from "./pin-store-core.js";

export { PinStoreError, type PinStore, type PinStoreErrorCode, type ServerPins } from "./pin-store-core.js";

export interface FilePinStoreOptions {
  /** How long a change waits for the lock before failing. Default 5000 ms. */
  lockWaitMs?: number;
  /** A lock older than this is broken even if its holder seems alive. Default 10000 ms. */
  lockStaleMs?: number;
}

export const PIN_FILE_VERSION = 2;
/** A larger pin file is refused rather than read: bounds memory and time on a hostile file. */
const MAX_FILE_BYTES = 64 << 20;
/** Within this long of a file's mtime, its stat is not trusted to identify its content. */
const RACY_MS = 2000;

interface State {
  servers: Records;
}

interface CacheEntry {
  key: string;
  readAtMs: number;
  mtimeMs: number;
  state: State;
}

/** One queue per file within this process: the lock file then only arbitrates between processes. */
const localQueues = new Map<string, Promise<unknown>>();

export function filePinStore(path: string, options: FilePinStoreOptions = {}): PinStore {
  const file = resolve(path);
  const lockWaitMs = options.lockWaitMs ?? 5000;
  const lockStaleMs = options.lockStaleMs ?? 10_000;
  let cache: CacheEntry | undefined;

  const load = async (): Promise<State> => {
    let st: Stats;
    try {
      st = await lstat(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        cache = undefined;
        return { servers: new Map() };
      }
      throw new PinStoreError("io", `cannot read the pin file ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (cache && cache.key === statKey(st) && cache.mtimeMs < cache.readAtMs - RACY_MS) return cache.state;
    const read = await readPinFile(file);
    if (read === undefined) {
      cache = undefined;
      return { servers: new Map() };
    }
    cache = read;
    return read.state;
  };

  /** Applies `change` to the file's current content under the lock; writes only if it returns true. */
  const mutate = (change: (state: State) => boolean): Promise<void> => {
    const previous = localQueues.get(file) ?? Promise.resolve();
    const run = previous.then(
      () => mutateLocked(file, lockWaitMs, lockStaleMs, change),
      () => mutateLocked(file, lockWaitMs, lockStaleMs, change),
    );
    const tail = run.catch(() => undefined);
    localQueues.set(file, tail);
    void tail.then(() => {
      if (localQueues.get(file) === tail) localQueues.delete(file);
    });
    return run.then(() => {
      cache = undefined;
    });
  };

  return pinStoreOver({
    where: file,
    read: async (identityDigest) => (await load()).servers.get(identityDigest),
    readAll: async () => [...(await load()).servers.values()],
    // The whole file is read and written under the lock: the change sees every record.
    mutate: (_digests, change) => mutate((state) => change(state.servers)),
    close: async () => undefined,
  });
}

// ---------------------------------------------------------------------------------------------------
// Reading and validating

function statKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** The parsed, validated file; undefined when it does not exist. */
async function readPinFile(file: string): Promise<CacheEntry | undefined> {
  let fh: FileHandle;
  try {
    // O_NOFOLLOW: the pin file is replaced by rename on every write; a symlink here was planted.
    fh = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new PinStoreError("corrupt", `the pin file ${file} is a symbolic link; refusing to read it`, { cause: e });
    throw new PinStoreError("io", `cannot read the pin file ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const readAtMs = Date.now();
    const st = await fh.stat();
    if (!st.isFile()) throw new PinStoreError("corrupt", `the pin file ${file} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new PinStoreError("corrupt", `the pin file ${file} is larger than ${MAX_FILE_BYTES} bytes`);
    const text = (await fh.readFile()).toString("utf8");
    return { key: statKey(st), readAtMs, mtimeMs: st.mtimeMs, state: parsePinFile(text, file) };
  } catch (e) {
    if (e instanceof PinStoreError) throw e;
    throw new PinStoreError("io", `cannot read the pin file ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    await fh.close();
  }
}

/** Parses and checks the whole file; throws PinStoreError ("corrupt" or "version") on any problem. */
function parsePinFile(text: string, file = "pin file"): State {
  const bad = (what: string): never => {
    throw new PinStoreError("corrupt", `the pin file ${file} is corrupt: ${what}. Until it is fixed or removed (then every server and tool needs approval again), no pinned tool can be checked.`);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (!isRecord(data)) return bad("the top level is not an object");
  if (typeof data.version !== "number" || !Number.isSafeInteger(data.version)) return bad("'version' is missing or not an integer");
  if (data.version > PIN_FILE_VERSION)
    throw new PinStoreError("version", `the pin file ${file} has version ${data.version}, written by a newer mcp-warden; this one reads version ${PIN_FILE_VERSION}. Upgrade mcp-warden.`);
  if (data.version !== 1 && data.version !== 2) return bad(`unsupported version ${data.version}`);
  // Version 1: tools only, version 1 identities, no migration fields.
  const v1 = data.version === 1;
  onlyKeys(data, ["version", "servers"], [], "the top level", bad);
  if (!isRecord(data.servers)) return bad("'servers' is not an object");
  const servers: Records = new Map<string, ServerPins>();
  for (const [digest, raw] of Object.entries(data.servers)) servers.set(digest, parseServerRecord(raw, digest, v1, `servers[${JSON.stringify(digest)}]`, bad));
  return { servers };
}

/** Always the current version: a version 1 file is upgraded at its first change. */
function serialize(state: State): string {
  const servers: Record<string, unknown> = {};
  for (const digest of [...state.servers.keys()].sort()) servers[digest] = serializeServerRecord(state.servers.get(digest)!);
  return `${JSON.stringify({ version: PIN_FILE_VERSION, servers }, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Writing under the lock
//
// The lock is a DIRECTORY, `<file>.lock`, holding exactly one owner file `owner-<nonce>`: the nonce
// is 128 random bits, fresh for each acquisition; the content is {pid, host, at}.
//
// Why a directory: a lock FILE at a fixed name cannot be removed conditionally. A waiter that judged
// it stale and then renames or unlinks that name acts on whatever lock is there by then, perhaps a
// newer, live one. (The previous design did that: late breakers renamed aside other processes' fresh
// locks and "put them back" with rename, and checked identity by inode, which the file system reuses
// at once, so two processes could hold the lock and one update was lost.) In a directory, the owner
// file's NAME identifies one acquisition, and every removal is by that name.
//
// Why it is correct:
// 1. Taking: the owner file is written, whole, in a private staging directory that is then renamed to
//    `<file>.lock`. rename(2) moves a directory onto a path only if it is absent or an EMPTY
//    directory, atomically; so a lock appears only with its owner inside and never replaces a held
//    lock (a held lock directory is not empty).
// 2. Holding: H holds the lock exactly while `<file>.lock/owner-<H's nonce>` exists. Nothing renames a
//    lock directory away, and the name is never created again, so once it is gone H's hold is over
//    for good; and another taker can install only after it is gone (1).
// 3. Breaking: an owner file is only ever unlinked BY ITS NAME: by H on release, or by a waiter that
//    judged that very file stale (its pid is dead on this host, or its mtime is older than
//    lockStaleMs). A waiter that judged late finds the name gone (ENOENT) and cannot touch the lock
//    that replaced it. A lock directory is removed only with rmdir(2), which fails unless it is
//    empty, i.e. held by nobody. No rename-aside, no putting back.
// 4. Committing: H renames its new pin file into place only after checking that its owner file still
//    exists AND that less than lockStaleMs/2 has passed since that file's mtime (H sets it to the
//    moment of taking). H is alive, so no waiter judges it stale before lockStaleMs; another holder
//    can exist at H's commit only if H stalled over lockStaleMs/2 between that check and its rename
//    (the lease assumption of any lock that breaks hung holders). Even then H sees, after the
//    rename, that its owner file is gone, and re-applies its change under a new lock (changes are
//    idempotent merges into what is on disk).
// Liveness: an empty lock directory (a release or break cut short by a crash) is removed by waiters,
// a stale owner is broken, and every wait ends at lockWaitMs in a lock-timeout (fail closed). A
// regular FILE at `<file>.lock` is an older mcp-warden's lock: judged as before and broken with
// unlink(2), which cannot remove a lock directory.

class LockLost extends Error {}

/** The one entry of a lock directory (and of a staging directory). */
const OWNER = /^owner-[0-9a-f]{32}$/;
/** rename(2) errors meaning "a lock is there": a non-empty directory, an older version's lock file. */
const HELD = new Set(["EEXIST", "ENOTEMPTY", "ENOTDIR", "EPERM", "EACCES"]);

async function mutateLocked(file: string, lockWaitMs: number, lockStaleMs: number, change: (state: State) => boolean): Promise<void> {
  const dir = dirname(file);
  try {
    // 0700 only for directories created here, as the audit log does.
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new PinStoreError("io", `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    const lock = await takeLock(`${file}.lock`, deadline, lockWaitMs, lockStaleMs);
    try {
      // Read fresh under the lock (no cache): another process may have written a moment ago.
      const current = await readPinFile(file);
      const state: State = current ? { servers: new Map(current.state.servers) } : { servers: new Map() };
      if (!change(state)) return;
      await removeLeftovers(dir, basename(file), lockStaleMs);
      await writeAtomically(file, serialize(state), lock, lockStaleMs);
      // Still ours after the rename: nobody else held the lock at any time since we took it (2).
      if (await ownerExists(lock)) return;
      throw new LockLost(); // we stalled past the lease (4): apply the change again
    } catch (e) {
      // Our lock was broken (we stalled) or is too near its staleness: start over on what is on disk.
      if (!(e instanceof LockLost) || Date.now() > deadline) throw e instanceof LockLost ? lockTimeout(file, lockWaitMs) : e;
    } finally {
      await releaseLock(lock);
    }
  }
}

function lockTimeout(file: string, lockWaitMs: number): PinStoreError {
  return new PinStoreError("lock-timeout", `could not take the lock ${file}.lock within ${lockWaitMs} ms; another mcp-warden is changing the pins (or a lock is left over: remove it if no mcp-warden is running)`);
}

interface HeldLock {
  /** `<file>.lock`, the lock directory. */
  path: string;
  /** `<file>.lock/owner-<nonce>`: exists exactly while this acquisition holds the lock. */
  owner: string;
  /** The owner file's mtime, by which waiters judge its age (ms since the epoch). */
  since: number;
}

interface Staged {
  dir: string;
  name: string;
}

/** A private staging directory `<file>.lock.<pid>.<nonce>.tmp` holding a complete owner file. */
async function stage(path: string): Promise<Staged> {
  for (let attempt = 1; ; attempt++) {
    const nonce = randomBytes(16).toString("hex");
    const staged = { dir: `${path}.${process.pid}.${nonce}.tmp`, name: `owner-${nonce}` };
    try {
      await mkdir(staged.dir, { mode: 0o700 });
      const fh = await open(join(staged.dir, staged.name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
      try {
        await fh.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
      } finally {
        await fh.close();
      }
      return staged;
    } catch (e) {
      await discard(staged);
      // ENOENT at the open: a holder took the new, empty directory for a crash's leftover. Again.
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && attempt < 3) continue;
      throw new PinStoreError("io", `cannot create the lock ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Removes a staging directory; after it was installed as the lock, its path is gone: no-op. */
async function discard(staged: Staged): Promise<void> {
  await unlink(join(staged.dir, staged.name)).catch(() => undefined);
  await rmdir(staged.dir).catch(() => undefined);
}

async function takeLock(path: string, deadline: number, lockWaitMs: number, lockStaleMs: number): Promise<HeldLock> {
  let staged = await stage(path);
  try {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const since = Date.now();
      let installed = false;
      try {
        // Waiters judge the lock's age by this mtime: it must be when the lock was taken, not staged.
        await utimes(join(staged.dir, staged.name), new Date(since), new Date(since));
        await rename(staged.dir, path);
        installed = true;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "";
        if (code === "ENOENT") {
          // Our staging directory was removed as a leftover (we stalled long): stage again.
          await discard(staged);
          staged = await stage(path);
        } else if (!HELD.has(code)) {
          throw new PinStoreError("io", `cannot create the lock ${path}: ${(e as Error).message}`, { cause: e });
        }
      }
      if (installed) {
        const owner = join(path, staged.name);
        try {
          const st = await lstat(owner);
          return { path, owner, since: Math.min(since, st.mtimeMs) };
        } catch {
          // We installed a staging directory emptied meanwhile as a leftover: that holds nobody.
          await rmdir(path).catch(() => undefined);
          staged = await stage(path);
        }
      } else {
        await breakIfStale(path, lockStaleMs);
      }
      if (Date.now() > deadline) throw lockTimeout(path.slice(0, -".lock".length), lockWaitMs);
      await sleep(delay + Math.random() * delay);
    }
  } finally {
    await discard(staged);
  }
}

/** Breaks the lock at `path` if it is stale; never removes any lock but the one judged (3). */
async function breakIfStale(path: string, lockStaleMs: number): Promise<void> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch {
    return; // released meanwhile
  }
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = await readdir(path);
    } catch {
      return;
    }
    if (names.length === 0) {
      // Held by nobody (1): a release or break cut short. rmdir fails if a lock was installed since.
      await rmdir(path).catch(() => undefined);
      return;
    }
    // Anything but one owner file was not made here: never guessed at; the change times out.
    if (names.length !== 1 || !OWNER.test(names[0]!)) return;
    const owner = join(path, names[0]!);
    if (!(await isStale(owner, lockStaleMs))) return;
    try {
      await unlink(owner); // by its name: the acquisition judged, or nothing if it is gone
    } catch {
      return;
    }
    await rmdir(path).catch(() => undefined); // fails once a new lock is installed
    return;
  }
  // An older mcp-warden's lock file. unlink(2) cannot remove a lock directory installed meanwhile.
  if (st.isFile() && (await isStale(path, lockStaleMs))) await unlink(path).catch(() => undefined);
  // Anything else (a symbolic link...) is never broken: the change times out (fail closed).
}

/** An owner (or old lock) file is stale if its holder is a dead process on this host, or it is older than lockStaleMs. */
async function isStale(path: string, lockStaleMs: number): Promise<boolean> {
  let st: Stats;
  let text: string;
  try {
    const fh = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      st = await fh.stat();
      if (!st.isFile()) return false;
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch {
    return false; // gone meanwhile, or not readable: not ours to judge
  }
  if (Date.now() - st.mtimeMs > lockStaleMs) return true;
  try {
    const holder = JSON.parse(text) as { pid?: unknown; host?: unknown };
    return typeof holder.pid === "number" && Number.isSafeInteger(holder.pid) && holder.pid > 0 && holder.host === hostname() && !isAlive(holder.pid);
  } catch {
    return false; // an old lock file between its creation and its write: only age makes it stale
  }
}

async function ownerExists(lock: HeldLock): Promise<boolean> {
  try {
    await lstat(lock.owner);
    return true;
  } catch {
    return false;
  }
}

/** Whether the holder may commit: it still holds the lock, with half the staleness margin left (4). */
async function mayCommit(lock: HeldLock, lockStaleMs: number): Promise<boolean> {
  if (!(await ownerExists(lock))) return false;
  // After the lstat: the owner existed then, and no waiter judges it stale for lockStaleMs/2 more.
  return Date.now() - lock.since < lockStaleMs / 2;
}

async function releaseLock(lock: HeldLock): Promise<void> {
  // By name, so only ours even if it was broken and another taken; rmdir only if nobody holds it.
  await unlink(lock.owner).catch(() => undefined);
  await rmdir(lock.path).catch(() => undefined);
}

/**
 * Temp files, staging directories and broken-lock leftovers of writers that crashed. Safe to remove
 * under the lock: a live writer only has a temp file while it holds the lock (and one that lost its
 * lock retries); a staging directory is removed only once its owner file is stale, and a waiter
 * whose staging directory is removed anyway stages again.
 */
async function removeLeftovers(dir: string, base: string, lockStaleMs: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const rest = name.slice(base.length);
    if (/^\.\d+\.[0-9a-f]{16}\.tmp$/.test(rest)) await unlink(join(dir, name)).catch(() => undefined);
    else if (/^\.lock\.stale-\d+-[0-9a-f]{12}$/.test(rest)) await unlink(join(dir, name)).catch(() => undefined); // an older version's
    else if (/^\.lock\.\d+\.[0-9a-f]{32}\.tmp$/.test(rest)) await removeAbandonedStaging(join(dir, name), Number(rest.split(".")[2]), lockStaleMs);
  }
}

async function removeAbandonedStaging(staging: string, pid: number, lockStaleMs: number): Promise<void> {
  let names: string[];
  let st: Stats;
  try {
    st = await lstat(staging);
    if (!st.isDirectory()) return;
    names = await readdir(staging);
  } catch {
    return;
  }
  if (names.length === 0) {
    // A crash between mkdir and the owner file, unless its waiter is creating the owner right now.
    if (isAlive(pid) && Date.now() - st.mtimeMs <= lockStaleMs) return;
  } else {
    for (const name of names) if (!OWNER.test(name) || !(await isStale(join(staging, name), lockStaleMs))) return;
    for (const name of names) await unlink(join(staging, name)).catch(() => undefined);
  }
  await rmdir(staging).catch(() => undefined);
}

async function writeAtomically(file: string, text: string, lock: HeldLock, lockStaleMs: number): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(8).toString("hex")}.tmp`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
    // The umask may have narrowed the mode; 0600 exactly, since the file is ours alone.
    await fh.chmod(0o600);
    await fh.writeFile(text, "utf8");
    await fh.sync();
    await fh.close();
    fh = undefined;
    if (!(await mayCommit(lock, lockStaleMs))) throw new LockLost();
    await rename(temp, file);
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    if (e instanceof LockLost) throw e;
    // A temp file removed by whoever broke our lock: that writer holds it now; start over.
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && !(await mayCommit(lock, lockStaleMs))) throw new LockLost();
    throw new PinStoreError("io", `cannot write the pin file ${file}: ${(e as Error).message}`, { cause: e });
  }
  await syncDirectory(dirname(file));
}

/** Makes the rename durable. Best effort: some file systems refuse fsync on a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, constants.O_RDONLY);
    await fh.sync();
  } catch {
    // The file's own content is fsynced; only the rename's durability is at stake.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
