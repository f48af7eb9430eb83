// 2025-era sessions shared between two real `serve` replicas through Redis (`state.redis`), behind a
// real HAProxy balancing each request round robin: a real 2025-era SDK client keeps one session
// whose requests land on both replicas; another principal presenting it gets 404 on either; DELETE
// through one ends it on the other; the per-principal cap holds across both; with Redis killed a
// replica's own sessions go on while the other answers 404 for them (never a 5xx), and once Redis is
// back new sessions are shared again; a replica that stops leaves its sessions to the other. The Redis is a private redis-server (this test kills it);
// callers are API keys.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { sessionHash } from "../../src/gateway/downstream.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch } from "./harness.js";
import { haproxyProblem, startHaproxy, type LoadBalancer } from "./lb-harness.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "./redis-harness.js";
import { httpClient, rawPost, startServe, type Serving } from "./serve-harness.js";

const skip = redisUnavailable() ?? haproxyProblem() ?? false;
const CALLERS = ["alice", "bob", "carol", "dave", "erin"] as const;
type Caller = (typeof CALLERS)[number];
const MAX_PER_PRINCIPAL = 2;

let nextId = 1;
const INIT = () => ({ jsonrpc: "2.0", id: nextId++, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "shared-e2e", version: "1" } } });

/** Retries `attempt` every 200 ms until it returns true (at most 15 s): for a replica's reconnect. */
async function eventually(what: string, attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 75; i++) {
    if (await attempt()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within 15 s`);
}

describe("serve: two replicas behind a load balancer share 2025-era sessions through Redis", { skip }, () => {
  const keys = Object.fromEntries(CALLERS.map((c) => [c, generateApiKey()])) as Record<Caller, string>;
  let redis: PrivateRedis;
  const scratches: Scratch[] = [];
  const replicas: Serving[] = [];
  let lb: LoadBalancer;
  /** Every status a replica answered in this file: none may be a 5xx. */
  const statuses: number[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await closedPort();
      const s = scratch({
        mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
        permissions: { allow: ["mcp__fx__echo"] },
        integrity: { pins: false },
        state: { redis: `redis://127.0.0.1:${redis.port}/0` },
        remote: {
          listen: `127.0.0.1:${port}`,
          auth: { apiKeys: Object.fromEntries(CALLERS.map((c) => [c, { hash: hashApiKey(keys[c]) }])) },
          sessions: { maxPerPrincipal: MAX_PER_PRINCIPAL },
        },
      });
      scratches.push(s);
      replicas.push(await startServe(s));
      ports.push(port);
    }
    lb = await startHaproxy(ports, { mode: "http" });
  });
  after(async () => {
    await lb?.stop();
    for (const r of replicas) await r.stop().catch(() => undefined);
    await redis?.stop();
    for (const s of scratches) s.cleanup();
  });

  /** Opens a session directly on replica `i`; its ID. */
  const open = async (i: number, who: Caller): Promise<string> => {
    const res = await rawPost(replicas[i]!.url, INIT(), { authorization: `Bearer ${keys[who]}` });
    statuses.push(res.status);
    const body = await res.text();
    assert.equal(res.status, 200, body);
    return res.headers.get("mcp-session-id")!;
  };
  /** A ping on session `sid` sent directly to replica `i`; the status (200 only with a result). */
  const ping = async (i: number, who: Caller, sid: string): Promise<number> => {
    const id = nextId++;
    const res = await rawPost(replicas[i]!.url, { jsonrpc: "2.0", id, method: "ping" }, { authorization: `Bearer ${keys[who]}`, "mcp-session-id": sid });
    statuses.push(res.status);
    const body = await res.text();
    if (res.status === 200) assert.match(body, new RegExp(`"id":${id}.*"result"|"result".*"id":${id}`), body);
    return res.status;
  };
  const del = async (i: number, who: Caller, sid: string): Promise<number> => {
    const res = await fetch(replicas[i]!.url, { method: "DELETE", headers: { authorization: `Bearer ${keys[who]}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" } });
    statuses.push(res.status);
    await res.body?.cancel();
    return res.status;
  };
  const records = (i: number, event: string, sid: string) => auditRecords(scratches[i]!).filter((r) => r.event === event && (r.principal as { session?: string } | undefined)?.session === sessionHash(sid));

  it("an SDK client through the load balancer keeps one session while its requests land on both replicas", async () => {
    const { client, transport, close } = await httpClient(`${lb.url}/mcp`, keys.alice, "legacy");
    try {
      const sid = transport.sessionId;
      assert.ok(sid, "the client got a session ID");
      for (let i = 0; i < 6; i++) {
        const result = (await client.callTool({ name: "fx__echo", arguments: { text: `call ${i}` } })) as { content: { text: string }[] };
        assert.match(result.content[0]!.text, new RegExp(`echo: call ${i}`));
      }
      for (let i = 0; i < 3; i++) {
        const { tools } = await client.listTools();
        assert.ok(tools.some((t) => t.name === "fx__echo"));
      }
      assert.equal(transport.sessionId, sid, "the same session throughout");
      // Every request of that very session was served (and audited) by one replica or the other, and both served some.
      const ofSession = (i: number) => auditRecords(scratches[i]!).filter((r) => (r.principal as { session?: string } | undefined)?.session === sessionHash(sid));
      const calls = (i: number) => ofSession(i).filter((r) => r.kind === "call" && r.event === "decided" && r.tool === "mcp__fx__echo" && r.decision === "allow");
      const lists = (i: number) => ofSession(i).filter((r) => r.kind === "list" && r.method === "tools/list");
      assert.equal(calls(0).length + calls(1).length, 6, "each call audited once, on the replica that served it");
      assert.equal(lists(0).length + lists(1).length, 3);
      for (const i of [0, 1]) assert.ok(calls(i).length + lists(i).length >= 2, `replica ${i + 1} served requests of the session`);
      const started = [0, 1].filter((i) => records(i, "session-started", sid).length === 1);
      assert.equal(started.length, 1, "one replica opened it");
      const other = 1 - started[0]!;
      const resumed = records(other, "session-resumed", sid);
      assert.equal(resumed.length, 1, "the other rebuilt it once");
      assert.equal((resumed[0]!.detail as { replica: string }).replica.endsWith(`:${replicas[other]!.child.pid}`), true, JSON.stringify(resumed[0]));
      assert.equal((resumed[0]!.principal as { subject: string }).subject, "apikey:alice");
      assert.deepEqual(records(started[0]!, "session-started", sid)[0]!.detail, { shared: true });
    } finally {
      await close();
    }
  });

  it("another principal presenting the session ID gets 404 on the replica that does not hold it, audited as a mismatch, and the session goes on", async () => {
    const sid = await open(0, "alice");
    assert.equal(await ping(1, "bob", sid), 404);
    assert.equal(records(1, "session-mismatch", sid).length, 1);
    assert.equal(records(1, "session-resumed", sid).length, 0, "nothing was rebuilt for bob");
    assert.equal(await ping(0, "bob", sid), 404);
    assert.equal(await ping(1, "alice", sid), 200);
    assert.equal(await ping(0, "alice", sid), 200);
  });

  it("DELETE through one replica ends the session on the other, whichever holds it", async () => {
    const first = await open(0, "alice");
    assert.equal(await ping(1, "alice", first), 200, "replica 2 holds a copy now");
    assert.equal(await del(0, "alice", first), 200);
    assert.equal(await ping(1, "alice", first), 404);
    assert.equal(await ping(0, "alice", first), 404);
    assert.ok(records(1, "session-ended", first).some((r) => /ended in the session store/.test(String(r.reason))));

    const second = await open(0, "alice");
    assert.equal(await del(1, "alice", second), 200, "a replica that did not hold it deletes it too");
    assert.equal(await ping(0, "alice", second), 404);
  });

  it(`the per-principal cap (${MAX_PER_PRINCIPAL}) holds across replicas: a third session ends the oldest on both`, async () => {
    const s1 = await open(0, "carol");
    const s2 = await open(1, "carol");
    assert.equal(await ping(1, "carol", s1), 200);
    const s3 = await open(1, "carol");
    for (const i of [0, 1]) assert.equal(await ping(i, "carol", s1), 404, `the oldest is gone on replica ${i + 1}`);
    for (const sid of [s2, s3]) for (const i of [0, 1]) assert.equal(await ping(i, "carol", sid), 200);
    assert.ok(records(1, "session-ended", s1).some((r) => r.reason === "over the per-principal cap"), "the replica that opened the third ended its copy at once");
  });

  let heldOnFirst: string;
  let openedDuringOutage: string;

  it("Redis killed: a replica's own session goes on there, the other answers 404 for it, new sessions stay local; no 5xx, the outage logged once", async () => {
    heldOnFirst = await open(0, "dave");
    await redis.kill();
    for (let i = 0; i < 3; i++) {
      assert.equal(await ping(0, "dave", heldOnFirst), 200, "held by replica 1: goes on");
      assert.equal(await ping(1, "dave", heldOnFirst), 404, "not held by replica 2: 404, the client initializes again");
    }
    openedDuringOutage = await open(1, "erin");
    assert.equal(await ping(1, "erin", openedDuringOutage), 200);
    assert.equal(await ping(0, "erin", openedDuringOutage), 404);
    const started = records(1, "session-started", openedDuringOutage);
    assert.equal((started[0]!.detail as { shared: boolean }).shared, false, JSON.stringify(started));
    assert.match(String((started[0]!.detail as { reason: string }).reason), /kept on this replica only/);
    for (const [i, s] of scratches.entries()) {
      assert.equal(auditRecords(s).filter((r) => r.event === "session-store-failing").length, 1, `replica ${i + 1} audited the outage once`);
      const text = replicas[i]!.stderr();
      assert.equal(text.match(/sessions: the session store fails/g)?.length, 1, text);
      assert.ok(!/ioredis|Unhandled|\n\s+at /.test(text), `no client noise or stack trace: ${text}`);
    }
    assert.ok(statuses.every((s) => s < 500), `no 5xx: ${statuses.join(",")}`);
  });

  it("Redis restarted: the replicas recover by themselves and new sessions are shared again", async () => {
    await redis.restart();
    let shared: string | undefined;
    await eventually("replica 1 shares a new session again", async () => {
      const sid = await open(0, "alice");
      const started = records(0, "session-started", sid)[0];
      if ((started?.detail as { shared?: boolean } | undefined)?.shared !== true) return false;
      shared = sid;
      return true;
    });
    // Replica 2 reconnects on its own schedule (at most a second between attempts): 404 until then.
    await eventually("replica 2 serves it", async () => (await ping(1, "alice", shared!)) === 200);
    assert.equal(records(1, "session-resumed", shared!).length, 1);
    assert.ok(auditRecords(scratches[0]!).some((r) => r.event === "session-store-recovered"));
    assert.match(replicas[0]!.stderr(), /sessions: the session store answers again/);
    // A session opened during the outage stays where it was; one recorded in the Redis that lost
    // its data (no persistence here) is gone once the replica learns so.
    assert.equal(await ping(1, "erin", openedDuringOutage), 200);
    assert.equal(await ping(0, "dave", heldOnFirst), 404);
    assert.ok(statuses.every((s) => s < 500), `no 5xx: ${statuses.join(",")}`);
  });

  it("a replica that stops (a rolling restart) lets go of its shared sessions: they go on through the other", async () => {
    const sid = await open(0, "bob");
    assert.equal(await replicas[0]!.stop(), 0);
    assert.ok(records(0, "session-released", sid).some((r) => /the gateway stopped on this replica/.test(String(r.reason))), "released, not ended");
    assert.equal(records(0, "session-ended", sid).length, 0);
    assert.equal(await ping(1, "bob", sid), 200);
    assert.equal(records(1, "session-resumed", sid).length, 1);
  });
});
