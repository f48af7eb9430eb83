// Protected paths: writes there are `ask` even under a broad Edit allow, because they change how
// code runs later (git hooks and config, editor tasks, agent and MCP configuration, shell start-up
// files) or how mcp-warden itself judges and records (its settings and audit log). Pure: no I/O.
//
// Names are compared case-insensitively on every platform: a protected path only makes a prompt more
// likely, and on macOS/Windows `.GIT` is `.git`. Call it for both the link and the target of a path.
import path from "node:path";
import { fold } from "../glob.js";
import { anySeg, litSeg, pathSegs } from "./shapes.js";
import type { Shape } from "./shapes.js";

export interface ProtectedPathContext {
  cwd: string;
  home: string;
  /** More protected files or directories (absolute): mcp-warden's own settings and audit directories. */
  extra: string[];
}

/** A directory with this name anywhere in the path protects everything under it. */
const PROTECTED_DIRS: ReadonlyMap<string, string> = new Map([
  [".git", "inside a .git directory (hooks and config run code)"],
  [".claude", "inside a .claude directory (agent settings)"],
  [".vscode", "inside a .vscode directory (editor tasks and settings run code)"],
  [".idea", "inside a .idea directory (JetBrains run configurations and tasks run code)"],
  [".husky", "inside a .husky directory (git hooks run code)"],
  [".mcp-warden", "inside a .mcp-warden directory (mcp-warden settings)"],
  // Other agents' and editors' configuration: MCP servers they start, rules they obey, approvals they
  // skip, tasks and language servers they run (CVE-2025-54135 wrote a server into .cursor/mcp.json).
  [".cursor", "inside a .cursor directory (Cursor's MCP servers and rules)"],
  [".windsurf", "inside a .windsurf directory (Windsurf's MCP servers and rules)"],
  [".gemini", "inside a .gemini directory (Gemini CLI's settings and MCP servers)"],
  [".codex", "inside a .codex directory (Codex's configuration and MCP servers)"],
  [".amazonq", "inside a .amazonq directory (Amazon Q's MCP servers and rules)"],
  [".roo", "inside a .roo directory (Roo Code's MCP servers and rules)"],
  [".kiro", "inside a .kiro directory (Kiro's settings, hooks and MCP servers)"],
  [".continue", "inside a .continue directory (Continue's configuration and MCP servers)"],
  [".zed", "inside a .zed directory (Zed's tasks and language servers run code)"],
  [".devcontainer", "inside a .devcontainer directory (its commands run on the host and in the container)"],
]);

/** A file with this name anywhere is protected. */
const PROTECTED_FILES: ReadonlyMap<string, string> = new Map([
  [".mcp.json", "an .mcp.json file (MCP server configuration)"],
  // Package managers' configuration runs code at the next install or script (script-shell,
  // node-options, yarnPath) or swaps the registry.
  [".npmrc", "an .npmrc file (npm's script shell, node options and registry)"],
  [".yarnrc", "a .yarnrc file (yarn's yarn-path runs code)"],
  [".yarnrc.yml", "a .yarnrc.yml file (yarn's yarnPath and plugins run code)"],
  [".pre-commit-config.yaml", "a .pre-commit-config.yaml file (its hooks run at the next commit)"],
]);

/** Paths relative to home: shell and session start-up files, ssh's configuration, and git's global config (all run code). */
export const HOME_STARTUP_FILES: readonly string[] = [
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".bash_logout",
  ".profile",
  ".zshrc",
  ".zprofile",
  ".zshenv",
  ".zlogin",
  ".zlogout",
  ".cshrc",
  ".tcshrc",
  ".login",
  ".kshrc",
  ".mkshrc",
  ".config/fish/config.fish",
  ".config/fish/conf.d", // a directory: everything under it runs at start-up
  ".config/fish/functions",
  ".config/nushell/config.nu",
  ".config/nushell/env.nu",
  ".config/powershell/Microsoft.PowerShell_profile.ps1",
  ".config/powershell/profile.ps1",
  ".gitconfig",
  ".config/git/config",
  // Run at the next login or session, or by ssh itself (ProxyCommand, LocalCommand, authorized_keys).
  ".ssh",
  ".config/autostart",
  ".config/systemd/user",
  ".xprofile",
  ".xinitrc",
  ".xsession",
];

function comps(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/** a is b or under b, by components (case-folded). */
function within(a: string[], b: string[]): boolean {
  if (a.length < b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The reason absPath (canonical, absolute) is protected, or undefined. Protected: any `.git`, `.idea`, `.husky`,
 * `.claude`, `.vscode` or `.mcp-warden` component (the directory itself and everything under it), any
 * file named `.mcp.json`, shell start-up files in home, and the paths in `extra` (and everything under
 * them; a relative entry is relative to cwd). The directory names above are protected at any depth,
 * inside or outside cwd.
 */
export function isProtectedPath(absPath: string, ctx: ProtectedPathContext): string | undefined {
  if (typeof absPath !== "string" || !absPath.startsWith("/")) {
    return `not a canonical absolute path: ${JSON.stringify(absPath)}`;
  }
  const p = comps(path.posix.normalize(absPath.normalize("NFC"))).map(fold);
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    const dir = PROTECTED_DIRS.get(c);
    if (dir !== undefined) return dir;
    if (i === p.length - 1) {
      const file = PROTECTED_FILES.get(c);
      if (file !== undefined) return file;
    }
  }
  const home = comps(ctx.home.normalize("NFC")).map(fold);
  if (within(p, home)) {
    const rel = p.slice(home.length);
    for (const f of HOME_STARTUP_FILES) {
      if (within(rel, comps(fold(f)))) return `a start-up file in home (~/${f})`;
    }
  }
  for (const x of ctx.extra) {
    // A relative entry is taken relative to cwd (never to `/`).
    const abs = path.posix.resolve(ctx.cwd.normalize("NFC"), x.normalize("NFC"));
    if (within(p, comps(abs).map(fold))) return `mcp-warden's own files (${x})`;
  }
  return undefined;
}

/** The protection reason for the link or, failing that, the target of a path. */
export function protectedReason(p: { link: string; target: string }, ctx: ProtectedPathContext): string | undefined {
  return isProtectedPath(p.link, ctx) ?? isProtectedPath(p.target, ctx);
}

/**
 * The protected paths as shapes (shapes.ts), each with its reason, for asking whether a glob that is
 * not expanded yet could reach one. Names compare case-insensitively, as in isProtectedPath.
 * `homes`: the home directory and, when different, its resolved spelling.
 */
export function protectedShapes(ctx: ProtectedPathContext, homes: readonly string[] = [ctx.home]): { shape: Shape; reason: string }[] {
  const out: { shape: Shape; reason: string }[] = [];
  for (const [name, reason] of PROTECTED_DIRS) out.push({ shape: { segs: [anySeg(), litSeg(name), anySeg()], nocase: true }, reason });
  for (const [name, reason] of PROTECTED_FILES) out.push({ shape: { segs: [anySeg(), litSeg(name)], nocase: true }, reason });
  for (const home of homes) {
    for (const f of HOME_STARTUP_FILES) {
      out.push({ shape: { segs: [...pathSegs(home), ...pathSegs(`/${f}`), anySeg()], nocase: true }, reason: `a start-up file in home (~/${f})` });
    }
  }
  for (const x of ctx.extra) {
    const abs = path.posix.resolve(ctx.cwd.normalize("NFC"), x.normalize("NFC"));
    out.push({ shape: { segs: [...pathSegs(abs), anySeg()], nocase: true }, reason: `mcp-warden's own files (${x})` });
  }
  return out;
}
