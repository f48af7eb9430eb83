// Host path helpers for the bubblewrap backend: resolving a path the way the kernel will (symbolic
// links followed component by component, missing tails kept), path containment, and finding the
// files a command needs inside the sandbox.
import { lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { isExecutableFile } from "../adapters/executables.js";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "node:path";

export interface ResolvedPath {
  /** The physical path: every symbolic link of the existing prefix resolved. */
  path: string;
  exists: boolean;
  /** What is at `path` when it exists. */
  kind?: "dir" | "file" | "other";
  /** Symbolic links met on the way, as physical paths of the links themselves (their parent resolved). */
  links: string[];
}

/** Resolves `p` (absolute) on the host. A missing component ends resolution: the rest is appended as written. */
export function resolveHostPath(p: string): ResolvedPath {
  if (!isAbsolute(p)) throw new Error(`sandbox: path must be absolute: ${p}`);
  if (p.includes("\0")) throw new Error("sandbox: path contains a NUL byte");
  let parts = normalize(p).split("/").filter((s) => s !== "" && s !== ".");
  let cur = "/";
  const links: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const name = parts.shift() as string;
    if (name === "..") {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, name);
    let st;
    try {
      st = lstatSync(next);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return { path: normalize(join(next, ...parts)), exists: false, links };
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`sandbox: too many levels of symbolic links in ${p}`);
      links.push(next);
      const target = readlinkSync(next);
      parts = [...target.split("/").filter((s) => s !== "" && s !== "."), ...parts];
      if (target.startsWith("/")) cur = "/";
      continue;
    }
    cur = next;
  }
  const st = statSync(cur);
  return { path: cur, exists: true, kind: st.isDirectory() ? "dir" : st.isFile() ? "file" : "other", links };
}

/** Whether `p` is `root` or inside it (both normalized absolute paths). */
export function within(p: string, root: string): boolean {
  if (root === "/") return true;
  return p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`);
}

/** Whether `p` is strictly inside `root`. */
export function strictlyWithin(p: string, root: string): boolean {
  return p !== root && within(p, root);
}

/** Number of components: "/" is 0, "/usr" is 1. */
export function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

/** The directories strictly between `root` and `p` (`root` < a < `p`), outermost first. */
export function between(root: string, p: string): string[] {
  const out: string[] = [];
  for (let d = dirname(p); strictlyWithin(d, root); d = dirname(d)) out.unshift(d);
  return out;
}

/** An executable regular file found the way execvp would, with `PATH` from the sandbox's environment. */
export function findCommand(command: string, env: Record<string, string>, cwd: string | undefined): string | undefined {
  if (command === "") return undefined;
  if (command.includes("/")) {
    const file = resolve(cwd ?? "/", command);
    return isExecutableFile(file) ? file : undefined;
  }
  const path = env.PATH ?? "/usr/local/bin:/usr/bin:/bin";
  for (const dir of path.split(":")) {
    if (!isAbsolute(dir)) continue; // a relative PATH entry would depend on the cwd: never searched
    const file = join(dir, command);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/**
 * The directory a program's code lives in: for a file inside a `node_modules` tree, that whole
 * tree (packages find their dependencies there), otherwise the file's directory.
 */
export function codeRootOf(file: string): string {
  const real = realpathSync(file);
  const i = real.indexOf("/node_modules/");
  if (i >= 0) return real.slice(0, i + "/node_modules".length);
  return dirname(real);
}

/**
 * The package a script belongs to (nearest directory with a package.json), so that its imports and
 * dependencies are readable; never the home directory, one of its ancestors or `/`, where the
 * script's own directory is used instead.
 */
export function packageRootOf(file: string, home: string): string {
  const real = realpathSync(file);
  const homeReal = resolveHostPath(home).path;
  for (let d = dirname(real); d !== "/"; d = dirname(d)) {
    if (within(homeReal, d)) break;
    try {
      if (statSync(join(d, "package.json")).isFile()) return d;
    } catch {
      /* keep looking */
    }
  }
  return dirname(real);
}

/** Names that are files, not directories, when a missing denied path needs a placeholder. */
const FILE_NAMES = new Set([
  ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile",
  ".zlogin", ".zlogout", ".kshrc", ".cshrc", ".tcshrc", ".login", ".logout", ".inputrc", ".netrc", ".npmrc",
  ".pypirc", ".gitconfig", ".git-credentials", ".envrc", ".env", ".bash_history", ".zsh_history",
]);

/** Whether a missing path is best masked as a file (else a directory), judged by its name. */
export function looksLikeFile(p: string): boolean {
  const name = basename(p);
  if (FILE_NAMES.has(name)) return true;
  if (/^\.?[^.]+\.[A-Za-z0-9]{1,8}$/.test(name) || /^[^.].*\.[A-Za-z0-9]{1,8}$/.test(name)) return true;
  return /(rc|_history|\.lock)$/.test(name);
}
