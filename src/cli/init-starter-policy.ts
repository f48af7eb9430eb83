// `init`'s starter policy: permission rules from the servers' own tool annotations.
//   readOnlyHint: true     → allow   (the server says the tool changes nothing)
//   destructiveHint: true  → ask, written out (so a later broad allow in a lower layer does not hide it)
//   anything else          → no rule: the default, ask
// Annotations are the server's own claims; init shows every rule before writing it, and a tool whose
// definition the poisoning scan flags gets no allow. Getting the annotations means starting the
// servers: only those init has just approved, through the gateway's own code (planUpstreams, the
// same sandbox and network policy), each stopped afterwards. A server that fails is reported.
import { planForListing } from "../gateway/upstreams.js";
import { canonicalToolName } from "../policy/index.js";
import { judgeToolDefinition } from "../policy/integrity/definitions.js";
import type { ResolvedSettings } from "../settings/index.js";
import { stripUrl } from "./servers.js";

/** What init needs of a listed tool. */
export interface AnnotatedTool {
  name: string;
  annotations?: { readOnlyHint?: unknown; destructiveHint?: unknown; [k: string]: unknown };
  [k: string]: unknown;
}

export interface StarterRules {
  allow: string[];
  ask: string[];
  /** Tools left to the default (ask), with why when it is not simply "no annotation". */
  left: { tool: string; why?: string }[];
}

/** A tool name a rule can match literally: `*` is a glob and parentheses are refused in MCP rules. */
const RULE_SAFE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * The rules for one server's tools. `flagged(tool)` is the poisoning scan's reason to hold a tool
 * back, or undefined; a flagged tool gets no allow (a destructive one still gets its ask).
 */
export function starterRules(server: string, tools: AnnotatedTool[], flagged: (tool: AnnotatedTool) => string | undefined = () => undefined): StarterRules {
  const out: StarterRules = { allow: [], ask: [], left: [] };
  for (const tool of tools) {
    const name = tool.name;
    if (typeof name !== "string" || !RULE_SAFE_NAME.test(name)) {
      out.left.push({ tool: String(name), why: "its name has characters a rule cannot match literally" });
      continue;
    }
    const rule = canonicalToolName(server, name);
    const a = tool.annotations ?? {};
    // The spec ignores destructiveHint when readOnlyHint is true; a server claiming both gets the stricter reading.
    if (a.destructiveHint === true) out.ask.push(rule);
    else if (a.readOnlyHint === true) {
      const why = flagged(tool);
      if (why === undefined) out.allow.push(rule);
      else out.left.push({ tool: name, why: `read-only, but ${why}` });
    } else out.left.push({ tool: name });
  }
  return out;
}

export type ListedServer = { name: string; tools: AnnotatedTool[]; flagged: (tool: AnnotatedTool) => string | undefined } | { name: string; error: string };

/**
 * Starts the named servers as the gateway would (its policy, sandboxes and network checks), lists
 * their tools and stops them. The caller has checked that each one's launch is approved.
 */
export async function listToolsOf(settings: ResolvedSettings, env: NodeJS.ProcessEnv, names: string[]): Promise<ListedServer[]> {
  const { plan, policy } = planForListing(settings, env, "init");
  const out: ListedServer[] = [];
  const upstreams = [];
  for (const name of names) {
    const blocked = plan.blocked.find((b) => b.server.name === name);
    const u = plan.upstreams.get(name);
    if (blocked) out.push({ name, error: withoutSecrets(`not started: ${blocked.verdict.reason}`, settings.secrets) });
    else if (!u) out.push({ name, error: "not configured" });
    else if (u.server.entry.disabled === true) out.push({ name, error: "disabled in its settings" });
    else upstreams.push(u);
  }
  // A server that closes its connection during the handshake can leave a promise of the SDK's
  // rejected with nobody waiting for it (the gateway reports such strays; program.ts). Here the
  // start's own outcome says what happened; a stray must not end init halfway.
  const stray = () => undefined;
  process.on("unhandledRejection", stray);
  const started = await Promise.allSettled(upstreams.map((u) => u.ensureStarted()));
  try {
    const others = upstreams.flatMap((u) => u.lists.tools.map((t) => ({ server: u.name, name: t.name })));
    for (const [i, u] of upstreams.entries()) {
      const outcome = started[i]!;
      if (outcome.status === "rejected") {
        out.push({ name: u.name, error: withoutSecrets((outcome.reason as Error).message, settings.secrets) });
        continue;
      }
      const flagged = (tool: AnnotatedTool) => {
        const rules = policy.decideTool({ tool: canonicalToolName(u.name, tool.name), input: {} });
        const v = judgeToolDefinition(tool, undefined, { server: u.name, otherTools: others, policy: rules, scan: settings.integrity.scanDefinitions });
        return v.decision === "allow" ? undefined : v.reason.split("\n")[0];
      };
      out.push({ name: u.name, tools: u.lists.tools as unknown as AnnotatedTool[], flagged });
    }
  } finally {
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
    process.off("unhandledRejection", stray);
  }
  return out;
}

/**
 * An error about a server, fit to print: a start failure may quote its URL (with a password or a key
 * in the query) or a value of its env or headers. URLs lose userinfo, query and fragment; every
 * configured secret value (settings.secrets, longest first) is replaced.
 */
export function withoutSecrets(message: string, secrets: readonly string[]): string {
  let out = message.replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]+/g, (url) => {
    const { url: bare, hidden } = stripUrl(url);
    return hidden ? `${bare} (credentials/query hidden)` : bare;
  });
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[REDACTED]");
  return out;
}
