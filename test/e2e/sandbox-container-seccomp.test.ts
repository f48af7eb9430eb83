// Escape attempts through syscalls against the container sandboxes, with real engines: podman,
// podman with gVisor, a private dockerd, and that dockerd with gVisor. mcp-warden's seccomp profile
// (bubblewrap's list, src/sandbox/seccomp-oci.ts) must give the same refusals as under bubblewrap
// (test/e2e/sandbox-escape.test.ts):
// - a host Unix socket server in a directory the policy allows to read, and one in a writable one,
//   both readable and writable by the container's user: not reachable from inside (socket(AF_UNIX)
//   fails with EPERM), while the same client outside reaches both; and the engine's default profile
//   would let the container in (the control, under runc), so the profile is what refuses;
// - ptrace of a sibling, keyctl, unshare and clone of a user namespace, io_uring, bpf, userfaultfd,
//   TIOCSTI, datagram socketpairs: EPERM; clone3: ENOSYS; a stream socketpair (libuv's pipes) works,
//   and node runs under the profile: a worker thread (clone after clone3's ENOSYS) and a child
//   process with piped stdio (socketpair).
// The probe is the host's python3 with ctypes (as in the bubblewrap suite), its /usr, /lib and /lib64
// mounted read-only into the busybox image (which has no tool that calls ptrace or keyctl).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { containerBackend, type ContainerLaunch } from "../../src/sandbox/container.js";
import { DENIED, CONDITIONAL, hostSeccompArch } from "../../src/sandbox/seccomp.js";
import type { SandboxPolicy } from "../../src/sandbox/types.js";
import { busyboxImage, dockerdProblem, engineEnv, startDockerd, type PrivateDockerd, CONTAINER_VARIANTS, type ContainerVariant, variantProblem } from "./container-harness.js";

const PYTHON = "/usr/bin/python3";
const NODE = realpathSync(process.execPath);
const arch = hostSeccompArch();

let dir: string;
let readable: string;
let writable: string;
let dockerd: PrivateDockerd | undefined;
let dockerdFailure: string | undefined;
const servers: Server[] = [];
let hits = 0;

const sockets = () => [join(readable, "agent.sock"), join(writable, "docker.sock")];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-seccomp-"));
  readable = join(dir, "readable");
  writable = join(dir, "writable");
  for (const d of [readable, writable]) mkdirSync(d);
  // The container's user is nobody (the tests run as root) or the caller: it may search, read and
  // write everything here, so only the sandbox can stand between it and the sockets.
  for (const d of [dir, readable, writable]) chmodSync(d, 0o777);
  for (const path of sockets()) {
    const server = createServer((s) => {
      hits++;
      s.end("hello-from-host-service");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o777);
    servers.push(server);
  }
  if (dockerdProblem() === undefined) {
    try {
      dockerd = await startDockerd();
    } catch (e) {
      dockerdFailure = (e as Error).message;
    }
  }
});

after(async () => {
  for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  await dockerd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Variant = ContainerVariant;
const VARIANTS = CONTAINER_VARIANTS;

function problem(v: Variant): string | false {
  if (!existsSync(PYTHON)) return `no ${PYTHON} (the syscall probes use python3 ctypes)`;
  if (arch === undefined) return `no seccomp table for ${process.arch}`;
  return variantProblem(v) ?? false;
}

/** The engine client's environment (docker: the private dockerd). */
function clientEnv(v: Variant): NodeJS.ProcessEnv {
  if (v.engine === "podman") return engineEnv();
  if (dockerd === undefined) throw new Error(`the private dockerd did not start: ${dockerdFailure ?? "unknown"}`);
  return dockerd.env;
}

const policyFor = (v: Variant, image: string): SandboxPolicy => ({
  type: v.engine,
  // python3 and its libraries from the host, read-only; the two socket directories as the policy allows them.
  filesystem: { allowRead: ["/usr", "/lib", "/lib64", ...(NODE.startsWith("/usr/") ? [] : [dirname(NODE)]), readable], denyRead: [], allowWrite: [writable], denyWrite: [] },
  network: {},
  limits: {},
  env: [],
  image,
  // podman: the runsc binary on PATH; docker: the runtime the private dockerd registered as "runsc".
  ...(v.gvisor ? { runtime: "runsc" } : {}),
});

// name: [syscall number, args...]; arguments chosen so that the call would succeed, or fail with
// another errno, without the profile.
const nr = (name: string) => ({ ...DENIED, ...CONDITIONAL })[name]?.[arch ?? "x86_64"] as number;
const PROBES: Record<string, number[]> = {
  keyctl: [nr("keyctl"), 0, -3, 0], // KEYCTL_GET_KEYRING_ID of the session keyring
  add_key: [nr("add_key"), 0, 0, 0, 0, -3],
  unshare_user: [nr("unshare"), 0x10000000],
  clone_newuser: [nr("clone"), 0x10000000 | 17, 0, 0, 0, 0],
  clone3: [nr("clone3"), 0, 0],
  io_uring_setup: [nr("io_uring_setup"), 1, 0],
  bpf: [nr("bpf"), 0, 0, 0],
  userfaultfd: [nr("userfaultfd"), 1],
  perf_event_open: [nr("perf_event_open"), 0, 0, -1, -1, 0],
  mount: [nr("mount"), 0, 0, 0, 0, 0],
  ioctl_tiocsti: [nr("ioctl"), 0, 0x5412, 0],
  socket_unix_high_bits: [nr("socket"), 0x100000001, 1, 0], // the kernel reads int 1: AF_UNIX
};

const PROBE = [
  "import ctypes, errno, json, os, socket, subprocess, sys",
  "libc = ctypes.CDLL(None, use_errno=True)",
  "libc.syscall.restype = ctypes.c_long",
  "libc.ptrace.restype = ctypes.c_long",
  "paths, probes = json.loads(sys.argv[1]), json.loads(sys.argv[2])",
  "out = {}",
  "def t(name, f):",
  "  try: f(); out[name] = 'OK'",
  "  except OSError as e: out[name] = errno.errorcode.get(e.errno, str(e.errno))",
  "def connect(p):",
  "  s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(p); out['read:' + p] = s.recv(100).decode()",
  "for p in paths:",
  "  out['visible:' + p] = os.path.exists(p)",
  "  t('connect:' + p, lambda p=p: connect(p))",
  "t('socketpair_stream', lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM))",
  "t('socketpair_dgram', lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))",
  "sib = subprocess.Popen(['sleep', '30'])",
  "ctypes.set_errno(0)",
  "out['ptrace_attach_sibling'] = [libc.ptrace(ctypes.c_long(16), ctypes.c_long(sib.pid), None, None), ctypes.get_errno()]",
  "sib.kill(); sib.wait()",
  "for name, p in probes.items():",
  "  ctypes.set_errno(0)",
  "  r = libc.syscall(*[ctypes.c_long(x) for x in p])",
  "  out[name] = [r, ctypes.get_errno()]",
  "  if name == 'clone_newuser' and r == 0: os._exit(0)",
  "print(json.dumps(out))",
].join("\n");

// Node's own start-up makes threads (glibc tries clone3 first), and a child's piped stdio is a socketpair.
const NODE_PROBE = [
  'const { Worker } = require("node:worker_threads");',
  'const { execFileSync } = require("node:child_process");',
  'new Worker("require(\'node:worker_threads\').parentPort.postMessage(42)", { eval: true }).once("message", (m) => {',
  '  const child = execFileSync("/bin/sh", ["-c", "echo from-child"], { encoding: "utf8" }).trim();',
  "  console.log(JSON.stringify({ worker: m, child }));",
  "  process.exit(0);",
  "});",
].join("\n");

/** Runs the probe in the launch; resolves with its JSON. */
function runProbe(launch: ContainerLaunch): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the probe did not finish in time; stderr: ${stderr}`));
    }, 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        assert.equal(code, 0, `exit ${code}: ${stderr}`);
        resolve(JSON.parse(stdout.trim()) as Record<string, unknown>);
      } catch (e) {
        reject(new Error(`${(e as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}

function wrapProbe(v: Variant, env: NodeJS.ProcessEnv, image: string, command: string[] = [PYTHON, "-c", PROBE, JSON.stringify(sockets()), JSON.stringify(PROBES)]): ContainerLaunch {
  const backend = containerBackend(v.engine, { server: "seccomp-probe", hostEnv: env, podmanUserns: null });
  const [cmd, ...args] = command as [string, ...string[]];
  return backend.wrap({ command: cmd, args, env: { PATH: "/usr/bin:/bin", LANG: "C" } }, policyFor(v, image), { home: dir, mandatoryDeny: [] });
}

/** The host's own client reaches the service (the control: the socket works, for anyone allowed to use it). */
function hostReaches(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let d = "";
    s.on("data", (b) => (d += b.toString()));
    s.on("end", () => resolve(d));
    s.on("error", reject);
  });
}

describe("container seccomp: the escape attempts bubblewrap refuses are refused in every container backend", { timeout: 900_000 }, () => {
  for (const v of VARIANTS) {
    it(`${v.label}: host Unix sockets in a readable and a writable mount are unreachable (EPERM) while the host reaches them; ptrace, keyctl, unshare, io_uring, bpf, TIOCSTI... fail with EPERM, clone3 with ENOSYS; node's threads and piped children work`, { skip: problem(v) }, async () => {
      const env = clientEnv(v);
      const image = busyboxImage(v.engine, env);
      for (const p of sockets()) assert.equal(await hostReaches(p), "hello-from-host-service", `the host reaches ${p}`);
      const before = hits;
      const launch = wrapProbe(v, env, image);
      let out: Record<string, unknown>;
      try {
        out = await runProbe(launch);
      } finally {
        launch.cleanup();
      }
      for (const p of sockets()) {
        // runc shows the socket (only seccomp stands in the way); gVisor does not even show a host
        // socket (without --host-uds it passes none through), and seccomp refuses the socket first.
        assert.equal(out[`visible:${p}`], !v.gvisor, `${p}: ${JSON.stringify(out)}`);
        assert.equal(out[`connect:${p}`], "EPERM", `${p}: ${JSON.stringify(out)}`);
        assert.equal(out[`read:${p}`], undefined);
      }
      assert.equal(hits, before, "no connection reached a host service from inside");
      assert.equal(out.socketpair_stream, "OK", "stream socketpairs (libuv's child pipes) still work");
      assert.equal(out.socketpair_dgram, "EPERM");
      assert.deepEqual(out.ptrace_attach_sibling, [-1, 1], "PTRACE_ATTACH to a sibling: EPERM");
      for (const name of Object.keys(PROBES)) assert.deepEqual(out[name], [-1, name === "clone3" ? 38 : 1], `${name}: ${JSON.stringify(out[name])}`);
      // And a real server runtime still works under the profile.
      const nodeLaunch = wrapProbe(v, env, image, [NODE, "-e", NODE_PROBE]);
      try {
        assert.deepEqual(await runProbe(nodeLaunch), { worker: 42, child: "from-child" });
      } finally {
        nodeLaunch.cleanup();
      }
    });
  }

  for (const v of VARIANTS.filter((x) => !x.gvisor)) {
    it(`${v.label}: the control: under the engine's own default profile the same container reaches the host's sockets and can ptrace, so mcp-warden's profile is what refuses`, { skip: problem(v) }, async () => {
      const env = clientEnv(v);
      const image = busyboxImage(v.engine, env);
      const launch = wrapProbe(v, env, image);
      // The same command line without mcp-warden's profile: the engine applies its default one.
      const withoutProfile = { ...launch, args: launch.args.filter((a) => !a.startsWith("--security-opt=seccomp=")) };
      assert.equal(withoutProfile.args.length, launch.args.length - 1, "exactly the profile's argument was removed");
      const before = hits;
      let out: Record<string, unknown>;
      try {
        out = await runProbe(withoutProfile);
      } finally {
        launch.cleanup();
        spawnSync(v.engine, ["rm", "-f", launch.containerName], { env, stdio: "ignore", timeout: 30_000 });
      }
      for (const p of sockets()) assert.equal(out[`read:${p}`], "hello-from-host-service", `${p}: ${JSON.stringify(out)}`);
      assert.equal(hits, before + sockets().length);
      assert.deepEqual(out.ptrace_attach_sibling, [0, 0]);
      const highBits = out.socket_unix_high_bits as number[];
      assert.ok(Array.isArray(highBits) && highBits[0] !== -1, `socket(0x100000001) makes a Unix socket for the kernel: ${JSON.stringify(highBits)}`);
    });
  }
});
