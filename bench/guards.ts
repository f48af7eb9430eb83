// Per-call cost of the checks on a call's content: the SQL guard (parse with PostgreSQL's parser and
// walk the tree), the secret scan of arguments, and the poisoning scan of a tool definition (which
// runs per new or changed definition, not per call). In process, after warm-up; p50 and p99.
import { loadSqlParser, compileSqlGuard } from "../src/policy/guards/sql.js";
import { compileSecretScanner } from "../src/policy/integrity/secrets.js";
import { scanToolDefinition } from "../src/policy/integrity/poisoning.js";

export interface GuardsBenchResult {
  rows: { name: string; p50us: number; p99us: number }[];
}

const QUERIES = [
  "SELECT status, count(*) AS n FROM orders WHERE created_at > now() - interval '7 days' GROUP BY status ORDER BY n DESC",
  "WITH recent AS (SELECT * FROM orders WHERE amount > 10) SELECT u.name, sum(r.amount) OVER (PARTITION BY u.id) FROM recent r JOIN users u ON u.id = r.user_id LIMIT 50",
  "SELECT id, lower(name), coalesce(email, '') FROM users WHERE id = ANY(ARRAY[1,2,3])",
];

function measure(n: number, fn: (i: number) => void): { p50us: number; p99us: number } {
  for (let i = 0; i < Math.min(1000, n); i++) fn(i);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    fn(i);
    t[i] = Number(process.hrtime.bigint() - a) / 1000;
  }
  t.sort();
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return { p50us: r1(t[n >> 1]!), p99us: r1(t[Math.floor(n * 0.99)]!) };
}

export async function runGuardsBench(n = 5000): Promise<GuardsBenchResult> {
  await loadSqlParser();
  const sql = compileSqlGuard({ readOnly: true, dialect: "postgresql" });
  const secrets = compileSecretScanner({ values: [{ name: "TOKEN", value: "a-configured-secret-value-123" }], formats: true });
  const args = { owner: "acme", repo: "app", title: "Crash on start", body: "Steps to reproduce:\n".repeat(40) + "see https://example.com/issue/42" };
  const definition = {
    name: "create_issue",
    description: "Create a new issue in a GitHub repository. IMPORTANT: `labels` must exist in the repository.",
    inputSchema: { type: "object", properties: { owner: { type: "string", description: "Repository owner" }, repo: { type: "string" }, title: { type: "string" }, body: { type: "string" }, labels: { type: "array", items: { type: "string" } } }, required: ["owner", "repo", "title"] },
  };
  return {
    rows: [
      { name: "SQL guard, a typical query (parse + walk + function allowlist)", ...measure(n, (i) => void sql.judgeSql(QUERIES[i % QUERIES.length]!)) },
      { name: "secret scan of a 1 KB argument object", ...measure(n, () => void secrets.scan(args, "arguments")) },
      { name: "poisoning scan of one tool definition (per new or changed definition)", ...measure(Math.min(n, 2000), () => void scanToolDefinition(definition)) },
    ],
  };
}
