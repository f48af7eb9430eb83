// `mcp-warden doctor`: what this machine offers and whether mcp-warden can run here. It only
// looks: nothing is created or changed (directories are checked with access(), not by writing).
import { findOnPath } from "../adapters/executables.js";
import { remoteOnlyNotes } from "../settings/remote-only.js";
import { execFile } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, statSync } from "node:fs";
import { release } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  defaultAuditDir,
  defaultLogDir,
  loadSettings,
  parseManagedMcpText,
  parseSettingsText,
  runtimeDir,
  settingsFiles,
  SettingsError,
  stateDir,
  type ResolvedSettings,
} from "../settings/index.js";
import { compilePolicy, PolicyError } from "../policy/index.js";
import { clean } from "./status.js";
import { defaultSandboxType } from "../sandbox/policy.js";
import { describeLimits } from "../sandbox/container-limits.js";
import { homeDir } from "../settings/paths.js";
import { checkContainerServers, type ContainerServerCheck } from "./doctor-containers.js";
import { bwrapLimitsOffer, type BwrapLimitsOffer } from "../sandbox/bwrap-limits.js";
import { containerImages, describeImageLine, type ContainerImageCheck } from "./container-images.js";

const REQUIRED_NODE_MAJOR = 20;

export interface ToolCheck {
  found: boolean;
  path?: string;
  /** bubblewrap: a trivial sandbox ran. docker/podman: the engine answered `info`. */
  works?: boolean;
  detail?: string;
}

export interface SettingsFileCheck {
  kind: "managed" | "managed drop-in" | "managed-mcp" | "local" | "project" | "user";
  file: string;
  exists: boolean;
  ok?: boolean;
  error?: string;
  /** Project and local files: false until the user trusts their content (`mcp-warden trust`); until then they may only tighten. */
  trusted?: boolean;
}

export interface DirectoryCheck {
  name: "state" | "audit" | "logs" | "runtime";
  path: string;
  exists: boolean;
  writable: boolean;
  /** Without it the gateway cannot start. */
  required: boolean;
  detail?: string;
}

export interface DoctorReport {
  ok: boolean;
  node: { version: string; required: string; ok: boolean };
  platform: { os: string; arch: string; release: string };
  sandbox: {
    enforced: true;
    note: string;
    default: string | null;
    bubblewrap: ToolCheck;
    /** Linux: how bubblewrap would enforce each limit here (cgroup or rlimit), or why it cannot. */
    bubblewrapLimits?: BwrapLimitsOffer;
    seatbelt: ToolCheck;
    docker: ToolCheck;
    podman: ToolCheck;
  };
  settings: { ok: boolean; error?: string; servers?: number; warnings: string[]; files: SettingsFileCheck[] };
  /** One entry per server that runs in a docker/podman container: engine, runtime, limits enforced or not. */
  containers: ContainerServerCheck[];
  directories: DirectoryCheck[];
  /** Each docker/podman server's and exec profile's image: pinned by digest or not, and the local image it runs. */
  images: ContainerImageCheck[];
  /** One line per failed requirement. */
  problems: string[];
}

const SANDBOX_NOTE =
  "a server whose sandbox cannot run here is refused, never run unsandboxed; egress through the proxy needs bubblewrap, docker or podman (seatbelt sandboxes run with no network)";

export async function doctorCommand(opts: { json?: boolean; cwd: string; env: NodeJS.ProcessEnv }, out: NodeJS.WritableStream): Promise<number> {
  const report = await diagnose(opts.cwd, opts.env);
  if (opts.json) out.write(JSON.stringify(report, null, 2) + "\n");
  else out.write(formatReport(report));
  if (!report.settings.ok) return 2;
  return report.ok ? 0 : 1;
}

export async function diagnose(cwd: string, env: NodeJS.ProcessEnv): Promise<DoctorReport> {
  const problems: string[] = [];
  const version = process.versions.node;
  const nodeOk = Number(version.split(".")[0]) >= REQUIRED_NODE_MAJOR;
  if (!nodeOk) problems.push(`Node ${version} is too old; mcp-warden needs Node ${REQUIRED_NODE_MAJOR} or newer`);

  // The backends are probed in parallel: each may take up to its timeout.
  const [bubblewrap, docker, podman] = await Promise.all([
    probe("bwrap", ["--ro-bind", "/", "/", "--unshare-all", "true"], env, 5000),
    probe("docker", ["info"], env, 3000),
    probe("podman", ["info"], env, 3000),
  ]);
  const seatbeltPath = findOnPath("sandbox-exec", env.PATH);
  const seatbelt: ToolCheck = seatbeltPath ? { found: true, path: seatbeltPath } : { found: false, detail: process.platform === "darwin" ? "not found" : "macOS only" };

  const settings = checkSettings(cwd, env);
  if (!settings.ok) problems.push(`settings do not load: ${settings.error ?? "unknown error"}`);
  const loaded = settings.resolved;
  const containers = loaded !== undefined ? checkContainerServers(loaded, env, homeDir(env), cwd) : [];
  for (const c of containers) if (!c.ok) problems.push(`server '${c.server}' would not start in its ${c.engine} container: ${c.problem ?? "unknown"}`);

  const directories: DirectoryCheck[] = [
    checkDir("state", stateDir(env), true),
    checkDir("audit", loaded?.audit.dir ?? defaultAuditDir(env), true),
    checkDir("logs", loaded?.gateway.logDir ?? defaultLogDir(env), true),
    checkDir("runtime", runtimeDir(env), false),
  ];
  for (const d of directories) if (d.required && !d.writable) problems.push(`the ${d.name} directory ${d.path} is not writable${d.detail ? ` (${d.detail})` : ""}`);

  const images = loaded === undefined ? [] : containerImages(loaded, env, { profiles: true, cwd });

  const { resolved: _, ...settingsReport } = settings;
  return {
    ok: problems.length === 0,
    node: { version, required: `>=${REQUIRED_NODE_MAJOR}`, ok: nodeOk },
    platform: { os: process.platform, arch: process.arch, release: release() },
    sandbox: {
      enforced: true,
      note: SANDBOX_NOTE,
      default: defaultSandboxType(process.platform) ?? null,
      bubblewrap,
      ...(process.platform === "linux" ? { bubblewrapLimits: bwrapLimitsOffer() } : {}),
      seatbelt,
      docker,
      podman,
    },
    settings: settingsReport,
    containers,
    directories,
    images,
    problems,
  };
}


/** Finds `name` and runs it once; `works` is whether it exited 0 within the timeout. */
function probe(name: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ToolCheck> {
  const path = findOnPath(name, env.PATH);
  if (!path) return Promise.resolve({ found: false });
  return new Promise((done) => {
    execFile(path, args, { env, timeout: timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true }, (err, _stdout, stderr) => {
      if (!err) return done({ found: true, path, works: true });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const why = e.killed
        ? `no answer within ${timeoutMs / 1000} s`
        : `${typeof e.code === "number" ? `exit code ${e.code}` : e.code ?? "failed"}${firstLine(String(stderr)) ? `: ${firstLine(String(stderr))}` : ""}`;
      done({ found: true, path, works: false, detail: why });
    });
  });
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  return clean(line.length > 200 ? `${line.slice(0, 197)}...` : line);
}

function checkSettings(cwd: string, env: NodeJS.ProcessEnv): DoctorReport["settings"] & { resolved?: ResolvedSettings } {
  const paths = settingsFiles({ cwd, env });
  const abs = (p: string) => resolve(cwd, p);
  const files: SettingsFileCheck[] = [];
  const check = (kind: SettingsFileCheck["kind"], file: string, parse: (text: string, file: string) => unknown) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      files.push(code === "ENOENT" ? { kind, file, exists: false } : { kind, file, exists: true, ok: false, error: `cannot be read: ${code ?? (err as Error).message}` });
      return;
    }
    try {
      parse(text, file);
      files.push({ kind, file, exists: true, ok: true });
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      files.push({ kind, file, exists: true, ok: false, error: err.message });
    }
  };
  check("managed", abs(paths.managed), parseSettingsText);
  for (const f of dropIns(abs(paths.managedDropIns))) check("managed drop-in", f, parseSettingsText);
  check("managed-mcp", abs(paths.managedMcp), parseManagedMcpText);
  check("local", abs(paths.local), parseSettingsText);
  check("project", abs(paths.project), parseSettingsText);
  check("user", abs(paths.user), parseSettingsText);

  // Each file can be valid on its own and the combination still fail (a ${VAR} unset, a name clash).
  let resolved: ResolvedSettings;
  try {
    resolved = loadSettings({ cwd, env });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    return { ok: false, error: err.message, warnings: [], files };
  }
  try {
    // The gateway compiles the rules at start; a rule that does not compile stops it just the same.
    compilePolicy(resolved.policy);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    return { ok: false, error: err.message, servers: resolved.servers.length, warnings: resolved.warnings, files, resolved };
  }
  for (const f of files)
    if ((f.kind === "project" || f.kind === "local") && f.ok) f.trusted = !resolved.untrustedFiles.some((u) => u.file === f.file);
  return { ok: true, servers: resolved.servers.length, warnings: [...resolved.warnings, ...remoteOnlyNotes(resolved)], files, resolved };
}

function dropIns(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith(".json") && !n.startsWith("."))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** Writable now, or creatable: the nearest existing ancestor is a writable directory. */
function checkDir(name: DirectoryCheck["name"], path: string, required: boolean): DirectoryCheck {
  let probe = path;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(probe).isDirectory();
    } catch {
      const parent = dirname(probe);
      if (parent === probe) return { name, path, exists: false, writable: false, required, detail: "no existing parent directory" };
      probe = parent;
      continue;
    }
    const exists = probe === path;
    if (!isDir) return { name, path, exists, writable: false, required, detail: `${probe} is not a directory` };
    try {
      accessSync(probe, constants.W_OK | constants.X_OK);
    } catch {
      return { name, path, exists, writable: false, required, detail: exists ? "permission denied" : `cannot be created: ${probe} is not writable` };
    }
    return exists ? { name, path, exists, writable: true, required } : { name, path, exists, writable: true, required, detail: "will be created on first use" };
  }
}

function formatReport(r: DoctorReport): string {
  const lines: string[] = [];
  const row = (mark: string, text: string) => lines.push(`  ${mark.padEnd(4)}  ${clean(text)}`);
  lines.push("mcp-warden doctor");
  row(r.node.ok ? "ok" : "FAIL", `Node ${r.node.version} (${r.node.required} required)`);
  row("info", `platform ${r.platform.os} ${r.platform.arch} (${r.platform.release})`);

  lines.push("sandbox backends (optional)");
  row("note", r.sandbox.note);
  const tool = (label: string, t: ToolCheck, works: string, fails: string) => {
    if (!t.found) row("--", `${label}: not found${t.detail ? ` (${t.detail})` : ""}`);
    else if (t.works === undefined) row("ok", `${label}: ${t.path}`);
    else if (t.works) row("ok", `${label}: ${t.path}, ${works}`);
    else row("warn", `${label}: ${t.path}, ${fails}: ${t.detail ?? ""}`);
  };
  tool("bubblewrap", r.sandbox.bubblewrap, "a test sandbox runs", "a test sandbox fails");
  const limits = r.sandbox.bubblewrapLimits;
  if (limits) {
    const by = (name: string, l: { by?: string; max?: number }) => `${name} by ${l.by}${l.by === "RLIMIT_AS" ? " (address space, not memory used)" : ""}${l.max !== undefined ? ` (${l.max})` : ""}`;
    const enforced = (["memory", "pids", "cpus", "openFiles"] as const).filter((k) => limits[k].by !== undefined);
    row("info", `bubblewrap limits: ${enforced.map((k) => by(k === "openFiles" ? "open files" : k, limits[k])).join(", ") || "none"}`);
    for (const k of ["memory", "pids", "cpus", "openFiles"] as const)
      if (limits[k].why !== undefined) row("warn", `bubblewrap ${k === "openFiles" ? "open files" : `limits.${k}`}: ${limits[k].why}${k === "openFiles" ? "" : " (a server asking for it does not start)"}`);
  }
  tool("sandbox-exec", r.sandbox.seatbelt, "", "");
  tool("docker", r.sandbox.docker, "the engine answers", "the engine does not answer");
  tool("podman", r.sandbox.podman, "the engine answers", "the engine does not answer");

  lines.push("settings");
  for (const f of r.settings.files) {
    if (!f.exists) row("--", `${f.kind}: ${f.file} (absent)`);
    else if (f.ok && f.trusted === false)
      row("warn", `${f.kind}: ${f.file} (untrusted: it may only tighten your policy; review it and run \`mcp-warden trust\` in ${dirname(dirname(f.file))})`);
    else if (f.ok) row("ok", `${f.kind}: ${f.file}${f.trusted ? " (trusted)" : ""}`);
    else {
      row("FAIL", `${f.kind}: ${f.file}`);
      for (const l of (f.error ?? "").split("\n")) lines.push(`          ${clean(l)}`);
    }
  }
  if (r.settings.ok) row("ok", `settings load: ${r.settings.servers ?? 0} server${r.settings.servers === 1 ? "" : "s"} configured`);
  else {
    row("FAIL", "settings do not load:");
    for (const l of (r.settings.error ?? "").split("\n")) lines.push(`          ${clean(l)}`);
  }
  for (const w of r.settings.warnings) row("warn", w);

  if (r.containers.length > 0) {
    lines.push("container servers");
    for (const c of r.containers) {
      if (!c.ok) row("FAIL", `${c.server}: ${c.host ?? c.engine}: will not start: ${c.problem ?? ""}`);
      else row(c.limits?.every((l) => l.enforced) ? "ok" : "warn", `${c.server}: ${c.host}, runs under ${c.runtime}; limits: ${describeLimits(c.limits ?? [])}`);
    }
  }

  if (r.images.length > 0) {
    lines.push("container images");
    for (const i of r.images) row(i.pinned && i.id !== undefined && i.problem === undefined ? "ok" : "warn", `${i.subject}: ${describeImageLine(i)}`);
  }

  lines.push("directories");
  for (const d of r.directories)
    row(d.writable ? "ok" : d.required ? "FAIL" : "warn", `${d.name}: ${d.path}${d.writable ? (d.exists ? "" : " (will be created on first use)") : ` (not writable: ${d.detail ?? ""})`}`);

  lines.push(r.ok ? "result: ok" : `result: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`);
  for (const p of r.problems) lines.push(`  - ${clean(p)}`);
  return lines.join("\n") + "\n";
}
