// Incident reports kept in Redis for every replica (src/state/redis-incident-reports.ts), on the
// machine's Redis under a random key prefix removed afterwards: a report put by one store is read by
// another (another replica's connection), the id is in no key, an expired or malformed entry is no
// report, and a Redis that does not answer makes put and get throw (the console then keeps the report
// itself or answers 503; never a report it could not read).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Redis } from "ioredis";
import type { IncidentReport } from "../../src/incident/report.js";
import { RedisIncidentReports } from "../../src/state/redis-incident-reports.js";
import { openRedis } from "../../src/state/redis.js";
import { deleteKeys, MACHINE_REDIS_URL, redisUnavailable, startPrivateRedis, testKeyPrefix } from "../e2e/redis-harness.js";

const skip = redisUnavailable();
const report = { server: "github", generatedAt: "2026-12-06T20:00:00.000Z", range: { since: "x" }, contain: { containment: { ran: false } }, review: { calls: 3 } } as unknown as IncidentReport;

describe("incident reports in Redis", { skip }, () => {
  let a: Redis;
  let b: Redis;
  const keyPrefix = testKeyPrefix();
  before(async () => {
    a = await openRedis({ url: MACHINE_REDIS_URL });
    b = await openRedis({ url: MACHINE_REDIS_URL });
  });
  after(async () => {
    await deleteKeys(a, keyPrefix);
    a?.disconnect();
    b?.disconnect();
  });

  it("a report one replica puts, another reads whole; its id is in no key", async () => {
    const id = await new RedisIncidentReports({ client: a, keyPrefix }).put(report);
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    const got = await new RedisIncidentReports({ client: b, keyPrefix }).get(id);
    assert.deepEqual(got?.report, report);
    assert.ok(got!.until > Date.now());
    const keys = await a.keys(`${keyPrefix}*`);
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]!.includes(id));
    assert.equal(await new RedisIncidentReports({ client: b, keyPrefix }).get("B".repeat(22)), undefined);
  });

  it("an expired or malformed entry is no report", async () => {
    let now = Date.now();
    const store = new RedisIncidentReports({ client: a, keyPrefix, now: () => now, keepMs: 60_000 });
    const id = await store.put(report);
    now += 60_001;
    assert.equal(await store.get(id), undefined, "past its hour (checked on read, not only by the key's expiry)");
    now -= 60_001;
    const [key] = (await a.keys(`${keyPrefix}*`)).filter((k) => k !== undefined);
    for (const bad of ["not json", JSON.stringify({ at: "soon", report }), JSON.stringify({ at: 1, report: { server: 5 } }), "null"]) {
      for (const k of await a.keys(`${keyPrefix}*`)) await a.set(k, bad);
      assert.equal(await store.get(id), undefined, bad);
    }
    assert.ok(key);
  });
});

describe("incident reports when Redis does not answer", { skip }, () => {
  it("put and get throw", async () => {
    const redis = await startPrivateRedis();
    const client = await openRedis({ url: redis.url, commandTimeoutMs: 1_000 });
    try {
      const store = new RedisIncidentReports({ client });
      const id = await store.put(report);
      await redis.kill();
      await assert.rejects(store.get(id));
      await assert.rejects(store.put(report));
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
