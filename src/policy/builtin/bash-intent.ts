// Deny and ask rules read as statements of intent. `rm -rf /` in a deny list does not mean "these
// three words": it means "never delete / recursively", and `find / -delete`, `rsync -a --delete
// empty/ /` or `rm -r /` have that effect too. `> /dev/sda` means "never overwrite the disk", which
// `dd of=/dev/sda`, `tee /dev/sda` and `mkfs.ext4 /dev/sda1` do as well.
//
// Two classes of intent are derived from a rule's pattern (intentOf):
//   delete  an `rm` pattern with a recursive flag: recursive deletion of each operand (`/`, `~`;
//           `/*` stands for `/`). Without operand (`rm -rf`): recursive deletion of anything.
//   write   a pattern that is only a redirection (`> /dev/sda`), or `dd ... of=PATH`: a write to PATH.
//           A block device (/dev/sda, /dev/nvme0n1p2, /dev/disk/by-id/...) stands for every block
//           device: the intent is "do not overwrite a disk", not one disk's name.
// A command has the effect (lineEffects) when, by its shell-table reading:
//   delete  `rm -r`/`-R`/`--recursive` of a path (`-f` is not needed: without a terminal rm does not
//           prompt); `find ROOT` with `-delete` or an -exec/-execdir/-ok of rm, unlink, shred or
//           rmdir, unless a positive name test (`-name '*.o'`) selects what it deletes; rm, unlink
//           or shred of what a `find ROOT` hands to xargs; `rsync --delete*` into a local
//           destination; `rsync --remove-source-files` of its sources; `mv` of a path (it is gone
//           from its place: matched against named targets only, never by `rm -rf` without operand).
//           The effect matches a target when it deletes the target or a directory above it
//           (`rm -rf /home` deletes `~`), or wipes its contents (`rm -rf ~/*`).
//   write   every write the shell tables find (arguments and redirections), and the disk tools
//           mkfs*, mke2fs, mkswap, wipefs -a, blkdiscard, sgdisk, sfdisk, fdisk (not their listing forms).
// A path known only at run time (`rm -rf "$D"`, `find "$D" -delete`) could be the target: it matches,
// as the deny reading of the words already does; for writes only when its static start places it
// (`/dev/$D`), since a write to an unknown path already asks.
import path from "node:path";
import type { SimpleCommand } from "../shell/analyze.js";
import { basename } from "../shell/words.js";
import { hasOption, parseArgs } from "./bash-args.js";
import { argumentAccesses, isNotAFile, redirectAccesses } from "./bash-files.js";
import type { CommandPattern, Pattern } from "./bash-pattern.js";
import { programFamily } from "./bash-exec-args.js";
import type { FilePathKind } from "./types.js";

export type Intent =
  | { kind: "delete"; targets: string[] | "any"; what: string }
  | { kind: "write"; target: string | "block device"; what: string };

/** A command's effect on the file system, as far as intents go. */
export interface Effect {
  kind: "delete" | "write";
  path: string;
  pathKind: FilePathKind;
  /** The command, for messages. */
  by: string;
  /** Moved away, not destroyed: counts only against a named target. */
  move?: boolean;
  /** A glob whose last component selects everything (`~/*`): wipes the directory's contents. */
  wipesContents?: boolean;
}

export interface Where {
  cwd: string;
  home?: string;
  /** Directories the line may change to before a relative path is used; unknown: any. */
  dirs: string[];
  dirsUnknown: boolean;
}

/** Whole disks and partitions by their usual Linux names. */
const BLOCK_DEVICE = /^\/dev\/(?:(?:sd|hd|vd|xvd)[a-z]+\d*|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|md\d+(?:p\d+)?|dm-\d+|loop\d+(?:p\d+)?|nbd\d+(?:p\d+)?|rbd\d+|zd\d+|sr\d+|root|disk\/.+|mapper\/.+)$/;

export function isBlockDevice(p: string): boolean {
  return BLOCK_DEVICE.test(path.posix.normalize(p));
}

// ---------------------------------------------------------------------------------------------
// Intents of a rule.

/** A pattern word as a target: `/*` is `/`; other words with `*` give no target. */
function targetOfWord(text: string): string | undefined {
  const t = text.replace(/\/\*$/, "") || "/";
  if (t.includes("*")) return undefined;
  return t;
}

export function intentOf(p: Pattern): Intent | undefined {
  if (p.kind === "write") {
    const target = p.path.includes("*") ? undefined : p.path;
    if (target === undefined && !p.path.startsWith("/dev/")) return undefined;
    return { kind: "write", target: target === undefined || isBlockDevice(target) ? "block device" : target, what: target === undefined || isBlockDevice(target) ? "writing to a block device" : `writing to ${target}` };
  }
  if (p.kind !== "command") return undefined;
  return commandIntent(p.cmd);
}

function commandIntent(c: CommandPattern): Intent | undefined {
  const [prog, ...rest] = c.words;
  if (!prog || prog.star) return undefined;
  const program = basename(prog.text);
  if (program === "rm") {
    const flags = rest.filter((w) => w.flag).map((w) => w.text);
    const recursive = flags.some((f) => f === "--recursive" || (/^-[^-]/.test(f) && /[rR]/.test(f)));
    if (!recursive) return undefined;
    const operands = rest.filter((w) => !w.flag && w.text !== "*" && w.text !== "--");
    if (operands.length === 0) return { kind: "delete", targets: "any", what: "recursive deletion" };
    const targets = operands.map((w) => targetOfWord(w.text));
    if (targets.some((t) => t === undefined)) return undefined;
    return { kind: "delete", targets: targets as string[], what: `recursive deletion of ${(targets as string[]).join(", ")}` };
  }
  if (program === "dd") {
    const of = rest.find((w) => w.text.startsWith("of="));
    if (!of) return undefined;
    const target = of.text.slice(3);
    if (target.includes("*") && !target.startsWith("/dev/")) return undefined;
    const block = target.includes("*") || isBlockDevice(target);
    return { kind: "write", target: block ? "block device" : target, what: block ? "writing to a block device" : `writing to ${target}` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Effects of a line.

interface UnitView {
  cmd: SimpleCommand;
  parent?: number;
}

const DELETERS: ReadonlySet<string> = new Set(["rm", "unlink", "shred", "rmdir", "srm", "wipe"]);
/** find tests that select by name: what such a find deletes is those files, not the tree. */
const FIND_NAME_TESTS = /^-(name|iname|path|ipath|wholename|iwholename|regex|iregex|lname|ilname|inum|samefile)$/;
/** find operators after which a name test no longer narrows the whole expression. */
const FIND_BROADENING = /^(-o|-or|!|-not|,)$/;
const RSYNC_DELETE = /^--(del|delete|delete-before|delete-during|delete-delay|delete-after|delete-excluded|delete-missing-args)$/;

/** Disk tools: every block-device word is written, unless an option says the run only lists. */
const DISK_TOOLS: Readonly<Record<string, { listing?: RegExp; writesOnlyWith?: RegExp }>> = {
  mkfs: {},
  mke2fs: {},
  mkswap: {},
  mkdosfs: {},
  wipefs: { writesOnlyWith: /^(-a|--all|-o|--offset(=.*)?|-[a-zA-Z]*a[a-zA-Z]*)$/ },
  blkdiscard: {},
  sgdisk: { listing: /^(-p|--print|-v|--verify|-i|--info(=.*)?)$/ },
  sfdisk: { listing: /^(-l|--list|-d|--dump|-J|--json|-s|--show-size|-V|--verify)$/ },
  fdisk: { listing: /^(-l|--list)$/ },
  gdisk: { listing: /^(-l)$/ },
  parted: { listing: /^(-l|--list|print)$/ },
  cfdisk: {},
};

function diskTool(program: string): (typeof DISK_TOOLS)[string] | undefined {
  return DISK_TOOLS[program] ?? (/^mkfs\.[a-z0-9]+$/.test(program) ? {} : undefined);
}

function kindAt(c: SimpleCommand, k: number): FilePathKind {
  if (c.globArgs.includes(k)) return "glob";
  if (c.dynamicArgs.includes(k) || (c.source === "find -exec" && (c.argv[k] ?? "").includes("{}"))) return "unknown";
  return "literal";
}

/** The start directories of a find, and whether a name test selects what its actions touch. */
function findRoots(c: SimpleCommand): { roots: Array<{ text: string; kind: FilePathKind }>; selective: boolean } {
  const roots: Array<{ text: string; kind: FilePathKind }> = [];
  let k = 1;
  // -H, -L, -P, -D debugopts, -Olevel come before the start directories.
  while (k < c.argv.length && /^-(H|L|P|O\d*|D)$/.test(c.argv[k] as string)) k += c.argv[k] === "-D" ? 2 : 1;
  while (k < c.argv.length && !/^[-(!]/.test(c.argv[k] as string)) {
    roots.push({ text: c.argv[k] as string, kind: kindAt(c, k) });
    k++;
  }
  if (roots.length === 0) roots.push({ text: ".", kind: "literal" });
  let named = false;
  let broad = false;
  for (; k < c.argv.length; k++) {
    const w = c.argv[k] as string;
    if (/^-(exec|execdir|ok|okdir)$/.test(w)) {
      // Skip the command's words up to `;` or `+`.
      while (k < c.argv.length && c.argv[k] !== ";" && c.argv[k] !== "+") k++;
      continue;
    }
    if (FIND_NAME_TESTS.test(w) && !c.dynamicArgs.includes(k + 1)) named = true;
    if (FIND_BROADENING.test(w) || c.dynamicArgs.includes(k)) broad = true;
  }
  return { roots, selective: named && !broad };
}

function findDeletes(c: SimpleCommand): boolean {
  for (let k = 1; k < c.argv.length; k++) {
    const w = c.argv[k] as string;
    if (w === "-delete") return true;
    if (/^-(exec|execdir|ok|okdir)$/.test(w) && DELETERS.has(programFamily(basename(c.argv[k + 1] ?? "")))) return true;
  }
  return false;
}

/** The find whose output a command's run-time words are: find -exec's parent, or the stage before xargs. */
function feedingFind(units: readonly UnitView[], i: number): SimpleCommand | undefined {
  const u = units[i] as UnitView;
  if (u.parent === undefined) return undefined;
  const p = units[u.parent] as UnitView;
  if (u.cmd.source === "find -exec" && p.cmd.program === "find") return p.cmd;
  if (u.cmd.argsFromInput && p.cmd.program === "xargs" && p.cmd.stage && p.cmd.stage.index > 0) {
    const st = p.cmd.stage;
    const prev = units.find((x) => x.cmd.stage?.pipeline === st.pipeline && x.cmd.stage.index === st.index - 1);
    if (prev && prev.cmd.program === "find" && !prev.cmd.unresolved) return prev.cmd;
  }
  return undefined;
}

function wipes(text: string, kind: FilePathKind): boolean {
  if (kind !== "glob") return false;
  const last = text.replace(/\/+$/, "").split("/").pop() ?? "";
  return /^(\.?\*|\.?\[[^\]]*\]\*|\*\.?\*?)$/.test(last) || last === ".??*";
}

function deleteEffects(units: readonly UnitView[], i: number): Effect[] {
  const c = (units[i] as UnitView).cmd;
  if (c.unresolved || c.argv.length === 0) return [];
  const family = programFamily(c.program);
  const by = c.argv.join(" ");
  const out: Effect[] = [];
  const add = (text: string, kind: FilePathKind, extra: Partial<Effect> = {}): void => {
    out.push({ kind: "delete", path: text, pathKind: kind, by, ...(wipes(text, kind) ? { wipesContents: true } : {}), ...extra });
  };
  const operands = (from = 1): number[] => {
    const idx: number[] = [];
    let ended = false;
    for (let k = from; k < c.argv.length; k++) {
      const w = c.argv[k] as string;
      if (!ended && w === "--") ended = true;
      else if (ended || !w.startsWith("-") || w === "-" || kindAt(c, k) !== "literal") idx.push(k);
    }
    return idx;
  };
  if (family === "rm") {
    const p = parseArgs(c.argv, {}, 1);
    if (hasOption(p, ["-r", "-R", "--recursive"])) for (const k of operands()) add(c.argv[k] as string, kindAt(c, k));
  }
  if (family === "find" && findDeletes(c)) {
    const f = findRoots(c);
    if (!f.selective) for (const r of f.roots) add(r.text, r.kind);
  }
  // rm/unlink/shred of what a find produced: the find's tree, unless the find selects by name.
  if (DELETERS.has(family)) {
    const f = feedingFind(units, i);
    if (f) {
      const roots = findRoots(f);
      if (!roots.selective) for (const r of roots.roots) add(r.text, r.kind);
    }
  }
  if (family === "rsync") {
    const p = parseArgs(c.argv, { long: ["--rsh", "--exclude", "--include", "--filter", "--exclude-from", "--include-from", "--files-from", "--log-file", "--backup-dir", "--link-dest", "--compare-dest", "--copy-dest", "--chmod", "--chown", "--max-delete", "--suffix", "--temp-dir", "--partial-dir"], short: "ef" }, 1);
    const ops = p.operands;
    const local = (t: string): boolean => {
      const colon = t.indexOf(":");
      const slash = t.indexOf("/");
      return !(colon > 0 && (slash < 0 || colon < slash));
    };
    if (ops.length >= 2) {
      const dest = ops[ops.length - 1] as { text: string; index: number };
      if (p.options.some((o) => RSYNC_DELETE.test(o.name)) && local(dest.text)) add(dest.text, kindAt(c, dest.index));
      if (hasOption(p, ["--remove-source-files"])) for (const s of ops.slice(0, -1)) if (local(s.text)) add(s.text, kindAt(c, s.index));
    }
  }
  if (family === "mv") {
    const ops = operands();
    const t = c.argv.findIndex((w) => w === "-t" || w.startsWith("--target-directory"));
    const sources = t > 0 ? ops.filter((k) => k !== t + 1) : ops.slice(0, -1);
    for (const k of sources) add(c.argv[k] as string, kindAt(c, k), { move: true });
  }
  return out;
}

function writeEffects(c: SimpleCommand): Effect[] {
  const by = c.argv.length > 0 ? c.argv.join(" ") : c.text;
  const out: Effect[] = [];
  const accesses = [...argumentAccesses(c), ...redirectAccesses(c.redirects, c.program || "redirect")];
  for (const a of accesses) if (a.access === "write") out.push({ kind: "write", path: a.path, pathKind: a.kind, by });
  const tool = c.unresolved ? undefined : diskTool(programFamily(c.program));
  if (tool) {
    const words = c.argv.slice(1);
    const listing = tool.listing !== undefined && words.some((w) => (tool.listing as RegExp).test(w));
    const writes = tool.writesOnlyWith === undefined || words.some((w) => (tool.writesOnlyWith as RegExp).test(w));
    if (!listing && writes)
      c.argv.forEach((w, k) => {
        const v = w.includes("=") && w.startsWith("-") ? w.slice(w.indexOf("=") + 1) : w;
        if (k > 0 && (v.startsWith("/dev/") || kindAt(c, k) === "unknown")) out.push({ kind: "write", path: v, pathKind: kindAt(c, k), by });
      });
  }
  return out;
}

/** Every delete and write effect of a line's commands (and of its compound commands' redirections). */
export function lineEffects(units: readonly UnitView[], compound: ReadonlyArray<{ redirects: SimpleCommand["redirects"]; kind: string }>): Effect[] {
  const out: Effect[] = [];
  units.forEach((_, i) => {
    out.push(...deleteEffects(units, i));
    out.push(...writeEffects((units[i] as UnitView).cmd));
  });
  for (const r of compound) for (const a of redirectAccesses(r.redirects, r.kind)) if (a.access === "write") out.push({ kind: "write", path: a.path, pathKind: a.kind, by: `${r.kind} redirection` });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Matching.

const HOME_REF = /^(?:~|\$HOME|\$\{HOME\})(?=\/|$)/;

/** Absolute (or `~`-rooted when home is unknown) and normalized; relative paths against each base. */
function absolute(p: string, base: string, home: string | undefined): string {
  let s = p;
  if (HOME_REF.test(s)) s = s.replace(HOME_REF, home ?? "~");
  if (!s.startsWith("/") && !s.startsWith("~")) s = path.posix.join(base, s);
  s = path.posix.normalize(s.replace(/\/{2,}/g, "/"));
  return s.length > 1 ? s.replace(/\/+$/, "") : s;
}

function globRegex(p: string): RegExp {
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] as string;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = p.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        re += "[^/]";
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

const DYNAMIC_PIECE = /\$\(.*?\)|`.*?`|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?$!-]|\{\}|[*?]|\[[^\]]*\]/gs;

/** What a dynamic word could be; `pinned`: text before its first dynamic piece. */
function dynamicRegex(p: string): { re: RegExp; pinned: string } {
  const pieces: string[] = [];
  let last = 0;
  let pinned: string | undefined;
  for (const m of p.matchAll(DYNAMIC_PIECE)) {
    pinned ??= p.slice(0, m.index);
    pieces.push(p.slice(last, m.index).replace(/[.+?^${}()|[\]\\*]/g, "\\$&"), ".*");
    last = (m.index as number) + m[0].length;
  }
  pieces.push(p.slice(last).replace(/[.+?^${}()|[\]\\*]/g, "\\$&"));
  return { re: new RegExp(`^${pieces.join("")}$`, "s"), pinned: pinned ?? p };
}

function ancestorsOf(t: string): string[] {
  const out = [t];
  let cur = t;
  while (cur !== "/" && cur.includes("/")) {
    cur = path.posix.dirname(cur);
    out.push(cur);
    if (cur === "." || cur === "~") break;
  }
  return out;
}

/** The bases a relative path of this line may be relative to. */
function bases(w: Where): string[] {
  return [w.cwd, ...w.dirs.map((d) => absolute(d, w.cwd, w.home))];
}

function deleteHits(e: Effect, targets: string[] | "any", w: Where): boolean {
  if (targets === "any") return !e.move;
  const wanted = targets.map((t) => absolute(t, w.cwd, w.home));
  const relative = !e.path.startsWith("/") && !HOME_REF.test(e.path);
  if (relative && w.dirsUnknown) return true;
  if (e.pathKind === "unknown") {
    const text = HOME_REF.test(e.path) && w.home ? e.path.replace(HOME_REF, w.home) : e.path;
    // `$D`: could be anything; `/srv/$D`, `build/$D`: below its static start (or it, when empty).
    if (dynamicRegex(text).pinned === "") return true;
    return bases(w).some((base) => {
      const { re } = dynamicRegex(text.startsWith("/") ? text : `${base.replace(/\/+$/, "")}/${text}`);
      return wanted.some((t) => ancestorsOf(t).some((a) => re.test(a) || re.test(`${a}/`)));
    });
  }
  for (const base of bases(w)) {
    const abs = absolute(e.path, base, w.home);
    for (const t of wanted) {
      if (e.pathKind === "glob") {
        const re = globRegex(abs);
        if (ancestorsOf(t).some((a) => re.test(a))) return true;
        if (e.wipesContents && path.posix.dirname(abs) === t) return true;
      } else if (ancestorsOf(t).includes(abs)) return true;
    }
  }
  return false;
}

function writeHits(e: Effect, target: string | "block device", w: Where): boolean {
  if (e.pathKind === "literal" && isNotAFile(e.path)) return false;
  if (e.pathKind === "unknown") {
    const { re, pinned } = dynamicRegex(e.path);
    if (!pinned.startsWith("/") || pinned.length < 2) return false;
    return target === "block device" ? pinned.startsWith("/dev/") && !isNotAFile(pinned) : re.test(target);
  }
  return bases(w).some((base) => {
    const abs = absolute(e.path, base, w.home);
    if (e.pathKind === "glob") return target === "block device" ? abs.startsWith("/dev/") : globRegex(abs).test(absolute(target, w.cwd, w.home));
    return target === "block device" ? isBlockDevice(abs) : abs === absolute(target, w.cwd, w.home);
  });
}

/** The first effect of the line that has the intent's effect; undefined when none. */
export function intentHit(intent: Intent, effects: readonly Effect[], where: Where): Effect | undefined {
  for (const e of effects) {
    if (e.kind !== intent.kind) continue;
    if (intent.kind === "delete" ? deleteHits(e, intent.targets, where) : writeHits(e, intent.target, where)) return e;
  }
  return undefined;
}
