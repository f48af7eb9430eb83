// The gateway's end of a container's egress channel (src/egress/fifo-channel.ts) with real named
// pipes, and the bridge's end (--fifo-in/--fifo-out, connectFifos): a private directory, one bridge
// served by the proxy after a handshake that unlinks the pipes, everything removed at close.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEntry } from "../../src/audit/record.js";
import { connectFifos, fifoFailure, parseBridgeArgs, startBridge } from "../../src/egress/bridge.js";
import { EgressFifos, ownerOf } from "../../src/egress/fifo-channel.js";
import { FIFO_FROM_BRIDGE, FIFO_TO_BRIDGE } from "../../src/egress/fifo-protocol.js";
import { compileEgressPolicy } from "../../src/policy/egress/egress.js";

const parent = mkdtempSync(join(tmpdir(), "warden-egress-fifo-"));
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

const pipesOf = (f: EgressFifos) => ({ in: f.toBridge, out: f.fromBridge });

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

/** Resolves after `check()` holds, polling every 20 ms for at most 5 s (then rejects). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("egress fifos", () => {
  it("lives in a fresh 0700 directory; the two pipes exist (FIFOs, 0600) once serve() returns", () => {
    const fifos = new EgressFifos(parent);
    try {
      fifos.serve({ server: "t", policy: compileEgressPolicy({}) });
      assert.equal(statSync(fifos.dir).mode & 0o777, 0o700);
      assert.deepEqual(readdirSync(fifos.dir).sort(), [FIFO_FROM_BRIDGE, FIFO_TO_BRIDGE].sort());
      for (const p of [fifos.toBridge, fifos.fromBridge]) {
        assert.ok(lstatSync(p).isFIFO(), p);
        assert.equal(lstatSync(p).mode & 0o777, 0o600);
      }
    } finally {
      fifos.close();
    }
    assert.ok(!existsSync(fifos.dir), "the directory is removed at close");
  });

  it("serves one bridge with the same proxy and audit records; the pipes are unlinked at the handshake, so no second bridge finds them", async () => {
    const fifos = new EgressFifos(parent);
    const audits: AuditEntry[] = [];
    fifos.serve({ server: "api", policy: compileEgressPolicy({ allowedDomains: ["127.0.0.1/32"] }), audit: (e) => audits.push(e) });
    const channel = await connectFifos(pipesOf(fifos));
    // The gateway unlinks before it answers, so the pipes are gone once the bridge is connected.
    assert.deepEqual(readdirSync(fifos.dir), []);
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
      await assert.rejects(connectFifos(pipesOf(fifos)), /ENOENT/);
    } finally {
      bridge.close();
      fifos.close();
    }
    assert.ok(!existsSync(fifos.dir));
  });

  it("closing it ends the channel: the bridge side sees its mux close", async () => {
    const fifos = new EgressFifos(parent);
    let closed = false;
    fifos.serve({ server: "api", policy: compileEgressPolicy({}), onClose: () => (closed = true) });
    const bridge = await startBridge(await connectFifos(pipesOf(fifos)), 0);
    const gone = once(bridge.mux, "close");
    fifos.close();
    await gone;
    assert.ok(closed, "onClose was called");
    bridge.close();
  });

  it("the bridge going away ends the channel on the gateway's side", async () => {
    const fifos = new EgressFifos(parent);
    let closed = false;
    fifos.serve({ server: "api", policy: compileEgressPolicy({}), onClose: () => (closed = true) });
    const bridge = await startBridge(await connectFifos(pipesOf(fifos)), 0);
    bridge.close();
    await until(() => closed, "the gateway's end to close");
    fifos.close();
  });

  it("closes the channel on a wrong greeting, leaving no pipe behind", async () => {
    const fifos = new EgressFifos(parent);
    let error: Error | undefined;
    fifos.serve({ server: "api", policy: compileEgressPolicy({}), onClose: (e) => (error = e) });
    // A writer that is not the bridge: another greeting (O_WRONLY|O_NONBLOCK, the gateway holds the reading end).
    writeFileSync(fifos.fromBridge, "GET / HTTP/1.1\r\n\r\n", { flag: "w" });
    await until(() => error !== undefined, "the channel to close");
    assert.match(String(error?.message), /greeting is wrong/);
    assert.ok(!existsSync(fifos.dir));
  });

  it("refuses to serve twice, or after close", () => {
    const fifos = new EgressFifos(parent);
    fifos.serve({ server: "t", policy: compileEgressPolicy({}) });
    assert.throws(() => fifos.serve({ server: "t", policy: compileEgressPolicy({}) }), /already serving/);
    fifos.close();
    assert.throws(() => fifos.serve({ server: "t", policy: compileEgressPolicy({}) }), /already closed/);
  });

  it("hands the directory and pipes to the container's user when that is another uid (root only)", { skip: process.getuid?.() === 0 ? false : "chown to another uid needs root" }, () => {
    const fifos = new EgressFifos(parent);
    try {
      fifos.owner = ownerOf("65534:65534");
      fifos.serve({ server: "t", policy: compileEgressPolicy({}) });
      for (const p of [fifos.dir, fifos.toBridge, fifos.fromBridge]) assert.deepEqual([statSync(p).uid, statSync(p).gid], [65534, 65534], p);
      assert.equal(statSync(fifos.dir).mode & 0o777, 0o700);
    } finally {
      fifos.close();
    }
  });

  it("throws from serve, with everything closed, when the pipes cannot be handed to their owner", () => {
    const fifos = new EgressFifos(parent);
    // A uid chown cannot take (out of range), so this fails for root too.
    fifos.owner = { uid: 2 ** 32 + 5, gid: 0 };
    assert.throws(() => fifos.serve({ server: "t", policy: compileEgressPolicy({}) }), /cannot open the egress proxy's channel/);
    assert.ok(!existsSync(fifos.dir));
  });

  it("reads a container user as numbers, and refuses anything else", () => {
    assert.deepEqual(ownerOf("1000:100"), { uid: 1000, gid: 100 });
    assert.equal(ownerOf("1000").uid, 1000);
    assert.throws(() => ownerOf("nobody"), /not a numeric uid:gid/);
  });
});

describe("bridge --fifo-in/--fifo-out", () => {
  it("parses both pipes and the port, and refuses one without the other, with --fd, without --port or with a relative path", () => {
    assert.deepEqual(parseBridgeArgs(["--fifo-in", "/e/to-bridge", "--fifo-out", "/e/from-bridge", "--port", "3128", "--", "node", "s.js"]), {
      fifos: { in: "/e/to-bridge", out: "/e/from-bridge" },
      port: 3128,
      command: "node",
      args: ["s.js"],
    });
    assert.throws(() => parseBridgeArgs(["--fifo-in", "/a", "--port", "1", "--", "x"]), /go together/);
    assert.throws(() => parseBridgeArgs(["--fifo-in", "/a", "--fifo-out", "/b", "--fd", "3", "--port", "1", "--", "x"]), /exclude each other/);
    assert.throws(() => parseBridgeArgs(["--fifo-in", "/a", "--fifo-out", "/b", "--", "x"]), /--port is required with --fifo-in\/--fifo-out/);
    assert.throws(() => parseBridgeArgs(["--fifo-in", "a", "--fifo-out", "/b", "--port", "1", "--", "x"]), /absolute path/);
  });

  it("fails at once (ENXIO) on a pipe whose gateway end is not open, and says so", async () => {
    const dir = mkdtempSync(join(parent, "orphan-"));
    const pipes = { in: join(dir, "in"), out: join(dir, "out") };
    execFileSync("mkfifo", [pipes.in, pipes.out]);
    const err = await connectFifos(pipes).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    assert.equal(err?.code, "ENXIO");
    assert.match(fifoFailure(pipes, err as NodeJS.ErrnoException), /does not hold the channel's other end/);
  });

  it("says what to do when the pipes cannot be opened: gVisor's host-fifo flag for EPERM", () => {
    const pipes = { in: "/e/to-bridge", out: "/e/from-bridge" };
    assert.match(fifoFailure(pipes, Object.assign(new Error("x"), { code: "EPERM" })), /--host-fifo=open.*daemon\.json/);
    assert.match(fifoFailure(pipes, Object.assign(new Error("x"), { code: "ENOENT" })), /gateway may have stopped/);
  });
});
