// Escape attempts against the bubblewrap sandbox, with real processes in the real sandbox: every
// attempt must fail while its allowed counterpart works. Skipped (with the reason) where bubblewrap
// cannot run. Servers bind 127.0.0.1 only; everything started is stopped.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createConnection, createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { bubblewrapBackend, launchStdio } from "../../src/sandbox/bubblewrap.js";
import { CONDITIONAL, DENIED, hostSeccompArch } from "../../src/sandbox/seccomp.js";
import type { LaunchSpec, SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";

const backend = bubblewrapBackend();
const availability = backend.available();
const skip = availability.ok ? false : `bubblewrap cannot run here: ${availability.why} (${availability.install})`;
if (skip) console.log(`# skipping the sandbox escape tests: ${skip}`);

const PYTHON = ["/usr/bin/python3", "/bin/python3"].find((p) => existsSync(p));
const noPython = PYTHON ? false : "no /usr/bin/python3 (the syscall probes use python3 ctypes)";
const CURL = existsSync("/usr/bin/curl") ? "/usr/bin/curl" : undefined;
const NODE = realpathSync(process.execPath);
const SECRET = `warden-escape-secret-${process.pid}-${Date.now()}`;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let root: string;
let home: string;
let project: string;
let settingsFile: string;
let ctx: SandboxContext;
let policy: SandboxPolicy;
const BASE_ENV = () => ({ PATH: "/usr/bin:/bin", HOME: home, LANG: "C" });

const policyOf = (fs: Partial<SandboxPolicy["filesystem"]> = {}, extra: Partial<SandboxPolicy> = {}): SandboxPolicy => ({
  type: "bubblewrap",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [], ...fs },
  network: {},
  limits: {},
  env: [],
  ...extra,
});

const live = new Set<ChildProcess>();

/** Runs `spec` sandboxed, the way the gateway spawns servers (own process group, stdio with extraFds). */
function run(
  spec: LaunchSpec,
  pol: SandboxPolicy = policy,
  c: SandboxContext = ctx,
  opts: { timeoutMs?: number; egress?: (channel: Duplex) => void; input?: string } = {},
): Promise<Result> {
  const launch = backend.wrap(spec, pol, c);
  let child: ChildProcess;
  try {
    child = spawn(launch.command, launch.args, {
      env: launch.env,
      cwd: launch.cwd,
      detached: true,
      stdio: launchStdio([opts.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"], launch, opts.egress ? { fd: c.egressFd as number, handle: "pipe" } : undefined),
    });
  } finally {
    launch.cleanup(); // the child holds its own copies of the descriptors
  }
  live.add(child);
  if (opts.egress) opts.egress(child.stdio[c.egressFd as number] as Duplex);
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      /* gone */
    }
  }, opts.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const sh = (script: string, pol?: SandboxPolicy, c?: SandboxContext) => run({ command: "sh", args: ["-c", script], env: BASE_ENV(), cwd: project }, pol, c);
const nodeIn = (code: string, pol?: SandboxPolicy, c?: SandboxContext) => run({ command: NODE, args: ["-e", code], env: BASE_ENV(), cwd: project }, pol, c);
const pyIn = (code: string, args: string[] = [], pol?: SandboxPolicy, c?: SandboxContext) =>
  run({ command: PYTHON as string, args: ["-c", code, ...args], env: BASE_ENV(), cwd: project }, pol, c);

function scratchHome(name: string): { home: string; project: string; settings: string } {
  const h = join(root, name);
  mkdirSync(join(h, ".ssh"), { recursive: true });
  writeFileSync(join(h, ".ssh", "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY----- PRIVATE-KEY-MATERIAL\n");
  writeFileSync(join(h, ".bashrc"), "# the host's bashrc\n");
  mkdirSync(join(h, "docs"));
  writeFileSync(join(h, "docs", "readme.txt"), "readable-doc\n");
  const p = join(h, "project");
  mkdirSync(join(p, "src"), { recursive: true });
  writeFileSync(join(p, "src", "main.txt"), "project-source\n");
  mkdirSync(join(p, "protected"));
  writeFileSync(join(p, "protected", "keep.txt"), "keep\n");
  mkdirSync(join(p, ".mcp-warden"));
  const settings = join(p, ".mcp-warden", "settings.json");
  writeFileSync(settings, '{"permissions":{"deny":["mcp__*"]}}\n');
  return { home: h, project: p, settings };
}

const mandatoryFor = (h: string, p: string) => [
  ...[".ssh", ".aws", ".gnupg", ".config/gcloud", ".kube", ".docker", ".bashrc", ".profile", ".zshrc", ".mcp-warden"].map((x) => join(h, x)),
  join(p, ".mcp-warden"),
];

before(() => {
  if (skip) return;
  root = realpathSync(mkdtempSync(join(tmpdir(), "warden-escape-")));
  chmodSync(root, 0o755);
  ({ home, project, settings: settingsFile } = scratchHome("home"));
  // Mandatory deny names the settings file itself (and not its directory) here, as a caller might.
  ctx = { home, mandatoryDeny: [...mandatoryFor(home, project).filter((p) => p !== join(project, ".mcp-warden")), settingsFile] };
  policy = policyOf({ allowRead: [home], allowWrite: [project], denyWrite: [join(project, "protected")] });
});

after(() => {
  for (const c of live) {
    try {
      process.kill(-(c.pid as number), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("bubblewrap sandbox: file system", { skip }, () => {
  it("reads an allowed file, but not ~/.ssh/id_rsa although allowRead includes the home directory", async () => {
    const r = await sh(`cat "$HOME/docs/readme.txt"; cat "$HOME/.ssh/id_rsa" && echo KEY-READ || echo KEY-REFUSED; ls -A "$HOME/.ssh" | wc -l`);
    assert.match(r.stdout, /readable-doc/);
    assert.match(r.stdout, /KEY-REFUSED/);
    assert.doesNotMatch(r.stdout, /PRIVATE-KEY-MATERIAL|KEY-READ/);
    assert.match(r.stdout, /^0$/m, "the masked .ssh is empty");
    const direct = await nodeIn(`try { console.log(require("fs").readFileSync(process.env.HOME + "/.ssh/id_rsa", "utf8")) } catch (e) { console.log("ERR", e.code) }`);
    assert.match(direct.stdout, /ERR ENOENT/);
  });

  it("masks a denied file with an unreadable, unwritable file (shell start-up files)", async () => {
    const r = await sh(`cat "$HOME/.bashrc" && echo RC-READ || echo RC-REFUSED; echo evil >> "$HOME/.bashrc" && echo RC-WRITTEN || echo RC-UNWRITABLE`);
    assert.match(r.stdout, /RC-REFUSED/);
    assert.match(r.stdout, /RC-UNWRITABLE/);
    assert.equal(readFileSync(join(home, ".bashrc"), "utf8"), "# the host's bashrc\n");
  });

  it("writes inside allowWrite; not outside it, not into a denyWrite under it, not into the system or the root", async () => {
    const r = await sh(
      [
        `echo ok > src/new.txt && echo W-PROJECT`,
        `echo x > "$HOME/docs/new.txt" || echo R-HOME`,
        `echo x > protected/keep.txt || echo R-DENYWRITE`,
        `touch protected/new || echo R-DENYWRITE-NEW`,
        `mv protected protected2 || echo R-DENYWRITE-MOVE`,
        `touch /usr/evil || echo R-USR`,
        `touch /etc/evil || echo R-ETC`,
        `mkdir /evil || echo R-ROOT`,
        `echo t > /tmp/private.txt && cat /tmp/private.txt && echo W-TMP`,
      ].join("; "),
    );
    for (const marker of ["W-PROJECT", "R-HOME", "R-DENYWRITE", "R-DENYWRITE-NEW", "R-DENYWRITE-MOVE", "R-USR", "R-ETC", "R-ROOT", "W-TMP"]) assert.match(r.stdout, new RegExp(`^${marker}$`, "m"), `${marker}\n${r.stdout}\n${r.stderr}`);
    assert.equal(readFileSync(join(project, "src", "new.txt"), "utf8"), "ok\n");
    assert.ok(!existsSync(join(home, "docs", "new.txt")));
    assert.equal(readFileSync(join(project, "protected", "keep.txt"), "utf8"), "keep\n");
    assert.ok(!existsSync(join(project, "protected", "new")) && existsSync(join(project, "protected")));
    assert.ok(!existsSync("/usr/evil") && !existsSync("/etc/evil") && !existsSync("/evil"));
    assert.ok(!existsSync("/tmp/private.txt") || readFileSync("/tmp/private.txt", "utf8") !== "t\n", "the sandbox's /tmp is private");
  });

  it("cannot read, edit, delete or move aside an mcp-warden settings file listed in mandatoryDeny", async () => {
    const before = readFileSync(settingsFile, "utf8");
    const r = await sh(
      [
        `cat .mcp-warden/settings.json && echo S-READ || echo S-NOREAD`,
        `echo '{}' > .mcp-warden/settings.json && echo S-WRITTEN || echo S-NOWRITE`,
        `rm -f .mcp-warden/settings.json; test -e .mcp-warden/settings.json && echo S-STILL-THERE`,
        `mv .mcp-warden/settings.json x.json && echo S-MOVED || echo S-NOMOVE`,
        `mv .mcp-warden moved && echo D-MOVED || echo D-NOMOVE`,
        `mkdir -p .mcp-warden2 && echo '{}' > .mcp-warden2/settings.json && echo OTHER-OK`,
      ].join("; "),
    );
    for (const m of ["S-NOREAD", "S-NOWRITE", "S-STILL-THERE", "S-NOMOVE", "D-NOMOVE", "OTHER-OK"]) assert.match(r.stdout, new RegExp(`^${m}$`, "m"), `${m}\n${r.stdout}\n${r.stderr}`);
    assert.equal(readFileSync(settingsFile, "utf8"), before);
    assert.ok(!existsSync(join(project, "moved")));
  });

  it("with the whole home writable, mandatory denies still hold: no credentials planted, no start-up file replaced", async () => {
    const s = scratchHome("home-writable");
    const c: SandboxContext = { home: s.home, mandatoryDeny: mandatoryFor(s.home, s.project) };
    const pol = policyOf({ allowWrite: [s.home] });
    const r = await run(
      {
        command: "sh",
        args: [
          "-c",
          [
            `cd "$HOME"`,
            `echo note > notes.txt && echo W-NOTES`,
            `mkdir -p .aws 2>/dev/null; echo key > .aws/credentials && echo AWS-PLANTED || echo AWS-REFUSED`,
            `mv .bashrc b 2>/dev/null && echo RC-MOVED || echo RC-NOMOVE`,
            `rm -f .bashrc; echo evil > .bashrc && echo RC-REPLACED || echo RC-KEPT`,
            `mv .config .config-old && echo CFG-MOVED || echo CFG-NOMOVE`,
            `mkdir -p .config/gcloud 2>/dev/null; echo x > .config/gcloud/creds && echo GCLOUD-PLANTED || echo GCLOUD-REFUSED`,
            `echo x > .ssh/authorized_keys && echo SSH-PLANTED || echo SSH-REFUSED`,
            `mv project/.mcp-warden elsewhere && echo MW-MOVED || echo MW-NOMOVE`,
            `mv project project-old && echo PROJECT-MOVED || echo PROJECT-NOMOVE`,
          ].join("; "),
        ],
        env: { PATH: "/usr/bin:/bin", HOME: s.home },
        cwd: s.home,
      },
      pol,
      c,
    );
    for (const m of ["W-NOTES", "AWS-REFUSED", "RC-NOMOVE", "RC-KEPT", "CFG-NOMOVE", "GCLOUD-REFUSED", "SSH-REFUSED", "MW-NOMOVE"]) assert.match(r.stdout, new RegExp(`^${m}$`, "m"), `${m}\n${r.stdout}\n${r.stderr}`);
    assert.equal(readFileSync(join(s.home, "notes.txt"), "utf8"), "note\n");
    assert.equal(readFileSync(join(s.home, ".bashrc"), "utf8"), "# the host's bashrc\n");
    assert.ok(!existsSync(join(s.home, ".aws", "credentials")));
    assert.ok(!existsSync(join(s.home, ".config", "gcloud", "creds")) && !existsSync(join(s.home, ".config-old")));
    assert.ok(!existsSync(join(s.home, ".ssh", "authorized_keys")));
    assert.equal(readFileSync(s.settings, "utf8"), '{"permissions":{"deny":["mcp__*"]}}\n');
  });

  it("shows nothing of the host beyond the system directories and allowed paths", async () => {
    const realHome = process.env.HOME && process.env.HOME !== home ? process.env.HOME : "/root";
    const r = await sh(`ls -A / | tr '\\n' ' '; echo; test -e "${realHome}" && echo HOST-HOME || echo NO-HOST-HOME; test -e /run && echo RUN || echo NO-RUN; test -e /var && echo VAR || echo NO-VAR; cat /etc/shadow >/dev/null 2>&1 && echo SHADOW || echo NO-SHADOW`);
    assert.match(r.stdout, /NO-HOST-HOME/);
    assert.match(r.stdout, /NO-RUN/);
    assert.match(r.stdout, /NO-VAR/);
    assert.match(r.stdout, /NO-SHADOW/);
    const top = (r.stdout.split("\n")[0] as string).trim().split(/\s+/).sort();
    for (const name of top) assert.ok(["bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr", "root", "home", "opt", "work"].includes(name), `unexpected /${name} (${top.join(" ")})`);
  });
});

describe("bubblewrap sandbox: processes and privileges", { skip }, () => {
  let marker: ChildProcess | undefined;
  before(() => {
    if (skip) return;
    marker = spawn("sleep", ["313373"], { stdio: "ignore" });
  });
  after(() => marker?.kill("SIGKILL"));

  it("sees no host process: /proc lists only the sandbox's, a known host pid is absent", async () => {
    const hostPid = marker?.pid as number;
    const r = await sh(`ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '; echo; kill -0 ${hostPid} 2>/dev/null && echo SIGNALLED || echo NO-SUCH-PROCESS`);
    const pids = (r.stdout.split("\n")[0] as string).trim().split(/\s+/).map(Number);
    assert.ok(pids.length > 0 && pids.length <= 6, `sandbox pids: ${pids.join(" ")}`);
    assert.ok(pids.every((p) => p < 100), `only the sandbox's pid numbering: ${pids.join(" ")}`);
    assert.ok(!pids.includes(process.pid) || process.pid < 100);
    assert.doesNotMatch(r.stdout, /313373/, "the host's sleep is not visible");
    assert.doesNotMatch(r.stdout, /node --test|sandbox-escape/);
    assert.match(r.stdout, /NO-SUCH-PROCESS/);
    assert.ok(marker?.exitCode === null, "the host process is untouched");
  });

  it("runs with no capabilities, no_new_privs, the seccomp filter, in a new session (no TIOCSTI into the caller's terminal)", { skip: noPython }, async () => {
    const r = await pyIn(`import os\nfor l in open('/proc/self/status'):\n  if l.split(':')[0] in ('CapEff','CapPrm','CapBnd','NoNewPrivs','Seccomp'): print(l.strip())\nprint('SID', os.getsid(0))`);
    assert.match(r.stdout, /CapEff:\s+0000000000000000/);
    assert.match(r.stdout, /CapPrm:\s+0000000000000000/);
    assert.match(r.stdout, /CapBnd:\s+0000000000000000/);
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
    assert.match(r.stdout, /Seccomp:\s+2/);
    // --new-session: the session is the sandbox's own (led by its init, pid 1), without a controlling
    // terminal; in the caller's session the leader would be outside the PID namespace (sid 0).
    assert.match(r.stdout, /^SID 1$/m);
  });

  it("does not inherit the host environment; bwrap's own environment (/proc/1/environ) is empty too", async () => {
    process.env.WARDEN_ESCAPE_SECRET = SECRET;
    try {
      const r = await run({ command: "sh", args: ["-c", "env; echo ---; tr '\\0' '\\n' < /proc/1/environ; echo ---"], env: { PATH: "/usr/bin:/bin", GIVEN: "configured" }, cwd: project });
      assert.doesNotMatch(r.stdout, new RegExp(SECRET));
      assert.match(r.stdout, /^GIVEN=configured$/m);
      const vars = (r.stdout.split("---")[0] as string).trim().split("\n").map((l) => l.split("=")[0]).sort();
      assert.deepEqual(vars.filter((v) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(v as string)), ["GIVEN", "PATH"]);
      assert.equal((r.stdout.split("---")[1] as string).trim(), "", "bwrap was started with an empty environment");
    } finally {
      delete process.env.WARDEN_ESCAPE_SECRET;
    }
  });

  it("ptrace: PTRACE_TRACEME and PTRACE_ATTACH to a sibling fail with EPERM", { skip: noPython }, async () => {
    const code = [
      "import ctypes, subprocess, json",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "libc.ptrace.restype = ctypes.c_long",
      "def pt(req, pid):",
      "  ctypes.set_errno(0)",
      "  r = libc.ptrace(ctypes.c_long(req), ctypes.c_long(pid), None, None)",
      "  return [r, ctypes.get_errno()]",
      "sib = subprocess.Popen(['sleep', '30'])",
      "out = {'attach': pt(16, sib.pid), 'traceme': pt(0, 0)}",
      "sib.kill(); sib.wait()",
      "print(json.dumps(out))",
    ].join("\n");
    const r = await pyIn(code);
    const out = JSON.parse(r.stdout.trim()) as Record<string, [number, number]>;
    assert.deepEqual(out.attach, [-1, 1], "PTRACE_ATTACH: EPERM");
    assert.deepEqual(out.traceme, [-1, 1], "PTRACE_TRACEME: EPERM");
  });

  it("keyctl, bpf, io_uring, mount, unshare, setns, process_vm_readv, userfaultfd, perf_event_open, TIOCSTI... fail with EPERM; clone3 with ENOSYS; the same probes outside show they are real", { skip: noPython }, async () => {
    const arch = hostSeccompArch() as "x86_64" | "aarch64";
    const nr = (name: string) => ({ ...DENIED, ...CONDITIONAL })[name]?.[arch] as number;
    // name: [nr, args...]; arguments chosen so that the call would succeed or fail with another errno unfiltered.
    const probes: Record<string, number[]> = {
      keyctl: [nr("keyctl"), 0, -3, 0], // KEYCTL_GET_KEYRING_ID, session keyring
      request_key: [nr("request_key"), 0, 0, 0, 0],
      add_key: [nr("add_key"), 0, 0, 0, 0, -3],
      bpf: [nr("bpf"), 0, 0, 0],
      io_uring_setup: [nr("io_uring_setup"), 1, 0],
      mount: [nr("mount"), 0, 0, 0, 0, 0],
      umount2: [nr("umount2"), 0, 0],
      unshare_user: [nr("unshare"), 0x10000000],
      unshare_net: [nr("unshare"), 0x40000000],
      setns: [nr("setns"), -1, 0],
      open_tree: [nr("open_tree"), -100, 0, 0],
      fsopen: [nr("fsopen"), 0, 0],
      process_vm_readv: [nr("process_vm_readv"), -1, 0, 0, 0, 0, 0], // pid filled in below
      userfaultfd: [nr("userfaultfd"), 1], // UFFD_USER_MODE_ONLY
      perf_event_open: [nr("perf_event_open"), 0, 0, -1, -1, 0],
      pidfd_getfd: [nr("pidfd_getfd"), -1, 0, 0],
      clone_newuser: [nr("clone"), 0x10000000 | 17, 0, 0, 0, 0],
      clone3: [nr("clone3"), 0, 0],
      init_module: [nr("init_module"), 0, 0, 0],
      ioctl_tiocsti: [nr("ioctl"), 0, 0x5412, 0], // stdin is /dev/null: ENOTTY unfiltered
    };
    const code = [
      "import ctypes, json, os, sys",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "libc.syscall.restype = ctypes.c_long",
      "probes = json.loads(sys.argv[1])",
      "probes['process_vm_readv'][1] = os.getpid()",
      "out = {}",
      "for name, p in probes.items():",
      "  ctypes.set_errno(0)",
      "  r = libc.syscall(*[ctypes.c_long(x) for x in p])",
      "  out[name] = [r, ctypes.get_errno()]",
      "  if name == 'clone_newuser' and r == 0: os._exit(0)",
      "print(json.dumps(out))",
    ].join("\n");
    const inside = await pyIn(code, [JSON.stringify(probes)]);
    assert.equal(inside.code, 0, inside.stderr);
    const got = JSON.parse(inside.stdout.trim()) as Record<string, [number, number]>;
    for (const name of Object.keys(probes)) {
      const expected = name === "clone3" ? 38 : 1;
      assert.deepEqual(got[name], [-1, expected], `${name}: ${JSON.stringify(got[name])}`);
    }
    // Control: outside the sandbox the same probes are not all EPERM, so the filter is what refuses them.
    const outside = spawnSync(PYTHON as string, ["-c", code, JSON.stringify(probes)], { encoding: "utf8", timeout: 20_000 });
    if (outside.status === 0) {
      const host = JSON.parse(outside.stdout.trim()) as Record<string, [number, number]>;
      const differs = Object.keys(probes).filter((n) => JSON.stringify(host[n]) !== JSON.stringify(got[n]));
      assert.ok(differs.length >= 5, `probes that behave differently outside: ${differs.join(", ")} (${outside.stdout})`);
    }
  });

  it("killing the launch's process group (as the gateway stops a server) ends everything inside", async () => {
    const tag = String(400000 + (process.pid % 100000));
    const launch = backend.wrap({ command: "sh", args: ["-c", `sleep ${tag} & sleep ${tag} & echo STARTED; wait`], env: BASE_ENV(), cwd: project }, policy, ctx);
    const child = spawn(launch.command, launch.args, { env: launch.env, detached: true, stdio: launchStdio(["ignore", "pipe", "ignore"], launch) });
    launch.cleanup();
    live.add(child);
    await new Promise<void>((resolve) => child.stdout?.on("data", (d: Buffer) => d.toString().includes("STARTED") && resolve()));
    const sleepers = () =>
      String(
        readdirSync("/proc")
          .filter((p) => /^\d+$/.test(p))
          .filter((p) => {
            try {
              const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
              return argv[0] === "sleep" && argv[1] === tag;
            } catch {
              return false;
            }
          }).length,
      );
    let running = sleepers();
    for (let i = 0; i < 100 && running !== "2"; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the shell may echo before both children have exec'd sleep
      running = sleepers();
    }
    assert.equal(running, "2", "both sleeps run (seen from the host)");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-(child.pid as number), "SIGTERM");
    await exited;
    live.delete(child);
    let left = sleepers();
    for (let i = 0; i < 50 && left !== "0"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = sleepers();
    }
    assert.equal(left, "0", "no process of the sandbox survives");
  });

  it("runs node (threads, child processes through socketpair pipes) and python", async () => {
    const r = await nodeIn(`const { execFileSync } = require("child_process"); const { Worker } = require("worker_threads");
      new Worker("require('worker_threads').parentPort.postMessage(6*7)", { eval: true }).on("message", (v) => {
        console.log("WORKER", v, "CHILD", execFileSync("sh", ["-c", "echo from-child"]).toString().trim());
      });`);
    assert.match(r.stdout, /WORKER 42 CHILD from-child/, r.stderr);
    if (PYTHON) {
      const p = await pyIn("import socket; a, b = socket.socketpair(); a.send(b'pair'); print(b.recv(4).decode())");
      assert.match(p.stdout, /^pair$/m, p.stderr);
    }
  });
});

describe("bubblewrap sandbox: network", { skip }, () => {
  let http: HttpServer;
  let port: number;
  let unix: NetServer;
  let unixPath: string;
  let unixHits = 0;
  before(async () => {
    if (skip) return;
    http = createHttpServer((_req, res) => res.end("hello-from-host"));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    port = (http.address() as AddressInfo).port;
    unixPath = join(project, "host.sock"); // readable (and writable) inside: only seccomp stands in the way
    unix = createNetServer((s) => {
      unixHits++;
      s.end("hello-over-unix");
    });
    await new Promise<void>((resolve) => unix.listen(unixPath, resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (unix ? unix.close(() => resolve()) : resolve()));
  });

  const connectProbe = (host: string, p: number) =>
    `const s = require("net").connect({ host: ${JSON.stringify(host)}, port: ${p}, timeout: 3000 });
     s.on("connect", () => { console.log("CONNECTED"); process.exit(0); });
     s.on("timeout", () => { console.log("TIMEOUT"); process.exit(4); });
     s.on("error", (e) => { console.log("ERR", e.code); process.exit(3); });`;

  it("cannot reach a service on the host's loopback (which the host itself reaches)", async () => {
    const host = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    assert.equal(host, "hello-from-host");
    const r = await nodeIn(connectProbe("127.0.0.1", port));
    assert.match(r.stdout, /ERR ECONNREFUSED/);
    const byName = await nodeIn(connectProbe("localhost", port));
    assert.match(byName.stdout, /ERR (ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EADDRNOTAVAIL|ENETUNREACH)/);
    if (CURL) {
      const c = await sh(`${CURL} -sS --max-time 3 http://127.0.0.1:${port}/ && echo CURL-OK || echo CURL-FAILED`);
      assert.match(c.stdout, /CURL-FAILED/);
      assert.doesNotMatch(c.stdout, /hello-from-host/);
    }
  });

  it("cannot connect to an IP literal or the host's own addresses", async () => {
    const r = await nodeIn(connectProbe("1.1.1.1", 443));
    assert.match(r.stdout, /ERR (ENETUNREACH|EHOSTUNREACH)/);
    const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === "IPv4");
    if (external) {
      const e = await nodeIn(connectProbe(external.address, port));
      assert.match(e.stdout, /ERR (ENETUNREACH|EHOSTUNREACH)/);
    }
    const ip = await sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '");
    assert.equal(ip.stdout.trim(), "lo", "only loopback inside");
  });

  it("cannot open a host Unix socket (readable inside): socket(AF_UNIX) fails with EPERM", async () => {
    const hostSide = await new Promise<string>((resolve, reject) => {
      const s = createConnection(unixPath);
      let d = "";
      s.on("data", (b) => (d += b.toString()));
      s.on("end", () => resolve(d));
      s.on("error", reject);
    });
    assert.equal(hostSide, "hello-over-unix");
    const hits = unixHits;
    const r = await nodeIn(`const s = require("net").connect(${JSON.stringify(unixPath)});
      s.on("connect", () => { console.log("CONNECTED"); process.exit(0); });
      s.on("data", (d) => console.log(String(d)));
      s.on("error", (e) => { console.log("ERR", e.code); process.exit(3); });
      require("fs").statSync(${JSON.stringify(unixPath)}).isSocket() && console.log("VISIBLE");`);
    assert.match(r.stdout, /VISIBLE/);
    assert.match(r.stdout, /ERR EPERM/);
    assert.doesNotMatch(r.stdout, /hello-over-unix|CONNECTED/);
    if (PYTHON) {
      const p = await pyIn(
        [
          "import socket, errno",
          "def t(f):",
          "  try: f(); print('OPENED')",
          "  except OSError as e: print(errno.errorcode[e.errno])",
          `t(lambda: socket.socket(socket.AF_UNIX).connect(${JSON.stringify(unixPath)}))`,
          "t(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))",
          "t(lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))",
        ].join("\n"),
      );
      assert.deepEqual(p.stdout.trim().split("\n"), ["EPERM", "EPERM", "EPERM"], p.stderr);
    }
    assert.equal(unixHits, hits, "no connection reached the host's socket");
  });

  it("with the egress bridge: the command reaches the host only through the gateway's proxy, on the inherited channel", async (t) => {
    const here = fileURLToPath(new URL(".", import.meta.url));
    const script = join(here, "..", "..", "src", "egress", "bridge-main.js");
    const proxyModule = join(here, "..", "..", "src", "egress", "proxy.js");
    const egressModule = join(here, "..", "..", "src", "policy", "egress", "egress.js");
    if (!existsSync(script) || !existsSync(proxyModule) || !existsSync(egressModule)) {
      t.skip("the egress bridge and proxy are not built");
      return;
    }
    type Attach = (channel: Duplex, opts: { server: string; policy: unknown; audit?: (e: unknown) => void }) => { close(): void };
    const { attachEgress } = (await import(proxyModule)) as { attachEgress: Attach };
    const { compileEgressPolicy } = (await import(egressModule)) as { compileEgressPolicy: (s: object) => unknown };
    const bridgeCtx: SandboxContext = { ...ctx, egressFd: 3, bridge: { node: NODE, script, port: 18080 } };
    const attempt = async (allowLocalhost: boolean) => {
      const handles: { close(): void }[] = [];
      const r = await run(
        {
          command: NODE,
          args: [
            "-e",
            `const http = require("http");
             const p = new URL(process.env.HTTP_PROXY);
             http.get({ host: p.hostname, port: p.port, path: "http://127.0.0.1:${port}/" }, (res) => {
               let d = ""; res.on("data", (c) => (d += c)); res.on("end", () => { console.log("STATUS", res.statusCode, d); });
             }).on("error", (e) => console.log("ERR", e.code));
             require("net").connect(${port}, "127.0.0.1").on("error", (e) => console.log("DIRECT", e.code)).on("connect", () => console.log("DIRECT CONNECTED"));`,
          ],
          env: BASE_ENV(),
          cwd: project,
        },
        policy,
        bridgeCtx,
        { egress: (channel) => handles.push(attachEgress(channel, { server: "escape-test", policy: compileEgressPolicy({ allowLocalhost }) })) },
      );
      for (const h of handles) h.close();
      return r;
    };
    const allowed = await attempt(true);
    assert.match(allowed.stdout, /STATUS 200 hello-from-host/, `${allowed.stdout}\n${allowed.stderr}`);
    assert.match(allowed.stdout, /DIRECT ECONNREFUSED/);
    const refused = await attempt(false);
    assert.doesNotMatch(refused.stdout, /hello-from-host/, `${refused.stdout}\n${refused.stderr}`);
    assert.match(refused.stdout, /DIRECT ECONNREFUSED/);
  });
});

describe("bubblewrap sandbox: as an unprivileged user", { skip }, () => {
  // When the tests run as root, the same checks run again as `nobody` (setpriv): the design must work
  // in an unprivileged user namespace, and limits.pids is only enforceable there.
  const isRoot = process.getuid?.() === 0;
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
  const why = isRoot && !setpriv ? "running as root without setpriv to drop to nobody" : false;

  it("confines reads and writes, refuses Unix sockets, and limits.pids contains a fork bomb", { skip: why }, async () => {
    const base = join(root, "unpriv");
    mkdirSync(base, { mode: 0o755 });
    const s = scratchHome("unpriv/home");
    // Make the key readable by the user: only the sandbox stands between it and the process.
    for (const p of [base, s.home, join(s.home, ".ssh"), join(s.home, "docs")]) chmodSync(p, 0o755);
    chmodSync(join(s.home, ".ssh", "id_rsa"), 0o644);
    if (isRoot) for (const p of [s.project, join(s.project, "src"), join(s.project, ".mcp-warden"), s.settings]) chownSync(p, 65534, 65534);
    const here = fileURLToPath(new URL(".", import.meta.url));
    const child = join(base, "child.mjs");
    writeFileSync(
      child,
      `import { spawnSync } from "node:child_process";
const { bubblewrapBackend, launchStdio } = await import(${JSON.stringify(join(here, "..", "..", "src", "sandbox", "bubblewrap.js"))});
const cfg = JSON.parse(process.argv[2]);
const b = bubblewrapBackend();
const out = { uid: process.getuid(), available: b.available() };
const policy = (extra = {}) => ({ type: "bubblewrap", filesystem: { allowRead: [cfg.home], denyRead: [], allowWrite: [cfg.project], denyWrite: [] }, network: {}, limits: {}, env: [], ...extra });
const ctx = { home: cfg.home, mandatoryDeny: cfg.deny };
const run = (script, pol = policy()) => {
  try {
    const l = b.wrap({ command: "sh", args: ["-c", script], env: { PATH: "/usr/bin:/bin", HOME: cfg.home }, cwd: cfg.project }, pol, ctx);
    const r = spawnSync(l.command, l.args, { env: l.env, stdio: launchStdio(["ignore", "pipe", "pipe"], l), encoding: "utf8", timeout: 30000 });
    l.cleanup();
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } catch (e) { return { error: String(e) }; }
};
out.files = run('cat "$HOME/docs/readme.txt"; cat "$HOME/.ssh/id_rsa" || echo KEY-REFUSED; echo w > src/w.txt && echo W-OK; echo x > "$HOME/docs/x" || echo R-HOME; cat .mcp-warden/settings.json || echo S-REFUSED');
out.unix = run(cfg.python ? cfg.python + ' -c "import socket; socket.socket(socket.AF_UNIX)" 2>&1 | tail -1' : "echo no python");
out.pidsOk = run('for i in 1 2 3; do sleep 1 & done; wait && echo FEW-OK', policy({ limits: { pids: 12 } }));
out.pidsBomb = run('i=0; while [ $i -lt 40 ]; do sleep 3 & i=$((i+1)); done; wait; echo BOMB-DONE', policy({ limits: { pids: 12 } }));
console.log(JSON.stringify(out));
`,
    );
    chmodSync(child, 0o644);
    const controlRead = isRoot
      ? spawnSync(setpriv as string, ["--reuid=65534", "--regid=65534", "--clear-groups", "cat", join(s.home, ".ssh", "id_rsa")], { encoding: "utf8" })
      : spawnSync("cat", [join(s.home, ".ssh", "id_rsa")], { encoding: "utf8" });
    assert.match(controlRead.stdout, /PRIVATE-KEY-MATERIAL/, "outside the sandbox the user can read the key");
    const cfg = JSON.stringify({ home: s.home, project: s.project, deny: mandatoryFor(s.home, s.project), python: PYTHON });
    const cmd = isRoot ? [setpriv as string, "--reuid=65534", "--regid=65534", "--clear-groups", NODE, child, cfg] : [NODE, child, cfg];
    const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: "utf8", timeout: 120_000, env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent" }, cwd: "/" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as Record<string, { status?: number; stdout?: string; stderr?: string; error?: string; ok?: boolean; why?: string }> & { uid: number };
    if (isRoot) assert.equal(out.uid, 65534);
    if (!out.available?.ok) {
      console.log(`# unprivileged bubblewrap unavailable: ${out.available?.why}`);
      return;
    }
    const files = out.files?.stdout ?? "";
    assert.match(files, /readable-doc/, JSON.stringify(out.files));
    assert.match(files, /KEY-REFUSED/);
    assert.doesNotMatch(files, /PRIVATE-KEY-MATERIAL/);
    assert.match(files, /W-OK/);
    assert.match(files, /R-HOME/);
    assert.match(files, /S-REFUSED/);
    assert.equal(readFileSync(join(s.project, "src", "w.txt"), "utf8"), "w\n");
    if (PYTHON) assert.match(out.unix?.stdout ?? "", /Operation not permitted/, JSON.stringify(out.unix));
    assert.match(out.pidsOk?.stdout ?? "", /FEW-OK/, JSON.stringify(out.pidsOk));
    assert.doesNotMatch(out.pidsBomb?.stdout ?? "", /BOMB-DONE/, JSON.stringify(out.pidsBomb));
    assert.match(`${out.pidsBomb?.stderr}`, /fork|Resource temporarily unavailable/i, JSON.stringify(out.pidsBomb));
  });
});
