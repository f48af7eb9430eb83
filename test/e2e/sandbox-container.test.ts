// The docker and podman backends against real engines, each test for four backends: podman, docker
// (a private dockerd this file starts and stops), podman with gVisor (runsc) and docker with gVisor.
// Images are built here from the host's static busybox (container-harness.ts): no registry.
// Proved inside running containers: the hardening (uid, read-only root, read-only mounts, no
// network, no capabilities, no_new_privs), stdio both ways, denied paths hidden, the reaper, and the
// limits: memory (an allocation over it is killed), pids (a fork bomb is contained) and CPUs (the
// quota is set in the host's cgroup and two busy loops get no more than it).
// A backend is skipped only when its engine is not installed here (the reason says what to install).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { containerBackend, type ContainerBackendOptions, type ContainerLaunch } from "../../src/sandbox/container.js";
import { GVISOR_MIN_PIDS } from "../../src/sandbox/container-limits.js";
import { reapContainers } from "../../src/sandbox/reap-containers.js";
import type { LaunchSpec, SandboxPolicy } from "../../src/sandbox/types.js";
import { containerPid, hostCgroup } from "./container-cgroup.js";
import { busyboxImage, dockerdProblem, engineEnv, podmanProblem, runscProblem, startDockerd, type PrivateDockerd, type TestEngine } from "./container-harness.js";

interface Backend {
  label: string;
  engine: TestEngine;
  runtime?: string;
}
const BACKENDS: Backend[] = [
  { label: "podman", engine: "podman" },
  { label: "docker", engine: "docker" },
  { label: "podman+runsc", engine: "podman", runtime: "runsc" },
  { label: "docker+runsc", engine: "docker", runtime: "runsc" },
];

function problemOf(b: Backend): string | undefined {
  const engine = b.engine === "podman" ? podmanProblem() : dockerdProblem();
  return engine ?? (b.runtime !== undefined ? runscProblem() : undefined);
}

// One private dockerd for the whole file, started by the first docker suite that needs it.
let dockerd: Promise<PrivateDockerd> | undefined;
after(async () => {
  const d = await dockerd?.catch(() => undefined);
  await d?.stop();
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the launch as the gateway would; `cwd` stands for the gateway's own working directory. */
function run(launch: ContainerLaunch, input = "", cwd?: string, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { env: launch.env, cwd: launch.cwd ?? cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      launch.cleanup();
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const b of BACKENDS) {
  const skip = problemOf(b) ?? false;
  const gvisor = b.runtime !== undefined;

  describe(`${b.label} sandbox against the real engine`, { skip, timeout: 300_000 }, () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), `warden-${b.label}-`)));
    const readable = join(dir, "readable");
    const writable = join(dir, "writable");
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    let env: NodeJS.ProcessEnv = engineEnv();
    let image = "";
    before(async () => {
      if (b.engine === "docker") env = (await (dockerd ??= startDockerd())).env;
      image = busyboxImage(b.engine, env);
      for (const d of [join(readable, "private"), join(writable, "frozen"), join(writable, "keys")]) mkdirSync(d, { recursive: true });
      writeFileSync(join(readable, "file.txt"), "visible");
      writeFileSync(join(readable, "secret.txt"), "SECRET-FILE");
      writeFileSync(join(readable, "private/k.txt"), "SECRET-DIR");
      writeFileSync(join(writable, "keys/id"), "SECRET-KEY");
      // The container's user is the gateway's own, or nobody when the tests run as root.
      for (const d of [writable, join(writable, "frozen")]) chmodSync(d, 0o777);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    // gVisor's own host threads count against the pids limit: it needs GVISOR_MIN_PIDS at least.
    const pids = gvisor ? GVISOR_MIN_PIDS : 32;
    const policy = (limits: SandboxPolicy["limits"] = { memory: "256m", pids: pids * 2 }): SandboxPolicy => ({
      type: b.engine,
      filesystem: { allowRead: [readable], denyRead: [join(readable, "secret.txt"), join(readable, "private")], allowWrite: [writable], denyWrite: [join(writable, "frozen")] },
      network: {},
      limits,
      env: [],
      image,
      ...(b.runtime !== undefined ? { runtime: b.runtime } : {}),
    });
    const ctx = { home: dir, mandatoryDeny: [join(writable, "keys")] };
    const spec = (script: string, extra: Record<string, string> = {}): LaunchSpec => ({ command: "sh", args: ["-c", script], env: { R: readable, W: writable, ...extra }, cwd: writable });
    const backend = (opts: ContainerBackendOptions = {}) => containerBackend(b.engine, { server: "e2e", hostEnv: env, ...opts });
    const listed = (name: string) => spawnSync(b.engine, ["ps", "-q", "--no-trunc", "--filter", `name=^${name}$`], { env, encoding: "utf8", timeout: 30_000 }).stdout.trim();
    const remove = (name: string) => spawnSync(b.engine, ["rm", "-f", name], { env, stdio: "ignore", timeout: 30_000 });

    it("runs read-only, unprivileged, without network and with only the server's environment", async () => {
      process.env.WARDEN_E2E_CANARY = "host-only";
      const script = [
        'echo "uid=$(id -u)"',
        "touch /probe 2>/dev/null && echo rootfs=rw || echo rootfs=ro",
        "echo t > /tmp/t 2>/dev/null && echo tmp=rw || echo tmp=ro",
        'echo "read=$(cat "$R/file.txt")"',
        'echo "maskedfile=$(cat "$R/secret.txt" 2>&1)"',
        'echo "maskeddir=$(cat "$R/private/k.txt" 2>&1 | head -c 60)"',
        'echo "mandatory=$(cat "$W/keys/id" 2>&1 | head -c 60)"',
        'echo x > "$R/new" 2>/dev/null && echo readmount=rw || echo readmount=ro',
        'echo x > "$W/new" 2>/dev/null && echo writemount=rw || echo writemount=ro',
        'echo x > "$W/frozen/f" 2>/dev/null && echo frozen=rw || echo frozen=ro',
        'echo "pwd=$(pwd)"',
        'echo "ifaces=$(ls /sys/class/net 2>/dev/null | tr "\\n" " ")"',
        "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status",
        "echo ---env---",
        "env",
      ].join("\n");
      try {
        const r = await run(backend().wrap(spec(script, { SERVER_TOKEN: "mine" }), policy(), ctx));
        assert.equal(r.code, 0, r.stderr);
        const [head = "", envOut = ""] = r.stdout.split("---env---\n");
        const has = (line: string) => assert.ok(head.split("\n").includes(line), `${line}\n---\n${head}\n${r.stderr}`);
        for (const line of ["uid=65534", "rootfs=ro", "tmp=rw", "read=visible", "maskedfile=", "readmount=ro", "writemount=rw", "frozen=ro", `pwd=${writable}`, "CapEff:\t0000000000000000"]) has(line);
        if (process.getuid?.() !== 0) assert.fail("these tests run as root here; the uid check above assumes it");
        // gVisor's kernel lists no network devices when it has no network; runc shows the loopback only.
        if (gvisor) assert.match(head, /^ifaces=(lo )?$/m);
        else has("ifaces=lo ");
        // gVisor's /proc does not show NoNewPrivs; runc's does, and it is set.
        if (!gvisor) has("NoNewPrivs:\t1");
        assert.doesNotMatch(head, /SECRET/);
        assert.match(envOut, /^SERVER_TOKEN=mine$/m);
        assert.doesNotMatch(envOut, /host-only|WARDEN_E2E_CANARY/);
      } finally {
        delete process.env.WARDEN_E2E_CANARY;
      }
    });

    it("carries the server's stdin and stdout both ways, untouched", async () => {
      const lines = `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize" })}\n${JSON.stringify({ jsonrpc: "2.0", method: "x", params: { s: "é \u0001" } })}\n`;
      const r = await run(backend().wrap({ command: "cat", args: [], env: {} }, policy(), ctx), lines);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, lines);
    });

    it("reaps the container of a gateway that is gone, and keeps its own", async () => {
      const orphan = backend({ server: "e2e-orphan", gatewayPid: deadPid, removeOnCleanup: false }).wrap(spec("sleep 300"), policy(), ctx);
      const mine = backend({ server: "e2e-mine", removeOnCleanup: false }).wrap(spec("sleep 300"), policy(), ctx);
      const clients = [orphan, mine].map((l) => spawn(l.command, l.args, { env: l.env, cwd: l.cwd, stdio: ["pipe", "ignore", "ignore"] }));
      try {
        let orphanId = "";
        for (let i = 0; i < 120 && (orphanId === "" || listed(mine.containerName) === ""); i++) {
          await sleep(250);
          orphanId = listed(orphan.containerName);
        }
        assert.notEqual(orphanId, "", "the orphan started");
        const report = await reapContainers(b.engine, { env });
        assert.equal(report.error, undefined);
        assert.ok(report.removed.includes(orphanId), JSON.stringify(report));
        assert.equal(listed(orphan.containerName), "");
        assert.notEqual(listed(mine.containerName), "", "this gateway's container is kept");
      } finally {
        for (const l of [orphan, mine]) remove(l.containerName);
        for (const c of clients) c.kill("SIGKILL");
      }
    });

    it('kills an allocation over limits.memory ("128m"), lets a smaller one through, and leaves no file in the gateway\'s directory', async () => {
      const script = "dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null; echo small=$?; dd if=/dev/zero of=/dev/null bs=300M count=1 2>/dev/null; echo big=$?";
      const gatewayDir = mkdtempSync(join(dir, "gateway-cwd-"));
      const r = await run(backend().wrap(spec(script), policy({ memory: "128m" }), ctx), "", gatewayDir);
      // podman's conmon writes an `oom` file into its working directory on an OOM kill.
      assert.deepEqual(readdirSync(gatewayDir), []);
      assert.match(r.stdout, /^small=0$/m, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /^big=0$/m, "the 300 MB allocation must not succeed");
      // runc: the kernel kills dd (137) and the shell goes on; gVisor: the whole sandbox is killed.
      if (gvisor) assert.equal(r.code, 137, r.stdout + r.stderr);
      else {
        assert.match(r.stdout, /^big=137$/m, r.stdout + r.stderr);
        assert.equal(r.code, 0, r.stderr);
      }
    });

    it(`contains a fork bomb under limits.pids (${pids}), and the engine runs the next container fine`, async () => {
      const script = "for i in $(seq 1000); do sleep 30 & done; echo survived";
      const launch = backend().wrap(spec(script), policy({ pids }), ctx);
      const r = await run(launch);
      assert.doesNotMatch(r.stdout, /survived/, "1000 processes must not all start");
      assert.notEqual(r.code, 0);
      // runc: fork fails with EAGAIN and the shell says so; gVisor: its own host threads hit the
      // limit and the whole sandbox ends (measured: exit 2, no message).
      if (!gvisor) assert.match(r.stderr, /can't fork/, r.stderr);
      assert.equal(listed(launch.containerName), "", "the container and its processes are gone");
      const next = await run(backend().wrap(spec("echo fine"), policy(), ctx));
      assert.equal(next.stdout, "fine\n", next.stderr);
    });

    it("sets memory, pids and CPU limits in the host's cgroup, and two busy loops get no more than limits.cpus (0.5)", async () => {
      const script = [
        // Inside: runc shows the CPU quota; gVisor's kernel has no cgroup files to show.
        "echo inside=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null | head -n 1)",
        "yes >/dev/null & yes >/dev/null & echo busy",
        "sleep 60",
      ].join("; ");
      const launch = backend({ removeOnCleanup: false }).wrap(spec(script), policy({ cpus: 0.5, memory: "128m", pids }), ctx);
      const child = spawn(launch.command, launch.args, { env: launch.env, cwd: launch.cwd, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise((r) => child.on("close", r));
      try {
        for (let i = 0; i < 240 && !stdout.includes("busy"); i++) await sleep(250);
        assert.match(stdout, /busy/, "the container started");
        const pid = containerPid(b.engine, launch.containerName, env);
        assert.ok(pid !== undefined, "the engine names the container's host pid");
        const cg = hostCgroup(pid);
        assert.equal(cg.memoryLimit, 128 * 1024 * 1024);
        assert.equal(cg.pidsMax, pids);
        assert.equal(cg.cpus, 0.5);
        if (!gvisor) assert.match(stdout, cg.version === 1 ? /^inside=50000$/m : /^inside=50000 100000$/m);
        const t0 = process.hrtime.bigint();
        const u0 = cg.cpuUsageNs();
        await sleep(2000);
        const used = cg.cpuUsageNs() - u0;
        const wall = Number(process.hrtime.bigint() - t0);
        // Two loops would take both cores unlimited; the quota allows half of one (the bound is a
        // limit, not a speed: a busier machine only lowers the share). 25% slack for period edges.
        assert.ok(used > 0, "the busy loops ran");
        assert.ok(used / wall <= 0.5 * 1.25, `CPU share ${(used / wall).toFixed(2)} exceeds the 0.5 limit`);
      } finally {
        remove(launch.containerName);
        child.kill("SIGKILL");
        await exited;
      }
    });
  });
}
