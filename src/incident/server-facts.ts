// What the settings say about the server: where it is defined, what policy does with it now, and
// the NAMES of the credentials it was given (its env and header entries, the host variables they
// are filled from, the variables its sandbox passes through, a token exchange). Never a value.
import { isSecretName } from "../policy/integrity/secrets.js";
import type { ConfiguredServer, Source, Verdict } from "../policy/types.js";
import type { ResolvedSettings } from "../settings/index.js";
import type { Redaction } from "./redaction.js";

export interface CredentialFact {
  /** The variable or header name (never its value). */
  name: string;
  where: "env" | "header" | "host variable" | "sandbox env" | "url" | "token exchange" | "token seen in traffic";
  detail: string;
  /** Its name (or kind) says it is a credential; others may be one. */
  likelySecret: boolean;
  action: string;
}

export interface PolicyVerdictFact {
  decision: string;
  reason: string;
  rule?: string;
  source?: Source;
}

export interface ServerFacts {
  name: string;
  configured: boolean;
  transport?: string;
  layer?: string;
  file?: string;
  managed?: boolean;
  disabled?: boolean;
  sandbox?: string;
  filesystemGuard?: boolean;
  sqlGuard?: boolean;
  /** What a gateway starting now would do with it (before containment). */
  policy?: PolicyVerdictFact;
  credentials: CredentialFact[];
}

const ROTATE = "rotate this";
const ROTATE_MAYBE = "rotate this if it is a credential (its name does not say so)";

/** The facts of server `name` (configured or not) in these settings. `verdict`: the policy's answer on it. */
export function serverFacts(settings: ResolvedSettings, name: string, verdict: Verdict | undefined, redaction: Redaction): ServerFacts {
  const s = settings.servers.find((x) => x.name === name);
  if (!s) return { name, configured: false, credentials: [] };
  const e = s.entry;
  const transport = e.type === "streamable-http" ? "http" : (e.type ?? (e.url ? "http" : "stdio"));
  const sandbox = e.sandbox ?? settings.sandbox;
  const facts: ServerFacts = {
    name,
    configured: true,
    transport,
    layer: s.source.layer,
    file: s.source.file,
    managed: s.managed,
    disabled: e.disabled === true,
    sandbox: transport !== "stdio" ? "not applicable (remote server)" : sandbox?.type ?? (sandbox ? "the platform default" : "none"),
    filesystemGuard: e.guards?.filesystem !== undefined,
    sqlGuard: e.guards?.sql !== undefined,
    credentials: credentialsOf(s, sandbox?.env),
  };
  if (verdict) {
    facts.policy = { decision: verdict.decision, reason: redaction.text(verdict.reason) };
    if (verdict.rule !== undefined) facts.policy.rule = redaction.text(verdict.rule);
    if (verdict.source) facts.policy.source = verdict.source;
  }
  return facts;
}

function credentialsOf(s: ConfiguredServer, sandboxEnv: readonly string[] | undefined): CredentialFact[] {
  const e = s.entry;
  const out: CredentialFact[] = [];
  const vars = s.variables ?? {};
  const from = (field: string) => (vars[field]?.length ? `; its value comes from the host variable${vars[field]!.length > 1 ? "s" : ""} ${vars[field]!.join(", ")}` : "");
  for (const k of Object.keys(e.env ?? {})) {
    const secret = isSecretName(k) || (vars[`env.${k}`] ?? []).some(isSecretName);
    out.push({ name: k, where: "env", detail: `environment variable of the server${from(`env.${k}`)}`, likelySecret: secret, action: secret ? ROTATE : ROTATE_MAYBE });
  }
  for (const k of Object.keys(e.headers ?? {})) {
    // Every header value is treated as a secret by the gateway (ResolvedSettings.secrets).
    out.push({ name: k, where: "header", detail: `HTTP header sent to the server${from(`headers.${k.toLowerCase()}`)}`, likelySecret: true, action: ROTATE });
  }
  const seen = new Set(out.map((c) => c.name));
  for (const [field, names] of Object.entries(vars)) {
    if (field.startsWith("env.") || field.startsWith("headers.")) continue;
    for (const v of names) {
      if (seen.has(v)) continue;
      seen.add(v);
      const secret = isSecretName(v) || field === "url";
      out.push({ name: v, where: "host variable", detail: `host variable expanded into the server's ${field}`, likelySecret: secret, action: secret ? ROTATE : ROTATE_MAYBE });
    }
  }
  for (const v of sandboxEnv ?? []) {
    if (seen.has(v)) continue;
    seen.add(v);
    out.push({ name: v, where: "sandbox env", detail: "host variable its sandbox passes through", likelySecret: isSecretName(v), action: isSecretName(v) ? ROTATE : ROTATE_MAYBE });
  }
  if (typeof e.url === "string" && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@|[?#]/i.test(e.url)) {
    out.push({ name: "url", where: "url", detail: "the server's URL carries userinfo or a query, where tokens travel (not shown)", likelySecret: true, action: ROTATE });
  }
  if (e.tokenExchange) {
    out.push({
      name: e.tokenExchange.clientSecretEnv,
      where: "token exchange",
      detail: `the gateway's client secret for exchanging callers' tokens for this server (client ${e.tokenExchange.clientId}); also revoke the tokens the identity provider issued for it${e.tokenExchange.audience ? ` (audience ${e.tokenExchange.audience})` : ""}`,
      likelySecret: true,
      action: ROTATE,
    });
  }
  return out;
}

/** The token formats seen in the server's traffic, each a credential to rotate. */
export function trafficCredentials(secrets: readonly { kind: string; where: string; tool: string; count: number }[]): CredentialFact[] {
  const byKind = new Map<string, { where: Set<string>; tools: Set<string>; count: number }>();
  for (const s of secrets) {
    // Not a credential: arguments or a result too large to scan (listed under step 3).
    if (s.kind === "unscannable") continue;
    const k = byKind.get(s.kind) ?? { where: new Set(), tools: new Set(), count: 0 };
    k.where.add(s.where === "result" ? "returned by the server" : "sent to the server");
    k.tools.add(s.tool);
    k.count += s.count;
    byKind.set(s.kind, k);
  }
  return [...byKind.entries()].map(([kind, k]) => ({
    name: kind,
    where: "token seen in traffic" as const,
    detail: `a ${kind} ${[...k.where].sort().join(" and ")} (${k.count}×; ${[...k.tools].sort().slice(0, 5).join(", ")}); the token itself is not recorded: find which one it was where it is issued`,
    likelySecret: true,
    action: ROTATE,
  }));
}
