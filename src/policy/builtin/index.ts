// Claude Code's built-in tools: routes a call to the judge of its tool (Bash, the file tools,
// WebFetch, `Tool(param:value)` rules for the rest) and applies the permission mode. Pure: the
// only I/O (symlink resolution) comes in through PolicyEnvironment.
//
// Each judge sees every rule of its tools, name-only rules (`Bash`, `Read`) included, and applies
// deny → ask → allow itself, so that a specific deny always beats a broad allow.
import path from "node:path";
import type { Verdict } from "../types.js";
import { compileBashRules, type BashPolicy } from "./bash.js";
import { compileFileRules, FILE_TOOLS, type FilePolicy } from "./files.js";
import { compileParamRules, type ParamPolicy } from "./params.js";
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileJudge, Mode, PolicyEnvironment } from "./types.js";
import { compileWebFetchRules, type WebFetchPolicy } from "./web.js";
import { workingContext } from "./working-dirs.js";

export type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileAccess, FileJudge, PolicyEnvironment } from "./types.js";
export { FILE_TOOLS } from "./files.js";

/**
 * Tools that act only inside the agent (its to-do list, plan, sub-agents whose own tool calls are
 * judged again): allowed when no rule names them, as Claude Code does, so the hook does not prompt
 * for bookkeeping.
 */
export const AGENT_INTERNAL_TOOLS: ReadonlySet<string> = new Set(["TodoWrite", "TodoRead", "ExitPlanMode", "Task", "Agent", "BashOutput", "KillShell", "KillBash"]);


export interface BuiltinPolicy {
  /**
   * projectRoot: the project's directory as the caller found it (see ToolRequest.projectRoot);
   * undefined: there is none, and only additionalDirectories are working directories.
   */
  decide(tool: string, input: Record<string, unknown>, cwd: string | undefined, projectRoot?: string): Verdict;
  /** The Read/Edit rules as a judge of single paths, for guards on MCP servers' path arguments. */
  readonly files: FileJudge | undefined;
}

export interface BuiltinOptions {
  mode: Mode;
  /** `bypassPermissions` is disabled by settings: asks stay asks. */
  bypassDisabled: boolean;
  /** `permissions.additionalDirectories`: absolute, `~/...`, or relative to the project root. */
  additionalDirectories: string[];
}

function frozen(decision: Verdict["decision"], reason: string, from?: Verdict): Verdict {
  const v: Verdict = { decision, reason };
  if (from?.rule !== undefined) v.rule = from.rule;
  if (from?.source !== undefined) v.source = from.source;
  return Object.freeze(v);
}

export function compileBuiltinPolicy(rules: BuiltinRule[], env: PolicyEnvironment | undefined, opts: BuiltinOptions): BuiltinPolicy {
  const byJudge = { bash: [] as BuiltinRule[], files: [] as BuiltinRule[], web: [] as BuiltinRule[], params: [] as BuiltinRule[] };
  for (const r of rules) {
    if (r.tool === "Bash") byJudge.bash.push(r);
    // Rules for every file tool go to the file judge (Read/Edit/Write path patterns, and
    // `Grep(path:...)`-style rules for the others), since it alone decides those calls.
    else if (FILE_TOOLS.has(r.tool)) byJudge.files.push(r);
    else if (r.tool === "WebFetch") byJudge.web.push(r);
    else byJudge.params.push(r);
  }
  // Every judge compiles now, so a bad rule is reported at load time, not at the first call.
  const bash: BashPolicy = compileBashRules(byJudge.bash);
  const web: WebFetchPolicy = compileWebFetchRules(byJudge.web);
  const params: ParamPolicy = compileParamRules(byJudge.params);
  const files: FilePolicy | undefined = env === undefined ? undefined : compileFileRules(byJudge.files, env);

  const contextFor = (cwd: string, projectRoot: string | undefined): BuiltinContext => {
    if (env === undefined) return { cwd, workingDirectories: [], mode: opts.mode, cwdOutside: "there is no file-system environment to resolve working directories" };
    return { ...workingContext({ cwd, projectRoot, additionalDirectories: opts.additionalDirectories, mode: opts.mode }, env), home: env.home };
  };

  const applyMode = (v: BuiltinVerdict): Verdict => {
    if (v.decision !== "ask") return frozen(v.decision, v.reason, v);
    if (opts.mode === "dontAsk") return frozen("deny", `dontAsk mode denies what would need approval (${v.reason})`, v);
    if (opts.mode === "bypassPermissions") {
      if (opts.bypassDisabled) return frozen("ask", `${v.reason} (bypassPermissions mode is disabled by disableBypassPermissionsMode)`, v);
      if (v.keepAsk) return frozen("ask", `${v.reason} (protected even in bypassPermissions mode)`, v);
      return frozen("allow", `bypassPermissions mode allows what would need approval (${v.reason})`, v);
    }
    return frozen("ask", v.reason, v);
  };

  return {
    files,
    decide(tool, input, cwd, projectRoot) {
      try {
        if (typeof cwd !== "string" || !cwd.startsWith("/"))
          return frozen("deny", `cannot judge built-in tool ${tool}: the request has no absolute working directory`);
        const ctx = contextFor(path.posix.normalize(cwd), typeof projectRoot === "string" ? projectRoot : undefined);
        if (tool === "Bash") {
          if (files === undefined) return frozen("deny", "cannot judge Bash: no file-system environment to check the files it touches");
          return applyMode(bash.decide(input, ctx, files));
        }
        if (FILE_TOOLS.has(tool)) {
          if (files === undefined) return frozen("deny", `cannot judge ${tool}: no file-system environment`);
          const v = files.decide(tool, input, ctx);
          return v === undefined ? frozen("deny", `internal error: the file judge does not know ${tool}`) : applyMode(v);
        }
        if (tool === "WebFetch") return applyMode(web.decide(input, ctx));
        const v = params.decide(tool, input);
        if (v !== undefined) return applyMode(v);
        if (AGENT_INTERNAL_TOOLS.has(tool)) return frozen("allow", `${tool} acts only inside the agent; no rule names it`);
        return applyMode({ decision: "ask", reason: `no rule matches built-in tool ${tool}; unmatched tools need approval`, unmatched: true });
      } catch (error) {
        // The judges do not throw by contract; if one does, the call is refused, never allowed.
        return frozen("deny", `cannot judge built-in tool ${tool}: ${(error as Error).message}`);
      }
    },
  };
}
