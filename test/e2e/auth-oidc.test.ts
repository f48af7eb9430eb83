// Remote mode's authenticator (src/auth) against a real OpenID provider: oidc-provider under Node 22
// (test/e2e/oidc.ts), issuing real RS256 JWT access tokens with resource indicators. Every refusal
// below is an attack or a mistake made with a real token (re-encoded, re-signed or tampered with
// where the attack needs it); every acceptance is a real token. API keys go through the real CLI.
import assert from "node:assert/strict";
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import { createAuthenticator, type AuthenticatorOptions, type AuthFailure, type AuthResult, type RemoteAuthSettings } from "../../src/auth/authenticator.js";
import { scratch, wardenCli, type Scratch } from "./harness.js";
import { oidcUnavailable, startOidcIssuer, type OidcIssuer } from "./oidc.js";

const RESOURCE = "http://127.0.0.1:8787/mcp";
const METADATA_URL = "http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp";

const unavailable = oidcUnavailable();
// In CI the Node 22 tools are installed by .ci/run (node dist/scripts/test-tools.js install): missing there fails.
const skipOidc = unavailable === undefined || process.env.CI ? false : `the OpenID provider cannot run here: ${unavailable}`;
if (skipOidc) console.log(`skipped: ${skipOidc}`);

function refused(r: AuthResult): AuthFailure {
  assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r)}`);
  return r as AuthFailure;
}

function b64url(v: unknown): string {
  return Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
}

function parts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h, p, s] = token.split(".");
  return { header: JSON.parse(Buffer.from(h!, "base64url").toString()), payload: JSON.parse(Buffer.from(p!, "base64url").toString()), signature: s! };
}

/** No failure's audit note may hold the token or any piece of it. */
function assertAuditHasNoToken(f: AuthFailure, token: string): void {
  const audit = JSON.stringify(f.audit);
  for (const piece of token.split(".").filter((x) => x.length > 8)) assert.ok(!audit.includes(piece), `the audit note holds part of the token: ${audit}`);
  assert.ok(!f.challenge.includes(token.split(".")[2] ?? token), "the challenge holds the token");
}

describe("JWT access tokens from a real OpenID provider", { skip: skipOidc }, () => {
  let idp: OidcIssuer;
  let otherIdp: OidcIssuer;
  const made: { close(): void }[] = [];
  const authFor = (auth: Partial<RemoteAuthSettings> = {}, extra: { forceLoginMethod?: "sso" | "any"; forceLoginOrgUUID?: string } = {}, opts: AuthenticatorOptions = {}) => {
    const a = createAuthenticator({ resource: RESOURCE, auth: { issuer: idp.issuer, ...auth }, ...extra }, opts);
    made.push(a);
    return a;
  };

  before(async () => {
    [idp, otherIdp] = await Promise.all([startOidcIssuer(), startOidcIssuer()]);
  });
  after(async () => {
    for (const a of made) a.close();
    await Promise.all([idp?.stop(), otherIdp?.stop()]);
  });

  it("a valid token gives the principal its claims name: sub, client, groups, organization, scopes, issuer", async () => {
    const token = await idp.token("client-a", RESOURCE, "mcp:tools mcp:read");
    const r = await authFor().authenticate(`Bearer ${token}`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual({ ...r.principal }, { subject: "user-alice", clientId: "client-a", groups: ["eng", "admins"], org: "org-a", scopes: ["mcp:tools", "mcp:read"], method: "oidc", issuer: idp.issuer });
    assert.ok(Object.isFrozen(r.principal));
    assert.ok(typeof r.expiresAt === "number" && r.expiresAt > Date.now() / 1000);
  });

  it("claims of the wrong shape give nothing: a groups string is no group, a numeric organization is none", async () => {
    const r = await authFor().authenticate(`Bearer ${await idp.token("client-odd-claims", RESOURCE)}`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.principal.groups, []);
    assert.equal(r.principal.org, undefined);
  });

  it("no token: 401 whose challenge names the resource metadata and carries no error code; another scheme likewise", async () => {
    const a = authFor();
    for (const header of [undefined, "", "Basic dXNlcjpwYXNz"]) {
      const f = refused(await a.authenticate(header));
      assert.equal(f.status, 401);
      assert.equal(f.challenge, `Bearer resource_metadata="${METADATA_URL}"`);
    }
  });

  it("a token for another resource (wrong audience) is refused with 401", async () => {
    const token = await idp.token("client-a", "http://127.0.0.1:8787/other", "mcp:tools");
    const f = refused(await authFor().authenticate(`Bearer ${token}`));
    assert.equal(f.status, 401);
    assert.match(f.challenge, /^Bearer error="invalid_token", error_description="[^"]*another resource[^"]*", resource_metadata="/);
    assertAuditHasNoToken(f, token);
  });

  it("an expired token is refused with 401; the allowed clock skew is what decides", async () => {
    const token = await idp.token("client-short", RESOURCE);
    const { exp } = parts(token).payload as { exp: number };
    // Past exp by more than a second (bounded: the token lives one second).
    while (Date.now() / 1000 < exp + 1.2) await new Promise((r) => setTimeout(r, 200));
    const strict = refused(await authFor({ clockSkewSeconds: 0 }).authenticate(`Bearer ${token}`));
    assert.equal(strict.status, 401);
    assert.match(strict.description, /expired/);
    assertAuditHasNoToken(strict, token);
    // The same token within the default 30 s of skew still passes: the refusal above is the expiry.
    assert.equal((await authFor().authenticate(`Bearer ${token}`)).ok, true);
  });

  it("a token of another issuer (a second provider, its own keys) is refused with 401", async () => {
    const token = await otherIdp.token("client-a", RESOURCE, "mcp:tools");
    const f = refused(await authFor().authenticate(`Bearer ${token}`));
    assert.equal(f.status, 401);
    assert.match(f.description, /issued by/);
  });

  it("alg none: the real token's header and payload with alg none and no signature is refused with 401", async () => {
    const { header, payload } = parts(await idp.token("client-a", RESOURCE, "mcp:tools"));
    const forged = `${b64url({ ...header, alg: "none" })}.${b64url(payload)}.`;
    const f = refused(await authFor().authenticate(`Bearer ${forged}`));
    assert.equal(f.status, 401);
    assert.match(f.description, /algorithm/);
  });

  it("key confusion: HS256 signed with the provider's own public key (PEM and JWK text) is refused with 401", async () => {
    const { header, payload } = parts(await idp.token("client-a", RESOURCE, "mcp:tools"));
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
    const pem = createPublicKey({ key: jwk as never, format: "jwk" }).export({ type: "spki", format: "pem" }) as string;
    for (const secret of [pem, JSON.stringify(jwk)]) {
      const input = `${b64url({ ...header, alg: "HS256" })}.${b64url(payload)}`;
      const forged = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
      const f = refused(await authFor().authenticate(`Bearer ${forged}`));
      assert.equal(f.status, 401);
      assert.match(f.description, /algorithm/);
    }
  });

  it("a tampered signature, and a tampered payload under the real signature, are refused with 401", async () => {
    const token = await idp.token("client-a", RESOURCE, "mcp:read");
    const [h, p, s] = token.split(".") as [string, string, string];
    const flipped = `${h}.${p}.${(s[0] === "A" ? "B" : "A") + s.slice(1)}`;
    const { payload } = parts(token);
    const escalated = `${h}.${b64url({ ...payload, scope: "mcp:read mcp:admin", groups: ["admins"] })}.${s}`;
    const a = authFor();
    for (const bad of [flipped, escalated]) {
      const f = refused(await a.authenticate(`Bearer ${bad}`));
      assert.equal(f.status, 401);
      assert.match(f.description, /signature/);
      assertAuditHasNoToken(f, bad);
    }
    assert.equal((await a.authenticate(`Bearer ${token}`)).ok, true, "the untampered token passes");
  });

  it("an unknown kid refetches the JWKS once (after the cooldown), then refuses; a second one within the cooldown fetches nothing", async () => {
    let jwksFetches = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith("/jwks")) jwksFetches++;
      return fetch(input, init);
    };
    const a = authFor({}, {}, { fetch: counting, jwksCooldownMs: 500 });
    assert.equal((await a.authenticate(`Bearer ${await idp.token("client-a", RESOURCE)}`)).ok, true);
    assert.equal(jwksFetches, 1);
    await new Promise((r) => setTimeout(r, 700));
    // A well-formed token for this issuer and resource, signed by a key the issuer never published.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rogue = await new SignJWT({ client_id: "client-a", groups: ["admins"], scope: "mcp:admin" })
      .setProtectedHeader({ alg: "RS256", kid: `rotated-${randomUUID()}` })
      .setIssuer(idp.issuer)
      .setAudience(RESOURCE)
      .setSubject("user-alice")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const f = refused(await a.authenticate(`Bearer ${rogue}`));
    assert.equal(f.status, 401);
    assert.match(f.description, /key id/);
    assert.equal(jwksFetches, 2, "one refetch for the unknown kid");
    refused(await a.authenticate(`Bearer ${rogue}`));
    assert.equal(jwksFetches, 2, "no refetch within the cooldown");
    // The same rogue key under the issuer's real kid: found, and the signature fails.
    const realKid = parts(await idp.token("client-a", RESOURCE)).header.kid as string;
    const posing = await new SignJWT({ client_id: "client-a" }).setProtectedHeader({ alg: "RS256", kid: realKid }).setIssuer(idp.issuer).setAudience(RESOURCE).setSubject("user-alice").setIssuedAt().setExpirationTime("5m").sign(privateKey);
    assert.match(refused(await a.authenticate(`Bearer ${posing}`)).description, /signature/);
  });

  it("the identity provider down: 503 temporarily_unavailable naming the issuer, never a pass", async () => {
    const gone = await startOidcIssuer();
    const token = await gone.token("client-a", RESOURCE, "mcp:tools");
    await gone.stop();
    const a = createAuthenticator({ resource: RESOURCE, auth: { issuer: gone.issuer } });
    made.push(a);
    const f = refused(await a.authenticate(`Bearer ${token}`));
    assert.equal(f.status, 503);
    assert.equal(f.error, "temporarily_unavailable");
    assert.ok(f.description.includes(gone.issuer), f.description);
    assert.match(f.description, /check that it is up/);
    assertAuditHasNoToken(f, token);
  });

  it("an identity provider that accepts connections and never answers: 503 after the timeout, not a hang", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const hanging: Server = createServer(() => undefined);
    hanging.on("connection", (s) => sockets.add(s));
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    const issuer = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
    try {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const token = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k" }).setIssuer(issuer).setAudience(RESOURCE).setSubject("x").setExpirationTime("5m").sign(privateKey);
      const a = createAuthenticator({ resource: RESOURCE, auth: { issuer } }, { timeoutMs: 300 });
      made.push(a);
      const started = Date.now();
      const f = refused(await a.authenticate(`Bearer ${token}`));
      assert.equal(f.status, 503);
      assert.ok(Date.now() - started < 5000, "answered within the timeout's order");
      assert.match(f.description, /timed out/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hanging.close(r));
    }
  });

  it("forceLoginOrgUUID refuses a token of another organization (and one with none); the right one passes", async () => {
    const a = authFor({}, { forceLoginOrgUUID: "org-a" });
    assert.equal((await a.authenticate(`Bearer ${await idp.token("client-a", RESOURCE)}`)).ok, true);
    for (const client of ["client-other-org", "client-odd-claims"]) {
      const f = refused(await a.authenticate(`Bearer ${await idp.token(client, RESOURCE)}`));
      assert.equal(f.status, 401);
      assert.match(f.description, /forceLoginOrgUUID/);
      assert.match(f.description, /"org_id" claim/);
      assert.ok(!f.description.includes("org-a"), "the required organization is not told to the caller");
    }
  });

  it("forceLoginMethod sso refuses an API key that is otherwise valid, and still takes the IdP's token", async () => {
    const s = scratch({});
    try {
      const created = wardenCli(s, ["keys", "create", "ci-bot"]);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.split("\n")[0]!;
      const apiKeys = userApiKeys(s);
      assert.equal((await authFor({ apiKeys }).authenticate(`Bearer ${key}`)).ok, true, "the key is valid without sso");
      const sso = authFor({ apiKeys }, { forceLoginMethod: "sso" });
      const f = refused(await sso.authenticate(`Bearer ${key}`));
      assert.equal(f.status, 401);
      assert.match(f.description, /requires SSO/);
      assert.equal(f.audit.method, "api-key");
      assertAuditHasNoToken(f, key);
      assert.equal((await sso.authenticate(`Bearer ${await idp.token("client-a", RESOURCE)}`)).ok, true);
    } finally {
      s.cleanup();
    }
  });

  it("insufficient scope: 403 whose challenge lists every required scope; a token with all of them passes", async () => {
    const requiredScopes = { "tools/call": ["mcp:tools"], "mcp__github__*": ["mcp:write"], "mcp__github__delete*": ["mcp:admin"] };
    const a = authFor({ requiredScopes });
    const r = await a.authenticate(`Bearer ${await idp.token("client-a", RESOURCE, "mcp:tools mcp:read")}`);
    assert.ok(r.ok);
    // Matching is case-insensitive, like deny rules: a differently cased name needs the same scopes.
    for (const tool of ["mcp__github__delete_repo", "MCP__GitHub__Delete_Repo"]) {
      const f = a.checkScopes(r.principal, "tools/call", tool);
      assert.ok(f);
      assert.equal(f.status, 403);
      assert.equal(f.error, "insufficient_scope");
      assert.match(f.challenge, /^Bearer error="insufficient_scope", error_description="[^"]+", scope="mcp:tools mcp:write mcp:admin", resource_metadata="/);
    }
    assert.equal(a.checkScopes(r.principal, "tools/call", "mcp__memory__read_graph"), undefined);
    assert.equal(a.checkScopes(r.principal, "tools/list"), undefined);
    const all = await a.authenticate(`Bearer ${await idp.token("client-a", RESOURCE, "mcp:tools mcp:write mcp:admin")}`);
    assert.ok(all.ok);
    assert.equal(a.checkScopes(all.principal, "tools/call", "mcp__github__delete_repo"), undefined);
  });

  it("the RFC 9728 document names the resource, the issuer as authorization server and header bearer tokens, at the challenge's URL", () => {
    const { paths, document } = authFor({ requiredScopes: { "tools/call": ["mcp:tools"] } }).metadata();
    assert.deepEqual(paths, ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]);
    assert.equal(new URL(METADATA_URL).pathname, paths[0]);
    assert.equal(document.resource, RESOURCE);
    assert.deepEqual(document.authorization_servers, [idp.issuer]);
    assert.deepEqual(document.bearer_methods_supported, ["header"]);
    assert.deepEqual(document.scopes_supported, ["mcp:tools"]);
  });

  it("a malformed Authorization header is a 400, an empty bearer token is no token (401 with the challenge); an oversized token is refused before any parsing or fetch", async () => {
    let fetches = 0;
    const a = authFor({}, {}, { fetch: (i, init) => (fetches++, fetch(i, init)) });
    assert.equal(refused(await a.authenticate("Bearer a b")).status, 400);
    const empty = refused(await a.authenticate("Bearer "));
    assert.equal(empty.status, 401);
    assert.match(empty.challenge, /resource_metadata=/);
    const huge = refused(await a.authenticate(`Bearer ${"a".repeat(17 * 1024)}`));
    assert.equal(huge.status, 401);
    assert.match(huge.description, /longer than/);
    assert.equal(fetches, 0);
  });
});

/** remote.auth.apiKeys of the scratch user's settings file, as `keys create` wrote it. */
function userApiKeys(s: Scratch): RemoteAuthSettings["apiKeys"] {
  const file = join(s.home, ".config", "mcp-warden", "settings.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { remote: { auth: RemoteAuthSettings } }).remote.auth.apiKeys;
}

describe("keys create|list|revoke through the real CLI", () => {
  it("the key is shown once, settings hold only its hash, it authenticates with its principal, and a revoked key does not", async () => {
    const s = scratch({});
    try {
      const created = wardenCli(s, ["keys", "create", "ci-bot", "--subject", "svc:ci", "--groups", "ci,deploy", "--scopes", "mcp:tools", "--org", "org-a", "--expires", "2099-01-01T00:00:00Z"]);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.split("\n")[0]!;
      assert.match(key, /^mcpw_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.stdout.split(key).length - 1, 1, "the key appears once");
      assert.match(created.stdout, /will not be shown again/);
      assert.match(created.stdout, /Authorization: Bearer/);

      const file = join(s.home, ".config", "mcp-warden", "settings.json");
      const text = readFileSync(file, "utf8");
      assert.ok(!text.includes(key) && !text.includes(key.slice(5)), "the settings file does not hold the key");
      assert.match(text, /"hash": "sha256:[0-9a-f]{64}"/);

      const listed = wardenCli(s, ["keys", "list", "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(!listed.stdout.includes(key));
      assert.deepEqual((JSON.parse(listed.stdout) as { keys: unknown[] }).keys, [
        { name: "ci-bot", subject: "svc:ci", expires: "2099-01-01T00:00:00.000Z", groups: ["ci", "deploy"], scopes: ["mcp:tools"], org: "org-a" },
      ]);

      const a = createAuthenticator({ resource: RESOURCE, auth: { apiKeys: userApiKeys(s) }, forceLoginOrgUUID: "org-a" });
      const r = await a.authenticate(`Bearer ${key}`);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual({ ...r.principal }, { subject: "svc:ci", clientId: "ci-bot", groups: ["ci", "deploy"], org: "org-a", scopes: ["mcp:tools"], method: "api-key" });
      const wrong = refused(await a.authenticate(`Bearer ${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`));
      assert.equal(wrong.status, 401);

      assert.equal(wardenCli(s, ["keys", "create", "ci-bot"]).code, 2, "an existing name is not overwritten");
      const revoked = wardenCli(s, ["keys", "revoke", "ci-bot"]);
      assert.equal(revoked.code, 0, revoked.stderr);
      // After revoking, the only key left is another one, so the authenticator can still be built.
      assert.equal(wardenCli(s, ["keys", "create", "other"]).code, 0);
      const after = createAuthenticator({ resource: RESOURCE, auth: { apiKeys: userApiKeys(s) } });
      const f = refused(await after.authenticate(`Bearer ${key}`));
      assert.equal(f.status, 401);
      assert.match(f.description, /unknown or revoked/);
    } finally {
      s.cleanup();
    }
  });

  it("an expired key is refused, and keys are never written to a project's settings", async () => {
    const s = scratch({});
    try {
      assert.equal(wardenCli(s, ["keys", "create", "old", "--expires", "2000-01-01T00:00:00Z"]).code, 2, "an expiry in the past is refused");
      const created = wardenCli(s, ["keys", "create", "short", "--expires", new Date(Date.now() + 60_000).toISOString()]);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.split("\n")[0]!;
      const a = createAuthenticator({ resource: RESOURCE, auth: { apiKeys: userApiKeys(s) } }, { now: () => Date.now() + 120_000 });
      assert.match(refused(await a.authenticate(`Bearer ${key}`)).description, /expired/);
      const project = wardenCli(s, ["keys", "create", "p", "--settings", ".mcp-warden/settings.json"]);
      assert.equal(project.code, 2);
      assert.match(project.stderr, /ignored/);
    } finally {
      s.cleanup();
    }
  });
});
