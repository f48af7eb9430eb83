// The working directory of a container sandbox, as the bubblewrap backend treats it (bubblewrap.ts):
// the command's cwd is visible read-only even when the policy does not list it (writable only when
// allowWrite says so), a cwd in a denied path is refused, and a cwd that is the home directory or
// one of its ancestors is never mounted on its own initiative: it is an empty read-only directory
// (the engine refuses a working directory that does not exist in the container).
import { realpathSync } from "node:fs";
import path from "node:path";
import { holdsHome } from "../policy/builtin/working-dirs.js";
import type { ContainerEngine } from "./container.js";
import { emptyDirMount } from "./container-tmpfs.js";
import type { SandboxContext, SandboxPolicy } from "./types.js";

const within = (p: string, base: string) => p === base || base === "/" || p.startsWith(`${base}/`);

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The policy with the cwd added read-only where nothing mounts it yet, plus `--mount` arguments for
 * an empty directory at a cwd too wide to mount. Throws (fail closed) for a cwd in a denied path.
 */
export function withWorkingDirectory(policy: SandboxPolicy, cwd: string | undefined, ctx: SandboxContext): { policy: SandboxPolicy; args: string[] } {
  // wrap() refuses a relative cwd or one with control characters; a comma or quote cannot go into a --mount value.
  if (cwd === undefined || !path.posix.isAbsolute(cwd) || /[\u0000-\u001f\u007f]/.test(cwd)) return { policy, args: [] };
  if (/[,"]/.test(cwd)) throw new Error(`${policy.type} sandbox: the working directory ${JSON.stringify(cwd)} contains a comma or a double quote, which cannot be passed to the engine safely; run the command from another directory`);
  const given = path.posix.normalize(cwd);
  const physical = real(given);
  const denied = [...policy.filesystem.denyRead, ...ctx.mandatoryDeny].find((d) => within(given, d) || within(physical, real(d)));
  if (denied !== undefined)
    throw new Error(`${policy.type} sandbox: the working directory ${given} is in the denied path ${denied}; run the command from another directory`);
  const fs = policy.filesystem;
  const covered = [...fs.allowRead, ...fs.allowWrite].some((p) => within(given, p) || within(physical, real(p)));
  if (covered || given === "/") return { policy, args: [] };
  if (holdsHome(given, path.posix.resolve(ctx.home)))
    return { policy, args: [`--mount=${emptyDirMount(policy.type as ContainerEngine, given, "0755")}`] };
  return { policy: { ...policy, filesystem: { ...fs, allowRead: [...fs.allowRead, given] } }, args: [] };
}
