// `mcp-warden serve` end to end: the real process, a real OpenID provider (oidc-provider under Node
// 22) issuing JWT access tokens, real SDK clients of both protocol eras over Streamable HTTP, a real
// stdio upstream and a real HTTP upstream that reports the headers it receives.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch, waitFor } from "./harness.js";
import { oidcUnavailable, startOidcIssuer, type OidcIssuer } from "./oidc.js";
import { httpClient, rawPost, startHttpFixture, startServe, type HttpFixture, type Serving } from "./serve-harness.js";

const skip = oidcUnavailable();
const texts = (r: { content?: unknown }) => (r.content as { type: string; text?: string }[]).map((c) => c.text).join("");
/** A 2026-07-28 tools/call with the whole per-request envelope. */
const MODERN_CALL = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: {
    name,
    arguments: args,
    _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" } },
  },
});
const MODERN_HEADERS = (method: string, name?: string) => ({ "mcp-protocol-version": "2026-07-28", "mcp-method": method, ...(name ? { "mcp-name": name } : {}) });
const INIT = (id = 1) => ({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });

describe("serve: an authenticated HTTP front, per-principal rules, sessions and rate limits", { skip }, () => {
  let idp: OidcIssuer;
  let upstream: HttpFixture;
  let s: Scratch;
  let srv: Serving;
  let resource: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    idp = await startOidcIssuer();
    upstream = await startHttpFixture();
    const port = await closedPort();
    resource = `http://127.0.0.1:${port}/mcp`;
    s = scratch({
      mcpServers: {
        fx: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_STARTS_FILE: "${STARTS_DIR}/fx" } },
        fxshared: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_STARTS_FILE: "${STARTS_DIR}/fxshared" }, share: "shared" },
        web: { type: "http", url: `http://127.0.0.1:${upstream.port}/mcp`, headers: { Authorization: "Bearer upstream-own-credential-7c1e" } },
      },
      permissions: { allow: ["mcp__fx__add_tool", "mcp__fx__dynamic", "mcp__fxshared__echo", "mcp__fx__echo", "mcp__fx__env", "mcp__web__whoami", "mcp__web__echo", "Bash(git status)"], deny: ["Bash(rm:*)"], ask: ["mcp__fx__delete_repo"] },
      approvals: { page: true, holdMs: 20_000 },
      integrity: { pins: false },
      remote: {
        listen: `127.0.0.1:${port}`,
        resource,
        auth: { issuer: idp.issuer, groupsClaim: "groups", orgClaim: "org_id", approvers: ["group:sales"] },
        sessions: { idleMinutes: 0.05, maxHours: 1 },
        rateLimits: { perTool: { "mcp__fx__env": "2/min" } },
      },
      principals: { "client:client-b": { permissions: { deny: ["mcp__fx__echo"] } } },
      forceLoginOrgUUID: "org-a",
    });
    srv = await startServe(s, [], { STARTS_DIR: s.dir });
    for (const c of ["client-a", "client-b", "client-other-org"]) tokens[c] = await idp.token(c, resource);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await upstream?.stop();
    await idp?.stop();
    s?.cleanup();
  });

  it("answers a request without a token with 401 and a resource_metadata challenge, and serves the RFC 9728 document", async () => {
    const res = await rawPost(srv.url, INIT());
    assert.equal(res.status, 401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    const m = /resource_metadata="([^"]+)"/.exec(challenge);
    assert.ok(m, `challenge: ${challenge}`);
    const doc = (await (await fetch(m[1]!)).json()) as Record<string, unknown>;
    assert.equal(doc.resource, resource);
    assert.deepEqual(doc.authorization_servers, [idp.issuer]);
  });

  it("refuses a token for another audience and a token with a tampered payload (401), and audits both without the token", async () => {
    const other = await idp.token("client-a", "http://127.0.0.1:1/other");
    const wrongAud = await rawPost(srv.url, INIT(), { authorization: `Bearer ${other}` });
    assert.equal(wrongAud.status, 401);
    const [h, p, sig] = tokens["client-a"]!.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const forged = [h, Buffer.from(JSON.stringify({ ...payload, sub: "user-admin" })).toString("base64url"), sig].join(".");
    const tampered = await rawPost(srv.url, INIT(), { authorization: `Bearer ${forged}` });
    assert.equal(tampered.status, 401);
    const failed = auditRecords(s).filter((r) => r.event === "auth-failed");
    assert.ok(failed.length >= 2, "failed authentications are audited");
    const log = JSON.stringify(auditRecords(s));
    assert.ok(!log.includes(sig!) && !log.includes(other.split(".")[2]!), "no token appears in the audit log");
  });

  for (const era of ["legacy", "modern"] as const) {
    it(`${era} era: client A may call a tool that client B is denied by a principals rule, and their lists differ`, async () => {
      const a = await httpClient(srv.url, tokens["client-a"], era);
      const b = await httpClient(srv.url, tokens["client-b"], era);
      try {
        const listA = (await a.client.listTools()).tools.map((t) => t.name);
        const listB = (await b.client.listTools()).tools.map((t) => t.name);
        assert.ok(listA.includes("fx__echo"), `A sees echo: ${listA.join(",")}`);
        assert.ok(!listB.includes("fx__echo"), `B does not: ${listB.join(",")}`);
        assert.equal(texts(await a.client.callTool({ name: "fx__echo", arguments: { text: "from A" } })), "echo: from A");
        await assert.rejects(b.client.callTool({ name: "fx__echo", arguments: { text: "from B" } }), /Denied by mcp-warden/);
        const decided = auditRecords(s).filter((r) => r.event === "decided" && r.tool === "mcp__fx__echo");
        const who = decided.map((r) => `${(r.principal as { subject: string; clientId?: string }).clientId}:${r.decision}`);
        assert.ok(who.includes("client-a:allow") && who.includes("client-b:deny"), `audit records carry the principal: ${who.join(" ")}`);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }

  it("gives each principal its own process of a stdio server (state added by A is not seen by B), and one process of a server marked shared", async () => {
    const a = await httpClient(srv.url, tokens["client-a"], "legacy");
    const b = await httpClient(srv.url, tokens["client-b"], "legacy");
    try {
      await a.client.listTools();
      await b.client.listTools();
      await a.client.callTool({ name: "fxshared__echo", arguments: { text: "a" } });
      await b.client.callTool({ name: "fxshared__echo", arguments: { text: "b" } });
      const pids = (name: string) => new Set(readFileSync(join(s.dir, name), "utf8").trim().split("\n"));
      assert.equal(pids("fx").size, 2, "one fx process per principal");
      assert.equal(pids("fxshared").size, 1, "one process of the shared server");
      assert.equal(texts(await a.client.callTool({ name: "fx__add_tool", arguments: {} })), "added");
      // A's own instance now offers `dynamic`; B's does not.
      let listA: string[] = [];
      for (let i = 0; i < 50 && !listA.includes("fx__dynamic"); i++) {
        listA = (await a.client.listTools()).tools.map((t) => t.name);
        if (!listA.includes("fx__dynamic")) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(listA.includes("fx__dynamic"), `A sees the tool its instance added: ${listA.join(",")}`);
      const listB = (await b.client.listTools()).tools.map((t) => t.name);
      assert.ok(!listB.includes("fx__dynamic"), `B does not: ${listB.join(",")}`);
      await assert.rejects(b.client.callTool({ name: "fx__dynamic", arguments: {} }), /Unknown tool/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("an ask for A is answered by an approver, not by A through the API; A's session grant is not B's; an approver cannot answer their own call's question", async () => {
    const approvals = srv.url.replace(/\/mcp$/, "/v1/approvals");
    const as = (client: string) => ({ authorization: `Bearer ${tokens[client]}`, "content-type": "application/json" });
    const pending = async (caller: RegExp) => {
      for (let i = 0; i < 100; i++) {
        const list = (await (await fetch(approvals, { headers: as("client-b") })).json()) as { questions: { id: string; caller?: string; tool?: string }[] };
        const q = list.questions.find((x) => x.tool === "mcp__fx__delete_repo" && caller.test(x.caller ?? ""));
        if (q) return q;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("no question appeared");
    };
    const a = await httpClient(srv.url, tokens["client-a"], "legacy");
    const b = await httpClient(srv.url, tokens["client-b"], "legacy");
    try {
      const call = a.client.callTool({ name: "fx__delete_repo", arguments: { repo: "one" } });
      const q = await pending(/user-alice/);
      // A holds a token too, but is no approver: the agent cannot approve its own calls here.
      const byA = await fetch(`${approvals}/${q.id}`, { method: "POST", headers: as("client-a"), body: JSON.stringify({ answer: "allow-once" }) });
      assert.equal(byA.status, 403);
      const byB = await fetch(`${approvals}/${q.id}`, { method: "POST", headers: as("client-b"), body: JSON.stringify({ answer: "allow-session" }) });
      assert.equal(byB.status, 200, await byB.text());
      assert.equal(texts(await call), "repo deleted");
      // A's session grant covers A's next call of that tool...
      assert.equal(texts(await a.client.callTool({ name: "fx__delete_repo", arguments: { repo: "two" } })), "repo deleted");
      // ...and not B's: B is asked, and cannot answer that question here.
      const bCall = b.client.callTool({ name: "fx__delete_repo", arguments: { repo: "three" } }, { timeout: 8_000 });
      const qb = await pending(/user-bob/);
      const own = await fetch(`${approvals}/${qb.id}`, { method: "POST", headers: as("client-b"), body: JSON.stringify({ answer: "allow-once" }) });
      assert.equal(own.status, 403);
      await assert.rejects(bCall);
      const answered = auditRecords(s).filter((r) => r.kind === "approval" && r.event === "answered");
      assert.ok(answered.some((r) => (r.principal as { clientId?: string } | undefined)?.clientId === "client-b"), "the approver's answer is audited with the approver");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("never passes the client's token upstream: the HTTP upstream sees only its own configured credential", async () => {
    const a = await httpClient(srv.url, tokens["client-a"], "legacy");
    try {
      // The upstream echoes the Authorization header it received; the gateway recognizes the value as
      // the server's configured header (and redacts it from the result): that, and not the client's token.
      const seen = texts(await a.client.callTool({ name: "web__whoami", arguments: {} }));
      assert.equal(seen, "[REDACTED:configured:web header Authorization]");
      assert.ok(!seen.includes(tokens["client-a"]!.split(".")[2]!.slice(0, 20)));
    } finally {
      await a.close();
    }
  });

  it("answers 404 to B presenting A's session ID, audits it, and still serves A", async () => {
    const a = await httpClient(srv.url, tokens["client-a"], "legacy");
    try {
      const sid = a.transport.sessionId!;
      assert.ok(sid && Buffer.from(sid, "base64url").length >= 16, "a session ID of at least 128 bits");
      const res = await rawPost(srv.url, { jsonrpc: "2.0", id: 7, method: "tools/list" }, { authorization: `Bearer ${tokens["client-b"]}`, "mcp-session-id": sid });
      assert.equal(res.status, 404);
      assert.ok(auditRecords(s).some((r) => r.event === "session-mismatch"));
      assert.ok((await a.client.listTools()).tools.length > 0, "A's session still works");
    } finally {
      await a.close();
    }
  });

  it("answers 404 to a guessed session ID and to a session past its idle timeout", async () => {
    const guessed = await rawPost(srv.url, { jsonrpc: "2.0", id: 7, method: "tools/list" }, { authorization: `Bearer ${tokens["client-a"]}`, "mcp-session-id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    assert.equal(guessed.status, 404);
    const a = await httpClient(srv.url, tokens["client-a"], "legacy");
    const sid = a.transport.sessionId!;
    // idleMinutes 0.05 = 3 s.
    await new Promise((r) => setTimeout(r, 3_500));
    const res = await rawPost(srv.url, { jsonrpc: "2.0", id: 8, method: "tools/list" }, { authorization: `Bearer ${tokens["client-a"]}`, "mcp-session-id": sid });
    assert.equal(res.status, 404);
    await a.close().catch(() => undefined);
    // The principals' own server instances, idle as long, were stopped too.
    await waitFor("an idle instance stopped", () => auditRecords(s).some((r) => r.event === "instance-stopped" && r.server === "fx"), 5_000);
  });

  it("answers a burst past a rate limit with 429 and Retry-After, audited", async () => {
    const a = await httpClient(srv.url, tokens["client-a"], "modern");
    try {
      await a.client.callTool({ name: "fx__env", arguments: {} });
      await a.client.callTool({ name: "fx__env", arguments: {} });
      const res = await rawPost(srv.url, MODERN_CALL(3, "fx__env", {}), { authorization: `Bearer ${tokens["client-a"]}`, ...MODERN_HEADERS("tools/call", "fx__env") });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      assert.ok(auditRecords(s).some((r) => r.event === "rate-limited" && r.tool === "mcp__fx__env"));
    } finally {
      await a.close();
    }
  });

  it("refuses a token of another organization (forceLoginOrgUUID)", async () => {
    const res = await rawPost(srv.url, INIT(), { authorization: `Bearer ${tokens["client-other-org"]}` });
    assert.equal(res.status, 401);
  });

  it("refuses a Host that is not its own (DNS rebinding) and a foreign Origin with 403", async () => {
    // fetch does not let a caller set Host; node:http does.
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(srv.url);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { host: "evil.example:80", "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(JSON.stringify(INIT()));
    });
    assert.equal(status, 403);
    const origin = await rawPost(srv.url, INIT(), { authorization: `Bearer ${tokens["client-a"]}`, origin: "http://evil.example" });
    assert.equal(origin.status, 403);
  });

  it("answers a body over the limit with 413, a non-JSON body with 400, and GET without a session with 405", async () => {
    const big = await rawPost(srv.url, "x".repeat(5 * 1024 * 1024), { authorization: `Bearer ${tokens["client-a"]}` });
    assert.equal(big.status, 413);
    const garbage = await rawPost(srv.url, "{not json", { authorization: `Bearer ${tokens["client-a"]}` });
    assert.equal(garbage.status, 400);
    const get = await fetch(srv.url, { headers: { authorization: `Bearer ${tokens["client-a"]}`, accept: "text/event-stream" } });
    assert.equal(get.status, 405);
  });

  it("2026-07-28: Mcp-Method, Mcp-Name or Mcp-Param-* headers that disagree with the body are refused with 400 (the same request with matching headers is served)", async () => {
    const auth = { authorization: `Bearer ${tokens["client-a"]}` };
    const ok = await rawPost(srv.url, MODERN_CALL(4, "fx__echo", { text: "x" }), { ...auth, ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-param-text": "x" });
    assert.equal(ok.status, 200, await ok.text());
    const method = await rawPost(srv.url, MODERN_CALL(5, "fx__echo", { text: "x" }), { ...auth, ...MODERN_HEADERS("tools/list") });
    assert.equal(method.status, 400);
    const name = await rawPost(srv.url, MODERN_CALL(6, "fx__echo", { text: "x" }), { ...auth, ...MODERN_HEADERS("tools/call", "fx__delete_repo") });
    assert.equal(name.status, 400);
    const param = await rawPost(srv.url, MODERN_CALL(7, "fx__echo", { text: "x" }), { ...auth, ...MODERN_HEADERS("tools/call", "fx__echo"), "mcp-param-text": "something else" });
    assert.equal(param.status, 400);
    const del = await fetch(srv.url, { method: "DELETE", headers: { ...auth, "mcp-protocol-version": "2026-07-28" } });
    assert.equal(del.status, 405);
  });

  it("judges Claude Code's http hook at /v1/hooks/claude-code for an authenticated caller (allow and deny, audited with the principal), and refuses an unauthenticated one", async () => {
    const hookUrl = srv.url.replace(/\/mcp$/, "/v1/hooks/claude-code");
    const event = (command: string, id: string) =>
      JSON.stringify({ session_id: "s1", cwd: s.project, hook_event_name: "PreToolUse", tool_name: "Bash", tool_input: { command }, tool_use_id: id, permission_mode: "default" });
    const post = (body: string, token?: string) =>
      fetch(hookUrl, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
    const decision = async (r: Response) => ((await r.json()) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision;
    const allowed = await post(event("git status", "toolu_ok"), tokens["client-a"]);
    assert.equal(allowed.status, 200);
    assert.equal(await decision(allowed), "allow");
    const denied = await post(event("rm -rf /tmp/x", "toolu_rm"), tokens["client-a"]);
    assert.equal(await decision(denied), "deny");
    const anonymous = await post(event("git status", "toolu_anon"));
    assert.equal(anonymous.status, 401);
    const record = auditRecords(s).find((r) => r.kind === "decision" && (r.detail as { toolUseId?: string } | undefined)?.toolUseId === "toolu_rm");
    assert.equal(record?.decision, "deny");
    assert.equal((record?.principal as { clientId?: string } | undefined)?.clientId, "client-a");
  });

  it("drains and exits 0 on SIGTERM, recording the stop", async () => {
    const code = await srv.stop();
    assert.equal(code, 0);
    assert.ok(auditRecords(s).some((r) => r.kind === "gateway" && r.event === "stopped"));
  });
});
