// The working directories of a built-in tool call: the project root plus
// `permissions.additionalDirectories`, never the call's cwd by itself (issue 11, finding 6: a `cd`
// into a symlink to ~/.ssh, or a cwd of `/`, used to make every file there "inside").
//
// - The project root is what the caller found (the hook: CLAUDE_PROJECT_DIR or the directory holding
//   `.mcp-warden/`; check/test: that directory at or above cwd, else cwd). When it is `/`, the home
//   directory or an ancestor of home, as written or resolved, it is no working directory: the same
//   rule the sandbox applies before it makes a server's cwd writable (sandbox/policy.ts).
// - Each directory counts by its spelling and by its real path (files.ts resolves both); a path is
//   inside only when it is under one of them as written and with symlinks resolved.
// - The cwd only resolves relative paths, and only when its real path is inside. Otherwise the call is
//   judged as outside: BuiltinContext.cwdOutside is set, so no path gets the working-directory default
//   and no allow rule anchored at cwd applies. Relative paths are still resolved against the cwd as
//   given, so that deny and ask rules meet both the link spelling and where it really leads.
// Pure: symlinks are resolved through PolicyEnvironment.
import path from "node:path";
import type { BuiltinContext, Mode, PolicyEnvironment } from "./types.js";

/** Whether `dir` is the home directory, `/` or an ancestor of home (all absolute, normalized). */
export function holdsHome(dir: string, home: string): boolean {
  return home === dir || home.startsWith(dir === "/" ? "/" : `${dir}/`);
}

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === "/" ? "/" : `${dir}/`);
}

export interface WorkingContextInput {
  /** The call's cwd: absolute and normalized. */
  cwd: string;
  /** The project root as the caller found it; undefined: there is none. */
  projectRoot: string | undefined;
  /** `permissions.additionalDirectories`: absolute, `~/...`, or relative to the project root. */
  additionalDirectories: readonly string[];
  mode: Mode;
}

/** The context a call of a built-in tool is judged in. */
export function workingContext(input: WorkingContextInput, env: PolicyEnvironment): BuiltinContext {
  const real = (dir: string): string | undefined => {
    try {
      return env.resolveLinks(dir).target;
    } catch {
      return undefined; // cannot be resolved: the caller treats it as not a working directory / outside
    }
  };
  const home = path.posix.normalize(env.home);
  const homes = [home, real(home) ?? home];
  const dirs: string[] = [];
  let noRoot: string | undefined;

  let root: string | undefined;
  if (input.projectRoot === undefined) {
    noRoot = "no project root was found (set CLAUDE_PROJECT_DIR, or keep the project's settings in <project>/.mcp-warden/)";
  } else if (!input.projectRoot.startsWith("/") || input.projectRoot.includes("\0")) {
    noRoot = `the project root ${JSON.stringify(input.projectRoot)} is not an absolute path`;
  } else {
    const r = path.posix.normalize(input.projectRoot).replace(/(.)\/$/, "$1");
    const rReal = real(r);
    if (rReal === undefined) noRoot = `the project root ${r} cannot be resolved`;
    else if ([r, rReal].some((d) => homes.some((h) => holdsHome(d, h))))
      noRoot = `the project root ${r} is /, the home directory or an ancestor of it, which is never a working directory`;
    else {
      root = r;
      dirs.push(r);
    }
  }
  for (const d of input.additionalDirectories) {
    if (d === "~" || d.startsWith("~/")) dirs.push(path.posix.join(home, d.slice(1)));
    else if (d.startsWith("/")) dirs.push(path.posix.normalize(d));
    // Relative to the project root; without one it names no directory (never the call's cwd).
    else if (root !== undefined) dirs.push(path.posix.resolve(root, d));
  }

  const ctx: BuiltinContext = { cwd: input.cwd, workingDirectories: dirs, mode: input.mode };
  const realCwd = real(input.cwd);
  const realDirs = dirs.map((d) => real(d)).filter((d): d is string => d !== undefined);
  if (realCwd !== undefined && realDirs.some((d) => within(realCwd, d))) {
    // The cwd as spelled by the session (say, through a symlink to the project) counts too, so that
    // relative paths under it are inside on the link side; their targets must still be inside.
    if (!dirs.includes(input.cwd)) dirs.push(input.cwd);
    return ctx;
  }
  const shown = realCwd !== undefined && realCwd !== input.cwd ? `${input.cwd} (really ${realCwd})` : input.cwd;
  ctx.cwdOutside =
    dirs.length === 0
      ? `there are no working directories: ${noRoot ?? "none is configured"}`
      : `the call's working directory ${shown} is outside the working directories (${dirs.join(", ")}), so nothing in this call counts as inside them${noRoot !== undefined ? `; ${noRoot}` : ""}`;
  return ctx;
}
