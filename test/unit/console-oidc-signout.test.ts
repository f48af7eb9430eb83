// Where the console's sign-out sends the browser at the identity provider (ConsoleOidc.endSessionUrl),
// against a discovery document served over real HTTP on 127.0.0.1 that the test writes (the shapes a
// real provider would not give: an http end-session endpoint off this machine, none at all). The
// real provider's sign-out is test/e2e/console-browser.test.ts.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ConsoleOidc } from "../../src/fronts/console/oidc.js";

describe("the console's sign-out at the provider", () => {
  let server: Server;
  let issuer: string;
  /** What the discovery document says of the end-session endpoint (undefined: nothing). */
  let endSession: string | undefined;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url !== "/.well-known/openid-configuration") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          ...(endSession !== undefined ? { end_session_endpoint: endSession } : {}),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const oidc = () => new ConsoleOidc({ issuer, clientId: "mcp-warden-console", redirectUri: "https://warden.example/console/callback", scopes: ["openid"], algorithms: ["RS256"], clockSkewSeconds: 30, claims: { groups: "groups", org: "org_id" }, timeoutMs: 2_000 });

  it("names the ID token as hint, this client and where to come back", async () => {
    endSession = `${issuer}/session/end`;
    const url = new URL((await oidc().endSessionUrl("a.b.c", "https://warden.example/console/signed-out"))!);
    assert.equal(`${url.origin}${url.pathname}`, `${issuer}/session/end`);
    assert.equal(url.searchParams.get("id_token_hint"), "a.b.c");
    assert.equal(url.searchParams.get("client_id"), "mcp-warden-console");
    assert.equal(url.searchParams.get("post_logout_redirect_uri"), "https://warden.example/console/signed-out");
  });

  it("without an ID token, still names the client (the provider then asks the person)", async () => {
    endSession = `${issuer}/session/end`;
    const url = new URL((await oidc().endSessionUrl(undefined, "https://warden.example/console/signed-out"))!);
    assert.equal(url.searchParams.has("id_token_hint"), false);
    assert.equal(url.searchParams.get("client_id"), "mcp-warden-console");
  });

  it("an end-session endpoint in clear text off this machine is not used, and sign-in still works", async () => {
    endSession = "http://idp.example/logout";
    const o = oidc();
    assert.equal(await o.endSessionUrl("a.b.c", "https://warden.example/console/signed-out"), undefined, "the ID token is not sent in clear text");
    const started = await o.start();
    assert.ok(started.url.startsWith(`${issuer}/auth?`), "sign-in is unaffected");
  });

  it("no end-session endpoint, or a provider that does not answer: the console session alone ends (no URL)", async () => {
    endSession = undefined;
    assert.equal(await oidc().endSessionUrl("a.b.c", "https://warden.example/console/signed-out"), undefined);
    const gone = new ConsoleOidc({ issuer: "http://127.0.0.1:9", clientId: "c", redirectUri: "https://w/console/callback", scopes: ["openid"], algorithms: ["RS256"], clockSkewSeconds: 30, claims: { groups: "groups", org: "org_id" }, timeoutMs: 1_000 });
    assert.equal(await gone.endSessionUrl("a.b.c", "https://w/console/signed-out"), undefined);
  });
});
