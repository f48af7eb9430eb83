// guard: server-specific checks on arguments. The filesystem guard is enforced here: path arguments
// of a guarded server's tools must stay inside its roots (policy/guards/filesystem.ts), whatever the
// server itself checks. Guards not enforced yet (sql, arguments) still refuse every call of their server.
import path from "node:path";
import { fsEnvironment } from "../../adapters/fs-environment.js";
import type { FileJudge, PolicyEnvironment } from "../../policy/builtin/types.js";
import { compileFilesystemPathGuard, type FilesystemPathGuard } from "../../policy/guards/filesystem.js";
import type { ConfiguredServer, Verdict } from "../../policy/types.js";
import { unenforcedCallFeature } from "../../policy/unenforced.js";
import { type CallGuards, compileCallGuards } from "../../policy/guards/call-guards.js";
import { compileSqlGuard } from "../../policy/guards/sql.js";
import { looksLikePathName, looksLikePathValue } from "../../policy/guards/fs-tools.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";

export interface GuardStageOptions {
  /** Home, symlink resolution and mcp-warden's own files. Default: fsEnvironment over process.env. */
  environment?: PolicyEnvironment;
  /** The permission rules' Read/Edit judge (CompiledPolicy.fileJudge), applied to path arguments too. */
  fileJudge?: FileJudge;
  /** The judge in force now, when the rules can be replaced (serve's settings reload); wins over fileJudge. */
  currentFileJudge?: () => FileJudge | undefined;
  /** The gateway's working directory. Default: process.cwd(). */
  cwd?: string;
}

export function guardStage(options: GuardStageOptions = {}): Stage {
  let environment = options.environment;
  // One compiled guard per server and rules (compiled again when a settings reload replaced the rules).
  const guards = new WeakMap<ConfiguredServer, { judge: FileJudge | undefined; guard: FilesystemPathGuard }>();
  // SQL and argument guards per server (null: none configured).
  const callGuards = new WeakMap<ConfiguredServer, CallGuards | null>();
  const guardFor = (server: ConfiguredServer): FilesystemPathGuard | undefined => {
    const config = server.entry.guards?.filesystem;
    if (config === undefined) return undefined;
    const judge = options.currentFileJudge ? options.currentFileJudge() : options.fileJudge;
    const cached = guards.get(server);
    if (cached && cached.judge === judge) return cached.guard;
    environment ??= fsEnvironment({ env: process.env });
    const guard = compileFilesystemPathGuard(config, environment, judge);
    guards.set(server, { judge, guard });
    return guard;
  };

  return {
    name: "guard",
    run(ctx: RequestContext) {
      const server = ctx.target!.upstream.server;
      const refusal = unenforcedCallFeature(server);
      if (refusal) refuse(ctx, refusal);
      // Relative paths are relative to the server's own working directory (where the upstream runs).
      const base = options.cwd ?? process.cwd();
      const cwd = server.entry.cwd ? path.resolve(base, server.entry.cwd) : base;
      let verdict: Verdict | undefined;
      try {
        const guard = guardFor(server);
        if (guard) verdict = judge(ctx, guard, cwd);
      } catch (e) {
        // Fail closed: an exception here must not leave the allow of decide standing.
        verdict = { decision: "deny", reason: `the filesystem guard failed: ${(e as Error)?.message ?? String(e)}` };
      }
      if (verdict && verdict.decision !== "allow") {
        refuse(ctx, verdict.source ? verdict : { ...verdict, source: { ...server.source, path: `${server.source.path}.guards.filesystem` } });
      }
      // Read-only SQL and argument constraints, on the arguments exactly as they will be forwarded.
      if (ctx.method !== "tools/call") return;
      let calls = callGuards.get(server);
      if (calls === undefined) {
        environment ??= fsEnvironment({ env: process.env });
        callGuards.set(server, (calls = compileCallGuards(server, environment, compileSqlGuard) ?? null));
      }
      if (!calls) return;
      const params = ctx.upstreamParams ?? ctx.params;
      const args = params.arguments;
      let objection: Verdict | undefined;
      try {
        objection =
          typeof args === "object" && args !== null && !Array.isArray(args)
            ? calls.check(ctx.target!.name, args as Record<string, unknown>, { cwd })
            : { decision: "deny", reason: "tool arguments are not an object; the server's guards cannot judge them" };
      } catch (e) {
        objection = { decision: "deny", reason: `the server's guards failed: ${(e as Error)?.message ?? String(e)}` };
      }
      if (objection && objection.decision !== "allow") refuse(ctx, objection);
    },
  };
}

/** What the guard says about this request: tool arguments, a `file:` resource URI, prompt and completion arguments. */
function judge(ctx: RequestContext, guard: FilesystemPathGuard, cwd: string): Verdict | undefined {
  const params = ctx.upstreamParams ?? ctx.params;
  switch (ctx.method) {
    case "tools/call": {
      const raw = params.arguments ?? {};
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        return { decision: "deny", reason: "tool arguments are not an object; the filesystem guard cannot judge them" };
      }
      // Forward exactly what was checked: a private copy nothing else holds a reference to, with its
      // path arguments made absolute as judged (a server may resolve relative paths elsewhere).
      const args = structuredClone(raw) as Record<string, unknown>;
      const verdict = guard.check(ctx.target!.name, args, { cwd });
      if (!verdict || verdict.decision === "allow") ctx.upstreamParams = { ...params, arguments: guard.absolutize(ctx.target!.name, args, { cwd }) };
      return verdict;
    }
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe": {
      const uri = String(params.uri);
      // Only a file: URI names a local path; other schemes are the server's own namespace.
      return /^file:/i.test(uri) ? guard.checkPath(uri, "read", "resource URI", { cwd }) : undefined;
    }
    case "prompts/get": {
      const args = (params.arguments ?? {}) as Record<string, unknown>;
      if (typeof args !== "object" || args === null) return undefined;
      for (const [name, value] of Object.entries(args)) {
        if (typeof value !== "string" || !(looksLikePathName(name) || looksLikePathValue(value))) continue;
        const v = guard.checkPath(value, "read", `prompt argument '${name}'`, { cwd });
        if (v && v.decision !== "allow") return v;
      }
      return undefined;
    }
    case "completion/complete": {
      // Completing a path outside the roots would list what is there.
      const arg = params.argument as { name?: unknown; value?: unknown } | undefined;
      if (typeof arg?.value !== "string" || arg.value === "") return undefined;
      if (!(looksLikePathValue(arg.value) || (typeof arg.name === "string" && looksLikePathName(arg.name)))) return undefined;
      return guard.checkPath(arg.value, "read", `completion argument '${String(arg.name)}'`, { cwd });
    }
  }
  return undefined;
}

/** Ends the request: a deny as a denial, an ask (a Read/Edit rule or a protected path) as needing approval. */
function refuse(ctx: RequestContext, verdict: Verdict): never {
  ctx.verdict = verdict;
  if (verdict.decision === "ask") {
    throw new GatewayError(
      ErrorCodes.needsApproval,
      `${ctx.target!.canonical} needs approval (${verdict.reason}); a server guard's question comes after the approval stage, so the call is refused.`,
      { decision: "ask", reason: verdict.reason, rule: verdict.rule },
    );
  }
  throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${verdict.reason}`, { decision: "deny", reason: verdict.reason, rule: verdict.rule });
}
