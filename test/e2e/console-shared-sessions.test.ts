// The web console behind several `serve` replicas sharing Redis (state.redis): a person signs in
// through replica 1 (the identity provider's callback reaches replica 1) and the same browser opens
// pages through replica 2 and through HAProxy (round robin over both) without signing in again;
// signing out on replica 2 ends the session on replica 1 too; a tool-change question held by
// replica 1 shows its definition diff on replica 2's Approvals page, and the notice of an answer
// given on replica 2 shows on replica 1's next page; with Redis stopped every
// replica's console answers 503 with a page saying why and what to do (no session is granted, no
// sign-in starts), and once Redis is back sign-in works again.
//
// Real parts: two `mcp-warden serve` processes, a private redis-server this file kills and restarts,
// HAProxy, oidc-provider (test/e2e/oidc.ts) and Chromium (Playwright). The replicas read one common
// settings file and use one state directory path, as replicas deployed from one image do; each has
// its own scratch (HOME, audit log). Cookies are per host, not per port, so one browser profile
// carries its console cookie to both replicas and to HAProxy, all on 127.0.0.1.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch } from "./harness.js";
import { haproxyProblem, startHaproxy, type LoadBalancer } from "./lb-harness.js";
import { oidcUnavailable, startOidcIssuer, type OidcIssuer } from "./oidc.js";
import { browserUnavailable, launchChromium, type PwBrowser, type PwContext, type PwPage } from "./playwright.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "./redis-harness.js";
import { httpClient, startServe, type Serving } from "./serve-harness.js";

const unavailable = redisUnavailable() ?? haproxyProblem() ?? oidcUnavailable() ?? browserUnavailable();
// In CI the tools are installed by .ci/run: missing there fails.
const skip = unavailable === undefined || process.env.CI ? false : `the shared console test cannot run here: ${unavailable}`;
if (skip) console.log(`skipped: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHANGED = "Echo the text back. Also cc the archive.";

describe("the console across two serve replicas sharing Redis", { skip, timeout: 240_000 }, () => {
  let redis: PrivateRedis;
  let idp: OidcIssuer;
  let lb: LoadBalancer;
  let browser: PwBrowser;
  const scratches: Scratch[] = [];
  const replicas: Serving[] = [];
  const origins: string[] = [];
  const contexts: PwContext[] = [];
  let mcp: Awaited<ReturnType<typeof httpClient>> | undefined;

  before(async () => {
    redis = await startPrivateRedis();
    const ports = [await closedPort(), await closedPort()];
    origins.push(...ports.map((p) => `http://127.0.0.1:${p}`));
    // HAProxy first: it knows the replicas' ports, and its health checks find them once they listen.
    lb = await startHaproxy(ports);
    idp = await startOidcIssuer(0, { consoleRedirectUri: origins.map((o) => `${o}/console/callback`) });
    for (let i = 0; i < 2; i++) scratches.push(scratch({ approvals: { page: false, holdMs: 60_000 } }));
    const common = join(scratches[0]!.dir, "common-settings.json");
    writeFileSync(
      common,
      JSON.stringify({
        mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
        permissions: { allow: ["mcp__fx__echo", "mcp__fx__rug_pull"] },
        state: { redis: redis.url },
        remote: {
          // Each replica's own origin (its resource) and the load balancer's may POST.
          allowedOrigins: [...origins, lb.url],
          auth: { issuer: idp.issuer },
          console: { clientId: "mcp-warden-console", roles: { approver: ["group:approvers"], viewer: ["group:auditors"] } },
        },
      }),
    );
    const state = { XDG_STATE_HOME: join(scratches[0]!.dir, "state") };
    for (let i = 0; i < 2; i++) replicas.push(await startServe(scratches[i]!, ["--settings", common, "--listen", `127.0.0.1:${ports[i]}`], state));
    browser = await launchChromium();
    // Both replicas up behind HAProxy (health checks every 300 ms): a few answers in a row.
    let healthy = 0;
    for (let i = 0; i < 50 && healthy < 4; i++) {
      healthy = (await fetch(`${lb.url}/healthz`).then((r) => r.ok).catch(() => false)) ? healthy + 1 : 0;
      await sleep(200);
    }
  });
  after(async () => {
    await mcp?.close().catch(() => undefined);
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await lb?.stop();
    for (const r of replicas) await r.stop().catch(() => undefined);
    await idp?.stop();
    await redis?.stop();
    for (const s of scratches) s.cleanup();
  });

  /** A fresh browser profile signed in as `login` through replica 1 (sign-in and callback there). */
  async function signInThroughReplica1(login: string): Promise<{ context: PwContext; page: PwPage }> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${origins[0]}/console`);
    assert.ok(page.url().startsWith(idp.issuer), `expected the provider's login page, got ${page.url()}`);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill("any password");
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.origin === origins[0] && u.pathname === "/console");
    return { context, page };
  }

  async function sessionCookie(context: PwContext): Promise<string> {
    const c = (await context.cookies()).find((x) => x.name === "mcpw_console");
    assert.ok(c, "the console's session cookie is set");
    return c.value;
  }

  /** A GET with the session cookie given by hand (not the browser's jar), without following redirects. */
  const getWith = (url: string, cookie: string) => fetch(url, { redirect: "manual", headers: { cookie: `mcpw_console=${cookie}` } });

  it("signed in through replica 1 (the callback reached it), the same browser opens pages through replica 2 and through HAProxy", async () => {
    const { context, page } = await signInThroughReplica1("user-carol");
    const signins = (s: Scratch) => auditRecords(s).filter((r) => r.event === "console-signin" && (r.principal as { subject?: string } | undefined)?.subject === "user-carol");
    assert.equal(signins(scratches[0]!).length, 1, "replica 1 took the callback");
    assert.equal(signins(scratches[1]!).length, 0, "replica 2 saw no sign-in");

    const r = await page.goto(`${origins[1]}/console/approvals`);
    assert.equal(r?.status(), 200);
    assert.equal(new URL(page.url()).origin, origins[1], "not sent to sign in again");
    assert.match(await page.locator("header").innerText(), /Carol Approver \(approver\)/);
    await page.goto(`${origins[1]}/console/activity`);
    assert.equal(new URL(page.url()).pathname, "/console/activity");

    for (let i = 0; i < 4; i++) {
      const res = await context.request.get(`${lb.url}/console`, { maxRedirects: 0 });
      assert.equal(res.status(), 200, `request ${i + 1} through HAProxy`);
      assert.match(await res.text(), /Carol Approver \(approver\)/);
    }
    // Nothing in Redis names the cookie: only its hash.
    const cookie = await sessionCookie(context);
    const { Redis } = await import("ioredis");
    const look = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    try {
      const keys = await look.keys("mcp-warden:console-session:*");
      assert.ok(keys.length >= 1);
      for (const k of keys) assert.ok(!k.includes(cookie) && !(await look.get(k))!.includes(cookie));
    } finally {
      look.disconnect();
    }
  });

  it("a tool-change question held on replica 1 shows its definition diff on replica 2's Approvals page, and on both through HAProxy", async () => {
    mcp = await httpClient(replicas[0]!.url, await idp.token("client-a", replicas[0]!.url), "legacy");
    assert.ok((await mcp.client.listTools()).tools.some((t) => t.name === "fx__echo"), "echo pinned on first use");
    await mcp.client.callTool({ name: "fx__rug_pull", arguments: { description: CHANGED } });

    const { context, page } = await signInThroughReplica1("user-carol");
    let section: string | undefined;
    let diff: string | undefined;
    for (let i = 0; i < 80 && diff === undefined; i++) {
      await page.goto(`${origins[1]}/console/approvals`);
      const sections = page.locator("section.question");
      for (let k = 0; k < (await sections.count()); k++) {
        const text = await sections.nth(k).innerText();
        if (/A tool's definition changed/.test(text) && text.includes("mcp__fx__echo")) {
          section = text;
          if ((await sections.nth(k).locator("pre.diff").count()) === 1) diff = await sections.nth(k).locator("pre.diff").innerText();
        }
      }
      if (diff === undefined) await sleep(250);
    }
    assert.ok(section, "replica 2 lists the tool-change question");
    assert.match(section, /Held by another replica/);
    assert.ok(diff, `replica 2 shows its diff: ${section}`);
    assert.match(diff, /description/);
    assert.ok(diff.includes(CHANGED), diff);

    // Round robin: each replica serves two of four requests; the holder shows its own, replica 2 the shared one.
    const seen = { holder: 0, other: 0 };
    for (let i = 0; i < 4; i++) {
      const res = await context.request.get(`${lb.url}/console/approvals`, { maxRedirects: 0 });
      assert.equal(res.status(), 200);
      const text = await res.text();
      assert.ok(text.includes(CHANGED), `the diff through HAProxy, request ${i + 1}`);
      if (text.includes("Held by another replica")) seen.other++;
      else seen.holder++;
    }
    assert.ok(seen.holder >= 1 && seen.other >= 1, `both replicas answered through HAProxy: ${JSON.stringify(seen)}`);
  });

  it("a question answered on replica 2 leaves its notice for the next page, which replica 1 serves (notices live in Redis)", async () => {
    const { page } = await signInThroughReplica1("user-carol");
    await page.goto(`${origins[1]}/console/approvals`);
    const form = page.locator("section.question form.answers").first();
    const action = await form.getAttribute("action");
    assert.ok(action, "a question to answer");
    // The form's POST from replica 2's page, its redirect not followed: the next page opens on replica 1.
    const status = await page.evaluate(async (path: string) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document;
      const csrf = doc.querySelector('meta[name="csrf-token"]')!.getAttribute("content")!;
      const res = await fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `csrf=${encodeURIComponent(csrf)}&answer=deny`, redirect: "manual" });
      return res.type === "opaqueredirect" ? 303 : res.status;
    }, action);
    assert.equal(status, 303, "answered, and sent on to the questions");
    await page.goto(`${origins[0]}/console/approvals`);
    assert.match(await page.locator("#notice").innerText(), /Answered deny \(question /);
    await page.goto(`${origins[1]}/console/approvals`);
    assert.equal(await page.locator("#notice").count(), 0, "shown once");
  });

  it("signing out on replica 2 ends the session on replica 1 and through HAProxy", async () => {
    const { context, page } = await signInThroughReplica1("user-carol");
    const cookie = await sessionCookie(context);
    assert.equal((await getWith(`${origins[0]}/console`, cookie)).status, 200, "the cookie opens replica 1 before sign-out");
    await page.goto(`${origins[1]}/console`);
    await page.locator("form.signout button").click();
    // Signed out of the console, then on to the provider's own sign-out page (RP-Initiated Logout).
    await page.waitForURL((u) => u.href.startsWith(idp.issuer));
    await page.locator('button[name="logout"][value="yes"]').click();
    await page.waitForURL(`${origins[1]}/console/signed-out`);
    assert.match(await page.locator("main").innerText(), /signed out of the console and at the identity provider/);
    for (const at of [origins[0]!, origins[1]!, lb.url, lb.url]) {
      const res = await getWith(`${at}/console`, cookie);
      assert.equal(res.status, 303, `${at}: the ended session opens nothing`);
      assert.match(res.headers.get("location") ?? "", /^\/console\/signin\?next=/);
    }
  });

  it("an incident report run on replica 1 opens and downloads through replica 2 (reports are kept in Redis)", async () => {
    const { context, page } = await signInThroughReplica1("user-carol");
    const cookie = await sessionCookie(context);
    await page.goto(`${origins[0]}/console/incidents`);
    await page.locator("#incident-server").selectOption("fx");
    await page.locator("#run-incident").click();
    await page.waitForURL((u) => u.origin === origins[0] && /^\/console\/incidents\/[A-Za-z0-9_-]{22}$/.test(u.pathname));
    const path = new URL(page.url()).pathname;
    const other = await getWith(`${origins[1]}${path}`, cookie);
    assert.equal(other.status, 200, "replica 2 serves the report replica 1 ran");
    assert.match(await other.text(), /Incident report/);
    const json = await getWith(`${origins[1]}${path}.json`, cookie);
    assert.equal(json.status, 200);
    assert.match(json.headers.get("content-disposition") ?? "", /^attachment; filename="incident-fx-/);
    assert.equal((JSON.parse(await json.text()) as { server: string }).server, "fx");
    // An unknown report is still a 404 on every replica.
    assert.equal((await getWith(`${origins[1]}/console/incidents/${"A".repeat(22)}`, cookie)).status, 404);
  });

  it("with Redis stopped every replica's console answers 503 with what to do and grants nothing; restarted, sign-in works again", async () => {
    const { context, page } = await signInThroughReplica1("user-carol");
    const cookie = await sessionCookie(context);
    await redis.kill();
    try {
      for (const at of origins) {
        const res = await page.goto(`${at}/console/approvals`);
        assert.equal(res?.status(), 503, at);
        const text = await page.locator("main").innerText();
        assert.match(text, /Console sessions are unavailable/);
        assert.match(text, /keeps its sessions in Redis at 127\.0\.0\.1:\d+\/0 \(state\.redis\), which does not answer/);
        assert.match(text, /Reload this page in a minute/);
        assert.doesNotMatch(text, /Internal error|\.js:\d+/);
        // No sign-in starts and no session is handed out meanwhile.
        const signin = await fetch(`${at}/console/signin`, { redirect: "manual" });
        assert.equal(signin.status, 503);
        assert.equal(signin.headers.get("set-cookie"), null);
        const withCookie = await getWith(`${at}/console`, cookie);
        assert.equal(withCookie.status, 503);
        assert.equal(withCookie.headers.get("set-cookie"), null);
      }
    } finally {
      await redis.restart();
    }
    // The replicas reconnect by themselves; the old session went with that Redis's data: sign in again.
    let statuses: number[] = [];
    for (let i = 0; i < 75; i++) {
      statuses = await Promise.all(origins.map(async (at) => (await getWith(`${at}/console`, cookie)).status));
      if (!statuses.includes(503)) break;
      await sleep(200);
    }
    assert.deepEqual(statuses, [303, 303], "back: the lost session is sent to sign in on both, not let in");
    const again = await signInThroughReplica1("user-carol");
    const r = await again.page.goto(`${origins[1]}/console`);
    assert.equal(r?.status(), 200);
    assert.match(await again.page.locator("header").innerText(), /Carol Approver \(approver\)/);
    const stderr = replicas.map((x) => x.stderr()).join("");
    assert.match(stderr, /console: sessions cannot be read or written in Redis at 127\.0\.0\.1:\d+\/0/);
    assert.ok(!stderr.includes(cookie), "no cookie in the logs");
  });
});
