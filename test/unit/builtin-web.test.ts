// WebFetch(domain:...) rules: host canonicalization (case, trailing dot, IDN, numeric IPv4), the host a
// fetch really connects to (userinfo, backslashes, ports), apex versus subdomains, schemes, errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileWebFetchRules } from "../../src/policy/builtin/web.js";
import type { WebFetchPolicy } from "../../src/policy/builtin/web.js";
import type { BuiltinContext, BuiltinRule, Effect } from "../../src/policy/builtin/types.js";
import { parseRule, PolicyError } from "../../src/policy/rules.js";

const CTX: BuiltinContext = { cwd: "/p", workingDirectories: ["/p"], mode: "default" };

function rule(effect: Effect, text: string, i = 0): BuiltinRule {
  const p = parseRule(text);
  if (p.kind !== "builtin") throw new Error(`not a built-in rule: ${text}`);
  const r: BuiltinRule = { effect, tool: p.tool, text, source: { layer: "user", file: "/h/.mcp-warden/settings.json", path: `permissions.${effect}[${i}]` } };
  if (p.specifier !== undefined) r.specifier = p.specifier;
  return r;
}

function policy(rules: [Effect, string][]): WebFetchPolicy {
  return compileWebFetchRules(rules.map(([e, t], i) => rule(e, t, i)));
}

const d = (p: WebFetchPolicy, url: unknown): string => p.decide({ url, prompt: "summarize" }, CTX).decision;

describe("WebFetch: domain rules", () => {
  const allow = policy([["allow", "WebFetch(domain:example.com)"]]);

  it("allows the exact host, naming the rule and its source", () => {
    const v = allow.decide({ url: "https://example.com/docs" }, CTX);
    assert.equal(v.decision, "allow");
    assert.equal(v.rule, "WebFetch(domain:example.com)");
    assert.equal(v.source?.path, "permissions.allow[0]");
    assert.match(v.reason, /host example\.com/);
  });

  it("unmatched hosts ask with unmatched, including subdomains of an exact rule", () => {
    const v = allow.decide({ url: "https://docs.example.com/" }, CTX);
    assert.equal(v.decision, "ask");
    assert.equal(v.unmatched, true);
    assert.equal(d(allow, "https://example.com.evil.net/"), "ask");
    assert.equal(d(allow, "https://notexample.com/"), "ask");
  });

  it("case and a trailing dot do not matter, on the URL or on the rule", () => {
    assert.equal(d(allow, "https://EXAMPLE.Com/"), "allow");
    assert.equal(d(allow, "https://example.com./"), "allow");
    assert.equal(d(policy([["allow", "WebFetch(domain:Example.COM.)"]]), "https://example.com/"), "allow");
  });

  it("the port does not change the host", () => {
    assert.equal(d(allow, "https://example.com:8443/x"), "allow");
    assert.equal(d(allow, "http://example.com:80/"), "allow");
  });

  it("userinfo is not the host: example.com@evil.com goes to evil.com", () => {
    assert.equal(d(allow, "https://example.com@evil.com/"), "ask");
    assert.equal(d(allow, "https://example.com:pw@evil.com/"), "ask");
    assert.equal(d(allow, "https://evil.com@example.com/"), "allow");
    assert.equal(d(policy([["deny", "WebFetch(domain:evil.com)"]]), "https://example.com@evil.com/"), "deny");
  });

  it("a URL whose host depends on the parser is denied, whatever the rules allow", () => {
    const deny = policy([["deny", "WebFetch(domain:evil.com)"]]);
    assert.equal(d(deny, "https:\\\\evil.com\\x"), "deny");
    assert.equal(d(deny, "https://ev%69l.com/"), "deny");
    // example.com to fetch (a backslash ends the authority), evil.com to an RFC 3986 client.
    const v = allow.decide({ url: "https://example.com\\@evil.com/" }, CTX);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /backslash before its path/);
    assert.equal(d(allow, "https://a@b@example.com/"), "deny", "two @");
    assert.equal(d(allow, "https://example.com/a\\b?x=%2f#@evil.com"), "allow", "a backslash or escape after the host is the path's");
  });

  it("`*.domain` matches subdomains at any depth but not the apex", () => {
    const p = policy([["allow", "WebFetch(domain:*.example.com)"]]);
    assert.equal(d(p, "https://a.example.com/"), "allow");
    assert.equal(d(p, "https://a.b.example.com/"), "allow");
    assert.equal(d(p, "https://example.com/"), "ask");
    assert.equal(d(p, "https://badexample.com/"), "ask");
  });

  it("IDN hosts compare in punycode, whichever way either side is written", () => {
    assert.equal(d(policy([["allow", "WebFetch(domain:bücher.de)"]]), "https://xn--bcher-kva.de/"), "allow");
    assert.equal(d(policy([["allow", "WebFetch(domain:xn--bcher-kva.de)"]]), "https://BÜCHER.de/"), "allow");
    assert.equal(d(policy([["deny", "WebFetch(domain:example.com)"]]), "https://ｅｘａｍｐｌｅ.com/"), "deny", "fullwidth letters map to ASCII");
  });

  it("IP literals match only an IP-literal rule, in any numeric spelling", () => {
    const p = policy([["deny", "WebFetch(domain:127.0.0.1)"], ["allow", "WebFetch(domain:*.example.com)"]]);
    assert.equal(d(p, "http://127.0.0.1/"), "deny");
    assert.equal(d(p, "http://0x7f.1/"), "deny");
    assert.equal(d(p, "http://2130706433/"), "deny");
    assert.equal(d(policy([["allow", "WebFetch(domain:10.0.0.1)"]]), "http://10.0.0.10/"), "ask");
    assert.equal(d(policy([["allow", "WebFetch(domain:[::1])"]]), "http://[0:0::1]/"), "allow");
  });

  it("`WebFetch` and `WebFetch(domain:*)` cover every http(s) URL", () => {
    assert.equal(d(policy([["deny", "WebFetch"]]), "https://anything.org/"), "deny");
    assert.equal(d(policy([["allow", "WebFetch(domain:*)"]]), "http://10.1.2.3/"), "allow");
  });

  it("deny beats ask beats allow", () => {
    const p = policy([["allow", "WebFetch(domain:*.example.com)"], ["ask", "WebFetch(domain:a.example.com)"], ["deny", "WebFetch(domain:x.a.example.com)"]]);
    assert.equal(d(p, "https://x.a.example.com/"), "deny");
    assert.equal(d(p, "https://a.example.com/"), "ask");
    assert.equal(d(p, "https://b.example.com/"), "allow");
  });
});

describe("WebFetch: URLs that cannot be fetched safely are denied", () => {
  const p = policy([["allow", "WebFetch"]]);
  it("non-http(s) schemes", () => {
    for (const u of ["file:///etc/passwd", "ftp://example.com/", "javascript:alert(1)", "data:text/plain,x", "gopher://example.com/"]) assert.equal(d(p, u), "deny", u);
  });
  it("an unparseable URL, a missing url, a non-string url", () => {
    assert.equal(d(p, "not a url"), "deny");
    assert.equal(d(p, "https://exa mple.com/"), "deny");
    assert.equal(d(p, undefined), "deny");
    assert.equal(d(p, 42), "deny");
    assert.equal(p.decide(null as unknown as Record<string, unknown>, CTX).decision, "deny");
  });
});

describe("WebFetch: rule errors", () => {
  it("a specifier that is not domain:<host> is a PolicyError naming the rule and source", () => {
    for (const text of ["WebFetch(example.com)", "WebFetch(url:https://x.com)", "WebFetch(domain:)", "WebFetch(domain:https://example.com)", "WebFetch(domain:example.com/path)", "WebFetch(domain:ex*.com)", "WebFetch(domain:example.com:443)", "WebFetch(domain:*.127.0.0.1)", "WebFetch(domain:a b.com)"]) {
      assert.throws(
        () => policy([["allow", "WebFetch(domain:ok.com)"], ["deny", text]]),
        (e: unknown) => e instanceof PolicyError && e.rule === text && e.source?.path === "permissions.deny[1]" && e.message.includes("/h/.mcp-warden/settings.json"),
        text,
      );
    }
  });

  it("ignores rules for other tools", () => {
    assert.equal(d(compileWebFetchRules([rule("deny", "Bash(curl:*)"), rule("deny", "Read(x)")]), "https://x.org/"), "ask");
  });
});
