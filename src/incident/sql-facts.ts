// What an SQL text did, by PostgreSQL's own parser (the SQL guard's, libpg-query): its statement
// kinds and the tables it names. For the report only: the guard judged the call when it was made.
import { loadSqlParser, MAX_SQL_LENGTH, sqlParser, sqlParserReady } from "../policy/guards/sql.js";

export interface SqlFacts {
  /** `SELECT`, `DELETE`, `EXPLAIN`... one per statement. */
  kinds: string[];
  /** `schema.table` or `table`, as written (the parser folds unquoted names to lower case). */
  tables: string[];
}

/** Bounds the walk like the guard's own (a parse tree can be large). */
const MAX_NODES = 200_000;

/** Loads the parser; false when it cannot be loaded (the report then says statements were not parsed). */
export async function loadSqlFacts(): Promise<boolean> {
  try {
    await loadSqlParser();
    return true;
  } catch {
    return false;
  }
}

/** Statement kinds and tables of `sql`, or undefined when it does not parse (or the parser is not loaded). */
export function describeSql(sql: string): SqlFacts | undefined {
  if (!sqlParserReady() || sql.length > MAX_SQL_LENGTH || sql.includes("\0")) return undefined;
  let tree: { stmts?: { stmt?: unknown }[] };
  try {
    tree = sqlParser().parseSync(sql) as typeof tree;
  } catch {
    return undefined;
  }
  const kinds: string[] = [];
  const tables = new Set<string>();
  const ctes = new Set<string>();
  const found: { schema?: string; name: string }[] = [];
  for (const s of tree.stmts ?? []) {
    const stmt = s.stmt;
    if (typeof stmt === "object" && stmt !== null) {
      const key = Object.keys(stmt)[0];
      if (key) kinds.push(statementKind(key));
    }
  }
  const stack: unknown[] = [tree.stmts];
  let nodes = 0;
  while (stack.length > 0 && nodes++ < MAX_NODES) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    const o = v as Record<string, unknown>;
    // A RangeVar, wrapped ({RangeVar: {...}}, reached below) or as a struct field (DeleteStmt.relation).
    if (typeof o.relname === "string") found.push({ ...(typeof o.schemaname === "string" ? { schema: o.schemaname } : {}), name: o.relname });
    const cte = o.CommonTableExpr as { ctename?: unknown } | undefined;
    if (cte && typeof cte.ctename === "string") ctes.add(cte.ctename);
    for (const child of Object.values(o)) if (typeof child === "object" && child !== null) stack.push(child);
  }
  // A name a WITH clause defines is that query, not a table.
  for (const t of found) if (t.schema !== undefined || !ctes.has(t.name)) tables.add(t.schema !== undefined ? `${t.schema}.${t.name}` : t.name);
  return { kinds, tables: [...tables].sort() };
}

/** `SelectStmt` → `SELECT`, `CreateTableAsStmt` → `CREATE TABLE AS`. */
function statementKind(key: string): string {
  const base = key.replace(/Stmt$/, "");
  const named: Record<string, string> = { Select: "SELECT", Insert: "INSERT", Update: "UPDATE", Delete: "DELETE", Merge: "MERGE", Explain: "EXPLAIN", Copy: "COPY", Transaction: "TRANSACTION" };
  return named[base] ?? base.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}
