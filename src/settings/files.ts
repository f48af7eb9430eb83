// Finding and reading the settings files of every layer, in precedence order. The parsing is
// passed in, so that this part needs no schema library: the hook's fast path (fast-load.ts) reads
// the same files with the same rules and only skips re-validating texts validated before.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SettingsError } from "./errors.js";
import { settingsFiles } from "./paths.js";
import type { ManagedMcp, SettingsLayer } from "./resolve.js";
import type { Settings } from "./schema.js";

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

export interface LayerParsers {
  settings(text: string, file: string): Settings;
  managedMcp(text: string, file: string): ManagedMcp["servers"];
}

/** Reads every layer that exists, highest precedence first, without merging. */
export function readSettingsLayers(opts: LoadOptions, parse: LayerParsers): LoadedLayers {
  const paths = settingsFiles({ cwd: opts.cwd, env: opts.env });
  // Absolute paths everywhere, so every Source names a file that can be opened from anywhere.
  const abs = (p: string) => resolve(opts.cwd, p);
  const layers: SettingsLayer[] = [];
  const warnings: string[] = [];
  const optional = (layer: SettingsLayer["layer"], file: string) => {
    const text = readText(file);
    if (text !== undefined) layers.push({ layer, file, settings: parse.settings(text, file) });
  };

  // managed-settings.json is the base; drop-ins are applied on top in name order, so the last one
  // has the highest precedence (the systemd drop-in convention, as Claude Code does it).
  const managedFiles = [abs(paths.managed), ...dropIns(abs(paths.managedDropIns), warnings)];
  for (const file of managedFiles.reverse()) optional("managed", file);

  for (const file of (opts.cliFiles ?? []).map(abs).reverse()) {
    const text = readText(file);
    if (text === undefined) throw new SettingsError(file, "", "file not found (given with --settings)");
    layers.push({ layer: "cli", file, settings: parse.settings(text, file) });
  }
  optional("local", abs(paths.local));
  optional("project", abs(paths.project));
  optional("user", abs(paths.user));

  const result: LoadedLayers = { layers, warnings };
  const mcpFile = abs(paths.managedMcp);
  const mcpText = readText(mcpFile);
  if (mcpText !== undefined) result.managedMcp = { file: mcpFile, servers: parse.managedMcp(mcpText, mcpFile) };
  return result;
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
export function readText(file: string): string | undefined {
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

