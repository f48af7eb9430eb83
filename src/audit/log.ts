// The audit log writer. Design, and its limits:
// - One segment file per process (and per AuditLog), so concurrent gateways never interleave
//   writes into one hash chain. Each segment is its own chain; its first record names the newest
//   other segment and the hash of that segment's last line at open time. That link is best effort:
//   a segment created concurrently (between our directory listing and our file creation) is not
//   linked, and nothing ever links to the newest segment, so deleting the newest segment, or lines
//   at the end of any segment, cannot be detected from the files alone.
// - The chain is unkeyed SHA-256: it shows edits, deletions and reordering by anyone who does not
//   rewrite every later hash; it does not stop someone who can rewrite the whole directory.
// - append() writes the whole line with one synchronous write on an O_APPEND descriptor, so when it
//   returns the record is in the kernel and survives the process being killed. Durability against
//   power loss comes from fsync, on an interval (or after every append when the interval is 0).
// - Fail closed: once a write or fsync fails the log refuses further appends, so a caller that
//   audits before acting stops acting.
import { closeSync, constants, fsync, fsyncSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildRecord, GENESIS_PREV, hashLine, isAuditKind, isSegmentName, SEGMENT_START_EVENT, segmentFileName, type AuditEntry, type AuditRecord } from "./record.js";
import { compileRedactor, type Redactor } from "./redact.js";
import { listSegments } from "./query.js";

export interface AuditLogOptions {
  dir: string;
  /** fsync at most this often when something was written; 0 = fsync after every append. */
  fsyncIntervalMs: number;
  /** Values to replace with [REDACTED] wherever they appear (values shorter than 4 are ignored). */
  secrets?: readonly string[];
}

// Segment names carry a millisecond timestamp and the pid; two logs opened by one process in the
// same millisecond would collide, so names within a process are made strictly increasing.
let lastSegmentMs = 0;

export class AuditLog {
  /** Absolute path of this process's segment. */
  readonly file: string;
  #fd: number;
  #seq = 0;
  #prev = GENESIS_PREV;
  readonly #redactor: Redactor;
  readonly #fsyncEveryAppend: boolean;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #fsyncInFlight = false;
  #failure: Error | undefined;
  #closed = false;
  /** Chained but not yet written (appendSoon), oldest first. */
  #pending: string[] = [];
  #flushScheduled = false;

  private constructor(file: string, fd: number, redactor: Redactor, fsyncIntervalMs: number) {
    this.file = file;
    this.#fd = fd;
    this.#redactor = redactor;
    this.#fsyncEveryAppend = fsyncIntervalMs === 0;
  }

  static open(opts: AuditLogOptions): AuditLog {
    if (typeof opts.dir !== "string" || opts.dir === "") throw new Error("audit log: dir is required");
    if (!Number.isSafeInteger(opts.fsyncIntervalMs) || opts.fsyncIntervalMs < 0)
      throw new Error(`audit log: fsyncIntervalMs must be a non-negative integer, got ${String(opts.fsyncIntervalMs)}`);
    const dir = resolve(opts.dir);
    // 0700 applies only to directories created here; an existing directory keeps the mode its owner chose.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const previous = newestSegment(dir);
    const { fd, name } = createSegment(dir);
    const log = new AuditLog(join(dir, name), fd, compileRedactor(opts.secrets), opts.fsyncIntervalMs);
    try {
      // Not redacted: it holds only our own file name and a hash, and a short numeric secret that
      // happened to occur in a file name must not break the link verify depends on.
      log.#write({ kind: "gateway", event: SEGMENT_START_EVENT, detail: { previousSegment: previous?.name ?? null, previousHash: previous?.lastHash ?? null } }, false, true);
      syncDirectory(dir);
    } catch (e) {
      log.#closed = true;
      closeSync(fd);
      throw e;
    }
    if (opts.fsyncIntervalMs > 0) {
      // unref: a pending fsync must not keep an otherwise finished process alive.
      log.#timer = setInterval(() => log.#fsyncIfDirty(), opts.fsyncIntervalMs).unref();
    }
    return log;
  }

  /** Writes one record (redacted) into the kernel before returning it. Throws when closed or failed. */
  append(entry: AuditEntry): AuditRecord {
    return this.#write(entry, this.#redactor.active, true);
  }

  /**
   * Chains one record now and writes it within the current turn of the event loop, together with
   * whatever is written next. For records nothing waits on (a call's outcome): the response need
   * not wait for a disk write. `close()` writes what is pending.
   */
  appendSoon(entry: AuditEntry): AuditRecord {
    const record = this.#write(entry, this.#redactor.active, false);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        if (this.#closed || this.#failure) return;
        try {
          this.#flush();
        } catch {
          // #flush recorded the failure: every later append throws, so nothing is lost silently.
        }
      });
    }
    return record;
  }

  #write(entry: AuditEntry, redact: boolean, now: boolean): AuditRecord {
    if (this.#closed) throw new Error(`audit log ${this.file} is closed`);
    if (this.#failure) throw new Error(`audit log ${this.file} failed and accepts no more records: ${this.#failure.message}`, { cause: this.#failure });
    if (typeof entry !== "object" || entry === null || !isAuditKind(entry.kind))
      throw new TypeError(`audit entry has an invalid kind: ${JSON.stringify((entry as { kind?: unknown } | null)?.kind) ?? "undefined"}`);
    const time = new Date().toISOString();
    let record = buildRecord(this.#seq, time, entry, this.#prev);
    // Serialization errors (a BigInt, a cycle) throw here, before anything is written.
    let text = JSON.stringify(record);
    if (redact && this.#redactor.mayContain(text)) {
      record = buildRecord(this.#seq, time, this.#redactor.value(entry) as AuditEntry, this.#prev);
      text = JSON.stringify(record);
    }
    this.#pending.push(`${text}\n`);
    this.#prev = hashLine(text);
    this.#seq++;
    if (now) this.#flush();
    return record;
  }

  /** Writes every chained record not yet written, in order, in one write. */
  #flush(): void {
    if (!this.#pending.length) return;
    const buf = Buffer.from(this.#pending.length === 1 ? this.#pending[0]! : this.#pending.join(""), "utf8");
    this.#pending = [];
    try {
      writeAll(this.#fd, buf);
      if (this.#fsyncEveryAppend) fsyncSync(this.#fd);
    } catch (e) {
      // The file may now end in a partial line; continuing the chain after it would hide that.
      this.#failure = e as Error;
      throw e;
    }
    if (!this.#fsyncEveryAppend) this.#dirty = true;
  }

  /** fsyncs and closes. Idempotent. Throws if the final fsync fails (records may not be on disk). */
  close(): void {
    if (this.#closed) return;
    if (!this.#failure) this.#flush();
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }

  #fsyncIfDirty(): void {
    if (!this.#dirty || this.#fsyncInFlight || this.#closed) return;
    this.#dirty = false;
    this.#fsyncInFlight = true;
    fsync(this.#fd, (err) => {
      this.#fsyncInFlight = false;
      // After close the descriptor is gone and close() did its own fsync; an error then means nothing.
      if (err && !this.#closed) this.#failure ??= err;
    });
  }
}

function writeAll(fd: number, buf: Buffer): void {
  // A regular-file write is normally complete in one call; loop for the rare short write (e.g. a
  // signal), which O_APPEND still keeps contiguous because nothing else writes this file.
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function createSegment(dir: string): { fd: number; name: string } {
  for (let attempt = 0; ; attempt++) {
    const ms = Math.max(Date.now(), lastSegmentMs + 1);
    lastSegmentMs = ms;
    const name = segmentFileName(new Date(ms), process.pid);
    try {
      // O_EXCL: never append to (or through a symlink planted at) a file this process did not create.
      // Node opens with O_CLOEXEC, so MCP servers the gateway spawns do not inherit this descriptor.
      const fd = openSync(join(dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND, 0o600);
      return { fd, name };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 100) throw e;
    }
  }
}

/** The newest existing segment and the hash of its last complete line (null when it has none yet). */
function newestSegment(dir: string): { name: string; lastHash: string | null } | undefined {
  const name = listSegments(dir).at(-1);
  if (name === undefined) return undefined;
  return { name, lastHash: lastLineHash(join(dir, name)) };
}

/** Reads backwards from the end, so opening next to a large segment stays cheap. */
function lastLineHash(path: string): string | null {
  const line = lastLine(path);
  return line === null ? null : hashLine(line);
}

function lastLine(path: string): Buffer | null {
  const fd = openSync(path, "r");
  try {
    let end = fstatSync(fd).size;
    let tail = Buffer.alloc(0); // always the last (size - end) bytes of the file
    while (end > 0) {
      const size = Math.min(64 * 1024, end);
      const chunk = Buffer.alloc(size);
      const n = readSync(fd, chunk, 0, size, end - size);
      if (n !== size) return null; // the file shrank under us; treat as having no settled last line
      end -= size;
      tail = Buffer.concat([chunk, tail]);
      // The last newline ends the last complete line; anything after it is a partial write, not a record.
      const lineEnd = tail.lastIndexOf(10);
      if (lineEnd === -1) continue;
      const before = lineEnd === 0 ? -1 : tail.lastIndexOf(10, lineEnd - 1);
      if (before !== -1 || end === 0) return tail.subarray(before + 1, lineEnd);
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Makes the new file's directory entry durable. Best effort: some file systems refuse fsync on a directory. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Not fatal: the records themselves are still written and fsynced through the file descriptor.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------
// Short-lived processes (the PreToolUse hook: one process per tool call) would leave one segment per
// call. They share one segment instead, appended under a lock file: take the lock (O_EXCL), read the
// last line for its hash and seq, append, fsync, release. Segments rotate past SHARED_SEGMENT_BYTES.

const SHARED_SEGMENT_BYTES = 8 << 20;
const LOCK_WAIT_MS = 3000;
/** A lock older than this belongs to a process that died holding it. */
const LOCK_STALE_MS = 10_000;

export interface SharedAppendOptions extends AuditLogOptions {
  /** Names the shared segment's pointer and lock files: `<owner>.current`, `<owner>.lock`. */
  owner: string;
}

/** Appends one record to the owner's shared segment, fsynced. Throws (fail closed) when it cannot. */
export function appendShared(opts: SharedAppendOptions, entry: AuditEntry): AuditRecord {
  if (!/^[a-z][a-z0-9-]*$/.test(opts.owner)) throw new Error(`audit log: invalid shared owner ${JSON.stringify(opts.owner)}`);
  if (typeof entry !== "object" || entry === null || !isAuditKind(entry.kind)) throw new TypeError("audit entry has an invalid kind");
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, `${opts.owner}.lock`);
  takeLock(lock);
  try {
    const pointer = join(dir, `${opts.owner}.current`);
    let name: string | undefined;
    try {
      const text = readFileSync(pointer, "utf8").trim();
      if (isSegmentName(text)) name = text;
    } catch {
      // No shared segment yet.
    }
    let fd: number | undefined;
    let prev = GENESIS_PREV;
    let seq = 0;
    if (name !== undefined) {
      try {
        // No O_CREAT: append only to a segment that exists; O_NOFOLLOW: never through a planted symlink.
        fd = openSync(join(dir, name), constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
        if (fstatSync(fd).size >= SHARED_SEGMENT_BYTES) {
          closeSync(fd);
          fd = undefined;
        } else {
          const last = lastLine(join(dir, name));
          const parsed = last === null ? undefined : (JSON.parse(last.toString("utf8")) as { seq?: unknown });
          if (last === null || typeof parsed?.seq !== "number") {
            // A segment whose end cannot be read is not continued: a fresh one starts.
            closeSync(fd);
            fd = undefined;
          } else {
            prev = hashLine(last);
            seq = parsed.seq + 1;
          }
        }
      } catch {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
      }
    }
    const lines: string[] = [];
    const redactor = compileRedactor(opts.secrets);
    const chain = (e: AuditEntry, redact: boolean): AuditRecord => {
      let record = buildRecord(seq, new Date().toISOString(), e, prev);
      let text = JSON.stringify(record);
      if (redact && redactor.active && redactor.mayContain(text)) {
        record = buildRecord(seq, record.time, redactor.value(e) as AuditEntry, prev);
        text = JSON.stringify(record);
      }
      lines.push(text + "\n");
      prev = hashLine(text);
      seq++;
      return record;
    };
    if (fd === undefined) {
      const previous = newestSegment(dir);
      const created = createSegment(dir);
      fd = created.fd;
      name = created.name;
      prev = GENESIS_PREV;
      seq = 0;
      chain({ kind: "gateway", event: SEGMENT_START_EVENT, detail: { previousSegment: previous?.name ?? null, previousHash: previous?.lastHash ?? null } }, false);
    }
    const record = chain(entry, true);
    try {
      writeAll(fd, Buffer.from(lines.join(""), "utf8"));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    writeFileSync(pointer, `${name}\n`, { mode: 0o600 });
    return record;
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function takeLock(lock: string): void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      closeSync(openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock);
    } catch {
      // Released meanwhile.
    }
    if (Date.now() > deadline) throw new Error(`audit log: could not take the lock ${lock} within ${LOCK_WAIT_MS} ms`);
    Atomics.wait(sleeper, 0, 0, 2);
  }
}
