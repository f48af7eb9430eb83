// Types shared by the sandbox backends (bubblewrap, docker/podman, seatbelt), the egress proxy and
// the code that starts sandboxed servers and `mcp-warden exec`.
import type { NetworkPolicySettings } from "../policy/egress/egress.js";

export type SandboxType = "bubblewrap" | "docker" | "podman" | "seatbelt";

/**
 * A sandbox as settings ask for it, normalized (the second seed's flat form folded in) and with
 * every path absolute (`~` expanded, relative paths against the server's cwd).
 */
export interface SandboxPolicy {
  type: SandboxType;
  filesystem: {
    /** Readable besides the read-only system directories (/usr, /bin, /lib, /etc ...). */
    allowRead: string[];
    /** Unreadable and unwritable, whatever else says. */
    denyRead: string[];
    /** Writable (and readable). */
    allowWrite: string[];
    /** Not writable, even under an allowWrite. */
    denyWrite: string[];
  };
  network: NetworkPolicySettings;
  /**
   * Which programs may be started inside: undefined, any the view holds; false, none but the
   * server's own runtime (the view holds no shells or system programs); a list, those too.
   */
  execute?: false | string[];
  limits: { cpus?: number; memory?: string; pids?: number };
  /** Names of host environment variables passed through (besides the server's own `env`). */
  env: string[];
  /** Container image (docker/podman) when the server is not run from the host's files. */
  image?: string;
  /** docker/podman: `--runtime runsc` (gVisor). */
  runtime?: string;
}

/** What to run inside the sandbox. */
export interface LaunchSpec {
  command: string;
  args: string[];
  /** The complete environment of the sandboxed process (the host's is never inherited). */
  env: Record<string, string>;
  cwd?: string;
}

export interface SandboxContext {
  home: string;
  /** Paths that are never readable or writable inside any sandbox (~/.ssh, ..., mcp-warden's own files). */
  mandatoryDeny: string[];
  /** mcp-warden's cache directory, where a backend may remember a slow probe's answer (container-host.ts). */
  cacheDir?: string;
  /**
   * The in-sandbox end of the egress bridge: a file descriptor number (in the child) of a connected
   * stream socket that the bridge multiplexes connections over; undefined: no network at all.
   */
  egressFd?: number;
  /**
   * Absolute path of the bridge program and the node binary to run it: dist/src/egress/bridge-main.js
   * for bubblewrap, the one-file bundle dist/src/egress/bridge-main.bundle.cjs for containers.
   */
  bridge?: { node: string; script: string; port: number };
  /**
   * Containers: the private host directory holding the egress proxy's two named pipes
   * (src/egress/fifo-channel.ts), opened by the in-container bridge instead of an inherited descriptor.
   */
  egressFifos?: { dir: string };
}

/** A command line that runs the spec sandboxed; spawn it with `extraFds` as stdio 3, 4, ... */
export interface SandboxLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** File descriptors (in this process) the child gets as fd 3, 4, ...; closed by `cleanup`. */
  extraFds: number[];
  /** The limits enforced (and any not enforced, with why), one line for the start notes (bubblewrap, docker, podman). */
  limitsNote?: string;
  /**
   * Removes what the launch created (temporary files, descriptors; bubblewrap's cgroups, killing
   * what is left in them: so call it once the launched process has exited, or if it never started). Idempotent.
   */
  cleanup(): void;
}

export type Availability = { ok: true } | { ok: false; why: string; install: string };

export interface SandboxBackend {
  readonly type: SandboxType;
  /** Whether this backend can run here; when not, what is missing and how to install it. */
  /** `cacheDir`: where a backend may remember a slow probe's answer across processes (mcp-warden's cache directory). */
  available(opts?: { cacheDir?: string }): Availability;
  /** The command line running `spec` under `policy`. Throws (fail closed) when the policy cannot be honoured. */
  wrap(spec: LaunchSpec, policy: SandboxPolicy, ctx: SandboxContext): SandboxLaunch;
}
