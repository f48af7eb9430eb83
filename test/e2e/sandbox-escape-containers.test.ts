// The escape attempts of sandbox-escape.test.ts (bubblewrap), run against every container backend
// that works here: podman, docker (a private dockerd), and both with gVisor (runsc). Each attempt
// must fail inside while its control (the same action outside, or an allowed counterpart inside)
// works. The README's table "Escape attempts, per backend" lists these tests.
//
// The image is the busybox test image (container-harness.ts); python3 for the syscall probes is
// the host's, mounted read-only with its libraries (allowRead), as a server's runtime would be.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createConnection, createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { containerBackend } from "../../src/sandbox/container.js";
import { CONDITIONAL, DENIED, hostSeccompArch } from "../../src/sandbox/seccomp.js";
import type { LaunchSpec, SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";
import { busyboxImage, CONTAINER_VARIANTS, engineEnv, startDockerd, variantProblem, type PrivateDockerd } from "./container-harness.js";

const PYTHON = ["/usr/bin/python3"].map((p) => (existsSync(p) ? realpathSync(p) : undefined)).find((p) => p !== undefined);
const PY_VERSION = PYTHON?.match(/python(3\.\d+)$/)?.[1];
/** What python3 needs inside: its binary, standard library and the host's shared libraries (read-only). */
const PYTHON_MOUNTS = PYTHON && PY_VERSION ? [PYTHON, `/usr/lib/python${PY_VERSION}`, "/lib/x86_64-linux-gnu", "/lib64/ld-linux-x86-64.so.2"].filter((p) => existsSync(p)) : [];
const noPython = PYTHON && PY_VERSION && process.arch === "x64" ? false : "needs the host's python3 on x86_64 (mounted into the container for the syscall probes)";

const VARIANTS = CONTAINER_VARIANTS.map((v) => ({ name: v.label, engine: v.engine, ...(v.gvisor ? { runtime: "runsc" } : {}), problem: variantProblem(v) }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let root: string;
let home: string;
let project: string;
let settingsFile: string;
let socketDir: string;
let dockerd: PrivateDockerd | undefined;
const live = new Set<ChildProcess>();
let marker: ChildProcess | undefined;
let loopback: HttpServer | undefined;
let loopbackPort = 0;
let unixServer: NetServer | undefined;
let unixPath = "";

const hostAddress = (): string | undefined =>
  Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

before(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "warden-cescape-")));
  chmodSync(root, 0o755);
  home = join(root, "home");
  project = join(home, "project");
  for (const d of [join(home, ".ssh"), join(home, "docs"), join(project, ".mcp-warden"), join(project, "src")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(home, ".ssh", "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY----- PRIVATE-KEY-MATERIAL\n");
  writeFileSync(join(home, "docs", "readme.txt"), "readable-doc\n");
  settingsFile = join(project, ".mcp-warden", "settings.json");
  writeFileSync(settingsFile, '{"permissions":{"deny":["mcp__*"]}}\n');
  // The container's user is nobody when the tests run as root: the project must be writable for it.
  for (const d of [project, join(project, "src")]) chmodSync(d, 0o777);
  for (const f of [join(home, ".ssh", "id_rsa"), settingsFile, join(home, "docs", "readme.txt")]) chmodSync(f, 0o644);
  for (const d of [home, join(home, ".ssh"), join(home, "docs"), join(project, ".mcp-warden")]) chmodSync(d, 0o755);
  // A host service on a Unix socket, in a directory the policy lets the server read.
  socketDir = join(home, "run");
  mkdirSync(socketDir, { mode: 0o777 });
  chmodSync(socketDir, 0o777);
  unixPath = join(socketDir, "agent.sock");
  unixServer = createNetServer((c) => c.end("HOST-SOCKET-REACHED\n"));
  await new Promise<void>((r) => unixServer!.listen(unixPath, r));
  chmodSync(unixPath, 0o777);
  loopback = createHttpServer((_q, s) => s.end("HOST-LOOPBACK-REACHED"));
  await new Promise<void>((r) => loopback!.listen(0, "127.0.0.1", r));
  loopbackPort = (loopback.address() as AddressInfo).port;
  marker = spawn("sleep", ["313374"], { stdio: "ignore" });
  if (VARIANTS.some((v) => v.engine === "docker" && v.problem === undefined)) dockerd = await startDockerd();
});

after(async () => {
  for (const c of live) c.kill("SIGKILL");
  marker?.kill("SIGKILL");
  loopback?.close();
  unixServer?.close();
  await dockerd?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

for (const v of VARIANTS) {
  describe(`${v.name}: escape attempts fail`, { skip: v.problem ?? false, timeout: 300_000 }, () => {
    let image = "";
    let env: NodeJS.ProcessEnv = {};
    const backend = () => containerBackend(v.engine, { hostEnv: env, server: "escape" });
    const ctx = (): SandboxContext => ({ home, mandatoryDeny: [join(home, ".ssh"), join(home, ".mcp-warden"), settingsFile] });
    const policy = (extra: Partial<SandboxPolicy> = {}): SandboxPolicy => ({
      type: v.engine,
      filesystem: { allowRead: [home, ...PYTHON_MOUNTS], denyRead: [], allowWrite: [project], denyWrite: [] },
      network: {},
      limits: {},
      env: [],
      image,
      ...(v.runtime !== undefined ? { runtime: v.runtime } : {}),
      ...extra,
    });

    before(() => {
      env = v.engine === "docker" ? (dockerd?.env ?? engineEnv()) : engineEnv();
      image = busyboxImage(v.engine, env);
    });

    function run(spec: LaunchSpec, timeoutMs = 60_000): Promise<Result> {
      const launch = backend().wrap(spec, policy(), ctx());
      const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ["ignore", "pipe", "pipe"] });
      live.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      return new Promise((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code) => {
          clearTimeout(timer);
          live.delete(child);
          launch.cleanup();
          resolve({ code, stdout, stderr });
        });
      });
    }
    const sh = (script: string) => run({ command: "/bin/sh", args: ["-c", script], env: { PATH: "/usr/bin:/bin", HOME: home }, cwd: project });
    const py = (code: string, args: string[] = []) => run({ command: PYTHON as string, args: ["-c", code, ...args], env: { PATH: "/usr/bin:/bin", HOME: home, PYTHONDONTWRITEBYTECODE: "1" }, cwd: project });

    it("reads an allowed file, but not ~/.ssh/id_rsa although allowRead includes the home directory", async () => {
      const r = await sh(`cat "$HOME/docs/readme.txt"; cat "$HOME/.ssh/id_rsa" 2>&1 || echo KEY-REFUSED`);
      assert.match(r.stdout, /readable-doc/, r.stderr);
      assert.match(r.stdout, /KEY-REFUSED/);
      assert.doesNotMatch(r.stdout, /PRIVATE-KEY-MATERIAL/);
    });

    it("writes in allowWrite only: not in a read-only allowed directory, not in the image's root or /etc", async () => {
      const r = await sh(`echo w > src/w.txt && echo W-OK; echo x > "$HOME/docs/x" 2>/dev/null || echo DOCS-REFUSED; echo x > /x 2>/dev/null || echo ROOT-REFUSED; echo x >> /etc/passwd 2>/dev/null || echo ETC-REFUSED`);
      assert.match(r.stdout, /W-OK/, r.stderr);
      for (const m of ["DOCS-REFUSED", "ROOT-REFUSED", "ETC-REFUSED"]) assert.match(r.stdout, new RegExp(m));
      assert.equal(readFileSync(join(project, "src", "w.txt"), "utf8"), "w\n");
      assert.equal(existsSync(join(home, "docs", "x")), false);
    });

    it("cannot read, rewrite, delete or move aside mcp-warden's settings inside the writable project", async () => {
      // The mask is /dev/null: a write into it goes nowhere, which the host file's content shows.
      const r = await sh(
        `f=.mcp-warden/settings.json; cat $f 2>/dev/null | grep -q deny && echo READ; echo '{"permissions":{}}' > $f 2>/dev/null; cat $f | grep -q permissions && echo REWRITTEN; ` +
          `rm -f $f 2>/dev/null; test -e $f || echo DELETED; mv $f x.json 2>/dev/null && echo FILE-MOVED; mv .mcp-warden .moved 2>/dev/null && echo DIR-MOVED; ` +
          `mkdir -p .other && echo '{}' > .other/settings.json && echo OTHER-OK`,
      );
      assert.match(r.stdout, /OTHER-OK/, r.stderr);
      assert.doesNotMatch(r.stdout, /READ|REWRITTEN|DELETED|FILE-MOVED|DIR-MOVED/);
      assert.equal(readFileSync(settingsFile, "utf8"), '{"permissions":{"deny":["mcp__*"]}}\n');
      assert.equal(existsSync(join(project, ".moved")), false);
    });

    it("sees no host process: a host process's pid is absent and cannot be signalled", async () => {
      const hostPid = marker?.pid as number;
      const r = await sh(`ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '; echo; kill -0 ${hostPid} 2>/dev/null && echo SIGNALLED || echo NO-SUCH-PROCESS`);
      assert.doesNotMatch(r.stdout, /313374/, "the host's sleep is not visible");
      assert.doesNotMatch(r.stdout, /node --test/);
      assert.match(r.stdout, /NO-SUCH-PROCESS/);
      assert.equal(marker?.exitCode, null, "the host process is untouched");
    });

    it("cannot reach a service on the host's loopback, which the host itself reaches", async () => {
      const control = await fetch(`http://127.0.0.1:${loopbackPort}/`).then((x) => x.text());
      assert.equal(control, "HOST-LOOPBACK-REACHED");
      const r = await sh(`wget -q -T 3 -O - http://127.0.0.1:${loopbackPort}/ 2>&1 || echo REFUSED`);
      assert.doesNotMatch(r.stdout, /HOST-LOOPBACK-REACHED/);
      assert.match(r.stdout, /REFUSED/);
    });

    it("cannot connect to the host's own address by IP literal, nor to a public one", { skip: hostAddress() ? false : "this host has no non-loopback IPv4 address" }, async () => {
      const r = await sh(`wget -q -T 3 -O - http://${hostAddress()}:${loopbackPort}/ 2>&1 || echo HOST-REFUSED; wget -q -T 3 -O - http://192.0.2.1/ 2>&1 || echo PUBLIC-REFUSED; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '`);
      assert.match(r.stdout, /HOST-REFUSED/);
      assert.match(r.stdout, /PUBLIC-REFUSED/);
      assert.doesNotMatch(r.stdout, /HOST-LOOPBACK-REACHED/);
    });

    it("cannot open a host Unix socket in a directory it may read (the host reaches it)", { skip: noPython }, async () => {
      // The control connects asynchronously: the service runs in this process, and a synchronous
      // client (spawnSync) would block the event loop that has to answer it.
      const control = await new Promise<string>((resolve, reject) => {
        const c = createConnection(unixPath);
        let d = "";
        c.on("data", (b) => (d += b.toString()));
        c.on("end", () => resolve(d));
        c.on("error", reject);
      });
      assert.match(control, /HOST-SOCKET-REACHED/);
      const r = await py(`import socket\ntry:\n  s=socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(${JSON.stringify(unixPath)}); print(s.recv(100).decode())\nexcept OSError as e:\n  print('REFUSED', e.errno)`);
      assert.doesNotMatch(r.stdout, /HOST-SOCKET-REACHED/, r.stderr);
      assert.match(r.stdout, /REFUSED/, r.stderr);
    });

    it("ptrace: attaching to a sibling process fails", { skip: noPython }, async () => {
      const code = [
        "import ctypes, subprocess, json",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "libc.ptrace.restype = ctypes.c_long",
        "sib = subprocess.Popen(['sleep', '30'])",
        "ctypes.set_errno(0)",
        "r = libc.ptrace(ctypes.c_long(16), ctypes.c_long(sib.pid), None, None)",
        "out = [r, ctypes.get_errno()]",
        "sib.kill(); sib.wait()",
        "print(json.dumps(out))",
      ].join("\n");
      const r = await py(code);
      const [ret, errno] = JSON.parse(r.stdout.trim() || "null") ?? [0, 0];
      assert.equal(ret, -1, `PTRACE_ATTACH returned ${ret}: ${r.stdout} ${r.stderr}`);
      assert.ok(errno === 1 || errno === 38, `errno ${errno}`);
    });

    it("runs with no capabilities and no_new_privs (asked of the kernel it runs on: prctl, which gVisor answers too)", { skip: noPython }, async () => {
      const r = await py(
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nfor l in open('/proc/self/status'):\n  if l.split(':')[0] in ('CapEff','CapPrm','CapBnd'): print(l.strip())\nprint('NNP', libc.prctl(39, 0, 0, 0, 0))",
      );
      assert.match(r.stdout, /CapEff:\s+0000000000000000/, r.stderr);
      assert.match(r.stdout, /CapPrm:\s+0000000000000000/);
      assert.match(r.stdout, /^NNP 1$/m, "PR_GET_NO_NEW_PRIVS");
    });

    it("keyctl, bpf, io_uring, mount, unshare, setns, userfaultfd, perf_event_open, init_module fail", { skip: noPython }, async () => {
      const nr = (name: string) => ({ ...DENIED, ...CONDITIONAL })[name]?.[hostSeccompArch() as "x86_64"] as number;
      const probes: Record<string, number[]> = {
        keyctl: [nr("keyctl"), 0, -3, 0],
        add_key: [nr("add_key"), 0, 0, 0, 0, -3],
        bpf: [nr("bpf"), 0, 0, 0],
        io_uring_setup: [nr("io_uring_setup"), 1, 0],
        mount: [nr("mount"), 0, 0, 0, 0, 0],
        unshare_user: [nr("unshare"), 0x10000000],
        unshare_net: [nr("unshare"), 0x40000000],
        setns: [nr("setns"), -1, 0],
        userfaultfd: [nr("userfaultfd"), 1],
        perf_event_open: [nr("perf_event_open"), 0, 0, -1, -1, 0],
        init_module: [nr("init_module"), 0, 0, 0],
      };
      const code = [
        "import ctypes, json, sys",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "libc.syscall.restype = ctypes.c_long",
        "out = {}",
        "for name, p in json.loads(sys.argv[1]).items():",
        "  ctypes.set_errno(0)",
        "  out[name] = [libc.syscall(*[ctypes.c_long(x) for x in p]), ctypes.get_errno()]",
        "print(json.dumps(out))",
      ].join("\n");
      const r = await py(code, [JSON.stringify(probes)]);
      assert.equal(r.code, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim()) as Record<string, [number, number]>;
      for (const name of Object.keys(probes)) assert.equal(got[name]?.[0], -1, `${name}: ${JSON.stringify(got[name])}`);
    });
  });
}
