// Runs the real `mcp-warden serve` process and connects real SDK clients to it over Streamable HTTP,
// in either protocol era. Also the HTTP upstream fixture shared with the remote-upstream tests.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { CLI, ROOT, type Scratch, waitForExit } from "./harness.js";

export const HTTP_FIXTURE = join(ROOT, "dist/test/fixtures/http-fixture-server.js");

export interface HttpFixture {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a node process and resolves once `ready` matches what it printed on `watch` (bounded by
 * `timeoutMs`); an early exit or the timeout rejects with its stderr. `stop` sends SIGTERM, then
 * SIGKILL after 5 s.
 */
export function spawnUntilReady(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; watch: "stdout" | "stderr"; ready: RegExp; what: string; timeoutMs?: number; quietStdout?: boolean },
): Promise<{ child: ChildProcessWithoutNullStreams; match: RegExpExecArray; stderr(): string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, args, { stdio: ["pipe", opts.quietStdout ? "ignore" : "pipe", "pipe"], env: opts.env }) as ChildProcessWithoutNullStreams;
  let stderr = "";
  let stdout = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    try {
      await waitForExit(child.pid!, 5_000);
    } catch {
      child.kill("SIGKILL");
    }
  };
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      void stop();
      reject(new Error(`${opts.what} did not report ready within ${timeoutMs / 1000} s; stderr: ${stderr}`));
    }, timeoutMs);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${opts.what} exited early (${signal ?? code}); stderr: ${stderr}`));
    };
    child.once("exit", early);
    const check = (text: string) => {
      const match = settled ? null : opts.ready.exec(text);
      if (!match) return;
      settled = true;
      clearTimeout(timer);
      child.off("exit", early);
      resolve({ child, match, stderr: () => stderr, stop });
    };
    // Both kept bounded: a long-lived process must not grow them without end.
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-50_000);
      if (opts.watch === "stderr") check(stderr);
    });
    if (opts.watch === "stdout")
      child.stdout.on("data", (d: Buffer) => {
        stdout = (stdout + d.toString()).slice(-50_000);
        check(stdout);
      });
    // Unread output would fill the pipe and stall the process.
    else child.stdout?.resume();
  });
}

/** Spawns the HTTP fixture and resolves once it prints `listening <port>` (bounded). */
export async function startHttpFixture(script = HTTP_FIXTURE): Promise<HttpFixture> {
  const r = await spawnUntilReady([script], { env: { PATH: process.env.PATH }, watch: "stdout", ready: /^listening (\d+)$/m, what: "the HTTP fixture" });
  return { child: r.child, port: Number(r.match[1]), stderr: r.stderr, stop: r.stop };
}

export interface Serving {
  child: ChildProcessWithoutNullStreams;
  /** The MCP endpoint, http://127.0.0.1:<port>/mcp. */
  url: string;
  stderr(): string;
  /** SIGTERM, then waits (bounded) for the exit; the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `mcp-warden serve --settings <scratch settings>` and waits for its "serving MCP at" line. */
/** `nodeArgs`: flags for node itself (the benchmark's --cpu-prof, which V8 refuses in NODE_OPTIONS). */
export function startServe(s: Scratch, extra: string[] = [], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<Serving> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, "serve", "--settings", s.settingsFile, ...extra], {
    cwd: s.project,
    env: { ...s.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exit, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 15_000)))]);
    clearTimeout(timer);
    if (code === "timeout") {
      child.kill("SIGKILL");
      throw new Error(`serve did not stop within 15 s of SIGTERM; stderr: ${stderr}`);
    }
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().catch(() => undefined);
      reject(new Error(`serve did not report its URL within 20 s; stderr: ${stderr}`));
    }, 20_000);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`serve exited early (${code}); stderr: ${stderr}`));
    };
    child.once("exit", early);
    child.stderr.on("data", (d: Buffer) => {
      // Bounded: a long benchmark run must not grow this without end.
      stderr = (stderr + d.toString()).slice(-50_000);
      const m = /serving MCP at (\S+)/.exec(stderr);
      if (!m) return;
      clearTimeout(timer);
      child.off("exit", early);
      resolve({ child, url: m[1]!, stderr: () => stderr, stop });
    });
  });
}

/** An SDK client over Streamable HTTP with a bearer token, in the 2025 (legacy) or 2026-07-28 era. */
export async function httpClient(url: string, token: string | undefined, era: "legacy" | "modern"): Promise<{ client: Client; transport: StreamableHTTPClientTransport; close(): Promise<void> }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  const client = new Client({ name: `serve-e2e-${era}`, version: "1.0.0" }, era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {});
  await client.connect(transport, { timeout: 20_000 });
  return { client, transport, close: () => client.close() };
}

/** A raw JSON-RPC POST to the endpoint, with the headers a 2025-06-18 client sends. */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
