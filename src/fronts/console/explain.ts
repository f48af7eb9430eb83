// "Why was this call decided so?" for one audit record: the rule the record names (the policy of
// that moment), and the answer `mcp-warden check` gives for the same caller, tool and arguments
// against today's policy (the same code: compileSettings, asPrincipal, judgeToolCall, with check's
// sandbox gate). The two can differ when the settings changed since; the page says which is which.
import { join } from "node:path";
import type { AuditRecord } from "../../audit/record.js";
import type { Principal } from "../../policy/principal.js";
import type { Verdict } from "../../policy/types.js";
import type { ResolvedSettings } from "../../settings/index.js";

export interface Explanation {
  verdict: Verdict;
  /** Who it was judged as, for the page. */
  as: string;
  /** What the judgment could not know (groups of an OIDC caller, redacted arguments). */
  caveats: string[];
}

type Check = typeof import("../../check/check.js");
type Compiled = ReturnType<Check["compileSettings"]>;

const compiled = new WeakMap<ResolvedSettings, Compiled>();

/** The settings compiled as `mcp-warden check` compiles them (with its sandbox gate), once per settings object. */
export async function compiledFor(settings: ResolvedSettings, env: NodeJS.ProcessEnv): Promise<Compiled> {
  let c = compiled.get(settings);
  if (!c) {
    const check: Check = await (await import("../../check/check.js")).loadCheck();
    const { gatewaySandboxRefusal } = await import("../../sandbox/gate.js");
    const { stateDir } = await import("../../settings/paths.js");
    c = check.compileSettings(settings, env, gatewaySandboxRefusal(join(stateDir(env), "cache")));
    compiled.set(settings, c);
  }
  return c;
}

/**
 * The principal a record names, as far as the record tells: an API key's groups and org come from
 * the current key table; an OIDC caller's groups are not in the audit log.
 */
export function recordPrincipal(r: AuditRecord, settings: ResolvedSettings): { principal?: Principal; caveats: string[] } {
  const p = r.principal;
  if (!p || p.method === "local") return { caveats: [] };
  const caveats: string[] = [];
  let groups: string[] = [];
  let org = p.org;
  if (p.method === "api-key" && p.clientId !== undefined) {
    const entry = settings.remote?.auth?.apiKeys?.[p.clientId];
    if (entry && (entry.subject ?? `apikey:${p.clientId}`) === p.subject) {
      groups = [...(entry.groups ?? [])];
      org ??= entry.org;
    } else caveats.push(`the API key ${p.clientId} is no longer configured: its groups are unknown, so group: entries of principals are not applied`);
  } else if (p.method === "oidc") {
    caveats.push("the audit log does not record an identity provider caller's groups: group: entries of principals are not applied here");
  }
  const principal: Principal = {
    subject: p.subject,
    groups,
    scopes: [],
    method: p.method === "api-key" ? "api-key" : "oidc",
    ...(p.clientId !== undefined ? { clientId: p.clientId } : {}),
    ...(org !== undefined ? { org } : {}),
  };
  return { principal, caveats };
}

/** Whether `value` holds a redaction marker anywhere (the judged arguments are then not the real ones). */
function redacted(value: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (typeof value === "string") return value.includes("[REDACTED");
  if (Array.isArray(value)) return value.some((v) => redacted(v, depth + 1));
  if (value && typeof value === "object") return Object.values(value).some((v) => redacted(v, depth + 1));
  return false;
}

/** Compiles ahead, so that the first record page does not pay for it. Never throws. */
export function warmExplain(settings: ResolvedSettings, env: NodeJS.ProcessEnv): void {
  compiledFor(settings, env).catch(() => undefined);
}

/** Today's answer for the record's call, or undefined when the record is no tool call. Never throws. */
export async function explainRecord(r: AuditRecord, settings: ResolvedSettings, env: NodeJS.ProcessEnv, cwd: string): Promise<Explanation | undefined> {
  if (typeof r.tool !== "string") return undefined;
  const input = r.arguments && typeof r.arguments === "object" && !Array.isArray(r.arguments) ? (r.arguments as Record<string, unknown>) : {};
  const { principal, caveats } = recordPrincipal(r, settings);
  if (redacted(input)) caveats.push("the audit log holds these arguments with secrets redacted; judged as recorded");
  const as = principal ? `${principal.method === "api-key" ? "API key" : "identity provider"} caller ${principal.subject}` : "the local user (no remote caller)";
  try {
    const check: Check = await (await import("../../check/check.js")).loadCheck();
    const c = await compiledFor(settings, env);
    const judged = principal ? check.asPrincipal(c, principal) : c;
    return { verdict: check.judgeToolCall(judged, r.tool, input, cwd), as, caveats };
  } catch (e) {
    return { verdict: { decision: "deny", reason: `cannot judge this call against today's settings: ${(e as Error).message}` }, as, caveats };
  }
}
