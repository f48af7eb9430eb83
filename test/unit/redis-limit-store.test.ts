// The Redis-backed limit store against real Redis: the machine's (127.0.0.1:6379) under a random key
// prefix removed afterwards, and a private redis-server this file stops, pauses and restarts.
// Refill is tested by moving a bucket's stored time back (the script reads Redis's clock), so no test
// sleeps for a refill.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Redis } from "ioredis";
import { RateLimiter, RedisLimitStore, type BucketSpec } from "../../src/limits/index.js";
import type { Principal } from "../../src/policy/principal.js";
import { openRedis, RedisUnavailable } from "../../src/state/redis.js";
import { closedPort } from "../e2e/harness.js";
import { deleteKeys, MACHINE_REDIS_URL, redisUnavailable, startPrivateRedis, testKeyPrefix, type PrivateRedis } from "../e2e/redis-harness.js";

const skip = redisUnavailable();
/** A bucket that refills too slowly to matter within a test: n per hour. */
const slow = (key: string, capacity: number): BucketSpec => ({ key, capacity, refillPerMs: capacity / 3_600_000 });

describe("RedisLimitStore on the machine's Redis", { skip }, () => {
  const prefix = testKeyPrefix();
  let client: Redis;
  let other: Redis;
  let store: RedisLimitStore;

  before(async () => {
    client = await openRedis({ url: MACHINE_REDIS_URL, commandTimeoutMs: 5_000 });
    // A second connection stands for a second replica.
    other = await openRedis({ url: MACHINE_REDIS_URL, commandTimeoutMs: 5_000 });
    store = new RedisLimitStore({ client, keyPrefix: prefix });
  });
  after(async () => {
    if (client) {
      await deleteKeys(client, prefix);
      assert.equal((await client.keys(`${prefix}*`)).length, 0, "the test's keys are gone");
      await client.quit();
    }
    await other?.quit();
  });

  it("takes from every bucket of a call or from none: a refusal names the first refusing bucket and writes nothing", async () => {
    const a = slow("all-or-none:a", 2);
    const b = slow("all-or-none:b", 1);
    assert.deepEqual(await store.take([a, b], 0), { ok: true });
    const r = await store.take([a, b], 0);
    assert.equal(r.ok, false);
    assert.equal(r.ok === false && r.bucket, "all-or-none:b");
    assert.ok(r.ok === false && r.retryAfterMs > 0);
    // a gave nothing to the refused call: one token is left.
    assert.deepEqual(await store.take([a], 0), { ok: true });
    assert.equal((await store.take([a], 0)).ok, false);
    // A refused call creates no bucket either.
    const fresh = slow("all-or-none:fresh", 5);
    assert.equal((await store.take([fresh, b], 0)).ok, false);
    assert.equal(await client.exists(store.keyOf(fresh.key)), 0);
  });

  it("the same bucket twice in one call takes both costs, and a cost past the capacity is an error, not a refusal", async () => {
    const c = slow("twice:c", 3);
    assert.deepEqual(await store.take([c, { ...c, cost: 2 }], 0), { ok: true });
    assert.equal((await store.take([c], 0)).ok, false);
    await assert.rejects(store.take([{ ...slow("twice:d", 2), cost: 3 }], 0), /can never hold 3 tokens/);
  });

  it("refills by Redis's clock: a bucket whose stored time is 600 ms older has gained 600 ms of tokens, no more", async () => {
    const rate: BucketSpec = { key: "refill:e", capacity: 2, refillPerMs: 2 / 1_000 }; // 2/s: one token per 500 ms
    assert.deepEqual(await store.take([rate, rate], 0), { ok: true });
    const refusal = await store.take([rate], 0);
    assert.ok(refusal.ok === false && refusal.retryAfterMs >= 1 && refusal.retryAfterMs <= 500, JSON.stringify(refusal));
    const key = store.keyOf(rate.key);
    const at = Number(await client.hget(key, "a"));
    await client.hset(key, "a", String(at - 600));
    assert.deepEqual(await store.take([rate], 0), { ok: true }, "one token came back");
    assert.equal((await store.take([rate], 0)).ok, false, "and only one");
  });

  it("ignores the replica's clock: a nowMs far in the future refills nothing", async () => {
    const rate: BucketSpec = { key: "clock:f", capacity: 1, refillPerMs: 1 / 1_000 };
    assert.deepEqual(await store.take([rate], Date.now()), { ok: true });
    assert.equal((await store.take([rate], Date.now() + 3_600_000)).ok, false);
  });

  it("gives each bucket an expiry at the time it would be full again, so idle buckets vanish", async () => {
    const rate: BucketSpec = { key: "expiry:g", capacity: 60, refillPerMs: 60 / 60_000 }; // 60/min
    await store.take([rate, rate, rate], 0);
    const ttl = await client.pttl(store.keyOf(rate.key));
    // 3 tokens short at 1 per second: full in 3 s (plus the script's 1 s margin).
    assert.ok(ttl > 0 && ttl <= 4_000, `pttl ${ttl}`);
  });

  it("200 parallel takes from two connections on a bucket of 50: exactly 50 succeed", async () => {
    const bucket = slow("parallel:h", 50);
    const second = new RedisLimitStore({ client: other, keyPrefix: prefix });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? second : store).take([bucket], 0)));
    assert.equal(results.filter((r) => r.ok).length, 50);
    assert.equal(results.filter((r) => !r.ok).length, 150);
  });

  it("200 parallel takes over two overlapping buckets never overspend either", async () => {
    // Half the calls take from shared+left, half from shared+right: shared (capacity 30) is the limit.
    const shared = slow("overlap:shared", 30);
    const left = slow("overlap:left", 20);
    const right = slow("overlap:right", 100);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.take([shared, i % 2 ? left : right], 0)));
    const okLeft = results.filter((r, i) => r.ok && i % 2 === 1).length;
    const okRight = results.filter((r, i) => r.ok && i % 2 === 0).length;
    assert.equal(okLeft + okRight, 30, "shared gave exactly its capacity");
    assert.ok(okLeft <= 20, `left gave at most its capacity (${okLeft})`);
  });

  it("a principal or tool name cannot inject key structure: keys are the prefix and a fixed-length hash", async () => {
    const hostile = [
      "principal:evil\r\nFLUSHALL\r\n",
      "principal:*",
      `principal:${prefix}other`,
      "principal:{ratelimit}:x y",
      "principal:" + "x".repeat(10_000),
      "principal:é\u0000\u202e",
    ];
    // Named after the key another bucket gets: still its own bucket.
    const victim = slow("principal:victim", 1);
    hostile.push(store.keyOf(victim.key), store.keyOf(victim.key).slice(prefix.length));
    for (const key of hostile) assert.deepEqual(await store.take([slow(key, 1)], 0), { ok: true }, key.slice(0, 40));
    for (const key of hostile) assert.equal((await store.take([slow(key, 1)], 0)).ok, false, `each got its own bucket: ${key.slice(0, 40)}`);
    assert.deepEqual(await store.take([victim], 0), { ok: true }, "the victim's bucket was untouched");
    const keys = await client.keys(`${prefix}*`);
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const k of keys) assert.match(k, new RegExp(`^${escaped}[A-Za-z0-9_-]{43}$`));
    assert.ok(await client.ping(), "Redis still answers (nothing was flushed)");
  });

  it("refuses a key prefix with characters outside its alphabet", () => {
    assert.throws(() => new RedisLimitStore({ client, keyPrefix: "a b" }), /key prefix/);
    assert.throws(() => new RedisLimitStore({ client, keyPrefix: "x*" }), /key prefix/);
  });
});

describe("RedisLimitStore when Redis goes away (a private redis-server)", { skip }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  let store: RedisLimitStore;
  const logged: string[] = [];
  const alice: Principal = { subject: "alice", groups: [], scopes: [], method: "api-key" };
  const call = { principal: alice, method: "tools/call", server: "s", tool: "mcp__s__t" };

  before(async () => {
    redis = await startPrivateRedis();
    client = await openRedis({ url: redis.url, commandTimeoutMs: 300, log: (m) => logged.push(m) });
    store = new RedisLimitStore({ client });
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("loads the script again after SCRIPT FLUSH (EVALSHA falls back to EVAL)", async () => {
    const b = slow("flush", 2);
    assert.deepEqual(await store.take([b], 0), { ok: true });
    await client.script("FLUSH");
    assert.deepEqual(await store.take([b], 0), { ok: true });
    assert.equal((await store.take([b], 0)).ok, false, "the bucket survived the flush: only the script was reloaded");
  });

  it("a paused Redis makes a take reject within the command timeout; the limiter refuses (deny) or meters locally (local)", async () => {
    const deny = new RateLimiter({ settings: { perPrincipal: "2/min" }, store, storeTimeoutMs: 1_000 });
    const local = new RateLimiter({ settings: { perPrincipal: "2/min", onStoreError: "local" }, store, storeTimeoutMs: 1_000 });
    redis.pause();
    try {
      await assert.rejects(store.take([slow("paused", 1)], 0), /timed out/i);
      const refused = await deny.check(call);
      assert.equal(refused.ok, false);
      assert.equal(refused.ok === false && refused.limit, "remote.rateLimits.onStoreError");
      const results = [await local.check(call), await local.check(call), await local.check(call)];
      assert.deepEqual(results.map((r) => r.ok), [true, true, false], "local buckets hold the same limit");
      assert.match(results[2]!.ok === false ? results[2]!.reason : "", /this replica's own count/);
    } finally {
      redis.resume();
    }
  });

  it("a killed Redis makes takes reject at once; after a restart the same client works again with no restart of its own", async () => {
    const b = slow("restart", 5);
    assert.deepEqual(await store.take([b], 0), { ok: true });
    await redis.kill();
    await assert.rejects(store.take([b], 0));
    await redis.restart();
    // ioredis reconnects at most 1 s apart: bounded wait for the first success.
    let result;
    for (let i = 0; i < 50 && !result; i++) {
      result = await store.take([b], 0).catch(() => undefined);
      if (!result) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(result, { ok: true }, "a take succeeds after the restart (the script is loaded again: the new Redis has none)");
    assert.ok(logged.some((m) => /lost the connection to Redis at 127\.0\.0\.1:\d+\/0/.test(m)), logged.join("\n"));
    assert.ok(logged.some((m) => /is back/.test(m)), logged.join("\n"));
  });

  it("openRedis refuses an unreachable Redis with a message naming the host and not the password", async () => {
    const port = await closedPort();
    await assert.rejects(openRedis({ url: `redis://user:hunter2-secret@127.0.0.1:${port}/0` }), (e: Error) => {
      assert.ok(e instanceof RedisUnavailable);
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}/0`));
      assert.match(e.message, /start Redis there or correct state\.redis/);
      assert.ok(!e.message.includes("hunter2"), e.message);
      return true;
    });
  });
});

describe("openRedis against a Redis that wants a password (a private redis-server)", { skip }, () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis({ password: "right-7d2c-pass" });
  });
  after(async () => {
    await redis?.stop();
  });

  it("a wrong or missing password is refused as a log-in problem, saying where the password goes, without showing it", async () => {
    for (const url of [`redis://:wrong-91ab-pass@127.0.0.1:${redis.port}/0`, `redis://127.0.0.1:${redis.port}/0`]) {
      await assert.rejects(openRedis({ url }), (e: Error) => {
        assert.ok(e instanceof RedisUnavailable);
        assert.match(e.message, /cannot log in to Redis at 127\.0\.0\.1:\d+\/0 \(state\.redis\): (WRONGPASS|NOAUTH).*give the right user name and password in state\.redis/);
        assert.ok(!e.message.includes("wrong-91ab-pass") && !e.message.includes("right-7d2c-pass"), e.message);
        return true;
      });
    }
  });

  it("the right password connects, and the store works through it", async () => {
    const client = await openRedis({ url: `redis://:right-7d2c-pass@127.0.0.1:${redis.port}/0` });
    try {
      assert.deepEqual(await new RedisLimitStore({ client }).take([slow("authed", 1)], 0), { ok: true });
    } finally {
      client.disconnect();
    }
  });
});
