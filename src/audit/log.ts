// The audit log writer. Design, and its limits:
// - One segment file per process (and per AuditLog), so concurrent gateways never interleave
//   writes into one hash chain. Each segment is its own chain; its first record names the newest
//   other segment and the hash of that segment's last line at open time (best effort: a segment
//   created concurrently is not linked).
// - The checkpoint (checkpoint.ts) holds every segment's head: a writer records its head there when
//   it opens, after every fsync and when it closes. Deleting a segment or cutting its tail is then
//   visible to `audit verify` unless the checkpoint is rewritten to match; in keyed mode
//   (hmacKeyFile) that rewrite needs the key. Records written after the last checkpoint update
//   (at most one fsync interval, or what a crash left) are reported as not yet covered.
// - The chain itself is unkeyed SHA-256: it shows edits, deletions and reordering by anyone who does
//   not rewrite every later hash (and the checkpoint).
// - append() writes the whole line with one synchronous write on an O_APPEND descriptor, so when it
//   returns the record is in the kernel and survives the process being killed. Durability against
//   power loss comes from fsync, on an interval (or after every append when the interval is 0).
// - Fail closed: once a write, an fsync or a checkpoint update fails the log refuses further
//   appends, so a caller that audits before acting stops acting.
import { isAlive } from "../adapters/process-alive.js";
import { closeSync, constants, fsync, fsyncSync, fstatSync, lstatSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensurePrivateDir, writeFileAtomic } from "../adapters/safe-files.js";
import { releaseLock } from "./lock.js";
import { cleanCheckpointLeftovers, CheckpointError, commitCheckpoint, lockCheckpoint, prepareCheckpoint, readAuditKey, type AuditKey, type Head, type PreparedCheckpoint } from "./checkpoint.js";
import { CheckpointWriter } from "./checkpoint-writer.js";
import { buildRecord, GENESIS_PREV, hashLine, isAuditKind, isSegmentName, SEGMENT_START_EVENT, segmentFileName, type AuditEntry, type AuditRecord, type SegmentStartDetail } from "./record.js";
import { compileRedactor, type Redactor } from "./redact.js";
import { listSegments } from "./query.js";
import type { AuditSink } from "./sink.js";

export interface AuditLogOptions {
  dir: string;
  /** fsync at most this often when something was written; 0 = fsync after every append. */
  fsyncIntervalMs: number;
  /** Values to replace with [REDACTED] wherever they appear (values shorter than 4 are ignored). */
  secrets?: readonly string[];
  /** Keyed mode: absolute path of the HMAC key (at least 32 bytes) that signs the checkpoint. */
  hmacKeyFile?: string;
}

/** How long open() and close() wait for the checkpoint lock (updates take milliseconds). */
const CHECKPOINT_WAIT_MS = 5000;

// Segment names carry a millisecond timestamp and the pid; two logs opened by one process in the
// same millisecond would collide, so names within a process are made strictly increasing.
let lastSegmentMs = 0;

export class AuditLog implements AuditSink {
  /** append() writes into the kernel before it returns; appendSoon() within the same turn of the event loop. */
  readonly durableOnAppend = true;
  /** Absolute path of this process's segment. */
  readonly file: string;
  get where(): string {
    return this.file;
  }
  readonly #checkpoint: CheckpointWriter;
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
  /** The last record written to the file. */
  #written: Head | undefined;

  private constructor(dir: string, name: string, fd: number, redactor: Redactor, fsyncIntervalMs: number, key: AuditKey | undefined) {
    this.file = join(dir, name);
    this.#fd = fd;
    this.#redactor = redactor;
    this.#fsyncEveryAppend = fsyncIntervalMs === 0;
    // A checkpoint that cannot be kept fails the log, as a failed write does.
    this.#checkpoint = new CheckpointWriter(dir, name, key, (e) => (this.#failure ??= e));
  }

  /**
   * Opens a new segment and records it in the checkpoint. Throws (the caller must not start) when
   * the directory, the key or the checkpoint is unusable; AuditKeyError says how to make a key.
   */
  static open(opts: AuditLogOptions): AuditLog {
    if (typeof opts.dir !== "string" || opts.dir === "") throw new Error("audit log: dir is required");
    if (!Number.isSafeInteger(opts.fsyncIntervalMs) || opts.fsyncIntervalMs < 0)
      throw new Error(`audit log: fsyncIntervalMs must be a non-negative integer, got ${String(opts.fsyncIntervalMs)}`);
    // Before anything is created: a gateway with an unusable key must not start at all.
    const key = opts.hmacKeyFile !== undefined ? readAuditKey(opts.hmacKeyFile) : undefined;
    const dir = resolve(opts.dir);
    // 0700 applies only to directories created here; an existing directory keeps the mode its owner
    // chose, but must be a real directory of ours (not a symlink planted in its place).
    ensurePrivateDir(dir);
    cleanCheckpointLeftovers(dir);
    const previous = newestSegment(dir);
    const { fd, name } = createSegment(dir);
    const log = new AuditLog(dir, name, fd, compileRedactor(opts.secrets), opts.fsyncIntervalMs, key);
    try {
      // Not redacted: it holds only our own file name and a hash, and a short numeric secret that
      // happened to occur in a file name must not break the link verify depends on.
      log.#write({ kind: "gateway", event: SEGMENT_START_EVENT, detail: segmentStart(previous, key) }, false, true);
      fsyncSync(fd);
      syncDirectory(dir);
      // Heads of writers that died without closing are sealed now, so the checkpoint stays small.
      log.#checkpoint.recordNow(log.#written!, CHECKPOINT_WAIT_MS, abandonedSegments(dir, name));
    } catch (e) {
      log.#closed = true;
      closeSync(fd);
      // Unrecorded in the checkpoint, the segment would look like evidence of a deleted checkpoint;
      // it holds nothing but its segment-start.
      try {
        unlinkSync(log.file);
      } catch {
        // Already gone.
      }
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
   * Chains the record now and resolves once it is in the kernel (durable in this log's sense). It is
   * written together with every other record chained in the same turn of the event loop, in one
   * write once the turn's microtasks have run (group commit): the decision records of calls read
   * together cost one system call. A write that fails, or a log that failed or closed before the
   * record was written, rejects (fail closed: the caller does not act).
   */
  appendDurable(entry: AuditEntry): Promise<AuditRecord> {
    let record: AuditRecord;
    try {
      record = this.#write(entry, this.#redactor.active, false);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.#commitSoon().then(() => record);
  }

  /** The group commit under way: one write at the end of this turn's microtasks. */
  #commit: Promise<void> | undefined;
  #commitSoon(): Promise<void> {
    this.#commit ??= new Promise<void>((resolve, reject) => {
      process.nextTick(() => {
        this.#commit = undefined;
        try {
          // A failure since the records were chained may have lost them: nobody may act on them.
          if (this.#failure) throw new Error(`audit log ${this.file} failed and accepts no more records: ${this.#failure.message}`, { cause: this.#failure });
          // Written already by a later append() or by close(), or written now.
          if (this.#pending.length) {
            if (this.#closed) throw new Error(`audit log ${this.file} is closed`);
            this.#flush();
          }
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    return this.#commit;
  }

  /** Records from append() are already in the kernel; those of appendSoon() are written now. */
  flush(): Promise<void> {
    try {
      if (this.#closed) throw new Error(`audit log ${this.file} is closed`);
      if (this.#failure) throw new Error(`audit log ${this.file} failed and accepts no more records: ${this.#failure.message}`, { cause: this.#failure });
      this.#flush();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
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
    // Everything chained is now written: the head is the last chained record.
    this.#written = { seq: this.#seq - 1, hash: this.#prev };
    if (this.#fsyncEveryAppend) this.#checkpoint.recordSoon(this.#written);
    else this.#dirty = true;
  }

  /** fsyncs, records the final head in the checkpoint and closes. Idempotent. Throws if the final fsync fails. */
  close(): void {
    if (this.#closed) return;
    if (!this.#failure) this.#flush();
    this.#closed = true;
    clearInterval(this.#timer);
    let synced = false;
    try {
      fsyncSync(this.#fd);
      synced = true;
    } finally {
      closeSync(this.#fd);
      // Only a head known on disk is recorded. Best effort: a head not recorded is reported by
      // verify as not yet covered, and nothing more will be appended, so there is nothing to refuse.
      this.#checkpoint.close(synced && !this.#failure ? this.#written : undefined, CHECKPOINT_WAIT_MS);
    }
  }

  #fsyncIfDirty(): void {
    if (!this.#dirty || this.#fsyncInFlight || this.#closed) return;
    this.#dirty = false;
    this.#fsyncInFlight = true;
    const head = this.#written;
    fsync(this.#fd, (err) => {
      this.#fsyncInFlight = false;
      // After close the descriptor is gone and close() did its own fsync; an error then means nothing.
      if (this.#closed) return;
      if (err) this.#failure ??= err;
      else if (head) this.#checkpoint.recordSoon(head);
    });
  }
}

/**
 * Segments whose writer is gone: named with the pid of a process that no longer exists (on this
 * host), except our own and the shared segments (`<owner>.current`), which other short-lived
 * processes keep appending to.
 */
function abandonedSegments(dir: string, own: string): (name: string) => boolean {
  // Read when first asked, i.e. under the checkpoint's lock, which pointer files are written under.
  let shared: Set<string> | undefined;
  const sharedSegments = (): Set<string> => {
    const found = new Set<string>();
    for (const f of readdirSync(dir)) {
      if (!/^[a-z][a-z0-9-]*\.current$/.test(f)) continue;
      const name = readPointer(join(dir, f));
      if (name !== undefined) found.add(name);
    }
    return found;
  };
  return (name) => {
    if (name === own) return false;
    const pid = Number(/-(\d+)\.jsonl$/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) return false;
    try {
      shared ??= sharedSegments();
    } catch {
      return false; // unlistable: nothing is sealed; the next writer tries again
    }
    return !shared.has(name);
  };
}

/** The segment-start record's detail for a segment opened after `previous`, in this key mode. */
function segmentStart(previous: { name: string; lastHash: string | null } | undefined, key: AuditKey | undefined): SegmentStartDetail & Record<string, unknown> {
  return { previousSegment: previous?.name ?? null, previousHash: previous?.lastHash ?? null, checkpointed: true, keyId: key?.id ?? null };
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

/** The newest existing segment and the hash of its last complete line (null when it has none, or it cannot be read). */
function newestSegment(dir: string): { name: string; lastHash: string | null } | undefined {
  const name = listSegments(dir).at(-1);
  if (name === undefined) return undefined;
  let lastHash: string | null = null;
  try {
    const line = lastLine(join(dir, name));
    lastHash = line === null ? null : hashLine(line);
  } catch {
    // A planted symlink, FIFO or unreadable file: verify reports it; a writer still starts.
  }
  return { name, lastHash };
}

/** Reads backwards from the end, so opening next to a large segment stays cheap. Refuses anything but a regular file. */
function lastLine(path: string): Buffer | null {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    let end = st.size;
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
// call. They share one segment instead, appended under the checkpoint's lock (one lock for both: the
// head must be recorded by whoever appended it, before anyone appends after it): take the lock, read
// the last line for its hash and seq, append, fsync, record the head in the checkpoint, release.
// Segments rotate past SHARED_SEGMENT_BYTES.

const SHARED_SEGMENT_BYTES = 8 << 20;
const LOCK_WAIT_MS = 3000;

export interface SharedAppendOptions extends AuditLogOptions {
  /** Names the shared segment's pointer file: `<owner>.current`. */
  owner: string;
}

/** Appends one record to the owner's shared segment, fsynced and checkpointed. Throws (fail closed) when it cannot. */
export function appendShared(opts: SharedAppendOptions, entry: AuditEntry): AuditRecord {
  if (!/^[a-z][a-z0-9-]*$/.test(opts.owner)) throw new Error(`audit log: invalid shared owner ${JSON.stringify(opts.owner)}`);
  if (typeof entry !== "object" || entry === null || !isAuditKind(entry.kind)) throw new TypeError("audit entry has an invalid kind");
  const key = opts.hmacKeyFile !== undefined ? readAuditKey(opts.hmacKeyFile) : undefined;
  const dir = resolve(opts.dir);
  ensurePrivateDir(dir);
  const lock = lockCheckpoint(dir, LOCK_WAIT_MS);
  if (!lock) throw new CheckpointError(`could not take the audit checkpoint lock in ${dir} within ${LOCK_WAIT_MS} ms; another mcp-warden is writing (if none is running, remove ${join(dir, "checkpoint.lock")})`);
  try {
    const pointer = join(dir, `${opts.owner}.current`);
    const pointed = readPointer(pointer);
    let name = pointed;
    let fd: number | undefined;
    let prev = GENESIS_PREV;
    let seq = 0;
    if (name !== undefined) {
      try {
        // No O_CREAT: append only to a segment that exists; O_NOFOLLOW: never through a planted symlink.
        fd = openSync(join(dir, name), constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        const st = fstatSync(fd);
        if (!st.isFile() || st.size >= SHARED_SEGMENT_BYTES) {
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
    let created = false;
    if (fd === undefined) {
      const previous = newestSegment(dir);
      const segment = createSegment(dir);
      fd = segment.fd;
      name = segment.name;
      created = true;
      prev = GENESIS_PREV;
      seq = 0;
      chain({ kind: "gateway", event: SEGMENT_START_EVENT, detail: segmentStart(previous, key) }, false);
    }
    const record = chain(entry, true);
    let checkpoint: PreparedCheckpoint;
    try {
      // Before anything is written: a checkpoint this writer may not update (keyed, and no key here)
      // must not leave records behind that it does not name. A shared segment left for a new one is sealed.
      checkpoint = prepareCheckpoint(dir, new Map([[name!, { seq: seq - 1, hash: prev }]]), key, created && pointed !== undefined ? (n) => n === pointed : undefined);
      writeAll(fd, Buffer.from(lines.join(""), "utf8"));
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      if (created) unlinkSync(join(dir, name!));
      throw e;
    }
    closeSync(fd);
    if (created) syncDirectory(dir);
    // Only when it changes; atomically through a fresh temp file: a symlink planted at the pointer is replaced, not followed.
    if (name !== pointed) writeFileAtomic(pointer, `${name!}\n`);
    if (!commitCheckpoint(dir, checkpoint, lock))
      throw new CheckpointError(`lost the audit checkpoint lock in ${dir} while appending (this process stalled for seconds); the record is written but not checkpointed`);
    return record;
  } finally {
    releaseLock(lock);
  }
}

/** The shared segment named by the pointer file, read without following a symlink; undefined if none. */
function readPointer(pointer: string): string | undefined {
  try {
    if (!lstatSync(pointer).isFile()) return undefined;
    const fd = openSync(pointer, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const buf = Buffer.alloc(128);
      const text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8").trim();
      return isSegmentName(text) ? text : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // no shared segment yet
  }
}
