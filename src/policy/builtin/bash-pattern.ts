// Bash rule patterns (Claude Code's `Bash(...)` specifiers and `denyCommands` entries), parsed with
// the same shell parser as the commands they judge, and the two ways of matching them:
//
//   allowMatches()  narrow: the command's words joined by single spaces must match the whole pattern,
//                   `*` matching any text, a trailing ` *` or `:*` any further words (word boundary:
//                   `ls *` and `ls:*` match `ls` and `ls -la`, not `lsof`). Case counts. A path-qualified
//                   program matches a bare-name pattern only from a standard system bin directory.
//                   An allowCommands entry is compiled with `prefix`: every stage gets that tail.
//   denyMatches()   fail closed, for deny and ask rules: the program (basename, any case) must match the
//                   pattern's first word; every other pattern word must be present: flags as a set
//                   (`-rf` is found in `-fr`, `-r -f`), other words in order with anything in between,
//                   paths normalized (`//` is `/`); extra words never prevent a match; a dynamic word
//                   (`$X`) or a glob (`/*`) of the command matches what it could expand to. Claude Code's
//                   own reading (the regex over the joined words) is tried as well, so a deny never
//                   matches less than it would there.
import path from "node:path";
import { fold } from "../glob.js";
import type { SimpleCommand } from "../shell/analyze.js";
import type { Program } from "../shell/ast.js";
import { parseShell } from "../shell/parser.js";
import { basename, expandWord } from "../shell/words.js";
import { SHELLS } from "../shell/wrappers.js";

/** Programs that run what they read as shell code: the right side `bash` of `curl * | bash` matches any of them. */
export const SHELL_LIKE: ReadonlySet<string> = new Set([...SHELLS, "source", ".", "eval"]);

/** A path-qualified program in one of these directories is the bare-name program for allow rules. */
export const SYSTEM_BIN_DIRS: ReadonlySet<string> = new Set(["/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin"]);

export interface PatternWord {
  /** After quote removal, as written. */
  text: string;
  /** Folded and, when path-like, normalized: the deny reading. */
  norm: string;
  star: boolean;
  /** For a word with `*`: anchored regex over a folded command word. */
  re?: RegExp;
  /** `-x`, `-rf`, `--force`: compared as a set, not in order. */
  flag: boolean;
}

export interface CommandPattern {
  /** Leading `NAME=value` words of the pattern. */
  assigns: PatternWord[];
  words: PatternWord[];
  /** `:*` or a trailing ` *`: any further words. */
  tail: boolean;
  /** No `*` anywhere and no tail: matches one command line only. */
  exact: boolean;
  /** Claude Code's reading over argv joined by single spaces. */
  allowRe: RegExp;
  /** The same over the folded words, program as basename. */
  denyRe: RegExp;
}

export type Pattern =
  /** `Bash`, `Bash(*)`: every command. */
  | { kind: "any" }
  | { kind: "command"; cmd: CommandPattern }
  /** `curl * | bash`: output of a command matching stage k reaching one matching stage k+1. */
  | { kind: "pipeline"; stages: CommandPattern[] }
  /** `a && b`, `a; b`: deny/ask when every part matches somewhere in the line. */
  | { kind: "list"; parts: Array<Extract<Pattern, { kind: "command" | "pipeline" }>> }
  /** `> /dev/sda`: a write to that path by any command (deny and ask only; see bash-intent.ts). */
  | { kind: "write"; path: string };

/** Thrown with the problem only; the caller names the rule and its source. */
export class PatternError extends Error {}

const REGEX_SPECIAL = /[.+?^${}()|[\]\\]/g;

/** Redirections that write; a pattern of one of them alone (`> /dev/sda`) is a write pattern. */
const WRITE_REDIRECTS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>"]);

function starRegex(text: string): string {
  return text
    .split("*")
    .map((s) => s.replace(REGEX_SPECIAL, "\\$&"))
    .join(".*");
}

/** Folds, and normalizes path-like words: `//` → `/`, `a/./b` → `a/b`, no trailing `/`. */
export function normWord(w: string): string {
  let s = fold(w);
  if (!s.includes("/")) return s;
  s = path.posix.normalize(s.replace(/\/{2,}/g, "/"));
  if (s.length > 1 && s.endsWith("/")) s = s.slice(0, -1);
  return s;
}

function patternWord(text: string): PatternWord {
  const star = text.includes("*");
  const norm = normWord(text);
  const w: PatternWord = { text, norm, star, flag: !star && text.length > 1 && text.startsWith("-") };
  if (star) w.re = new RegExp(`^${starRegex(norm)}$`, "s");
  return w;
}

function isIgnorableRedirect(op: string, target: string | undefined): boolean {
  if ((op === ">&" || op === "<&") && target !== undefined && /^(\d+|-)$/.test(target)) return true;
  return target === "/dev/null";
}

function commandPattern(node: Extract<Program["pipelines"][number]["cmds"][number], { t: "simple" }>, legacyTail: boolean): CommandPattern {
  for (const r of node.redirs) {
    const t = r.target ? expandWord(r.target).fields.map((f) => f.text).join(" ") : undefined;
    if (r.heredoc || !isIgnorableRedirect(r.op, t))
      throw new PatternError(`redirections are not matched (${r.op}${t ?? ""}): a Bash rule matches a command's words; use Read(...)/Edit(...) rules for files`);
  }
  const texts: string[] = [];
  for (const w of node.words) {
    const e = expandWord(w);
    if (e.tooMany) throw new PatternError("brace expansion gives too many words");
    texts.push(...e.fields.map((f) => f.text));
  }
  let tail = legacyTail;
  if (texts.length > 1 && texts[texts.length - 1] === "*") {
    texts.pop();
    tail = true;
  }
  if (texts.length === 0) throw new PatternError("the pattern has no command word");
  const assigns = node.assigns.map((a) => patternWord(expandWord(a).fields.map((f) => f.text).join(" ")));
  const words = texts.map(patternWord);
  const exact = !tail && !words.some((w) => w.star) && !assigns.some((a) => a.star);
  const tailRe = tail ? "(?: .*)?" : "";
  const allowRe = new RegExp(`^${starRegex(texts.join(" "))}${tailRe}$`, "s");
  const first = texts[0] as string;
  const denyTexts = [fold(first.includes("*") ? first : basename(first)), ...texts.slice(1).map(fold)];
  const denyRe = new RegExp(`^${starRegex(denyTexts.join(" "))}${tailRe}$`, "s");
  return { assigns, words, tail, exact, allowRe, denyRe };
}

/**
 * Compiles a specifier (undefined: every command). Throws PatternError with the problem. `prefix`
 * (allowCommands entries): every command of the pattern also matches with further words after it,
 * as if each ended in ` *`; such a pattern is never exact.
 */
export function compilePattern(specifier: string | undefined, options: { prefix?: boolean } = {}): Pattern {
  if (specifier === undefined || specifier.trim() === "*") return { kind: "any" };
  let spec = specifier;
  let legacyTail = false;
  // Claude Code's legacy prefix form: `npm run test:*` is `npm run test` plus any further words.
  if (spec.endsWith(":*")) {
    spec = spec.slice(0, -2);
    legacyTail = true;
  }
  let prog: Program;
  try {
    prog = parseShell(spec);
  } catch (e) {
    throw new PatternError(`it does not parse as a shell command: ${(e as Error).message}`);
  }
  if (prog.pipelines.length === 0) throw new PatternError("the pattern has no command");
  const only = prog.pipelines.length === 1 && prog.pipelines[0]?.cmds.length === 1 ? prog.pipelines[0].cmds[0] : undefined;
  if (only?.t === "simple" && only.words.length === 0 && only.assigns.length === 0 && only.redirs.length === 1 && !legacyTail) {
    const r = only.redirs[0] as (typeof only.redirs)[number];
    const fields = r.target ? expandWord(r.target).fields : [];
    if (!r.heredoc && WRITE_REDIRECTS.has(r.op) && fields.length === 1) {
      const t = (fields[0] as { text: string }).text;
      if (t.startsWith("/") && !t.includes("$")) return { kind: "write", path: path.posix.normalize(t.replace(/\/{2,}/g, "/")) };
    }
    throw new PatternError("a redirection alone names a write to a file: write it as `> /absolute/path`");
  }
  const parts: Array<Extract<Pattern, { kind: "command" | "pipeline" }>> = prog.pipelines.map((p, pk) => {
    const stages = p.cmds.map((c, ck) => {
      if (c.t !== "simple") throw new PatternError(`a '${c.kind}' construct cannot be a pattern; write the commands it runs as separate rules`);
      const last = pk === prog.pipelines.length - 1 && ck === p.cmds.length - 1;
      return commandPattern(c, (legacyTail && last) || options.prefix === true);
    });
    return stages.length === 1 ? { kind: "command", cmd: stages[0] as CommandPattern } : { kind: "pipeline", stages };
  });
  return parts.length === 1 ? (parts[0] as Pattern) : { kind: "list", parts };
}

/** Every program word of a pattern (folded basenames), for "could this rule match this text?". */
export function patternPrograms(p: Pattern): string[][] {
  // One list per alternative that must all appear; a `*` program is "any".
  const progs = (c: CommandPattern): string => {
    const w = c.words[0] as PatternWord;
    return w.star ? "*" : fold(basename(w.text));
  };
  switch (p.kind) {
    case "any":
      return [["*"]];
    case "command":
      return [[progs(p.cmd)]];
    case "pipeline":
      return [p.stages.map(progs)];
    case "list":
      return [p.parts.flatMap((q) => patternPrograms(q).flat())];
    case "write":
      // The file's name must appear in a text for the rule to be able to match it.
      return [[fold(basename(p.path)) || "*"]];
  }
}

// ---------------------------------------------------------------------------------------------
// The deny reading.

/** A command prepared once for the deny reading of every rule. */
export interface DenyView {
  program: string;
  /** argv[1..], folded and normalized. */
  words: string[];
  /** Per word: a parameter or substitution (matches anything it could expand to). */
  dynamic: boolean[];
  glob: boolean[];
  /** Letters of every single-dash word (`-rf` gives r and f). */
  shortFlags: Set<string>;
  /** Folded `program arg...` (raw words) and the normalized variant. */
  joined: string[];
  assigns: string[];
}

/**
 * Long options that mean the same as a short one in nearly every program that has them, so that a
 * deny of `rm -rf /` also sees `rm --recursive --force /` (deny reading only: it can only add matches).
 */
const LONG_FLAG_LETTERS: Readonly<Record<string, string>> = { "--recursive": "r", "--force": "f" };

/** The argument `xargs` appends at run time, or find -exec's `{}`: could be any word. */
const RUN_TIME_WORD = "$(run-time argument)";

export function denyView(c: SimpleCommand): DenyView {
  const dyn = new Set(c.dynamicArgs);
  const globs = new Set(c.globArgs);
  let raw = c.argv.slice(1);
  raw.forEach((w, k) => {
    if (c.source === "find -exec" && w.includes("{}")) dyn.add(k + 1);
  });
  if (c.argsFromInput) {
    dyn.add(raw.length + 1);
    raw = [...raw, RUN_TIME_WORD];
  }
  const words = raw.map(normWord);
  const shortFlags = new Set<string>();
  for (const w of raw) {
    if (/^-[^-]/.test(w)) for (const ch of fold(w.slice(1))) shortFlags.add(ch);
    const letter = LONG_FLAG_LETTERS[fold(w)];
    if (letter) shortFlags.add(letter);
  }
  const program = fold(c.program);
  const joinedRaw = [program, ...raw.map(fold)].join(" ");
  const joinedNorm = [program, ...words].join(" ");
  return {
    program,
    words,
    dynamic: raw.map((_, k) => dyn.has(k + 1) && !globs.has(k + 1)),
    glob: raw.map((_, k) => globs.has(k + 1)),
    shortFlags,
    joined: joinedRaw === joinedNorm ? [joinedRaw] : [joinedRaw, joinedNorm],
    assigns: c.assignments.map(fold),
  };
}

const DYNAMIC_PIECE = /\$\(.*\)|`.*`|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?$!-]|[*?]|\[[^\]]*\]|\{\}/gs;

/** A regex for what a dynamic or glob word could become: its dynamic pieces match anything. */
function wildcardWord(w: string): RegExp {
  const pieces: string[] = [];
  let last = 0;
  for (const m of w.matchAll(DYNAMIC_PIECE)) {
    pieces.push(w.slice(last, m.index).replace(REGEX_SPECIAL, "\\$&"), ".*");
    last = (m.index as number) + m[0].length;
  }
  pieces.push(w.slice(last).replace(REGEX_SPECIAL, "\\$&"));
  return new RegExp(`^${pieces.join("")}$`, "s");
}

/** `/*` and `/tmp/*.log` also stand for their directory (`rm -rf /*` is `rm -rf /` in effect). */
function globParent(w: string): string | undefined {
  const g = w.search(/[*?[]/);
  if (g < 0) return undefined;
  const slash = w.lastIndexOf("/", g);
  if (slash < 0) return undefined;
  return slash === 0 ? "/" : w.slice(0, slash);
}

function wordMatches(pw: PatternWord, v: DenyView, k: number): boolean {
  const cw = v.words[k] as string;
  if (v.dynamic[k] || v.glob[k]) {
    if (pw.star) return true;
    if (wildcardWord(cw).test(pw.norm)) return true;
    return v.glob[k] === true && globParent(cw) === pw.norm;
  }
  return pw.star ? (pw.re as RegExp).test(cw) : pw.norm === cw;
}

function flagPresent(pw: PatternWord, v: DenyView): boolean {
  const f = pw.norm;
  // A dynamic word could be any flag.
  if (v.dynamic.some(Boolean)) return true;
  if (f.startsWith("--")) {
    const eq = f.indexOf("=");
    const name = eq < 0 ? f : f.slice(0, eq);
    return v.words.some((w) => {
      if (w === f) return true;
      if (eq < 0 && w.startsWith(`${f}=`)) return true;
      // getopt_long accepts unambiguous abbreviations: `--no-preserve` may be `--no-preserve-root`.
      const wname = w.includes("=") ? w.slice(0, w.indexOf("=")) : w;
      return eq < 0 && wname.length >= 4 && wname.startsWith("--") && name.startsWith(wname);
    });
  }
  if (v.words.includes(f)) return true;
  for (const ch of f.slice(1)) if (!v.shortFlags.has(ch)) return false;
  return true;
}

function programMatches(pw: PatternWord, program: string, shellClass: boolean): boolean {
  if (pw.star) return (pw.re as RegExp).test(program);
  const want = fold(basename(pw.text));
  if (shellClass && SHELL_LIKE.has(want)) return SHELL_LIKE.has(program);
  return want === program;
}

function assignsPresent(p: CommandPattern, v: DenyView): boolean {
  return p.assigns.every((a) => v.assigns.some((x) => (a.star ? (a.re as RegExp).test(x) : fold(a.text) === x)));
}

/** The deny/ask reading. `shellClass`: a shell program in the pattern stands for every SHELL_LIKE program. */
export function denyMatches(p: CommandPattern, v: DenyView, shellClass = false): boolean {
  if (v.program === "") return false;
  if (!programMatches(p.words[0] as PatternWord, v.program, shellClass)) return false;
  if (!assignsPresent(p, v)) return false;
  if (structuredMatch(p, v)) return true;
  return !shellClass && v.joined.some((j) => p.denyRe.test(j));
}

function structuredMatch(p: CommandPattern, v: DenyView): boolean {
  let pos = 0;
  for (const pw of p.words.slice(1)) {
    if (pw.text === "*") continue;
    if (pw.flag) {
      if (!flagPresent(pw, v)) return false;
      continue;
    }
    let k = pos;
    while (k < v.words.length && !wordMatches(pw, v, k)) k++;
    if (k >= v.words.length) return false;
    pos = k + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The allow reading.

/** The strings an allow pattern is matched against: argv joined, and with a system-bin program as its basename. */
export function allowStrings(c: SimpleCommand): string[] {
  const argv0 = c.argv[0];
  if (argv0 === undefined) return [];
  const out = [c.argv.join(" ")];
  if (argv0.includes("/")) {
    const dir = path.posix.dirname(path.posix.normalize(argv0));
    if (SYSTEM_BIN_DIRS.has(dir) && !c.dynamicArgs.includes(0)) out.push([basename(argv0), ...c.argv.slice(1)].join(" "));
  }
  return out;
}

export function allowMatches(p: CommandPattern, strings: readonly string[]): boolean {
  return strings.some((s) => p.allowRe.test(s));
}
