// Which configured servers may run: managed-only mode, deniedMcpServers, allowedMcpServers, disabled.
// Pure: no I/O.
//
// Order, first answer wins:
//   1. exclusiveManagedServers (managed-mcp.json exists) and the server is not managed → deny
//   2. any deniedMcpServers entry matches → deny (the denylist always wins over the allowlist)
//   3. allowedMcpServers defined and no entry matches → deny (`[]` is a lockdown; undefined: no allowlist);
//      then each narrowing list (the allowedMcpServers of an untrusted project or local layer) must match too
//   4. entry.disabled → deny
//   5. allow
//
// Matchers: `serverName` compares the name; `serverCommand` matches stdio servers only, element by
// element against `[command, ...args]` (same length, each element a `*` glob); `serverUrl` matches
// http/sse servers only, as a `*` glob against the URL normalized by WHATWG `new URL().href` and against
// the raw text. The denylist compares case-insensitively and counts a match on either form, so a
// differently spelled URL of a denied server is still denied. The allowlist is exact (case-sensitive)
// and never matches a URL that does not parse: an allowlist must not admit what it cannot read.
import { packageLaunch, pinHint } from "./package-pins.js";
import type { ServerMatcher } from "../settings/schema.js";
import { fold, Glob } from "./glob.js";
import { PolicyError, describeSource } from "./rules.js";
import type { ConfiguredServer, Source, Sourced, Verdict } from "./types.js";

type Kind = "stdio" | "remote";

interface CompiledMatcher {
  /** The matcher as JSON: the `rule` of a verdict it decides. */
  text: string;
  source: Source;
  test(server: ConfiguredServer): boolean;
  /** The name this matcher compares, for serverName matchers (judging unconfigured servers by name). */
  name?: string;
}

/** The transport the entry describes, inferred as the settings schema does. */
export function serverKind(server: ConfiguredServer): Kind {
  const e = server.entry;
  const type = e.type ?? (e.url ? "http" : "stdio");
  return type === "stdio" ? "stdio" : "remote";
}

/** WHATWG-normalized URL, or undefined when it does not parse. */
function normalizeUrl(raw: string): string | undefined {
  try {
    return new URL(raw).href;
  } catch {
    return undefined;
  }
}

function invalidMatcher(list: string, m: Sourced<unknown>, problem: string): never {
  const text = safeJson(m?.value);
  throw new PolicyError(`invalid ${list} entry ${text} in ${m?.source ? describeSource(m.source) : "(no source)"}: ${problem}`, {
    ...(m?.source ? { source: m.source } : {}),
    rule: text,
  });
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Validates and compiles one matcher. `ci` (denylist): compare case-insensitively and accept a match on
 * either URL form; otherwise (allowlist) exact, and an unparsable URL never matches.
 */
function compileMatcher(list: string, m: Sourced<ServerMatcher>, ci: boolean): CompiledMatcher {
  if (!m || typeof m !== "object" || !m.source) invalidMatcher(list, m, "an entry needs a value and a source");
  const v = m.value as Record<string, unknown>;
  if (!v || typeof v !== "object" || Array.isArray(v)) invalidMatcher(list, m, "an entry is an object");
  const keys = Object.keys(v);
  if (keys.length !== 1) invalidMatcher(list, m, "an entry has exactly one of serverName, serverCommand, serverUrl");
  const text = safeJson(v);
  // A private frozen copy: later changes to the caller's objects cannot alter compiled verdicts.
  const source = Object.freeze({ ...m.source });
  const norm = ci ? fold : (s: string) => s;

  if ("serverName" in v) {
    const name = v.serverName;
    if (typeof name !== "string" || name === "") invalidMatcher(list, m, "serverName must be a non-empty string");
    const want = norm(name);
    return { text, source, name: want, test: (s) => norm(s.name) === want };
  }
  if ("serverCommand" in v) {
    const cmd = v.serverCommand;
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((x) => typeof x === "string"))
      invalidMatcher(list, m, "serverCommand must be a non-empty array of strings");
    const globs = (cmd as string[]).map((x) => new Glob(norm(x)));
    return {
      text,
      source,
      test: (s) => {
        if (serverKind(s) !== "stdio" || typeof s.entry.command !== "string") return false;
        const args = s.entry.args ?? [];
        if (1 + args.length !== globs.length) return false;
        if (!(globs[0] as Glob).test(norm(s.entry.command))) return false;
        for (let i = 0; i < args.length; i++) if (!(globs[i + 1] as Glob).test(norm(args[i] as string))) return false;
        return true;
      },
    };
  }
  if ("serverUrl" in v) {
    const pattern = v.serverUrl;
    if (typeof pattern !== "string" || pattern === "") invalidMatcher(list, m, "serverUrl must be a non-empty string");
    const glob = new Glob(norm(pattern));
    // A pattern without `*` is also compared in normalized form, so `https://Example.com` and
    // `https://example.com/` name the same server (same target, so safe for the allowlist too).
    const normPattern = glob.isLiteral ? normalizeUrl(pattern) : undefined;
    const exactNorm = normPattern === undefined ? undefined : norm(normPattern);
    return {
      text,
      source,
      test: (s) => {
        if (serverKind(s) !== "remote" || typeof s.entry.url !== "string") return false;
        const raw = s.entry.url;
        const href = normalizeUrl(raw);
        if (href === undefined && !ci) return false;
        if (glob.test(norm(raw))) return true;
        if (href === undefined) return false;
        const h = norm(href);
        return glob.test(h) || (exactNorm !== undefined && h === exactNorm);
      },
    };
  }
  invalidMatcher(list, m, "an entry has exactly one of serverName, serverCommand, serverUrl");
}

function freezeVerdict(v: Verdict): Verdict {
  if (v.source) v.source = Object.freeze({ ...v.source });
  return Object.freeze(v);
}

export interface ServerGateInput {
  /** Managed `requirePinnedPackages`: a server started through a package runner must name one exact version. */
  requirePinnedPackages?: boolean;
  allowedMcpServers?: Sourced<ServerMatcher>[];
  narrowMcpServers?: Sourced<ServerMatcher>[][];
  deniedMcpServers: Sourced<ServerMatcher>[];
  exclusiveManagedServers: boolean;
}

/** The server-level checks, compiled once. */
export class ServerGate {
  private readonly denied: CompiledMatcher[];
  private readonly allowed: CompiledMatcher[] | undefined;
  private readonly narrowing: CompiledMatcher[][];
  private readonly exclusive: boolean;
  private readonly requirePinnedPackages: boolean;
  /** Folded serverName of every denylist entry, for servers known only by name. */
  private readonly deniedNames = new Map<string, CompiledMatcher>();
  /** serverName of every allowlist entry, for servers known only by name. */
  private readonly allowedNames = new Map<string, CompiledMatcher>();

  constructor(input: ServerGateInput) {
    if (!Array.isArray(input.deniedMcpServers))
      throw new PolicyError("invalid policy input: deniedMcpServers must be an array");
    if (input.allowedMcpServers !== undefined && !Array.isArray(input.allowedMcpServers))
      throw new PolicyError("invalid policy input: allowedMcpServers must be an array or undefined");
    this.exclusive = input.exclusiveManagedServers === true;
    this.requirePinnedPackages = input.requirePinnedPackages === true;
    this.denied = input.deniedMcpServers.map((m) => compileMatcher("deniedMcpServers", m, true));
    this.allowed = input.allowedMcpServers?.map((m) => compileMatcher("allowedMcpServers", m, false));
    if (input.narrowMcpServers !== undefined && (!Array.isArray(input.narrowMcpServers) || !input.narrowMcpServers.every(Array.isArray)))
      throw new PolicyError("invalid policy input: narrowMcpServers must be an array of arrays or undefined");
    this.narrowing = (input.narrowMcpServers ?? []).map((list) => list.map((m) => compileMatcher("allowedMcpServers", m, false)));
    for (const m of this.denied) if (m.name !== undefined && !this.deniedNames.has(m.name)) this.deniedNames.set(m.name, m);
    for (const m of this.allowed ?? []) if (m.name !== undefined && !this.allowedNames.has(m.name)) this.allowedNames.set(m.name, m);
  }

  get matcherCount(): number {
    return this.denied.length + (this.allowed?.length ?? 0) + this.narrowing.reduce((n, l) => n + l.length, 0);
  }

  /** The verdict for a configured server: only allow or deny. */
  decide(server: ConfiguredServer): Verdict {
    if (!server || typeof server !== "object" || typeof server.name !== "string" || !server.entry || typeof server.entry !== "object")
      return freezeVerdict({ decision: "deny", reason: "malformed server definition" });
    const name = JSON.stringify(server.name);
    if (this.exclusive && server.managed !== true)
      return freezeVerdict({
        decision: "deny",
        reason: `server ${name} is not managed, and managed-mcp.json defines the exclusive server set`,
        source: server.source,
      });
    for (const m of this.denied)
      if (m.test(server))
        return freezeVerdict({ decision: "deny", reason: `server ${name} matches deniedMcpServers`, rule: m.text, source: m.source });
    let allowedBy: CompiledMatcher | undefined;
    if (this.allowed) {
      allowedBy = this.allowed.find((m) => m.test(server));
      if (!allowedBy)
        return freezeVerdict({
          decision: "deny",
          reason:
            this.allowed.length === 0
              ? `server ${name} is not on allowedMcpServers (an empty allowedMcpServers is a lockdown: no server may run)`
              : `server ${name} is not on allowedMcpServers`,
        });
    }
    for (const list of this.narrowing)
      if (!list.some((m) => m.test(server))) return freezeVerdict(notOnNarrowing(name, list));
    if (server.entry.disabled === true)
      return freezeVerdict({ decision: "deny", reason: `server ${name} is disabled in settings`, source: server.source });
    // Fail closed on an entry that names no way to reach the server (settings reject these; be sure).
    const kind = serverKind(server);
    if (kind === "stdio" ? typeof server.entry.command !== "string" || server.entry.command === "" : typeof server.entry.url !== "string")
      return freezeVerdict({
        decision: "deny",
        reason: `server ${name} has no ${kind === "stdio" ? "command" : "url"}`,
        source: server.source,
      });
    if (kind === "stdio" && this.requirePinnedPackages) {
      const launch = packageLaunch(server.entry.command as string, server.entry.args ?? []);
      if (launch !== undefined && launch.version === undefined)
        return freezeVerdict({
          decision: "deny",
          reason:
            `server ${name} starts ${launch.spec !== undefined ? JSON.stringify(launch.spec) : "a package"} through ${launch.runner} without one exact version, so every start may run a newer release; ` +
            `managed settings require pinned packages (requirePinnedPackages): ${pinHint(launch)}`,
          source: server.source,
        });
    }
    if (allowedBy)
      return freezeVerdict({
        decision: "allow",
        reason: `server ${name} is on allowedMcpServers`,
        rule: allowedBy.text,
        source: allowedBy.source,
      });
    return freezeVerdict({ decision: "allow", reason: `server ${name} is permitted (no server restriction applies)`, source: server.source });
  }

  /**
   * For a tool call naming a server that is not configured (check --batch may send rules without
   * servers): the checks that the name alone can decide. A server that is not configured is not
   * managed; a serverName denylist entry applies by name; with an allowlist, only a serverName entry
   * can vouch for it, since its command or URL is unknown. undefined: judge by rules only.
   */
  decideUnconfigured(serverName: string): Verdict | undefined {
    const name = JSON.stringify(serverName);
    if (this.exclusive)
      return freezeVerdict({ decision: "deny", reason: `server ${name} is not configured in managed-mcp.json, which defines the exclusive server set` });
    const denied = this.deniedNames.get(fold(serverName));
    if (denied) return freezeVerdict({ decision: "deny", reason: `server ${name} matches deniedMcpServers`, rule: denied.text, source: denied.source });
    if (this.allowed && !this.allowedNames.has(serverName))
      return freezeVerdict({
        decision: "deny",
        reason: `server ${name} is not configured and no serverName entry of allowedMcpServers names it`,
      });
    for (const list of this.narrowing) if (!list.some((m) => m.name === serverName)) return freezeVerdict(notOnNarrowing(name, list));
    return undefined;
  }
}

/** A narrowing list's refusal names the file it came from (every entry of one list shares its file). */
function notOnNarrowing(name: string, list: CompiledMatcher[]): Verdict {
  const where = list[0]?.source;
  return {
    decision: "deny",
    reason: `server ${name} is not on allowedMcpServers of untrusted ${where ? `${where.layer} settings ${where.file}` : "settings"}${list.length === 0 ? " (an empty list is a lockdown)" : ""}, which may narrow the servers allowed but never extend them`,
  };
}
