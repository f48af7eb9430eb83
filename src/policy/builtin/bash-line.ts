// What the Bash judge (bash.ts) knows about a line beyond one command: the units it judges (commands
// of the line and of option values that are command lines), here-documents a command reads as its
// program, the directories the line may change to, what find and xargs hand a command at run time,
// and HOME references. Pure functions of the parsed line.
import type { CompoundRedirects, Flow, SimpleCommand } from "../shell/index.js";
import { fold } from "../glob.js";
import { DECLARING_BUILTINS, isSafeAssignment } from "./bash-env.js";
import type { ExecArgFinding } from "./bash-exec-args.js";
import type { Effect } from "./bash-intent.js";
import type { CommandPattern, DenyView } from "./bash-pattern.js";
import type { FileAccess } from "./types.js";

/** One command to judge: from the line, or from an option value that is a command line. */
export interface Unit {
  cmd: SimpleCommand;
  parent?: number;
  /** Came from an option's value (`go test -exec VALUE`), not from the line itself. */
  fromValue: boolean;
  depth: number;
  findings: ExecArgFinding[];
  view?: DenyView;
}

export interface Line {
  units: Unit[];
  flows: Flow[];
  compoundRedirects: CompoundRedirects[];
  /** Deletions and writes of the line, computed when a rule has an intent. */
  effects?: Effect[];
}

/** A here-document or here-string a command (or the wrapper around it) reads as its program. */
export function stdinText(line: Line, i: number): string | undefined {
  for (let k: number | undefined = i; k !== undefined; k = line.units[k]?.parent) {
    const u = line.units[k] as Unit;
    const r = [...u.cmd.redirects].reverse().find((x) => (x.fd === undefined || x.fd === 0) && (x.op === "<<" || x.op === "<<-" || x.op === "<<<"));
    if (r) return r.target ?? "";
    if (u.cmd.source !== "wrapper") break;
  }
  return undefined;
}

/** Builtins that change the shell's directory, which later calls of the session inherit. */
export const DIRECTORY_CHANGERS: ReadonlySet<string> = new Set(["cd", "pushd", "popd"]);

/**
 * The directory `cd`/`pushd` changes to, as written (`~`, relative or absolute); undefined when it
 * cannot be known before the line runs: `-` (OLDPWD), `+N`/`-N` (the directory stack), `popd`, a
 * `pushd` without operand, a word that is not static, more than one operand. A relative operand is
 * judged against the cwd; CDPATH, which bash may search first, is not known here, and the next call's
 * cwd is judged again anyway.
 */
export function directoryOperand(c: SimpleCommand): string | undefined {
  if (c.program === "popd") return undefined;
  let k = 1;
  while (k < c.argv.length && /^-[LPe@]+$/.test(c.argv[k] as string)) k++;
  const ended = c.argv[k] === "--";
  if (ended) k++;
  const operands = c.argv.length - k;
  if (operands === 0) return c.program === "cd" ? "~" : undefined;
  const t = c.argv[k] as string;
  if (operands > 1 || c.dynamicArgs.includes(k) || t === "" || (!ended && t.startsWith("-")) || /^[+-]\d+$/.test(t)) return undefined;
  return t;
}

/** `NAME=value` settings of a command: leading assignments and the arguments of export/declare/... */
export function variableSettings(c: SimpleCommand): string[] {
  const out = [...c.assignments];
  if (DECLARING_BUILTINS.has(c.program)) for (const w of c.argv.slice(1)) if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) out.push(w);
  return out;
}

/** Assignments before a command: known-safe ones, or ones the pattern itself names. */
export function assignmentsAllowed(p: CommandPattern, c: SimpleCommand): boolean {
  const named = (a: string): boolean => p.assigns.some((x) => (x.star ? (x.re as RegExp).test(fold(a)) : x.text === a));
  if (!p.assigns.every((x) => c.assignments.some((a) => (x.star ? (x.re as RegExp).test(fold(a)) : x.text === a)))) return false;
  return c.assignments.every((a) => isSafeAssignment(a) || named(a));
}

/** Commands the output of `from` may reach, following flows transitively. Each flow is expanded once. */
export function reachable(from: number[], flows: Flow[], n: number): Set<number> {
  const byNode = new Map<number, number[]>();
  flows.forEach((f, k) => {
    for (let i = f.from[0]; i < f.from[1]; i++) {
      const list = byNode.get(i);
      if (list) list.push(k);
      else byNode.set(i, [k]);
    }
  });
  const seen = new Set<number>();
  const expanded = new Set<number>();
  const queue = [...from];
  while (queue.length > 0) {
    const i = queue.pop() as number;
    for (const k of byNode.get(i) ?? []) {
      if (expanded.has(k)) continue;
      expanded.add(k);
      const f = flows[k] as Flow;
      for (let j = f.to[0]; j < f.to[1] && j < n; j++) {
        if (seen.has(j)) continue;
        seen.add(j);
        queue.push(j);
      }
    }
  }
  return seen;
}

/** Tests of find's expression that only narrow what `-name` selects (anything else: we cannot tell). */
const FIND_NARROWING = /^-(type|maxdepth|mindepth|size|mtime|mmin|atime|amin|ctime|cmin|newer|empty|readable|writable|executable|perm|user|group|uid|gid|nouser|nogroup|xdev|mount|depth|follow|noleaf|print|print0|a|and|true|regextype|daystart|samefile|links|inum)$/;
const FIND_VALUE = /^-(type|maxdepth|mindepth|size|mtime|mmin|atime|amin|ctime|cmin|newer|perm|user|group|uid|gid|regextype|samefile|links|inum|name)$/;

/** What a find prints: `DIR/**\/NAME` per start directory for a plain `-name NAME` expression; undefined otherwise. */
export function findOutputs(c: SimpleCommand): Array<{ text: string; kind: "glob" }> | undefined {
  const argv = c.argv;
  const dyn = new Set(c.dynamicArgs);
  let k = 1;
  const dirs: string[] = [];
  while (k < argv.length && !/^[-(!]/.test(argv[k] as string)) {
    if (dyn.has(k)) return undefined;
    dirs.push(argv[k++] as string);
  }
  let name: string | undefined;
  for (; k < argv.length; k++) {
    const w = argv[k] as string;
    if (w === "-exec" || w === "-execdir" || w === "-ok" || w === "-okdir") break; // its own words follow
    if (dyn.has(k) || !FIND_NARROWING.test(w) && w !== "-name") return undefined;
    if (w === "-name") {
      if (name !== undefined || dyn.has(k + 1)) return undefined;
      name = argv[k + 1];
    }
    if (FIND_VALUE.test(w)) k++;
  }
  if (name === undefined || name.includes("/")) return undefined;
  return (dirs.length > 0 ? dirs : ["."]).map((d) => ({ text: `${d.replace(/\/+$/, "") || "/"}/**/${name}`, kind: "glob" }));
}

/** What find -exec's `{}` or the input xargs appends stands for, when a find produces it. */
export function runTimeWords(line: Line, i: number): Array<{ text: string; kind: "glob" }> | undefined {
  const u = line.units[i] as Unit;
  if (u.parent === undefined) return undefined;
  const p = line.units[u.parent] as Unit;
  if (u.cmd.source === "find -exec" && p.cmd.program === "find") return findOutputs(p.cmd);
  if (u.cmd.argsFromInput && p.cmd.program === "xargs" && p.cmd.stage && p.cmd.stage.index > 0) {
    const st = p.cmd.stage;
    const prev = line.units.find((x) => x.cmd.stage?.pipeline === st.pipeline && x.cmd.stage.index === st.index - 1 && x.fromValue === p.fromValue);
    if (prev && prev.cmd.program === "find" && !prev.cmd.unresolved) return findOutputs(prev.cmd);
  }
  return undefined;
}

const HOME_REF = /^(?:\$HOME|\$\{HOME\})(?=\/|$)/;

/** Whether the line leaves HOME alone (then `$HOME/x` is `~/x`). */
export function homeIsStatic(line: Line): boolean {
  const mentions = (w: string): boolean => /(^|[^$\w{])HOME\b/.test(w);
  return !line.units.some((u) => u.cmd.argv.some(mentions) || u.cmd.assignments.some(mentions));
}

export function resolveHome(a: FileAccess): FileAccess {
  if (a.kind !== "unknown" || !HOME_REF.test(a.path)) return a;
  const rest = a.path.replace(HOME_REF, "");
  if (/[$`]/.test(rest)) return a;
  return { ...a, path: `~${rest}`, kind: /[*?[]/.test(rest) ? "glob" : "literal" };
}

/** Directories a line may change to before a relative path is used (`cd`, `git -C`, `env -C`...). */
export function directoryChanges(line: Line): { dirs: string[]; unknown: boolean } {
  const dirs: string[] = [];
  let unknown = false;
  for (const u of line.units) {
    const c = u.cmd;
    const dyn = new Set(c.dynamicArgs);
    const take = (k: number): void => {
      if (k >= c.argv.length || dyn.has(k)) unknown = true;
      else dirs.push(c.argv[k] as string);
    };
    const p = c.program;
    if (p === "cd" || p === "pushd") {
      let k = 1;
      while (k < c.argv.length && /^-[LPe@]+$/.test(c.argv[k] as string)) k++;
      if (c.argv[k] === "--") k++;
      const t = c.argv[k];
      if (t === undefined) dirs.push("~");
      else if (t === "-" || /^[+-]\d+$/.test(t)) unknown = true;
      else take(k);
    } else if (p === "popd") unknown = true;
    else if (p === "git" || p === "make" || p === "env" || p === "sudo") {
      c.argv.forEach((w, k) => {
        if ((w === "-C" && p !== "sudo") || w === "--chdir" || w === "--directory" || (p === "sudo" && w === "-D")) take(k + 1);
        else if (/^--(chdir|directory)=/.test(w)) dirs.push(w.slice(w.indexOf("=") + 1));
      });
    }
  }
  return { dirs, unknown };
}

/** Relative paths are checked against the working directory and every directory the line may change to. */
export function withDirectoryChanges(accesses: FileAccess[], line: Line): FileAccess[] {
  const { dirs, unknown } = directoryChanges(line);
  if (dirs.length === 0 && !unknown) return accesses;
  const out: FileAccess[] = [];
  for (const a of accesses) {
    out.push(a);
    if (a.kind === "unknown" || a.path.startsWith("/") || a.path.startsWith("~")) continue;
    for (const d of dirs) out.push({ ...a, path: `${d.replace(/\/+$/, "")}/${a.path}` });
    if (unknown) out.push({ ...a, kind: "unknown" });
  }
  return out;
}
