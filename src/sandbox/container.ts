// The docker and podman sandbox backends: the server runs in a throw-away container.
//
// `wrap` builds `<engine> run --rm -i <hardening> -- <image> <command> <args...>`:
//
// - Hardening: `--read-only --network none --user <uid:gid> --cap-drop ALL --security-opt
//   no-new-privileges --pids-limit <n> --cpus <n> --memory <m>` (1 CPU, 2 GB and 512 processes unless
//   `policy.limits` says otherwise; swap is not added on top of the memory limit), `--tmpfs /tmp`,
//   `--log-driver none` (the server's stdout is MCP traffic: the engine must not keep a copy in its
//   logs or the journal), optional `--runtime` (gVisor's `runsc`) from `policy.runtime`, and
//   mcp-warden's seccomp profile (`--security-opt seccomp=FILE`, ./seccomp-oci.ts: bubblewrap's
//   list, so Unix sockets, ptrace, keyctl, unshare... are refused; ./container-seccomp.ts for gVisor),
//   in a private per-user file named by its content (written once, reused by every launch).
// - The host: what the engine can do here (cgroup version, rootless, the runtime that works, which
//   limits it enforces) is detected once per process (container-host.ts); container-limits.ts turns
//   it into the runtime, `--ulimit` and limit arguments. A limit the settings set that the engine
//   cannot enforce refuses the start; a default one is left out and reported (`notes`).
//   Every valued flag is written as one `--flag=value` argument so no value can be taken for a flag.
// - The user: the gateway's own uid:gid (so allowWrite mounts stay writable), or 65534:65534
//   (nobody) when the gateway runs as root; never root. Podman, when the gateway is not root, also
//   gets `--userns keep-id` so that uid is the caller's own uid on the host, not a subordinate one.
// - Files: allowRead paths are read-only bind mounts, allowWrite paths read-write ones, at the same
//   path inside as outside. Deny wins: an allowed path equal to or under a denyRead/mandatoryDeny
//   path is not mounted at all; one under a denyWrite path is mounted read-only. A denied path
//   inside an allowed mount is masked: a directory by an empty read-only tmpfs, a file (or anything
//   else) by /dev/null, read-only; a denyWrite path inside a writable mount is re-mounted read-only over
//   itself. A denied path that does not exist under a *writable* mount cannot be masked without
//   creating it on the host (the engine would create the mount point), and the server could create
//   it itself: `wrap` throws (fail closed) and says to create it or narrow allowWrite. Paths are
//   compared by their real path (symlinks resolved); an allowed path that does not exist is not
//   mounted. A path with a comma, a double quote or a control character cannot be written into a
//   `--mount` value safely and is refused.
// - The working directory (`spec.cwd`) is visible read-only unless a mount already holds it, refused
//   in a denied path, and an empty read-only directory when it is home or above (container-workdir.ts).
// - Environment: exactly `spec.env`, as `--env=NAME=VALUE` arguments; the engine client's own
//   environment (`SandboxLaunch.env`) is a short list of the host's variables the client itself
//   needs (PATH, HOME, DOCKER_HOST, XDG_RUNTIME_DIR, ...), none of which reaches the container.
//   Podman also gets `--http-proxy=false` (it would copy the host's proxy variables in) and, when
//   local, `--env-host=false` (containers.conf could turn on copying the whole host environment).
//   The values are visible in the engine client's command line (`ps`) to other users of this host;
//   an env file would hide them but docker and podman parse env files differently (podman unquotes
//   values), so one format cannot carry every value to both.
// - Image: a reference pinned by digest (`name[:tag]@sha256:<hex>`) is checked against the local
//   store and run by the matching image's ID; a mismatch or a missing image is refused (image-pin.ts).
// - Network: `--network none`, always. A policy that allows domains or localhost gets mcp-warden's
//   egress proxy instead (./container-egress.ts): the directory of the proxy's named pipes and the
//   host's node runtime with the bridge are bind-mounted, and the bridge, listening on the
//   container's own loopback, starts the command with the proxy variables set. That needs
//   `ctx.egressFifos` and `ctx.bridge` (prepareSandboxedLaunch gives both); without them such a
//   policy is refused (fail closed) instead of run without its network. `allowUnixSockets` is
//   refused: no host socket is reachable from a container.
// - Identity: containers are named `mcp-warden-<server>-<gateway pid>-<random>` and labelled
//   `mcp-warden=1`, `mcp-warden.gateway-pid=<pid>`, `mcp-warden.gateway-host=<hostname>`,
//   `mcp-warden.server=<name>`. The server name and gateway pid come from the backend's options
//   (`containerBackend(engine, { server, gatewayPid })`), or per launch from `ctx.server`
//   (ContainerSandboxContext), which wins. `--rm` removes the container when it ends;
//   `cleanup()` force-removes it (for a client killed before the container ended), so call it
//   after the server has exited, or to stop it; `reapContainers` (reap-containers.ts) removes the
//   ones left behind by a gateway that died.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import path from "node:path";
import { findOnPath, isExecutableFile } from "../adapters/executables.js";
import { detectContainerHost, findExecutable, knownContainerHost, type HostDetection } from "./container-host.js";
import { hostArguments, type ContainerLimits } from "./container-limits.js";
import { containerNetwork, wantsNetwork, type NodeRuntime } from "./container-egress.js";
import { containerIsGvisor, seccompArgs } from "./container-seccomp.js";
import { mountArgs } from "./container-mounts.js";
import { withWorkingDirectory } from "./container-workdir.js";
import { resolveImage } from "./image-pin.js";
import { seccompProfile, seccompProfileFile } from "./seccomp-oci.js";
import type { Availability, LaunchSpec, SandboxBackend, SandboxContext, SandboxLaunch, SandboxPolicy } from "./types.js";

export type ContainerEngine = "docker" | "podman";

export const LABEL = "mcp-warden";
export const PID_LABEL = "mcp-warden.gateway-pid";
export const HOST_LABEL = "mcp-warden.gateway-host";
export const SERVER_LABEL = "mcp-warden.server";

/** Limits a container gets unless `policy.limits` says otherwise. */
export const DEFAULT_CONTAINER_LIMITS: Readonly<{ cpus: number; memory: string; pids: number }> = { cpus: 1, memory: "2g", pids: 512 };
/** The user a container runs as when the gateway itself runs as root. */
export const NOBODY = "65534:65534";

/** Host variables the engine *client* may need (sockets, contexts, registry credentials); never the container's. */
export const ENGINE_CLIENT_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "TMPDIR",
  "XDG_RUNTIME_DIR",
  "XDG_CONFIG_HOME",
  "XDG_DATA_HOME",
  "DBUS_SESSION_BUS_ADDRESS",
  "DOCKER_HOST",
  "DOCKER_CONTEXT",
  "DOCKER_CONFIG",
  "DOCKER_CERT_PATH",
  "DOCKER_TLS_VERIFY",
  "CONTAINER_HOST",
  "CONTAINER_CONNECTION",
  "CONTAINER_SSHKEY",
  "CONTAINERS_CONF",
  "CONTAINERS_STORAGE_CONF",
  "CONTAINERS_REGISTRIES_CONF",
  "REGISTRY_AUTH_FILE",
];

/** The engine client's environment: the listed host variables that are set, nothing else. */
export function engineEnvironment(host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ENGINE_CLIENT_ENV) {
    const v = host[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export interface ContainerBackendOptions {
  /** The engine executable; default: the engine's name, looked up on PATH. */
  executable?: string;
  /** The server's name, for the `mcp-warden.server` label and the container name (ctx.server wins). */
  server?: string;
  /** The gateway's pid for the `mcp-warden.gateway-pid` label; default process.pid. */
  gatewayPid?: number;
  /** The host name for the `mcp-warden.gateway-host` label; default os.hostname(). */
  hostname?: string;
  /** "uid:gid" inside the container; default the gateway's own, or 65534:65534 when that is root. Root is refused. */
  user?: string;
  /** Where the engine client's environment is taken from (ENGINE_CLIENT_ENV names only); default process.env. */
  hostEnv?: NodeJS.ProcessEnv;
  /** Podman only: `--userns` value; default "keep-id" when the gateway is not root; null: none. */
  podmanUserns?: string | null;
  /** Podman only: whether the client talks to a remote service (no `--env-host` flag there); default: guessed. */
  podmanRemote?: boolean;
  /** How long `available()` waits for `<engine> info`; default 5000 ms. */
  infoTimeoutMs?: number;
  /** Whether `cleanup()` runs `<engine> rm -f <name>`; default true. */
  removeOnCleanup?: boolean;
  /** The node runtime files for the egress bridge; default: asked of `ldd` (container-egress.ts). */
  nodeRuntime?: (node: string) => NodeRuntime;
  /** What the engine can do here; default: detected once per process (container-host.ts). Tests inject one. */
  host?: HostDetection;
  /** Finds a runtime binary (podman's `--runtime` path); default: on PATH and the system directories. */
  findRuntime?: (name: string) => string | undefined;
}

/** A SandboxContext that may name the server being launched (overrides the backend's `server` option). */
export interface ContainerSandboxContext extends SandboxContext {
  server?: string;
}

/** What `wrap` returns for a container: a SandboxLaunch plus the container's name and user. */
export interface ContainerLaunch extends SandboxLaunch {
  containerName: string;
  /** Gaps to report at start (a default limit the engine cannot enforce here). */
  notes: string[];
  /** The container's "uid:gid" (the egress pipes are handed to it). */
  user: string;
  /** The seccomp profile's file (shared by launches, kept). */
  seccompProfile: string;
}

// ---------------------------------------------------------------------------------------------
// Checks

const ENV_NAME = /^[^=\u0000]+$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/;
const RUNTIME = /^[A-Za-z0-9/][A-Za-z0-9._\-/]*$/;
const MEMORY = /^\d+(\.\d+)?([kKmMgGtT]([iI]?[bB])?|[bB])?$/;
const USER = /^\d+(:\d+)?$/;

/** `text` ending as a sentence (an engine's own message may already end with "?" or "."). */
const sentence = (text: string) => (/[.?!]$/.test(text) ? text : `${text}.`);

function fail(engine: ContainerEngine, why: string): never {
  throw new Error(`${engine} sandbox: ${why}`);
}

function defaultUser(): string {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || gid === undefined || uid === 0) return NOBODY;
  return `${uid}:${gid}`;
}

/** The limits the container gets (the policy's, else the defaults), checked, with which ones the settings set. */
export function limitsOf(engine: ContainerEngine, policy: SandboxPolicy): ContainerLimits {
  const cpus = policy.limits.cpus ?? DEFAULT_CONTAINER_LIMITS.cpus;
  const memory = policy.limits.memory ?? DEFAULT_CONTAINER_LIMITS.memory;
  const pids = policy.limits.pids ?? DEFAULT_CONTAINER_LIMITS.pids;
  if (typeof cpus !== "number" || !Number.isFinite(cpus) || cpus <= 0) fail(engine, `limits.cpus must be a positive number, not ${JSON.stringify(cpus)}`);
  if (typeof memory !== "string" || !MEMORY.test(memory)) fail(engine, `limits.memory must be a size like "512m" or "2g", not ${JSON.stringify(memory)}`);
  if (typeof pids !== "number" || !Number.isSafeInteger(pids) || pids <= 0) fail(engine, `limits.pids must be a positive integer, not ${JSON.stringify(pids)}`);
  const explicit = { cpus: policy.limits.cpus !== undefined, memory: policy.limits.memory !== undefined, pids: policy.limits.pids !== undefined };
  return { cpus: String(cpus), memory, pids: String(pids), explicit };
}

// ---------------------------------------------------------------------------------------------
// The backend

const serverPart = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40) || "server";

function engineInstall(engine: ContainerEngine): { missing: string; start: string } {
  if (engine === "docker")
    return {
      missing: "Install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop (macOS, Windows), so that `docker` is on PATH.",
      start:
        "Start the daemon (`sudo systemctl start docker` on Linux, or open Docker Desktop), and make sure your user can reach it (the `docker` group, or rootless Docker); `docker info` must answer.",
    };
  return {
    missing: "Install Podman (https://podman.io/docs/installation: `sudo apt-get install podman`, `sudo dnf install podman`, `brew install podman`), so that `podman` is on PATH.",
    start: "Make `podman info` work: on macOS and Windows run `podman machine init && podman machine start`; on Linux check the user's subuid/subgid ranges and storage.",
  };
}

export interface ContainerBackend extends SandboxBackend {
  readonly type: ContainerEngine;
  wrap(spec: LaunchSpec, policy: SandboxPolicy, ctx: ContainerSandboxContext): ContainerLaunch;
}

/** A docker or podman backend. */
export function containerBackend(engine: ContainerEngine, opts: ContainerBackendOptions = {}): ContainerBackend {
  const executable = opts.executable ?? engine;
  const hostEnv = opts.hostEnv ?? process.env;

  const remoteOf = (engineEnv: Record<string, string>): boolean =>
    opts.podmanRemote ?? (process.platform !== "linux" || engineEnv.CONTAINER_HOST !== undefined || engineEnv.CONTAINER_CONNECTION !== undefined);

  /**
   * Whether the engine answers, by the same `info` query that tells what it can do here (one probe
   * per process, and for a local podman one per boot and configuration: container-host.ts).
   */
  const available = (o: { cacheDir?: string } = {}): Availability => {
    const env = engineEnvironment(hostEnv);
    const help = engineInstall(engine);
    if (opts.host !== undefined) return { ok: true };
    const detectOpts = { executable, env, remote: remoteOf(env), timeoutMs: opts.infoTimeoutMs ?? 5000, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) };
    if (knownContainerHost(engine, detectOpts)?.ok) return { ok: true };
    // Looked up as spawning it will: on the client environment's PATH only.
    const installed = path.posix.isAbsolute(executable) ? isExecutableFile(executable) : findOnPath(executable, env.PATH) !== undefined;
    if (!installed) return { ok: false, why: `${engine} is not installed (no \`${executable}\` found on PATH)`, install: help.missing };
    const d = detectContainerHost(engine, detectOpts);
    if (d.ok) return { ok: true };
    return { ok: false, why: /did not answer within/.test(d.why) ? `${d.why} (is the ${engine} service hung or starting?)` : `${engine} is installed but its service does not answer: ${d.why}`, install: help.start };
  };

  const wrap = (spec: LaunchSpec, policy: SandboxPolicy, ctx: ContainerSandboxContext): ContainerLaunch => {
    if (policy.type !== engine) fail(engine, `the policy is for the ${policy.type} sandbox, not ${engine}`);
    const image = policy.image;
    if (image === undefined || image === "")
      fail(engine, `no image: a ${engine} sandbox needs \`sandbox.image\` (for example "node:22-slim") and has no default; refusing to start the server`);
    if (!IMAGE.test(image)) fail(engine, `${JSON.stringify(image)} is not a valid image reference`);
    if (policy.runtime !== undefined && !RUNTIME.test(policy.runtime)) fail(engine, `${JSON.stringify(policy.runtime)} is not a valid runtime name`);
    if (typeof spec.command !== "string" || spec.command === "") fail(engine, "no command to run");

    const user = opts.user ?? defaultUser();
    if (!USER.test(user)) fail(engine, `the container user must be a numeric uid or uid:gid, not ${JSON.stringify(user)}`);
    if (user.split(":").some((n) => Number(n) === 0)) fail(engine, `the container must not run as root (user ${user})`);
    const server = ctx.server ?? opts.server ?? "server";
    if (/[\u0000-\u001f\u007f]/.test(server)) fail(engine, `the server name ${JSON.stringify(server)} contains a control character`);
    const pid = opts.gatewayPid ?? process.pid;
    const host = opts.hostname ?? osHostname();
    const name = `mcp-warden-${serverPart(server)}-${pid}-${randomBytes(4).toString("hex")}`;
    const limits = limitsOf(engine, policy);
    // The cwd is visible (read-only unless allowed writable), as in bubblewrap (container-workdir.ts).
    const workdir = withWorkingDirectory(policy, spec.cwd, ctx);
    const { args: mounts, tmpTaken } = mountArgs(engine, workdir.policy, ctx);
    const engineEnv = engineEnvironment(hostEnv);
    // A digest-pinned image is checked against the local store and run by its ID (image-pin.ts).
    const resolvedImage = resolveImage({ engine, executable, env: engineEnv }, image);
    if (!resolvedImage.ok) fail(engine, resolvedImage.why);
    const remote = remoteOf(engineEnv);
    // What the engine can do here decides the runtime, the ulimits and whether each limit holds.
    const detected =
      opts.host ??
      detectContainerHost(engine, { executable, env: engineEnv, ...(opts.infoTimeoutMs !== undefined ? { timeoutMs: opts.infoTimeoutMs } : {}), remote, ...(ctx.cacheDir !== undefined ? { cacheDir: ctx.cacheDir } : {}) });
    if (!detected.ok) fail(engine, `cannot tell what the engine enforces here: ${sentence(detected.why)} ${detected.fix}; refusing to start the server`);
    const planned = hostArguments(engine, detected.host, policy, limits, opts.findRuntime ?? ((n) => findExecutable(n, engineEnv.PATH)));
    if (!planned.ok) fail(engine, `${planned.why}; refusing to start the server`);
    // Whether gVisor runs it decides the seccomp profile and how the egress pipes are mounted.
    const gvisor = containerIsGvisor(engine, policy, detected.host, wantsNetwork(policy));
    // --network none stays; network allowances get the egress proxy's pipes and the bridge.
    const egress = containerNetwork(engine, policy, ctx, { gvisor, ...(opts.nodeRuntime ? { nodeRuntime: opts.nodeRuntime } : {}) });

    const args = [
      "run",
      "--rm",
      "-i",
      `--name=${name}`,
      `--label=${LABEL}=1`,
      `--label=${PID_LABEL}=${pid}`,
      `--label=${HOST_LABEL}=${host}`,
      `--label=${SERVER_LABEL}=${server}`,
      "--read-only",
      "--network=none",
      `--user=${user}`,
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      ...planned.args,
      "--log-driver=none",
    ];
    if (engine === "podman") {
      const uid = process.getuid?.();
      const userns = opts.podmanUserns === undefined ? (uid !== undefined && uid !== 0 ? "keep-id" : null) : opts.podmanUserns;
      if (userns !== null) args.push(`--userns=${userns}`);
      args.push("--http-proxy=false");
      if (!remote) args.push("--env-host=false");
    }
    if (!tmpTaken) args.push("--tmpfs=/tmp:rw,nosuid,nodev,mode=1777");
    args.push(...mounts, ...workdir.args);
    if (egress) args.push(...egress.args);
    for (const [k, v] of Object.entries(spec.env)) {
      if (!ENV_NAME.test(k)) fail(engine, `invalid environment variable name ${JSON.stringify(k)}`);
      if (v.includes("\u0000")) fail(engine, `the value of ${k} contains a NUL character`);
      args.push(`--env=${k}=${v}`);
    }
    if (spec.cwd !== undefined) {
      if (!path.posix.isAbsolute(spec.cwd) || /[\u0000-\u001f\u007f]/.test(spec.cwd)) fail(engine, `the working directory ${JSON.stringify(spec.cwd)} must be an absolute path without control characters`);
      args.push(`--workdir=${spec.cwd}`);
    }
    const profile = seccompProfileFile(seccompProfile(undefined, { gvisor }));
    args.push(...seccompArgs(engine, gvisor, profile));
    // `--` ends the engine's options; the image is the first argument after it and everything
    // after the image is the container's command line, which the engine does not interpret.
    args.push("--", resolvedImage.run, ...(egress?.prefix ?? []), spec.command, ...spec.args);

    let cleaned = false;
    return {
      command: executable,
      args,
      env: engineEnv,
      // Podman's monitor (conmon) writes an empty `oom` file into its working directory when the
      // container is OOM-killed; the client would otherwise run in the gateway's (often the user's
      // project). /proc takes no files, even from root, and the client reads no relative paths.
      ...(engine === "podman" && process.platform === "linux" ? { cwd: "/proc" } : {}),
      extraFds: [],
      containerName: name,
      notes: planned.notes,
      limitsNote: `${engine} limits, under ${planned.runtime}: ${planned.summary}`,
      user,
      seccompProfile: profile,
      cleanup() {
        if (cleaned) return;
        cleaned = true;
        if (opts.removeOnCleanup === false) return;
        // A real process: `<engine> rm -f <name>`, not waited for. After `--rm` did its job it only
        // reports that no such container exists.
        try {
          const p = spawn(executable, ["rm", "-f", name], { env: engineEnv, stdio: "ignore", detached: true });
          p.on("error", () => {});
          p.unref();
        } catch {
          // nothing to clean up with; the reaper will find the container by its labels
        }
      },
    };
  };

  return { type: engine, available, wrap };
}

export const docker = containerBackend("docker");
export const podman = containerBackend("podman");
