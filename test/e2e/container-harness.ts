// Real container engines for the tests, with no registry: images are built here from local files,
// and docker runs as a private dockerd that the test file starts and stops.
//
// - `engines()`: which of podman, docker, podman+runsc, docker+runsc can run here, or why not.
// - `busyboxImage(engine, env)`: a tiny image built from the host's static busybox (sh, id, ls,
//   cat, wget, dd, ...), plus /etc/passwd with nobody. Its tag carries a hash of what goes in, so a
//   second test file in the same run (or a later run) finds it built and pays nothing.
// - `nodeImage(engine, env)`: the busybox rootfs plus the host's node binary and the libraries `ldd`
//   lists for it, each at its own path, so `node` (the host's realpath of process.execPath) runs
//   inside, also as /usr/local/bin/node (first on the image's PATH). Tagged by a hash of those files' contents, like the busybox image.
// - `startDockerd()`: dockerd with its own socket, data root and exec root in a fresh directory,
//   gVisor's runsc registered as the runtime `runsc` (with network=none, which gVisor needs when the
//   container has no network of its own, host-fifo=open, which lets a container open the egress
//   proxy's named pipes mounted into it, and oci-seccomp, which makes gVisor apply mcp-warden's
//   seccomp profile), and as `runsc-no-fifo` and `runsc-no-seccomp` (each without one of the two, for
//   the tests of the refusals); `stop()` ends it and removes the directory. Its images live and die
//   with it, so each file imports the busybox image again (a few hundred ms).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export type TestEngine = "podman" | "docker";

export const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p) && isStatic(p));
export const RUNSC = ["/usr/bin/runsc", "/usr/local/bin/runsc"].find((p) => existsSync(p));

function isStatic(p: string): boolean {
  // A static binary has no program interpreter: no "/lib64/ld-linux" string in its header area.
  try {
    return !readFileSync(p).subarray(0, 4096).toString("latin1").includes("ld-linux");
  } catch {
    return false;
  }
}

const APPLETS = ["sh", "id", "ls", "cat", "echo", "dd", "sleep", "wget", "nc", "head", "tail", "grep", "ps", "mkdir", "touch", "rm", "env", "true", "false", "kill", "seq", "yes", "stat", "mount", "wc", "tr"];

function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** The engine client's environment for a test: the host PATH plus what the engine needs. */
export function engineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...extra };
}

/** Why podman cannot run containers here, or undefined. */
export function podmanProblem(): string | undefined {
  if (which("podman") === undefined) return "podman is not installed (apt-get install podman runc uidmap slirp4netns fuse-overlayfs; .ci/run does this)";
  const r = spawnSync("podman", ["info", "--format", "{{.Host.OCIRuntime.Name}}"], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) return `podman info failed: ${(r.stderr || r.error?.message || "").trim().slice(0, 300)}`;
  return undefined;
}

/** Why dockerd cannot be started here, or undefined. */
export function dockerdProblem(): string | undefined {
  if (which("dockerd") === undefined) return "dockerd is not installed (apt-get install docker.io; .ci/run does this)";
  if (which("docker") === undefined) return "the docker client is not installed (apt-get install docker.io)";
  if (process.getuid?.() !== 0) return "a private dockerd needs root";
  return undefined;
}

/** Why gVisor's runsc cannot be used, or undefined. */
export function runscProblem(): string | undefined {
  return RUNSC === undefined ? "gVisor's runsc is not installed (apt-get install runsc; .ci/run does this)" : undefined;
}


/** The container backends the suites run against: each engine with runc and with gVisor (runsc). */
export interface ContainerVariant {
  label: string;
  engine: TestEngine;
  gvisor: boolean;
}

export const CONTAINER_VARIANTS: readonly ContainerVariant[] = [
  { label: "podman", engine: "podman", gvisor: false },
  { label: "podman with gVisor", engine: "podman", gvisor: true },
  { label: "docker", engine: "docker", gvisor: false },
  { label: "docker with gVisor", engine: "docker", gvisor: true },
];

/** Why a variant cannot run here (its engine, a private dockerd or gVisor missing), or undefined. */
export function variantProblem(v: ContainerVariant): string | undefined {
  return (v.engine === "podman" ? podmanProblem() : dockerdProblem()) ?? (v.gvisor ? runscProblem() : undefined);
}

/** The busybox rootfs's content hash: the tag of the image built from it. */
function busyboxTag(): string {
  const h = createHash("sha256");
  h.update(readFileSync(BUSYBOX as string));
  h.update(APPLETS.join(","));
  h.update("v2");
  return h.digest("hex").slice(0, 16);
}

function buildRootfs(): string {
  const root = mkdtempSync(join(tmpdir(), "warden-rootfs-"));
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "data", "home"]) mkdirSync(join(root, d), { recursive: true });
  // As in real images: podman copies the image's /tmp (and its mode) into the container's /tmp tmpfs.
  chmodSync(join(root, "tmp"), 0o1777);
  writeFileSync(join(root, "bin", "busybox"), readFileSync(BUSYBOX as string), { mode: 0o755 });
  for (const a of APPLETS) symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n");
  writeFileSync(join(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
  return root;
}

/**
 * The busybox test image for `engine` (the client talking to the engine `env` names): built from the
 * host's static busybox unless present. Throws with the engine's words when the build fails.
 */
export function busyboxImage(engine: TestEngine, env: NodeJS.ProcessEnv = engineEnv()): string {
  if (BUSYBOX === undefined) throw new Error("no static busybox on this host (apt-get install busybox-static; .ci/run does this)");
  const ref = `localhost/mcp-warden-test-busybox:${busyboxTag()}`;
  if (spawnSync(engine, ["image", "inspect", ref], { env, stdio: "ignore", timeout: 60_000 }).status === 0) return ref;
  const root = buildRootfs();
  try {
    // `tar -C root -c .` into `<engine> import - ref`; Cmd set so the image runs without a command too.
    const r = spawnSync("sh", ["-c", `tar -C "$1" -c . | "$2" import --change 'CMD ["/bin/sh"]' - "$3"`, "sh", root, engine, ref], { env, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${engine} import of the busybox test image failed: ${(r.stderr || r.error?.message || "").trim().slice(0, 500)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return ref;
}

/** The host's node binary (symlinks resolved): the path `node` has inside the node test image too. */
export const NODE = realpathSync(process.execPath);

/** The shared libraries the host's node needs, as `ldd` lists them (absolute paths only). */
function nodeLibraries(): string[] {
  const r = spawnSync("ldd", [NODE], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) throw new Error(`ldd ${NODE} failed: ${(r.stderr || r.error?.message || "").trim()}`);
  const libs = new Set<string>();
  for (const line of r.stdout.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1] !== undefined) libs.add(m[1]);
  }
  if (libs.size === 0) throw new Error(`ldd listed no libraries for ${NODE}: ${r.stdout.trim().slice(0, 300)}`);
  return [...libs].sort();
}

/**
 * A test image in which the host's node runs: the busybox rootfs plus node and its libraries at
 * their host paths. Built unless present (the tag hashes every file that goes in).
 */
export function nodeImage(engine: TestEngine, env: NodeJS.ProcessEnv = engineEnv()): string {
  if (BUSYBOX === undefined) throw new Error("no static busybox on this host (apt-get install busybox-static; .ci/run does this)");
  const files = [NODE, ...nodeLibraries()];
  const h = createHash("sha256");
  h.update(busyboxTag());
  for (const f of files) h.update(f).update("\0").update(readFileSync(f));
  h.update("node-v2");
  const ref = `localhost/mcp-warden-test-node:${h.digest("hex").slice(0, 16)}`;
  if (spawnSync(engine, ["image", "inspect", ref], { env, stdio: "ignore", timeout: 60_000 }).status === 0) return ref;
  const root = buildRootfs();
  try {
    // Each file at its own path, as a regular file (a symlinked /lib on the host need not be one here).
    for (const f of files) {
      mkdirSync(join(root, dirname(f)), { recursive: true });
      writeFileSync(join(root, f), readFileSync(f), { mode: 0o755 });
    }
    if (NODE !== "/usr/local/bin/node") {
      mkdirSync(join(root, "usr/local/bin"), { recursive: true });
      symlinkSync(NODE, join(root, "usr/local/bin/node"));
    }
    const r = spawnSync("sh", ["-c", `tar -C "$1" -c . | "$2" import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$3"`, "sh", root, engine, ref], { env, encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${engine} import of the node test image failed: ${(r.stderr || r.error?.message || "").trim().slice(0, 500)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return ref;
}

/** The image's ID (sha256:...), as the engine reports it. */
export function imageId(engine: TestEngine, ref: string, env: NodeJS.ProcessEnv = engineEnv()): string {
  const r = spawnSync(engine, ["image", "inspect", "--format", "{{.Id}}", ref], { env, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${engine} image inspect ${ref} failed: ${r.stderr.trim()}`);
  const id = r.stdout.trim();
  return id.startsWith("sha256:") ? id : `sha256:${id}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function unmountUnder(dir: string): void {
  spawnSync("sh", ["-c", `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: "ignore" });
}

/**
 * A test process killed by its timeout cannot stop its dockerd: the next start stops the private
 * dockerds whose owning test process is gone, and removes their directories.
 */
function reapStaleDockerds(): void {
  for (const name of readdirSync("/tmp").filter((n) => n.startsWith("mwd-"))) {
    const dir = join("/tmp", name);
    const read = (f: string) => {
      try {
        return Number(readFileSync(join(dir, f), "utf8").trim());
      } catch {
        return NaN;
      }
    };
    const owner = read("owner.pid");
    if (!Number.isInteger(owner) || alive(owner)) continue;
    // dockerd and the containerd it started both carry the directory in their arguments.
    spawnSync("pkill", ["-KILL", "-f", dir], { stdio: "ignore", timeout: 10_000 });
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PrivateDockerd {
  /** The client environment that reaches this dockerd (DOCKER_HOST). */
  env: NodeJS.ProcessEnv;
  socket: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts a private dockerd (root only) and waits until it answers; throws with its log on failure. */
export async function startDockerd(timeoutMs = 60_000): Promise<PrivateDockerd> {
  const problem = dockerdProblem();
  if (problem !== undefined) throw new Error(problem);
  reapStaleDockerds();
  // Short paths: the exec root holds Unix sockets, whose paths are limited to 108 bytes.
  const dir = mkdtempSync("/tmp/mwd-");
  writeFileSync(join(dir, "owner.pid"), String(process.pid));
  const socket = join(dir, "docker.sock");
  const config = join(dir, "daemon.json");
  const runtimes = {
    runsc: { path: RUNSC, runtimeArgs: ["--network=none", "--host-fifo=open", "--oci-seccomp"] },
    "runsc-no-fifo": { path: RUNSC, runtimeArgs: ["--network=none", "--oci-seccomp"] },
    "runsc-no-seccomp": { path: RUNSC, runtimeArgs: ["--network=none", "--host-fifo=open"] },
  };
  writeFileSync(config, JSON.stringify(RUNSC ? { runtimes } : {}));
  const log = join(dir, "dockerd.log");
  const args = [
    `--config-file=${config}`,
    `--host=unix://${socket}`,
    `--data-root=${join(dir, "data")}`,
    `--exec-root=${join(dir, "exec")}`,
    `--pidfile=${join(dir, "docker.pid")}`,
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-masq=false",
    `--log-level=warn`,
  ];
  const { openSync, closeSync } = await import("node:fs");
  const fd = openSync(log, "a");
  const child: ChildProcess = spawn("dockerd", args, { stdio: ["ignore", fd, fd], detached: false });
  closeSync(fd);
  const env = engineEnv({ DOCKER_HOST: `unix://${socket}` });
  let exited = false;
  child.on("exit", () => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) break;
    const r = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { env, stdio: "ignore", timeout: 10_000 });
    if (r.status === 0) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const end = Date.now() + 20_000;
      while (!exited && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      if (!exited) child.kill("SIGKILL");
    }
    // Mounts dockerd left behind (overlay, the exec root's netns files) would keep the removal from working.
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  if (exited || spawnSync("docker", ["version"], { env, stdio: "ignore", timeout: 10_000 }).status !== 0) {
    const text = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
    await stop();
    throw new Error(`the private dockerd did not start: ${text}`);
  }
  return { env, socket, dir, stop };
}

/**
 * The node base image of the Dockerfile (`BASE_IMAGE`), imported from the host's node, npm and CA
 * bundle by deploy/container/import-host-node.sh (what a user without a registry runs too). Tagged by
 * a hash of what goes in, so it is imported once.
 */
export function nodeBaseImage(engine: TestEngine, repoRoot: string, env: NodeJS.ProcessEnv = engineEnv()): string {
  const script = join(repoRoot, "deploy", "container", "import-host-node.sh");
  const h = createHash("sha256");
  for (const f of [script, NODE, ...nodeLibraries(), "/etc/ssl/certs/ca-certificates.crt"]) {
    if (existsSync(f)) h.update(f).update("\0").update(readFileSync(f));
  }
  const npm = spawnSync("npm", ["--version"], { encoding: "utf8", timeout: 30_000 });
  h.update(`npm ${npm.stdout.trim()}`);
  const ref = `localhost/mcp-warden-base/node:20-${h.digest("hex").slice(0, 16)}`;
  if (spawnSync(engine, ["image", "inspect", ref], { env, stdio: "ignore", timeout: 60_000 }).status === 0) return ref;
  const r = spawnSync("sh", [script, engine, ref], { env, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`import-host-node.sh failed: ${(r.stderr || r.error?.message || "").trim().slice(-800)}`);
  return ref;
}
