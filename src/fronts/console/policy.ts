// The console's Policy page: the effective rules of the settings serve runs with (the ones a reload
// last applied), each with the layer, file and JSON path it comes from, in the order the engine
// consults them; the server lists; the `principals` entries, and the rules as one principal sees
// them; and a "test a call" box answered by the code `mcp-warden check` runs (compileSettings with
// check's sandbox gate, asPrincipal, judgeToolCall: see explain.ts), never by a copy of it.
//
// policyView and parseCallQuery are pure; the route gathers the settings and renders policy-page.ts.
// A query the box cannot judge (bad JSON, a tool name of no known form, a caller without a subject)
// answers 400 with what to fix, never a decision. Read-only: GET, no state changes, no CSRF needed.
import { compileRedactor } from "../../audit/redact.js";
import { exposedNameHint } from "../../cli/tool-name-hint.js";
import type { CompiledPolicy } from "../../policy/index.js";
import { MAX_NAME_LENGTH, nameProblem, parseCanonical } from "../../policy/names.js";
import { principalSelectors } from "../../policy/principal.js";
import { PRINCIPAL_SELECTOR } from "../../policy/principals.js";
import { normalizeSeedRule } from "../../policy/seed-rules.js";
import { KNOWN_BUILTIN_TOOLS, misspelledToolName } from "../../policy/tool-names.js";
import type { Decision, Source, Sourced } from "../../policy/types.js";
import type { ResolvedSettings } from "../../settings/index.js";
import { compiledFor } from "./explain.js";
import { htmlResponse, messagePage } from "./html.js";
import { policyPage } from "./policy-page.js";
import type { ConsoleRoute } from "./routes.js";

/** One rule as the page lists it. */
export interface RuleRow {
  effect: Decision;
  /** The rule as written (what a verdict's `rule` names). */
  rule: string;
  /** The setting it was written in: permissions.deny, toolPermissions, denyCommands, principals... */
  kind: string;
  source: Source;
  /** The `principals` selector whose entry adds the rule; undefined for a rule of the layers. */
  principal?: string;
}

export interface ToolPattern {
  pattern: string;
  source: Source;
}

export interface ServerRow {
  name: string;
  source: Source;
  managed: boolean;
  /** Whether the server may run at all (the server lists, managed-only mode, disabled). */
  decision: Decision;
  reason: string;
  rule?: string;
  ruleSource?: Source;
  denyTools: ToolPattern[];
  /** undefined: the server sets no allowedTools (every tool passes this step). */
  allowedTools?: ToolPattern[];
}

export interface MatcherRow {
  /** The matcher as JSON ({"serverName": ...}). */
  matcher: string;
  source: Source;
}

export interface PrincipalEntryRow {
  selector: string;
  rules: RuleRow[];
  rates: { what: string; rate: string; source: Source }[];
}

export interface PolicyView {
  files: { layer: string; file: string; untrusted: boolean }[];
  mode: string;
  bypassDisabled: boolean;
  /** Deny, then ask, then allow: the engine's order (for the viewed principal when `as` is set). */
  rules: RuleRow[];
  servers: ServerRow[];
  /** undefined: no allowlist; []: lockdown. */
  allowedMcpServers?: MatcherRow[];
  narrowMcpServers: MatcherRow[][];
  deniedMcpServers: MatcherRow[];
  exclusiveManagedServers: boolean;
  requirePinnedPackages: boolean;
  principals: PrincipalEntryRow[];
  /** The selector the rules are viewed as; undefined: the layers' rules alone (the local user). */
  as?: string;
  /** The entries applied for `as`, in the order the engine adds them. */
  applied: string[];
  /** Things the settings ignored on purpose (rules an untrusted layer may not add...). */
  warnings: string[];
}

/** The "view as" selector, checked: undefined for none, or the problem to show (400). */
export function parseViewAs(raw: string | null): { as?: string; problem?: string } {
  const v = (raw ?? "").trim();
  if (v === "") return {};
  if (v.length > 300) return { problem: "the principal to view as is longer than 300 characters: give a shorter selector" };
  if (!PRINCIPAL_SELECTOR.test(v)) return { problem: `"${v}" is no principal: write user:<subject>, group:<name>, client:<client id>, org:<id>, or * for any signed-in caller` };
  return { as: v };
}

const FROM_TOOL_PERMISSIONS = "toolPermissions";

function layerRules(settings: ResolvedSettings): RuleRow[] {
  const p = settings.policy;
  const rows: RuleRow[] = [];
  const list = (effect: Decision, kind: string, items: readonly Sourced<string>[]) => {
    for (const r of items) rows.push({ effect, rule: r.value, kind, source: r.source });
  };
  list("deny", "permissions.deny", p.deny);
  list("ask", "permissions.ask", p.ask);
  list("allow", "permissions.allow", p.allow);
  list("allow", "autoApproveTools", p.autoApprove);
  // toolPermissions blocks, as the engine turns them into rules (its normalizeToolPermissions):
  // allowCommands → allow, denyCommands → deny, requireApproval → ask.
  for (const block of p.toolPermissions ?? []) {
    const base = block.source;
    for (const [tool, entry] of Object.entries(block.value)) {
      const at = (path: string): Source => ({ layer: base.layer, file: base.file, path: `${base.path}.${tool}${path}` });
      (entry.allowCommands ?? []).forEach((c, i) => rows.push({ effect: "allow", rule: c, kind: FROM_TOOL_PERMISSIONS, source: at(`.allowCommands[${i}]`) }));
      (entry.denyCommands ?? []).forEach((c, i) => rows.push({ effect: "deny", rule: c, kind: FROM_TOOL_PERMISSIONS, source: at(`.denyCommands[${i}]`) }));
      if (entry.requireApproval === true) rows.push({ effect: "ask", rule: tool, kind: FROM_TOOL_PERMISSIONS, source: at(".requireApproval") });
      else if (Array.isArray(entry.requireApproval))
        entry.requireApproval.forEach((e, i) => rows.push({ effect: "ask", rule: `${tool}(${e})`, kind: FROM_TOOL_PERMISSIONS, source: at(`.requireApproval[${i}]`) }));
    }
  }
  // The first seed's requireApproval and denyCommands, with the rule text the engine reports.
  for (const entry of p.seedRules ?? []) {
    let rule: string;
    try {
      const n = normalizeSeedRule(entry);
      rule = "mcp" in n ? n.mcp : n.text;
    } catch {
      rule = entry.value.pattern === undefined ? entry.value.tool : `${entry.value.tool}(${entry.value.pattern})`;
    }
    rows.push({ effect: entry.value.effect, rule, kind: entry.value.effect === "deny" ? "denyCommands" : "requireApproval", source: entry.source });
  }
  return rows;
}

function entryRules(selector: string, e: ResolvedSettings["principals"][string]): RuleRow[] {
  const at = (effect: Decision, kind: string, items: readonly Sourced<string>[]) => items.map((r): RuleRow => ({ effect, rule: r.value, kind, source: r.source, principal: selector }));
  return [...at("deny", "principals permissions.deny", e.deny), ...at("ask", "principals permissions.ask", e.ask), ...at("allow", "principals permissions.allow", e.allow), ...at("allow", "principals autoApproveTools", e.autoApprove)];
}

const ORDER: Record<Decision, number> = { deny: 0, ask: 1, allow: 2 };

/**
 * What the page shows, from the settings and their compiled base policy (for each server's verdict).
 * `as`: view the rules as a caller matching this selector (and `*`, which every signed-in caller
 * matches). Secret values of the settings (servers' env and headers) are redacted wherever they occur.
 */
export function policyView(settings: ResolvedSettings, policy: CompiledPolicy, as?: string): PolicyView {
  const p = settings.policy;
  const configured = Object.keys(settings.principals);
  // The engine adds the entries a caller matches in configuration order (principals.ts); a caller
  // matching `as` also matches `*`.
  const wanted = as === undefined ? [] : as === "*" ? ["*"] : ["*", as];
  const applied = configured.filter((s) => wanted.includes(s));
  const rules = [...layerRules(settings), ...applied.flatMap((s) => entryRules(s, settings.principals[s]!))];
  // A stable sort: within an effect, the layers' rules first, then the entries', as the engine concatenates them.
  rules.sort((a, b) => ORDER[a.effect] - ORDER[b.effect]);
  const matchers = (list: readonly Sourced<unknown>[]) => list.map((m): MatcherRow => ({ matcher: JSON.stringify(m.value), source: m.source }));
  const servers = settings.servers.map((s): ServerRow => {
    const v = policy.decideServer(s);
    const tools = (field: "denyTools" | "allowedTools") =>
      (s.entry[field] ?? []).map((pattern, i): ToolPattern => ({ pattern, source: { layer: s.source.layer, file: s.source.file, path: `mcpServers.${s.name}.${field}[${i}]` } }));
    return {
      name: s.name,
      source: s.source,
      managed: s.managed,
      decision: v.decision,
      reason: v.reason,
      ...(v.rule !== undefined ? { rule: v.rule } : {}),
      ...(v.source !== undefined ? { ruleSource: v.source } : {}),
      denyTools: tools("denyTools"),
      ...(s.entry.allowedTools !== undefined ? { allowedTools: tools("allowedTools") } : {}),
    };
  });
  const untrusted = new Set(settings.untrustedFiles.map((f) => `${f.layer}\0${f.file}`));
  const view: PolicyView = {
    files: settings.files.map((f) => ({ layer: f.layer, file: f.file, untrusted: untrusted.has(`${f.layer}\0${f.file}`) })),
    mode: p.defaultMode,
    bypassDisabled: p.bypassDisabled,
    rules,
    servers,
    ...(p.allowedMcpServers !== undefined ? { allowedMcpServers: matchers(p.allowedMcpServers) } : {}),
    narrowMcpServers: (p.narrowMcpServers ?? []).map(matchers),
    deniedMcpServers: matchers(p.deniedMcpServers),
    exclusiveManagedServers: p.exclusiveManagedServers,
    requirePinnedPackages: p.requirePinnedPackages === true,
    principals: configured.map((selector) => {
      const e = settings.principals[selector]!;
      const rates = [
        ...(e.rateLimits.perPrincipal ? [{ what: "all calls", rate: e.rateLimits.perPrincipal.value, source: e.rateLimits.perPrincipal.source }] : []),
        ...Object.entries(e.rateLimits.perTool).map(([tool, r]) => ({ what: tool, rate: r.value, source: r.source })),
      ];
      return { selector, rules: entryRules(selector, e), rates };
    }),
    ...(as !== undefined ? { as } : {}),
    applied,
    warnings: settings.warnings,
  };
  return compileRedactor(settings.secrets).value(view) as PolicyView;
}

/** Limits of the box's fields: a test is one call, typed by a person. */
export const MAX_INPUT_CHARS = 16_384;
const MAX_FIELD_CHARS = 256;
const MAX_GROUPS = 64;

/** The box's fields as typed, for the form. */
export interface CallForm {
  tool: string;
  input: string;
  subject: string;
  groups: string;
  org: string;
  client: string;
}

export interface CallRequest {
  tool: string;
  input: Record<string, unknown>;
  /** The caller, as check's PrincipalRequest (`check --as user:SUBJECT --groups ... --client ... --org ...`). */
  principal?: { subject: string; groups?: string[]; clientId?: string; org?: string };
}

export function callForm(q: URLSearchParams): CallForm {
  const get = (k: string) => q.get(k) ?? "";
  return { tool: get("tool"), input: get("input"), subject: get("subject"), groups: get("groups"), org: get("org"), client: get("client") };
}

/** Why `tool` is no name the box can judge, saying what to write instead; undefined when it is one. */
export function toolNameProblem(tool: string, settings: Pick<ResolvedSettings, "gateway" | "servers">): string | undefined {
  if (tool === "") return "give a tool name: mcp__<server>__<tool> for an MCP tool (mcp__github__create_issue), or a Claude Code tool such as Bash or Read";
  const bad = nameProblem(tool);
  if (bad !== undefined) return `${bad}: type the name without it`;
  if (/^mcp__/i.test(tool) && !tool.startsWith("mcp__")) return `write the prefix in lower case: mcp__${tool.slice(5)}`;
  if (tool.startsWith("mcp__")) {
    if (parseCanonical(tool) === undefined) return `"${tool}" is no MCP tool name: write mcp__<server>__<tool>, with a server and a tool (mcp__github__create_issue)`;
    return undefined;
  }
  if (KNOWN_BUILTIN_TOOLS.includes(tool)) return undefined;
  const hint = exposedNameHint(tool, settings);
  if (hint) return `${hint.why}: test ${hint.canonical}`;
  const meant = misspelledToolName(tool);
  if (meant !== undefined) return `there is no Claude Code tool "${tool}": did you mean ${meant}?`;
  return `"${tool}" is neither an MCP tool name (mcp__<server>__<tool>) nor a Claude Code tool mcp-warden knows (${KNOWN_BUILTIN_TOOLS.join(", ")})`;
}

/** The box's query as a call to judge, or what to fix (the page answers 400 with it). Pure. */
export function parseCallQuery(f: CallForm, settings: Pick<ResolvedSettings, "gateway" | "servers">): { request: CallRequest } | { problem: string } {
  const tool = f.tool.trim();
  if (tool.length > MAX_NAME_LENGTH) return { problem: `the tool name is longer than ${MAX_NAME_LENGTH} characters: no tool has such a name` };
  const toolProblem = toolNameProblem(tool, settings);
  if (toolProblem !== undefined) return { problem: toolProblem };
  if (f.input.length > MAX_INPUT_CHARS) return { problem: `the arguments are longer than ${MAX_INPUT_CHARS} characters: test the call with shorter ones` };
  let input: unknown;
  const text = f.input.trim() === "" ? "{}" : f.input;
  try {
    input = JSON.parse(text);
  } catch (e) {
    return { problem: `the arguments are not valid JSON (${(e as Error).message}): write a JSON object, such as {"repo": "octo/app"}, or leave the field empty for {}` };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input))
    return { problem: `the arguments must be a JSON object ({...}), not ${Array.isArray(input) ? "an array" : input === null ? "null" : `a ${typeof input}`}: write them as {"name": value, ...}` };
  const subject = f.subject.trim();
  const groups = f.groups.split(",").map((g) => g.trim()).filter((g) => g !== "");
  const org = f.org.trim();
  const client = f.client.trim();
  for (const [name, v] of [["subject", subject], ["organization", org], ["client", client]] as const)
    if (v.length > MAX_FIELD_CHARS) return { problem: `the ${name} is longer than ${MAX_FIELD_CHARS} characters: give a shorter one` };
  if (groups.length > MAX_GROUPS || groups.some((g) => g.length > MAX_FIELD_CHARS)) return { problem: `give at most ${MAX_GROUPS} groups of at most ${MAX_FIELD_CHARS} characters each` };
  const request: CallRequest = { tool, input: input as Record<string, unknown> };
  if (subject === "") {
    if (groups.length > 0 || org !== "" || client !== "") return { problem: "groups, organization and client describe a caller: give its subject too (as `check --as user:SUBJECT`), or clear them to test as the local user" };
    return { request };
  }
  request.principal = { subject, ...(groups.length ? { groups } : {}), ...(client !== "" ? { clientId: client } : {}), ...(org !== "" ? { org } : {}) };
  return { request };
}

export interface CallAnswer {
  decision: Decision;
  reason: string;
  rule?: string;
  source?: Source;
  /** Who it was judged as, for the page. */
  as: string;
  /** The `principals` entries that matched the caller. */
  matched: string[];
  /** The working directory built-in tools were judged in (serve's, as `check` run there). */
  cwd: string;
}

/**
 * The answer `mcp-warden check --tool T --input I [--as user:S --groups G --client C --org O]` gives
 * for these settings, by the same calls. Never throws; whatever cannot be judged is denied.
 */
export async function judgeCall(req: CallRequest, settings: ResolvedSettings, env: NodeJS.ProcessEnv, cwd: string): Promise<CallAnswer> {
  const as = req.principal ? `remote caller user:${req.principal.subject}${req.principal.groups ? ` (groups ${req.principal.groups.join(", ")})` : ""}${req.principal.clientId !== undefined ? `, client ${req.principal.clientId}` : ""}${req.principal.org !== undefined ? `, org ${req.principal.org}` : ""}` : "the local user (no remote caller: principals entries do not apply)";
  let matched: string[] = [];
  let answer: Pick<CallAnswer, "decision" | "reason" | "rule" | "source">;
  try {
    const check = await (await import("../../check/check.js")).loadCheck();
    let c = await compiledFor(settings, env);
    if (req.principal) {
      const parsed = check.PrincipalRequest.safeParse(req.principal);
      if (!parsed.success) throw new Error(`the caller is malformed: ${parsed.error.message}`);
      const principal = check.requestPrincipal(parsed.data);
      matched = principalSelectors(principal).filter((s) => Object.hasOwn(settings.principals, s));
      c = check.asPrincipal(c, principal);
    }
    const v = check.judgeToolCall(c, req.tool, req.input, cwd);
    answer = { decision: v.decision, reason: v.reason, ...(v.rule !== undefined ? { rule: v.rule } : {}), ...(v.source !== undefined ? { source: { ...v.source } } : {}) };
  } catch (e) {
    answer = { decision: "deny", reason: `cannot judge this call: ${(e as Error).message}` };
  }
  return compileRedactor(settings.secrets).value({ ...answer, as, matched, cwd }) as CallAnswer;
}

export interface PolicyDeps {
  settings: () => ResolvedSettings;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** GET /console/policy: the rules, viewed as a principal (`as`), and the box's answer (`tool`, `input`, caller). */
export function policyRoutes(deps: PolicyDeps): ConsoleRoute[] {
  return [
    {
      method: "GET",
      path: /^\/console\/policy$/,
      needs: "read",
      handle: async (c) => {
        const settings = deps.settings();
        const view = parseViewAs(c.url.searchParams.get("as"));
        const form = callForm(c.url.searchParams);
        const testing = c.url.searchParams.has("tool");
        const parsed = testing ? parseCallQuery(form, settings) : undefined;
        let policy: CompiledPolicy;
        try {
          policy = (await compiledFor(settings, deps.env)).policy;
        } catch (e) {
          return messagePage(503, "The policy cannot be shown", `The settings in use do not compile: ${(e as Error).message}. Fix them, then reload serve's settings.`, c.viewer);
        }
        const data = policyView(settings, policy, view.as);
        const answer = parsed && "request" in parsed ? await judgeCall(parsed.request, settings, deps.env, deps.cwd) : undefined;
        const problem = parsed && "problem" in parsed ? parsed.problem : undefined;
        const status = problem !== undefined || view.problem !== undefined ? 400 : 200;
        return htmlResponse(
          status,
          policyPage(c.viewer, {
            view: data,
            asTyped: c.url.searchParams.get("as") ?? "",
            ...(view.problem !== undefined ? { asProblem: view.problem } : {}),
            selectors: Object.keys(settings.principals),
            form,
            testing,
            ...(answer ? { answer } : {}),
            ...(problem !== undefined ? { problem } : {}),
          }),
        );
      },
    },
  ];
}
