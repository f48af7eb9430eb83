// Symlink resolution: the only I/O of the path layer (synchronous, lstat/readlink/realpath only).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PolicyEnvironment } from "../builtin/types.js";
import type { LinkPair, PathRuleContext } from "./rules.js";

/** Symlink hops followed before giving up, as the kernel's ELOOP limit. */
const MAX_HOPS = 40;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Where a canonical absolute path really leads. `link` is absPath, lexically normalized; `target` is the realpath
 * of its deepest existing ancestor followed by the rest of the path, so a file that does not exist yet
 * under a symlinked directory gets the directory's real location. A dangling symlink on the way is
 * followed to where it points (writing through it would create its target). target === link when no
 * symlink is involved.
 *
 * Throws (the caller should fail closed) on a symlink loop and on errors other than a missing
 * component (EACCES, EIO, ...): the target cannot be known then.
 */
export function resolveLinks(absPath: string): LinkPair {
  if (typeof absPath !== "string" || !path.posix.isAbsolute(absPath) || absPath.includes("\0")) {
    throw new TypeError(`resolveLinks: expected a canonical absolute path, got ${JSON.stringify(absPath)}`);
  }
  // link: the lexical path. The walk keeps `..` segments (canonicalizeRequestPath's `physical`) so that
  // `..` after a symlink climbs from the symlink's target, as the kernel does.
  const link = path.posix.normalize(absPath).replace(/(.)\/$/, "$1").normalize("NFC");
  return { link, target: physicalTarget(absPath).normalize("NFC") };
}

/**
 * resolveLinks' target, spelled byte for byte as the file system has it (no Unicode normalization):
 * for checks that must tell an NFD name from an NFC one on a file system that does. Throws as
 * resolveLinks does.
 */
export function physicalTarget(absPath: string): string {
  let current = absPath;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const next = resolveOnce(current);
    if (next.done) return next.path;
    current = next.path;
  }
  throw new Error(`resolveLinks: too many levels of symbolic links: ${absPath}`);
}

/**
 * One step: realpath of the deepest ancestor that resolves, then look at the first component below it
 * that does not: missing (done: append the rest) or a dangling symlink (follow it and go again).
 */
function resolveOnce(p: string): { done: boolean; path: string } {
  const comps = p.split("/").filter((c) => c !== "" && c !== ".");
  for (let k = comps.length; k >= 0; k--) {
    const ancestor = "/" + comps.slice(0, k).join("/");
    let real: string;
    try {
      real = fs.realpathSync.native(ancestor);
    } catch (e) {
      const c = code(e);
      if (c === "ENOENT" || c === "ENOTDIR") continue;
      if (c === "ELOOP") throw new Error(`resolveLinks: too many levels of symbolic links: ${ancestor}`);
      throw new Error(`resolveLinks: cannot resolve ${ancestor}: ${(e as Error).message}`);
    }
    if (k === comps.length) return { done: true, path: real };
    const rest = comps.slice(k + 1);
    const first = path.posix.join(real, comps[k] as string);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(first);
    } catch (e) {
      const c = code(e);
      if (c !== "ENOENT" && c !== "ENOTDIR") throw new Error(`resolveLinks: cannot inspect ${first}: ${(e as Error).message}`);
    }
    if (st?.isSymbolicLink()) {
      // A dangling symlink (realpath failed through it): follow it by hand.
      const to = fs.readlinkSync(first);
      return { done: false, path: path.posix.resolve(real, to, ...rest) };
    }
    return { done: true, path: path.posix.join(first, ...rest) };
  }
  // Not even `/` resolved: nothing to follow.
  return { done: true, path: p };
}

/**
 * Every reading of a canonical request path, resolved: the literal one and, when the input had
 * percent-escapes, the decoded one. Each pair's `link` is the lexical path and its `target` is where
 * the kernel would land (keeping `..` after symlinks). Judge them all: a deny applies when it matches
 * any link or target; an allow only when it matches every link and every target. Throws as
 * resolveLinks does.
 */
export function resolveRequest(c: { path: string; physical?: string; decoded?: string; decodedPhysical?: string }): LinkPair[] {
  const views = [withLink(c.path, c.physical)];
  if (c.decoded !== undefined) views.push(withLink(c.decoded, c.decodedPhysical));
  return views;
}

function withLink(lexical: string, physical: string | undefined): LinkPair {
  return { link: lexical, target: resolveLinks(physical ?? lexical).target };
}

/**
 * ctx with realCwd, realHome and realSettingsRoot filled in (I/O), so that anchored rules also match
 * resolved targets when one of these directories is reached through a symlink. A directory that
 * cannot be resolved keeps its own spelling.
 */
export function resolveContext<T extends PathRuleContext>(ctx: T): T {
  const real = (dir: string): string => {
    try {
      return resolveLinks(dir).target;
    } catch {
      return dir;
    }
  };
  return { ...ctx, realCwd: real(ctx.cwd), realHome: real(ctx.home), realSettingsRoot: real(ctx.settingsRoot) };
}

/**
 * The real PolicyEnvironment: the process's home and platform, resolveLinks on the real filesystem,
 * and `isDirectory` (used by the Grep judge to tell a search of one file from a search of a tree;
 * undefined when it cannot tell, which is judged as a directory).
 */
export function fsEnvironment(options: { home?: string; platform?: NodeJS.Platform; protectedPaths?: string[] } = {}): PolicyEnvironment & {
  isDirectory(absPath: string): boolean | undefined;
  walk: NonNullable<PolicyEnvironment["walk"]>;
} {
  return {
    home: options.home ?? os.homedir(),
    platform: options.platform ?? process.platform,
    resolveLinks,
    protectedPaths: options.protectedPaths ?? [],
    isDirectory(absPath) {
      try {
        return fs.statSync(absPath).isDirectory();
      } catch (e) {
        const c = code(e);
        return c === "ENOENT" || c === "ENOTDIR" ? false : undefined;
      }
    },
    walk,
  };
}

/** See PolicyEnvironment.walk. An unreadable directory makes the walk "incomplete" (fail closed). */
function walk(dir: string, visit: (absPath: string, kind: "file" | "dir" | "symlink") => boolean, limit: number, maxDepth = Infinity): "complete" | "stopped" | "incomplete" {
  const queue: [string, number][] = [[dir, 1]];
  let seen = 0;
  for (let i = 0; i < queue.length; i++) {
    const [d, depth] = queue[i] as [string, number];
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      // The start itself missing: nothing is there. Anything else cannot be known.
      if (i === 0 && code(e) === "ENOENT") return "complete";
      if (i === 0 && code(e) === "ENOTDIR") return visit(d, "file") ? "stopped" : "complete";
      return "incomplete";
    }
    for (const ent of entries) {
      if (++seen > limit) return "incomplete";
      const abs = path.posix.join(d, ent.name);
      const kind = ent.isSymbolicLink() ? "symlink" : ent.isDirectory() ? "dir" : "file";
      if (visit(abs, kind)) return "stopped";
      if (kind === "dir" && depth < maxDepth) queue.push([abs, depth + 1]);
    }
  }
  return "complete";
}
