// Programs that run code or write files through their arguments. Such a command never rides on an
// allow rule with `*` or a `:*`/` *` tail (`Bash(git log:*)` does not allow `git log --output=~/.bashrc`);
// only an allow rule without `*` that matches the whole command allows it. Where an option's value
// is itself a command line (`go test -exec`, `git -c core.sshCommand=`, `rsync -e`), the judge also
// analyzes that value as a shell command so that deny rules apply to what it runs; where the value
// is code in another language (`python -c`), the judge scans it for denied programs and paths.
//
// One entry per program and option, each with the reason and an example that triggers it (and,
// where a near miss is likely, one that must not): test/unit/bash-exec-args.test.ts runs them all.
//
// A dynamic word (`$X`, `$(...)`) or a glob that could expand to a file named like an option
// (`*`) where an entry looks counts as a hit: it could be that option at run time.
import { fold } from "../glob.js";
import type { SimpleCommand } from "../shell/analyze.js";
import { awkIsUnsafe, scanAwk } from "./bash-awk.js";
import { parseArgs } from "./bash-args.js";
import { scanSed } from "./bash-sed.js";
import { parseTar } from "./bash-tar.js";

export interface ArgView {
  /** Program family (see programFamily): `python` for `python3.12`. */
  family: string;
  argv: readonly string[];
  /** Indexes of words that could be anything at run time (parameters, substitutions, option-like globs). */
  dynamic: ReadonlySet<number>;
}

export interface Hit {
  /** The word(s) that triggered the entry, for messages. */
  detail: string;
  /** The option's value, when the entry says what it is. */
  value?: string;
  /** What this value is, when it differs from the entry's `value` (awk: the program is code, system()'s string a command). */
  kind?: "command" | "code";
}

export type Detect =
  /** Options (`--upload-pack`, `-u`, `-exec`), in a part of argv. Long options match unique-looking abbreviations too. */
  | { option: readonly string[]; at?: "global" | "sub" | "any" | "beforeOperand"; valueShort?: string }
  /** Whole words anywhere (find's primaries). */
  | { word: readonly string[] }
  /** Words starting with a prefix (`ext::`, `+` of less/vim). */
  | { prefix: string }
  /** The subcommand itself (`go generate`). */
  | { always: true }
  | { custom: (v: ArgView) => Hit[] };

export interface ExecArgEntry {
  id: string;
  /** Program families (see programFamily). */
  programs: readonly string[];
  /** Only for these subcommands (the first operand after the program's global options). */
  subcommands?: readonly string[];
  detect: Detect;
  /** What the option's value is: a shell command line (analyzed for deny rules) or code to scan. */
  value?: "command" | "code";
  reason: string;
  /** A command line that triggers the entry. */
  example: string;
  /** A similar command line that must not. */
  nearMiss?: string;
  /** The files its code reads and writes are found exactly (bash-files.ts): do not guess paths from the code. */
  pathsKnown?: boolean;
  /** The program is read from standard input: a here-document or here-string is scanned as code. */
  stdinIsCode?: boolean;
  /** Asks even in bypassPermissions mode (like writes to protected paths). */
  keepAsk?: boolean;
}

/** Groups spellings of one program: `python3.12` → `python`, `gawk` → `awk`. */
export function programFamily(program: string): string {
  const p = fold(program);
  if (/^(python|pypy)[0-9.]*$/.test(p)) return "python";
  if (p === "nodejs") return "node";
  if (/^perl[0-9.]*$/.test(p)) return "perl";
  if (/^ruby[0-9.]*$/.test(p)) return "ruby";
  if (/^php[0-9.]*$/.test(p)) return "php";
  if (/^lua(jit|[0-9.]*)$/.test(p)) return "lua";
  if (/^[gmn]?awk$/.test(p)) return "awk";
  if (p === "gsed") return "sed";
  if (p === "gtar" || p === "bsdtar") return "tar";
  if (p === "gmake" || p === "bmake") return "make";
  if (/^(vim?|nvim|view|vimdiff|ex|rvim|gvim|rview)$/.test(p)) return "vim";
  if (p === "powershell" || p === "pwsh") return "pwsh";
  if (/^(e|f|r)?grep$/.test(p) && p !== "rgrep") return "grep";
  return p;
}

/** Git's global options that take a separate value. */
const GIT_GLOBAL_VALUES = new Set(["-c", "-C", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env", "--attr-source", "--list-cmds"]);

/** Index of the subcommand word (first operand after global options), -1 when none, -2 when it could be anything. */
export function subcommandIndex(v: ArgView): number {
  for (let k = 1; k < v.argv.length; k++) {
    const t = v.argv[k] as string;
    if (v.dynamic.has(k)) return -2;
    if (!t.startsWith("-")) return k;
    if (v.family === "git" && GIT_GLOBAL_VALUES.has(t)) k++;
  }
  return -1;
}

/** The view of an analyzed command the detectors work on. */
export function argViewOf(c: SimpleCommand): ArgView {
  const glob = new Set(c.globArgs);
  const dynamic = new Set<number>();
  for (const k of c.dynamicArgs) if (k > 0 && optionLikeDynamic(c.argv[k] as string, glob.has(k))) dynamic.add(k);
  return { family: programFamily(c.program), argv: c.argv, dynamic };
}

/** Whether an argv word may, at run time, be an option: it starts with a dynamic piece or `-`, or is a glob starting with a wildcard. */
export function optionLikeDynamic(word: string, isGlob: boolean): boolean {
  if (isGlob) return /^[-*?[]/.test(word);
  return /^[-$`]/.test(word);
}

function matchOption(w: string, name: string, next: string | undefined): Hit | undefined {
  if (name.startsWith("--")) {
    if (w === name) return { detail: w, ...(next !== undefined ? { value: next } : {}) };
    if (w.startsWith(`${name}=`)) return { detail: w, value: w.slice(name.length + 1) };
    // getopt_long, git and npm accept abbreviations: `--upload-p=x` is `--upload-pack=x`.
    const eq = w.indexOf("=");
    const wn = eq < 0 ? w : w.slice(0, eq);
    if (wn.startsWith("--") && wn.length >= 5 && name.startsWith(wn)) return { detail: w, ...(eq >= 0 ? { value: w.slice(eq + 1) } : next !== undefined ? { value: next } : {}) };
    return undefined;
  }
  if (name.length > 2) {
    // Single-dash long options (`go test -exec`, `gdb -ex`): also `--name` and `-name=value`.
    if (w === name || w === `-${name}`) return { detail: w, ...(next !== undefined ? { value: next } : {}) };
    for (const n of [name, `-${name}`]) if (w.startsWith(`${n}=`)) return { detail: w, value: w.slice(n.length + 1) };
    return undefined;
  }
  // A short option, possibly inside a cluster (`-qu cmd`, `-ecode`).
  if (!/^-[^-]/.test(w)) return undefined;
  const j = w.indexOf(name[1] as string, 1);
  if (j < 0) return undefined;
  const rest = w.slice(j + 1);
  return { detail: w, ...(rest !== "" ? { value: rest } : next !== undefined ? { value: next } : {}) };
}

function range(v: ArgView, at: "global" | "sub" | "any" | "beforeOperand", sub: number): [number, number] {
  if (at === "global") return [1, sub >= 0 ? sub : v.argv.length];
  if (at === "sub") return [sub >= 0 ? sub + 1 : 1, v.argv.length];
  return [1, v.argv.length];
}

function detectOptions(v: ArgView, d: Extract<Detect, { option: readonly string[] }>, sub: number): Hit[] {
  const hits: Hit[] = [];
  const at = d.at ?? "any";
  const [from, to] = range(v, at, sub);
  for (let k = from; k < to; k++) {
    const w = v.argv[k] as string;
    if (v.dynamic.has(k)) {
      hits.push({ detail: `${w} (could be ${d.option.join(" or ")} at run time)` });
      if (at === "beforeOperand") break;
      continue;
    }
    if (at === "beforeOperand" && (!w.startsWith("-") || w === "-" || w === "--")) break;
    for (const name of d.option) {
      const h = matchOption(w, name, v.argv[k + 1]);
      if (h) hits.push(h);
    }
    // Skip the value of a value-taking option before the first operand (`python -W ignore -c ...`).
    if (at === "beforeOperand" && d.valueShort && /^-[^-]$/.test(w) && d.valueShort.includes(w[1] as string)) k++;
  }
  return hits;
}

function words(v: ArgView, pred: (w: string) => boolean, what: string): Hit[] {
  const hits: Hit[] = [];
  v.argv.forEach((w, k) => {
    if (k === 0) return;
    if (v.dynamic.has(k)) hits.push({ detail: `${w} (could be ${what} at run time)` });
    else if (pred(w)) hits.push({ detail: w });
  });
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Custom detectors.

/** Git configuration keys that only change presentation or identity; every other key may run code
 * (core.pager, core.sshCommand, core.fsmonitor, alias.*, credential.helper, *.textconv, filter.*,
 * diff.external, gpg.program, include.path, url.*.insteadOf...). */
const GIT_SAFE_KEYS = [/^color\./, /^user\.(name|email)$/, /^advice\./, /^core\.(quotepath|autocrlf|safecrlf|filemode|ignorecase|abbrev|whitespace|longpaths|precomposeunicode|eol)$/, /^init\.defaultbranch$/, /^column\./, /^i18n\./, /^log\.(date|decorate|abbrevcommit|follow)$/, /^pull\.rebase$/, /^push\.default$/];
/** Keys whose value git runs as a shell command (or program). */
const GIT_COMMAND_KEYS = [/^core\.(sshcommand|pager|editor|askpass|fsmonitor|hookspath|gitproxy)$/, /^alias\./, /^credential\..*helper$/, /^sequence\.editor$/, /^gpg\.(.*\.)?program$/, /^diff\.(external|.*\.(command|textconv))$/, /^filter\..*\.(clean|smudge|process)$/, /^pager\./, /^merge\..*\.driver$/, /^interactive\.difffilter$/, /^remote\..*\.(uploadpack|receivepack)$/, /^uploadpack\.packobjectshook$/];

function gitKeyHit(kv: string, detail: string): Hit | undefined {
  const eq = kv.indexOf("=");
  const key = fold(eq < 0 ? kv : kv.slice(0, eq));
  if (GIT_SAFE_KEYS.some((r) => r.test(key))) return undefined;
  const hit: Hit = { detail };
  if (eq >= 0 && GIT_COMMAND_KEYS.some((r) => r.test(key))) {
    const val = kv.slice(eq + 1);
    // `alias.x=!cmd` runs `cmd`; a plain alias is a git command line.
    hit.value = key.startsWith("alias.") ? (val.startsWith("!") ? val.slice(1) : `git ${val}`) : val;
  }
  return hit;
}

function gitDashC(v: ArgView): Hit[] {
  const hits: Hit[] = [];
  const sub = subcommandIndex(v);
  const end = sub >= 0 ? sub : v.argv.length;
  for (let k = 1; k < end; k++) {
    const w = v.argv[k] as string;
    if (v.dynamic.has(k)) {
      hits.push({ detail: `${w} (could be -c at run time)` });
      continue;
    }
    let kv: string | undefined;
    if (w === "-c") kv = v.argv[++k];
    else if (/^-c./.test(w)) kv = w.slice(2);
    else {
      if (GIT_GLOBAL_VALUES.has(w)) k++;
      continue;
    }
    if (kv === undefined) continue;
    if (v.dynamic.has(k)) hits.push({ detail: `-c ${kv} (not static)` });
    else {
      const h = gitKeyHit(kv, `-c ${kv}`);
      if (h) hits.push(h);
    }
  }
  return hits;
}

/** `git config [--global] key value` (and `git config set key value`) on a key that may run code. */
function gitConfigSet(v: ArgView): Hit[] {
  const sub = subcommandIndex(v);
  if (sub < 0) return [];
  const rest = v.argv.slice(sub + 1);
  if (rest.some((w) => /^(--get|--get-all|--get-regexp|--list|-l|--show-origin|--name-only|--unset|--unset-all|--remove-section)/.test(w))) return [];
  if (rest.some((_, k) => v.dynamic.has(sub + 1 + k))) return [{ detail: "git config with a non-static argument" }];
  const ops = rest.filter((w, k) => !w.startsWith("-") && !/^(-f|--file|--blob|--type|--default|--comment)$/.test(rest[k - 1] ?? ""));
  const verb = ops[0];
  const args = verb === "set" ? ops.slice(1) : verb === "get" || verb === "list" || verb === "unset" || verb === "edit" ? [] : ops;
  if (verb === "edit" || rest.includes("-e") || rest.includes("--edit")) return [{ detail: "git config --edit (runs the editor)" }];
  if (args.length < 2) return [];
  const h = gitKeyHit(`${args[0]}=${args[1]}`, `config ${args[0]} ${args[1]}`);
  return h ? [h] : [];
}

/** `git submodule foreach CMD`, `git bisect run CMD...`: the rest of the line is a command. */
function gitRunsRest(after: string): (v: ArgView) => Hit[] {
  return (v) => {
    const k = v.argv.indexOf(after);
    if (k < 0) return [];
    const rest = v.argv.slice(k + 1).filter((w) => !/^--(recursive|quiet)$/.test(w));
    return [{ detail: `${after} ${rest.join(" ")}`, value: rest.join(" ") }];
  };
}

const SED_VALUES = { short: "efl", shortOptional: "i", long: ["--expression", "--file", "--line-length"] } as const;

/** sed's scripts and options, read once per command. */
export function sedScript(argv: readonly string[]): { scripts: string[]; scriptFiles: string[]; files: string[]; inPlace: boolean; scriptOperandIndex?: number } {
  const p = parseArgs(argv, SED_VALUES, 1, ["--in-place", "--quiet", "--silent", "--regexp-extended", "--separate", "--sandbox", "--debug", "--posix", "--null-data", "--zero-terminated", "--unbuffered", "--follow-symlinks"]);
  const scripts: string[] = [];
  const scriptFiles: string[] = [];
  let inPlace = false;
  for (const o of p.options) {
    if ((o.name === "-e" || o.name === "--expression") && o.value !== undefined) scripts.push(o.value);
    if ((o.name === "-f" || o.name === "--file") && o.value !== undefined) scriptFiles.push(o.value);
    if (o.name === "-i" || o.name === "--in-place") inPlace = true;
  }
  let operands = p.operands;
  let scriptOperandIndex: number | undefined;
  if (scripts.length === 0 && scriptFiles.length === 0 && operands[0]) {
    scripts.push(operands[0].text);
    scriptOperandIndex = operands[0].index;
    operands = operands.slice(1);
  }
  return { scripts, scriptFiles, files: operands.map((o) => o.text), inPlace, ...(scriptOperandIndex !== undefined ? { scriptOperandIndex } : {}) };
}

function sedHits(kind: "exec" | "write" | "inplace" | "file"): (v: ArgView) => Hit[] {
  return (v) => {
    const s = sedScript(v.argv);
    if (kind === "inplace") {
      if (s.inPlace) return [{ detail: "-i (edits files in place)" }];
      // Any other dynamic word could be -i at run time.
      return [...v.dynamic].filter((k) => k !== s.scriptOperandIndex).map((k) => ({ detail: `${v.argv[k]} (could be -i at run time)` }));
    }
    if (kind === "file") return s.scriptFiles.length > 0 ? [{ detail: `-f ${s.scriptFiles.join(" ")} (a script we cannot see)` }] : [];
    // A script given through a dynamic word cannot be read.
    const dynScript = [...v.dynamic].some((k) => k === s.scriptOperandIndex || (k > 0 && /^(-e|--expression)$/.test(v.argv[k - 1] ?? "")) || /^(-e|--expression=)./.test(v.argv[k] ?? ""));
    if (dynScript) return kind === "exec" ? [{ detail: "a script that is not static" }] : [];
    const hits: Hit[] = [];
    for (const script of s.scripts) {
      const scan = scanSed(script);
      if (scan.unparsed !== undefined) {
        if (kind === "exec") hits.push({ detail: `script ${JSON.stringify(script)} (${scan.unparsed})` });
        continue;
      }
      if (kind === "exec" && scan.exec) {
        if (scan.commands.length === 0) hits.push({ detail: `script ${JSON.stringify(script)} runs the pattern space` });
        for (const c of scan.commands) hits.push({ detail: `e ${c}`, value: c });
      }
      if (kind === "write" && scan.writes.length > 0) hits.push({ detail: `script ${JSON.stringify(script)} writes ${scan.writes.join(", ")}` });
    }
    return hits;
  };
}

// awk stops reading options at the program text: later words are files or var=value.
const AWK_VALUES = { short: "FvfeilEW", long: ["--field-separator", "--assign", "--file", "--source", "--include", "--load", "--exec"], stopAtOperand: true } as const;

/** awk's program (unless given with -f), for the scanner. */
export function awkProgram(argv: readonly string[]): { program?: string; programIndex?: number; programFiles: string[]; files: string[]; loads: string[] } {
  const p = parseArgs(argv, AWK_VALUES);
  const programFiles: string[] = [];
  const loads: string[] = [];
  let program: string | undefined;
  for (const o of p.options) {
    if (["-f", "--file", "-E", "--exec", "-i", "--include"].includes(o.name) && o.value !== undefined) programFiles.push(o.value);
    if ((o.name === "-e" || o.name === "--source") && o.value !== undefined) program = (program === undefined ? "" : `${program}\n`) + o.value;
    if ((o.name === "-l" || o.name === "--load") && o.value !== undefined) loads.push(o.value);
  }
  let operands = p.operands;
  let programIndex: number | undefined;
  if (program === undefined && programFiles.length === 0 && operands[0]) {
    program = operands[0].text;
    programIndex = operands[0].index;
    operands = operands.slice(1);
  }
  // `var=value` operands are assignments, `-` is standard input.
  const files = operands.map((o) => o.text).filter((t) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(t));
  return { ...(program !== undefined ? { program } : {}), ...(programIndex !== undefined ? { programIndex } : {}), programFiles, files, loads };
}

function awkHits(v: ArgView): Hit[] {
  const a = awkProgram(v.argv);
  const hits: Hit[] = [];
  if (a.programFiles.length > 0) hits.push({ detail: `a program file we cannot see (${a.programFiles.join(", ")})` });
  if (a.loads.length > 0) hits.push({ detail: `-l ${a.loads.join(" ")} (loads a library)` });
  // A dynamic word before the program could be -f/-e/--load.
  for (const k of v.dynamic) if (k < (a.programIndex ?? v.argv.length) && k !== a.programIndex) hits.push({ detail: `${v.argv[k]} (could be an option at run time)` });
  if (a.programIndex !== undefined && v.dynamic.has(a.programIndex)) hits.push({ detail: "a program that is not static" });
  else if (a.program !== undefined) {
    const s = scanAwk(a.program);
    if (awkIsUnsafe(s)) {
      const what = [s.system && "system()", s.pipe && "a pipe", s.output && "output to a file", s.getlineFile && "getline from a file", s.load && "@load/@include", s.unparsed && `unreadable: ${s.unparsed}`].filter(Boolean).join(", ");
      hits.push({ detail: `program ${JSON.stringify(a.program)} uses ${what}`, value: a.program, kind: "code" });
      for (const c of s.commands) hits.push({ detail: `runs ${JSON.stringify(c)}`, value: c });
    }
  }
  return hits;
}

/** Only print a version or help (python's -v is verbose, not version: per program). */
const INFO_ONLY = /^(-V|--version|-h|--help)$/;
const INFO_ONLY_V = /^(-v|-V|--version|-h|--help)$/;

/** An interpreter with no script operand and no inline code reads its program from standard input. */
function readsProgramFromStdin(codeOpts: readonly string[], valueShort: string, info = INFO_ONLY): (v: ArgView) => Hit[] {
  return (v) => {
    for (let k = 1; k < v.argv.length; k++) {
      const w = v.argv[k] as string;
      if (v.dynamic.has(k)) return [];
      if (w === "-") return [{ detail: "- (program from standard input)" }];
      if (w === "--") return k + 1 < v.argv.length ? [] : [{ detail: "program from standard input" }];
      // A script operand, inline code, a module, or only version/help: not standard input.
      if (!w.startsWith("-")) return [];
      if (codeOpts.some((o) => w === o || (o.length === 2 && /^-[^-]/.test(w) && w.includes(o[1] as string))) || w.startsWith("--eval") || w.startsWith("--print")) return [];
      if (info.test(w) || /^-m$|^-m./.test(w)) return [];
      if (/^-[^-]$/.test(w) && valueShort.includes(w[1] as string)) k++;
    }
    return [{ detail: "no script: the program comes from standard input" }];
  };
}

/** ssh: a remote command after the destination, or options that run local commands. */
const SSH_VALUES = "BbcDEeFIiJLlmOopQRSWw";
const SSH_COMMAND_OPTS = /^(proxycommand|localcommand|knownhostscommand|remotecommand|permitlocalcommand|match)\b/i;

function sshOptionHits(v: ArgView, valueShort: string, remote: boolean): Hit[] {
  const hits: Hit[] = [];
  const p = parseArgs(v.argv, { short: valueShort, stopAtOperand: remote });
  for (const o of p.options) {
    if (o.name === "-o" && o.value !== undefined) {
      const opt = o.value.replace(/^\s+/, "");
      if (SSH_COMMAND_OPTS.test(opt)) {
        const val = opt.replace(/^[A-Za-z]+\s*=?\s*/, "");
        hits.push({ detail: `-o ${o.value}`, ...(/command$/i.test(opt.split(/[\s=]/)[0] ?? "") ? { value: val } : {}) });
      }
    }
    if (o.name === "-F") hits.push({ detail: `-F ${o.value ?? ""} (a config file can run commands)` });
    if (o.name === "-S" && !remote) hits.push({ detail: `-S ${o.value ?? ""} (the program used for the connection)`, ...(o.value !== undefined ? { value: o.value } : {}) });
  }
  for (const k of v.dynamic) if (k < (p.operands[0]?.index ?? v.argv.length)) hits.push({ detail: `${v.argv[k]} (not static)` });
  if (remote && p.operands.length > 1) {
    const cmd = p.operands.slice(1).map((o) => o.text).join(" ");
    hits.push({ detail: `remote command ${JSON.stringify(cmd)}`, value: cmd });
  }
  return hits;
}

/** Programs that run their operands as a command but are not modelled by the analyzer. */
export const UNMODELED_WRAPPERS: readonly string[] = [
  "strace",
  "ltrace",
  "valgrind",
  "unshare",
  "nsenter",
  "chroot",
  "chrt",
  "taskset",
  "flock",
  "firejail",
  "bwrap",
  "proxychains",
  "proxychains4",
  "torsocks",
  "tsocks",
  "catchsegv",
  "xvfb-run",
  "dbus-run-session",
  "dbus-launch",
  "systemd-run",
  "run-one",
  "caffeinate",
  "unbuffer",
  "script",
  "expect",
  "parallel",
  "runuser",
  "pkexec",
  "sg",
  "ssh-agent",
  "fakeroot",
  "faketime",
  "numactl",
  "cpulimit",
  "prlimit",
  "setpriv",
  "daemonize",
  "start-stop-daemon",
];

/** Every way the operands may form a command: each suffix starting at a non-option word, as a shell line. */
function runsOperands(v: ArgView): Hit[] {
  const hits: Hit[] = [];
  for (let k = 1; k < v.argv.length && hits.length < 16; k++) {
    const w = v.argv[k] as string;
    if (w.startsWith("-") && !v.dynamic.has(k)) {
      // `-c STRING` (flock, script, su-like tools): the string is a command line.
      if (/^-[a-z]*c$/.test(w) || w === "--command") {
        const s = v.argv[k + 1];
        if (s !== undefined) hits.push({ detail: `${w} ${s}`, value: s });
      }
      continue;
    }
    const rest = v.argv.slice(k);
    hits.push({ detail: rest.join(" "), value: rest.join(" ") });
  }
  if (hits.length === 0 && v.argv.length > 1) hits.push({ detail: v.argv.slice(1).join(" ") });
  return hits;
}

function tarHits(names: readonly string[]): (v: ArgView) => Hit[] {
  return (v) => {
    const t = parseTar(v.argv);
    const hits: Hit[] = [];
    for (const o of t.options) {
      if (!names.includes(o.name)) continue;
      let value = o.value;
      // --checkpoint-action=exec=CMD
      if (o.name === "--checkpoint-action") {
        if (value === undefined || !/^exec=/.test(value)) continue;
        value = value.slice(5);
      }
      hits.push({ detail: `${o.name}${o.value !== undefined ? ` ${o.value}` : ""}`, ...(value !== undefined ? { value } : {}) });
    }
    for (const k of v.dynamic) hits.push({ detail: `${v.argv[k]} (could be ${names[0]} at run time)` });
    return hits;
  };
}

function makeHits(v: ArgView): Hit[] {
  const hits: Hit[] = [];
  const p = parseArgs(v.argv, { short: "CfIjloW", long: ["--directory", "--file", "--makefile", "--include-dir", "--jobs", "--load-average", "--old-file", "--assume-old", "--what-if", "--new-file", "--assume-new", "--eval"] });
  for (const o of p.options) {
    if (["-f", "--file", "--makefile"].includes(o.name)) hits.push({ detail: `${o.name} ${o.value ?? ""} (another makefile's recipes run)` });
    if (o.name === "--eval" || o.name === "-E") hits.push({ detail: `${o.name} ${o.value ?? ""}`, ...(o.value !== undefined ? { value: o.value } : {}) });
  }
  for (const o of p.operands) {
    if (/^[A-Za-z_.][A-Za-z0-9_.]*\s*[:+?!]?=/.test(o.text)) hits.push({ detail: `${o.text} (a variable can replace any recipe's command)` });
    if (v.dynamic.has(o.index)) hits.push({ detail: `${o.text} (not static)` });
  }
  return hits;
}

function envSplit(v: ArgView): Hit[] {
  for (let k = 1; k < v.argv.length; k++) {
    const w = v.argv[k] as string;
    if (!w.startsWith("-") || w === "--") break;
    if (w === "-S" || w === "--split-string") return [{ detail: `${w} ${v.argv[k + 1] ?? ""}`, ...(v.argv[k + 1] !== undefined ? { value: v.argv.slice(k + 1).join(" ") } : {}) }];
    const m = /^(?:-[^-S]*S|--split-string=)(.*)$/s.exec(w);
    if (m) return [{ detail: w, value: [m[1] as string, ...v.argv.slice(k + 1)].join(" ") }];
  }
  return [];
}

function pwshHits(v: ArgView): Hit[] {
  const hits: Hit[] = [];
  v.argv.forEach((w, k) => {
    if (k === 0) return;
    const f = fold(w);
    if (v.dynamic.has(k)) hits.push({ detail: `${w} (not static)` });
    else if (/^[-/](c|co|com|comm|comma|comman|command|e|ec|en|enc|encodedcommand|encodedcommand)$/.test(f) || /^[-/](encod|encode|encoded)/.test(f)) hits.push({ detail: w, ...(v.argv[k + 1] !== undefined ? { value: v.argv.slice(k + 1).join(" ") } : {}) });
  });
  return hits;
}

function goFlag(names: readonly string[]): (v: ArgView) => Hit[] {
  return (v) => detectOptions(v, { option: names, at: "sub" }, 1);
}

// ---------------------------------------------------------------------------------------------
// The table.

const NET_GIT = ["fetch", "clone", "pull", "push", "ls-remote", "remote", "submodule", "archive", "fetch-pack", "send-pack"];

/**
 * mcp-warden's own commands that answer for a person: approving a held call or a server, forgetting
 * pins, trusting settings, and `console`, whose link opens the local console as its admin (where
 * questions are answered). The agent must not approve its own calls, so these ask (even under a
 * blanket Bash allow and in bypassPermissions mode) unless an allow rule names the exact command.
 * As `mcp-warden ...`, or as `node .../cli.cjs ...` (how `init --claude-code` writes it).
 */
const APPROVING = new Map<string, readonly string[]>([
  ["approvals", ["approve", "deny"]],
  ["pins", ["approve", "reset"]],
  ["trust", []],
  ["console", []],
]);
function mcpWardenApproves(v: ArgView): Hit[] {
  let i = 1;
  if (v.family === "node") {
    // node [options] SCRIPT ...: the script must be mcp-warden's entry point.
    while (i < v.argv.length && v.argv[i]!.startsWith("-")) i++;
    const script = v.argv[i] ?? "";
    if (!/(^|\/)(mcp-warden|cli\.c?js)$/.test(script) && !v.dynamic.has(i)) return [];
    i++;
  }
  while (i < v.argv.length && v.argv[i]!.startsWith("-")) i++;
  const sub = v.argv[i];
  if (sub === undefined) return [];
  if (v.dynamic.has(i)) return [{ detail: "a subcommand known only at run time" }];
  const actions = APPROVING.get(sub);
  if (actions === undefined) return [];
  if (actions.length === 0) return [{ detail: sub }];
  const action = v.argv.slice(i + 1).find((w) => !w.startsWith("-"));
  return action !== undefined && actions.includes(action) ? [{ detail: `${sub} ${action}` }] : [];
}

export const EXEC_ARG_ENTRIES: readonly ExecArgEntry[] = [
  {
    id: "mcp-warden approves",
    programs: ["mcp-warden", "node"],
    detect: { custom: mcpWardenApproves },
    keepAsk: true,
    reason: "it answers for a person (approves a held call or a server, forgets pins, trusts settings, opens the console where questions are answered), which the agent must not do for itself",
    example: "mcp-warden approvals approve 0a1b2c3d",
    nearMiss: "mcp-warden approvals list",
  },
  // git
  { id: "git -c", programs: ["git"], detect: { custom: gitDashC }, value: "command", reason: "git -c sets configuration for this run, and many keys run commands (core.pager, core.sshCommand, core.fsmonitor, alias.*=!...)", example: "git -c core.pager='sh -c id' log", nearMiss: "git -c color.ui=never log" },
  { id: "git --config-env", programs: ["git"], detect: { option: ["--config-env"], at: "global" }, reason: "git --config-env sets configuration from an environment variable we cannot see", example: "git --config-env=core.pager=EVIL log", nearMiss: "git log" },
  { id: "git --exec-path", programs: ["git"], detect: { option: ["--exec-path"], at: "global" }, reason: "git --exec-path=DIR runs git's subcommands from another directory", example: "git --exec-path=/tmp/x status", nearMiss: "git status" },
  { id: "git --upload-pack", programs: ["git"], subcommands: NET_GIT, detect: { option: ["--upload-pack"], at: "sub" }, value: "command", reason: "--upload-pack runs a program of the caller's choice", example: "git fetch --upload-pack='touch /tmp/x' origin", nearMiss: "git fetch origin" },
  { id: "git --receive-pack", programs: ["git"], detect: { option: ["--receive-pack", "--exec"], at: "sub" }, subcommands: ["push", "send-pack"], value: "command", reason: "--receive-pack runs a program of the caller's choice", example: "git push --receive-pack='touch /tmp/x' origin", nearMiss: "git push origin main" },
  { id: "git -u", programs: ["git"], subcommands: ["fetch", "clone", "ls-remote", "pull"], detect: { option: ["-u"], at: "sub" }, value: "command", reason: "-u is --upload-pack: it runs a program of the caller's choice", example: "git clone -u 'touch /tmp/x' repo", nearMiss: "git clone --depth 1 repo" },
  { id: "git --exec", programs: ["git"], subcommands: ["archive", "ls-remote", "fetch-pack", "clone", "fetch", "pull"], detect: { option: ["--exec"], at: "sub" }, value: "command", reason: "--exec names the program run on the remote side, which for a local path runs here", example: "git archive --remote=. --exec='touch /tmp/x' HEAD", nearMiss: "git archive HEAD" },
  { id: "git rebase --exec", programs: ["git"], subcommands: ["rebase"], detect: { option: ["--exec", "-x"], at: "sub" }, value: "command", reason: "rebase --exec runs a shell command after each commit", example: "git rebase -x 'touch /tmp/x' main", nearMiss: "git rebase main" },
  { id: "git grep -O", programs: ["git"], subcommands: ["grep"], detect: { option: ["--open-files-in-pager", "-O"], at: "sub" }, value: "command", reason: "-O/--open-files-in-pager runs a program on the matching files", example: "git grep -O'touch /tmp/x' TODO", nearMiss: "git grep -n TODO" },
  { id: "git ext:: URL", programs: ["git"], subcommands: NET_GIT, detect: { prefix: "ext::" }, value: "command", reason: "an ext:: URL runs a command instead of connecting", example: "git clone 'ext::sh -c touch% /tmp/x' repo", nearMiss: "git clone https://example.com/repo" },
  { id: "git --output", programs: ["git"], subcommands: ["log", "diff", "show", "whatchanged", "format-patch", "diff-tree", "diff-files", "diff-index", "range-diff"], detect: { option: ["--output", "--output-directory", "-o"], at: "sub" }, reason: "--output makes git write a file of the caller's choice", example: "git log -1 --output=/home/user/.bashrc", nearMiss: "git log -1 --oneline" },
  { id: "git --ext-diff", programs: ["git"], subcommands: ["log", "diff", "show", "whatchanged", "diff-tree", "diff-files", "diff-index"], detect: { option: ["--ext-diff"], at: "sub" }, reason: "--ext-diff runs an external diff program from the configuration", example: "git diff --ext-diff", nearMiss: "git diff --stat" },
  { id: "git difftool -x", programs: ["git"], subcommands: ["difftool", "mergetool"], detect: { option: ["--extcmd", "-x", "--tool", "-t"], at: "sub" }, value: "command", reason: "difftool -x/--extcmd runs a command of the caller's choice", example: "git difftool -x 'touch /tmp/x'", nearMiss: "git diff" },
  { id: "git submodule foreach", programs: ["git"], subcommands: ["submodule"], detect: { custom: gitRunsRest("foreach") }, value: "command", reason: "submodule foreach runs a shell command in every submodule", example: "git submodule foreach 'touch /tmp/x'", nearMiss: "git submodule status" },
  { id: "git bisect run", programs: ["git"], subcommands: ["bisect"], detect: { custom: gitRunsRest("run") }, value: "command", reason: "bisect run runs a command of the caller's choice", example: "git bisect run ./test.sh", nearMiss: "git bisect good" },
  { id: "git filter-branch", programs: ["git"], subcommands: ["filter-branch"], detect: { always: true }, reason: "filter-branch runs shell filters given as arguments", example: "git filter-branch --tree-filter 'touch /tmp/x' HEAD", nearMiss: "git branch" },
  { id: "git config set", programs: ["git"], subcommands: ["config"], detect: { custom: gitConfigSet }, value: "command", reason: "setting a configuration key that runs commands (core.pager, alias.*, ...) makes later git commands run it", example: "git config core.pager 'sh -c id'", nearMiss: "git config user.name Alice" },

  // find
  { id: "find -exec", programs: ["find"], detect: { word: ["-exec", "-execdir", "-ok", "-okdir"] }, reason: "find -exec/-execdir/-ok/-okdir runs a command on every file found", example: "find . -name x.log -exec rm {} \\;", nearMiss: "find . -name '*-exec*'" },
  { id: "find -delete", programs: ["find"], detect: { word: ["-delete"] }, reason: "find -delete removes every file found", example: "find . -name x.log -delete", nearMiss: "find . -name x.log" },
  { id: "find -fprint", programs: ["find"], detect: { word: ["-fprint", "-fprint0", "-fprintf", "-fls"] }, reason: "find -fprint/-fprint0/-fprintf/-fls write a file of the caller's choice", example: "find . -fprint /home/user/.bashrc", nearMiss: "find . -print" },

  // sed
  { id: "sed e", programs: ["sed"], detect: { custom: sedHits("exec") }, value: "command", reason: "sed's e command and the e flag of s run shell commands", example: "sed '1e touch /tmp/x' README.md", nearMiss: "sed -n '1,20p' README.md" },
  { id: "sed w", programs: ["sed"], detect: { custom: sedHits("write") }, reason: "sed's w/W commands and the w flag of s write files", example: "sed -n '1w /home/user/.zshrc' README.md", nearMiss: "sed -n '/w/p' README.md" },
  { id: "sed -i", programs: ["sed"], detect: { custom: sedHits("inplace") }, reason: "sed -i rewrites its input files", example: "sed -i 's/a/b/' src/x.ts", nearMiss: "sed 's/a/b/' src/x.ts" },
  { id: "sed -f", programs: ["sed"], detect: { custom: sedHits("file") }, reason: "a sed script file may run commands or write files", example: "sed -f script.sed README.md", nearMiss: "sed -e 's/a/b/' README.md" },

  // awk
  { id: "awk system/pipe/output", programs: ["awk"], detect: { custom: awkHits }, value: "command", pathsKnown: true, reason: "awk programs can run commands (system(), pipes) and write or read files (>, getline <)", example: "awk 'BEGIN { system(\"id\") }'", nearMiss: "awk '{print $1}' access.log" },

  // search tools
  { id: "rg --pre", programs: ["rg"], detect: { option: ["--pre", "--hostname-bin"] }, value: "command", reason: "rg --pre/--hostname-bin run a program of the caller's choice", example: "rg --pre=./scripts/x.sh TODO src/", nearMiss: "rg --pre-glob '*.gz' TODO" },
  { id: "rg -z", programs: ["rg"], detect: { option: ["--search-zip", "-z"] }, reason: "rg -z runs decompression programs found on PATH", example: "rg -z TODO", nearMiss: "rg -i TODO" },

  // package managers
  { id: "npm --script-shell", programs: ["npm", "pnpm", "yarn", "npx", "bun"], detect: { option: ["--script-shell"] }, value: "command", reason: "--script-shell runs package scripts through a program of the caller's choice", example: "npm run lint --script-shell=/tmp/evil.sh", nearMiss: "npm run lint" },
  { id: "npm --node-options", programs: ["npm", "pnpm", "yarn", "npx"], detect: { option: ["--node-options"] }, value: "code", reason: "--node-options can preload code into every node process (--require)", example: "npm test --node-options='--require ./evil.js'", nearMiss: "npm test" },
  { id: "npm --userconfig", programs: ["npm", "pnpm", "yarn", "npx"], detect: { option: ["--userconfig", "--globalconfig"] }, reason: "another npm configuration file can set script-shell or node-options", example: "npm test --userconfig=/tmp/npmrc", nearMiss: "npm test --silent" },
  { id: "npm exec -c", programs: ["npm", "npx"], detect: { option: ["--call", "-c"] }, value: "command", reason: "npm exec --call/-c runs a shell command", example: "npx -c 'touch /tmp/x'", nearMiss: "npx prettier --check ." },

  // tar, zip, sort
  { id: "tar --to-command", programs: ["tar"], detect: { custom: tarHits(["--to-command"]) }, value: "command", reason: "tar --to-command pipes every extracted file into a command", example: "tar xf a.tar --to-command='sh -c id'", nearMiss: "tar xf a.tar" },
  { id: "tar -I", programs: ["tar"], detect: { custom: tarHits(["--use-compress-program", "-I"]) }, value: "command", reason: "tar -I/--use-compress-program runs a program of the caller's choice", example: "tar -I 'sh -c id' -xf a.tar", nearMiss: "tar -xzf a.tar" },
  { id: "tar --checkpoint-action", programs: ["tar"], detect: { custom: tarHits(["--checkpoint-action"]) }, value: "command", reason: "tar --checkpoint-action=exec= runs a command", example: "tar cf a.tar --checkpoint=1 --checkpoint-action=exec='sh -c id' src", nearMiss: "tar cf a.tar src" },
  { id: "tar -F", programs: ["tar"], detect: { custom: tarHits(["--info-script", "--new-volume-script", "-F"]) }, value: "command", reason: "tar -F/--info-script/--new-volume-script runs a script at the end of each volume", example: "tar -c -F ./x.sh -f a.tar src", nearMiss: "tar -c -f a.tar src" },
  { id: "tar --rsh-command", programs: ["tar"], detect: { custom: tarHits(["--rsh-command", "--rmt-command"]) }, value: "command", reason: "tar --rsh-command/--rmt-command run a program of the caller's choice", example: "tar --rsh-command=/tmp/x -cf host:a.tar src", nearMiss: "tar -cf a.tar src" },
  { id: "zip -TT", programs: ["zip"], detect: { option: ["-TT", "--unzip-command"] }, value: "command", reason: "zip -TT/--unzip-command runs a command to test the archive", example: "zip a.zip f -T -TT 'sh -c id'", nearMiss: "zip a.zip f -T" },
  { id: "sort --compress-program", programs: ["sort"], detect: { option: ["--compress-program"] }, value: "command", reason: "sort --compress-program runs a program of the caller's choice", example: "sort --compress-program=/tmp/x big.txt", nearMiss: "sort -u big.txt" },

  // go
  { id: "go -exec", programs: ["go"], subcommands: ["test", "run"], detect: { custom: goFlag(["-exec"]) }, value: "command", reason: "go test/run -exec runs the built binary through a program of the caller's choice", example: "go test -exec 'sh -c id' ./...", nearMiss: "go test ./..." },
  { id: "go -toolexec", programs: ["go"], subcommands: ["build", "test", "run", "install", "vet", "list", "generate", "get"], detect: { custom: goFlag(["-toolexec"]) }, value: "command", reason: "go -toolexec runs every compiler tool through a program of the caller's choice", example: "go build -toolexec=/tmp/x ./...", nearMiss: "go build ./..." },
  { id: "go vet -vettool", programs: ["go"], subcommands: ["vet"], detect: { custom: goFlag(["-vettool"]) }, value: "command", reason: "go vet -vettool runs a program of the caller's choice", example: "go vet -vettool=/tmp/x ./...", nearMiss: "go vet ./..." },
  { id: "go generate", programs: ["go"], subcommands: ["generate"], detect: { always: true }, reason: "go generate runs the commands written in //go:generate comments", example: "go generate ./...", nearMiss: "go build ./..." },
  { id: "go env -w", programs: ["go"], subcommands: ["env"], detect: { option: ["-w"], at: "sub" }, reason: "go env -w sets GOFLAGS and friends for every later go command (-toolexec, -exec)", example: "go env -w GOFLAGS=-toolexec=/tmp/x", nearMiss: "go env GOPATH" },

  // interpreters with inline code
  { id: "python -c", programs: ["python"], detect: { option: ["-c"], at: "beforeOperand", valueShort: "WX" }, value: "code", reason: "python -c runs the code given as an argument", example: "python3 -c 'import os; os.system(\"id\")'", nearMiss: "python3 script.py -c x" },
  { id: "python stdin", programs: ["python"], detect: { custom: readsProgramFromStdin(["-c", "-m"], "WX") }, stdinIsCode: true, reason: "python without a script runs the code it reads on standard input", example: "python3", nearMiss: "python3 --version" },
  { id: "node -e", programs: ["node", "bun"], detect: { option: ["-e", "--eval", "-p", "--print"], at: "beforeOperand", valueShort: "r" }, value: "code", reason: "node -e/-p runs the code given as an argument", example: "node -e 'require(\"child_process\").execSync(\"id\")'", nearMiss: "node script.js -e x" },
  { id: "node stdin", programs: ["node"], detect: { custom: readsProgramFromStdin(["-e", "-p"], "r", INFO_ONLY_V) }, stdinIsCode: true, reason: "node without a script runs the code it reads on standard input", example: "node", nearMiss: "node --version" },
  { id: "deno eval", programs: ["deno"], subcommands: ["eval"], detect: { always: true }, value: "code", reason: "deno eval runs the code given as an argument", example: "deno eval 'new Deno.Command(\"id\").outputSync()'", nearMiss: "deno run main.ts" },
  { id: "perl -e", programs: ["perl"], detect: { option: ["-e", "-E", "-M", "-m"], at: "beforeOperand", valueShort: "Ix" }, value: "code", reason: "perl -e/-E run the code given as an argument, and -M/-m can inject code", example: "perl -e 'system(\"id\")'", nearMiss: "perl script.pl -e" },
  { id: "perl stdin", programs: ["perl"], detect: { custom: readsProgramFromStdin(["-e", "-E"], "Ix", INFO_ONLY_V) }, stdinIsCode: true, reason: "perl without a script runs the code it reads on standard input", example: "perl", nearMiss: "perl -v" },
  { id: "ruby -e", programs: ["ruby"], detect: { option: ["-e"], at: "beforeOperand", valueShort: "IrCEF" }, value: "code", reason: "ruby -e runs the code given as an argument", example: "ruby -e 'system(\"id\")'", nearMiss: "ruby script.rb -e" },
  { id: "ruby stdin", programs: ["ruby"], detect: { custom: readsProgramFromStdin(["-e"], "IrCEF", INFO_ONLY_V) }, stdinIsCode: true, reason: "ruby without a script runs the code it reads on standard input", example: "ruby", nearMiss: "ruby --version" },
  { id: "php -r", programs: ["php"], detect: { option: ["-r", "-B", "-R", "-E", "-F", "-d"], at: "beforeOperand", valueShort: "cz" }, value: "code", reason: "php -r/-B/-R/-E run code given as an argument, -F a file per line, and -d can set auto_prepend_file", example: "php -r 'system(\"id\");'", nearMiss: "php script.php -r" },
  { id: "php stdin", programs: ["php"], detect: { custom: readsProgramFromStdin(["-r", "-B", "-R", "-E", "-F"], "cdz") }, stdinIsCode: true, reason: "php without a script runs the code it reads on standard input", example: "php", nearMiss: "php --version" },
  { id: "lua -e", programs: ["lua"], detect: { option: ["-e", "-l"], at: "beforeOperand" }, value: "code", reason: "lua -e runs the code given as an argument (-l loads a library)", example: "lua -e 'os.execute(\"id\")'", nearMiss: "lua script.lua -e" },
  { id: "osascript -e", programs: ["osascript"], detect: { option: ["-e"] }, value: "code", reason: "osascript -e runs AppleScript given as an argument (do shell script)", example: "osascript -e 'do shell script \"id\"'", nearMiss: "osascript script.scpt" },
  { id: "Rscript -e", programs: ["rscript", "r"], detect: { option: ["-e", "--expr"] }, value: "code", reason: "Rscript -e runs R code given as an argument (system())", example: "Rscript -e 'system(\"id\")'", nearMiss: "Rscript analysis.R" },
  { id: "julia -e", programs: ["julia"], detect: { option: ["-e", "-E", "--eval", "--print"], at: "beforeOperand" }, value: "code", reason: "julia -e/-E run code given as an argument", example: "julia -e 'run(`id`)'", nearMiss: "julia script.jl" },
  { id: "pwsh -Command", programs: ["pwsh"], detect: { custom: pwshHits }, value: "command", reason: "PowerShell -Command/-EncodedCommand run code given as an argument", example: "pwsh -Command 'Get-Content .env'", nearMiss: "pwsh ./script.ps1" },
  { id: "gdb -ex", programs: ["gdb"], detect: { option: ["-ex", "-iex", "--eval-command", "-x", "-ix", "--command"] }, value: "code", reason: "gdb -ex/-x run gdb commands, and gdb's shell command runs anything", example: "gdb -batch -ex 'shell id'", nearMiss: "gdb ./a.out" },
  { id: "env -S", programs: ["env"], detect: { custom: envSplit }, value: "command", reason: "env -S splits a string into a command line", example: "env -S 'sh -c id'", nearMiss: "env FOO=1 ls" },

  // pagers and editors
  { id: "less +cmd", programs: ["less"], detect: { prefix: "+" }, value: "code", reason: "a less +command runs less commands at start, and ! runs a shell command", example: "less '+!id' README.md", nearMiss: "less README.md" },
  { id: "less -o", programs: ["less"], detect: { option: ["-o", "-O", "--log-file", "--LOG-FILE", "-k", "--lesskey-file", "--lesskey-src"] }, reason: "less -o/-O write a log file and -k/--lesskey-file load key bindings that can run commands", example: "less -o /home/user/.bashrc README.md", nearMiss: "less -R README.md" },
  { id: "man -P", programs: ["man"], detect: { option: ["-P", "--pager", "-H", "--html"] }, value: "command", reason: "man -P/--pager and -H/--html run a program of the caller's choice", example: "man -P 'sh -c id' ls", nearMiss: "man ls" },
  { id: "vim -c", programs: ["vim"], detect: { option: ["-c", "--cmd", "-S", "-u", "-U", "-s", "-w", "-W"] }, value: "code", reason: "vim -c/--cmd/-S/-u/-s run editor commands (:! runs shell commands); -w/-W write a file", example: "vim -c ':!id' README.md", nearMiss: "vim README.md" },
  { id: "vim +cmd", programs: ["vim"], detect: { prefix: "+" }, value: "code", reason: "a vim +command runs an editor command at start (:! runs shell commands)", example: "vim '+!id' README.md", nearMiss: "vim README.md" },
  { id: "emacs --eval", programs: ["emacs", "emacsclient"], detect: { option: ["--eval", "-l", "--load", "-f", "--funcall", "--script", "-x"] }, value: "code", reason: "emacs --eval/--load/--funcall/--script run Lisp code (shell-command)", example: "emacs --batch --eval '(shell-command \"id\")'", nearMiss: "emacs --batch README.md" },

  // remote shells and copies
  { id: "rsync -e", programs: ["rsync"], detect: { option: ["-e", "--rsh", "--rsync-path"] }, value: "command", reason: "rsync -e/--rsh/--rsync-path run a program of the caller's choice", example: "rsync -e 'sh -c id' a host:b", nearMiss: "rsync -av src/ dest/" },
  { id: "ssh remote command", programs: ["ssh"], detect: { custom: (v) => sshOptionHits(v, SSH_VALUES, true) }, value: "command", reason: "ssh runs the remote command given after the host, and -o ProxyCommand/LocalCommand and -F config files run local commands", example: "ssh host 'uptime'", nearMiss: "ssh -p 2222 host" },
  { id: "scp -o", programs: ["scp", "sftp"], detect: { custom: (v) => sshOptionHits(v, "cFiJlloPSDBRs", false) }, value: "command", reason: "scp/sftp -o ProxyCommand, -S program and -F config files run local commands", example: "scp -o ProxyCommand='sh -c id' a host:b", nearMiss: "scp -P 2222 a host:b" },

  // containers: the command runs in a container that may mount the host
  { id: "docker run", programs: ["docker", "podman", "nerdctl"], subcommands: ["run", "exec", "create", "compose", "container"], detect: { custom: runsOperands }, value: "command", reason: "docker/podman run and exec run a command in a container, which can mount and change the host", example: "docker run --rm alpine id", nearMiss: "docker ps" },
  { id: "kubectl exec", programs: ["kubectl", "oc"], subcommands: ["exec", "run", "debug", "attach", "cp"], detect: { custom: runsOperands }, value: "command", reason: "kubectl exec/run/debug run a command in a cluster", example: "kubectl exec pod -- id", nearMiss: "kubectl get pods" },

  // make
  { id: "make VAR=", programs: ["make"], detect: { custom: makeHits }, value: "command", reason: "make variables given as arguments (SHELL=, CC=...) replace what recipes run, and -f/--eval run other makefile code", example: "make SHELL=/tmp/evil.sh test", nearMiss: "make test" },

  // generic wrappers
  { id: "runs operands", programs: UNMODELED_WRAPPERS, detect: { custom: runsOperands }, value: "command", reason: "this program runs its operands as a command", example: "strace -f curl https://example.com", nearMiss: "strace" },
];

const BY_PROGRAM = byProgram(EXEC_ARG_ENTRIES);

export interface ExecArgFinding {
  entry: ExecArgEntry;
  hit: Hit;
}

/** Every entry that applies to a command. */
export function findExecArgs(v: ArgView): ExecArgFinding[] {
  return findEntries(BY_PROGRAM.get(v.family), v);
}

/** Indexes a table of entries by program family, for findEntries. */
export function byProgram<E extends ExecArgEntry>(table: readonly E[]): Map<string, E[]> {
  const m = new Map<string, E[]>();
  for (const e of table) for (const p of e.programs) m.set(p, [...(m.get(p) ?? []), e]);
  return m;
}

/** The hits of the given entries (those of the command's program family) on one command. */
export function findEntries<E extends ExecArgEntry>(entries: readonly E[] | undefined, v: ArgView): Array<{ entry: E; hit: Hit }> {
  if (!entries) return [];
  const sub = subcommandIndex(v);
  const subName = sub >= 0 ? fold(v.argv[sub] as string) : undefined;
  const out: Array<{ entry: E; hit: Hit }> = [];
  for (const entry of entries) {
    // An unknown (dynamic) subcommand could be any of them.
    if (entry.subcommands && sub !== -2 && (subName === undefined || !entry.subcommands.includes(subName))) continue;
    let hits: Hit[];
    const d = entry.detect;
    if ("option" in d) hits = detectOptions(v, d, sub);
    else if ("word" in d) hits = words(v, (w) => d.word.includes(w), d.word.join("/"));
    else if ("prefix" in d) hits = words(v, (w) => w.startsWith(d.prefix), `${d.prefix}...`).map((h) => (entry.value && !h.detail.includes("(could be") ? { ...h, value: h.detail.slice(d.prefix.length) } : h));
    else if ("always" in d) hits = [{ detail: v.argv.slice(0, sub + 1).join(" "), ...(entry.value ? { value: v.argv.slice(sub + 1).join(" ") } : {}) }];
    else hits = d.custom(v);
    for (const hit of hits) out.push({ entry, hit });
  }
  return out;
}
