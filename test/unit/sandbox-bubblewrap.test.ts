// The bubblewrap backend's plan (the bwrap options it computes) and its launch (descriptors, files),
// without running bwrap. Real processes in the real sandbox: test/e2e/sandbox-escape.test.ts.
import assert from "node:assert/strict";
import { chmodSync, existsSync, fstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bubblewrapBackend, extraFdChildNumbers, launchStdio, planBwrap, type BwrapPlan } from "../../src/sandbox/bubblewrap.js";
import { between, depth, looksLikeFile, resolveHostPath, within } from "../../src/sandbox/bwrap-paths.js";
import { seccompFilterBytes } from "../../src/sandbox/seccomp.js";
import type { LaunchSpec, SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";

/** bwrap options as operations: [option, ...its arguments]. */
function ops(plan: BwrapPlan): string[][] {
  const arity: Record<string, number> = {
    "--ro-bind": 2, "--bind": 2, "--symlink": 2, "--setenv": 2, "--tmpfs": 1, "--remount-ro": 1, "--proc": 1, "--dev": 1,
    "--chdir": 1, "--dir": 1, "--cap-drop": 1, "--seccomp": 1,
  };
  const out: string[][] = [];
  const o = plan.options;
  for (let i = 0; i < o.length; ) {
    const name = o[i] as string;
    const n = arity[name] ?? 0;
    out.push(o.slice(i, i + 1 + n));
    i += 1 + n;
  }
  return out;
}
const indexOf = (list: string[][], ...op: string[]) => list.findIndex((x) => x.length === op.length && x.every((v, i) => v === op[i]));
const has = (plan: BwrapPlan, ...op: string[]) => indexOf(ops(plan), ...op) >= 0;
const bindsOf = (plan: BwrapPlan, kind: "--ro-bind" | "--bind") => ops(plan).filter((x) => x[0] === kind && x[1] !== "/dev/null").map((x) => x[2]);

const notLinux = process.platform !== "linux" ? "bubblewrap is Linux-only" : false;

let root: string;
let home: string;
let project: string;
let n = 0;
/** A fresh home with a project, .ssh and .bashrc, for tests that create placeholders. */
function freshHome(): { home: string; project: string } {
  const h = join(root, `home${n++}`);
  mkdirSync(join(h, ".ssh"), { recursive: true });
  writeFileSync(join(h, ".ssh", "id_rsa"), "KEY");
  writeFileSync(join(h, ".bashrc"), "# rc");
  mkdirSync(join(h, "project", "src"), { recursive: true });
  writeFileSync(join(h, "project", "src", "a.ts"), "x");
  return { home: h, project: join(h, "project") };
}

const policyWith = (fs: Partial<SandboxPolicy["filesystem"]> = {}, extra: Partial<SandboxPolicy> = {}): SandboxPolicy => ({
  type: "bubblewrap",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [], ...fs },
  network: {},
  limits: {},
  env: [],
  ...extra,
});
const specOf = (extra: Partial<LaunchSpec> = {}): LaunchSpec => ({ command: "sh", args: ["-c", "true"], env: { PATH: "/usr/bin:/bin" }, ...extra });
const ctxOf = (h: string, extra: Partial<SandboxContext> = {}): SandboxContext => ({
  home: h,
  mandatoryDeny: [join(h, ".ssh"), join(h, ".aws"), join(h, ".bashrc"), join(h, ".config", "gcloud")],
  ...extra,
});

before(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "warden-bwrap-unit-")));
  ({ home, project } = freshHome());
});
after(() => rmSync(root, { recursive: true, force: true }));

describe("bubblewrap plan: namespaces, process, environment", { skip: notLinux }, () => {
  it("unshares user, pid, ipc, uts, net (cgroup where possible), dies with its parent, new session, drops capabilities", () => {
    const plan = planBwrap(specOf(), policyWith(), ctxOf(home));
    for (const flag of ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try", "--die-with-parent", "--new-session"])
      assert.ok(plan.options.includes(flag), flag);
    assert.ok(has(plan, "--cap-drop", "ALL"));
    assert.ok(!plan.options.includes("--share-net"));
  });

  it("clears the environment and sets exactly spec.env (the values stay out of argv: they go in the --args file)", () => {
    const plan = planBwrap(specOf({ env: { PATH: "/usr/bin:/bin", TOKEN: "s3cret value" } }), policyWith(), ctxOf(home));
    const list = ops(plan);
    const clear = indexOf(list, "--clearenv");
    assert.ok(clear >= 0);
    assert.ok(indexOf(list, "--setenv", "TOKEN", "s3cret value") > clear);
    assert.ok(indexOf(list, "--setenv", "PATH", "/usr/bin:/bin") > clear);
    assert.equal(list.filter((x) => x[0] === "--setenv").length, 2);
    assert.ok(!plan.command.join(" ").includes("s3cret"));
  });

  it("refuses NUL bytes and bad variable names (the --args file is NUL-separated)", () => {
    assert.throws(() => planBwrap(specOf({ env: { A: "x\0--bind\0/\0/" } }), policyWith(), ctxOf(home)), /NUL/);
    assert.throws(() => planBwrap(specOf({ env: { "A=B": "x" } }), policyWith(), ctxOf(home)), /invalid environment/);
    assert.throws(() => planBwrap(specOf({ args: ["a\0b"] }), policyWith(), ctxOf(home)), /NUL/);
  });

  it("runs the command by its physical path, with its arguments, after PATH lookup in spec.env", () => {
    const plan = planBwrap(specOf({ args: ["-c", "echo hi"] }), policyWith(), ctxOf(home));
    assert.equal(plan.command[0], join(resolveHostPath("/usr/bin").path, "sh"));
    assert.deepEqual(plan.command.slice(1), ["-c", "echo hi"]);
    assert.throws(() => planBwrap(specOf({ command: "no-such-command-xyz" }), policyWith(), ctxOf(home)), /command not found/);
  });

  it("refuses what bubblewrap cannot do: images, runtimes", () => {
    assert.throws(() => planBwrap(specOf(), policyWith({}, { image: "node:20" }), ctxOf(home)), /image/);
    assert.throws(() => planBwrap(specOf(), policyWith({}, { runtime: "runsc" }), ctxOf(home)), /runtime/);
  });
});

describe("bubblewrap plan: file system", { skip: notLinux }, () => {
  it("binds the system directories read-only (merged-/usr links as links), /etc minus its secrets, fresh /proc, /dev, /tmp, root read-only", () => {
    const plan = planBwrap(specOf(), policyWith(), ctxOf(home));
    const list = ops(plan);
    assert.ok(has(plan, "--ro-bind", "/usr", "/usr"));
    assert.ok(has(plan, "--ro-bind", "/etc", "/etc"));
    for (const dir of ["/bin", "/lib", "/sbin", "/lib64"]) {
      if (!existsSync(dir)) continue;
      const isLink = resolveHostPath(dir).links.includes(dir);
      if (isLink) assert.ok(has(plan, "--symlink", readlinkSync(dir), dir), dir);
      else assert.ok(has(plan, "--ro-bind", dir, dir), dir);
    }
    assert.ok(has(plan, "--proc", "/proc") && has(plan, "--dev", "/dev") && has(plan, "--tmpfs", "/tmp"));
    assert.ok(!bindsOf(plan, "--ro-bind").includes("/") && !bindsOf(plan, "--bind").includes("/"), "the host root is not bound");
    assert.equal(bindsOf(plan, "--bind").length, 0, "nothing writable when nothing is allowed");
    const remount = indexOf(list, "--remount-ro", "/");
    assert.ok(remount > 0 && remount === list.length - 2, "root read-only at the end, before --chdir");
    assert.deepEqual(list[list.length - 1], ["--chdir", "/"]);
    if (existsSync("/etc/shadow")) assert.ok(has(plan, "--ro-bind", "/dev/null", "/etc/shadow"));
    if (existsSync("/etc/ssl/private")) assert.ok(indexOf(list, "--tmpfs", "/etc/ssl/private") > indexOf(list, "--ro-bind", "/etc", "/etc"));
  });

  it("does not show the home directory unless allowed", () => {
    const plan = planBwrap(specOf(), policyWith(), ctxOf(home));
    for (const p of [...bindsOf(plan, "--ro-bind"), ...bindsOf(plan, "--bind")]) assert.ok(!within(p as string, home), `${p} bound`);
    assert.ok(!plan.options.some((o) => o.startsWith(join(home, ".ssh"))), "no mask needed for what is not visible");
  });

  it("allowRead read-only, allowWrite writable, mandatory denies masked after them even under an allowed parent", () => {
    const plan = planBwrap(specOf(), policyWith({ allowRead: [home], allowWrite: [project] }), ctxOf(home));
    const list = ops(plan);
    const ro = indexOf(list, "--ro-bind", home, home);
    const rw = indexOf(list, "--bind", project, project);
    assert.ok(ro > 0 && rw > ro, "the writable project after (over) the readable home");
    const sshMask = indexOf(list, "--tmpfs", join(home, ".ssh"));
    assert.ok(sshMask > rw, "directory masked by a tmpfs, after the binds");
    assert.ok(indexOf(list, "--remount-ro", join(home, ".ssh")) === sshMask + 1, "and made read-only (not a writable tmpfs)");
    assert.ok(indexOf(list, "--ro-bind", "/dev/null", join(home, ".bashrc")) > rw, "file masked by /dev/null");
  });

  it("deny wins: an allowed path inside a denied one is not bound, an allowed path containing one is masked", () => {
    const secretDir = join(project, "secrets");
    mkdirSync(join(secretDir, "inner"), { recursive: true });
    const plan = planBwrap(specOf(), policyWith({ allowWrite: [project, join(secretDir, "inner")], denyRead: [secretDir] }), ctxOf(home));
    assert.ok(!bindsOf(plan, "--bind").includes(join(secretDir, "inner")));
    assert.ok(has(plan, "--tmpfs", secretDir) && has(plan, "--remount-ro", secretDir));
    assert.throws(() => planBwrap(specOf({ cwd: join(secretDir, "inner") }), policyWith({ allowWrite: [project], denyRead: [secretDir] }), ctxOf(home)), /denied/);
  });

  it("denyWrite under allowWrite is bound read-only again; an allowWrite inside a denyWrite is read-only", () => {
    mkdirSync(join(project, ".git", "hooks"), { recursive: true });
    const plan = planBwrap(specOf(), policyWith({ allowWrite: [project, join(project, ".git", "hooks")], denyWrite: [join(project, ".git")] }), ctxOf(home));
    const list = ops(plan);
    assert.ok(indexOf(list, "--ro-bind", join(project, ".git"), join(project, ".git")) > indexOf(list, "--bind", project, project));
    assert.ok(!bindsOf(plan, "--bind").includes(join(project, ".git", "hooks")));
    // A denyWrite where nothing is writable adds nothing (it must not make a hidden path readable).
    const plan2 = planBwrap(specOf(), policyWith({ denyWrite: [join(home, "project")] }), ctxOf(home));
    assert.ok(!bindsOf(plan2, "--ro-bind").includes(project));
  });

  it("a missing protected path that could be created inside gets a placeholder (file or directory by its name) and a mask", () => {
    const h = freshHome();
    const settings = join(h.project, ".mcp-warden", "settings.json");
    const plan = planBwrap(specOf(), policyWith({ allowWrite: [h.home] }), ctxOf(h.home, { mandatoryDeny: [join(h.home, ".aws"), join(h.home, ".zshrc"), settings, join(h.home, ".config", "gcloud")] }));
    assert.ok(statSync(join(h.home, ".aws")).isDirectory());
    assert.ok(statSync(join(h.home, ".zshrc")).isFile());
    assert.ok(statSync(settings).isFile() && statSync(settings).size === 0);
    assert.equal(statSync(join(h.home, ".aws")).mode & 0o777, 0o700);
    assert.deepEqual(new Set(plan.placeholders), new Set([join(h.home, ".aws"), join(h.home, ".zshrc"), settings, join(h.home, ".config", "gcloud")]));
    assert.ok(has(plan, "--tmpfs", join(h.home, ".aws")));
    assert.ok(has(plan, "--ro-bind", "/dev/null", settings));
    // Pins: the directories between the writable root and the mask cannot be renamed away.
    assert.ok(has(plan, "--bind", join(h.project, ".mcp-warden"), join(h.project, ".mcp-warden")));
    assert.ok(has(plan, "--bind", h.project, h.project));
    assert.ok(has(plan, "--bind", join(h.home, ".config"), join(h.home, ".config")));
  });

  it("a missing protected path in a read-only area gets neither placeholder nor mask", () => {
    const h = freshHome();
    const plan = planBwrap(specOf(), policyWith({ allowRead: [h.home] }), ctxOf(h.home));
    assert.deepEqual(plan.placeholders, []);
    assert.ok(!existsSync(join(h.home, ".aws")));
    assert.ok(!plan.options.includes(join(h.home, ".aws")));
  });

  it("refuses a protected path reached through a symbolic link in a writable directory", () => {
    const h = freshHome();
    mkdirSync(join(h.home, "dotfiles"));
    writeFileSync(join(h.home, "dotfiles", "zshrc"), "");
    symlinkSync("dotfiles/zshrc", join(h.home, ".zshrc"));
    const ctx = ctxOf(h.home, { mandatoryDeny: [join(h.home, ".zshrc")] });
    assert.throws(() => planBwrap(specOf(), policyWith({ allowWrite: [h.home] }), ctx), /symbolic link/);
    // Read-only, the link cannot be replaced: the target is masked.
    const plan = planBwrap(specOf(), policyWith({ allowRead: [h.home] }), ctx);
    assert.ok(has(plan, "--ro-bind", "/dev/null", join(h.home, "dotfiles", "zshrc")));
  });

  it("binds an allowed path at its physical location and recreates the allowed spelling as a link", () => {
    const h = freshHome();
    const linkParent = join(root, `links${n++}`);
    mkdirSync(linkParent);
    symlinkSync(h.project, join(linkParent, "proj"));
    const plan = planBwrap(specOf({ cwd: join(linkParent, "proj") }), policyWith({ allowWrite: [join(linkParent, "proj")] }), ctxOf(h.home));
    assert.ok(has(plan, "--bind", h.project, h.project));
    assert.ok(!has(plan, "--symlink", h.project, join(linkParent, "proj")), "under /tmp (private tmpfs) the spelling is not recreated");
    assert.deepEqual(ops(plan).at(-1), ["--chdir", h.project]);
  });

  it("the working directory is readable (not writable unless allowed); the home directory as cwd is an empty directory", () => {
    const plan = planBwrap(specOf({ cwd: project }), policyWith(), ctxOf(home));
    assert.ok(has(plan, "--ro-bind", project, project));
    assert.deepEqual(ops(plan).at(-1), ["--chdir", project]);
    const plan2 = planBwrap(specOf({ cwd: project }), policyWith({ allowWrite: [project] }), ctxOf(home));
    assert.ok(has(plan2, "--bind", project, project) && !has(plan2, "--ro-bind", project, project));
    const plan3 = planBwrap(specOf({ cwd: home }), policyWith(), ctxOf(home));
    assert.ok(!has(plan3, "--ro-bind", home, home));
    assert.ok(has(plan3, "--dir", home));
    assert.throws(() => planBwrap(specOf({ cwd: join(home, "nope") }), policyWith(), ctxOf(home)), /not a directory/);
  });

  it("the command's directory is readable; a command directly in the home directory only as a file", () => {
    const h = freshHome();
    mkdirSync(join(h.home, "bin"));
    writeFileSync(join(h.home, "bin", "tool"), "#!/bin/sh\n");
    chmodSync(join(h.home, "bin", "tool"), 0o755);
    writeFileSync(join(h.home, "tool2"), "#!/bin/sh\n");
    chmodSync(join(h.home, "tool2"), 0o755);
    const plan = planBwrap(specOf({ command: "tool", env: { PATH: `${join(h.home, "bin")}:/usr/bin` } }), policyWith(), ctxOf(h.home));
    assert.ok(has(plan, "--ro-bind", join(h.home, "bin"), join(h.home, "bin")));
    assert.equal(plan.command[0], join(h.home, "bin", "tool"));
    const plan2 = planBwrap(specOf({ command: join(h.home, "tool2") }), policyWith(), ctxOf(h.home));
    assert.ok(has(plan2, "--ro-bind", join(h.home, "tool2"), join(h.home, "tool2")));
    assert.ok(!has(plan2, "--ro-bind", h.home, h.home));
    // A command inside a denied path is refused.
    assert.throws(() => planBwrap(specOf({ command: "tool", env: { PATH: join(h.home, "bin") } }), policyWith({ denyRead: [join(h.home, "bin")] }), ctxOf(h.home)), /denied/);
  });

  it("a script in a node_modules tree gets the whole tree (its dependencies)", () => {
    const h = freshHome();
    const pkg = join(h.project, "node_modules", "server", "bin");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "cli.js"), "#!/usr/bin/env node\n");
    chmodSync(join(pkg, "cli.js"), 0o755);
    mkdirSync(join(h.project, "node_modules", ".bin"));
    symlinkSync("../server/bin/cli.js", join(h.project, "node_modules", ".bin", "server"));
    const plan = planBwrap(specOf({ command: "server", env: { PATH: join(h.project, "node_modules", ".bin") } }), policyWith(), ctxOf(h.home));
    assert.ok(has(plan, "--ro-bind", join(h.project, "node_modules"), join(h.project, "node_modules")));
    assert.equal(plan.command[0], join(h.project, "node_modules", ".bin", "server"));
  });

  it("creates a TMPDIR that lies in the private /tmp", () => {
    const plan = planBwrap(specOf({ env: { PATH: "/usr/bin:/bin", TMPDIR: "/tmp/user-1000" } }), policyWith(), ctxOf(home));
    assert.ok(has(plan, "--dir", "/tmp/user-1000"));
    const plan2 = planBwrap(specOf({ env: { PATH: "/usr/bin:/bin", TMPDIR: "/var/tmp" } }), policyWith(), ctxOf(home));
    assert.ok(!has(plan2, "--dir", "/var/tmp"));
  });

  it("refuses paths inside /proc and /dev", () => {
    assert.throws(() => planBwrap(specOf(), policyWith({ allowRead: ["/proc/1"] }), ctxOf(home)), /\/proc or \/dev/);
  });
});

describe("bubblewrap plan: egress bridge and limits", { skip: notLinux }, () => {
  it("with a bridge, runs node <script> --fd N --port P -- command, the script's package and node readable", () => {
    const h = freshHome();
    const pkgRoot = join(root, `warden${n++}`);
    mkdirSync(join(pkgRoot, "dist", "src", "egress"), { recursive: true });
    writeFileSync(join(pkgRoot, "package.json"), "{}");
    const script = join(pkgRoot, "dist", "src", "egress", "bridge-main.js");
    writeFileSync(script, "");
    const plan = planBwrap(specOf({ args: ["-c", "x"] }), policyWith(), ctxOf(h.home, { egressFd: 3, bridge: { node: process.execPath, script, port: 18080 } }));
    const node = realpathSync(process.execPath);
    assert.deepEqual(plan.command, [node, script, "--fd", "3", "--port", "18080", "--", join(resolveHostPath("/usr/bin").path, "sh"), "-c", "x"]);
    assert.ok(has(plan, "--ro-bind", pkgRoot, pkgRoot));
    assert.ok(within(dirname(node), "/usr") || has(plan, "--ro-bind", dirname(node), dirname(node)));
    assert.throws(() => planBwrap(specOf(), policyWith(), ctxOf(h.home, { bridge: { node: process.execPath, script, port: 1 } })), /egressFd/);
    assert.throws(() => planBwrap(specOf(), policyWith(), ctxOf(h.home, { egressFd: 2 })), /egressFd/);
  });

  it("limits without any cgroup: memory and cpus refused without prlimit, cpus always; pids via prlimit inside, not for root, not on old kernels", () => {
    // A host where no cgroup may be created (the choice itself: test/unit/sandbox-bwrap-limits.test.ts).
    const noCgroup = { cgroups: {}, cgroupProblem: "none here" };
    const noPrlimit = { ...noCgroup, prlimit: undefined };
    assert.throws(() => planBwrap(specOf(), policyWith({}, { limits: { memory: "512m" } }), ctxOf(home), { limitsHost: noPrlimit }), /docker or podman/);
    assert.throws(() => planBwrap(specOf(), policyWith({}, { limits: { cpus: 1 } }), ctxOf(home), { limitsHost: noCgroup }), /no rlimit.*docker or podman/);
    assert.throws(() => planBwrap(specOf(), policyWith({}, { limits: { pids: 64 } }), ctxOf(home), { uid: 0, kernel: "6.8.0", limitsHost: noCgroup }), /root/);
    assert.throws(() => planBwrap(specOf(), policyWith({}, { limits: { pids: 64 } }), ctxOf(home), { uid: 1000, kernel: "5.10.0-23", limitsHost: noCgroup }), /5\.14/);
    assert.throws(() => planBwrap(specOf(), policyWith({}, { limits: { pids: 0 } }), ctxOf(home), { uid: 1000, kernel: "6.8.0", limitsHost: noCgroup }), /positive/);
    if (existsSync("/usr/bin/prlimit")) {
      const plan = planBwrap(specOf(), policyWith({}, { limits: { pids: 64 } }), ctxOf(home), { uid: 1000, kernel: "6.8.0", limitsHost: noCgroup });
      assert.deepEqual(plan.command.slice(0, 3), ["/usr/bin/prlimit", "--nproc=64:64", "--"]);
      assert.equal(plan.limits.pids?.by, "RLIMIT_NPROC");
      const withCgroup = planBwrap(specOf(), policyWith({}, { limits: { pids: 64 } }), ctxOf(home), { uid: 0, limitsHost: { cgroups: { pids: { version: 1, dir: "/sys/fs/cgroup/pids" } } } });
      assert.equal(withCgroup.limits.pids?.by, "cgroup v1", "root with a pids cgroup: the cgroup");
      assert.equal(withCgroup.command[0], join(resolveHostPath("/usr/bin").path, "sh"), "no prlimit inside when a cgroup holds the limit");
    }
  });
});

describe("bubblewrap launch: descriptors", { skip: notLinux }, () => {
  it("extraFds map to child fds 3, 4, ... skipping the caller's egress fd", () => {
    assert.deepEqual(extraFdChildNumbers(2), [3, 4]);
    assert.deepEqual(extraFdChildNumbers(2, 3), [4, 5]);
    assert.deepEqual(extraFdChildNumbers(2, 4), [3, 5]);
    assert.deepEqual(extraFdChildNumbers(3, 9), [3, 4, 5]);
    assert.deepEqual(launchStdio(["pipe", "pipe", 2], { extraFds: [20, 21] }), ["pipe", "pipe", 2, 20, 21]);
    assert.deepEqual(launchStdio(["pipe", "pipe", 2], { extraFds: [20, 21] }, { fd: 3, handle: 30 }), ["pipe", "pipe", 2, 30, 20, 21]);
    assert.deepEqual(launchStdio(["pipe", "pipe", 2], { extraFds: [20, 21] }, { fd: 6, handle: 30 }), ["pipe", "pipe", 2, 20, 21, "ignore", 30]);
  });

  for (const egressFd of [undefined, 3]) {
    it(`wrap() passes options through --args and the filter through --seccomp, in unlinked 0600 files (egressFd ${egressFd})`, () => {
      const backend = bubblewrapBackend({ bwrap: "/usr/bin/bwrap", tmpDir: root });
      const launch = backend.wrap(specOf({ env: { PATH: "/usr/bin:/bin", TOKEN: "hidden" } }), policyWith(), ctxOf(home, egressFd === undefined ? {} : { egressFd }));
      try {
        const [argsChild, seccompChild] = extraFdChildNumbers(2, egressFd);
        assert.equal(launch.command, "/usr/bin/env", "bwrap starts with an empty environment (env -i)");
        // RLIMIT_NOFILE (hardening) is set on the launch by prlimit, before bwrap, where prlimit is installed.
        const prlimit = existsSync("/usr/bin/prlimit") ? ["/usr/bin/prlimit", launch.args[2] as string, "--"] : [];
        if (prlimit.length) assert.match(prlimit[1] as string, /^--nofile=(\d+):\1$/);
        const bwrapAt = 1 + prlimit.length;
        assert.deepEqual(launch.args.slice(0, bwrapAt + 4), ["-i", ...prlimit, "/usr/bin/bwrap", "--args", String(argsChild), "--"]);
        assert.ok(!launch.args.join(" ").includes("hidden"), "no environment value in argv");
        assert.deepEqual(launch.env, {});
        assert.equal(launch.extraFds.length, 2);
        const [argsFd, filterFd] = launch.extraFds as [number, number];
        for (const fd of launch.extraFds) {
          const st = fstatSync(fd);
          assert.equal(st.nlink, 0, "unlinked");
          assert.equal(st.mode & 0o777, 0o600);
        }
        const args = readFileSync(argsFd).toString("utf8").split("\0");
        assert.equal(args.pop(), "", "each argument ends with NUL");
        assert.ok(args.includes("--clearenv") && args.includes("hidden"));
        assert.deepEqual(args.slice(-2), ["--seccomp", String(seccompChild)]);
        assert.deepEqual(readFileSync(filterFd), seccompFilterBytes());
        assert.deepEqual(launch.args.slice(bwrapAt + 4), [join(resolveHostPath("/usr/bin").path, "sh"), "-c", "true"]);
      } finally {
        launch.cleanup();
        launch.cleanup();
      }
      assert.throws(() => fstatSync(launch.extraFds[0] as number), /EBADF/);
    });
  }

  it("leaves no temporary files behind", () => {
    const dir = mkdtempSync(join(root, "t-"));
    const launch = bubblewrapBackend({ bwrap: "/usr/bin/bwrap", tmpDir: dir }).wrap(specOf(), policyWith(), ctxOf(home));
    launch.cleanup();
    assert.deepEqual(readdirSync(dir), []);
  });

  it("available() says what is missing and how to install it", () => {
    const missing = bubblewrapBackend({ bwrap: join(root, "no-bwrap") }).available();
    assert.equal(missing.ok, false);
    if (!missing.ok) {
      assert.match(missing.install, /apt-get install bubblewrap/);
      assert.match(missing.install, /unprivileged_userns_clone=1/);
      assert.match(missing.install, /apparmor_restrict_unprivileged_userns=0/);
    }
    const fake = join(root, "fake-bwrap");
    writeFileSync(fake, '#!/bin/sh\nif [ "$1" = --version ]; then echo "bubblewrap 0.8.0"; exit 0; fi\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    const denied = bubblewrapBackend({ bwrap: fake }).available();
    assert.equal(denied.ok, false);
    if (!denied.ok) assert.match(denied.why, /uid map: Permission denied/);
    const partial = join(root, "partial-bwrap");
    writeFileSync(partial, '#!/bin/sh\ncase "$1" in --version) echo "bubblewrap 0.8.0";; --unshare-all) exit 0;; *) echo "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2; exit 1;; esac\n');
    chmodSync(partial, 0o755);
    const noProc = bubblewrapBackend({ bwrap: partial }).available();
    assert.equal(noProc.ok, false, "the full self-test (a real launch) fails although the simple check passes");
    if (!noProc.ok) assert.match(noProc.why, /Can't mount proc/);
    const old = join(root, "old-bwrap");
    writeFileSync(old, '#!/bin/sh\necho "bubblewrap 0.4.0"\n');
    chmodSync(old, 0o755);
    const tooOld = bubblewrapBackend({ bwrap: old }).available();
    assert.ok(!tooOld.ok && /0\.5/.test(tooOld.why));
  });
});

describe("bubblewrap paths", { skip: notLinux }, () => {
  it("resolves symbolic links component by component and keeps a missing tail", () => {
    const d = join(root, `res${n++}`);
    mkdirSync(join(d, "real", "sub"), { recursive: true });
    symlinkSync("real", join(d, "link"));
    const r = resolveHostPath(join(d, "link", "sub", "missing", "x"));
    assert.equal(r.exists, false);
    assert.equal(r.path, join(d, "real", "sub", "missing", "x"));
    assert.deepEqual(r.links, [join(d, "link")]);
    const r2 = resolveHostPath(join(d, "link", "..", "real"));
    assert.equal(r2.path, join(d, "real"), "'..' after normalization, as the caller wrote it");
    assert.equal(r2.kind, "dir");
  });

  it("containment, depth, the directories between two paths, placeholder kinds", () => {
    assert.ok(within("/a/b", "/a") && within("/a", "/a") && !within("/ab", "/a") && within("/x", "/"));
    assert.equal(depth("/"), 0);
    assert.equal(depth("/a/b"), 2);
    assert.deepEqual(between("/h", "/h/a/b/c"), ["/h/a", "/h/a/b"]);
    assert.deepEqual(between("/h", "/h/a"), []);
    for (const f of [".bashrc", ".zshrc", "settings.json", ".claude.json", "audit.jsonl", ".npmrc", ".netrc", ".git-credentials", "settings.local.json"]) assert.ok(looksLikeFile(`/h/${f}`), f);
    for (const d of [".ssh", ".aws", ".kube", ".docker", ".gnupg", "gcloud", ".mcp-warden", ".claude", ".config"]) assert.ok(!looksLikeFile(`/h/${d}`), d);
  });
});

