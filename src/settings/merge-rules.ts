// Which way each settings layer may move each field: one table, one entry per field path of the
// settings schema (`*` for a record key). test/unit/settings-merge-fields.test.ts walks the schema
// and fails when a field has no entry here (or an entry names no field), so a new field cannot
// silently default to "the project wins".
//
// The managed, command-line (`--settings`), user and `request` (check --batch) layers are the user's
// own (or the organization's) and always trusted. The project and local layers come from a
// directory the user may not have written (a repository can commit both files); until the user
// trusts their exact content (`mcp-warden trust`) they may only tighten. Directions:
// - any:         every layer merges normally; every value only restricts (deny and ask rules, ...).
// - trusted:     ignored from an untrusted project or local layer, with a warning.
// - tighten:     an untrusted layer may move it only towards strict (see Tighten); with `evenTrusted`,
//                project and local layers are held to that even when trusted (protections a repository
//                cannot switch off against its own servers).
// - userOnly:    never from a project or local layer, trusted or not (where mcp-warden writes).
// - managedOnly: only from managed settings.
// - server:      part of a server definition. A layer's server entry is taken whole; an untrusted
//                layer may add servers (each waits for a person's approval before it is spawned) but
//                cannot replace a server a trusted layer defines under the same name.
// Pure data and lookups: applied by narrow.ts.
import { APPROVAL_DEFAULTS, AUDIT_DEFAULTS, CLIENT_REQUEST_DEFAULTS, GATEWAY_DEFAULTS, INTEGRITY_DEFAULTS, SECRET_SCANNING_DEFAULTS } from "./defaults.js";

export type Direction = "any" | "trusted" | "tighten" | "userOnly" | "managedOnly" | "server";

export type Tighten =
  /** Numbers: only lower. */
  | { kind: "lower" }
  /** Sizes such as "512m" (sandbox memory): only lower. */
  | { kind: "size" }
  /** Booleans that switch a protection on: only true. */
  | { kind: "onlyTrue" }
  /** Booleans that loosen when true: only false. */
  | { kind: "onlyFalse" }
  /** Named levels, loosest group first; values in one group are equally strict. */
  | { kind: "rank"; order: readonly (readonly string[])[] }
  /** Allow lists of a sandbox: entries the trusted sandbox does not allow are dropped. */
  | { kind: "intersect" }
  /** A sandbox's allowExecute: false is strictest, a list narrows by intersection, true is loosest. */
  | { kind: "execute" }
  /** Deny lists of a sandbox: added to the trusted one. */
  | { kind: "union" }
  /** Sandbox type, image and runtime: stay the trusted sandbox's. */
  | { kind: "keepTrusted" }
  /** permissions.additionalDirectories: only directories whose real path is inside the project. */
  | { kind: "inProject" }
  /** allowedMcpServers: an untrusted list narrows (a server must match it too), never extends. */
  | { kind: "narrowList" };

export interface MergeRule {
  direction: Direction;
  tighten?: Tighten;
  /** tighten, top-level scalars: the value when no trusted layer sets one. */
  fallback?: unknown;
  /** tighten, a server's own field: judged against this resolved global field. */
  against?: string;
  /** tighten: project and local layers are held to it even when trusted. */
  evenTrusted?: boolean;
}

const rule = (direction: Exclude<Direction, "tighten">): MergeRule => ({ direction });
const tighten = (t: Tighten, extra: Omit<MergeRule, "direction" | "tighten"> = {}): MergeRule => ({ direction: "tighten", tighten: t, ...extra });
const lower = (fallback?: number, extra: Omit<MergeRule, "direction" | "tighten" | "fallback"> = {}) =>
  tighten({ kind: "lower" }, fallback === undefined ? extra : { fallback, ...extra });

export const MODE_ORDER = [["bypassPermissions"], ["acceptEdits"], ["default", "plan"], ["dontAsk"]] as const;
export const CLIENT_REQUEST_ORDER = [["allow"], ["duringCalls"], ["ask"], ["deny"]] as const;
export const SECRET_ACTION_ORDER = [["off"], ["redact"], ["block"]] as const;

/** The fields of a sandbox (global, a server's own, or a profile), relative to it. */
export const SANDBOX_FIELDS: Readonly<Record<string, Tighten>> = {
  type: { kind: "keepTrusted" },
  image: { kind: "keepTrusted" },
  runtime: { kind: "keepTrusted" },
  "filesystem.allowRead": { kind: "intersect" },
  "filesystem.denyRead": { kind: "union" },
  "filesystem.allowWrite": { kind: "intersect" },
  "filesystem.denyWrite": { kind: "union" },
  "network.allowedDomains": { kind: "intersect" },
  "network.deniedDomains": { kind: "union" },
  "network.allowLocalhost": { kind: "onlyFalse" },
  "network.allowUnixSockets": { kind: "intersect" },
  "limits.cpus": { kind: "lower" },
  "limits.memory": { kind: "size" },
  "limits.pids": { kind: "lower" },
  env: { kind: "intersect" },
  allowNetwork: { kind: "intersect" },
  denyNetwork: { kind: "union" },
  allowRead: { kind: "intersect" },
  allowWrite: { kind: "intersect" },
  allowExecute: { kind: "execute" },
};

const under = (prefix: string, fields: Readonly<Record<string, MergeRule>>): Record<string, MergeRule> =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}.${k}`, v]));
const sandboxRules = (f: (t: Tighten) => MergeRule) => Object.fromEntries(Object.entries(SANDBOX_FIELDS).map(([k, t]) => [k, f(t)]));

const SERVER_FIELDS: Record<string, MergeRule> = {
  ...Object.fromEntries(
    ["type", "command", "args", "env", "cwd", "url", "headers", "allowedTools", "denyTools", "startup", "disabled", "protocol"].map((k) => [k, rule("server")]),
  ),
  timeoutMs: lower(undefined, { against: "gateway.callTimeoutMs" }),
  ...under("sandbox", sandboxRules((t) => tighten(t))),
  ...Object.fromEntries(
    [
      "guards.filesystem.roots",
      "guards.filesystem.tools.*.read",
      "guards.filesystem.tools.*.write",
      "guards.sql.readOnly",
      "guards.sql.dialect",
      "guards.sql.functions.allow",
      "guards.sql.arguments",
      "guards.arguments.*.*.enum",
      "guards.arguments.*.*.pattern",
      "guards.arguments.*.*.maxLength",
      "guards.arguments.*.*.paths",
    ].map((k) => [k, rule("server")]),
  ),
  share: rule("server"),
  ...Object.fromEntries(["clientId", "clientSecretEnv", "audience", "resource", "scope", "tokenEndpoint"].map((k) => [`tokenExchange.${k}`, rule("server")])),
  ...Object.fromEntries(["sampling", "elicitation", "roots"].map((k) => [`clientRequests.${k}`, tighten({ kind: "rank", order: CLIENT_REQUEST_ORDER }, { against: `clientRequests.${k}` })])),
};

const protection = (t: Tighten, fallback: unknown) => tighten(t, { fallback, evenTrusted: true });

export const MERGE_RULES: Readonly<Record<string, MergeRule>> = {
  $schema: rule("any"),
  "permissions.allow": rule("trusted"),
  "permissions.ask": rule("any"),
  "permissions.deny": rule("any"),
  "permissions.defaultMode": tighten({ kind: "rank", order: MODE_ORDER }, { fallback: "default" }),
  "permissions.disableBypassPermissionsMode": rule("any"),
  "permissions.additionalDirectories": tighten({ kind: "inProject" }),
  ...under("mcpServers.*", SERVER_FIELDS),
  allowedMcpServers: tighten({ kind: "narrowList" }),
  deniedMcpServers: rule("any"),
  allowManagedMcpServersOnly: rule("managedOnly"),
  allowManagedPermissionRulesOnly: rule("managedOnly"),
  requireSandbox: rule("managedOnly"),
  requireImageDigest: rule("managedOnly"),
  requirePinnedPackages: rule("managedOnly"),
  ...under("sandboxProfiles.*", sandboxRules(() => rule("trusted"))),
  autoApproveTools: rule("trusted"),
  "toolPermissions.*.allowCommands": rule("trusted"),
  "toolPermissions.*.denyCommands": rule("any"),
  "toolPermissions.*.requireApproval": rule("any"),
  // The first seed's top-level lists: allows need a trusted layer, asks and denies only restrict.
  allowedTools: rule("trusted"),
  requireApproval: rule("any"),
  denyCommands: rule("any"),
  disableBypassPermissionsMode: rule("any"),
  ...under("sandbox", sandboxRules((t) => tighten(t))),
  // The hook's Bash sandbox (settings/bash-sandbox.ts merges them): turning it on, and refusing to
  // run without it, only restrict; auto-allowing and exempting commands loosen.
  "sandbox.enabled": tighten({ kind: "onlyTrue" }, { fallback: false }),
  "sandbox.failIfUnavailable": tighten({ kind: "onlyTrue" }, { fallback: true }),
  "sandbox.autoAllowBashIfSandboxed": rule("trusted"),
  "sandbox.excludedCommands": rule("trusted"),
  // Domains a command may reach: only from trusted layers (an untrusted one's list is dropped, so
  // its networkPolicy can only deny more).
  "toolPermissions.*.networkPolicy.allowDomains": rule("trusted"),
  "toolPermissions.*.networkPolicy.denyDomains": rule("any"),
  "toolPermissions.*.networkPolicy.allowLocalhost": tighten({ kind: "onlyFalse" }, { fallback: false }),
  "gateway.separator": rule("trusted"),
  "gateway.prefix": rule("trusted"),
  // When servers start does not change what they may do (each still needs its approvals).
  "gateway.startup": rule("any"),
  "gateway.callTimeoutMs": lower(GATEWAY_DEFAULTS.callTimeoutMs),
  "gateway.maxMessageBytes": lower(GATEWAY_DEFAULTS.maxMessageBytes),
  "gateway.restart.maxRestarts": lower(GATEWAY_DEFAULTS.restart.maxRestarts),
  "gateway.restart.initialDelayMs": lower(GATEWAY_DEFAULTS.restart.initialDelayMs),
  "gateway.restart.maxDelayMs": lower(GATEWAY_DEFAULTS.restart.maxDelayMs),
  "gateway.logDir": rule("userOnly"),
  // How many items a page of a list holds: presentation only (the schema caps it).
  "gateway.pageSize": rule("any"),
  "audit.dir": rule("userOnly"),
  "audit.fsyncIntervalMs": lower(AUDIT_DEFAULTS.fsyncIntervalMs),
  "audit.hmacKeyFile": rule("userOnly"),
  "approvals.timeoutMs": lower(APPROVAL_DEFAULTS.timeoutMs),
  "approvals.client": tighten({ kind: "onlyFalse" }, { fallback: APPROVAL_DEFAULTS.client }),
  "approvals.page": tighten({ kind: "onlyFalse" }, { fallback: APPROVAL_DEFAULTS.page }),
  // A shorter hold answers the client sooner; a shorter window lets a late approval count for less time.
  "approvals.holdMs": lower(APPROVAL_DEFAULTS.holdMs),
  "approvals.retryWindowMs": lower(APPROVAL_DEFAULTS.retryWindowMs),
  "secretScanning.arguments": protection({ kind: "rank", order: SECRET_ACTION_ORDER }, SECRET_SCANNING_DEFAULTS.arguments),
  "secretScanning.results": protection({ kind: "rank", order: SECRET_ACTION_ORDER }, SECRET_SCANNING_DEFAULTS.results),
  // Names of variables whose values are secrets: more names only means more scanning.
  "secretScanning.values": rule("any"),
  "secretScanning.formats": protection({ kind: "onlyTrue" }, SECRET_SCANNING_DEFAULTS.formats),
  "integrity.pins": protection({ kind: "onlyTrue" }, INTEGRITY_DEFAULTS.pins),
  "integrity.scanDefinitions": protection({ kind: "onlyTrue" }, INTEGRITY_DEFAULTS.scanDefinitions),
  "integrity.maxResultBytes": protection({ kind: "lower" }, INTEGRITY_DEFAULTS.maxResultBytes),
  "integrity.stripControlCharacters": protection({ kind: "onlyTrue" }, INTEGRITY_DEFAULTS.stripControlCharacters),
  "integrity.keepLogControlCharacters": protection({ kind: "onlyFalse" }, INTEGRITY_DEFAULTS.keepLogControlCharacters),
  ...Object.fromEntries(
    (["sampling", "elicitation", "roots"] as const).map((k) => [`clientRequests.${k}`, tighten({ kind: "rank", order: CLIENT_REQUEST_ORDER }, { fallback: CLIENT_REQUEST_DEFAULTS[k] })]),
  ),
  // Remote mode is the operator's: who may authenticate, where it listens, how much each caller gets.
  // A repository's files never change any of it.
  ...Object.fromEntries(
    [
      "remote.listen",
      "remote.resource",
      "remote.allowedHosts",
      "remote.allowedOrigins",
      "remote.trustedProxies",
      "remote.tls.cert",
      "remote.tls.key",
      "remote.maxBodyBytes",
      "remote.headersTimeoutMs",
      "remote.idleTimeoutMs",
      "remote.auth.issuer",
      "remote.auth.jwksUri",
      "remote.auth.algorithms",
      "remote.auth.clockSkewSeconds",
      "remote.auth.groupsClaim",
      "remote.auth.orgClaim",
      "remote.auth.clientIdClaim",
      "remote.auth.requiredScopes",
      "remote.auth.apiKeys.*.hash",
      "remote.auth.apiKeys.*.subject",
      "remote.auth.apiKeys.*.groups",
      "remote.auth.apiKeys.*.org",
      "remote.auth.apiKeys.*.scopes",
      "remote.auth.apiKeys.*.expires",
      "remote.auth.approvers",
      "remote.sessions.idleMinutes",
      "remote.sessions.maxHours",
      "remote.sessions.maxPerPrincipal",
      "remote.rateLimits.global",
      "remote.rateLimits.perPrincipal",
      "remote.rateLimits.perTool",
      "remote.rateLimits.perServer",
      "remote.rateLimits.onStoreError",
      "remote.metrics.allowFrom",
      "remote.metrics.bearerTokenEnv",
      "remote.console.enabled",
      "remote.console.clientId",
      "remote.console.clientSecretEnv",
      "remote.console.publicUrl",
      "remote.console.scopes",
      "remote.console.roles.admin",
      "remote.console.roles.approver",
      "remote.console.roles.viewer",
      "remote.console.idleMinutes",
      "remote.console.maxHours",
      "remote.console.signOutAtProvider",
      "remote.tracing.endpoint",
      "remote.tracing.serviceName",
      "remote.tracing.sampleRatio",
      "principals.*.rateLimits.perPrincipal",
      "principals.*.rateLimits.perTool",
      "forceLoginMethod",
      "forceLoginOrgUUID",
      // Where shared state lives is the operator's: a repository must not point the gateway's audit log elsewhere.
      "state.redis",
      "state.postgres",
    ].map((k) => [k, rule("userOnly")]),
  ),
  // Per-principal rules: denies and asks only restrict, allows need a trusted layer.
  "principals.*.permissions.allow": rule("trusted"),
  "principals.*.permissions.ask": rule("any"),
  "principals.*.permissions.deny": rule("any"),
  "principals.*.autoApproveTools": rule("trusted"),
};

/** The rule for a concrete path (`mcpServers.github.timeoutMs`), matching record keys against `*`. */
export function ruleFor(path: readonly string[]): { pattern: string; rule: MergeRule } | undefined {
  return lookup(TRIE, path, 0, []);
}

/** Whether some rule lies below this concrete path (so an object there is to be walked into). */
export function hasRulesBelow(path: readonly string[]): boolean {
  let nodes: Node[] = [TRIE];
  for (const seg of path) {
    nodes = nodes.flatMap((n) => [n.children.get(seg), n.children.get("*")].filter((x): x is Node => x !== undefined));
    if (nodes.length === 0) return false;
  }
  return nodes.some((n) => n.children.size > 0);
}

interface Node {
  children: Map<string, Node>;
  rule?: MergeRule;
}

const TRIE: Node = buildTrie(MERGE_RULES);

function buildTrie(rules: Readonly<Record<string, MergeRule>>): Node {
  const root: Node = { children: new Map() };
  for (const [pattern, r] of Object.entries(rules)) {
    let node = root;
    for (const seg of pattern.split(".")) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = { children: new Map() }));
      node = next;
    }
    node.rule = r;
  }
  return root;
}

// An exact key is preferred over `*`, so a record key that happens to equal a field name still matches.
function lookup(node: Node, path: readonly string[], i: number, pattern: string[]): { pattern: string; rule: MergeRule } | undefined {
  if (i === path.length) return node.rule ? { pattern: pattern.join("."), rule: node.rule } : undefined;
  const seg = path[i]!;
  for (const [key, child] of [[seg, node.children.get(seg)], ["*", node.children.get("*")]] as const) {
    if (!child) continue;
    const hit = lookup(child, path, i + 1, [...pattern, key]);
    if (hit) return hit;
  }
  return undefined;
}

/** Strictness of a ranked value (higher is stricter); undefined for a value the order does not name. */
export function rankOf(order: readonly (readonly string[])[], value: unknown): number | undefined {
  const i = order.findIndex((group) => group.includes(value as string));
  return i < 0 ? undefined : i;
}

/** Bytes of a container-style size ("512m", "2g", "1048576"); undefined when it does not parse. */
export function sizeBytes(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?\s*$/i.exec(value);
  if (!m) return undefined;
  const exp = "bkmgt".indexOf((m[2] || "b").toLowerCase());
  return Number(m[1]) * 1024 ** exp;
}

/**
 * Whether an untrusted `value` is at least as strict as `baseline` under a scalar tighten kind.
 * A value of the wrong type is never (fail closed).
 */
export function atLeastAsStrict(t: Tighten, value: unknown, baseline: unknown): boolean {
  switch (t.kind) {
    case "lower":
      return typeof value === "number" && (typeof baseline !== "number" || value <= baseline);
    case "size": {
      const v = sizeBytes(value);
      const b = sizeBytes(baseline);
      return v !== undefined && (baseline === undefined || (b !== undefined && v <= b));
    }
    case "onlyTrue":
      return value === true || (value === false && baseline === false);
    case "onlyFalse":
      return value === false || (value === true && baseline === true);
    case "execute":
      return executeAtLeastAsStrict(value, baseline);
    case "rank": {
      const v = rankOf(t.order, value);
      const b = rankOf(t.order, baseline);
      return v !== undefined && (b === undefined ? baseline === undefined : v >= b);
    }
    default:
      return false;
  }
}

/**
 * allowExecute: false is strictest; a list is as strict as a baseline list when it holds no entry
 * the baseline lacks; true (or unset) is loosest. A value of the wrong type is never.
 */
export function executeAtLeastAsStrict(value: unknown, baseline: unknown): boolean {
  const b = baseline ?? true;
  if (value === false) return true;
  if (value === true) return b === true;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) return false;
  if (b === true) return true;
  if (b === false) return false;
  return Array.isArray(b) && value.every((v) => b.includes(v));
}
