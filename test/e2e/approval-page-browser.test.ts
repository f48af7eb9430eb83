// The approval page in a real headless Chromium: the one-time link opens, in the console's look
// under its CSP, the hidden payload is visible on screen, no injected markup runs, and clicking
// "Allow once" (a plain form POST with the Origin and Sec-Fetch-Site a browser really sends) answers
// the broker's question as "page".
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";
import { ApprovalBroker } from "../../src/approvals/broker.js";
import { startApprovalPage, type ApprovalPage } from "../../src/adapters/approval-page.js";
import { visibleText } from "../../src/policy/integrity/display.js";

const CHROMIUM = process.env.MCP_WARDEN_CHROMIUM || "/usr/bin/chromium-headless-shell";

test("a person approves a held call in a real browser", { timeout: 60_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    const why = `skipped: no Chromium headless shell at ${CHROMIUM} (Debian: apt install chromium-headless-shell)`;
    console.log(why);
    t.skip(why);
    return;
  }
  const broker = new ApprovalBroker({ timeoutMs: 60_000 });
  let page: ApprovalPage | undefined;
  let browser: Browser | undefined;
  try {
    page = await startApprovalPage(broker);
    const hidden = "SECRET-PAYLOAD\u200b\u202eevil";
    const { id, result } = broker.open({
      kind: "call",
      server: "github",
      serverIdentity: "sha256:abc",
      tool: "mcp__github__create_issue",
      arguments: { title: "</pre><script>alert('xss')</script>", body: `"><img src=x onerror="alert('img')">` + " ".repeat(300) + hidden },
      reason: "matched an ask rule",
      rule: "ask: mcp__github__*",
      ruleFile: ".mcp-warden/settings.json",
      policyVersion: "v1",
      answers: ["allow-once", "allow-session", "allow-always", "deny"],
    });

    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: "shell",
      timeout: 20_000,
      // Chromium refuses to start its sandbox as root (as in CI containers), so only there it runs
      // without one; the page it loads is our own loopback page.
      args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
    });
    const tab = await browser.newPage();
    tab.setDefaultTimeout(10_000);
    const dialogs: string[] = [];
    tab.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // The link as urlFor makes it: the gateway puts it in no message (stages/ask.ts), so only a caller given it can answer here.
    const response = await tab.goto(page.urlFor(id), { waitUntil: "load" });
    assert.equal(response?.status(), 200);
    // The console's look, under its CSP, and the token never leaves in a Referer.
    assert.match(response?.headers()["content-security-policy"] ?? "", /^default-src 'none'; script-src 'self'; style-src 'self';/);
    assert.equal(response?.headers()["referrer-policy"], "no-referrer");
    assert.equal(await tab.$$eval('link[rel="stylesheet"][href="/console/static/console.css"]', (els) => els.length), 1);
    assert.equal(await tab.$$eval('a[href="/console"]', (els) => els.length), 1, "a link to the console");

    // What a person sees: the hidden part of the payload, with its invisible characters made visible.
    const text = ((await tab.evaluate("document.body.innerText")) as string);
    assert.ok(text.includes("SECRET-PAYLOAD"), "the text after 300 spaces is on screen");
    assert.ok(text.includes(visibleText("\u200b")) && text.includes(visibleText("\u202e")), "the zero-width and bidi characters are shown as escapes");
    assert.ok(!text.includes("\u200b") && !text.includes("\u202e"));
    assert.ok(text.includes("</pre><script>alert('xss')</script>"), "the injected markup is shown as text");
    assert.equal(await tab.$$eval("script, img", (els) => els.length), 0, "no injected element exists");
    assert.equal(await tab.$$eval("pre#arguments", (els) => els.length), 1);

    // Nothing is pre-selected, and GETting the page answered nothing.
    assert.equal(await tab.evaluate("document.activeElement && document.activeElement.tagName"), "BODY");
    assert.ok(broker.get(id), "still pending after viewing");

    // Chromium sends this form POST with `Origin: null` (the page's Referrer-Policy is no-referrer)
    // and `Sec-Fetch-Site: same-origin`; the page's CSRF check must accept exactly that.
    const [nav] = await Promise.all([tab.waitForNavigation({ waitUntil: "load" }), tab.click('button[value="allow-once"]')]);
    assert.equal(nav?.status(), 200);
    assert.match(((await tab.evaluate("document.body.innerText")) as string), /Allowed once/);
    assert.deepEqual(await result, { answer: "allow-once", by: "page" });
    assert.deepEqual(dialogs, [], "no script ran");

    // The link is spent: opening it again says the question is gone.
    const again = await tab.goto(page.urlFor(id), { waitUntil: "load" });
    assert.equal(again?.status(), 410);
  } finally {
    await browser?.close().catch(() => {});
    broker.close();
    await page?.close();
  }
});
