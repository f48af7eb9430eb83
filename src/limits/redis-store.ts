// Token buckets in Redis, shared by every replica: one Lua script checks every bucket of a call and
// takes from all of them or from none, atomically (Redis runs one script at a time).
//
// Time comes from Redis (TIME inside the script), not from the replica: replicas' clocks differ, and a
// replica whose clock runs ahead would refill every bucket it touches early (one behind would find
// them stuck). One clock for all keeps the rate what the settings say. The `nowMs` argument of
// LimitStore.take is therefore ignored here. A bucket's time never moves backwards (a Redis fail-over
// to a host whose clock is behind refills nothing).
//
// Keys are `<prefix><base64url SHA-256 of the limiter's bucket key>`: a principal or tool name, whatever
// it contains, cannot add key structure, reach another bucket or grow the key. Each key expires when
// its bucket would be full again: an absent bucket is a full one, so idle buckets vanish losing nothing.
import { createHash } from "node:crypto";
import { mergeBuckets, type BucketSpec, type LimitStore, type TakeResult } from "./store.js";

/** What the store needs of an ioredis client (kept narrow so that the contract is visible). */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisLimitStoreOptions {
  client: RedisScriptClient;
  /** Prepended to every key (default `mcp-warden:{ratelimit}:`); letters, digits and `:_.{}-` only. */
  keyPrefix?: string;
}

export const DEFAULT_REDIS_KEY_PREFIX = "mcp-warden:{ratelimit}:";
const PREFIX = /^[A-Za-z0-9:_.{}-]{1,100}$/;
/** A call takes from at most 4 buckets today; a bound keeps one script run short whatever the caller sends. */
const MAX_BUCKETS_PER_TAKE = 32;

// KEYS[i]: a bucket; ARGV[3i-2], ARGV[3i-1], ARGV[3i]: its capacity, refill per ms and cost.
// A bucket is a hash: t = tokens at time a (ms, Redis's clock). Returns {0, 0} when every bucket gave
// its cost, else {i, ms until bucket i holds its cost} having written nothing.
// (redis.replicate_commands: needed before a write after TIME on Redis < 5; a no-op since.)
export const TAKE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local levels, ats = {}, {}
for i = 1, #KEYS do
  local cap, rate, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local b = redis.call('HMGET', KEYS[i], 't', 'a')
  local level, at = cap, now
  local tokens, since = tonumber(b[1]), tonumber(b[2])
  if tokens and since then
    at = math.max(now, since)
    level = math.min(cap, tokens + math.max(0, now - since) * rate)
  end
  if level + 1e-9 < cost then
    return {i, math.ceil((cost - level) / rate)}
  end
  levels[i], ats[i] = level, at
end
for i = 1, #KEYS do
  local cap, rate, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local left = levels[i] - cost
  redis.call('HSET', KEYS[i], 't', left, 'a', ats[i])
  redis.call('PEXPIRE', KEYS[i], math.ceil((cap - left) / rate) + 1000)
end
return {0, 0}
`;

const TAKE_SHA = createHash("sha1").update(TAKE_SCRIPT).digest("hex");

export class RedisLimitStore implements LimitStore {
  private readonly client: RedisScriptClient;
  private readonly prefix: string;

  constructor(options: RedisLimitStoreOptions) {
    const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    if (!PREFIX.test(prefix)) throw new RangeError(`Redis key prefix ${JSON.stringify(prefix)}: use 1-100 letters, digits and ':_.{}-'`);
    this.client = options.client;
    this.prefix = prefix;
  }

  /** The Redis key of a limiter bucket key. */
  keyOf(bucket: string): string {
    return this.prefix + createHash("sha256").update(bucket, "utf8").digest("base64url");
  }

  async take(specs: readonly BucketSpec[], _nowMs: number): Promise<TakeResult> {
    const wanted = [...mergeBuckets(specs)];
    if (wanted.length === 0) return { ok: true };
    if (wanted.length > MAX_BUCKETS_PER_TAKE) throw new RangeError(`one take may use at most ${MAX_BUCKETS_PER_TAKE} buckets (got ${wanted.length})`);
    const keys = wanted.map(([key]) => this.keyOf(key));
    // String(number) is the shortest text that reads back as the same double, so Lua sees the exact rate.
    const args = wanted.flatMap(([, { spec, cost }]) => [String(spec.capacity), String(spec.refillPerMs), String(cost)]);
    const reply = await this.run(keys, args);
    if (!Array.isArray(reply) || reply.length !== 2 || !Number.isSafeInteger(reply[0]) || !Number.isSafeInteger(reply[1])) {
      throw new Error("Redis gave the rate-limit script's call a malformed answer");
    }
    const [index, retryAfterMs] = reply as [number, number];
    if (index === 0) return { ok: true };
    const refused = wanted[index - 1];
    if (!refused || retryAfterMs < 0) throw new Error("Redis gave the rate-limit script's call a malformed answer");
    return { ok: false, bucket: refused[0], retryAfterMs };
  }

  /** EVALSHA; when Redis does not hold the script (first use, a restart, SCRIPT FLUSH), EVAL loads it. */
  private async run(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalsha(TAKE_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      if (!/^NOSCRIPT/.test((error as Error).message ?? "")) throw error;
      return this.client.eval(TAKE_SCRIPT, keys.length, ...keys, ...args);
    }
  }
}
