// run's local console in real Chromium (Playwright) against the real `mcp-warden run` gateway: the
// page server starts once the client has connected, so `mcp-warden console` (the real CLI process)
// prints a one-time link before any question; the link lands on the overview; a call an ask rule
// holds (its client cannot be asked in band) shows on Approvals and approving it there completes the
// client's call; the same link in a fresh browser fails with the page that says how to get in, as
// does any page without a session; a held call is announced on stderr with no link that answers, and
// the address of the question pages there used to be (/a/ID?t=TOKEN) is a 404 that says how to
// answer, in the console's look, answers nothing and opens no console; a POST without the CSRF token
// and a foreign Host are refused; disabling the server on the Servers page stops it in this run
// gateway (it reloads its settings). And `mcp-warden console` says what to do when no gateway runs or
// its console is off.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { auditRecords, connect, FIXTURE, scratch, type Connected, type Scratch, wardenAsync } from "./harness.js";
import { browserUnavailable, launchChromium, type PwBrowser, type PwContext, type PwPage } from "./playwright.js";

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const unavailable = browserUnavailable();
// In CI the tools are installed by .ci/run: missing there fails.
const skip = unavailable === undefined || process.env.CI ? false : `the local console's browser test cannot run here: ${unavailable}`;
if (skip) console.log(`skipped: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const texts = (r: unknown) => ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");
const LINK = /^(http:\/\/127\.0\.0\.1:\d+)\/console\/enter\?t=[A-Za-z0-9._%-]+ {2}\(project (.+), gateway pid (\d+)\)$/;

function settings(page: boolean) {
  return {
    permissions: { allow: ["mcp__fx__create_issue"], ask: ["mcp__fx__echo"] },
    approvals: { page, timeoutMs: 120_000, holdMs: 120_000 },
    mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
  };
}

/** A raw GET with exactly the Host header given. */
function getWithHost(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers: { Host: host }, timeout: 5000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

describe("run's local console in a real browser", { skip, timeout: 240_000 }, () => {
  let s: Scratch;
  let c: Connected;
  let browser: PwBrowser;
  let link: string;
  let origin: string;
  let page: PwPage;
  const contexts: PwContext[] = [];
  const dialogs: string[] = [];

  before(async () => {
    s = scratch(settings(true));
    // No elicitation capability: the gateway cannot ask through the client, so a held call waits for the page.
    c = await connect(s);
    browser = await launchChromium();
  });
  after(async () => {
    for (const x of contexts) await x.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await c?.close().catch(() => undefined);
    s?.cleanup();
  });

  async function newPage(): Promise<PwPage> {
    const context = await browser.newContext();
    contexts.push(context);
    const p = await context.newPage();
    p.setDefaultTimeout(15_000);
    p.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return p;
  }

  /** The question about an echo of `text`, once the console lists it (bounded). */
  async function questionId(p: PwPage, text: string): Promise<string> {
    for (let i = 0; i < 60; i++) {
      await p.goto(`${origin}/console/approvals`);
      const sections = p.locator("section.question");
      for (let k = 0; k < (await sections.count()); k++) {
        const section = sections.nth(k);
        if ((await section.innerText()).includes(`"text": "${text}"`)) return ((await section.getAttribute("id")) ?? "").replace(/^q-/, "");
      }
      await sleep(250);
    }
    throw new Error(`no question for ${text} appeared`);
  }

  it("`mcp-warden console` prints a one-time link before any question, and the link lands on the overview as the local admin", async () => {
    // The page server starts in the background once the handshake is done: bounded wait for it.
    let r = await wardenAsync(s, ["console"]);
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      await sleep(200);
      r = await wardenAsync(s, ["console"]);
    }
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1, r.stdout);
    const m = LINK.exec(lines[0]!);
    assert.ok(m, `a link with its project and pid: ${lines[0]}`);
    assert.match(r.stderr, /works once, within 5 minutes/);
    assert.equal((await wardenAsync(s, ["approvals", "list"])).stdout, "no pending approvals\n", "the link came before any question");
    link = lines[0]!.split("  ")[0]!;
    origin = m[1]!;

    page = await newPage();
    const landed = await page.goto(link);
    assert.equal(landed?.status(), 200);
    await page.waitForURL(`${origin}/console`);
    assert.equal(await page.locator("h1").innerText(), "Overview");
    assert.match(await page.locator("header").innerText(), /\(admin\)/);
    assert.match(await page.locator("main").innerText(), /servers ready/);

    const signin = auditRecords(s).find((x) => x.kind === "request" && x.event === "console-signin");
    assert.ok(signin, "the entry is audited");
    assert.equal((signin.principal as { method?: string }).method, "local");
    assert.deepEqual(signin.detail, { role: "admin", method: "local" });
  });

  it("the held call shows on Approvals; approving it there completes the client's call", async () => {
    const call = c.client.callTool({ name: "fx__echo", arguments: { text: "approve in console" } });
    const id = await questionId(page, "approve in console");
    const section = page.locator(`section#q-${id}`);
    assert.match(await section.innerText(), /mcp__fx__echo/);
    await section.locator('button[value="allow-once"]').click();
    await page.waitForURL(`${origin}/console/approvals`);
    assert.match(await page.locator("#notice").innerText(), new RegExp(`Answered allow-once \\(question ${id}\\)`));
    assert.equal(texts(await call), "echo: approve in console");
    const answered = auditRecords(s).find((r) => r.kind === "approval" && r.event === "answered" && (r.detail as { approval?: string }).approval === id && (r.detail as { via?: string }).via === "console");
    assert.ok(answered, "the answer is audited as given in the console");
    assert.equal((answered.principal as { method?: string }).method, "local");
    assert.equal((answered.detail as { by?: string }).by, "page");
  });

  it("the same link in a fresh browser fails with the page that says how to get in; so does any page without a session", async () => {
    const fresh = await newPage();
    const again = await fresh.goto(link);
    assert.equal(again?.status(), 403);
    const text = await fresh.locator("main").innerText();
    assert.match(text, /already used/);
    assert.match(text, /Run mcp-warden console/);
    for (const path of ["/console", "/console/approvals", "/console/activity"]) {
      const r = await fresh.goto(`${origin}${path}`);
      assert.equal(r?.status(), 401, path);
      assert.equal(fresh.url(), `${origin}${path}`, `${path}: no redirect`);
      assert.match(await fresh.locator("main").innerText(), /Run mcp-warden console/, path);
    }
  });

  it("a held call is announced without a link that answers; the old question page address is a 404 that says how to answer, in the console's look, answers nothing and opens no console", async () => {
    const seen = c.stderr().length;
    const call = c.client.callTool({ name: "fx__echo", arguments: { text: "question page" } }).then(
      () => undefined,
      (e: Error & { code?: number }) => e,
    );
    // What the person reads on stderr (and in the client's log): the question and where to answer it.
    let announced: string | undefined;
    for (let i = 0; i < 100 && announced === undefined; i++) {
      announced = c.stderr().slice(seen).split("\n").find((l) => /needs approval \(question [0-9a-f]+\)/.test(l));
      if (announced === undefined) await sleep(200);
    }
    assert.ok(announced, "the question is announced on stderr");
    assert.match(announced, /answer it in the console \(`mcp-warden console` prints a sign-in link\)/);
    assert.doesNotMatch(c.stderr(), /[?&]t=|\/a\/[0-9a-f]/, "no question page link on stderr");
    const id = /\(question ([0-9a-f]+)\)/.exec(announced)![1]!;
    assert.equal(await questionId(page, "question page"), id, "the console lists it");

    // There is no question page: its old address, with any token, is a 404 that says where to answer.
    const p = await newPage();
    const r = await p.goto(`${origin}/a/${id}?t=${"A".repeat(43)}`);
    assert.equal(r?.status(), 404);
    assert.equal(r?.headers()["content-security-policy"], CSP, "the console's CSP: no inline style or script");
    assert.equal(await p.locator('link[rel="stylesheet"][href="/console/static/console.css"]').count(), 1);
    assert.equal(await p.locator("script").count(), 0);
    assert.equal(await p.locator("form").count(), 0, "no answer form");
    // The stylesheet applied (the console's header bar is laid out as flex).
    assert.equal(await p.evaluate(() => {
      const g = globalThis as unknown as { getComputedStyle(e: unknown): { display: string }; document: { querySelector(s: string): unknown } };
      return g.getComputedStyle(g.document.querySelector("header")).display;
    }, undefined), "flex");
    const shown = await p.locator("main").innerText();
    assert.match(shown, /Questions are answered in the console \(run mcp-warden console in the project's terminal for a sign-in link\)/);
    assert.match(shown, /mcp-warden approvals approve ID or mcp-warden approvals deny ID/);
    assert.ok(!shown.includes("fx__echo") && !shown.includes(id), "nothing of the question");
    assert.equal(await questionId(page, "question page"), id, "still pending");
    await p.locator('a[href="/console"]').click();
    await p.waitForURL(`${origin}/console`);
    assert.match(await p.locator("main").innerText(), /Run mcp-warden console/, "the 404 page opened no console session");

    // The person answers in the console.
    await page.locator(`section#q-${id} button[value="deny"]`).click();
    await page.waitForURL(`${origin}/console/approvals`);
    const refused = await call;
    assert.equal(refused?.code, -32051, "the held call is refused");
    assert.match(refused.message, /denied by a person \(page\)/);
    assert.deepEqual(dialogs, [], "no script ran");
  });

  it("a POST without the CSRF token is refused and answers nothing; a foreign Host is refused", async () => {
    const call = c.client.callTool({ name: "fx__echo", arguments: { text: "no csrf" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
    const id = await questionId(page, "no csrf");
    const status = await page.evaluate(async (qid: string) => {
      const res = await fetch(`/console/approvals/${qid}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "answer=allow-once" });
      return res.status;
    }, id);
    assert.equal(status, 403);
    assert.equal(await questionId(page, "no csrf"), id, "still pending after the refusal");

    const port = Number(new URL(origin).port);
    for (const host of [`evil.example:${port}`, "evil.example", `127.0.0.1:${port + 1}`]) {
      const r = await getWithHost(port, "/console", host);
      assert.equal(r.status, 421, host);
      assert.doesNotMatch(r.body, /mcp-warden console/, `${host}: not the console`);
    }
    await page.locator(`section#q-${id} button[value="deny"]`).click();
    await page.waitForURL(`${origin}/console/approvals`);
    assert.equal((await call as { isError?: boolean }).isError, true, "denied in the console");
  });

  it("disabling the server on the Servers page stops it in this very run gateway: the notice says so, the client's list loses its tools, and the stop is audited", async () => {
    await page.goto(`${origin}/console/servers/fx`);
    await page.locator('button[name="action"][value="disable"]').click();
    await page.waitForURL(`${origin}/console/servers`);
    const notice = await page.locator("#notice").innerText();
    assert.match(notice, /Disabled fx and added it to deniedMcpServers/, "deny is ticked by default");
    assert.match(notice, /This gateway reloads the changed settings within seconds/);
    assert.match(notice, /no other running gateway found\n?/);
    assert.doesNotMatch(notice, /applies when a gateway starts/, "this gateway applies it now");
    let tools: string[] = [];
    for (let i = 0; i < 80; i++) {
      tools = (await c.client.listTools()).tools.map((t) => t.name);
      if (!tools.some((t) => t.startsWith("fx__"))) break;
      await sleep(250);
    }
    assert.ok(!tools.some((t) => t.startsWith("fx__")), `fx's tools left the client's list: ${tools.join(", ")}`);
    const blocked = auditRecords(s).find((r) => r.kind === "server" && r.event === "blocked" && r.server === "fx");
    assert.equal((blocked?.detail as { by?: string } | undefined)?.by, "settings-reload", "stopped by the gateway's settings reload");
  });

  it("`mcp-warden console` says what to do when no gateway runs, and when a gateway's console is off", async () => {
    const none = scratch(settings(true));
    try {
      const r = await wardenAsync(none, ["console"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /no `mcp-warden run` gateway is running.*start your MCP client/s);
    } finally {
      none.cleanup();
    }
    const off = scratch(settings(false));
    const client = await connect(off);
    try {
      let r = await wardenAsync(off, ["console"]);
      // The status file is written once the gateway starts: bounded wait for it.
      for (let i = 0; i < 50 && !/approvals\.page/.test(r.stderr); i++) {
        await sleep(200);
        r = await wardenAsync(off, ["console"]);
      }
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /the console is off because approvals\.page is false.*"approvals": \{ "page": true \}/);
    } finally {
      await client.close();
      off.cleanup();
    }
  });
});
