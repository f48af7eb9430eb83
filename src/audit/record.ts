import * as crypto from "node:crypto";
// The audit record format: one JSON object per line, each chained to the line before it by SHA-256.
// Pure: nothing here touches the file system, so the writer, the reader and verify share one definition.
import { createHash } from "node:crypto";
import type { Decision, Source } from "../policy/types.js";

export const AUDIT_KINDS = ["call", "list", "request", "server", "gateway", "decision", "approval", "integrity"] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_OUTCOMES = ["ok", "error", "tool-error", "denied", "timeout", "cancelled"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What callers pass to `AuditLog.append`. */
export interface AuditEntry {
  /** `decision` = a check/hook decision. */
  kind: AuditKind;
  /** "decided" | "completed" | "started" | "crashed" | "restarted" | "stopped" | "blocked" | ... */
  event?: string;
  /** Correlates the "decided" and "completed" records of one request. */
  id?: string;
  client?: { name?: string; version?: string };
  /** Who called: subject, client id, organization, how they authenticated; in remote mode also a hash of the session ID and the client's address. Never a token. */
  principal?: { subject: string; clientId?: string; org?: string; method: string; session?: string; address?: string };
  server?: string;
  /** Canonical `mcp__server__tool`. */
  tool?: string;
  /** JSON-RPC method. */
  method?: string;
  arguments?: unknown;
  decision?: Decision;
  reason?: string;
  rule?: string;
  ruleSource?: Source;
  durationMs?: number;
  outcome?: AuditOutcome;
  error?: string;
  detail?: Record<string, unknown>;
}

/** One line of a segment, as written. */
export interface AuditRecord extends AuditEntry {
  v: 1;
  seq: number;
  /** ISO-8601 with milliseconds, UTC. */
  time: string;
  /** SHA-256 (hex) of the exact bytes of the previous line of the same file; 64 zeros for the first. */
  prev: string;
}

/** `prev` of the first record of every segment. */
export const GENESIS_PREV = "0".repeat(64);
export const SEGMENT_START_EVENT = "segment-start";

/** Entry fields in the order they are written. The check below keeps this list complete. */
const ENTRY_FIELDS = [
  "kind",
  "event",
  "id",
  "client",
  "principal",
  "server",
  "tool",
  "method",
  "arguments",
  "decision",
  "reason",
  "rule",
  "ruleSource",
  "durationMs",
  "outcome",
  "error",
  "detail",
] as const satisfies readonly (keyof AuditEntry)[];
type MissingField = Exclude<keyof AuditEntry, (typeof ENTRY_FIELDS)[number]>;
// Compile error here means a field was added to AuditEntry but not to ENTRY_FIELDS (it would be dropped).
const entryFieldsComplete: [MissingField] extends [never] ? true : never = true;
void entryFieldsComplete;

const KIND_SET: ReadonlySet<string> = new Set(AUDIT_KINDS);
export const isAuditKind = (s: unknown): s is AuditKind => typeof s === "string" && KIND_SET.has(s);

/**
 * Builds the record in the fixed field order: v, seq, time, entry fields, prev.
 * Unknown keys and undefined values are left out, so the line holds exactly the typed fields.
 */
export function buildRecord(seq: number, time: string, entry: AuditEntry, prev: string): AuditRecord {
  const record: Record<string, unknown> = { v: 1, seq, time };
  for (const field of ENTRY_FIELDS) {
    const value = entry[field];
    if (value !== undefined) record[field] = value;
  }
  record.prev = prev;
  return record as unknown as AuditRecord;
}

/** SHA-256 hex of a line's bytes (without its newline). Strings are hashed as UTF-8. */
// crypto.hash (Node >= 20.12) skips the Hash object; fall back for older 20.x.
const oneShot = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: "hex") => string }).hash;

export function hashLine(line: string | Uint8Array): string {
  return oneShot ? oneShot("sha256", line, "hex") : createHash("sha256").update(line).digest("hex");
}

const HASH_RE = /^[0-9a-f]{64}$/;
export const isHash = (s: unknown): s is string => typeof s === "string" && HASH_RE.test(s);

export type ParsedLine = { record: AuditRecord; error?: undefined } | { record?: undefined; error: string };

/** Parses one line and checks the fields every record must have. Never throws. */
export function parseRecordLine(text: string): ParsedLine {
  if (text.length === 0) return { error: "empty line" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: "not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "not a JSON object" };
  const r = value as Record<string, unknown>;
  if (r.v !== 1) return { error: `unsupported record version ${JSON.stringify(r.v) ?? "undefined"}` };
  if (typeof r.seq !== "number" || !Number.isSafeInteger(r.seq) || r.seq < 0) return { error: "missing or invalid seq" };
  if (typeof r.time !== "string") return { error: "missing or invalid time" };
  if (typeof r.kind !== "string") return { error: "missing or invalid kind" };
  if (!isHash(r.prev)) return { error: "missing or invalid prev hash" };
  return { record: r as unknown as AuditRecord };
}

// Segment files: audit-<UTC yyyymmddThhmmss.SSS>-<pid>.jsonl. The fixed-width UTC timestamp makes
// name order equal creation order (to the millisecond; same-millisecond segments of different
// processes sort by pid text).
export const SEGMENT_NAME_RE = /^audit-\d{8}T\d{6}\.\d{3}-\d+\.jsonl$/;
export const isSegmentName = (name: string): boolean => SEGMENT_NAME_RE.test(name);

export function segmentFileName(date: Date, pid: number): string {
  const iso = date.toISOString(); // 2025-01-31T12:34:56.789Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 23)}`;
  return `audit-${stamp}-${pid}.jsonl`;
}

/** Shape of the segment-start record's detail. */
export interface SegmentStartDetail {
  /** File name (not path) of the newest other segment when this one was opened. */
  previousSegment: string | null;
  /** SHA-256 of that segment's last complete line at that moment. */
  previousHash: string | null;
  /** Its writer records its head in the checkpoint (absent in segments of versions without one). */
  checkpointed?: boolean;
  /** Id of the key signing the checkpoint (first 8 bytes of SHA-256 of the key, hex); null unkeyed. */
  keyId?: string | null;
}

/** The segment-start detail of `r`, or a reason it is not a valid segment-start record. */
export function segmentStartDetail(r: AuditRecord): SegmentStartDetail | string {
  if (r.kind !== "gateway" || r.event !== SEGMENT_START_EVENT) return "first record of the segment is not a segment-start record";
  const d = r.detail;
  if (typeof d !== "object" || d === null) return "segment-start record has no detail";
  const { previousSegment, previousHash } = d as Record<string, unknown>;
  if (previousSegment !== null && (typeof previousSegment !== "string" || !isSegmentName(previousSegment)))
    return "segment-start record has an invalid previousSegment";
  if (previousHash !== null && !isHash(previousHash)) return "segment-start record has an invalid previousHash";
  if (previousSegment === null && previousHash !== null) return "segment-start record has a previousHash without a previousSegment";
  const { checkpointed, keyId } = d as Record<string, unknown>;
  if (checkpointed !== undefined && typeof checkpointed !== "boolean") return "segment-start record has an invalid checkpointed flag";
  if (keyId !== undefined && keyId !== null && (typeof keyId !== "string" || !/^[0-9a-f]{16}$/.test(keyId))) return "segment-start record has an invalid keyId";
  const detail: SegmentStartDetail = { previousSegment, previousHash };
  if (checkpointed !== undefined) detail.checkpointed = checkpointed;
  if (keyId !== undefined) detail.keyId = keyId;
  return detail;
}
