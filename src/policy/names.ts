// Canonical MCP tool names: `mcp__<server>__<tool>`. Pure: no I/O.

export const MCP_PREFIX = "mcp__";

export function canonicalToolName(server: string, tool: string): string {
  return MCP_PREFIX + server + "__" + tool;
}

/**
 * Splits `mcp__<server>__<tool>`. The server ends at the first `__` after the prefix, because server
 * names never contain `__` (settings reject them); the tool is everything after it and may itself
 * contain `__`. undefined when the server or the tool is empty or there is no separator.
 */
export function parseCanonical(name: string): { server: string; tool: string } | undefined {
  if (typeof name !== "string" || !name.startsWith(MCP_PREFIX)) return undefined;
  const sep = name.indexOf("__", MCP_PREFIX.length);
  // sep === prefix length: empty server (`mcp____x`); -1: no separator at all.
  if (sep <= MCP_PREFIX.length) return undefined;
  const tool = name.slice(sep + 2);
  if (tool === "") return undefined;
  return { server: name.slice(MCP_PREFIX.length, sep), tool };
}

/**
 * Characters that make a name or rule mean something other than what it shows: control characters,
 * invisible format characters (zero-width, bidi overrides), lone surrogates and line/paragraph
 * separators. An upstream may strip them (`delete_repo\0` → `delete_repo`), so a name carrying one
 * could slip past a deny rule written for the visible name.
 */
export const INVISIBLE_CHAR = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

const PLAIN_NAME = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Longest tool name judged at all. MCP suggests at most 128 characters; this leaves room for the prefix. */
export const MAX_NAME_LENGTH = 512;

/**
 * Why a requested tool name cannot be judged, or undefined when it can. Checked before any rule, so
 * a name an upstream might read differently (trailing space, NUL, zero-width character) is refused.
 */
export function nameProblem(name: string): string | undefined {
  // Fast path for the usual name: printable ASCII, no edge space.
  if (name.length <= MAX_NAME_LENGTH && PLAIN_NAME.test(name)) return undefined;
  if (name.length === 0) return "the tool name is empty";
  if (name.length > MAX_NAME_LENGTH) return `the tool name is longer than ${MAX_NAME_LENGTH} characters`;
  const bad = INVISIBLE_CHAR.exec(name);
  if (bad) return `the tool name contains the invisible or control character ${codePoint(bad[0])}`;
  if (/^\s|\s$/.test(name)) return "the tool name has leading or trailing whitespace";
  return undefined;
}

/** `U+0000` form, for messages. */
export function codePoint(ch: string): string {
  return "U+" + (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
}
