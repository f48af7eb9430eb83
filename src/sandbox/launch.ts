// Turns a command and a SandboxPolicy into what to spawn: the backend's wrapped command line, the
// extra descriptors (the seccomp program, the egress channel) and the cleanup. Shared by the
// gateway (sandboxed stdio servers) and `mcp-warden exec`.
import { fileURLToPath } from "node:url";
import { bubblewrap } from "./bubblewrap.js";
import { docker, podman } from "./container.js";
import { seatbelt } from "./seatbelt.js";
import type { Availability, LaunchSpec, SandboxBackend, SandboxContext, SandboxLaunch, SandboxPolicy, SandboxType } from "./types.js";

/** The child's descriptor for the egress channel (a socketpair end the bridge multiplexes over). */
export const EGRESS_FD = 3;
/** The port the bridge listens on inside the sandbox's own network namespace (private to it). */
export const BRIDGE_PORT = 3128;

const BACKENDS: Record<SandboxType, SandboxBackend> = { bubblewrap, docker, podman, seatbelt };

const availability = new Map<SandboxType, Availability>();

/** Whether a backend works here (asked once per process: it runs a test sandbox). */
export function backendAvailability(type: SandboxType): Availability {
  let a = availability.get(type);
  if (a === undefined) availability.set(type, (a = BACKENDS[type].available()));
  return a;
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
}

export interface LaunchContext {
  home: string;
  mandatoryDeny: string[];
  /** The server's name (container backends label and name containers with it). */
  server?: string;
}

/** The command line and descriptors running `spec` in its sandbox. Throws (fail closed) when the sandbox cannot run. */
export function prepareSandboxedLaunch(spec: LaunchSpec, policy: SandboxPolicy, ctx: LaunchContext): PreparedLaunch {
  const available = backendAvailability(policy.type);
  if (!available.ok) throw new Error(`the ${policy.type} sandbox cannot run here: ${available.why}. To fix: ${available.install}`);
  const egress = needsEgress(policy);
  // The egress proxy reaches a sandbox through an inherited channel and an in-sandbox bridge; only
  // bubblewrap runs that bridge so far. Refuse rather than run with network the policy cannot judge.
  if (egress && policy.type !== "bubblewrap")
    throw new Error(`network access through the egress proxy is available with the bubblewrap sandbox only; the ${policy.type} sandbox runs with no network (remove allowedDomains/allowLocalhost or use bubblewrap)`);
  const sandboxCtx: SandboxContext & { server?: string } = {
    home: ctx.home,
    mandatoryDeny: ctx.mandatoryDeny,
    ...(egress
      ? { egressFd: EGRESS_FD, bridge: { node: process.execPath, script: fileURLToPath(new URL("../egress/bridge-main.js", import.meta.url)), port: BRIDGE_PORT } }
      : {}),
  };
  if (ctx.server !== undefined) sandboxCtx.server = ctx.server;
  const launch = BACKENDS[policy.type].wrap(spec, policy, sandboxCtx);
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
  return { launch, extraStdio, egress };
}
