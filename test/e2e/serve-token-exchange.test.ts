// Token exchange (RFC 8693) in remote mode, end to end: the real `mcp-warden serve` process, a real
// OpenID provider (oidc-provider under Node 22, test/fixtures/oidc-issuer.mjs, with the
// token-exchange grant) and a real HTTP upstream (test/fixtures/http-fixture-server.ts).
//
// What the upstream received is read from the upstream fixture's own request log: for each request
// it logs the bearer JWT's payload part and a hash of its signature part (never the signature). The
// `whoami` tool's result is not used for that: the gateway's secret scanner redacts JWTs in results.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { auditRecords, closedPort, scratch, type Scratch } from "./harness.js";
import { oidcUnavailable, startOidcIssuer, type OidcIssuer } from "./oidc.js";
import { httpClient, startHttpFixture, startServe, type HttpFixture, type Serving } from "./serve-harness.js";

const skip = oidcUnavailable();
const GATEWAY_CLIENT = "mcp-warden-gateway";
const GATEWAY_SECRET = `${GATEWAY_CLIENT}-secret`;
const SECRET_ENV = "WARDEN_TEST_EXCHANGE_SECRET";
const UPSTREAM_AUDIENCE = "https://upstream.example/api";
/** An API key (made up for this test) and its settings hash. */
const API_KEY = `mcpw_${"k".repeat(43)}`;
const API_KEY_HASH = `sha256:${createHash("sha256").update(API_KEY).digest("hex")}`;

interface Received {
  method: string;
  claims: Record<string, unknown>;
  signatureHash: string;
}

/** The bearer JWTs the upstream received, per request, from its log (`auth=jwt:<payload>:<sig hash>`). */
function received(upstream: HttpFixture): Received[] {
  const out: Received[] = [];
  for (const m of upstream.stderr().matchAll(/^request \S+ (\S+) .* auth=jwt:([A-Za-z0-9_-]+):([0-9a-f]{16}) /gm)) {
    out.push({ method: m[1]!, claims: JSON.parse(Buffer.from(m[2]!, "base64url").toString()) as Record<string, unknown>, signatureHash: m[3]! });
  }
  return out;
}
const requestLines = (upstream: HttpFixture) => upstream.stderr().split("\n").filter((l) => l.startsWith("request "));
const signatureHash = (jwt: string) => createHash("sha256").update(jwt.split(".")[2]!).digest("hex").slice(0, 16);

function settingsFor(upstream: HttpFixture, port: number, issuer: string) {
  return {
    mcpServers: {
      web: {
        type: "http",
        url: `http://127.0.0.1:${upstream.port}/mcp`,
        headers: { "X-Static": "static-header-stays" },
        tokenExchange: { clientId: GATEWAY_CLIENT, clientSecretEnv: SECRET_ENV, audience: UPSTREAM_AUDIENCE },
      },
    },
    permissions: { allow: ["mcp__web__whoami", "mcp__web__echo"] },
    integrity: { pins: false },
    remote: {
      listen: `127.0.0.1:${port}`,
      resource: `http://127.0.0.1:${port}/mcp`,
      auth: { issuer, apiKeys: { "ci-bot": { hash: API_KEY_HASH } } },
    },
  };
}

describe("serve: an upstream's credential from RFC 8693 token exchange for each caller", { skip }, () => {
  let idp: OidcIssuer;
  let upstream: HttpFixture;
  let s: Scratch;
  let srv: Serving;
  let resource: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    const port = await closedPort();
    resource = `http://127.0.0.1:${port}/mcp`;
    idp = await startOidcIssuer(0, { exchangeSubjectAudience: resource });
    upstream = await startHttpFixture();
    s = scratch(settingsFor(upstream, port, idp.issuer));
    srv = await startServe(s, [], { [SECRET_ENV]: GATEWAY_SECRET });
    for (const c of ["client-a", "client-b"]) tokens[c] = await idp.token(c, resource);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await upstream?.stop();
    await idp?.stop();
    s?.cleanup();
  });

  it("sends A's call upstream with a token the IdP issued for A (A's sub, the configured audience, act = the gateway), never A's own token, and exchanges once per token", async () => {
    const a = await httpClient(srv.url, tokens["client-a"], "legacy");
    try {
      const first = await a.client.callTool({ name: "web__whoami", arguments: {} });
      assert.ok(!first.isError, `whoami failed: ${JSON.stringify(first.content)}\n${srv.stderr()}`);
      assert.ok(!JSON.stringify(first).includes(tokens["client-a"]!), "the result does not carry A's own token");
      await a.client.callTool({ name: "web__echo", arguments: { text: "again" } });
    } finally {
      await a.close();
    }
    const got = received(upstream);
    const calls = got.filter((r) => r.method === "tools/call");
    assert.equal(calls.length, 2, `two calls arrived with a bearer JWT:\n${requestLines(upstream).join("\n")}`);
    for (const r of got) {
      assert.equal(r.claims.sub, "user-alice", "issued for A's subject");
      assert.equal(r.claims.aud, UPSTREAM_AUDIENCE, "for the configured audience");
      assert.deepEqual(r.claims.act, { sub: GATEWAY_CLIENT }, "naming the gateway as the actor");
      assert.equal(r.claims.iss, idp.issuer);
      assert.notEqual(r.signatureHash, signatureHash(tokens["client-a"]!), "not A's own token");
    }
    // Every request of A's instance (discovery, lists, calls) carried the exchanged token, and the entry's other static headers.
    assert.ok(requestLines(upstream).every((l) => /auth=jwt:/.test(l)), `a request went without the exchanged token:\n${requestLines(upstream).join("\n")}`);
    assert.ok(requestLines(upstream).every((l) => / x=x-static$/.test(l)), `the static X-Static header was sent:\n${requestLines(upstream).join("\n")}`);
    // The exchanged token is cached for A: one exchange for all of A's requests.
    assert.equal(new Set(got.map((r) => r.signatureHash)).size, 1, "one exchanged token for all of A's requests");
    const exchanged = auditRecords(s).filter((r) => r.event === "token-exchanged");
    assert.equal(exchanged.length, 1, `one token-exchanged record: ${JSON.stringify(exchanged)}`);
    assert.equal((exchanged[0]!.principal as { subject: string }).subject, "user-alice");
    assert.equal((exchanged[0]!.detail as { audience: string }).audience, UPSTREAM_AUDIENCE);
    assert.match(idp.stderr(), /token-exchange sub=user-alice aud=https:\/\/upstream\.example\/api/);
  });

  it("gives B (2026-07-28 era) B's own exchanged token: the per-principal instance does not reuse A's", async () => {
    const before = received(upstream).length;
    const b = await httpClient(srv.url, tokens["client-b"], "modern");
    try {
      const r = await b.client.callTool({ name: "web__whoami", arguments: {} });
      assert.ok(!r.isError, `whoami failed: ${JSON.stringify(r.content)}`);
    } finally {
      await b.close();
    }
    const mine = received(upstream).slice(before);
    assert.ok(mine.some((r) => r.method === "tools/call"), `B's call arrived:\n${requestLines(upstream).join("\n")}`);
    for (const r of mine) {
      assert.equal(r.claims.sub, "user-bob", "B's requests carry B's subject only");
      assert.deepEqual(r.claims.act, { sub: GATEWAY_CLIENT });
      assert.notEqual(r.signatureHash, signatureHash(tokens["client-b"]!), "not B's own token");
    }
  });

  it("refuses an API-key caller's call with an error saying to use an access token, and nothing of it reaches the upstream", async () => {
    const before = requestLines(upstream).length;
    const k = await httpClient(srv.url, API_KEY, "legacy");
    try {
      const tools = (await k.client.listTools()).tools.map((t) => t.name);
      assert.ok(!tools.includes("web__whoami"), `the API key caller sees no tools of the server: ${tools.join(",")}`);
      const outcome = await k.client.callTool({ name: "web__whoami", arguments: {} }).then(
        (r) => JSON.stringify(r.content),
        (e: Error) => e.message,
      );
      assert.match(outcome, /an API key has no access token to exchange: call it with an access token of http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await k.close();
    }
    assert.equal(requestLines(upstream).length, before, `nothing reached the upstream:\n${requestLines(upstream).slice(before).join("\n")}`);
  });

  it("writes no token and no client secret to the audit log", () => {
    const log = JSON.stringify(auditRecords(s));
    for (const t of Object.values(tokens)) assert.ok(!log.includes(t.split(".")[2]!), "no caller's token");
    for (const r of received(upstream)) assert.ok(!log.includes(Buffer.from(JSON.stringify(r.claims)).toString("base64url").slice(0, 40)), "no exchanged token");
    assert.ok(!log.includes(GATEWAY_SECRET), "no client secret");
    assert.ok(!srv.stderr().includes(GATEWAY_SECRET) && !Object.values(tokens).some((t) => srv.stderr().includes(t.split(".")[2]!)), "nor on serve's stderr");
  });
});

describe("serve: token exchange fails closed", { skip }, () => {
  let idp: OidcIssuer;
  let upstream: HttpFixture;
  let port: number;
  const cleanups: (() => void)[] = [];

  before(async () => {
    port = await closedPort();
    idp = await startOidcIssuer(0, { exchangeSubjectAudience: `http://127.0.0.1:${port}/mcp` });
    upstream = await startHttpFixture();
  });
  after(async () => {
    await upstream?.stop();
    await idp?.stop();
    for (const c of cleanups) c();
  });

  it("fails A's call when the IdP refuses the exchange (wrong client secret), and nothing reaches the upstream", async () => {
    const s = scratch(settingsFor(upstream, port, idp.issuer));
    cleanups.push(s.cleanup);
    const srv = await startServe(s, [], { [SECRET_ENV]: "not-the-secret" });
    try {
      const token = await idp.token("client-a", `http://127.0.0.1:${port}/mcp`);
      const a = await httpClient(srv.url, token, "legacy");
      try {
        const outcome = await a.client.callTool({ name: "web__whoami", arguments: {} }).then(
          (r) => JSON.stringify(r.content),
          (e: Error) => e.message,
        );
          assert.match(outcome, /token exchange for server 'web' was refused by the identity provider \(invalid_client/);
      } finally {
        await a.close();
      }
      assert.deepEqual(requestLines(upstream), [], "no request reached the upstream, with or without a credential");
      const failed = auditRecords(s).filter((r) => r.event === "token-exchange-failed");
      assert.ok(failed.length >= 1, "the refused exchange is audited");
      assert.ok(!JSON.stringify(auditRecords(s)).includes(token.split(".")[2]!), "without the caller's token");
    } finally {
      await srv.stop();
    }
  });

  it("refuses to start serve when the client secret's environment variable is not set, naming it", async () => {
    const s = scratch(settingsFor(upstream, port, idp.issuer));
    cleanups.push(s.cleanup);
    await assert.rejects(startServe(s), (e: Error) => {
      assert.match(e.message, /serve exited early \(2\)/);
      assert.match(e.message, new RegExp(`the environment variable ${SECRET_ENV} \\(tokenExchange\\.clientSecretEnv\\) is not set`));
      return true;
    });
  });
});
