// `mcp-warden status`: what each running gateway says about its servers (from the status files in
// the runtime directory), or, when none runs, what the settings would do. Also holds the small
// display helpers the other admin commands share.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { compileRedactor, type Redactor } from "../audit/redact.js";
import { compilePolicy, PolicyError, type CompiledPolicy } from "../policy/index.js";
import type { ConfiguredServer, Verdict } from "../policy/types.js";
import { sandboxFor } from "../sandbox/gate.js";
import { homeDir } from "../settings/paths.js";
import { withPinStore } from "../adapters/pin-store-factory.js";
import { launchStatus, REPOSITORY_LAYERS } from "../gateway/launch-approval.js";
import type { ResolvedSettings } from "../settings/index.js";
import { runtimeDir } from "../settings/paths.js";
import { isAlive, reapOrphans } from "../upstream/orphans.js";

export { isAlive };
import type { ServerStatus } from "../gateway/gateway.js";

export interface GatewayStatus {
  pid: number;
  cwd: string;
  updatedAt: string;
  settingsFiles: { layer: string; file: string }[];
  auditFile?: string;
  servers: ServerStatus[];
}

export interface ConfiguredStatus {
  name: string;
  transport: string;
  /** awaiting approval: its launch needs a person's approval first (a project's own server, a changed launch configuration). */
  state: "not running" | "blocked" | "awaiting approval";
  reason?: string;
  /** The sandbox a gateway would run it in: a backend, "none", or "remote" (a remote server's connections are judged instead). */
  sandbox: string;
  layer: string;
  file: string;
}

export async function statusCommand(opts: { settings: ResolvedSettings; env: NodeJS.ProcessEnv; json?: boolean }, out: NodeJS.WritableStream): Promise<number> {
  const redact = compileRedactor(opts.settings.secrets);
  // Servers left running by a gateway that was killed outright are stopped first.
  for (const what of reapOrphans(runtimeDir(opts.env))) process.stderr.write(`mcp-warden status: stopped ${redact.string(what)}\n`);
  const { gateways, problems } = readLiveGateways(opts.env, redact);
  for (const p of problems) process.stderr.write(`mcp-warden status: warning: ${p}\n`);
  const policy = compilePolicyOrReport(opts.settings, "status");
  if (!policy) return 2;
  const configured: ConfiguredStatus[] = opts.settings.servers.map((s) => {
    // serverVerdict's order (the policy, then the sandbox), with the sandbox decided once for both columns.
    const sandbox = sandboxFor(s, opts.settings, homeDir(process.env), process.cwd());
    const allowed = policy.decideServer(s);
    const v = allowed.decision === "allow" && sandbox.kind === "refused" ? sandbox.verdict : allowed;
    const c: ConfiguredStatus = {
      name: s.name,
      transport: transportOf(s),
      state: v.decision === "allow" ? "not running" : "blocked",
      sandbox: sandbox.kind === "sandboxed" ? sandbox.policy.type : sandbox.kind === "refused" ? "refused" : sandbox.kind,
      layer: s.source.layer,
      file: s.source.file,
    };
    if (v.decision !== "allow") c.reason = redact.string(v.reason);
    return c;
  });
  // Whether a gateway would start it at once, or wait for a person (src/gateway/launch-approval.ts).
  await withPinStore(opts.settings, opts.env, async (store) => {
    for (const c of configured) {
      if (c.state !== "not running") continue;
      const server = opts.settings.servers.find((s) => s.name === c.name)!;
      try {
        const launch = await launchStatus(store, server);
        if (launch.status === "needs-approval" && (opts.settings.integrity.pins || REPOSITORY_LAYERS.has(server.source.layer))) {
          c.state = "awaiting approval";
          c.reason = `${redact.string(launch.why)}; \`mcp-warden pins approve ${server.name}\` shows and approves it`;
        }
      } catch (e) {
        c.state = "blocked";
        c.reason = `its approval cannot be checked: ${redact.string((e as Error).message)}`;
      }
    }
  });
  const untrusted = opts.settings.untrustedFiles;

  if (opts.json) {
    out.write(JSON.stringify({ gateways, configured, untrustedFiles: untrusted }, null, 2) + "\n");
    return 0;
  }
  // Settings a repository may have written count only as far as they tighten: say which, and how to trust them.
  for (const u of untrusted)
    out.write(`untrusted ${u.layer} settings: ${clean(u.file)} (it may only tighten your policy; review it and run \`mcp-warden trust\` in ${clean(dirname(dirname(u.file)))})\n`);
  if (gateways.length === 0) {
    out.write(`no running gateway (status files are read from ${clean(runtimeDir(opts.env))})\n`);
    if (configured.length === 0) {
      out.write("no servers configured\n");
      return 0;
    }
    out.write("\nconfigured servers:\n");
    out.write(
      formatTable(
        ["NAME", "STATE", "TRANSPORT", "SANDBOX", "DEFINED IN"],
        configured.map((c) => [c.name, c.state === "not running" ? c.state : `${c.state}: ${c.reason ?? ""}`, c.transport, c.sandbox, `${c.layer}: ${c.file}`]),
        "  ",
      ),
    );
    return 0;
  }
  for (const [i, g] of gateways.entries()) {
    if (i > 0) out.write("\n");
    out.write(`gateway pid ${g.pid}  cwd ${clean(g.cwd)}  updated ${clean(g.updatedAt)}\n`);
    if (g.settingsFiles.length) out.write(`  settings: ${g.settingsFiles.map((f) => `${clean(f.layer)}:${clean(f.file)}`).join(", ")}\n`);
    if (g.auditFile) out.write(`  audit log: ${clean(g.auditFile)}\n`);
    if (g.servers.length === 0) {
      out.write("  no servers\n");
      continue;
    }
    out.write(
      formatTable(
        ["NAME", "STATE", "TRANSPORT", "TOOLS", "RESTARTS", "SANDBOX", "LAST ERROR"],
        g.servers.map((s) => [
          s.name,
          s.state,
          s.transport,
          String(s.tools),
          String(s.restarts),
          s.sandbox,
          s.state === "blocked" ? `blocked: ${s.blockedBy ?? ""}` : lastErrorText(s),
        ]),
        "  ",
      ),
    );
    for (const s of g.servers) if (s.stderrLog) out.write(`  ${clean(s.name)} stderr log: ${clean(s.stderrLog)}\n`);
  }
  return 0;
}

/**
 * The status files of gateways that are still running. A file whose process is gone is removed (a
 * gateway killed with SIGKILL cannot remove its own). Text from the files is redacted with the
 * secrets of the current settings: the status files are ours, but an error message can quote a URL.
 */
export function readLiveGateways(env: NodeJS.ProcessEnv, redact: Redactor = compileRedactor([])): { gateways: GatewayStatus[]; problems: string[] } {
  const dir = runtimeDir(env);
  const problems: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") problems.push(`cannot read ${dir}: ${(err as Error).message}`);
    return { gateways: [], problems };
  }
  const gateways: GatewayStatus[] = [];
  for (const name of names.sort()) {
    // `<pid>.json` only; `.tmp` files are status updates being written.
    const m = /^([1-9][0-9]{0,9})\.json$/.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    const filePid = Number(m[1]);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      problems.push(`ignoring unreadable status file ${file}: ${(err as Error).message}`);
      continue;
    }
    const g = normalizeStatus(raw, redact);
    // The name says which process owns the file; a file that disagrees is not trusted with a signal.
    if (!g || g.pid !== filePid) {
      problems.push(`ignoring malformed status file ${file}`);
      continue;
    }
    if (!isAlive(g.pid)) {
      rmSync(file, { force: true });
      continue;
    }
    gateways.push(g);
  }
  return { gateways, problems };
}


/** Keeps the known fields only, each checked, so a damaged or foreign file cannot inject output. */
function normalizeStatus(raw: unknown, redact: Redactor): GatewayStatus | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.pid !== "number" || !Number.isSafeInteger(r.pid) || r.pid <= 0) return undefined;
  const str = (v: unknown) => (typeof v === "string" ? redact.string(v) : undefined);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const g: GatewayStatus = {
    pid: r.pid,
    cwd: str(r.cwd) ?? "?",
    updatedAt: str(r.updatedAt) ?? "?",
    settingsFiles: Array.isArray(r.settingsFiles)
      ? r.settingsFiles.flatMap((f) => (typeof f === "object" && f !== null ? [{ layer: str((f as Record<string, unknown>).layer) ?? "?", file: str((f as Record<string, unknown>).file) ?? "?" }] : []))
      : [],
    servers: [],
  };
  const audit = str(r.auditFile);
  if (audit !== undefined) g.auditFile = audit;
  for (const s of Array.isArray(r.servers) ? r.servers : []) {
    if (typeof s !== "object" || s === null) continue;
    const x = s as Record<string, unknown>;
    const server: ServerStatus = {
      name: str(x.name) ?? "?",
      state: str(x.state) ?? "?",
      transport: str(x.transport) ?? "?",
      tools: num(x.tools),
      prompts: num(x.prompts),
      resources: num(x.resources),
      restarts: num(x.restarts),
      sandbox: str(x.sandbox) ?? "none",
    };
    for (const k of ["protocolVersion", "lastError", "stderrLog", "blockedBy"] as const) {
      const v = str(x[k]);
      if (v !== undefined) server[k] = v;
    }
    const crash = typeof x.lastCrash === "object" && x.lastCrash !== null ? (x.lastCrash as Record<string, unknown>) : undefined;
    const crashError = str(crash?.error);
    if (crashError !== undefined) server.lastCrash = { error: crashError, at: str(crash?.at) ?? "?" };
    g.servers.push(server);
  }
  return g;
}

/** The error a server is in now, else its last crash (a restart clears the first, not the second), else "-". */
function lastErrorText(s: ServerStatus): string {
  if (s.lastError) return s.lastError;
  if (s.lastCrash) return `${s.lastCrash.error} (at ${s.lastCrash.at}; restarted since)`;
  return "-";
}

/** The compiled policy, or undefined after printing why the rules do not compile (a settings error: exit 2). */
export function compilePolicyOrReport(settings: ResolvedSettings, command: string): CompiledPolicy | undefined {
  try {
    return compilePolicy(settings.policy);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    process.stderr.write(`mcp-warden ${command}: settings error: ${err.message}\n`);
    return undefined;
  }
}

/**
 * Whether the gateway would start this server: the policy first (so a disabled or denied server
 * says so), then the settings it cannot enforce yet, as the gateway refuses them.
 */
export function serverVerdict(policy: CompiledPolicy, server: ConfiguredServer, settings: Pick<ResolvedSettings, "sandbox" | "requireSandbox" | "requireImageDigest">): Verdict {
  const v = policy.decideServer(server);
  if (v.decision !== "allow") return v;
  const sandbox = sandboxFor(server, settings, homeDir(process.env), process.cwd());
  return sandbox.kind === "refused" ? sandbox.verdict : v;
}

export function transportOf(server: ConfiguredServer): string {
  const t = server.entry.type ?? (server.entry.url ? "http" : "stdio");
  return t === "streamable-http" ? "http" : t;
}

/** A URL without userinfo, query or fragment: those are where tokens travel. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "";
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    return u.href + (hidden ? " (credentials/query hidden)" : "");
  } catch {
    // Not parseable: show only what is certainly not a credential.
    return "(unparseable URL hidden)";
  }
}

/** One line of terminal-safe text: control characters (escape sequences included) are made visible. */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === "\n" || c === "\t" ? " " : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/** Left-aligned columns; the last column is not padded. */
export function formatTable(headers: string[], rows: string[][], indent = ""): string {
  const cells = [headers, ...rows].map((r) => r.map(clean));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
