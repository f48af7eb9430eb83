// Turns a command and a SandboxPolicy into what to spawn: the backend's wrapped command line, the
// extra descriptors (the seccomp program, the egress channel) and the cleanup. Shared by the
// gateway (sandboxed stdio servers) and `mcp-warden exec`.
//
// The egress channel: bubblewrap's bridge inherits a socketpair end at EGRESS_FD ("pipe" in
// extraStdio); a container cannot inherit one through `docker run -i`, so docker and podman get two
// named pipes in a private per-launch directory instead (PreparedLaunch.egressFifos, mounted into
// the container by ./container-egress.ts). Either way the caller hands the channel to the same
// proxy (attachEgress, or egressFifos.serve before spawning). Seatbelt has no bridge: refused.
import { createHash } from "node:crypto";
import { closeSync, existsSync, statSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createExclusiveNoFollow, ensurePrivateDir } from "../adapters/safe-files.js";
import { EgressFifos, ownerOf } from "../egress/fifo-channel.js";
import { bubblewrap } from "./bubblewrap.js";
import { docker, podman, type ContainerLaunch } from "./container.js";
import { seatbelt } from "./seatbelt.js";
import type { Availability, LaunchSpec, SandboxBackend, SandboxContext, SandboxLaunch, SandboxPolicy, SandboxType } from "./types.js";

/** The child's descriptor for the egress channel (a socketpair end the bridge multiplexes over). */
export const EGRESS_FD = 3;
/** The port the bridge listens on inside the sandbox's own network namespace (private to it). */
export const BRIDGE_PORT = 3128;

const BACKENDS: Record<SandboxType, SandboxBackend> = { bubblewrap, docker, podman, seatbelt };

const availability = new Map<SandboxType, Availability>();

/**
 * A success of bubblewrap's probe (two test sandboxes, ~20 ms) is remembered on disk for the same
 * bwrap binary, kernel, user and Node, so a gateway start does not pay it again. Only successes: a
 * failure is probed again next time. A stale success costs nothing in safety: a sandbox that then
 * fails to start fails closed, as the server's start.
 */
function probeMarker(type: SandboxType, cacheDir: string | undefined): string | undefined {
  if (type !== "bubblewrap" || cacheDir === undefined) return undefined;
  for (const bwrap of ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"]) {
    try {
      const st = statSync(bwrap);
      const key = createHash("sha256").update([bwrap, st.size, st.mtimeMs, st.ino, release(), process.getuid?.() ?? -1, process.version].join("\0")).digest("hex").slice(0, 32);
      return join(cacheDir, `sandbox-${type}-${key}.ok`);
    } catch {
      // Not at this location.
    }
  }
  return undefined;
}

/** Whether a backend works here (asked once per process; bubblewrap's success is also remembered in `cacheDir`). */
export function backendAvailability(type: SandboxType, cacheDir?: string): Availability {
  let a = availability.get(type);
  if (a !== undefined) return a;
  const marker = probeMarker(type, cacheDir);
  if (marker !== undefined && existsSync(marker)) a = { ok: true };
  else {
    a = BACKENDS[type].available(cacheDir !== undefined ? { cacheDir } : {});
    if (a.ok && marker !== undefined) {
      try {
        ensurePrivateDir(dirname(marker));
        // Created new, never through a link planted at its name.
        closeSync(createExclusiveNoFollow(marker));
      } catch {
        // Only speed is lost.
      }
    }
  }
  availability.set(type, a);
  return a;
}

/** Why a backend cannot honour the policy's allowExecute (false or a list), or undefined. */
export function executeRefusal(policy: SandboxPolicy): string | undefined {
  if (policy.execute === undefined || policy.type === "bubblewrap") return undefined;
  return `allowExecute ${policy.execute === false ? "false" : "as a list"} is enforced by the bubblewrap sandbox only; the ${policy.type} sandbox cannot honour it (use bubblewrap, or remove allowExecute)`;
}

/** The sandbox lets anything out: the egress bridge and proxy are needed. */
export function needsEgress(policy: SandboxPolicy): boolean {
  return (policy.network.allowedDomains?.length ?? 0) > 0 || policy.network.allowLocalhost === true;
}

export interface PreparedLaunch {
  launch: SandboxLaunch;
  /** stdio entries for the child's fds 3, 4, ...: "pipe" for the egress channel, numbers for the backend's descriptors. */
  extraStdio: ("pipe" | number)[];
  /** Whether extraStdio holds the egress channel ("pipe" at EGRESS_FD). */
  egress: boolean;
  /**
   * Containers with network: the proxy's named pipes. Call `serve()` before spawning the launch;
   * `launch.cleanup()` closes them and removes their directory.
   */
  egressFifos?: EgressFifos;
}

export interface LaunchContext {
  home: string;
  mandatoryDeny: string[];
  /** The server's name (container backends label and name containers with it). */
  server?: string;
  /** Where a successful backend probe is remembered (see backendAvailability). */
  cacheDir?: string;
}

/** The command line and descriptors running `spec` in its sandbox. Throws (fail closed) when the sandbox cannot run. */
export function prepareSandboxedLaunch(spec: LaunchSpec, policy: SandboxPolicy, ctx: LaunchContext): PreparedLaunch {
  const available = backendAvailability(policy.type, ctx.cacheDir);
  if (!available.ok) throw new Error(`the ${policy.type} sandbox cannot run here: ${available.why}. To fix: ${available.install}`);
  const noExec = executeRefusal(policy);
  if (noExec !== undefined) throw new Error(noExec);
  const wantsEgress = needsEgress(policy);
  const container = policy.type === "docker" || policy.type === "podman";
  // Seatbelt runs no bridge: refuse rather than run with network the policy cannot judge.
  if (wantsEgress && !container && policy.type !== "bubblewrap")
    throw new Error(`network access through the egress proxy is not available with the ${policy.type} sandbox; it runs with no network (remove allowedDomains/allowLocalhost, or use bubblewrap, docker or podman)`);
  const egress = wantsEgress && !container;
  const fifos = wantsEgress && container ? new EgressFifos() : undefined;
  const sandboxCtx: SandboxContext & { server?: string } = {
    home: ctx.home,
    mandatoryDeny: ctx.mandatoryDeny,
    ...(ctx.cacheDir !== undefined ? { cacheDir: ctx.cacheDir } : {}),
    ...(egress ? { egressFd: EGRESS_FD, bridge: { node: process.execPath, script: fileURLToPath(new URL("../egress/bridge-main.js", import.meta.url)), port: BRIDGE_PORT } } : {}),
    ...(fifos
      ? {
          egressFifos: { dir: fifos.dir },
          bridge: { node: process.execPath, script: fileURLToPath(new URL("../egress/bridge-main.bundle.cjs", import.meta.url)), port: BRIDGE_PORT },
        }
      : {}),
  };
  if (ctx.server !== undefined) sandboxCtx.server = ctx.server;
  let launch: SandboxLaunch;
  try {
    launch = BACKENDS[policy.type].wrap(spec, policy, sandboxCtx);
    // The pipes are handed to the container's user (nobody when the gateway is root).
    if (fifos) fifos.owner = ownerOf((launch as ContainerLaunch).user);
  } catch (e) {
    fifos?.close();
    throw e;
  }
  if (fifos) {
    const cleanup = launch.cleanup.bind(launch);
    launch.cleanup = () => {
      cleanup();
      fifos.close();
    };
  }
  // Child fd numbers: the egress channel at EGRESS_FD, the backend's descriptors at 3, 4, ... around it.
  const extraStdio: ("pipe" | number)[] = [];
  const put = (fd: number, v: "pipe" | number) => {
    while (extraStdio.length <= fd - 3) extraStdio.push(-1);
    extraStdio[fd - 3] = v;
  };
  if (egress) put(EGRESS_FD, "pipe");
  let next = 3;
  for (const hostFd of launch.extraFds) {
    while (egress && next === EGRESS_FD) next++;
    put(next++, hostFd);
  }
  if (extraStdio.includes(-1)) {
    launch.cleanup();
    throw new Error("sandbox launch: a gap in the child's descriptors");
  }
  return { launch, extraStdio, egress, ...(fifos ? { egressFifos: fifos } : {}) };
}
