// Claude Code's PreToolUse event in, its hook answer out: the part shared by the command hook
// (`mcp-warden hook`, src/hook/main.ts) and the http hook (`POST /v1/hooks/claude-code`,
// src/fronts/http/claude-code-hook.ts). Validates the event's shape, judges the call, records the
// decision, and builds the answer. Loading settings stays with each caller (the command hook per
// process and fast, the http hook once and cached).
//
// Kept free of the schema library and of anything the command hook's bundle does not already
// carry (scripts/bundle.ts), so that the hook starts as fast as before.
import type { AuditEntry } from "../audit/record.js";
import { judgeToolCall, type CompiledSettings } from "../check/judge.js";
import type { Verdict } from "../policy/types.js";

export type HookDecision = Verdict["decision"];

/** Claude Code's answer format, the same for a command hook's stdout and an http hook's 2xx body. */
export interface HookAnswer {
  hookSpecificOutput: { hookEventName: "PreToolUse"; permissionDecision: HookDecision; permissionDecisionReason: string; updatedInput?: Record<string, unknown> };
}

/** `updatedInput`: the tool input Claude Code runs instead (the sandboxed form of a Bash command). */
export function hookAnswer(decision: HookDecision, reason: string, updatedInput?: Record<string, unknown>): HookAnswer {
  const out: HookAnswer = { hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: decision, permissionDecisionReason: reason } };
  if (updatedInput !== undefined) out.hookSpecificOutput.updatedInput = updatedInput;
  return out;
}

/** The answer as a command hook prints it: one line of JSON. */
export function hookOutput(decision: HookDecision, reason: string): string {
  return JSON.stringify(hookAnswer(decision, reason)) + "\n";
}

/** The fields of a PreToolUse event that a decision uses, checked. */
export interface PreToolUseEvent {
  tool: string;
  args: Record<string, unknown>;
  /** The agent's working directory (absolute). */
  cwd: string;
  sessionId?: string;
  permissionMode?: string;
  toolUseId?: string;
}

/**
 * The event, or the refusal to answer when it is not a well-formed PreToolUse event. Unknown extra
 * fields are allowed: Claude Code adds fields over versions (2.1.332 sends prompt_id and effort).
 */
export function parsePreToolUse(value: unknown): { event: PreToolUseEvent } | { refusal: HookAnswer } {
  const deny = (reason: string) => ({ refusal: hookAnswer("deny", `mcp-warden: ${reason}`) });
  if (typeof value !== "object" || value === null || Array.isArray(value)) return deny("the hook input is not a JSON object");
  const input = value as Record<string, unknown>;
  if (input.hook_event_name !== "PreToolUse") return deny(`this hook judges PreToolUse events, not ${JSON.stringify(input.hook_event_name)}; check the hook configuration`);
  const { tool_name: tool, tool_input: args, cwd } = input;
  if (typeof tool !== "string" || tool === "") return deny("the hook input has no tool_name");
  if (typeof args !== "object" || args === null || Array.isArray(args)) return deny("the hook input's tool_input is not an object");
  if (typeof cwd !== "string" || !cwd.startsWith("/")) return deny("the hook input has no absolute cwd");
  const event: PreToolUseEvent = { tool, args: args as Record<string, unknown>, cwd };
  if (typeof input.session_id === "string") event.sessionId = input.session_id;
  if (typeof input.permission_mode === "string") event.permissionMode = input.permission_mode;
  if (typeof input.tool_use_id === "string") event.toolUseId = input.tool_use_id;
  return { event };
}

/** The event's JSON text parsed and checked (the command hook reads text from stdin). */
export function parsePreToolUseText(text: string): { event: PreToolUseEvent } | { refusal: HookAnswer } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { refusal: hookAnswer("deny", "mcp-warden: the hook input is not JSON") };
  }
  return parsePreToolUse(value);
}

export interface JudgeEventOptions {
  /** Where the call came from, for the audit record: "hook" (command) or "http-hook". */
  via: string;
  /** The project root the working directories start from; undefined when there is none. */
  projectRoot: string | undefined;
  /** Added to the audit record's detail. */
  detail?: Record<string, unknown>;
  /** The authenticated caller (http hook), recorded as the record's principal. */
  principal?: AuditEntry["principal"];
  /** Writes the decision record; throws when it cannot (the call is then refused). */
  audit(entry: AuditEntry): void;
  /**
   * How a judged call runs: the command hook's Bash sandbox (bash-sandbox.ts) may change the verdict
   * (autoAllowBashIfSandboxed, a missing sandbox) and give the input to run instead. Never throws.
   */
  adjust?(tool: string, args: Record<string, unknown>, verdict: Verdict): { verdict: Verdict; updatedInput?: Record<string, unknown>; detail?: Record<string, unknown> };
}

/**
 * The decision for a well-formed event, audited. Never throws: a record that cannot be written
 * turns the answer into deny, because the audit log must show every allowed call.
 */
export function judgePreToolUse(compiled: CompiledSettings, event: PreToolUseEvent, opts: JudgeEventOptions): HookAnswer {
  const { tool, args, cwd } = event;
  const projectRoot = opts.projectRoot;
  let verdict: Verdict;
  try {
    verdict = judgeToolCall(compiled, tool, args, cwd, projectRoot ?? null);
  } catch (error) {
    verdict = { decision: "deny", reason: `the call could not be judged, so it is refused: ${(error as Error).message}` };
  }
  let updatedInput: Record<string, unknown> | undefined;
  let adjusted: Record<string, unknown> | undefined;
  if (opts.adjust !== undefined) {
    try {
      const a = opts.adjust(tool, args, verdict);
      verdict = a.verdict;
      updatedInput = a.updatedInput;
      adjusted = a.detail;
    } catch (error) {
      verdict = { decision: "deny", reason: `the call could not be prepared to run, so it is refused: ${(error as Error).message}` };
    }
  }
  try {
    const detail: Record<string, unknown> = { via: opts.via, cwd };
    if (projectRoot !== undefined) detail.projectRoot = projectRoot;
    if (event.sessionId !== undefined) detail.sessionId = event.sessionId;
    if (event.permissionMode !== undefined) detail.permissionMode = event.permissionMode;
    if (event.toolUseId !== undefined) detail.toolUseId = event.toolUseId;
    Object.assign(detail, opts.detail, adjusted);
    const entry: AuditEntry = { kind: "decision", event: "decided", ...(opts.principal ? { principal: opts.principal } : {}), tool, arguments: args, decision: verdict.decision, reason: verdict.reason, detail };
    if (verdict.rule !== undefined) entry.rule = verdict.rule;
    if (verdict.source !== undefined) entry.ruleSource = verdict.source;
    opts.audit(entry);
  } catch (error) {
    return hookAnswer("deny", `mcp-warden: cannot write the audit log, so the call is refused: ${(error as Error).message}`);
  }
  // A refusal a person may not expect: say when untrusted project settings were set aside, and how to trust them.
  const untrusted = compiled.settings.untrustedFiles;
  const setAside =
    verdict.decision !== "allow" && untrusted.length > 0 && compiled.settings.warnings.some((w) => w.includes("mcp-warden trust"))
      ? ` (untrusted ${untrusted.map((u) => `${u.layer} settings ${u.file}`).join(" and ")} count only as far as they tighten the policy; \`mcp-warden doctor\` shows what was ignored, \`mcp-warden trust\` trusts them)`
      : "";
  return hookAnswer(
    verdict.decision,
    `mcp-warden: ${verdict.reason}${verdict.rule !== undefined && verdict.source ? ` [${verdict.source.file} ${verdict.source.path}]` : ""}${setAside}`,
    verdict.decision === "deny" ? undefined : updatedInput,
  );
}
