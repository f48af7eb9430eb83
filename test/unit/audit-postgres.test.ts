// The PostgreSQL audit sink against the machine's real PostgreSQL: chains per writer, the awaited
// decision record, the append-only table (trigger and the gateway role's grants), verify naming
// what a superuser altered, and failing closed when the database is unreachable or unprepared.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PostgresAuditSink } from "../../src/audit/postgres.js";
import { verifyPostgresAudit, queryPostgresAudit } from "../../src/audit/postgres-read.js";
import { AUDIT_TABLE, initAuditSchema } from "../../src/audit/postgres-schema.js";
import { closedPort } from "../e2e/harness.js";
import { pgProxy, pgScratch, postgresUnavailable, withPgClient as withClient, type PgScratch } from "../e2e/postgres-harness.js";

const skip = await postgresUnavailable();
// Independent of the implementation's hashing helper on purpose.
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const ZEROS = "0".repeat(64);

describe("PostgreSQL audit sink", { skip }, () => {
  let db: PgScratch;
  let role: string;
  before(async () => {
    db = await pgScratch();
    role = await db.createRole();
    await withClient(db.adminUrl, (c) => initAuditSchema(c, role));
  });
  after(async () => {
    await db?.drop();
  });

  const rowsOf = async (writer: string) =>
    (await db.admin<{ seq: string; line: string; prev: string; server: string | null; decision: string | null }>(`SELECT seq, line, prev, server, decision FROM ${AUDIT_TABLE} WHERE writer = $1 ORDER BY seq`, [writer])).rows;

  it("writes one hash chain per writer: seq 0,1,2,... from a writer-start, each prev the SHA-256 of the line before", async () => {
    const a = new PostgresAuditSink({ url: db.urlFor(role) });
    const b = new PostgresAuditSink({ url: db.urlFor(role) });
    for (let i = 0; i < 5; i++) {
      a.append({ kind: "call", event: "decided", server: "fx", tool: "mcp__fx__echo", decision: "allow", arguments: { i } });
      b.appendSoon({ kind: "call", event: "completed", server: "fy", outcome: "ok" });
    }
    await Promise.all([a.close(), b.close()]);
    assert.notEqual(a.writer, b.writer);
    for (const sink of [a, b]) {
      const rows = await rowsOf(sink.writer);
      assert.equal(rows.length, 7, "writer-start, ten records, the writer-link");
      rows.forEach((r, i) => {
        assert.equal(Number(r.seq), i);
        assert.equal(r.prev, i === 0 ? ZEROS : sha256(rows[i - 1]!.line));
        assert.equal(JSON.parse(r.line).seq, i);
      });
      assert.deepEqual(JSON.parse(rows[0]!.line).event, "writer-start");
      assert.ok(rows.some((r) => JSON.parse(r.line).event === "writer-link"));
    }
    // The indexed columns are copied from the line.
    const first = (await rowsOf(a.writer))[1]!;
    assert.equal(first.server, "fx");
    assert.equal(first.decision, "allow");
  });

  it("appendDurable resolves only once the row is committed (another connection sees it)", async () => {
    const sink = new PostgresAuditSink({ url: db.urlFor(role) });
    try {
      const record = await sink.appendDurable({ kind: "call", event: "decided", id: "durable-1", decision: "allow" });
      const seen = await withClient(db.adminUrl, (c) => c.query(`SELECT line FROM ${AUDIT_TABLE} WHERE writer = $1 AND seq = $2`, [sink.writer, record.seq]));
      assert.equal(seen.rows.length, 1);
      assert.equal(JSON.parse(seen.rows[0].line).id, "durable-1");
    } finally {
      await sink.close();
    }
  });

  it("redacts configured secrets before the row is written", async () => {
    const sink = new PostgresAuditSink({ url: db.urlFor(role), secrets: ["hunter2-secret-value"] });
    await sink.appendDurable({ kind: "call", event: "decided", arguments: { token: "hunter2-secret-value" } });
    await sink.close();
    const rows = await rowsOf(sink.writer);
    assert.ok(!rows.some((r) => r.line.includes("hunter2-secret-value")));
    assert.ok(rows[1]!.line.includes("[REDACTED]"));
  });

  it("a NUL in a tool's arguments is stored and verified (the row is not refused)", async () => {
    const sink = new PostgresAuditSink({ url: db.urlFor(role) });
    await sink.appendDurable({ kind: "call", event: "decided", server: "fx", tool: "mcp__fx__echo\u0000x", arguments: { text: "a\u0000b" } });
    await sink.close();
    assert.equal((await rowsOf(sink.writer)).length, 3);
  });

  it("as the gateway's role: INSERT and SELECT work; UPDATE, DELETE and TRUNCATE are refused", async () => {
    await withClient(db.urlFor(role), async (c) => {
      await c.query(`INSERT INTO ${AUDIT_TABLE} (writer, seq, time, line, prev, kind) VALUES ('role-test', 0, now(), '{}', $1, 'gateway')`, [ZEROS]);
      assert.ok(Number((await c.query(`SELECT count(*) AS n FROM ${AUDIT_TABLE}`)).rows[0].n) > 0);
      for (const sql of [`UPDATE ${AUDIT_TABLE} SET line = '{"x":1}'`, `DELETE FROM ${AUDIT_TABLE}`, `TRUNCATE ${AUDIT_TABLE}`]) {
        await assert.rejects(c.query(sql), (e: Error & { code?: string }) => {
          assert.equal(e.code, "42501", `${sql}: ${e.message}`); // insufficient_privilege
          return true;
        });
      }
    });
  });

  it("the trigger refuses UPDATE, DELETE and TRUNCATE even to the table's owner", async () => {
    for (const sql of [`UPDATE ${AUDIT_TABLE} SET line = line`, `DELETE FROM ${AUDIT_TABLE}`, `TRUNCATE ${AUDIT_TABLE}`]) {
      await assert.rejects(db.admin(sql), /append-only/);
    }
  });

  it("verify is intact over every writer, then names a record a superuser altered with the trigger bypassed", async () => {
    // The role-test row above is not a chain: a scratch table of its own keeps this test's log clean.
    const own = await pgScratch();
    try {
      await withClient(own.adminUrl, (c) => initAuditSchema(c));
      const sinks = [new PostgresAuditSink({ url: own.adminUrl }), new PostgresAuditSink({ url: own.adminUrl })];
      for (const [n, sink] of sinks.entries()) for (let i = 0; i < 4; i++) sink.append({ kind: "call", event: "decided", server: `s${n}`, arguments: { i } });
      for (const sink of sinks) {
        sink.append({ kind: "gateway", event: "stopped" });
        await sink.close();
      }
      const intact = await verifyPostgresAudit(own.adminUrl);
      assert.deepEqual({ ok: intact.ok, writers: intact.writers, records: intact.records, broken: intact.broken, unfinished: intact.unfinished }, { ok: true, writers: 2, records: 14, broken: [], unfinished: [] });

      const victim = sinks[1]!.writer;
      // A superuser can skip triggers for the session (replica mode): the trigger is no defence against one; the chain is.
      const tamper = (sql: string, params: unknown[]) =>
        withClient(own.adminUrl, async (c) => {
          await c.query("SET session_replication_role = replica");
          await c.query(sql, params);
        });
      await tamper(`UPDATE ${AUDIT_TABLE} SET line = replace(line, '"i":2', '"i":7') WHERE writer = $1 AND seq = 3`, [victim]);
      const altered = await verifyPostgresAudit(own.adminUrl);
      assert.equal(altered.ok, false);
      assert.equal(altered.broken.length, 1);
      assert.equal(altered.broken[0]!.writer, victim);
      assert.equal(altered.broken[0]!.seq, 3);
      assert.match(altered.broken[0]!.reason, /record modified/);

      // A column changed on its own no longer matches the line it copies.
      await tamper(`UPDATE ${AUDIT_TABLE} SET server = 'elsewhere' WHERE writer = $1 AND seq = 1`, [sinks[0]!.writer]);
      const column = await verifyPostgresAudit(own.adminUrl);
      assert.deepEqual(
        column.broken.find((b) => b.writer === sinks[0]!.writer),
        { writer: sinks[0]!.writer, seq: 1, reason: "record modified: its row's server no longer match the record" },
      );

      // A deleted row is a gap in seq.
      await tamper(`DELETE FROM ${AUDIT_TABLE} WHERE writer = $1 AND seq = 2`, [sinks[0]!.writer]);
      const gap = await verifyPostgresAudit(own.adminUrl);
      const first = gap.broken.find((b) => b.writer === sinks[0]!.writer)!;
      assert.equal(first.seq, 1, "the earlier column change is still the first break of that writer");
    } finally {
      await own.drop();
    }
  });

  it("verify reports a deleted row as records missing, naming the seq after the gap", async () => {
    const own = await pgScratch();
    try {
      await withClient(own.adminUrl, (c) => initAuditSchema(c));
      const sink = new PostgresAuditSink({ url: own.adminUrl });
      for (let i = 0; i < 4; i++) sink.append({ kind: "call", event: "decided", arguments: { i } });
      await sink.close();
      await withClient(own.adminUrl, async (c) => {
        await c.query("SET session_replication_role = replica");
        await c.query(`DELETE FROM ${AUDIT_TABLE} WHERE seq = 2`);
      });
      const r = await verifyPostgresAudit(own.adminUrl);
      assert.deepEqual(r.broken, [{ writer: sink.writer, seq: 3, reason: "1 record(s) missing before seq 3 (rows deleted)" }]);
      assert.deepEqual(r.unfinished, [sink.writer], "a writer whose last record is not a stop record is listed");
    } finally {
      await own.drop();
    }
  });

  it("verify names a writer whose records were deleted, or its newest records cut, through the next writer's link", async () => {
    const own = await pgScratch();
    try {
      await withClient(own.adminUrl, (c) => initAuditSchema(c));
      const first = new PostgresAuditSink({ url: own.adminUrl });
      for (let i = 0; i < 3; i++) first.append({ kind: "call", event: "decided", arguments: { i } });
      first.append({ kind: "gateway", event: "stopped" });
      await first.close();
      const second = new PostgresAuditSink({ url: own.adminUrl });
      await second.appendDurable({ kind: "gateway", event: "stopped" });
      await second.close();
      const link = (await own.admin<{ seq: string; line: string }>(`SELECT seq, line FROM ${AUDIT_TABLE} WHERE writer = $1 AND event = 'writer-link'`, [second.writer])).rows[0]!;
      const lastOfFirst = (await own.admin<{ seq: string }>(`SELECT max(seq) AS seq FROM ${AUDIT_TABLE} WHERE writer = $1`, [first.writer])).rows[0]!;
      assert.deepEqual(
        { writer: JSON.parse(link.line).detail.previousWriter, seq: JSON.parse(link.line).detail.previousSeq },
        { writer: first.writer, seq: Number(lastOfFirst.seq) },
        "the second writer links to the first writer's newest record",
      );
      assert.equal((await verifyPostgresAudit(own.adminUrl)).ok, true);
      const superuser = (sql: string, params: unknown[]) =>
        withClient(own.adminUrl, async (c) => {
          await c.query("SET session_replication_role = replica");
          await c.query(sql, params);
        });
      // The first writer's last record cut: its own chain is still whole; the link shows the cut.
      await superuser(`DELETE FROM ${AUDIT_TABLE} WHERE writer = $1 AND seq = $2`, [first.writer, lastOfFirst.seq]);
      const cut = await verifyPostgresAudit(own.adminUrl);
      assert.deepEqual(cut.broken, [{ writer: second.writer, seq: Number(link.seq), reason: `the record it links to (writer ${first.writer} seq ${lastOfFirst.seq}) is missing: records of that writer were deleted` }]);
      // The whole first writer deleted: still named by the link.
      await superuser(`DELETE FROM ${AUDIT_TABLE} WHERE writer = $1`, [first.writer]);
      const gone = await verifyPostgresAudit(own.adminUrl);
      assert.equal(gone.writers, 1);
      assert.match(gone.broken[0]!.reason, /is missing: records of that writer were deleted/);
    } finally {
      await own.drop();
    }
  });

  it("queries by server, decision and the newest N", async () => {
    const found = await queryPostgresAudit(db.urlFor(role), { server: "fx", decision: "allow" });
    assert.ok(found.records.length >= 5);
    assert.ok(found.records.every((r) => r.server === "fx" && r.decision === "allow"));
    const newest = await queryPostgresAudit(db.urlFor(role), { kind: "call" }, 2);
    assert.equal(newest.records.length, 2);
    assert.ok(newest.records[0]!.time <= newest.records[1]!.time);
  });

  it("fails closed when PostgreSQL is unreachable: appendDurable rejects saying what to do, later appends throw", async () => {
    const port = await closedPort();
    const sink = new PostgresAuditSink({ url: `postgresql://postgres@127.0.0.1:${port}/test`, timeoutMs: 3000 });
    await assert.rejects(sink.appendDurable({ kind: "call", event: "decided" }), (e: Error) => {
      assert.match(e.message, /the audit log in PostgreSQL failed: .*ECONNREFUSED/);
      assert.match(e.message, /make PostgreSQL reachable \(state\.postgres\) and restart mcp-warden/);
      return true;
    });
    assert.throws(() => sink.append({ kind: "call", event: "decided" }), /audit log in PostgreSQL failed/);
    await sink.close();
  });

  it("after PostgreSQL comes back, a new writer chain takes over by itself: refused while away, recorded again after, verify intact", async () => {
    const own = await pgScratch();
    const proxy = await pgProxy();
    const health: (string | undefined)[] = [];
    const gatewayRole = await own.createRole();
    await withClient(own.adminUrl, (c) => initAuditSchema(c, gatewayRole));
    const sink = new PostgresAuditSink({ url: own.urlFor(gatewayRole, proxy.port), timeoutMs: 2000, onHealth: (f) => health.push(f) });
    try {
      await sink.appendDurable({ kind: "call", event: "decided", server: "fx", decision: "allow", detail: { n: "before" } });
      const first = sink.writer;
      await proxy.cut();
      await assert.rejects(sink.appendDurable({ kind: "call", event: "decided", detail: { n: "during" } }), (e: Error) => {
        assert.match(e.message, /the audit log in PostgreSQL failed: .*Nothing is forwarded until it is back/);
        assert.match(e.message, /checks every 1 s and carries on by itself/);
        return true;
      });
      assert.throws(() => sink.append({ kind: "call", event: "decided" }), /audit log in PostgreSQL failed/);
      assert.equal(health.length, 1);
      assert.match(health[0]!, /failed/);
      // Still away after a few probes: still refused.
      await new Promise((r) => setTimeout(r, 2500));
      assert.throws(() => sink.append({ kind: "call", event: "decided" }), /audit log in PostgreSQL failed/);
      await proxy.restore();
      let recorded = false;
      for (let i = 0; i < 50 && !recorded; i++) {
        await new Promise((r) => setTimeout(r, 200));
        try {
          await sink.appendDurable({ kind: "call", event: "decided", server: "fx", decision: "allow", detail: { n: "after" } });
          recorded = true;
        } catch {
          // not back yet
        }
      }
      assert.ok(recorded, "the sink records again within 10 s of the database coming back");
      assert.notEqual(sink.writer, first, "a new writer chain, since the failed insert's fate is unknown");
      assert.deepEqual(health.at(-1), undefined);
      await sink.close();
      const rows = (await own.admin<{ writer: string; seq: string; line: string }>(`SELECT writer, seq, line FROM ${AUDIT_TABLE} ORDER BY time, seq`)).rows;
      const second = rows.filter((r) => r.writer === sink.writer).map((r) => JSON.parse(r.line) as { event: string; detail?: Record<string, unknown> });
      assert.equal(second[0]!.event, "writer-start");
      assert.equal(second[0]!.detail!.recoveredFrom, first);
      assert.match(String(second[0]!.detail!.failure), /failed/);
      assert.ok(!rows.some((r) => r.line.includes('"during"')), "the refused record was never written");
      assert.ok(rows.some((r) => r.writer === sink.writer && r.line.includes('"after"')));
      const verified = await verifyPostgresAudit(own.adminUrl);
      assert.equal(verified.ok, true, JSON.stringify(verified.broken));
      assert.equal(verified.writers, 2);
    } finally {
      await sink.close();
      await proxy.cut();
      await own.drop();
    }
  });

  it("fails closed when the table was never created, naming init-postgres", async () => {
    const empty = await pgScratch();
    try {
      const sink = new PostgresAuditSink({ url: empty.adminUrl });
      await assert.rejects(sink.appendDurable({ kind: "call", event: "decided" }), /does not exist .*mcp-warden audit init-postgres/);
      await sink.close();
    } finally {
      await empty.drop();
    }
  });

  it("fails closed when the role may not insert (SELECT only)", async () => {
    const reader = await db.createRole();
    await db.admin(`GRANT USAGE ON SCHEMA ${db.schema} TO ${reader}; GRANT SELECT ON ${AUDIT_TABLE} TO ${reader}`);
    const sink = new PostgresAuditSink({ url: db.urlFor(reader) });
    await assert.rejects(sink.appendDurable({ kind: "call", event: "decided" }), /may not insert into mcp_warden_audit/);
    await sink.close();
  });
});
