// Rate limits shared in Redis between two real `serve` replicas: a per-principal limit of N per minute
// holds across both; a Redis killed mid-run makes them refuse (onStoreError "deny", the default) or
// carry on with each replica's own buckets ("local"), a tool the policy denies stays denied, and once
// Redis is back the replicas share their counts again without a restart. The Redis is a private
// redis-server with a password, given through `${VAR}` in state.redis (this test kills it); callers are API keys; requests are raw 2026-07-28 tools/calls,
// one request each, so every call takes exactly one token.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch } from "./harness.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "./redis-harness.js";
import { rawPost, startServe, type Serving } from "./serve-harness.js";

const skip = redisUnavailable();
/** The per-principal limit: N calls per minute. */
const N = 6;
const CALLERS = ["alice", "bob", "carol", "dave", "erin", "frank"] as const;
type Caller = (typeof CALLERS)[number];

let nextId = 1;
/** A 2026-07-28 tools/call with its headers; the answer's status and text. */
async function call(url: string, key: string, tool: "echo" | "env", text = "hi"): Promise<{ status: number; body: string }> {
  const args = tool === "echo" ? { text } : {};
  const body = {
    jsonrpc: "2.0",
    id: nextId++,
    method: "tools/call",
    params: {
      name: `fx__${tool}`,
      arguments: args,
      _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" } },
    },
  };
  const res = await rawPost(url, body, {
    authorization: `Bearer ${key}`,
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": `fx__${tool}`,
    ...(tool === "echo" ? { "mcp-param-text": text } : {}),
  });
  return { status: res.status, body: await res.text() };
}

/** The private Redis's password, given to serve through `${VAR}` in state.redis. */
const REDIS_PASSWORD = "e2e-3b9f-redis-pass";

/** Two replicas with the same settings (each its own audit directory), sharing one Redis. */
async function startReplicas(redisPort: number, onStoreError: "deny" | "local" | undefined, keys: Record<Caller, string>): Promise<{ scratches: Scratch[]; replicas: Serving[] }> {
  const scratches: Scratch[] = [];
  const replicas: Serving[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await closedPort();
    const s = scratch({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      permissions: { allow: ["mcp__fx__echo"], deny: ["mcp__fx__env"] },
      integrity: { pins: false },
      state: { redis: `redis://:\${WARDEN_TEST_REDIS_PASSWORD}@127.0.0.1:${redisPort}/0` },
      remote: {
        listen: `127.0.0.1:${port}`,
        auth: { apiKeys: Object.fromEntries(CALLERS.map((c) => [c, { hash: hashApiKey(keys[c]) }])) },
        rateLimits: { perPrincipal: `${N}/min`, ...(onStoreError ? { onStoreError } : {}) },
      },
    });
    scratches.push(s);
    replicas.push(await startServe(s, [], { WARDEN_TEST_REDIS_PASSWORD: REDIS_PASSWORD }));
  }
  return { scratches, replicas };
}

/** Retries `attempt` every 200 ms until it returns true (at most 15 s): for the replicas' reconnect. */
async function eventually(what: string, attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 75; i++) {
    if (await attempt()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within 15 s`);
}

for (const mode of ["deny", "local"] as const) {
  describe(`serve: two replicas share rate limits in Redis (onStoreError ${mode === "deny" ? "unset: deny" : '"local"'})`, { skip }, () => {
    const keys = Object.fromEntries(CALLERS.map((c) => [c, generateApiKey()])) as Record<Caller, string>;
    let redis: PrivateRedis;
    let scratches: Scratch[] = [];
    let replicas: Serving[] = [];
    const url = (i: number) => replicas[i % 2]!.url;

    before(async () => {
      redis = await startPrivateRedis({ password: REDIS_PASSWORD });
      ({ scratches, replicas } = await startReplicas(redis.port, mode === "deny" ? undefined : "local", keys));
    });
    after(async () => {
      for (const r of replicas) await r.stop().catch(() => undefined);
      await redis?.stop();
      for (const s of scratches) s.cleanup();
    });

    it(`${N} calls spread over both replicas are served; call ${N + 1} is refused with 429 on either; another caller is not`, async () => {
      for (let i = 0; i < N; i++) {
        const r = await call(url(i), keys.alice, "echo", `call ${i}`);
        assert.equal(r.status, 200, r.body);
        assert.match(r.body, new RegExp(`echo: call ${i}`));
      }
      for (const i of [0, 1]) {
        const refused = await call(url(i), keys.alice, "echo");
        assert.equal(refused.status, 429, refused.body);
        assert.match(refused.body, /remote\.rateLimits\.perPrincipal allows 6\/min per caller/);
      }
      assert.equal((await call(url(1), keys.bob, "echo")).status, 200);
      const limited = [...auditRecords(scratches[0]!), ...auditRecords(scratches[1]!)].filter((r) => r.event === "rate-limited");
      assert.equal(limited.length, 2, "each replica audited its refusal");
    });

    it("a tool the policy denies is denied (and takes a token like any call)", async () => {
      const denied = await call(url(0), keys.carol, "env");
      assert.equal(denied.status, 200, denied.body);
      assert.match(denied.body, /Denied by mcp-warden/);
    });

    if (mode === "deny") {
      it("Redis killed: every call is refused with 429 on both replicas, a denied tool too, and the outage is logged and audited once", async () => {
        await redis.kill();
        for (let i = 0; i < 4; i++) {
          const r = await call(url(i), keys.dave, i % 2 ? "env" : "echo");
          assert.equal(r.status, 429, r.body);
          assert.match(r.body, /rate-limit store is unreachable/);
        }
        for (const [i, s] of scratches.entries()) {
          const failing = auditRecords(s).filter((r) => r.event === "limit-store-failing");
          assert.equal(failing.length, 1, `replica ${i + 1} audited the outage once`);
          assert.match(replicas[i]!.stderr(), /the limit store fails/);
        }
        const text = replicas.map((r) => r.stderr()).join("");
        assert.ok(!/ioredis|Unhandled error event/.test(text), "no raw client noise on stderr");
        const logged = JSON.stringify([...auditRecords(scratches[0]!), ...auditRecords(scratches[1]!)]) + text;
        assert.ok(!logged.includes(REDIS_PASSWORD), "the password is in no log");
      });
    } else {
      it("Redis killed: each replica carries on with its own buckets (N each), and a denied tool stays denied", async () => {
        await redis.kill();
        for (let i = 0; i < N; i++) {
          const r = await call(url(0), keys.dave, "echo", `local ${i}`);
          assert.equal(r.status, 200, r.body);
          assert.match(r.body, new RegExp(`echo: local ${i}`));
        }
        const over = await call(url(0), keys.dave, "echo");
        assert.equal(over.status, 429, over.body);
        assert.match(over.body, /this replica's own count/);
        // The other replica counts for itself while Redis is away: the limit holds per replica only.
        assert.equal((await call(url(1), keys.dave, "echo")).status, 200);
        const denied = await call(url(1), keys.erin, "env");
        assert.match(denied.body, /Denied by mcp-warden/);
        for (const s of scratches) assert.equal(auditRecords(s).filter((r) => r.event === "limit-store-failing").length, 1);
        const decided = auditRecords(scratches[1]!).filter((r) => r.event === "decided" && r.tool === "mcp__fx__env");
        assert.ok(decided.length >= 1 && decided.every((r) => r.decision === "deny"), `the policy decided deny: ${JSON.stringify(decided)}`);
      });
    }

    it("Redis restarted: the replicas recover by themselves and share one count again", async () => {
      await redis.restart();
      // Erin probes each replica until it has audited the store answering again (a replica notices on
      // its next take; with "local", probes in the meantime may be served from its own buckets).
      for (const [i, s] of scratches.entries()) {
        await eventually(`replica ${i + 1} takes from Redis again`, async () => {
          await call(url(i), keys.erin, "echo");
          return auditRecords(s).some((r) => r.event === "limit-store-recovered");
        });
      }
      // Shared again: frank's N calls spread over both replicas are served and the next is refused
      // (counted per replica, as while Redis was away, he would get 2N).
      for (let i = 0; i < N; i++) assert.equal((await call(url(i), keys.frank, "echo")).status, 200);
      const refused = await call(url(0), keys.frank, "echo");
      assert.equal(refused.status, 429, refused.body);
      assert.match(refused.body, /remote\.rateLimits\.perPrincipal allows/);
      assert.ok(!/this replica's own count/.test(refused.body), "counted in Redis, not locally");
    });
  });
}

describe("serve: state.redis that cannot be reached", { skip }, () => {
  it("stops serve from starting, naming the host and what to do, never the password", async () => {
    const redisPort = await closedPort();
    const port = await closedPort();
    const s = scratch({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      state: { redis: `redis://:\${WARDEN_TEST_REDIS_PASSWORD}@127.0.0.1:${redisPort}/0` },
      remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { alice: { hash: hashApiKey(generateApiKey()) } } }, rateLimits: { perPrincipal: "6/min" } },
    });
    try {
      await assert.rejects(startServe(s, [], { WARDEN_TEST_REDIS_PASSWORD: "pw-4f1d-secret" }), (e: Error) => {
        assert.match(e.message, /exited early \(2\)/);
        assert.match(e.message, new RegExp(`cannot serve: cannot reach Redis at 127\\.0\\.0\\.1:${redisPort}/0 \\(state\\.redis\\).*start Redis there or correct state\\.redis`));
        assert.ok(!e.message.includes("pw-4f1d-secret"), e.message);
        return true;
      });
    } finally {
      s.cleanup();
    }
  });
});
