// The egress proxy, in process: SOCKS5, HTTP CONNECT and plain HTTP over mux streams, judged by the
// egress decision core, against a test HTTP server on 127.0.0.1.
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { AuditEntry } from "../../src/audit/record.js";
import { startBridge } from "../../src/egress/bridge.js";
import { Mux } from "../../src/egress/mux.js";
import { attachEgress, ChunkedFramer, type EgressOptions } from "../../src/egress/proxy.js";
import { compileEgressPolicy, type EgressPolicy } from "../../src/policy/egress/egress.js";

function duplexPair(): [Duplex, Duplex] {
  class End extends Duplex {
    peer!: End;
    waiting: (() => void) | undefined;
    constructor() {
      super({ allowHalfOpen: true });
    }
    override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void) {
      if (this.peer.destroyed) return cb(new Error("peer closed"));
      if (this.peer.push(chunk)) cb();
      else this.peer.waiting = () => cb();
    }
    override _read() {
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    }
    override _final(cb: (err?: Error | null) => void) {
      this.peer.push(null);
      cb();
    }
    override _destroy(err: Error | null, cb: (err?: Error | null) => void) {
      if (!this.peer.destroyed) this.peer.destroy();
      cb(err);
    }
  }
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function timeout<T>(p: Promise<T>, ms = 5000, what = "operation"): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out`)), ms)))]).finally(() => clearTimeout(t));
}

/** Reads until `done(bytes)` holds, or the stream ends. */
function readUntil(s: Duplex, done: (b: Buffer) => boolean = () => false, ms = 5000): Promise<Buffer> {
  return timeout(
    new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      const finish = () => {
        s.off("data", onData);
        s.off("end", finish);
        s.off("close", finish);
        resolve(buf);
      };
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (done(buf)) finish();
      };
      s.on("data", onData);
      s.once("end", finish);
      s.once("close", finish);
    }),
    ms,
    "read",
  );
}

const untilHeadEnd = (b: Buffer) => b.includes("\r\n\r\n");

// ---- the test server ----

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
let server: http.Server;
let port: number;
const seen: Seen[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString();
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (req.url === "/big") {
        res.writeHead(200, { "Content-Length": 3_000_000 });
        res.end(Buffer.alloc(3_000_000, 0x61));
        return;
      }
      const text = `hello ${req.method} ${req.url} body=${body.length}`;
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

// ---- a proxy over an in-memory channel ----

const LOCAL = ["127.0.0.1/32"];

interface Setup {
  open(): Duplex;
  audits: AuditEntry[];
  resolved: string[];
  connects: [string, number][];
  client: Mux;
  close(): void;
}

function setup(policy: EgressPolicy, extra: Partial<EgressOptions> & { names?: Record<string, string[] | (() => string[])> } = {}): Setup {
  const [a, b] = duplexPair();
  const audits: AuditEntry[] = [];
  const resolved: string[] = [];
  const connects: [string, number][] = [];
  const names = extra.names ?? {};
  const handle = attachEgress(b, {
    server: "srv",
    policy,
    audit: (e) => audits.push(e),
    resolve: async (host) => {
      resolved.push(host);
      const v = names[host];
      if (v === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
      return typeof v === "function" ? v() : v;
    },
    connect: (address, p) => {
      connects.push([address, p]);
      return net.connect({ host: address, port: p, allowHalfOpen: true });
    },
    timeoutMs: 2000,
    ...extra,
  });
  const client = new Mux(a, { role: "initiator" });
  return {
    open: () => {
      const s = client.open();
      s.on("error", () => {});
      return s;
    },
    audits,
    resolved,
    connects,
    client,
    close: () => {
      handle.close();
      client.close();
    },
  };
}

function socksRequest(atyp: number, addr: Buffer, p: number, cmd = 0x01): Buffer {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(p);
  return Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), Buffer.from([0x05, cmd, 0x00, atyp]), addr, portBytes]);
}
const domain = (name: string) => Buffer.concat([Buffer.from([Buffer.byteLength(name, "latin1")]), Buffer.from(name, "latin1")]);
const ipv4 = (ip: string) => Buffer.from(ip.split(".").map(Number));

/** Sends a SOCKS5 greeting and request; returns [method reply, request reply code, stream]. */
async function socks(s: Duplex, request: Buffer): Promise<{ method: number; rep: number | undefined; rest: Buffer }> {
  const reply = readUntil(s, (b) => b.length >= 12 || (b.length >= 2 && b[1] === 0xff));
  s.write(request);
  const b = await reply;
  return { method: b[1] as number, rep: b[3], rest: b.subarray(12) };
}

const getRequest = (path = "/tunnel") => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;

function lastEgress(audits: AuditEntry[]): AuditEntry {
  const e = audits.filter((x) => x.event === "egress").at(-1);
  assert.ok(e, "an egress audit entry");
  return e;
}

describe("egress proxy: HTTP CONNECT", () => {
  it("tunnels to an address allowed by a CIDR entry, and audits the decision with the address", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      const s = t.open();
      const head = readUntil(s, untilHeadEnd);
      s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Authorization: Basic c2VjcmV0\r\n\r\n`);
      assert.match((await head).toString(), /^HTTP\/1\.1 200 /);
      const body = readUntil(s);
      s.write(getRequest());
      const response = (await body).toString();
      assert.match(response, /hello GET \/tunnel body=0$/);
      assert.deepEqual(t.resolved, [], "an IP literal is not resolved");
      assert.deepEqual(t.connects, [["127.0.0.1", port]]);
      const e = lastEgress(t.audits);
      assert.equal(e.kind, "request");
      assert.equal(e.server, "srv");
      assert.equal(e.decision, "allow");
      assert.deepEqual(e.detail, { host: "127.0.0.1", port, address: "127.0.0.1", protocol: "http-connect" });
      assert.ok(!JSON.stringify(t.audits).includes("c2VjcmV0"), "no header reaches the audit log");
    } finally {
      t.close();
    }
  });

  it("refuses an unlisted host with 403 naming the reason, without resolving it", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["example.com", ...LOCAL] }), { names: { "evil.test": ["127.0.0.1"] } });
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
      const text = (await r).toString();
      assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
      assert.match(text, /evil\.test:443 is not in allowedDomains/);
      assert.deepEqual(t.resolved, []);
      assert.deepEqual(t.connects, []);
      const e = lastEgress(t.audits);
      assert.equal(e.decision, "deny");
      assert.equal(e.outcome, "denied");
      assert.deepEqual(e.detail, { host: "evil.test", port: 443, protocol: "http-connect" });
    } finally {
      t.close();
    }
  });

  it("refuses IP literals no IP or CIDR entry allows, in every notation", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["example.com"] }));
    try {
      for (const target of [`127.0.0.1:${port}`, "10.1.2.3:80", "8.8.8.8:443", "[::1]:80", "2130706433:80", "169.254.169.254:80"]) {
        const s = t.open();
        const r = readUntil(s);
        s.write(`CONNECT ${target} HTTP/1.1\r\n\r\n`);
        assert.match((await r).toString(), /^HTTP\/1\.1 403 /, target);
      }
      assert.deepEqual(t.connects, []);
      assert.ok(t.audits.every((e) => e.decision === "deny"));
    } finally {
      t.close();
    }
  });

  it("refuses a name that resolves to loopback (rebinding): one lookup, no connect", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["rebind.test"] }), { names: { "rebind.test": ["93.184.216.34", "127.0.0.1"] } });
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write(`CONNECT rebind.test:${port} HTTP/1.1\r\n\r\n`);
      const text = (await r).toString();
      assert.match(text, /^HTTP\/1\.1 403 /);
      assert.match(text, /resolves to 127\.0\.0\.1/);
      assert.deepEqual(t.resolved, ["rebind.test"]);
      assert.deepEqual(t.connects, []);
      const e = lastEgress(t.audits);
      assert.equal(e.decision, "deny");
      assert.deepEqual(e.detail, { host: "rebind.test", port, protocol: "http-connect" });
    } finally {
      t.close();
    }
  });

  it("resolves once and connects to exactly the checked address, whatever DNS says next", async () => {
    let calls = 0;
    const answers = [["127.0.0.1"], ["10.9.9.9"]];
    const t = setup(compileEgressPolicy({ allowedDomains: ["twice.test", ...LOCAL] }), { names: { "twice.test": () => answers[calls++] ?? ["10.9.9.9"] } });
    try {
      const s = t.open();
      const head = readUntil(s, untilHeadEnd);
      s.write(`CONNECT TWICE.test.:${port} HTTP/1.1\r\n\r\n`);
      assert.match((await head).toString(), /^HTTP\/1\.1 200 /);
      const body = readUntil(s);
      s.write(getRequest());
      assert.match((await body).toString(), /hello GET/);
      assert.equal(calls, 1);
      assert.deepEqual(t.resolved, ["twice.test"], "the canonical name is resolved");
      assert.deepEqual(t.connects, [["127.0.0.1", port]]);
      const e = lastEgress(t.audits);
      assert.equal(e.decision, "allow");
      assert.equal(e.rule, "twice.test");
      assert.deepEqual(e.detail, { host: "TWICE.test.", port, address: "127.0.0.1", protocol: "http-connect" });
    } finally {
      t.close();
    }
  });

  it("answers 502 when the name does not resolve or the port is closed", async () => {
    const closedPort = await freePort();
    const t = setup(compileEgressPolicy({ allowedDomains: ["nowhere.test", ...LOCAL] }));
    try {
      let s = t.open();
      let r = readUntil(s);
      s.write("CONNECT nowhere.test:80 HTTP/1.1\r\n\r\n");
      let text = (await r).toString();
      assert.match(text, /^HTTP\/1\.1 502 /);
      assert.match(text, /could not be resolved \(ENOTFOUND\)/);
      s = t.open();
      r = readUntil(s);
      s.write(`CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
      text = (await r).toString();
      assert.match(text, /^HTTP\/1\.1 502 /);
      assert.match(text, /ECONNREFUSED/);
      const failed = t.audits.at(-1);
      assert.equal(failed?.outcome, "error");
    } finally {
      t.close();
    }
  });

  it("refuses when the decision cannot be audited", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }), {
      audit: () => {
        throw new Error("disk full");
      },
    });
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
      assert.match((await r).toString(), /^HTTP\/1\.1 403 [^]*could not be audited/);
      assert.deepEqual(t.connects, []);
    } finally {
      t.close();
    }
  });

  it("refuses a host that needs approval (ask), since nothing can approve it", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }, "ask"));
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write("CONNECT unlisted.test:443 HTTP/1.1\r\n\r\n");
      assert.match((await r).toString(), /^HTTP\/1\.1 403 [^]*approval is not available/);
      assert.equal(lastEgress(t.audits).decision, "ask");
      assert.equal(lastEgress(t.audits).outcome, "denied");
    } finally {
      t.close();
    }
  });
});

describe("egress proxy: SOCKS5", () => {
  it("connects to an allowed IPv4 address and relays", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      const s = t.open();
      const { method, rep, rest } = await socks(s, socksRequest(0x01, ipv4("127.0.0.1"), port));
      assert.equal(method, 0x00);
      assert.equal(rep, 0x00);
      assert.equal(rest.length, 0);
      const body = readUntil(s);
      s.write(getRequest("/socks"));
      assert.match((await body).toString(), /hello GET \/socks/);
      assert.deepEqual(lastEgress(t.audits).detail, { host: "127.0.0.1", port, address: "127.0.0.1", protocol: "socks5" });
    } finally {
      t.close();
    }
  });

  it("connects to an allowed domain through the injected resolver, and to an IPv6 literal", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["allowed.test", ...LOCAL, "::1/128"] }), { names: { "allowed.test": ["127.0.0.1"] } });
    try {
      let s = t.open();
      let r = await socks(s, socksRequest(0x03, domain("allowed.test"), port));
      assert.equal(r.rep, 0x00);
      s.destroy();
      assert.deepEqual(t.resolved, ["allowed.test"]);
      s = t.open();
      const v6 = Buffer.alloc(16);
      v6[15] = 1;
      r = await socks(s, socksRequest(0x04, v6, 9));
      // ::1 is allowed by the CIDR entry but nothing listens on port 9 (or IPv6 is off): not a policy refusal.
      assert.notEqual(r.rep, 0x02);
      assert.equal(lastEgress(t.audits).decision, "allow");
      assert.equal((lastEgress(t.audits).detail as { host: string }).host, "0:0:0:0:0:0:0:1");
    } finally {
      t.close();
    }
  });

  it("answers 0x02 for an unlisted domain and an IP literal, 0x04 when resolution fails", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["allowed.test"] }));
    try {
      assert.equal((await socks(t.open(), socksRequest(0x03, domain("evil.test"), 443))).rep, 0x02);
      assert.equal((await socks(t.open(), socksRequest(0x01, ipv4("127.0.0.1"), port))).rep, 0x02);
      assert.equal((await socks(t.open(), socksRequest(0x01, ipv4("1.1.1.1"), 443))).rep, 0x02);
      assert.equal((await socks(t.open(), socksRequest(0x03, domain("allowed.test"), 443))).rep, 0x04);
      assert.deepEqual(t.connects, []);
    } finally {
      t.close();
    }
  });

  it("refuses a domain with a NUL in it (never cut at the NUL), and an empty one", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["allowed.test"] }), { names: { "allowed.test": ["127.0.0.1"] } });
    try {
      assert.equal((await socks(t.open(), socksRequest(0x03, domain("allowed.test\0.evil.example"), port))).rep, 0x02);
      const e = lastEgress(t.audits);
      assert.equal(e.decision, "deny");
      assert.match(e.reason ?? "", /not a plain host name/);
      assert.equal((e.detail as { host: string }).host, "allowed.test\0.evil.example");
      assert.equal((await socks(t.open(), socksRequest(0x03, domain(""), port))).rep, 0x02);
      assert.deepEqual(t.resolved, []);
      assert.deepEqual(t.connects, []);
    } finally {
      t.close();
    }
  });

  it("answers 0x07 to BIND and UDP ASSOCIATE, 0x08 to an unknown address type, 0xFF without a no-auth method", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      assert.equal((await socks(t.open(), socksRequest(0x01, ipv4("127.0.0.1"), port, 0x02))).rep, 0x07);
      assert.equal((await socks(t.open(), socksRequest(0x01, ipv4("127.0.0.1"), port, 0x03))).rep, 0x07);
      assert.equal((await socks(t.open(), Buffer.from([0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x09, 1, 2, 3, 4, 0, 80]))).rep, 0x08);
      const s = t.open();
      const r = readUntil(s);
      s.write(Buffer.from([0x05, 0x01, 0x02]));
      assert.deepEqual([...(await r)], [0x05, 0xff]);
      assert.deepEqual(t.connects, []);
      assert.equal(t.audits.filter((e) => e.decision === "deny").length, 4);
    } finally {
      t.close();
    }
  });

  it("forwards bytes the client sent before the reply (optimistic data)", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write(Buffer.concat([socksRequest(0x01, ipv4("127.0.0.1"), port), Buffer.from(getRequest("/early"))]));
      const text = (await r).toString("latin1");
      assert.match(text, /hello GET \/early/);
    } finally {
      t.close();
    }
  });
});

describe("egress proxy: plain HTTP", () => {
  it("forwards an absolute-form request in origin form, with Host from the judged URL and Connection: close", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      seen.length = 0;
      const s = t.open();
      const r = readUntil(s);
      s.write(
        `GET http://127.0.0.1:${port}/path?token=s3cr3t HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic cHJveHk=\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Keep: 2\r\n\r\n`,
      );
      const text = (await r).toString();
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /hello GET \/path\?token=s3cr3t body=0$/);
      const req = seen[0];
      assert.ok(req);
      assert.equal(req.url, "/path?token=s3cr3t");
      assert.equal(req.headers.host, `127.0.0.1:${port}`);
      assert.equal(req.headers.connection, "close");
      assert.equal(req.headers["proxy-authorization"], undefined);
      assert.equal(req.headers["proxy-connection"], undefined);
      assert.equal(req.headers["x-hop"], undefined);
      assert.equal(req.headers["x-keep"], "2");
      const e = lastEgress(t.audits);
      assert.deepEqual(e.detail, { host: "127.0.0.1", port, address: "127.0.0.1", protocol: "http" });
      const logged = JSON.stringify(t.audits);
      assert.ok(!logged.includes("s3cr3t") && !logged.includes("/path") && !logged.includes("cHJveHk="), "no path, query or header in the audit log");
    } finally {
      t.close();
    }
  });

  it("forwards exactly one request body (Content-Length or chunked) and nothing pipelined after it", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      seen.length = 0;
      let s = t.open();
      let r = readUntil(s);
      s.write(
        `POST http://127.0.0.1:${port}/one HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET http://127.0.0.1:${port}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.match((await r).toString(), /hello POST \/one body=5$/);
      s = t.open();
      r = readUntil(s);
      s.write(`POST http://127.0.0.1:${port}/two HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`);
      assert.match((await r).toString(), /hello POST \/two body=7$/);
      await new Promise((res) => setTimeout(res, 50));
      assert.deepEqual(
        seen.map((x) => `${x.method} ${x.url} ${x.body}`),
        ["POST /one hello", "POST /two abcdefg"],
      );
    } finally {
      t.close();
    }
  });

  it("refuses ambiguous framing, origin-form and https targets with 400 and nothing sent upstream", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      const cases = [
        `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`,
        `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n`,
        `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
        `GET https://127.0.0.1:${port}/ HTTP/1.1\r\n\r\n`,
        `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n`,
        `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nBad Header: a\r\n\r\n`,
        `GET http://127.0.0.1:${port}/ HTTP/2.0\r\n\r\n`,
        `GET http://127.0.0.1:${port}/ HTTP/1.1\nHost: x\r\n\r\n`,
      ];
      for (const c of cases) {
        const s = t.open();
        const r = readUntil(s);
        s.write(c);
        assert.match((await r).toString(), /^HTTP\/1\.1 (400|501) /, JSON.stringify(c));
      }
      assert.deepEqual(t.connects, []);
    } finally {
      t.close();
    }
  });

  it("refuses a denied URL with 403, judged like a WHATWG client would read it", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: ["github.com"] }), { names: { "github.com": ["127.0.0.1"] } });
    try {
      for (const target of ["http://evil.example\\@github.com/", "http://github.com@evil.example/", `http://127.0.0.1:${port}/`, "http://0x7f.1/"]) {
        const s = t.open();
        const r = readUntil(s);
        s.write(`GET ${target} HTTP/1.1\r\n\r\n`);
        assert.match((await r).toString(), /^HTTP\/1\.1 403 /, target);
      }
      assert.deepEqual(t.resolved, []);
      assert.deepEqual(t.connects, []);
    } finally {
      t.close();
    }
  });
});

describe("egress proxy: malformed and hostile input", () => {
  it("refuses oversize headers with 431, and audits it", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write(`GET http://127.0.0.1:${port}/ HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
      assert.match((await r).toString(), /^HTTP\/1\.1 431 /);
      const s2 = t.open();
      const r2 = readUntil(s2);
      s2.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n`);
      for (let i = 0; i < 40; i++) s2.write(`X-${i}: ${"b".repeat(500)}\r\n`);
      assert.match((await r2).toString(), /^HTTP\/1\.1 431 /);
      assert.deepEqual(t.connects, []);
      assert.equal(lastEgress(t.audits).decision, "deny");
      assert.equal((lastEgress(t.audits).detail as { protocol: string }).protocol, "http-connect");
    } finally {
      t.close();
    }
  });

  it("closes a connection whose first byte is neither SOCKS5 nor HTTP", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    try {
      for (const first of [0x16, 0x04, 0x00, 0x61]) {
        const s = t.open();
        const r = readUntil(s);
        s.write(Buffer.from([first, 0x03, 0x01, 0x02, 0x00]));
        assert.equal((await r).length, 0);
        assert.ok(s.destroyed || s.readableEnded);
      }
      assert.equal(t.audits.length, 4);
      assert.ok(t.audits.every((e) => e.decision === "deny" && /neither SOCKS5 nor an HTTP/.test(e.reason ?? "")));
      assert.equal(t.client.closed, false, "the channel survives a bad connection");
    } finally {
      t.close();
    }
  });

  it("times out a request head that never completes (408) and a silent connection", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }), { timeoutMs: 200 });
    try {
      const s = t.open();
      const r = readUntil(s);
      s.write("GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n");
      assert.match((await r).toString(), /^HTTP\/1\.1 408 /);
      const quiet = t.open();
      quiet.write(Buffer.from([0x05]));
      await readUntil(quiet, () => false, 3000);
      assert.ok(quiet.destroyed || quiet.readableEnded);
      assert.ok(t.audits.some((e) => /took too long/.test(e.reason ?? "")));
    } finally {
      t.close();
    }
  });

  it("a protocol error from the sandbox tears the whole channel down and is audited", async () => {
    const [a, b] = duplexPair();
    const audits: AuditEntry[] = [];
    let closedWith: Error | undefined;
    attachEgress(b, { server: "srv", policy: compileEgressPolicy({}), audit: (e) => audits.push(e), onClose: (e) => (closedWith = e) });
    a.on("error", () => {});
    a.write(Buffer.from([0x63, 0, 0, 0, 1, 0, 0, 0, 0]));
    await timeout(new Promise<void>((res) => (a.destroyed ? res() : a.once("close", () => res()))), 2000, "teardown");
    assert.ok(closedWith);
    assert.equal(audits[0]?.event, "egress-channel-error");
  });

  it("close() ends live tunnels and the channel", async () => {
    const t = setup(compileEgressPolicy({ allowedDomains: LOCAL }));
    const s = t.open();
    const head = readUntil(s, untilHeadEnd);
    s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
    await head;
    const ended = readUntil(s);
    t.close();
    await ended;
    assert.ok(s.destroyed);
  });
});

describe("egress proxy: chunked body framing", () => {
  it("finds the end of chunked bodies split anywhere, and refuses malformed ones", () => {
    const body = Buffer.from("5\r\nhello\r\n1a;x=y\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer-A: 1\r\n\r\nNEXT");
    for (let cut = 0; cut <= body.length; cut++) {
      const f = new ChunkedFramer();
      const taken = f.feed(body.subarray(0, cut)) + (f.complete ? 0 : f.feed(body.subarray(cut)));
      assert.equal(taken, body.length - 4, `cut ${cut}`);
      assert.ok(f.complete);
    }
    for (const bad of ["5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n", "zz\r\n", "5\r\r\nhello", "0\r\nbad trailer\r\n\r\n", "1234567890abc\r\n", `${"0".repeat(2000)}1\r\n`]) {
      assert.throws(() => new ChunkedFramer().feed(Buffer.from(bad)), Error, JSON.stringify(bad));
    }
  });
});

describe("egress proxy: behind the in-process bridge", () => {
  it("serves node's http client through the bridge's loopback port (plain and CONNECT), and refuses what the policy denies", async () => {
    const [a, b] = duplexPair();
    const audits: AuditEntry[] = [];
    const handle = attachEgress(b, { server: "srv", policy: compileEgressPolicy({ allowedDomains: LOCAL }), audit: (e) => audits.push(e) });
    const bridge = await startBridge(a, 0);
    try {
      const viaProxy = (options: http.RequestOptions) =>
        timeout(
          new Promise<{ status: number; body: string; socket: net.Socket }>((resolve, reject) => {
            const req = http.request({ host: "127.0.0.1", port: bridge.port, agent: false, ...options });
            req.on("connect", (res, socket) => resolve({ status: res.statusCode ?? 0, body: "", socket }));
            req.on("response", (res) => {
              let body = "";
              res.setEncoding("utf8");
              res.on("data", (c: string) => (body += c));
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body, socket: res.socket as net.Socket }));
            });
            req.on("error", reject);
            req.end();
          }),
        );
      const plainOk = await viaProxy({ path: `http://127.0.0.1:${port}/via-bridge` });
      assert.equal(plainOk.status, 200);
      assert.match(plainOk.body, /hello GET \/via-bridge/);
      const big = await viaProxy({ path: `http://127.0.0.1:${port}/big` });
      assert.equal(big.body.length, 3_000_000);
      const denied = await viaProxy({ path: "http://example.com/" });
      assert.equal(denied.status, 403);
      const tunnel = await viaProxy({ method: "CONNECT", path: `127.0.0.1:${port}` });
      assert.equal(tunnel.status, 200);
      const got = readUntil(tunnel.socket);
      tunnel.socket.write(getRequest("/in-tunnel"));
      assert.match((await got).toString(), /hello GET \/in-tunnel/);
      const refused = await viaProxy({ method: "CONNECT", path: "example.com:443" });
      assert.equal(refused.status, 403);
      refused.socket.destroy();
      assert.deepEqual(
        audits.map((e) => e.decision),
        ["allow", "allow", "deny", "allow", "deny"],
      );
    } finally {
      bridge.close();
      handle.close();
    }
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const p = (s.address() as AddressInfo).port;
  s.close();
  await once(s, "close");
  return p;
}
