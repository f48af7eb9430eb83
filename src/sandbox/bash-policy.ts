// The sandbox an agent's Bash command runs in when the hook sandboxes it (src/hook/bash-sandbox.ts),
// computed the same way by the hook (to know whether it can run) and by `mcp-warden exec
// --bash-sandbox` (to run it). Pure: no I/O.
//
// - The global sandbox's settings (type, filesystem lists, limits), as for `exec`;
// - the working directory writable: the project root (else the command's directory), never the home
//   directory, `/` or an ancestor of home; the rest of the system read-only (bubblewrap's view);
// - the mandatory denies unreadable (the caller passes them to the launch, as for every sandbox);
// - the network: `toolPermissions.Bash.networkPolicy` when set, else the global sandbox's `network`.
import path from "node:path";
import { holdsHome } from "../policy/builtin/working-dirs.js";
import type { ResolvedSettings } from "../settings/resolve.js";
import { chooseSandbox, type SandboxChoice } from "./policy.js";

export interface BashSandboxContext {
  home: string;
  platform: NodeJS.Platform;
  /** The command's working directory. */
  cwd: string;
  /** The project root (CLAUDE_PROJECT_DIR or the directory holding `.mcp-warden/`), if any. */
  projectRoot?: string;
}

export function bashSandboxChoice(settings: Pick<ResolvedSettings, "sandbox" | "bashSandbox" | "requireImageDigest">, ctx: BashSandboxContext): SandboxChoice {
  const { enabled: _e, autoAllowBashIfSandboxed: _a, excludedCommands: _x, failIfUnavailable: _f, ...base } = settings.sandbox ?? {};
  if (base.type === "none")
    return { refused: 'sandbox.type is "none", so Bash commands cannot run sandboxed; remove it, or turn off sandbox.enabled and toolPermissions.Bash.networkPolicy' };
  const root = ctx.projectRoot ?? ctx.cwd;
  const choice = chooseSandbox(base, undefined, { home: ctx.home, platform: ctx.platform, baseDir: root, serverCwd: root, requireSandbox: true, requireImageDigest: settings.requireImageDigest === true });
  const policy = choice.policy;
  if (policy === undefined) return choice;
  // With write lists of its own the global sandbox replaces the default; the project stays writable.
  const home = path.posix.resolve(ctx.home);
  if (!holdsHome(root, home) && !policy.filesystem.allowWrite.includes(root)) policy.filesystem.allowWrite.push(root);
  if (settings.bashSandbox.network !== undefined) policy.network = { ...settings.bashSandbox.network };
  return { policy };
}
