// `mcp-warden keys create|list|revoke`: static API keys for agents and CI in remote mode. A key is
// made from the CSPRNG, printed once, and only its SHA-256 goes into remote.auth.apiKeys of a
// settings file (default: the user's), written with the validated, backed-up editing of settings-edit.ts.
import { resolve } from "node:path";
import { generateApiKey, hashApiKey } from "../auth/api-keys.js";
import { settingsFiles } from "../settings/paths.js";
import { isRepositorySettingsFile } from "../settings/trust.js";
import { EditError, isObject, readJsonDocument, validateSettingsData, writeJsonDocument, type JsonObject } from "./settings-edit.js";
import { formatTable } from "./status.js";

export interface KeysOptions {
  /** The settings file to read or change (default: the user settings file). */
  file?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface KeysCreateOptions extends KeysOptions {
  name: string;
  subject?: string;
  groups?: string;
  scopes?: string;
  org?: string;
  expires?: string;
  now?: Date;
}

const KEY_NAME = /^[A-Za-z0-9_.-]+$/;

type Streams = { out: NodeJS.WritableStream; err: NodeJS.WritableStream };

export function keysCreateCommand(opts: KeysCreateOptions, { out, err }: Streams): number {
  return reportErrors("create", err, () => {
    checkName(opts.name);
    const now = opts.now ?? new Date();
    let expires: string | undefined;
    if (opts.expires !== undefined) {
      const t = Date.parse(opts.expires);
      if (Number.isNaN(t)) throw new EditError(`--expires ${JSON.stringify(opts.expires)} is not a date; give an ISO 8601 time such as 2027-01-31T00:00:00Z`, 2);
      if (t <= now.getTime()) throw new EditError(`--expires ${opts.expires} is in the past; give a later time`, 2);
      expires = new Date(t).toISOString();
    }
    const file = targetFile(opts);
    const doc = readJsonDocument(file, opts.env);
    const data = structuredClone(doc.data);
    const keys = apiKeysOf(data, true)!;
    if (Object.hasOwn(keys, opts.name)) throw new EditError(`a key named ${opts.name} already exists in ${file}; choose another name, or \`mcp-warden keys revoke ${opts.name}\` first`, 2);
    const key = generateApiKey();
    const groups = list(opts.groups);
    const scopes = list(opts.scopes);
    keys[opts.name] = {
      hash: hashApiKey(key),
      ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
      ...(groups.length ? { groups } : {}),
      ...(opts.org !== undefined ? { org: opts.org } : {}),
      ...(scopes.length ? { scopes } : {}),
      ...(expires !== undefined ? { expires } : {}),
    };
    writeJsonDocument(doc, data, validateSettingsData, now, opts.env);
    out.write(
      `${key}\n` +
        `This key will not be shown again: store it now (${file} keeps only its SHA-256).\n` +
        `Clients send it as the HTTP header  Authorization: Bearer <the key above>\n` +
        `It authenticates as ${opts.subject ?? `apikey:${opts.name}`}${expires ? ` until ${expires}` : ""}; revoke it with \`mcp-warden keys revoke ${opts.name}\`.\n`,
    );
    return 0;
  });
}

export function keysListCommand(opts: KeysOptions & { json?: boolean }, { out, err }: Streams): number {
  return reportErrors("list", err, () => {
    const file = targetFile(opts, false);
    const keys = apiKeysOf(readJsonDocument(file, opts.env).data, false) ?? {};
    const rows = Object.entries(keys).map(([name, e]) => {
      const entry = isObject(e) ? e : {};
      return {
        name,
        subject: typeof entry.subject === "string" ? entry.subject : `apikey:${name}`,
        ...(typeof entry.expires === "string" ? { expires: entry.expires } : {}),
        ...(Array.isArray(entry.groups) ? { groups: entry.groups as string[] } : {}),
        ...(Array.isArray(entry.scopes) ? { scopes: entry.scopes as string[] } : {}),
        ...(typeof entry.org === "string" ? { org: entry.org } : {}),
      };
    });
    if (opts.json) out.write(JSON.stringify({ file, keys: rows }, null, 2) + "\n");
    else if (rows.length === 0) out.write(`no API keys in ${file} (create one with \`mcp-warden keys create NAME\`)\n`);
    else out.write(formatTable(["NAME", "SUBJECT", "EXPIRES", "GROUPS", "SCOPES"], rows.map((r) => [r.name, r.subject, r.expires ?? "never", (r.groups ?? []).join(","), (r.scopes ?? []).join(",")])));
    return 0;
  });
}

export function keysRevokeCommand(opts: KeysOptions & { name: string; now?: Date }, { out, err }: Streams): number {
  return reportErrors("revoke", err, () => {
    checkName(opts.name);
    const file = targetFile(opts);
    const doc = readJsonDocument(file, opts.env);
    const data = structuredClone(doc.data);
    const keys = apiKeysOf(data, false);
    if (!keys || !Object.hasOwn(keys, opts.name)) throw new EditError(`no key named ${opts.name} in ${file} (\`mcp-warden keys list\` shows the names)`, 2);
    delete keys[opts.name];
    writeJsonDocument(doc, data, validateSettingsData, opts.now ?? new Date(), opts.env);
    out.write(`revoked ${opts.name}: \`mcp-warden serve\` refuses it from its next start (restart a running one now).\n`);
    return 0;
  });
}

function checkName(name: string): void {
  if (!KEY_NAME.test(name)) throw new EditError(`a key name is letters, digits, '.', '-' and '_' (got ${JSON.stringify(name)})`, 2);
}

/** The file to change; a repository's settings are refused, since remote.auth is never read from them. */
function targetFile(opts: KeysOptions, forWriting = true): string {
  const file = opts.file !== undefined ? resolve(opts.cwd, opts.file) : settingsFiles({ cwd: opts.cwd, env: opts.env }).user;
  if (forWriting && isRepositorySettingsFile(file))
    throw new EditError(`${file} is a project's settings file, and API keys there are ignored (remote.auth is read only from user, managed and --settings files); give another --settings FILE`, 2);
  return file;
}

/** `data.remote.auth.apiKeys`, made when `create`; undefined when absent and not made. Throws when a level is not an object. */
function apiKeysOf(data: JsonObject, create: boolean): JsonObject | undefined {
  let node: JsonObject = data;
  for (const key of ["remote", "auth", "apiKeys"]) {
    const next = node[key];
    if (next === undefined) {
      if (!create) return undefined;
      node[key] = {};
    } else if (!isObject(next)) throw new EditError(`${key} in the settings file is not a JSON object; fix the file first`, 2);
    node = node[key] as JsonObject;
  }
  return node;
}

function list(csv: string | undefined): string[] {
  return (csv ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function reportErrors(command: string, err: NodeJS.WritableStream, run: () => number): number {
  try {
    return run();
  } catch (e) {
    if (e instanceof EditError) {
      err.write(`mcp-warden keys ${command}: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
