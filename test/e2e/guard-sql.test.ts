// The SQL guard end to end: a real PostgreSQL (127.0.0.1:5432, database `test`, trust auth; `.ci/run`
// starts it), behind the real @modelcontextprotocol/server-postgres, behind the real mcp-warden.
// Every shared red-team SQL attack for PostgreSQL is refused, and afterwards the database is
// verifiably unchanged: a checksum over the test tables, the large objects, and no file read; the
// near-misses return rows. The tables live in a schema of their own (search_path in the URL).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { auditRecords, connect, ROOT, scratch, type Connected, type Scratch } from "./harness.js";

const POSTGRES_SERVER = join(ROOT, "node_modules/@modelcontextprotocol/server-postgres/dist/index.js");
const CASES = join(ROOT, "..", "shared", "redteam", "cases.json");
const SCHEMA = `warden_e2e_${process.pid}`;

function psql(sql: string): string {
  return execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8", timeout: 20_000 }).trim();
}

function reachable(): string | undefined {
  try {
    psql("select 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL is not reachable on 127.0.0.1:5432 (${(e as Error).message.split("\n")[0]}); .ci/run starts it`;
  }
}

/** Everything an attack could change: every row of every test table, the large objects, the sequences. */
function fingerprint(): string {
  return psql(
    `select concat_ws('|',
      (select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from ${SCHEMA}.orders t),
      (select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from ${SCHEMA}.users t),
      (select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from ${SCHEMA}.feature_flags t),
      (select count(*) from pg_largeobject_metadata),
      (select last_value from ${SCHEMA}.orders_id_seq),
      (select count(*) from pg_tables where schemaname = '${SCHEMA}'))`,
  );
}

interface RedteamCase {
  id: string;
  category: string;
  kind: "attack" | "benign";
  input: string;
  rules?: { dialect?: string };
  expected: string;
}

const skip = !existsSync(POSTGRES_SERVER) ? "server-postgres is not installed" : !existsSync(CASES) ? `no red-team cases at ${CASES}` : reachable();

describe("the SQL guard in front of server-postgres and a real PostgreSQL", { skip: skip ?? false }, () => {
  let s: Scratch;
  let c: Connected;
  let before_: string;
  const cases = skip ? [] : (JSON.parse(readFileSync(CASES, "utf8")) as RedteamCase[] | { cases: RedteamCase[] });
  const sqlCases = (Array.isArray(cases) ? cases : cases.cases).filter((x) => x.category === "sql" && /^postgres/i.test(x.rules?.dialect ?? "postgresql"));

  before(async () => {
    psql(`drop schema if exists ${SCHEMA} cascade; create schema ${SCHEMA};
      create table ${SCHEMA}.orders (id serial primary key, status text, amount numeric);
      insert into ${SCHEMA}.orders (status, amount) values ('open', 10), ('paid', 20), ('paid', 5);
      create table ${SCHEMA}.users (id int primary key, name text, password_hash text);
      insert into ${SCHEMA}.users values (1, 'ada', 'x1'), (2, 'bob', 'x2');
      create table ${SCHEMA}.feature_flags ("delete" boolean, "update" boolean);
      insert into ${SCHEMA}.feature_flags values (true, false);
      create table ${SCHEMA}.update_history (id int, note text);
      create table ${SCHEMA}.deleted_items (id int, what text);
      insert into ${SCHEMA}.update_history values (1, 'a'); insert into ${SCHEMA}.deleted_items values (1, 'b');`);
    before_ = fingerprint();
    s = scratch({
      permissions: { allow: ["mcp__db__query"] },
      mcpServers: {
        db: { command: process.execPath, args: [POSTGRES_SERVER, `postgresql://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D${SCHEMA}`], guards: { sql: { readOnly: true, dialect: "postgresql" } } },
      },
    });
    c = await connect(s);
  });

  after(async () => {
    await c?.close().catch(() => undefined);
    s?.cleanup();
    if (!skip) psql(`drop schema if exists ${SCHEMA} cascade`);
  });

  test("there are PostgreSQL cases to run", () => {
    assert.ok(sqlCases.length >= 10, `only ${sqlCases.length} cases`);
  });

  test("every attack is refused by mcp-warden before it reaches the server, and the database is unchanged", async () => {
    const attacks = sqlCases.filter((x) => x.kind === "attack");
    for (const a of attacks) {
      await assert.rejects(c.client.callTool({ name: "db__query", arguments: { sql: a.input } }), (e: Error & { code?: number }) => {
        assert.equal(e.code, -32050, `${a.id}: ${e.message}`);
        return true;
      }, a.id);
    }
    assert.equal(fingerprint(), before_, "rows, sequences, large objects and tables are as before");
    // Refused by the guard, so never forwarded: no completed record for a denied call.
    await new Promise((r) => setTimeout(r, 200));
    const decided = auditRecords(s).filter((r) => r.event === "decided" && r.tool === "mcp__db__query" && r.decision === "deny");
    assert.equal(decided.length, attacks.length);
  });

  test("the near-misses return rows from the real database", async () => {
    for (const b of sqlCases.filter((x) => x.kind === "benign")) {
      const r = await c.client.callTool({ name: "db__query", arguments: { sql: b.input } });
      assert.notEqual(r.isError, true, `${b.id}: ${JSON.stringify(r.content)}`);
      const text = (r.content as { text?: string }[])[0]?.text ?? "";
      assert.ok(text.startsWith("["), `${b.id} returned rows: ${text.slice(0, 200)}`);
    }
    const counted = await c.client.callTool({ name: "db__query", arguments: { sql: "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status" } });
    assert.deepEqual(JSON.parse((counted.content as { text: string }[])[0]!.text), [
      { status: "open", n: "1" },
      { status: "paid", n: "2" },
    ]);
    assert.equal(fingerprint(), before_);
  });

  test("side effects hidden in functions, writing CTEs and file reads are refused too", async () => {
    for (const sql of [
      `SELECT pg_read_file('/etc/passwd')`,
      `SELECT lo_import('/etc/passwd')`,
      `WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone`,
      `SELECT nextval('orders_id_seq')`,
      `COMMIT; DROP TABLE orders`,
      `SELECT query_to_xml('delete from orders', true, true, '')`,
      `SELECT set_config('default_transaction_read_only', 'off', false)`,
    ]) {
      await assert.rejects(c.client.callTool({ name: "db__query", arguments: { sql } }), /Denied by mcp-warden/, sql);
    }
    assert.equal(fingerprint(), before_);
  });
});
