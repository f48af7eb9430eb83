// Writing one settings file safely, for the commands that change settings (`servers`, `init`).
// A write never leaves a half-written or invalid file behind: the new content is validated first,
// written to a temporary file in the same directory and renamed over the old one, and the old
// content is kept as `<file>.bak-<timestamp>`. Backups and new files are mode 0600 because
// server `env` and `headers` values in them are secrets.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseJson, parseSettingsObject, settingsFiles, SettingsError, type PathEnv } from "../settings/index.js";
import { isRepositorySettingsFile, isTrustedDigest, readTrustStore, recordTrust, sha256Hex } from "../settings/trust.js";

/** The layers a person can edit from the command line (the `--layer` choices). */
export const EDITABLE_LAYERS = ["managed", "local", "project", "user"] as const;
export type EditableLayer = (typeof EDITABLE_LAYERS)[number];

export function isEditableLayer(s: string): s is EditableLayer {
  return (EDITABLE_LAYERS as readonly string[]).includes(s);
}

/** The settings file of a layer (for `managed`, the base file, not a drop-in). */
export function layerFile(layer: EditableLayer, p: PathEnv): string {
  return settingsFiles(p)[layer];
}

/** A failure the caller reports as one line and turns into an exit code. */
export class EditError extends Error {
  override name = "EditError";
  constructor(
    message: string,
    /** 1: could not do it (I/O, permissions); 2: the request or the settings are wrong. */
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

export type JsonObject = Record<string, unknown>;

export interface JsonDocument {
  /** The path as given. */
  file: string;
  exists: boolean;
  /** Previous content, exactly as read (for the backup); undefined when the file does not exist. */
  text?: string;
  /** Hex SHA-256 of the previous content's bytes (to tell whether the user trusted it). */
  sha256?: string;
  /** Project and local settings files: the user trusted the content read (`mcp-warden trust`). */
  trusted?: boolean;
  /** Parsed content; `{}` for a missing file. */
  data: JsonObject;
  /** Indentation to write back with, taken from the file so a rewrite only changes what changed. */
  indent: string;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads a JSON object file with the settings parser (strict: duplicate keys are refused). */
export function readJsonDocument(file: string, env: NodeJS.ProcessEnv = process.env): JsonDocument {
  let text: string;
  let sha256: string;
  try {
    const bytes = readFileSync(file);
    sha256 = sha256Hex(bytes);
    text = bytes.toString("utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { file, exists: false, data: {}, indent: "  " };
    throw new EditError(`cannot read ${file}: ${describeIoError(err)}`, 1);
  }
  let data: unknown;
  try {
    data = parseJson(text, file);
  } catch (err) {
    if (err instanceof SettingsError) throw new EditError(err.message, 2);
    throw err;
  }
  if (!isObject(data)) throw new EditError(`${file}: expected a JSON object at the top level`, 2);
  const doc: JsonDocument = { file, exists: true, text, sha256, data, indent: detectIndent(text) };
  if (isRepositorySettingsFile(file)) doc.trusted = isTrustedDigest(readTrustStore(env).store, file, sha256);
  return doc;
}

/** The indentation of the first indented line; two spaces when there is none. */
export function detectIndent(text: string): string {
  const m = /^([ \t]+)\S/m.exec(text);
  return m?.[1] ?? "  ";
}

/** Throws EditError (exit 2) unless `data` is a valid settings file, so we never write one that fails to load. */
export function validateSettingsData(file: string, data: JsonObject): void {
  try {
    parseSettingsObject(data, file);
  } catch (err) {
    if (err instanceof SettingsError) throw new EditError(`the change would make ${file} invalid, so nothing was written:\n${err.message}`, 2);
    throw err;
  }
}

export interface WriteResult {
  /** Where the previous content was saved; undefined when the file is new. */
  backup?: string;
  /** The file actually written (the target of a symlink). */
  written: string;
  /**
   * Project and local settings files only: "kept" when the file was trusted (or new) and its new
   * content is trusted too; "untrusted" when it was not trusted before (it stays untrusted).
   */
  trust?: "kept" | "untrusted";
  /** One sentence about trust for the user, when there is something to say. */
  trustNote?: string;
}

/**
 * Replaces `doc.file` with `data` (serialized with the document's indentation), keeping a backup.
 * `validate` runs first and may throw; nothing is written then.
 */
export function writeJsonDocument(
  doc: JsonDocument,
  data: JsonObject,
  validate?: (file: string, data: JsonObject) => void,
  now = new Date(),
  env: NodeJS.ProcessEnv = process.env,
): WriteResult {
  validate?.(doc.file, data);
  const text = JSON.stringify(data, null, doc.indent) + "\n";
  // A change mcp-warden makes itself keeps a trusted (or new) project or local file trusted; an
  // untrusted one stays untrusted: editing it must not vouch for what the repository wrote in it.
  const repository = isRepositorySettingsFile(doc.file);
  const wasTrusted = repository && (!doc.exists || doc.trusted === true);
  // Write through a symlink (dotfile managers link settings files) rather than replacing the link.
  const target = doc.exists ? realTarget(doc.file) : doc.file;
  const dir = dirname(target);
  try {
    if (!doc.exists) mkdirSync(dir, { recursive: true });
    let backup: string | undefined;
    if (doc.exists && doc.text !== undefined) backup = writeBackup(target, doc.text, now);
    replaceFile(target, text);
    const result: WriteResult = { written: target };
    if (backup !== undefined) result.backup = backup;
    if (repository) keepTrust(result, doc.file, text, wasTrusted, env, now);
    return result;
  } catch (err) {
    throw new EditError(`cannot write ${target}: ${describeIoError(err)}`, 1);
  }
}

function keepTrust(result: WriteResult, file: string, text: string, wasTrusted: boolean, env: NodeJS.ProcessEnv, now: Date): void {
  const project = dirname(dirname(resolve(file)));
  if (!wasTrusted) {
    result.trust = "untrusted";
    result.trustNote = `${file} is not trusted, so it stays untrusted and may only tighten your policy (an allow rule in it has no effect); review it and run \`mcp-warden trust\` in ${project} to trust it`;
    return;
  }
  try {
    recordTrust(env, [{ file, bytes: text }], now);
    result.trust = "kept";
  } catch (err) {
    result.trust = "untrusted";
    result.trustNote = `${file} was written, but its trust could not be recorded (${describeIoError(err)}); run \`mcp-warden trust\` in ${project}`;
  }
}

/**
 * Puts a document's previous content back, byte for byte, or removes a file that did not exist (after
 * a change that turned out wrong); a file that was trusted is trusted again with its old content.
 */
export function restoreJsonDocument(doc: JsonDocument, env: NodeJS.ProcessEnv = process.env): void {
  try {
    if (!doc.exists || doc.text === undefined) rmSync(doc.file, { force: true });
    else replaceFile(realTarget(doc.file), doc.text);
    if (doc.exists && doc.trusted === true && doc.sha256 !== undefined) recordTrust(env, [{ file: doc.file, sha256: doc.sha256 }]);
  } catch (err) {
    throw new EditError(`cannot restore ${doc.file}: ${describeIoError(err)}`, 1);
  }
}

/** Atomic replace: a reader sees the old or the new content, never a mix. */
function replaceFile(target: string, text: string): void {
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeNewFile(tmp, text);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function realTarget(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** `<file>.bak-<UTC timestamp>`; never overwrites an earlier backup. */
function writeBackup(file: string, text: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  for (let n = 0; ; n++) {
    const name = `${file}.bak-${stamp}${n ? `-${n}` : ""}`;
    try {
      writeNewFile(name, text);
      return name;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || n > 100) throw err;
    }
  }
}

/** Creates `file` exclusively with mode 0600 and flushes it to disk before it is renamed into place. */
function writeNewFile(file: string, text: string): void {
  const fd = openSync(file, "wx", 0o600);
  try {
    const bytes = Buffer.from(text, "utf8");
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EROFS") return "read-only file system";
  if (code === "ENOSPC") return "no space left on device";
  if (code === "EISDIR") return "is a directory";
  if (code === "ENOTDIR") return "a parent of this path is not a directory";
  return err instanceof Error ? err.message : String(err);
}

/** Deep equality of JSON values (key order ignored), to tell "same definition" from "clash". */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}
