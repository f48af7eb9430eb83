// Drives the real `mcp-warden` process with a real MCP client from the official SDK, in a
// scratch HOME with its own settings, state and audit directories.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = join(ROOT, "dist/src/cli.cjs");
export const FIXTURE = join(ROOT, "dist/test/fixtures/fixture-server.js");
export const HOSTILE = join(ROOT, "dist/test/fixtures/hostile-server.js");
const pkg = (name: string) => join(ROOT, "node_modules/@modelcontextprotocol", name, "dist/index.js");
export const EVERYTHING = pkg("server-everything");
export const FILESYSTEM = pkg("server-filesystem");
export const MEMORY = pkg("server-memory");

export interface Scratch {
  dir: string;
  home: string;
  project: string;
  env: NodeJS.ProcessEnv;
  settingsFile: string;
  auditDir: string;
  logDir: string;
  cleanup(): void;
}

/** A scratch machine: HOME, XDG dirs, an empty managed dir, a project, and one settings file. */
export function scratch(settings: Record<string, unknown>): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "warden-e2e-"));
  const home = join(dir, "home");
  const project = join(home, "project");
  mkdirSync(project, { recursive: true });
  mkdirSync(join(dir, "managed"), { recursive: true });
  const auditDir = join(dir, "audit");
  const logDir = join(dir, "logs");
  const merged = {
    ...settings,
    audit: { dir: auditDir, fsyncIntervalMs: 50, ...(settings.audit as object) },
    gateway: { logDir, ...(settings.gateway as object) },
    // No approval page unless a test asks for one: an `ask` then ends at once (no channel) instead
    // of waiting out the approval timeout. test/e2e/approvals.test.ts turns the page on.
    approvals: { page: false, ...(settings.approvals as object) },
  };
  const settingsFile = join(dir, "settings.json");
  writeFileSync(settingsFile, JSON.stringify(merged, null, 2));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_STATE_HOME: join(home, ".local/state"),
    MCP_WARDEN_MANAGED_DIR: join(dir, "managed"),
  };
  return { dir, home, project, env, settingsFile, auditDir, logDir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Connected {
  client: Client;
  transport: StdioClientTransport;
  stderr(): string;
  close(): Promise<void>;
}

/**
 * Starts `mcp-warden run` and connects an SDK client to it, in the legacy or the 2026-07-28 era.
 * `wrap`: a command line the gateway runs under (e.g. bwrap giving it its own /etc/hosts).
 */
export async function connect(
  s: Scratch,
  opts: {
    era?: "legacy" | "modern";
    elicitation?: (params: Record<string, unknown>) => Record<string, unknown>;
    /** Declares sampling and answers sampling/createMessage with this. */
    sampling?: (params: Record<string, unknown>) => Record<string, unknown>;
    /** Declares roots and answers roots/list with these. */
    roots?: { uri: string; name?: string }[];
    /** Every notifications/message the client receives. */
    onLog?: (params: Record<string, unknown>) => void;
    wrap?: string[];
  } = {},
): Promise<Connected> {
  const command = [...(opts.wrap ?? []), process.execPath, CLI, "run", "--settings", s.settingsFile];
  const transport = new StdioClientTransport({
    command: command[0] as string,
    args: command.slice(1),
    env: s.env as Record<string, string>,
    cwd: s.project,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client(
    { name: "e2e-client", version: "1.0.0" },
    {
      capabilities: {
        ...(opts.elicitation ? { elicitation: { form: {} } } : {}),
        ...(opts.sampling ? { sampling: {} } : {}),
        ...(opts.roots ? { roots: { listChanged: true } } : {}),
      },
      ...(opts.era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {}),
    },
  );
  if (opts.elicitation) {
    const answer = opts.elicitation;
    client.setRequestHandler("elicitation/create", async (req) => answer(req.params as Record<string, unknown>) as never);
  }
  if (opts.sampling) {
    const answer = opts.sampling;
    client.setRequestHandler("sampling/createMessage", async (req) => answer(req.params as Record<string, unknown>) as never);
  }
  if (opts.roots) {
    const roots = opts.roots;
    client.setRequestHandler("roots/list", async () => ({ roots }) as never);
  }
  if (opts.onLog) {
    const onLog = opts.onLog;
    client.setNotificationHandler("notifications/message", (n) => onLog(n.params as Record<string, unknown>));
  }
  await client.connect(transport, { timeout: 30_000 });
  return {
    client,
    transport,
    stderr: () => stderr,
    close: async () => {
      await client.close();
    },
  };
}

/** Every audit record written so far, in order. */
export function auditRecords(s: Scratch): Record<string, unknown>[] {
  let files: string[] = [];
  try {
    files = readdirSync(s.auditDir).filter((f) => f.endsWith(".jsonl")).sort();
  } catch {
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(join(s.auditDir, f), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

/** Runs the CLI to completion. */
export function cli(s: Scratch, args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: s.project, env: s.env, input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Resolves when `pid` is gone, or rejects after `ms`. */
export async function waitForExit(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} still alive after ${ms} ms`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw line-level peer, for what an SDK client would never send (junk, huge lines). */
export function rawGateway(s: Scratch) {
  const child = spawn(process.execPath, [CLI, "run", "--settings", s.settingsFile], { cwd: s.project, env: s.env, stdio: ["pipe", "pipe", "pipe"] });
  let buffer = "";
  const messages: Record<string, unknown>[] = [];
  child.stdout.on("data", (d: Buffer) => {
    buffer += d.toString();
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) messages.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return {
    child,
    messages,
    stderr: () => stderr,
    send: (line: string) => child.stdin.write(line + "\n"),
    reply: (id: unknown) => waitFor(`reply to ${JSON.stringify(id)}`, () => messages.find((m) => m.id === id), 20_000),
  };
}

export const INIT = (id: number) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });

/** Runs the real CLI in the scratch project; never throws for a non-zero exit. */
export function wardenCli(s: Scratch, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? s.project, env: s.env, encoding: "utf8", timeout: opts.timeoutMs ?? 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export interface PendingQuestion {
  id: string;
  kind: string;
  server: string;
  tool?: string;
  method?: string;
  reason: string;
  diff?: string;
  arguments?: Record<string, unknown>;
}

/** Polls `mcp-warden approvals list --json` (bounded) until a question matching `match` is pending. */
export async function waitForQuestion(s: Scratch, match: (q: PendingQuestion) => boolean, ms = 20_000): Promise<PendingQuestion> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = wardenCli(s, ["approvals", "list", "--json"]);
    const found = r.code === 0 ? (JSON.parse(r.stdout) as { approvals: PendingQuestion[] }).approvals.find(match) : undefined;
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no such question within ${ms} ms: ${r.stdout}${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Merges `patch` into the scratch settings file (top-level fields replaced whole). */
export function updateSettings(s: Scratch, patch: Record<string, unknown>): void {
  const settings = JSON.parse(readFileSync(s.settingsFile, "utf8")) as Record<string, unknown>;
  writeFileSync(s.settingsFile, JSON.stringify({ ...settings, ...patch }));
}

/** The CLI, asynchronously (the test's own client keeps being served meanwhile); never throws for a non-zero exit. */
export async function wardenAsync(s: Scratch, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: s.project, env: s.env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * A one-time link into run's local console from the real `mcp-warden console` (bounded wait until
 * the page server runs): what a person copies from their terminal.
 */
export async function consoleLink(s: Scratch): Promise<string> {
  let r = await wardenAsync(s, ["console"]);
  for (let i = 0; i < 50 && r.code !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    r = await wardenAsync(s, ["console"]);
  }
  if (r.code !== 0) throw new Error(`mcp-warden console printed no link: ${r.stdout}${r.stderr}`);
  return r.stdout.trim().split("\n")[0]!.split("  ")[0]!;
}

/** A console session over plain HTTP: its origin and cookie. */
export interface ConsoleSession {
  origin: string;
  cookie: string;
}

/** Opens run's local console with `link` (a fresh one from `mcp-warden console` when not given). */
export async function openConsole(s: Scratch, link?: string): Promise<ConsoleSession> {
  const url = link ?? (await consoleLink(s));
  const entered = await fetch(url);
  const cookie = entered.headers.getSetCookie()[0]?.split(";")[0];
  if (entered.status !== 200 || cookie === undefined) throw new Error(`the console link did not sign in: HTTP ${entered.status}`);
  return { origin: new URL(url).origin, cookie };
}

/** The console's Approvals page as the session sees it (HTML). */
export async function consoleApprovals(session: ConsoleSession): Promise<string> {
  const r = await fetch(`${session.origin}/console/approvals`, { headers: { cookie: session.cookie } });
  if (r.status !== 200) throw new Error(`the console's Approvals page answered HTTP ${r.status}`);
  return r.text();
}

/**
 * Answers a question as a person does in run's local console, over plain HTTP: signed in with a
 * one-time link from the real `mcp-warden console` (or in `session`), then the Approvals page's form
 * with its CSRF token. Returns the answer's response (303 when answered).
 */
export async function answerInConsole(s: Scratch, id: string, answer: string, session?: ConsoleSession): Promise<Response> {
  const signedIn = session ?? (await openConsole(s));
  const csrf = /name="csrf" value="([^"]+)"/.exec(await consoleApprovals(signedIn))?.[1];
  if (csrf === undefined) throw new Error("the console's Approvals page has no form");
  return fetch(`${signedIn.origin}/console/approvals/${encodeURIComponent(id)}`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: signedIn.cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, answer }),
  });
}

/** A port on 127.0.0.1 that nothing listens on: opened on port 0, noted, closed again. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A folder of the workplace's shared material (`../shared/<sub>`: the seeds' configuration examples,
 * the red-team cases), or why there is none: tests of it then skip, saying where they looked.
 */
export function sharedDir(sub: string): { dir: string } | { skip: string } {
  // Beside the checkout, else where this workplace keeps it (a clone elsewhere on the same machine).
  const candidates = [join(ROOT, "..", "shared", sub), join("/work/shared", sub)];
  const dir = candidates.find((d) => existsSync(d));
  return dir ? { dir } : { skip: `no shared folder at ${candidates.join(" or ")}` };
}
