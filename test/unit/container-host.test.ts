// What a container engine can do on a host (container-host.ts), and what the backend makes of it
// (container-limits.ts via wrap): the runtime, the ulimits, and limits enforced or refused.
// The hosts that fall short (rootless podman on cgroup v1, crun on hybrid cgroups, a daemon without
// limit support or without gVisor) are SIMULATED with injected detection results: this test host
// is rootful on cgroup v1 hybrid with runc, where every limit holds (the e2e suite proves that), so
// none of them can be produced here for real. The probe's timeout and garbage answers use a fake
// engine (a shell script on PATH: a real process, not a real engine); the detection of this host's
// real podman runs it for real.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { containerBackend, type ContainerBackendOptions, type ContainerEngine } from "../../src/sandbox/container.js";
import { detectContainerHost, dockerHostFrom, findExecutable, forgetContainerHosts, knownContainerHost, localCgroupVersion, podmanHostFrom, type HostDetection } from "../../src/sandbox/container-host.js";
import { GVISOR_MIN_PIDS } from "../../src/sandbox/container-limits.js";
import type { LaunchSpec, SandboxPolicy } from "../../src/sandbox/types.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-ctrhost-")));
after(() => rmSync(root, { recursive: true, force: true }));

const spec: LaunchSpec = { command: "node", args: ["server.js"], env: {} };
const policy = (engine: ContainerEngine, over: Partial<SandboxPolicy> = {}): SandboxPolicy => ({
  type: engine,
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] },
  network: {},
  limits: {},
  env: [],
  image: "node:22-slim",
  ...over,
});
const ctx = { home: "/home/u", mandatoryDeny: [] };
const wrap = (engine: ContainerEngine, host: HostDetection, over: Partial<SandboxPolicy> = {}, opts: ContainerBackendOptions = {}) =>
  containerBackend(engine, { removeOnCleanup: false, host, ...opts }).wrap(spec, policy(engine, over), ctx);
const engineArgs = (args: string[]) => args.slice(0, args.indexOf("--"));
const valuesOf = (args: string[], flag: string) => engineArgs(args).filter((a) => a.startsWith(`${flag}=`)).map((a) => a.slice(flag.length + 1));

const podmanInfo = (o: { version?: string; rootless?: boolean; runtime?: string; controllers?: string[] }) => ({
  host: { cgroupVersion: o.version ?? "v1", security: { rootless: o.rootless ?? false }, ociRuntime: { name: o.runtime ?? "runc" }, ...(o.controllers ? { cgroupControllers: o.controllers } : {}) },
});
const ALL = ["cpuset", "cpu", "cpuacct", "memory", "pids"];
const dockerInfo = (o: Record<string, unknown> = {}) => ({
  ServerVersion: "20.10.24",
  CgroupVersion: "1",
  MemoryLimit: true,
  SwapLimit: true,
  CpuCfsQuota: true,
  PidsLimit: true,
  DefaultRuntime: "runc",
  Runtimes: { runc: {}, "io.containerd.runc.v2": {} },
  SecurityOptions: ["name=seccomp,profile=default"],
  ...o,
});

describe("cgroup layout", () => {
  it("tells v2, hybrid (v1 plus a cgroup2 mount, as on this host) and v1 apart from the mount table", () => {
    assert.equal(localCgroupVersion("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n"), "v2");
    assert.equal(localCgroupVersion("tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"), "hybrid");
    assert.equal(localCgroupVersion("tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"), "v1");
  });
});

describe("podman: runtime and ulimits", () => {
  it("keeps podman's default runtime when it works, and always passes explicit ulimits (nproc follows a large pids limit)", () => {
    const host = podmanHostFrom(podmanInfo({ controllers: ALL }), { cgroup: "hybrid" });
    assert.ok(host.ok && host.host.cgroup === "hybrid");
    const args = wrap("podman", host).args;
    assert.deepEqual(valuesOf(args, "--runtime"), []);
    assert.deepEqual(valuesOf(args, "--ulimit"), ["nofile=1024:1024", "nproc=1024:1024"]);
    assert.deepEqual(valuesOf(wrap("podman", host, { limits: { pids: 4096 } }).args, "--ulimit"), ["nofile=1024:1024", "nproc=4096:4096"]);
  });
  it("chooses runc over crun on cgroup v1/hybrid (simulated), and refuses when runc is not installed", () => {
    const withRunc = podmanHostFrom(podmanInfo({ runtime: "crun", controllers: ALL }), { cgroup: "hybrid", findRuntime: (n) => (n === "runc" ? "/usr/sbin/runc" : undefined) });
    assert.deepEqual(valuesOf(wrap("podman", withRunc).args, "--runtime"), ["/usr/sbin/runc"]);
    const onV2 = podmanHostFrom(podmanInfo({ version: "v2", runtime: "crun", controllers: ALL }), { findRuntime: () => "/usr/sbin/runc" });
    assert.deepEqual(valuesOf(wrap("podman", onV2).args, "--runtime"), [], "crun works on v2");
    const without = podmanHostFrom(podmanInfo({ runtime: "crun", controllers: ALL }), { cgroup: "hybrid", findRuntime: () => undefined });
    assert.throws(() => wrap("podman", without), /crun.*cannot run containers on cgroup hybrid.*install runc.*refusing to start/);
  });
  it("runs gVisor as a runsc binary path with its network off, and refuses a runtime that is not installed", () => {
    const host = podmanHostFrom(podmanInfo({ controllers: ALL }), {});
    const found = (n: string) => (n === "runsc" ? "/usr/bin/runsc" : undefined);
    const args = wrap("podman", host, { runtime: "runsc" }, { findRuntime: found }).args;
    assert.deepEqual(valuesOf(args, "--runtime"), ["/usr/bin/runsc"]);
    // gVisor's network off, and mcp-warden's seccomp profile applied (container-seccomp.ts).
    assert.deepEqual(valuesOf(args, "--runtime-flag"), ["network=none", "oci-seccomp"]);
    assert.throws(() => wrap("podman", host, { runtime: "runsc" }, { findRuntime: () => undefined }), /"runsc" is not installed.*gvisor\.dev/);
  });
});

describe("limits: enforced or refused", () => {
  // SIMULATED: rootless podman on cgroup v1 (this host runs the tests as root, where limits hold).
  const rootlessV1 = podmanHostFrom(podmanInfo({ rootless: true, controllers: [] }), { cgroup: "v1" });

  it("refuses a limit the settings set explicitly when the engine cannot enforce it (rootless podman on cgroup v1), saying why and what to do", () => {
    for (const [limits, setting] of [
      [{ memory: "128m" }, "limits.memory"],
      [{ cpus: 0.5 }, "limits.cpus"],
      [{ pids: 32 }, "limits.pids"],
    ] as const)
      assert.throws(() => wrap("podman", rootlessV1, { limits }), new RegExp(`${setting.replace(".", "\\.")} is set to .*cannot enforce it here: rootless podman on cgroup v1.*Remove ${setting.replace(".", "\\.")}.*refusing to start`), setting);
  });
  it("starts with only the defaults, leaves the unenforceable flags out and reports each gap in notes", () => {
    const launch = containerBackend("podman", { removeOnCleanup: false, host: rootlessV1 }).wrap(spec, policy("podman"), ctx);
    for (const flag of ["--memory", "--memory-swap", "--cpus", "--pids-limit"]) assert.deepEqual(valuesOf(launch.args, flag), [], flag);
    assert.equal(launch.notes.length, 3);
    for (const [i, name] of ["memory", "cpus", "pids"].entries()) assert.match(launch.notes[i] ?? "", new RegExp(`default ${name} limit .* not enforced: rootless podman on cgroup v1`));
  });
  it("has no notes and every limit flag when everything is enforced", () => {
    const launch = containerBackend("podman", { removeOnCleanup: false, host: podmanHostFrom(podmanInfo({ controllers: ALL }), {}) }).wrap(spec, policy("podman"), ctx);
    assert.deepEqual(launch.notes, []);
    for (const flag of ["--memory", "--memory-swap", "--cpus", "--pids-limit"]) assert.equal(valuesOf(launch.args, flag).length, 1, flag);
  });
  it("follows podman's cgroup controllers on v2 (a controller not delegated is not enforced)", () => {
    const host = podmanHostFrom(podmanInfo({ version: "v2", rootless: true, controllers: ["memory", "pids"] }), {});
    assert.ok(host.ok && host.host.limits.memory.enforced && host.host.limits.pids.enforced && !host.host.limits.cpus.enforced);
    assert.throws(() => wrap("podman", host, { limits: { cpus: 1 } }), /limits\.cpus .*cpu cgroup controller is not available/);
    const unknown = podmanHostFrom(podmanInfo({}), {});
    assert.ok(unknown.ok && !unknown.host.limits.memory.enforced, "no controller list: not known to hold, so not claimed");
  });
  it("docker: follows the daemon's MemoryLimit/CpuCfsQuota/PidsLimit answers (simulated), and reports swap it cannot limit", () => {
    const noPids = dockerHostFrom(dockerInfo({ PidsLimit: false }), {});
    assert.throws(() => wrap("docker", noPids, { limits: { pids: 64 } }), /limits\.pids .*no pids limit support \(PidsLimit: false\)/);
    assert.deepEqual(valuesOf(wrap("docker", noPids).args, "--pids-limit"), []);
    const noSwap = containerBackend("docker", { removeOnCleanup: false, host: dockerHostFrom(dockerInfo({ SwapLimit: false }), {}) }).wrap(spec, policy("docker", { limits: { memory: "1g" } }), ctx);
    assert.deepEqual(valuesOf(noSwap.args, "--memory"), ["1g"]);
    assert.deepEqual(valuesOf(noSwap.args, "--memory-swap"), []);
    assert.match(noSwap.notes.join("\n"), /swap is not limited/);
  });
  it(`under gVisor refuses limits.pids below ${GVISOR_MIN_PIDS} (gVisor's own threads count)`, () => {
    const host = dockerHostFrom(dockerInfo({ Runtimes: { runc: {}, runsc: { runtimeArgs: ["--network=none", "--oci-seccomp"] } } }), {});
    assert.throws(() => wrap("docker", host, { runtime: "runsc", limits: { pids: 64 } }), /limits\.pids is 64.*gVisor.*256 or more/);
    assert.deepEqual(valuesOf(wrap("docker", host, { runtime: "runsc" }).args, "--pids-limit"), ["512"]);
  });
});

describe("docker: runtimes", () => {
  it("passes a runtime the daemon registered, and refuses one it did not, with the daemon.json lines for gVisor", () => {
    const without = dockerHostFrom(dockerInfo(), {});
    assert.throws(() => wrap("docker", without, { runtime: "runsc" }), /no runtime named "runsc" \(registered: io\.containerd\.runc\.v2, runc\).*daemon\.json.*"runsc":\{"path":"\/usr\/bin\/runsc","runtimeArgs":\["--network=none","--oci-seccomp","--host-fifo=open"\]\}.*restart dockerd/);
    assert.throws(() => wrap("docker", without, { runtime: "/usr/bin/runsc" }), /by the name the daemon registered/);
    const registered = dockerHostFrom(dockerInfo({ Runtimes: { runc: {}, "gvisor-kvm": {}, runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--oci-seccomp"] } } }), {});
    assert.deepEqual(valuesOf(wrap("docker", registered, { runtime: "gvisor-kvm" }).args, "--runtime"), ["gvisor-kvm"]);
    assert.deepEqual(valuesOf(wrap("docker", registered, { runtime: "runsc" }).args, "--runtime"), ["runsc"]);
  });
  it("refuses a gVisor runtime the daemon registered without --network=none (it fails to start here without it)", () => {
    const bare = dockerHostFrom(dockerInfo({ Runtimes: { runc: {}, runsc: { path: "/usr/bin/runsc" } } }), {});
    assert.throws(() => wrap("docker", bare, { runtime: "runsc" }), /"runsc" runtime does not turn gVisor's network off.*runtimeArgs.*--network=none.*restart dockerd/);
  });
  it("reads rootless and the cgroup version from the daemon", () => {
    const d = dockerHostFrom(dockerInfo({ CgroupVersion: "2", SecurityOptions: ["name=seccomp,profile=default", "name=rootless"] }), { cgroup: "hybrid" });
    assert.ok(d.ok && d.host.rootless && d.host.cgroup === "v2");
    assert.equal(dockerHostFrom({ ServerVersion: "" }, {}).ok, false);
  });
});

describe("detection fails closed", () => {
  const bin = join(root, "bin");
  const fake = (name: string, body: string) => {
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };

  it("an engine that does not answer in time, or answers with no JSON, is unavailable, and wrap refuses with what to do", () => {
    fake("docker", "exec sleep 5");
    const env = { PATH: `${bin}:/usr/bin:/bin`, DOCKER_HOST: "unix:///nonexistent-1" };
    const started = Date.now();
    const slow = detectContainerHost("docker", { executable: join(bin, "docker"), env, timeoutMs: 300 });
    assert.ok(Date.now() - started < 4000, "bounded by the timeout");
    assert.ok(!slow.ok && /did not answer within 300 ms/.test(slow.why));
    fake("podman", "echo not-json");
    const garbage = detectContainerHost("podman", { executable: join(bin, "podman"), env: { PATH: env.PATH } });
    assert.ok(!garbage.ok && /JSON/.test(garbage.why));
    assert.throws(
      () => containerBackend("podman", { executable: join(bin, "podman"), hostEnv: { PATH: env.PATH }, removeOnCleanup: false }).wrap(spec, policy("podman"), ctx),
      /cannot tell what the engine enforces here: .*JSON.*podman info.*refusing to start/,
    );
  });
  it("a local podman's answer is remembered on disk for the same binary and configuration (one probe, not one per process), and asked again when the configuration changes", () => {
    const calls = join(root, "podman-calls");
    const conf = join(root, "containers.conf");
    writeFileSync(conf, "[engine]\n");
    const info = JSON.stringify({ host: { cgroupVersion: "v2", security: { rootless: false }, ociRuntime: { name: "runc" }, cgroupControllers: ["cpu", "memory", "pids"] } });
    fake("podman", `echo x >> ${calls}\necho '${info}'`);
    const cacheDir = join(root, "podman-cache");
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: root, CONTAINERS_CONF: conf };
    const o = { executable: join(bin, "podman"), env, cacheDir };
    const count = () => readFileSync(calls, "utf8").split("\n").filter(Boolean).length;
    forgetContainerHosts();
    const first = detectContainerHost("podman", o);
    assert.ok(first.ok && first.host.cgroup === "v2", JSON.stringify(first));
    forgetContainerHosts(); // as a new process
    const again = knownContainerHost("podman", o);
    assert.ok(again?.ok && again.host.limits.memory.enforced, "read back from disk");
    assert.equal(count(), 1, "podman was asked once");
    forgetContainerHosts();
    assert.equal(knownContainerHost("podman", { ...o, cacheDir: undefined }), undefined, "without a cache directory nothing is read from disk");
    forgetContainerHosts();
    writeFileSync(conf, "[engine]\nruntime = \"crun\"\n");
    assert.equal(knownContainerHost("podman", o), undefined, "a changed containers.conf is another answer");
    detectContainerHost("podman", o);
    assert.equal(count(), 2);
    forgetContainerHosts();
    assert.equal(knownContainerHost("podman", { ...o, remote: true }), undefined, "a remote podman's answer is never taken from this machine's disk");
    forgetContainerHosts();
  });
  it("detects this host's real podman, when installed: its cgroup layout matches the mount table and it is not rootless as root", (t) => {
    const podman = findExecutable("podman", process.env.PATH);
    if (podman === undefined) return t.skip("podman is not installed here (apt-get install podman; .ci/run does this)");
    const d = detectContainerHost("podman", { executable: podman, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" } });
    assert.ok(d.ok, d.ok ? "" : d.why);
    const local = localCgroupVersion();
    assert.equal(d.host.cgroup, local);
    if (process.getuid?.() === 0) assert.equal(d.host.rootless, false);
    assert.ok(d.host.runtimeProblem === undefined, d.host.runtimeProblem);
  });
});
