// Finding and reading the settings files of every layer, in precedence order. The parsing is
// passed in, so that this part needs no schema library: the hook's fast path (fast-load.ts) reads
// the same files with the same rules and only skips re-validating texts validated before.
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { SettingsError } from "./errors.js";
import { homeDir, settingsFiles } from "./paths.js";
import type { ManagedMcp, SettingsLayer } from "./resolve.js";
import type { Settings } from "./schema.js";
import { isTrustedDigest, readTrustStore, sha256Hex, type TrustStore } from "./trust.js";

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
  const read = (layer: SettingsLayer["layer"], file: string, bytes: Buffer): SettingsLayer => ({
    layer,
    file,
    settings: parse.settings(decode(bytes, file), file),
    sha256: sha256Hex(bytes),
  });
  const optional = (layer: SettingsLayer["layer"], file: string) => {
    const bytes = readBytes(file);
    if (bytes !== undefined) layers.push(read(layer, file, bytes));
  };
  // Project and local settings may come from a repository: they carry whether the user trusts this
  // exact content, and the real paths the merge needs (resolveSettings itself does no I/O).
  let store: TrustStore | undefined;
  const repository = (layer: "local" | "project", file: string) => {
    const bytes = readBytes(file);
    if (bytes === undefined) return;
    const l = read(layer, file, bytes);
    if (store === undefined) {
      const t = readTrustStore(opts.env);
      store = t.store;
      if (t.warning) warnings.push(t.warning);
    }
    l.trusted = isTrustedDigest(store, file, l.sha256!);
    const root = realPath(opts.cwd);
    if (root !== undefined) l.projectRoot = root;
    if (!l.trusted && root !== undefined) l.realDirectories = realDirectories(l.settings.permissions?.additionalDirectories ?? [], root, opts.env);
    layers.push(l);
  };

  // managed-settings.json is the base; drop-ins are applied on top in name order, so the last one
  // has the highest precedence (the systemd drop-in convention, as Claude Code does it).
  const managedFiles = [abs(paths.managed), ...dropIns(abs(paths.managedDropIns), warnings)];
  for (const file of managedFiles.reverse()) optional("managed", file);

  for (const file of (opts.cliFiles ?? []).map(abs).reverse()) {
    const bytes = readBytes(file);
    if (bytes === undefined) throw new SettingsError(file, "", "file not found (given with --settings)");
    layers.push(read("cli", file, bytes));
  }
  repository("local", abs(paths.local));
  repository("project", abs(paths.project));
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

/** The real path of each directory that resolves (`~` is the home directory, a relative path is taken from the project root). */
function realDirectories(entries: string[], root: string, env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of entries) {
    if (typeof d !== "string" || d === "") continue;
    const full = d === "~" || d.startsWith("~/") ? join(homeDir(env), d.slice(1)) : isAbsolute(d) ? d : resolve(root, d);
    const real = realPath(full);
    if (real !== undefined) out.set(d, real);
  }
  return out;
}

function realPath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** The file's text, or undefined when it does not exist. Any other failure is an error: unreadable is not absent. */
export function readText(file: string): string | undefined {
  const bytes = readBytes(file);
  return bytes === undefined ? undefined : decode(bytes, file);
}

/** The file's bytes, or undefined when it does not exist. Any other failure is an error. */
export function readBytes(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if (errCode(err) === "ENOENT") return undefined;
    throw ioError(file, err);
  }
}

function decode(bytes: Buffer, file: string): string {
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

