// A synchronous lock between processes, for the audit checkpoint. Synchronous because its users are
// synchronous: the hook (one short process per call) and the audit writer's open and close.
//
// Same protocol as the pin store's lock (src/adapters/pin-store.ts explains why it is correct), in
// short: the lock is a DIRECTORY `<name>` holding exactly one owner file `owner-<nonce>` (a fresh
// 128-bit nonce per acquisition). It is taken by renaming a private staging directory, which already
// holds the owner file, onto `<name>`: rename(2) of a directory succeeds only onto an absent or empty
// directory, so a lock appears whole and never replaces a held one. It is released, or broken when
// stale, only by unlinking that owner file BY ITS NAME and then rmdir(2), which fails on a non-empty
// directory: a late breaker can never remove a newer lock. A symlink or a file at `<name>` is never
// broken (the caller times out: fail closed).
import { isAlive } from "../adapters/process-alive.js";
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmdirSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

export interface HeldLock {
  /** The lock directory. */
  path: string;
  /** `<path>/owner-<nonce>`: exists exactly while this acquisition holds the lock. */
  owner: string;
  /** When it was taken (ms since the epoch), by which waiters judge its age. */
  since: number;
}

export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

const OWNER = /^owner-[0-9a-f]{32}$/;
/** rename(2) errors meaning "a lock (or something we never break) is there". */
const HELD = new Set(["EEXIST", "ENOTEMPTY", "ENOTDIR", "EISDIR", "EPERM", "EACCES"]);

interface Staged {
  dir: string;
  name: string;
}

function stage(path: string): Staged {
  const nonce = randomBytes(16).toString("hex");
  const staged = { dir: `${path}.${process.pid}.${nonce}.tmp`, name: `owner-${nonce}` };
  mkdirSync(staged.dir, { mode: 0o700 });
  try {
    const fd = openSync(join(staged.dir, staged.name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    discard(staged);
    throw e;
  }
  return staged;
}

/** Removes a staging directory; once installed as the lock its path is gone and this does nothing. */
function discard(staged: Staged): void {
  try {
    unlinkSync(join(staged.dir, staged.name));
  } catch {
    // Gone already.
  }
  try {
    rmdirSync(staged.dir);
  } catch {
    // Gone already.
  }
}

/**
 * Takes the lock at `path`, waiting at most `waitMs` (0: one attempt). Returns undefined when it is
 * held by someone else after that, throws on an I/O error.
 */
export function tryTakeLock(path: string, waitMs: number, staleMs: number): HeldLock | undefined {
  const deadline = Date.now() + waitMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const staged = stage(path);
  try {
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      const since = Date.now();
      // Waiters judge the lock's age by this mtime: the moment of taking, not of staging.
      utimesSync(join(staged.dir, staged.name), new Date(since), new Date(since));
      try {
        renameSync(staged.dir, path);
        return { path, owner: join(path, staged.name), since };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "";
        if (!HELD.has(code)) throw e;
      }
      breakIfStale(path, staleMs);
      if (Date.now() >= deadline) return undefined;
      Atomics.wait(sleeper, 0, 0, delay + Math.random() * delay);
    }
  } finally {
    discard(staged);
  }
}

/** Like tryTakeLock, but a lock still held after `waitMs` is an error saying what to do. */
export function takeLock(path: string, waitMs: number, staleMs: number): HeldLock {
  const lock = tryTakeLock(path, waitMs, staleMs);
  if (!lock) throw new LockTimeoutError(`could not take the lock ${path} within ${waitMs} ms; another mcp-warden is writing (if none is running, remove ${path})`);
  return lock;
}

/** Whether the holder may still commit: it holds the lock, with half the staleness margin left. */
export function stillHeld(lock: HeldLock, staleMs: number): boolean {
  try {
    lstatSync(lock.owner);
  } catch {
    return false;
  }
  return Date.now() - lock.since < staleMs / 2;
}

export function releaseLock(lock: HeldLock): void {
  try {
    unlinkSync(lock.owner);
  } catch {
    // Broken by a waiter who judged us stale: nothing of ours left to remove.
  }
  try {
    rmdirSync(lock.path);
  } catch {
    // Someone else holds it now, or it is gone.
  }
}

/** Breaks the lock at `path` if its one owner is stale; never removes any other lock. */
function breakIfStale(path: string, staleMs: number): void {
  let names: string[];
  try {
    if (!lstatSync(path).isDirectory()) return; // a file or a symlink is never ours to remove
    names = readdirSync(path);
  } catch {
    return; // released meanwhile
  }
  if (names.length === 0) {
    // Held by nobody: a release or break cut short. rmdir fails if a lock was installed since.
    try {
      rmdirSync(path);
    } catch {
      // Taken meanwhile.
    }
    return;
  }
  if (names.length !== 1 || !OWNER.test(names[0]!)) return;
  const owner = join(path, names[0]!);
  if (!isStale(owner, staleMs)) return;
  try {
    unlinkSync(owner); // by its name: the acquisition judged, or nothing if it is gone
    rmdirSync(path);
  } catch {
    // Gone meanwhile, or a new lock was installed: not ours to touch.
  }
}

/** An owner file is stale when its holder is a dead process on this host, or it is older than staleMs. */
function isStale(owner: string, staleMs: number): boolean {
  let text: string;
  let mtimeMs: number;
  try {
    const fd = openSync(owner, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return false;
      mtimeMs = st.mtimeMs;
      const buf = Buffer.alloc(1024);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  if (Date.now() - mtimeMs > staleMs) return true;
  try {
    const holder = JSON.parse(text) as { pid?: unknown; host?: unknown };
    return typeof holder.pid === "number" && Number.isSafeInteger(holder.pid) && holder.pid > 0 && holder.host === hostname() && !isAlive(holder.pid);
  } catch {
    return false;
  }
}

/**
 * Removes staging directories of `path`'s lock left by processes that died while waiting (a crash
 * between staging and cleanup). Only those whose owner is stale are removed.
 */
export function removeAbandonedStaging(path: string, staleMs: number): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+\.[0-9a-f]{32}\.tmp$/.test(name.slice(prefix.length))) continue;
    const staging = join(dir, name);
    let inside: string[];
    try {
      if (!lstatSync(staging).isDirectory()) continue;
      inside = readdirSync(staging);
    } catch {
      continue;
    }
    if (!inside.every((n) => OWNER.test(n) && isStale(join(staging, n), staleMs))) continue;
    if (inside.length === 0 && isAlive(Number(name.slice(prefix.length).split(".")[0]))) continue; // being staged right now
    for (const n of inside) {
      try {
        unlinkSync(join(staging, n));
      } catch {
        // Gone.
      }
    }
    try {
      rmdirSync(staging);
    } catch {
      // Not empty or gone.
    }
  }
}
