// Merging settings layers into what the gateway and the policy core use. Pure: no file I/O, so
// `check --batch` can resolve a single "request" layer the same way the gateway resolves files.
import { isSecretName } from "../policy/integrity/secret-names.js";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  LAYER_ORDER,
  type ConfiguredServer,
  type LayerName,
  type PolicyInput,
  type Source,
  type SeedRule,
  type Sourced,
} from "../policy/types.js";
import { SettingsError, joinPath } from "./errors.js";
import { expandServerEntry, referencedVariables } from "./expand.js";
import { APPROVAL_DEFAULTS, AUDIT_DEFAULTS, CLIENT_REQUEST_DEFAULTS, GATEWAY_DEFAULTS, INTEGRITY_DEFAULTS, SECRET_SCANNING_DEFAULTS } from "./defaults.js";
import { resolveBashSandbox, type BashSandboxConfig } from "./bash-sandbox.js";
import { applyTrust, isTrustedLayer, narrowServer } from "./narrow.js";
import { defaultAuditDir, defaultLogDir, runtimeDir } from "./paths.js";
import type { RemoteSettings, ServerEntry, ServerMatcher, Settings, StateSettings } from "./schema.js";
import type { PrincipalRules } from "../policy/principals.js";
import { resolvePrincipals, resolveRemote } from "./resolve-remote.js";
import { serverNameProblem } from "./server-name.js";

export interface SettingsLayer {
  layer: LayerName;
  /** Absolute path of the file (or `<request id>` for check --batch). */
  file: string;
  settings: Settings;
  /**
   * Project and local layers: the user trusts this exact content (`mcp-warden trust`); until then they
   * may only tighten (settings/merge-rules.ts). Absent counts as untrusted. Every other layer is trusted.
   */
  trusted?: boolean;
  /** Hex SHA-256 of the file's exact bytes (set by the loader). */
  sha256?: string;
  /** Project and local layers: the real path of the directory holding `.mcp-warden/` (set by the loader). */
  projectRoot?: string;
  /** Project and local layers: the real path of each `permissions.additionalDirectories` entry that resolves (set by the loader; resolveSettings does no I/O). */
  realDirectories?: ReadonlyMap<string, string>;
}

/** A server entry with `${VAR}` expanded. */
export interface ResolvedServer extends ConfiguredServer {}

/** `managed-mcp.json`, already validated: when present, the exclusive server set. */
export interface ManagedMcp {
  file: string;
  servers: Record<string, ServerEntry>;
}

export interface GatewayConfig {
  separator: string;
  prefix: boolean;
  startup: "eager" | "lazy";
  callTimeoutMs: number;
  maxMessageBytes: number;
  restart: { maxRestarts: number; initialDelayMs: number; maxDelayMs: number };
  logDir: string;
  /** Items per page of the merged lists the client sees. */
  pageSize: number;
}

export interface AuditConfig {
  dir: string;
  fsyncIntervalMs: number;
  /** Keyed mode: the HMAC key file that signs the audit checkpoint (managed, command-line or user settings only). */
  hmacKeyFile?: string;
}

export type ClientRequestActionName = "allow" | "duringCalls" | "ask" | "deny";
export interface ClientRequestConfig {
  sampling: ClientRequestActionName;
  elicitation: ClientRequestActionName;
  roots: ClientRequestActionName;
}

export interface ApprovalConfig {
  timeoutMs: number;
  client: boolean;
  page: boolean;
  /** How long a call is held for a client that cannot be asked in band (and sent no progressToken). */
  holdMs: number;
  /** How long an approval given after the call ended lets the identical call through (once). */
  retryWindowMs: number;
}

export interface SecretScanningConfig {
  arguments: "block" | "redact" | "off";
  results: "block" | "redact" | "off";
  /** Named secret values to look for (never logged): servers' headers, secret-named env entries, `secretScanning.values`. */
  values: { name: string; value: string }[];
  formats: boolean;
}

export { APPROVAL_DEFAULTS, AUDIT_DEFAULTS, CLIENT_REQUEST_DEFAULTS, GATEWAY_DEFAULTS };

export interface ResolvedSettings {
  /** Files read, highest precedence first. */
  files: { layer: LayerName; file: string }[];
  policy: PolicyInput;
  /** The same array as `policy.servers`. */
  servers: ConfiguredServer[];
  gateway: GatewayConfig;
  audit: AuditConfig;
  /** How `ask` reaches a person (each field from the highest layer that sets it). */
  approvals: ApprovalConfig;
  /** Tool pins and the poisoning scan (each field from the highest layer that sets it). */
  integrity: { pins: boolean; scanDefinitions: boolean; maxResultBytes: number; stripControlCharacters: boolean; keepLogControlCharacters: boolean };
  /** Requests servers send to the client, global (each server's own `clientRequests` overrides per kind: see clientRequestsFor). */
  clientRequests: ClientRequestConfig;
  /** Secrets in flight (each field from the highest layer that sets it; `values` from every layer). */
  secretScanning: SecretScanningConfig;
  /** Every non-empty value of every server's env and headers after expansion, longest first, for redaction. Never log it. */
  secrets: string[];
  /** The global sandbox: the highest trusted layer's, narrowed by untrusted project and local layers (narrow.ts). */
  sandbox?: Settings["sandbox"];
  /** The hook's Bash sandbox (settings/bash-sandbox.ts). */
  bashSandbox: BashSandboxConfig;
  /** Carried, one per layer that sets it, for the issue that turns them into rules. */
  toolPermissions: Sourced<NonNullable<Settings["toolPermissions"]>>[];
  /** Managed settings require a sandbox for every server. */
  requireSandbox?: boolean;
  /** Managed settings require docker/podman images pinned by digest. */
  requireImageDigest?: boolean;
  /** Named sandboxes for `mcp-warden exec --profile`. */
  sandboxProfiles?: Record<string, NonNullable<Settings["sandbox"]>>;
  /** Project and local settings files the user has not trusted: they may only tighten (see `mcp-warden trust`). */
  untrustedFiles: { layer: LayerName; file: string }[];
  /**
   * Remote mode's per-principal rules, by selector. Entries with the same selector in several layers
   * concatenate their rules, each keeping its file and JSON path; rate limits come per field (and
   * per perTool key) from the highest layer that sets them.
   */
  principals: Record<string, PrincipalRules>;
  /**
   * `remote`, merged: each field from the highest layer that sets it; `auth.apiKeys` by key name (the
   * highest layer's entry wins whole); `tls` whole (a certificate and its key belong together).
   * Only managed, command-line and user layers can set any of it (merge-rules.ts). {} when unset.
   */
  remote: RemoteSettings;
  /** `state`: each field from the highest layer that sets it (managed, command-line or user); {} when unset. */
  state: StateSettings;
  /** From the highest layer that sets it (managed, command-line or user). */
  forceLoginMethod?: "sso" | "any";
  forceLoginOrgUUID?: string;
  /** Things ignored on purpose, one sentence each. */
  warnings: string[];
}

export interface ResolveOptions {
  env: NodeJS.ProcessEnv;
  managedMcp?: ManagedMcp;
}

const MANAGED_ONLY_FLAGS = ["allowManagedMcpServersOnly", "allowManagedPermissionRulesOnly", "requireSandbox", "requireImageDigest", "requirePinnedPackages"] as const;

/** Merges layers given highest precedence first (the order of LAYER_ORDER; several files may share a layer). */
export function resolveSettings(input: SettingsLayer[], opts: ResolveOptions): ResolvedSettings {
  checkOrder(input);
  const warnings: string[] = [];
  // Untrusted project and local layers lose what they may not set (merge-rules.ts) before anything merges.
  const trust = applyTrust(input, warnings);
  const layers = trust.layers;
  const managed = layers.filter((l) => l.layer === "managed");

  // Only the organization may lock settings down. A `true` in any managed file counts, even if a later
  // managed drop-in says `false`: unlocking takes removing the `true`, never adding a file (fail closed).
  const managedRulesOnly = managed.some((l) => l.settings.allowManagedPermissionRulesOnly === true);
  const managedServersOnly = managed.some((l) => l.settings.allowManagedMcpServersOnly === true);
  for (const l of layers) {
    if (l.layer === "managed") continue;
    for (const flag of MANAGED_ONLY_FLAGS)
      if (l.settings[flag] !== undefined) warnings.push(`${l.file}: '${flag}' is only honoured in managed settings; ignored`);
  }

  // Rules: concatenated from every layer; the policy core evaluates deny first, so a deny anywhere wins.
  const allow: Sourced<string>[] = [];
  const ask: Sourced<string>[] = [];
  const deny: Sourced<string>[] = [];
  const autoApprove: Sourced<string>[] = [];
  const toolPermissions: ResolvedSettings["toolPermissions"] = [];
  const seedRules: Sourced<SeedRule>[] = [];
  const additionalDirectories: Sourced<string>[] = [];
  for (const l of layers) {
    const p = l.settings.permissions;
    if (managedRulesOnly && l.layer !== "managed") {
      const dropped =
        (p?.allow?.length ?? 0) +
        (p?.ask?.length ?? 0) +
        (p?.deny?.length ?? 0) +
        (l.settings.autoApproveTools?.length ?? 0) +
        Object.keys(l.settings.toolPermissions ?? {}).length +
        (p?.additionalDirectories?.length ?? 0) +
        (l.settings.allowedTools?.length ?? 0) +
        Object.keys(l.settings.requireApproval ?? {}).length +
        (l.settings.denyCommands?.length ?? 0);
      if (dropped > 0)
        warnings.push(
          `${l.file}: ${dropped} permission entr${dropped === 1 ? "y" : "ies"} (permissions.allow/ask/deny/additionalDirectories, autoApproveTools, toolPermissions, allowedTools, requireApproval, denyCommands) ignored: managed settings set allowManagedPermissionRulesOnly`,
        );
      continue;
    }
    allow.push(...sourced(l, p?.allow, "permissions.allow"));
    // Claude Code's older name for the allow list: the same rules, trusted layers only (merge-rules.ts).
    allow.push(...sourced(l, l.settings.allowedTools, "allowedTools"));
    seedRules.push(...seedRulesOf(l));
    ask.push(...sourced(l, p?.ask, "permissions.ask"));
    deny.push(...sourced(l, p?.deny, "permissions.deny"));
    autoApprove.push(...sourced(l, l.settings.autoApproveTools, "autoApproveTools"));
    if (l.settings.toolPermissions) toolPermissions.push({ value: l.settings.toolPermissions, source: src(l, "toolPermissions") });
    additionalDirectories.push(...sourced(l, p?.additionalDirectories, "permissions.additionalDirectories"));
  }
  warnings.push(...shadowedAllowCommands(allow, toolPermissions));
  // With managed-only rules, a mode from another layer could undo them (bypassPermissions turns
  // every ask into allow), so only the managed layer may set the mode then.
  const modeLayers = managedRulesOnly ? layers.filter((l) => l.layer === "managed") : layers;
  const defaultMode = pick(modeLayers, (s) => s.permissions?.defaultMode)?.value ?? "default";
  // Disabling bypass only restricts, so it counts from every layer, managed-only rules or not.
  const bypassDisabled = layers.some(
    (l) => l.settings.permissions?.disableBypassPermissionsMode === "disable" || l.settings.disableBypassPermissionsMode === "disable",
  );

  const clientRequests: ClientRequestConfig = {
    sampling: pick(layers, (s) => s.clientRequests?.sampling)?.value ?? CLIENT_REQUEST_DEFAULTS.sampling,
    elicitation: pick(layers, (s) => s.clientRequests?.elicitation)?.value ?? CLIENT_REQUEST_DEFAULTS.elicitation,
    roots: pick(layers, (s) => s.clientRequests?.roots)?.value ?? CLIENT_REQUEST_DEFAULTS.roots,
  };
  // A server of an untrusted layer is held to the trusted global sandbox and to the global limits.
  const serverBase: Parameters<typeof narrowServer>[3] = {
    clientRequests: { ...clientRequests },
    callTimeoutMs: pick(layers, (s) => s.gateway?.callTimeoutMs)?.value ?? GATEWAY_DEFAULTS.callTimeoutMs,
  };
  if (trust.trustedSandbox !== undefined) serverBase.trustedSandbox = trust.trustedSandbox;

  const substituted = new Set<string>();
  const servers = resolveServers(layers, opts, warnings, substituted, serverBase);
  const gateway = resolveGateway(layers, opts.env, servers);
  const audit: AuditConfig = {
    dir: dirSetting(layers, (s) => s.audit?.dir, "audit.dir") ?? defaultAuditDir(opts.env),
    fsyncIntervalMs: pick(layers, (s) => s.audit?.fsyncIntervalMs)?.value ?? AUDIT_DEFAULTS.fsyncIntervalMs,
  };
  const hmacKeyFile = pick(layers, (s) => s.audit?.hmacKeyFile);
  if (hmacKeyFile) {
    audit.hmacKeyFile = isAbsolute(hmacKeyFile.value) ? hmacKeyFile.value : resolve(dirname(hmacKeyFile.layer.file), hmacKeyFile.value);
    // The key that makes the audit checkpoint unforgeable is never the agent's to read or change:
    // deny rules, so every reader and writer the rules know (Read, Grep, the shell's readers and
    // writers, symlinks to it) is refused, whatever other layers allow.
    for (const tool of ["Read", "Edit"]) deny.push({ value: `${tool}(/${audit.hmacKeyFile})`, source: src(hmacKeyFile.layer, "audit.hmacKeyFile") });
  }
  // Each running gateway's status file holds its approval page's admin token: an agent that read it
  // could approve its own calls. mcp-warden's commands read it themselves; the agent's tools may not.
  const running = runtimeDir(opts.env);
  for (const tool of ["Read", "Edit"]) deny.push({ value: `${tool}(/${running}/**)`, source: { layer: "managed", file: "<mcp-warden built-in>", path: "the running gateways' status files (approval tokens)" } });

  const deniedMcpServers = layers.flatMap((l) => sourced(l, l.settings.deniedMcpServers, "deniedMcpServers"));
  let allowedMcpServers: Sourced<ServerMatcher>[] | undefined;
  let narrowMcpServers: Sourced<ServerMatcher>[][] | undefined;
  if (managedServersOnly) {
    // Only the managed allowlist counts. If managed settings give none, nothing is allowed ([] is lockdown):
    // an absent list must not fall back to "no restriction" when the organization asked for control.
    allowedMcpServers = managed.flatMap((l) => sourced(l, l.settings.allowedMcpServers, "allowedMcpServers"));
    for (const l of layers)
      if (l.layer !== "managed" && l.settings.allowedMcpServers !== undefined)
        warnings.push(`${l.file}: 'allowedMcpServers' ignored: managed settings set allowManagedMcpServersOnly`);
  } else {
    // Trusted lists are a union; each untrusted one narrows it (a server must match it too), never extends it.
    const trustedLists = layers.filter((l) => isTrustedLayer(l) && l.settings.allowedMcpServers !== undefined);
    if (trustedLists.length > 0) allowedMcpServers = trustedLists.flatMap((l) => sourced(l, l.settings.allowedMcpServers, "allowedMcpServers"));
    const narrowing = layers.filter((l) => !isTrustedLayer(l) && l.settings.allowedMcpServers !== undefined);
    if (narrowing.length > 0) narrowMcpServers = narrowing.map((l) => sourced(l, l.settings.allowedMcpServers, "allowedMcpServers"));
  }

  const policy: PolicyInput = {
    allow,
    ask,
    deny,
    autoApprove,
    defaultMode,
    bypassDisabled,
    servers,
    deniedMcpServers,
    exclusiveManagedServers: opts.managedMcp !== undefined,
    toolPermissions,
    seedRules,
    additionalDirectories,
  };
  if (managed.some((l) => l.settings.requirePinnedPackages === true)) policy.requirePinnedPackages = true;
  if (allowedMcpServers !== undefined) policy.allowedMcpServers = allowedMcpServers;
  if (narrowMcpServers !== undefined) policy.narrowMcpServers = narrowMcpServers;

  const files = input.map((l) => ({ layer: l.layer, file: l.file }));
  if (opts.managedMcp) files.unshift({ layer: "managed", file: opts.managedMcp.file });

  const resolved: ResolvedSettings = {
    files,
    policy,
    servers,
    gateway,
    audit,
    approvals: {
      timeoutMs: pick(layers, (s) => s.approvals?.timeoutMs)?.value ?? APPROVAL_DEFAULTS.timeoutMs,
      client: pick(layers, (s) => s.approvals?.client)?.value ?? APPROVAL_DEFAULTS.client,
      page: pick(layers, (s) => s.approvals?.page)?.value ?? APPROVAL_DEFAULTS.page,
      holdMs: pick(layers, (s) => s.approvals?.holdMs)?.value ?? APPROVAL_DEFAULTS.holdMs,
      retryWindowMs: pick(layers, (s) => s.approvals?.retryWindowMs)?.value ?? APPROVAL_DEFAULTS.retryWindowMs,
    },
    // Project and local layers can only strengthen these (narrow.ts), trusted or not.
    integrity: {
      pins: pick(layers, (s) => s.integrity?.pins)?.value ?? INTEGRITY_DEFAULTS.pins,
      scanDefinitions: pick(layers, (s) => s.integrity?.scanDefinitions)?.value ?? INTEGRITY_DEFAULTS.scanDefinitions,
      maxResultBytes: pick(layers, (s) => s.integrity?.maxResultBytes)?.value ?? INTEGRITY_DEFAULTS.maxResultBytes,
      stripControlCharacters: pick(layers, (s) => s.integrity?.stripControlCharacters)?.value ?? INTEGRITY_DEFAULTS.stripControlCharacters,
      keepLogControlCharacters: pick(layers, (s) => s.integrity?.keepLogControlCharacters)?.value ?? INTEGRITY_DEFAULTS.keepLogControlCharacters,
    },
    clientRequests,
    secretScanning: {
      arguments: pick(layers, (s) => s.secretScanning?.arguments)?.value ?? SECRET_SCANNING_DEFAULTS.arguments,
      results: pick(layers, (s) => s.secretScanning?.results)?.value ?? SECRET_SCANNING_DEFAULTS.results,
      values: namedSecrets(servers, layers.flatMap((l) => l.settings.secretScanning?.values ?? []), opts.env),
      formats: pick(layers, (s) => s.secretScanning?.formats)?.value ?? SECRET_SCANNING_DEFAULTS.formats,
    },
    secrets: collectSecrets(servers, substituted, opts.env),
    toolPermissions,
    bashSandbox: resolveBashSandbox(input, layers, (l) => !managedRulesOnly || l.layer === "managed", warnings),
    untrustedFiles: trust.untrustedFiles,
    principals: resolvePrincipals(layers, managedRulesOnly, warnings),
    remote: resolveRemote(layers),
    state: resolveState(layers),
    warnings,
  };
  const forceLoginMethod = pick(layers, (s) => s.forceLoginMethod);
  if (forceLoginMethod) resolved.forceLoginMethod = forceLoginMethod.value;
  const forceLoginOrgUUID = pick(layers, (s) => s.forceLoginOrgUUID);
  if (forceLoginOrgUUID) resolved.forceLoginOrgUUID = forceLoginOrgUUID.value;
  // The trusted global sandbox, narrowed by untrusted layers (narrow.ts): never replaced by them.
  if (trust.sandbox !== undefined) resolved.sandbox = trust.sandbox;
  resolved.requireSandbox = managed.some((l) => l.settings.requireSandbox === true);
  resolved.requireImageDigest = managed.some((l) => l.settings.requireImageDigest === true);
  // Profiles merge by name, the highest layer's profile winning whole.
  const profiles: Record<string, NonNullable<Settings["sandbox"]>> = {};
  for (const l of [...layers].reverse()) Object.assign(profiles, l.settings.sandboxProfiles ?? {});
  resolved.sandboxProfiles = profiles;
  return resolved;
}

function checkOrder(layers: SettingsLayer[]): void {
  for (let i = 1; i < layers.length; i++) {
    const before = LAYER_ORDER.indexOf(layers[i - 1]!.layer);
    const here = LAYER_ORDER.indexOf(layers[i]!.layer);
    // A caller bug here would silently invert precedence; refuse instead.
    if (here < before)
      throw new Error(`resolveSettings: layers must be given highest precedence first; '${layers[i]!.layer}' comes after '${layers[i - 1]!.layer}'`);
  }
}

function src(l: SettingsLayer, path: string): Source {
  return { layer: l.layer, file: l.file, path };
}

function sourced<T>(l: SettingsLayer, list: readonly T[] | undefined, base: string): Sourced<T>[] {
  return (list ?? []).map((value, i) => ({ value, source: src(l, `${base}[${i}]`) }));
}

/**
 * A rule that allows every Bash command (`Bash` in allowedTools, as the first seed's CLI example
 * writes it) leaves toolPermissions.Bash.allowCommands nothing to allow: said, never silently moot.
 */
function shadowedAllowCommands(allow: Sourced<string>[], blocks: ResolvedSettings["toolPermissions"]): string[] {
  const every = allow.find((r) => r.value === "Bash" || r.value === "Bash(*)");
  const lists = blocks.filter((b) => (b.value["Bash"]?.allowCommands?.length ?? 0) > 0);
  if (!every || lists.length === 0) return [];
  return [
    `${every.source.file}: ${every.source.path} ${JSON.stringify(every.value)} allows every Bash command no deny or ask rule matches, so toolPermissions.Bash.allowCommands (${lists
      .map((b) => b.source.file)
      .join(", ")}) allows nothing more; to allow only the listed commands, take "Bash" out of ${every.source.path.replace(/\[\d+\]$/, "")}`,
  ];
}

/** The first seed's top-level `requireApproval` (ask) and `denyCommands` (deny, Bash), each entry with its JSON path. */
function seedRulesOf(l: SettingsLayer): Sourced<SeedRule>[] {
  const out: Sourced<SeedRule>[] = [];
  for (const [tool, v] of Object.entries(l.settings.requireApproval ?? {})) {
    const at = joinPath("requireApproval", tool);
    if (v === true) out.push({ value: { effect: "ask", tool }, source: src(l, at) });
    else if (Array.isArray(v)) v.forEach((pattern, i) => out.push({ value: { effect: "ask", tool, pattern }, source: src(l, `${at}[${i}]`) }));
  }
  (l.settings.denyCommands ?? []).forEach((pattern, i) => out.push({ value: { effect: "deny", tool: "Bash", pattern }, source: src(l, `denyCommands[${i}]`) }));
  return out;
}

/** A server's requests to the client: its own `clientRequests` per kind, else the global setting. */
export function clientRequestsFor(server: ConfiguredServer, settings: Pick<ResolvedSettings, "clientRequests">): ClientRequestConfig {
  const own = server.entry.clientRequests ?? {};
  return {
    sampling: own.sampling ?? settings.clientRequests.sampling,
    elicitation: own.elicitation ?? settings.clientRequests.elicitation,
    roots: own.roots ?? settings.clientRequests.roots,
  };
}

/** The value from the highest layer that sets it, with that layer. */
function pick<T>(layers: SettingsLayer[], get: (s: Settings) => T | undefined): { value: T; layer: SettingsLayer } | undefined {
  for (const layer of layers) {
    const value = get(layer.settings);
    if (value !== undefined) return { value, layer };
  }
  return undefined;
}

function resolveServers(
  layers: SettingsLayer[],
  opts: ResolveOptions,
  warnings: string[],
  substituted: Set<string>,
  untrustedBase: Parameters<typeof narrowServer>[3],
): ConfiguredServer[] {
  const chosen: { name: string; entry: ServerEntry; source: Source; managed: boolean }[] = [];
  if (opts.managedMcp) {
    const file = opts.managedMcp.file;
    for (const [name, entry] of Object.entries(opts.managedMcp.servers))
      chosen.push({ name, entry, source: { layer: "managed", file, path: joinPath("mcpServers", name) }, managed: true });
    for (const l of layers)
      for (const name of Object.keys(l.settings.mcpServers ?? {}))
        warnings.push(`${l.file}: server '${name}' ignored: ${file} is the exclusive server set`);
  } else {
    // Per name, the highest layer's entry wins whole: merging fields across layers could build a
    // server (say, one layer's command with another's env) that nobody wrote. An untrusted layer
    // cannot replace a server a trusted layer defines: the trusted entry wins, wherever it sits.
    const trustedDefiner = new Map<string, SettingsLayer>();
    for (const l of layers)
      if (isTrustedLayer(l)) for (const name of Object.keys(l.settings.mcpServers ?? {})) if (!trustedDefiner.has(name)) trustedDefiner.set(name, l);
    const seen = new Set<string>();
    for (const l of layers)
      for (const [name, raw] of Object.entries(l.settings.mcpServers ?? {})) {
        if (seen.has(name)) continue;
        const at = joinPath("mcpServers", name);
        let entry = raw;
        if (!isTrustedLayer(l)) {
          const owner = trustedDefiner.get(name);
          if (owner) {
            warnings.push(
              `${l.layer} settings ${l.file}: ${at} ignored: the ${owner.layer} settings (${owner.file}) define a server of that name, and untrusted ${l.layer} settings cannot replace it; run \`mcp-warden trust\` in ${dirname(dirname(l.file))} to trust this exact content`,
            );
            continue;
          }
          entry = narrowServer(raw, l, at, untrustedBase, warnings);
        }
        seen.add(name);
        chosen.push({ name, entry, source: src(l, at), managed: l.layer === "managed" });
      }
  }

  const servers: ConfiguredServer[] = chosen.map(({ name, entry, source, managed }) => {
    // The schema checks names already; checked again because callers may build layers in code.
    const problem = serverNameProblem(name);
    if (problem !== undefined) throw new SettingsError(source.file, source.path, `invalid server name ${JSON.stringify(name)}: ${problem}`);
    // Only entries that are used get expanded: a variable missing for an overridden entry is no error.
    const configured: ConfiguredServer = { name, entry: expandServerEntry(entry, opts.env, source.file, source.path, substituted), source, managed };
    const variables = referencedVariables(entry);
    if (Object.keys(variables).length) configured.variables = variables;
    return configured;
  });
  servers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Rules match server names; two names that differ only in case invite a rule meant for one to miss.
  const byLower = new Map<string, ConfiguredServer>();
  for (const s of servers) {
    const other = byLower.get(s.name.toLowerCase());
    if (other)
      throw new SettingsError(
        s.source.file,
        s.source.path,
        `server '${s.name}' and server '${other.name}' (${other.source.file}) differ only in case; rename one`,
      );
    byLower.set(s.name.toLowerCase(), s);
  }
  return servers;
}

function resolveGateway(layers: SettingsLayer[], env: NodeJS.ProcessEnv, servers: ConfiguredServer[]): GatewayConfig {
  const sep = pick(layers, (s) => s.gateway?.separator);
  const separator = sep?.value ?? GATEWAY_DEFAULTS.separator;
  for (const s of servers)
    if (s.name.includes(separator))
      throw new SettingsError(
        s.source.file,
        s.source.path,
        `server name '${s.name}' contains the separator '${separator}' (${sep ? `gateway.separator in ${sep.layer.file}` : "the default separator"}), so exposed names would be ambiguous`,
      );

  const prefix = pick(layers, (s) => s.gateway?.prefix);
  if (prefix?.value === false) {
    const enabled = servers.filter((s) => s.entry.disabled !== true);
    if (enabled.length > 1)
      throw new SettingsError(
        prefix.layer.file,
        "gateway.prefix",
        `'prefix: false' needs at most one enabled server, but ${enabled.length} are enabled: ${enabled
          .map((s) => `'${s.name}' (${s.source.file})`)
          .join(", ")}`,
      );
  }

  const d = GATEWAY_DEFAULTS;
  const initial = pick(layers, (s) => s.gateway?.restart?.initialDelayMs);
  const max = pick(layers, (s) => s.gateway?.restart?.maxDelayMs);
  const restart = {
    maxRestarts: pick(layers, (s) => s.gateway?.restart?.maxRestarts)?.value ?? d.restart.maxRestarts,
    initialDelayMs: initial?.value ?? d.restart.initialDelayMs,
    maxDelayMs: max?.value ?? d.restart.maxDelayMs,
  };
  if (restart.initialDelayMs > restart.maxDelayMs) {
    const blame = initial ?? max!;
    throw new SettingsError(
      blame.layer.file,
      initial ? "gateway.restart.initialDelayMs" : "gateway.restart.maxDelayMs",
      `initialDelayMs (${restart.initialDelayMs}) must not exceed maxDelayMs (${restart.maxDelayMs})`,
    );
  }

  return {
    separator,
    prefix: prefix?.value ?? d.prefix,
    startup: pick(layers, (s) => s.gateway?.startup)?.value ?? d.startup,
    callTimeoutMs: pick(layers, (s) => s.gateway?.callTimeoutMs)?.value ?? d.callTimeoutMs,
    maxMessageBytes: pick(layers, (s) => s.gateway?.maxMessageBytes)?.value ?? d.maxMessageBytes,
    restart,
    logDir: dirSetting(layers, (s) => s.gateway?.logDir, "gateway.logDir") ?? defaultLogDir(env),
    pageSize: pick(layers, (s) => s.gateway?.pageSize)?.value ?? d.pageSize,
  };
}

/** A directory setting from the highest layer that sets it; relative paths are relative to that file. */
function dirSetting(layers: SettingsLayer[], get: (s: Settings) => string | undefined, path: string): string | undefined {
  const hit = pick(layers, get);
  if (!hit) return undefined;
  const { value, layer } = hit;
  if (value === "") throw new SettingsError(layer.file, path, "must not be empty");
  // `~` is not expanded (as in server entries); a directory literally named `~` is almost surely a mistake.
  if (value.startsWith("~")) throw new SettingsError(layer.file, path, `'~' is not expanded; write an absolute path (got ${JSON.stringify(value)})`);
  if (isAbsolute(value)) return resolve(value);
  if (!isAbsolute(layer.file))
    throw new SettingsError(layer.file, path, `a relative directory (${JSON.stringify(value)}) needs a settings file with a location; write an absolute path`);
  return resolve(dirname(layer.file), value);
}

/** Whole env and header values, the credential after an auth scheme, and every substituted variable. */
/**
 * An env entry whose name says its value is a credential: the scanner's own name test, plus names
 * ending in KEY or PAT (`OPENAI_KEY`, `GITHUB_PAT`), which in an environment almost always are.
 */
const isSecretEnvName = (name: string) => isSecretName(name) || /(?:^|[_-])(?:key|pat)$/i.test(name);

/** The credential of an `Authorization`-style header value (`Bearer abc` → `abc`). */
const headerCredential = (value: string) => /^\s*[A-Za-z][\w-]*\s+(\S.*)$/.exec(value)?.[1];

/** The secret values scanned for in flight, each with a name for messages (the value is never shown). */
function namedSecrets(servers: ConfiguredServer[], envNames: string[], env: NodeJS.ProcessEnv): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const s of servers) {
    for (const [k, v] of Object.entries(s.entry.headers ?? {})) {
      out.push({ name: `${s.name} header ${k}`, value: v });
      const credential = headerCredential(v);
      if (credential) out.push({ name: `${s.name} header ${k}`, value: credential });
    }
    for (const [k, v] of Object.entries(s.entry.env ?? {})) if (isSecretEnvName(k)) out.push({ name: `${s.name} env ${k}`, value: v });
    const secretEnv = s.entry.tokenExchange?.clientSecretEnv;
    if (secretEnv !== undefined && env[secretEnv]) out.push({ name: `${s.name} tokenExchange $${secretEnv}`, value: env[secretEnv] });
  }
  for (const name of envNames) {
    const v = env[name];
    if (v) out.push({ name: `$${name}`, value: v });
  }
  return out.filter((x) => x.value !== "");
}

function collectSecrets(servers: ConfiguredServer[], substituted: Set<string>, env: NodeJS.ProcessEnv): string[] {
  const found = new Set<string>(substituted);
  for (const s of servers) {
    // The gateway's client secret at the identity provider (token exchange).
    const clientSecret = s.entry.tokenExchange ? env[s.entry.tokenExchange.clientSecretEnv] : undefined;
    if (clientSecret) found.add(clientSecret);
    for (const value of [...Object.values(s.entry.env ?? {}), ...Object.values(s.entry.headers ?? {})]) found.add(value);
    for (const value of Object.values(s.entry.headers ?? {})) {
      const credential = headerCredential(value);
      if (credential) found.add(credential);
    }
    // A password in the URL is a credential too (sent as Basic authorization, never logged).
    if (s.entry.url && URL.canParse(s.entry.url)) {
      const password = new URL(s.entry.url).password;
      if (password) for (const v of [password, decodeURIComponent(password)]) found.add(v);
    }
  }
  // An empty string is no secret, and redacting "" would mangle every line.
  found.delete("");
  // Longest first, so a secret that contains another is redacted whole.
  return [...found].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
}

/** Shared state's stores: each from the highest layer that sets it. */
function resolveState(layers: SettingsLayer[]): StateSettings {
  const out: StateSettings = {};
  const redis = pick(layers, (s) => s.state?.redis);
  if (redis) out.redis = redis.value;
  const postgres = pick(layers, (s) => s.state?.postgres);
  if (postgres) out.postgres = postgres.value;
  return out;
}
