// Verifies the audit log: each segment's hash chain, and the links between segments.
// Checks per segment: every line is a complete record, seq runs 0,1,2,..., each prev is the SHA-256
// of the line before (64 zeros first), the first record is a segment-start. Across segments: a
// segment-start naming a previous segment requires that file to exist and to contain a line with
// the recorded hash (not necessarily its last: that process may have kept appending).
// When the chain breaks, the neighbouring lines are used to name the record that was tampered
// with (modified, inserted, missing, reordered) rather than just the first line that looks wrong.
// Limits (see log.ts): removing lines at the end of a segment, or the newest segment, is invisible.
import { join } from "node:path";
import { readSegmentLines, listSegments, TRUNCATED_REASON } from "./query.js";
import { type AuditRecord, GENESIS_PREV, hashLine, parseRecordLine, segmentStartDetail } from "./record.js";

export interface BrokenRecord {
  /** Segment file name (relative to the audit directory). */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** The seq the broken line carries, when it parses. */
  seq?: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  segments: number;
  /** Lines that parse as records, in all segments (broken or not). */
  records: number;
  /** The first broken record, in segment (name = time) order, then line order. */
  firstBroken?: BrokenRecord;
}

interface Line {
  line: number;
  hash: string;
  record?: AuditRecord;
}

interface SegmentResult {
  records: number;
  broken?: Omit<BrokenRecord, "file">;
  /** Hashes (asked for by later segment-starts) found among this segment's lines. */
  found: Set<string>;
}

export function verifyAudit(dir: string): VerifyResult {
  const names = listSegments(dir);
  if (names.length === 0) return { ok: true, segments: 0, records: 0 };
  const present = new Set(names);

  // Pass 1: the segment-start of each segment says which hash it expects in which other segment.
  const links = new Map<string, { previousSegment: string; previousHash: string | null }>();
  const wanted = new Map<string, Set<string>>();
  for (const name of names) {
    const start = firstRecord(join(dir, name));
    if (!start) continue;
    const detail = segmentStartDetail(start);
    if (typeof detail === "string" || detail.previousSegment === null) continue;
    links.set(name, { previousSegment: detail.previousSegment, previousHash: detail.previousHash });
    if (detail.previousHash !== null) {
      const set = wanted.get(detail.previousSegment) ?? new Set<string>();
      set.add(detail.previousHash);
      wanted.set(detail.previousSegment, set);
    }
  }

  // Pass 2: each chain, collecting the wanted hashes on the way.
  const results = new Map<string, SegmentResult>();
  let records = 0;
  for (const name of names) {
    const r = verifySegment(join(dir, name), wanted.get(name));
    results.set(name, r);
    records += r.records;
  }

  let firstBroken: BrokenRecord | undefined;
  for (const name of names) {
    const r = results.get(name)!;
    let broken = r.broken;
    const link = links.get(name);
    // A bad link is reported on the segment-start (line 1); an earlier problem in the same segment cannot exist.
    if (link && !(broken && broken.line <= 1)) {
      const reason = linkProblem(name, link, present, results);
      if (reason) broken = { line: 1, seq: 0, reason };
    }
    if (broken) {
      firstBroken = { file: name, ...broken };
      break;
    }
  }
  return firstBroken ? { ok: false, segments: names.length, records, firstBroken } : { ok: true, segments: names.length, records };
}

function linkProblem(
  name: string,
  link: { previousSegment: string; previousHash: string | null },
  present: Set<string>,
  results: Map<string, SegmentResult>,
): string | undefined {
  const prev = link.previousSegment;
  if (prev === name) return "segment-start names its own file as the previous segment";
  if (!present.has(prev)) return `previous segment ${prev} is missing (deleted or renamed)`;
  // null: that segment had no complete line yet when this one started; its existence is all we can check.
  if (link.previousHash !== null && !results.get(prev)!.found.has(link.previousHash))
    return `previous segment ${prev} has no line with the hash recorded here (a line there was modified or removed)`;
  return undefined;
}

function firstRecord(path: string): AuditRecord | undefined {
  try {
    for (const raw of readSegmentLines(path)) return raw.terminated ? parseRecordLine(raw.bytes.toString("utf8")).record : undefined;
  } catch {
    // Unreadable: pass 2 reports it.
  }
  return undefined;
}

function verifySegment(path: string, wanted: Set<string> | undefined): SegmentResult {
  const result: SegmentResult = { records: 0, found: new Set() };
  let p2: Line | undefined;
  let p1: Line | undefined;
  // A chain mismatch at `cur`, waiting for the next line to tell which record is to blame.
  let pending: { cur: Line; p1: Line; p2: Line | undefined } | undefined;
  let lines = 0;
  const fail = (l: Line, reason: string) => {
    result.broken ??= l.record ? { line: l.line, seq: l.record.seq, reason } : { line: l.line, reason };
  };
  try {
    for (const raw of readSegmentLines(path)) {
      lines++;
      if (!raw.terminated) {
        if (pending) fail(...diagnose(pending, undefined));
        pending = undefined;
        fail({ line: raw.line, hash: "" }, TRUNCATED_REASON);
        continue;
      }
      const hash = hashLine(raw.bytes);
      if (wanted?.has(hash)) result.found.add(hash);
      const parsed = parseRecordLine(raw.bytes.toString("utf8"));
      const cur: Line = { line: raw.line, hash, record: parsed.record };
      if (parsed.record) result.records++;
      if (result.broken) continue; // keep reading: record count and wanted hashes
      if (pending) {
        fail(...diagnose(pending, cur));
        pending = undefined;
        continue;
      }
      if (!parsed.record) {
        fail(cur, parsed.error);
        continue;
      }
      const rec = parsed.record;
      const index = raw.line - 1;
      if (index === 0) {
        if (rec.seq !== 0) fail(cur, `seq ${rec.seq} where 0 was expected: the segment-start record is missing`);
        else if (rec.prev !== GENESIS_PREV) fail(cur, "the first record of a segment must have a prev of 64 zeros");
        else {
          const detail = segmentStartDetail(rec);
          if (typeof detail === "string") fail(cur, detail);
        }
      } else if (rec.seq !== index || rec.prev !== p1!.hash) {
        pending = { cur, p1: p1!, p2 };
        continue;
      }
      p2 = p1;
      p1 = cur;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    fail({ line: lines + 1, hash: "" }, `cannot read the segment: ${err.code ?? err.message}`);
  }
  if (pending) fail(...diagnose(pending, undefined));
  if (lines === 0) fail({ line: 1, hash: "" }, "empty segment: no segment-start record");
  return result;
}

/** `next` follows `base` directly in an intact chain. */
function chainsTo(next: Line | undefined, base: Line | undefined): boolean {
  return !!next?.record && !!base?.record && next.record.prev === base.hash && next.record.seq === base.record.seq + 1;
}

/**
 * Names the culprit of a chain mismatch at `cur` (its seq is not its index, or its prev is not the
 * hash of `p1`). `p1` and `p2` are the two preceding lines, both intact; `next` is the line after.
 */
function diagnose({ cur, p1, p2 }: { cur: Line; p1: Line; p2: Line | undefined }, next: Line | undefined): [Line, string] {
  const seq = cur.record!.seq;
  const expected = cur.line - 1;
  const at = `seq ${seq} where ${expected} was expected`;
  if (p2 && chainsTo(cur, p2)) return [p1, "record inserted: the record after it chains to the record before it"];
  if (seq > expected && next?.record?.seq === expected && chainsTo(next, p1)) return [cur, `${at}: records out of order`];
  if (chainsTo(next, p1)) return [cur, "record inserted: the record after it chains to the record before it"];
  if (seq !== expected) {
    if (next?.record?.seq === expected + 1) return [cur, `${at}: record modified`];
    if (seq > expected) return [cur, `${at}: ${seq - expected} record(s) missing before this one`];
    return [cur, `${at}: record duplicated or out of order`];
  }
  // seq is right, prev is not.
  if (next?.record && next.record.prev !== cur.hash) return [cur, "record modified: it chains neither to the record before it nor to the one after it"];
  return [p1, `record modified: its hash does not match the prev of the next record (seq ${seq})${next ? "" : ", or that record's prev was altered"}`];
}
