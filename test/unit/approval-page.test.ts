// run's local page server and its JSON API, against a real ApprovalBroker over real HTTP: who may
// answer (the admin token of `mcp-warden approvals`), what is refused (foreign Host or Origin, wrong
// content types, large bodies, answers the question does not offer), and that the question pages it
// used to serve (/a/ID?t=TOKEN) are gone: any request there is a 404 that says where questions are
// answered, shows nothing of a question and answers nothing. (The console on this server is tested
// in test/unit/console-local.test.ts and test/e2e/console-local-browser.test.ts.)
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { ApprovalBroker, type ApprovalAnswer, type ApprovalRequest } from "../../src/approvals/broker.js";
import { startApprovalPage, type ApprovalPage } from "../../src/adapters/approval-page.js";
import { CONSOLE_CSP } from "../../src/fronts/console/html.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP exchange, so Host, Origin and Content-Type are exactly what the test says. */
function http(page: ApprovalPage, method: string, path: string, opts: { headers?: Record<string, string>; body?: string; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Host: `127.0.0.1:${page.port}`, ...opts.headers };
    // chunked: no Content-Length, so the size is known only while reading.
    if (opts.body !== undefined && !opts.chunked) headers["Content-Length"] = Buffer.byteLength(opts.body);
    // Host "" means: send no Host header at all.
    const setHost = headers.Host !== "";
    if (!setHost) delete headers.Host;
    const req = request({ host: "127.0.0.1", port: page.port, method, path, headers, setHost, timeout: 5000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (opts.chunked && opts.body !== undefined) {
      // Written in pieces before end(), so Node sends Transfer-Encoding: chunked.
      for (let i = 0; i < opts.body.length; i += 4096) req.write(opts.body.slice(i, i + 4096));
      req.end();
    } else req.end(opts.body);
  });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "Content-Type": "application/json" };

function callRequest(args: Record<string, unknown>, answers: readonly ApprovalAnswer[] = ["allow-once", "allow-session", "allow-always", "deny"]): ApprovalRequest {
  return {
    kind: "call",
    server: "github",
    serverIdentity: "sha256:abc",
    tool: "mcp__github__create_issue",
    arguments: args,
    argumentsDigest: "sha256:0123456789abcdef",
    reason: "matched an ask rule",
    rule: "ask: mcp__github__*",
    ruleFile: "/home/user/project/.mcp-warden/settings.json",
    policyVersion: "v1",
    answers,
  };
}

/** Settles within `ms` or reports "pending" (the broker's result never rejects). */
async function settledWithin<T>(p: Promise<T>, ms = 200): Promise<T | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<"pending">((res) => (timer = setTimeout(() => res("pending"), ms)))]);
  clearTimeout(timer);
  return r;
}

describe("run's page server", () => {
  let broker: ApprovalBroker;
  let page: ApprovalPage;
  let bearer: Record<string, string>;
  before(async () => {
    broker = new ApprovalBroker({ timeoutMs: 60_000 });
    page = await startApprovalPage(broker);
    bearer = { Authorization: `Bearer ${page.adminToken}` };
  });
  after(async () => {
    broker.close();
    await page.close();
  });

  test("listens on 127.0.0.1 with a random admin token, and hands out no per-question link", () => {
    assert.match(page.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(page.origin, `http://127.0.0.1:${page.port}`);
    assert.match(page.adminToken, /^[A-Za-z0-9_-]{43}$/, "32 random bytes, base64url");
    assert.deepEqual(Object.keys(page).sort(), ["adminToken", "close", "origin", "port"], "nothing mints a question's link");
  });

  test("/a/<id>?t=<anything> is a 404 that says where to answer; it shows nothing of the question and answers nothing", async () => {
    const { id, result } = broker.open(callRequest({ title: "SECRET-ARGUMENT" }));
    const guesses = ["", "A".repeat(43), page.adminToken, "x"];
    const replies: [string, Reply][] = [];
    for (const t of guesses) {
      replies.push([`GET t=${t}`, await http(page, "GET", `/a/${id}?t=${encodeURIComponent(t)}`)]);
      replies.push([`GET localhost t=${t}`, await http(page, "GET", `/a/${id}?t=${encodeURIComponent(t)}`, { headers: { Host: `localhost:${page.port}` } })]);
      // A form POST as the old page sent it, from no browser and from this origin.
      replies.push([`POST t=${t}`, await http(page, "POST", `/a/${id}`, { headers: FORM, body: form({ t, answer: "allow-once" }) })]);
      replies.push([`POST same-origin t=${t}`, await http(page, "POST", `/a/${id}?t=${encodeURIComponent(t)}`, { headers: { ...FORM, Origin: page.origin }, body: form({ t, answer: "allow-always" }) })]);
    }
    replies.push(["GET without t", await http(page, "GET", `/a/${id}`)]);
    replies.push(["PUT", await http(page, "PUT", `/a/${id}`, { headers: FORM, body: form({ answer: "allow-once" }) })]);
    replies.push(["JSON POST with the bearer", await http(page, "POST", `/a/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "allow-once" }) })]);
    for (const path of ["/a", "/a/", "/a/x/y", "/a/%ZZ"]) replies.push([`GET ${path}`, await http(page, "GET", path)]);
    for (const [what, r] of replies) {
      assert.equal(r.status, 404, what);
      assert.match(String(r.headers["content-type"]), /^text\/html; charset=utf-8/, what);
      assert.match(r.body, /answered in the console \(run <code>mcp-warden console<\/code>/, `${what}: names the console`);
      assert.match(r.body, /<code>mcp-warden approvals approve ID<\/code> or <code>mcp-warden approvals deny ID<\/code>/, `${what}: names the CLI`);
      assert.ok(!r.body.includes("SECRET-ARGUMENT") && !r.body.includes("mcp__github__create_issue") && !r.body.includes(id), `${what}: nothing of the question`);
      assert.doesNotMatch(r.body, /<form|<button|<script|<style|<[a-z][^>]*\s(style|on[a-z]+)=/i, `${what}: no form, no script, no inline style`);
      assert.equal(r.headers["content-security-policy"], CONSOLE_CSP, what);
      assert.equal(r.headers["x-frame-options"], "DENY", what);
      assert.equal(r.headers["cache-control"], "no-store", what);
    }
    assert.match(replies[0]![1].body, /<link rel="stylesheet" href="\/console\/static\/console\.css">/, "in the console's look");
    assert.match(replies[0]![1].body, /<a href="\/console">The console<\/a>/);
    assert.ok(broker.get(id), "still pending");
    assert.equal(await settledWithin(result, 50), "pending");
    // A person's answer still goes through.
    const ok = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "deny" }) });
    assert.equal(ok.status, 200);
    assert.deepEqual(await result, { answer: "deny", by: "cli" });
  });

  test("a foreign Host header is refused (DNS rebinding)", async () => {
    const { id, result } = broker.open(callRequest({ q: 5 }));
    // No Host at all: Node's server refuses HTTP/1.1 without one (400) before the page sees it.
    assert.equal((await http(page, "GET", "/api/approvals", { headers: { ...bearer, Host: "" } })).status, 400);
    for (const host of ["evil.example", `evil.example:${page.port}`, "127.0.0.1", `127.0.0.1:${page.port + 1}`, `127.0.0.1.evil.example:${page.port}`, `[::1]:${page.port}`]) {
      for (const path of ["/api/approvals", "/console", "/console/static/console.css", `/a/${id}`]) {
        const g = await http(page, "GET", path, { headers: { ...bearer, Host: host } });
        assert.equal(g.status, 421, `GET ${path} with Host ${host}`);
        assert.ok(!g.body.includes("mcp__github__create_issue") && !g.body.includes(id));
        assert.equal(g.headers["x-frame-options"], "DENY", "security headers on refusals too");
      }
      const p = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE, Host: host }, body: JSON.stringify({ answer: "allow-once" }) });
      assert.equal(p.status, 421, `POST with Host ${host}`);
    }
    // localhost:PORT is this server.
    const local = await http(page, "GET", "/api/approvals", { headers: { ...bearer, Host: `localhost:${page.port}` } });
    assert.equal(local.status, 200);
    assert.ok(local.body.includes(id));
    assert.equal(await settledWithin(result, 50), "pending");
    broker.abandon(id, "cancelled");
  });

  test("a foreign Origin on POST is refused (CSRF), and so is Origin: null", async () => {
    const { id, result } = broker.open(callRequest({ q: 6 }));
    const answer = JSON.stringify({ answer: "allow-once" });
    const refused: Record<string, string>[] = [
      { Origin: "http://evil.example" },
      { Origin: `http://127.0.0.1:${page.port + 1}` },
      { Origin: `https://127.0.0.1:${page.port}` },
      { Origin: "null" },
      // No page of this server sends `Origin: null` any more (the question page's form did): refused
      // even with the browser's same-origin Sec-Fetch-Site.
      { Origin: "null", "Sec-Fetch-Site": "same-origin" },
      { Origin: "null", "Sec-Fetch-Site": "cross-site" },
    ];
    for (const headers of refused) {
      const r = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE, ...headers }, body: answer });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(r.body, /cross-origin/);
      const c = await http(page, "POST", "/console/approvals/" + id, { headers: { ...FORM, ...headers }, body: form({ answer: "allow-once" }) });
      assert.equal(c.status, 403, `console POST, ${JSON.stringify(headers)}`);
    }
    assert.equal(await settledWithin(result, 50), "pending");
    // This origin (under either loopback name) is fine.
    const ok = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE, Origin: `http://localhost:${page.port}`, Host: `localhost:${page.port}` }, body: answer });
    assert.equal(ok.status, 200);
    assert.deepEqual(await result, { answer: "allow-once", by: "cli" });
  });

  test("wrong content types and oversized bodies are refused", async () => {
    const { id, result } = broker.open(callRequest({ q: 7 }));
    const body = JSON.stringify({ answer: "allow-once" });
    for (const ct of ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", undefined]) {
      const headers: Record<string, string> = ct ? { ...bearer, "Content-Type": ct } : bearer;
      const r = await http(page, "POST", `/api/approvals/${id}`, { headers, body });
      assert.equal(r.status, 415, String(ct));
    }
    const padded = JSON.stringify({ answer: "allow-once", pad: "x".repeat(20_000) });
    const big = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: padded });
    assert.equal(big.status, 413);
    const streamed = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "allow-once", pad: "x".repeat(40_000) }), chunked: true });
    assert.equal(streamed.status, 413);
    assert.equal(await settledWithin(result, 50), "pending");
    broker.abandon(id, "cancelled");
  });

  test("the JSON API needs the admin token, and answers only what the question offers", async () => {
    const { id, result } = broker.open(callRequest({ q: 8 }, ["allow-once", "allow-session", "deny"]));
    for (const auth of [undefined, "Bearer", `Bearer ${"x".repeat(43)}`, `Basic ${page.adminToken}`, `Bearer ${page.adminToken}x`]) {
      const headers: Record<string, string> = auth ? { Authorization: auth } : {};
      const l = await http(page, "GET", "/api/approvals", { headers });
      assert.equal(l.status, 401, String(auth));
      assert.ok(!l.body.includes(id));
      const p = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...headers, ...JSON_TYPE }, body: JSON.stringify({ answer: "allow-once" }) });
      assert.equal(p.status, 401, String(auth));
    }
    const l = await http(page, "GET", "/api/approvals", { headers: bearer });
    assert.equal(l.status, 200);
    assert.match(String(l.headers["content-type"]), /^application\/json/);
    const listed = (JSON.parse(l.body) as { approvals: { id: string; url?: string; server: string; tool: string; arguments: unknown; expiresAt: number }[] }).approvals.find((a) => a.id === id);
    assert.ok(listed);
    // Nothing that answers by itself: `mcp-warden approvals list` prints what it gets, and an agent may run it.
    assert.equal(listed.url, undefined);
    assert.doesNotMatch(l.body, /[?&]t=|\/a\//);
    assert.equal(listed.tool, "mcp__github__create_issue");
    assert.deepEqual(listed.arguments, { q: 8 });
    const missing = await http(page, "POST", `/api/approvals/ffffffffffff`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "allow-once" }) });
    assert.equal(missing.status, 404);
    const bad = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: "{not json" });
    assert.equal(bad.status, 400);
    const unknown = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "yes" }) });
    assert.equal(unknown.status, 400);
    const notOffered = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "allow-always" }) });
    assert.equal(notOffered.status, 409);
    assert.equal(await settledWithin(result, 50), "pending");
    const ok = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, "Content-Type": "application/json; charset=utf-8" }, body: JSON.stringify({ answer: "allow-session" }) });
    assert.equal(ok.status, 200);
    assert.deepEqual(await result, { answer: "allow-session", by: "cli" });
    const again = await http(page, "POST", `/api/approvals/${id}`, { headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ answer: "deny" }) });
    assert.equal(again.status, 404, "answered once");
  });

  test("unknown paths are 404 and other methods 405, with the security headers", async () => {
    for (const path of ["/", "/api", "/api/approvals/x/y", "/favicon.ico", "/console", "/console/approvals"]) {
      const r = await http(page, "GET", path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers["cache-control"], "no-store");
      assert.equal(r.headers["x-content-type-options"], "nosniff");
    }
    // Without a console, its static files are still served (the page for /a/... uses the stylesheet).
    const css = await http(page, "GET", "/console/static/console.css");
    assert.equal(css.status, 200);
    assert.match(String(css.headers["content-type"]), /^text\/css/);
    assert.equal((await http(page, "DELETE", "/api/approvals", { headers: bearer })).status, 405);
    assert.equal((await http(page, "GET", "/api/approvals/abc", { headers: bearer })).status, 405);
  });
});

test("close() stops the server and leaves the broker to others", async () => {
  const broker = new ApprovalBroker({ timeoutMs: 60_000 });
  const page = await startApprovalPage(broker);
  const { id, result } = broker.open(callRequest({}));
  await page.close();
  await assert.rejects(http(page, "GET", "/api/approvals", { headers: { Authorization: `Bearer ${page.adminToken}` } }));
  assert.equal(broker.listenerCount("settled"), 0, "the page server listens to nothing on the broker");
  assert.ok(broker.get(id));
  broker.close();
  assert.deepEqual(await result, { answer: "deny", by: "cancelled" });
});
