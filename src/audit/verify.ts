// Verifies the audit log: each segment's hash chain, the links between segments, and the checkpoint
// of every chain's head (tail.ts).
// Checks per segment: every line is a complete record, seq runs 0,1,2,..., each prev is the SHA-256
// of the line before (64 zeros first), the first record is a segment-start. Across segments: a
// segment-start naming a previous segment requires that file to exist and to contain a line with
// the recorded hash (not necessarily its last: that process may have kept appending).
// When the chain breaks, the neighbouring lines are used to name the record that was tampered
// with (modified, inserted, missing, reordered) rather than just the first line that looks wrong.
// The checkpoint then shows deleted segments and cut or rewritten tails (see tail.ts for what each
// mode proves).
import { join } from "node:path";
import { readCheckpoint, readSealed, type AuditKey, type Head } from "./checkpoint.js";
import { readSegmentLines, listSegments, TRUNCATED_REASON } from "./query.js";
import { type AuditRecord, GENESIS_PREV, hashLine, parseRecordLine, segmentStartDetail, type SegmentStartDetail } from "./record.js";
import { checkTail, type CheckpointSummary, type SegmentFacts, type TailProblem } from "./tail.js";

export interface BrokenRecord {
  /** Segment file name (relative to the audit directory). */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** The seq the broken line carries, when it parses. */
  seq?: number;
  reason: string;
}

/** intact: every check passed; broken: something was altered or removed; unverified: nothing was
 * found altered, but the log cannot be proven complete (see `unverified`). */
export type VerifyStatus = "intact" | "broken" | "unverified";

export interface VerifyResult {
  /** status === "intact". */
  ok: boolean;
  status: VerifyStatus;
  segments: number;
  /** Lines that parse as records, in all segments (broken or not). */
  records: number;
  /** The first broken record, in segment (name = time) order, then line order. */
  firstBroken?: BrokenRecord;
  /** What the checkpoint shows: deleted segments, cut or rewritten tails, a tampered checkpoint. */
  problems: TailProblem[];
  /** Why the log is not proven complete although nothing was found altered. */
  unverified: string[];
  /** Records written after the heads the checkpoint holds (the live window: not a failure). */
  uncovered: number;
  /** null when there is neither a segment nor a checkpoint. */
  checkpoint: CheckpointSummary | null;
}

export interface VerifyOptions {
  /** The key of a keyed log, to check the checkpoint's HMAC. */
  key?: AuditKey;
  /** Why the configured key could not be read: said in the result, and the HMAC is not checked. */
  keyError?: string;
  /** How long to wait for a writer that just created a segment to record it (default 1000 ms). */
  settleMs?: number;
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
  /** Hash of the first line carrying the seq asked for (the checkpoint's head), if any does. */
  headHash?: string;
  /** seq of the last record that parses, -1 when none does. */
  lastSeq: number;
}

export function verifyAudit(dir: string, opts: VerifyOptions = {}): VerifyResult {
  const deadline = Date.now() + (opts.settleMs ?? 1000);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const { result, retry } = verifyOnce(dir, opts);
    // A writer records a new segment in the checkpoint just after creating it: a segment found
    // unrecorded may be one caught in between. Tampering stays; a writer's race resolves.
    if (!retry || Date.now() >= deadline) return result;
    Atomics.wait(sleeper, 0, 0, 100);
  }
}

function verifyOnce(dir: string, opts: VerifyOptions): { result: VerifyResult; retry: boolean } {
  // The checkpoint first, then the listing: every segment it names existed before it was written,
  // so one absent from the listing was removed; a segment created after it was read is newer than it.
  const checkpoint = readCheckpoint(dir);
  const sealed = checkpoint.state === "ok" && checkpoint.checkpoint.sealed ? readSealed(dir, checkpoint.checkpoint.sealed) : undefined;
  const names = listSegments(dir);
  const present = new Set(names);
  // Every head the checkpoint holds: the sealed ones, overridden by those still being written.
  let heads: Map<string, Head> | undefined;
  if (checkpoint.state === "ok") heads = new Map([...(sealed?.state === "ok" ? sealed.segments : []), ...checkpoint.checkpoint.segments]);

  // Pass 1: the segment-start of each segment says which hash it expects in which other segment.
  const links = new Map<string, { previousSegment: string; previousHash: string | null }>();
  const wanted = new Map<string, Set<string>>();
  const starts = new Map<string, { detail: SegmentStartDetail; time: string }>();
  for (const name of names) {
    const start = firstRecord(join(dir, name));
    if (!start) continue;
    const detail = segmentStartDetail(start);
    if (typeof detail === "string") continue;
    starts.set(name, { detail, time: start.time });
    if (detail.previousSegment === null) continue;
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
    const r = verifySegment(join(dir, name), wanted.get(name), heads?.get(name)?.seq);
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
  const facts = new Map<string, SegmentFacts>();
  for (const name of names) {
    const r = results.get(name)!;
    const start = starts.get(name);
    facts.set(name, { lastSeq: r.lastSeq, headHash: r.headHash, start: start?.detail, startTime: start?.time, records: r.records });
  }
  const tail = checkTail(dir, checkpoint, { heads: heads ?? new Map(), sealed: sealed?.state === "ok" || sealed === undefined ? undefined : sealed.reason }, facts, opts);
  const status = firstBroken || tail.problems.length > 0 ? "broken" : tail.unverified.length > 0 ? "unverified" : "intact";
  const result: VerifyResult = { ok: status === "intact", status, segments: names.length, records, problems: tail.problems, unverified: tail.unverified, uncovered: tail.uncovered, checkpoint: tail.checkpoint };
  if (firstBroken) result.firstBroken = firstBroken;
  // A writer may have sealed more heads into a new file, and removed the one we were about to read.
  return { result, retry: tail.retry || (sealed !== undefined && sealed.state !== "ok") };
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

function verifySegment(path: string, wanted: Set<string> | undefined, headSeq: number | undefined): SegmentResult {
  const result: SegmentResult = { records: 0, found: new Set(), lastSeq: -1 };
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
      if (parsed.record) {
        result.records++;
        result.lastSeq = parsed.record.seq;
        if (parsed.record.seq === headSeq && result.headHash === undefined) result.headHash = hash;
      }
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
