// The console's Servers page in real Chromium (Playwright) against the real `mcp-warden serve` and a
// real OpenID provider (oidc-provider): a real MCP client starts its own instance of the fixture
// server; an admin sees the server ready with its tools as the upstream lists them and what each
// principal sees, disables it with a deny entry, reads the CLI's report in the notice; the settings
// file holds the change, serve's settings reload stops the server, and a real MCP client no longer
// gets its tools. An approver sees no action and a POST from the approver's session with a valid
// CSRF token is refused; so is a POST without the token; neither changes the settings.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type ConsoleRig, consoleSkip, postFromPage, startConsoleRig } from "./console-harness.js";
import { auditRecords, FIXTURE, type Scratch } from "./harness.js";
import type { OidcIssuer } from "./oidc.js";
import type { PwPage } from "./playwright.js";
import { httpClient, type Serving } from "./serve-harness.js";

const skip = consoleSkip("the console's servers browser test");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the console's Servers page in a real browser", { skip, timeout: 240_000 }, () => {
  let rig: ConsoleRig;
  let idp: OidcIssuer;
  let s: Scratch;
  let srv: Serving;
  let origin: string;

  before(async () => {
    rig = await startConsoleRig(() => ({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_SECRET: "s3cret-value-never-shown" } } },
      permissions: { allow: ["mcp__fx__create_issue", "mcp__fx__echo"], deny: ["mcp__fx__delete_repo"] },
      principals: { "group:sales": { permissions: { deny: ["mcp__fx__echo"] } } },
      approvals: { page: false },
      integrity: { pins: false },
    }));
    ({ idp, s, srv, origin } = rig);
  });
  after(() => rig?.stop());

  async function signIn(login: string, next: string): Promise<PwPage> {
    return (await rig.signIn(login, next)).page;
  }

  /** The exposed names a real MCP client gets from tools/list now. */
  async function listedTools(): Promise<string[]> {
    const c = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
    try {
      return (await c.client.listTools()).tools.map((t) => t.name);
    } finally {
      await c.close();
    }
  }

  it("before anything: a real client's own instance of fx lists its tools", async () => {
    const tools = await listedTools();
    assert.ok(tools.includes("fx__echo"), tools.join(", "));
    assert.ok(!tools.includes("fx__delete_repo"), "a denied tool is not listed");
  });

  it("an approver sees the servers but no action; a POST with the approver's valid CSRF token is 403, one without a token is 403; nothing changes", async () => {
    const before = readFileSync(s.settingsFile, "utf8");
    const page = await signIn("user-carol", "/console/servers/fx");
    assert.match(await page.locator("main").innerText(), /echo/);
    assert.equal(await page.locator("form.server-actions").count(), 0, "no action form");
    assert.equal(await page.locator('main button[name="action"]').count(), 0, "no action button");
    const forged = await postFromPage(page, "/console/servers/fx", "action=disable&deny=on", true);
    assert.equal(forged.status, 403);
    assert.match(forged.text, /approver/);
    const noToken = await postFromPage(page, "/console/servers/fx", "action=disable&deny=on", false);
    assert.equal(noToken.status, 403);
    assert.match(noToken.text, /security token/);
    assert.equal(readFileSync(s.settingsFile, "utf8"), before, "the settings file is unchanged");
    assert.equal(auditRecords(s).filter((r) => r.event === "console-server-change").length, 0);
  });

  it("an admin sees fx ready with its tools and who sees them, disables it with a deny entry; serve stops it and a real client no longer gets its tools", async () => {
    const page = await signIn("user-ada", "/console/servers");
    const listRow = page.locator("tr#server-fx");
    assert.match(await listRow.innerText(), /ready/);
    assert.match(await listRow.innerText(), /1 of 1 caller instance ready/);
    const shown = await page.content();
    assert.ok(!shown.includes("s3cret-value-never-shown"), "an env value is never shown");
    assert.match(await listRow.innerText(), /FIXTURE_SECRET/, "its name is");

    await listRow.locator("a").first().click();
    await page.waitForURL(`${origin}/console/servers/fx`);
    const tools = page.locator("table.tools");
    const head = await tools.locator("thead").innerText();
    assert.match(head, /group:sales/);
    assert.match(head, /any caller/);
    const echoRow = tools.locator("tbody tr");
    let echo: string | undefined;
    let deleteRepo: string | undefined;
    for (let i = 0; i < (await echoRow.count()); i++) {
      const text = await echoRow.nth(i).innerText();
      if (text.startsWith("echo")) echo = text;
      if (text.startsWith("delete_repo")) deleteRepo = text;
    }
    assert.ok(echo, "the upstream's echo tool is listed");
    assert.match(echo!, /Echo the text back\./, "with its description as sent");
    assert.match(echo!, /hidden by mcp__fx__echo[\s\S]*listed/, "hidden from group:sales, listed for any caller");
    assert.ok(deleteRepo, "a tool every caller is denied is still shown as the upstream lists it");
    assert.doesNotMatch(deleteRepo!, /listed/);

    // The CLI's own refusal is shown, and changes nothing: a server that is not configured; a made-up action.
    const settingsBefore = readFileSync(s.settingsFile, "utf8");
    const unknown = await postFromPage(page, "/console/servers/nosuch", "action=disable&deny=on", true);
    assert.equal(unknown.status, 409);
    assert.match(unknown.text, /no server named .{1,6}nosuch.{1,6} is configured/);
    const badAction = await postFromPage(page, "/console/servers/fx", "action=delete", true);
    assert.equal(badAction.status, 400);
    assert.equal(readFileSync(s.settingsFile, "utf8"), settingsBefore);

    assert.equal(await page.locator('input[name="deny"]').count(), 1);
    await page.locator('button[name="action"][value="disable"]').click();
    await page.waitForURL(`${origin}/console/servers`);
    const notice = await page.locator("#notice").innerText();
    assert.match(notice, /Disabled fx and added it to deniedMcpServers/);
    assert.match(notice, /set mcpServers\.fx\.disabled = true/, "the CLI's own report");
    assert.match(notice, /previous content saved as/);
    assert.match(notice, /This gateway reloads the changed settings within seconds/);
    assert.doesNotMatch(notice, /still runs 'fx'/, "serve does not wait for itself as another gateway");

    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8")) as { mcpServers: Record<string, { disabled?: boolean }>; deniedMcpServers?: { serverName?: string }[] };
    assert.equal(settings.mcpServers.fx!.disabled, true);
    assert.deepEqual(settings.deniedMcpServers, [{ serverName: "fx" }]);

    const refused = auditRecords(s).find((r) => r.event === "console-server-change" && r.server === "nosuch");
    assert.equal((refused?.detail as { exitCode?: number } | undefined)?.exitCode, 2, "the refused attempt is audited too");
    const change = auditRecords(s).find((r) => r.event === "console-server-change" && r.server === "fx");
    assert.equal(change?.kind, "request");
    assert.equal((change?.principal as { subject?: string }).subject, "user-ada");
    assert.deepEqual(change?.detail, { action: "disable", server: "fx", deny: true, file: s.settingsFile, exitCode: 0 });

    // serve's settings watcher reloads the file; the core stops the server (bounded wait).
    let blocked: Record<string, unknown> | undefined;
    for (let i = 0; i < 80 && !blocked; i++) {
      blocked = auditRecords(s).find((r) => r.kind === "server" && r.event === "blocked" && r.server === "fx" && (r.detail as { by?: string } | undefined)?.by === "settings-reload");
      if (!blocked) await sleep(250);
    }
    assert.ok(blocked, `serve stopped fx after the reload; stderr: ${srv.stderr().slice(-2000)}`);
    assert.equal((blocked.detail as { instancesStopped?: number }).instancesStopped, 1, "the caller's own instance was stopped");
    await page.goto(`${origin}/console/servers`);
    const after = await page.locator("tr#server-fx").innerText();
    assert.match(after, /blocked/);
    assert.doesNotMatch(after, /\bready\b/);

    const tools2 = await listedTools();
    assert.ok(!tools2.some((t) => t.startsWith("fx__")), `no tool of fx is listed: ${tools2.join(", ")}`);
    const c = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
    try {
      const r = await c.client.callTool({ name: "fx__echo", arguments: { text: "still there?" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
      assert.equal((r as { isError?: boolean }).isError, true, "a call to it fails");
    } finally {
      await c.close();
    }
  });
});
