// Reading the audit log: segment listing, a byte-exact line reader (verify hashes raw bytes), the
// record iterator, filters and time arguments for `audit query`.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Decision } from "../policy/types.js";
import { type AuditRecord, isSegmentName, parseRecordLine } from "./record.js";

/** Segment file names in `dir`, in name order (= creation order). A missing directory has none. */
export function listSegments(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  // Plain code-unit comparison: locale-aware sorting could reorder the fixed-width timestamps.
  return names.filter(isSegmentName).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface RawLine {
  /** 1-based. */
  line: number;
  /** The line's bytes without the newline. */
  bytes: Buffer;
  /** False for a last line with no newline after it: a write that did not complete. */
  terminated: boolean;
}

const CHUNK = 64 * 1024;

/** The lines of one file as raw bytes, streaming (segments can be large). */
export function* readSegmentLines(path: string): Generator<RawLine> {
  // Never through a symlink planted under a segment's name, never blocking on a FIFO.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: "not a regular file" });
    const chunk = Buffer.allocUnsafe(CHUNK);
    let pending: Buffer[] = [];
    let line = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl === -1 || nl >= n) {
          if (start < n) pending.push(Buffer.from(chunk.subarray(start, n)));
          break;
        }
        const piece = chunk.subarray(start, nl);
        const bytes = pending.length > 0 ? Buffer.concat([...pending, piece]) : Buffer.from(piece);
        pending = [];
        start = nl + 1;
        yield { line: ++line, bytes, terminated: true };
      }
    }
    if (pending.length > 0) yield { line: ++line, bytes: Buffer.concat(pending), terminated: false };
  } finally {
    closeSync(fd);
  }
}

export const TRUNCATED_REASON = "truncated last line (no newline at the end: the write did not complete)";

export type AuditReadItem =
  | { file: string; line: number; record: AuditRecord; error?: undefined }
  | { file: string; line: number; record?: undefined; error: string };

/** Every line of every segment, in order; a line that is not a record comes back with `error`. */
export function* readAuditLines(dir: string): Generator<AuditReadItem> {
  for (const file of listSegments(dir)) {
    for (const raw of readSegmentLines(join(dir, file))) {
      if (!raw.terminated) {
        yield { file, line: raw.line, error: TRUNCATED_REASON };
        continue;
      }
      const parsed = parseRecordLine(raw.bytes.toString("utf8"));
      yield parsed.record ? { file, line: raw.line, record: parsed.record } : { file, line: raw.line, error: parsed.error };
    }
  }
}

export class AuditFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = "AuditFormatError";
  }
}

/**
 * All records of all segments in name (= time) order. A line that is not a valid record throws
 * AuditFormatError rather than being skipped: a reader must never silently miss part of the log.
 * Use readAuditLines to read past damaged lines.
 */
export function* readRecords(dir: string): Generator<{ file: string; line: number; record: AuditRecord }> {
  for (const item of readAuditLines(dir)) {
    if (item.error !== undefined) throw new AuditFormatError(item.file, item.line, item.error);
    yield item;
  }
}

export interface AuditFilter {
  server?: string;
  /** Glob on the canonical tool name; `*` matches any run of characters (including `__`). */
  tool?: string;
  decision?: Decision;
  kind?: string;
  /** Inclusive. */
  since?: Date;
  /** Inclusive. */
  until?: Date;
  event?: string;
}

const globCache = new Map<string, RegExp>();

function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.split("*").map((part) => part.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")).join(".*")}$`, "s");
    if (globCache.size > 64) globCache.clear();
    globCache.set(glob, re);
  }
  return re;
}

/** True when `r` passes every filter that is set. A record without the filtered field does not match. */
export function matchRecord(r: AuditRecord, f: AuditFilter): boolean {
  if (f.server !== undefined && r.server !== f.server) return false;
  if (f.tool !== undefined && (typeof r.tool !== "string" || !globToRegExp(f.tool).test(r.tool))) return false;
  if (f.decision !== undefined && r.decision !== f.decision) return false;
  if (f.kind !== undefined && r.kind !== f.kind) return false;
  if (f.event !== undefined && r.event !== f.event) return false;
  if (f.since !== undefined || f.until !== undefined) {
    const t = Date.parse(r.time);
    if (Number.isNaN(t)) return false;
    if (f.since !== undefined && t < f.since.getTime()) return false;
    if (f.until !== undefined && t > f.until.getTime()) return false;
  }
  return true;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * `--since`/`--until` values: ISO-8601 (`2025-01-31`, `2025-01-31T12:00:00Z`; a date-time without
 * zone is local time, a bare date is UTC midnight, as in JavaScript) or a relative `30s`, `15m`,
 * `2h`, `7d` meaning that long before `now`.
 */
export function parseTimeArg(s: string, now: Date): Date {
  const text = s.trim();
  const rel = /^(\d+)([smhd])$/.exec(text);
  if (rel) {
    const d = new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
    if (Number.isNaN(d.getTime())) throw new Error(`time "${s}" is too far in the past`);
    return d;
  }
  const iso = ISO_RE.exec(text);
  if (iso) {
    const t = Date.parse(text);
    const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    // Date.parse rolls impossible days over (Feb 30 -> Mar 2) in some cases; reject them instead.
    const calendar = new Date(Date.UTC(year, month - 1, day));
    const validDay = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
    if (!Number.isNaN(t) && validDay) return new Date(t);
  }
  throw new Error(`invalid time "${s}": use ISO-8601 (2025-01-31 or 2025-01-31T12:00:00Z) or a relative time such as 30s, 15m, 2h, 7d`);
}
