// From what the engine can do here (container-host.ts) and the policy to the engine arguments for
// the runtime, ulimits and resource limits, or a refusal. Pure: no I/O but the runtime lookup the
// caller passes in.
//
// Limits are enforced or refused, never silently dropped: a limit the settings set explicitly that
// the engine cannot enforce here refuses the start, saying why and what to do; a default limit that
// cannot be enforced is left out of the command line (the engine would only warn) and reported as a
// note, which the gateway prints at the server's start and `doctor` shows.
import path from "node:path";
import type { ContainerHost, LimitName } from "./container-host.js";
import { isGvisor } from "./container-seccomp.js";
import type { ContainerEngine } from "./container.js";
import type { SandboxPolicy } from "./types.js";

/** The limits as the engine is given them, with whether each came from the settings. */
export interface ContainerLimits {
  cpus: string;
  memory: string;
  pids: string;
  explicit: Record<LimitName, boolean>;
}

export interface LimitState {
  name: LimitName;
  value: string;
  explicit: boolean;
  enforced: boolean;
  why?: string;
}

export type HostArguments =
  | {
      ok: true;
      /** `--runtime`, `--runtime-flag`, `--ulimit`, `--memory`/`--memory-swap`, `--cpus`, `--pids-limit`. */
      args: string[];
      /** The runtime the container runs under, for people: "runc (the daemon's default)", "/usr/bin/runsc (gVisor)". */
      runtime: string;
      limits: LimitState[];
      /** Gaps to report at start (a default limit not enforced, swap not limited). */
      notes: string[];
      /** One line: each limit enforced or not (and why), and swap when it is not limited. */
      summary: string;
    }
  | { ok: false; why: string };

/**
 * Under gVisor the pids limit counts gVisor's own host threads and processes (its kernel, the file
 * proxy and, on the ptrace platform, host stubs for the processes inside), not the server's
 * processes: measured here (runsc 2022-12, ptrace), the sandbox cannot start at 32 and dies at 128
 * when a shell runs a few commands at once; 192 held. Below this floor a start is refused rather than
 * left to die; above it, a fork bomb ends the whole sandbox instead of failing a fork.
 */
export const GVISOR_MIN_PIDS = 256;

/** A process limit per uid is shared by every container of that uid (all run as nobody under a root gateway): room for several. */
const NPROC_FLOOR = 1024;

// --oci-seccomp: gVisor applies mcp-warden's seccomp profile; --host-fifo=open: the egress pipes (container-seccomp.ts).
const DAEMON_JSON_RUNSC = `{"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=none","--oci-seccomp","--host-fifo=open"]}}}`;


/** The runtime arguments, or why the policy's runtime cannot be used here. */
function runtimeArguments(engine: ContainerEngine, host: ContainerHost, wanted: string | undefined, findRuntime: (name: string) => string | undefined): { args: string[]; runtime: string } | { why: string } {
  if (wanted === undefined) {
    if (host.runtimeProblem !== undefined) return { why: host.runtimeProblem };
    if (engine === "podman" && host.podmanRuntimePath !== undefined)
      return { args: [`--runtime=${host.podmanRuntimePath}`], runtime: `${host.podmanRuntimePath} (podman's default ${host.defaultRuntime} cannot run on cgroup ${host.cgroup})` };
    return { args: [], runtime: `${host.defaultRuntime} (the ${engine === "docker" ? "daemon's" : "engine's"} default)` };
  }
  const gvisor = isGvisor(wanted);
  if (engine === "podman") {
    const found = findRuntime(wanted);
    if (found === undefined)
      return {
        why: `the runtime ${JSON.stringify(wanted)} is not installed here (no such executable${path.posix.isAbsolute(wanted) ? "" : " on PATH"}). ${
          gvisor ? "Install gVisor (https://gvisor.dev/docs/user_guide/install/, or apt-get install runsc)" : "Install it, or name its full path in sandbox.runtime"
        }`,
      };
    // gVisor's own network stack stays off: the container has no network (--network none).
    return { args: [`--runtime=${found}`, ...(gvisor ? ["--runtime-flag=network=none"] : [])], runtime: `${found}${gvisor ? " (gVisor)" : ""}` };
  }
  if (wanted.includes("/") || !host.dockerRuntimes.includes(wanted)) {
    const registered = host.dockerRuntimes.length > 0 ? host.dockerRuntimes.join(", ") : "none";
    return {
      why: `the docker daemon has no runtime named ${JSON.stringify(wanted)} (registered: ${registered}); docker takes a runtime by the name the daemon registered it under. ${
        gvisor
          ? `Register gVisor in /etc/docker/daemon.json as ${DAEMON_JSON_RUNSC} (or run \`runsc install\`), restart dockerd, and set sandbox.runtime to "runsc"`
          : "Register it under \"runtimes\" in /etc/docker/daemon.json and restart dockerd"
      }`,
    };
  }
  // gVisor with its own network stack on fails to start here ("cannot run with network enabled in
  // root network namespace"), and the container has no network anyway: the daemon must turn it off.
  const runtimeArgs = host.dockerRuntimeArgs?.[wanted] ?? [];
  if (gvisor && !runtimeArgs.some((a, i) => a === "--network=none" || (a === "--network" && runtimeArgs[i + 1] === "none")))
    return {
      why: `the docker daemon's ${JSON.stringify(wanted)} runtime does not turn gVisor's network off (its runtimeArgs: ${JSON.stringify(runtimeArgs)}), and gVisor then fails to start a container without a network. Register it in /etc/docker/daemon.json as ${DAEMON_JSON_RUNSC} and restart dockerd`,
    };
  return { args: [`--runtime=${wanted}`], runtime: `${wanted}${gvisor ? " (gVisor)" : ""} (registered in the daemon)` };
}

const SETTING: Record<LimitName, string> = { memory: "limits.memory", cpus: "limits.cpus", pids: "limits.pids" };

/** The engine arguments for the runtime, ulimits and limits; or why the start is refused. */
export function hostArguments(
  engine: ContainerEngine,
  host: ContainerHost,
  policy: Pick<SandboxPolicy, "runtime">,
  limits: ContainerLimits,
  findRuntime: (name: string) => string | undefined,
): HostArguments {
  const rt = runtimeArguments(engine, host, policy.runtime, findRuntime);
  if ("why" in rt) return { ok: false, why: rt.why };
  if (policy.runtime !== undefined && isGvisor(policy.runtime) && Number(limits.pids) < GVISOR_MIN_PIDS)
    return {
      ok: false,
      why: `limits.pids is ${limits.pids}, but under gVisor the limit counts gVisor's own host threads and processes (its kernel, and on the ptrace platform host stubs for the processes inside), so below ${GVISOR_MIN_PIDS} the sandbox fails to start or dies at its first few commands; set limits.pids to ${GVISOR_MIN_PIDS} or more`,
    };
  const args = [...rt.args];
  const notes: string[] = [];
  const states: LimitState[] = [];
  for (const name of ["memory", "cpus", "pids"] as const) {
    const support = host.limits[name];
    const value = limits[name];
    const explicit = limits.explicit[name];
    if (!support.enforced) {
      if (explicit)
        return {
          ok: false,
          why: `${SETTING[name]} is set to ${JSON.stringify(value)}, but ${engine} cannot enforce it here: ${support.why}. Remove ${SETTING[name]} from this server's sandbox settings to run without that limit, or use the bubblewrap sandbox`,
        };
      notes.push(`the default ${name} limit (${value}) is not enforced: ${support.why}`);
      states.push({ name, value, explicit, enforced: false, why: support.why });
      continue;
    }
    states.push({ name, value, explicit, enforced: true });
    if (name === "memory") {
      args.push(`--memory=${value}`);
      // No swap on top of the memory limit, where the engine can say so; else the gap is reported.
      if (host.swapLimit) args.push(`--memory-swap=${value}`);
      else notes.push(`swap is not limited on top of the memory limit (the ${engine} daemon reports no swap limit support)`);
    } else if (name === "cpus") args.push(`--cpus=${value}`);
    else args.push(`--pids-limit=${value}`);
  }
  for (const u of host.ulimits) args.push(`--ulimit=${u}`);
  if (host.nprocUlimit) {
    const nproc = Math.max(NPROC_FLOOR, Number(limits.pids));
    args.push(`--ulimit=nproc=${nproc}:${nproc}`);
  }
  const swapGap = notes.filter((n) => n.startsWith("swap"));
  return { ok: true, args, runtime: rt.runtime, limits: states, notes, summary: [describeLimits(states), ...swapGap].join("; ") };
}

/** "memory 2g enforced, cpus 1 enforced, pids 512 NOT enforced (why)" */
export function describeLimits(limits: LimitState[]): string {
  return limits.map((l) => `${l.name} ${l.value}${l.explicit ? "" : " (default)"} ${l.enforced ? "enforced" : `NOT enforced (${l.why ?? "unknown"})`}`).join("; ");
}
