// The audit checkpoint: the head (last seq, hash of the last line) of every segment's chain, kept
// next to the segments in `checkpoint.json`. Writers update their own segment's head after every
// fsync, so `audit verify` can tell a deleted segment or a cut tail from a log that simply ended.
// Several processes write one audit directory at once (gateways, the hook, short CLI runs): each
// update is a read-modify-write under a lock (lock.ts), replacing the file atomically.
//
// So that an update costs the same with ten thousand segments as with one, the heads of segments
// nobody writes any more (their writer closed, or died) are "sealed": moved to a second file,
// `checkpoint.sealed-<digest>.json`, named by and checked against the SHA-256 the checkpoint holds
// (`sealed`). It is rewritten only when a segment is sealed, as a new file, so a crash never leaves
// the checkpoint naming a file that does not match. A head in the checkpoint overrides a sealed one.
//
// Keyed mode: with `audit.hmacKeyFile` the checkpoint carries an HMAC-SHA256 over its content, so it
// cannot be rewritten consistently with a cut segment by anyone who cannot read the key.
//
// A writer never launders a checkpoint it cannot trust: one that is unreadable, fails its HMAC, is
// unkeyed while the writer has a key, or is keyed with another key, is moved aside (kept, for
// forensics) and a fresh one is started that records the replacement (`replaced`), which verify
// reports. A writer without a key refuses a keyed checkpoint (it could not sign), fail closed.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, renameSync, unlinkSync } from "node:fs";
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { writeFileAtomic } from "../adapters/safe-files.js";
import { releaseLock, removeAbandonedStaging, stillHeld, tryTakeLock, type HeldLock } from "./lock.js";
import { isHash, isSegmentName } from "./record.js";

export const CHECKPOINT_FILE = "checkpoint.json";
const LOCK_NAME = "checkpoint.lock";
/** A lock held longer than this belongs to a process that hung or died (updates take milliseconds). */
export const CHECKPOINT_LOCK_STALE_MS = 10_000;
/** Larger than any real checkpoint (about 130 bytes a segment); anything bigger is not read. */
const MAX_CHECKPOINT_BYTES = 32 << 20;
/** Replacement notes accepted when parsing (a writer keeps only the one of the latest replacement). */
const MAX_REPLACED_NOTES = 100;
const HMAC_CONTEXT = "mcp-warden audit checkpoint v1\n";

export const MIN_KEY_BYTES = 32;
const MAX_KEY_BYTES = 64 * 1024;

/** The head of one segment's chain: its last record's seq and the SHA-256 of that line. */
export interface Head {
  seq: number;
  hash: string;
}

export type ReplacedReason = "unreadable" | "hmac" | "unkeyed" | "other-key";
const REPLACED_REASONS: readonly ReplacedReason[] = ["unreadable", "hmac", "unkeyed", "other-key"];

/** A writer found the checkpoint untrustworthy at `at` and started a new one. */
export interface ReplacedNote {
  at: string;
  reason: ReplacedReason;
  /** Where the old file was moved (in the audit directory), or null when there was no file to move. */
  file: string | null;
  /** Key id of the old checkpoint, when it had a readable one. */
  keyId: string | null;
}

/** Where the sealed heads are: a file named after (and checked against) the SHA-256 of its bytes. */
export interface SealedRef {
  file: string;
  count: number;
  digest: string;
}

export interface Checkpoint {
  v: 1;
  /** First 8 bytes (hex) of SHA-256 of the key that signs it; null when unkeyed. */
  keyId: string | null;
  updated: string;
  /** Heads of the segments still written (or not yet sealed). */
  segments: Map<string, Head>;
  sealed: SealedRef | null;
  replaced: ReplacedNote[];
  /** HMAC-SHA256 (hex) over the canonical body; present exactly when keyId is. */
  hmac: string | null;
}

export class AuditKeyError extends Error {
  override name = "AuditKeyError";
  /** unreadable: missing or no permission; invalid: not a usable key (too short, not a file...). */
  constructor(
    message: string,
    readonly reason: "unreadable" | "invalid",
  ) {
    super(message);
  }
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export interface AuditKey {
  file: string;
  /** First 8 bytes (hex) of SHA-256 of the key: names the key without revealing it. */
  id: string;
  bytes: Buffer;
}

const KEY_HELP = (file: string) => `make one with: head -c 32 /dev/urandom > ${file}; chmod 400 ${file}`;

/** Reads the HMAC key file. Throws AuditKeyError (saying how to make a key) when it is unusable. */
export function readAuditKey(file: string): AuditKey {
  let bytes: Buffer;
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the reader; it is refused below.
    const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new AuditKeyError(`the audit key ${file} is not a regular file; ${KEY_HELP(file)}`, "invalid");
      if (st.size > MAX_KEY_BYTES) throw new AuditKeyError(`the audit key ${file} is larger than ${MAX_KEY_BYTES} bytes: not a key file (check audit.hmacKeyFile)`, "invalid");
      bytes = readAll(fd, st.size);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof AuditKeyError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new AuditKeyError(
      code === "ENOENT"
        ? `the audit key ${file} (audit.hmacKeyFile) does not exist; ${KEY_HELP(file)}`
        : `cannot read the audit key ${file} (audit.hmacKeyFile): ${code}; give this process read access to it, or fix audit.hmacKeyFile`,
      "unreadable",
    );
  }
  if (bytes.length < MIN_KEY_BYTES)
    throw new AuditKeyError(`the audit key ${file} holds ${bytes.length} bytes; at least ${MIN_KEY_BYTES} are needed: ${KEY_HELP(file)}`, "invalid");
  return { file, id: keyIdOf(bytes), bytes };
}

export function keyIdOf(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

const KEY_ID_RE = /^[0-9a-f]{16}$/;
export const isKeyId = (s: unknown): s is string => typeof s === "string" && KEY_ID_RE.test(s);

function readAll(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

// ---------------------------------------------------------------------------------------------------
// Format

function sortedHeads(heads: ReadonlyMap<string, Head>): Record<string, Head> {
  const out: Record<string, Head> = {};
  for (const name of [...heads.keys()].sort()) {
    const h = heads.get(name)!;
    out[name] = { seq: h.seq, hash: h.hash };
  }
  return out;
}

/** The signed content, in a fixed field order with segments sorted by name. */
function canonicalBody(cp: Omit<Checkpoint, "hmac">): Record<string, unknown> {
  return {
    v: 1,
    keyId: cp.keyId,
    updated: cp.updated,
    segments: sortedHeads(cp.segments),
    sealed: cp.sealed && { file: cp.sealed.file, count: cp.sealed.count, digest: cp.sealed.digest },
    replaced: cp.replaced.map((n) => ({ at: n.at, reason: n.reason, file: n.file, keyId: n.keyId })),
  };
}

export function checkpointHmac(cp: Omit<Checkpoint, "hmac">, key: Uint8Array): string {
  return createHmac("sha256", key).update(HMAC_CONTEXT).update(JSON.stringify(canonicalBody(cp))).digest("hex");
}

/** Whether `cp` carries a valid HMAC by `key` (constant-time comparison). */
export function hmacMatches(cp: Checkpoint, key: Uint8Array): boolean {
  if (cp.hmac === null) return false;
  const expected = Buffer.from(checkpointHmac(cp, key), "hex");
  const actual = Buffer.from(cp.hmac, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function serializeCheckpoint(cp: Omit<Checkpoint, "hmac">, key: AuditKey | undefined): string {
  const body = canonicalBody(cp);
  if (key) body.hmac = checkpointHmac(cp, key.bytes);
  return `${JSON.stringify(body)}\n`;
}

/** Parses and checks a checkpoint's text. Unknown fields are refused: nothing unchecked is trusted. */
export function parseCheckpoint(text: string): Checkpoint | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!["v", "keyId", "updated", "segments", "sealed", "replaced", "hmac"].includes(k)) return `unknown field ${JSON.stringify(k)}`;
  if (o.v !== 1) return `unsupported version ${JSON.stringify(o.v) ?? "undefined"}`;
  if (o.keyId !== null && !isKeyId(o.keyId)) return "invalid keyId";
  if (typeof o.updated !== "string" || Number.isNaN(Date.parse(o.updated))) return "invalid updated time";
  if (o.keyId === null ? o.hmac !== undefined : !isHash(o.hmac)) return o.keyId === null ? "an hmac without a keyId" : "a keyId without a valid hmac";
  const segments = parseHeads(o.segments);
  if (typeof segments === "string") return segments;
  let sealed: SealedRef | null = null;
  if (o.sealed !== null) {
    const r = o.sealed as Record<string, unknown> | undefined;
    if (typeof r !== "object" || Object.keys(r).length !== 3 || !isHash(r.digest) || r.file !== sealedFileName(r.digest) || typeof r.count !== "number" || !Number.isSafeInteger(r.count) || r.count < 0)
      return "invalid sealed reference";
    sealed = { file: r.file, count: r.count, digest: r.digest };
  }
  if (!Array.isArray(o.replaced) || o.replaced.length > MAX_REPLACED_NOTES) return "invalid replaced list";
  const replaced: ReplacedNote[] = [];
  for (const n of o.replaced as unknown[]) {
    const r = n as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null || Object.keys(r).length !== 4) return "invalid replaced note";
    if (typeof r.at !== "string" || Number.isNaN(Date.parse(r.at))) return "invalid replaced note time";
    if (!REPLACED_REASONS.includes(r.reason as ReplacedReason)) return "invalid replaced note reason";
    if (r.file !== null && (typeof r.file !== "string" || !/^checkpoint\.[a-z-]+-\d+-[0-9a-f]{8}\.json$/.test(r.file))) return "invalid replaced note file";
    if (r.keyId !== null && !isKeyId(r.keyId)) return "invalid replaced note keyId";
    replaced.push({ at: r.at, reason: r.reason as ReplacedReason, file: r.file as string | null, keyId: r.keyId as string | null });
  }
  return { v: 1, keyId: o.keyId as string | null, updated: o.updated, segments, sealed, replaced, hmac: (o.hmac as string | undefined) ?? null };
}

function parseHeads(value: unknown): Map<string, Head> | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "invalid segments";
  const heads = new Map<string, Head>();
  for (const [name, head] of Object.entries(value)) {
    if (!isSegmentName(name)) return `invalid segment name ${JSON.stringify(name)}`;
    const h = head as Record<string, unknown> | null;
    if (typeof h !== "object" || h === null || Object.keys(h).length !== 2 || typeof h.seq !== "number" || !Number.isSafeInteger(h.seq) || h.seq < 0 || !isHash(h.hash))
      return `invalid head for ${name}`;
    heads.set(name, { seq: h.seq, hash: h.hash });
  }
  return heads;
}

const sealedFileName = (digest: string) => `checkpoint.sealed-${digest.slice(0, 16)}.json`;
const sealedText = (heads: ReadonlyMap<string, Head>) => `${JSON.stringify({ v: 1, segments: sortedHeads(heads) })}\n`;

export type SealedRead = { state: "ok"; segments: Map<string, Head> } | { state: "missing" | "damaged"; reason: string };

/** Reads the sealed heads `ref` names, checking their SHA-256. Never throws. */
export function readSealed(dir: string, ref: SealedRef): SealedRead {
  const file = join(dir, ref.file);
  let bytes: Buffer;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > MAX_CHECKPOINT_BYTES) return { state: "damaged", reason: `${ref.file} is not a regular file of a plausible size` };
      bytes = readAll(fd, st.size);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? { state: "missing", reason: `${ref.file} is missing` } : { state: "damaged", reason: `cannot read ${ref.file}: ${code ?? (e as Error).message}` };
  }
  if (createHash("sha256").update(bytes).digest("hex") !== ref.digest) return { state: "damaged", reason: `${ref.file} does not match the digest the checkpoint holds (it was rewritten)` };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { state: "damaged", reason: `${ref.file} is not valid JSON` };
  }
  const segments = parseHeads((value as { segments?: unknown } | null)?.segments);
  if (typeof segments === "string" || segments.size !== ref.count) return { state: "damaged", reason: `${ref.file} does not hold the ${ref.count} heads the checkpoint says` };
  return { state: "ok", segments };
}

/** unreadable: `io` when the file could not be read (permissions, I/O), else its content is damaged. */
export type CheckpointRead = { state: "missing" } | { state: "unreadable"; io: boolean; reason: string; keyId: string | null } | { state: "ok"; checkpoint: Checkpoint };

/** Reads `<dir>/checkpoint.json` without following a symlink, and parses it. Never throws. */
export function readCheckpoint(dir: string): CheckpointRead {
  const file = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return { state: "unreadable", io: false, reason: "not a regular file", keyId: null };
      if (st.size > MAX_CHECKPOINT_BYTES) return { state: "unreadable", io: false, reason: `larger than ${MAX_CHECKPOINT_BYTES} bytes`, keyId: null };
      text = readAll(fd, st.size).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { state: "missing" };
    return code === "ELOOP" ? { state: "unreadable", io: false, reason: "a symbolic link", keyId: null } : { state: "unreadable", io: true, reason: code ?? (e as Error).message, keyId: null };
  }
  const parsed = parseCheckpoint(text);
  if (typeof parsed === "string") {
    // The key id of a damaged checkpoint still says which key it was written with, when it parses that far.
    let keyId: string | null = null;
    try {
      const k = (JSON.parse(text) as { keyId?: unknown }).keyId;
      if (isKeyId(k)) keyId = k;
    } catch {
      // Not JSON at all.
    }
    return { state: "unreadable", io: false, reason: parsed, keyId };
  }
  return { state: "ok", checkpoint: parsed };
}

// ---------------------------------------------------------------------------------------------------
// Updating

/** The checkpoint locks this process holds across an await (checkpoint-writer.ts), by directory. */
const backgroundHolders = new Map<string, { lock: HeldLock; yieldLock(): void }>();

/**
 * Registers `lock` as held by a background update of this process, which gives it up through
 * `yieldLock` when a synchronous taker of this process needs it. Returns the unregistration.
 */
export function holdInBackground(dir: string, lock: HeldLock, yieldLock: () => void): () => void {
  const entry = { lock, yieldLock };
  backgroundHolders.set(dir, entry);
  return () => {
    if (backgroundHolders.get(dir) === entry) backgroundHolders.delete(dir);
  };
}

/** Takes the checkpoint's lock, waiting at most `waitMs`; undefined when another process still holds it. */
export function lockCheckpoint(dir: string, waitMs: number): HeldLock | undefined {
  const background = backgroundHolders.get(dir);
  if (background) {
    // Held by a background update of this very process, which cannot finish while we wait: a
    // waiting taker takes it over (that update is dropped and retried); a trying one finds it busy.
    if (waitMs === 0) return undefined;
    backgroundHolders.delete(dir);
    background.yieldLock();
    return background.lock;
  }
  try {
    return tryTakeLock(join(dir, LOCK_NAME), waitMs, CHECKPOINT_LOCK_STALE_MS);
  } catch (e) {
    throw new CheckpointError(`cannot lock the audit checkpoint in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

export interface PreparedCheckpoint {
  text: string;
  /** The sealed heads file the new checkpoint no longer names: removed once it is committed. */
  obsolete?: string;
}

/**
 * Under the lock: the new checkpoint with `heads` (segment name → head) recorded. A head never moves
 * back: an entry already further along is kept. Segments for which `seal` says yes are moved to the
 * sealed heads (a new sealed file is written now; left as they were when the current sealed file
 * cannot be trusted, which verify reports). Throws CheckpointError when the checkpoint is keyed and
 * this writer has no key, or an untrusted one cannot be moved aside.
 */
export function prepareCheckpoint(dir: string, heads: ReadonlyMap<string, Head>, key: AuditKey | undefined, seal?: (name: string) => boolean): PreparedCheckpoint {
  const cp = trustedBase(dir, key);
  for (const [name, head] of heads) {
    const old = cp.segments.get(name);
    if (!old || old.seq <= head.seq) cp.segments.set(name, head);
  }
  let obsolete: string | undefined;
  const sealing = seal ? [...cp.segments.keys()].filter(seal) : [];
  const current = sealing.length === 0 ? undefined : cp.sealed ? readSealed(dir, cp.sealed) : ({ state: "ok", segments: new Map() } as const);
  if (current?.state === "ok") {
    const all = current.segments;
    for (const name of sealing) {
      all.set(name, cp.segments.get(name)!);
      cp.segments.delete(name);
    }
    const text = sealedText(all);
    const digest = createHash("sha256").update(text).digest("hex");
    const ref: SealedRef = { file: sealedFileName(digest), count: all.size, digest };
    try {
      writeFileAtomic(join(dir, ref.file), text);
    } catch (e) {
      throw new CheckpointError(`cannot write ${join(dir, ref.file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    if (cp.sealed && cp.sealed.file !== ref.file) obsolete = cp.sealed.file;
    cp.sealed = ref;
  }
  cp.updated = new Date().toISOString();
  return obsolete ? { text: serializeCheckpoint(cp, key), obsolete } : { text: serializeCheckpoint(cp, key) };
}

/** Under the lock: replaces the checkpoint; false (nothing written) when the lock was lost. */
export function commitCheckpoint(dir: string, prepared: PreparedCheckpoint, lock: HeldLock): boolean {
  // Lease: no waiter judges our lock stale for CHECKPOINT_LOCK_STALE_MS/2 more; the write takes milliseconds.
  if (!stillHeld(lock, CHECKPOINT_LOCK_STALE_MS)) return false;
  try {
    writeFileAtomic(join(dir, CHECKPOINT_FILE), prepared.text);
  } catch (e) {
    throw new CheckpointError(`cannot write the audit checkpoint ${join(dir, CHECKPOINT_FILE)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  removeObsolete(dir, prepared);
  return true;
}

/** After a commit: the sealed heads file nothing names any more. Best effort: a leftover is harmless. */
export function removeObsolete(dir: string, prepared: PreparedCheckpoint): void {
  if (prepared.obsolete === undefined) return;
  try {
    unlinkSync(join(dir, prepared.obsolete));
  } catch {
    // Gone already.
  }
}

/**
 * Records `heads` in the checkpoint, under its lock, synchronously. Waits at most `waitMs` for the
 * lock and returns false when it is still held then (nothing written). Throws CheckpointError when
 * the checkpoint cannot be written, or is keyed while this writer has no key.
 */
export function updateCheckpoint(dir: string, heads: ReadonlyMap<string, Head>, key: AuditKey | undefined, waitMs: number, seal?: (name: string) => boolean): boolean {
  const lock = lockCheckpoint(dir, waitMs);
  if (!lock) return false;
  try {
    return commitCheckpoint(dir, prepareCheckpoint(dir, heads, key, seal), lock);
  } finally {
    releaseLock(lock);
  }
}

/** Under the lock: the current checkpoint if this writer can trust it, else a fresh one noting why. */
function trustedBase(dir: string, key: AuditKey | undefined): Omit<Checkpoint, "hmac"> {
  const read = readCheckpoint(dir);
  const fresh = (replaced: ReplacedNote[]): Omit<Checkpoint, "hmac"> => ({ v: 1, keyId: key?.id ?? null, updated: "", segments: new Map(), sealed: null, replaced });
  if (read.state === "missing") return fresh([]);
  if (read.state === "ok") {
    const cp = read.checkpoint;
    if (cp.keyId !== null && !key)
      throw new CheckpointError(
        `the audit checkpoint ${join(dir, CHECKPOINT_FILE)} is keyed (key id ${cp.keyId}) but this process has no key: set audit.hmacKeyFile to that key's file for every mcp-warden writing ${dir}`,
      );
    if (cp.keyId === null && !key) return { ...cp, keyId: null };
    if (key && cp.keyId === key.id && hmacMatches(cp, key.bytes)) return { ...cp, keyId: key.id };
  }
  // Not trustworthy for this writer: keep the old file aside, start again, and say so (signed when keyed).
  const reason: ReplacedReason = read.state === "unreadable" ? "unreadable" : read.checkpoint.keyId === null ? "unkeyed" : read.checkpoint.keyId === key!.id ? "hmac" : "other-key";
  const oldKeyId = read.state === "ok" ? read.checkpoint.keyId : read.keyId;
  const aside = `checkpoint.${reason}-${Date.now()}-${randomBytes(4).toString("hex")}.json`;
  let file: string | null = aside;
  try {
    renameSync(join(dir, CHECKPOINT_FILE), join(dir, aside));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new CheckpointError(`cannot move the untrusted audit checkpoint aside in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    file = null;
  }
  // Earlier notes are not carried: they come from a checkpoint this writer could not trust.
  return fresh([{ at: new Date().toISOString(), reason, file, keyId: oldKeyId }]);
}

/**
 * Removes what writers that died mid-update left: lock staging directories, and temp files of an
 * atomic replace (`.<12 hex>.tmp`, as safe-files names them) older than the lock's staleness, which
 * no live writer can still be about to rename. Called when a writer opens.
 */
export function cleanCheckpointLeftovers(dir: string): void {
  removeAbandonedStaging(join(dir, LOCK_NAME), CHECKPOINT_LOCK_STALE_MS);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^\.[0-9a-f]{12}\.tmp$/.test(name)) continue;
    try {
      const st = lstatSync(join(dir, name));
      if (st.isFile() && Date.now() - st.mtimeMs > CHECKPOINT_LOCK_STALE_MS) unlinkSync(join(dir, name));
    } catch {
      // Gone meanwhile.
    }
  }
}
