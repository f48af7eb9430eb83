// The gateway's own connections to remote MCP servers: the implicit allow entry a configured URL
// makes (policy/egress/remote.ts), and the checked fetch (egress/remote-fetch.ts) against real HTTP
// and HTTPS servers on loopback, with an injected resolver standing in for DNS (names ending in
// .test resolve nowhere else, so a success proves the connection went to the checked address).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AuditEntry } from "../../src/audit/record.js";
import { checkedFetch } from "../../src/egress/remote-fetch.js";
import { compileEgressPolicy } from "../../src/policy/egress/egress.js";
import { remoteEgressFor, remoteNetworkSettings } from "../../src/policy/egress/remote.js";
import type { ConfiguredServer } from "../../src/policy/types.js";

const server = (entry: Record<string, unknown>, name = "remote"): ConfiguredServer =>
  ({ name, entry, source: { layer: "project", file: "/p/.mcp.json", path: `mcpServers.${name}` }, managed: false }) as ConfiguredServer;

describe("what a remote server's URL allows implicitly", () => {
  const policyFor = (url: string, network?: Parameters<typeof remoteNetworkSettings>[1]) => {
    const r = remoteNetworkSettings(url, network);
    assert.ok("settings" in r, JSON.stringify(r));
    return compileEgressPolicy(r.settings);
  };

  test("a DNS name allows exactly that name, not its subdomains or other hosts", () => {
    const p = policyFor("https://mcp.example.com/mcp");
    assert.equal(p.decideHost("mcp.example.com", 443).decision, "allow");
    assert.equal(p.decideHost("MCP.Example.com.", 443).decision, "allow");
    assert.equal(p.decideHost("evil.mcp.example.com", 443).decision, "deny");
    assert.equal(p.decideHost("example.com", 443).decision, "deny");
  });

  test("the name's addresses are still judged: loopback, private and metadata answers are refused", () => {
    const p = policyFor("https://mcp.example.com/mcp");
    for (const a of ["127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1", "0.0.0.0"])
      assert.equal(p.decideAddresses("mcp.example.com", [a]).decision, "deny", a);
    assert.equal(p.decideAddresses("mcp.example.com", ["93.184.216.34"]).decision, "allow");
    // One bad address among good ones refuses the name.
    assert.equal(p.decideAddresses("mcp.example.com", ["93.184.216.34", "127.0.0.1"]).decision, "deny");
  });

  test("an IP or CIDR entry lets a private corporate host through, and only its range", () => {
    const p = policyFor("https://mcp.corp.example/mcp", { allowedDomains: ["10.20.0.0/16"] });
    assert.equal(p.decideAddresses("mcp.corp.example", ["10.20.3.4"]).decision, "allow");
    assert.equal(p.decideAddresses("mcp.corp.example", ["10.21.3.4"]).decision, "deny");
  });

  test("localhost allows loopback; a literal loopback or private address allows that address alone", () => {
    const p = policyFor("http://localhost:3000/mcp");
    assert.equal(p.decideHost("localhost", 3000).decision, "allow");
    assert.equal(p.decideAddresses("localhost", ["127.0.0.1", "::1"]).decision, "allow");
    const q = policyFor("http://127.0.0.1:3000/mcp");
    assert.equal(q.decideHost("127.0.0.1", 3000).decision, "allow");
    assert.equal(q.decideHost("127.0.0.2", 3000).decision, "deny");
    const r = policyFor("http://[::1]:3000/mcp");
    assert.equal(r.decideHost("::1", 3000).decision, "allow");
    const c = policyFor("http://10.0.0.7/mcp");
    assert.equal(c.decideHost("10.0.0.7", 80).decision, "allow");
    assert.equal(c.decideHost("10.0.0.8", 80).decision, "deny");
  });

  test("a link-local literal (cloud metadata) is never allowed by writing it, in any notation", () => {
    for (const url of ["http://169.254.169.254/latest", "http://[::ffff:169.254.169.254]/", "http://0xa9fea9fe/", "http://2852039166/", "http://[fe80::1]/"]) {
      const r = remoteEgressFor(server({ type: "http", url }), undefined);
      assert.ok("refused" in r, `${url} must be refused`);
      assert.match(r.refused, /not started: .*(IP literal|link-local)/, url);
    }
    // An explicit entry is the way to reach it.
    assert.ok("egress" in remoteEgressFor(server({ type: "http", url: "http://169.254.169.254/" , sandbox: { network: { allowedDomains: ["169.254.169.254"] } } }), undefined));
  });

  test("deniedDomains win over the URL, from the server's own settings or the global ones", () => {
    const own = remoteEgressFor(server({ type: "http", url: "https://mcp.evil.example/mcp", sandbox: { network: { deniedDomains: ["*.evil.example"] } } }), undefined);
    assert.ok("refused" in own && /deniedDomains entry \*\.evil\.example/.test(own.refused), JSON.stringify(own));
    const global = remoteEgressFor(server({ type: "http", url: "https://mcp.evil.example/mcp" }), { type: "bubblewrap", network: { deniedDomains: ["mcp.evil.example"] } });
    assert.ok("refused" in global, JSON.stringify(global));
    // A server's own sandbox replaces the global one whole, as for stdio servers.
    const replaced = remoteEgressFor(server({ type: "http", url: "https://mcp.evil.example/mcp", sandbox: { network: {} } }), { network: { deniedDomains: ["mcp.evil.example"] } });
    assert.ok("egress" in replaced);
  });

  test("a remote server's sandbox beyond network lists (the seed's allowRead: [] ...) does not refuse it; its network lists still judge the connections", () => {
    // Reported instead (settings/remote-only.ts remoteSandboxNotes): mcp-warden does not run the server.
    const flat = remoteEgressFor(server({ type: "http", url: "https://mcp.example.com/", sandbox: { allowNetwork: ["db.example.com"], allowRead: [], allowWrite: [] } }), undefined);
    assert.ok("egress" in flat, JSON.stringify(flat));
    assert.ok("egress" in remoteEgressFor(server({ type: "http", url: "https://mcp.example.com/", sandbox: { type: "bubblewrap", filesystem: { allowRead: ["/"] } } }), undefined));
    const denied = remoteEgressFor(server({ type: "http", url: "https://mcp.evil.example/", sandbox: { allowRead: [], denyNetwork: ["*.evil.example"] } }), undefined);
    assert.ok("refused" in denied, JSON.stringify(denied));
  });

  test("a remote server's sandbox without network lists keeps the global sandbox's network lists (not dropped)", () => {
    const r = remoteEgressFor(server({ type: "http", url: "https://mcp.evil.example/mcp", sandbox: { allowRead: [], allowWrite: [] } }), { network: { deniedDomains: ["mcp.evil.example"] } });
    assert.ok("refused" in r, JSON.stringify(r));
  });

  test("a URL that is not http(s) or does not parse is refused", () => {
    assert.ok("refused" in remoteNetworkSettings("ftp://example.com/", undefined));
    assert.ok("refused" in remoteNetworkSettings("http://exa mple.com/", undefined));
  });
});

// ---------------------------------------------------------------------------------------------

interface Served {
  url: (host: string, path?: string) => string;
  port: number;
  hits: string[];
  close: () => Promise<void>;
}

async function serve(host: string, handler: http.RequestListener, port = 0): Promise<Served> {
  const hits: string[] = [];
  const srv = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => srv.listen(port, host, resolve));
  const p = (srv.address() as AddressInfo).port;
  return {
    port: p,
    hits,
    url: (h, path = "/mcp") => `http://${h}:${p}${path}`,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}

const hello = (body: string): http.RequestListener => (req, res) => {
  let got = "";
  req.on("data", (c: Buffer) => (got += c.toString()));
  req.on("end", () => {
    res.setHeader("connection", "close");
    res.end(`${body}${got ? ` got ${got}` : ""}`);
  });
};

const policy = (url: string, network?: Parameters<typeof remoteNetworkSettings>[1]) => {
  const r = remoteNetworkSettings(url, network);
  assert.ok("settings" in r);
  return compileEgressPolicy(r.settings);
};

describe("the checked fetch against real servers on loopback", () => {
  const audit: AuditEntry[] = [];
  let a: Served;
  let b: Served;

  before(async () => {
    a = await serve("127.0.0.1", hello("from 127.0.0.1"));
    // The same port on another loopback address: which one answers shows where the socket went.
    b = await serve("127.0.0.3", hello("from 127.0.0.3"), a.port);
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  test("a literal URL the user configured is reached, and the decision is audited with host, port and address", async () => {
    audit.length = 0;
    const f = checkedFetch({ server: "remote", policy: policy(a.url("127.0.0.1")), audit: (e) => void audit.push(e) });
    try {
      const res = await f.fetch(a.url("127.0.0.1"), { method: "POST", body: "ping" });
      assert.equal(await res.text(), "from 127.0.0.1 got ping");
    } finally {
      await f.close();
    }
    const e = audit.find((x) => x.event === "egress");
    assert.ok(e, "an egress record");
    assert.equal(e.decision, "allow");
    assert.equal(e.server, "remote");
    assert.deepEqual(e.detail, { host: "127.0.0.1", port: a.port, address: "127.0.0.1", protocol: "mcp-upstream" });
  });

  test("a public-looking name that resolves to loopback is refused before any byte is sent", async () => {
    audit.length = 0;
    const before = a.hits.length + b.hits.length;
    const f = checkedFetch({ server: "remote", policy: policy(a.url("mcp.example.test")), resolve: async () => ["127.0.0.1"], audit: (e) => void audit.push(e) });
    try {
      await assert.rejects(f.fetch(a.url("mcp.example.test")), (err: Error & { cause?: { code?: string; message?: string } }) => {
        assert.equal(err.cause?.code, "EGRESS_REFUSED");
        assert.match(err.cause?.message ?? "", /mcp\.example\.test resolves to 127\.0\.0\.1, which is loopback/);
        return true;
      });
    } finally {
      await f.close();
    }
    assert.equal(a.hits.length + b.hits.length, before, "nothing reached either server");
    const e = audit.find((x) => x.event === "egress");
    assert.equal(e?.decision, "deny");
    assert.equal(e?.outcome, "denied");
    assert.deepEqual(e?.detail, { host: "mcp.example.test", port: a.port, protocol: "mcp-upstream" });
  });

  test("the socket goes to exactly the checked address: a name only the resolver knows reaches 127.0.0.3", async () => {
    const f = checkedFetch({ server: "remote", policy: policy(a.url("svc.example.test"), { allowedDomains: ["127.0.0.3/32"] }), resolve: async () => ["127.0.0.3"] });
    try {
      const res = await f.fetch(a.url("svc.example.test"));
      assert.equal(await res.text(), "from 127.0.0.3");
    } finally {
      await f.close();
    }
  });

  test("DNS rebinding: a later answer pointing elsewhere is judged again and refused, the first connection untouched", async () => {
    const answers = [["127.0.0.3"], ["127.0.0.1"]];
    let calls = 0;
    const f = checkedFetch({
      server: "remote",
      policy: policy(a.url("rebind.example.test"), { allowedDomains: ["127.0.0.3/32"] }),
      resolve: async () => answers[Math.min(calls++, 1)] as string[],
    });
    try {
      assert.equal(await (await f.fetch(a.url("rebind.example.test"))).text(), "from 127.0.0.3");
      // The server closed that connection, so the next request resolves again and gets 127.0.0.1.
      await assert.rejects(f.fetch(a.url("rebind.example.test")), (err: Error & { cause?: { message?: string } }) => /resolves to 127\.0\.0\.1, which is loopback/.test(err.cause?.message ?? ""));
      assert.equal(calls, 2, "resolved once per connection");
    } finally {
      await f.close();
    }
  });

  test("a server that is down fails with its usual code, not as a policy refusal", async () => {
    const down = await serve("127.0.0.1", hello("x"));
    await down.close();
    const f = checkedFetch({ server: "down", policy: policy(down.url("127.0.0.1")) });
    try {
      await assert.rejects(f.fetch(down.url("127.0.0.1")), (err: Error & { cause?: { code?: string } }) => err.cause?.code === "ECONNREFUSED");
    } finally {
      await f.close();
    }
  });
});

describe("redirects from a remote server", () => {
  let target: Served;
  let origin: Served;
  const audit: AuditEntry[] = [];

  before(async () => {
    target = await serve("127.0.0.1", hello("elsewhere"));
    origin = await serve("127.0.0.1", (req, res) => {
      if (req.url === "/same") {
        res.writeHead(307, { location: "/mcp/" });
        return res.end();
      }
      if (req.url === "/away") {
        res.writeHead(307, { location: target.url("127.0.0.1", "/steal") });
        return res.end();
      }
      if (req.url === "/loop") {
        res.writeHead(308, { location: "/loop" });
        return res.end();
      }
      hello("landed")(req, res);
    });
  });
  after(async () => {
    await target.close();
    await origin.close();
  });

  test("a 307 within the origin is followed with the method and body", async () => {
    const f = checkedFetch({ server: "remote", policy: policy(origin.url("127.0.0.1")) });
    try {
      const res = await f.fetch(origin.url("127.0.0.1", "/same"), { method: "POST", body: "{\"jsonrpc\":\"2.0\"}", headers: { authorization: "Bearer t0k3n" } });
      assert.equal(await res.text(), 'landed got {"jsonrpc":"2.0"}');
      assert.deepEqual(origin.hits.slice(-2), ["POST /same", "POST /mcp/"]);
    } finally {
      await f.close();
    }
  });

  test("a redirect to another origin is refused and audited; the configured headers never reach it", async () => {
    audit.length = 0;
    // Same host, another port: another origin, so its own policy entry would not be enough either.
    const f = checkedFetch({ server: "remote", policy: policy(origin.url("127.0.0.1")), audit: (e) => void audit.push(e) });
    try {
      await assert.rejects(f.fetch(origin.url("127.0.0.1", "/away"), { method: "POST", body: "x", headers: { authorization: "Bearer t0k3n" } }), /redirect from http:\/\/127\.0\.0\.1:\d+ to http:\/\/127\.0\.0\.1:\d+ was refused/);
    } finally {
      await f.close();
    }
    assert.deepEqual(target.hits, [], "the other origin got nothing");
    const e = audit.find((x) => x.decision === "deny");
    assert.ok(e, "the refusal is audited");
    assert.equal((e.detail as Record<string, unknown>).port, target.port);
  });

  test("a redirect loop ends after the limit: 5 by default, or as configured", async () => {
    const f = checkedFetch({ server: "remote", policy: policy(origin.url("127.0.0.1")), maxRedirects: 3 });
    const byDefault = checkedFetch({ server: "remote", policy: policy(origin.url("127.0.0.1")) });
    try {
      await assert.rejects(f.fetch(origin.url("127.0.0.1", "/loop")), /more than 3 redirects/);
      await assert.rejects(byDefault.fetch(origin.url("127.0.0.1", "/loop")), /more than 5 redirects/);
    } finally {
      await f.close();
      await byDefault.close();
    }
  });
});

describe("HTTPS to a remote server reached through a checked address", () => {
  let dir: string;
  let srv: https.Server;
  let port: number;
  let ca: Buffer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "warden-tls-"));
    // A self-signed certificate for remote.example.test, made with the system's openssl.
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "2", "-subj", "/CN=remote.example.test", "-addext", "subjectAltName=DNS:remote.example.test"], { stdio: "ignore" });
    ca = readFileSync(join(dir, "c.pem"));
    srv = https.createServer({ key: readFileSync(join(dir, "k.pem")), cert: ca }, (_req, res) => res.end("secure hello"));
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    port = (srv.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("the certificate is verified against the name although the socket goes to the checked address", async () => {
    const url = `https://remote.example.test:${port}/mcp`;
    const f = checkedFetch({ server: "remote", policy: policy(url, { allowedDomains: ["127.0.0.1/32"] }), resolve: async () => ["127.0.0.1"], tls: { ca } });
    try {
      assert.equal(await (await f.fetch(url)).text(), "secure hello");
    } finally {
      await f.close();
    }
  });

  test("a name the certificate does not cover fails the TLS check, even at an allowed address", async () => {
    const url = `https://other.example.test:${port}/mcp`;
    const f = checkedFetch({ server: "remote", policy: policy(url, { allowedDomains: ["127.0.0.1/32"] }), resolve: async () => ["127.0.0.1"], tls: { ca } });
    try {
      await assert.rejects(f.fetch(url), (err: Error & { cause?: { message?: string } }) => /ERR_TLS_CERT_ALTNAME_INVALID|does not match|altnames/i.test(`${err.cause?.message}`));
    } finally {
      await f.close();
    }
  });
});
