// Showing a tool call to a person who must approve it: every character accounted for, nothing
// hidden, nothing truncated, nothing able to move the rest of the text out of view. Pure: no I/O.
//
// Notation (one style, used everywhere; `unescapeVisible` in the tests inverts it exactly):
//   \u{XXXX}     a character a reader would not see or could be misled by: C0/C1 controls (tab and
//                newline included), ANSI escape, format characters (zero-width, bidi controls,
//                U+061C, tag characters), line/paragraph separators, spaces other than U+0020,
//                default-ignorable code points (variation selectors, Hangul fillers...), private-use,
//                unassigned and lone surrogate code points. Upper-case hex, at least 4 digits.
//   \u{XXXX}×N   N (≥ 2) of the same such character in a row.
//   ␠×N          N (≥ 4) spaces in a row, so padding cannot push a payload off screen; 1 to 3 spaces
//                stay spaces.
//   \\           a backslash, so that text which merely looks like an escape cannot pass for one.
//   Characters that would make the notation ambiguous are escaped too: a literal ␠, a literal ×
//   right after an escape or run, and a digit right after a run count.
// Combining marks stay on the letter they decorate, up to 3 in a row; more (a "Zalgo" stack that
// can paint over neighbouring lines) or a mark with nothing to attach to are escaped.
// Emoji sequences show their joiners and variation selectors (👨\u{200D}👩, ❤\u{FE0F}): noisy, but
// those are the characters that smuggle hidden data.

export interface DisplayOptions {
  /** Columns per line; default 100. Long values wrap onto continuation lines; nothing is cut. */
  width?: number;
  /**
   * When the rendering has more lines than this, a first line says how many there are. The text
   * itself is always complete: paginate it, never truncate it.
   */
  maxLines?: number;
}

const ESCAPED =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800\u2420]|(?![ ])\p{Zs}/u;
const MARK = /\p{M}/u;
const MAX_MARKS_PER_BASE = 3;
const SPACE_RUN = 4;

function escapeOf(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}}`;
}

interface Token {
  text: string;
  /** Columns on screen. */
  width: number;
  /** The token stands for a line feed: a rendering may start a continuation line after it. */
  lineFeed?: boolean;
}

/** Approximate East Asian wide ranges and emoji: two columns on a terminal. */
const WIDE = /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1F64F}\u{1F900}-\u{1F9FF}\u{20000}-\u{3FFFD}]/u;

/** The visible notation of `s` as tokens: escapes and runs are single tokens, so wrapping never splits one. */
function visibleTokens(s: string): Token[] {
  const cps = Array.from(s); // Code points; a lone surrogate stays a unit of its own.
  const tokens: Token[] = [];
  // What the previous token was: a run count (a digit must not follow), an escape (× must not
  // follow, a combining mark must not attach), or a literal base that marks may decorate.
  let previous: "none" | "escape" | "count" | "base" | "space" = "none";
  let marks = 0;
  for (let i = 0; i < cps.length; ) {
    const ch = cps[i]!;
    let j = i + 1;
    while (j < cps.length && cps[j] === ch) j++;
    const run = j - i;
    if (ch === " ") {
      if (run >= SPACE_RUN) {
        tokens.push({ text: `␠×${run}`, width: 2 + String(run).length });
        previous = "count";
      } else {
        for (let k = 0; k < run; k++) tokens.push({ text: " ", width: 1 });
        previous = "space";
      }
      marks = 0;
      i = j;
      continue;
    }
    const isMark = MARK.test(ch);
    const hidden = ESCAPED.test(ch) || (isMark && (previous !== "base" || marks >= MAX_MARKS_PER_BASE));
    // Visible, but read as part of the notation here: only this one character is escaped.
    const ambiguous = (ch === "×" && (previous === "escape" || previous === "count")) || (previous === "count" && ch >= "0" && ch <= "9");
    if (hidden || ambiguous) {
      const escape = escapeOf(ch);
      const lineFeed = ch === "\n";
      if (hidden && run >= 2) {
        tokens.push({ text: `${escape}×${run}`, width: escape.length + 1 + String(run).length, lineFeed });
        previous = "count";
        i = j;
      } else {
        tokens.push({ text: escape, width: escape.length, lineFeed });
        previous = "escape";
        i++;
      }
      marks = 0;
      continue;
    }
    if (ch === "\\") {
      tokens.push({ text: "\\\\", width: 2 });
      previous = "escape";
      marks = 0;
    } else if (isMark) {
      // Marks join the token of their base, so a wrap cannot strand them at a line start.
      const last = tokens[tokens.length - 1]!;
      last.text += ch;
      marks++;
    } else {
      tokens.push({ text: ch, width: WIDE.test(ch) ? 2 : 1 });
      previous = "base";
      marks = 0;
    }
    i++;
  }
  return tokens;
}

/** `s` with every invisible or control character shown as an escape and long space runs compacted (notation above). */
export function visibleText(s: string): string {
  let out = "";
  for (const t of visibleTokens(s)) out += t.text;
  return out;
}

/**
 * Whether `s` holds anything a reader would not see as written: the characters visibleText escapes,
 * except tab, line feed and a carriage return before a line feed, which ordinary multi-line text
 * has. (Escape characters, bidi controls, zero-width and tag characters all count.)
 */
export function hasInvisibleCharacters(s: string): boolean {
  let previous: "none" | "base" | "other" = "none";
  let marks = 0;
  const cps = Array.from(s);
  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i]!;
    if (ch === "\t" || ch === "\n" || (ch === "\r" && cps[i + 1] === "\n")) {
      previous = "other";
      continue;
    }
    if (ch !== "\u2420" && ESCAPED.test(ch)) return true;
    if (MARK.test(ch)) {
      if (previous !== "base" || ++marks > MAX_MARKS_PER_BASE) return true;
      continue;
    }
    previous = ch === " " || ch === "\\" ? "other" : "base";
    marks = 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Pretty JSON

const INDENT_LEVELS = 16;
const CONTINUATION = "↪ ";

/** Deep nesting would push content right by its indentation; past 16 levels the depth is written instead. */
function indentOf(depth: number): string {
  const base = "  ".repeat(Math.min(depth, INDENT_LEVELS));
  return depth > INDENT_LEVELS ? `${base}‹depth ${depth}› ` : base;
}

interface Line {
  depth: number;
  tokens: Token[];
}

const plain = (text: string): Token => ({ text, width: text.length });

/** A JSON-style quoted string: the notation above, plus `\"` for a quote. */
function quoted(s: string): Token[] {
  const tokens = visibleTokens(s);
  for (const t of tokens) {
    // A quote may carry combining marks in its token; it is still a literal quote.
    if (t.text.startsWith('"')) {
      t.text = "\\" + t.text;
      t.width += 1;
    }
  }
  return [plain('"'), ...tokens, plain('"')];
}

function scalarTokens(v: unknown): Token[] {
  switch (typeof v) {
    case "string":
      return quoted(v);
    case "number":
      return [plain(Object.is(v, -0) ? "-0" : String(v))];
    case "boolean":
      return [plain(String(v))];
    case "bigint":
      return [plain(`${v}n`)];
    case "undefined":
      return [plain("undefined")];
    case "symbol":
      return [plain("Symbol("), ...quoted(v.description ?? ""), plain(")")];
    case "function":
      return [plain("[function "), ...quoted(v.name), plain("]")];
    default:
      return [plain("null")];
  }
}

interface Frame {
  container: object;
  entries: Array<[key: string | null, value: unknown]>;
  next: number;
  depth: number;
  close: string;
  comma: boolean;
}

/**
 * The value as indented JSON, every key and string shown with visibleText's notation. Lines longer
 * than `width` continue on lines starting with "↪ " at the same indentation; a continuation holds
 * exactly the next characters, nothing added or removed. Values JSON would drop or change
 * (undefined, NaN, functions, bigint) are shown as what they are; a circular reference as [circular].
 */
export function renderArguments(value: unknown, opts: DisplayOptions = {}): string {
  const width = Math.max(20, Math.floor(opts.width ?? 100));
  const lines: Line[] = [];
  const stack: Frame[] = [];
  const ancestors = new Set<object>();

  // Iterative, not recursive: JSON from a client can nest deeper than the call stack allows.
  const emit = (prefix: Token[], v: unknown, depth: number, comma: boolean) => {
    if (v !== null && typeof v === "object") {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") {
        const json: unknown = toJSON.call(v);
        if (json !== v) return emit(prefix, json, depth, comma);
      }
    }
    if (v === null || typeof v !== "object") {
      lines.push({ depth, tokens: [...prefix, ...scalarTokens(v), ...(comma ? [plain(",")] : [])] });
      return;
    }
    if (ancestors.has(v)) {
      lines.push({ depth, tokens: [...prefix, plain("[circular]"), ...(comma ? [plain(",")] : [])] });
      return;
    }
    const isArray = Array.isArray(v);
    const entries: Array<[string | null, unknown]> = isArray
      ? Array.from(v as unknown[], (x): [null, unknown] => [null, x])
      : Object.entries(v);
    const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
    if (entries.length === 0) {
      lines.push({ depth, tokens: [...prefix, plain(open + close), ...(comma ? [plain(",")] : [])] });
      return;
    }
    lines.push({ depth, tokens: [...prefix, plain(open)] });
    ancestors.add(v);
    stack.push({ container: v, entries, next: 0, depth, close, comma });
  };

  emit([], value, 0, false);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.entries.length) {
      const [key, v] = top.entries[top.next++]!;
      const prefix = key === null ? [] : [...quoted(key), plain(": ")];
      emit(prefix, v, top.depth + 1, top.next < top.entries.length);
      continue;
    }
    stack.pop();
    ancestors.delete(top.container);
    lines.push({ depth: top.depth, tokens: [plain(top.close + (top.comma ? "," : ""))] });
  }

  const physical: string[] = [];
  for (const line of lines) wrapLine(line, width, physical);
  if (opts.maxLines !== undefined && physical.length > opts.maxLines) {
    physical.unshift(`(${physical.length} lines, more than ${opts.maxLines}: the arguments continue below; read them to the end)`);
  }
  return physical.join("\n");
}

/** Fills lines up to `width` columns, token by token (at least one token per line), and breaks after each line feed. */
function wrapLine(line: Line, width: number, out: string[]): void {
  const indent = indentOf(line.depth);
  let current = indent;
  let used = indent.length;
  let empty = true;
  const continuation = indent + CONTINUATION;
  for (const t of line.tokens) {
    if (!empty && used + t.width > width) {
      out.push(current);
      current = continuation;
      used = continuation.length;
    }
    current += t.text;
    used += t.width;
    empty = false;
    if (t.lineFeed) {
      out.push(current);
      current = continuation;
      used = continuation.length;
      empty = true;
    }
  }
  if (!empty || current !== continuation) out.push(current);
}
