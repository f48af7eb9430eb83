// 2025-era sessions shared between `serve` replicas (`state.redis`). All the SDK server keeps of a
// session is the client's initialize params, so a record of them (and of the principal who owns the
// session) lets any replica rebuild the session (fronts/http/sessions.ts). Without a store, sessions
// live in their replica's memory only.
//
// Why Redis records with sliding expiry and not sealed (self-contained) IDs: a sealed ID cannot be
// revoked (DELETE), cannot be counted against a per-principal cap across replicas, and cannot expire
// when idle. Here every request slides the record's expiry, DELETE removes it, and a per-owner sorted
// set caps a principal's sessions across all replicas.
//
// Keys: `<prefix>session:<sha256(id) hex>` holds `{v:1, owner, initialize, createdAt}` (the ID itself
// is the client's credential and is never a key or a value), `<prefix>sessions-of:<sha256(owner) hex>`
// the owner's session hashes scored by when they were opened (in microseconds). Each operation is one Lua script (Redis runs one at a
// time, so replicas opening sessions of one principal at once never exceed the cap). Time is Redis's
// (TIME inside the scripts), for the same reason as the rate limits': replicas' clocks differ.
// The open script deletes the keys of the sessions it removes over the cap, keys it was not given:
// fine on one Redis (what openRedis connects to), not on Redis Cluster.
import { createHash } from "node:crypto";
import { z } from "zod";

/** The client's initialize params: what a replica replays to rebuild the session. */
export interface SharedInitialize {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown> & { name: string; version: string };
}

/** A shared session as a replica sees it. */
export interface SharedSession {
  owner: string;
  initialize: SharedInitialize;
  /** How long ago the session was opened, in ms (Redis's clock; the replica's own may differ). */
  ageMs: number;
}

export type TouchResult =
  /** The session exists, is the caller's, and its expiry was slid. */
  | { state: "live"; session: SharedSession }
  /** No such session: never opened, expired, deleted, removed over the cap, or its record unreadable. */
  | { state: "gone" }
  /** It exists but belongs to another principal; nothing was changed. */
  | { state: "other-owner" };

/** Where sessions are shared. Every method rejects when the store cannot answer (the caller decides). */
export interface SessionStore {
  /**
   * Records a new session of `owner`. When the owner already holds maxPerPrincipal sessions, the
   * oldest are removed first; their hashes (sessionKeyHash) come back so that a replica holding one
   * can end it at once. Throws RangeError (not an outage) for a record too large to share.
   */
  open(id: string, owner: string, initialize: SharedInitialize): Promise<{ removed: string[] }>;
  /** A request on session `id` by `owner`: slides its expiry (idle, never past its lifetime) and returns it. */
  touch(id: string, owner: string): Promise<TouchResult>;
  /** Which of these sessions still exist (their expiry is not slid): for a replica's sweep. */
  present(ids: readonly string[]): Promise<boolean[]>;
  /** Removes session `id` of `owner` (DELETE by the client). */
  end(id: string, owner: string): Promise<void>;
}

/** The SHA-256 (hex) of a session ID: its key's suffix and its member in the owner's set. */
export function sessionKeyHash(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex");
}

/** What the Redis session store needs of an ioredis client (narrow, as for the limit store). */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisSessionStoreOptions {
  client: RedisScriptClient;
  limits: { idleMs: number; maxMs: number; maxPerPrincipal: number };
  /** Prepended to every key (default `mcp-warden:`); letters, digits and `:_.{}-` only. */
  keyPrefix?: string;
}

export const DEFAULT_SESSION_KEY_PREFIX = "mcp-warden:";
const PREFIX = /^[A-Za-z0-9:_.{}-]{1,100}$/;
/** A larger initialize (a client's capabilities are its own to write) stays on its replica. */
export const MAX_SHARED_RECORD_BYTES = 64 * 1024;
/** Keys per `present` script run: one run stays short however many sessions a replica holds. */
const PRESENT_CHUNK = 200;

const NOW_MS = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: the session, the owner's set. ARGV: the record's JSON without createdAt (an object, so it
// ends with '}'), idleMs, maxMs, maxPerPrincipal, the session's hash, the prefix of session keys.
// Members whose record expired leave the set, then the oldest go while the owner is at the cap.
// Returns {createdAt, {removed hashes...}}.
export const OPEN_SCRIPT = `${NOW_MS}
local idle, max, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[6] .. m) == 0 then redis.call('ZREM', KEYS[2], m) end
end
local removed = {}
while redis.call('ZCARD', KEYS[2]) >= cap do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  redis.call('ZREM', KEYS[2], oldest)
  redis.call('DEL', ARGV[6] .. oldest)
  removed[#removed + 1] = oldest
end
local record = string.sub(ARGV[1], 1, -2) .. ',"createdAt":' .. string.format('%.0f', now) .. '}'
redis.call('SET', KEYS[1], record, 'PX', math.max(1, math.ceil(math.min(idle, max))))
-- Scored in microseconds and strictly after the newest, so "oldest" is never a tie between two
-- sessions opened in the same millisecond (a tie would be broken by the hashes, not by age).
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local score = tonumber(t[1]) * 1000000 + tonumber(t[2])
if newest[2] and tonumber(newest[2]) >= score then score = tonumber(newest[2]) + 1 end
redis.call('ZADD', KEYS[2], score, ARGV[5])
redis.call('PEXPIRE', KEYS[2], math.ceil(max) + 60000)
return {now, removed}
`;

// KEYS: the session, the caller's set. ARGV: the caller's owner, idleMs, maxMs, the session's hash.
// Returns {0} gone, {2} another owner's (untouched), {1, record, now} live (expiry slid: idle, but
// never past createdAt + maxMs). A record past its lifetime is removed.
export const TOUCH_SCRIPT = `${NOW_MS}
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('ZREM', KEYS[2], ARGV[4])
  return {0}
end
local ok, rec = pcall(cjson.decode, v)
if not ok or type(rec) ~= 'table' or type(rec.owner) ~= 'string' or type(rec.createdAt) ~= 'number' then return {0} end
if rec.owner ~= ARGV[1] then return {2} end
local left = math.min(tonumber(ARGV[2]), rec.createdAt + tonumber(ARGV[3]) - now)
if left < 1 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[4])
  return {0}
end
redis.call('PEXPIRE', KEYS[1], math.ceil(left))
return {1, v, now}
`;

// KEYS: the session, the caller's set. ARGV: the caller's owner, the session's hash.
// Removes the record only when it is the caller's.
export const END_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v then
  local ok, rec = pcall(cjson.decode, v)
  if ok and type(rec) == 'table' and rec.owner == ARGV[1] then redis.call('DEL', KEYS[1]) end
end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`;

// KEYS: sessions. Returns 1 or 0 for each.
export const PRESENT_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('EXISTS', k) end
return out
`;

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");
const SCRIPTS = {
  open: { text: OPEN_SCRIPT, sha: sha1(OPEN_SCRIPT) },
  touch: { text: TOUCH_SCRIPT, sha: sha1(TOUCH_SCRIPT) },
  end: { text: END_SCRIPT, sha: sha1(END_SCRIPT) },
  present: { text: PRESENT_SCRIPT, sha: sha1(PRESENT_SCRIPT) },
} as const;

/** A stored record, as read back: anything else (another version, a stray write) counts as gone. */
const StoredRecord = z.object({
  v: z.literal(1),
  owner: z.string(),
  initialize: z.looseObject({
    protocolVersion: z.string(),
    capabilities: z.record(z.string(), z.unknown()),
    clientInfo: z.looseObject({ name: z.string(), version: z.string() }),
  }),
  createdAt: z.number(),
});

export class RedisSessionStore implements SessionStore {
  private readonly client: RedisScriptClient;
  private readonly prefix: string;
  private readonly limits: RedisSessionStoreOptions["limits"];

  constructor(options: RedisSessionStoreOptions) {
    const prefix = options.keyPrefix ?? DEFAULT_SESSION_KEY_PREFIX;
    if (!PREFIX.test(prefix)) throw new RangeError(`Redis key prefix ${JSON.stringify(prefix)}: use 1-100 letters, digits and ':_.{}-'`);
    const { idleMs, maxMs, maxPerPrincipal } = options.limits;
    if (!(idleMs >= 1 && maxMs >= 1 && Number.isSafeInteger(maxPerPrincipal) && maxPerPrincipal >= 1)) throw new RangeError("session limits must be positive");
    this.client = options.client;
    this.prefix = prefix;
    this.limits = options.limits;
  }

  /** The Redis key of a session. */
  keyOf(id: string): string {
    return `${this.prefix}session:${sessionKeyHash(id)}`;
  }

  /** The Redis key of an owner's set of sessions. */
  setOf(owner: string): string {
    return `${this.prefix}sessions-of:${createHash("sha256").update(owner, "utf8").digest("hex")}`;
  }

  async open(id: string, owner: string, initialize: SharedInitialize): Promise<{ removed: string[] }> {
    const { protocolVersion, capabilities, clientInfo } = initialize;
    const json = JSON.stringify({ v: 1, owner, initialize: { protocolVersion, capabilities, clientInfo } });
    if (Buffer.byteLength(json) > MAX_SHARED_RECORD_BYTES) throw new RangeError(`the client's initialize is larger than ${MAX_SHARED_RECORD_BYTES / 1024} KiB`);
    const { idleMs, maxMs, maxPerPrincipal } = this.limits;
    const reply = await this.run("open", [this.keyOf(id), this.setOf(owner)], [json, idleMs, maxMs, maxPerPrincipal, sessionKeyHash(id), `${this.prefix}session:`]);
    if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1]) || !reply[1].every((m) => typeof m === "string")) {
      throw new Error("Redis gave the session script's call a malformed answer");
    }
    return { removed: reply[1] as string[] };
  }

  async touch(id: string, owner: string): Promise<TouchResult> {
    const reply = await this.run("touch", [this.keyOf(id), this.setOf(owner)], [owner, this.limits.idleMs, this.limits.maxMs, sessionKeyHash(id)]);
    if (!Array.isArray(reply)) throw new Error("Redis gave the session script's call a malformed answer");
    if (reply[0] === 0) return { state: "gone" };
    if (reply[0] === 2) return { state: "other-owner" };
    if (reply[0] !== 1 || typeof reply[1] !== "string" || !Number.isSafeInteger(reply[2])) throw new Error("Redis gave the session script's call a malformed answer");
    let parsed;
    try {
      parsed = StoredRecord.safeParse(JSON.parse(reply[1]));
    } catch {
      return { state: "gone" };
    }
    // Fail closed: a record this version cannot read is no session (the client initializes again).
    if (!parsed.success || parsed.data.owner !== owner) return { state: "gone" };
    const { initialize, createdAt } = parsed.data;
    return { state: "live", session: { owner, initialize: initialize as SharedInitialize, ageMs: Math.max(0, (reply[2] as number) - createdAt) } };
  }

  async present(ids: readonly string[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let i = 0; i < ids.length; i += PRESENT_CHUNK) {
      const keys = ids.slice(i, i + PRESENT_CHUNK).map((id) => this.keyOf(id));
      const reply = await this.run("present", keys, []);
      if (!Array.isArray(reply) || reply.length !== keys.length) throw new Error("Redis gave the session script's call a malformed answer");
      out.push(...reply.map((x) => x === 1));
    }
    return out;
  }

  async end(id: string, owner: string): Promise<void> {
    await this.run("end", [this.keyOf(id), this.setOf(owner)], [owner, sessionKeyHash(id)]);
  }

  /** EVALSHA; when Redis does not hold the script (first use, a restart, SCRIPT FLUSH), EVAL loads it. */
  private async run(name: keyof typeof SCRIPTS, keys: string[], args: (string | number)[]): Promise<unknown> {
    const script = SCRIPTS[name];
    const argv = args.map(String);
    try {
      return await this.client.evalsha(script.sha, keys.length, ...keys, ...argv);
    } catch (error) {
      if (!/^NOSCRIPT/.test((error as Error).message ?? "")) throw error;
      return this.client.eval(script.text, keys.length, ...keys, ...argv);
    }
  }
}
