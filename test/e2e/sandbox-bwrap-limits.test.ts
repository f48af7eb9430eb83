// bubblewrap's limits with real processes in the real sandbox: cgroups where the gateway may create
// them (here: cgroup v1 as root), rlimits otherwise (as `nobody`, through setpriv, where the cgroup
// hierarchies are not writable). Every loop is bounded; every process started is ended.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { bubblewrapBackend, launchStdio } from "../../src/sandbox/bubblewrap.js";
import { detectLimitsHost } from "../../src/sandbox/bwrap-limits.js";
import type { SandboxLaunch, SandboxPolicy } from "../../src/sandbox/types.js";
import { connect, FILESYSTEM, ROOT, scratch } from "./harness.js";

const backend = bubblewrapBackend();
const availability = backend.available();
const skip = availability.ok ? false : `bubblewrap cannot run here: ${availability.why} (${availability.install})`;
const host = detectLimitsHost();
const isRoot = process.getuid?.() === 0;
const allCgroups = host.cgroups.memory && host.cgroups.pids && host.cgroups.cpu;
/** cgroup v1 and v2 name their files differently. */
const v2 = (c: "memory" | "cpu") => host.cgroups[c]?.version === 2;
const noCgroups = skip || (allCgroups ? false : `no writable memory, pids and cpu cgroups here (${host.cgroupProblem ?? "?"}), so the cgroup path cannot run`);
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const noNobody = skip || (!isRoot ? "not root: cannot drop to nobody (the unprivileged path is what runs anyway)" : !SETPRIV ? "no setpriv to drop to nobody" : false);
const NODE = realpathSync(process.execPath);
const CLI = fileURLToPath(new URL("../../src/cli.cjs", import.meta.url));
/** `mcp-warden doctor --json`'s bubblewrap limits, run as `asUser` (argv prefix, e.g. setpriv). */
function doctorLimits(asUser: string[] = []): Record<string, { by?: string; max?: number; why?: string }> {
  const argv = [...asUser, NODE, CLI, "doctor", "--json"];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 60_000, cwd: HOME, env: { PATH: "/usr/bin:/bin", HOME } });
  return JSON.parse(r.stdout).sandbox.bubblewrapLimits;
}
const HOME = realpathSync(mkdtempSync(join(tmpdir(), "warden-limits-")));
chmodSync(HOME, 0o755);

const policy = (limits: SandboxPolicy["limits"]): SandboxPolicy => ({
  type: "bubblewrap",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] },
  network: {},
  limits,
  env: [],
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The launch's cgroup directories, read before cleanup: file name -> content. */
  cgroupFiles: Record<string, string>;
  cgroupDirs: string[];
  wallMs: number;
}

const live = new Set<ChildProcess>();
after(() => {
  for (const c of live) {
    try {
      process.kill(-(c.pid as number), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  rmSync(HOME, { recursive: true, force: true });
});

/** The cgroup directories a launch joins (the cgroup.procs files its shell prefix writes to). */
const cgroupDirsOf = (launch: SandboxLaunch) => launch.args.filter((a) => a.endsWith("/cgroup.procs")).map(dirname);

/** Runs a command sandboxed as the gateway does (own process group); reads `files` of its cgroups after it ended, then cleans up. */
function run(command: string, args: string[], limits: SandboxPolicy["limits"], files: string[] = []): Promise<Run> {
  const launch = backend.wrap({ command, args, env: { PATH: "/usr/bin:/bin", HOME } }, policy(limits), { home: HOME, mandatoryDeny: [], server: "limits-test" } as never);
  const dirs = cgroupDirsOf(launch);
  const started = Date.now();
  const child = spawn(launch.command, launch.args, { env: launch.env, detached: true, stdio: launchStdio(["ignore", "pipe", "pipe"], launch) });
  live.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 60_000);
  return new Promise((resolve, reject) => {
    child.once("error", (e) => {
      launch.cleanup();
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const wallMs = Date.now() - started;
      const cgroupFiles: Record<string, string> = {};
      for (const d of dirs) for (const f of files) if (existsSync(join(d, f))) cgroupFiles[f] = readFileSync(join(d, f), "utf8").trim();
      launch.cleanup();
      resolve({ code, signal, stdout, stderr, cgroupFiles, cgroupDirs: dirs, wallMs });
    });
  });
}

const sh = (script: string, limits: SandboxPolicy["limits"], files?: string[]) => run("sh", ["-c", script], limits, files);
/** 300 MB through `tail`, which keeps it all in memory (no newline): the shell prints tail's status. */
const BIG_ALLOCATION = "head -c 300M /dev/zero | tail > /dev/null; echo TAIL-STATUS $?";
const FORK_BOMB = "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; wait; echo BOMB-DONE";

describe("bubblewrap limits by cgroup (the gateway may create cgroups)", { skip: noCgroups }, () => {
  it("memory: an allocation over limits.memory is killed (under a larger limit it completes); the cgroup is removed afterwards", async () => {
    const [limitFile, eventsFile] = v2("memory") ? ["memory.max", "memory.events"] : ["memory.limit_in_bytes", "memory.oom_control"];
    const killed = await sh(BIG_ALLOCATION, { memory: "64m" }, [limitFile, eventsFile]);
    assert.match(killed.stdout, /TAIL-STATUS 137/, `tail was SIGKILLed by the OOM killer: ${JSON.stringify(killed)}`);
    assert.equal(killed.cgroupFiles[limitFile], String(64 * 1024 * 1024));
    assert.match(killed.cgroupFiles[eventsFile] ?? "", /oom_kill [1-9]/, "the OOM kill happened in the launch's own cgroup");
    assert.ok(killed.cgroupDirs.length > 0);
    for (const d of killed.cgroupDirs) assert.equal(existsSync(d), false, `${d} removed at cleanup`);
    const fits = await sh(BIG_ALLOCATION, { memory: "1g" });
    assert.match(fits.stdout, /TAIL-STATUS 0/, JSON.stringify(fits));
  });

  it("pids: a fork bomb is contained by limits.pids (a few processes still start); the cgroup is removed afterwards", async () => {
    const few = await sh("for i in 1 2 3; do sleep 1 & done; wait && echo FEW-OK", { pids: 16 });
    assert.match(few.stdout, /FEW-OK/, JSON.stringify(few));
    const bomb = await sh(FORK_BOMB, { pids: 16 }, ["pids.max", "pids.events"]);
    assert.doesNotMatch(bomb.stdout, /BOMB-DONE/, JSON.stringify(bomb));
    assert.match(bomb.stderr, /fork/i);
    assert.equal(bomb.cgroupFiles["pids.max"], "16");
    assert.match(bomb.cgroupFiles["pids.events"] ?? "", /^max [1-9]/, "the pids limit was hit in the launch's own cgroup");
    for (const d of bomb.cgroupDirs) assert.equal(existsSync(d), false, `${d} removed at cleanup`);
  });

  it("cpus: the quota is set in the cgroup, and a busy loop gets about its share of CPU time (cpuacct usage against wall time)", async () => {
    const busy = `const end = Date.now() + 2000; let n = 0; while (Date.now() < end) n++; console.log("LOOPED", n > 0);`;
    const r = await run(NODE, ["-e", busy], { cpus: 0.25 }, ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max", "cpu.stat", "cpuacct.usage"]);
    assert.match(r.stdout, /LOOPED true/, JSON.stringify(r));
    if (v2("cpu")) assert.equal(r.cgroupFiles["cpu.max"], "25000 100000");
    else {
      assert.equal(r.cgroupFiles["cpu.cfs_quota_us"], "25000");
      assert.equal(r.cgroupFiles["cpu.cfs_period_us"], "100000");
    }
    assert.match(r.cgroupFiles["cpu.stat"] ?? "", /nr_throttled [1-9]/, "the loop was throttled");
    const usedMs = v2("cpu") ? Number(/usage_usec (\d+)/.exec(r.cgroupFiles["cpu.stat"] ?? "")?.[1]) / 1e3 : Number(r.cgroupFiles["cpuacct.usage"]) / 1e6;
    console.log(`# cpus 0.25: ${usedMs.toFixed(0)} ms of CPU in ${r.wallMs} ms of wall time`);
    // A quarter of one CPU, with generous room: well under the ~100% an unthrottled loop takes.
    assert.ok(usedMs > 0 && usedMs < r.wallMs * 0.6, `CPU time ${usedMs.toFixed(0)} ms over ${r.wallMs} ms of wall time`);
    for (const d of r.cgroupDirs) assert.equal(existsSync(d), false, `${d} removed at cleanup`);
  });

  it("behind the gateway: the start note names each limit's mechanism, the server runs in its cgroup, which is removed when the gateway stops", async () => {
    const s = scratch({});
    // A distinctive name: the cgroup is <server>-<gateway pid>-<random>.
    const name = `limfs${process.pid}`;
    const settings = {
      permissions: { allow: [`mcp__${name}`] },
      mcpServers: {
        [name]: {
          command: process.execPath,
          args: [FILESYSTEM, s.project],
          sandbox: { type: "bubblewrap", filesystem: { allowRead: [s.project, join(ROOT, "node_modules")] }, limits: { memory: "1g", pids: 256, cpus: 1 } },
        },
      },
      audit: { dir: s.auditDir, fsyncIntervalMs: 50 },
      gateway: { logDir: s.logDir },
    };
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    writeFileSync(join(s.project, "readme.md"), "inside\n");
    const pidsBase = join(host.cgroups.pids!.dir, "mcp-warden");
    const ours = () => (existsSync(pidsBase) ? readdirSync(pidsBase).filter((n) => n.startsWith(`${name}-`)) : []);
    const c = await connect(s);
    try {
      const r = await c.client.callTool({ name: `${name}__read_text_file`, arguments: { path: join(s.project, "readme.md") } });
      assert.ok(!r.isError, JSON.stringify(r));
      assert.match(c.stderr(), new RegExp(`${name}: bubblewrap limits: memory 1g \\(cgroup v[12](, swap included|; swap not counted[^)]*)\\), pids 256 \\(cgroup v[12]\\), cpus 1 \\(cgroup v[12] quota 100000/100000 µs\\), open files \\d+ \\(RLIMIT_NOFILE\\)`));
      const [group] = ours();
      assert.ok(group, "the server's pids cgroup exists while it runs");
      const current = Number(readFileSync(join(pidsBase, group, "pids.current"), "utf8"));
      assert.ok(current >= 2, `bwrap, its init and the server are counted in it (${current})`);
    } finally {
      await c.close();
    }
    // The gateway ends its server and removes the cgroup; bounded wait for its exit.
    for (let i = 0; i < 100 && ours().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ours(), [], "the cgroup is removed once the server ended");
    s.cleanup();
  });

  it("doctor says each limit is enforced by a cgroup here, open files by RLIMIT_NOFILE", () => {
    const limits = doctorLimits();
    for (const k of ["memory", "pids", "cpus"]) assert.match(limits[k]?.by ?? "", /^cgroup v[12]$/, `${k}: ${JSON.stringify(limits[k])}`);
    assert.equal(limits.openFiles?.by, "RLIMIT_NOFILE");
  });

  it("says what is enforced by which mechanism (the start note), with open files always limited", () => {
    const launch = backend.wrap({ command: "true", args: [], env: { PATH: "/usr/bin:/bin" } }, policy({ memory: "256m", pids: 64, cpus: 1 }), { home: HOME, mandatoryDeny: [] });
    try {
      assert.match(launch.limitsNote ?? "", /memory 256m \(cgroup v[12](, swap included|; swap not counted[^)]*)\), pids 64 \(cgroup v[12]\), cpus 1 \(cgroup v[12] quota 100000\/100000 µs\), open files \d+ \(RLIMIT_NOFILE\)/);
    } finally {
      launch.cleanup();
    }
    for (const d of cgroupDirsOf(launch)) assert.equal(existsSync(d), false, "a launch that never ran leaves no cgroup");
  });
});

describe("bubblewrap limits by rlimits (as nobody: no cgroup may be created)", { skip: noNobody }, () => {
  it("RLIMIT_AS makes an over-limit allocation fail, RLIMIT_NPROC contains a fork bomb, RLIMIT_NOFILE is set; cpus (no rlimit) refuses the start", async () => {
    const here = fileURLToPath(new URL(".", import.meta.url));
    const child = join(HOME, "child.mjs");
    writeFileSync(
      child,
      `import { spawnSync } from "node:child_process";
const { bubblewrapBackend, launchStdio } = await import(${JSON.stringify(join(here, "..", "..", "src", "sandbox", "bubblewrap.js"))});
const { detectLimitsHost } = await import(${JSON.stringify(join(here, "..", "..", "src", "sandbox", "bwrap-limits.js"))});
const b = bubblewrapBackend();
const out = { uid: process.getuid(), available: b.available(), cgroups: Object.keys(detectLimitsHost().cgroups) };
const policy = (limits) => ({ type: "bubblewrap", filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] }, network: {}, limits, env: [] });
const run = (script, limits) => {
  try {
    const l = b.wrap({ command: "sh", args: ["-c", script], env: { PATH: "/usr/bin:/bin" } }, policy(limits), { home: "/nonexistent", mandatoryDeny: [] });
    const r = spawnSync(l.command, l.args, { env: l.env, stdio: launchStdio(["ignore", "pipe", "pipe"], l), encoding: "utf8", timeout: 30000 });
    l.cleanup();
    return { note: l.limitsNote, status: r.status, stdout: r.stdout, stderr: r.stderr };
  } catch (e) { return { error: String(e.message) }; }
};
out.asOver = run(${JSON.stringify(BIG_ALLOCATION)}, { memory: "100m" });
out.asUnder = run(${JSON.stringify(BIG_ALLOCATION)}, { memory: "2g" });
out.few = run("for i in 1 2 3; do sleep 1 & done; wait && echo FEW-OK", { pids: 12 });
out.bomb = run(${JSON.stringify(FORK_BOMB)}, { pids: 12 });
out.nofile = run("ulimit -n; ulimit -Hn", {});
out.memoryAndCpus = run("echo RAN", { memory: "512m", cpus: 1 });
out.cpus = run("echo RAN", { cpus: 0.5 });
console.log(JSON.stringify(out));
`,
    );
    chmodSync(child, 0o644);
    const r = spawnSync(SETPRIV as string, ["--reuid=65534", "--regid=65534", "--clear-groups", NODE, child], { encoding: "utf8", timeout: 120_000, env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent" }, cwd: "/" });
    assert.equal(r.status, 0, r.stderr);
    type Out = { note?: string; status?: number; stdout?: string; stderr?: string; error?: string };
    const out = JSON.parse(r.stdout.trim()) as Record<string, Out> & { uid: number; available: { ok: boolean; why?: string }; cgroups: string[] };
    assert.equal(out.uid, 65534);
    assert.ok(out.available.ok, `bubblewrap runs for nobody: ${out.available.why}`);
    assert.deepEqual(out.cgroups, [], "nobody may create no cgroup here");
    assert.match(out.asOver?.note ?? "", /memory 100m as address space per process \(RLIMIT_AS/, JSON.stringify(out.asOver));
    assert.match(out.asOver?.stdout ?? "", /TAIL-STATUS [1-9]/, JSON.stringify(out.asOver));
    assert.match(out.asOver?.stderr ?? "", /memory/i, "tail says it ran out of memory");
    assert.match(out.asUnder?.stdout ?? "", /TAIL-STATUS 0/, JSON.stringify(out.asUnder));
    assert.match(out.few?.stdout ?? "", /FEW-OK/, JSON.stringify(out.few));
    assert.match(out.bomb?.note ?? "", /pids 12 \(RLIMIT_NPROC per sandbox\)/);
    assert.doesNotMatch(out.bomb?.stdout ?? "", /BOMB-DONE/, JSON.stringify(out.bomb));
    assert.match(out.bomb?.stderr ?? "", /fork|Resource temporarily unavailable/i, JSON.stringify(out.bomb));
    assert.match(out.nofile?.stdout ?? "", /^(\d+)\n\1\n$/, JSON.stringify(out.nofile));
    assert.ok(Number(out.nofile?.stdout?.split("\n")[0]) <= 4096);
    assert.match(out.memoryAndCpus?.error ?? "", /cannot enforce limits\.cpus here.*no rlimit/, JSON.stringify(out.memoryAndCpus));
    assert.doesNotMatch(JSON.stringify(out.memoryAndCpus), /RAN/);
    assert.match(out.cpus?.error ?? "", /limits\.cpus/, JSON.stringify(out.cpus));
  });

  it("doctor, as nobody, says memory falls back to RLIMIT_AS, pids to RLIMIT_NPROC, and cpus cannot be enforced (and why)", () => {
    const limits = doctorLimits([SETPRIV as string, "--reuid=65534", "--regid=65534", "--clear-groups"]);
    assert.equal(limits.memory?.by, "RLIMIT_AS");
    assert.equal(limits.pids?.by, "RLIMIT_NPROC");
    assert.equal(limits.cpus?.by, undefined);
    assert.match(limits.cpus?.why ?? "", /cannot enforce limits\.cpus here.*not writable/);
  });
});
