/**
 * Where the command run by a wrapper program starts in its argv: `timeout 5 curl x` runs `curl x`,
 * `sudo -u root -E env FOO=1 curl` runs `env FOO=1 curl`, which runs `curl`.
 *
 * Option tables are written from each program's manual (GNU coreutils, GNU findutils, sudo 1.9,
 * OpenBSD doas, util-linux). An option we do not know means we cannot tell where the command
 * starts: the caller then reports the inner command as unresolved instead of guessing.
 */
import type { Field } from "./words.js";

export interface OptionSpec {
  /** Short options without an argument. */
  flags: string;
  /** Short options with a required argument (`-u root` or `-uroot`). */
  args: string;
  /** Short options whose argument is optional and attached only (`-i`, `-i{}`). */
  optArgs?: string;
  /** Long options without an argument (`--foo`; `--foo=x` is accepted for every long option). */
  long: string[];
  /** Long options whose argument may be the next word. */
  longArgs: string[];
  /** Short options meaning the program does not run a command (`sudo -l`, `command -v`). */
  noRun?: string;
  /** Long options meaning the same. */
  longNoRun?: string[];
}

export type InnerStart =
  | { kind: "inner"; index: number }
  /** The program runs no command (`env` alone prints the environment, `sudo -l` lists). */
  | { kind: "none" }
  /** The options could not be understood, or an option makes the inner command unknowable (`env -S`). */
  | { kind: "unknown"; why: string };

/**
 * Skips the options of a wrapper starting at argv[from]. Returns the index of the first operand.
 */
export function skipOptions(argv: readonly Field[], from: number, spec: OptionSpec): InnerStart {
  let k = from;
  while (k < argv.length) {
    const f = argv[k] as Field;
    if (f.dynamic || f.glob) return { kind: "unknown", why: `option '${f.text}' is not static` };
    const t = f.text;
    if (t === "--") return { kind: "inner", index: k + 1 };
    if (!t.startsWith("-") || t === "-") return { kind: "inner", index: k };
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const name = eq < 0 ? t.slice(2) : t.slice(2, eq);
      if (spec.longNoRun?.includes(name)) return { kind: "none" };
      if (spec.longArgs.includes(name)) {
        k += eq < 0 ? 2 : 1;
        continue;
      }
      if (spec.long.includes(name)) {
        k++;
        continue;
      }
      return { kind: "unknown", why: `unknown option '${t}'` };
    }
    let consumedNext = false;
    for (let j = 1; j < t.length; j++) {
      const c = t[j] as string;
      if (spec.noRun?.includes(c)) return { kind: "none" };
      if (spec.args.includes(c)) {
        if (j === t.length - 1) consumedNext = true;
        break;
      }
      if (spec.optArgs?.includes(c)) break;
      if (spec.flags.includes(c)) continue;
      return { kind: "unknown", why: `unknown option '-${c}' in '${t}'` };
    }
    k += consumedNext ? 2 : 1;
  }
  return { kind: "none" };
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

export interface WrapperResult {
  start: InnerStart;
  /** `env`/`sudo` NAME=value words between the options and the command. */
  assignments: string[];
  source: "wrapper" | "xargs";
  /** xargs: the inner command's arguments get words read from input appended (or, with -I, substituted). */
  fromInput?: { replace: string | undefined };
}

/** The replacement string of `xargs -I R`, `-iR`, `-i`, `--replace[=R]` among argv[1..end). */
function xargsReplace(argv: readonly Field[], end: number): string | undefined {
  let replace: string | undefined;
  for (let k = 1; k < end; k++) {
    const t = (argv[k] as Field).text;
    if (t === "-I") replace = (argv[k + 1] as Field | undefined)?.text;
    else if (/^-[0rtpxo]*I./.test(t)) replace = t.slice(t.indexOf("I") + 1);
    else if (/^-[0rtpxo]*i/.test(t)) replace = t.slice(t.indexOf("i") + 1) || "{}";
    else if (t === "--replace") replace = "{}";
    else if (t.startsWith("--replace=")) replace = t.slice(10);
  }
  return replace;
}

function afterAssignments(argv: readonly Field[], start: InnerStart, assignments: string[]): InnerStart {
  if (start.kind !== "inner") return start;
  let k = start.index;
  while (k < argv.length && !(argv[k] as Field).dynamic && ASSIGNMENT.test((argv[k] as Field).text)) assignments.push((argv[k++] as Field).text);
  return k < argv.length ? { kind: "inner", index: k } : { kind: "none" };
}

const SPECS: Record<string, OptionSpec> = {
  timeout: { flags: "v", args: "sk", long: ["preserve-status", "foreground", "verbose"], longArgs: ["signal", "kill-after"] },
  time: { flags: "pavq", args: "fo", long: ["append", "verbose", "portability", "quiet"], longArgs: ["format", "output"] },
  nice: { flags: "", args: "n", long: [], longArgs: ["adjustment"] },
  nohup: { flags: "", args: "", long: [], longArgs: [] },
  ionice: { flags: "t", args: "cn", long: ["ignore"], longArgs: ["class", "classdata"], noRun: "pPu", longNoRun: ["pid", "pgid", "uid", "help", "version"] },
  stdbuf: { flags: "", args: "ioe", long: [], longArgs: ["input", "output", "error"] },
  setsid: { flags: "cfw", args: "", long: ["ctty", "fork", "wait"], longArgs: [] },
  command: { flags: "p", args: "", long: [], longArgs: [], noRun: "vV" },
  builtin: { flags: "", args: "", long: [], longArgs: [] },
  exec: { flags: "cl", args: "a", long: [], longArgs: [] },
  coproc: { flags: "", args: "", long: [], longArgs: [] },
  busybox: { flags: "", args: "", long: [], longArgs: [] },
  env: {
    flags: "i0v",
    args: "uCP",
    long: ["ignore-environment", "null", "debug", "block-signal", "default-signal", "ignore-signal", "list-signal-handling"],
    longArgs: ["unset", "chdir"],
  },
  sudo: {
    flags: "AbEHiKknPSsBN",
    args: "CDghpRrtTUu",
    long: ["askpass", "background", "bell", "preserve-env", "set-home", "login", "remove-timestamp", "reset-timestamp", "non-interactive", "preserve-groups", "stdin", "shell"],
    longArgs: ["close-from", "chdir", "group", "host", "prompt", "chroot", "role", "type", "command-timeout", "other-user", "user"],
    noRun: "elvV",
    longNoRun: ["edit", "list", "validate", "version", "help"],
  },
  doas: { flags: "nsL", args: "uC", long: [], longArgs: [] },
  xargs: {
    flags: "0rtpxo",
    args: "adEILnPs",
    optArgs: "eil",
    long: ["null", "no-run-if-empty", "verbose", "interactive", "exit", "open-tty", "show-limits", "eof", "replace", "max-lines"],
    longArgs: ["arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"],
    noRun: "",
    longNoRun: ["help", "version"],
  },
};

export const WRAPPERS: ReadonlySet<string> = new Set(Object.keys(SPECS));

/** For a wrapper program (by basename), where its inner command starts. Undefined when not a wrapper. */
export function wrapperInner(program: string, argv: readonly Field[]): WrapperResult | undefined {
  const spec = SPECS[program];
  if (!spec) return undefined;
  const assignments: string[] = [];
  const source = program === "xargs" ? "xargs" : "wrapper";
  if (program === "nice") {
    // `nice -10 cmd` (an adjustment written as an option)
    let k = 1;
    while (k < argv.length && /^-\d+$/.test((argv[k] as Field).text)) k++;
    return { start: skipOptions(argv, k, spec), assignments, source };
  }
  if (program === "env") {
    for (let k = 1; k < argv.length; k++) {
      const t = (argv[k] as Field).text;
      if (t === "--") break;
      if (/^-[^-]*S/.test(t) || t.startsWith("--split-string")) return { start: { kind: "unknown", why: "env -S splits a string into a command" }, assignments, source };
      if (!t.startsWith("-")) break;
    }
    const argv2 = argv.map((f, k) => (k > 0 && f.text === "-" ? { ...f, text: "-i" } : f));
    return { start: afterAssignments(argv, skipOptions(argv2, 1, spec), assignments), assignments, source };
  }
  if (program === "sudo") return { start: afterAssignments(argv, skipOptions(argv, 1, spec), assignments), assignments, source };
  let start = skipOptions(argv, 1, spec);
  if (program === "xargs") {
    const end = start.kind === "inner" ? start.index : argv.length;
    return { start, assignments, source, fromInput: { replace: xargsReplace(argv, end) } };
  }
  if (program === "timeout" && start.kind === "inner") {
    // the duration operand comes before the command
    start = start.index + 1 < argv.length ? { kind: "inner", index: start.index + 1 } : { kind: "none" };
  }
  return { start, assignments, source };
}

export const SHELLS: ReadonlySet<string> = new Set(["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash"]);

export type ShellInvocation =
  /** `-c STRING`. */
  | { kind: "string"; index: number }
  /** The shell reads its program from standard input (no operand, `-s`, `-`, `/dev/stdin`). */
  | { kind: "stdin" }
  /** A script file operand; `index` is that operand. */
  | { kind: "file"; index: number }
  | { kind: "unknown"; why: string };

/** How a shell (`bash -lc STR`, `sh -s`, `bash script.sh`) gets its program. */
export function shellInvocation(argv: readonly Field[], from = 1): ShellInvocation {
  let hasC = false;
  let readsStdin = false;
  let k = from;
  const longArgs = new Set(["--rcfile", "--init-file"]);
  for (; k < argv.length; k++) {
    const f = argv[k] as Field;
    if (f.dynamic || f.glob) {
      if (hasC) return { kind: "unknown", why: `shell command string '${f.text}' is not static` };
      return { kind: "unknown", why: `shell argument '${f.text}' is not static` };
    }
    const t = f.text;
    if (t === "--" || t === "-") {
      k++;
      if (t === "-") readsStdin = true;
      break;
    }
    if (t.startsWith("--")) {
      if (longArgs.has(t)) k++;
      continue;
    }
    if ((t.startsWith("-") || t.startsWith("+")) && t.length > 1) {
      for (const c of t.slice(1)) {
        if (c === "c") hasC = true;
        else if (c === "s") readsStdin = true;
        else if (c === "o" || c === "O") k++;
      }
      continue;
    }
    break;
  }
  if (hasC) return k < argv.length ? { kind: "string", index: k } : { kind: "unknown", why: "-c without a command string" };
  if (readsStdin || k >= argv.length) return { kind: "stdin" };
  const op = argv[k] as Field;
  if (op.text === "/dev/stdin" || op.text === "/dev/fd/0" || op.text === "/proc/self/fd/0") return { kind: "stdin" };
  return { kind: "file", index: k };
}
