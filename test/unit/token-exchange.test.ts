// The token exchanger (src/auth/token-exchange.ts) against a real HTTP token endpoint on 127.0.0.1
// that this test scripts (a stand-in IdP: the real one, oidc-provider, is exercised end to end in
// test/e2e/serve-token-exchange.test.ts; here the endpoint misbehaves on purpose, which a real IdP
// cannot be made to do). Also the caller-token store, the settings rules and the launch identity.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";
import { CallerTokens } from "../../src/auth/caller-tokens.js";
import { TokenExchanger, TokenExchangeError } from "../../src/auth/token-exchange.js";
import { shareModeOf } from "../../src/gateway/upstream-pool.js";
import { serverIdentity, verifyServerIdentity } from "../../src/policy/integrity/server-identity.js";
import type { ConfiguredServer } from "../../src/policy/types.js";
import { ServerEntry } from "../../src/settings/schema.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe("TokenExchanger against a scripted token endpoint", () => {
  let server: Server;
  let base: string;
  let handler: Handler = (_req, _body, res) => res.writeHead(500).end();
  const seen: { authorization: string | undefined; form: URLSearchParams }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (d: string) => (body += d));
      req.on("end", () => {
        seen.push({ authorization: req.headers.authorization, form: new URLSearchParams(body) });
        handler(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const exchanger = (opts: ConstructorParameters<typeof TokenExchanger>[1] = {}) =>
    new TokenExchanger({ server: "web", issuer: base, clientId: "gw client", clientSecret: "s3cret:x", audience: "https://api.example", scope: "read", tokenEndpoint: `${base}/token` }, opts);
  const answer = (status: number, json: unknown): Handler => (_req, _body, res) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));

  test("sends the RFC 8693 form with the caller's token and Basic client authentication (form-encoded id and secret)", async () => {
    seen.length = 0;
    handler = answer(200, { access_token: "issued.token.one", token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token", expires_in: 300 });
    const got = await exchanger().exchange("owner-a", "caller-token-a");
    assert.equal(got.token, "issued.token.one");
    assert.equal(got.fresh, true);
    const { authorization, form } = seen[0]!;
    assert.equal(authorization, `Basic ${Buffer.from("gw+client:s3cret%3Ax").toString("base64")}`);
    assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:token-exchange");
    assert.equal(form.get("subject_token"), "caller-token-a");
    assert.equal(form.get("subject_token_type"), "urn:ietf:params:oauth:token-type:access_token");
    assert.equal(form.get("requested_token_type"), "urn:ietf:params:oauth:token-type:access_token");
    assert.equal(form.get("audience"), "https://api.example");
    assert.equal(form.get("scope"), "read");
  });

  test("serves a caller's token from the cache until its expiry minus the margin, and asks again after", async () => {
    seen.length = 0;
    let clock = 1_000_000_000_000;
    let n = 0;
    handler = (_req, _body, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: `tok${++n}`, token_type: "bearer", expires_in: 120 }));
    const x = exchanger({ now: () => clock, marginSeconds: 30 });
    assert.equal((await x.exchange("a", "sub-a")).token, "tok1");
    clock += 89_000;
    const cached = await x.exchange("a", "sub-a");
    assert.deepEqual([cached.token, cached.fresh], ["tok1", false]);
    assert.equal((await x.exchange("b", "sub-b")).token, "tok2", "another caller gets their own exchange");
    assert.equal((await x.exchange("a", "sub-a-renewed")).token, "tok3", "a renewed caller token is exchanged anew");
    clock += 2_000;
    assert.equal((await x.exchange("a", "sub-a")).token, "tok4", "past expiry minus margin: asked again");
    assert.equal(seen.length, 4);
  });

  test("concurrent requests of one caller share one exchange", async () => {
    seen.length = 0;
    handler = (_req, _body, res) => setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: "shared", token_type: "Bearer", expires_in: 60 })), 50);
    const x = exchanger();
    const all = await Promise.all([1, 2, 3].map(() => x.exchange("a", "sub-a")));
    assert.deepEqual(all.map((r) => r.token), ["shared", "shared", "shared"]);
    assert.equal(seen.length, 1);
  });

  test("a refusal is an error naming the IdP's error code, with a hint for a client authentication failure, and no token", async () => {
    handler = answer(401, { error: "invalid_client", error_description: "client authentication failed\u001b[31m" });
    await assert.rejects(exchanger().exchange("a", "secret-subject-token"), (e: Error) => {
      assert.ok(e instanceof TokenExchangeError);
      assert.match(e.message, /refused by the identity provider \(invalid_client: client authentication failed\?\[31m\); check tokenExchange\.clientId/);
      assert.ok(!e.message.includes("secret-subject-token") && !e.message.includes("s3cret"));
      return true;
    });
  });

  test("a failure is not cached: the next request asks again", async () => {
    seen.length = 0;
    handler = answer(400, { error: "invalid_grant" });
    const x = exchanger();
    await assert.rejects(x.exchange("a", "t"), TokenExchangeError);
    handler = answer(200, { access_token: "ok", token_type: "Bearer", expires_in: 60 });
    assert.equal((await x.exchange("a", "t")).token, "ok");
    assert.equal(seen.length, 2);
  });

  for (const [what, body, pattern] of [
    ["no access_token", { token_type: "Bearer" }, /without a usable access_token/],
    ["a token that is not a b64token (header injection)", { access_token: "a\r\nX-Evil: 1", token_type: "Bearer" }, /without a usable access_token/],
    ["a token type other than Bearer", { access_token: "t", token_type: "N_A" }, /not Bearer/],
    ["a refresh token instead of an access token", { access_token: "t", token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:refresh_token" }, /not an access token/],
  ] as const) {
    test(`refuses an answer with ${what}`, async () => {
      handler = answer(200, body);
      await assert.rejects(exchanger().exchange("a", "t"), pattern);
    });
  }

  test("gives up on an endpoint that does not answer, within the timeout", async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    await assert.rejects(exchanger({ timeoutMs: 300 }).exchange("a", "t"), /could not be asked \(no answer in time\)/);
    assert.ok(Date.now() - started < 5_000);
  });

  test("refuses an answer over the size bound", async () => {
    handler = (_req, _body, res) => res.writeHead(200, { "content-type": "application/json" }).end(`{"access_token":"${"a".repeat(100_000)}","token_type":"Bearer"}`);
    await assert.rejects(exchanger().exchange("a", "t"), /longer than 65536 bytes/);
  });

  test("finds the token endpoint through the issuer's discovery document, and refuses one naming another issuer", async () => {
    handler = (req, _body, res) => {
      if (req.url === "/.well-known/openid-configuration") return answer(200, { issuer: base, token_endpoint: `${base}/exchange` })(req, "", res);
      return answer(req.url === "/exchange" ? 200 : 404, { access_token: "via-discovery", token_type: "Bearer", expires_in: 60 })(req, "", res);
    };
    const x = new TokenExchanger({ server: "web", issuer: base, clientId: "c", clientSecret: "s", audience: "a" });
    assert.equal((await x.exchange("a", "t")).token, "via-discovery");
    handler = answer(200, { issuer: "https://elsewhere.example", token_endpoint: `${base}/exchange` });
    const other = new TokenExchanger({ server: "web", issuer: base, clientId: "c", clientSecret: "s" });
    await assert.rejects(other.exchange("a", "t"), /names another issuer/);
  });

  test("refuses a token endpoint in clear text off this machine", () => {
    assert.throws(() => new TokenExchanger({ server: "web", issuer: base, clientId: "c", clientSecret: "s", tokenEndpoint: "http://idp.example/token" }), /must be an https URL/);
  });
});

describe("CallerTokens", () => {
  test("keeps a caller's latest token until its expiry, then drops it", () => {
    let now = 1_000_000;
    const held = new CallerTokens(10, () => now);
    held.remember("a", "t1", 1_100);
    held.remember("a", "t2", 1_200);
    assert.equal(held.current("a"), "t2");
    now = 1_200_000;
    assert.equal(held.current("a"), undefined);
    assert.equal(held.size, 0);
  });

  test("keeps no token without an expiry or already expired, and stays within its bound", () => {
    const held = new CallerTokens(2, () => 0);
    held.remember("x", "t", undefined);
    held.remember("y", "t", -1);
    assert.equal(held.size, 0);
    for (const k of ["a", "b", "c"]) held.remember(k, `t-${k}`, 100);
    assert.equal(held.size, 2);
    assert.equal(held.current("a"), undefined, "the least recently seen caller went first");
    assert.equal(held.current("c"), "t-c");
  });
});

describe("tokenExchange settings", () => {
  const exchange = { clientId: "gw", clientSecretEnv: "GW_SECRET", audience: "https://api.example" };
  const errors = (entry: unknown) => {
    const r = ServerEntry.safeParse(entry);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  test("is accepted on an http server, and refused on a stdio one", () => {
    assert.deepEqual(errors({ url: "https://mcp.example/mcp", tokenExchange: exchange }), []);
    assert.match(errors({ command: "x", tokenExchange: exchange }).join("\n"), /tokenExchange: 'tokenExchange' is for http and sse servers/);
  });

  test("refuses share \"shared\", a static Authorization header and a password in the url with it", () => {
    assert.match(errors({ url: "https://mcp.example/mcp", share: "shared", tokenExchange: exchange }).join("\n"), /share: a server with 'tokenExchange' acts for each caller/);
    assert.match(errors({ url: "https://mcp.example/mcp", headers: { authorization: "Bearer x" }, tokenExchange: exchange }).join("\n"), /headers.authorization: 'tokenExchange' supplies the Authorization header/);
    assert.match(errors({ url: "https://u:p@mcp.example/mcp", tokenExchange: exchange }).join("\n"), /url: 'tokenExchange' supplies the credential/);
  });

  test("takes the NAME of the secret's variable, not a secret", () => {
    assert.match(errors({ url: "https://mcp.example/mcp", tokenExchange: { clientId: "gw", clientSecretEnv: "s3cr3t-value!" } }).join("\n"), /the name of an environment variable/);
  });

  test("makes the server per principal by default, and per session when asked", () => {
    const server = (entry: Record<string, unknown>) => ({ name: "web", entry }) as unknown as ConfiguredServer;
    assert.equal(shareModeOf(server({ url: "https://mcp.example/mcp" })), "shared");
    assert.equal(shareModeOf(server({ url: "https://mcp.example/mcp", tokenExchange: exchange })), "perPrincipal");
    assert.equal(shareModeOf(server({ url: "https://mcp.example/mcp", tokenExchange: exchange, share: "perSession" })), "perSession");
  });

  test("is part of the launch identity a person approves (a changed token endpoint needs a new approval), and absent without it", () => {
    const id = (entry: Record<string, unknown>) => serverIdentity({ name: "web", layer: "project", entry });
    const plain = id({ url: "https://mcp.example/mcp" });
    assert.equal(plain.tokenExchange, undefined);
    const withExchange = id({ url: "https://mcp.example/mcp", tokenExchange: { ...exchange, tokenEndpoint: "https://idp.example/token" } });
    assert.deepEqual(withExchange.tokenExchange, { ...exchange, tokenEndpoint: "https://idp.example/token" });
    const moved = id({ url: "https://mcp.example/mcp", tokenExchange: { ...exchange, tokenEndpoint: "https://attacker.example/token" } });
    assert.notEqual(plain.digest, withExchange.digest);
    assert.notEqual(withExchange.digest, moved.digest);
    // The pin store reads identities back through verifyServerIdentity: this one must survive it.
    assert.deepEqual(verifyServerIdentity(JSON.parse(JSON.stringify(withExchange))), withExchange);
    assert.throws(() => verifyServerIdentity({ ...JSON.parse(JSON.stringify(withExchange)), tokenExchange: { ...exchange, tokenEndpoint: "https://attacker.example/token" } }), /digest does not match/);
  });
});
