// Rate limits for remote mode: parsing, token buckets (all-or-nothing, bounded memory), the limiter's
// buckets and keys, failing closed on a broken store, and the pipeline stage's refusal.
// Time is injected (`now`): no test sleeps for a refill. The throwing and hanging stores stand in for
// a broken shared store, which real Redis cannot be made to be on demand in every way (redis-limit-store
// .test.ts runs the real one, stopped and paused); the stage test uses a real AuditLog.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { AuditLog, readRecords, type AuditRecord } from "../../src/audit/index.js";
import { ErrorCodes, GatewayError } from "../../src/gateway/errors.js";
import { runPipeline, type RequestContext, type Stage } from "../../src/gateway/pipeline.js";
import { auditDecisionStage } from "../../src/gateway/stages/audit.js";
import { MemoryLimitStore, parseRate, RateError, RateLimiter, type LimitResult, type LimitStore, type PrincipalRateLimits, type RateLimitSettings } from "../../src/limits/index.js";
import type { Principal } from "../../src/policy/principal.js";

const ISSUER_A = "https://idp-a.example";
const ISSUER_B = "https://idp-b.example";

function oidc(subject: string, issuer = ISSUER_A, extra: Partial<Principal> = {}): Principal {
  return { subject, groups: [], scopes: [], method: "oidc", issuer, ...extra };
}
const alice = oidc("alice");
const bob = oidc("bob");

function limiter(settings: RateLimitSettings, more: { principalLimits?: (p: Principal) => PrincipalRateLimits | undefined; store?: LimitStore; storeTimeoutMs?: number } = {}) {
  return new RateLimiter({ settings, ...more });
}

const call = (principal: Principal, tool: string) => ({ principal, method: "tools/call", server: tool.split("__")[1], tool });
const T0 = 1_700_000_000_000;

function refused(r: LimitResult): Extract<LimitResult, { ok: false }> {
  assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r)}`);
  return r as Extract<LimitResult, { ok: false }>;
}

/** Calls check n times at `now` and returns how many were allowed before the first refusal (and that refusal). */
async function burst(l: RateLimiter, request: Parameters<RateLimiter["check"]>[0], n: number, now = T0) {
  let allowed = 0;
  for (let i = 0; i < n; i++) {
    const r = await l.check(request, now);
    if (!r.ok) return { allowed, refusal: r };
    allowed++;
  }
  return { allowed, refusal: undefined };
}

describe("parseRate", () => {
  it("reads count per second, minute and hour as burst and even refill", () => {
    assert.deepEqual(parseRate("600/min"), { capacity: 600, refillPerMs: 600 / 60_000 });
    assert.deepEqual(parseRate("10/s"), { capacity: 10, refillPerMs: 10 / 1_000 });
    assert.deepEqual(parseRate("5000/hour"), { capacity: 5000, refillPerMs: 5000 / 3_600_000 });
    assert.deepEqual(parseRate(" 5 / second "), { capacity: 5, refillPerMs: 5 / 1_000 });
    assert.deepEqual(parseRate("2/h"), { capacity: 2, refillPerMs: 2 / 3_600_000 });
  });

  it("throws on anything else, including a zero count and counts too large to be exact", () => {
    for (const bad of ["", "abc", "10", "10/day", "-1/s", "1e3/s", "1.5/s", "0/min", "99999999999/s", "10/min/s", undefined as unknown as string]) {
      assert.throws(() => parseRate(bad), RateError, JSON.stringify(bad));
    }
  });

  it("the limiter refuses to start on an invalid rate and names the setting", () => {
    assert.throws(() => limiter({ perTool: { "mcp__*__search*": "many/min" } }), /remote\.rateLimits\.perTool\["mcp__\*__search\*"\]/);
    assert.throws(() => limiter({ perPrincipal: "0/s" }), /remote\.rateLimits\.perPrincipal.*deny rule/);
  });
});

describe("MemoryLimitStore", () => {
  const spec = (key: string, capacity: number, refillPerMs = capacity / 60_000) => ({ key, capacity, refillPerMs });

  it("refuses the request past the burst, with the time until one token is back", async () => {
    const store = new MemoryLimitStore();
    for (let i = 0; i < 10; i++) assert.deepEqual(await store.take([spec("k", 10)], T0), { ok: true }, `take ${i + 1}`);
    assert.deepEqual(await store.take([spec("k", 10)], T0), { ok: false, bucket: "k", retryAfterMs: 6000 });
    assert.deepEqual(await store.take([spec("k", 10)], T0 + 5999), { ok: false, bucket: "k", retryAfterMs: 1 });
    assert.deepEqual(await store.take([spec("k", 10)], T0 + 6000), { ok: true }, "one token is back after a tenth of the minute");
  });

  it("takes from every bucket or from none: a refusing bucket leaves the others untouched and creates nothing", async () => {
    const store = new MemoryLimitStore();
    assert.deepEqual(await store.take([spec("b", 1)], T0), { ok: true }); // drain b
    assert.deepEqual(await store.take([spec("a", 1), spec("b", 1), spec("c", 1)], T0), { ok: false, bucket: "b", retryAfterMs: 60_000 });
    assert.equal(store.size, 1, "neither a nor c was created");
    assert.deepEqual(await store.take([spec("a", 1)], T0), { ok: true }, "a still held its token");
    assert.deepEqual(await store.take([spec("c", 1)], T0), { ok: true }, "c still held its token");
  });

  it("names the first refusing bucket in the order given", async () => {
    const store = new MemoryLimitStore();
    await store.take([spec("x", 1), spec("y", 1)], T0);
    assert.equal(((await store.take([spec("y", 1), spec("x", 1)], T0)) as { bucket: string }).bucket, "y");
  });

  it("a key given twice takes both costs from the one bucket", async () => {
    const store = new MemoryLimitStore();
    assert.deepEqual(await store.take([spec("k", 2), spec("k", 2)], T0), { ok: true });
    assert.equal((await store.take([spec("k", 2)], T0)).ok, false);
  });

  it("a clock step backwards refills nothing", async () => {
    const store = new MemoryLimitStore();
    await store.take([spec("k", 1)], T0);
    assert.equal((await store.take([spec("k", 1)], T0 - 3_600_000)).ok, false);
    assert.equal((await store.take([spec("k", 1)], T0 + 59_999)).ok, false, "and the bucket's clock did not move back");
  });

  it("rejects buckets that could never be answered correctly (the limiter then fails closed)", async () => {
    const store = new MemoryLimitStore();
    await assert.rejects(store.take([{ key: "k", capacity: 0, refillPerMs: 1 }], T0), RangeError);
    await assert.rejects(store.take([{ key: "k", capacity: 1, refillPerMs: Number.NaN }], T0), RangeError);
    await assert.rejects(store.take([{ key: "k", capacity: 1, refillPerMs: 1, cost: 2 }], T0), RangeError);
    await assert.rejects(store.take([spec("k", 1)], Number.NaN), RangeError);
  });

  it("holds at most its bound under a flood of 1e6 distinct keys", async () => {
    const store = new MemoryLimitStore();
    let most = 0;
    // Slow refill: none is full again, so every eviction is by recency.
    for (let i = 0; i < 1_000_000; i++) {
      await store.take([{ key: `attacker-${i}`, capacity: 5, refillPerMs: 5 / 3_600_000 }], T0 + i);
      if (store.size > most) most = store.size;
    }
    assert.ok(most <= 100_000, `held ${most} buckets`);
    assert.ok(store.size >= 90_000, "and it keeps most of them (evicts down to 90%, not to nothing)");
  });

  it("evicts buckets that are full again before any that still hold state, then the least recently used", async () => {
    const store = new MemoryLimitStore({ maxBuckets: 10 });
    // Oldest first: five slow buckets (still empty later), then five fast ones (full again by T0+1000).
    for (let i = 0; i < 5; i++) await store.take([spec(`slow${i}`, 1)], T0);
    for (let i = 0; i < 5; i++) await store.take([{ key: `fast${i}`, capacity: 1, refillPerMs: 1 }], T0);
    await store.take([spec("new", 1)], T0 + 1000);
    assert.equal(store.size, 6, "the five full buckets went; the five stateful ones and the new one stayed");
    assert.equal((await store.take([spec("slow0", 1)], T0 + 1000)).ok, false, "the oldest stateful bucket still refuses: its state was kept");

    const lru = new MemoryLimitStore({ maxBuckets: 10 });
    for (let i = 0; i < 10; i++) await lru.take([spec(`k${i}`, 2)], T0);
    await lru.take([spec("k0", 2)], T0); // k0 becomes the most recent (and empty)
    await lru.take([spec("k10", 2)], T0); // 11 > 10: down to 9, dropping the least recent k1 and k2
    assert.equal(lru.size, 9);
    assert.equal((await lru.take([spec("k0", 2)], T0)).ok, false, "the recently used k0 kept its state");
    assert.deepEqual(await lru.take([spec("k1", 2), spec("k1", 2)], T0), { ok: true }, "k1 was evicted: it starts full");
    assert.equal((await lru.take([spec("k3", 2), spec("k3", 2)], T0)).ok, false, "k3 was not evicted");
  });
});

describe("RateLimiter", () => {
  it("a burst of capacity+1 refuses the last with Retry-After in whole seconds and names the setting", async () => {
    const l = limiter({ perPrincipal: "10/min" });
    const { allowed, refusal } = await burst(l, call(alice, "mcp__github__get_issue"), 11);
    assert.equal(allowed, 10);
    assert.deepEqual(refusal, {
      ok: false,
      retryAfterSeconds: 6,
      limit: "remote.rateLimits.perPrincipal",
      reason: "rate limit reached: remote.rateLimits.perPrincipal allows 10/min per caller; retry in 6 s",
    });
  });

  it("Retry-After is at least 1 second, rounded up", async () => {
    const l = limiter({ global: "100/s" }); // a token every 10 ms
    assert.equal((await burst(l, call(alice, "mcp__s__t"), 101)).refusal?.retryAfterSeconds, 1);
    const slow = limiter({ global: "7/hour" }); // a token every 514285.7 ms
    assert.equal((await burst(slow, call(alice, "mcp__s__t"), 8)).refusal?.retryAfterSeconds, 515);
  });

  it("calls work again after the refill, and only as many as refilled", async () => {
    const l = limiter({ perPrincipal: "2/min" });
    assert.equal((await burst(l, call(alice, "mcp__s__t"), 3)).allowed, 2);
    assert.equal((await l.check(call(alice, "mcp__s__t"), T0 + 29_999)).ok, false, "not yet");
    assert.equal((await burst(l, call(alice, "mcp__s__t"), 2, T0 + 30_000)).allowed, 1, "one token back after half a minute");
    assert.equal((await burst(l, call(alice, "mcp__s__t"), 3, T0 + 10 * 60_000)).allowed, 2, "a long pause refills to the burst, no more");
  });

  it("all or nothing: a call refused by its tool bucket takes nothing from the caller's bucket", async () => {
    const l = limiter({ perPrincipal: "3/min", perTool: { "mcp__*__search*": "2/min" } });
    assert.equal((await burst(l, call(alice, "mcp__github__search_code"), 5)).allowed, 2);
    for (let i = 0; i < 5; i++) {
      assert.equal(refused(await l.check(call(alice, "mcp__github__search_code"), T0)).limit, 'remote.rateLimits.perTool["mcp__*__search*"]');
    }
    assert.equal((await l.check(call(alice, "mcp__github__get_issue"), T0)).ok, true, "the caller's third token is still there");
    assert.equal(refused(await l.check(call(alice, "mcp__github__get_issue"), T0)).limit, "remote.rateLimits.perPrincipal");
  });

  it("each caller has their own buckets: alice exhausted, bob is fine", async () => {
    const l = limiter({ perPrincipal: "3/min", perTool: { "mcp__*": "2/min" } });
    assert.equal((await burst(l, call(alice, "mcp__s__t"), 5)).allowed, 2);
    assert.equal((await burst(l, call(bob, "mcp__s__t"), 5)).allowed, 2);
    assert.equal((await l.check(call(bob, "mcp__s__other"), T0)).ok, true);
  });

  it("the same subject from two issuers, or by another method, does not share a bucket", async () => {
    const l = limiter({ perPrincipal: "2/min" });
    assert.equal((await burst(l, call(oidc("alice", ISSUER_A), "mcp__s__t"), 5)).allowed, 2);
    assert.equal((await burst(l, call(oidc("alice", ISSUER_B), "mcp__s__t"), 5)).allowed, 2, "issuer B's alice is someone else");
    const keyAlice: Principal = { subject: "alice", groups: [], scopes: [], method: "api-key" };
    assert.equal((await burst(l, call(keyAlice, "mcp__s__t"), 5)).allowed, 2, "an API key's alice is someone else");
    // Separator tricks in a subject do not reach another caller's bucket.
    const tricky = oidc(`alice","${ISSUER_A}`, "");
    assert.equal((await burst(l, call(tricky, "mcp__s__t"), 5)).allowed, 2);
  });

  it("a caller's own principals entry overrides the global perPrincipal and is named in the refusal", async () => {
    const principalLimits = (p: Principal): PrincipalRateLimits | undefined => (p.subject === "alice" ? { perPrincipal: "5/min", source: 'principals["user:alice"]' } : undefined);
    const l = limiter({ perPrincipal: "2/min" }, { principalLimits });
    const a = await burst(l, call(alice, "mcp__s__t"), 10);
    assert.equal(a.allowed, 5);
    assert.equal(a.refusal?.limit, 'principals["user:alice"].rateLimits.perPrincipal');
    assert.equal((await burst(l, call(bob, "mcp__s__t"), 10)).allowed, 2);
  });

  it("perTool: the caller's own entry's globs come first, then remote.rateLimits in order", async () => {
    const principalLimits = (p: Principal): PrincipalRateLimits | undefined => (p.subject === "alice" ? { perTool: { "mcp__github__search_code": "1/min" } } : undefined);
    const l = limiter({ perTool: { "mcp__*__search*": "3/min", "mcp__*": "1/min" } }, { principalLimits });
    const a = await burst(l, call(alice, "mcp__github__search_code"), 5);
    assert.equal(a.allowed, 1);
    assert.equal(a.refusal?.limit, 'principals[…].rateLimits.perTool["mcp__github__search_code"]');
    assert.equal((await burst(l, call(bob, "mcp__github__search_code"), 5)).allowed, 3, "bob gets the first matching global glob");
    assert.equal((await burst(l, call(alice, "mcp__github__search_issues"), 5)).allowed, 3, "alice's entry does not match this tool");
    assert.equal((await burst(l, call(alice, "mcp__github__get_issue"), 5)).allowed, 1, "the catch-all glob");
  });

  it("perTool globs match the canonical name (case-insensitively, * across any character) with one bucket per tool", async () => {
    const l = limiter({ perTool: { "mcp__*__search*": "2/min" } });
    const first = await burst(l, call(alice, "mcp__github__search_code"), 5);
    assert.equal(first.allowed, 2);
    assert.match(first.refusal!.reason, /^rate limit reached: remote\.rateLimits\.perTool\["mcp__\*__search\*"\] allows 2\/min per caller and tool; retry in 30 s$/);
    assert.equal((await burst(l, call(alice, "mcp__github__search_issues"), 5)).allowed, 2, "another matching tool has its own bucket");
    assert.equal((await burst(l, call(alice, "mcp__GitHub__SEARCH_all"), 5)).allowed, 2, "case does not escape the glob");
    assert.equal((await burst(l, call(alice, "mcp__a/b__search/x"), 5)).allowed, 2, "a '/' in a name does not escape the glob");
    assert.equal((await burst(l, call(alice, "mcp__github__get_issue"), 50)).allowed, 50, "a tool no glob matches is not limited");
  });

  it("perServer by name, or * for any other server, across all callers; global across everyone", async () => {
    const l = limiter({ perServer: { github: "3/min", "*": "1/min" } });
    assert.equal((await burst(l, call(alice, "mcp__github__a"), 2)).allowed, 2);
    const g = await burst(l, call(bob, "mcp__github__b"), 5);
    assert.equal(g.allowed, 1, "bob shares github's bucket with alice");
    assert.equal(g.refusal?.limit, 'remote.rateLimits.perServer["github"]');
    assert.equal((await burst(l, call(alice, "mcp__slack__a"), 5)).allowed, 1);
    assert.equal((await burst(l, call(alice, "mcp__jira__a"), 5)).allowed, 1, "each unnamed server has its own * bucket");

    const everyone = limiter({ global: "3/min" });
    assert.equal((await burst(everyone, call(alice, "mcp__s__t"), 2)).allowed, 2);
    const b = await burst(everyone, call(bob, "mcp__x__y"), 5);
    assert.equal(b.allowed, 1);
    assert.equal(b.refusal?.limit, "remote.rateLimits.global");
  });

  it("list calls are metered: they take from global and the caller's bucket, not from tool or server buckets", async () => {
    const l = limiter({ perPrincipal: "3/min", perTool: { "mcp__*": "1/min" }, perServer: { "*": "1/min" } });
    const lists = await burst(l, { principal: alice, method: "tools/list" }, 5);
    assert.equal(lists.allowed, 3);
    assert.equal(lists.refusal?.limit, "remote.rateLimits.perPrincipal");
    assert.equal((await l.check(call(alice, "mcp__s__t"), T0)).ok, false, "the lists used up the caller's calls");
    assert.equal((await l.check(call(bob, "mcp__s__t"), T0)).ok, true, "and no server or tool token (bob's call goes through)");

    const g = limiter({ global: "2/min" });
    assert.equal((await burst(g, { principal: alice, method: "prompts/list" }, 5)).allowed, 2);
    assert.equal((await g.check({ principal: bob, method: "resources/list" }, T0)).ok, false);
  });

  it("no limits configured: every request passes and the store is never asked", async () => {
    let asked = 0;
    const store: LimitStore = { take: async () => (asked++, { ok: true }) };
    const l = limiter({}, { store });
    assert.equal(l.active, false);
    assert.equal((await burst(l, call(alice, "mcp__s__t"), 100)).allowed, 100);
    assert.equal(asked, 0);
  });

  describe("a broken store fails closed", () => {
    const failures: [string, LimitStore][] = [
      ["rejects", { take: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379")) }],
      ["throws synchronously", { take: () => { throw new Error("client closed"); } }],
      ["answers nonsense", { take: async () => ({ yes: true }) as never }],
      ["answers a refusal without a bucket", { take: async () => ({ ok: false }) as never }],
    ];
    for (const [how, store] of failures) {
      it(`a store that ${how} refuses by default, with a reason saying the store is unreachable`, async () => {
        const r = refused(await limiter({ perPrincipal: "600/min" }, { store }).check(call(alice, "mcp__s__t"), T0));
        assert.equal(r.limit, "remote.rateLimits.onStoreError");
        assert.equal(r.retryAfterSeconds, 1);
        assert.match(r.reason, /rate-limit store is unreachable/);
        assert.ok(r.storeError, "the store's own error is kept for the audit log");
        assert.ok(!r.reason.includes(r.storeError!), "but not shown to the caller");
      });
    }

    it('a throwing store lets calls through only with onStoreError "allow", and says so', async () => {
      const store = failures[0]![1];
      assert.deepEqual(await limiter({ perPrincipal: "600/min", onStoreError: "allow" }, { store }).check(call(alice, "mcp__s__t"), T0), {
        ok: true,
        storeError: "connect ECONNREFUSED 127.0.0.1:6379",
      });
      assert.equal((await limiter({ perPrincipal: "600/min", onStoreError: "deny" }, { store }).check(call(alice, "mcp__s__t"), T0)).ok, false);
    });

    it('onStoreError "local": while the store fails, this process\'s own buckets hold the same limits, and the answer says so', async () => {
      const store = failures[0]![1];
      const l = limiter({ perPrincipal: "3/min", onStoreError: "local" }, { store });
      const { allowed, refusal } = await burst(l, call(alice, "mcp__s__t"), 10);
      assert.equal(allowed, 3);
      assert.equal(refusal!.ok, false);
      assert.equal(refusal!.ok === false && refusal!.limit, "remote.rateLimits.perPrincipal");
      assert.match(refusal!.ok === false ? refusal!.reason : "", /this replica's own count while the shared rate-limit store is unreachable/);
      assert.equal((await l.check(call(bob, "mcp__s__t"), T0)).ok, true, "another caller has buckets of their own");
      const through = await l.check(call(bob, "mcp__s__t"), T0);
      assert.equal(through.ok === true && through.storeError, "connect ECONNREFUSED 127.0.0.1:6379", "a call let through locally still carries the store's error");
    });

    it("reports the store failing and answering again once per change, not per call", async () => {
      let failing = true;
      const flaky: LimitStore = { take: () => (failing ? Promise.reject(new Error("ECONNRESET")) : Promise.resolve({ ok: true })) };
      const seen: (string | undefined)[] = [];
      const l = new RateLimiter({ settings: { perPrincipal: "600/min", onStoreError: "local" }, store: flaky, onStoreHealth: (e) => seen.push(e) });
      for (let i = 0; i < 5; i++) await l.check(call(alice, "mcp__s__t"), T0);
      failing = false;
      for (let i = 0; i < 5; i++) assert.deepEqual(await l.check(call(alice, "mcp__s__t"), T0), { ok: true });
      assert.deepEqual(seen, ["ECONNRESET", undefined]);
    });

    it("a store that never answers is refused after the default 250 ms bound", async () => {
      const hanging: LimitStore = { take: () => new Promise(() => {}) };
      const started = performance.now();
      const r = refused(await limiter({ perPrincipal: "600/min" }, { store: hanging }).check(call(alice, "mcp__s__t"), T0));
      const waited = performance.now() - started;
      assert.ok(waited >= 240 && waited < 2000, `waited ${waited} ms`);
      assert.equal(r.limit, "remote.rateLimits.onStoreError");
      assert.match(r.storeError!, /did not answer within 250 ms/);
    });

    it("a principal entry that cannot be read refuses (never an unmetered call)", async () => {
      const r = refused(await limiter({ perPrincipal: "600/min" }, { principalLimits: () => ({ perPrincipal: "lots" }) }).check(call(alice, "mcp__s__t"), T0));
      assert.match(r.reason, /cannot apply its rate limits.*principals\[…\]\.rateLimits\.perPrincipal/);
      const throwing = refused(await limiter({}, { principalLimits: () => { throw new Error("policy not loaded"); } }).check(call(alice, "mcp__s__t"), T0));
      assert.match(throwing.reason, /policy not loaded/);
    });
  });
});
