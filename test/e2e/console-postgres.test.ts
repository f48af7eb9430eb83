// The console's activity source on the real PostgreSQL audit table (state.postgres), written by the
// real PostgresAuditSink from two writers: pages newest first that follow their keyset cursors without
// gap or repeat, the filters pushed into SQL (principal, server, decision, tool glob, time range),
// references that open the same record, and calls per minute by decision. Each test's own schema.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PostgresAuditSink } from "../../src/audit/postgres.js";
import { initAuditSchema } from "../../src/audit/postgres-schema.js";
import type { AuditEntry } from "../../src/audit/record.js";
import { postgresActivity, type ActivitySource } from "../../src/fronts/console/activity.js";
import { pgScratch, postgresUnavailable, type PgScratch } from "./postgres-harness.js";

const unavailable = await postgresUnavailable();
const skip = unavailable === undefined || process.env.CI ? false : unavailable;
if (skip) console.log(`skipped: ${skip}`);

const entry = (i: number): AuditEntry => ({
  kind: "call",
  event: "decided",
  id: String(i),
  principal: { subject: i % 2 ? "user-odd" : "user-even", method: "oidc" },
  server: i % 3 === 0 ? "github" : "fs",
  tool: i % 3 === 0 ? `mcp__github__t${i}` : `mcp__fs__read_${i}`,
  decision: i % 5 === 0 ? "deny" : "allow",
});

describe("the console's activity on the PostgreSQL audit log", { skip }, () => {
  let db: PgScratch;
  let activity: ActivitySource;
  const N = 600;

  before(async () => {
    db = await pgScratch();
    const owner = new pg.Client({ connectionString: db.adminUrl });
    await owner.connect();
    await initAuditSchema(owner).finally(() => owner.end());
    // Two writers, interleaved, as two replicas write.
    const a = new PostgresAuditSink({ url: db.adminUrl });
    const b = new PostgresAuditSink({ url: db.adminUrl });
    for (let i = 0; i < N; i++) {
      await (i % 2 ? b : a).appendDurable(entry(i));
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all([a.close(), b.close()]);
    activity = postgresActivity(db.adminUrl);
  });
  after(async () => {
    await activity?.close();
    await db?.drop();
  });

  it("pages of tool calls newest first follow their cursors without gap or repeat, and references open the same record", async () => {
    const seen: string[] = [];
    const times: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await activity.page({ kind: "call" }, cursor, 77);
      assert.ok(page.records.length <= 77);
      for (const r of page.records) {
        seen.push(r.record.id!);
        times.push(r.record.time);
      }
      if (!page.next) break;
      cursor = page.next;
    }
    assert.equal(seen.length, N);
    assert.equal(new Set(seen).size, N, "no record twice");
    // Newest first (two writers can share a millisecond: the order between those is the writer's).
    assert.deepEqual(times, [...times].sort().reverse());
    const first = (await activity.page({ kind: "call" }, undefined, 1)).records[0]!;
    assert.equal((await activity.get(first.ref))?.id, first.record.id);
    assert.equal(await activity.get("bogus"), undefined);
    assert.equal(await activity.page({}, "bogus", 10).then((p) => p.records.length), 0, "a cursor that is not ours gives nothing");
  });

  it("filters are applied in SQL and checked against each record", async () => {
    const page = await activity.page({ principal: "user-odd", server: "github", decision: "deny", tool: "mcp__github__*" }, undefined, 200);
    const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 2 === 1 && i % 3 === 0 && i % 5 === 0);
    assert.deepEqual(page.records.map((r) => Number(r.record.id)), expected.reverse());
    const exact = await activity.page({ tool: "mcp__fs__read_1" }, undefined, 10);
    assert.deepEqual(exact.records.map((r) => r.record.id), ["1"]);
    // An underscore in a glob is a literal, not LIKE's any-character.
    const literal = await activity.page({ tool: "mcp__fs__read_1*" }, undefined, 500);
    assert.ok(literal.records.every((r) => r.record.tool!.startsWith("mcp__fs__read_1")));
    const future = await activity.page({ since: new Date(Date.now() + 60_000) }, undefined, 10);
    assert.equal(future.records.length, 0);
  });

  it("counts tool calls per minute by decision", async () => {
    const { minutes } = await activity.callsPerMinute(new Date(Date.now() - 3_600_000));
    const total = minutes.reduce((a, m) => ({ allow: a.allow + m.allow, ask: a.ask + m.ask, deny: a.deny + m.deny }), { allow: 0, ask: 0, deny: 0 });
    const deny = Array.from({ length: N }, (_, i) => i).filter((i) => i % 5 === 0).length;
    assert.deepEqual(total, { allow: N - deny, ask: 0, deny });
  });
});
