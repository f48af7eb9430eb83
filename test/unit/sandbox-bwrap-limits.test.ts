// Which mechanism enforces each bubblewrap limit (chooseBwrapLimits), how a size is read, what the
// start note says, and where cgroups may be created (detectCgroups over given /proc texts, with
// temporary directories standing in for cgroup mounts: the decision reads only access() and
// cgroup.subtree_control). Real cgroups and rlimits: test/e2e/sandbox-bwrap-limits.test.ts.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  chooseBwrapLimits,
  createLaunchCgroups,
  describeLimits,
  detectCgroups,
  innerRlimitOptions,
  OPEN_FILES_MAX,
  outerRlimitOptions,
  parseMemory,
  type LimitsHost,
} from "../../src/sandbox/bwrap-limits.js";

const V1: LimitsHost["cgroups"] = {
  memory: { version: 1, dir: "/sys/fs/cgroup/memory" },
  pids: { version: 1, dir: "/sys/fs/cgroup/pids" },
  cpu: { version: 1, dir: "/sys/fs/cgroup/cpu" },
  cpuacct: { version: 1, dir: "/sys/fs/cgroup/cpuacct" },
};
const host = (extra: Partial<LimitsHost> = {}): LimitsHost => ({ uid: 1000, kernel: "6.8.0", cgroups: {}, cgroupProblem: "none writable", prlimit: "/usr/bin/prlimit", openFilesHard: 1_048_576, ...extra });

describe("bubblewrap limits: sizes", () => {
  it("reads docker-style sizes in binary units; refuses what is not a size", () => {
    assert.equal(parseMemory("512m"), 512 * 1024 ** 2);
    assert.equal(parseMemory("2g"), 2 * 1024 ** 3);
    assert.equal(parseMemory("1.5G"), 1.5 * 1024 ** 3);
    assert.equal(parseMemory("256MiB"), 256 * 1024 ** 2);
    assert.equal(parseMemory("64mb"), 64 * 1024 ** 2);
    assert.equal(parseMemory("4096"), 4096);
    assert.equal(parseMemory("100k"), 102_400);
    for (const bad of ["", "m", "-1g", "1x", "0", "1 g b", "1e9"]) assert.equal(parseMemory(bad), undefined, bad);
  });
});

describe("bubblewrap limits: the mechanism chosen for each limit", () => {
  it("cgroups where they may be created: memory, pids and cpus all by cgroup, even for root; nothing set inside the sandbox", () => {
    for (const uid of [0, 1000]) {
      const c = chooseBwrapLimits({ memory: "256m", pids: 64, cpus: 1.5 }, host({ uid, cgroups: V1 }));
      assert.deepEqual([c.memory?.by, c.pids?.by, c.cpus?.by], ["cgroup v1", "cgroup v1", "cgroup v1"]);
      assert.equal(c.memory?.bytes, 256 * 1024 ** 2);
      assert.deepEqual([c.cpus?.quotaUs, c.cpus?.periodUs], [150_000, 100_000]);
      assert.deepEqual(innerRlimitOptions(c), []);
      assert.deepEqual(outerRlimitOptions(c), [`--nofile=${OPEN_FILES_MAX}:${OPEN_FILES_MAX}`]);
    }
    const v2 = chooseBwrapLimits({ memory: "1g" }, host({ cgroups: { memory: { version: 2, dir: "/sys/fs/cgroup/x" } } }));
    assert.equal(v2.memory?.by, "cgroup v2");
  });

  it("a tiny CPU share still gets a quota the kernel accepts (at least 1 ms per period)", () => {
    assert.equal(chooseBwrapLimits({ cpus: 0.001 }, host({ cgroups: V1 })).cpus?.quotaUs, 1000);
  });

  it("no cgroup: memory as RLIMIT_AS on the launch, pids as RLIMIT_NPROC inside (unprivileged, Linux 5.14+)", () => {
    const c = chooseBwrapLimits({ memory: "2g", pids: 32 }, host());
    assert.equal(c.memory?.by, "RLIMIT_AS");
    assert.equal(c.pids?.by, "RLIMIT_NPROC");
    assert.deepEqual(outerRlimitOptions(c), [`--nofile=${OPEN_FILES_MAX}:${OPEN_FILES_MAX}`, `--as=${2 * 1024 ** 3}:${2 * 1024 ** 3}`]);
    assert.deepEqual(innerRlimitOptions(c), ["--nproc=32:32"]);
  });

  it("a cgroup for one controller and not another: each limit takes what it can", () => {
    const c = chooseBwrapLimits({ memory: "1g", pids: 10 }, host({ cgroups: { pids: V1.pids! } }));
    assert.deepEqual([c.memory?.by, c.pids?.by], ["RLIMIT_AS", "cgroup v1"]);
  });

  it("refuses, saying why and what to do, a limit nothing here enforces", () => {
    const refusals: [Parameters<typeof chooseBwrapLimits>[0], Partial<LimitsHost>, RegExp][] = [
      [{ cpus: 1 }, {}, /cannot enforce limits\.cpus here: a CPU quota needs a cgroup.*\(none writable\).*no rlimit for it; or remove the limit, or use the docker or podman backend/],
      [{ memory: "512m", cpus: 1 }, {}, /limits\.cpus/],
      [{ pids: 10 }, { uid: 0 }, /limits\.pids.*root is exempt from RLIMIT_NPROC/],
      [{ pids: 10 }, { kernel: "5.10.0-21-amd64" }, /Linux 5\.14 or later \(this is 5\.10\.0-21-amd64\)/],
      [{ pids: 10 }, { prlimit: undefined }, /needs prlimit/],
      [{ memory: "512m" }, { prlimit: undefined }, /limits\.memory.*prlimit \(util-linux\) for RLIMIT_AS/],
      [{ memory: "lots" }, { cgroups: V1 }, /limits\.memory must be a size like "512m"/],
      [{ pids: 0 }, { cgroups: V1 }, /limits\.pids must be a positive integer/],
      [{ pids: 1.5 }, { cgroups: V1 }, /limits\.pids must be a positive integer/],
      [{ cpus: 0 }, { cgroups: V1 }, /limits\.cpus must be a positive number/],
    ];
    for (const [limits, h, why] of refusals) assert.throws(() => chooseBwrapLimits(limits, host(h)), why, JSON.stringify([limits, h]));
  });

  it("open files are always limited (not above the host's hard limit); without prlimit the note says they are not", () => {
    assert.equal(chooseBwrapLimits({}, host()).openFiles?.max, OPEN_FILES_MAX);
    assert.equal(chooseBwrapLimits({}, host({ openFilesHard: 1024 })).openFiles?.max, 1024);
    const without = chooseBwrapLimits({}, host({ prlimit: undefined }));
    assert.equal(without.openFiles, undefined);
    assert.deepEqual(outerRlimitOptions(without), []);
    assert.match(describeLimits(without), /open files not limited \(prlimit from util-linux is not installed\)/);
  });

  it("the start note names each limit's value and mechanism", () => {
    assert.equal(
      describeLimits(chooseBwrapLimits({ memory: "256m", pids: 64, cpus: 0.5 }, host({ cgroups: V1 }))),
      `bubblewrap limits: memory 256m (cgroup v1), pids 64 (cgroup v1), cpus 0.5 (cgroup v1 quota 50000/100000 µs), open files ${OPEN_FILES_MAX} (RLIMIT_NOFILE)`,
    );
    assert.equal(
      describeLimits(chooseBwrapLimits({ memory: "2g", pids: 64 }, host())),
      `bubblewrap limits: memory 2g as address space per process (RLIMIT_AS; no cgroup available), pids 64 (RLIMIT_NPROC per sandbox), open files ${OPEN_FILES_MAX} (RLIMIT_NOFILE)`,
    );
  });
});

describe("bubblewrap limits: where cgroups may be created", () => {
  const root = mkdtempSync(join(tmpdir(), "warden-cgdetect-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = (...p: string[]) => {
    const d = join(root, ...p);
    mkdirSync(d, { recursive: true });
    return d;
  };

  it("cgroup v1: each controller's hierarchy at the process's own path, when writable; a read-only mount is not", () => {
    const mem = dir("v1", "memory");
    dir("v1", "memory", "user.slice", "gw");
    const pids = dir("v1", "pids");
    const cpu = dir("v1", "cpu,cpuacct");
    const mountinfo = [
      `30 23 0:28 / ${mem} rw,relatime - cgroup cgroup rw,memory`,
      `31 23 0:29 / ${pids} ro,relatime - cgroup cgroup rw,pids`,
      `32 23 0:30 / ${cpu} rw,relatime - cgroup cgroup rw,cpu,cpuacct`,
      `33 23 0:31 / /proc rw - proc proc rw`,
    ].join("\n");
    const cgroup = "4:memory:/user.slice/gw\n3:pids:/\n2:cpu,cpuacct:/\n0::/\n";
    const r = detectCgroups({ mountinfo, cgroup });
    assert.deepEqual(r.cgroups, {
      memory: { version: 1, dir: join(mem, "user.slice", "gw") },
      cpu: { version: 1, dir: cpu },
      cpuacct: { version: 1, dir: cpu },
    });
    assert.match(r.problem ?? "", /pids \(cgroup v1 .*\) is not writable/);
  });

  it("cgroup v1 mounted from a sub-tree (inside a container): the own path is taken relative to the mount's root", () => {
    const mem = dir("container", "memory");
    const mountinfo = `30 23 0:28 /docker/abc ${mem} rw,relatime - cgroup cgroup rw,memory`;
    const r = detectCgroups({ mountinfo, cgroup: "4:memory:/docker/abc\n" });
    assert.deepEqual(r.cgroups.memory, { version: 1, dir: mem });
  });

  it("cgroup v2: only controllers the own cgroup enables for its children (cgroup.subtree_control) in a writable cgroup", () => {
    const unified = dir("v2");
    const own = dir("v2", "gateway.slice");
    writeFileSync(join(own, "cgroup.subtree_control"), "memory pids\n");
    const mountinfo = `40 23 0:40 / ${unified} rw,nosuid - cgroup2 cgroup2 rw`;
    const r = detectCgroups({ mountinfo, cgroup: "0::/gateway.slice\n" });
    assert.deepEqual(r.cgroups, { memory: { version: 2, dir: own }, pids: { version: 2, dir: own } });
    assert.match(r.problem ?? "", /cpu is not enabled in .*gateway\.slice\/cgroup\.subtree_control/);
  });

  it("hybrid: a controller bound to a v1 hierarchy is taken there, the rest from v2", () => {
    const mem = dir("hybrid", "memory");
    const unified = dir("hybrid", "unified");
    writeFileSync(join(unified, "cgroup.subtree_control"), "pids cpu\n");
    const mountinfo = [`30 23 0:28 / ${mem} rw - cgroup cgroup rw,memory`, `40 23 0:40 / ${unified} rw - cgroup2 cgroup2 rw`].join("\n");
    const r = detectCgroups({ mountinfo, cgroup: "4:memory:/\n0::/\n" });
    assert.deepEqual(r.cgroups, { memory: { version: 1, dir: mem }, pids: { version: 2, dir: unified }, cpu: { version: 2, dir: unified } });
  });

  it("no cgroup file system: nothing, and the reason", { skip: process.getuid?.() === 0 ? false : "needs root to make a directory unwritable for its owner check" }, () => {
    const r = detectCgroups({ mountinfo: "33 23 0:31 / /proc rw - proc proc rw", cgroup: "0::/\n" });
    assert.deepEqual(r.cgroups, {});
    assert.match(r.problem ?? "", /no memory controller is mounted/);
    const ro = dir("ro");
    chmodSync(ro, 0o555);
    assert.deepEqual(detectCgroups({ mountinfo: `30 23 0:28 / ${ro} ro - cgroup cgroup ro,memory`, cgroup: "4:memory:/\n" }).cgroups, {});
  });
});

describe("bubblewrap limits: the files a launch's cgroup is given", () => {
  // Plain directories stand in for cgroup file systems here (the kernel creates a cgroup's files on
  // mkdir; these fakes do not, so optional files such as memory.swap.max are absent): this checks
  // names and values, for cgroup v2 above all, which this host cannot run. The real kernel, v1:
  // test/e2e/sandbox-bwrap-limits.test.ts.
  const root = mkdtempSync(join(tmpdir(), "warden-cgfake-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const read = (d: string, f: string) => readFileSync(join(d, f), "utf8");

  it("cgroup v2: memory.max, pids.max and cpu.max in <own cgroup>/mcp-warden/<server>-<pid>-<random>, the controllers enabled for it", () => {
    const own = join(root, "v2");
    mkdirSync(own);
    const parent = { version: 2 as const, dir: own };
    const choice = chooseBwrapLimits({ memory: "256m", pids: 64, cpus: 0.5 }, host({ cgroups: { memory: parent, pids: parent, cpu: parent } }));
    const cg = createLaunchCgroups(choice, { cgroups: { memory: parent, pids: parent, cpu: parent } }, "my server/../x");
    assert.ok(cg);
    assert.equal(cg.dirs.length, 1, "one cgroup: v2 has one hierarchy");
    const dir = cg.dirs[0] as string;
    assert.match(dir, new RegExp(`^${own}/mcp-warden/my_server_.._x-${process.pid}-[0-9a-f]{8}$`), "the server's name cannot leave the directory");
    assert.deepEqual(cg.procsFiles, [join(dir, "cgroup.procs")]);
    assert.equal(read(dir, "memory.max"), String(256 * 1024 ** 2));
    assert.equal(read(dir, "pids.max"), "64");
    assert.equal(read(dir, "cpu.max"), "50000 100000");
    assert.match(read(join(own, "mcp-warden"), "cgroup.subtree_control"), /^\+(memory|pids|cpu)$/, "controllers are enabled for the sandbox's cgroups");
  });

  it("cgroup v1: one cgroup per hierarchy used (cpuacct joins cpu, for the record); nothing created without a limit that needs one", () => {
    const v1 = Object.fromEntries((["memory", "pids", "cpu", "cpuacct"] as const).map((c) => [c, { version: 1 as const, dir: join(root, "v1", c) }]));
    for (const p of Object.values(v1)) mkdirSync(p.dir, { recursive: true });
    writeFileSync(join(root, "v1", "memory", "x"), ""); // stands for the kernel's files
    const choice = chooseBwrapLimits({ memory: "1g", cpus: 2 }, host({ cgroups: v1 }));
    const cg = createLaunchCgroups(choice, { cgroups: v1 }, "srv");
    assert.ok(cg);
    assert.deepEqual(cg.dirs.map((d) => d.split("/").slice(-3, -2)[0]), ["memory", "cpu", "cpuacct"]);
    const [mem, cpu] = cg.dirs as [string, string];
    assert.equal(read(mem, "memory.limit_in_bytes"), String(1024 ** 3));
    assert.equal(existsSync(join(mem, "memory.memsw.limit_in_bytes")), false, "memsw only where the kernel offers it");
    assert.match(describeLimits(choice), /memory 1g \(cgroup v1; swap not counted: no swap accounting in this kernel\)/, "and the note says so");
    assert.equal(read(cpu, "cpu.cfs_period_us"), "100000");
    assert.equal(read(cpu, "cpu.cfs_quota_us"), "200000");
    assert.equal(existsSync(join(root, "v1", "pids", "mcp-warden")), false, "no pids cgroup without limits.pids");
    assert.equal(createLaunchCgroups(chooseBwrapLimits({}, host({ cgroups: v1 })), { cgroups: v1 }, "srv"), undefined);
    assert.equal(createLaunchCgroups(chooseBwrapLimits({ memory: "1g" }, host()), { cgroups: {} }, "srv"), undefined, "RLIMIT_AS needs no cgroup");
  });
});
