// serve's operations endpoints, through the real `mcp-warden serve`: /healthz, /readyz against the
// real Redis (a private redis-server) and PostgreSQL (127.0.0.1:5432, the audit log's store, in a
// scratch schema), against a closed port and a PostgreSQL cut off mid-run, /metrics after real calls
// (counters moved, no secrets), and who may read /metrics.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch, waitFor } from "./harness.js";
import pg from "pg";
import { initStateSchema } from "../../src/state/postgres-schema.js";
import { oidcUnavailable, startOidcIssuer, type OidcIssuer } from "./oidc.js";
import { pgProxy, pgScratch, type PgScratch, type TcpProxy } from "./postgres-harness.js";
import { httpClient, rawPost, startServe, type Serving } from "./serve-harness.js";
import { startPrivateRedis, type PrivateRedis } from "./redis-harness.js";

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "ops", version: "1" } } };
const origin = (url: string) => new URL(url).origin;

interface Readiness {
  ready: boolean;
  notReady: string[];
  checks: { name: string; ok: boolean; reason?: string }[];
}

async function readyz(srv: Serving): Promise<{ status: number; body: Readiness; text: string }> {
  const res = await fetch(`${origin(srv.url)}/readyz`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Readiness, text };
}

/** Waits (bounded) until /readyz answers `status` (200 by default: the eager server starts after serve listens). */
async function untilReady(srv: Serving, status = 200): Promise<Readiness> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await readyz(srv);
    if (r.status === status) return r.body;
    if (Date.now() > deadline) throw new Error(`/readyz did not answer ${status} within 20 s: ${r.text}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** A scratch schema with the audit and pins tables, as `mcp-warden state init-postgres` makes them. */
async function auditDatabase(): Promise<PgScratch> {
  const db = await pgScratch();
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    await initStateSchema(c);
  } finally {
    await c.end();
  }
  return db;
}

async function metricsText(srv: Serving): Promise<string> {
  return (await fetch(`${origin(srv.url)}/metrics`)).text();
}

/** The value of one sample line (`name{labels} value`) of the Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe("serve operations: health, readiness with the real Redis and PostgreSQL, metrics after calls", () => {
  const key = generateApiKey();
  let db: PgScratch;
  let s: Scratch;
  let srv: Serving;
  let redis: PrivateRedis;
  before(async () => {
    db = await auditDatabase();
    // A private Redis: the buckets of a 3/min limit must not be shared with another run of this file
    // (the machine's Redis outlives a run, and the bucket keys are the same for the same caller and tool).
    redis = await startPrivateRedis();
    const port = await closedPort();
    s = scratch({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE], share: "shared", startup: "eager" } },
      permissions: { allow: ["mcp__fx__echo", "mcp__fx__crash"], deny: ["mcp__fx__env"] },
      integrity: { pins: false },
      state: { redis: redis.url, postgres: db.adminUrl },
      remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { alice: { hash: hashApiKey(key) } } }, rateLimits: { perTool: { "mcp__fx__echo": "3/min" } } },
    });
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await redis?.stop();
    s?.cleanup();
    await db?.drop();
  });

  it("/healthz answers 200 without a token and says nothing but ok", async () => {
    const res = await fetch(`${origin(srv.url)}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok\n");
  });

  it("/readyz answers 200 once the real Redis answers PING, the real PostgreSQL SELECT 1, and the eager server is up", async () => {
    const body = await untilReady(srv);
    assert.equal(body.ready, true);
    assert.deepEqual(body.notReady, []);
    assert.deepEqual(
      body.checks.map((c) => [c.name, c.ok]),
      [
        ["redis", true],
        ["postgres", true],
        ["server:fx", true],
      ],
    );
  });

  it("/metrics counts calls by decision, latency, auth failures, rate limits, restarts and open sessions, and carries no secret", async () => {
    await untilReady(srv);
    const c = await httpClient(srv.url, key, "modern");
    let sessionId = "";
    try {
      // Allowed twice, denied once: calls by decision.
      for (const text of ["one", "two"]) {
        const r = await c.client.callTool({ name: "fx__echo", arguments: { text } });
        assert.notEqual(r.isError, true, JSON.stringify(r));
      }
      await assert.rejects(c.client.callTool({ name: "fx__env", arguments: { name: "HOME" } }));
      // The third echo is the last of 3/min; the fourth is refused with 429.
      await c.client.callTool({ name: "fx__echo", arguments: { text: "three" } });
      await assert.rejects(c.client.callTool({ name: "fx__echo", arguments: { text: "four" } }), /429|Too Many Requests|rate limit/i);
      // The upstream dies mid-call and is restarted.
      await c.client.callTool({ name: "fx__crash", arguments: {} }).catch(() => undefined);
      // Bounded: the restart comes after the upstream's backoff.
      const deadline = Date.now() + 20_000;
      while (((sample(await metricsText(srv), "mcp_warden_upstream_restarts_total", { server: "fx" }) ?? 0) < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      await c.close();
    }
    // A 2025-era session stays open while the metrics are read.
    const init = await rawPost(srv.url, INIT, { authorization: `Bearer ${key}` });
    assert.equal(init.status, 200);
    sessionId = init.headers.get("mcp-session-id") ?? "";
    assert.ok(sessionId.length > 20);
    // A wrong key: an authentication failure.
    assert.equal((await rawPost(srv.url, INIT, { authorization: "Bearer mcpw_wrong_key_for_metrics" })).status, 401);

    const res = await fetch(`${origin(srv.url)}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, "mcp_warden_calls_total", { server: "fx", decision: "allow" }), 4, text);
    assert.equal(sample(text, "mcp_warden_calls_total", { server: "fx", decision: "deny" }), 1);
    assert.ok((sample(text, "mcp_warden_call_duration_seconds_count", { server: "fx", outcome: "ok" }) ?? 0) >= 3);
    assert.equal(sample(text, "mcp_warden_call_duration_seconds_count", { server: "fx", outcome: "denied" }), 1);
    assert.ok((sample(text, "mcp_warden_auth_failures_total", { status: "401" }) ?? 0) >= 1);
    assert.equal(sample(text, "mcp_warden_rate_limited_total", { limit: "perTool" }), 1);
    assert.ok((sample(text, "mcp_warden_upstream_restarts_total", { server: "fx" }) ?? 0) >= 1);
    assert.equal(sample(text, "mcp_warden_open_sessions"), 1);
    for (const name of ["mcp_warden_sandbox_failures_total", "mcp_warden_settings_reloads_total", "mcp_warden_process_cpu_seconds_total"]) assert.match(text, new RegExp(`^# TYPE ${name} `, "m"));
    // Nothing that identifies a caller or could be replayed.
    for (const secret of [key, sessionId, "alice", "mcpw_wrong_key_for_metrics"]) assert.ok(!text.includes(secret), `the metrics contain ${secret.slice(0, 12)}…`);
  });
});

describe("serve operations: not ready while a store is down; who may read /metrics", () => {
  const key = generateApiKey();
  const password = "s3cret-redis-pw-5f2a";
  const env = { OPS_REDIS_PASSWORD: password };
  let db: PgScratch;
  let proxy: TcpProxy;
  let s: Scratch;
  let srv: Serving;
  before(async () => {
    db = await auditDatabase();
    // PostgreSQL through a proxy this test can cut: serve needs it at start (its audit log is there).
    proxy = await pgProxy();
    const port = await closedPort();
    const redisPort = await closedPort();
    s = scratch({
      // The Redis password through ${VAR}, as a Secret would give it.
      state: { redis: `redis://:\${OPS_REDIS_PASSWORD}@127.0.0.1:${redisPort}/0`, postgres: db.urlFor(undefined, proxy.port) },
      remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { ops: { hash: hashApiKey(key) } } } },
    });
    srv = await startServe(s, [], env);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await proxy?.cut().catch(() => undefined);
    s?.cleanup();
    await db?.drop();
  });

  it("/readyz answers 503 naming redis (a closed port), with the reason but never the password, postgres ready; /healthz stays 200", async () => {
    const r = await readyz(srv);
    assert.equal(r.status, 503);
    assert.equal(r.body.ready, false);
    assert.deepEqual(r.body.notReady, ["redis"]);
    assert.match(r.body.checks[0]!.reason ?? "", /^redis at redis:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.deepEqual(r.body.checks[1], { name: "postgres", ok: true });
    assert.ok(!r.text.includes(password), r.text);
    assert.equal((await fetch(`${origin(srv.url)}/healthz`)).status, 200);
  });

  it("a probe with the pod's address as Host (as a kubelet sends) gets /healthz and /readyz, without reasons; /metrics and /mcp stay refused for that Host", async () => {
    const { request } = await import("node:http");
    const get = (path: string, method = "GET") =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const u = new URL(srv.url);
        const req = request({ host: u.hostname, port: u.port, path, method, headers: { host: "10.1.2.3:8787" } }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.once("error", reject);
        req.end();
      });
    assert.equal((await get("/healthz")).status, 200);
    const ready = await get("/readyz");
    assert.equal(ready.status, 503);
    const body = JSON.parse(ready.body) as Readiness;
    assert.deepEqual(body.notReady, ["redis"]);
    assert.ok(body.checks.every((c) => c.reason === undefined), ready.body);
    assert.equal((await get("/metrics")).status, 403);
    assert.equal((await get("/mcp", "POST")).status, 403);
  });

  it("/metrics and /readyz's reasons are not for an address outside remote.metrics.allowFrom", async () => {
    const settings = JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(s.settingsFile, "utf8"))) as Record<string, Record<string, unknown>>;
    settings.remote!.metrics = { allowFrom: ["10.0.0.0/8"] };
    const port = await closedPort();
    settings.remote!.listen = `127.0.0.1:${port}`;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    const narrow = await startServe(s, [], env);
    try {
      const res = await fetch(`${origin(narrow.url)}/metrics`);
      assert.equal(res.status, 403);
      assert.match(await res.text(), /remote\.metrics\.allowFrom/);
      const r = await readyz(narrow);
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.notReady, ["redis"]);
      assert.ok(r.body.checks.every((c) => c.reason === undefined), "the reasons are for allowed addresses only");
    } finally {
      await narrow.stop();
    }
  });

  it("with remote.metrics.bearerTokenEnv, /metrics needs that token (401 without it, 200 with it)", async () => {
    const { readFileSync, writeFileSync } = await import("node:fs");
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8")) as Record<string, Record<string, unknown>>;
    settings.remote!.metrics = { bearerTokenEnv: "OPS_METRICS_TOKEN" };
    settings.remote!.listen = `127.0.0.1:${await closedPort()}`;
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    const token = "metrics-token-91c3d0";
    const tokened = await startServe(s, [], { ...env, OPS_METRICS_TOKEN: token });
    try {
      assert.equal((await fetch(`${origin(tokened.url)}/metrics`)).status, 401);
      assert.equal((await fetch(`${origin(tokened.url)}/metrics`, { headers: { authorization: "Bearer not-the-token" } })).status, 401);
      const ok = await fetch(`${origin(tokened.url)}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^# HELP mcp_warden_calls_total /m);
    } finally {
      await tokened.stop();
    }
    // Without the variable set, serve refuses to start and names it.
    await assert.rejects(startServe(s, [], env), /OPS_METRICS_TOKEN/);
  });

  it("PostgreSQL cut off mid-run: /readyz answers 503 naming postgres too", async () => {
    await proxy.cut();
    const body = await untilReady(srv, 503);
    const deadline = Date.now() + 20_000;
    let last = body;
    while (!last.notReady.includes("postgres") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      last = (await readyz(srv)).body;
    }
    assert.deepEqual(last.notReady, ["redis", "postgres"]);
    assert.match(last.checks[1]!.reason ?? "", /^postgres at postgresql:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.equal((await fetch(`${origin(srv.url)}/healthz`)).status, 200);
  });
});

describe("serve operations: readiness follows the identity provider's keys", { skip: oidcUnavailable() }, () => {
  let idp: OidcIssuer;
  let s: Scratch;
  let srv: Serving;
  before(async () => {
    idp = await startOidcIssuer();
    const port = await closedPort();
    s = scratch({ remote: { listen: `127.0.0.1:${port}`, resource: `http://127.0.0.1:${port}/mcp`, auth: { issuer: idp.issuer } } });
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await idp?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("/readyz is 200 while the issuer's key set can be fetched, and 503 naming identity-provider once the issuer is gone", async () => {
    const up = await untilReady(srv);
    assert.deepEqual(up.checks, [{ name: "identity-provider", ok: true }]);
    await idp.stop();
    const down = await untilReady(srv, 503);
    assert.deepEqual(down.notReady, ["identity-provider"]);
    assert.match(down.checks[0]!.reason ?? "", /signing keys|cannot reach the identity provider/);
    assert.equal((await fetch(`${origin(srv.url)}/healthz`)).status, 200);
  });
});
