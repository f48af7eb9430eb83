// tar's command line (GNU tar, also accepted by bsdtar for the common forms): the old style
// `tar czf out.tgz dir` (a first word of letters whose values follow in order), short clusters
// (`-czf out.tgz`) and long options (`--file=out.tgz`).

/** Short option letters that take a value (GNU tar 1.35). */
const VALUE_LETTERS = "bCfFgHIKLNTVX";

const LONG_VALUES = [
  "--file",
  "--directory",
  "--files-from",
  "--exclude-from",
  "--use-compress-program",
  "--to-command",
  "--checkpoint-action",
  "--info-script",
  "--new-volume-script",
  "--rsh-command",
  "--rmt-command",
  "--listed-incremental",
  "--format",
  "--label",
  "--newer",
  "--newer-mtime",
  "--after-date",
  "--starting-file",
  "--tape-length",
  "--blocking-factor",
  "--exclude",
  "--transform",
  "--xform",
  "--owner",
  "--group",
  "--mode",
  "--mtime",
  "--suffix",
  "--volno-file",
  "--index-file",
  "--record-size",
  "--strip-components",
  "--sort",
  "--warning",
  "--quoting-style",
  "--occurrence",
  "--totals",
  "--backup",
];

const MODE_LETTERS: Record<string, TarMode> = { c: "create", r: "append", u: "append", x: "extract", t: "list", d: "diff", A: "append" };
const MODE_LONG: Record<string, TarMode> = {
  "--create": "create",
  "--append": "append",
  "--update": "append",
  "--extract": "extract",
  "--get": "extract",
  "--list": "list",
  "--diff": "diff",
  "--compare": "diff",
  "--catenate": "append",
  "--concatenate": "append",
  "--delete": "append",
};

export type TarMode = "create" | "append" | "extract" | "list" | "diff" | "unknown";

export interface TarOption {
  /** `-f` for a letter, `--file` for a long option (abbreviations expanded when unique). */
  name: string;
  value?: string;
  /** The argv index holding the value (or the option word itself). */
  index: number;
}

export interface TarArgs {
  mode: TarMode;
  options: TarOption[];
  operands: Array<{ text: string; index: number }>;
}

function expand(name: string): string {
  const all = [...LONG_VALUES, ...Object.keys(MODE_LONG)];
  if (all.includes(name)) return name;
  const hits = all.filter((l) => l.startsWith(name));
  return hits.length === 1 ? (hits[0] as string) : name;
}

export function parseTar(argv: readonly string[]): TarArgs {
  const options: TarOption[] = [];
  const operands: Array<{ text: string; index: number }> = [];
  let mode: TarMode = "unknown";
  let k = 1;
  const pending: string[] = [];
  const letters = (s: string, at: number, oldStyle: boolean): void => {
    for (let j = 0; j < s.length; j++) {
      const c = s[j] as string;
      if (MODE_LETTERS[c]) mode = MODE_LETTERS[c] as TarMode;
      if (VALUE_LETTERS.includes(c)) {
        if (oldStyle) pending.push(`-${c}`);
        else {
          const rest = s.slice(j + 1);
          if (rest !== "") options.push({ name: `-${c}`, value: rest, index: at });
          else pending.push(`-${c}`);
          return;
        }
      } else options.push({ name: `-${c}`, index: at });
    }
  };
  // Old style: the first word, without a dash, is a cluster of letters.
  const first = argv[1];
  if (first !== undefined && first !== "" && !first.startsWith("-") && /^[A-Za-z]+$/.test(first)) {
    letters(first, 1, true);
    k = 2;
  }
  let onlyOperands = false;
  for (; k < argv.length; k++) {
    const t = argv[k] as string;
    if (pending.length > 0 && !onlyOperands) {
      options.push({ name: pending.shift() as string, value: t, index: k });
      continue;
    }
    if (onlyOperands || t === "-" || !t.startsWith("-")) {
      operands.push({ text: t, index: k });
      continue;
    }
    if (t === "--") {
      onlyOperands = true;
      continue;
    }
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const name = expand(eq < 0 ? t : t.slice(0, eq));
      if (MODE_LONG[name]) mode = MODE_LONG[name] as TarMode;
      if (eq >= 0) options.push({ name, value: t.slice(eq + 1), index: k });
      else if (LONG_VALUES.includes(name) && k + 1 < argv.length) {
        options.push({ name, value: argv[k + 1] as string, index: k + 1 });
        k++;
      } else options.push({ name, index: k });
      continue;
    }
    letters(t.slice(1), k, false);
  }
  return { mode, options, operands };
}
