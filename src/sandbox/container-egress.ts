// Egress for the docker and podman backends: how a `--network none` container reaches mcp-warden's
// egress proxy, and nothing else.
//
// - The proxy listens on a Unix socket in a private per-launch directory (src/egress/socket-channel.ts).
//   That directory is bind-mounted read-only at /.mcp-warden-egress: connecting to a socket needs
//   no write access to its mount, and the server can neither remove the socket nor leave files on
//   the host. It is the only host socket the container gets; its network stays `none`.
// - The image need not have node: the host's node binary, its program loader and the libraries
//   `ldd` lists are bind-mounted read-only, one file each, at /.mcp-warden, with the bridge as one
//   CommonJS bundle (bridge.cjs). The container's command becomes
//     /.mcp-warden/<loader> --library-path /.mcp-warden /.mcp-warden/node /.mcp-warden/bridge.cjs
//       --socket /.mcp-warden-egress/egress.sock --port 3128 -- COMMAND ARGS...
//   The bridge listens on 127.0.0.1:3128 in the container's own loopback and starts the command with
//   HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (both cases) pointing at it and NO_PROXY empty, as under
//   bubblewrap; every connection is judged by the same proxy, with the same audit records.
// - gVisor (runsc) lets a container connect to a host Unix socket only with its flag
//   `--host-uds=open`. Podman gets `--runtime-flag=host-uds=open` here; docker's runtime flags live in
//   daemon.json, so a docker runtime that is runsc without that flag is refused before the start
//   (dockerRuntimeRefusal), saying what to add.
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import path from "node:path";
import type { SandboxContext, SandboxPolicy } from "./types.js";

/** Where the node runtime and the bridge appear inside the container (read-only). */
export const RUNTIME_DIR = "/.mcp-warden";
/** Where the proxy's socket directory appears inside the container (read-only). */
export const EGRESS_DIR = "/.mcp-warden-egress";
/** The bridge bundle's name inside RUNTIME_DIR. */
export const BRIDGE_NAME = "bridge.cjs";

/** A host file mounted at RUNTIME_DIR/<name>. */
export interface RuntimeFile {
  src: string;
  name: string;
}

/** The node binary and what it needs to start in an image that has nothing. */
export interface NodeRuntime {
  /** The program loader (ld-linux-*.so.*), absent for a static node. */
  loader?: RuntimeFile;
  /** node itself (named "node") and its shared libraries, by the names the loader looks for. */
  files: RuntimeFile[];
}

const UNSAFE_MOUNT_CHAR = /[\u0000-\u001f\u007f,"]/;
const SAFE_NAME = /^[A-Za-z0-9._+-]+$/;

function checked(p: string, what: string): string {
  if (!path.posix.isAbsolute(p) || UNSAFE_MOUNT_CHAR.test(p))
    throw new Error(`container sandbox: ${what} ${JSON.stringify(p)} cannot be mounted into a container (not absolute, or a comma, quote or control character in it); refusing to start`);
  return p;
}

/**
 * Reads `ldd <node>` output: `name => /path (addr)` lines are libraries (mounted under their
 * name), a bare `/path (addr)` line is the loader, `linux-vdso` has no file. Throws when a library
 * is not found or a name could not be mounted safely.
 */
export function parseLdd(output: string, node: string, real: (p: string) => string = realpathSync): NodeRuntime {
  const files: RuntimeFile[] = [{ src: real(node), name: "node" }];
  let loader: RuntimeFile | undefined;
  if (/statically linked|not a dynamic executable/.test(output)) return { files };
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const lib = /^(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (lib) {
      const [, name, where] = lib as unknown as [string, string, string];
      if (where === "not found") throw new Error(`container sandbox: node's library ${name} is not found (ldd ${node}); the egress bridge cannot run`);
      if (!where.startsWith("/")) continue; // a virtual library (linux-vdso) has no file
      if (!SAFE_NAME.test(name)) throw new Error(`container sandbox: node's library name ${JSON.stringify(name)} cannot be mounted safely`);
      files.push({ src: real(where), name });
      continue;
    }
    const bare = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (bare) {
      const name = path.posix.basename(bare[1] as string);
      if (!SAFE_NAME.test(name)) throw new Error(`container sandbox: node's loader name ${JSON.stringify(name)} cannot be mounted safely`);
      loader = { src: real(bare[1] as string), name };
    }
  }
  if (loader === undefined) throw new Error(`container sandbox: no program loader in \`ldd ${node}\`'s answer; the egress bridge cannot run`);
  return { loader, files };
}

const runtimes = new Map<string, NodeRuntime>();

/** The node binary's runtime files (asked of `ldd` once per binary and process). Throws (fail closed). */
export function nodeRuntime(node: string): NodeRuntime {
  const known = runtimes.get(node);
  if (known !== undefined) return known;
  const r = spawnSync("ldd", [node], { encoding: "utf8", timeout: 10_000, env: { PATH: "/usr/bin:/bin", LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) throw new Error(`container sandbox: cannot list node's libraries (ldd ${node}: ${r.error.message}); install ldd (libc-bin), or remove the network allowances`);
  if (r.status !== 0 && !/not a dynamic executable/.test(`${r.stdout}${r.stderr}`))
    throw new Error(`container sandbox: \`ldd ${node}\` failed (${(r.stderr || `exit ${r.status}`).trim().slice(0, 300)}); the egress bridge cannot run`);
  const runtime = parseLdd(`${r.stdout}\n${r.stderr}`, node);
  runtimes.set(node, runtime);
  return runtime;
}

/** Whether a runtime name or path is gVisor's. */
export function isGvisor(runtime: string | undefined): boolean {
  return runtime !== undefined && /^runsc/.test(path.posix.basename(runtime));
}

export interface ContainerEgressInput {
  engine: "docker" | "podman";
  policy: SandboxPolicy;
  /** The host directory holding the proxy's socket. */
  socketDir: string;
  socketName: string;
  /** The bridge bundle on the host. */
  bridge: string;
  /** The loopback port the bridge listens on inside the container. */
  port: number;
  runtime: NodeRuntime;
}

/** The engine arguments (runtime flags, mounts) and the command prefix that give a container its egress. */
export function containerEgressArgs(input: ContainerEgressInput): { args: string[]; prefix: string[] } {
  const { engine, policy, runtime } = input;
  if (!existsSync(input.bridge)) throw new Error(`container sandbox: the egress bridge ${input.bridge} is missing; build mcp-warden (npm run build) or reinstall it`);
  if (!SAFE_NAME.test(input.socketName)) throw new Error(`container sandbox: socket name ${JSON.stringify(input.socketName)} cannot be mounted safely`);
  const args: string[] = [];
  if (engine === "podman" && isGvisor(policy.runtime)) args.push("--runtime-flag=host-uds=open");
  const files = [...(runtime.loader ? [runtime.loader] : []), ...runtime.files, { src: input.bridge, name: BRIDGE_NAME }];
  for (const f of files) args.push(`--mount=type=bind,src=${checked(f.src, "the bridge's file")},dst=${RUNTIME_DIR}/${f.name},readonly`);
  args.push(`--mount=type=bind,src=${checked(input.socketDir, "the egress socket directory")},dst=${EGRESS_DIR},readonly`);
  const node = `${RUNTIME_DIR}/node`;
  const start = runtime.loader ? [`${RUNTIME_DIR}/${runtime.loader.name}`, "--library-path", RUNTIME_DIR, node] : [node];
  const prefix = [...start, `${RUNTIME_DIR}/${BRIDGE_NAME}`, "--socket", `${EGRESS_DIR}/${input.socketName}`, "--port", String(input.port), "--"];
  return { args, prefix };
}

interface NetworkWithSockets {
  allowedDomains?: string[];
  allowLocalhost?: boolean;
  allowUnixSockets?: string[];
}

/**
 * The network part of a container's launch: undefined when the policy allows no network (the
 * container gets none at all), else the engine arguments and command prefix of its egress. Throws
 * (fail closed) for allowUnixSockets, for network allowances without a prepared socket and bridge,
 * and for a docker gVisor runtime that would refuse the socket.
 */
export function containerNetwork(
  engine: "docker" | "podman",
  policy: SandboxPolicy,
  ctx: SandboxContext,
  io: { executable: string; engineEnv: Record<string, string>; nodeRuntime?: (node: string) => NodeRuntime },
): { args: string[]; prefix: string[] } | undefined {
  const fail = (why: string): never => {
    throw new Error(`${engine} sandbox: ${why}`);
  };
  const n = policy.network as NetworkWithSockets;
  if ((n.allowUnixSockets ?? []).length > 0)
    fail("allowUnixSockets is not available for containers (no host socket but mcp-warden's egress proxy enters one); remove it, or use the bubblewrap sandbox for this server");
  const wants: string[] = [];
  if ((n.allowedDomains ?? []).length > 0) wants.push(`allowedDomains (${(n.allowedDomains ?? []).join(", ")})`);
  if (n.allowLocalhost === true) wants.push("allowLocalhost");
  if (wants.length === 0) return undefined;
  const socket = ctx.egressSocket;
  const bridge = ctx.bridge;
  if (socket === undefined || bridge === undefined)
    return fail(
      `the policy allows network access (${wants.join("; ")}), but no egress proxy socket was prepared for this container, so it could only run with no network at all. ` +
        "Start it through mcp-warden (the gateway or `mcp-warden exec`), or remove the network allowances; refusing to start it without the network it asked for",
    );
  if (engine === "docker" && policy.runtime !== undefined) {
    const refusal = dockerRuntimeRefusal(dockerRuntimes(io.executable, io.engineEnv), policy.runtime);
    if (refusal !== undefined) fail(refusal);
  }
  return containerEgressArgs({
    engine,
    policy,
    socketDir: socket.dir,
    socketName: socket.name,
    bridge: bridge.script,
    port: bridge.port,
    runtime: (io.nodeRuntime ?? nodeRuntime)(bridge.node),
  });
}

/** Docker's registered runtimes, as `docker info` reports them. */
export type DockerRuntimes = Record<string, { path?: string; runtimeArgs?: string[] } | undefined>;

const HOST_UDS = /^--?(host-uds=(open|all)|fsgofer-host-uds(=true)?)$/;

/**
 * Why docker's `runtime` cannot carry the egress channel, or undefined: a runtime registered as
 * runsc without `--host-uds=open` (or all) in its runtimeArgs would refuse the bridge's connection.
 */
export function dockerRuntimeRefusal(runtimes: DockerRuntimes, runtime: string): string | undefined {
  const entry = runtimes[runtime];
  if (entry === undefined) return undefined; // unknown to docker: `docker run` itself refuses it
  if (!isGvisor(entry.path ?? runtime)) return undefined;
  if ((entry.runtimeArgs ?? []).some((a) => HOST_UDS.test(a))) return undefined;
  return (
    `docker's runtime ${JSON.stringify(runtime)} is gVisor (${entry.path ?? "runsc"}) without --host-uds=open, so the container could not reach mcp-warden's egress proxy. ` +
    `Add "--host-uds=open" to its "runtimeArgs" in /etc/docker/daemon.json and restart dockerd, or remove the network allowances; refusing to start`
  );
}

const dockerRuntimeCache = new Map<string, DockerRuntimes>();

/** `docker info`'s runtimes (once per client, daemon and process). Throws (fail closed) when docker cannot say. */
export function dockerRuntimes(executable: string, env: Record<string, string>): DockerRuntimes {
  const key = `${executable}\0${env.DOCKER_HOST ?? ""}\0${env.DOCKER_CONTEXT ?? ""}`;
  const known = dockerRuntimeCache.get(key);
  if (known !== undefined) return known;
  const r = spawnSync(executable, ["info", "--format", "{{json .Runtimes}}"], { env, encoding: "utf8", timeout: 10_000, killSignal: "SIGKILL", stdio: ["ignore", "pipe", "pipe"] });
  let parsed: unknown;
  try {
    parsed = r.status === 0 ? JSON.parse(r.stdout) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object")
    throw new Error(`docker sandbox: cannot ask docker how its runtimes are configured (\`${executable} info\`: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 300)}); make \`docker info\` work, or remove the network allowances`);
  dockerRuntimeCache.set(key, parsed as DockerRuntimes);
  return parsed as DockerRuntimes;
}
