// The console's Policy page in real Chromium (Playwright) against the real `mcp-warden serve` and a
// real OpenID provider (oidc-provider): a viewer (group auditors) signs in, sees the deny rule with
// the layer and file it comes from, tests calls in the "test a call" box and reads the same
// decision, reason, rule and source that the real `mcp-warden check` process prints for the same
// call and caller; bad JSON and a tool name of no known form answer 400 with what to fix.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConsoleRig, consoleSkip, startConsoleRig } from "./console-harness.js";
import { FIXTURE, wardenCli, type Scratch } from "./harness.js";
import type { PwContext, PwPage } from "./playwright.js";

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const skip = consoleSkip("the console's policy browser test");

interface CheckOutput {
  decision: string;
  reason: string;
  rule?: string;
  source?: { layer: string; file: string; path: string };
}

describe("the console's Policy page in a real browser", { skip, timeout: 240_000 }, () => {
  let rig: ConsoleRig;
  let s: Scratch;
  let origin: string;
  let viewer: { context: PwContext; page: PwPage };
  const pageErrors: string[] = [];

  before(async () => {
    rig = await startConsoleRig(() => ({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      permissions: { allow: ["mcp__fx__create_issue", "mcp__fx__echo"], ask: ["mcp__fx__update_*"], deny: ["mcp__fx__delete_repo"] },
      principals: { "group:auditors": { permissions: { deny: ["mcp__fx__echo"] } } },
      approvals: { page: false },
      integrity: { pins: false },
      remote: { console: { clientId: "mcp-warden-console", roles: { admin: ["group:secops"], viewer: ["group:auditors"] } } },
    }));
    ({ s, origin } = rig);
    viewer = await signIn("user-victor", "/console/policy");
  });
  after(() => rig?.stop());

  /** A fresh browser profile signed in as `login`; script errors on its pages are collected. */
  function signIn(login: string, next: string): Promise<{ context: PwContext; page: PwPage }> {
    return rig.signIn(login, next, (page) => page.on("pageerror", (e) => pageErrors.push(e.message)));
  }

  /** The real CLI on the same settings, in the same directory serve runs in. */
  function check(tool: string, input: string, as: string[] = []): CheckOutput {
    const r = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", tool, "--input", input, ...as]);
    assert.ok(r.code >= 0 && r.code <= 3, `check exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as CheckOutput;
  }

  /** Fills the box, submits it and waits for the answer page. */
  async function testCall(page: PwPage, fields: { tool: string; input: string; subject?: string; groups?: string }): Promise<void> {
    const box = page.locator("form.test-call");
    await box.locator('input[name="tool"]').fill(fields.tool);
    await box.locator('textarea[name="input"]').fill(fields.input);
    await box.locator('input[name="subject"]').fill(fields.subject ?? "");
    await box.locator('input[name="groups"]').fill(fields.groups ?? "");
    await box.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === "/console/policy" && u.searchParams.get("tool") === fields.tool && u.searchParams.get("input") === fields.input && u.searchParams.get("subject") === (fields.subject ?? ""));
  }

  /** What the page answered, in check's output shape. */
  async function answered(page: PwPage): Promise<CheckOutput> {
    const out: CheckOutput = { decision: (await page.locator("#answer-decision").innerText()).trim(), reason: (await page.locator("#answer-reason").innerText()).trim() };
    if ((await page.locator("#answer-rule").count()) > 0) out.rule = await page.locator("#answer-rule").innerText();
    if ((await page.locator("#answer-source").count()) > 0) out.source = { layer: "", file: "", path: (await page.locator("#answer-source").innerText()).trim() };
    return out;
  }

  it("a viewer opens Policy and sees the deny rule with its source file and layer, in evaluation order", async () => {
    const { page } = viewer;
    assert.match(await page.locator("header").innerText(), /Victor Viewer \(viewer\)/);
    const row = page.locator("#rules-deny tbody tr").first();
    assert.equal(await row.locator("td.rule").innerText(), "mcp__fx__delete_repo");
    assert.equal(await row.locator("td.layer").innerText(), "cli", "a --settings file is the cli layer");
    assert.equal(await row.locator("td.file").innerText(), s.settingsFile);
    assert.equal(await row.locator("td.path").innerText(), "permissions.deny[0]");
    assert.match(await page.locator("#rules-ask").innerText(), /mcp__fx__update_\*/);
    assert.match(await page.locator("#rules-allow").innerText(), /mcp__fx__create_issue/);
    // Deny, then ask, then allow on the page.
    const main = await page.locator("main").innerText();
    assert.ok(main.indexOf("mcp__fx__delete_repo") < main.indexOf("mcp__fx__update_*") && main.indexOf("mcp__fx__update_*") < main.indexOf("mcp__fx__create_issue"));
    assert.match(await page.locator("#policy-servers").innerText(), /fx[\s\S]*allow/);

    // Viewed as the auditors group: its entry adds a deny, marked as added by it.
    await page.locator('form.view-as input[name="as"]').fill("group:auditors");
    await page.locator('form.view-as button[type="submit"]').click();
    await page.waitForURL((u) => u.searchParams.get("as") === "group:auditors");
    const added = page.locator("#rules-deny tbody tr.added");
    assert.equal(await added.count(), 1);
    assert.equal(await added.locator("td.rule").innerText(), "mcp__fx__echo");
    assert.match(await added.innerText(), /added by group:auditors/);
    assert.equal(await added.locator("td.path").innerText(), 'principals["group:auditors"].permissions.deny[0]');
  });

  it("a call to the denied tool reads deny with its rule and source, exactly as the real `mcp-warden check` prints it", async () => {
    const { page } = viewer;
    await page.goto(`${origin}/console/policy`);
    const input = '{"repo": "prod"}';
    await testCall(page, { tool: "mcp__fx__delete_repo", input });
    const cli = check("mcp__fx__delete_repo", input);
    assert.equal(cli.decision, "deny");
    const shown = await answered(page);
    assert.equal(shown.decision, "deny");
    assert.equal(shown.decision, cli.decision);
    assert.equal(shown.reason, cli.reason);
    assert.equal(shown.rule, "mcp__fx__delete_repo");
    assert.equal(shown.rule, cli.rule);
    assert.equal(shown.source?.path, `${cli.source!.file} at ${cli.source!.path} (${cli.source!.layer})`);
  });

  it("an allowed call reads allow, and a caller in group auditors gets its entry's deny, both as `check` answers them", async () => {
    const { page } = viewer;
    await page.goto(`${origin}/console/policy`);
    await testCall(page, { tool: "mcp__fx__echo", input: '{"text": "hi"}' });
    const cli = check("mcp__fx__echo", '{"text": "hi"}');
    assert.equal(cli.decision, "allow");
    const shown = await answered(page);
    assert.deepEqual([shown.decision, shown.reason, shown.rule], [cli.decision, cli.reason, cli.rule]);

    await testCall(page, { tool: "mcp__fx__echo", input: '{"text": "hi"}', subject: "victor", groups: "auditors" });
    const asAuditor = check("mcp__fx__echo", '{"text": "hi"}', ["--as", "user:victor", "--groups", "auditors"]);
    assert.equal(asAuditor.decision, "deny");
    const shownAs = await answered(page);
    assert.deepEqual([shownAs.decision, shownAs.reason, shownAs.rule], [asAuditor.decision, asAuditor.reason, asAuditor.rule]);
    assert.equal(shownAs.source?.path, `${asAuditor.source!.file} at ${asAuditor.source!.path} (${asAuditor.source!.layer})`);
    assert.match(await page.locator("#answer").innerText(), /group:auditors/);
  });

  it("bad JSON and a tool name of no known form get a message saying what to fix (400), never a decision", async () => {
    const { page, context } = viewer;
    await page.goto(`${origin}/console/policy`);
    await testCall(page, { tool: "mcp__fx__create_issue", input: '{"title": ' });
    assert.match(await page.locator("#test-error").innerText(), /the arguments are not valid JSON .*write a JSON object/);
    assert.equal(await page.locator("#answer").count(), 0);
    const bad = await context.request.get(`${origin}/console/policy?tool=mcp__fx__create_issue&input=${encodeURIComponent('{"title": ')}`);
    assert.equal(bad.status(), 400);
    const unknown = await context.request.get(`${origin}/console/policy?tool=fx__create_issue&input=%7B%7D`);
    assert.equal(unknown.status(), 400);
    const text = await unknown.text();
    assert.match(text, /rules judge the canonical name mcp__fx__create_issue/);
    assert.doesNotMatch(text, /id="answer"/);
  });

  it("the page carries the CSP and no inline script or style, and ran no script error", async () => {
    const res = await viewer.context.request.get(`${origin}/console/policy?tool=mcp__fx__delete_repo&input=%7B%7D&as=group:auditors`);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()["content-security-policy"], CSP);
    assert.equal(res.headers()["cache-control"], "no-store");
    const page = await res.text();
    for (const m of page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.match(m[1]!, /\bsrc="\/console\/static\/console\.js"/);
      assert.equal(m[2]!.trim(), "");
    }
    assert.doesNotMatch(page, /<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:/i);
    assert.deepEqual(pageErrors, []);
  });
});
