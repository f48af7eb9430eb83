// The web console in real Chromium (Playwright) against the real `mcp-warden serve` and a real
// OpenID provider (oidc-provider, test/e2e/oidc.ts): people sign in through the provider's login
// form; an approver sees a call an ask rule holds (its client cannot be asked in band) and approves
// it, and the client's call completes; the activity is filtered to denials and a denial opens to the
// rule that decided it and today's `check` answer; a viewer sees no answer buttons and a forged POST
// from the viewer's session is refused; a POST without the CSRF token is refused; an unauthenticated
// request is sent to sign-in; every page carries the CSP and no inline script or style; signing out
// ends the session at the provider too (RP-Initiated Logout).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConsoleRig, consoleSkip, startConsoleRig } from "./console-harness.js";
import { auditRecords, FIXTURE, type Scratch } from "./harness.js";
import type { OidcIssuer } from "./oidc.js";
import type { PwContext, PwPage } from "./playwright.js";
import { httpClient, type Serving } from "./serve-harness.js";

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const skip = consoleSkip("the console's browser test");

const texts = (r: unknown) => ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** No inline script, no inline style, no event-handler attribute: what the CSP would block anyway. */
function assertNoInlineCode(page: string, what: string): void {
  for (const m of page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1]!, /\bsrc="\/console\/static\/console\.js"/, `${what}: a script without our src`);
    assert.equal(m[2]!.trim(), "", `${what}: an inline script`);
  }
  assert.doesNotMatch(page, /<style\b/i, `${what}: an inline stylesheet`);
  assert.doesNotMatch(page, /\sstyle\s*=/i, `${what}: a style attribute`);
  assert.doesNotMatch(page, /\son[a-z]+\s*=/i, `${what}: an event-handler attribute`);
  assert.doesNotMatch(page, /javascript:/i, `${what}: a javascript: URL`);
}

describe("the web console in a real browser", { skip, timeout: 240_000 }, () => {
  let rig: ConsoleRig;
  let idp: OidcIssuer;
  let s: Scratch;
  let srv: Serving;
  let origin: string;
  const dialogs: string[] = [];

  before(async () => {
    rig = await startConsoleRig(() => ({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      permissions: { allow: ["mcp__fx__create_issue"], ask: ["mcp__fx__echo"], deny: ["mcp__fx__delete_repo"] },
      approvals: { page: false, holdMs: 60_000 },
      integrity: { pins: false },
    }));
    ({ idp, s, srv, origin } = rig);
  });
  after(() => rig?.stop());

  /** A fresh browser profile signed in as `login`; any script dialog (which must never open) is recorded. */
  function signIn(login: string, next = "/console"): Promise<{ context: PwContext; page: PwPage }> {
    return rig.signIn(login, next, (page) =>
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      }),
    );
  }

  /** The question about an echo of `text`, once the console lists it (bounded). */
  async function questionId(page: PwPage, text: string): Promise<string> {
    for (let i = 0; i < 60; i++) {
      await page.goto(`${origin}/console/approvals`);
      const sections = page.locator("section.question");
      for (let k = 0; k < (await sections.count()); k++) {
        const section = sections.nth(k);
        if ((await section.innerText()).includes(`"text": "${text}"`)) return ((await section.getAttribute("id")) ?? "").replace(/^q-/, "");
      }
      await sleep(250);
    }
    throw new Error(`no question for ${text} appeared`);
  }

  it("an unauthenticated request is sent to sign-in; a POST without a session is refused", async () => {
    const res = await fetch(`${origin}/console/activity?decision=deny`, { redirect: "manual" });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), `/console/signin?next=${encodeURIComponent("/console/activity?decision=deny")}`);
    const post = await fetch(`${origin}/console/approvals/abc`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "answer=allow-once" });
    assert.equal(post.status, 401);
    // A bearer token is no console session.
    const token = await idp.token("client-a", srv.url);
    const bearer = await fetch(`${origin}/console`, { redirect: "manual", headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 303);
  });

  it("an approver signs in through the provider, approves a held call on the page, and the client's call completes", async () => {
    const { page } = await signIn("user-carol");
    assert.match(await page.locator("header").innerText(), /Carol Approver \(approver\)/);
    const c = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
    try {
      const call = c.client.callTool({ name: "fx__echo", arguments: { text: "approve me" } });
      const id = await questionId(page, "approve me");
      const section = page.locator(`section#q-${id}`);
      assert.match(await section.innerText(), /mcp__fx__echo/);
      await section.locator('button[value="allow-once"]').click();
      await page.waitForURL(`${origin}/console/approvals`);
      assert.match(await page.locator("#notice").innerText(), new RegExp(`Answered allow-once \\(question ${id}\\)`));
      assert.equal(texts(await call), "echo: approve me");
      const answered = auditRecords(s).find((r) => r.kind === "approval" && r.event === "answered" && (r.detail as { approval?: string }).approval === id);
      assert.equal((answered?.principal as { subject?: string } | undefined)?.subject, "user-carol", "audited with the console user as principal");
      assert.equal((answered?.detail as { via?: string }).via, "console");
    } finally {
      await c.close();
    }
  });

  it("the activity filtered to denials opens a denial to the rule that decided it and today's check answer", async () => {
    const c = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
    try {
      const r = await c.client.callTool({ name: "fx__delete_repo", arguments: { repo: "prod" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
      assert.equal((r as { isError?: boolean }).isError, true);
      await c.client.callTool({ name: "fx__create_issue", arguments: { title: "allowed one" } });
    } finally {
      await c.close();
    }
    const { page } = await signIn("user-victor", "/console/activity");
    await page.locator('select[name="decision"]').selectOption("deny");
    await page.locator('form.filters button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === "/console/activity" && u.searchParams.get("decision") === "deny");
    const rows = page.locator("#activity-rows tbody tr");
    assert.ok((await rows.count()) >= 1, "a denial is listed");
    const table = await page.locator("#activity-rows").innerText();
    assert.match(table, /mcp__fx__delete_repo/);
    assert.doesNotMatch(table, /mcp__fx__create_issue/, "the allowed call is filtered out");
    assert.doesNotMatch(table, /\ballow\b/);
    await rows.first().locator("a").click();
    await page.waitForURL((u) => u.pathname.startsWith("/console/activity/"));
    assert.equal(await page.locator("#rule").innerText(), "mcp__fx__delete_repo");
    const explanation = await page.locator("#explanation").innerText();
    assert.match(explanation, /deny/);
    assert.match(explanation, /mcp__fx__delete_repo/);
    assert.match(await page.locator("main").innerText(), /today's policy/);
  });

  it("a viewer sees no answer buttons, and a forged POST from the viewer's session is refused", async () => {
    const c = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
    const carol = await signIn("user-carol", "/console/approvals");
    try {
      const call = c.client.callTool({ name: "fx__echo", arguments: { text: "viewer sees" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
      const { page } = await signIn("user-victor", "/console/approvals");
      const id = await questionId(page, "viewer sees");
      assert.equal(await page.locator(`section#q-${id} button`).count(), 0, "no answer button for a viewer");
      assert.match(await page.locator(`section#q-${id}`).innerText(), /cannot answer/);
      // The viewer's own session and CSRF token, a same-origin request: refused for the role.
      const forged = await page.evaluate(async (qid: string) => {
        // Runs in the page (where `document` exists; this project compiles without the DOM types).
        const doc = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document;
        const csrf = doc.querySelector('meta[name="csrf-token"]')!.getAttribute("content")!;
        const res = await fetch(`/console/approvals/${qid}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `csrf=${encodeURIComponent(csrf)}&answer=allow-once` });
        return { status: res.status, text: await res.text() };
      }, id);
      assert.equal(forged.status, 403);
      assert.match(forged.text, /viewer/);

      // An approver's POST without the CSRF token is refused too, and answers nothing.
      const noToken = await carol.page.evaluate(async (qid: string) => {
        const res = await fetch(`/console/approvals/${qid}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "answer=allow-once" });
        return res.status;
      }, id);
      assert.equal(noToken, 403);
      assert.equal(await questionId(carol.page, "viewer sees"), id, "still pending after both refusals");
      await carol.page.locator(`section#q-${id} button[value="deny"]`).click();
      await carol.page.waitForURL(`${origin}/console/approvals`);
      const r = await call;
      assert.equal((r as { isError?: boolean }).isError, true, "denied by the approver");
    } finally {
      await c.close();
    }
  });

  it("a person without a role gets a 403 page that says whom to ask; a hostile display name is shown as text", async () => {
    const nora = await signIn("user-nora", "/console/activity").catch((e: Error) => e);
    assert.ok(!(nora instanceof Error), String(nora));
    const text = await nora.page.locator("main").innerText();
    assert.match(text, /No console role/);
    assert.match(text, /remote\.console\.roles/);
    const mallory = await signIn("user-mallory");
    assert.match(await mallory.page.locator("header").innerText(), /<script>alert\('name'\)<\/script>\\u\{202E\}evil/);
    assert.equal(await mallory.page.locator("header script").count(), 0);
    assert.deepEqual(dialogs, [], "no script of a name ran");
  });

  it("every page carries the CSP and the other headers, and holds no inline script or style", async () => {
    const { context } = await signIn("user-ada");
    const records = auditRecords(s);
    assert.ok(records.length > 0);
    const activity = await context.request.get(`${origin}/console/activity?decision=deny`);
    const ref = /href="\/console\/activity\/([A-Za-z0-9_-]+)"/.exec(await activity.text())?.[1];
    assert.ok(ref, "a record to open");
    for (const path of ["/console", "/console/approvals", "/console/activity", "/console/activity?decision=deny", `/console/activity/${ref}`, "/console/nowhere", "/console/activity/bad", "/console/callback?state=forged&code=x", "/console/signed-out"]) {
      const res = await context.request.get(`${origin}${path}`, { maxRedirects: 0 });
      const h = res.headers();
      assert.equal(h["content-security-policy"], CSP, path);
      assert.equal(h["x-content-type-options"], "nosniff", path);
      assert.equal(h["cache-control"], "no-store", path);
      assert.equal(h["referrer-policy"], "same-origin", path);
      assert.match(h["content-type"] ?? "", /^text\/html/, path);
      assertNoInlineCode(await res.text(), path);
    }
    const js = await context.request.get(`${origin}/console/static/console.js`);
    assert.equal(js.status(), 200);
    assert.match(js.headers()["content-type"] ?? "", /^text\/javascript/);
  });

  it("Sign out ends the console session and, through the provider's end-session page, the session there: the old cookie is no session, the next sign-in asks for a login, and the sign-out is audited", async () => {
    const { context, page } = await signIn("user-ada");
    const old = (await context.cookies()).find((c) => c.name === "mcpw_console")?.value;
    assert.ok(old, "signed in with a session cookie");
    await page.locator("form.signout button").click();
    // oidc-provider asks to confirm on its own page (the console's ID token named the session).
    await page.waitForURL((u) => u.href.startsWith(idp.issuer));
    await page.locator('button[name="logout"][value="yes"]').click();
    await page.waitForURL((u) => u.origin === origin && u.pathname === "/console/signed-out");
    assert.match(await page.locator("main").innerText(), /signed out of the console and at the identity provider/);
    // The console session is gone on the server, not only the cookie in this browser.
    const replayed = await fetch(`${origin}/console`, { headers: { cookie: `mcpw_console=${old}` }, redirect: "manual" });
    assert.equal(replayed.status, 303);
    assert.match(replayed.headers.get("location") ?? "", /^\/console\/signin/);
    // At the provider too: signing in again shows its login form instead of passing straight through.
    await page.goto(`${origin}/console`);
    await page.waitForURL((u) => u.href.startsWith(idp.issuer));
    assert.equal(await page.locator('input[name="login"]').count(), 1, "the provider asks who signs in");
    const record = auditRecords(s).find((r) => r.event === "console-signout");
    assert.ok(record, "the sign-out is audited");
    assert.equal((record.detail as { atProvider?: boolean }).atProvider, true);
    assert.equal((record.principal as { subject?: string }).subject, "user-ada");
    assert.doesNotMatch(JSON.stringify(auditRecords(s)), /eyJ[A-Za-z0-9_-]+\.eyJ/, "no ID token in the audit log");
  });
});
