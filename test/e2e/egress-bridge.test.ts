// End to end: the real bridge program between a command and the gateway's egress proxy, over the
// child's fd 3 (no sandbox here: the sandbox comes from its backends; this checks the channel).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readlinkSync } from "node:fs";
import { once } from "node:events";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { AuditEntry } from "../../src/audit/record.js";
import { attachEgress, type EgressHandle } from "../../src/egress/proxy.js";
import { compileEgressPolicy } from "../../src/policy/egress/egress.js";

/** The compiled bridge program, wherever this test was compiled to. */
const BRIDGE = fileURLToPath(new URL("../../src/egress/bridge-main.js", import.meta.url));

let server: http.Server;
let port: number;
before(async () => {
  server = http.createServer((req, res) => {
    const text = `hello from ${req.url}`;
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
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

/**
 * The command the bridge starts: fetches URLs through $HTTP_PROXY (plain HTTP and CONNECT),
 * prints one line per result on stdout, then exits with the code in EXIT_CODE.
 */
const CLIENT = String.raw`
const http = require("node:http");
const proxy = new URL(process.env.HTTP_PROXY);
const plain = (url) => new Promise((resolve) => {
  const req = http.request({ host: proxy.hostname, port: proxy.port, path: url, agent: false }, (res) => {
    let body = ""; res.setEncoding("utf8"); res.on("data", (c) => body += c); res.on("end", () => resolve(res.statusCode + " " + body.trim()));
  });
  req.on("error", (e) => resolve("error " + e.code)); req.end();
});
const tunnel = (authority, path) => new Promise((resolve) => {
  const req = http.request({ host: proxy.hostname, port: proxy.port, method: "CONNECT", path: authority, agent: false });
  req.on("connect", (res, socket) => {
    if (res.statusCode !== 200) { socket.destroy(); return resolve(String(res.statusCode)); }
    let data = ""; socket.setEncoding("latin1");
    socket.on("data", (c) => data += c);
    socket.on("end", () => resolve("200 " + data.split("\r\n\r\n")[1]));
    socket.write("GET " + path + " HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n");
  });
  req.on("error", (e) => resolve("error " + e.code)); req.end();
});
(async () => {
  const [target, denied] = process.argv.slice(1);
  console.log("env " + [process.env.HTTPS_PROXY === process.env.HTTP_PROXY, process.env.ALL_PROXY.startsWith("socks5h://127.0.0.1:"), process.env.http_proxy === process.env.HTTP_PROXY, process.env.NO_PROXY === "", process.env.no_proxy === ""].join(","));
  console.log("plain " + await plain("http://" + target + "/plain"));
  console.log("connect " + await tunnel(target, "/tunnel"));
  console.log("denied-plain " + await plain("http://" + denied + "/"));
  console.log("denied-connect " + await tunnel(denied, "/"));
  process.exitCode = Number(process.env.EXIT_CODE ?? 0);
})();
`;

interface Run {
  child: ChildProcess;
  audits: AuditEntry[];
  handle: EgressHandle | undefined;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

function run(bridgeArgs: string[], command: string[], env: Record<string, string> = {}, allowed = ["127.0.0.1/32"]): Run {
  const child = spawn(process.execPath, [BRIDGE, ...bridgeArgs, "--", ...command], {
    stdio: ["pipe", "pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const audits: AuditEntry[] = [];
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const channel = child.stdio[3] as Duplex;
  const handle = bridgeArgs.includes("--fd") ? attachEgress(channel, { server: "e2e", policy: compileEgressPolicy({ allowedDomains: allowed }), audit: (e) => audits.push(e) }) : undefined;
  if (!handle) channel.destroy();
  return { child, audits, handle, stdout: () => out, stderr: () => err, exit };
}

async function finished(r: Run, ms = 20_000): Promise<[number | null, NodeJS.Signals | null]> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      r.exit,
      new Promise<never>((_, rej) => {
        t = setTimeout(() => {
          r.child.kill("SIGKILL");
          rej(new Error(`bridge did not exit in time; stdout ${r.stdout()} stderr ${r.stderr()}`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
    r.handle?.close();
  }
}

describe("egress bridge (e2e)", { timeout: 60_000 }, () => {
  test("a command fetches through the bridge: allowed and denied, stdout and exit code pass through", async () => {
    const p = await freePort();
    const r = run(["--fd", "3", "--port", String(p)], [process.execPath, "-e", CLIENT, `127.0.0.1:${port}`, "example.com:80"], { EXIT_CODE: "7" });
    const [code, signal] = await finished(r);
    assert.equal(r.stderr(), "");
    assert.equal(signal, null);
    assert.equal(code, 7);
    assert.deepEqual(r.stdout().trim().split("\n"), [
      "env true,true,true,true,true",
      "plain 200 hello from /plain",
      "connect 200 hello from /tunnel",
      "denied-plain 403 mcp-warden egress proxy: example.com:80 is not in allowedDomains",
      "denied-connect 403",
    ]);
    assert.deepEqual(
      r.audits.map((e) => [e.decision, (e.detail as { protocol: string }).protocol]),
      [
        ["allow", "http"],
        ["allow", "http-connect"],
        ["deny", "http"],
        ["deny", "http-connect"],
      ],
    );
    assert.ok(r.audits.every((e) => e.server === "e2e" && e.event === "egress"));
  });

  test("loopback is refused unless an entry allows it, even from inside", async () => {
    const p = await freePort();
    const r = run(["--fd", "3", "--port", String(p)], [process.execPath, "-e", CLIENT, `127.0.0.1:${port}`, `localhost:${port}`], {}, ["example.com"]);
    const [code] = await finished(r);
    assert.equal(code, 0);
    const lines = r.stdout().trim().split("\n");
    assert.match(lines[1] ?? "", /^plain 403 /);
    assert.match(lines[2] ?? "", /^connect 403$/);
    assert.match(lines[3] ?? "", /^denied-plain 403 .*loopback/);
    assert.ok(r.audits.every((e) => e.decision === "deny"));
  });

  test("stdin reaches the command untouched and the channel is not passed on", async () => {
    const p = await freePort();
    const script = String.raw`
      const fs = require("node:fs");
      const links = fs.existsSync("/proc/self/fd") ? fs.readdirSync("/proc/self/fd").map((fd) => { try { return fs.readlinkSync("/proc/self/fd/" + fd); } catch { return ""; } }) : [];
      process.stderr.write(JSON.stringify(links) + "\n");
      process.stdin.pipe(process.stdout);
    `;
    const r = run(["--fd", "3", "--port", String(p)], [process.execPath, "-e", script]);
    // The bridge's fd 3, as the kernel names it: the command must not hold the same socket.
    let channelLink: string | undefined;
    const bridgePid = r.child.pid as number;
    for (let i = 0; i < 50 && channelLink === undefined; i++) {
      if (existsSync(`/proc/${bridgePid}/fd/3`)) channelLink = readlinkSync(`/proc/${bridgePid}/fd/3`);
      else await new Promise((res) => setTimeout(res, 20));
    }
    const message = `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" })}\n`;
    r.child.stdin?.end(message);
    const [code] = await finished(r);
    assert.equal(code, 0);
    assert.equal(r.stdout(), message);
    if (channelLink !== undefined) {
      assert.match(channelLink, /^socket:/);
      const links = JSON.parse(r.stderr().trim().split("\n")[0] ?? "[]") as string[];
      assert.ok(!links.includes(channelLink), `the command holds the channel ${channelLink}: ${links.join(" ")}`);
    }
  });

  test("a command killed by a signal exits 128 + signal; SIGTERM to the bridge reaches the command", async () => {
    const p = await freePort();
    const selfKill = run(["--fd", "3", "--port", String(p)], [process.execPath, "-e", "process.kill(process.pid, 'SIGKILL')"]);
    assert.deepEqual(await finished(selfKill), [137, null]);

    const p2 = await freePort();
    const waiting = run(["--fd", "3", "--port", String(p2)], [process.execPath, "-e", "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(42); }); console.log('ready'); setInterval(() => {}, 1000);"]);
    for (let i = 0; i < 200 && !waiting.stdout().includes("ready"); i++) await new Promise((res) => setTimeout(res, 25));
    waiting.child.kill("SIGTERM");
    assert.deepEqual(await finished(waiting), [42, null]);
    assert.equal(waiting.stdout(), "ready\ngot SIGTERM\n");
  });

  test("when the channel closes, the bridge stops the command and exits", async () => {
    const p = await freePort();
    const r = run(["--fd", "3", "--port", String(p)], [process.execPath, "-e", "console.log('ready'); setInterval(() => {}, 1000);"]);
    for (let i = 0; i < 200 && !r.stdout().includes("ready"); i++) await new Promise((res) => setTimeout(res, 25));
    r.handle?.close();
    const [code, signal] = await finished(r);
    assert.equal(signal, null);
    assert.equal(code, 128 + 15, "the command was stopped with SIGTERM");
    assert.match(r.stderr(), /egress channel closed/);
  });

  test("without --fd the command just runs, with no proxy in its environment", async () => {
    const r = run([], [process.execPath, "-e", "console.log(String(process.env.HTTP_PROXY)); process.exitCode = 3"], { HTTP_PROXY: "" });
    const [code] = await finished(r);
    assert.equal(code, 3);
    assert.equal(r.stdout(), "\n");
  });

  test("usage errors and commands that cannot start", async () => {
    const usage = run(["--port", "x"], ["true"]);
    assert.deepEqual(await finished(usage), [2, null]);
    assert.match(usage.stderr(), /usage/);
    const missing = run([], ["/nonexistent/command-for-bridge-test"]);
    assert.deepEqual(await finished(missing), [127, null]);
  });
});
