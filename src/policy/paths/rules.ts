// Path rules for the file tools (`Read(…)`, `Edit(…)`, `Write(…)`): gitignore-style patterns with
// Claude Code's anchors. Pure: no I/O. Paths are POSIX paths, already canonical (canonical.ts) and,
// for symlinks, resolved (links.ts).
//
// Anchors (the specifier is the text between the parentheses):
//   `//x`        absolute: `/x`
//   `~/x`, `~`   under the home directory
//   `/x`         under the settings file's root (`settingsRoot`, an explicit input)
//   `./x`, `.`   under the working directory
//   `a/b`        under the working directory (any `/` other than a trailing one anchors)
//   `x`, `x/`    a bare name: matches a path component at any depth (see "Two readings" below)
//
// Matching is gitignore-style, by path components: `*`, `?` and `[…]` never cross `/`, `**` crosses
// directories, dot files match like any other (picomatch `dot: true`). The anchor directory is compared
// component by component, never as a string prefix: `/home/u/project2` is not under `/home/u/project`.
// `.`/`..` in a pattern are resolved against the literal part before them (`./../shared/**` is the
// cwd's sibling `shared`); a `..` after a glob segment is an error. Glob syntax is fnmatch's (`*`, `?`,
// `[…]`, `[!…]`, `\` escapes) plus `**` and `{a,b}`; parentheses, `|`, `+`, `@` and `!` are literal (no
// extglobs; a leading `!` is not a negation, which would turn a deny into "everything else"). An
// anchor alone (`//`, `~`, `/`, `.`) covers its directory and everything under it. A trailing `/` cannot restrict a pattern to directories here
// (that needs I/O): `dir/` covers the path `dir` and everything under it.
//
// Two readings of one rule, because a deny that misses is a bypass while an allow that misses only
// costs a prompt:
//   matches()          for deny and ask rules (fail closed):
//                      - a pattern that matches a path also covers everything under it (gitignore:
//                        ignoring a directory ignores its contents): a deny of `./src/*` or of `secrets`
//                        covers `src/a/b.ts` and `secrets/a/b`;
//                      - a bare name matches a component anywhere on the system, not only under cwd
//                        (a deny of `.env` covers `/etc/app/.env`);
//                      - on a case-insensitive platform (darwin, win32) case is ignored.
//   matchesForAllow()  for allow rules (narrow):
//                      - the whole path must match (`*` means one level: an allow of `./src/*` does not
//                        cover `src/a/b.ts`); only a trailing-`/` pattern, `dir/**` or an anchor alone
//                        covers a whole tree;
//                      - a bare name matches the basename of a path under the working directory
//                        (gitignore semantics for a pattern relative to the project), or with a
//                        trailing `/` any directory of that name under it;
//                      - case always counts (an allow of `./src/**` does not cover `./SRC/x`, even on
//                        macOS: a prompt).
import path from "node:path";
import picomatch from "picomatch/posix.js";
import { fold } from "../glob.js";

export interface PathRuleContext {
  cwd: string;
  home: string;
  settingsRoot: string;
  /**
   * The same directories with symlinks resolved (see resolveContext in links.ts), so that a rule
   * anchored at a symlinked cwd (macOS `/var` → `/private/var`) also matches resolved targets. An
   * anchored rule matches under either spelling of its anchor. Optional: absent means "same".
   */
  realCwd?: string;
  realHome?: string;
  realSettingsRoot?: string;
}

export interface PathRuleOptions {
  /** Decides case sensitivity of the fail-closed reading. Defaults to process.platform. */
  platform?: NodeJS.Platform;
}

export type PathAnchor = "absolute" | "home" | "settings" | "cwd" | "anywhere";

export interface CompiledPathRule {
  /** Write rules compile to Edit rules. */
  tool: "Read" | "Edit";
  /** `Tool(specifier)`, with Write spelled Edit. */
  text: string;
  anchor: PathAnchor;
  /** The fail-closed reading, for deny and ask rules. absPath: canonical, absolute. */
  matches(absPath: string): boolean;
  /** The narrow reading, for allow rules. absPath: canonical, absolute. */
  matchesForAllow(absPath: string): boolean;
  /** The pattern's structure, for comparing it with globs that are not expanded yet (shapes.ts). */
  layout: PathRuleLayout;
}

/** A compiled rule's pattern, taken apart. */
export interface PathRuleLayout {
  /** Anchor directories as components (the given and the resolved spelling); empty for bare names. */
  bases: readonly (readonly string[])[];
  /** The pattern after the anchor, `.` and `..` resolved; "" for an anchor alone. */
  glob: string;
  /** Whether the fail-closed reading ignores case (platform). */
  insensitive: boolean;
}

/** A path as asked for (link) and with symlinks resolved (target); equal when no link is involved. */
export interface LinkPair {
  link: string;
  target: string;
}

const GLOB_CHARS = /[*?[\]{}\\]/;

/** Outside brackets, characters picomatch would read as regex or extglob syntax; literal in a path rule. */
const LITERAL_OUTSIDE = new Set(["(", ")", "|", "+", "@", "!", "$", "^"]);

/**
 * The rule's glob syntax, spelled for picomatch. Path rules have gitignore/fnmatch globs: `*`, `?`,
 * `**`, `[…]` (with `!` or `^` to negate), `\` to escape, and `{a,b}` alternatives; every other
 * character is literal. picomatch would read `(…)` as a regex group (so `foo (copy).txt` would match
 * `foo copy.txt` and miss the real file), `+(…)`/`@(…)`/`!(…)` as extglobs, and `[!a]` not as a
 * negation: those are escaped or rewritten here. Throws on an unbalanced `{`/`}`; an unbalanced `[`
 * or `]` is passed on for picomatch's strictBrackets to reject (a literal one is written `\[`, `\]`).
 */
export function toPicomatchGlob(glob: string): string {
  let out = "";
  let braces = 0;
  let i = 0;
  while (i < glob.length) {
    const c = glob[i] as string;
    if (c === "\\") {
      out += glob.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === "[") {
      // fnmatch: a `]` right after `[`, `[!` or `[^` is a member, not the end.
      let j = i + 1;
      if (glob[j] === "!" || glob[j] === "^") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j += glob[j] === "\\" ? 2 : 1;
      if (j >= glob.length) {
        out += c;
        i++;
        continue;
      }
      let body = glob.slice(i + 1, j);
      if (body.includes("/")) throw new Error("a bracket expression cannot hold `/` (it never matches a separator)");
      if (body.startsWith("!")) body = "^" + body.slice(1);
      out += `[${body}]`;
      i = j + 1;
      continue;
    }
    if (c === "{") braces++;
    if (c === "}" && --braces < 0) throw new Error('Missing opening: "{" - use "\\}" to match literal characters');
    out += LITERAL_OUTSIDE.has(c) ? `\\${c}` : c;
    i++;
  }
  if (braces > 0) throw new Error('Missing closing: "}" - use "\\{" to match literal characters');
  return out;
}

/** Case-insensitive file systems by default; fail closed there for deny/ask. */
export function isCaseInsensitivePlatform(platform: NodeJS.Platform): boolean {
  return platform === "darwin" || platform === "win32";
}

/**
 * A path's NFC components, remembered for the last path: a judge tests one path against every rule in
 * turn, and splitting it again for each rule was most of the cost of a decision.
 */
let lastPath: string | undefined;
let lastComponents: readonly string[] = [];
function splitPath(absPath: string): readonly string[] {
  if (absPath !== lastPath) {
    lastComponents = Object.freeze(components(absPath.normalize("NFC")));
    lastPath = absPath;
  }
  return lastComponents;
}

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/** An anchor directory's components: NFC, with `.`, `..` and repeated separators resolved. */
function dirComponents(dir: string): string[] {
  return components(path.posix.normalize(dir.normalize("NFC")));
}

/** `..` above `/` stays at `/`, as for paths. */
function parentComponents(comps: string[]): string[] {
  return comps.slice(0, Math.max(0, comps.length - 1));
}

export function compilePathRule(
  tool: "Read" | "Edit" | "Write",
  specifier: string,
  ctx: PathRuleContext,
  options: PathRuleOptions = {},
): CompiledPathRule {
  const kind: "Read" | "Edit" = tool === "Read" ? "Read" : "Edit";
  const text = `${kind}(${specifier})`;
  const fail = (why: string): never => {
    throw new Error(`invalid path rule ${tool}(${specifier}): ${why}`);
  };
  if (typeof specifier !== "string" || specifier.length === 0) fail("empty pattern");
  if (specifier.includes("\0")) fail("pattern contains a NUL character");
  const dirs = [["cwd", ctx.cwd], ["home", ctx.home], ["settingsRoot", ctx.settingsRoot], ["realCwd", ctx.realCwd], ["realHome", ctx.realHome], ["realSettingsRoot", ctx.realSettingsRoot]] as const;
  for (const [name, dir] of dirs) {
    if (dir === undefined && name.startsWith("real")) continue;
    if (typeof dir !== "string" || !dir.startsWith("/")) fail(`${name} is not an absolute path: ${String(dir)}`);
  }
  const spec = specifier.normalize("NFC");

  let anchor: PathAnchor;
  let rest: string;
  if (spec.startsWith("//")) {
    anchor = "absolute";
    rest = spec.slice(2);
  } else if (spec === "~" || spec.startsWith("~/")) {
    anchor = "home";
    rest = spec.slice(2);
  } else if (spec.startsWith("/")) {
    anchor = "settings";
    rest = spec.slice(1);
  } else if (spec === "." || spec.startsWith("./")) {
    anchor = "cwd";
    rest = spec.slice(2);
  } else {
    rest = spec;
    anchor = spec.replace(/\/+$/, "").includes("/") ? "cwd" : "anywhere";
  }

  const baseDir: Record<Exclude<PathAnchor, "anywhere">, [string, string | undefined]> = {
    absolute: ["/", undefined],
    home: [ctx.home, ctx.realHome],
    settings: [ctx.settingsRoot, ctx.realSettingsRoot],
    cwd: [ctx.cwd, ctx.realCwd],
  };

  // Pattern segments, with `.`, `..` and empty segments resolved. `ups` counts `..` that climb above
  // the anchor directory.
  const segs: string[] = [];
  let ups = 0;
  for (const s of rest.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") {
      if (anchor === "anywhere") fail("`..` in a bare name");
      const prev = segs[segs.length - 1];
      if (prev === undefined) ups++;
      else if (GLOB_CHARS.test(prev)) fail("`..` after a glob segment");
      else segs.pop();
      continue;
    }
    segs.push(s);
  }
  if (anchor === "anywhere" && segs.length === 0) fail("empty pattern");
  const glob = segs.join("/");
  /** A trailing `/`: the pattern names a directory, so it covers everything under it in both readings. */
  const dirPattern = /\/$/.test(rest) && glob !== "";

  const insensitive = isCaseInsensitivePlatform(options.platform ?? process.platform);
  const pmBase = { dot: true, strictBrackets: true, nonegate: true, noextglob: true } as const;
  let exact: (s: string) => boolean = () => true;
  let loose: (s: string) => boolean = () => true;
  /** The pattern or anything under a match: `glob` or `glob/**`. */
  let exactTree: (s: string) => boolean = () => true;
  let looseTree: (s: string) => boolean = () => true;
  if (glob !== "") {
    try {
      const pg = toPicomatchGlob(glob);
      const re = picomatch.makeRe(pg, { ...pmBase });
      const reI = picomatch.makeRe(pg, { ...pmBase, nocase: true });
      const tree = picomatch.makeRe(`${pg}/**`, { ...pmBase });
      const treeI = picomatch.makeRe(`${pg}/**`, { ...pmBase, nocase: true });
      exact = (s) => re.test(s);
      loose = insensitive ? (s) => reI.test(s) : exact;
      exactTree = (s) => re.test(s) || tree.test(s);
      looseTree = insensitive ? (s) => reI.test(s) || treeI.test(s) : exactTree;
    } catch (e) {
      fail((e as Error).message);
    }
  }

  // Anchor directories as component lists: the given spelling and, when different, the resolved one.
  const bases: string[][] = [];
  if (anchor !== "anywhere") {
    for (const dir of baseDir[anchor]) {
      if (dir === undefined) continue;
      let comps = dirComponents(dir);
      for (let i = 0; i < ups; i++) comps = parentComponents(comps);
      if (!bases.some((b) => b.length === comps.length && b.every((c, j) => c === comps[j]))) bases.push(comps);
    }
  } else {
    // Bare names: the narrow reading matches under the working directory (either spelling).
    for (const dir of [ctx.cwd, ctx.realCwd]) {
      if (dir === undefined) continue;
      const comps = dirComponents(dir);
      if (!bases.some((b) => b.length === comps.length && b.every((c, j) => c === comps[j]))) bases.push(comps);
    }
  }
  const foldedBases = bases.map((b) => b.map(fold));

  /** The path's components after the base, or undefined when the path is not the base or under it. */
  const under = (comps: readonly string[], base: string[], nocase: boolean): string[] | undefined => {
    if (comps.length < base.length) return undefined;
    for (let i = 0; i < base.length; i++) {
      const a = comps[i] as string;
      if (nocase ? fold(a) !== base[i] : a !== base[i]) return undefined;
    }
    return comps.slice(base.length);
  };

  /**
   * rel (a path relative to the base) or one of its ancestors matches. One test of `glob/**` rather
   * than one test per ancestor: picomatch's regexes can backtrack, so the number of tests matters.
   */
  const relMatches = (rel: string[], tree: (s: string) => boolean): boolean => {
    if (glob === "") return true; // the anchor directory itself and everything under it
    return rel.length > 0 && tree(rel.join("/"));
  };

  const pathComponents = (absPath: string): readonly string[] => {
    if (typeof absPath !== "string" || !absPath.startsWith("/")) {
      throw new TypeError(`path rule ${text}: expected a canonical absolute path, got ${JSON.stringify(absPath)}`);
    }
    return splitPath(absPath);
  };

  const matches = (absPath: string): boolean => {
    const comps = pathComponents(absPath);
    if (anchor === "anywhere") return comps.some(loose);
    const bs = insensitive ? foldedBases : bases;
    for (const b of bs) {
      const rel = under(comps, b, insensitive);
      if (rel !== undefined && relMatches(rel, looseTree)) return true;
    }
    return false;
  };

  /**
   * The narrow reading: the whole path (relative to the anchor) must match, or its basename for a bare
   * name; only a trailing-`/` pattern (or a bare anchor like `./`) also covers what is under a match.
   */
  const allowRel = (rel: string[]): boolean => {
    if (glob === "") return true;
    if (rel.length === 0) return false;
    if (anchor === "anywhere") return dirPattern ? rel.some(exact) : exact(rel[rel.length - 1] as string);
    return dirPattern ? relMatches(rel, exactTree) : exact(rel.join("/"));
  };

  const matchesForAllow = (absPath: string): boolean => {
    const comps = pathComponents(absPath);
    for (const b of bases) {
      const rel = under(comps, b, false);
      if (rel === undefined) continue;
      if (allowRel(rel)) return true;
    }
    return false;
  };

  const layout: PathRuleLayout = { bases: anchor === "anywhere" ? [] : bases, glob, insensitive };
  return { tool: kind, text, anchor, matches, matchesForAllow, layout };
}

/** A deny (or ask) rule applies when it matches the path as asked for or its resolved target. */
export function denyMatches(rule: CompiledPathRule, p: LinkPair): boolean {
  return rule.matches(p.link) || (p.target !== p.link && rule.matches(p.target));
}

/** An allow rule applies only when it matches both the path as asked for and its resolved target. */
export function allowMatches(rule: CompiledPathRule, p: LinkPair): boolean {
  return rule.matchesForAllow(p.link) && (p.target === p.link || rule.matchesForAllow(p.target));
}

/**
 * Whether a rule of this kind and effect governs an access. An Edit rule covers every file-writing
 * tool; a Read rule covers reads; a Read deny or ask also covers writes to the same path (a file the
 * agent may not read, it may not overwrite either). An Edit allow does not grant reads.
 */
export function ruleCovers(rule: Pick<CompiledPathRule, "tool">, access: "read" | "write", effect: "allow" | "ask" | "deny"): boolean {
  if (rule.tool === "Edit") return access === "write";
  return access === "read" || effect !== "allow";
}
