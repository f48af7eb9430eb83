// What the console's browser tests share: a real `mcp-warden serve` with the console on, the real
// OpenID provider (oidc.ts) whose accounts sign in through its own login form, and Chromium
// (Playwright). Roles: group secops is admin, approvers approve, auditors view (the fixture's
// accounts: user-ada, user-carol, user-victor, ...).
import assert from "node:assert/strict";
import { closedPort, scratch, type Scratch } from "./harness.js";
import { oidcUnavailable, startOidcIssuer, type OidcIssuer } from "./oidc.js";
import { browserUnavailable, launchChromium, type PwBrowser, type PwContext, type PwPage } from "./playwright.js";
import { startServe, type Serving } from "./serve-harness.js";

export const CONSOLE_ROLES = { admin: ["group:secops"], approver: ["group:approvers"], viewer: ["group:auditors"] };

/** `describe`'s skip for a console browser test: in CI the tools are installed by .ci/run, so missing there fails. */
export function consoleSkip(what: string): string | false {
  const unavailable = oidcUnavailable() ?? browserUnavailable();
  const skip = unavailable === undefined || process.env.CI ? false : `${what} cannot run here: ${unavailable}`;
  if (skip) console.log(`skipped: ${skip}`);
  return skip;
}

export interface ConsoleRig {
  idp: OidcIssuer;
  s: Scratch;
  srv: Serving;
  browser: PwBrowser;
  /** http://127.0.0.1:PORT, where serve and its console listen. */
  origin: string;
  /** A fresh browser profile signed in as `login` through the provider's login form, landed on `next`. */
  signIn(login: string, next?: string, setUp?: (page: PwPage) => void): Promise<{ context: PwContext; page: PwPage }>;
  stop(): Promise<void>;
}

/**
 * Starts the provider, then serve with `settings(issuer)` plus the console (remote.listen,
 * remote.auth.issuer and remote.console with CONSOLE_ROLES, unless `settings` gives its own).
 */
export async function startConsoleRig(settings: (issuer: string) => Record<string, unknown>): Promise<ConsoleRig> {
  const port = await closedPort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startOidcIssuer(0, { consoleRedirectUri: `${origin}/console/callback` });
  const given = settings(idp.issuer);
  const remote = (given.remote ?? {}) as Record<string, unknown>;
  const s = scratch({
    ...given,
    remote: {
      listen: `127.0.0.1:${port}`,
      ...remote,
      auth: { issuer: idp.issuer, ...(remote.auth as object) },
      console: { clientId: "mcp-warden-console", roles: CONSOLE_ROLES, ...(remote.console as object) },
    },
  });
  const contexts: PwContext[] = [];
  let srv: Serving | undefined;
  let browser: PwBrowser | undefined;
  try {
    srv = await startServe(s);
    browser = await launchChromium();
  } catch (e) {
    await srv?.stop().catch(() => undefined);
    await idp.stop();
    s.cleanup();
    throw e;
  }
  const b = browser;
  return {
    idp,
    s,
    srv,
    browser: b,
    origin,
    async signIn(login, next = "/console", setUp) {
      const context = await b.newContext();
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      setUp?.(page);
      await page.goto(`${origin}${next}`);
      assert.ok(page.url().startsWith(idp.issuer), `expected the provider's login page, got ${page.url()}`);
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill("any password");
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.origin === origin && u.pathname === next.split("?")[0]);
      return { context, page };
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await b.close().catch(() => undefined);
      await srv!.stop().catch(() => undefined);
      await idp.stop();
      s.cleanup();
    },
  };
}

/** A POST from the page's own session (its CSRF token when `withToken`): what a crafted form would send. */
export function postFromPage(page: PwPage, path: string, body: string, withToken = true): Promise<{ status: number; text: string }> {
  return page.evaluate(
    async (a: { path: string; body: string; withToken: boolean }) => {
      // Runs in the page (where `document` exists; this project compiles without the DOM types).
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document;
      const csrf = doc.querySelector('meta[name="csrf-token"]')!.getAttribute("content")!;
      const res = await fetch(a.path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: a.withToken ? `csrf=${encodeURIComponent(csrf)}${a.body ? `&${a.body}` : ""}` : a.body });
      return { status: res.status, text: await res.text() };
    },
    { path, body, withToken },
  );
}
