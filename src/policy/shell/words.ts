/**
 * Turning a parsed word into the fields bash would pass to a program: quote removal happened in
 * the parser (literal parts carry a `quoted` flag); here come brace expansion, the detection of
 * what cannot be known statically (parameters, substitutions, arithmetic, globs), and `$'...'`.
 */
import type { Word } from "./ast.js";

/** At most this many words from the brace expansion of one word; more is "unresolved". */
export const MAX_BRACE_RESULTS = 64;

export interface Field {
  /** The text bash would pass; dynamic pieces are kept as their source text (`$HOME`, `$(id)`). */
  text: string;
  /** Contains a parameter, command/process substitution or arithmetic expansion. */
  dynamic: boolean;
  /** Contains an unquoted glob (`*`, `?`, `[...]`, extended glob): the shell may replace it with file names. */
  glob: boolean;
}

export interface ExpandedWord {
  fields: Field[];
  /** Brace expansion produced more than MAX_BRACE_RESULTS words. */
  tooMany: boolean;
}

/** One character (or one dynamic piece) of a word, with whether it was quoted. */
interface Ch {
  c: string;
  q: boolean;
  dyn?: boolean;
  glob?: boolean;
}

function toChars(w: Word): Ch[] {
  const out: Ch[] = [];
  for (const p of w.parts) {
    if (p.k === "lit") for (const c of p.v) out.push({ c, q: p.quoted });
    else if (p.k === "extglob") out.push({ c: p.text, q: true, glob: true });
    else out.push({ c: p.text, q: true, dyn: true });
  }
  return out;
}

function isOpen(ch: Ch | undefined, c: string): boolean {
  return ch !== undefined && !ch.q && ch.c === c;
}

/** Characters examined by one word's brace expansion before giving up (keeps `{{{{...` linear-ish). */
const MAX_BRACE_WORK = 200_000;

/** Bash brace expansion over quoted-aware characters. Returns undefined past `limit` results. */
function braceExpand(seq: Ch[], limit: number, work = { left: MAX_BRACE_WORK }, nest = 0): Ch[][] | undefined {
  if (nest > 32) return undefined;
  for (let a = 0; a < seq.length; a++) {
    if (!isOpen(seq[a], "{")) continue;
    // `${` never starts a brace expansion; our `$` parts are already dynamic pieces, so only a
    // literal unquoted `$` before `{` (e.g. `$\{`) would matter, and bash leaves that alone too.
    if (a > 0 && isOpen(seq[a - 1], "$")) continue;
    let depth = 0;
    let close = -1;
    const commas: number[] = [];
    for (let b = a + 1; b < seq.length; b++) {
      if (--work.left < 0) return undefined;
      if (isOpen(seq[b], "{")) depth++;
      else if (isOpen(seq[b], "}")) {
        if (depth === 0) {
          close = b;
          break;
        }
        depth--;
      } else if (isOpen(seq[b], ",") && depth === 0) commas.push(b);
    }
    if (close < 0) continue; // unmatched: literal `{`, an inner one may still expand
    const pre = seq.slice(0, a);
    const inner = seq.slice(a + 1, close);
    let alts: Ch[][];
    if (commas.length > 0) {
      alts = [];
      let from = a + 1;
      for (const c of [...commas, close]) {
        alts.push(seq.slice(from, c));
        from = c + 1;
      }
    } else {
      const seqAlts = sequence(inner);
      if (seqAlts === null) continue; // not a valid brace expression: literal, look further
      if (seqAlts === undefined) return undefined;
      alts = seqAlts.map((s) => [...s].map((c) => ({ c, q: false })));
    }
    const post = braceExpand(seq.slice(close + 1), limit, work, nest + 1);
    if (!post) return undefined;
    const out: Ch[][] = [];
    for (const alt of alts) {
      const altExp = braceExpand(alt, limit, work, nest + 1);
      if (!altExp) return undefined;
      for (const x of altExp)
        for (const y of post) {
          out.push([...pre, ...x, ...y]);
          if (out.length > limit) return undefined;
        }
    }
    return out;
  }
  return [seq];
}

/** `{1..5}`, `{a..e}`, `{01..10..2}`: the words, null when not a sequence, undefined when too many. */
function sequence(inner: Ch[]): string[] | null | undefined {
  if (inner.some((c) => c.q || c.dyn)) return null;
  const s = inner.map((c) => c.c).join("");
  const num = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$/.exec(s);
  const chr = /^([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?$/.exec(s);
  if (!num && !chr) return null;
  const m = (num ?? chr) as RegExpExecArray;
  const from = num ? Number(m[1]) : (m[1] as string).charCodeAt(0);
  const to = num ? Number(m[2]) : (m[2] as string).charCodeAt(0);
  let step = Math.abs(Number(m[3] ?? "1")) || 1;
  const count = Math.floor(Math.abs(to - from) / step) + 1;
  if (!Number.isSafeInteger(count) || count > MAX_BRACE_RESULTS) return undefined;
  if (to < from) step = -step;
  const width = num && (/^-?0\d/.test(m[1] as string) || /^-?0\d/.test(m[2] as string)) ? Math.max((m[1] as string).length, (m[2] as string).length) : 0;
  const out: string[] = [];
  for (let k = 0, v = from; k < count; k++, v += step) {
    if (chr) out.push(String.fromCharCode(v));
    else {
      const abs = String(Math.abs(v)).padStart(v < 0 ? width - 1 : width, "0");
      out.push(v < 0 ? `-${abs}` : abs);
    }
  }
  return out;
}

function isGlob(seq: Ch[]): boolean {
  let lastClose = -1; // `[` is a glob only with an unquoted `]` at least two characters later
  for (let k = seq.length - 1; k >= 0 && lastClose < 0; k--) if (isOpen(seq[k], "]")) lastClose = k;
  for (let k = 0; k < seq.length; k++) {
    const ch = seq[k] as Ch;
    if (ch.glob) return true;
    if (ch.q) continue;
    if (ch.c === "*" || ch.c === "?") return true;
    if (ch.c === "[" && lastClose >= k + 2) return true;
  }
  return false;
}

/** Expands one word into the fields bash would produce (brace expansion; no word splitting of static text). */
export function expandWord(w: Word): ExpandedWord {
  const seqs = braceExpand(toChars(w), MAX_BRACE_RESULTS);
  if (!seqs) return { fields: [{ text: w.raw, dynamic: false, glob: false }], tooMany: true };
  const fields: Field[] = [];
  for (const seq of seqs) {
    // An unquoted empty result of brace expansion (`x{,}` gives "x x", `{,a}` gives "a") disappears.
    if (seqs.length > 1 && seq.length === 0) continue;
    fields.push({ text: seq.map((c) => c.c).join(""), dynamic: seq.some((c) => c.dyn === true), glob: isGlob(seq) });
  }
  return { fields, tooMany: false };
}

/** The static text of a word when it has no dynamic part and no glob (brace expansion not applied). */
export function staticText(w: Word): string | undefined {
  let out = "";
  for (const p of w.parts) {
    if (p.k !== "lit") return undefined;
    out += p.v;
  }
  return out;
}

/** Decodes the inside of `$'...'` like bash: \a \b \e \E \f \n \r \t \v \\ \' \" \? \nnn \xHH \uHHHH \UHHHHHHHH \cX. */
export function decodeAnsiC(s: string): string {
  let out = "";
  for (let k = 0; k < s.length; k++) {
    const c = s[k] as string;
    if (c !== "\\" || k + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++k] as string;
    const simple: Record<string, string> = { a: "\x07", b: "\b", e: "\x1b", E: "\x1b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", "'": "'", '"': '"', "?": "?" };
    let code: number | undefined;
    if (n in simple) {
      out += simple[n];
      continue;
    }
    if (/[0-7]/.test(n)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(k)) as RegExpExecArray;
      code = parseInt(m[0], 8) & 0xff;
      k += m[0].length - 1;
    } else if (n === "x" || n === "u" || n === "U") {
      const max = n === "x" ? 2 : n === "u" ? 4 : 8;
      const m = new RegExp(`^[0-9A-Fa-f]{1,${max}}`).exec(s.slice(k + 1));
      if (!m) {
        out += "\\" + n;
        continue;
      }
      code = parseInt(m[0], 16);
      k += m[0].length;
    } else if (n === "c" && k + 1 < s.length) {
      code = (s[++k] as string).toUpperCase().charCodeAt(0) ^ 0x40;
    } else {
      out += "\\" + n;
      continue;
    }
    // bash cuts the string at a NUL byte.
    if (code === 0) return out;
    out += code > 0x10ffff ? "\ufffd" : String.fromCodePoint(code);
  }
  return out;
}

/** `/usr/bin/curl` and `./curl` → `curl`. */
export function basename(p: string): string {
  const k = p.lastIndexOf("/");
  return k >= 0 && k < p.length - 1 ? p.slice(k + 1) : p;
}
