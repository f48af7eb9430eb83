// The docs' screenshots of the web console, made from a scripted session: a real `serve` with the
// fixture server and a real OpenID provider (the test fixture), some traffic from a real MCP client
// (allowed, denied, and one call held for approval), then real Chromium (Playwright, from the test
// tools cache) signed in as an admin, one screenshot per page into docs/console/.
//
//   node dist/scripts/test-tools.js install   (once: Node 22 for the provider, Playwright)
//   npm run build && node dist/scripts/console-screenshots.js [--out DIR]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { closedPort, FIXTURE, ROOT, scratch } from "../test/e2e/harness.js";
import { oidcUnavailable, startOidcIssuer } from "../test/e2e/oidc.js";
import { browserUnavailable, launchChromium, type PwPage } from "../test/e2e/playwright.js";
import { httpClient, startServe } from "../test/e2e/serve-harness.js";

type ShotPage = PwPage & { screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>; setViewportSize(s: { width: number; height: number }): Promise<void> };

const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const OUT = outAt >= 0 && args[outAt + 1] ? args[outAt + 1]! : join(ROOT, "docs/console");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const unavailable = oidcUnavailable() ?? browserUnavailable();
  if (unavailable) {
    process.stderr.write(`console-screenshots: ${unavailable}; run \`node dist/scripts/test-tools.js install\` first\n`);
    return 1;
  }
  mkdirSync(OUT, { recursive: true });
  const port = await closedPort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startOidcIssuer(0, { consoleRedirectUri: `${origin}/console/callback` });
  const s = scratch({
    mcpServers: { github: { command: process.execPath, args: [FIXTURE] }, notes: { command: process.execPath, args: [FIXTURE] } },
    permissions: { allow: ["mcp__github__create_issue", "mcp__notes__*"], ask: ["mcp__github__echo"], deny: ["mcp__github__delete_repo"] },
    approvals: { page: false, holdMs: 120_000 },
    integrity: { pins: false },
    remote: {
      listen: `127.0.0.1:${port}`,
      auth: { issuer: idp.issuer },
      console: { clientId: "mcp-warden-console", roles: { admin: ["group:secops"], approver: ["group:approvers"], viewer: ["group:auditors"] } },
    },
  });
  const srv = await startServe(s);
  const browser = await launchChromium();
  const client = await httpClient(srv.url, await idp.token("client-a", srv.url), "legacy");
  try {
    for (let i = 0; i < 12; i++) await client.client.callTool({ name: "github__create_issue", arguments: { title: `issue ${i}` } });
    for (let i = 0; i < 5; i++) await client.client.callTool({ name: "notes__echo", arguments: { text: `note ${i}` } });
    for (let i = 0; i < 3; i++) await client.client.callTool({ name: "github__delete_repo", arguments: { repo: "prod" } }).catch(() => undefined);
    // Held until the script ends (then denied by the gateway's shutdown).
    const held = client.client.callTool({ name: "github__echo", arguments: { text: "deploy the release branch" } }).catch(() => undefined);

    const context = await browser.newContext();
    const page = (await context.newPage()) as ShotPage;
    page.setDefaultTimeout(20_000);
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${origin}/console`);
    await page.locator('input[name="login"]').fill("user-ada");
    await page.locator('input[name="password"]').fill("any password");
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.origin === origin && u.pathname === "/console");

    const shot = async (name: string, path: string) => {
      const res = await page.goto(`${origin}${path}`);
      if (!res || res.status() !== 200) throw new Error(`${path} answered ${res?.status() ?? "nothing"}`);
      await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
      process.stdout.write(`wrote ${join(OUT, `${name}.png`)}\n`);
    };
    // The held call reaches the approvals list within moments.
    for (let i = 0; i < 40; i++) {
      await page.goto(`${origin}/console/approvals`);
      if ((await page.locator("section.question").count()) > 0) break;
      await sleep(250);
    }
    await shot("overview", "/console");
    await shot("approvals", "/console/approvals");
    await shot("activity", "/console/activity?decision=deny");
    await page.goto(`${origin}/console/activity?decision=deny`);
    const ref = await page.locator("#activity-rows tbody tr a").first().getAttribute("href");
    if (!ref) throw new Error("no denial to open");
    await shot("record", ref);
    await shot("servers", "/console/servers");
    await shot("server", "/console/servers/github");
    await shot("policy", `/console/policy?tool=${encodeURIComponent("mcp__github__delete_repo")}&input=${encodeURIComponent('{"repo":"prod"}')}`);
    await shot("incidents", "/console/incidents");
    // A report without containment: the form as a person fills it in.
    await page.locator("#incident-server").selectOption("github");
    await page.locator('input[name="since"]').fill("1h");
    await page.locator('#run-incident').click();
    await page.waitForURL((u) => /^\/console\/incidents\/[A-Za-z0-9_-]+$/.test(u.pathname));
    await page.screenshot({ path: join(OUT, "incident-report.png"), fullPage: true });
    process.stdout.write(`wrote ${join(OUT, "incident-report.png")}\n`);
    void held;
    await context.close();
    return 0;
  } finally {
    await client.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
    await srv.stop().catch(() => undefined);
    await idp.stop();
    s.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`console-screenshots: ${e.message}\n`);
    process.exit(1);
  },
);
