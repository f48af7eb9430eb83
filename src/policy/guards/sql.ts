// The SQL guard: a server's SQL arguments, judged by PostgreSQL's own parser (libpg-query, WASM).
//
// Why a parser and not keywords: every read-only bypass in the red-team corpus (stacked
// `COMMIT; DROP`, `WITH d AS (DELETE ...) SELECT`, `SELECT * FROM pg_read_file(...)` as a
// RangeFunction, quoted identifiers named `"delete"`) defeats text matching and none defeats the real
// grammar. We never split or tokenize SQL ourselves; the one token-level check (below) uses the
// parser's own scanner.
//
// readOnly: true allows exactly one statement, which is
//   - a SELECT (including VALUES, `TABLE t`, UNION/INTERSECT/EXCEPT, read-only CTEs), or
//   - EXPLAIN of such a SELECT without ANALYZE (ANALYZE executes the statement);
// and, anywhere in its tree (walked generically, every key and array, not a list of node shapes):
//   - no nested statement other than SELECT (`WITH x AS (DELETE ...)`, at any depth),
//   - no SELECT INTO (creates a table) and no locking clause (FOR UPDATE/SHARE takes row locks),
//   - every function call on an allowlist of side-effect-free built-ins (plus `functions.allow`).
//     A function call is any object with a `funcname` list, wrapped as `FuncCall` or not, so the
//     FROM position (RangeFunction) and SQL-syntax forms (`trim(...)` → pg_catalog.btrim) count too.
//     Names compare exactly as the parser left them: it folded unquoted names to lower case and kept
//     quoted ones, so `"PG_SLEEP"` is an unknown (user) function, and U&"..." escapes are decoded.
// Anything else (transaction control, SET, COPY, DO, CALL, PREPARE/EXECUTE, DECLARE, LISTEN/NOTIFY,
// DDL, DML, an empty statement list) is denied: statement kinds are allowlisted, not denylisted.
//
// readOnly: false: the guard does not restrict statements or functions (the server is trusted to
// write); input that does not parse, or is too large, is still denied.
//
// A regular string literal holding a backslash is denied: the parser reads SQL with
// standard_conforming_strings on, a server running with it off reads `\'` as an escaped quote, and
// `SELECT 'x\'' ; DROP TABLE t; --'` is then one statement to us and two to the server.
//
// Known limits (a read-only database role remains the backstop): what a name resolves to depends on
// the database: a user function reached by attribute notation (`t.f` is `f(t)`), a view, a trigger-
// free but volatile cast or operator, an unqualified built-in name shadowed by a schema placed before
// pg_catalog on the search_path. Operators are not judged (the spec treats them as pure).
import type * as PgQuery from "libpg-query";
import type { Verdict } from "../types.js";

export interface SqlGuardConfig {
  readOnly: boolean;
  dialect: string;
  functions?: { allow?: string[] };
  arguments?: string[];
}

export interface SqlGuard {
  /**
   * The verdict on the SQL arguments of this call, or undefined when it carries none (nothing to
   * judge). `tool` is the upstream tool name, for messages. Never throws.
   */
  check(tool: string, input: Record<string, unknown>): Verdict | undefined;
  /** The verdict on one SQL text. Never throws. */
  judgeSql(sql: string): Verdict;
}

/** Longer SQL than this is refused unparsed (UTF-16 code units): bounds parse time and memory. */
export const MAX_SQL_LENGTH = 100_000;
/** JSON depth of the parse tree beyond which the walk stops and denies. */
const MAX_TREE_DEPTH = 2_000;
/** Objects and arrays in the parse tree beyond which the walk stops and denies. */
const MAX_TREE_NODES = 500_000;
/** How much of the SQL a message may quote. */
const SHOW_CHARS = 200;

const DEFAULT_ARGUMENTS = ["sql", "query"] as const;
const SOURCE = "guards.sql";
const RO = "guards.sql.readOnly";

let parserReady = false;
let parserLoading: Promise<void> | undefined;
/** The parser's module, once loaded: imported only when some settings use an SQL guard (it is large). */
let pg: typeof PgQuery | undefined;

/** Loads the WASM parser once; later calls share the first load. */
export async function loadSqlParser(): Promise<void> {
  if (parserReady) return;
  parserLoading ??= import("libpg-query").then(
    async (m) => {
      await m.loadModule();
      pg = m;
      parserReady = true;
    },
    (e: unknown) => {
      parserLoading = undefined; // a failed load may be retried
      throw e;
    },
  );
  return parserLoading;
}

export function sqlParserReady(): boolean {
  return parserReady;
}

/** The loaded parser's functions (throws before loadSqlParser has succeeded; callers check sqlParserReady). */
export function sqlParser(): typeof PgQuery {
  if (pg === undefined) throw new Error("the SQL parser is not loaded");
  return pg;
}

// Side-effect-free built-ins, lower case as PostgreSQL names them. Each reads nothing but its
// arguments and the catalog and writes nothing (no file, lock, sequence, setting, large object, other
// connection, or SQL given as a string). Functions that execute SQL text (query_to_xml and kin),
// touch files (pg_read_file, lo_*), sleep, signal backends or change settings are deliberately absent.
const BUILTIN_FUNCTIONS: readonly string[] = [
  // aggregates
  "count", "sum", "avg", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or", "every",
  "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "json_agg_strict", "jsonb_agg_strict",
  "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp",
  "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
  "percentile_cont", "percentile_disc", "mode", "bit_and", "bit_or", "bit_xor", "any_value", "range_agg", "xmlagg",
  // window functions
  "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
  "first_value", "last_value", "nth_value",
  // date and time (current_date, current_timestamp, localtime... are SQLValueFunction nodes, not calls)
  "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
  "date_trunc", "date_part", "extract", "date_bin", "age", "make_date", "make_time", "make_timestamp",
  "make_timestamptz", "make_interval", "justify_days", "justify_hours", "justify_interval", "isfinite",
  "to_char", "to_date", "to_timestamp", "to_number", "timezone", "overlaps",
  // strings
  "lower", "upper", "initcap", "length", "char_length", "character_length", "octet_length", "bit_length",
  "substring", "substr", "trim", "btrim", "ltrim", "rtrim", "replace", "concat", "concat_ws", "split_part",
  "left", "right", "position", "strpos", "format", "lpad", "rpad", "repeat", "reverse", "translate", "ascii",
  "chr", "starts_with", "overlay", "quote_ident", "quote_literal", "quote_nullable", "to_hex", "md5",
  "sha224", "sha256", "sha384", "sha512", "encode", "decode", "convert_from", "convert_to", "normalize",
  "is_normalized", "unistr", "string_to_array", "string_to_table", "array_to_string", "similar_to_escape",
  "regexp_replace", "regexp_match", "regexp_matches", "regexp_split_to_table", "regexp_split_to_array",
  "regexp_count", "regexp_instr", "regexp_like", "regexp_substr", "pg_collation_for",
  // numbers
  "abs", "round", "ceil", "ceiling", "floor", "trunc", "mod", "power", "pow", "sqrt", "cbrt", "exp", "ln",
  "log", "log10", "pi", "sign", "div", "degrees", "radians", "width_bucket", "gcd", "lcm", "factorial",
  "scale", "min_scale", "trim_scale", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
  "tanh", "random", "gen_random_uuid",
  // conditionals (coalesce, greatest and least are their own nodes; listed for the pg_catalog spellings)
  "nullif", "coalesce", "greatest", "least", "num_nulls", "num_nonnulls",
  // casts written as calls
  "date", "time", "timestamp", "timestamptz", "interval", "text", "varchar", "bpchar", "int2", "int4",
  "int8", "float4", "float8", "numeric", "bool", "jsonb", "json", "uuid",
  // JSON
  "to_json", "to_jsonb", "row_to_json", "array_to_json", "json_build_object", "jsonb_build_object",
  "json_build_array", "jsonb_build_array", "json_object", "jsonb_object", "json_array_elements",
  "jsonb_array_elements", "json_array_elements_text", "jsonb_array_elements_text", "json_each", "jsonb_each",
  "json_each_text", "jsonb_each_text", "json_extract_path", "jsonb_extract_path", "json_extract_path_text",
  "jsonb_extract_path_text", "json_object_keys", "jsonb_object_keys", "json_typeof", "jsonb_typeof",
  "json_array_length", "jsonb_array_length", "jsonb_set", "jsonb_insert", "jsonb_strip_nulls",
  "json_strip_nulls", "jsonb_pretty", "jsonb_path_query", "jsonb_path_exists", "jsonb_path_match",
  "jsonb_path_query_array", "jsonb_path_query_first", "json_to_record", "jsonb_to_record",
  "json_to_recordset", "jsonb_to_recordset",
  // arrays and set-returning functions
  "generate_series", "generate_subscripts", "unnest", "array_length", "array_lower", "array_upper",
  "array_ndims", "array_dims", "cardinality", "array_position", "array_positions", "array_remove",
  "array_replace", "array_append", "array_prepend", "array_cat", "array_fill", "trim_array",
  // sizes and catalog introspection (read the catalog or stat relation files, write nothing)
  "pg_size_pretty", "pg_size_bytes", "pg_total_relation_size", "pg_relation_size", "pg_table_size",
  "pg_indexes_size", "pg_database_size", "pg_column_size", "pg_typeof", "format_type", "version",
  "current_database", "current_schema", "current_schemas", "system_user", "obj_description", "col_description",
];

/** TABLESAMPLE methods that are built in (or contrib tsm_*) and only read. */
const SAMPLE_METHODS: ReadonlySet<string> = new Set(["bernoulli", "system", "system_rows", "system_time"]);

/** Statement node names as a person writes them, for messages. */
const STATEMENT_WORDS: Readonly<Record<string, string>> = {
  InsertStmt: "INSERT", UpdateStmt: "UPDATE", DeleteStmt: "DELETE", MergeStmt: "MERGE",
  TransactionStmt: "transaction control (BEGIN/COMMIT/ROLLBACK...)", VariableSetStmt: "SET/RESET",
  VariableShowStmt: "SHOW", CopyStmt: "COPY", DoStmt: "DO", CallStmt: "CALL", ListenStmt: "LISTEN",
  NotifyStmt: "NOTIFY", UnlistenStmt: "UNLISTEN", PrepareStmt: "PREPARE", ExecuteStmt: "EXECUTE",
  DeallocateStmt: "DEALLOCATE", DeclareCursorStmt: "DECLARE CURSOR", CreateTableAsStmt: "CREATE TABLE AS / SELECT INTO",
  ExplainStmt: "EXPLAIN", VacuumStmt: "VACUUM/ANALYZE", LockStmt: "LOCK", TruncateStmt: "TRUNCATE",
};

/** "a DELETE", "an INSERT": the word with its article. */
function aStatement(kind: string): string {
  const w = statementWord(kind);
  return `${/^[AEIOU]/.test(w) ? "an" : "a"} ${w}`;
}

function statementWord(kind: string): string {
  return STATEMENT_WORDS[kind] ?? kind.replace(/Stmt$/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

/** A function name as the parser reports it: schema (when qualified) and name, case as PostgreSQL keeps it. */
interface FunctionName {
  schema?: string;
  name: string;
}

/**
 * Parses a `functions.allow` entry the way PostgreSQL reads a (possibly qualified) name: unquoted
 * parts fold to lower case, "quoted" parts keep their case (`""` is a quote). Throws when malformed.
 */
function parseAllowEntry(entry: string): FunctionName {
  const part = /^(?:"((?:[^"]|"")+)"|([A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*))/;
  const parts: string[] = [];
  let rest = entry.trim();
  for (;;) {
    const m = part.exec(rest);
    if (!m) throw new Error(`guards.sql.functions.allow entry ${JSON.stringify(entry)} is not a function name (name or schema.name)`);
    parts.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!.toLowerCase());
    rest = rest.slice(m[0].length);
    if (rest === "") break;
    if (!rest.startsWith(".")) throw new Error(`guards.sql.functions.allow entry ${JSON.stringify(entry)} is not a function name (name or schema.name)`);
    rest = rest.slice(1);
  }
  if (parts.length > 2) throw new Error(`guards.sql.functions.allow entry ${JSON.stringify(entry)} has more than schema.name`);
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

function key(f: FunctionName): string {
  // JSON keeps the two parts apart whatever characters a quoted name holds.
  return JSON.stringify([f.schema ?? null, f.name]);
}

function show(sql: string): string {
  const one = sql.replace(/\s+/g, " ").trim();
  return JSON.stringify(one.length > SHOW_CHARS ? `${one.slice(0, SHOW_CHARS)}…` : one);
}

function shownName(f: FunctionName): string {
  const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replaceAll('"', '""')}"`);
  return f.schema !== undefined ? `${q(f.schema)}.${q(f.name)}` : q(f.name);
}

/** `rule` names the setting that decided, as the filesystem guard does (`guards.sql.readOnly`). */
function deny(reason: string, rule: string = SOURCE): Verdict {
  return { decision: "deny", reason, rule };
}

function allow(reason: string, rule: string = SOURCE): Verdict {
  return { decision: "allow", reason, rule };
}

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The svals of a list of String nodes (`[{String: {sval}}]`), or undefined when it is not one. */
function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const item of v) {
    const s = isObject(item) && isObject(item.String) ? item.String.sval : undefined;
    if (typeof s !== "string") return undefined;
    out.push(s);
  }
  return out;
}

/** Throws on an unsupported dialect or a malformed configuration: the gateway then refuses the server. */
export function compileSqlGuard(config: SqlGuardConfig): SqlGuard {
  if (!isObject(config)) throw new Error("guards.sql is not an object; the gateway refuses this server rather than run it unguarded");
  const dialect = typeof config.dialect === "string" ? config.dialect.trim().toLowerCase() : "";
  if (dialect !== "postgresql" && dialect !== "postgres") {
    throw new Error(
      `guards.sql.dialect ${JSON.stringify(config.dialect)} is not supported (only "postgresql" is: its parser is PostgreSQL's own); ` +
        "the gateway refuses this server rather than run it with an SQL guard that cannot read its dialect",
    );
  }
  if (typeof config.readOnly !== "boolean") throw new Error("guards.sql.readOnly is not a boolean; the gateway refuses this server");
  const argNames = config.arguments ?? [...DEFAULT_ARGUMENTS];
  if (!Array.isArray(argNames) || argNames.length === 0 || !argNames.every((a) => typeof a === "string" && a.length > 0)) {
    throw new Error("guards.sql.arguments must be a non-empty list of argument names; the gateway refuses this server");
  }
  const allowed = new Set<string>();
  for (const name of BUILTIN_FUNCTIONS) {
    // A built-in is the same function unqualified and as pg_catalog.name.
    allowed.add(key({ name }));
    allowed.add(key({ schema: "pg_catalog", name }));
  }
  const extra = config.functions?.allow ?? [];
  if (!Array.isArray(extra)) throw new Error("guards.sql.functions.allow is not a list; the gateway refuses this server");
  for (const entry of extra) {
    if (typeof entry !== "string") throw new Error("guards.sql.functions.allow holds an entry that is not a string; the gateway refuses this server");
    const f = parseAllowEntry(entry);
    allowed.add(key(f));
    // An unqualified entry also names the pg_catalog function (searched first by default); a
    // qualified one names only that schema's function, never what an unqualified call resolves to.
    if (f.schema === undefined) allowed.add(key({ schema: "pg_catalog", name: f.name }));
  }
  const readOnly = config.readOnly;

  function judgeFunction(names: string[]): string | undefined {
    if (names.length === 0) return "a function call without a name";
    if (names.length > 2) return `function ${names.join(".")} is named across databases (catalog.schema.name), which the SQL guard does not accept`;
    const f: FunctionName = names.length === 2 ? { schema: names[0]!, name: names[1]! } : { name: names[0]! };
    if (allowed.has(key(f))) return undefined;
    return `function ${shownName(f)} is not on the read-only allowlist of side-effect-free built-ins (guards.sql.functions.allow can add it)`;
  }

  /** Why this statement tree is not read-only, or undefined. Iterative: a deep tree cannot overflow the stack. */
  function walk(root: unknown): string | undefined {
    const stack: { v: unknown; depth: number; field: string }[] = [{ v: root, depth: 0, field: "" }];
    let nodes = 0;
    while (stack.length) {
      const { v, depth, field } = stack.pop()!;
      if (typeof v !== "object" || v === null) continue;
      if (++nodes > MAX_TREE_NODES) return `the statement is too large to judge (more than ${MAX_TREE_NODES} parse-tree nodes)`;
      if (depth > MAX_TREE_DEPTH) return `the statement is nested too deeply to judge (more than ${MAX_TREE_DEPTH} levels)`;
      if (Array.isArray(v)) {
        for (const item of v) stack.push({ v: item, depth: depth + 1, field });
        continue;
      }
      const o = v as Record<string, unknown>;
      // A function call, wrapped (`{FuncCall: {...}}`, reached below) or as a bare struct field.
      if ("funcname" in o) {
        const names = stringList(o.funcname);
        if (!names) return "a function call whose name the SQL guard cannot read";
        const why = judgeFunction(names);
        if (why) return why;
      }
      if (field === "RangeTableSample" && "method" in o) {
        const m = stringList(o.method);
        const name = m?.length === 1 ? m[0]! : m?.length === 2 && m[0] === "pg_catalog" ? m[1]! : undefined;
        if (name === undefined || !SAMPLE_METHODS.has(name)) return `TABLESAMPLE method ${m ? m.join(".") : "?"} is not a built-in sampling method`;
      }
      for (const [k, child] of Object.entries(o)) {
        // Node-type keys are PascalCase; only SelectStmt may appear below the top.
        if (/^[A-Z][A-Za-z0-9_]*Stmt$/.test(k) && k !== "SelectStmt") {
          return `${aStatement(k)} statement is nested inside it (in a WITH clause or subquery), where only SELECT may be`;
        }
        if (k === "intoClause" && child !== undefined && child !== null) return "SELECT INTO creates a table";
        if (k === "lockingClause" && Array.isArray(child) && child.length > 0) return "a locking clause (FOR UPDATE/SHARE) takes row locks";
        if (typeof child === "object" && child !== null) stack.push({ v: child, depth: depth + 1, field: k });
      }
    }
    return undefined;
  }

  /** Whether this EXPLAIN's options may execute its statement (ANALYZE not explicitly off). */
  function explainAnalyzes(options: unknown): boolean {
    if (options === undefined) return false;
    if (!Array.isArray(options)) return true;
    for (const opt of options) {
      const d = isObject(opt) && isObject(opt.DefElem) ? opt.DefElem : undefined;
      if (!d) return true;
      if (typeof d.defname !== "string" || d.defname.toLowerCase() !== "analyze") continue;
      // Only an explicit false keeps ANALYZE off; `ANALYZE`, `ANALYZE true`, `ANALYZE on`... run the statement.
      const arg = d.arg;
      const s = isObject(arg) && isObject(arg.String) ? arg.String.sval : undefined;
      const b = isObject(arg) && isObject(arg.Boolean) ? arg.Boolean.boolval : undefined;
      const i = isObject(arg) && isObject(arg.Integer) ? (arg.Integer.ival ?? 0) : undefined;
      const off = (typeof s === "string" && ["false", "off", "0"].includes(s.toLowerCase())) || b === false || (isObject(arg) && isObject(arg.Boolean) && b === undefined) || i === 0;
      if (!off) return true;
    }
    return false;
  }

  function judgeSql(sql: string): Verdict {
    try {
      if (typeof sql !== "string") return deny(`the SQL is ${describeType(sql)}, not a string`);
      if (sql.length > MAX_SQL_LENGTH) return deny(`the SQL is ${sql.length} characters long, more than the SQL guard judges (${MAX_SQL_LENGTH})`);
      // The server reads a query string up to NUL; the parser might read past it or stop: refuse either way.
      if (sql.includes("\0")) return deny("the SQL holds a NUL character, which the server and the guard could read differently");
      if (!parserReady) return deny("the SQL parser is not loaded, so the SQL cannot be judged");
      let tree: ReturnType<typeof PgQuery.parseSync>;
      try {
        tree = sqlParser().parseSync(sql);
      } catch (e) {
        const msg = String((e as Error)?.message ?? e).slice(0, SHOW_CHARS);
        return deny(`the SQL does not parse as PostgreSQL (${msg}): ${show(sql)}`);
      }
      if (!readOnly) return allow("readOnly is false: the SQL guard does not restrict statements; the SQL parses as PostgreSQL", RO);
      const stmts = Array.isArray(tree.stmts) ? tree.stmts : [];
      if (stmts.length !== 1) {
        return deny(
          stmts.length === 0
            ? "read-only: the SQL holds no statement (only comments or semicolons)"
            : `read-only: the SQL holds ${stmts.length} statements, and only one may run (stacked statements can end the read-only transaction)`,
          RO,
        );
      }
      const stmt: unknown = stmts[0]?.stmt;
      if (!isObject(stmt)) return deny("read-only: the statement cannot be read from the parse tree", RO);
      const kinds = Object.keys(stmt);
      const kind = kinds.length === 1 ? kinds[0]! : undefined;
      let body: unknown;
      let what: string;
      if (kind === "SelectStmt") {
        body = stmt.SelectStmt;
        what = isObject(body) && body.valuesLists ? "VALUES" : "SELECT";
      } else if (kind === "ExplainStmt") {
        const ex = stmt.ExplainStmt;
        const q = isObject(ex) && isObject(ex.query) ? ex.query : undefined;
        const qk = q ? Object.keys(q) : [];
        if (!q || qk.length !== 1 || qk[0] !== "SelectStmt") {
          return deny(`read-only: EXPLAIN of ${qk.length === 1 ? `${aStatement(qk[0]!)} statement` : "this statement"} is not allowed, only EXPLAIN of a SELECT`, RO);
        }
        if (explainAnalyzes(isObject(ex) ? ex.options : undefined)) return deny("read-only: EXPLAIN ANALYZE executes the statement it explains", RO);
        body = q.SelectStmt;
        what = "EXPLAIN of a SELECT";
      } else {
        return deny(`read-only: ${kind ? aStatement(kind) : "an unrecognized"} statement is not a plain SELECT, VALUES or EXPLAIN`, RO);
      }
      const why = walk(body);
      if (why) return deny(`read-only: ${why}`, why.startsWith("function ") ? `${SOURCE}.functions` : RO);
      const quirk = backslashLiteral(sql);
      if (quirk) return deny(`read-only: ${quirk}`, RO);
      return allow(`read-only: one ${what} with only side-effect-free functions`, RO);
    } catch (e) {
      return deny(`the SQL guard failed while judging the SQL (${String((e as Error)?.message ?? e).slice(0, SHOW_CHARS)})`);
    }
  }

  function check(tool: string, input: Record<string, unknown>): Verdict | undefined {
    try {
      if (!isObject(input)) return undefined;
      let verdict: Verdict | undefined;
      for (const name of argNames) {
        if (!Object.hasOwn(input, name)) continue;
        const value = input[name];
        if (typeof value !== "string") return deny(`argument '${name}' of tool '${tool}' holds ${describeType(value)}, not SQL text; the SQL guard cannot judge it`);
        const v = judgeSql(value);
        if (v.decision !== "allow") return { ...v, reason: `argument '${name}' of tool '${tool}': ${v.reason}` };
        verdict ??= { ...v, reason: `argument '${name}' of tool '${tool}': ${v.reason}` };
      }
      return verdict;
    } catch (e) {
      return deny(`the SQL guard failed on tool '${tool}' (${String((e as Error)?.message ?? e).slice(0, SHOW_CHARS)})`);
    }
  }

  return { check, judgeSql };
}

/**
 * Why a regular '...' literal holding a backslash is refused (see the header), or undefined. Uses the
 * parser's own scanner, and only when the text holds a backslash at all. E'...', $$...$$, comments and
 * identifiers read alike in both modes.
 */
function backslashLiteral(sql: string): string | undefined {
  if (!sql.includes("\\")) return undefined;
  let tokens: { text: string }[];
  try {
    tokens = sqlParser().scanSync(sql).tokens;
  } catch {
    return "the SQL cannot be scanned to check its string literals";
  }
  for (const t of tokens) {
    if (typeof t.text === "string" && t.text.startsWith("'") && t.text.includes("\\")) {
      return "a '...' string literal holds a backslash, which a server with standard_conforming_strings off reads as an escape (write it as E'...' instead)";
    }
  }
  return undefined;
}
