/**
 * Shell command analysis: turns a command line (Claude Code's `Bash` tool input) into every simple
 * command bash would run, with the words as bash would pass them. The rule engine judges each one;
 * anything that cannot be known statically is reported (`unresolved`, `parseError`, `tooLong`) so
 * that it is never allowed.
 *
 * Parser: our own (see parser.ts for why no library was used). It is synchronous and needs no
 * initialisation; `initShellAnalyzer()` exists so that callers do not depend on that.
 *
 * Pure: no I/O, no process spawning.
 *
 * Decisions worth knowing when writing the engine:
 * - Every command is reported with its own argv; a wrapper (`sudo`, `timeout`, `env`, `xargs`...)
 *   is reported itself and then the command it runs (source "wrapper"/"xargs"/"find -exec"), each
 *   with `program` the basename of its own argv[0]. Redirections stay on the outer command.
 * - Brace expansion follows bash: `{curl,-s,x}` is ONE command `curl -s x` (bash expands the word
 *   into three words, it does not run three commands).
 * - `unresolved` means "what runs, or with which words, depends on something we cannot see":
 *   a dynamic or globbed command name, a shell string that is not static, a shell reading a pipe
 *   whose content is not static, wrapper options we do not know, or arithmetic/prompt expansion on
 *   variable values (bash runs `$(...)` found in such values). Unresolved commands that have no
 *   command of their own (`(( x ))`, `[[ $x -eq 1 ]]`, a failing `sh -c` string) are reported
 *   with `argv: []` and `program: ""`.
 * - Dynamic arguments (`$HOME`, `*.txt`, `$(...)`) keep their source text in argv and are listed
 *   in `dynamicArgs`; the command itself stays resolved.
 * - A command with only assignments or redirections (`x=1`, `> f`) is reported with `argv: []`.
 * - `~` is kept as written. Aliases and functions defined outside the line cannot be seen; an
 *   `alias NAME=...` inside the line is unresolved (with expand_aliases it changes later lines).
 * - For rules about data flow (`curl * | bash`) the analysis also reports `flows` (pipes to later
 *   stages, substitutions into the command that holds them), `parent` (who runs a command), pipeline
 *   `stage`s, redirections of compound commands, and `loopValues` of `for` variables.
 */
import type { CommandNode, Program, Redirect, SimpleNode, Word, WordPart } from "./ast.js";
import { parseShell, ShellSyntaxError } from "./parser.js";
import { basename, expandWord, type Field, staticText } from "./words.js";
import { SHELLS, shellInvocation, wrapperInner } from "./wrappers.js";

export type CommandSource = "top" | "substitution" | "process-substitution" | "heredoc-to-shell" | "sh -c" | "eval" | "xargs" | "find -exec" | "wrapper";

export interface RedirectInfo {
  op: string;
  /** The file name (or `&`-duplicated descriptor); for a here-document or here-string, its text. Undefined when not static. */
  target: string | undefined;
  fd?: number;
  /** Only when `target` is undefined and the operator names a file: the target's source text. */
  targetText?: string;
  /** Only with targetText: a glob bash expands at run time, or a parameter/substitution. */
  targetKind?: "glob" | "unknown";
}

export interface SimpleCommand {
  /** Words after quote removal and brace expansion; a dynamic word keeps its source text (`$HOME`). */
  argv: string[];
  /** Basename of argv[0] ("curl" for "/usr/bin/curl"), as written (not lowercased); "" when there is no word. */
  program: string;
  /** Leading `VAR=value` words (and those given to `env`/`sudo`). */
  assignments: string[];
  redirects: RedirectInfo[];
  /** Something that decides what runs could not be resolved statically: never allow. */
  unresolved: boolean;
  /** Why `unresolved` is set, for messages. */
  reason?: string;
  /** Indexes into argv of words that are not static (parameters, substitutions, globs). */
  dynamicArgs: number[];
  source: CommandSource;
  /** The original text of the command (of the enclosing command for wrapped ones), for messages. */
  text: string;
  /** Indexes into argv of words that are globs but otherwise static (a subset of dynamicArgs). */
  globArgs: number[];
  /**
   * Index (in Analysis.commands) of the command that runs this one: the wrapper (`sudo`, `timeout`,
   * `xargs`, `find -exec`) or the shell/eval/trap whose string this command comes from.
   * Substitutions have no parent: the shell runs them before the command.
   */
  parent?: number;
  /** A simple command that is a whole stage of a pipeline: which pipeline, which stage, how many stages. */
  stage?: { pipeline: number; index: number; count: number };
  /** Run by `xargs` without -I: words read from standard input are appended to argv at run time. */
  argsFromInput?: boolean;
  /** For an unresolved command standing for a shell string that did not parse: that string. */
  unparsed?: string;
  /**
   * Words that are exactly a `for` loop's variable (`"$f"` in `for f in src/*.ts; do cat "$f"; done`):
   * argv index → the loop's words (as static text, glob or not). Only for a variable nothing else in
   * the line sets.
   */
  loopValues?: Record<number, Array<{ text: string; glob: boolean }>>;
  /**
   * Unresolved only because bash evaluates the value of a variable as code (arithmetic, subscripts,
   * prompt expansion, `let`, `declare -i`, alias definitions): what runs is hidden in a value set
   * elsewhere, not in an unknown command name.
   */
  hiddenCode?: boolean;
}

/**
 * Output of commands[from[0]..from[1]) may reach the input of commands[to[0]..to[1]) (half-open
 * ranges): a pipe to a later stage, or a command or process substitution inside the words or
 * redirections of a command. Over-approximate on purpose: rules about data flow (`curl * | bash`)
 * must not miss a path.
 */
export interface Flow {
  from: [number, number];
  to: [number, number];
}

/** Redirections written on a compound command (`{ ...; } < f`, `while ...; done > f`). */
export interface CompoundRedirects {
  kind: string;
  redirects: RedirectInfo[];
  source: CommandSource;
  /** Index of the first command inside the compound (commands inside it run with these redirections). */
  first: number;
  /** One past the last command inside. */
  end: number;
}

export interface Analysis {
  commands: SimpleCommand[];
  parseError?: string;
  /** Longer than MAX_COMMAND_LENGTH: not parsed. */
  tooLong: boolean;
  flows: Flow[];
  compoundRedirects: CompoundRedirects[];
}

export const MAX_COMMAND_LENGTH = 10_000;
/** Nesting of strings run by a shell (`sh -c`, `eval`, here-documents fed to a shell). */
export const MAX_SHELL_DEPTH = 5;
/** Wrappers inside wrappers (`sudo timeout 5 nice env curl` is 4). */
export const MAX_WRAPPER_CHAIN = 16;

/** Nothing to initialise (the parser is plain TypeScript); kept so callers need not care. Idempotent. */
export async function initShellAnalyzer(): Promise<void> {}

/** What a command reads on standard input, as far as it matters for a shell reading its program there. */
type Stdin =
  | { kind: "static"; text: string }
  | { kind: "unknown"; why: string }
  /** Terminal, a file, or nothing known to be program text. */
  | { kind: "other" };

const OTHER: Stdin = { kind: "other" };

interface State {
  out: SimpleCommand[];
  parseError?: string;
  flows: Flow[];
  compoundRedirects: CompoundRedirects[];
  /** The command whose arguments or string the commands being walked come from (see SimpleCommand.parent). */
  owner: number | undefined;
  pipelines: number;
  /** `for` variables in scope, innermost last; null when the list is not static. */
  loops: Array<{ name: string; values: Array<{ text: string; glob: boolean }> | null }>;
  /** Names set anywhere in the line other than by a `for` list (assignments, read, declare...). */
  setNames: Set<string>;
  /** Loop variables used (to drop when the name is set elsewhere). */
  loopUses: Array<{ cmd: SimpleCommand; index: number; name: string }>;
}

/** Commands unresolved for a reason of their own (not only hidden code in variable values). */
const unresolvedCommandItself = new WeakSet<SimpleCommand>();

function push(st: State, cmd: SimpleCommand): number {
  if (st.owner !== undefined) cmd.parent = st.owner;
  st.out.push(cmd);
  return st.out.length - 1;
}

/** Runs `f` with `owner` as the parent of every command it emits. */
function owned(st: State, owner: number, f: () => void): void {
  const saved = st.owner;
  st.owner = owner;
  try {
    f();
  } finally {
    st.owner = saved;
  }
}

function addFlow(st: State, from: [number, number], to: [number, number]): void {
  if (from[0] < from[1] && to[0] < to[1]) st.flows.push({ from, to });
}

export function analyzeCommand(line: string): Analysis {
  try {
    return analyzeUnguarded(line);
  } catch (e) {
    // Fail closed on anything unexpected (a stack overflow on pathological input included).
    return { commands: [], tooLong: false, parseError: `analysis failed: ${errorText(e)}`, flows: [], compoundRedirects: [] };
  }
}

function analyzeUnguarded(line: string): Analysis {
  if (line.length > MAX_COMMAND_LENGTH) return { commands: [], tooLong: true, parseError: `command longer than ${MAX_COMMAND_LENGTH} characters`, flows: [], compoundRedirects: [] };
  const state: State = { out: [], flows: [], compoundRedirects: [], owner: undefined, pipelines: 0, loops: [], setNames: new Set(), loopUses: [] };
  let prog: Program;
  try {
    prog = parseShell(line);
  } catch (e) {
    return { commands: [], tooLong: false, parseError: errorText(e), flows: [], compoundRedirects: [] };
  }
  walkProgram(prog, "top", 0, OTHER, state);
  finishLoopValues(state);
  const result: Analysis = { commands: state.out, tooLong: false, flows: state.flows, compoundRedirects: state.compoundRedirects };
  if (state.parseError !== undefined) result.parseError = state.parseError;
  return result;
}

function errorText(e: unknown): string {
  if (e instanceof ShellSyntaxError) return e.message;
  if (e instanceof RangeError) return "command nested too deeply";
  return e instanceof Error ? e.message : String(e);
}

function walkProgram(prog: Program, source: CommandSource, depth: number, stdin: Stdin, st: State): void {
  for (const p of prog.pipelines) {
    const id = st.pipelines++;
    let prev: [number, number] | undefined;
    p.cmds.forEach((cmd, k) => {
      const input = k === 0 ? stdin : pipeOutput(p.cmds[k - 1] as CommandNode);
      const start = st.out.length;
      walkCommand(cmd, source, depth, input, st);
      const range: [number, number] = [start, st.out.length];
      if (cmd.t === "simple" && start < st.out.length) (st.out[start] as SimpleCommand).stage = { pipeline: id, index: k, count: p.cmds.length };
      // Everything a stage runs may write into the pipe; everything the next stage runs may read it.
      if (prev) addFlow(st, prev, range);
      prev = range;
    });
  }
}

function walkCommand(cmd: CommandNode, source: CommandSource, depth: number, stdin: Stdin, st: State): void {
  if (cmd.t === "simple") {
    analyzeSimple(cmd, source, depth, stdin, st);
    return;
  }
  let why = cmd.arith !== undefined && /[A-Za-z_$]/.test(cmd.arith.replace(/^\(\(|\)\)$/g, "")) ? `arithmetic on variables '${cmd.arith}'` : undefined;
  if (cmd.kind === "cond") {
    cmd.words.forEach((w, k) => {
      if (!ARITH_TEST_OPS.has(w.raw)) return;
      for (const o of [cmd.words[k - 1], cmd.words[k + 1]]) if (o && !/^-?[0-9]+$/.test(o.raw)) why ??= `arithmetic comparison of '${o.raw}' in [[ ]]`;
    });
  }
  if (cmd.kind === "cond") cmd.words.forEach((w, k) => {
    const operand = cmd.words[k + 1];
    if (w.raw === "-v" && operand && SUBSCRIPT_CODE.test(operand.parts.map((p) => (p.k === "lit" ? p.v : p.text)).join(""))) why ??= `[[ -v ]] evaluates the subscript of '${operand.raw}'`;
  });
  for (const w of cmd.words) why ??= codeFromVariables(w.parts);
  if (why !== undefined) {
    const u = unresolvedCommand([], source, cmd.arith ?? cmd.kind, why);
    u.hiddenCode = true;
    push(st, u);
  }
  const subsStart = st.out.length;
  for (const w of cmd.words) walkWordSubs(w.parts, depth, st);
  for (const r of cmd.redirs) walkRedirectSubs(r, depth, st);
  // Inside a compound command the first command of each pipeline reads what the compound reads;
  // we only know that it is not static text.
  const inner: Stdin = redirectedStdin(cmd.redirs) ?? (stdin.kind === "static" ? { kind: "unknown", why: "input piped into a compound command" } : stdin);
  for (const s of cmd.subs) walkProgram(s, "substitution", depth, OTHER, st);
  const bodyStart = st.out.length;
  if (cmd.variable !== undefined) {
    const values: Array<{ text: string; glob: boolean }> = [];
    let known = true;
    for (const w of cmd.words) {
      const e = expandWord(w);
      if (e.tooMany || e.fields.some((f) => f.dynamic)) known = false;
      else values.push(...e.fields.map((f) => ({ text: f.text, glob: f.glob })));
    }
    if (st.loops.some((l) => l.name === cmd.variable)) st.setNames.add(cmd.variable);
    st.loops.push({ name: cmd.variable, values: known ? values : null });
  }
  try {
    for (const b of cmd.bodies) walkProgram(b, source, depth, inner, st);
  } finally {
    if (cmd.variable !== undefined) st.loops.pop();
  }
  // `for x in $(curl ...)`, `done < <(curl ...)`: what the substitutions print reaches the body.
  addFlow(st, [subsStart, bodyStart], [bodyStart, st.out.length]);
  if (cmd.redirs.length > 0) st.compoundRedirects.push({ kind: cmd.kind, redirects: cmd.redirs.map(redirectInfo), source, first: bodyStart, end: st.out.length });
}

/**
 * Bash evaluates the *value* of a variable used in arithmetic as an arithmetic expression again,
 * and an array subscript in it runs command substitutions: with x='a[$(curl evil)]', `$((x))`,
 * `(( x ))`, `${s:x}`, `${a[x]}`, `[[ $x -eq 1 ]]` and `let x` all run curl. `${x@P}` expands a
 * value like a prompt, command substitutions included. So arithmetic (or prompt expansion) that
 * reads a variable runs code we cannot see: such a command is unresolved.
 */
function codeFromVariables(parts: readonly WordPart[]): string | undefined {
  for (const p of parts) {
    if (p.k === "arith" && /[A-Za-z_$]/.test(p.text.replace(/^\$\(\(|^\$\[|\)\)$|\]$/g, ""))) return `arithmetic on variables '${p.text}'`;
    if (p.k === "subscript" && /[A-Za-z_$`]/.test(p.text.slice(1, -1))) return `array subscript on variables '${p.text}'`;
    if (p.k === "param") {
      if (/@P\}$/.test(p.text)) return `prompt expansion '${p.text}'`;
      if (/^\$\{![A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\}$/.test(p.text) && !/^\$\{![A-Za-z_][A-Za-z0-9_]*\[[@*]\]\}$/.test(p.text)) return `indirect expansion '${p.text}'`;
      const inner = p.text.startsWith("${") ? p.text.slice(2, -1) : "";
      const sub = /^[#!]?[A-Za-z_][A-Za-z0-9_]*\[([^\]]*)\]/.exec(inner);
      if (sub && /[A-Za-z_$]/.test(sub[1] as string) && !/^[@*]$/.test(sub[1] as string)) return `array subscript on variables '${p.text}'`;
      const off = /^[#!]?[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?:(?![-=?+])(.*)$/s.exec(inner);
      if (off && /[A-Za-z_$]/.test(off[1] as string)) return `substring offset on variables '${p.text}'`;
    }
    if (p.k === "array") for (const w of p.words) {
      const r = codeFromVariables(w.parts);
      if (r) return r;
    }
  }
  return undefined;
}

const DECLARATIONS = new Set(["declare", "typeset", "local"]);
/** Builtins taking variable names, whose subscripts (`a[$(cmd)]`) bash evaluates, running the substitution. */
const NAME_TAKERS = new Set(["printf", "read", "test", "[", "declare", "typeset", "local", "export", "readonly", "unset", "wait", "mapfile", "readarray", "getopts", "let"]);
const SUBSCRIPT_CODE = /\[[^\]]*[$`]/;
const ARITH_TEST_OPS = new Set(["-eq", "-ne", "-lt", "-le", "-gt", "-ge"]);

/** Runs the substitutions inside word parts. */
function walkWordSubs(parts: readonly WordPart[], depth: number, st: State): void {
  for (const p of parts) {
    if (p.k === "cmdsub") walkProgram(p.body, "substitution", depth, OTHER, st);
    else if (p.k === "procsub") walkProgram(p.body, "process-substitution", depth, OTHER, st);
    else if (p.k === "param" || p.k === "arith" || p.k === "subscript") for (const s of p.subs) walkProgram(s, "substitution", depth, OTHER, st);
    else if (p.k === "array") for (const w of p.words) walkWordSubs(w.parts, depth, st);
  }
}

function walkRedirectSubs(r: Redirect, depth: number, st: State): void {
  if (r.heredoc) {
    if (!r.heredoc.quoted) walkWordSubs(r.heredoc.body.parts, depth, st);
  } else if (r.target) walkWordSubs(r.target.parts, depth, st);
}

/** Standard input given by the command's own redirections, when they decide it. */
function redirectedStdin(redirs: readonly Redirect[]): Stdin | undefined {
  let result: Stdin | undefined;
  for (const r of redirs) {
    if (r.fd !== undefined && r.fd !== 0) continue;
    if (r.heredoc) {
      const t = staticText(r.heredoc.body);
      result = t !== undefined ? { kind: "static", text: t } : { kind: "unknown", why: "here-document with expansions" };
    } else if (r.op === "<<<") {
      const t = r.target ? staticText(r.target) : undefined;
      result = t !== undefined ? { kind: "static", text: `${t}\n` } : { kind: "unknown", why: "here-string with expansions" };
    } else if (r.op === "<" || r.op === "<>" || r.op === "<&") {
      const t = r.target ? staticText(r.target) : undefined;
      if (t === undefined) result = { kind: "unknown", why: "input redirected from a non-static file" };
      else if (t !== "/dev/stdin" && t !== "0") result = OTHER;
    }
  }
  return result;
}

/** What a command writes into a pipe, when it is static text a shell could read as its program. */
function pipeOutput(cmd: CommandNode): Stdin {
  if (cmd.t !== "simple") return { kind: "unknown", why: "output of a compound command" };
  const fields: Field[] = [];
  for (const w of cmd.words) {
    const e = expandWord(w);
    if (e.tooMany) return { kind: "unknown", why: "output of a command with a large brace expansion" };
    fields.push(...e.fields);
  }
  if (fields.some((f) => f.dynamic || f.glob)) return { kind: "unknown", why: "output of a command with dynamic words" };
  const argv = fields.map((f) => f.text);
  const prog = basename(argv[0] ?? "");
  if (prog === "echo") {
    let k = 1;
    let escapes = false;
    let newline = true;
    while (k < argv.length && /^-[neE]+$/.test(argv[k] as string)) {
      if ((argv[k] as string).includes("e")) escapes = true;
      if ((argv[k] as string).includes("n")) newline = false;
      k++;
    }
    const text = argv.slice(k).join(" ");
    if (escapes && text.includes("\\")) return { kind: "unknown", why: "echo -e with escapes" };
    return { kind: "static", text: newline ? `${text}\n` : text };
  }
  if (prog === "printf") {
    const fmt = argv[1];
    if (fmt === undefined || fmt === "--" || argv.length > 2 || fmt.includes("%") || fmt.includes("\\")) return { kind: "unknown", why: "printf output" };
    return { kind: "static", text: fmt };
  }
  if (prog === "cat" && argv.length === 1) {
    return redirectedStdin(cmd.redirs) ?? { kind: "unknown", why: "cat of standard input" };
  }
  return { kind: "unknown", why: `output of '${prog}'` };
}

function redirectInfo(r: Redirect): RedirectInfo {
  let target: string | undefined;
  let dyn: Pick<RedirectInfo, "targetText" | "targetKind"> = {};
  if (r.heredoc) target = staticText(r.heredoc.body);
  else if (r.target) {
    const e = expandWord(r.target);
    const f = e.fields[0];
    target = !e.tooMany && e.fields.length === 1 && f && !f.dynamic && !f.glob ? f.text : undefined;
    if (target === undefined && r.op !== "<<<") {
      const onlyGlob = !e.tooMany && e.fields.length === 1 && f !== undefined && !f.dynamic;
      dyn = { targetText: onlyGlob ? f.text : r.target.raw, targetKind: onlyGlob ? "glob" : "unknown" };
    }
  }
  const info: RedirectInfo = { op: r.op, target };
  if (r.fd !== undefined) info.fd = r.fd;
  if (dyn.targetText !== undefined) Object.assign(info, dyn);
  return info;
}

function wordText(w: Word): string {
  return w.parts.map((p) => (p.k === "lit" ? p.v : p.text)).join("");
}

function analyzeSimple(node: SimpleNode, source: CommandSource, depth: number, stdin: Stdin, st: State): void {
  const fields: Field[] = [];
  let tooMany = false;
  for (const w of node.words) {
    const e = expandWord(w);
    if (e.tooMany) tooMany = true;
    fields.push(...e.fields);
  }
  const assignments = node.assigns.map(wordText);
  const redirects = node.redirs.map(redirectInfo);
  const input = redirectedStdin(node.redirs) ?? stdin;
  let why = tooMany ? "brace expansion gives too many words" : undefined;
  for (const w of [...node.assigns, ...node.words, ...node.redirs.flatMap((r) => (r.target && !r.heredoc ? [r.target] : []))]) why ??= codeFromVariables(w.parts);
  for (const r of node.redirs) if (r.heredoc && !r.heredoc.quoted) why ??= codeFromVariables(r.heredoc.body.parts);
  const first = fields[0];
  if (first && !first.dynamic && first.text === "alias" && fields.some((f) => f.text.includes("="))) why ??= "alias definitions change what later commands run";
  // `hash -p /usr/bin/curl c` makes `c` run curl; `enable -f lib.so name` loads a builtin from a library.
  if (first && !first.dynamic && first.text === "hash" && fields.some((f) => /^-[a-z]*p/.test(f.text))) why ??= "hash -p changes what a later command name runs";
  if (first && !first.dynamic && first.text === "enable" && fields.some((f) => /^-[a-z]*f/.test(f.text))) why ??= "enable -f loads a builtin from a shared library";
  if (first && !first.dynamic && basename(first.text) === "let") why ??= "let evaluates arithmetic on variables";
  const nameArgs = first && !first.dynamic && NAME_TAKERS.has(basename(first.text)) ? (["printf", "test", "["].includes(basename(first.text)) ? fields.filter((_, k) => fields[k - 1]?.text === "-v") : fields.slice(1)) : [];
  if (first && nameArgs.some((f) => SUBSCRIPT_CODE.test(f.text)))
    why ??= `${first.text}: a variable name with a subscript is evaluated as arithmetic`;
  if (first && !first.dynamic && DECLARATIONS.has(first.text) && fields.slice(1).some((f) => /^[-+][A-Za-z]*[in]/.test(f.text)))
    why ??= `${first.text} -i/-n: later assignments or references evaluate arithmetic`;
  const start = st.out.length;
  emit(fields, assignments, redirects, source, node.text, depth, input, st, why);
  const self = st.out[start];
  if (why !== undefined && !tooMany && self && self.reason === why && !(first && (first.dynamic || first.glob)) && !unresolvedCommandItself.has(self)) self.hiddenCode = true;
  const subsStart = st.out.length;
  for (const w of [...node.assigns, ...node.words]) walkWordSubs(w.parts, depth, st);
  for (const r of node.redirs) walkRedirectSubs(r, depth, st);
  // `bash -c "$(curl ...)"`, `bash <(curl ...)`: substitution output reaches the command (and what it wraps).
  addFlow(st, [subsStart, st.out.length], [start, subsStart]);
}

const VARIABLE_WORD = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/;
/** Builtins whose arguments name variables they set. */
const SETTERS = new Set(["read", "mapfile", "readarray", "declare", "typeset", "local", "export", "readonly", "let", "printf", "getopts", "unset", "eval", "source", "."]);

/** Records loop-variable words of a command, and names the command may set. */
function noteVariables(cmd: SimpleCommand, argv: readonly Field[], assignments: readonly string[], st: State): void {
  for (const a of assignments) st.setNames.add(a.replace(/[[+=].*$/s, ""));
  if (SETTERS.has(cmd.program)) for (const f of argv.slice(1)) st.setNames.add(f.text.replace(/[[+=].*$/s, ""));
  argv.forEach((f, index) => {
    const m = f.dynamic ? VARIABLE_WORD.exec(f.text) : null;
    if (!m) return;
    const name = (m[1] ?? m[2]) as string;
    const loop = [...st.loops].reverse().find((l) => l.name === name);
    if (!loop?.values) return;
    (cmd.loopValues ??= {})[index] = loop.values;
    st.loopUses.push({ cmd, index, name });
  });
}

/** A loop variable set anywhere else in the line (or by eval/source, which could set anything) is not known. */
function finishLoopValues(st: State): void {
  const anything = st.setNames.has("") || st.out.some((c) => c.program === "eval" || c.program === "source" || c.program === ".");
  for (const u of st.loopUses) {
    if (!anything && !st.setNames.has(u.name)) continue;
    if (u.cmd.loopValues) delete u.cmd.loopValues[u.index];
    if (u.cmd.loopValues && Object.keys(u.cmd.loopValues).length === 0) delete u.cmd.loopValues;
  }
}

function unresolvedCommand(argv: readonly Field[], source: CommandSource, text: string, reason: string): SimpleCommand {
  return {
    argv: argv.map((f) => f.text),
    program: "",
    assignments: [],
    redirects: [],
    unresolved: true,
    reason,
    dynamicArgs: argv.flatMap((f, k) => (f.dynamic || f.glob ? [k] : [])),
    globArgs: argv.flatMap((f, k) => (f.glob && !f.dynamic ? [k] : [])),
    source,
    text,
  };
}

/** Emits one simple command and whatever it runs in turn (wrapped commands, shell strings). */
function emit(
  argv: Field[],
  assignments: string[],
  redirects: RedirectInfo[],
  source: CommandSource,
  text: string,
  depth: number,
  stdin: Stdin,
  st: State,
  forcedReason?: string,
  fromInput?: { replace: string | undefined },
  chain = 0,
): void {
  if (chain > MAX_WRAPPER_CHAIN) {
    push(st, unresolvedCommand(argv, source, text, `more than ${MAX_WRAPPER_CHAIN} nested wrappers`));
    return;
  }
  if (fromInput?.replace) {
    // `xargs -I {} cmd {}`: every word holding the replacement string is filled from input
    const r = fromInput.replace;
    argv = argv.map((f) => (f.text.includes(r) ? { ...f, dynamic: true } : f));
  }
  const first = argv[0];
  let reason = forcedReason;
  if (first && first.dynamic) reason ??= `command name '${first.text}' is not static`;
  if (first && first.glob) reason ??= `command name '${first.text}' is a glob`;
  const cmd: SimpleCommand = {
    argv: argv.map((f) => f.text),
    program: first ? (first.dynamic || first.glob ? first.text : basename(first.text)) : "",
    assignments,
    redirects,
    unresolved: reason !== undefined,
    dynamicArgs: argv.flatMap((f, k) => (f.dynamic || f.glob ? [k] : [])),
    globArgs: argv.flatMap((f, k) => (f.glob && !f.dynamic ? [k] : [])),
    source,
    text,
  };
  if (reason !== undefined) cmd.reason = reason;
  if (fromInput !== undefined && !fromInput.replace) cmd.argsFromInput = true;
  const self = push(st, cmd);
  noteVariables(cmd, argv, assignments, st);
  if (!first || first.dynamic || first.glob) return;
  owned(st, self, () => emitChildren(cmd, argv, text, depth, stdin, st, fromInput, chain));
}

/** Emits what `cmd` runs in turn (wrapped commands, shell strings, find -exec), each with `cmd` as parent. */
function emitChildren(cmd: SimpleCommand, argv: Field[], text: string, depth: number, stdin: Stdin, st: State, fromInput: { replace: string | undefined } | undefined, chain: number): void {
  // Compared without case: on a case-insensitive file system (macOS) `SUDO` and `Bash` run sudo and
  // bash; for a builtin the mismatch only means we look at a command bash would not find.
  const prog = cmd.program.toLowerCase();
  const markUnresolved = (why: string): void => {
    cmd.unresolved = true;
    cmd.reason ??= why;
    unresolvedCommandItself.add(cmd);
  };

  // Run by `xargs` without -I: words read from input are appended to argv, so whatever they
  // decide (the command a wrapper runs, a shell's -c string, find's -exec) is unknown.
  const appended = fromInput !== undefined && !fromInput.replace;
  const wrapped = wrapperInner(prog, argv);
  if (wrapped) {
    const s = wrapped.start;
    if (s.kind === "inner") {
      const inner = wrapped.fromInput ?? (appended ? fromInput : undefined);
      emit(argv.slice(s.index), wrapped.assignments, [], wrapped.source, text, depth, wrapped.source === "xargs" ? OTHER : stdin, st, undefined, inner, chain + 1);
    } else if (s.kind === "unknown") push(st, unresolvedCommand(argv.slice(1), wrapped.source, text, `${prog}: ${s.why}`));
    else if (appended && prog !== "xargs") markUnresolved(`${prog} runs a command read from xargs input`);
    else if ((prog === "sudo" || prog === "doas") && argv.some((f) => /^-[A-Za-z]*[si]/.test(f.text))) {
      // `sudo -s` / `sudo -i` / `doas -s` without a command start a shell, which reads standard input
      readProgramFromStdin(cmd, stdin, text, depth, st);
    }
    return;
  }

  if (prog === "watch") {
    // procps watch runs its arguments joined by spaces through `sh -c`, unless -x/--exec is given.
    let k = 1;
    let exec = false;
    for (; k < argv.length; k++) {
      const f = argv[k] as Field;
      const t = f.text;
      if (f.dynamic || f.glob) {
        if (t.startsWith("-")) return markUnresolved(`watch: option '${t}' is not static`);
        break;
      }
      if (t === "--") {
        k++;
        break;
      }
      if (!t.startsWith("-") || t === "-") break;
      if (t === "-x" || t === "--exec") exec = true;
      else if (/^-[bcdeprtgwx]+$/.test(t) || /^--(beep|color|no-color|differences(=.*)?|errexit|precise|no-title|chgexit|no-wrap|no-rerun)$/.test(t)) exec ||= /^-[a-z]*x/.test(t);
      else if (t === "-n" || t === "--interval" || t === "-q" || t === "--equexit") k++;
      else if (!/^-n.+|^--(interval|equexit)=/.test(t)) return markUnresolved(`watch: unknown option '${t}'`);
    }
    const rest = argv.slice(k);
    if (rest.length === 0) return;
    if (appended) return markUnresolved("watch gets arguments from xargs input");
    if (exec) emit(rest, [], [], "wrapper", text, depth, OTHER, st, undefined, undefined, chain + 1);
    else if (rest.some((f) => f.dynamic)) markUnresolved("watch runs a non-static string");
    else runString(rest.map((f) => f.text).join(" "), "sh -c", text, depth, st);
    return;
  }

  if (prog === "su") {
    for (let k = 1; k < argv.length; k++) {
      const f = argv[k] as Field;
      const t = f.text;
      let str: Field | undefined;
      if (t === "-c" || t === "--command" || t === "--session-command") str = argv[k + 1];
      else if (t.startsWith("--command=") || t.startsWith("--session-command=")) str = { ...f, text: t.slice(t.indexOf("=") + 1) };
      else continue;
      if (!str) return;
      if (str.dynamic || appended) markUnresolved("su -c with a non-static command");
      else runString(str.text, "sh -c", text, depth, st);
      return;
    }
    if (appended) markUnresolved("su gets arguments from xargs input");
    else readProgramFromStdin(cmd, stdin, text, depth, st);
    return;
  }
  if (appended && (SHELLS.has(prog) || prog === "find" || prog === "eval" || prog === "source" || prog === ".")) {
    const inv = SHELLS.has(prog) ? shellInvocation(argv) : undefined;
    if (inv?.kind !== "string") {
      markUnresolved(`${prog} gets arguments from xargs input`);
      if (!inv) return;
    }
  }

  if (prog === "find") {
    for (let k = 1; k < argv.length; k++) {
      const t = (argv[k] as Field).text;
      if (t !== "-exec" && t !== "-execdir" && t !== "-ok" && t !== "-okdir") continue;
      let end = k + 1;
      while (end < argv.length) {
        const e = (argv[end] as Field).text;
        if (e === ";" || (e === "+" && (argv[end - 1] as Field).text === "{}")) break;
        end++;
      }
      const inner = argv.slice(k + 1, end);
      if (inner.length > 0) emit(inner, [], [], "find -exec", text, depth, OTHER, st, undefined, undefined, chain + 1);
      k = end;
    }
    return;
  }

  if (prog === "eval") {
    const args = argv.slice(1);
    if (args.some((f) => f.dynamic)) {
      markUnresolved("eval of a non-static string");
      return;
    }
    if (args.length > 0) runString(args.map((f) => f.text).join(" "), "eval", text, depth, st);
    return;
  }

  if (prog === "trap") {
    // `trap 'code' SIGNAL...`: bash runs the code later, like eval
    let k = 1;
    while (k < argv.length && /^-[lp]+$/.test((argv[k] as Field).text)) k++;
    if (argv[k]?.text === "--") k++;
    const action = argv[k];
    if (!action || k + 1 >= argv.length) return; // `trap`, `trap -p`, `trap SIG` (reset) run nothing
    if (action.dynamic) markUnresolved("trap with a non-static action");
    else if (action.text !== "-" && action.text !== "") runString(action.text, "eval", text, depth, st);
    return;
  }

  if (prog === "source" || prog === ".") {
    const file = argv[1];
    if (!file) return;
    if (file.dynamic || file.glob) markUnresolved(`${prog} of a non-static file`);
    else if (file.text === "/dev/stdin" || file.text === "/dev/fd/0" || file.text === "/proc/self/fd/0" || file.text === "-") readProgramFromStdin(cmd, stdin, text, depth, st);
    return;
  }

  if (SHELLS.has(prog)) {
    const inv = shellInvocation(argv);
    if (inv.kind === "string") runString((argv[inv.index] as Field).text, "sh -c", text, depth, st);
    else if (inv.kind === "stdin") readProgramFromStdin(cmd, stdin, text, depth, st);
    else if (inv.kind === "unknown") markUnresolved(`${prog}: ${inv.why}`);
  }
}

function readProgramFromStdin(cmd: SimpleCommand, stdin: Stdin, text: string, depth: number, st: State): void {
  if (stdin.kind === "static") runString(stdin.text, "heredoc-to-shell", text, depth, st);
  else if (stdin.kind === "unknown") {
    unresolvedCommandItself.add(cmd);
    cmd.unresolved = true;
    cmd.reason ??= `${cmd.program} reads its program from standard input: ${stdin.why}`;
  }
}

/** Parses and walks a string that a shell runs (`sh -c`, `eval`, a here-document fed to a shell). */
function runString(code: string, source: CommandSource, text: string, depth: number, st: State): void {
  if (depth + 1 > MAX_SHELL_DEPTH) {
    push(st, unresolvedCommand([], source, text, `shell strings nested deeper than ${MAX_SHELL_DEPTH}`));
    return;
  }
  if (code.length > MAX_COMMAND_LENGTH) {
    push(st, unresolvedCommand([], source, text, "shell string too long"));
    return;
  }
  let prog: Program;
  try {
    prog = parseShell(code);
  } catch (e) {
    const msg = `in ${source} string: ${errorText(e)}`;
    st.parseError ??= msg;
    const u = unresolvedCommand([], source, text, msg);
    u.unparsed = code;
    push(st, u);
    return;
  }
  walkProgram(prog, source, depth + 1, OTHER, st);
}
