// Sandboxed Bash through the hook (the seeds' "CLI with scoping"): with `sandbox.enabled` or a
// `toolPermissions.Bash.networkPolicy`, a Bash call the rules allow or ask about is answered with
// `updatedInput` whose command runs the original one inside mcp-warden's sandbox:
//
//   '<node>' '<mcp-warden cli>' exec --bash-sandbox [--project-root '<dir>'] [--settings '<f>']... -- /bin/bash -c '<original>'
//
// The rules judge the ORIGINAL command; this only decides how an allowed or asked one runs.
// - Quoting: every word is single-quoted (a `'` inside becomes `'\''`), which every POSIX shell and
//   zsh read back as exactly the original bytes; the original runs under `bash -c`, as Claude Code
//   runs it. A NUL cannot be passed in an argument: such a command is refused.
// - `autoAllowBashIfSandboxed`: an `ask` that no rule made (the default for a command nothing allows,
//   a path outside the working directories) becomes allow when the command runs sandboxed; an ask or
//   deny rule's answer stays.
// - `excludedCommands`, and a command that is only `cd` (run sandboxed it could not move Claude
//   Code's shell), run unsandboxed under the normal rules.
// - No sandbox here: deny (`failIfUnavailable`, the default) or the unsandboxed judgement, saying so.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { analyzeCommand } from "../policy/shell/analyze.js";
import type { Verdict } from "../policy/types.js";
import { bashSandboxChoice } from "../sandbox/bash-policy.js";
import { backendAvailability, needsEgress } from "../sandbox/launch.js";
import type { ResolvedSettings } from "../settings/resolve.js";
import { homeDir, stateDir } from "../settings/paths.js";

export type BashSandboxPlan =
  | { kind: "off" }
  /** Runs unsandboxed under the normal rules. */
  | { kind: "exempt"; why: string }
  | { kind: "unavailable"; why: string }
  | { kind: "wrap"; command: string };

/** `s` as one single-quoted shell word. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface WrapContext {
  cwd: string;
  projectRoot: string | undefined;
  env: NodeJS.ProcessEnv;
  /** The node binary and the mcp-warden CLI the wrapped command starts (the hook's own). */
  node: string;
  cli: string;
  /** The hook's `--settings` files, passed on so that exec reads the same settings. */
  cliFiles: string[];
}

/** The command line that runs `original` sandboxed. */
export function wrapCommand(original: string, ctx: Pick<WrapContext, "projectRoot" | "node" | "cli" | "cliFiles">): string {
  if (original.includes("\0")) throw new Error("the command contains a NUL byte, which cannot be passed to a sandboxed shell");
  const shell = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
  const words = [ctx.node, ctx.cli, "exec", "--bash-sandbox"];
  if (ctx.projectRoot !== undefined) words.push("--project-root", ctx.projectRoot);
  for (const f of ctx.cliFiles) words.push("--settings", f);
  words.push("--", shell, "-c", original);
  return words.map(shellQuote).join(" ");
}

/** An entry's words: `docker`, `git push`, with Claude Code's trailing `:*` or ` *` taken off. */
function entryWords(entry: string): string[] {
  return entry.replace(/(:\*|\s+\*|\*)$/, "").trim().split(/\s+/).filter((w) => w !== "");
}

/**
 * Whether every command in the line is one of `entries` (its words start with an entry's, at a word
 * boundary) or only a `cd`: then nothing in it needs the sandbox. Anything unresolvable is not.
 */
export function exemptFromSandbox(command: string, entries: readonly string[]): string | undefined {
  const a = analyzeCommand(command);
  if (a.parseError !== undefined || a.tooLong || a.commands.length === 0) return undefined;
  const lists = entries.map(entryWords).filter((w) => w.length > 0);
  let onlyCd = true;
  for (const c of a.commands) {
    if (c.unresolved) return undefined;
    if (c.program === "cd" && c.argv[0] === "cd" && c.redirects.length === 0 && c.assignments.length === 0) continue;
    onlyCd = false;
    const hit = lists.find((words) => words.length <= c.argv.length && words.every((w, i) => c.argv[i] === w && !c.dynamicArgs.includes(i)));
    if (hit === undefined) return undefined;
  }
  return onlyCd ? "it only changes the directory" : "it is in sandbox.excludedCommands";
}

/** How the hook runs this Bash command. */
export function planBashSandbox(settings: Pick<ResolvedSettings, "sandbox" | "bashSandbox">, command: string, ctx: WrapContext): BashSandboxPlan {
  const cfg = settings.bashSandbox;
  if (!cfg.enabled) return { kind: "off" };
  const exempt = exemptFromSandbox(command, cfg.excludedCommands.map((e) => e.value));
  if (exempt !== undefined) return { kind: "exempt", why: exempt };
  const choice = bashSandboxChoice(settings, { home: homeDir(ctx.env), platform: process.platform, cwd: ctx.cwd, ...(ctx.projectRoot !== undefined ? { projectRoot: ctx.projectRoot } : {}) });
  if (choice.refused !== undefined || choice.policy === undefined) return { kind: "unavailable", why: choice.refused ?? "no sandbox" };
  const policy = choice.policy;
  if (needsEgress(policy) && policy.type !== "bubblewrap") return { kind: "unavailable", why: `a network policy needs the bubblewrap sandbox (its egress proxy), and this one is ${policy.type}` };
  const available = backendAvailability(policy.type, join(stateDir(ctx.env), "cache"));
  if (!available.ok) return { kind: "unavailable", why: `the ${policy.type} sandbox cannot run here: ${available.why} (to fix: ${available.install})` };
  return { kind: "wrap", command: wrapCommand(command, ctx) };
}

export interface SandboxedAnswer {
  verdict: Verdict;
  updatedInput?: Record<string, unknown>;
  detail?: Record<string, unknown>;
}

/** The hook's answer for a judged Bash call under the Bash sandbox settings. Never throws. */
export function applyBashSandbox(settings: Pick<ResolvedSettings, "sandbox" | "bashSandbox">, args: Record<string, unknown>, verdict: Verdict, ctx: WrapContext): SandboxedAnswer {
  if (verdict.decision === "deny" || typeof args.command !== "string") return { verdict };
  let plan: BashSandboxPlan;
  try {
    plan = planBashSandbox(settings, args.command, ctx);
  } catch (error) {
    plan = { kind: "unavailable", why: (error as Error).message };
  }
  if (plan.kind === "off") return { verdict };
  if (plan.kind === "exempt") return { verdict: { ...verdict, reason: `${verdict.reason} (runs unsandboxed: ${plan.why})` }, detail: { sandbox: "exempt" } };
  if (plan.kind === "unavailable") {
    if (settings.bashSandbox.failIfUnavailable)
      return {
        verdict: { decision: "deny", reason: `Bash commands must run sandboxed here, and ${plan.why}; set sandbox.failIfUnavailable to false in your settings to run them unsandboxed instead` },
        detail: { sandbox: "unavailable" },
      };
    return { verdict: { ...verdict, reason: `${verdict.reason} (not sandboxed: ${plan.why}; sandbox.failIfUnavailable is false)` }, detail: { sandbox: "unavailable" } };
  }
  const detail = { sandbox: "bash", sandboxedCommand: plan.command };
  const updatedInput = { ...args, command: plan.command };
  if (verdict.decision === "ask" && settings.bashSandbox.autoAllow && verdict.rule === undefined)
    return { verdict: { decision: "allow", reason: `runs in mcp-warden's sandbox (sandbox.autoAllowBashIfSandboxed); unsandboxed it would ask: ${verdict.reason}` }, updatedInput, detail };
  return { verdict: { ...verdict, reason: `${verdict.reason} (runs in mcp-warden's sandbox)` }, updatedInput, detail };
}
