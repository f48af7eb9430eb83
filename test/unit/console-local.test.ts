// run's local console: the one-time tickets `mcp-warden console` mints (expired, reused, forged, made
// with another gateway's token, malformed, too long-lived), their bounded single-use gate, the local
// sign-in in the console's real pipeline (a session cookie from a ticket, a page that says how to get
// in otherwise, never a redirect), and the explicit option that lets the local person answer their
// own calls while serve keeps refusing them.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AuditLog } from "../../src/audit/index.js";
import { ApprovalBroker, type ApprovalRequest } from "../../src/approvals/broker.js";
import { fileActivity } from "../../src/fronts/console/activity.js";
import { createConsole } from "../../src/fronts/console/console.js";
import { localSignIn } from "../../src/fronts/console/signin-local.js";
import { checkTicket, mintTicket, TICKET_TTL_MS, TicketGate, ticketUrl } from "../../src/fronts/console/ticket.js";
import { approverActions } from "../../src/fronts/http/approvals-endpoint.js";
import type { FrontRequest } from "../../src/fronts/http/http-server.js";
import { ownerOf } from "../../src/gateway/downstream.js";
import { localPrincipal } from "../../src/policy/principal.js";
import type { ResolvedSettings } from "../../src/settings/index.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "warden-console-local-"));
  dirs.push(d);
  return d;
};

const TOKEN = "admin-token-of-this-gateway-0123456789abcdef";
const T0 = 1_750_000_000_000;

describe("console tickets", () => {
  test("a fresh ticket is accepted until it expires, then refused as expired", () => {
    const ticket = mintTicket(TOKEN, T0);
    assert.match(ticket, /^v1\.[A-Za-z0-9_-]{22}\.\d{13}\.[A-Za-z0-9_-]{43}$/);
    const ok = checkTicket(ticket, TOKEN, T0 + 1000);
    assert.ok(ok.ok);
    assert.equal(ok.expiresAt, T0 + TICKET_TTL_MS);
    assert.ok(checkTicket(ticket, TOKEN, T0 + TICKET_TTL_MS - 1).ok);
    const expired = checkTicket(ticket, TOKEN, T0 + TICKET_TTL_MS);
    assert.ok(!expired.ok);
    assert.match(expired.reason, /expired/);
  });

  test("a ticket made with another gateway's token, or altered anywhere, is refused as forged", () => {
    const ticket = mintTicket(TOKEN, T0);
    const wrong = checkTicket(mintTicket("another-gateway's-token", T0), TOKEN, T0);
    assert.ok(!wrong.ok);
    assert.match(wrong.reason, /not made by this gateway/);
    const [v, nonce, expiry, mac] = ticket.split(".") as [string, string, string, string];
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    for (const forged of [
      [v, flip(nonce), expiry, mac],
      [v, nonce, String(Number(expiry) - 1000), mac],
      [v, nonce, expiry, flip(mac)],
    ]) {
      const r = checkTicket(forged.join("."), TOKEN, T0);
      assert.ok(!r.ok, forged.join("."));
      assert.match(r.reason, /not made by this gateway/);
    }
  });

  test("a malformed ticket, or one minted to live longer than a ticket may, is refused", () => {
    for (const bad of [undefined, null, "", "v1", "v2" + mintTicket(TOKEN, T0).slice(2), mintTicket(TOKEN, T0) + "x", `${mintTicket(TOKEN, T0)}.extra`]) {
      const r = checkTicket(bad, TOKEN, T0);
      assert.ok(!r.ok, String(bad));
      assert.match(r.reason, /incomplete|not a console link/);
    }
    // Signed with the right token, but valid for an hour: whoever made it, it is not a ticket we mint.
    const longLived = checkTicket(mintTicket(TOKEN, T0 + 3_600_000), TOKEN, T0);
    assert.ok(!longLived.ok);
    assert.match(longLived.reason, /further out/);
  });

  test("the gate takes a ticket once; a reused one is refused while it would still be valid", () => {
    let now = T0;
    const gate = new TicketGate(TOKEN, { now: () => now });
    const ticket = mintTicket(TOKEN, T0);
    assert.ok(gate.take(ticket).ok);
    now = T0 + 60_000;
    const again = gate.take(ticket);
    assert.ok(!again.ok);
    assert.match(again.reason, /already used/);
    now = T0 + TICKET_TTL_MS + 1;
    const late = gate.take(ticket);
    assert.ok(!late.ok);
    assert.match(late.reason, /expired/, "once its nonce is forgotten, the ticket has expired anyway");
  });

  test("the gate is bounded: when full it refuses new tickets rather than forget a live one", () => {
    let now = T0;
    const gate = new TicketGate(TOKEN, { now: () => now, max: 2 });
    const [a, b, c] = [mintTicket(TOKEN, T0), mintTicket(TOKEN, T0), mintTicket(TOKEN, T0)];
    assert.ok(gate.take(a).ok);
    assert.ok(gate.take(b).ok);
    const full = gate.take(c);
    assert.ok(!full.ok);
    assert.match(full.reason, /too many/);
    assert.match((gate.take(a) as { reason: string }).reason, /already used/, "the first is still remembered");
    now = T0 + TICKET_TTL_MS + 1;
    assert.ok(gate.take(mintTicket(TOKEN, now)).ok, "expired nonces make room");
  });

  test("the link is the page server's origin, /console/enter and the ticket", () => {
    const t = mintTicket(TOKEN, T0);
    assert.equal(ticketUrl("http://127.0.0.1:4242", t), `http://127.0.0.1:4242/console/enter?t=${t}`);
  });
});

describe("the local sign-in in the console's pipeline", () => {
  const ORIGIN = "http://127.0.0.1:4242";
  const person = localPrincipal("alice");

  function setup() {
    const dir = tempDir();
    const audit = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    const broker = new ApprovalBroker({ timeoutMs: 60_000 });
    const console = createConsole({
      signIn: ({ sessions }) => localSignIn({ adminToken: TOKEN, principal: person, sessions, audit }),
      publicOrigin: ORIGIN,
      session: { idleMs: 60_000, maxMs: 3_600_000 },
      // Only the record page reads the settings (to explain a decision); these tests open none.
      settings: () => ({}) as ResolvedSettings,
      env: {},
      cwd: dir,
      approvals: approverActions(broker, audit, undefined, { answerOwnCalls: true, by: "page" }),
      servers: () => [{ name: "fx", state: "ready" }],
      activity: fileActivity(dir),
      audit,
    });
    const records = () =>
      readdirSync(dir)
        .filter((f) => f.endsWith(".jsonl"))
        .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    return {
      console,
      broker,
      records,
      close: async () => {
        broker.close();
        await console.close();
        audit.close();
      },
    };
  }

  const get = (path: string, headers: Record<string, string> = {}): FrontRequest => ({
    request: new Request(`${ORIGIN}${path}`, { method: "GET", headers }),
    body: "",
    address: "127.0.0.1",
    proto: "http",
    hostAllowed: true,
  });
  const post = (path: string, body: string, headers: Record<string, string> = {}): FrontRequest => ({
    request: new Request(`${ORIGIN}${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "sec-fetch-site": "same-origin", ...headers } }),
    body,
    address: "127.0.0.1",
    proto: "http",
    hostAllowed: true,
  });

  test("a ticket opens a session (HttpOnly, SameSite=Strict, Path=/console) as the local admin, once, and is audited", async () => {
    const s = setup();
    try {
      const ticket = mintTicket(TOKEN);
      const entered = await s.console.handle(get(`/console/enter?t=${ticket}`));
      assert.equal(entered.status, 200, "a page of its own, not a redirect");
      assert.equal(entered.headers.get("location"), null);
      const cookie = entered.headers.getSetCookie().find((c) => c.startsWith("mcpw_console="));
      assert.ok(cookie, "a session cookie");
      assert.match(cookie, /; Path=\/console; HttpOnly; SameSite=Strict$/, "no Secure on plain loopback http");
      assert.match(await entered.text(), /http-equiv="refresh" content="0;url=\/console"/);
      const session = cookie.split(";")[0]!;

      const overview = await s.console.handle(get("/console", { cookie: session }));
      assert.equal(overview.status, 200);
      assert.match(await overview.text(), /alice \(admin\)/, "the local person, as admin");

      const reused = await s.console.handle(get(`/console/enter?t=${ticket}`));
      assert.equal(reused.status, 403);
      assert.equal(reused.headers.getSetCookie().length, 0);
      const text = await reused.text();
      assert.match(text, /already used/);
      assert.match(text, /mcp-warden console/, "it says how to get in");

      const signins = s.records().filter((r) => r.kind === "request" && String(r.event).startsWith("console-signin"));
      assert.deepEqual(
        signins.map((r) => r.event),
        ["console-signin", "console-signin-failed"],
      );
      assert.deepEqual((signins[0]!.principal as Record<string, unknown>).method, "local");
      assert.deepEqual((signins[0]!.principal as Record<string, unknown>).subject, "alice");
      assert.deepEqual(signins[0]!.detail, { role: "admin", method: "local" });
    } finally {
      await s.close();
    }
  });

  test("without a session a GET gets the page that says how to get in, never a redirect; a forged ticket opens nothing", async () => {
    const s = setup();
    try {
      for (const path of ["/console", "/console/approvals", "/console/activity"]) {
        const r = await s.console.handle(get(path));
        assert.equal(r.status, 401, path);
        assert.equal(r.headers.get("location"), null, path);
        assert.match(await r.text(), /Run <code>mcp-warden console<\/code>/, path);
      }
      const forged = await s.console.handle(get(`/console/enter?t=${mintTicket("not-this-gateway's-token")}`));
      assert.equal(forged.status, 403);
      assert.equal(forged.headers.getSetCookie().length, 0);
      const none = await s.console.handle(get("/console/enter"));
      assert.equal(none.status, 403);
    } finally {
      await s.close();
    }
  });

  test("the local person answers a question about their own call in the console; a POST without the CSRF token is refused", async () => {
    const s = setup();
    try {
      const entered = await s.console.handle(get(`/console/enter?t=${mintTicket(TOKEN)}`));
      const session = entered.headers.getSetCookie()[0]!.split(";")[0]!;
      const page = await (await s.console.handle(get("/console/approvals", { cookie: session }))).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
      const { id, result } = s.broker.open(call(ownerOf(person)));
      const listed = await (await s.console.handle(get("/console/approvals", { cookie: session }))).text();
      assert.match(listed, new RegExp(`action="/console/approvals/${id}"`), "answer buttons for one's own call");

      const refused = await s.console.handle(post(`/console/approvals/${id}`, "answer=allow-once", { cookie: session }));
      assert.equal(refused.status, 403);
      assert.ok(s.broker.get(id), "nothing was answered");

      const answered = await s.console.handle(post(`/console/approvals/${id}`, new URLSearchParams({ csrf, answer: "allow-once" }).toString(), { cookie: session }));
      assert.equal(answered.status, 303);
      assert.deepEqual(await result, { answer: "allow-once", by: "page" });
    } finally {
      await s.close();
    }
  });
});

function call(principal: string): ApprovalRequest {
  return { kind: "call", server: "fx", serverIdentity: "sha256:x", tool: "mcp__fx__echo", arguments: { text: "hi" }, reason: "ask rule", policyVersion: "v", principal, answers: ["allow-once", "deny"] };
}

describe("answering one's own calls", () => {
  test("serve's approvers are refused a question about their own call; run's local console (answerOwnCalls) answers it", async () => {
    const dir = tempDir();
    const audit = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    const broker = new ApprovalBroker({ timeoutMs: 60_000 });
    try {
      const me = { principal: localPrincipal("alice"), address: "127.0.0.1" };
      const { id, result } = broker.open(call(ownerOf(me.principal)));
      const serve = await approverActions(broker, audit).answer(id, "allow-once", me);
      assert.deepEqual(serve, { ok: false, status: 403, message: "Forbidden: a question about your own call is answered through your client, not here" });
      assert.ok(broker.get(id));
      const local = await approverActions(broker, audit, undefined, { answerOwnCalls: true, by: "page" }).answer(id, "allow-once", me, "console");
      assert.deepEqual(local, { ok: true, id, answer: "allow-once" });
      assert.deepEqual(await result, { answer: "allow-once", by: "page" });
    } finally {
      broker.close();
      audit.close();
    }
  });
});
