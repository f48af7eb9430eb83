// A server's guards on tool-call arguments besides the filesystem guard: read-only SQL and argument
// constraints, compiled once per server. Shared by the gateway's guard stage and by `check`, so both
// answer alike. The SQL guard is passed in (it needs PostgreSQL's parser, loaded asynchronously, and
// the hook does not carry it); a server that configures one without it has its calls refused.
import type { PolicyEnvironment } from "../builtin/types.js";
import type { ConfiguredServer, Verdict } from "../types.js";
import { compileArgumentGuard } from "./arguments.js";
import type { SqlGuard, SqlGuardConfig } from "./sql.js";

export type SqlGuardFactory = (config: SqlGuardConfig) => SqlGuard;

export interface CallGuards {
  /** The first objection of the SQL guard, then the argument constraints; undefined when none applies. */
  check(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Verdict | undefined;
}

export function compileCallGuards(server: ConfiguredServer, env: PolicyEnvironment, sqlFactory: SqlGuardFactory | undefined): CallGuards | undefined {
  const guards = server.entry.guards;
  if (!guards?.sql && !guards?.arguments) return undefined;
  const where = (key: string) => ({ ...server.source, path: `${server.source.path}.guards.${key}` });
  const checks: ((tool: string, input: Record<string, unknown>, ctx: { cwd: string }) => Verdict | undefined)[] = [];
  if (guards.sql) {
    const config = guards.sql;
    // The SQL argument names: one list for all tools, or per tool (exact name, else `*`, else the defaults).
    const perTool = config.arguments !== undefined && !Array.isArray(config.arguments) ? config.arguments : undefined;
    const compiled = new Map<string, SqlGuard | string>();
    const guardFor = (tool: string): SqlGuard | string => {
      const names = perTool ? (Object.hasOwn(perTool, tool) ? perTool[tool] : perTool["*"]) : (config.arguments as string[] | undefined);
      const key = JSON.stringify(names ?? null);
      let g = compiled.get(key);
      if (g === undefined) {
        try {
          g = sqlFactory ? sqlFactory({ ...config, arguments: names }) : "the SQL guard is not available here, so calls to this server are refused";
        } catch (e) {
          // An unsupported dialect, or a bad setting: refused, never guessed.
          g = (e as Error).message;
        }
        compiled.set(key, g);
      }
      return g;
    };
    checks.push((tool, input) => {
      const g = guardFor(tool);
      return typeof g === "string" ? { decision: "deny", reason: g, source: where("sql") } : withSource(g.check(tool, input), where("sql"));
    });
  }
  if (guards.arguments) {
    let compiled: ReturnType<typeof compileArgumentGuard> | undefined;
    let refusal: string | undefined;
    try {
      compiled = compileArgumentGuard(guards.arguments, env);
    } catch (e) {
      refusal = `invalid argument constraints: ${(e as Error).message}`;
    }
    checks.push((tool, input, ctx) => (refusal !== undefined ? { decision: "deny", reason: refusal, source: where("arguments") } : withSource(compiled!.check(tool, input, ctx), where("arguments"))));
  }
  return {
    check(tool, input, ctx) {
      for (const check of checks) {
        const v = check(tool, input, ctx);
        if (v && v.decision !== "allow") return v;
      }
      return undefined;
    },
  };
}

function withSource(v: Verdict | undefined, source: Verdict["source"]): Verdict | undefined {
  return v && v.decision !== "allow" && !v.source ? { ...v, source } : v;
}
