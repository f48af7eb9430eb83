// What a container engine can do on this host, asked once per process and engine (cached):
// cgroup version (v1, hybrid, v2), rootless or not, which OCI runtime works, which gVisor runtime
// exists, and which resource limits the engine enforces. container.ts turns the answer into
// `--runtime`/`--runtime-flag`/`--ulimit` arguments and refuses what cannot be honoured.
//
// - Fail closed: an engine that does not answer `info` within the timeout, or answers with
//   something unreadable, is unavailable; the detection says why and what to do.
// - Podman: its default OCI runtime, unless that is crun on cgroup v1/hybrid (crun fails there:
//   "cgroups in hybrid mode not supported"): then runc, when installed, else refused. Ulimits are
//   always explicit: podman's defaults copy the host's limits and fail where those exceed what the
//   user may set (setrlimit EPERM), and explicit small ones are hardening anyway. gVisor is a runsc
//   binary path with `--runtime-flag=network=none` (gVisor's own network stack must stay off: the
//   container has `--network none`). Limits: rootless podman on cgroup v1/hybrid enforces none of
//   them (it ignores them with a warning); otherwise those whose cgroup controller podman reports.
// - Docker: the daemon picks the runtime; gVisor must be registered in the daemon (`docker info`
//   Runtimes). Limits: the daemon's own MemoryLimit, CpuCfsQuota and PidsLimit answers.
import { spawnSync } from "node:child_process";
import { findOnPath, isExecutableFile } from "../adapters/executables.js";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { ContainerEngine } from "./container.js";

export type CgroupVersion = "v1" | "hybrid" | "v2";
export type LimitName = "memory" | "cpus" | "pids";

/** Whether the engine enforces one kind of limit here, and if not, why. */
export type LimitSupport = { enforced: true } | { enforced: false; why: string };

export interface ContainerHost {
  engine: ContainerEngine;
  cgroup: CgroupVersion;
  rootless: boolean;
  /** The engine's default OCI runtime (name) as it reports it. */
  defaultRuntime: string;
  /** Podman: the runtime binary to pass with `--runtime` instead of the default; undefined: the default works. */
  podmanRuntimePath?: string;
  /** Why the default runtime cannot run containers here and nothing else can (the engine is then unusable). */
  runtimeProblem?: string;
  /** Docker: the runtime names the daemon has registered. */
  dockerRuntimes: string[];
  /** Docker: each registered runtime's binary (daemon.json `path`; the name itself when none is given). */
  dockerRuntimePaths?: Record<string, string>;
  /** Docker: each registered runtime's extra arguments (daemon.json `runtimeArgs`). */
  dockerRuntimeArgs?: Record<string, string[]>;
  /** `--ulimit` values to pass (without the nproc one, which follows the pids limit). */
  ulimits: string[];
  /** Whether to pass an explicit nproc ulimit. */
  nprocUlimit: boolean;
  limits: Record<LimitName, LimitSupport>;
  /** Docker: whether `--memory-swap` is honoured (false: swap is not limited, the engine would only warn). */
  swapLimit: boolean;
}

export type HostDetection = { ok: true; host: ContainerHost } | { ok: false; why: string; fix: string };

export interface DetectOptions {
  executable: string;
  /** The engine client's environment (PATH, DOCKER_HOST, ...). */
  env: Record<string, string>;
  timeoutMs?: number;
  /** Podman only: whether the client talks to a remote service (then this host's /proc says nothing about it). */
  remote?: boolean;
  /** Podman only: where the answer is remembered across processes (mcp-warden's cache directory); see podmanDiskKey. */
  cacheDir?: string;
}

const RUNTIME_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** An executable file named `name` on `envPath` or in the usual system directories; `name` may be absolute. */
export function findExecutable(name: string, envPath: string | undefined): string | undefined {
  if (path.posix.isAbsolute(name)) return isExecutableFile(name) ? name : undefined;
  return findOnPath(name, envPath) ?? findOnPath(name, RUNTIME_DIRS.join(":"));
}

/** This host's cgroup layout, from /proc/self/mounts: v2 (unified), hybrid (v1 plus a v2 mount), or v1. */
export function localCgroupVersion(mounts: string = readMounts()): CgroupVersion {
  const lines = mounts.split("\n").map((l) => l.split(" "));
  if (lines.some(([, dst, type]) => dst === "/sys/fs/cgroup" && type === "cgroup2")) return "v2";
  if (lines.some(([, , type]) => type === "cgroup2")) return "hybrid";
  return "v1";
}

function readMounts(): string {
  try {
    return readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return "";
  }
}

function runInfo(opts: DetectOptions, args: string[]): { ok: true; json: unknown } | { ok: false; why: string } {
  const timeout = opts.timeoutMs ?? 10_000;
  const r = spawnSync(opts.executable, args, { env: opts.env, encoding: "utf8", timeout, killSignal: "SIGKILL", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 8 * 1024 * 1024 });
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === "ETIMEDOUT" || r.signal !== null) return { ok: false, why: `\`${opts.executable} ${args.join(" ")}\` did not answer within ${timeout} ms` };
  if (err) return { ok: false, why: `\`${opts.executable} info\` could not be run: ${err.message}` };
  if (r.status !== 0) {
    const said = (r.stderr ?? "").trim().split("\n").filter((l) => l.trim() !== "").slice(-2).join(" ").slice(0, 300).replace(/[.\s]+$/, "");
    return { ok: false, why: `\`${opts.executable} info\` failed${said ? `: ${said}` : ` (exit ${r.status})`}` };
  }
  try {
    return { ok: true, json: JSON.parse(r.stdout) };
  } catch {
    return { ok: false, why: `\`${opts.executable} info\` did not answer with JSON` };
  }
}

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

const ROOTLESS_V1 =
  "rootless podman on cgroup v1 cannot set memory, CPU or process limits (podman ignores them with only a warning). " +
  "Run the gateway as root, or boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1) and delegate the cpu, memory and pids controllers to your user";

/** Podman's answer, from `podman info --format json`. Pure: the caller runs the command. */
export function podmanHostFrom(info: unknown, local: { cgroup?: CgroupVersion; envPath?: string; findRuntime?: (name: string) => string | undefined }): HostDetection {
  const host = obj(obj(info).host);
  const version = str(host.cgroupVersion);
  if (version !== "v1" && version !== "v2") return { ok: false, why: `podman info reports no cgroup version (${JSON.stringify(host.cgroupVersion)})`, fix: "Check that `podman info` works for this user" };
  // Podman reports hybrid as v1; this host's mounts tell them apart when the engine is local.
  const cgroup: CgroupVersion = version === "v2" ? "v2" : local.cgroup === "hybrid" ? "hybrid" : "v1";
  const rootless = obj(host.security).rootless === true;
  const runtime = obj(host.ociRuntime);
  const defaultRuntime = str(runtime.name) ?? "";
  const find = local.findRuntime ?? ((n: string) => findExecutable(n, local.envPath));
  let podmanRuntimePath: string | undefined;
  let runtimeProblem: string | undefined;
  if (defaultRuntime === "" ) runtimeProblem = "podman info names no OCI runtime";
  else if (defaultRuntime === "crun" && cgroup !== "v2") {
    podmanRuntimePath = find("runc");
    if (podmanRuntimePath === undefined)
      runtimeProblem = `podman's runtime is crun, which cannot run containers on cgroup ${cgroup} ("cgroups in hybrid mode not supported"), and runc is not installed: install runc (apt-get install runc)`;
  }
  const controllers = Array.isArray(host.cgroupControllers) ? host.cgroupControllers.filter((c): c is string => typeof c === "string") : undefined;
  const support = (controller: string): LimitSupport => {
    if (rootless && cgroup !== "v2") return { enforced: false, why: ROOTLESS_V1 };
    if (controllers === undefined) return { enforced: false, why: "podman did not report its cgroup controllers, so the limit cannot be known to hold" };
    if (!controllers.includes(controller))
      return { enforced: false, why: `the ${controller} cgroup controller is not available to podman${rootless ? " (delegate it to your user: systemd's Delegate=cpu memory pids)" : ""}` };
    return { enforced: true };
  };
  return {
    ok: true,
    host: {
      engine: "podman",
      cgroup,
      rootless,
      defaultRuntime,
      ...(podmanRuntimePath !== undefined ? { podmanRuntimePath } : {}),
      ...(runtimeProblem !== undefined ? { runtimeProblem } : {}),
      dockerRuntimes: [],
      ulimits: ["nofile=1024:1024"],
      nprocUlimit: true,
      limits: { memory: support("memory"), cpus: support("cpu"), pids: support("pids") },
      swapLimit: true,
    },
  };
}

/** Docker's answer, from `docker info --format '{{json .}}'`. Pure. */
export function dockerHostFrom(info: unknown, local: { cgroup?: CgroupVersion }): HostDetection {
  const i = obj(info);
  if (typeof i.ServerVersion !== "string" || i.ServerVersion === "") return { ok: false, why: "docker info reports no server version (the daemon did not answer)", fix: "Start the daemon; `docker info` must answer" };
  const v = String(i.CgroupVersion ?? "");
  const cgroup: CgroupVersion = v === "2" ? "v2" : local.cgroup === "hybrid" ? "hybrid" : "v1";
  const security = Array.isArray(i.SecurityOptions) ? i.SecurityOptions.map(String) : [];
  const rootless = security.some((s) => /(^|,)name=rootless(,|$)/.test(s));
  const says = (field: string, controller: string): LimitSupport =>
    i[field] === true
      ? { enforced: true }
      : { enforced: false, why: `the docker daemon reports no ${controller} limit support (${field}: ${JSON.stringify(i[field] ?? null)})${rootless && cgroup !== "v2" ? "; rootless docker needs cgroup v2 for limits" : ""}` };
  return {
    ok: true,
    host: {
      engine: "docker",
      cgroup,
      rootless,
      defaultRuntime: str(i.DefaultRuntime) ?? "runc",
      dockerRuntimes: Object.keys(obj(i.Runtimes)).sort(),
      dockerRuntimePaths: Object.fromEntries(Object.entries(obj(i.Runtimes)).map(([name, r]) => [name, str(obj(r).path) ?? name])),
      dockerRuntimeArgs: Object.fromEntries(
        Object.entries(obj(i.Runtimes)).map(([name, r]) => {
          const a = obj(r).runtimeArgs;
          return [name, Array.isArray(a) ? a.map(String) : []];
        }),
      ),
      ulimits: ["nofile=1024:1024"],
      nprocUlimit: true,
      limits: { memory: says("MemoryLimit", "memory"), cpus: says("CpuCfsQuota", "CPU quota"), pids: says("PidsLimit", "pids") },
      swapLimit: i.SwapLimit === true,
    },
  };
}

const cache = new Map<string, HostDetection>();

/** Whether the docker client talks to a daemon on this host (so /proc here describes its cgroups). */
function dockerIsLocal(env: Record<string, string>): boolean {
  const h = env.DOCKER_HOST;
  return (h === undefined || h.startsWith("unix://")) && env.DOCKER_CONTEXT === undefined;
}

function memoryKey(engine: ContainerEngine, opts: DetectOptions): string {
  const endpoint = engine === "docker" ? `${opts.env.DOCKER_HOST ?? ""}|${opts.env.DOCKER_CONTEXT ?? ""}` : `${opts.env.CONTAINER_HOST ?? ""}|${opts.env.CONTAINER_CONNECTION ?? ""}`;
  return `${engine}\0${opts.executable}\0${endpoint}`;
}

/**
 * `podman info` costs about 200 ms, paid by every `exec` and server start (each a new process), so a
 * local podman's answer is also kept on disk, under a name that changes with everything it depends
 * on: the podman binary, its configuration files (and CONTAINERS_CONF), the user, and the boot (the
 * cgroup layout and installed runtimes change with a reboot or an upgrade, which changes the binary
 * or the boot). A stale answer fails closed: a runtime that is gone fails the start, and limits are
 * still set on every container. Docker's answer is never kept: its daemon can be reconfigured at any
 * time, and `docker info` is fast.
 */
function podmanDiskFile(opts: DetectOptions): string | undefined {
  if (opts.cacheDir === undefined || opts.remote === true) return undefined;
  const stat = (p: string): string => {
    try {
      const st = statSync(p);
      return `${p}:${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return `${p}:-`;
    }
  };
  let boot = "";
  try {
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
  const home = opts.env.HOME ?? homedir();
  const configHome = opts.env.XDG_CONFIG_HOME ?? path.join(home, ".config");
  const parts = [
    "v1",
    boot,
    String(process.getuid?.() ?? -1),
    stat(opts.executable),
    ...["/usr/share/containers/containers.conf", "/etc/containers/containers.conf", path.join(configHome, "containers/containers.conf"), "/etc/containers/storage.conf", path.join(configHome, "containers/storage.conf")].map(stat),
    opts.env.CONTAINERS_CONF !== undefined ? stat(opts.env.CONTAINERS_CONF) : "",
    opts.env.CONTAINERS_STORAGE_CONF !== undefined ? stat(opts.env.CONTAINERS_STORAGE_CONF) : "",
    opts.env.PATH ?? "",
  ];
  return path.join(opts.cacheDir, `podman-host-${createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 32)}.json`);
}

function readPodmanDisk(file: string): HostDetection | undefined {
  try {
    const host = JSON.parse(readFileSync(file, "utf8")) as ContainerHost;
    const limitOk = (l: unknown) => typeof l === "object" && l !== null && typeof (l as LimitSupport).enforced === "boolean";
    if (host.engine !== "podman" || typeof host.rootless !== "boolean" || !["v1", "hybrid", "v2"].includes(host.cgroup) || !Array.isArray(host.ulimits)) return undefined;
    if (!limitOk(host.limits?.memory) || !limitOk(host.limits?.cpus) || !limitOk(host.limits?.pids)) return undefined;
    return { ok: true, host };
  } catch {
    return undefined;
  }
}

function writePodmanDisk(file: string, host: ContainerHost): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(host), { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
  } catch {
    // Only speed is lost.
  }
}

/** What is known already (this process, or a local podman's answer on disk), without asking the engine. */
export function knownContainerHost(engine: ContainerEngine, opts: DetectOptions): HostDetection | undefined {
  const key = memoryKey(engine, opts);
  const known = cache.get(key);
  if (known !== undefined) return known;
  const file = engine === "podman" ? podmanDiskFile(opts) : undefined;
  const d = file !== undefined ? readPodmanDisk(file) : undefined;
  if (d !== undefined) cache.set(key, d);
  return d;
}

/** What the engine can do here; asked once per process per engine, executable and endpoint (a local podman's answer also kept on disk). */
export function detectContainerHost(engine: ContainerEngine, opts: DetectOptions): HostDetection {
  const key = memoryKey(engine, opts);
  const known = knownContainerHost(engine, opts);
  if (known !== undefined) return known;
  let d: HostDetection;
  if (engine === "podman") {
    const r = runInfo(opts, ["info", "--format", "json"]);
    d = r.ok
      ? podmanHostFrom(r.json, { ...(opts.remote === true ? {} : { cgroup: localCgroupVersion() }), envPath: opts.env.PATH })
      : { ok: false, why: r.why, fix: "Make `podman info` work for this user (see `mcp-warden doctor`)" };
  } else {
    const r = runInfo(opts, ["info", "--format", "{{json .}}"]);
    d = r.ok ? dockerHostFrom(r.json, dockerIsLocal(opts.env) ? { cgroup: localCgroupVersion() } : {}) : { ok: false, why: r.why, fix: "Start the docker daemon and make sure `docker info` answers for this user" };
  }
  // A failure is not remembered: the engine may come up later (a gateway restarting a server).
  if (d.ok) {
    cache.set(key, d);
    const file = engine === "podman" ? podmanDiskFile(opts) : undefined;
    if (file !== undefined) writePodmanDisk(file, d.host);
  }
  return d;
}

/** Forgets what was detected (tests). */
export function forgetContainerHosts(): void {
  cache.clear();
}

/** One line for `doctor` and start notes: the engine, its runtime and cgroups. */
export function describeHost(h: ContainerHost): string {
  const runtime = h.podmanRuntimePath !== undefined ? `${h.podmanRuntimePath} (default ${h.defaultRuntime} cannot run on cgroup ${h.cgroup})` : h.defaultRuntime;
  return `${h.engine} (${h.rootless ? "rootless" : "rootful"}, cgroup ${h.cgroup}, runtime ${runtime})`;
}
