// From settings to a SandboxPolicy: which sandbox a server (or `mcp-warden exec`) gets. Pure: no I/O.
//
// - A server's own `sandbox` replaces the global one whole; without either it runs unsandboxed,
//   unless managed settings set `requireSandbox` (then it gets the platform's default sandbox with
//   nothing allowed but its own working directory, and `type: "none"` is refused).
// - Managed `requireImageDigest`: a docker/podman sandbox whose image is not pinned by digest is refused.
// - `type` omitted: bubblewrap on Linux, seatbelt on macOS; elsewhere no default exists (refused).
// - The second seed's flat form is folded in: `allowRead`/`allowWrite` join the filesystem lists,
//   `allowNetwork`/`denyNetwork` join the network lists. `allowExecute: false` (or a list) becomes
//   `execute`: the backend then shows only the server's runtime (and the listed programs, which are
//   also readable), not the system's programs.
// - An explicitly empty write list (`allowWrite: []`, flat or nested) means nothing writable; only
//   an absent one gets the default below.
// - Paths: `~` is the home directory; relative paths are relative to the server's `cwd` (else the
//   gateway's). Writes default to the server's own `cwd` when it has one (never when that is the
//   home directory, `/` or an ancestor of home).
// - Mandatory denies, whatever the settings say: credentials in the home directory, shell start-up
//   files, and mcp-warden's own settings, state (pins, caches) and audit log.
import path from "node:path";
import { networkSettingsOf } from "../policy/egress/egress.js";
import { HOME_STARTUP_FILES } from "../policy/paths/protected.js";
import type { Settings } from "../settings/schema.js";
import type { SandboxPolicy, SandboxType } from "./types.js";
import { imageDigestRefusal } from "./image-ref.js";
import { holdsHome } from "../policy/builtin/working-dirs.js";

type SandboxSettings = NonNullable<Settings["sandbox"]>;

export interface SandboxChoice {
  /** The sandbox to run in; undefined: run unsandboxed (allowed only when `refused` is undefined too). */
  policy?: SandboxPolicy;
  /** Why the server must not start at all. */
  refused?: string;
}

/**
 * Home-relative paths no sandbox ever exposes: credentials, and the start-up files that the policy
 * also protects from the agent's edits (paths/protected.ts), so both lists stay one.
 */
export const MANDATORY_HOME_DENIES: readonly string[] = [
  ".ssh",
  ".aws",
  ".gnupg",
  ".config/gcloud",
  ".kube",
  ".docker",
  ".azure",
  ".netrc",
  ".git-credentials",
  ".npmrc",
  ".pypirc",
  ".claude",
  ".claude.json",
  ...HOME_STARTUP_FILES,
];

/** Every path a sandbox must hide: the home-relative list plus mcp-warden's own files. */
export function mandatoryDenies(home: string, ownFiles: string[]): string[] {
  return [...new Set([...MANDATORY_HOME_DENIES.map((p) => path.posix.join(home, p)), ...ownFiles.filter((p) => p.startsWith("/"))])];
}

export function defaultSandboxType(platform: NodeJS.Platform): SandboxType | undefined {
  if (platform === "linux") return "bubblewrap";
  if (platform === "darwin") return "seatbelt";
  return undefined;
}

export interface PolicyContext {
  home: string;
  platform: NodeJS.Platform;
  /** The directory relative paths are taken from: the server's cwd, else the gateway's. */
  baseDir: string;
  /** The server's own working directory, if configured (writable by default). */
  serverCwd?: string;
  requireSandbox: boolean;
  /** Managed settings: a docker/podman image must be pinned by digest (a tag-only one is refused). */
  requireImageDigest?: boolean;
}

function absolute(p: string, ctx: PolicyContext): string {
  if (p === "~") return ctx.home;
  if (p.startsWith("~/")) return path.posix.join(ctx.home, p.slice(2));
  return path.posix.resolve(ctx.baseDir, p);
}

/** The sandbox for one server, or for `exec` (settings: the profile or the global sandbox). */
export function chooseSandbox(own: SandboxSettings | undefined, global: SandboxSettings | undefined, ctx: PolicyContext): SandboxChoice {
  let s = own ?? global;
  if (s === undefined) {
    if (!ctx.requireSandbox) return {};
    s = {};
  }
  if (s.type === "none") {
    if (ctx.requireSandbox) return { refused: 'managed settings require a sandbox for every server (requireSandbox), and this one has sandbox type "none"' };
    return {};
  }
  const type = s.type ?? defaultSandboxType(ctx.platform);
  if (type === undefined) return { refused: `no sandbox backend exists for ${ctx.platform}; set sandbox.type to docker or podman` };
  const fs = s.filesystem ?? {};
  const list = (...xs: (string[] | undefined)[]) => [...new Set(xs.flatMap((x) => x ?? []).map((p) => absolute(p, ctx)))];
  const allowWrite = list(fs.allowWrite, s.allowWrite);
  // The working directory is writable by default, unless it is the home directory, `/` or an
  // ancestor of home: then a default would hand over far more than a project (~/.local/bin, autostart).
  const writesGiven = fs.allowWrite !== undefined || s.allowWrite !== undefined;
  if (!writesGiven && allowWrite.length === 0 && ctx.serverCwd !== undefined) {
    const cwd = absolute(ctx.serverCwd, ctx);
    const home = path.posix.resolve(ctx.home);
    if (!holdsHome(cwd, home)) allowWrite.push(cwd);
  }
  const policy: SandboxPolicy = {
    type,
    filesystem: {
      allowRead: list(fs.allowRead, s.allowRead, Array.isArray(s.allowExecute) ? s.allowExecute : undefined),
      denyRead: list(fs.denyRead),
      allowWrite,
      denyWrite: list(fs.denyWrite),
    },
    network: networkSettingsOf(s) ?? {},
    limits: { ...(s.limits ?? {}) },
    env: [...(s.env ?? [])],
  };
  if (s.allowExecute === false) policy.execute = false;
  else if (Array.isArray(s.allowExecute)) policy.execute = list(s.allowExecute);
  if (s.image !== undefined) policy.image = s.image;
  if (s.runtime !== undefined) policy.runtime = s.runtime;
  const unpinned = ctx.requireImageDigest === true ? imageDigestRefusal(type, s.image) : undefined;
  if (unpinned !== undefined) return { refused: unpinned };
  return { policy };
}
