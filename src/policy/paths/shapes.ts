// Could a glob that is not expanded yet (a shell's `src/*.ts`, a Grep over a directory) reach a path
// that a rule covers? Both are compared as "shapes": a list of path components from `/`, each a
// literal name, a one-component glob, or `**` (any number of components). Pure: no I/O.
//
// The answer errs towards "yes": it is used to deny or ask, so a false "yes" costs a prompt and a
// false "no" is a bypass. Two one-component globs are compared only by their literal beginnings and
// endings (and bash's rule that `*` does not match a leading dot); when those agree they are taken to
// overlap. A glob's components that turn out to be symlinks cannot be seen here (that needs a
// directory listing): only the literal directory prefix is resolved, by the caller.
import picomatch from "picomatch/posix.js";
import { fold } from "../glob.js";
import { toPicomatchGlob } from "./rules.js";
import type { CompiledPathRule } from "./rules.js";

/** One path component of a shape. */
export interface Seg {
  /** `**`: zero or more components. */
  any?: true;
  /** A literal name. */
  lit?: string;
  /** For a glob component: whether it matches a name, case-sensitive and case-insensitive. */
  re?: RegExp;
  reI?: RegExp;
  /** The literal text before the first and after the last glob character of a glob component. */
  prefix: string;
  suffix: string;
  /** bash: a wildcard does not match a leading `.` unless the component starts with a literal `.`. */
  dotForbidden: boolean;
}

export interface Shape {
  segs: Seg[];
  /** Compare names against this shape ignoring case (deny rules on macOS/Windows, protected names). */
  nocase: boolean;
}

const ANY: Seg = { any: true, prefix: "", suffix: "", dotForbidden: false };
const MATCH_ALL: Seg = { re: /^/, reI: /^/, prefix: "", suffix: "", dotForbidden: false };

export function litSeg(name: string): Seg {
  return { lit: name, prefix: name, suffix: name, dotForbidden: false };
}

export function anySeg(): Seg {
  return ANY;
}

/** Most alternatives a brace expansion may produce before the caller must assume the worst. */
const MAX_ALTERNATIVES = 64;

/**
 * `{a,b}` alternatives, expanded (nested, `\` escapes respected); a group without a top-level comma is
 * literal text. undefined when there would be more than MAX_ALTERNATIVES.
 */
export function expandBraces(s: string): string[] | undefined {
  // Find the first group with a top-level comma.
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c !== "{") continue;
    let depth = 0;
    const commas: number[] = [];
    let end = -1;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === "\\") {
        j++;
        continue;
      }
      if (d === "{") depth++;
      else if (d === "}") {
        depth--;
        if (depth === 0) {
          end = j;
          break;
        }
      } else if (d === "," && depth === 1) commas.push(j);
    }
    if (end < 0) return [s]; // unbalanced: literal
    if (commas.length === 0) continue; // `{x}`: literal
    const head = s.slice(0, i);
    const tail = s.slice(end + 1);
    const bounds = [i, ...commas, end];
    const out: string[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      const alt = s.slice((bounds[k] as number) + 1, bounds[k + 1]);
      const expanded = expandBraces(head + alt + tail);
      if (expanded === undefined) return undefined;
      out.push(...expanded);
      if (out.length > MAX_ALTERNATIVES) return undefined;
    }
    return out;
  }
  return [s];
}

const SPECIAL = /[*?[\]{}\\]/;

/** The literal text before the first and after the last special character. */
function literalEnds(s: string): { prefix: string; suffix: string } {
  let first = s.search(SPECIAL);
  if (first < 0) first = s.length;
  let last = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if (SPECIAL.test(s[i] as string)) {
      last = i;
      break;
    }
  }
  return { prefix: s.slice(0, first), suffix: last < 0 ? s : s.slice(last + 1) };
}

const RULE_GLOB_CHARS = /[*?[\]{}\\]/;
const PM = { dot: true, strictBrackets: true, nonegate: true, noextglob: true } as const;

/** A component of a path rule's pattern (picomatch syntax via toPicomatchGlob, dot files match). */
function ruleSeg(s: string): Seg {
  if (s === "**") return ANY;
  if (!RULE_GLOB_CHARS.test(s)) return litSeg(s);
  const pg = toPicomatchGlob(s);
  return { re: picomatch.makeRe(pg, PM), reI: picomatch.makeRe(pg, { ...PM, nocase: true }), ...literalEnds(s), dotForbidden: false };
}

const shapeCache = new WeakMap<CompiledPathRule, Shape[]>();

/**
 * The paths a rule's fail-closed reading (matches()) covers, as shapes: the anchor directory, the
 * pattern, then `**` (a match covers everything under it); a bare name is `**` / name / `**`.
 */
export function ruleShapes(rule: CompiledPathRule): Shape[] {
  const cached = shapeCache.get(rule);
  if (cached) return cached;
  const { bases, glob, insensitive } = rule.layout;
  const anywhere = rule.anchor === "anywhere";
  let patterns: Seg[][];
  try {
    const alts = glob === "" ? [""] : expandBraces(glob);
    if (alts === undefined) throw new Error("too many alternatives");
    patterns = alts.map((a) => a.split("/").filter((c) => c !== "" && c !== ".").map(ruleSeg));
  } catch {
    // Cannot take the pattern apart: assume it covers everything under its anchor.
    patterns = [[ANY]];
  }
  const out: Shape[] = [];
  for (const p of patterns) {
    if (anywhere) out.push({ segs: [ANY, ...p, ANY], nocase: insensitive });
    else for (const b of bases) out.push({ segs: [...b.map(litSeg), ...p, ANY], nocase: insensitive });
  }
  shapeCache.set(rule, out);
  return out;
}

/** bash pattern matching for one component: `*`, `?`, `[…]` (`!`/`^` negate), `\` escapes; a leading `.` must be literal. */
function bashSeg(s: string): Seg {
  if (s === "**") return ANY; // globstar; without it `**` is `*`, which this covers
  // extglob (`@(a|b)`, `!(x)`) or a leftover brace group (`{1..3}`): cannot be read here, match anything.
  if (/[?*+@!]\(/.test(s) || /[{}]/.test(s)) return { ...MATCH_ALL, ...literalEnds(s) };
  let re = "";
  let literal = true;
  let unescaped = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\" && i + 1 < s.length) {
      const n = s[++i] as string;
      re += escapeRe(n);
      unescaped += n;
      continue;
    }
    if (c === "*") {
      re += "[^/]*";
      literal = false;
      continue;
    }
    if (c === "?") {
      re += "[^/]";
      literal = false;
      continue;
    }
    if (c === "[") {
      let j = i + 1;
      if (s[j] === "!" || s[j] === "^") j++;
      if (s[j] === "]") j++;
      while (j < s.length && s[j] !== "]") j++;
      if (j < s.length) {
        let body = s.slice(i + 1, j);
        const neg = body.startsWith("!") || body.startsWith("^");
        if (neg) body = body.slice(1);
        re += `[${neg ? "^" : ""}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
        literal = false;
        i = j;
        continue;
      }
    }
    re += escapeRe(c);
    unescaped += c;
  }
  if (literal) return litSeg(unescaped);
  const dotForbidden = !s.startsWith(".");
  const src = `^${dotForbidden ? "(?!\\.)" : ""}${re}$`;
  try {
    return { re: new RegExp(src, "u"), reI: new RegExp(src, "iu"), ...literalEnds(s), dotForbidden };
  } catch {
    return { ...MATCH_ALL, ...literalEnds(s), dotForbidden };
  }
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * The shapes of a shell glob, made absolute (cwd, `~`), `.` and `..` resolved, braces expanded.
 * undefined when it cannot be read conservatively (`~user`, `..` after a glob component, too many
 * alternatives): the caller must assume the worst.
 */
export function bashGlobShapes(pattern: string, cwd: string, home: string): Seg[][] | undefined {
  let p = pattern.normalize("NFC");
  if (p === "~" || p.startsWith("~/")) p = home + p.slice(1);
  else if (p.startsWith("~")) return undefined;
  if (!p.startsWith("/")) p = `${cwd}/${p}`;
  const alts = expandBraces(p);
  if (alts === undefined) return undefined;
  const out: Seg[][] = [];
  for (const alt of alts) {
    const segs: Seg[] = [];
    for (const c of alt.split("/")) {
      if (c === "" || c === ".") continue;
      if (c === "..") {
        const prev = segs[segs.length - 1];
        if (prev === undefined) continue; // `..` at `/` stays at `/`
        if (prev.lit === undefined) return undefined;
        segs.pop();
        continue;
      }
      segs.push(bashSeg(c));
    }
    out.push(segs);
  }
  return out;
}

/** A literal absolute path as a shape (its components). */
export function pathSegs(absPath: string): Seg[] {
  return absPath
    .normalize("NFC")
    .split("/")
    .filter((c) => c !== "" && c !== ".")
    .map(litSeg);
}

/** The leading literal components of a shape. */
export function literalPrefix(segs: readonly Seg[]): string[] {
  const out: string[] = [];
  for (const s of segs) {
    if (s.lit === undefined) break;
    out.push(s.lit);
  }
  return out;
}

function sameText(a: string, b: string, nocase: boolean): boolean {
  return nocase ? fold(a) === fold(b) : a === b;
}

function segMatches(glob: Seg, name: string, nocase: boolean): boolean {
  const re = nocase ? glob.reI : glob.re;
  return re === undefined ? true : re.test(name);
}

/** Could one component match both? */
function compatible(a: Seg, b: Seg, nocase: boolean): boolean {
  if (a.lit !== undefined && b.lit !== undefined) return sameText(a.lit, b.lit, nocase);
  if (a.lit !== undefined) return segMatches(b, a.lit, nocase);
  if (b.lit !== undefined) return segMatches(a, b.lit, nocase);
  const f = nocase ? fold : (s: string) => s;
  const pa = f(a.prefix);
  const pb = f(b.prefix);
  const n = Math.min(pa.length, pb.length);
  if (pa.slice(0, n) !== pb.slice(0, n)) return false;
  const sa = f(a.suffix);
  const sb = f(b.suffix);
  const m = Math.min(sa.length, sb.length);
  if (sa.slice(sa.length - m) !== sb.slice(sb.length - m)) return false;
  if (a.dotForbidden && pb.startsWith(".")) return false;
  if (b.dotForbidden && pa.startsWith(".")) return false;
  return true;
}

/** Whether some path is matched by both lists of components (`**` matches any number of them). */
export function overlaps(a: readonly Seg[], b: readonly Seg[], nocase: boolean): boolean {
  const width = b.length + 1;
  const seen = new Uint8Array((a.length + 1) * width);
  const stack: number[] = [0, 0];
  while (stack.length > 0) {
    const j = stack.pop() as number;
    const i = stack.pop() as number;
    const key = i * width + j;
    if (seen[key]) continue;
    seen[key] = 1;
    if (i === a.length && j === b.length) return true;
    const x = a[i];
    const y = b[j];
    if (x?.any) {
      stack.push(i + 1, j); // `**` matches nothing more
      if (y !== undefined) stack.push(i, j + 1); // `**` takes the component y takes
    }
    if (y?.any) {
      stack.push(i, j + 1);
      if (x !== undefined) stack.push(i + 1, j);
    }
    if (x !== undefined && y !== undefined && !x.any && !y.any && compatible(x, y, nocase)) stack.push(i + 1, j + 1);
  }
  return false;
}

/** Whether a glob (its alternatives) could match a path a shape covers. */
export function globMeetsShape(glob: readonly Seg[][], shape: Shape): boolean {
  return glob.some((g) => overlaps(g, shape.segs, shape.nocase));
}
