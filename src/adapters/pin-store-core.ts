// What every pin store shares: the PinStore interface, the server record and its strict reading, and
// the semantics of each change (approve keeps pins, adoptLegacy's rules, pins need an approved
// server...). A store supplies only where records live and how a change is applied atomically
// (RecordStore); pinStoreOver builds the PinStore on it, so the file store (pin-store.ts) and the
// PostgreSQL store (pin-store-postgres.ts) cannot drift apart in what they allow.
import {
  isLegacyIdentity,
  PIN_KINDS,
  PinInputError,
  setsCodeChangingEnv,
  verifyPin,
  verifyServerIdentity,
  type AnyServerIdentity,
  type PinKind,
  type PinnedTool,
  type ServerIdentity,
} from "../policy/integrity/pins.js";

export interface ServerPins {
  /** Version 2 (name, layer, launch, code-changing env values, env and header names), or a version 1 identity. */
  identity: AnyServerIdentity;
  serverName: string;
  approvedAt: string;
  approvedBy?: string;
  /** "migrated": copied by adoptLegacy from the version 1 record `migratedFrom`. */
  note?: string;
  /** The version 1 identity digest this record was copied from. */
  migratedFrom?: string;
  /** Name → pin, one map per kind. Null-prototype objects: a lookup of "constructor" finds nothing. */
  tools: Record<string, PinnedTool>;
  prompts: Record<string, PinnedTool>;
  resourceTemplates: Record<string, PinnedTool>;
}

export interface PinStore {
  getServer(identityDigest: string): Promise<ServerPins | undefined>;
  /** Approves (or re-approves) a launch configuration; pins already recorded under it are kept. */
  approveServer(identity: AnyServerIdentity, serverName: string, by?: string): Promise<void>;
  /**
   * When nothing is recorded under `identity` but a version 1 record under `legacyDigest` has the
   * same server name, copies that record (pins included, approvedBy kept, note "migrated") under the
   * new identity and returns it: an upgrade asks nobody again. Not when the identity sets a
   * code-changing env variable (the old identity never covered it), nor when the old record was only
   * approved on first use and the server now comes from the project or local layer (never trusted on
   * first use). Otherwise undefined.
   */
  adoptLegacy(identity: ServerIdentity, legacyDigest: string): Promise<ServerPins | undefined>;
  /** Adds or replaces these pins of one kind. The server must be approved first. */
  pinItems(identityDigest: string, kind: PinKind, pins: PinnedTool[]): Promise<void>;
  /** pinItems(identityDigest, "tools", tools). */
  pinTools(identityDigest: string, tools: PinnedTool[]): Promise<void>;
  resetServer(identityDigest: string): Promise<void>;
  resetItem(identityDigest: string, kind: PinKind, name: string): Promise<void>;
  /** resetItem(identityDigest, "tools", toolName). */
  resetTool(identityDigest: string, toolName: string): Promise<void>;
  /** Every approved server, by name, then digest. */
  list(): Promise<ServerPins[]>;
  /** Where the pins live, for messages: a file's path, or the PostgreSQL table. */
  readonly where: string;
  /** Releases connections (a no-op for a file). The store is not used afterwards. */
  close(): Promise<void>;
}

export type PinStoreErrorCode = "corrupt" | "version" | "lock-timeout" | "invalid-argument" | "io";

export class PinStoreError extends Error {
  override name = "PinStoreError";
  constructor(
    readonly code: PinStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const DIGEST = /^sha256:[0-9a-f]{64}$/;
export const KIND_LABELS: Record<PinKind, string> = { tools: "tool", prompts: "prompt", resourceTemplates: "resource template" };

/** Records by identity digest. A change sees the current records of the digests it names. */
export type Records = Map<string, ServerPins>;

/** Where a store keeps its records; pinStoreOver adds the semantics. */
export interface RecordStore {
  read(identityDigest: string): Promise<ServerPins | undefined>;
  readAll(): Promise<ServerPins[]>;
  /**
   * Applies `change` atomically to the current records (at least those of `digests`, the only ones it
   * may read or change), never to a cached copy; stores the result only if it returns true. A change
   * may run more than once (a store retries after a conflict), so it must not depend on a previous run.
   */
  mutate(digests: readonly string[], change: (records: Records) => boolean): Promise<void>;
  readonly where: string;
  close(): Promise<void>;
}

export function pinStoreOver(store: RecordStore): PinStore {
  return {
    where: store.where,
    close: () => store.close(),

    getServer: (identityDigest) => store.read(identityDigest),

    async list() {
      const all = await store.readAll();
      return all.sort((a, b) => (a.serverName < b.serverName ? -1 : a.serverName > b.serverName ? 1 : a.identity.digest < b.identity.digest ? -1 : 1));
    },

    async approveServer(identity, serverName, by) {
      const checked = checkIdentity(identity, "approveServer");
      if (typeof serverName !== "string" || serverName === "") throw new PinStoreError("invalid-argument", "approveServer: serverName must be a non-empty string");
      if (by !== undefined && typeof by !== "string") throw new PinStoreError("invalid-argument", "approveServer: 'by' must be a string");
      if (!isLegacyIdentity(checked) && checked.name !== serverName) throw new PinStoreError("invalid-argument", `approveServer: the identity is that of server ${JSON.stringify(checked.name)}, not ${JSON.stringify(serverName)}`);
      const approvedAt = new Date().toISOString();
      await store.mutate([checked.digest], (records) => {
        const existing = records.get(checked.digest);
        records.set(checked.digest, {
          identity: checked,
          serverName,
          approvedAt,
          ...(by !== undefined ? { approvedBy: by } : {}),
          tools: existing ? existing.tools : nullRecord(),
          prompts: existing ? existing.prompts : nullRecord(),
          resourceTemplates: existing ? existing.resourceTemplates : nullRecord(),
        });
        return true;
      });
    },

    async adoptLegacy(identity, legacyDigest) {
      const checked = checkIdentity(identity, "adoptLegacy");
      if (isLegacyIdentity(checked)) throw new PinStoreError("invalid-argument", "adoptLegacy: the identity must be a version 2 identity (serverIdentity({ name, layer, entry }))");
      if (typeof legacyDigest !== "string" || !DIGEST.test(legacyDigest)) throw new PinStoreError("invalid-argument", "adoptLegacy: legacyDigest must be a sha256:<hex> digest");
      if (setsCodeChangingEnv(checked)) return undefined; // cheap refusal before taking the lock
      let adopted: ServerPins | undefined;
      await store.mutate([checked.digest, legacyDigest], (records) => {
        adopted = undefined;
        if (records.has(checked.digest)) return false;
        const old = records.get(legacyDigest);
        if (!old || !isLegacyIdentity(old.identity) || old.serverName !== checked.name) return false;
        // A version 1 approval "on first use" never involved a person; the project and local layers
        // are never trusted on first use, so such a server is asked about again.
        if ((checked.layer === "project" || checked.layer === "local") && (old.approvedBy === undefined || old.approvedBy === "first use")) return false;
        adopted = deepFreeze({
          identity: checked,
          serverName: old.serverName,
          approvedAt: old.approvedAt,
          ...(old.approvedBy !== undefined ? { approvedBy: old.approvedBy } : {}),
          note: "migrated",
          migratedFrom: legacyDigest,
          tools: copyRecord(old.tools),
          prompts: copyRecord(old.prompts),
          resourceTemplates: copyRecord(old.resourceTemplates),
        });
        records.set(checked.digest, adopted);
        return true;
      });
      return adopted;
    },

    pinItems: (identityDigest, kind, items) => pinItems(identityDigest, kind, items, "pinItems"),
    pinTools: (identityDigest, tools) => pinItems(identityDigest, "tools", tools, "pinTools"),

    async resetServer(identityDigest) {
      await store.mutate([identityDigest], (records) => records.delete(identityDigest));
    },

    resetItem: (identityDigest, kind, name) => resetItem(identityDigest, kind, name),
    resetTool: (identityDigest, toolName) => resetItem(identityDigest, "tools", toolName),
  };

  async function pinItems(identityDigest: string, kind: PinKind, items: PinnedTool[], op: string): Promise<void> {
    if (!PIN_KINDS.includes(kind)) throw new PinStoreError("invalid-argument", `${op}: unknown kind ${JSON.stringify(kind)}`);
    const label = KIND_LABELS[kind];
    if (!Array.isArray(items)) throw new PinStoreError("invalid-argument", `${op}: the pins must be a list`);
    const pins = items.map((t, i) => checkPin(kind, t, `${op}: ${label} ${i}`));
    const names = new Set<string>();
    for (const p of pins) {
      if (names.has(p.name)) throw new PinStoreError("invalid-argument", `${op}: ${label} ${JSON.stringify(p.name)} is given twice`);
      names.add(p.name);
    }
    await store.mutate([identityDigest], (records) => {
      const server = records.get(identityDigest);
      if (!server) throw new PinStoreError("invalid-argument", `${op}: no approved server with identity ${identityDigest}; approve the server first`);
      const next = copyRecord(server[kind]);
      for (const p of pins) setOwn(next, p.name, p);
      records.set(identityDigest, { ...server, [kind]: next });
      return pins.length > 0;
    });
  }

  async function resetItem(identityDigest: string, kind: PinKind, itemName: string): Promise<void> {
    if (!PIN_KINDS.includes(kind)) throw new PinStoreError("invalid-argument", `resetItem: unknown kind ${JSON.stringify(kind)}`);
    await store.mutate([identityDigest], (records) => {
      const server = records.get(identityDigest);
      if (!server || !Object.hasOwn(server[kind], itemName)) return false;
      const next = nullRecord<PinnedTool>();
      for (const [name, pin] of Object.entries(server[kind])) if (name !== itemName) setOwn(next, name, pin);
      records.set(identityDigest, { ...server, [kind]: next });
      return true;
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// One server record, read strictly and written canonically

/**
 * Checks one stored server record (`raw`, stored under `digest`) and returns it frozen. `v1`: a
 * record of a version 1 pin file (tools only, a version 1 identity). Any problem calls `bad`, which
 * throws: a record that does not verify is never treated as absent.
 */
export function parseServerRecord(raw: unknown, digest: string, v1: boolean, where: string, bad: (what: string) => never): ServerPins {
  if (!isRecord(raw)) return bad(`${where} is not an object`);
  if (v1) onlyKeys(raw, ["identity", "serverName", "approvedAt", "tools"], ["approvedBy"], where, bad);
  else onlyKeys(raw, ["identity", "serverName", "approvedAt", "tools", "prompts", "resourceTemplates"], ["approvedBy", "note", "migratedFrom"], where, bad);
  let identity: AnyServerIdentity;
  try {
    identity = checkIdentity(raw.identity, where);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (identity.digest !== digest) return bad(`${where}: the key is not the identity's digest`);
  if (v1 && !isLegacyIdentity(identity)) return bad(`${where}: a version 2 identity in a version 1 file`);
  if (typeof raw.serverName !== "string" || raw.serverName === "") return bad(`${where}.serverName is not a non-empty string`);
  if (!isLegacyIdentity(identity) && identity.name !== raw.serverName) return bad(`${where}.serverName is not the identity's name`);
  if (typeof raw.approvedAt !== "string" || raw.approvedAt === "") return bad(`${where}.approvedAt is not a non-empty string`);
  if (raw.approvedBy !== undefined && typeof raw.approvedBy !== "string") return bad(`${where}.approvedBy is not a string`);
  if (raw.note !== undefined && typeof raw.note !== "string") return bad(`${where}.note is not a string`);
  if (raw.migratedFrom !== undefined && (typeof raw.migratedFrom !== "string" || !DIGEST.test(raw.migratedFrom))) return bad(`${where}.migratedFrom is not a digest`);
  const maps = {} as Record<PinKind, Record<string, PinnedTool>>;
  for (const kind of PIN_KINDS) {
    maps[kind] = nullRecord<PinnedTool>();
    if (v1 && kind !== "tools") continue;
    const entries = raw[kind];
    if (!isRecord(entries)) return bad(`${where}.${kind} is not an object`);
    for (const [name, pinRaw] of Object.entries(entries)) {
      let pin: PinnedTool;
      try {
        pin = checkPin(kind, pinRaw, `${where}.${kind}[${JSON.stringify(name)}]`, true);
      } catch (e) {
        return bad((e as Error).message);
      }
      if (pin.name !== name) return bad(`${where}.${kind}[${JSON.stringify(name)}]: the key is not the ${KIND_LABELS[kind]}'s name`);
      setOwn(maps[kind], name, pin);
    }
  }
  return deepFreeze({
    identity,
    serverName: raw.serverName,
    approvedAt: raw.approvedAt,
    ...(raw.approvedBy !== undefined ? { approvedBy: raw.approvedBy } : {}),
    ...(raw.note !== undefined ? { note: raw.note } : {}),
    ...(raw.migratedFrom !== undefined ? { migratedFrom: raw.migratedFrom } : {}),
    ...maps,
  });
}

/** A record as stored (the current version): fields in a fixed order, pins sorted by name. */
export function serializeServerRecord(s: ServerPins): Record<string, unknown> {
  const maps: Record<string, Record<string, unknown>> = {};
  for (const kind of PIN_KINDS) {
    const pins: Record<string, unknown> = {};
    for (const name of Object.keys(s[kind]).sort()) setOwn(pins, name, s[kind][name]);
    maps[kind] = pins;
  }
  return {
    identity: s.identity,
    serverName: s.serverName,
    approvedAt: s.approvedAt,
    ...(s.approvedBy !== undefined ? { approvedBy: s.approvedBy } : {}),
    ...(s.note !== undefined ? { note: s.note } : {}),
    ...(s.migratedFrom !== undefined ? { migratedFrom: s.migratedFrom } : {}),
    ...maps,
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function onlyKeys(obj: Record<string, unknown>, required: string[], optional: string[], where: string, bad: (what: string) => never): void {
  for (const k of required) if (!Object.hasOwn(obj, k)) bad(`${where} has no '${k}'`);
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) bad(`${where} has an unknown field ${JSON.stringify(k)}`);
}

function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An identity that is exactly what serverIdentity() (or, for version 1, legacyServerIdentity()) makes of its own fields, digest included. */
function checkIdentity(raw: unknown, where: string): AnyServerIdentity {
  try {
    return verifyServerIdentity(raw);
  } catch (e) {
    if (e instanceof PinInputError) throw new PinStoreError("invalid-argument", `${where}: identity ${e.message}`);
    throw e;
  }
}

/** A pin whose definition is canonical and whose digest matches it; a frozen copy made of fresh values. */
function checkPin(kind: PinKind, raw: unknown, where: string, fromStore = false): PinnedTool {
  try {
    return deepFreeze(verifyPin(kind, raw, fromStore));
  } catch (e) {
    if (e instanceof PinInputError) throw new PinStoreError("invalid-argument", `${where} ${e.message}`);
    throw e;
  }
}

/** A null-prototype copy of a map of pins (the pins themselves are frozen and shared). */
function copyRecord(pins: Readonly<Record<string, PinnedTool>>): Record<string, PinnedTool> {
  const next = nullRecord<PinnedTool>();
  for (const [name, pin] of Object.entries(pins)) setOwn(next, name, pin);
  return next;
}

/** Iterative (definitions may be deep); objects are already bounded by canonicalization. */
function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return value;
}
