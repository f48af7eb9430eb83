// Reading the log back: record iteration, filters, time arguments, and the `audit` command output.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { AuditFormatError, AuditLog, matchRecord, parseTimeArg, readAuditLines, readRecords, type AuditEntry, type AuditRecord } from "../../src/audit/index.js";
import { auditQueryCommand, auditVerifyCommand } from "../../src/cli/audit.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-query-"));
  dirs.push(d);
  return d;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join("") };
}

function writeSegment(dir: string, entries: AuditEntry[]): string {
  const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
  for (const e of entries) log.append(e);
  log.close();
  return log.file;
}

const ENTRIES: AuditEntry[] = [
  { kind: "call", event: "decided", id: "1", server: "github", tool: "mcp__github__get_issue", decision: "allow", rule: "mcp__github" },
  { kind: "call", event: "completed", id: "1", server: "github", tool: "mcp__github__get_issue", outcome: "ok", durationMs: 42 },
  { kind: "call", event: "decided", id: "2", server: "github", tool: "mcp__github__delete_repo", decision: "deny", rule: "mcp__github__delete_*", outcome: "denied" },
  { kind: "call", event: "decided", id: "3", server: "fs", tool: "mcp__fs__read_file", decision: "ask" },
  { kind: "server", event: "crashed", server: "fs", error: "exit 1" },
];

function rec(over: Partial<AuditRecord>): AuditRecord {
  return { v: 1, seq: 1, time: "2025-06-01T12:00:00.000Z", prev: "0".repeat(64), kind: "call", ...over };
}

describe("readRecords", () => {
  test("yields every record of every segment in segment order, with file and line", () => {
    const dir = tempDir();
    const a = writeSegment(dir, ENTRIES.slice(0, 2));
    const b = writeSegment(dir, ENTRIES.slice(2));
    const got = [...readRecords(dir)].map((x) => [basename(x.file), x.line, x.record.id ?? x.record.event]);
    assert.deepEqual(got, [
      [basename(a), 1, "segment-start"],
      [basename(a), 2, "1"],
      [basename(a), 3, "1"],
      [basename(b), 1, "segment-start"],
      [basename(b), 2, "2"],
      [basename(b), 3, "3"],
      [basename(b), 4, "crashed"],
    ]);
  });

  test("a damaged line throws AuditFormatError naming file and line instead of being skipped", () => {
    const dir = tempDir();
    const file = writeSegment(dir, ENTRIES);
    appendFileSync(file, "garbage\n");
    const err = (() => {
      try {
        for (const _ of readRecords(dir)) void _;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof AuditFormatError);
    assert.equal(err.file, basename(file));
    assert.equal(err.line, ENTRIES.length + 2);
  });

  test("readAuditLines reports a damaged line as an error item and carries on", () => {
    const dir = tempDir();
    const file = writeSegment(dir, ENTRIES.slice(0, 1));
    const ls = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, `${ls[0]}\n[1,2]\n${ls[1]}\n`);
    const items = [...readAuditLines(dir)];
    assert.equal(items.length, 3);
    assert.equal(items[1]!.error, "not a JSON object");
    assert.equal(items[2]!.record?.id, "1");
  });
});

describe("matchRecord", () => {
  test("each filter field narrows the match, and a record without the field does not match", () => {
    const r = rec({ server: "github", tool: "mcp__github__get_issue", decision: "allow", event: "decided" });
    assert.equal(matchRecord(r, {}), true);
    assert.equal(matchRecord(r, { server: "github" }), true);
    assert.equal(matchRecord(r, { server: "fs" }), false);
    assert.equal(matchRecord(r, { decision: "allow" }), true);
    assert.equal(matchRecord(r, { decision: "deny" }), false);
    assert.equal(matchRecord(r, { kind: "call" }), true);
    assert.equal(matchRecord(r, { kind: "server" }), false);
    assert.equal(matchRecord(r, { event: "decided" }), true);
    assert.equal(matchRecord(r, { event: "completed" }), false);
    assert.equal(matchRecord(rec({}), { server: "github" }), false);
    assert.equal(matchRecord(rec({}), { tool: "*" }), false);
  });

  test("tool globs: * spans any characters including __, everything else is literal", () => {
    const r = rec({ tool: "mcp__github__get_issue" });
    assert.equal(matchRecord(r, { tool: "mcp__github__*" }), true);
    assert.equal(matchRecord(r, { tool: "mcp__*__get_*" }), true);
    assert.equal(matchRecord(r, { tool: "*issue" }), true);
    assert.equal(matchRecord(r, { tool: "mcp__github" }), false, "no implicit prefix match");
    assert.equal(matchRecord(r, { tool: "mcp__github__get.issue" }), false, "dot is literal");
    assert.equal(matchRecord(rec({ tool: "mcp__a.b__x" }), { tool: "mcp__a.b__*" }), true);
  });

  test("since and until are inclusive bounds on the record time", () => {
    const r = rec({ time: "2025-06-01T12:00:00.000Z" });
    const at = new Date("2025-06-01T12:00:00.000Z");
    const later = new Date("2025-06-01T12:00:00.001Z");
    assert.equal(matchRecord(r, { since: at, until: at }), true);
    assert.equal(matchRecord(r, { since: later }), false);
    assert.equal(matchRecord(r, { until: new Date("2025-06-01T11:59:59.999Z") }), false);
  });
});

describe("parseTimeArg", () => {
  const now = new Date("2025-06-10T00:00:00.000Z");
  test("relative times mean that long before now", () => {
    assert.equal(parseTimeArg("30s", now).toISOString(), "2025-06-09T23:59:30.000Z");
    assert.equal(parseTimeArg("15m", now).toISOString(), "2025-06-09T23:45:00.000Z");
    assert.equal(parseTimeArg("2h", now).toISOString(), "2025-06-09T22:00:00.000Z");
    assert.equal(parseTimeArg("7d", now).toISOString(), "2025-06-03T00:00:00.000Z");
  });

  test("ISO-8601 dates and date-times are accepted", () => {
    assert.equal(parseTimeArg("2025-01-31", now).toISOString(), "2025-01-31T00:00:00.000Z");
    assert.equal(parseTimeArg("2025-01-31T12:30:00Z", now).toISOString(), "2025-01-31T12:30:00.000Z");
    assert.equal(parseTimeArg("2025-01-31T12:30:00.250+02:00", now).toISOString(), "2025-01-31T10:30:00.250Z");
  });

  test("anything else throws a message that quotes the input and shows the accepted forms", () => {
    for (const bad of ["yesterday", "10x", "-5m", "", "5 m", "2025-02-30", "2025-13-01", "2025-01-31T25:00:00Z", "1e3s"]) {
      assert.throws(() => parseTimeArg(bad, now), (e: Error) => e.message.includes(`"${bad}"`) && /ISO-8601/.test(e.message), bad);
    }
  });
});

describe("audit query command", () => {
  test("prints a table with a header and one row per record, '-' for empty cells", async () => {
    const dir = tempDir();
    writeSegment(dir, ENTRIES);
    const out = sink();
    const code = await auditQueryCommand({ dir, kind: "call" }, out.stream, sink().stream);
    assert.equal(code, 0);
    const rows = out.text().trimEnd().split("\n");
    assert.match(rows[0]!, /^TIME\s+KIND\s+DECISION\s+SERVER\s+TOOL\s+RULE\s+OUTCOME\s+DURATION$/);
    assert.equal(rows.length, 1 + 4);
    assert.match(rows[2]!, /call\/completed\s+-\s+github\s+mcp__github__get_issue\s+-\s+ok\s+42ms$/);
    assert.match(rows[3]!, /call\/decided\s+deny\s+github\s+mcp__github__delete_repo\s+mcp__github__delete_\*\s+denied\s+-$/);
  });

  test("--json prints one record per line, filtered", async () => {
    const dir = tempDir();
    writeSegment(dir, ENTRIES);
    const out = sink();
    assert.equal(await auditQueryCommand({ dir, json: true, server: "github", decision: "deny" }, out.stream), 0);
    const recs = out.text().trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(recs.map((r) => r.id), ["2"]);
    assert.equal(recs[0].seq, 3);
  });

  test("--tool glob and --limit keep the most recent matches", async () => {
    const dir = tempDir();
    writeSegment(dir, ENTRIES);
    const out = sink();
    assert.equal(await auditQueryCommand({ dir, json: true, tool: "mcp__github__*", limit: 2 }, out.stream), 0);
    assert.deepEqual(out.text().trimEnd().split("\n").map((l) => JSON.parse(l).seq), [2, 3]);
  });

  test("--since excludes older records", async () => {
    const dir = tempDir();
    writeSegment(dir, ENTRIES);
    const out = sink();
    assert.equal(await auditQueryCommand({ dir, json: true, since: "2999-01-01" }, out.stream), 0);
    assert.equal(out.text(), "");
    assert.equal(await auditQueryCommand({ dir, json: true, since: "1h" }, out.stream), 0);
    assert.equal(out.text().trimEnd().split("\n").length, ENTRIES.length + 1);
  });

  test("bad arguments exit 2 with a message on stderr and print nothing", async () => {
    const dir = tempDir();
    writeSegment(dir, ENTRIES);
    const cases: [Parameters<typeof auditQueryCommand>[0], RegExp][] = [
      [{ dir, decision: "maybe" }, /unknown decision "maybe"/],
      [{ dir, kind: "calls" }, /unknown kind "calls"/],
      [{ dir, since: "last week" }, /invalid time "last week"/],
      [{ dir, since: "1h", until: "2h" }, /--since .* is after --until/],
      [{ dir, limit: 0 }, /--limit/],
      [{ dir, limit: Number.NaN }, /--limit/],
    ];
    for (const [opts, message] of cases) {
      const out = sink();
      const err = sink();
      assert.equal(await auditQueryCommand(opts, out.stream, err.stream), 2, JSON.stringify(opts));
      assert.match(err.text(), message);
      assert.equal(out.text(), "");
    }
  });

  test("a missing directory prints nothing and exits 0", async () => {
    const out = sink();
    assert.equal(await auditQueryCommand({ dir: join(tempDir(), "none") }, out.stream), 0);
    assert.equal(out.text(), "");
  });

  test("a damaged line is reported on stderr, the other records still print, and the exit code is 1", async () => {
    const dir = tempDir();
    const file = writeSegment(dir, ENTRIES.slice(0, 1));
    appendFileSync(file, "{oops\n");
    const out = sink();
    const err = sink();
    assert.equal(await auditQueryCommand({ dir, json: true }, out.stream, err.stream), 1);
    assert.equal(out.text().trimEnd().split("\n").length, 2);
    assert.ok(err.text().includes(`${file}:3: not valid JSON`), err.text());
  });

  test("terminal control and bidi characters from server-supplied names are escaped in the table", async () => {
    const dir = tempDir();
    writeSegment(dir, [{ kind: "call", server: "evil\u001b[2J", tool: "mcp__evil__x\u202Eexe.txt" }]);
    const out = sink();
    assert.equal(await auditQueryCommand({ dir, kind: "call" }, out.stream), 0);
    assert.ok(!/[\u001b\u202e]/.test(out.text()));
    assert.ok(out.text().includes("evil\\u001b[2J"));
    assert.ok(out.text().includes("mcp__evil__x\\u202eexe.txt"));
  });
});

describe("audit verify command", () => {
  test("intact log: says so with counts and exits 0", async () => {
    const dir = tempDir();
    writeSegment(dir, ENTRIES);
    writeSegment(dir, ENTRIES.slice(0, 1));
    const out = sink();
    assert.equal(await auditVerifyCommand({ dir }, out.stream), 0);
    assert.equal(out.text(), `audit log intact: ${ENTRIES.length + 3} records in 2 segments, every chain and every segment's head checked against the checkpoint (unkeyed)\n`);
  });

  test("broken log: names file, line, seq and reason, exits 1; --json prints the result object", async () => {
    const dir = tempDir();
    const file = writeSegment(dir, ENTRIES);
    const ls = readFileSync(file, "utf8").split("\n");
    ls[2] = ls[2]!.replace('"outcome":"ok"', '"outcome":"error"');
    writeFileSync(file, ls.join("\n"));
    const out = sink();
    assert.equal(await auditVerifyCommand({ dir }, out.stream), 1);
    assert.match(out.text(), new RegExp(`^audit log broken at ${file.replace(/[.]/g, "\\.")}:3 \\(seq 2\\): record modified`));
    const json = sink();
    assert.equal(await auditVerifyCommand({ dir, json: true }, json.stream), 1);
    const result = JSON.parse(json.text());
    assert.equal(result.ok, false);
    assert.deepEqual([result.firstBroken.file, result.firstBroken.line, result.firstBroken.seq], [basename(file), 3, 2]);
  });

  test("missing directory: 'no audit records', exit 0", async () => {
    const out = sink();
    assert.equal(await auditVerifyCommand({ dir: join(tempDir(), "none") }, out.stream), 0);
    assert.equal(out.text(), "no audit records\n");
  });
});
