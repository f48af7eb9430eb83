// The seccomp part of a docker or podman launch: which runtime runs the container (runc, or gVisor's
// runsc), whether that runtime will apply mcp-warden's profile (./seccomp-oci.ts) and open the egress
// channel's named pipes, and the engine arguments that pass the profile.
//
// - runc (docker's and podman's usual runtime) installs the profile given with
//   `--security-opt=seccomp=FILE` through libseccomp.
// - gVisor ignores an OCI seccomp profile unless runsc runs with `--oci-seccomp`, and opens a host
//   named pipe only with `--host-fifo=open`. Podman gets both as `--runtime-flag`s here. Docker's
//   runtime flags live in daemon.json, so a docker runtime that is runsc without them is refused
//   before the start (dockerRuntimeRefusal), saying what to add. No `--host-uds`: the container
//   reaches no host Unix socket at all, the egress channel included.
// - Which runtime is gVisor: the policy's `runtime`, else the engine's default runtime as the host
//   detection reports it (./container-host.ts); podman's by its name or path (runsc*), docker's by
//   the path `docker info` gives for the registered name.
import path from "node:path";
import type { ContainerHost } from "./container-host.js";
import type { SandboxPolicy } from "./types.js";

/** Whether a runtime name or path is gVisor's. */
export function isGvisor(runtime: string | undefined): boolean {
  return runtime !== undefined && /^runsc/.test(path.posix.basename(runtime));
}

/** Docker's registered runtimes, as `docker info` reports them. */
export type DockerRuntimes = Record<string, { path?: string; runtimeArgs?: string[] } | undefined>;

const HOST_FIFO = /^--?host-fifo=open$/;
const OCI_SECCOMP = /^--?oci-seccomp(=true)?$/;

/**
 * Why docker's `runtime` cannot run an mcp-warden container, or undefined: a runtime registered as
 * runsc must have `--oci-seccomp` in its runtimeArgs (else the seccomp profile is silently ignored)
 * and, for a container with egress, `--host-fifo=open` (else the bridge cannot open its pipes).
 */
export function dockerRuntimeRefusal(runtimes: DockerRuntimes, runtime: string, egress: boolean): string | undefined {
  const entry = runtimes[runtime];
  if (entry === undefined) return undefined; // unknown to docker: `docker run` itself refuses it
  if (!isGvisor(entry.path ?? runtime)) return undefined;
  const args = entry.runtimeArgs ?? [];
  const missing = [...(args.some((a) => OCI_SECCOMP.test(a)) ? [] : ["--oci-seccomp"]), ...(egress && !args.some((a) => HOST_FIFO.test(a)) ? ["--host-fifo=open"] : [])];
  if (missing.length === 0) return undefined;
  const why = [
    ...(missing.includes("--oci-seccomp") ? ["without --oci-seccomp gVisor ignores mcp-warden's seccomp profile"] : []),
    ...(missing.includes("--host-fifo=open") ? ["without --host-fifo=open the container cannot open mcp-warden's egress channel"] : []),
  ].join(", and ");
  return (
    `docker's runtime ${JSON.stringify(runtime)} is gVisor (${entry.path ?? "runsc"}): ${why}. ` +
    `Add ${missing.map((m) => JSON.stringify(m)).join(" and ")} to its "runtimeArgs" in /etc/docker/daemon.json and restart dockerd${egress ? ", or remove the network allowances" : ""}; refusing to start`
  );
}

/**
 * Whether the container's runtime is gVisor: the policy's runtime, else the engine's default as the
 * host detection found it (./container-host.ts). For docker, a runtime registered as runsc without
 * the flags it needs is refused (fail closed, dockerRuntimeRefusal).
 */
export function containerIsGvisor(engine: "docker" | "podman", policy: SandboxPolicy, host: ContainerHost, egress: boolean): boolean {
  if (engine === "podman") return isGvisor(policy.runtime ?? host.podmanRuntimePath ?? host.defaultRuntime);
  const name = policy.runtime ?? host.defaultRuntime;
  const runtimes: DockerRuntimes = Object.fromEntries(host.dockerRuntimes.map((n) => [n, { path: host.dockerRuntimePaths?.[n] ?? n, runtimeArgs: host.dockerRuntimeArgs?.[n] ?? [] }]));
  const refusal = dockerRuntimeRefusal(runtimes, name, egress);
  if (refusal !== undefined) throw new Error(`docker sandbox: ${refusal}`);
  return isGvisor(runtimes[name]?.path ?? name);
}

/** The engine arguments that apply the profile at `profilePath` (podman's gVisor also gets --oci-seccomp). */
export function seccompArgs(engine: "docker" | "podman", gvisor: boolean, profilePath: string): string[] {
  if (/[\u0000-\u001f\u007f]/.test(profilePath)) throw new Error(`container sandbox: the seccomp profile's path ${JSON.stringify(profilePath)} has a control character; set TMPDIR to a plain directory`);
  return [`--security-opt=seccomp=${profilePath}`, ...(engine === "podman" && gvisor ? ["--runtime-flag=oci-seccomp"] : [])];
}
