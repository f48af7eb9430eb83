// Reading settings files: strict JSON, then the schema, then the layers in precedence order.
import { ParseErrorCode, visit } from "jsonc-parser";
import type * as z from "zod/v4";
import { SettingsError, joinPath } from "./errors.js";
import { settingsErrorFromZod } from "./errors-zod.js";
import { readSettingsLayers, readText } from "./files.js";
import { resolveSettings, type ResolvedSettings } from "./resolve.js";
import type { LoadedLayers, LoadOptions } from "./files.js";
import { ManagedMcpFile, Settings } from "./schema.js";

export type ManagedMcpSettings = z.infer<typeof ManagedMcpFile>;

export type { LoadedLayers, LoadOptions } from "./files.js";

/** Parses and validates one settings file's text. Throws SettingsError. */
export function parseSettingsText(text: string, file: string): Settings {
  return validate(parseJson(text, file), file, Settings);
}

/**
 * Validates settings that arrive already parsed (`check --batch`); `file` names them in errors.
 * Throws SettingsError.
 */
export function parseSettingsObject(value: unknown, file: string): Settings {
  rejectProtoKeys(value, file, "");
  return validate(value, file, Settings);
}

/** Parses and validates `managed-mcp.json` text. Throws SettingsError. */
export function parseManagedMcpText(text: string, file: string): ManagedMcpSettings {
  return validate(parseJson(text, file), file, ManagedMcpFile);
}

/** Reads one settings file (for commands that edit a single layer). A missing file is an error. */
export function readSettingsFile(file: string): Settings {
  const text = readText(file);
  if (text === undefined) throw new SettingsError(file, "", "file not found");
  return parseSettingsText(text, file);
}

/** Reads every layer that exists, highest precedence first, without merging. */
export function loadSettingsLayers(opts: LoadOptions): LoadedLayers {
  return readSettingsLayers(opts, { settings: parseSettingsText, managedMcp: (text, file) => parseManagedMcpText(text, file).mcpServers });
}

/** Reads and merges all settings layers. Throws SettingsError on the first bad file or setting. */
export function loadSettings(opts: LoadOptions): ResolvedSettings {
  const loaded = loadSettingsLayers(opts);
  const resolveOpts: Parameters<typeof resolveSettings>[1] = { env: opts.env };
  if (loaded.managedMcp) resolveOpts.managedMcp = loaded.managedMcp;
  const resolved = resolveSettings(loaded.layers, resolveOpts);
  resolved.warnings.unshift(...loaded.warnings);
  return resolved;
}

// JSON.parse keeps a `__proto__` key as an own property, and zod drops it from records without a word;
// parseJson below refuses it, and so must the path for objects parsed elsewhere.
function rejectProtoKeys(value: unknown, file: string, path: string): void {
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => rejectProtoKeys(v, file, joinPath(path, i)));
    return;
  }
  for (const key of Object.keys(value)) {
    if (key === "__proto__") throw new SettingsError(file, joinPath(path, key), "'__proto__' is not allowed as a property name");
    rejectProtoKeys((value as Record<string, unknown>)[key], file, joinPath(path, key));
  }
}

function validate<T>(value: unknown, file: string, schema: z.ZodType<T>): T {
  const result = schema.safeParse(value);
  if (!result.success) throw settingsErrorFromZod(file, result.error, value, schema);
  return result.data;
}

// ---------------------------------------------------------------------------------------------------
// Strict JSON, read with Microsoft's jsonc-parser (the scanner behind VS Code's JSON support) set to
// plain JSON: comments disallowed, trailing commas not allowed. JSON.parse is not enough here: its
// messages carry no line:column on Node 20, it silently keeps the last of two duplicate keys (so
// `"deny": [...], "deny": []` would quietly drop rules), and it keeps `__proto__` keys, which zod
// then drops without a word. jsonc-parser's `visit` reports every token and every error with its
// offset; on top of it we check here:
// - the first error stops the read, reported with line:column (computed from the offset) and JSON path;
// - a duplicate key and a `__proto__` key are refused, with the path of the key;
// - nesting is capped at MAX_DEPTH, before the library's recursive descent could exhaust the stack;
// - an empty file is refused, and one leading byte order mark is dropped (invalid UTF-8 was already
//   refused in readText, before any parsing).
// The value is built here rather than with jsonc-parser's `parse`, which assigns `obj[key] = value`:
// for a `__proto__` key that would set the prototype. Properties are defined with defineProperty instead.

const MAX_DEPTH = 64;

type Frame =
  | { kind: "object"; path: string; value: Record<string, unknown>; key: string | undefined }
  | { kind: "array"; path: string; value: unknown[]; expectItem: boolean };

export function parseJson(text: string, file: string): unknown {
  // A UTF-8 byte order mark is an editor artifact, not content.
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (src.trim() === "") throw new SettingsError(file, "", "the file is empty; write {} for no settings");

  const stack: Frame[] = [];
  let root: unknown;
  let prevToken = ""; // the first character of the last token seen, to recognise a trailing comma

  // The path an error belongs to: the key or array item being read, else the innermost container.
  const where = (): string => {
    const top = stack.at(-1);
    if (!top) return "";
    if (top.kind === "object") return top.key === undefined ? top.path : joinPath(top.path, top.key);
    return top.expectItem ? joinPath(top.path, top.value.length) : top.path;
  };
  const fail = (what: string, offset: number, path = where()): SettingsError => {
    let line = 1;
    let lineStart = 0;
    for (let i = src.indexOf("\n"); i !== -1 && i < offset; i = src.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return new SettingsError(file, path, `JSON syntax error: ${what}`, { line, column: offset - lineStart + 1 });
  };
  const seen = (offset: number) => (prevToken = src.charAt(offset));
  const add = (value: unknown, offset: number) => {
    // Checked on every value, before jsonc-parser recurses into it: its descent is recursive.
    if (stack.length > MAX_DEPTH) throw fail(`nested deeper than ${MAX_DEPTH} levels`, offset);
    const top = stack.at(-1);
    if (!top) root = value;
    else if (top.kind === "array") {
      top.value.push(value);
      top.expectItem = false;
    } else {
      if (top.key === undefined) throw fail("expected a property name", offset); // cannot happen: reported as an error first
      Object.defineProperty(top.value, top.key, { value, writable: true, enumerable: true, configurable: true });
      top.key = undefined;
    }
  };
  const open = (offset: number, frame: Frame) => {
    add(frame.value, offset);
    seen(offset);
    stack.push(frame);
  };
  const close = (offset: number, bracket: "}" | "]") => {
    // jsonc-parser also ends a container at the end of the file, and reports the missing bracket only
    // afterwards, outside it; stop here, where the path is still the container's.
    if (src[offset] !== bracket) throw fail(`unexpected end of file, expected '${bracket}'`, offset);
    seen(offset);
    stack.pop();
  };

  const describe = (offset: number, length: number): string => {
    if (offset >= src.length) return "end of file";
    const c = src.charCodeAt(offset);
    if (c < 0x21 || c > 0x7e) return `character U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
    return `'${src.slice(offset, offset + Math.min(Math.max(length, 1), 20))}'`;
  };
  // What the grammar wants next, from where the reading stopped.
  const expected = (): string => {
    const top = stack.at(-1);
    if (!top) return root === undefined ? ", expected a value" : " after the end of the JSON value";
    if (top.kind === "array") return top.expectItem ? ", expected a value" : ", expected ',' or ']' after an array item";
    if (top.key !== undefined) return prevToken === ":" ? ", expected a value" : ", expected ':' after a property name";
    return prevToken === "{" || prevToken === "," ? ", expected a property name in double quotes" : ", expected ',' or '}' after a property value";
  };
  // Scanner errors point at the start of the string; point at the offending character inside it instead.
  const inString = (offset: number, length: number, bad: RegExp): [number, string] => {
    const m = bad.exec(src.slice(offset, offset + length));
    return m ? [offset + m.index, m[0]] : [offset, ""];
  };

  const syntaxError = (code: ParseErrorCode, offset: number, length: number): SettingsError => {
    switch (code) {
      case ParseErrorCode.InvalidCommentToken:
      case ParseErrorCode.UnexpectedEndOfComment:
        return fail("comments are not allowed in JSON", offset);
      case ParseErrorCode.InvalidNumberFormat:
      case ParseErrorCode.UnexpectedEndOfNumber:
        return fail(`invalid number ${describe(offset, length)}`, offset);
      case ParseErrorCode.UnexpectedEndOfString:
        return offset + length < src.length
          ? fail("unterminated string (line break inside a string)", offset + length)
          : fail("unterminated string", offset);
      case ParseErrorCode.InvalidUnicode:
        return fail("invalid \\u escape, expected 4 hex digits", inString(offset, length, /\\u(?![0-9A-Fa-f]{4})/)[0]);
      case ParseErrorCode.InvalidEscapeCharacter: {
        const [at, escape] = inString(offset, length, /\\[^"\\/bfnrtu]/);
        return fail(`invalid escape '${escape}' in string`, at);
      }
      case ParseErrorCode.InvalidCharacter:
        return fail("control character inside a string; escape it", inString(offset, length, /[\u0000-\u001f]/)[0]);
    }
    // The rest (InvalidSymbol, ValueExpected, PropertyNameExpected, ColonExpected, CommaExpected,
    // EndOfFileExpected, ...) is an unexpected token; the container's closing bracket right after a comma
    // is a trailing comma.
    const top = stack.at(-1);
    if (top && prevToken === "," && src[offset] === (top.kind === "array" ? "]" : "}"))
      return fail(`trailing comma before '${src[offset]}'`, offset, top.path);
    return fail(`unexpected ${describe(offset, length)}${expected()}`, offset);
  };

  visit(
    src,
    {
      onObjectBegin: (offset) => open(offset, { kind: "object", path: where(), value: {}, key: undefined }),
      onArrayBegin: (offset) => open(offset, { kind: "array", path: where(), value: [], expectItem: true }),
      onObjectEnd: (offset) => close(offset, "}"),
      onArrayEnd: (offset) => close(offset, "]"),
      onObjectProperty: (key, offset) => {
        seen(offset);
        const top = stack.at(-1);
        if (top?.kind !== "object") throw fail("unexpected property name", offset); // cannot happen
        const keyPath = joinPath(top.path, key);
        if (key === "__proto__") throw fail("'__proto__' is not allowed as a property name", offset, keyPath);
        // A duplicate would silently replace the first value (a whole deny list, say); refuse instead.
        if (Object.hasOwn(top.value, key)) throw fail(`duplicate property ${JSON.stringify(key)}`, offset, keyPath);
        top.key = key;
      },
      onLiteralValue: (value: unknown, offset) => {
        seen(offset);
        add(value, offset);
      },
      onSeparator: (sep, offset) => {
        seen(offset);
        const top = stack.at(-1);
        if (sep === "," && top?.kind === "array") top.expectItem = true;
      },
      onError: (code, offset, length) => {
        throw syntaxError(code, offset, length);
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  );
  return root;
}
