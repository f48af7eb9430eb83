// Hostile input against the real `mcp-warden serve` process: DNS-rebinding Hosts and foreign
// Origins, bodies over the limit, slow and stalled clients, malformed JSON-RPC and batches, 2026-07-28
// header/body mismatches, guessed and stolen session IDs, odd Authorization headers, TLS, and a drain
// on SIGTERM. Callers authenticate with API keys (no OpenID provider needed); raw sockets send what
// fetch would not (raw-http.ts).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch } from "./harness.js";
import { httpsPost, rawExchange, rawMcpPost, reply, replyText, requestHead, trickle, uploadUntilClosed } from "./raw-http.js";
import { rawPost, startServe, type Serving } from "./serve-harness.js";

const ALICE = generateApiKey();
const BOB = generateApiKey();
/** A well-formed key that no settings file here lists (another deployment's). */
const STRANGER = generateApiKey();

const INIT = (id: number | string = 1) => ({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
const CALL = (id: number, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
const MODERN_META = (version = "2026-07-28") => ({ "io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" } });
const MODERN_CALL = (id: number, name: string, args: Record<string, unknown>, version?: string) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, _meta: MODERN_META(version) } });
const MODERN_HEADERS = (method: string, name?: string) => ({ "mcp-protocol-version": "2026-07-28", "mcp-method": method, ...(name ? { "mcp-name": name } : {}) });
/** A slow client's limit (1 s) + Node's 1 s check interval + 1 s slack. */
const SLOW_CLIENT_BOUND = 3000;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function settingsFor(port: number, remote: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mcpServers: { fx: { command: process.execPath, args: [FIXTURE], share: "shared" } },
    permissions: { allow: ["mcp__fx__echo", "mcp__fx__slow", "mcp__fx__create_issue"], deny: ["mcp__fx__delete_repo"] },
    integrity: { pins: false },
    remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { alice: { hash: hashApiKey(ALICE) }, bob: { hash: hashApiKey(BOB) } } }, ...remote },
    principals: { "user:apikey:bob": { permissions: { deny: ["mcp__fx__echo"] } } },
  };
}

/** Opens a 2025-06-18 session for `key`; its ID. */
async function openSession(url: string, key: string): Promise<string> {
  const res = await rawPost(url, INIT(), bearer(key));
  const body = await res.text();
  assert.equal(res.status, 200, body);
  const sid = res.headers.get("mcp-session-id");
  assert.ok(sid, "initialize returns a session ID");
  const initialized = await rawPost(url, { jsonrpc: "2.0", method: "notifications/initialized" }, { ...bearer(key), "mcp-session-id": sid });
  assert.equal(initialized.status, 202);
  return sid;
}

describe("serve's listener: rebinding Hosts, foreign Origins, oversized bodies, slow clients", () => {
  let s: Scratch;
  let srv: Serving;
  let port: number;
  const LIMIT = 64 * 1024;

  before(async () => {
    port = await closedPort();
    s = scratch(settingsFor(port, { maxBodyBytes: LIMIT, headersTimeoutMs: 1000, idleTimeoutMs: 1000 }));
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("refuses with 403 every Host that is not its own (other names, our port under another name, IPv6 spellings, suffix tricks) and serves its own names", async () => {
    const refused = [
      "evil.example",
      `evil.example:${port}`,
      `EVIL.Example:${port}`,
      `127.0.0.1.evil.example`,
      `127.0.0.1.evil.example:${port}`,
      `localhost.evil.example:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `[0:0:0:0:0:0:0:1]:${port}`,
      `[::1].evil.example`,
      `[::1]evil:${port}`,
      `::1`,
      `127.0.0.1:${port}:${port}`,
      `127.0.0.1:${port}.evil.example`,
      `evil.example, 127.0.0.1:${port}`,
      "",
    ];
    for (const host of refused) {
      const r = await rawMcpPost(port, [["Host", host], ["Authorization", `Bearer ${ALICE}`]], INIT());
      assert.equal(r.status, 403, `Host '${host}' must be refused: ${r.text.slice(0, 200)}`);
    }
    for (const host of [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`, "[::1]"]) {
      const r = await rawMcpPost(port, [["Host", host], ["Authorization", `Bearer ${ALICE}`]], INIT());
      assert.equal(r.status, 200, `Host '${host}' is ours: ${r.text.slice(0, 200)}`);
    }
  });

  it("refuses a request without a Host (403 for HTTP/1.0, 400 for HTTP/1.1) and one with two Host headers (400), whichever comes first", async () => {
    const http10 = await rawMcpPost(port, [["Authorization", `Bearer ${ALICE}`]], INIT(), "HTTP/1.0");
    assert.equal(http10.status, 403, http10.text);
    const http11 = await rawMcpPost(port, [["Authorization", `Bearer ${ALICE}`]], INIT());
    assert.equal(http11.status, 400, http11.text);
    for (const hosts of [
      [`127.0.0.1:${port}`, "evil.example"],
      ["evil.example", `127.0.0.1:${port}`],
    ]) {
      const r = await rawMcpPost(port, [...hosts.map((h): [string, string] => ["Host", h]), ["Authorization", `Bearer ${ALICE}`]], INIT());
      assert.equal(r.status, 400, `two Hosts ${hosts.join(" + ")}: ${r.text.slice(0, 200)}`);
    }
  });

  it("honours a client's Connection: close: the route's own hop-by-hop headers (the SDK's keep-alive) do not hold the socket open", async () => {
    const r = await rawMcpPost(port, [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`]], INIT());
    assert.equal(r.status, 200);
    const head = r.text.slice(0, r.text.indexOf("\r\n\r\n")).toLowerCase();
    assert.ok(head.includes("connection: close") && !head.includes("keep-alive"), head);
    assert.ok(r.closed && r.ms < 1000, `closed after the answer, not after idleTimeoutMs (closed=${r.closed} after ${r.ms} ms)`);
  });

  it("refuses with 403 an Origin of null, of another scheme, port or name, and case variants of a foreign one; serves its own origin in any case and requests without one", async () => {
    const refused = ["null", "", `https://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`, "http://127.0.0.1", `http://localhost:${port}`, `http://127.0.0.1:${port}.evil.example`, "http://evil.example", "HTTP://EVIL.EXAMPLE", `http://127.0.0.1:${port}@evil.example`];
    for (const origin of refused) {
      const r = await rawPost(srv.url, INIT(), { ...bearer(ALICE), origin });
      assert.equal(r.status, 403, `Origin '${origin}' must be refused`);
      await r.body?.cancel();
    }
    for (const origin of [`http://127.0.0.1:${port}`, `HTTP://127.0.0.1:${port}`, undefined]) {
      const r = await rawPost(srv.url, INIT(), { ...bearer(ALICE), ...(origin ? { origin } : {}) });
      assert.equal(r.status, 200, `Origin '${origin}' is ours`);
      await r.body?.cancel();
    }
    assert.ok(auditRecords(s).some((r) => r.event === "refused" && r.reason === "origin"), "refusals are audited");
  });

  it("answers a declared Content-Length over the limit with 413 and closes the connection at once instead of reading the rest", async () => {
    const head = requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`], ["Content-Type", "application/json"], ["Content-Length", String(100 * 1024 * 1024)]]);
    const r = await uploadUntilClosed(port, head, (chunk) => chunk);
    assert.equal(r.status, 413, r.text);
    assert.match(r.text.slice(0, r.text.indexOf("\r\n\r\n")), /^connection: close$/im, "the answer says the connection closes");
    assert.ok(r.closed && r.ms < 1500, `the server closes the connection (closed=${r.closed} after ${r.ms} ms)`);
    assert.ok(r.sent < r.total, `the upload was cut short (${r.sent} bytes sent)`);
  });

  it("answers a chunked body that grows past the limit (no Content-Length) with 413, stops reading it, and closes the connection at once", async () => {
    const head = requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`], ["Content-Type", "application/json"], ["Transfer-Encoding", "chunked"]]);
    const r = await uploadUntilClosed(port, head, (chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    assert.equal(r.status, 413, r.text);
    assert.match(r.text.slice(0, r.text.indexOf("\r\n\r\n")), /^connection: close$/im, "the answer says the connection closes");
    assert.ok(r.closed && r.ms < 1500, `the server closes the connection (closed=${r.closed} after ${r.ms} ms)`);
    assert.ok(r.sent < r.total, `the upload was cut short (${r.sent} bytes sent)`);
  });

  it("lets an honest client that is still uploading read its 413 (fetch, 5 MiB, ten times): no reset instead of the answer", async () => {
    for (let i = 0; i < 10; i++) {
      const res = await rawPost(srv.url, "x".repeat(5 * 1024 * 1024), bearer(ALICE));
      assert.equal(res.status, 413);
      await res.body?.cancel();
    }
  });

  it("leaves request-smuggling shapes to the parser: a negative Content-Length and Content-Length with chunked are refused 400", async () => {
    const negative = await rawExchange(port, requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Content-Length", "-1"]]) + "{}");
    assert.equal(negative.status, 400, negative.text);
    const both = await rawExchange(port, requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Content-Length", "2"], ["Transfer-Encoding", "chunked"]]) + "0\r\n\r\n");
    assert.equal(both.status, 400, both.text);
  });

  it("serves a body under the limit and is still up after the oversized ones", async () => {
    const sid = await openSession(srv.url, ALICE);
    const text = "y".repeat(LIMIT / 2);
    const res = await rawPost(srv.url, CALL(2, "fx__echo", { text }), { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(res.status, 200);
    assert.equal(replyText(reply(await res.text(), 2)), `echo: ${text}`);
  });

  it("cuts off a client sending its headers one byte per 500 ms within headersTimeoutMs (1 s) plus slack, while serving a normal client meanwhile", async () => {
    const head = requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`], ["Content-Type", "application/json"], ["Content-Length", "2"]]);
    const slow = rawExchange(port, (socket) => trickle(socket, head, 500), { timeoutMs: 8000 });
    await new Promise((r) => setTimeout(r, 300));
    const normal = await rawPost(srv.url, INIT(), bearer(ALICE));
    assert.equal(normal.status, 200, "a normal client is served during the attack");
    await normal.body?.cancel();
    const r = await slow;
    assert.ok(r.closed, "the slow client was disconnected");
    assert.ok(r.ms <= SLOW_CLIENT_BOUND, `disconnected after ${r.ms} ms`);
    assert.ok(r.status === 408 || r.status === 0, `no request was served: ${r.text}`);
  });

  it("cuts off a client that connects and sends nothing within headersTimeoutMs plus slack", async () => {
    const r = await rawExchange(port, () => undefined, { timeoutMs: 8000 });
    assert.ok(r.closed && r.ms <= SLOW_CLIENT_BOUND, `closed=${r.closed} after ${r.ms} ms`);
  });

  it("cuts off a client that sends its headers and then stalls its body: 408 within idleTimeoutMs (1 s) plus slack", async () => {
    const r = await rawExchange(
      port,
      (socket) => {
        socket.write(requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`], ["Content-Type", "application/json"], ["Content-Length", "200"]]));
        socket.write('{"jsonrpc":"2.0",');
      },
      { timeoutMs: 8000 },
    );
    assert.ok(r.closed, `the stalled client was disconnected (after ${r.ms} ms)`);
    assert.ok(r.ms <= SLOW_CLIENT_BOUND, `disconnected after ${r.ms} ms`);
    assert.equal(r.status, 408, r.text);
  });

  it("leaves nothing in flight after a client that vanished mid-body: SIGTERM then exits 0 within 3 s (not after the 10 s drain bound)", async () => {
    await rawExchange(port, (socket) => {
      socket.write(requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`], ["Content-Type", "application/json"], ["Content-Length", "200"]]));
      socket.write("{");
      setTimeout(() => socket.destroy(), 200);
    });
    const started = Date.now();
    assert.equal(await srv.stop(), 0);
    assert.ok(Date.now() - started < 3000, `stopped after ${Date.now() - started} ms`);
  });
});

describe("serve's MCP endpoint: malformed JSON-RPC, batches, 2026-07-28 header checks, session IDs, odd Authorization headers", () => {
  let s: Scratch;
  let srv: Serving;
  let port: number;

  before(async () => {
    port = await closedPort();
    s = scratch(settingsFor(port, { rateLimits: { perTool: { "mcp__fx__create_issue": "2/min" } } }));
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("answers malformed JSON-RPC with 400 (not JSON, not an object, wrong version, no method, object or array id, empty), with and without a session, and the session keeps working", async () => {
    const sid = await openSession(srv.url, ALICE);
    const malformed = ["{not json", "42", '"text"', "null", "true", "[]", "", '{"jsonrpc":"1.0","id":1,"method":"tools/list"}', '{"id":1,"method":"tools/list"}', '{"jsonrpc":"2.0","id":1}', '{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}', '{"jsonrpc":"2.0","id":[1],"method":"tools/list"}', '{"jsonrpc":"2.0","id":1,"method":42}'];
    for (const body of malformed) {
      for (const session of [{}, { "mcp-session-id": sid }] as Record<string, string>[]) {
        const res = await rawPost(srv.url, body, { ...bearer(ALICE), ...session });
        const text = await res.text();
        assert.equal(res.status, 400, `${JSON.stringify(body)} ${"mcp-session-id" in session ? "in" : "outside"} a session: ${res.status} ${text.slice(0, 200)}`);
        assert.ok(!/\n\s+at /.test(text), "no stack trace reaches the client");
      }
    }
    const list = await rawPost(srv.url, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(list.status, 200);
    assert.ok(reply(await list.text(), 2).result, "the session still serves tools/list");
  });

  it("serves a request with a huge string id (50 KB) without crashing, echoing the id and keeping it out of the audit log", async () => {
    const sid = await openSession(srv.url, ALICE);
    const id = "i".repeat(50_000);
    const res = await rawPost(srv.url, { jsonrpc: "2.0", id, method: "tools/list" }, { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(res.status, 200);
    assert.ok(reply(await res.text(), id).result);
    assert.ok(!JSON.stringify(auditRecords(s)).includes("i".repeat(100)), "the id is not copied into the audit log");
  });

  it("2025 session: judges every element of a batch, so a denied call cannot ride along with allowed ones; a caller's principal rules apply to each element", async () => {
    const sid = await openSession(srv.url, ALICE);
    const res = await rawPost(srv.url, [CALL(11, "fx__echo", { text: "in a batch" }), CALL(12, "fx__delete_repo", { repo: "x" }), CALL(13, "fx__delete_repo")], { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.equal(replyText(reply(body, 11)), "echo: in a batch");
    for (const id of [12, 13]) assert.match(replyText(reply(body, id)), /Denied by mcp-warden/, `element ${id} is denied`);
    const bobSid = await openSession(srv.url, BOB);
    const bobRes = await rawPost(srv.url, [CALL(21, "fx__echo", { text: "bob" }), CALL(22, "fx__slow", { ms: 1, steps: 1 })], { ...bearer(BOB), "mcp-session-id": bobSid });
    const bobBody = await bobRes.text();
    assert.match(replyText(reply(bobBody, 21)), /Denied by mcp-warden/, "bob's principal rule denies echo inside a batch");
    assert.equal(replyText(reply(bobBody, 22)), "slept 1 ms");
    const denied = auditRecords(s).filter((r) => r.event === "decided" && r.decision === "deny").map((r) => r.tool);
    assert.ok(denied.filter((t) => t === "mcp__fx__delete_repo").length >= 2 && denied.includes("mcp__fx__echo"), `denials audited: ${denied.join(",")}`);
  });

  it("2025 session: meters every element of a batch (3 calls against a 2/min limit get 429 and none runs), and refuses batches of over 100 messages or with an initialize", async () => {
    const sid = await openSession(srv.url, ALICE);
    const res = await rawPost(srv.url, [CALL(31, "fx__create_issue"), CALL(32, "fx__create_issue"), CALL(33, "fx__create_issue")], { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(res.status, 429, await res.text());
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    assert.ok(!auditRecords(s).some((r) => r.event === "decided" && r.tool === "mcp__fx__create_issue"), "no element of the refused batch ran");
    const big = await rawPost(srv.url, Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: 100 + i, method: "ping" })), { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(big.status, 400);
    const init = await rawPost(srv.url, [INIT(40), { jsonrpc: "2.0", id: 41, method: "ping" }], { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(init.status, 400);
  });

  it("2025 session: accepts notifications only and a posted response object with 202, never runs a tools/call sent as a notification, and stays up", async () => {
    const sid = await openSession(srv.url, ALICE);
    const headers = { ...bearer(ALICE), "mcp-session-id": sid };
    const before = auditRecords(s).filter((r) => r.tool === "mcp__fx__echo").length;
    const notes = await rawPost(srv.url, [{ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 999 } }, { jsonrpc: "2.0", method: "tools/call", params: { name: "fx__echo", arguments: { text: "sneaky" } } }], headers);
    assert.equal(notes.status, 202);
    const response = await rawPost(srv.url, { jsonrpc: "2.0", id: 5, result: {} }, headers);
    assert.equal(response.status, 202);
    const errorReply = await rawPost(srv.url, { jsonrpc: "2.0", id: 6, error: { code: 1, message: "x" } }, headers);
    assert.equal(errorReply.status, 202);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(auditRecords(s).filter((r) => r.tool === "mcp__fx__echo").length, before, "the notification-shaped call was not run");
    const ping = await rawPost(srv.url, { jsonrpc: "2.0", id: 7, method: "ping" }, headers);
    assert.equal(ping.status, 200);
  });

  it("2026-07-28: refuses batch arrays with 400 (with or without a session ID) and runs none of their calls", async () => {
    const sid = await openSession(srv.url, ALICE);
    const before = auditRecords(s).filter((r) => r.event === "decided").length;
    for (const [batch, session] of [
      [[MODERN_CALL(50, "fx__echo", { text: "a" }), MODERN_CALL(51, "fx__delete_repo", {})], {}],
      [[MODERN_CALL(52, "fx__echo", { text: "b" })], {}],
      [[MODERN_CALL(53, "fx__echo", { text: "c" })], { "mcp-session-id": sid }],
    ] as [unknown[], Record<string, string>][]) {
      const res = await rawPost(srv.url, batch, { ...bearer(ALICE), ...MODERN_HEADERS("tools/call", "fx__echo"), ...session });
      const text = await res.text();
      assert.equal(res.status, 400, text);
      assert.match(text, /batches may not contain requests for protocol revision 2026-07-28/, "refused as a modern batch, not for some other reason");
    }
    assert.equal(auditRecords(s).filter((r) => r.event === "decided").length, before, "nothing in the batches was judged or run");
  });

  it("2026-07-28: a header that disagrees with the body (protocol version, Mcp-Method, Mcp-Name, Mcp-Param-*) gets 400; the matching request is served", async () => {
    const call = MODERN_CALL(60, "fx__echo", { text: "hi", n: 3, obj: { a: 1 } });
    const ok = await rawPost(srv.url, call, { ...bearer(ALICE), ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-param-text": "hi", "MCP-PARAM-N": "3" });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(replyText(reply(await ok.text(), 60)), "echo: hi");
    const mismatches: [string, unknown, Record<string, string>][] = [
      ["protocol version header 2025-11-25 vs body 2026-07-28", call, { ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-protocol-version": "2025-11-25" }],
      ["body _meta version 2025-06-18 vs header 2026-07-28", MODERN_CALL(61, "fx__echo", { text: "hi" }, "2025-06-18"), MODERN_HEADERS("tools/call", "fx__echo")],
      ["Mcp-Method tools/list vs body tools/call", call, MODERN_HEADERS("tools/list")],
      ["Mcp-Method in another case", call, MODERN_HEADERS("TOOLS/CALL", "fx__echo")],
      ["two Mcp-Method values", call, { ...MODERN_HEADERS("tools/call, tools/call", "fx__echo") }],
      ["Mcp-Name fx__delete_repo vs body fx__echo", call, MODERN_HEADERS("tools/call", "fx__delete_repo")],
      ["no Mcp-Name on tools/call", call, MODERN_HEADERS("tools/call")],
      ["Mcp-Param-Text with another value", call, { ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-param-text": "bye" }],
      ["Mcp-Param naming a missing argument", call, { ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-param-repo": "x" }],
      ["Mcp-Param for an object argument", call, { ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-param-obj": "[object Object]" }],
      ["Mcp-Param on tools/list", { jsonrpc: "2.0", id: 62, method: "tools/list", params: { _meta: MODERN_META() } }, { ...MODERN_HEADERS("tools/list"), "mcp-param-text": "hi" }],
    ];
    for (const [what, body, headers] of mismatches) {
      const res = await rawPost(srv.url, body, { ...bearer(ALICE), ...headers });
      const text = await res.text();
      assert.equal(res.status, 400, `${what}: ${res.status} ${text.slice(0, 300)}`);
    }
    assert.ok(!auditRecords(s).some((r) => r.event === "decided" && r.tool === "mcp__fx__delete_repo" && (r.principal as { subject?: string })?.subject === "apikey:alice" && r.decision === "allow"));
  });

  it("answers 404 to a guessed session ID, a session ID reused after DELETE, and a very long one; 431 to a session ID past the header limit", async () => {
    const headers = (sid: string) => ({ ...bearer(ALICE), "mcp-session-id": sid });
    const guessed = await rawPost(srv.url, { jsonrpc: "2.0", id: 1, method: "ping" }, headers(Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")));
    assert.equal(guessed.status, 404);
    const sid = await openSession(srv.url, ALICE);
    const del = await fetch(srv.url, { method: "DELETE", headers: { ...headers(sid), "mcp-protocol-version": "2025-06-18" } });
    assert.equal(del.status, 200);
    const reused = await rawPost(srv.url, { jsonrpc: "2.0", id: 2, method: "ping" }, headers(sid));
    assert.equal(reused.status, 404);
    const long = await rawPost(srv.url, { jsonrpc: "2.0", id: 3, method: "ping" }, headers("s".repeat(8000)));
    assert.equal(long.status, 404);
    const huge = await rawMcpPost(port, [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`], ["Mcp-Session-Id", "s".repeat(20_000)]], { jsonrpc: "2.0", id: 4, method: "ping" });
    assert.equal(huge.status, 431, huge.text);
  });

  it("answers 404 to another principal's session ID on POST, GET and DELETE, audits it, and the owner's session survives", async () => {
    const sid = await openSession(srv.url, ALICE);
    const asBob = { ...bearer(BOB), "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    const post = await rawPost(srv.url, CALL(70, "fx__echo", { text: "hijack" }), asBob);
    assert.equal(post.status, 404);
    const get = await fetch(srv.url, { headers: { ...asBob, accept: "text/event-stream" } });
    assert.equal(get.status, 404);
    const del = await fetch(srv.url, { method: "DELETE", headers: asBob });
    assert.equal(del.status, 404);
    assert.ok(auditRecords(s).filter((r) => r.event === "session-mismatch").length >= 3, "each attempt is audited");
    const mine = await rawPost(srv.url, CALL(71, "fx__echo", { text: "still mine" }), { ...bearer(ALICE), "mcp-session-id": sid });
    assert.equal(replyText(reply(await mine.text(), 71)), "echo: still mine");
  });

  it("2026-07-28: ignores an Mcp-Session-Id (the request is stateless): another principal's session ID lends none of its rights", async () => {
    const sid = await openSession(srv.url, ALICE);
    const res = await rawPost(srv.url, MODERN_CALL(80, "fx__echo", { text: "as bob" }), { ...bearer(BOB), ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-session-id": sid });
    assert.equal(res.status, 200);
    assert.match(replyText(reply(await res.text(), 80)), /Denied by mcp-warden/, "judged by bob's own rules");
    const own = await rawPost(srv.url, MODERN_CALL(81, "fx__echo", { text: "as alice" }), { ...bearer(ALICE), ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-session-id": "not-a-session" });
    assert.equal(replyText(reply(await own.text(), 81)), "echo: as alice");
  });

  it("Authorization edge cases: Basic, Bearer without a token, two Authorization headers and another deployment's key are refused; lowercase `bearer` is the same scheme (RFC 9110) and served; no key reaches the audit log", async () => {
    const basic = await rawPost(srv.url, INIT(), { authorization: `Basic ${Buffer.from("alice:secret").toString("base64")}` });
    assert.equal(basic.status, 401);
    assert.match(basic.headers.get("www-authenticate") ?? "", /^Bearer /);
    for (const value of ["Bearer", "Bearer ", `Bearer ${ALICE} extra`, `Bearer  ${ALICE}x`]) {
      const r = await rawPost(srv.url, INIT(), { authorization: value });
      assert.ok(r.status === 400 || r.status === 401, `'${value.slice(0, 20)}…' refused: ${r.status}`);
    }
    const stranger = await rawPost(srv.url, INIT(), bearer(STRANGER));
    assert.equal(stranger.status, 401);
    for (const pair of [
      [ALICE, STRANGER],
      [STRANGER, ALICE],
      [ALICE, ALICE],
    ]) {
      const r = await rawMcpPost(port, [["Host", `127.0.0.1:${port}`], ...pair.map((k): [string, string] => ["Authorization", `Bearer ${k}`])], INIT());
      assert.equal(r.status, 400, `two Authorization headers: ${r.text.slice(0, 200)}`);
    }
    const lower = await rawPost(srv.url, INIT(), { authorization: `bearer ${ALICE}` });
    assert.equal(lower.status, 200);
    await lower.body?.cancel();
    const log = JSON.stringify(auditRecords(s));
    for (const key of [ALICE, BOB, STRANGER]) assert.ok(!log.includes(key.slice(5)), "no API key in the audit log");
    assert.ok(!log.includes(Buffer.from("alice:secret").toString("base64")));
  });
});

describe("serve over TLS (remote.tls with a self-signed certificate made by openssl)", () => {
  let s: Scratch;
  let srv: Serving;
  let port: number;
  let ca: string;

  before(async () => {
    port = await closedPort();
    s = scratch(settingsFor(port, { headersTimeoutMs: 1000 }));
    const cert = join(s.dir, "cert.pem");
    const key = join(s.dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    ca = readFileSync(cert, "utf8");
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8")) as { remote: Record<string, unknown> };
    settings.remote.tls = { cert, key };
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("serves a client that trusts the certificate over https (initialize, then a tool call in the session)", async () => {
    assert.equal(srv.url, `https://127.0.0.1:${port}/mcp`);
    const init = await httpsPost(srv.url, ca, INIT(), bearer(ALICE));
    assert.ok("status" in init && init.status === 200, JSON.stringify(init));
    const sid = init.headers["mcp-session-id"] as string;
    const call = await httpsPost(srv.url, ca, CALL(2, "fx__echo", { text: "over tls" }), { ...bearer(ALICE), "mcp-session-id": sid });
    assert.ok("text" in call, JSON.stringify(call));
    assert.equal(replyText(reply(call.text, 2)), "echo: over tls");
  });

  it("fails the handshake for a client that does not trust the certificate", async () => {
    const r = await httpsPost(srv.url, undefined, INIT(), bearer(ALICE));
    assert.ok("error" in r && /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/.test(r.error), JSON.stringify(r));
  });

  it("serves no plain-HTTP request on the TLS port", async () => {
    const r = await rawMcpPost(port, [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`]], INIT());
    assert.ok(r.closed, "the connection is closed");
    assert.ok(r.status !== 200 && !r.text.includes("jsonrpc"), `no MCP answer in plain text: ${r.status} ${r.text.slice(0, 200)}`);
  });

  it("cuts off a client that connects and never starts the TLS handshake within headersTimeoutMs plus slack", async () => {
    const r = await rawExchange(port, () => undefined, { timeoutMs: 8000 });
    assert.ok(r.closed && r.ms <= SLOW_CLIENT_BOUND, `closed=${r.closed} after ${r.ms} ms`);
  });

  it("cuts off a client sending its headers one byte per 500 ms inside TLS within headersTimeoutMs plus slack", async () => {
    const head = requestHead("POST", "/mcp", [["Host", `127.0.0.1:${port}`], ["Content-Length", "2"]]);
    const r = await rawExchange(port, (socket) => trickle(socket, head, 500), { timeoutMs: 8000, ca });
    assert.ok(r.closed && r.ms <= SLOW_CLIENT_BOUND, `closed=${r.closed} after ${r.ms} ms`);
  });
});

describe("serve drains on SIGTERM", () => {
  let s: Scratch;
  let srv: Serving;
  let port: number;

  before(async () => {
    port = await closedPort();
    s = scratch(settingsFor(port));
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("lets slow tool calls in flight (both eras) complete, refuses new connections, exits 0 and audits the stop", async () => {
    const sid = await openSession(srv.url, ALICE);
    const legacy = rawPost(srv.url, CALL(1, "fx__slow", { ms: 2500, steps: 2 }), { ...bearer(ALICE), "mcp-session-id": sid }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const modern = rawPost(srv.url, MODERN_CALL(2, "fx__slow", { ms: 2500, steps: 2 }), { ...bearer(ALICE), ...MODERN_HEADERS("tools/call", "fx__slow") }).then(async (r) => ({ status: r.status, text: await r.text() }));
    await new Promise((r) => setTimeout(r, 700));
    const exited = srv.stop();
    await new Promise((r) => setTimeout(r, 300));
    const late = await rawMcpPost(port, [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${ALICE}`]], INIT());
    assert.equal(late.error, "ECONNREFUSED", `a new connection during the drain is refused: ${late.status} ${late.error}`);
    const [l, m] = await Promise.all([legacy, modern]);
    assert.equal(l.status, 200);
    assert.equal(replyText(reply(l.text, 1)), "slept 2500 ms");
    assert.equal(m.status, 200);
    assert.equal(replyText(reply(m.text, 2)), "slept 2500 ms");
    assert.equal(await exited, 0);
    const records = auditRecords(s);
    assert.ok(records.some((r) => r.kind === "gateway" && r.event === "stopped"), "the stop is audited");
    assert.equal(records.filter((r) => r.event === "decided" && r.tool === "mcp__fx__slow" && r.decision === "allow").length, 2);
  });
});
