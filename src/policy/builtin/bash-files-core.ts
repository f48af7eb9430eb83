// What the file-access extractors of bash-files.ts share: the view of a command they read, the
// per-program spec shape, and the helpers that turn argv words into read and write accesses.
import type { OptSpec, ParsedArgs } from "./bash-args.js";
import type { FileAccess, FilePathKind } from "./types.js";

/** Names that are not files: standard streams, descriptors, the terminal, data sources. */
const NOT_FILES = new Set(["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty", "/dev/zero", "/dev/random", "/dev/urandom", "-"]);
const FD_PATH = /^\/(dev\/fd|proc\/self\/fd)\/\d+$/;

export function isNotAFile(path: string): boolean {
  return NOT_FILES.has(path) || FD_PATH.test(path);
}

/** One argv word as a path. */
export interface PathWord {
  text: string;
  kind: FilePathKind;
}

/** What the extractors see of a command. */
export interface View {
  family: string;
  argv: readonly string[];
  kinds: FilePathKind[];
}

export type Role = "read" | "write";

export function acc(w: PathWord, access: Role, via: string, recursive = false): FileAccess[] {
  if (w.kind === "literal" && isNotAFile(w.text)) return [];
  // `diff <(sort a) <(sort b)`: a process substitution is a pipe (/dev/fd/N), not a file.
  if (w.kind === "unknown" && /^[<>]\(.*\)$/s.test(w.text)) return [];
  const a: FileAccess = { path: w.text, kind: w.kind, access, via };
  if (recursive) a.recursive = true;
  if (access === "write") a.writeOnly = true;
  return [a];
}

export function word(v: View, index: number, text?: string): PathWord {
  return { text: text ?? (v.argv[index] as string), kind: v.kinds[index] ?? "literal" };
}

/** A value given inside an option word (`--output=x`): literal unless the word was not. */
export function valueWord(v: View, index: number, value: string, valueIndex?: number): PathWord {
  return { text: value, kind: v.kinds[valueIndex ?? index] ?? "literal" };
}

export interface Spec {
  opts?: OptSpec;
  /** Known long options without a value, so that abbreviations expand correctly. */
  flags?: readonly string[];
  /** Options whose value is a file read / written. */
  reads?: readonly string[];
  writes?: readonly string[];
  /** Options that make operand reads recursive. */
  recursive?: readonly string[];
  alwaysRecursive?: boolean;
  /** The first operand is a pattern, not a file, unless one of these options gives it. */
  patternUnless?: readonly string[];
  /** With no file operand and a recursive read: this directory. */
  defaultDir?: string;
  /** Operands that are not files (`+5` for less/more). */
  skipOperand?: RegExp;
  /** Options giving name globs a recursive read is limited to (`--include`, `-g`). */
  includeOpts?: readonly string[];
  operands: "read" | "write" | "readwrite" | "none" | ((v: View, p: ParsedArgs, via: string) => FileAccess[]);
}

export const READ: Spec = { operands: "read" };

export function operandAccesses(v: View, p: ParsedArgs, via: string, role: Role | "readwrite", recursive: boolean): FileAccess[] {
  return p.operands.flatMap((o) => {
    const w = word(v, o.index);
    if (role === "readwrite") return [...acc(w, "read", via, recursive), ...acc(w, "write", via, recursive)];
    return acc(w, role, via, recursive);
  });
}

/** Options of cp, mv, install, ln and rsync that keep a destination's old content under another name. */
export const BACKUP_OPTS = ["-b", "--backup", "-S", "--suffix", "--backup-dir"];
