// Reading settings files: strict JSON, then the schema, then the layers in precedence order.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type * as z from "zod/v4";
import { SettingsError, joinPath, settingsErrorFromZod } from "./errors.js";
import { settingsFiles } from "./paths.js";
import { resolveSettings, type ManagedMcp, type ResolvedSettings, type SettingsLayer } from "./resolve.js";
import { ManagedMcpFile, Settings } from "./schema.js";

export type ManagedMcpSettings = z.infer<typeof ManagedMcpFile>;

export interface LoadOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `--settings FILE` arguments in command-line order; a later file has higher precedence. */
  cliFiles?: string[];
}

export interface LoadedLayers {
  /** Highest precedence first. */
  layers: SettingsLayer[];
  managedMcp?: ManagedMcp;
  warnings: string[];
}

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
  const paths = settingsFiles({ cwd: opts.cwd, env: opts.env });
  // Absolute paths everywhere, so every Source names a file that can be opened from anywhere.
  const abs = (p: string) => resolve(opts.cwd, p);
  const layers: SettingsLayer[] = [];
  const warnings: string[] = [];
  const optional = (layer: SettingsLayer["layer"], file: string) => {
    const text = readText(file);
    if (text !== undefined) layers.push({ layer, file, settings: parseSettingsText(text, file) });
  };

  // managed-settings.json is the base; drop-ins are applied on top in name order, so the last one
  // has the highest precedence (the systemd drop-in convention, as Claude Code does it).
  const managedFiles = [abs(paths.managed), ...dropIns(abs(paths.managedDropIns), warnings)];
  for (const file of managedFiles.reverse()) optional("managed", file);

  for (const file of (opts.cliFiles ?? []).map(abs).reverse()) {
    const text = readText(file);
    if (text === undefined) throw new SettingsError(file, "", "file not found (given with --settings)");
    layers.push({ layer: "cli", file, settings: parseSettingsText(text, file) });
  }
  optional("local", abs(paths.local));
  optional("project", abs(paths.project));
  optional("user", abs(paths.user));

  const result: LoadedLayers = { layers, warnings };
  const mcpFile = abs(paths.managedMcp);
  const mcpText = readText(mcpFile);
  if (mcpText !== undefined) result.managedMcp = { file: mcpFile, servers: parseManagedMcpText(mcpText, mcpFile).mcpServers };
  return result;
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

/** The `*.json` files of the drop-in directory, sorted by name (code-unit order, independent of locale). */
function dropIns(dir: string, warnings: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (errCode(err) === "ENOENT") return [];
    throw ioError(dir, err);
  }
  const files: string[] = [];
  for (const name of names.filter((n) => n.endsWith(".json")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name.startsWith(".")) {
      // Hidden files are skipped by the drop-in convention; said out loud so it is no surprise.
      warnings.push(`${join(dir, name)}: hidden file in managed-settings.d ignored`);
      continue;
    }
    files.push(join(dir, name));
  }
  return files;
}

/** The file's text, or undefined when it does not exist. Any other failure is an error: unreadable is not absent. */
function readText(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if (errCode(err) === "ENOENT") return undefined;
    throw ioError(file, err);
  }
  try {
    // Fatal decoding: invalid UTF-8 must not be turned into U+FFFD and then matched against rules.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new SettingsError(file, "", "not valid UTF-8");
  }
}

function errCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

function ioError(file: string, err: unknown): SettingsError {
  const code = errCode(err);
  const what =
    code === "EISDIR" ? "is a directory, expected a file" :
    code === "ENOTDIR" ? "a parent of this path is not a directory" :
    code === "EACCES" || code === "EPERM" ? "cannot be read: permission denied" :
    `cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  return new SettingsError(file, "", what);
}

// JSON.parse keeps a `__proto__` key as an own property, and zod drops it from records without a word;
// our own parser refuses it, and so must the path for objects parsed elsewhere.
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
// A strict JSON parser. JSON.parse is not enough here: its messages carry no line:column on Node 20,
// and it silently keeps the last of two duplicate keys, so `"deny": [...], "deny": []` would quietly
// drop rules. This parser rejects duplicates and `__proto__` keys, and says where every error is.

const MAX_DEPTH = 64;

export function parseJson(text: string, file: string): unknown {
  // A UTF-8 byte order mark is an editor artifact, not content.
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (src.trim() === "") throw new SettingsError(file, "", "the file is empty; write {} for no settings");
  let pos = 0;

  const fail = (what: string, at = pos, path = ""): SettingsError => {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < src.length; i++)
      if (src.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    return new SettingsError(file, path, `JSON syntax error: ${what}`, { line, column: at - lineStart + 1 });
  };
  const describe = (i: number) => (i >= src.length ? "end of file" : `'${src[i]}'`);
  const skipSpace = () => {
    for (;;) {
      const c = src[pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") pos++;
      else if (c === "/" && (src[pos + 1] === "/" || src[pos + 1] === "*")) throw fail("comments are not allowed in JSON");
      else return;
    }
  };

  const parseValue = (path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw fail(`nested deeper than ${MAX_DEPTH} levels`, pos, path);
    skipSpace();
    const c = src[pos];
    if (c === "{") return parseObject(path, depth);
    if (c === "[") return parseArray(path, depth);
    if (c === '"') return parseString(path);
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return parseNumber(path);
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const)
      if (src.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    throw fail(`unexpected ${describe(pos)}, expected a value`, pos, path);
  };

  const parseObject = (path: string, depth: number): Record<string, unknown> => {
    const obj: Record<string, unknown> = {};
    const keyAt = new Map<string, number>();
    pos++; // {
    skipSpace();
    if (src[pos] === "}") {
      pos++;
      return obj;
    }
    for (;;) {
      skipSpace();
      if (src[pos] !== '"')
        throw fail(src[pos] === "}" ? "trailing comma before '}'" : `unexpected ${describe(pos)}, expected a property name in double quotes`, pos, path);
      const keyPos = pos;
      const key = parseString(path);
      const keyPath = joinPath(path, key);
      if (key === "__proto__") throw fail("'__proto__' is not allowed as a property name", keyPos, keyPath);
      // A duplicate would silently replace the first value (a whole deny list, say); refuse instead.
      if (keyAt.has(key)) throw fail(`duplicate property ${JSON.stringify(key)}`, keyPos, keyPath);
      keyAt.set(key, keyPos);
      skipSpace();
      if (src[pos] !== ":") throw fail(`unexpected ${describe(pos)}, expected ':' after a property name`, pos, keyPath);
      pos++;
      obj[key] = parseValue(keyPath, depth + 1);
      skipSpace();
      if (src[pos] === ",") {
        pos++;
        continue;
      }
      if (src[pos] === "}") {
        pos++;
        return obj;
      }
      throw fail(`unexpected ${describe(pos)}, expected ',' or '}' after a property value`, pos, path);
    }
  };

  const parseArray = (path: string, depth: number): unknown[] => {
    const arr: unknown[] = [];
    pos++; // [
    skipSpace();
    if (src[pos] === "]") {
      pos++;
      return arr;
    }
    for (;;) {
      skipSpace();
      if (src[pos] === "]") throw fail("trailing comma before ']'", pos, path);
      arr.push(parseValue(joinPath(path, arr.length), depth + 1));
      skipSpace();
      if (src[pos] === ",") {
        pos++;
        continue;
      }
      if (src[pos] === "]") {
        pos++;
        return arr;
      }
      throw fail(`unexpected ${describe(pos)}, expected ',' or ']' after an array item`, pos, path);
    }
  };

  const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
  const parseString = (path: string): string => {
    const start = pos;
    pos++; // opening quote
    let out = "";
    for (;;) {
      const c = src[pos];
      if (c === undefined) throw fail("unterminated string", start, path);
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === "\\") {
        const e = src[pos + 1];
        if (e === "u") {
          const hex = src.slice(pos + 2, pos + 6);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw fail("invalid \\u escape, expected 4 hex digits", pos, path);
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          pos += 2;
        } else throw fail(`invalid escape '\\${e ?? ""}' in string`, pos, path);
      } else if (c.charCodeAt(0) < 0x20) {
        throw fail(c === "\n" ? "unterminated string (line break inside a string)" : "control character inside a string; escape it", pos, path);
      } else {
        out += c;
        pos++;
      }
    }
  };

  const parseNumber = (path: string): number => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(src.slice(pos, pos + 400));
    if (!m) throw fail(`invalid number`, pos, path);
    const next = src[pos + m[0].length];
    if (next !== undefined && /[0-9.eE+\-A-Za-z]/.test(next)) throw fail(`invalid number`, pos, path);
    pos += m[0].length;
    return Number(m[0]);
  };

  const value = parseValue("", 0);
  skipSpace();
  if (pos < src.length) throw fail(`unexpected ${describe(pos)} after the end of the JSON value`);
  return value;
}
