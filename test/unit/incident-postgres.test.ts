// The incident report's reading of the PostgreSQL audit log (state.postgres), on the machine's real
// PostgreSQL: both passes page through more rows than one page holds, with many records sharing a
// millisecond, and count every row exactly once; verify's status comes through.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PostgresAuditSink } from "../../src/audit/postgres.js";
import { initAuditSchema } from "../../src/audit/postgres-schema.js";
import { ActivityCollector } from "../../src/incident/activity.js";
import { readActivity, verifyLog } from "../../src/incident/read-log.js";
import { compileRedaction } from "../../src/incident/redaction.js";
import { buildToolTable } from "../../src/policy/guards/fs-tools.js";
import { pgScratch, postgresUnavailable, type PgScratch } from "../e2e/postgres-harness.js";

const unavailable = await postgresUnavailable();

describe("incident report from the PostgreSQL audit log", { skip: unavailable ?? false, timeout: 120_000 }, () => {
  let db: PgScratch;
  const ROWS_PER_WRITER = 9_000; // 6,000 rows of `bad` and 18,004 in all: more than one page (5,000) in both passes
  before(async () => {
    db = await pgScratch();
    const c = new pg.Client({ connectionString: db.adminUrl });
    await c.connect();
    try {
      await initAuditSchema(c);
    } finally {
      await c.end();
    }
    // Two gateway processes (writers), each a stdio run: `bad` and `helper` in the first, `helper` alone in the second.
    const first = new PostgresAuditSink({ url: db.adminUrl });
    const second = new PostgresAuditSink({ url: db.adminUrl });
    const principal = { subject: "me", method: "local" };
    for (let i = 0; i < ROWS_PER_WRITER; i++) {
      const server = i % 3 === 0 ? "helper" : "bad";
      first.appendSoon({ kind: "call", event: "decided", principal, server, tool: `mcp__${server}__read_file`, method: "tools/call", arguments: { path: `/d/${i % 50}` }, decision: "allow", rule: `mcp__${server}` });
      second.appendSoon({ kind: "call", event: "decided", principal, server: "helper", tool: "mcp__helper__echo", method: "tools/call", arguments: { text: "x" }, decision: "allow" });
    }
    await Promise.all([first.close(), second.close()]);
  });
  after(async () => {
    await db?.drop();
  });

  it("reads every row once across pages; other servers only from the sessions the server was in", async () => {
    const collector = new ActivityCollector({
      server: "bad",
      since: new Date(Date.now() - 3_600_000),
      pathTools: buildToolTable(undefined),
      guardedPaths: false,
      sqlArguments: () => [],
      redaction: compileRedaction({ secrets: [], values: [] }),
    });
    await readActivity({ store: "postgres", url: db.adminUrl }, collector, { since: new Date(Date.now() - 3_600_000) });
    const f = collector.facts();
    const badCalls = ROWS_PER_WRITER - Math.ceil(ROWS_PER_WRITER / 3);
    assert.equal(f.recordsOfServer, badCalls, "the first pass reads the server's rows by its index");
    assert.deepEqual(f.tools.items.map((t) => [t.tool, t.calls]), [["mcp__bad__read_file", badCalls]]);
    assert.equal(f.paths.items.length, 50);
    assert.equal(f.paths.items.reduce((n, p) => n + p.allowed, 0), badCalls, "no row counted twice or missed at a page boundary");
    assert.equal(f.sessions.items.length, 1);
    assert.deepEqual(f.cotenants.items.map((c) => [c.server, c.calls, c.sessions]), [["helper", Math.ceil(ROWS_PER_WRITER / 3), 1]], "the second writer's helper calls were another session");
    assert.deepEqual(f.rules.items.map((r) => [r.rule, r.calls]), [["mcp__bad", badCalls]]);
  });

  it("states verify's result, and never the URL", async () => {
    const log = await verifyLog({ store: "postgres", url: db.adminUrl });
    assert.equal(log.status, "intact");
    assert.equal(log.where, "PostgreSQL (state.postgres)");
    assert.match(log.details[0]!, /^18004 records from 2 writer\(s\)/);
    const down = await verifyLog({ store: "postgres", url: "postgresql://nobody:pw-secret@127.0.0.1:1/x" });
    assert.equal(down.status, "unreadable");
    assert.ok(!JSON.stringify(down).includes("pw-secret"));
  });
});
