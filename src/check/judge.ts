// One decision for a tool call, as the gateway makes it: the policy, the refusal of settings not
// enforced yet, and the server's guards. Shared by `check`, `check --batch` and the hook; kept free
// of the schema library so that the hook starts fast.
import { existsSync } from "node:fs";
import path from "node:path";
import { fsEnvironment } from "../adapters/fs-environment.js";
import type { PolicyEnvironment } from "../policy/builtin/types.js";
import { compileEgressPolicy, type EgressPolicy } from "../policy/egress/egress.js";
import { remoteEgressFor } from "../policy/egress/remote.js";
import { type CallGuards, compileCallGuards, type SqlGuardFactory } from "../policy/guards/call-guards.js";
import type { SecretScanner, SecretScannerOptions } from "../policy/integrity/secrets.js";

/**
 * The secret scanner is provided by the entry point rather than imported here: it is the largest
 * module of the hook's bundle, and the hook needs it only for MCP tools (src/hook/main.ts loads it
 * then; check.ts provides it at once). Without one, an MCP call is refused, never waved through.
 */
let scannerFactory: ((opts: SecretScannerOptions) => SecretScanner) | undefined;
/** Likewise the SQL guard (PostgreSQL's parser, loaded asynchronously by check.ts; the hook does not carry it). */
let sqlGuardFactory: SqlGuardFactory | undefined;
export function provideSqlGuard(factory: SqlGuardFactory): void {
  sqlGuardFactory = factory;
}
export function provideSecretScanner(factory: (opts: SecretScannerOptions) => SecretScanner): void {
  scannerFactory = factory;
}
import { compileFilesystemGuard, type FilesystemGuard } from "../policy/guards/filesystem.js";
import { compilePolicy, parseCanonical, PolicyError, type CompiledPolicy } from "../policy/index.js";
import type { ConfiguredServer, ToolRequest, Verdict } from "../policy/types.js";
import type { Principal } from "../policy/principal.js";
import { compilePrincipalPolicies, type PrincipalPolicies } from "../policy/principals.js";
import { unenforcedCallFeature } from "../policy/unenforced.js";
import { chooseSandbox } from "../sandbox/policy.js";
import type { ResolvedSettings } from "../settings/resolve.js";

/** Settings compiled once, with what judging a call needs beside the policy. */
export interface CompiledSettings {
  settings: ResolvedSettings;
  policy: CompiledPolicy;
  environment: PolicyEnvironment;
  /** Filesystem guards by server name, compiled at first use. */
  guards: Map<string, FilesystemGuard>;
  /** SQL and argument guards by server name (null: none), compiled at first use. */
  callGuards: Map<string, CallGuards | null>;
  /** Compiled at the first MCP call judged (the hook rarely needs it). */
  secretScanner?: SecretScanner;
  /** Egress policies of sandboxed servers, by server name (compiled when the settings load). */
  egress: Map<string, EgressPolicy>;
  /** Why a server's sandbox keeps it from starting, as the gateway would refuse it (see SandboxGate). */
  sandboxRefusal: SandboxGate;
  /** The per-principal policies (remote mode's `principals`), compiled at first use. */
  principals?: PrincipalPolicies;
}

/** The per-principal policies of these settings; compiling them checks every `principals` rule (PolicyError names its file and path). */
export function principalPolicies(c: CompiledSettings): PrincipalPolicies {
  c.principals ??= compilePrincipalPolicies(c.settings, c.environment, c.policy);
  return c.principals;
}

/**
 * The same settings as one caller sees them: the layers' rules plus those of every `principals`
 * entry it matches. Itself when no entry with rules matches. Filesystem guards are compiled anew for
 * another policy, since they consult its Read/Edit rules.
 */
export function asPrincipal(c: CompiledSettings, p: Principal): CompiledSettings {
  const policy = principalPolicies(c).forPrincipal(p);
  if (policy === c.policy) return c;
  return { ...c, policy, guards: new Map() };
}

/**
 * Whether a server's sandbox keeps it from starting. `check` and `test` pass the gateway's own gate
 * (src/sandbox/gate.ts: settings, then whether the backend runs here); the default here answers from
 * the settings alone, so that the hook, which judges before every tool call, loads no sandbox backend.
 */
export type SandboxGate = (server: ConfiguredServer, settings: ResolvedSettings, home: string, cwd: string) => Verdict | undefined;

const settingsOnlyGate: SandboxGate = (server, settings, home, cwd) => {
  if (server.entry.url !== undefined) return undefined;
  const refused = chooseSandbox(server.entry.sandbox, settings.sandbox, { home, platform: process.platform, baseDir: server.entry.cwd ?? cwd, serverCwd: server.entry.cwd, requireSandbox: settings.requireSandbox === true, requireImageDigest: settings.requireImageDigest === true }).refused;
  return refused === undefined ? undefined : { decision: "deny", reason: `server '${server.name}' is not started: ${refused}` };
};

/** The policy, environment and guards for loaded settings (the CLI's `check`, the hook). */
export function compileSettings(settings: ResolvedSettings, env: NodeJS.ProcessEnv, sandboxRefusal: SandboxGate = settingsOnlyGate): CompiledSettings {
  const environment = fsEnvironment({ env, settingsFiles: settings.files.map((f) => f.file), auditDir: settings.audit.dir, auditKeyFile: settings.audit.hmacKeyFile });
  return { settings, policy: compilePolicy(settings.policy, environment), environment, guards: new Map(), callGuards: new Map(), egress: compileEgress(settings, environment.home), sandboxRefusal };
}

/**
 * Every sandboxed server's network policy, from the same sandbox choice the gateway makes
 * (chooseSandbox: remote servers none, requireSandbox without settings = no network). A bad entry is
 * a PolicyError naming the server's file.
 */
function compileEgress(settings: ResolvedSettings, home: string): Map<string, EgressPolicy> {
  const out = new Map<string, EgressPolicy>();
  for (const server of settings.servers) {
    if (server.entry.url !== undefined) {
      // A remote server: the policy the gateway's own connections to it obey (a refused one has none).
      const remote = remoteEgressFor(server, settings.sandbox);
      if ("egress" in remote) out.set(server.name, remote.egress);
      continue;
    }
    const cwd = server.entry.cwd ?? process.cwd();
    const policy = chooseSandbox(server.entry.sandbox, settings.sandbox, { home, platform: process.platform, baseDir: cwd, serverCwd: server.entry.cwd, requireSandbox: settings.requireSandbox === true, requireImageDigest: settings.requireImageDigest === true }).policy;
    if (policy === undefined) continue;
    try {
      out.set(server.name, compileEgressPolicy(policy.network));
    } catch (e) {
      const where = server.entry.sandbox ? `${server.source.file} at ${server.source.path}.sandbox` : "the global sandbox settings";
      throw new PolicyError(`invalid sandbox network entry for server ${JSON.stringify(server.name)} (${where}): ${(e as Error).message}`, { problem: (e as Error).message });
    }
  }
  return out;
}

/**
 * Whether a server may reach a URL, as its sandbox's egress proxy will judge it, or for a remote
 * server, whether the gateway's own client may connect there (both also check the addresses a name
 * resolves to; this judges the URL alone, without DNS).
 */
export function judgeEgress(c: CompiledSettings, server: string, url: string): Verdict {
  const configured = c.settings.servers.find((s) => s.name === server);
  if (!configured) return { decision: "deny", reason: `no server named ${JSON.stringify(server)} is configured` };
  const policy = c.egress.get(server);
  if (!policy && configured.entry.url !== undefined) {
    const remote = remoteEgressFor(configured, c.settings.sandbox);
    return { decision: "deny", reason: "refused" in remote ? remote.refused : `server ${JSON.stringify(server)} has no network policy` };
  }
  if (!policy) return { decision: "deny", reason: `server ${JSON.stringify(server)} has no sandbox, so mcp-warden does not filter its network; configure sandbox.network to judge its egress` };
  return policy.decideUrl(url);
}

/** The nearest directory at or above `cwd` (absolute) that holds `.mcp-warden/`; undefined when none does. */
export function findProjectRoot(cwd: string): string | undefined {
  for (let dir = path.posix.normalize(cwd); ; dir = path.posix.dirname(dir)) {
    if (existsSync(path.posix.join(dir, ".mcp-warden"))) return dir;
    if (dir === "/") return undefined;
  }
}

/**
 * The project root of `check`, `check --batch` and `test`: the directory holding `.mcp-warden/` at or
 * above cwd, else cwd itself (the policy still refuses `/`, home and its ancestors as a root).
 */
export function checkProjectRoot(cwd: string): string | undefined {
  if (!cwd.startsWith("/")) return undefined;
  return findProjectRoot(cwd) ?? path.posix.normalize(cwd);
}

/**
 * The gateway's decision for a tool call, minus what needs a live server: the policy, then the
 * refusal of settings that are not enforced yet, then the server's guards. Built-in tools (Bash,
 * Read...) are judged relative to `cwd`, the agent's working directory, with the project root and
 * `additionalDirectories` as working directories. `projectRoot` omitted: check's rule
 * (checkProjectRoot); null: there is no project root (the hook without one).
 */
export function judgeToolCall(c: CompiledSettings, tool: string, input: Record<string, unknown>, cwd: string, projectRoot?: string | null): Verdict {
  const request: ToolRequest = { tool, input, cwd };
  if (!tool.startsWith("mcp__")) {
    const root = projectRoot === undefined ? checkProjectRoot(cwd) : projectRoot;
    if (root !== null && root !== undefined) request.projectRoot = root;
  }
  const verdict = c.policy.decideTool(request);
  if (verdict.decision === "deny") return verdict;
  const target = parseCanonical(tool);
  const server = target && c.settings.servers.find((s) => s.name === target.server);
  if (server && target) {
    const refusal = c.sandboxRefusal(server, c.settings, c.environment.home, cwd) ?? unenforcedCallFeature(server);
    if (refusal) return refusal;
    const objection = guardFor(c, server)?.check(target.tool, input, { cwd });
    if (objection && objection.decision !== "allow") return objection;
    let calls = c.callGuards.get(server.name);
    if (calls === undefined) c.callGuards.set(server.name, (calls = compileCallGuards(server, c.environment, sqlGuardFactory) ?? null));
    const constraint = calls?.check(target.tool, input, { cwd });
    if (constraint && constraint.decision !== "allow") return constraint;
  }
  // Secrets in an MCP call's arguments, as the gateway's secrets stage judges them (configured or not).
  if (target && c.settings.secretScanning.arguments === "block") {
    if (!scannerFactory) return { decision: "deny", reason: "the secret scanner is not loaded, so the call cannot be checked for secrets" };
    c.secretScanner ??= scannerFactory({ values: c.settings.secretScanning.values, formats: c.settings.secretScanning.formats });
    const findings = c.secretScanner.scan(input, "arguments");
    if (findings.length)
      return { decision: "deny", reason: `the arguments contain a secret (${findings.slice(0, 5).map((f) => `${f.kind} at ${f.path}`).join(", ")}); mcp-warden does not let secrets leave through tool calls` };
  }
  return verdict;
}

function guardFor(c: CompiledSettings, server: ConfiguredServer): FilesystemGuard | undefined {
  const config = server.entry.guards?.filesystem;
  if (config === undefined) return undefined;
  let guard = c.guards.get(server.name);
  if (!guard) c.guards.set(server.name, (guard = compileFilesystemGuard(config, c.environment, c.policy.fileJudge)));
  return guard;
}

