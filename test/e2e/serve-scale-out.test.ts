// Scale-out end to end: two real `serve` replicas behind a real HAProxy (round robin per request),
// sharing a private Redis (rate limits) and the machine's PostgreSQL (the audit log, each replica its
// own writer chain). Proved here:
// - a per-caller limit of N per minute holds across the replicas: call N+1 is refused, whichever
//   replica it reaches;
// - replica 1 killed with SIGKILL under a bounded load: the clients go on through the load balancer
//   (every call started after the replica died completes), every call a client saw complete has its
//   decision and its outcome in PostgreSQL (the outcome is committed before the response goes back),
//   and `audit verify` passes over both writers.
// Shared sessions and approvals have their own files (serve-shared-sessions, serve-shared-approvals);
// Redis stopped mid-run is serve-shared-limits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { initStateSchema } from "../../src/state/postgres-schema.js";
import { closedPort, FIXTURE, scratch, wardenAsync, type Scratch } from "./harness.js";
import { haproxyProblem, startHaproxy, type LoadBalancer } from "./lb-harness.js";
import { pgScratch, postgresUnavailable, withPgClient as withClient, type PgScratch } from "./postgres-harness.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "./redis-harness.js";
import { httpClient, rawPost, startServe, type Serving } from "./serve-harness.js";

const skip = (await postgresUnavailable()) ?? redisUnavailable() ?? haproxyProblem();
/** The limited caller's calls per minute. */
const N = 6;
const WORKERS = 4;
const CALLS_PER_WORKER = 40;

let nextId = 1;
/** One 2026-07-28 tools/call of the fixture's echo (stateless: the load balancer may send each anywhere). */
async function echo(url: string, key: string, text: string): Promise<{ status: number; body: string }> {
  const body = {
    jsonrpc: "2.0",
    id: nextId++,
    method: "tools/call",
    params: {
      name: "fx__echo",
      arguments: { text },
      _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "load", version: "1" } },
    },
  };
  try {
    const res = await rawPost(url, body, { authorization: `Bearer ${key}`, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "fx__echo" });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    // A connection the killed replica dropped mid-request.
    return { status: 0, body: (e as Error).message };
  }
}

describe("serve scale-out: two replicas behind HAProxy share Redis and PostgreSQL", { skip }, () => {
  const keys = { limited: generateApiKey(), load: generateApiKey() };
  let db: PgScratch;
  let redis: PrivateRedis;
  const scratches: Scratch[] = [];
  const replicas: Serving[] = [];
  let lb: LoadBalancer;

  before(async () => {
    db = await pgScratch();
    const role = await db.createRole();
    await withClient(db.adminUrl, (c) => initStateSchema(c, role));
    redis = await startPrivateRedis();
    const ports = [await closedPort(), await closedPort()];
    for (const port of ports) {
      const s = scratch({
        mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
        permissions: { allow: ["mcp__fx__echo"], deny: ["mcp__fx__env"] },
        integrity: { pins: false },
        state: { redis: `redis://127.0.0.1:${redis.port}/0`, postgres: db.urlFor(role) },
        principals: { "user:apikey:limited": { rateLimits: { perPrincipal: `${N}/min` } } },
        remote: {
          listen: `127.0.0.1:${port}`,
          auth: { apiKeys: { limited: { hash: hashApiKey(keys.limited) }, load: { hash: hashApiKey(keys.load) } } },
        },
      });
      scratches.push(s);
      replicas.push(await startServe(s));
    }
    lb = await startHaproxy(ports, { mode: "http" });
  });
  after(async () => {
    await lb?.stop();
    for (const r of replicas) await r.stop().catch(() => undefined);
    await redis?.stop();
    for (const s of scratches) s.cleanup();
    await db?.drop();
  });

  it(`a limit of ${N}/min per caller holds across both replicas: ${N} calls through the load balancer pass, call ${N + 1} is refused`, async () => {
    for (let i = 0; i < N; i++) {
      const r = await echo(`${lb.url}/mcp`, keys.limited, `limited ${i}`);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, new RegExp(`echo: limited ${i}`));
    }
    const refused = await echo(`${lb.url}/mcp`, keys.limited, "one too many");
    assert.equal(refused.status, 429, refused.body);
    assert.match(refused.body, /allows 6\/min per caller/);
    // Both replicas served the caller's calls: the round robin spread them, yet one bucket counted.
    const rows = await db.admin<{ line: string }>("SELECT line FROM mcp_warden_audit WHERE kind = 'call' AND event = 'decided' AND principal = 'apikey:limited'");
    assert.equal(rows.rows.length, N);
    const writers = await db.admin<{ n: string }>("SELECT count(DISTINCT writer) AS n FROM mcp_warden_audit WHERE kind = 'call' AND principal = 'apikey:limited'");
    assert.equal(Number(writers.rows[0]!.n), 2, "the calls reached both replicas");
  });

  it("replica 1 killed (SIGKILL) under load: every call started after it died completes through the load balancer (only calls racing its death may fail), every completed call is in PostgreSQL with its outcome, audit verify passes", async () => {
    const completed: string[] = [];
    /** Calls that failed, and whether each started before the killed replica's exit was seen. */
    const failed: { call: string; beforeExit: boolean }[] = [];
    let started = 0;
    let killedAt = -1;
    // A call can fail only if it reached the replica before its sockets closed: in flight at the
    // kill, or sent in the few milliseconds the kernel still completed connections to the dying
    // process (HAProxy then sees the request reset, and a POST is not safe to send twice). Once the
    // process has exited, its port refuses connections and HAProxy sends every call to replica 2.
    let exited = false;
    const victim = replicas[0]!.child;
    victim.once("exit", () => (exited = true));
    const record = (call: string, ok: boolean, beforeExit: boolean, shown: string) => {
      if (ok) completed.push(call);
      else failed.push({ call: `${call}: ${shown.slice(0, 200)}`, beforeExit });
    };
    const worker = async (w: number) => {
      for (let i = 0; i < CALLS_PER_WORKER; i++) {
        const text = `w${w}-c${i}`;
        if (++started === Math.floor((WORKERS * CALLS_PER_WORKER) / 3) && killedAt < 0) {
          killedAt = completed.length;
          victim.kill("SIGKILL");
        }
        const beforeExit = !exited;
        const r = await echo(`${lb.url}/mcp`, keys.load, text);
        record(text, r.status === 200 && r.body.includes(`echo: ${text}`), beforeExit, `${r.status} ${r.body}`);
      }
    };
    // A 2025-era SDK client keeps one session through it all: the session is shared in Redis, so the
    // surviving replica carries it on after the kill.
    const session = await httpClient(`${lb.url}/mcp`, keys.load, "legacy");
    const sessionId = session.transport.sessionId;
    const sessionWorker = async () => {
      for (let i = 0; i < CALLS_PER_WORKER; i++) {
        const text = `s-c${i}`;
        const beforeExit = !exited;
        const r = await session.client.callTool({ name: "fx__echo", arguments: { text } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
        const shown = JSON.stringify(r.content);
        record(text, r.isError !== true && shown.includes(`echo: ${text}`), beforeExit, shown);
      }
    };
    try {
      await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), sessionWorker()]);
    } finally {
      await session.close().catch(() => undefined);
    }
    assert.ok(killedAt > 0, "the replica was killed while calls were going on");
    assert.ok(exited && victim.signalCode === "SIGKILL", "the replica died of the SIGKILL");
    assert.equal(session.transport.sessionId, sessionId, "the session kept its id");
    const afterDeath = failed.filter((f) => !f.beforeExit);
    assert.deepEqual(afterDeath.map((f) => f.call), [], "no call started after the replica died failed");
    // Each client has one call at a time: a handful raced the death at most.
    assert.ok(failed.length <= 2 * (WORKERS + 1), `failed: ${failed.map((f) => f.call).join("\n")}`);
    assert.equal(completed.length + failed.length, (WORKERS + 1) * CALLS_PER_WORKER);
    assert.ok(completed.length - killedAt > WORKERS * CALLS_PER_WORKER / 2, "most calls completed after the kill");

    // Every call a client saw complete: its decision (allow) and its outcome (ok), same request id.
    const lines = (await db.admin<{ line: string }>("SELECT line FROM mcp_warden_audit WHERE kind = 'call' AND principal = 'apikey:load'")).rows.map(
      (r) => JSON.parse(r.line) as { id: string; event: string; decision?: string; outcome?: string; arguments?: { text?: string } },
    );
    const decidedByText = new Map(lines.filter((l) => l.event === "decided" && l.decision === "allow").map((l) => [l.arguments?.text, l.id]));
    const okIds = new Set(lines.filter((l) => l.event === "completed" && l.outcome === "ok").map((l) => l.id));
    const missing = completed.filter((t) => !decidedByText.has(t) || !okIds.has(decidedByText.get(t)!));
    assert.deepEqual(missing, [], "every completed call has its decision and outcome in PostgreSQL");

    const verify = await wardenAsync(scratches[1]!, ["audit", "verify", "--settings", scratches[1]!.settingsFile]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /audit log intact \(PostgreSQL mcp_warden_audit\): \d+ records from 2 writers/);
    assert.match(verify.stdout, /without a stop record/, "the killed replica's writer is reported as unfinished");
  });
});
