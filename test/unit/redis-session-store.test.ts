// The Redis session store against real Redis: the machine's (127.0.0.1:6379) under a random key
// prefix removed afterwards, and a private redis-server this file kills and restarts. Expiry is
// tested by moving a record's stored createdAt or a key's expiry, so no test waits out a timeout.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Redis } from "ioredis";
import { openRedis, openRedisInBackground } from "../../src/state/redis.js";
import { RedisSessionStore, sessionKeyHash, type SharedInitialize } from "../../src/state/session-store.js";
import { deleteKeys, MACHINE_REDIS_URL, redisUnavailable, startPrivateRedis, testKeyPrefix, type PrivateRedis } from "../e2e/redis-harness.js";

const skip = redisUnavailable();
const INIT: SharedInitialize = { protocolVersion: "2025-06-18", capabilities: { elicitation: {}, roots: { listChanged: true } }, clientInfo: { name: "unit", version: "1.2.3" } };
const ALICE = "api-key||alice";
const BOB = "api-key||bob";
const LIMITS = { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000, maxPerPrincipal: 3 };
let n = 0;
/** A session ID of the shape serve makes, unique per call. */
const newId = () => `${Buffer.from(`unit-session-${n++}-${Math.random()}`).toString("base64url")}`;

/** Polls `check` every 20 ms, at most 100 times (2 s): for Redis's own expiry to happen. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: not within 2 s`);
}

describe("RedisSessionStore on the machine's Redis", { skip }, () => {
  const prefix = testKeyPrefix();
  let client: Redis;
  let other: Redis;
  let store: RedisSessionStore;

  before(async () => {
    client = await openRedis({ url: MACHINE_REDIS_URL, commandTimeoutMs: 5_000 });
    // A second connection stands for a second replica.
    other = await openRedis({ url: MACHINE_REDIS_URL, commandTimeoutMs: 5_000 });
    store = new RedisSessionStore({ client, limits: LIMITS, keyPrefix: prefix });
  });
  after(async () => {
    if (client) {
      await deleteKeys(client, prefix);
      assert.equal((await client.keys(`${prefix}*`)).length, 0, "the test's keys are gone");
      await client.quit();
    }
    await other?.quit();
  });

  it("open records the owner and the client's initialize under the ID's hash; touch by the owner returns them; the ID is in no key and no value", async () => {
    const id = newId();
    assert.deepEqual(await store.open(id, ALICE, INIT), { removed: [] });
    const touched = await store.touch(id, ALICE);
    assert.equal(touched.state, "live");
    assert.ok(touched.state === "live");
    assert.deepEqual(touched.session.initialize, INIT);
    assert.equal(touched.session.owner, ALICE);
    assert.ok(touched.session.ageMs >= 0 && touched.session.ageMs < 60_000, String(touched.session.ageMs));
    assert.equal(store.keyOf(id), `${prefix}session:${sessionKeyHash(id)}`);
    const record = JSON.parse((await client.get(store.keyOf(id)))!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record).sort(), ["createdAt", "initialize", "owner", "v"]);
    assert.equal(record.v, 1);
    const keys = await client.keys(`${prefix}*`);
    for (const k of keys) {
      assert.ok(!k.includes(id), k);
      assert.ok(!k.includes("alice"), `the owner is hashed in its set's key: ${k}`);
      const type = await client.type(k);
      const content = type === "string" ? await client.get(k) : JSON.stringify(await client.zrange(k, 0, -1));
      assert.ok(!content!.includes(id), `${k} holds no raw ID`);
    }
    assert.deepEqual(await client.zrange(store.setOf(ALICE), 0, -1), [sessionKeyHash(id)]);
  });

  it("touch slides the idle expiry, from any replica's connection", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    await client.pexpire(store.keyOf(id), 5_000);
    const second = new RedisSessionStore({ client: other, limits: LIMITS, keyPrefix: prefix });
    assert.equal((await second.touch(id, ALICE)).state, "live");
    const ttl = await client.pttl(store.keyOf(id));
    assert.ok(ttl > LIMITS.idleMs - 60_000 && ttl <= LIMITS.idleMs, `pttl ${ttl}`);
  });

  it("touch never slides past the absolute lifetime, and a record past it is gone (and removed)", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    const key = store.keyOf(id);
    const shift = async (ageMs: number) => {
      const record = JSON.parse((await client.get(key))!) as { createdAt: number };
      const [seconds, micros] = await client.time();
      record.createdAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - ageMs;
      await client.set(key, JSON.stringify(record), "KEEPTTL");
    };
    await shift(LIMITS.maxMs - 10_000);
    assert.equal((await store.touch(id, ALICE)).state, "live");
    const ttl = await client.pttl(key);
    assert.ok(ttl > 0 && ttl <= 10_000, `at most the 10 s of lifetime left: pttl ${ttl}`);
    await shift(LIMITS.maxMs + 1_000);
    assert.deepEqual(await store.touch(id, ALICE), { state: "gone" });
    assert.equal(await client.exists(key), 0);
    assert.equal(await client.zscore(store.setOf(ALICE), sessionKeyHash(id)), null);
  });

  it("another principal's touch learns only 'other-owner' and slides nothing; an unknown ID is gone", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    await client.pexpire(store.keyOf(id), 5_000);
    assert.deepEqual(await store.touch(id, BOB), { state: "other-owner" });
    const ttl = await client.pttl(store.keyOf(id));
    assert.ok(ttl > 0 && ttl <= 5_000, `pttl ${ttl}`);
    assert.deepEqual(await store.touch(newId(), ALICE), { state: "gone" });
  });

  it("end removes the owner's session everywhere; another principal's end removes nothing", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    await store.end(id, BOB);
    assert.equal((await store.touch(id, ALICE)).state, "live");
    const second = new RedisSessionStore({ client: other, limits: LIMITS, keyPrefix: prefix });
    await second.end(id, ALICE);
    assert.deepEqual(await store.touch(id, ALICE), { state: "gone" });
    assert.equal(await client.zscore(store.setOf(ALICE), sessionKeyHash(id)), null);
  });

  it("the cap: the owner's oldest sessions are removed (their hashes returned), another owner's stay", async () => {
    const owner = `api-key||cap-${n++}`;
    const bobs = newId();
    await store.open(bobs, BOB, INIT);
    const ids = [newId(), newId(), newId()];
    for (const id of ids) assert.deepEqual(await store.open(id, owner, INIT), { removed: [] });
    const fourth = newId();
    assert.deepEqual(await store.open(fourth, owner, INIT), { removed: [sessionKeyHash(ids[0]!)] });
    assert.deepEqual(await store.touch(ids[0]!, owner), { state: "gone" });
    for (const id of [ids[1]!, ids[2]!, fourth]) assert.equal((await store.touch(id, owner)).state, "live");
    assert.equal((await store.touch(bobs, BOB)).state, "live");
    assert.equal(await client.zcard(store.setOf(owner)), 3);
  });

  it("the cap across replicas: 20 sessions opened at once over two connections leave exactly maxPerPrincipal", async () => {
    const owner = `api-key||parallel-${n++}`;
    const second = new RedisSessionStore({ client: other, limits: LIMITS, keyPrefix: prefix });
    const ids = Array.from({ length: 20 }, () => newId());
    const results = await Promise.all(ids.map((id, i) => (i % 2 ? second : store).open(id, owner, INIT)));
    const removed = results.flatMap((r) => r.removed);
    assert.equal(removed.length, 20 - LIMITS.maxPerPrincipal);
    const live = (await Promise.all(ids.map((id) => store.touch(id, owner)))).filter((t) => t.state === "live");
    assert.equal(live.length, LIMITS.maxPerPrincipal);
    assert.equal(await client.zcard(store.setOf(owner)), LIMITS.maxPerPrincipal);
  });

  it("an expired session leaves its owner's set at the next open instead of counting against the cap", async () => {
    const owner = `api-key||expiry-${n++}`;
    const ids = [newId(), newId(), newId()];
    for (const id of ids) await store.open(id, owner, INIT);
    // Redis expires the first (as it would after idleMinutes without a request).
    await client.pexpire(store.keyOf(ids[0]!), 1);
    await until("the key expires", async () => (await client.exists(store.keyOf(ids[0]!))) === 0);
    const next = newId();
    assert.deepEqual(await store.open(next, owner, INIT), { removed: [] }, "nothing live was removed for it");
    for (const id of [ids[1]!, ids[2]!, next]) assert.equal((await store.touch(id, owner)).state, "live");
    assert.equal(await client.zcard(store.setOf(owner)), 3);
  });

  it("a new session's record expires after idleMs without a touch", async () => {
    const quick = new RedisSessionStore({ client, limits: { ...LIMITS, idleMs: 300 }, keyPrefix: prefix });
    const id = newId();
    await quick.open(id, ALICE, INIT);
    const ttl = await client.pttl(quick.keyOf(id));
    assert.ok(ttl > 0 && ttl <= 300, `pttl ${ttl}`);
    // Polled without touching (a touch would slide it).
    await until("the record expires", async () => (await client.exists(quick.keyOf(id))) === 0);
    assert.deepEqual(await quick.touch(id, ALICE), { state: "gone" });
  });

  it("present tells which sessions exist, without sliding them", async () => {
    const a = newId();
    const b = newId();
    await store.open(a, ALICE, INIT);
    await store.open(b, ALICE, INIT);
    await store.end(b, ALICE);
    await client.pexpire(store.keyOf(a), 5_000);
    assert.deepEqual(await store.present([a, b, newId()]), [true, false, false]);
    assert.ok((await client.pttl(store.keyOf(a))) <= 5_000);
    assert.deepEqual(await store.present([]), []);
  });

  it("a record this version cannot read is gone (fail closed), and nothing is written for it", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    const record = JSON.parse((await client.get(store.keyOf(id)))!) as Record<string, unknown>;
    await client.set(store.keyOf(id), JSON.stringify({ ...record, v: 2 }), "KEEPTTL");
    assert.deepEqual(await store.touch(id, ALICE), { state: "gone" });
    await client.set(store.keyOf(id), "not json", "KEEPTTL");
    assert.deepEqual(await store.touch(id, ALICE), { state: "gone" });
    assert.equal(await client.get(store.keyOf(id)), "not json");
  });

  it("an initialize larger than 64 KiB is refused with a RangeError and writes nothing", async () => {
    const id = newId();
    const big = { ...INIT, capabilities: { experimental: { blob: "x".repeat(70_000) } } };
    await assert.rejects(store.open(id, ALICE, big), (e: Error) => e instanceof RangeError && /larger than 64 KiB/.test(e.message));
    assert.equal(await client.exists(store.keyOf(id)), 0);
  });

  it("refuses a key prefix outside its alphabet and limits that are not positive", () => {
    assert.throws(() => new RedisSessionStore({ client, limits: LIMITS, keyPrefix: "a b" }), /key prefix/);
    assert.throws(() => new RedisSessionStore({ client, limits: { ...LIMITS, maxPerPrincipal: 0 } }), /positive/);
  });
});

describe("RedisSessionStore when Redis goes away (a private redis-server)", { skip }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  let store: RedisSessionStore;

  before(async () => {
    redis = await startPrivateRedis();
    client = await openRedis({ url: redis.url, commandTimeoutMs: 300 });
    store = new RedisSessionStore({ client, limits: LIMITS });
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("uses the default key names, and loads its scripts again after SCRIPT FLUSH", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    assert.equal(await client.exists(`mcp-warden:session:${sessionKeyHash(id)}`), 1);
    await client.script("FLUSH");
    assert.equal((await store.touch(id, ALICE)).state, "live");
  });

  it("every operation rejects while Redis is down; after a restart the same client works again", async () => {
    const id = newId();
    await store.open(id, ALICE, INIT);
    await redis.kill();
    await assert.rejects(store.touch(id, ALICE));
    await assert.rejects(store.open(newId(), ALICE, INIT));
    await assert.rejects(store.present([id]));
    await assert.rejects(store.end(id, ALICE));
    await redis.restart();
    let touched;
    for (let i = 0; i < 50 && !touched; i++) {
      touched = await store.touch(id, ALICE).catch(() => undefined);
      if (!touched) await new Promise((r) => setTimeout(r, 100));
    }
    // The restarted Redis kept nothing (no persistence): the session is gone, and new ones are recorded.
    assert.deepEqual(touched, { state: "gone" });
    const next = newId();
    await store.open(next, ALICE, INIT);
    assert.equal((await store.touch(next, ALICE)).state, "live");
  });
});

describe("openRedisInBackground (a private redis-server)", { skip }, () => {
  it("returns at once while Redis is away, commands fail fast, and it connects by itself once Redis starts", async () => {
    const redis = await startPrivateRedis({ password: "bg-5e1a-pass" });
    await redis.kill();
    const logged: string[] = [];
    const client = await openRedisInBackground({ url: `redis://:bg-5e1a-pass@127.0.0.1:${redis.port}/0`, commandTimeoutMs: 300, log: (m) => logged.push(m) });
    try {
      await assert.rejects(client.ping());
      await redis.restart();
      let pong;
      for (let i = 0; i < 50 && !pong; i++) {
        pong = await client.ping().catch(() => undefined);
        if (!pong) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(pong, "PONG");
      assert.ok(logged.some((m) => /cannot reach Redis at 127\.0\.0\.1:\d+\/0 yet/.test(m)), logged.join("\n"));
      assert.ok(logged.some((m) => /connected to Redis at/.test(m)), logged.join("\n"));
      assert.ok(!logged.join("\n").includes("bg-5e1a-pass"), "the password is in no message");
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
