// The console's Incidents page in real Chromium (Playwright) against the real `mcp-warden serve` and
// a real OpenID provider (oidc-provider): a real MCP client makes calls first (two allowed, one
// denied); a viewer and an approver run a report without containment, and a POST asking for
// containment from their own sessions (with their CSRF tokens) is 403 and leaves the settings file
// as it was; an admin runs the incident with "disable + deny", sees the five steps with the calls
// counted, downloads the Markdown and JSON reports (the browser's download event; the files read
// back), and the settings file then disables and denies the server; the run is audited.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { IncidentReport } from "../../src/incident/report.js";
import { type ConsoleRig, consoleSkip, postFromPage, startConsoleRig } from "./console-harness.js";
import { auditRecords, FIXTURE, type Scratch } from "./harness.js";
import type { OidcIssuer } from "./oidc.js";
import type { PwLocator, PwPage } from "./playwright.js";
import { httpClient, type Serving } from "./serve-harness.js";

const skip = consoleSkip("the console's incidents browser test");

/** The parts of Playwright's download API this test uses (its types are not installed with the project). */
interface PwDownload {
  path(): Promise<string | null>;
  suggestedFilename(): string;
}
type DownloadingPage = PwPage & { waitForEvent(event: "download", opts?: { timeout?: number }): Promise<PwDownload> };
type CheckableLocator = PwLocator & { check(): Promise<void> };

describe("the console's Incidents page in a real browser", { skip, timeout: 240_000 }, () => {
  let rig: ConsoleRig;
  let idp: OidcIssuer;
  let s: Scratch;
  let srv: Serving;
  let origin: string;

  before(async () => {
    rig = await startConsoleRig(() => ({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      permissions: { allow: ["mcp__fx__create_issue"], deny: ["mcp__fx__delete_repo"] },
      approvals: { page: false },
      integrity: { pins: false },
    }));
    ({ idp, s, srv, origin } = rig);
    // The activity the reports are about: through a real MCP client, two allowed calls and a denied one.
    const c = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
    try {
      await c.client.callTool({ name: "fx__create_issue", arguments: { title: "first" } });
      await c.client.callTool({ name: "fx__create_issue", arguments: { title: "second" } });
      const denied = await c.client.callTool({ name: "fx__delete_repo", arguments: { repo: "prod" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
      assert.equal((denied as { isError?: boolean }).isError, true, "the denied call is refused");
    } finally {
      await c.close();
    }
  });
  after(() => rig?.stop());

  async function signIn(login: string, next = "/console/incidents"): Promise<PwPage> {
    return (await rig.signIn(login, next)).page;
  }

  /** Submits the form on the page and waits for the report page; its id. */
  async function runFromForm(page: PwPage): Promise<string> {
    await page.locator('select[name="server"]').selectOption("fx");
    await page.locator('input[name="since"]').fill("1h");
    await page.locator("#run-incident").click();
    await page.waitForURL((u) => /^\/console\/incidents\/[A-Za-z0-9_-]{22}$/.test(u.pathname), { timeout: 60_000 });
    return new URL(page.url()).pathname.split("/").at(-1)!;
  }


  async function download(page: PwPage, ext: "md" | "json"): Promise<{ name: string; text: string }> {
    const p = page as DownloadingPage;
    const [file] = await Promise.all([p.waitForEvent("download"), page.locator(`#downloads a[href$=".${ext}"]`).click()]);
    const path = await file.path();
    assert.ok(path, "the download was saved");
    return { name: file.suggestedFilename(), text: readFileSync(path, "utf8") };
  }

  it("a viewer and an approver run a report without containment; their POSTs asking for containment are 403 and change nothing", async () => {
    const before = readFileSync(s.settingsFile, "utf8");
    for (const login of ["user-victor", "user-carol"]) {
      const page = await signIn(login);
      assert.equal(await page.locator('input[name="contain"]').count(), 0, `${login}: no containment choice`);
      assert.equal(await page.locator('input[name="deny"]').count(), 0);
      assert.match(await page.locator("#no-containment").innerText(), /needs the admin role/);
      await runFromForm(page);
      assert.equal(await page.locator("#containment-status").innerText(), "report only: nothing changed");
      assert.match(await page.locator("#step-2").innerText(), /3 tool call\(s\) to 2 tool\(s\) \(1 refused\)/);

      await page.goto(`${origin}/console/incidents`);
      for (const ask of ["server=fx&contain=disable&deny=on", "server=fx&deny=on", "server=fx&contain=remove"]) {
        const res = await postFromPage(page, "/console/incidents", ask);
        assert.equal(res.status, 403, `${login}: ${ask}`);
        assert.match(res.text, /needs the admin role/);
      }
      assert.equal(readFileSync(s.settingsFile, "utf8"), before, `${login}: the settings file is unchanged`);
    }
    const refused = auditRecords(s).filter((r) => r.event === "console-incident-refused");
    assert.deepEqual(
      [...new Set(refused.map((r) => (r.principal as { subject?: string }).subject))].sort(),
      ["user-carol", "user-victor"],
    );
  });

  it("an admin runs the incident with disable + deny, walks the five steps, downloads the reports, and the server is denied", async () => {
    const page = await signIn("user-ada");
    await (page.locator('input[name="contain"][value="disable"]') as CheckableLocator).check();
    await (page.locator('input[name="deny"]') as CheckableLocator).check();
    const id = await runFromForm(page);

    assert.equal(await page.locator("#containment-status").innerText(), "contained");
    const steps = page.locator("section.incident-step");
    assert.equal(await steps.count(), 5);
    const titles: string[] = [];
    for (let i = 0; i < 5; i++) titles.push(await steps.nth(i).locator("h2").innerText());
    assert.deepEqual(titles, ["1. Contain", "2. Review", "3. Exposure", "4. Credentials", "5. Policy"]);
    assert.equal(await page.locator('nav.incident-nav a[href="#step-3"]').count(), 1, "the step navigation");
    const review = await page.locator("#step-2").innerText();
    assert.match(review, /3 tool call\(s\) to 2 tool\(s\) \(1 refused\)/);
    assert.match(review, /mcp__fx__create_issue/);
    assert.match(review, /mcp__fx__delete_repo/);
    assert.match(await page.locator("#step-1").innerText(), /Contained: disabled and added to deniedMcpServers/);

    const md = await download(page, "md");
    assert.match(md.name, /^incident-fx-\d{8}T\d{6}\.md$/);
    assert.match(md.text, /^# Incident report: fx/);
    assert.match(md.text, /`mcp__fx__create_issue`/);
    assert.match(md.text, /`mcp__fx__delete_repo`/);
    assert.match(md.text, /3 tool call\(s\) to 2 tool\(s\) \(1 refused\)/);
    assert.match(md.text, /Contained: disabled and added to deniedMcpServers/);

    const json = await download(page, "json");
    assert.match(json.name, /^incident-fx-\d{8}T\d{6}\.json$/);
    const report = JSON.parse(json.text) as IncidentReport;
    assert.equal(report.server, "fx");
    assert.equal(report.review.calls, 3);
    assert.deepEqual(
      report.review.tools.items.map((t) => [t.tool, t.calls]).sort(),
      [["mcp__fx__create_issue", 2], ["mcp__fx__delete_repo", 1]],
    );
    assert.deepEqual([report.contain.containment.action, report.contain.containment.deny, report.contain.containment.ran, report.contain.containment.ok], ["disable", true, true, true]);

    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8")) as { mcpServers: { fx: { disabled?: boolean } }; deniedMcpServers?: { serverName: string }[] };
    assert.equal(settings.mcpServers.fx.disabled, true, "the server is disabled in the settings file");
    assert.deepEqual(settings.deniedMcpServers, [{ serverName: "fx" }], "and denied");

    const recorded = auditRecords(s).filter((r) => r.event === "console-incident");
    const mine = recorded.find((r) => (r.detail as { report?: string }).report === id);
    assert.ok(mine, "the admin's run is audited");
    assert.equal((mine.principal as { subject?: string }).subject, "user-ada");
    assert.equal(mine.server, "fx");
    assert.deepEqual([(mine.detail as { containment: string }).containment, (mine.detail as { deny: boolean }).deny], ["disable", true]);

    // Any role may open and download a kept report by its link.
    const viewer = await signIn("user-victor", `/console/incidents/${id}`);
    assert.equal(await viewer.locator("#containment-status").innerText(), "contained");
  });
});
