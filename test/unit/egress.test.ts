// The egress decision core: URLs and proxy targets judged by the host a client really connects to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileEgressPolicy, networkSettingsOf } from "../../src/policy/egress/egress.js";

const policy = compileEgressPolicy({ allowedDomains: ["github.com", "*.github.com", "registry.npmjs.org"], deniedDomains: ["gist.github.com"] });
const url = (u: string) => policy.decideUrl(u).decision;

describe("egress: URLs", () => {
  it("allows listed hosts, with explicit default ports, trailing dots and any case", () => {
    for (const u of ["https://github.com/a", "https://github.com:443/a", "https://GITHUB.com./a", "https://api.github.com/x", "https://a.b.github.com/", "http://registry.npmjs.org/react"])
      assert.equal(url(u), "allow", u);
  });
  it("matches subdomains at a dot boundary and not the apex of a wildcard-only entry", () => {
    assert.equal(url("https://evilgithub.com/"), "deny");
    assert.equal(url("https://github.com.evil.example/"), "deny");
    const wildOnly = compileEgressPolicy({ allowedDomains: ["*.example.com"] });
    assert.equal(wildOnly.decideUrl("https://example.com/").decision, "deny");
    assert.equal(wildOnly.decideUrl("https://a.example.com/").decision, "allow");
  });
  it("a deny entry wins over an allow entry", () => {
    const v = policy.decideUrl("https://gist.github.com/x");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "gist.github.com");
  });
  it("judges the host a WHATWG client connects to, not what a naive parser sees", () => {
    assert.equal(url("https://evil.example\\@github.com/"), "deny");
    assert.equal(url("https://evil.example#@github.com/"), "deny");
    assert.equal(url("https://evil.example?@github.com/"), "deny");
    assert.equal(url("https://evil.example@github.com/"), "allow", "userinfo is not the host");
  });
  it("refuses a URL whose host depends on the parser (WHATWG against RFC 3986, as curl reads it)", () => {
    // github.com to a WHATWG parser, evil.example to curl: refused, not judged under one reading.
    const v = policy.decideUrl("https://github.com\\@evil.example/");
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /backslash before its path/);
    assert.equal(url("https://a@b@github.com/"), "deny", "more than one @");
    assert.match(policy.decideUrl("https://github%2ecom/").reason, /percent-escape/);
    assert.equal(url("https:github.com/a"), "deny", "no // before the host");
    assert.equal(url("https:/github.com/a"), "deny");
    // Near misses: the same characters after the host belong to the path, query or user name.
    assert.equal(url("https://github.com/a\\b"), "allow");
    assert.equal(url("https://github.com/a%2fb?q=%40#x@y"), "allow");
    assert.equal(url("https://us%40er@github.com/"), "allow", "an escaped @ in the user name");
  });
  it("compares IDN names in punycode: a homoglyph is another domain", () => {
    assert.equal(url("https://gіthub.com/"), "deny");
  });
  it("denies IP literals in every notation unless an address entry allows them", () => {
    for (const u of ["https://140.82.112.3/", "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://[::1]/", "http://0.0.0.0:6274/"])
      assert.equal(url(u), "deny", u);
    const byCidr = compileEgressPolicy({ allowedDomains: ["140.82.112.0/20"] });
    assert.equal(byCidr.decideUrl("https://140.82.112.3/").decision, "allow");
    assert.equal(byCidr.decideUrl("https://140.82.128.3/").decision, "deny");
  });
  it("denies loopback names unless allowLocalhost", () => {
    assert.equal(url("http://localhost:5432/"), "deny");
    assert.equal(url("http://db.localhost/"), "deny");
    const local = compileEgressPolicy({ allowLocalhost: true });
    assert.equal(local.decideUrl("http://localhost:5432/").decision, "allow");
    assert.equal(local.decideUrl("http://127.0.0.1:8080/").decision, "allow");
    assert.equal(local.decideUrl("http://10.0.0.1/").decision, "deny", "allowLocalhost is loopback only");
  });
  it("allows only http, https, ws and wss, and refuses control characters", () => {
    for (const u of ["file:///etc/passwd", "ftp://github.com/", "gopher://github.com/", "javascript:alert(1)", "https://github.com/\u0000", " https://github.com/", "not a url"]) assert.equal(url(u), "deny", u);
    assert.equal(url("wss://api.github.com/socket"), "allow");
  });
  it("asks for an unlisted host when approvals are available, and denies it otherwise", () => {
    assert.equal(url("https://example.org/"), "deny");
    assert.equal(compileEgressPolicy({ allowedDomains: ["github.com"] }, "ask").decideUrl("https://example.org/").decision, "ask");
  });
});

describe("egress: proxy targets and resolved addresses", () => {
  it("judges a CONNECT or SOCKS5 host and refuses what a resolver would cut", () => {
    assert.equal(policy.decideHost("api.github.com", 443).decision, "allow");
    assert.equal(policy.decideHost("evil.example\u0000.github.com", 443).decision, "deny");
    assert.equal(policy.decideHost("evil.example .github.com", 443).decision, "deny");
    assert.equal(policy.decideHost("evil@github.com", 443).decision, "deny");
    assert.equal(policy.decideHost("github.com", 0).decision, "deny");
    assert.equal(policy.decideHost("2130706433", 80).decision, "deny", "an integer IPv4 literal");
  });
  it("refuses a name that resolves to loopback, private, link-local or metadata addresses", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "192.168.1.1", "172.20.0.1", "169.254.169.254", "::1", "fd00::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "0.0.0.0"])
      assert.equal(policy.decideAddresses("github.com", ["140.82.112.3", a]).decision, "deny", a);
    assert.equal(policy.decideAddresses("github.com", ["140.82.112.3", "2606:50c0:8000::153"]).decision, "allow");
    assert.equal(policy.decideAddresses("github.com", []).decision, "deny");
  });
  it("lets an address entry allow a private range it names", () => {
    const lan = compileEgressPolicy({ allowedDomains: ["git.lan", "10.0.0.0/8"] });
    assert.equal(lan.decideAddresses("git.lan", ["10.1.2.3"]).decision, "allow");
    assert.equal(lan.decideAddresses("git.lan", ["192.168.1.1"]).decision, "deny");
  });
});

describe("egress: settings", () => {
  it("refuses entries that are neither names nor addresses", () => {
    for (const bad of ["*", "git*.com", "https://github.com", "github.com/path", "10.0.0.0/33", " github.com", "a..b"])
      assert.throws(() => compileEgressPolicy({ allowedDomains: [bad] }), Error, bad);
  });
  it("normalizes the second seed's flat form", () => {
    const n = networkSettingsOf({ allowNetwork: ["github.com"], denyNetwork: ["gist.github.com"], network: { allowLocalhost: true } });
    assert.deepEqual(n, { allowLocalhost: true, allowedDomains: ["github.com"], deniedDomains: ["gist.github.com"] });
    assert.equal(networkSettingsOf({}), undefined);
  });
});
