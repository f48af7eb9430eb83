// verify and the checkpoint: each way of removing or rewriting the newest records, in both modes,
// and what verify says when it cannot prove the log complete.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { AuditLog, appendShared, buildRecord, GENESIS_PREV, hashLine, readAuditKey, segmentFileName, verifyAudit, type AuditEntry } from "../../src/audit/index.js";
import { auditVerifyCommand } from "../../src/cli/audit.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-tail-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const call = (i: number): AuditEntry => ({ kind: "call", event: "decided", id: `r${i}`, server: "fs", tool: "mcp__fs__read_file", decision: "allow" });
const CP = "checkpoint.json";

function writeLog(dir: string, n: number, hmacKeyFile?: string): string {
  const log = AuditLog.open({ dir, fsyncIntervalMs: 1000, hmacKeyFile });
  for (let i = 1; i <= n; i++) log.append(call(i));
  log.close();
  return log.file;
}
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.map((l) => `${l}\n`).join(""));
type Heads = Record<string, { seq: number; hash: string } | undefined>;
const readCp = (dir: string) =>
  JSON.parse(readFileSync(join(dir, CP), "utf8")) as { keyId: string | null; updated: string; segments: Heads; sealed: { file: string; count: number; digest: string } | null; replaced: unknown[]; hmac?: string };
const writeCp = (dir: string, cp: object) => writeFileSync(join(dir, CP), `${JSON.stringify(cp)}\n`);
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * What an attacker who can write the directory, but not read the key, does to hide a cut: make the
 * checkpoint hold `head` for `name` (undefined: drop it), consistently: the sealed heads file (a
 * closed writer's head is there), its name and digest included. Only the HMAC cannot be redone.
 */
function rewriteHead(dir: string, name: string, head: { seq: number; hash: string } | undefined): ReturnType<typeof readCp> {
  const cp = readCp(dir);
  if (name in cp.segments) {
    cp.segments[name] = head;
  } else {
    const sealed = JSON.parse(readFileSync(join(dir, cp.sealed!.file), "utf8")) as { v: 1; segments: Heads };
    sealed.segments[name] = head;
    const text = `${JSON.stringify(sealed)}\n`;
    const digest = sha256(text);
    unlinkSync(join(dir, cp.sealed!.file));
    cp.sealed = { file: `checkpoint.sealed-${digest.slice(0, 16)}.json`, count: Object.values(sealed.segments).filter(Boolean).length, digest };
    writeFileSync(join(dir, cp.sealed.file), text);
  }
  writeCp(dir, cp);
  return cp;
}
const reasons = (v: { problems: { reason: string }[] }) => v.problems.map((p) => p.reason).join("\n");

function keyFile(dir: string, fill = 7, name = "audit.key"): string {
  const file = join(dir, name);
  writeFileSync(file, Buffer.alloc(32, fill));
  return file;
}

describe("unkeyed: verify checks each segment's head against the checkpoint", () => {
  test("an intact log with every writer closed: intact, nothing uncovered", () => {
    const dir = tempDir();
    writeLog(dir, 3);
    writeLog(dir, 2);
    const v = verifyAudit(dir);
    assert.deepEqual([v.status, v.ok, v.uncovered, v.problems, v.unverified], ["intact", true, 0, [], []]);
    assert.equal(v.checkpoint?.hmac, "unkeyed");
  });

  test("the newest segment deleted: broken, naming it and the seq the checkpoint holds", () => {
    const dir = tempDir();
    writeLog(dir, 3);
    const newest = writeLog(dir, 4);
    unlinkSync(newest);
    const v = verifyAudit(dir);
    assert.equal(v.status, "broken");
    assert.equal(v.firstBroken, undefined, "every remaining chain is intact: only the checkpoint shows it");
    assert.deepEqual(v.problems, [{ file: basename(newest), seq: 4, reason: "segment missing: the checkpoint records it up to seq 4; it was deleted or renamed" }]);
  });

  test("the last records of the newest segment cut off: broken, naming the segment, the seq reached and how many are gone", () => {
    const dir = tempDir();
    const file = writeLog(dir, 6);
    writeLines(file, lines(file).slice(0, -2)); // seq 5 and 6 gone; the chain of what is left is intact
    const v = verifyAudit(dir);
    assert.equal(v.status, "broken");
    assert.equal(v.firstBroken, undefined);
    assert.deepEqual(v.problems, [{ file: basename(file), seq: 6, reason: "its records end at seq 4 but the checkpoint records seq 6: the last 2 records were cut off" }]);
  });

  test("the last record rewritten with a correct chain: broken (the head's hash differs)", () => {
    const dir = tempDir();
    const file = writeLog(dir, 3);
    const ls = lines(file);
    const last = JSON.parse(ls.at(-1)!);
    last.decision = "deny"; // still chains: prev is untouched
    ls[ls.length - 1] = JSON.stringify(last);
    writeLines(file, ls);
    const v = verifyAudit(dir);
    assert.equal(v.status, "broken");
    assert.equal(v.firstBroken, undefined, "nothing follows the last record, so the chain alone cannot see it");
    assert.match(reasons(v), /the record with seq 3 is not the one the checkpoint recorded: the tail was rewritten/);
  });

  test("records written after the last checkpoint update are counted as not yet covered, not failed", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 3_600_000 }); // no fsync, so no checkpoint update, for an hour
    for (let i = 1; i <= 3; i++) log.append(call(i));
    try {
      const v = verifyAudit(dir);
      assert.deepEqual([v.status, v.uncovered], ["intact", 3]);
    } finally {
      log.close();
    }
    assert.deepEqual([verifyAudit(dir).status, verifyAudit(dir).uncovered], ["intact", 0], "close records the final head");
  });

  test("...but cutting into what the checkpoint covers is still caught while the writer runs", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 0 }); // checkpointed after each append (in the background)
    for (let i = 1; i <= 3; i++) log.append(call(i));
    log.close();
    writeLines(log.file, lines(log.file).slice(0, 2));
    assert.match(reasons(verifyAudit(dir)), /records end at seq 1 but the checkpoint records seq 3/);
  });

  test("the checkpoint deleted: broken, since the segments say they were written with one", () => {
    const dir = tempDir();
    const a = writeLog(dir, 2);
    unlinkSync(join(dir, CP));
    const v = verifyAudit(dir, { settleMs: 0 });
    assert.equal(v.status, "broken");
    assert.equal(v.checkpoint?.state, "missing");
    assert.match(reasons(v), new RegExp(`the checkpoint is missing, but ${basename(a).replace(/\./g, "\\.")} says it was written with one: it was deleted or moved`));
  });

  test("the checkpoint and the newest segment deleted, then a new writer starts a fresh checkpoint: the older segments are caught unnamed", () => {
    const dir = tempDir();
    const a = writeLog(dir, 2);
    const b = writeLog(dir, 2);
    unlinkSync(b);
    unlinkSync(join(dir, CP));
    writeLog(dir, 1);
    const v = verifyAudit(dir, { settleMs: 0 });
    assert.equal(v.status, "broken");
    assert.ok(v.problems.some((p) => p.file === basename(a) && /does not name it: the checkpoint was replaced or rewritten/.test(p.reason)), reasons(v));
  });

  test("a segment's head removed from the checkpoint (with the sealed heads' digest redone): caught", () => {
    const dir = tempDir();
    const a = writeLog(dir, 2);
    writeLog(dir, 2);
    rewriteHead(dir, basename(a), undefined);
    assert.ok(verifyAudit(dir, { settleMs: 0 }).problems.some((p) => p.file === basename(a) && /does not name it/.test(p.reason)));
  });

  test("the sealed heads file edited or deleted: caught by the digest the checkpoint holds", () => {
    const dir = tempDir();
    writeLog(dir, 2);
    writeLog(dir, 2);
    const { sealed } = readCp(dir);
    assert.equal(sealed?.count, 2, "closed writers' heads are sealed");
    writeFileSync(join(dir, sealed!.file), readFileSync(join(dir, sealed!.file), "utf8").replace(/"seq":2/, '"seq":1'));
    assert.match(reasons(verifyAudit(dir)), /does not match the digest the checkpoint holds/);
    unlinkSync(join(dir, sealed!.file));
    assert.match(reasons(verifyAudit(dir)), /the sealed heads of 2 finished segments cannot be checked: .* is missing/);
  });

  test("heads of writers that died without closing are sealed by the next writer; the shared segment's is not", () => {
    const dir = tempDir();
    appendShared({ dir, fsyncIntervalMs: 0, owner: "hook" }, { kind: "decision" }); // written by this (live) process
    const cp = readCp(dir);
    const dead = "audit-20250101T000000.000-4194305.jsonl"; // pid above Linux's pid_max: no such process
    cp.segments[dead] = { seq: 0, hash: "a".repeat(64) };
    writeCp(dir, cp);
    writeLog(dir, 1);
    const after = readCp(dir);
    assert.equal(after.segments[dead], undefined);
    assert.equal(after.sealed?.count, 2, "the dead writer's and the closed log's");
    assert.deepEqual(Object.keys(after.segments), [readFileSync(join(dir, "hook.current"), "utf8").trim()]);
  });

  test("a checkpoint that is not valid JSON: broken (damaged), and the next writer keeps it aside and records that", () => {
    const dir = tempDir();
    writeLog(dir, 1);
    writeFileSync(join(dir, CP), "{ garbage");
    const v = verifyAudit(dir);
    assert.deepEqual([v.status, v.checkpoint?.state], ["broken", "damaged"]);
    writeLog(dir, 1);
    assert.ok(readdirSync(dir).some((f) => /^checkpoint\.unreadable-\d+-[0-9a-f]{8}\.json$/.test(f)), "the damaged file is kept for forensics");
    assert.match(reasons(verifyAudit(dir, { settleMs: 0 })), /found the checkpoint damaged or unreadable and started a new one \(the old one is checkpoint\.unreadable-/);
  });

  test("only segments of a version without checkpoints, and no checkpoint: unverified (not intact), saying why", () => {
    const dir = tempDir();
    const name = segmentFileName(new Date("2025-01-01T00:00:00Z"), 1);
    const start = JSON.stringify(buildRecord(0, "2025-01-01T00:00:00.000Z", { kind: "gateway", event: "segment-start", detail: { previousSegment: null, previousHash: null } }, GENESIS_PREV));
    const next = JSON.stringify(buildRecord(1, "2025-01-01T00:00:01.000Z", call(1), hashLine(start)));
    writeLines(join(dir, name), [start, next]);
    const v = verifyAudit(dir);
    assert.equal(v.status, "unverified");
    assert.deepEqual(v.problems, []);
    assert.match(v.unverified.join("\n"), /no checkpoint: 1 segment .* was written by an mcp-warden without checkpoints/);
    // A writer of this version then adds a checkpoint; the old segment stays unverified, the new one is covered.
    writeLog(dir, 1);
    const after = verifyAudit(dir);
    assert.equal(after.status, "unverified");
    assert.match(after.unverified.join("\n"), /written by an mcp-warden without checkpoints/);
  });

  test("a hook's shared segment: its cut tail is caught", () => {
    const dir = tempDir();
    for (let i = 0; i < 5; i++) appendShared({ dir, fsyncIntervalMs: 0, owner: "hook" }, { kind: "decision", tool: "Bash", decision: "allow" });
    const [file] = readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
    assert.equal(verifyAudit(dir).status, "intact");
    writeLines(join(dir, file!), lines(join(dir, file!)).slice(0, -1));
    assert.deepEqual(verifyAudit(dir).problems, [{ file, seq: 5, reason: "its records end at seq 4 but the checkpoint records seq 5: the last 1 record was cut off" }]);
  });
});

describe("keyed: the checkpoint carries an HMAC", () => {
  test("intact, with the key: HMAC verified; without the key: unverified, saying so, and the unkeyed checks still run", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const key = keyFile(root);
    const file = writeLog(dir, 3, key);
    const v = verifyAudit(dir, { key: readAuditKey(key) });
    assert.deepEqual([v.status, v.checkpoint?.hmac], ["intact", "verified"]);
    const noKey = verifyAudit(dir);
    assert.deepEqual([noKey.status, noKey.checkpoint?.hmac], ["unverified", "not-checked"]);
    assert.match(noKey.unverified.join("\n"), /the checkpoint is keyed \(key id [0-9a-f]{16}\) but no key was given .*: its HMAC was not checked/);
    writeLines(file, lines(file).slice(0, -1));
    const cutNoKey = verifyAudit(dir);
    assert.equal(cutNoKey.status, "broken", "a cut the checkpoint shows needs no key");
  });

  test("segment cut and the checkpoint rewritten to match, without the key: the HMAC shows it", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const key = keyFile(root);
    const file = writeLog(dir, 4, key);
    const kept = lines(file).slice(0, -2);
    writeLines(file, kept);
    const cp = rewriteHead(dir, basename(file), { seq: 2, hash: sha256(kept.at(-1)!) });
    const v = verifyAudit(dir, { key: readAuditKey(key) });
    assert.equal(v.status, "broken");
    assert.deepEqual(v.problems, [{ file: CP, reason: `the checkpoint's HMAC does not match its content (key id ${cp.keyId}): it was rewritten without the key` }]);
    assert.equal(v.checkpoint?.hmac, "mismatch");
  });

  test("...and signed with a key of the attacker's own: not accepted (another key id), and segments name the real key", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const key = keyFile(root);
    const file = writeLog(dir, 4, key);
    writeLines(file, lines(file).slice(0, -1));
    const forgedKey = Buffer.alloc(32, 9);
    const cp = rewriteHead(dir, basename(file), { seq: 3, hash: sha256(lines(file).at(-1)!) });
    cp.keyId = createHash("sha256").update(forgedKey).digest("hex").slice(0, 16);
    delete cp.hmac;
    const body = JSON.stringify({ v: 1, keyId: cp.keyId, updated: cp.updated, segments: cp.segments, sealed: cp.sealed, replaced: cp.replaced });
    cp.hmac = createHmac("sha256", forgedKey).update("mcp-warden audit checkpoint v1\n").update(body).digest("hex");
    writeCp(dir, cp);
    const v = verifyAudit(dir, { key: readAuditKey(key) });
    assert.notEqual(v.status, "intact");
    assert.match(v.unverified.join("\n"), /signed with key id [0-9a-f]{16}, but .* has key id [0-9a-f]{16}/);
  });

  test("the checkpoint downgraded to unkeyed to hide a cut: the segments' key id gives it away", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const key = keyFile(root);
    const file = writeLog(dir, 4, key);
    writeLines(file, lines(file).slice(0, -1));
    const cp = rewriteHead(dir, basename(file), { seq: 3, hash: sha256(lines(file).at(-1)!) });
    cp.keyId = null;
    delete cp.hmac;
    writeCp(dir, cp);
    for (const opts of [{ key: readAuditKey(key) }, {}]) {
      const v = verifyAudit(dir, opts);
      assert.equal(v.status, "broken");
      assert.match(reasons(v), /written in keyed mode \(key id [0-9a-f]{16}\) but the checkpoint is not keyed/);
    }
  });

  test("a writer with the key that finds the checkpoint's HMAC wrong does not adopt it: it starts again, signed, and verify reports it", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const key = keyFile(root);
    const first = writeLog(dir, 4, key);
    writeLines(first, lines(first).slice(0, -1));
    rewriteHead(dir, basename(first), { seq: 3, hash: sha256(lines(first).at(-1)!) }); // consistent with the cut, HMAC left as it was
    writeLog(dir, 1, key);
    const v = verifyAudit(dir, { key: readAuditKey(key), settleMs: 0 });
    assert.equal(v.status, "broken");
    assert.equal(v.checkpoint?.hmac, "verified", "the new checkpoint is genuine");
    assert.match(reasons(v), /found the checkpoint's HMAC wrong \(rewritten without the key\) and started a new one/);
  });

  test("a key introduced later: the unkeyed checkpoint is set aside, and older segments are reported as not covered by the key", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const old = writeLog(dir, 2);
    const key = keyFile(root);
    writeLog(dir, 1, key);
    const v = verifyAudit(dir, { key: readAuditKey(key) });
    assert.equal(v.status, "unverified");
    assert.equal(v.checkpoint?.hmac, "verified");
    assert.match(v.unverified.join("\n"), new RegExp(`1 segment \\(${basename(old).replace(/\./g, "\\.")}\\) predate.*because it was not keyed.*the key does not cover them`));
    assert.ok(readdirSync(dir).some((f) => /^checkpoint\.unkeyed-/.test(f)));
  });

  test("verify with the wrong key: unverified, naming both key ids", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    writeLog(dir, 1, keyFile(root));
    const other = readAuditKey(keyFile(root, 8, "other.key"));
    const v = verifyAudit(dir, { key: other });
    assert.equal(v.status, "unverified");
    assert.match(v.unverified.join("\n"), new RegExp(`but .*other\\.key has key id ${other.id}`));
  });
});

describe("audit verify command: wording and exit codes", () => {
  const sink = () => {
    let text = "";
    return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
  };

  test("0 intact (says which checkpoint), 1 broken (names the segment and seq), 3 unverified (says why)", async () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const key = keyFile(root);
    const file = writeLog(dir, 3, key);
    let out = sink();
    assert.equal(await auditVerifyCommand({ dir, keyFile: key }, out.stream), 0);
    assert.match(out.text(), /^audit log intact: 4 records in 1 segment, every chain and every segment's head checked against the keyed checkpoint \(HMAC verified\)\n$/);
    out = sink();
    assert.equal(await auditVerifyCommand({ dir }, out.stream), 3);
    assert.match(out.text(), /^audit log unverified: the checkpoint is keyed .*\nno record was found altered \(4 records in 1 segment\), but the log is not proven complete\n$/);
    writeLines(file, lines(file).slice(0, -1));
    out = sink();
    assert.equal(await auditVerifyCommand({ dir, keyFile: key }, out.stream), 1);
    assert.equal(out.text(), `audit log broken at ${file} (seq 3): its records end at seq 2 but the checkpoint records seq 3: the last 1 record was cut off\n`);
  });

  test("a --key-file shorter than 32 bytes is refused with exit 2 and how to make one; an unreadable one leaves the HMAC unchecked (3)", async () => {
    const root = tempDir();
    const dir = join(root, "audit");
    writeLog(dir, 1, keyFile(root));
    writeFileSync(join(root, "short.key"), "too short");
    const err = sink();
    assert.equal(await auditVerifyCommand({ dir, keyFile: join(root, "short.key") }, sink().stream, err.stream), 2);
    assert.match(err.text(), /holds 9 bytes; at least 32 are needed: make one with: head -c 32 \/dev\/urandom >/);
    const out = sink();
    assert.equal(await auditVerifyCommand({ dir, keyFile: join(root, "missing.key") }, out.stream, sink().stream), 3);
    assert.match(out.text(), /the checkpoint is keyed \(key id [0-9a-f]{16}\) but the audit key .*missing\.key .* does not exist/);
  });

  test("--json prints status, problems and the checkpoint summary", async () => {
    const dir = tempDir();
    const file = writeLog(dir, 2);
    renameSync(file, `${file}.bak`);
    const out = sink();
    assert.equal(await auditVerifyCommand({ dir, json: true }, out.stream), 1);
    const r = JSON.parse(out.text());
    assert.equal(r.status, "broken");
    assert.equal(r.ok, false);
    assert.equal(r.problems[0].file, basename(file));
    assert.equal(r.checkpoint.state, "ok");
  });
});
