// Option parsing for the Bash judge's program tables (file access, exec-through-arguments). Written
// for the getopt/getopt_long conventions most Unix programs follow; per program only the options
// that take a value need listing. An unknown option is taken as a flag without a value: its value,
// if it had one, is then read as an operand, which can only add checks, never hide a file.

export interface OptSpec {
  /** Short options that take a value (`-n 5`, `-n5`, `-xn5`). */
  short?: string;
  /** Short options whose value is optional and attached only (`sed -i`, `sed -i.bak`). */
  shortOptional?: string;
  /** Long options that take a value (`--lines 5`, `--lines=5`). */
  long?: readonly string[];
  /** Options end at the first operand (POSIX order; interpreters, whose later words are the script's). */
  stopAtOperand?: boolean;
}

export interface ParsedOption {
  /** `-n` or `--lines` (a unique abbreviation of a known long option is expanded). */
  name: string;
  value?: string;
  /** Index in argv of the option word. */
  index: number;
  /** Index in argv of a separate value word. */
  valueIndex?: number;
}

export interface Operand {
  text: string;
  index: number;
}

export interface ParsedArgs {
  options: ParsedOption[];
  operands: Operand[];
}

/** Expands a getopt_long abbreviation (`--recur` → `--recursive`) when it is unique among `known`. */
export function expandLong(name: string, known: readonly string[]): string {
  if (known.includes(name)) return name;
  const hits = known.filter((k) => k.startsWith(name));
  return hits.length === 1 ? (hits[0] as string) : name;
}

export function parseArgs(argv: readonly string[], spec: OptSpec, from = 1, knownLong: readonly string[] = []): ParsedArgs {
  const options: ParsedOption[] = [];
  const operands: Operand[] = [];
  const longs = spec.long ?? [];
  const allLong = [...longs, ...knownLong];
  let onlyOperands = false;
  for (let k = from; k < argv.length; k++) {
    const t = argv[k] as string;
    if (onlyOperands || t === "-" || !t.startsWith("-")) {
      operands.push({ text: t, index: k });
      if (spec.stopAtOperand) onlyOperands = true;
      continue;
    }
    if (t === "--") {
      onlyOperands = true;
      continue;
    }
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const name = "--" + expandLong(eq < 0 ? t.slice(2) : t.slice(2, eq), allLong.map((l) => l.replace(/^--/, ""))).replace(/^--/, "");
      if (eq >= 0) options.push({ name, value: t.slice(eq + 1), index: k });
      else if (longs.includes(name) && k + 1 < argv.length) {
        options.push({ name, value: argv[k + 1] as string, index: k, valueIndex: k + 1 });
        k++;
      } else options.push({ name, index: k });
      continue;
    }
    // A cluster of short options: the first one that takes a value ends it.
    for (let j = 1; j < t.length; j++) {
      const c = t[j] as string;
      const name = `-${c}`;
      if (spec.short?.includes(c)) {
        if (j + 1 < t.length) options.push({ name, value: t.slice(j + 1), index: k });
        else if (k + 1 < argv.length) {
          options.push({ name, value: argv[k + 1] as string, index: k, valueIndex: k + 1 });
          k++;
        } else options.push({ name, index: k });
        break;
      }
      if (spec.shortOptional?.includes(c)) {
        if (j + 1 < t.length) options.push({ name, value: t.slice(j + 1), index: k });
        else options.push({ name, index: k });
        break;
      }
      options.push({ name, index: k });
    }
  }
  return { options, operands };
}

/** Whether any of `names` was given (`-r`, `--recursive`). */
export function hasOption(p: ParsedArgs, names: readonly string[]): boolean {
  return p.options.some((o) => names.includes(o.name));
}

/** The values of every option among `names`, in order. */
export function optionValues(p: ParsedArgs, names: readonly string[]): ParsedOption[] {
  return p.options.filter((o) => names.includes(o.name) && o.value !== undefined);
}
