// Server identity: what a server's approval is bound to (issue 11: approval keyed by name, layer and
// launch identity). Pure: no I/O.
//
// Version 2 (`serverIdentity({ name, layer, entry })`) covers:
//   - the server's name and the settings layer that defines it: the same command line under another
//     name, or moved into the project's settings, is another server and needs its own approval;
//   - the launch: command, arguments and cwd, or the URL (WHATWG-canonical: lowercase host, default
//     port dropped; fragment and user:password dropped, since the fragment is never sent and
//     credentials are secrets). The remote transport (http / sse) changes how, not whom, we talk to;
//   - the VALUES of the environment variables that change what code runs (NODE_OPTIONS, LD_PRELOAD,
//     PATH, PYTHONPATH, registries...: isCodeChangingEnvName, shared with the Bash judge), with
//     credentials in URLs removed from them (a registry URL with a token: rotating it is no new code);
//   - only the NAMES of every other variable and of every header: their values may be secrets and the
//     identity is stored in the pin file. A code-changing variable whose name announces a secret
//     (`npm_config__authToken`) configures credentials, not code: its name only.
// Version 1 (`legacyServerIdentity(entry)`) covered the launch fields alone; it is kept to find the
// approvals recorded before version 2 (pin-store adoptLegacy).
import { LAYER_ORDER, type LayerName } from "../types.js";
import { isCodeChangingEnvName } from "../builtin/bash-env.js";
import { isSecretName } from "./secret-names.js";
import { canonicalJson, diffDefinitions, domainDigest, isPlainObject, PinInputError, setOwn, type DefinitionDiff } from "./canonical.js";

export { CODE_LOADING_ENV_NAMES, CODE_LOADING_ENV_PREFIXES, isCodeChangingEnvName } from "../builtin/bash-env.js";

const IDENTITY_V1 = "mcp-warden/server-identity/v1";
const IDENTITY_V2 = "mcp-warden/server-identity/v2";

/** A server entry after ${VAR} expansion (settings ServerEntry; other fields are ignored). */
export interface ServerEntryLike {
  type?: string;
  command?: string;
  args?: string[];
  cwd?: string;
  url?: string;
  env?: Record<string, string>;
  headers?: Record<string, string>;
  /** Remote mode's token exchange: where callers' tokens and the gateway's client secret are sent. */
  tokenExchange?: TokenExchangeIdentity;
}

/** A token exchange as approved: every field (the secret's variable NAME, never its value). */
export interface TokenExchangeIdentity {
  clientId: string;
  clientSecretEnv: string;
  audience?: string;
  resource?: string;
  scope?: string;
  tokenEndpoint?: string;
}

/** A version 1 identity: the launch fields alone (no version field). */
export interface LegacyServerIdentity {
  version?: undefined;
  kind: "stdio" | "remote";
  command?: string;
  args?: string[];
  cwd?: string;
  url?: string;
  /** "sha256:<hex>" of the other fields. */
  digest: string;
}

export interface ServerIdentity {
  version: 2;
  name: string;
  layer: LayerName;
  kind: "stdio" | "remote";
  command?: string;
  args?: string[];
  cwd?: string;
  url?: string;
  /** The code-changing variables the entry sets, with their values (credentials in URLs removed). */
  env: Record<string, string>;
  /** The names of every other variable the entry sets, sorted. Never their values. */
  envNames: string[];
  /** The names of the entry's headers, lower case, sorted. Never their values. */
  headerNames: string[];
  /** The host variables `${VAR}` expansion filled each field from, by field path (names only); absent when none. */
  variables?: Record<string, string[]>;
  /**
   * Where the gateway trades callers' tokens (and sends its client secret, from the variable named
   * here); absent when the server has no token exchange, so earlier approvals keep their digest.
   */
  tokenExchange?: TokenExchangeIdentity;
  /** "sha256:<hex>" of the other fields. */
  digest: string;
}

export type AnyServerIdentity = ServerIdentity | LegacyServerIdentity;

export interface ServerIdentityInput {
  name: string;
  layer: LayerName;
  /** The server entry after ${VAR} expansion. */
  entry: ServerEntryLike;
  /** Which host variables filled which field (settings/expand.ts referencedVariables). */
  variables?: Record<string, string[]>;
}

export function isLegacyIdentity(identity: AnyServerIdentity): identity is LegacyServerIdentity {
  return (identity as { version?: unknown }).version !== 2;
}

/** The version 2 identity of a server (see the top of this file). Throws PinInputError on a bad entry. */
export function serverIdentity(input: ServerIdentityInput): ServerIdentity {
  return identityV2(input);
}

/** The version 1 identity (launch fields only), as recorded before version 2. */
export function legacyServerIdentity(entry: ServerEntryLike): LegacyServerIdentity {
  const fields = launchFields(entry);
  return { ...fields, digest: domainDigest(IDENTITY_V1, canonicalJson(fields)) };
}

function identityV2(input: ServerIdentityInput): ServerIdentity {
  if (typeof input.name !== "string" || input.name === "") throw new PinInputError("a server identity needs a non-empty 'name'");
  if (!LAYER_ORDER.includes(input.layer)) throw new PinInputError(`unknown settings layer ${JSON.stringify(input.layer)}`);
  const launch = launchFields(input.entry);
  const { env, envNames } = envFields(input.entry.env);
  const headerNames = headerNameList(input.entry.headers);
  const variables = variableFields(input.variables);
  const tokenExchange = tokenExchangeFields(input.entry.tokenExchange);
  const fields = { version: 2 as const, name: input.name, layer: input.layer, ...launch, env, envNames, headerNames, ...(variables ? { variables } : {}), ...(tokenExchange ? { tokenExchange } : {}) };
  return { ...fields, digest: domainDigest(IDENTITY_V2, canonicalJson(fields)) };
}

function launchFields(entry: ServerEntryLike): Omit<LegacyServerIdentity, "digest"> {
  if (typeof entry !== "object" || entry === null) throw new PinInputError("a server entry must be an object");
  const type = entry.type ?? (entry.url !== undefined && entry.url !== "" ? "http" : "stdio");
  if (type === "stdio") {
    if (typeof entry.command !== "string" || entry.command === "") throw new PinInputError("a stdio server needs a non-empty 'command'");
    const args = entry.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) throw new PinInputError("'args' must be a list of strings");
    if (entry.cwd !== undefined && typeof entry.cwd !== "string") throw new PinInputError("'cwd' must be a string");
    return { kind: "stdio", command: entry.command, args: [...args], ...(entry.cwd !== undefined ? { cwd: entry.cwd } : {}) };
  }
  if (type !== "http" && type !== "streamable-http" && type !== "sse") throw new PinInputError(`unknown server type ${JSON.stringify(type)}`);
  if (typeof entry.url !== "string" || entry.url === "") throw new PinInputError(`a ${type} server needs a 'url'`);
  return { kind: "remote", url: canonicalUrl(entry.url) };
}

function envFields(env: unknown): { env: Record<string, string>; envNames: string[] } {
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  const names: string[] = [];
  if (env === undefined) return { env: {}, envNames: names };
  if (typeof env !== "object" || env === null || Array.isArray(env) || !isPlainObject(env)) throw new PinInputError("'env' must be an object of strings");
  const codeNames: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== "string") throw new PinInputError(`env ${JSON.stringify(name)} must be a string`);
    if (isCodeChangingEnvName(name) && !isSecretName(name)) codeNames.push(name);
    else names.push(name);
  }
  // Sorted, so the stored record reads the same however the settings ordered the entry.
  for (const name of codeNames.sort()) setOwn(values, name, withoutUrlCredentials((env as Record<string, string>)[name]!));
  return { env: { ...values }, envNames: names.sort() };
}

function variableFields(variables: unknown): Record<string, string[]> | undefined {
  if (variables === undefined) return undefined;
  if (typeof variables !== "object" || variables === null || Array.isArray(variables) || !isPlainObject(variables)) throw new PinInputError("'variables' must be an object of name lists");
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const field of Object.keys(variables).sort()) {
    const names = (variables as Record<string, unknown>)[field];
    if (!isStringList(names)) throw new PinInputError(`variables ${JSON.stringify(field)} must be a list of names`);
    if (names.length) setOwn(out, field, [...new Set(names)].sort());
  }
  return Object.keys(out).length ? { ...out } : undefined;
}

const TOKEN_EXCHANGE_FIELDS = ["clientId", "clientSecretEnv", "audience", "resource", "scope", "tokenEndpoint"] as const;

function tokenExchangeFields(x: unknown): TokenExchangeIdentity | undefined {
  if (x === undefined) return undefined;
  if (typeof x !== "object" || x === null || Array.isArray(x) || !isPlainObject(x)) throw new PinInputError("'tokenExchange' must be an object");
  const r = x as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!(TOKEN_EXCHANGE_FIELDS as readonly string[]).includes(k)) throw new PinInputError(`'tokenExchange' has an unknown field ${JSON.stringify(k)}`);
  for (const k of TOKEN_EXCHANGE_FIELDS) if (r[k] !== undefined && typeof r[k] !== "string") throw new PinInputError(`tokenExchange.${k} must be a string`);
  if (typeof r.clientId !== "string" || typeof r.clientSecretEnv !== "string") throw new PinInputError("'tokenExchange' needs clientId and clientSecretEnv");
  const out: Record<string, string> = {};
  for (const k of TOKEN_EXCHANGE_FIELDS) if (typeof r[k] === "string") out[k] = r[k];
  return out as unknown as TokenExchangeIdentity;
}

function headerNameList(headers: unknown): string[] {
  if (headers === undefined) return [];
  if (typeof headers !== "object" || headers === null || Array.isArray(headers) || !isPlainObject(headers)) throw new PinInputError("'headers' must be an object of strings");
  for (const [name, value] of Object.entries(headers)) if (typeof value !== "string") throw new PinInputError(`header ${JSON.stringify(name)} must be a string`);
  // HTTP header names are case-insensitive.
  return [...new Set(Object.keys(headers).map((n) => n.toLowerCase()))].sort();
}

// scheme://user:password@ → scheme://, anywhere in a value (PATH-like lists, option strings).
const URL_CREDENTIALS = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@'"]*@/g;

function withoutUrlCredentials(value: string): string {
  return value.replace(URL_CREDENTIALS, "$1");
}

function canonicalUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new PinInputError(`server url does not parse: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new PinInputError(`server url must be http or https: ${JSON.stringify(raw)}`);
  u.username = "";
  u.password = "";
  u.hash = "";
  return u.href;
}

/** Whether the identity sets a variable that changes what code runs (then no version 1 approval covers it). */
export function setsCodeChangingEnv(identity: ServerIdentity): boolean {
  return Object.keys(identity.env).length > 0;
}

/**
 * An identity read back (from the pin file or a caller) that is exactly what serverIdentity() or
 * legacyServerIdentity() makes of its own fields, digest included; a fresh copy. Throws
 * PinInputError naming the first problem: an unknown field, a value not canonical, a wrong digest.
 */
export function verifyServerIdentity(raw: unknown): AnyServerIdentity {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PinInputError("is not an object");
  const r = raw as Record<string, unknown>;
  const v2 = Object.hasOwn(r, "version");
  if (v2 && r.version !== 2) throw new PinInputError(`has an unknown version ${JSON.stringify(r.version)}`);
  const launch = r.kind === "stdio" ? ["command", "args", "cwd"] : r.kind === "remote" ? ["url"] : undefined;
  if (!launch) throw new PinInputError("has no valid 'kind'");
  const allowed = ["kind", "digest", ...launch, ...(v2 ? ["version", "name", "layer", "env", "envNames", "headerNames", "variables", "tokenExchange"] : [])];
  for (const k of Object.keys(r)) if (!allowed.includes(k)) throw new PinInputError(`has an unknown or misplaced field ${JSON.stringify(k)}`);
  if (r.kind === "stdio" && !Array.isArray(r.args)) throw new PinInputError("has no 'args'");
  const entry: ServerEntryLike =
    r.kind === "stdio"
      ? { type: "stdio", command: r.command as string, args: r.args as string[], ...(r.cwd !== undefined ? { cwd: r.cwd as string } : {}) }
      : { type: "http", url: r.url as string, ...(r.tokenExchange !== undefined ? { tokenExchange: r.tokenExchange as TokenExchangeIdentity } : {}) };
  let fresh: AnyServerIdentity;
  if (v2) {
    if (!isStringRecord(r.env) || !isStringList(r.envNames) || !isStringList(r.headerNames)) throw new PinInputError("has env, envNames or headerNames of the wrong shape");
    // Values of the named-only variables and headers are not part of the identity: any stands in.
    const env: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const n of r.envNames) setOwn(env, n, "");
    for (const [n, value] of Object.entries(r.env)) setOwn(env, n, value);
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const n of r.headerNames) setOwn(headers, n, "");
    fresh = identityV2({ name: r.name as string, layer: r.layer as LayerName, entry: { ...entry, env: { ...env }, headers: { ...headers } }, ...(r.variables !== undefined ? { variables: r.variables as Record<string, string[]> } : {}) });
  } else {
    fresh = legacyServerIdentity(entry);
  }
  if (JSON.stringify(canonicalJson(r)) !== JSON.stringify(canonicalJson(fresh))) {
    if (fresh.digest !== r.digest) throw new PinInputError("digest does not match its fields");
    throw new PinInputError("fields are not in their canonical form");
  }
  return fresh;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
}

/** What changed between an approved launch configuration and the current one (digests left out). */
export function diffIdentities(before: AnyServerIdentity, after: AnyServerIdentity): DefinitionDiff {
  const strip = ({ digest: _d, ...rest }: AnyServerIdentity): Record<string, unknown> => rest;
  return diffDefinitions(strip(before), strip(after));
}
