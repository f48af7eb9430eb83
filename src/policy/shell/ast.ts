/**
 * Syntax tree produced by `parser.ts`: only as much of bash's grammar as the analysis needs,
 * but every construct that can run a command is kept (substitutions inside words, here-document
 * bodies, compound commands, function bodies).
 */

/** Offsets are UTF-16 indexes into the string that was parsed. */
export interface Span {
  start: number;
  end: number;
}

export type WordPart =
  /** Literal text. `quoted` is true when it came from quotes or a backslash escape (no globbing, no brace expansion). */
  | { k: "lit"; v: string; quoted: boolean }
  /** `$x`, `${x...}`, `$1`, `$@`...: not static. `subs` are command substitutions nested in `${...}`. */
  | { k: "param"; text: string; subs: Program[] }
  /** `$(...)` or backticks. */
  | { k: "cmdsub"; text: string; body: Program }
  /** `$((...))` or `$[...]`: not static; `subs` are substitutions inside it. */
  | { k: "arith"; text: string; subs: Program[] }
  /** `<(...)` or `>(...)`. */
  | { k: "procsub"; op: "<(" | ">("; text: string; body: Program }
  /** An unquoted extended glob group such as `@(a|b)` (only the group; its prefix char is a lit). */
  | { k: "extglob"; text: string }
  /** `[...]` right after a name where an assignment may start (`a[i]=1`, `x[1 2]=3`); arithmetic, so not static. */
  | { k: "subscript"; text: string; subs: Program[] }
  /** `name=(a b c)` array value in an assignment. */
  | { k: "array"; text: string; words: Word[] };

export interface Word extends Span {
  parts: WordPart[];
  /** Source text of the word. */
  raw: string;
}

export interface Redirect extends Span {
  op: string;
  /** File descriptor written before the operator (`2>`), when numeric. */
  fd?: number;
  /** `{var}>` style descriptor. */
  fdVar?: string;
  target?: Word;
  heredoc?: HereDoc;
}

export interface HereDoc {
  delimiter: string;
  /** The delimiter was quoted: the body is literal. */
  quoted: boolean;
  stripTabs: boolean;
  /** Literal body text (quoted delimiter), or the body parsed as a double-quoted-like word. */
  body: Word;
  /** True once the body was read (false when input ended first: bash then uses what it has). */
  complete: boolean;
}

export interface SimpleNode extends Span {
  t: "simple";
  /** Source text of the command, for messages. */
  text: string;
  assigns: Word[];
  words: Word[];
  redirs: Redirect[];
}

export interface CompoundNode extends Span {
  t: "compound";
  /** "subshell", "group", "if", "while", "until", "for", "select", "case", "arith", "cond", "function", "coproc". */
  kind: string;
  bodies: Program[];
  /** Command substitutions inside arithmetic (`(( ))`, `for (( ))`). */
  subs: Program[];
  /** Source text of the arithmetic of `(( ))` and `for (( ))`. */
  arith?: string;
  /** `for NAME in WORDS` / `select NAME in WORDS`: NAME (only when an `in` list is written; `words` is that list). */
  variable?: string;
  /** Words evaluated by the construct itself (for/case lists, [[ ]] operands, function names...). */
  words: Word[];
  redirs: Redirect[];
}

export type CommandNode = SimpleNode | CompoundNode;

export interface Pipeline extends Span {
  cmds: CommandNode[];
}

export interface Program extends Span {
  pipelines: Pipeline[];
}
