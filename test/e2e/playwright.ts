// Playwright (playwright-core, pinned in scripts/test-tools.ts, installed into .cache/test-tools: not
// a dependency of the package) driving Debian's chromium-headless-shell. Only the parts of its API
// the console tests use are typed here, since its types are not installed with the project.
import { existsSync } from "node:fs";
import { findPlaywright } from "../../scripts/test-tools.js";

export const CHROMIUM = process.env.MCP_WARDEN_CHROMIUM || "/usr/bin/chromium-headless-shell";

export interface PwResponse {
  status(): number;
  url(): string;
  headers(): Record<string, string>;
  text(): Promise<string>;
}
export interface PwLocator {
  click(): Promise<void>;
  fill(value: string): Promise<void>;
  count(): Promise<number>;
  textContent(): Promise<string | null>;
  innerText(): Promise<string>;
  selectOption(value: string): Promise<unknown>;
  locator(selector: string): PwLocator;
  first(): PwLocator;
  nth(index: number): PwLocator;
  getAttribute(name: string): Promise<string | null>;
}
export interface PwPage {
  goto(url: string, opts?: { waitUntil?: "load" }): Promise<PwResponse | null>;
  url(): string;
  locator(selector: string): PwLocator;
  waitForURL(url: string | RegExp | ((u: URL) => boolean), opts?: { timeout?: number }): Promise<void>;
  evaluate<T, A>(fn: (arg: A) => T | Promise<T>, arg: A): Promise<T>;
  on(event: "dialog", fn: (d: { message(): string; dismiss(): Promise<void> }) => void): void;
  on(event: "pageerror", fn: (e: Error) => void): void;
  setDefaultTimeout(ms: number): void;
  content(): Promise<string>;
}
export interface PwContext {
  newPage(): Promise<PwPage>;
  request: { get(url: string, opts?: { maxRedirects?: number }): Promise<PwResponse> };
  cookies(): Promise<{ name: string; value: string; domain: string; path: string }[]>;
  close(): Promise<void>;
}
export interface PwBrowser {
  newContext(): Promise<PwContext>;
  close(): Promise<void>;
}

/** Why the browser cannot run here, or undefined when it can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no Chromium headless shell at ${CHROMIUM} (Debian: apt install chromium-headless-shell)`;
  const pw = findPlaywright();
  return pw.ok ? undefined : pw.why;
}

export async function launchChromium(): Promise<PwBrowser> {
  const pw = findPlaywright();
  if (!pw.ok) throw new Error(pw.why);
  const mod = (await import(pw.binary)) as { chromium?: unknown; default?: { chromium: unknown } };
  const chromium = (mod.chromium ?? mod.default!.chromium) as { launch(o: Record<string, unknown>): Promise<PwBrowser> };
  // Chromium refuses to start its sandbox as root (as in CI containers), so only there it runs
  // without one; it loads only our own loopback pages and the test's identity provider.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
}
