// Files a shell command reads or writes, so that Read(...) and Edit(...) rules apply to shell
// commands too (`cat .env` is a read of .env). Program knowledge is data: FILE_SPECS says, per
// program, which options take a value, which option values are files, and what the operands are;
// the few programs with a grammar of their own (tar, dd, git, curl, cp...) have a small function.
//
// Programs not listed are not guessed at: `ls -la .env` reads no content, and an unknown program's
// arguments may be anything. Redirections are files for every program.
//
// Reads and writes are told apart: every access a command makes to a file's content is a read of
// its own (`sed -i`, `patch`, `<>`, an editor, a backup made of a destination), so a write access
// shows nothing of the file (writeOnly) and is judged by the Edit rules alone: `Read(.env)` does not
// deny `cp .env.example .env`, `> .env` or `tee .env`; it does deny `cp -b x .env` (the old .env
// lands in .env~) and `mv .env x`.
import type { RedirectInfo, SimpleCommand } from "../shell/analyze.js";
import { basename } from "../shell/words.js";
import { hasOption, optionValues, type ParsedArgs, parseArgs } from "./bash-args.js";
import { scanAwk } from "./bash-awk.js";
import { awkProgram, programFamily, sedScript } from "./bash-exec-args.js";
import { scanSed } from "./bash-sed.js";
import { parseTar } from "./bash-tar.js";
import { acc, BACKUP_OPTS, isNotAFile, operandAccesses, type PathWord, READ, type Role, type Spec, type View, valueWord, word } from "./bash-files-core.js";
import { copyRemoteAware, curlAccesses, CURL_SPEC, gitAccesses, jqAccesses, opensslAccesses, WGET_SPEC } from "./bash-files-net.js";
import type { FileAccess, FilePathKind } from "./types.js";

export { isNotAFile, type PathWord } from "./bash-files-core.js";

const GREP: Spec = {
  opts: { short: "efmABCdD", long: ["--regexp", "--file", "--max-count", "--after-context", "--before-context", "--context", "--directories", "--devices", "--include", "--exclude", "--exclude-dir", "--exclude-from", "--label", "--binary-files", "--group-separator"] },
  reads: ["-f", "--file", "--exclude-from"],
  recursive: ["-r", "-R", "--recursive", "--dereference-recursive"],
  patternUnless: ["-e", "--regexp", "-f", "--file"],
  defaultDir: ".",
  includeOpts: ["--include"],
  operands: "read",
};

const RG: Spec = {
  opts: {
    short: "efgtTmABCMjErd",
    long: ["--regexp", "--file", "--glob", "--iglob", "--type", "--type-not", "--type-add", "--type-clear", "--max-count", "--after-context", "--before-context", "--context", "--max-columns", "--threads", "--encoding", "--replace", "--max-depth", "--pre", "--pre-glob", "--sort", "--sortr", "--engine", "--colors", "--color", "--ignore-file", "--max-filesize", "--path-separator", "--context-separator", "--field-context-separator", "--field-match-separator", "--hostname-bin", "--hyperlink-format", "--dfa-size-limit", "--regex-size-limit"],
  },
  reads: ["-f", "--file", "--ignore-file"],
  alwaysRecursive: true,
  patternUnless: ["-e", "--regexp", "-f", "--file", "--files", "--type-list"],
  defaultDir: ".",
  operands: (v, p, via) => {
    // `rg --files` lists names only.
    if (hasOption(p, ["--files", "--type-list"])) return [];
    const dirs = p.operands.length === 0 ? [{ text: ".", kind: "literal" as const }] : p.operands.map((o) => word(v, o.index));
    const out = dirs.flatMap((d) => acc(d, "read", via, true));
    // `rg x -g .env`: the files the globs select, too.
    for (const g of optionValues(p, ["-g", "--glob", "--iglob"]))
      if (g.value !== undefined && !g.value.startsWith("!") && !g.value.includes("/")) for (const d of dirs) out.push(...acc({ text: `${d.text.replace(/\/+$/, "")}/**/${g.value}`, kind: "glob" }, "read", `${via} -g`));
    return out;
  },
};

/** cp/mv/install: sources then a destination (or `-t DIR`). */
function sourcesAndDest(kind: "copy" | "move"): Spec["operands"] {
  return (v, p, via) => {
    const out: FileAccess[] = [];
    const recursive = kind === "move" || hasOption(p, ["-r", "-R", "-a", "--recursive", "--archive"]);
    // `-b`/`--backup`/`-S SUFFIX`: the destination's old content moves to a new name (`.env~`).
    const backup = hasOption(p, BACKUP_OPTS);
    const target = optionValues(p, ["-t", "--target-directory"])[0];
    let sources = p.operands;
    let dest: PathWord | undefined;
    if (target?.value !== undefined) dest = valueWord(v, target.index, target.value, target.valueIndex);
    else if (sources.length >= 2) {
      const last = sources[sources.length - 1] as { text: string; index: number };
      dest = word(v, last.index);
      sources = sources.slice(0, -1);
    }
    if (dest && backup) out.push(...acc(dest, "read", `${via} (backup of the destination)`, recursive));
    for (const s of sources) {
      const w = word(v, s.index);
      out.push(...acc(w, "read", `${via} (source)`, recursive));
      // mv takes the file away from its old name.
      if (kind === "move") out.push(...acc(w, "write", `${via} (source)`, true));
      // Into a directory, the file lands under its own name.
      if (dest && w.kind !== "unknown") {
        const into = { text: `${dest.text.replace(/\/+$/, "")}/${basename(w.text)}`, kind: dest.kind === "literal" ? w.kind : dest.kind };
        out.push(...acc(into, "write", `${via} (destination)`, recursive));
        if (backup) out.push(...acc(into, "read", `${via} (backup of the destination)`, recursive));
      }
    }
    if (dest) out.push(...acc(dest, "write", `${via} (destination)`, recursive));
    return out;
  };
}

const CP: Spec = {
  opts: { short: "tS", long: ["--target-directory", "--suffix"] },
  flags: ["--recursive", "--archive", "--force", "--interactive", "--no-clobber", "--update", "--verbose", "--no-target-directory", "--parents", "--link", "--symbolic-link", "--dereference", "--no-dereference", "--backup"],
  operands: sourcesAndDest("copy"),
};

function uniqLike(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const [input, output] = p.operands;
  return [...(input ? acc(word(v, input.index), "read", via) : []), ...(output ? acc(word(v, output.index), "write", via) : [])];
}

function firstOperandThenWrite(role0: Role): Spec["operands"] {
  return (v, p, via) => p.operands.flatMap((o, k) => acc(word(v, o.index), k === 0 ? role0 : "write", via));
}

/** chmod/chown/chgrp: the first operand is a mode or owner unless --reference gives it. */
function afterFirst(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const recursive = hasOption(p, ["-R", "--recursive"]);
  const skip = hasOption(p, ["--reference"]) ? 0 : 1;
  return p.operands.slice(skip).flatMap((o) => acc(word(v, o.index), "write", via, recursive));
}

function lnOperands(v: View, p: ParsedArgs, via: string): FileAccess[] {
  // A link exposes its target under another name: the target counts as read.
  const out: FileAccess[] = [];
  const target = optionValues(p, ["-t", "--target-directory"])[0];
  let targets = p.operands;
  if (target?.value !== undefined) out.push(...acc(valueWord(v, target.index, target.value, target.valueIndex), "write", `${via} (link)`, true));
  else if (targets.length >= 2) {
    const last = targets[targets.length - 1] as { text: string; index: number };
    out.push(...acc(word(v, last.index), "write", `${via} (link)`));
    if (hasOption(p, BACKUP_OPTS)) out.push(...acc(word(v, last.index), "read", `${via} (backup of the link's old file)`));
    targets = targets.slice(0, -1);
  } else if (targets[0]) out.push(...acc({ text: basename(targets[0].text), kind: v.kinds[targets[0].index] ?? "literal" }, "write", `${via} (link)`));
  for (const t of targets) out.push(...acc(word(v, t.index), "read", `${via} (target)`, true));
  return out;
}

function ddOperands(v: View, p: ParsedArgs, via: string): FileAccess[] {
  return p.operands.flatMap((o) => {
    const m = /^(if|of)=(.*)$/s.exec(o.text);
    if (!m) return [];
    return acc({ text: m[2] as string, kind: v.kinds[o.index] ?? "literal" }, m[1] === "if" ? "read" : "write", `${via} ${m[1]}=`);
  });
}

function sedAccesses(v: View, _p: ParsedArgs, via: string): FileAccess[] {
  const s = sedScript(v.argv);
  const out: FileAccess[] = [];
  const fileIdx = (t: string): number => v.argv.lastIndexOf(t);
  for (const f of s.files) {
    const w = word(v, fileIdx(f), f);
    out.push(...acc(w, "read", via));
    if (s.inPlace) out.push(...acc(w, "write", "sed -i"));
  }
  for (const f of s.scriptFiles) out.push(...acc({ text: f, kind: v.kinds[fileIdx(f)] ?? "literal" }, "read", "sed -f"));
  if (s.scriptOperandIndex === undefined || v.kinds[s.scriptOperandIndex] === "literal")
    for (const script of s.scripts) {
      const scan = scanSed(script);
      for (const r of scan.reads) out.push(...acc({ text: r, kind: "literal" }, "read", "sed r"));
      for (const w of scan.writes) out.push(...acc({ text: w, kind: "literal" }, "write", "sed w"));
    }
  return out;
}

function awkAccesses(v: View, _p: ParsedArgs, via: string): FileAccess[] {
  const a = awkProgram(v.argv);
  const out: FileAccess[] = [];
  const idx = (t: string): number => v.argv.lastIndexOf(t);
  for (const f of a.files) out.push(...acc(word(v, idx(f), f), "read", via));
  for (const f of a.programFiles) out.push(...acc(word(v, idx(f), f), "read", `${via} -f`));
  if (a.program !== undefined && (a.programIndex === undefined || v.kinds[a.programIndex] === "literal")) {
    const s = scanAwk(a.program);
    for (const f of s.inputs) out.push(...acc({ text: f, kind: "literal" }, "read", `${via} getline`));
    for (const f of s.outputs) out.push(...acc({ text: f, kind: "literal" }, "write", `${via} print >`));
  }
  return out;
}

function tarAccesses(v: View): FileAccess[] {
  const t = parseTar(v.argv);
  const out: FileAccess[] = [];
  const kindAt = (i: number): FilePathKind => v.kinds[i] ?? "literal";
  let dir: PathWord | undefined;
  // -C applies to the operands after it; track it in argv order.
  const events = [...t.options.map((o) => ({ i: o.index, o })), ...t.operands.map((o) => ({ i: o.index, op: o }))].sort((a, b) => a.i - b.i);
  const creating = t.mode === "create" || t.mode === "append";
  for (const e of events) {
    if ("o" in e && e.o) {
      const o = e.o;
      if (o.value === undefined) continue;
      const w = { text: o.value, kind: kindAt(o.index) };
      if (o.name === "-C" || o.name === "--directory") dir = w;
      else if (o.name === "-f" || o.name === "--file") {
        // -r/-u/-A read the archive they add to; -c only writes it.
        if (t.mode !== "create") out.push(...acc(w, "read", "tar archive"));
        if (creating) out.push(...acc(w, "write", "tar archive"));
      }
      else if (["-T", "--files-from", "-X", "--exclude-from"].includes(o.name)) out.push(...acc(w, "read", `tar ${o.name}`));
    } else if ("op" in e && e.op && creating) {
      const w = word(v, e.op.index);
      const joined = dir && !w.text.startsWith("/") ? { text: `${dir.text.replace(/\/+$/, "")}/${w.text}`, kind: dir.kind === "literal" ? w.kind : dir.kind } : w;
      out.push(...acc(joined, "read", "tar (source)", true));
    }
  }
  if (t.mode === "extract") out.push(...acc(dir ?? { text: ".", kind: "literal" }, "write", "tar x", true));
  return out;
}

function zipAccesses(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const [archive, ...files] = p.operands;
  const recursive = hasOption(p, ["-r", "-R", "--recurse-paths"]);
  // An existing archive is read and rewritten (`zip a.zip --out b.zip` copies it).
  const out: FileAccess[] = archive ? [...acc(word(v, archive.index), "read", `${via} (archive)`), ...acc(word(v, archive.index), "write", `${via} (archive)`)] : [];
  for (const f of files) out.push(...acc(word(v, f.index), "read", `${via} (source)`, recursive));
  if (hasOption(p, ["-@", "--names-stdin"])) out.push({ path: "(names read from standard input)", kind: "unknown", access: "read", via });
  return out;
}

function unzipAccesses(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const [archive] = p.operands;
  const out: FileAccess[] = archive ? acc(word(v, archive.index), "read", `${via} (archive)`) : [];
  if (hasOption(p, ["-l", "-t", "-v", "-p", "-c", "-Z", "-z"])) return out;
  const d = optionValues(p, ["-d"])[0];
  out.push(...acc(d?.value !== undefined ? valueWord(v, d.index, d.value, d.valueIndex) : { text: ".", kind: "literal" }, "write", `${via} (extract)`, true));
  return out;
}

function compressAccesses(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const readOnly = hasOption(p, ["-c", "--stdout", "--to-stdout", "-t", "--test", "-l", "--list"]);
  return operandAccesses(v, p, via, readOnly ? "read" : "readwrite", hasOption(p, ["-r", "--recursive"]));
}

/** `source FILE args...`, `bash FILE args...`: only the first operand is read. */
function firstOperandRead(v: View, p: ParsedArgs, via: string): FileAccess[] {
  if (hasOption(p, ["-c"])) return [];
  const first = p.operands[0];
  return first ? acc(word(v, first.index), "read", via) : [];
}

/** Program → what its arguments read and write. */
export const FILE_SPECS: Readonly<Record<string, Spec>> = {
  cat: READ,
  tac: READ,
  rev: READ,
  nl: { opts: { short: "bdfhilnsvw" }, operands: "read" },
  head: { opts: { short: "nc", long: ["--lines", "--bytes"] }, operands: "read" },
  tail: { opts: { short: "ncs", long: ["--lines", "--bytes", "--sleep-interval", "--pid", "--max-unchanged-stats"] }, operands: "read" },
  less: { opts: { short: "bhjkoOpPtTxyz#", long: ["--log-file", "--LOG-FILE", "--lesskey-file", "--pattern", "--prompt", "--tag", "--tag-file", "--tabs", "--window", "--shift"] }, reads: ["-k", "--lesskey-file"], writes: ["-o", "-O", "--log-file", "--LOG-FILE"], skipOperand: /^\+/, operands: "read" },
  more: { opts: { short: "n" }, skipOperand: /^\+/, operands: "read" },
  grep: GREP,
  rg: RG,
  sort: { opts: { short: "kotST", long: ["--key", "--output", "--field-separator", "--buffer-size", "--temporary-directory", "--compress-program", "--files0-from", "--batch-size", "--parallel", "--random-source", "--sort"] }, writes: ["-o", "--output"], reads: ["--files0-from", "--random-source"], operands: "read" },
  uniq: { opts: { short: "fsw", long: ["--skip-fields", "--skip-chars", "--check-chars"] }, operands: uniqLike },
  wc: { reads: ["--files0-from"], operands: "read" },
  cut: { opts: { short: "bcdf", long: ["--bytes", "--characters", "--delimiter", "--fields", "--output-delimiter"] }, operands: "read" },
  paste: { opts: { short: "d", long: ["--delimiters"] }, operands: "read" },
  fold: { opts: { short: "w", long: ["--width"] }, operands: "read" },
  fmt: { opts: { short: "wpg", long: ["--width", "--prefix", "--goal"] }, operands: "read" },
  expand: { opts: { short: "t", long: ["--tabs"] }, operands: "read" },
  unexpand: { opts: { short: "t", long: ["--tabs"] }, operands: "read" },
  comm: READ,
  join: { opts: { short: "aejot12v" }, operands: "read" },
  od: { opts: { short: "AjNStw", long: ["--address-radix", "--skip-bytes", "--read-bytes", "--format", "--width"] }, operands: "read" },
  xxd: { opts: { short: "cglosn" }, operands: firstOperandThenWrite("read") },
  hexdump: { opts: { short: "efns" }, reads: ["-f"], operands: "read" },
  strings: { opts: { short: "ntTe", long: ["--bytes", "--radix", "--target", "--encoding"] }, operands: "read" },
  base64: { opts: { short: "wiob", long: ["--wrap", "--input", "--output"] }, reads: ["-i", "--input"], writes: ["-o", "--output"], operands: "read" },
  base32: { opts: { short: "w", long: ["--wrap"] }, operands: "read" },
  basenc: { opts: { short: "w", long: ["--wrap"] }, operands: "read" },
  md5sum: READ,
  sha1sum: READ,
  sha224sum: READ,
  sha256sum: READ,
  sha384sum: READ,
  sha512sum: READ,
  b2sum: READ,
  cksum: READ,
  sum: READ,
  shasum: { opts: { short: "a" }, operands: "read" },
  diff: {
    opts: { short: "CUFIxXSDWL", long: ["--label", "--from-file", "--to-file", "--ignore-matching-lines", "--exclude", "--exclude-from", "--starting-file", "--ifdef", "--show-function-line", "--width", "--tabsize", "--line-format", "--horizon-lines"] },
    reads: ["-X", "--exclude-from", "--from-file", "--to-file"],
    recursive: ["-r", "--recursive"],
    operands: "read",
  },
  cmp: { opts: { short: "in", long: ["--ignore-initial", "--bytes"] }, operands: "read" },
  awk: { operands: awkAccesses },
  sed: { operands: sedAccesses },
  jq: { opts: { short: "fL", long: ["--from-file", "--indent", "--tab"] }, operands: jqAccesses },
  yq: { opts: { short: "oIp", long: ["--output-format", "--indent", "--input-format"] }, operands: jqAccesses },
  source: { opts: { stopAtOperand: true }, operands: firstOperandRead },
  ".": { opts: { stopAtOperand: true }, operands: firstOperandRead },
  sh: { opts: { short: "oO", long: ["--rcfile", "--init-file"], stopAtOperand: true }, reads: ["--rcfile", "--init-file"], operands: firstOperandRead },
  cp: CP,
  install: { opts: { short: "gmoStT", long: ["--group", "--mode", "--owner", "--suffix", "--target-directory"] }, operands: sourcesAndDest("copy") },
  mv: { ...CP, operands: sourcesAndDest("move") },
  ln: { opts: { short: "St", long: ["--suffix", "--target-directory"] }, operands: lnOperands },
  rsync: {
    opts: {
      short: "eBfTM",
      long: ["--rsh", "--rsync-path", "--exclude", "--include", "--filter", "--exclude-from", "--include-from", "--files-from", "--password-file", "--log-file", "--temp-dir", "--partial-dir", "--backup-dir", "--compare-dest", "--link-dest", "--copy-dest", "--chmod", "--chown", "--block-size", "--bwlimit", "--timeout", "--port", "--out-format", "--max-size", "--min-size", "--suffix", "--iconv", "--remote-option", "--info", "--debug", "--usermap", "--groupmap", "--skip-compress", "--modify-window", "--contimeout", "--max-delete", "--write-batch", "--only-write-batch", "--read-batch", "--address", "--protocol"],
    },
    reads: ["--exclude-from", "--include-from", "--files-from", "--password-file", "--read-batch"],
    writes: ["--log-file", "--write-batch", "--only-write-batch"],
    operands: copyRemoteAware(["-r", "-a", "--recursive", "--archive"]),
  },
  scp: { opts: { short: "cFiJloPS" }, reads: ["-F", "-i"], operands: copyRemoteAware(["-r"]) },
  tar: { operands: (v) => tarAccesses(v) },
  zip: { opts: { short: "bntOP" }, operands: zipAccesses },
  unzip: { opts: { short: "dxP" }, operands: unzipAccesses },
  gzip: { opts: { short: "S", long: ["--suffix"] }, operands: compressAccesses },
  gunzip: { opts: { short: "S", long: ["--suffix"] }, operands: compressAccesses },
  bzip2: { operands: compressAccesses },
  bunzip2: { operands: compressAccesses },
  xz: { opts: { short: "FCT" }, operands: compressAccesses },
  unxz: { operands: compressAccesses },
  zstd: { opts: { short: "oD" }, writes: ["-o"], operands: compressAccesses },
  touch: { opts: { short: "dtr", long: ["--date", "--reference", "--time"] }, reads: ["-r", "--reference"], operands: "write" },
  rm: { recursive: ["-r", "-R", "--recursive"], operands: "write" },
  rmdir: { operands: "write" },
  unlink: { operands: "write" },
  shred: { opts: { short: "ns", long: ["--iterations", "--size", "--random-source"] }, operands: "write" },
  mkdir: { opts: { short: "m", long: ["--mode"] }, operands: "write" },
  mkfifo: { opts: { short: "m", long: ["--mode"] }, operands: "write" },
  truncate: { opts: { short: "sr", long: ["--size", "--reference"] }, reads: ["-r", "--reference"], operands: "write" },
  tee: { operands: "write" },
  chmod: { opts: { long: ["--reference"] }, operands: afterFirst },
  chown: { opts: { long: ["--reference", "--from"] }, operands: afterFirst },
  chgrp: { opts: { long: ["--reference"] }, operands: afterFirst },
  dd: { operands: ddOperands },
  // The file patched is read too (hunks must match it; -b keeps a copy), the patch file only read.
  patch: { opts: { short: "pioBrDdFVYzgf" }, reads: ["-i", "--input"], writes: ["-o", "--output"], operands: (v, p, via) => p.operands.flatMap((o, k) => (k === 0 ? [...acc(word(v, o.index), "read", via), ...acc(word(v, o.index), "write", via)] : acc(word(v, o.index), "read", via))) },
  split: { opts: { short: "abCdlnt" }, operands: (v, p, via) => (p.operands[0] ? acc(word(v, p.operands[0].index), "read", via) : []) },
  pr: { opts: { short: "hlwNoSs" }, operands: "read" },
  column: { opts: { short: "cstoNRHWdEiTO" }, operands: "read" },
  iconv: { opts: { short: "fto", long: ["--from-code", "--to-code", "--output"] }, writes: ["-o", "--output"], operands: "read" },
  shuf: { opts: { short: "noi", long: ["--head-count", "--output", "--input-range", "--random-source"] }, writes: ["-o", "--output"], reads: ["--random-source"], operands: "read" },
  csplit: { opts: { short: "bfn" }, operands: (v, p, via) => (p.operands[0] ? acc(word(v, p.operands[0].index), "read", via) : []) },
  // Editors open (and may save) every file operand; `+cmd` words are commands, not files.
  vim: { opts: { short: "cSusTwWdir", long: ["--cmd"] }, skipOperand: /^\+/, operands: "readwrite" },
  nano: { opts: { short: "YsoQrTX" }, skipOperand: /^\+/, operands: "readwrite" },
  emacs: { opts: { short: "lfL", long: ["--eval", "--load", "--funcall", "--directory"] }, skipOperand: /^\+/, operands: "readwrite" },
  ed: { opts: { short: "p" }, operands: "readwrite" },
  openssl: { operands: opensslAccesses },
  gpg: { opts: { short: "orRuk", long: ["--output", "--recipient", "--local-user", "--homedir", "--passphrase-file"] }, writes: ["-o", "--output"], reads: ["--passphrase-file"], operands: "read" },
  curl: { ...CURL_SPEC, operands: curlAccesses },
  wget: WGET_SPEC,
  git: { operands: (v) => gitAccesses(v) },
  xargs: { opts: { short: "adEILnPs", long: ["--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"], stopAtOperand: true }, reads: ["-a", "--arg-file"], operands: "none" },
  time: { opts: { short: "fo", long: ["--format", "--output"], stopAtOperand: true }, writes: ["-o", "--output"], operands: "none" },
  script: { opts: { short: "cEIOBTt", long: ["--command", "--log-in", "--log-out", "--log-io", "--log-timing", "--echo"] }, writes: ["-I", "-O", "-B", "-T", "--log-in", "--log-out", "--log-io", "--log-timing"], operands: "write" },
};

/** Family names that share a spec. */
const SPEC_ALIASES: Readonly<Record<string, string>> = { bash: "sh", zsh: "sh", dash: "sh", ksh: "sh", mksh: "sh", ash: "sh", yash: "sh", posh: "sh", rbash: "sh", bzcat: "cat", zcat: "cat", xzcat: "cat", zstdcat: "cat" };

/** How bash would hand each word over: static, a glob, or only known at run time. */
export function wordKinds(c: SimpleCommand): FilePathKind[] {
  const dyn = new Set(c.dynamicArgs);
  const glob = new Set(c.globArgs);
  return c.argv.map((w, k) => {
    if (glob.has(k)) return "glob";
    if (dyn.has(k)) return "unknown";
    // find -exec's `{}` is each file found; `~+`, `~-` and `~user` depend on the run.
    if (c.source === "find -exec" && w.includes("{}")) return "unknown";
    if (/^~[^/]/.test(w)) return "unknown";
    return "literal";
  });
}

/**
 * The files a simple command's arguments read and write (redirections excluded). `runTime`: what
 * find -exec's `{}` or xargs' appended input stands for, when the judge could tell (`./**\/*.ts`).
 */
export function argumentAccesses(c: SimpleCommand, runTime?: readonly PathWord[]): FileAccess[] {
  if (c.argv.length === 0 || c.unresolved) return [];
  const family = programFamily(c.program);
  const spec = FILE_SPECS[family] ?? FILE_SPECS[SPEC_ALIASES[family] ?? ""];
  if (!spec) return [];
  let argv: string[] = [];
  let kinds: FilePathKind[] = [];
  // `for f in src/*.ts; do cat "$f"; done`: "$f" is each of the loop's words.
  const wk = wordKinds(c);
  c.argv.forEach((w, k) => {
    const values = k > 0 ? c.loopValues?.[k] : undefined;
    if (values) for (const x of values) {
      argv.push(x.text);
      kinds.push(x.glob ? "glob" : "literal");
    }
    else {
      argv.push(w);
      kinds.push(wk[k] as FilePathKind);
    }
  });
  if (runTime && c.source === "find -exec") {
    const at = argv.indexOf("{}");
    if (at > 0) {
      argv = [...argv.slice(0, at), ...runTime.map((w) => w.text), ...argv.slice(at + 1)];
      kinds = [...kinds.slice(0, at), ...runTime.map((w) => w.kind), ...kinds.slice(at + 1)];
    }
  }
  if (c.argsFromInput) {
    // `... | xargs grep x`: files come from standard input.
    const extra = runTime ?? [{ text: "(xargs input)", kind: "unknown" as const }];
    argv = [...argv, ...extra.map((w) => w.text)];
    kinds = [...kinds, ...extra.map((w) => w.kind)];
  }
  const v: View = { family, argv, kinds };
  const via = basename(c.argv[0] as string);
  if (typeof spec.operands === "function" && !spec.opts && !spec.reads && !spec.writes) return spec.operands(v, parseArgs(argv, {}), via);
  const p = parseArgs(argv, spec.opts ?? {}, 1, spec.flags ?? []);
  const out: FileAccess[] = [];
  for (const o of p.options) {
    if (o.value === undefined) continue;
    const role: Role | undefined = spec.reads?.includes(o.name) ? "read" : spec.writes?.includes(o.name) ? "write" : undefined;
    if (role) out.push(...acc(valueWord(v, o.index, o.value, o.valueIndex), role, `${via} ${o.name}`));
  }
  if (typeof spec.operands === "function") {
    const q = spec.patternUnless && !hasOption(p, spec.patternUnless) ? { ...p, operands: p.operands.slice(1) } : p;
    return [...out, ...spec.operands(v, q, via)];
  }
  if (spec.operands === "none") return out;
  let ops = p.operands.filter((o) => !spec.skipOperand?.test(o.text));
  if (spec.patternUnless && !hasOption(p, spec.patternUnless)) ops = ops.slice(1);
  const recursive = spec.alwaysRecursive === true || (spec.recursive !== undefined && hasOption(p, spec.recursive));
  if (ops.length === 0 && recursive && spec.defaultDir) out.push(...acc({ text: spec.defaultDir, kind: "literal" }, "read", via, true));
  // `grep -r x . --include=.env`: name the files the include globs select too.
  if (recursive && spec.includeOpts)
    for (const inc of optionValues(p, spec.includeOpts)) {
      if (inc.value === undefined || inc.value.startsWith("!") || inc.value.includes("/")) continue;
      const kind = v.kinds[inc.valueIndex ?? inc.index] === "unknown" ? "unknown" : "glob";
      for (const d of ops.length > 0 ? ops.map((o) => o.text) : [spec.defaultDir ?? "."]) out.push(...acc({ text: `${d.replace(/\/+$/, "")}/**/${inc.value}`, kind }, "read", `${via} ${inc.name}`));
    }
  for (const o of ops) {
    const w = word(v, o.index);
    if (spec.operands === "read" || spec.operands === "readwrite") out.push(...acc(w, "read", via, recursive));
    if (spec.operands === "write" || spec.operands === "readwrite") out.push(...acc(w, "write", via, recursive));
  }
  return out;
}

const WRITE_OPS = new Set([">", ">>", ">|", "&>", "&>>"]);

/** Files opened by redirections. Here-documents, here-strings and descriptor duplications are not files. */
export function redirectAccesses(redirects: readonly RedirectInfo[], via: string): FileAccess[] {
  const out: FileAccess[] = [];
  for (const r of redirects) {
    if (r.op === "<<" || r.op === "<<-" || r.op === "<<<") continue;
    const known = r.target !== undefined;
    const w: PathWord = known ? { text: r.target as string, kind: "literal" } : { text: r.targetText ?? "", kind: r.targetKind ?? "unknown" };
    if (!known && r.targetText === undefined) continue;
    if (r.op === ">&" || r.op === "<&") {
      // `2>&1`, `>&-`: descriptors; `>& file` (bash: stdout and stderr to a file) is a write.
      if (!known || /^(\d+-?|-)$/.test(w.text)) {
        if (!known && r.op === ">&") out.push(...acc(w, "write", `${via} >&`));
        continue;
      }
      if (r.op === ">&") out.push(...acc(w, "write", `${via} >&`));
      continue;
    }
    if (WRITE_OPS.has(r.op)) out.push(...acc(w, "write", `${via} ${r.op}`));
    else if (r.op === "<") out.push(...acc(w, "read", `${via} <`));
    else if (r.op === "<>") out.push(...acc(w, "read", `${via} <>`), ...acc(w, "write", `${via} <>`));
  }
  return out;
}
