// src/auth pieces that need no identity provider: the failure-audit budget, challenge quoting,
// required-scope matching, API key hashing, and the settings the authenticator refuses to start with.
// (Tokens from a real provider: test/e2e/auth-oidc.test.ts.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { AuthConfigError, createAuthenticator, FailureBudget } from "../../src/auth/authenticator.js";
import { bearerChallenge } from "../../src/auth/challenge.js";
import { OVERFLOW_SOURCE } from "../../src/auth/failure-budget.js";
import { RequiredScopes } from "../../src/auth/scopes.js";

const RESOURCE = "https://mcp.example.com/mcp";

describe("FailureBudget", () => {
  it("audits N failures per source per minute, counts the rest, and starts again the next minute", () => {
    let t = 0;
    const b = new FailureBudget({ perMinute: 3, now: () => t });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => b.take("10.0.0.1")), [true, true, true, false, false]);
    assert.equal(b.take("10.0.0.2"), true, "another source has its own budget");
    assert.equal(b.suppressedTotal, 2);
    assert.deepEqual(b.drain(), [{ source: "10.0.0.1", count: 2 }]);
    assert.deepEqual(b.drain(), [], "drained counts start again from zero");
    t = 60_000;
    assert.equal(b.take("10.0.0.1"), true);
    assert.equal(b.suppressedTotal, 2, "the total is kept across drains");
  });

  it("a flood from many sources is bounded too: past maxSources they share one budget", () => {
    const b = new FailureBudget({ perMinute: 1, maxSources: 2, now: () => 0 });
    assert.equal(b.take("a"), true);
    assert.equal(b.take("b"), true);
    assert.equal(b.take("c"), true, "the shared budget's first");
    assert.equal(b.take("d"), false);
    assert.deepEqual(b.drain(), [{ source: OVERFLOW_SOURCE, count: 1 }]);
  });
});

describe("bearer challenges", () => {
  it("quote every value inside RFC 6750's grammar: a quote, backslash or newline cannot break out of the header", () => {
    const c = bearerChallenge({ error: "invalid_token", description: 'bad "x"\\\r\nSet-Cookie: a=b', scopes: ["a", "b"], resourceMetadata: "https://h/.well-known/oauth-protected-resource/mcp" });
    assert.equal(c, `Bearer error="invalid_token", error_description="bad 'x'/  Set-Cookie: a=b", scope="a b", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp"`);
    assert.ok(!/[\r\n]/.test(c));
  });
});

describe("required scopes", () => {
  it("every matching entry counts, by method and by canonical tool glob, case-insensitively", () => {
    const r = new RequiredScopes({ "tools/call": ["mcp:tools"], "mcp__github__*": ["gh:read"], "mcp__github__delete*": ["gh:admin", "gh:read"], "resources/*": ["mcp:res"] });
    assert.deepEqual(r.for("tools/call", "mcp__github__delete_repo"), ["mcp:tools", "gh:read", "gh:admin"]);
    assert.deepEqual(r.for("tools/call", "MCP__GITHUB__DELETE_REPO"), ["mcp:tools", "gh:read", "gh:admin"]);
    assert.deepEqual(r.for("resources/read"), ["mcp:res"]);
    assert.deepEqual(r.for("tools/list"), []);
    assert.deepEqual(r.all(), ["mcp:tools", "gh:read", "gh:admin", "mcp:res"]);
  });
});

describe("API keys", () => {
  it("are mcpw_ and 32 random bytes; settings store sha256:<hex> of the whole key", () => {
    const a = generateApiKey();
    const b = generateApiKey();
    assert.match(a, /^mcpw_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.match(hashApiKey(a), /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(hashApiKey(a), hashApiKey(b));
  });

  it("a key is accepted until its expiry and refused after; an unknown key of the right shape is refused", async () => {
    const key = generateApiKey();
    let now = Date.parse("2030-01-01T00:00:00Z");
    const a = createAuthenticator({ resource: RESOURCE, auth: { apiKeys: { ci: { hash: hashApiKey(key), expires: "2030-01-02T00:00:00Z" } } } }, { now: () => now });
    const ok = await a.authenticate(`Bearer ${key}`);
    assert.ok(ok.ok);
    assert.equal(ok.principal.subject, "apikey:ci");
    assert.equal(ok.expiresAt, Date.parse("2030-01-02T00:00:00Z") / 1000);
    now = Date.parse("2030-01-02T00:00:00Z");
    const late = await a.authenticate(`Bearer ${key}`);
    assert.ok(!late.ok && late.status === 401 && /expired/.test(late.description));
    assert.ok(!late.ok && !JSON.stringify(late.audit).includes(key));
    const other = await a.authenticate(`Bearer ${generateApiKey()}`);
    assert.ok(!other.ok && /unknown or revoked/.test(other.description));
  });
});

describe("authenticator settings that cannot work are refused at creation, saying what to set", () => {
  const cases: [string, Parameters<typeof createAuthenticator>[0], RegExp][] = [
    ["no issuer and no keys", { resource: RESOURCE, auth: {} }, /remote\.auth\.issuer.*keys create/],
    ["sso without an issuer", { resource: RESOURCE, auth: { apiKeys: { k: { hash: hashApiKey(generateApiKey()) } } }, forceLoginMethod: "sso" }, /forceLoginMethod "sso".*remote\.auth\.issuer/],
    ["an http issuer off this machine (its keys could be swapped in transit)", { resource: RESOURCE, auth: { issuer: "http://idp.example.com" } }, /https/],
    ["a jwksUri without an issuer", { resource: RESOURCE, auth: { jwksUri: "https://idp.example.com/jwks" } }, /needs remote\.auth\.issuer/],
    ["a resource that is not a URL", { resource: "mcp", auth: { issuer: "https://idp.example.com" } }, /not a URL/],
  ];
  for (const [name, cfg, message] of cases)
    it(name, () => {
      assert.throws(() => createAuthenticator(cfg), (e: unknown) => e instanceof AuthConfigError && message.test(e.message));
    });
});
