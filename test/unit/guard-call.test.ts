// A server's SQL and argument guards as the gateway and check compile them (call-guards.ts).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { fsEnvironment } from "../../src/policy/paths/index.js";
import { compileCallGuards } from "../../src/policy/guards/call-guards.js";
import { compileSqlGuard, loadSqlParser } from "../../src/policy/guards/sql.js";
import type { ConfiguredServer } from "../../src/policy/types.js";

const server = (guards: Record<string, unknown>): ConfiguredServer =>
  ({ name: "db", entry: { command: "x", guards }, source: { layer: "user", file: "/u/settings.json", path: "mcpServers.db" }, managed: false }) as ConfiguredServer;
const env = fsEnvironment({ home: "/nonexistent-home", platform: "linux" });
const cwd = { cwd: "/" };

describe("server call guards", () => {
  before(async () => loadSqlParser());

  test("SQL argument names per tool: the tool's own list, else '*', and other arguments are not SQL", () => {
    const g = compileCallGuards(server({ sql: { readOnly: true, dialect: "postgresql", arguments: { run_query: ["statement"], "*": ["sql"] } } }), env, compileSqlGuard)!;
    assert.equal(g.check("run_query", { statement: "DROP TABLE t" }, cwd)?.decision, "deny");
    assert.equal(g.check("run_query", { statement: "SELECT 1" }, cwd)?.decision, undefined);
    // For run_query, `sql` is not an SQL argument; for other tools it is.
    assert.equal(g.check("run_query", { sql: "DROP TABLE t" }, cwd), undefined);
    assert.equal(g.check("other", { sql: "DROP TABLE t" }, cwd)?.decision, "deny");
    assert.equal(g.check("other", { statement: "DROP TABLE t" }, cwd), undefined);
  });

  test("a denial names the guard's settings path; without the SQL guard available, calls are refused", () => {
    const g = compileCallGuards(server({ sql: { readOnly: true, dialect: "postgresql" } }), env, compileSqlGuard)!;
    const v = g.check("query", { sql: "SELECT pg_sleep(10)" }, cwd);
    assert.equal(v?.decision, "deny");
    assert.equal(v?.source?.path, "mcpServers.db.guards.sql");
    const none = compileCallGuards(server({ sql: { readOnly: true, dialect: "postgresql" } }), env, undefined)!;
    assert.match(none.check("query", { sql: "SELECT 1" }, cwd)?.reason ?? "", /not available here/);
  });

  test("an unsupported dialect and an invalid constraint refuse the server's calls with the reason", () => {
    assert.match(compileCallGuards(server({ sql: { readOnly: true, dialect: "sqlite" } }), env, compileSqlGuard)!.check("q", { sql: "select 1" }, cwd)?.reason ?? "", /sqlite/i);
    const bad = compileCallGuards(server({ arguments: { t: { a: { pattern: "(" } } } }), env, compileSqlGuard)!;
    assert.match(bad.check("t", { a: "x" }, cwd)?.reason ?? "", /invalid argument constraints/);
  });

  test("SQL first, then the constraints: both must hold", () => {
    const g = compileCallGuards(server({ sql: { readOnly: true, dialect: "postgresql" }, arguments: { query: { sql: { maxLength: 20 } } } }), env, compileSqlGuard)!;
    assert.equal(g.check("query", { sql: "SELECT 1" }, cwd), undefined);
    assert.match(g.check("query", { sql: "SELECT 1 FROM a_rather_long_table_name" }, cwd)?.reason ?? "", /maxLength/);
    assert.equal(compileCallGuards(server({}), env, compileSqlGuard), undefined);
  });
});
