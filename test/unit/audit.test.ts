// The audit writer and verify: chain format, file layout, and detection of each kind of tampering.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, unlinkSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { AuditLog, verifyAudit, type AuditEntry } from "../../src/audit/index.js";

/** The outcome and the counts of a verify result (the checkpoint details are tested in audit-tail). */
const counts = (v: { ok: boolean; segments: number; records: number }) => ({ ok: v.ok, segments: v.segments, records: v.records });

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-audit-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  // A checkpoint update superseded by close() may still be removing its temp file (it runs in the
  // background by design, checkpoint-writer.ts): retry the removal rather than race it.
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

// Independent of the implementation's own hashing helper on purpose.
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const ZEROS = "0".repeat(64);

function lines(file: string): string[] {
  const text = readFileSync(file, "utf8");
  assert.ok(text.endsWith("\n"), "segment ends with a newline");
  return text.slice(0, -1).split("\n");
}
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.map((l) => `${l}\n`).join(""));

function call(i: number): AuditEntry {
  return { kind: "call", event: "decided", id: `r${i}`, server: "github", tool: "mcp__github__get_issue", arguments: { n: i }, decision: "allow", rule: "mcp__github" };
}

/** A closed log with a segment-start plus `n` call records: lines 1..n+1, seq 0..n. */
function writeLog(dir: string, n: number): string {
  const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
  for (let i = 1; i <= n; i++) log.append(call(i));
  log.close();
  return log.file;
}

describe("AuditLog writer", () => {
  test("a new segment starts with a segment-start record: seq 0, prev all zeros, no previous segment", () => {
    const dir = tempDir();
    const file = writeLog(dir, 0);
    assert.match(basename(file), /^audit-\d{8}T\d{6}\.\d{3}-\d+\.jsonl$/);
    assert.ok(basename(file).endsWith(`-${process.pid}.jsonl`));
    const [first] = lines(file).map((l) => JSON.parse(l));
    assert.equal(first.v, 1);
    assert.equal(first.seq, 0);
    assert.equal(first.prev, ZEROS);
    assert.equal(first.kind, "gateway");
    assert.equal(first.event, "segment-start");
    assert.deepEqual(first.detail, { previousSegment: null, previousHash: null, checkpointed: true, keyId: null });
  });

  test("after 500 appends each prev is the sha256 of the exact previous line and seq counts up by one", () => {
    const dir = tempDir();
    const file = writeLog(dir, 500);
    const ls = lines(file);
    assert.equal(ls.length, 501);
    for (let i = 1; i < ls.length; i++) {
      const r = JSON.parse(ls[i]!);
      assert.equal(r.seq, i);
      assert.equal(r.prev, sha256(ls[i - 1]!), `line ${i + 1}`);
    }
    assert.deepEqual(counts(verifyAudit(dir)), { ok: true, segments: 1, records: 501 });
  });

  test("fields are written in the order v, seq, time, entry fields, prev, and undefined fields are left out", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 0 });
    // Deliberately scrambled key order and an explicit undefined, as callers build entries.
    log.append({ outcome: "ok", tool: undefined, durationMs: 12, server: "fs", kind: "call", event: "completed", id: "x" });
    log.close();
    const r = JSON.parse(lines(log.file)[1]!);
    assert.deepEqual(Object.keys(r), ["v", "seq", "time", "kind", "event", "id", "server", "durationMs", "outcome", "prev"]);
    assert.match(r.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test("append returns exactly the record that was written", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    const returned = log.append(call(1));
    log.close();
    assert.deepEqual(JSON.parse(lines(log.file)[1]!), returned);
  });

  test("creates missing directories 0700 and the segment file 0600", { skip: process.platform === "win32" }, () => {
    const dir = join(tempDir(), "a", "b");
    const file = writeLog(dir, 1);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test("append after close throws, and close twice is harmless", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    log.close();
    log.close();
    assert.throws(() => log.append(call(1)), /closed/);
    assert.equal(lines(log.file).length, 1);
  });

  test("an entry with an unknown kind is refused and nothing is written", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    assert.throws(() => log.append({ kind: "bogus" } as unknown as AuditEntry), /invalid kind/);
    log.close();
    assert.equal(lines(log.file).length, 1);
  });

  test("an entry that cannot be serialized throws before writing and the chain continues intact", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    assert.throws(() => log.append({ kind: "call", arguments: { big: 10n } }), TypeError);
    log.append(call(2));
    log.close();
    const ls = lines(log.file);
    assert.equal(ls.length, 2);
    assert.equal(JSON.parse(ls[1]!).seq, 1);
    assert.equal(verifyAudit(dir).ok, true);
  });

  test("bad options are refused", () => {
    const dir = tempDir();
    assert.throws(() => AuditLog.open({ dir, fsyncIntervalMs: -1 }), /fsyncIntervalMs/);
    assert.throws(() => AuditLog.open({ dir, fsyncIntervalMs: 1.5 }), /fsyncIntervalMs/);
    assert.throws(() => AuditLog.open({ dir: "", fsyncIntervalMs: 0 }), /dir/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test("two logs open in one directory write two segments; the second links to the first's last line, and both verify while the first keeps appending", () => {
    const dir = tempDir();
    const a = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    a.append(call(1));
    const aLastAtOpen = lines(a.file).at(-1)!;
    const b = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    assert.notEqual(a.file, b.file);
    for (let i = 2; i < 10; i++) (i % 2 ? a : b).append(call(i));
    a.close();
    b.close();
    const start = JSON.parse(lines(b.file)[0]!);
    assert.deepEqual(start.detail, { previousSegment: basename(a.file), previousHash: sha256(aLastAtOpen), checkpointed: true, keyId: null });
    assert.deepEqual(
      readdirSync(dir).map((f) => f.replace(/^checkpoint\.sealed-[0-9a-f]{16}\.json$/, "sealed")).sort(),
      [basename(a.file), basename(b.file), "checkpoint.json", "sealed"].sort(),
      "two segments, the checkpoint and the sealed heads, no lock or temp file left",
    );
    assert.deepEqual(counts(verifyAudit(dir)), { ok: true, segments: 2, records: 2 + 4 + 1 + 4 });
  });

  test("the segment link hashes the last line even when that line is larger than the 64 KiB read-back chunk", () => {
    const dir = tempDir();
    const a = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    a.append(call(1));
    a.append({ kind: "call", arguments: { blob: "x".repeat(150_000) } });
    a.close();
    const b = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    b.close();
    assert.equal(JSON.parse(lines(b.file)[0]!).detail.previousHash, sha256(lines(a.file).at(-1)!));
    assert.equal(verifyAudit(dir).ok, true);
  });
});

describe("verifyAudit detects tampering and names the first broken record", () => {
  test("a missing or empty directory verifies as empty", () => {
    assert.deepEqual(counts(verifyAudit(join(tempDir(), "nope"))), { ok: true, segments: 0, records: 0 });
    assert.deepEqual(counts(verifyAudit(tempDir())), { ok: true, segments: 0, records: 0 });
  });

  test("an edited field: the edited record is named (line 6, seq 5)", () => {
    const dir = tempDir();
    const file = writeLog(dir, 10);
    const ls = lines(file);
    ls[5] = ls[5]!.replace('"decision":"allow"', '"decision":"deny"');
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.ok, false);
    assert.deepEqual({ ...v.firstBroken, reason: undefined }, { file: basename(file), line: 6, seq: 5, reason: undefined });
    assert.match(v.firstBroken!.reason, /modified/);
  });

  test("an edited prev field: that record is named, not its predecessor", () => {
    const dir = tempDir();
    const file = writeLog(dir, 10);
    const ls = lines(file);
    const r = JSON.parse(ls[5]!);
    r.prev = "f".repeat(64);
    ls[5] = JSON.stringify(r);
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.line, 6);
    assert.equal(v.firstBroken?.seq, 5);
    assert.match(v.firstBroken!.reason, /modified/);
  });

  test("a deleted line: the record after the gap is named, with the gap size", () => {
    const dir = tempDir();
    const file = writeLog(dir, 10);
    const ls = lines(file);
    ls.splice(5, 1); // remove seq 5
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.ok, false);
    assert.equal(v.firstBroken?.line, 6);
    assert.equal(v.firstBroken?.seq, 6);
    assert.match(v.firstBroken!.reason, /seq 6 where 5 was expected: 1 record\(s\) missing/);
  });

  test("two lines swapped: the first of the pair is named as out of order", () => {
    const dir = tempDir();
    const file = writeLog(dir, 10);
    const ls = lines(file);
    [ls[5], ls[6]] = [ls[6]!, ls[5]!];
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.line, 6);
    assert.equal(v.firstBroken?.seq, 6);
    assert.match(v.firstBroken!.reason, /out of order/);
  });

  test("a copied line inserted: the inserted line is named", () => {
    const dir = tempDir();
    const file = writeLog(dir, 10);
    const ls = lines(file);
    ls.splice(6, 0, ls[2]!); // becomes line 7
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.line, 7);
    assert.equal(v.firstBroken?.seq, 2);
    assert.match(v.firstBroken!.reason, /inserted/);
  });

  test("a forged line inserted with a correct seq and prev: the forged line is named, not the genuine one after it", () => {
    const dir = tempDir();
    const file = writeLog(dir, 10);
    const ls = lines(file);
    const forged = JSON.parse(ls[6]!); // seq 6
    forged.tool = "mcp__github__delete_repo";
    forged.prev = sha256(ls[5]!);
    ls.splice(6, 0, JSON.stringify(forged)); // line 7 is forged, genuine seq 6 moves to line 8
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.line, 7);
    assert.match(v.firstBroken!.reason, /inserted/);
  });

  test("the segment-start line deleted: line 1 is named", () => {
    const dir = tempDir();
    const file = writeLog(dir, 3);
    writeLines(file, lines(file).slice(1));
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.line, 1);
    assert.match(v.firstBroken!.reason, /segment-start record is missing/);
  });

  test("a line that is not JSON is named", () => {
    const dir = tempDir();
    const file = writeLog(dir, 5);
    const ls = lines(file);
    ls[3] = "{not json";
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.deepEqual(v.firstBroken, { file: basename(file), line: 4, reason: "not valid JSON" });
  });

  test("a truncated last line (cut mid-record, no newline) is reported as truncated", () => {
    const dir = tempDir();
    const file = writeLog(dir, 5);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.slice(0, text.length - 20));
    const v = verifyAudit(dir);
    assert.equal(v.ok, false);
    assert.equal(v.firstBroken?.line, 6);
    assert.match(v.firstBroken!.reason, /truncated/);
    assert.equal(v.records, 5, "the five complete lines still count");
  });

  test("a last line missing only its newline is still reported as truncated", () => {
    const dir = tempDir();
    const file = writeLog(dir, 2);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.slice(0, -1));
    assert.match(verifyAudit(dir).firstBroken!.reason, /truncated/);
  });

  test("an empty segment file is broken", () => {
    const dir = tempDir();
    writeLog(dir, 1);
    writeFileSync(join(dir, "audit-29990101T000000.000-1.jsonl"), "");
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.file, "audit-29990101T000000.000-1.jsonl");
    assert.match(v.firstBroken!.reason, /empty segment/);
  });

  test("a middle segment deleted: the segment-start of the segment after it is named", () => {
    const dir = tempDir();
    const a = writeLog(dir, 2);
    const b = writeLog(dir, 2);
    const c = writeLog(dir, 2);
    assert.equal(verifyAudit(dir).ok, true);
    unlinkSync(b);
    const v = verifyAudit(dir);
    assert.equal(v.ok, false);
    assert.equal(v.segments, 2);
    assert.deepEqual({ ...v.firstBroken, reason: undefined }, { file: basename(c), line: 1, seq: 0, reason: undefined });
    assert.match(v.firstBroken!.reason, new RegExp(`previous segment ${basename(b).replace(/\./g, "\\.")} is missing`));
    void a;
  });

  test("the last line of an older segment edited: caught through the next segment's link", () => {
    const dir = tempDir();
    const a = writeLog(dir, 3);
    const b = writeLog(dir, 1);
    const ls = lines(a);
    ls[3] = ls[3]!.replace('"r3"', '"r9"');
    writeLines(a, ls);
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.file, basename(b));
    assert.equal(v.firstBroken?.line, 1);
    assert.match(v.firstBroken!.reason, /has no line with the hash/);
  });

  test("with damage in two segments, the earlier segment's is reported", () => {
    const dir = tempDir();
    const a = writeLog(dir, 4);
    const b = writeLog(dir, 4);
    for (const f of [a, b]) {
      const ls = lines(f);
      ls[2] = ls[2]!.replace('"n":2', '"n":7');
      writeLines(f, ls);
    }
    const v = verifyAudit(dir);
    assert.equal(v.firstBroken?.file, basename(a));
    assert.equal(v.firstBroken?.line, 3);
  });

  test("files that are not segments are ignored", () => {
    const dir = tempDir();
    writeLog(dir, 1);
    appendFileSync(join(dir, "notes.txt"), "hello\n");
    assert.deepEqual(counts(verifyAudit(dir)), { ok: true, segments: 1, records: 2 });
  });
});

describe("appendSoon", () => {
  test("chains at once, writes within the event-loop turn in order with the next append, and close writes what is pending", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-audit-soon-"));
    try {
      const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
      const lines = () => readFileSync(log.file, "utf8").split("\n").filter(Boolean);
      const a = log.appendSoon({ kind: "call", event: "completed", id: "a" });
      assert.equal(lines().length, 1, "only the segment start is on disk yet");
      const b = log.append({ kind: "call", event: "decided", id: "b" });
      assert.deepEqual(lines().map((l) => JSON.parse(l).id), [undefined, "a", "b"], "the pending record is written first, in chain order");
      assert.equal(b.seq, a.seq + 1);
      log.appendSoon({ kind: "call", event: "completed", id: "c" });
      await new Promise((r) => setImmediate(r));
      assert.equal(lines().length, 4, "written by the end of the turn");
      log.appendSoon({ kind: "call", event: "completed", id: "d" });
      log.close();
      assert.equal(lines().at(-1) && JSON.parse(lines().at(-1)!).id, "d");
      assert.equal(verifyAudit(dir).ok, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a secret in a record is redacted whether the quick check or the walk finds it", () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-audit-soon-"));
    try {
      const log = AuditLog.open({ dir, fsyncIntervalMs: 1000, secrets: ["tok-12345", 'with"quote'] });
      log.append({ kind: "call", arguments: { plain: "x tok-12345 y", nested: [{ q: 'a with"quote b' }] } });
      log.append({ kind: "call", arguments: { nothing: "clean" } });
      log.close();
      const text = readFileSync(log.file, "utf8");
      assert.ok(!text.includes("tok-12345") && !text.includes('with\\"quote'));
      assert.match(text, /x \[REDACTED\] y/);
      assert.match(text, /"nothing":"clean"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
