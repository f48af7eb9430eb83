// The checkpoint half of `audit verify`: compares the heads the checkpoint holds with the segments on
// disk. What it proves:
// - unkeyed: a segment deleted, records cut from the end of a segment, or a tail rewritten, by anyone
//   who does not also rewrite the checkpoint to match (anyone who can write the audit directory can);
// - keyed (HMAC): the same against anyone who cannot read the key: a checkpoint rewritten without it
//   fails its HMAC, and one deleted or replaced leaves segments that say they were checkpointed.
// Records written after a segment's checkpointed head are the live window (at most one fsync
// interval, or what a crash left): counted, not failed.
// Pure: the caller passes what it read.
import { join } from "node:path";
import { CHECKPOINT_FILE, hmacMatches, type AuditKey, type CheckpointRead, type Head, type ReplacedNote } from "./checkpoint.js";
import type { SegmentStartDetail } from "./record.js";

/** What verify learnt about one segment on disk. */
export interface SegmentFacts {
  /** seq of its last record that parses, -1 when none does. */
  lastSeq: number;
  /** Hash of its line carrying the seq the checkpoint holds for it, when there is one. */
  headHash?: string;
  /** Its segment-start detail, when its first line is a valid segment-start. */
  start?: SegmentStartDetail;
  startTime?: string;
  records: number;
}

export interface TailProblem {
  /** Segment file name, or the checkpoint's. */
  file: string;
  seq?: number;
  reason: string;
}

export interface CheckpointSummary {
  state: "ok" | "missing" | "unreadable" | "damaged";
  reason?: string;
  keyId: string | null;
  /** verified: HMAC checked and good; mismatch: checked and bad; not-checked: keyed, no usable key; unkeyed. */
  hmac: "verified" | "mismatch" | "not-checked" | "unkeyed";
  updated?: string;
  replaced: ReplacedNote[];
}

export interface TailResult {
  problems: TailProblem[];
  unverified: string[];
  uncovered: number;
  checkpoint: CheckpointSummary | null;
  /** The outcome may be a writer caught between creating a segment and recording it: look again. */
  retry: boolean;
}

const few = (names: string[]) => (names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`);
const segmentsWord = (n: number) => `${n} segment${n === 1 ? "" : "s"}`;

/**
 * `recorded.heads`: every head the checkpoint holds, sealed ones included; `recorded.sealed`: why
 * the sealed heads could not be read, when they could not.
 */
export function checkTail(
  dir: string,
  read: CheckpointRead,
  recorded: { heads: ReadonlyMap<string, Head>; sealed?: string },
  facts: ReadonlyMap<string, SegmentFacts>,
  opts: { key?: AuditKey; keyError?: string },
): TailResult {
  const names = [...facts.keys()];
  const problems: TailProblem[] = [];
  const unverified: string[] = [];
  const checkpointed = names.filter((n) => facts.get(n)!.start?.checkpointed === true);
  const legacy = names.filter((n) => facts.get(n)!.start !== undefined && facts.get(n)!.start!.checkpointed !== true);
  const legacyNote = (list: string[]) =>
    `${segmentsWord(list.length)} (${few(list)}) ${list.length === 1 ? "was" : "were"} written by an mcp-warden without checkpoints: a deleted segment or cut tail among them cannot be detected`;

  if (read.state === "missing") {
    if (names.length === 0) return { problems, unverified, uncovered: 0, checkpoint: null, retry: false };
    if (checkpointed.length > 0)
      problems.push({ file: CHECKPOINT_FILE, reason: `the checkpoint is missing, but ${few(checkpointed)} ${checkpointed.length === 1 ? "says it was" : "say they were"} written with one: it was deleted or moved, and the newest records cannot be checked` });
    if (legacy.length > 0) unverified.push(`no checkpoint: ${legacyNote(legacy)}`);
    return { problems, unverified, uncovered: 0, checkpoint: { state: "missing", keyId: null, hmac: "not-checked", replaced: [] }, retry: checkpointed.length > 0 };
  }
  if (read.state === "unreadable") {
    if (read.io) {
      unverified.push(`cannot read the checkpoint ${join(dir, CHECKPOINT_FILE)} (${read.reason}): the newest records cannot be checked; run verify as a user who can read the audit directory`);
      return { problems, unverified, uncovered: 0, checkpoint: { state: "unreadable", reason: read.reason, keyId: read.keyId, hmac: "not-checked", replaced: [] }, retry: false };
    }
    problems.push({ file: CHECKPOINT_FILE, reason: `the checkpoint is damaged (${read.reason}): it was rewritten or corrupted, and the newest records cannot be checked` });
    return { problems, unverified, uncovered: 0, checkpoint: { state: "damaged", reason: read.reason, keyId: read.keyId, hmac: "not-checked", replaced: [] }, retry: false };
  }

  const cp = read.checkpoint;
  let hmac: CheckpointSummary["hmac"];
  if (cp.keyId === null) {
    hmac = "unkeyed";
    if (opts.key) unverified.push(`the checkpoint is not keyed, though a key was given (${opts.key.file}): the writers of this directory do not use audit.hmacKeyFile, so the key proves nothing here`);
  } else if (opts.key && opts.key.id === cp.keyId) {
    hmac = hmacMatches(cp, opts.key.bytes) ? "verified" : "mismatch";
    if (hmac === "mismatch") problems.push({ file: CHECKPOINT_FILE, reason: `the checkpoint's HMAC does not match its content (key id ${cp.keyId}): it was rewritten without the key` });
  } else {
    hmac = "not-checked";
    unverified.push(
      opts.key
        ? `the checkpoint is signed with key id ${cp.keyId}, but ${opts.key.file} has key id ${opts.key.id}: its HMAC was not checked (give this log's key with --key-file)`
        : `the checkpoint is keyed (key id ${cp.keyId}) but ${opts.keyError ?? "no key was given (set audit.hmacKeyFile or pass --key-file)"}: its HMAC was not checked; the checks that need no key were made`,
    );
  }

  if (recorded.sealed !== undefined)
    problems.push({ file: cp.sealed!.file, reason: `the sealed heads of ${cp.sealed!.count} finished segments cannot be checked: ${recorded.sealed}; it was deleted or rewritten` });

  for (const note of cp.replaced) {
    const aside = note.file ? ` (the old one is ${note.file})` : "";
    if (note.reason === "hmac") problems.push({ file: CHECKPOINT_FILE, reason: `at ${note.at} a writer found the checkpoint's HMAC wrong (rewritten without the key) and started a new one${aside}: segments older than that are not covered` });
    if (note.reason === "unreadable") problems.push({ file: CHECKPOINT_FILE, reason: `at ${note.at} a writer found the checkpoint damaged or unreadable and started a new one${aside}: segments older than that are not covered` });
  }

  let uncovered = 0;
  for (const [name, head] of recorded.heads) {
    const f = facts.get(name);
    if (!f) {
      problems.push({ file: name, seq: head.seq, reason: `segment missing: the checkpoint records it up to seq ${head.seq}; it was deleted or renamed` });
    } else if (f.headHash !== undefined) {
      if (f.headHash !== head.hash) problems.push({ file: name, seq: head.seq, reason: `the record with seq ${head.seq} is not the one the checkpoint recorded: the tail was rewritten` });
      else uncovered += Math.max(0, f.lastSeq - head.seq);
    } else if (f.lastSeq < head.seq) {
      const cut = head.seq - f.lastSeq;
      problems.push({ file: name, seq: head.seq, reason: `its records end at seq ${f.lastSeq} but the checkpoint records seq ${head.seq}: the last ${cut} record${cut === 1 ? " was" : "s were"} cut off` });
    } else {
      problems.push({ file: name, seq: head.seq, reason: `it has no record with seq ${head.seq}, which the checkpoint records: records were removed or renumbered` });
    }
    if (f && cp.keyId === null && typeof f.start?.keyId === "string")
      problems.push({ file: name, reason: `written in keyed mode (key id ${f.start.keyId}) but the checkpoint is not keyed: the keyed checkpoint was replaced` });
  }

  let retry = false;
  const unnamedLegacy: string[] = [];
  const predates = new Map<ReplacedNote, string[]>();
  for (const name of names) {
    if (recorded.heads.has(name)) continue;
    const f = facts.get(name)!;
    if (!f.start) continue; // the chain check reports a segment without a valid segment-start
    if (f.start.checkpointed !== true) {
      unnamedLegacy.push(name);
    } else if (f.startTime !== undefined && f.startTime >= cp.updated) {
      uncovered += f.records; // created after the checkpoint was last written: live
    } else {
      const note = cp.replaced.filter((n) => f.startTime === undefined || n.at > f.startTime).at(-1);
      if (!note && recorded.sealed !== undefined) {
        // Its head may be among the sealed heads that cannot be read: that problem is reported above.
      } else if (!note) {
        retry = true;
        problems.push({ file: name, reason: "written with a checkpoint (its segment-start says so) but the checkpoint does not name it: the checkpoint was replaced or rewritten after the segment was created" });
      } else if (note.reason === "unkeyed" || note.reason === "other-key") {
        predates.set(note, [...(predates.get(note) ?? []), name]);
      } // hmac, unreadable: that note is a problem of its own, covering these segments
    }
  }
  if (unnamedLegacy.length > 0) unverified.push(legacyNote(unnamedLegacy));
  for (const [note, list] of predates) {
    const why =
      note.reason === "unkeyed"
        ? "it was not keyed (the key was introduced then, or someone replaced the keyed checkpoint)"
        : `it was signed with another key (${note.keyId ?? "unknown"}: the key changed then, or someone replaced the checkpoint)`;
    unverified.push(`${segmentsWord(list.length)} (${few(list)}) predate ${note.at}, when a writer replaced the checkpoint because ${why}${note.file ? `; the old one is ${note.file}` : ""}: the key does not cover them`);
  }
  return { problems, unverified, uncovered, checkpoint: { state: "ok", keyId: cp.keyId, hmac, updated: cp.updated, replaced: cp.replaced }, retry };
}
