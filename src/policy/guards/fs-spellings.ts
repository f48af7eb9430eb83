// The filesystem guard's byte-exact readings of a path argument. paths/canonical.ts and
// paths/links.ts give the Unicode-NFC reading (what the permission rules match); this file gives the
// reading the Linux kernel uses, which compares names byte for byte: `café` spelled NFD is a
// different directory from `café` spelled NFC. A path must be inside the roots under both readings.
//
// Only lstat/readlink/realpath (synchronous): no file is opened.
import fs from "node:fs";
import path from "node:path";
import { physicalTarget } from "../paths/links.js";

/** A spelling of a requested path: lexical absolute form, and the `..`-keeping walk when it differs. */
export interface Spelling {
  /** Absolute, `.`/`..`/`//` normalized, no trailing `/`; not Unicode-normalized. */
  link: string;
  /** Present when the input had `..`: absolute with `..` kept, as the kernel walks it (after symlinks). */
  physical?: string;
  /** How this reading arose, for messages. */
  how: "as given" | "percent-decoded" | "with \\ as a separator" | "percent-decoded, with \\ as a separator";
}

const PERCENT = /%[0-9a-fA-F]{2}/;
const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const FILE_URI = /^file:/i;

/**
 * Every byte-exact reading of `input` a server might take: as given; percent-decoded (plain paths
 * with `%XX`; a `file:` URI is always decoded, as its only reading); and, when the input holds a
 * backslash, each of those with `\` read as a separator (a server written for Windows paths, or one
 * that normalizes them, would). Validation (NUL, length, remote URIs, `~user`) is canonicalizeRequestPath's:
 * call it first, this function assumes the input passed it.
 */
export function exactSpellings(input: string, cwd: string, home: string): Spelling[] {
  const forms: { text: string; how: Spelling["how"] }[] = [];
  if (FILE_URI.test(input)) {
    const url = new URL(input);
    forms.push({ text: decodeURIComponent(url.pathname), how: "as given" });
  } else {
    forms.push({ text: input, how: "as given" });
    if (PERCENT.test(input)) forms.push({ text: input.replace(PERCENT_RUN, (run) => decodeURIComponent(run)), how: "percent-decoded" });
  }
  for (const f of [...forms]) {
    if (f.text.includes("\\")) {
      forms.push({ text: f.text.replaceAll("\\", "/"), how: f.how === "as given" ? "with \\ as a separator" : "percent-decoded, with \\ as a separator" });
    }
  }
  const out: Spelling[] = [];
  const seen = new Set<string>();
  for (const f of forms) {
    const s = lexical(f.text, cwd, home);
    if (s === undefined) continue;
    const key = `${s.link}\0${s.physical ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...s, how: f.how });
  }
  return out;
}

/** `~` expansion and normalization against cwd, byte-exact (no Unicode normalization). */
export function lexical(p: string, cwd: string, home: string): { link: string; physical?: string } | undefined {
  if (p.startsWith("~")) {
    if (p === "~") p = home;
    else if (p.startsWith("~/")) p = home + p.slice(1);
    else return undefined; // ~user: refused by canonicalizeRequestPath already
  }
  const link = path.posix.resolve(cwd, p);
  const joined = path.posix.isAbsolute(p) ? p : `${cwd}/${p}`;
  const segs = joined.split("/").filter((s) => s !== "" && s !== ".");
  if (!segs.includes("..")) return { link };
  return { link, physical: "/" + segs.join("/") };
}

/** The byte-exact symlink target (paths/links.ts physicalTarget). Throws when it cannot know: the caller fails closed. */
export const exactTarget = physicalTarget;

/** Whether something exists at p (without following a final symlink). */
export function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** p is root or below it, by path components (never a string prefix). Both absolute and normalized. */
export function within(p: string, root: string): boolean {
  if (p === root) return true;
  return p.startsWith(root === "/" ? "/" : root + "/");
}
