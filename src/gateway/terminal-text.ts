// Text forwarded to the client is made safe for terminals. Clients (Claude Code among them) show
// servers' log messages and results in a terminal, where an escape sequence clears the screen,
// retitles the window, or plants an OSC-8 link whose visible text differs from its target.

/** ANSI escape sequences: CSI, OSC up to BEL or ST (OSC-8 links included), two-character escapes, 8-bit CSI. */
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])|\u009b[0-?]*[ -/]*[@-~]/g;
/** C0 and C1 controls except tab and newline. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Everything invisible in a one-line name: all controls, format characters (bidi, zero-width, tags), line and paragraph separators. */
const NAME_INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** Removes escape sequences and control characters (tab and newline kept). */
export function stripControls(text: string): string {
  return text.replace(ANSI, "").replace(CONTROL, "");
}

/** A name shown on one line (a logger name): escape sequences and every invisible character removed. */
export function safeName(text: string): string {
  return text.replace(ANSI, "").replace(NAME_INVISIBLE, "");
}

const MAX_DEPTH = 64;

/**
 * A copy of a JSON value with stripControls applied to every string, keys included. Deeper than
 * MAX_DEPTH levels the rest is replaced by a marker (a log message is no place for such nesting, and
 * the walk must stay bounded).
 */
export function stripControlsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return stripControls(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return "[nested too deep: removed by mcp-warden]";
  if (Array.isArray(value)) return value.map((v) => stripControlsDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = stripControls(k);
    // defineProperty: a "__proto__" key stays data.
    Object.defineProperty(out, key, { value: stripControlsDeep(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
