// Which project and local settings files the user trusts: `<stateDir>/trust.json`, written by
// `mcp-warden trust` (and by mcp-warden's own edits of files that were trusted before). A record
// holds the SHA-256 of the file's exact bytes, so changing one byte makes the file untrusted again,
// and the real path of the project it was trusted in, so a repository cannot borrow the trust of
// another project's file by committing a symlink to it.
//
// Read strictly: a store that is corrupt or of an unknown version trusts nothing (with a warning),
// never crashes and never trusts by accident.
import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ensurePrivateDir, writeFileAtomic } from "../adapters/safe-files.js";
import { stateDir } from "./paths.js";

export interface TrustRecord {
  /** Hex SHA-256 of the file's exact bytes when it was trusted. */
  sha256: string;
  /** ISO time. */
  trustedAt: string;
  /** Real path of the directory holding `.mcp-warden/` the file was trusted in. */
  project: string;
}

export interface TrustStore {
  version: 1;
  /** By the real path of the settings file. */
  files: Record<string, TrustRecord>;
}

export function trustStoreFile(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), "trust.json");
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const emptyStore = (): TrustStore => ({ version: 1, files: Object.create(null) as Record<string, TrustRecord> });

/** The store, or an empty one (with a warning when the file exists but cannot be used). */
export function readTrustStore(env: NodeJS.ProcessEnv): { store: TrustStore; warning?: string } {
  const file = trustStoreFile(env);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { store: emptyStore() };
    return { store: emptyStore(), warning: unusable(file, `cannot be read: ${(err as Error).message}`) };
  }
  const problem = (why: string) => ({ store: emptyStore(), warning: unusable(file, why) });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return problem("it is not valid JSON");
  }
  if (!isPlainObject(raw)) return problem("expected a JSON object");
  if (raw.version !== 1) return problem(`unknown version ${JSON.stringify(raw.version)} (this mcp-warden reads version 1)`);
  if (!isPlainObject(raw.files)) return problem("'files' is not an object");
  const store = emptyStore();
  for (const [key, rec] of Object.entries(raw.files)) {
    if (!key.startsWith("/")) return problem(`the key ${JSON.stringify(key)} is not an absolute path`);
    if (!isPlainObject(rec) || typeof rec.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(rec.sha256) || typeof rec.trustedAt !== "string" || typeof rec.project !== "string")
      return problem(`the record for ${JSON.stringify(key)} is malformed`);
    store.files[key] = { sha256: rec.sha256, trustedAt: rec.trustedAt, project: rec.project };
  }
  return { store };
}

function unusable(file: string, why: string): string {
  return `trust store ${file} is not usable (${why}), so no project or local settings are trusted; remove it and run \`mcp-warden trust\` in each project again`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Where a project or local settings file is recorded: the real path of the file, and the real path
 * of the directory holding its `.mcp-warden/`. undefined when either cannot be resolved.
 */
export function trustKey(file: string): { key: string; project: string } | undefined {
  try {
    return { key: realpathSync(file), project: realpathSync(dirname(dirname(resolve(file)))) };
  } catch {
    return undefined;
  }
}

/** True when the store holds a record for this file, in this project, with the digest of exactly these bytes. */
export function isTrusted(store: TrustStore, file: string, bytes: Uint8Array | string): boolean {
  return isTrustedDigest(store, file, sha256Hex(bytes));
}

/** isTrusted, given the hex SHA-256 of the bytes. */
export function isTrustedDigest(store: TrustStore, file: string, sha256: string): boolean {
  const where = trustKey(file);
  if (!where) return false;
  const rec = Object.hasOwn(store.files, where.key) ? store.files[where.key] : undefined;
  return rec !== undefined && rec.project === where.project && rec.sha256 === sha256;
}

/** A project or local settings file (`<dir>/.mcp-warden/settings.json` or `settings.local.json`), which a repository may have written. */
export function isRepositorySettingsFile(file: string): boolean {
  const name = basename(file);
  return basename(dirname(resolve(file))) === ".mcp-warden" && (name === "settings.json" || name === "settings.local.json");
}

/**
 * Records trust for these files with these exact contents: their bytes, or the digest of the bytes
 * the user was shown (so a change made meanwhile is not trusted). Throws on I/O errors.
 */
export function recordTrust(env: NodeJS.ProcessEnv, entries: ({ file: string; bytes: Uint8Array | string } | { file: string; sha256: string })[], now = new Date()): void {
  updateStore(env, (store) => {
    for (const e of entries) {
      const where = trustKey(e.file);
      if (!where) throw new Error(`cannot resolve the real path of ${e.file}`);
      const sha256 = "sha256" in e ? e.sha256 : sha256Hex(e.bytes);
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 digest: ${JSON.stringify(sha256)}`);
      store.files[where.key] = { sha256, trustedAt: now.toISOString(), project: where.project };
    }
  });
}

/** Removes the records of these files (by real path, or as given when they no longer exist); returns the keys removed. */
export function revokeTrust(env: NodeJS.ProcessEnv, files: string[]): string[] {
  const removed: string[] = [];
  updateStore(env, (store) => {
    for (const file of files) {
      const key = trustKey(file)?.key ?? resolve(file);
      if (Object.hasOwn(store.files, key)) {
        delete store.files[key];
        removed.push(key);
      }
    }
  });
  return removed;
}

/** Read, change, write atomically. A store that cannot be used is replaced (its warning was shown when it was read). */
function updateStore(env: NodeJS.ProcessEnv, change: (store: TrustStore) => void): void {
  const { store } = readTrustStore(env);
  change(store);
  const file = trustStoreFile(env);
  ensurePrivateDir(dirname(file));
  const sorted: Record<string, TrustRecord> = {};
  for (const key of Object.keys(store.files).sort()) sorted[key] = store.files[key]!;
  writeFileAtomic(file, JSON.stringify({ version: 1, files: sorted }, null, 2) + "\n");
}
