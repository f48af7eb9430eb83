// The gateway's end of a container's egress channel (src/egress/socket-channel.ts) with real Unix
// sockets, and the bridge's --socket option: a private directory, one connection served by the
// proxy and then no more, everything removed at close.
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEntry } from "../../src/audit/record.js";
import { parseBridgeArgs, socketFailure, startBridge } from "../../src/egress/bridge.js";
import { EgressSocket, ownerOf } from "../../src/egress/socket-channel.js";
import { compileEgressPolicy } from "../../src/policy/egress/egress.js";

const parent = mkdtempSync(join(tmpdir(), "warden-egress-sock-"));
after(() => rmSync(parent, { recursive: true, force: true }));

let web: http.Server;
let port: number;
before(async () => {
  web = http.createServer((req, res) => res.end(`hello ${req.url}`));
  web.listen(0, "127.0.0.1");
  await once(web, "listening");
  port = (web.address() as AddressInfo).port;
});
after(() => {
  web.closeAllConnections();
  web.close();
});

function connectUnix(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** GET through a bridge's HTTP proxy port; resolves with "status body". */
function viaProxy(proxyPort: number, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: proxyPort, path: url, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(`${res.statusCode} ${body.trim()}`));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("egress socket", () => {
  it("lives in a fresh 0700 directory, and the socket is 0600 while listening", () => {
    const sock = new EgressSocket(parent);
    try {
      assert.equal(statSync(sock.dir).mode & 0o777, 0o700);
      assert.equal(sock.path, join(sock.dir, "egress.sock"));
      sock.serve({ server: "t", policy: compileEgressPolicy({}) });
      assert.ok(lstatSync(sock.path).isSocket(), "listening as soon as serve() returns");
      assert.equal(lstatSync(sock.path).mode & 0o777, 0o600);
    } finally {
      sock.close();
    }
    assert.ok(!existsSync(sock.dir), "the directory is removed at close");
  });

  it("judges connections on its first connection with the same proxy and audit records, and accepts no second one", async () => {
    const sock = new EgressSocket(parent);
    const audits: AuditEntry[] = [];
    sock.serve({ server: "api", policy: compileEgressPolicy({ allowedDomains: ["127.0.0.1/32"] }), audit: (e) => audits.push(e) });
    const channel = await connectUnix(sock.path);
    const bridge = await startBridge(channel, 0);
    try {
      assert.equal(await viaProxy(bridge.port, `http://127.0.0.1:${port}/x`), "200 hello /x");
      assert.match(await viaProxy(bridge.port, "http://example.com/"), /^403 mcp-warden egress proxy: example\.com:80 is not in allowedDomains/);
      assert.deepEqual(
        audits.map((e) => [e.server, e.event, e.decision, (e.detail as { host: string }).host]),
        [
          ["api", "egress", "allow", "127.0.0.1"],
          ["api", "egress", "deny", "example.com"],
        ],
      );
      assert.ok(!existsSync(sock.path), "the socket is unlinked after the first connection");
      await assert.rejects(connectUnix(sock.path), /ENOENT|ECONNREFUSED/);
    } finally {
      bridge.close();
      sock.close();
    }
    assert.ok(!existsSync(sock.dir));
  });

  it("closing it ends the channel: the bridge side sees its mux close", async () => {
    const sock = new EgressSocket(parent);
    let closed = false;
    sock.serve({ server: "api", policy: compileEgressPolicy({}), onClose: () => (closed = true) });
    const bridge = await startBridge(await connectUnix(sock.path), 0);
    const gone = once(bridge.mux, "close");
    sock.close();
    await gone;
    assert.ok(closed, "onClose was called");
    bridge.close();
  });

  it("refuses to serve twice, or after close", () => {
    const sock = new EgressSocket(parent);
    sock.serve({ server: "t", policy: compileEgressPolicy({}) });
    assert.throws(() => sock.serve({ server: "t", policy: compileEgressPolicy({}) }), /already serving/);
    sock.close();
    assert.throws(() => sock.serve({ server: "t", policy: compileEgressPolicy({}) }), /already closed/);
  });

  it("hands the directory and socket to the container's user when that is another uid (root only)", { skip: process.getuid?.() === 0 ? false : "chown to another uid needs root" }, () => {
    const sock = new EgressSocket(parent);
    try {
      sock.owner = ownerOf("65534:65534");
      sock.serve({ server: "t", policy: compileEgressPolicy({}) });
      for (const p of [sock.dir, sock.path]) assert.deepEqual([statSync(p).uid, statSync(p).gid], [65534, 65534], p);
      assert.equal(statSync(sock.dir).mode & 0o777, 0o700);
    } finally {
      sock.close();
    }
  });

  it("reads a container user as numbers, and refuses anything else", () => {
    assert.deepEqual(ownerOf("1000:100"), { uid: 1000, gid: 100 });
    assert.equal(ownerOf("1000").uid, 1000);
    assert.throws(() => ownerOf("nobody"), /not a numeric uid:gid/);
  });
});

describe("bridge --socket", () => {
  it("parses --socket PATH --port N, and refuses it with --fd, without --port or with a relative path", () => {
    assert.deepEqual(parseBridgeArgs(["--socket", "/.mcp-warden-egress/egress.sock", "--port", "3128", "--", "node", "s.js"]), {
      socket: "/.mcp-warden-egress/egress.sock",
      port: 3128,
      command: "node",
      args: ["s.js"],
    });
    assert.throws(() => parseBridgeArgs(["--socket", "/s", "--fd", "3", "--port", "1", "--", "x"]), /exclude each other/);
    assert.throws(() => parseBridgeArgs(["--socket", "/s", "--", "x"]), /--port is required with --socket/);
    assert.throws(() => parseBridgeArgs(["--socket", "s", "--port", "1", "--", "x"]), /absolute path/);
  });

  it("says what to do when the socket cannot be reached: gVisor's host-uds flag for EPERM", () => {
    assert.match(socketFailure("/s", Object.assign(new Error("x"), { code: "EPERM" })), /--host-uds=open.*daemon\.json/);
    assert.match(socketFailure("/s", Object.assign(new Error("x"), { code: "ENOENT" })), /gateway may have stopped/);
  });
});

describe("egress socket failures", () => {
  it("refuses a parent directory that would make the socket path too long for a Unix socket, leaving nothing behind", () => {
    const deep = join(parent, "d".repeat(100));
    mkdirSync(deep);
    assert.throws(() => new EgressSocket(deep), /longer than 107 bytes.*set TMPDIR to a shorter directory/);
    assert.deepEqual(readdirSync(deep), []);
  });

  it("throws from serve, with everything closed, when the socket cannot be handed to its owner", () => {
    const sock = new EgressSocket(parent);
    // A uid chown cannot take (out of range), so this fails for root too.
    sock.owner = { uid: 2 ** 32 + 5, gid: 0 };
    assert.throws(() => sock.serve({ server: "t", policy: compileEgressPolicy({}) }), /cannot open the egress proxy's socket/);
    assert.ok(!existsSync(sock.dir));
  });
});
