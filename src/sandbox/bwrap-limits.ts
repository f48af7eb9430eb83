// Resource limits for the bubblewrap sandbox. bubblewrap has none of its own, so the gateway applies
// them itself, with the strongest mechanism this host lets it use, per limit:
//
// - cgroups, where the gateway may create them: a cgroup v1 hierarchy of the controller that it may
//   write (as root, typically), or a cgroup v2 subtree delegated to it (its own cgroup writable, with
//   the controller enabled in cgroup.subtree_control). Per launch one cgroup is created in each
//   hierarchy used (<the gateway's cgroup>/mcp-warden/<server>-<pid>-<random>); the launch starts as
//   `sh -c 'echo $$ > …/cgroup.procs … && exec "$@"'`, so the process is inside before bwrap runs
//   (no race), and the sandbox cannot leave it (no /sys inside, no capabilities). memory:
//   memory.limit_in_bytes and memory.memsw.limit_in_bytes (no swap on top) / memory.max and
//   memory.swap.max=0; pids: pids.max; cpus: cpu.cfs_quota_us over cpu.cfs_period_us / cpu.max (and
//   a cpuacct cgroup on v1, for the record). Removed at cleanup, after what remains inside is killed.
// - otherwise rlimits: memory as RLIMIT_AS (address space, which is more than memory used: Node
//   needs about 1g to start), set on the launch before bwrap; pids as RLIMIT_NPROC set inside the
//   sandbox, which Linux 5.14+ counts per user namespace (per sandbox), and which uid 0 is exempt
//   from (so not for root). cpus has no rlimit.
// - RLIMIT_NOFILE always (hardening, not a setting): OPEN_FILES_MAX, or the host's hard limit if lower.
//
// A limit the settings ask for that neither mechanism can enforce refuses the start (fail closed).
// What is enforced, by which mechanism, is one line (`describeLimits`) for the start notes and doctor.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/** Open files per sandboxed process (RLIMIT_NOFILE), unless the host's hard limit is lower. */
export const OPEN_FILES_MAX = 4096;
/** The CFS period for CPU quotas (the kernel's default), in microseconds. */
export const CPU_PERIOD_US = 100_000;

export type CgroupController = "memory" | "pids" | "cpu" | "cpuacct";
/** Where the gateway may create cgroups for one controller: the gateway's own cgroup in that hierarchy. */
export interface CgroupParent {
  version: 1 | 2;
  dir: string;
}

/** The facts about this host that decide the mechanisms (see detectLimitsHost). */
export interface LimitsHost {
  uid: number;
  kernel: string;
  cgroups: Partial<Record<CgroupController, CgroupParent>>;
  /** Why controllers are missing from `cgroups` (for messages). */
  cgroupProblem?: string;
  /** The host's prlimit (util-linux), when installed. */
  prlimit?: string;
  /** The gateway's own hard RLIMIT_NOFILE (undefined: unlimited or unknown). */
  openFilesHard?: number;
}

export type Mechanism = "cgroup v1" | "cgroup v2" | "RLIMIT_AS" | "RLIMIT_NPROC" | "RLIMIT_NOFILE";

export interface LimitsChoice {
  /** swap: whether swap counts in the cgroup's limit (known once the cgroup is made: it needs the kernel's swap accounting). */
  memory?: { bytes: number; spelled: string; by: Mechanism; swap?: boolean };
  pids?: { max: number; by: Mechanism };
  cpus?: { cpus: number; quotaUs: number; periodUs: number; by: Mechanism };
  openFiles?: { max: number; by: "RLIMIT_NOFILE" };
  /** Hardening that could not be applied (said in the note, never silently). */
  gaps: string[];
}

const MEMORY = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)(?:[iI]?[bB])?$/;

/** A size like "512m", "2g", "1.5G", "256MiB", "1048576" (binary units, as docker reads them) in bytes. */
export function parseMemory(s: string): number | undefined {
  const m = MEMORY.exec(s.trim());
  if (!m) return undefined;
  const power = " kmgt".indexOf((m[2] || " ").toLowerCase());
  const bytes = Math.floor(Number(m[1]) * 1024 ** power);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

function kernelAtLeast(major: number, minor: number, rel: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

const cgroupHow = (controller: string) =>
  `a cgroup the gateway may create (cgroup v1 with the ${controller} controller writable, e.g. as root; or cgroup v2 where the gateway's own cgroup is writable and enables ${controller} in cgroup.subtree_control)`;

/**
 * Which mechanism enforces each limit (pure: `host` holds the facts). Throws, with what to do, when a
 * limit the settings ask for cannot be enforced by any.
 */
export function chooseBwrapLimits(limits: { cpus?: number; memory?: string; pids?: number } | undefined, host: LimitsHost): LimitsChoice {
  const { cpus, memory, pids } = limits ?? {};
  const choice: LimitsChoice = { gaps: [] };
  const cg = (c: CgroupController): Mechanism | undefined => (host.cgroups[c] ? (host.cgroups[c]!.version === 1 ? "cgroup v1" : "cgroup v2") : undefined);
  const problem = host.cgroupProblem ? ` (${host.cgroupProblem})` : "";
  const other = "or remove the limit, or use the docker or podman backend";

  if (memory !== undefined) {
    const bytes = typeof memory === "string" ? parseMemory(memory) : undefined;
    if (bytes === undefined) throw new Error(`sandbox: limits.memory must be a size like "512m" or "2g", not ${JSON.stringify(memory)}`);
    const by = cg("memory") ?? (host.prlimit ? "RLIMIT_AS" : undefined);
    if (by === undefined)
      throw new Error(`sandbox: bubblewrap cannot enforce limits.memory here: it needs ${cgroupHow("memory")}, or prlimit (util-linux) for RLIMIT_AS${problem}; install util-linux, ${other}`);
    choice.memory = { bytes, spelled: memory, by };
  }
  if (pids !== undefined) {
    if (!Number.isSafeInteger(pids) || pids < 1) throw new Error(`sandbox: limits.pids must be a positive integer, not ${pids}`);
    let by = cg("pids");
    if (by === undefined) {
      const no = (why: string) => new Error(`sandbox: bubblewrap cannot enforce limits.pids here: there is no ${cgroupHow("pids")}${problem}, and ${why}; ${other}`);
      if (host.uid === 0) throw no("root is exempt from RLIMIT_NPROC");
      if (!kernelAtLeast(5, 14, host.kernel)) throw no(`RLIMIT_NPROC is counted per sandbox only on Linux 5.14 or later (this is ${host.kernel})`);
      if (!host.prlimit) throw no("RLIMIT_NPROC needs prlimit (util-linux), which is not installed");
      by = "RLIMIT_NPROC";
    }
    choice.pids = { max: pids, by };
  }
  if (cpus !== undefined) {
    if (typeof cpus !== "number" || !Number.isFinite(cpus) || cpus <= 0) throw new Error(`sandbox: limits.cpus must be a positive number, not ${JSON.stringify(cpus)}`);
    const by = cg("cpu");
    if (by === undefined) throw new Error(`sandbox: bubblewrap cannot enforce limits.cpus here: a CPU quota needs ${cgroupHow("cpu")}${problem}, and there is no rlimit for it; ${other}`);
    choice.cpus = { cpus, quotaUs: Math.max(1000, Math.round(cpus * CPU_PERIOD_US)), periodUs: CPU_PERIOD_US, by };
  }
  if (host.prlimit) choice.openFiles = { max: Math.min(OPEN_FILES_MAX, host.openFilesHard ?? OPEN_FILES_MAX), by: "RLIMIT_NOFILE" };
  else choice.gaps.push("open files not limited (prlimit from util-linux is not installed)");
  return choice;
}

/** One line: each limit, its value and its mechanism. */
export function describeLimits(choice: LimitsChoice): string {
  const parts: string[] = [];
  if (choice.memory)
    parts.push(choice.memory.by === "RLIMIT_AS" ? `memory ${choice.memory.spelled} as address space per process (RLIMIT_AS; no cgroup available)` : `memory ${choice.memory.spelled} (${choice.memory.by}${choice.memory.swap === true ? ", swap included" : choice.memory.swap === false ? "; swap not counted: no swap accounting in this kernel" : ""})`);
  if (choice.pids) parts.push(`pids ${choice.pids.max} (${choice.pids.by === "RLIMIT_NPROC" ? "RLIMIT_NPROC per sandbox" : choice.pids.by})`);
  if (choice.cpus) parts.push(`cpus ${choice.cpus.cpus} (${choice.cpus.by} quota ${choice.cpus.quotaUs}/${choice.cpus.periodUs} µs)`);
  if (choice.openFiles) parts.push(`open files ${choice.openFiles.max} (RLIMIT_NOFILE)`);
  const text = parts.length ? parts.join(", ") : "none";
  return `bubblewrap limits: ${text}${choice.gaps.length ? `; ${choice.gaps.join("; ")}` : ""}`;
}

/** prlimit options applied to the launch before bwrap (inherited by everything inside). */
export function outerRlimitOptions(choice: LimitsChoice): string[] {
  const out: string[] = [];
  if (choice.openFiles) out.push(`--nofile=${choice.openFiles.max}:${choice.openFiles.max}`);
  if (choice.memory?.by === "RLIMIT_AS") out.push(`--as=${choice.memory.bytes}:${choice.memory.bytes}`);
  return out;
}

/** prlimit options applied inside the sandbox (RLIMIT_NPROC counts per user namespace only there). */
export function innerRlimitOptions(choice: LimitsChoice): string[] {
  return choice.pids?.by === "RLIMIT_NPROC" ? [`--nproc=${choice.pids.max}:${choice.pids.max}`] : [];
}

// ---------------------------------------------------------------------------------------------
// Host detection (reads only: doctor uses it too)

const CONTROLLERS: CgroupController[] = ["memory", "pids", "cpu", "cpuacct"];

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** mountinfo's octal escapes (\040 for a space). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Where this process may create cgroups, per controller, from /proc/self/{mountinfo,cgroup} and access(). */
export function detectCgroups(files: { mountinfo?: string; cgroup?: string } = {}): { cgroups: LimitsHost["cgroups"]; problem?: string } {
  const mountinfo = files.mountinfo ?? readText("/proc/self/mountinfo");
  const own = files.cgroup ?? readText("/proc/self/cgroup");
  if (mountinfo === undefined || own === undefined) return { cgroups: {}, problem: "/proc/self/cgroup is not readable" };
  const mounts = mountinfo
    .split("\n")
    .map((line) => {
      const [pre, post] = line.split(" - ");
      if (!pre || !post) return undefined;
      const f = pre.split(" ");
      const [fstype, , superOpts] = post.split(" ");
      return { root: unescape(f[3] ?? "/"), point: unescape(f[4] ?? ""), options: (f[5] ?? "").split(","), fstype, superOpts: (superOpts ?? "").split(",") };
    })
    .filter((m) => m !== undefined && (m.fstype === "cgroup" || m.fstype === "cgroup2"));
  const memberships = own
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [, , ctl, path] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
      return { controllers: (ctl ?? "").split(","), path: path ?? "" };
    });
  const dirOf = (m: NonNullable<(typeof mounts)[number]>, path: string): string | undefined => {
    // A mount of a sub-tree (containers): the gateway's path is relative to the mount's root.
    const root = m.root === "/" ? "" : m.root;
    if (root && path !== root && !path.startsWith(`${root}/`)) return undefined;
    return join(m.point, path.slice(root.length)).replace(/(.)\/+$/, "$1");
  };
  const cgroups: LimitsHost["cgroups"] = {};
  const problems = new Map<CgroupController, string>();
  for (const c of CONTROLLERS) {
    const v1 = mounts.find((m) => m!.fstype === "cgroup" && m!.superOpts.includes(c));
    if (v1) {
      const member = memberships.find((x) => x.controllers.includes(c));
      const dir = member ? dirOf(v1, member.path) : undefined;
      if (dir && v1.options.includes("rw") && writable(dir)) cgroups[c] = { version: 1, dir };
      else problems.set(c, `${c} (cgroup v1${dir ? ` ${dir}` : ""}) is not writable`);
      continue;
    }
    if (c === "cpuacct") continue; // v2 accounts CPU time in every cgroup's cpu.stat
    const v2 = mounts.find((m) => m!.fstype === "cgroup2");
    const member = memberships.find((x) => x.controllers.length === 1 && x.controllers[0] === "");
    const dir = v2 && member ? dirOf(v2, member.path) : undefined;
    if (!dir) {
      problems.set(c, `no ${c} controller is mounted`);
      continue;
    }
    const enabled = (readText(join(dir, "cgroup.subtree_control")) ?? "").trim().split(/\s+/);
    if (!enabled.includes(c)) problems.set(c, `${c} is not enabled in ${join(dir, "cgroup.subtree_control")}`);
    else if (!v2!.options.includes("rw") || !writable(dir)) problems.set(c, `${dir} is not writable`);
    else cgroups[c] = { version: 2, dir };
  }
  problems.delete("cpuacct"); // only for the record
  return problems.size ? { cgroups, problem: [...problems.values()].join("; ") } : { cgroups };
}

function openFilesHard(): number | undefined {
  const line = (readText("/proc/self/limits") ?? "").split("\n").find((l) => l.startsWith("Max open files"));
  const hard = line?.trim().split(/\s+/)[4];
  return hard !== undefined && /^\d+$/.test(hard) ? Number(hard) : undefined;
}

/** The facts chooseBwrapLimits needs, read from this host. */
export function detectLimitsHost(): LimitsHost {
  const { cgroups, problem } = process.platform === "linux" ? detectCgroups() : { cgroups: {}, problem: "not Linux" };
  const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => existsSync(p));
  const hard = openFilesHard();
  return {
    uid: process.getuid?.() ?? -1,
    kernel: release(),
    cgroups,
    ...(problem ? { cgroupProblem: problem } : {}),
    ...(prlimit ? { prlimit } : {}),
    ...(hard !== undefined ? { openFilesHard: hard } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// A launch's cgroups

/** The shell prefix joining the cgroups before anything else runs: `sh -c JOIN_SCRIPT name procs... -- command...`. */
export const JOIN_SCRIPT =
  'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "mcp-warden: cannot join the sandbox cgroup $1; the server does not start" >&2; exit 125; }; shift; done; shift; exec "$@"';

export interface LaunchCgroups {
  /** cgroup.procs files the launch writes its pid into before it runs bwrap. */
  procsFiles: string[];
  /** The cgroup directories created (one per hierarchy). */
  dirs: string[];
  /** Kills what remains inside and removes the cgroups (bounded retries). Idempotent. */
  remove(): void;
}

const SLEEP = new Int32Array(new SharedArrayBuffer(4));
const pause = (ms: number) => Atomics.wait(SLEEP, 0, 0, ms);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Ends every process in a cgroup (cgroup.kill on v2, else SIGKILL to each listed pid). */
function killInside(dir: string): void {
  if (existsSync(join(dir, "cgroup.kill"))) {
    try {
      writeFileSync(join(dir, "cgroup.kill"), "1");
      return;
    } catch {
      // Fall back to the list.
    }
  }
  for (const pid of (readText(join(dir, "cgroup.procs")) ?? "").split("\n").filter(Boolean).map(Number)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Removes a cgroup directory: true when gone. */
function tryRemove(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    killInside(dir);
    return false;
  }
}

/** Removes dirs: up to ~0.5 s synchronously, then in the background for up to ~10 s. */
export function removeCgroupDirs(dirs: string[], onGiveUp?: (left: string[]) => void): void {
  let left = dirs.filter((d) => !tryRemove(d));
  for (let i = 0; left.length > 0 && i < 30; i++) {
    pause(Math.min(20, 1 << i)); // processes killed a moment ago are usually gone within a few ms
    left = left.filter((d) => !tryRemove(d));
  }
  if (left.length === 0) return;
  let tries = 0;
  const again = () => {
    left = left.filter((d) => !tryRemove(d));
    if (left.length === 0) return;
    if (++tries >= 50) return onGiveUp?.(left);
    setTimeout(again, 200).unref();
  };
  setTimeout(again, 200).unref();
}

/** Removes cgroups a previous gateway left (its pid is gone; named <server>-<pid>-<hex>). */
function reapStale(base: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    try {
      rmdirSync(join(base, name));
    } catch {
      // Still in use, or not ours: left.
    }
  }
}

/** A name safe as one path component: [A-Za-z0-9_.-], at most 40 characters. */
function safeName(server: string): string {
  const s = server.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_").slice(0, 40);
  return s || "server";
}

/**
 * Creates the launch's cgroups with the chosen limits. Throws (after removing what it created) when
 * any step fails: a limit that would not hold refuses the start.
 */
export function createLaunchCgroups(choice: LimitsChoice, host: Pick<LimitsHost, "cgroups">, server: string): LaunchCgroups | undefined {
  type Writes = [file: string, value: string, optional?: boolean][];
  const perDir = new Map<string, { parent: CgroupParent; controllers: Set<CgroupController>; writes: Writes }>();
  const use = (c: CgroupController, writes: (v: 1 | 2) => Writes) => {
    const parent = host.cgroups[c];
    if (!parent) throw new Error(`sandbox: no ${c} cgroup available`);
    const entry = perDir.get(parent.dir) ?? { parent, controllers: new Set(), writes: [] };
    entry.controllers.add(c);
    entry.writes.push(...writes(parent.version));
    perDir.set(parent.dir, entry);
  };
  const { memory, pids, cpus } = choice;
  if (memory && memory.by.startsWith("cgroup")) {
    const b = String(memory.bytes);
    // v1: memsw (memory + swap) after the memory limit (it may not be below it); absent without swap accounting.
    use("memory", (v) => (v === 1 ? [["memory.limit_in_bytes", b], ["memory.memsw.limit_in_bytes", b, true]] : [["memory.max", b], ["memory.swap.max", "0", true]]));
  }
  if (pids && pids.by.startsWith("cgroup")) use("pids", () => [["pids.max", String(pids.max)]]);
  if (cpus && cpus.by.startsWith("cgroup")) {
    use("cpu", (v) => (v === 1 ? [["cpu.cfs_period_us", String(cpus.periodUs)], ["cpu.cfs_quota_us", String(cpus.quotaUs)]] : [["cpu.max", `${cpus.quotaUs} ${cpus.periodUs}`]]));
    if (host.cgroups.cpuacct?.version === 1) use("cpuacct", () => []);
  }
  if (perDir.size === 0) return undefined;

  const name = `${safeName(server)}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const created: string[] = [];
  try {
    for (const { parent, controllers, writes } of perDir.values()) {
      const base = join(parent.dir, "mcp-warden");
      mkdirSync(base, { recursive: true, mode: 0o755 });
      reapStale(base);
      if (parent.version === 2) {
        const enabled = (readText(join(base, "cgroup.subtree_control")) ?? "").trim().split(/\s+/);
        for (const c of controllers) if (!enabled.includes(c)) writeFileSync(join(base, "cgroup.subtree_control"), `+${c}`);
      }
      const dir = join(base, name);
      mkdirSync(dir, { mode: 0o755 });
      created.push(dir);
      for (const [file, value, optional] of writes) {
        const path = join(dir, file);
        const swapFile = file === "memory.memsw.limit_in_bytes" || file === "memory.swap.max";
        if (optional && !existsSync(path)) {
          if (swapFile && choice.memory) choice.memory.swap = false;
          continue;
        }
        writeFileSync(path, value); // the kernel refuses (throws) what it would not enforce
        if (swapFile && choice.memory) choice.memory.swap = true;
      }
    }
  } catch (e) {
    removeCgroupDirs(created);
    throw new Error(`sandbox: cannot create the bubblewrap sandbox's cgroup for its limits: ${(e as Error).message}; run the gateway where it may create cgroups (see \`mcp-warden doctor\`), or remove the limits`);
  }
  let removed = false;
  return {
    procsFiles: created.map((d) => join(d, "cgroup.procs")),
    dirs: created,
    remove() {
      if (removed) return;
      removed = true;
      removeCgroupDirs(created);
    },
  };
}

/**
 * What runs between `env -i` and bwrap: a shell joining the launch's cgroups (created here) and
 * running `env -i` again (dash exports PWD, and bwrap's environment is visible inside), then prlimit
 * with the rlimits set on the launch (inherited by bwrap and everything inside). Without `env`
 * (no coreutils) only a launch with no limits asked for runs, and its open files are not limited.
 */
export function limitedLaunchPrefix(choice: LimitsChoice, host: LimitsHost, server: string, envBinary: string | undefined): { prefix: string[]; cgroups?: LaunchCgroups } {
  if (envBinary === undefined) {
    if (choice.memory || choice.pids || choice.cpus) throw new Error("sandbox: bubblewrap's limits need /usr/bin/env (coreutils) to start the sandbox with them; install coreutils");
    if (choice.openFiles) {
      delete choice.openFiles;
      choice.gaps.push("open files not limited (/usr/bin/env is missing)");
    }
    return { prefix: [] };
  }
  const outer = outerRlimitOptions(choice);
  const cgroups = createLaunchCgroups(choice, host, server);
  const joinCgroups = cgroups ? ["/bin/sh", "-c", JOIN_SCRIPT, "mcp-warden-cgroup", ...cgroups.procsFiles, "--", envBinary, "-i"] : [];
  const limit = outer.length > 0 ? [host.prlimit as string, ...outer, "--"] : [];
  return { prefix: [...joinCgroups, ...limit], ...(cgroups ? { cgroups } : {}) };
}

/** For `mcp-warden doctor`: per limit, the mechanism bubblewrap would use here, or why none. */
export interface BwrapLimitsOffer {
  memory: { by?: Mechanism; why?: string };
  pids: { by?: Mechanism; why?: string };
  cpus: { by?: Mechanism; why?: string };
  openFiles: { by?: Mechanism; max?: number; why?: string };
}

export function bwrapLimitsOffer(host: LimitsHost = detectLimitsHost()): BwrapLimitsOffer {
  const probe = (limits: { cpus?: number; memory?: string; pids?: number }, key: "memory" | "pids" | "cpus") => {
    try {
      return { by: chooseBwrapLimits(limits, host)[key]!.by };
    } catch (e) {
      return { why: (e as Error).message.replace(/^sandbox: /, "") };
    }
  };
  const files = chooseBwrapLimits({}, host);
  return {
    memory: probe({ memory: "1g" }, "memory"),
    pids: probe({ pids: 512 }, "pids"),
    cpus: probe({ cpus: 1 }, "cpus"),
    openFiles: files.openFiles ? { by: "RLIMIT_NOFILE", max: files.openFiles.max } : { why: files.gaps.join("; ") },
  };
}
