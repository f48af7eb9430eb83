// Egress for the docker and podman backends: how a `--network none` container reaches mcp-warden's
// egress proxy, and nothing else.
//
// - The proxy's channel is a pair of named pipes in a private per-launch directory
//   (src/egress/fifo-channel.ts; not a Unix socket: the container's seccomp profile refuses
//   socket(AF_UNIX)). That directory is bind-mounted at /.mcp-warden-egress, read-only under runc
//   (a pipe on a read-only mount can still be written), read-write under gVisor, which refuses to open
//   a pipe for writing on a read-only mount; the directory is private to the launch and the pipes are
//   gone from it once the bridge has connected. It is the only host file that carries anything out of
//   the container; its network stays `none`.
// - The image need not have node: the host's node binary, its program loader and the libraries
//   `ldd` lists are bind-mounted read-only, one file each, at /.mcp-warden, with the bridge as one
//   CommonJS bundle (bridge.cjs). The container's command becomes
//     /.mcp-warden/<loader> --library-path /.mcp-warden /.mcp-warden/node /.mcp-warden/bridge.cjs
//       --fifo-in /.mcp-warden-egress/to-bridge --fifo-out /.mcp-warden-egress/from-bridge
//       --port 3128 -- COMMAND ARGS...
//   The bridge listens on 127.0.0.1:3128 in the container's own loopback and starts the command with
//   HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (both cases) pointing at it and NO_PROXY empty, as under
//   bubblewrap; every connection is judged by the same proxy, with the same audit records.
// - gVisor (runsc) opens a host named pipe only with its flag `--host-fifo=open`. Podman gets
//   `--runtime-flag=host-fifo=open` here; a docker runtime that is runsc without it is refused before
//   the start (./container-seccomp.ts).
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import path from "node:path";
import { FIFO_FROM_BRIDGE, FIFO_TO_BRIDGE } from "../egress/fifo-protocol.js";
import type { SandboxContext, SandboxPolicy } from "./types.js";

/** Where the node runtime and the bridge appear inside the container (read-only). */
export const RUNTIME_DIR = "/.mcp-warden";
/** Where the proxy's pipe directory appears inside the container. */
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

export interface ContainerEgressInput {
  engine: "docker" | "podman";
  policy: SandboxPolicy;
  /** The host directory holding the proxy's pipes. */
  fifoDir: string;
  /** Whether the runtime is gVisor (the directory is mounted read-write, runsc gets --host-fifo=open). */
  gvisor: boolean;
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
  const args: string[] = [];
  if (engine === "podman" && input.gvisor) args.push("--runtime-flag=host-fifo=open");
  const files = [...(runtime.loader ? [runtime.loader] : []), ...runtime.files, { src: input.bridge, name: BRIDGE_NAME }];
  for (const f of files) args.push(`--mount=type=bind,src=${checked(f.src, "the bridge's file")},dst=${RUNTIME_DIR}/${f.name},readonly`);
  args.push(`--mount=type=bind,src=${checked(input.fifoDir, "the egress channel's directory")},dst=${EGRESS_DIR}${input.gvisor ? "" : ",readonly"}`);
  const node = `${RUNTIME_DIR}/node`;
  const start = runtime.loader ? [`${RUNTIME_DIR}/${runtime.loader.name}`, "--library-path", RUNTIME_DIR, node] : [node];
  const fifos = ["--fifo-in", `${EGRESS_DIR}/${FIFO_TO_BRIDGE}`, "--fifo-out", `${EGRESS_DIR}/${FIFO_FROM_BRIDGE}`];
  const prefix = [...start, `${RUNTIME_DIR}/${BRIDGE_NAME}`, ...fifos, "--port", String(input.port), "--"];
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
 * (fail closed) for allowUnixSockets, and for network allowances without a prepared channel and bridge.
 */
export function containerNetwork(
  engine: "docker" | "podman",
  policy: SandboxPolicy,
  ctx: SandboxContext,
  io: { gvisor: boolean; nodeRuntime?: (node: string) => NodeRuntime },
): { args: string[]; prefix: string[] } | undefined {
  const fail = (why: string): never => {
    throw new Error(`${engine} sandbox: ${why}`);
  };
  const n = policy.network as NetworkWithSockets;
  if ((n.allowUnixSockets ?? []).length > 0)
    fail("allowUnixSockets is not available for containers (no host socket enters one, and the seccomp profile refuses Unix sockets); remove it, or use the bubblewrap sandbox for this server");
  if (!wantsNetwork(policy)) return undefined;
  const fifos = ctx.egressFifos;
  const bridge = ctx.bridge;
  if (fifos === undefined || bridge === undefined)
    return fail(
      `the policy allows network access (${networkWants(policy).join("; ")}), but no egress proxy channel was prepared for this container, so it could only run with no network at all. ` +
        "Start it through mcp-warden (the gateway or `mcp-warden exec`), or remove the network allowances; refusing to start it without the network it asked for",
    );
  return containerEgressArgs({
    engine,
    policy,
    fifoDir: fifos.dir,
    gvisor: io.gvisor,
    bridge: bridge.script,
    port: bridge.port,
    runtime: (io.nodeRuntime ?? nodeRuntime)(bridge.node),
  });
}

/** What network the policy asks for, in words (empty: none). */
function networkWants(policy: SandboxPolicy): string[] {
  const n = policy.network as NetworkWithSockets;
  const wants: string[] = [];
  if ((n.allowedDomains ?? []).length > 0) wants.push(`allowedDomains (${(n.allowedDomains ?? []).join(", ")})`);
  if (n.allowLocalhost === true) wants.push("allowLocalhost");
  return wants;
}

/** Whether the policy lets the container reach anything (through the egress proxy). */
export function wantsNetwork(policy: SandboxPolicy): boolean {
  return networkWants(policy).length > 0;
}
