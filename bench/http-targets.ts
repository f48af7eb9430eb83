// The HTTP fronts bench/serve.ts compares, each in front of the same stdio upstream (server-everything,
// tool `echo {message}`): how to start each on 127.0.0.1, open a 2025-era session on it, drive it with
// an SDK client and with autocannon, and read the CPU time of its processes.
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { findBenchTool } from "../scripts/bench-tools.js";
import { closedPort, EVERYTHING, ROOT, waitForExit } from "../test/e2e/harness.js";
import { childPids, procCpuUs, type Conn } from "./stdio.js";

// Node's fetch (undici) adds an abort listener to the signal it is given for every request and
// removes it when the request is garbage-collected; the SDK's HTTP client hands every request the same
// long-lived signal, so past 1500 requests between two collections Node warns of a leak that is not one.
export function quietFetchListenerWarnings(): void {
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (w.name === "MaxListenersExceededWarning" && w.message.includes("AbortSignal")) return;
    process.stderr.write(`${w.name}: ${w.message}\n`);
  });
}

export const MESSAGE = "hello";
/** server-everything's echo answers this; a response without it is not counted as a call. */
export const EXPECTED = `Echo: ${MESSAGE}`;
const LOOPBACK_PRELOAD = pathToFileURL(join(ROOT, "dist/test/fixtures/loopback-listen.js")).href;
export const LEGACY_VERSION = "2025-06-18";
export const MODERN_VERSION = "2026-07-28";
export type Era = "2025" | "2026";

/** A running front: where it listens, the process that is the front, and how to stop it. */
export interface Front {
  url: string;
  /** The front's own process (for server-everything's own HTTP mode, the server itself). */
  pid: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** Every descendant of `pid` (the upstream the front spawned, and a shell in between, if any). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of childPids(pid)) out.push(c, ...descendants(c));
  return out;
}

/** Total CPU microseconds of `pids` so far; undefined when one cannot be read. */
export function cpuOf(pids: number[]): number | undefined {
  let total = 0;
  for (const p of pids) {
    const us = procCpuUs(p);
    if (us === undefined) return undefined;
    total += us;
  }
  return total;
}

function waitForPort(port: number, ms: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`exited early (${child.signalCode ?? child.exitCode}); stderr: ${stderr().slice(-2000)}`));
      const sock = tcpConnect({ host: "127.0.0.1", port }, () => {
        sock.destroy();
        resolve();
      });
      sock.once("error", () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms; stderr: ${stderr().slice(-2000)}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Spawns a front (a node script) and waits until its port answers. Stops it with SIGTERM and then
 * SIGKILLs whatever it spawned that is still alive (its upstream), so nothing outlives the bench.
 */
export async function spawnFront(name: string, args: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<Front> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH, ...env } });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const stop = async () => {
    const spawned = descendants(child.pid!);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      try {
        await waitForExit(child.pid!, 5_000);
      } catch {
        child.kill("SIGKILL");
      }
    }
    for (const p of spawned) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  try {
    await waitForPort(port, 20_000, child, () => err);
  } catch (e) {
    await stop();
    throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
  }
  return { url: `http://127.0.0.1:${port}/mcp`, pid: child.pid!, stderr: () => err, stop };
}

/** The stdio command line of the upstream, as the fronts that take one string run it (through a shell). */
export const UPSTREAM_ARGV = [process.execPath, EVERYTHING, "stdio"];
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** server-everything in its own Streamable HTTP mode (2025 era, sessions), bound to 127.0.0.1 by the loopback preload. */
export async function startEverythingHttp(): Promise<Front> {
  const port = await closedPort();
  return spawnFront("server-everything (streamableHttp)", ["--import", LOOPBACK_PRELOAD, EVERYTHING, "streamableHttp"], port, { PORT: String(port) });
}

/** supergateway, stateful Streamable HTTP (one upstream process per session), logging off. Binds every interface by itself: the preload keeps it on 127.0.0.1. */
export async function startSupergateway(): Promise<Front> {
  const sg = findBenchTool("supergateway");
  if (!sg.ok) throw new Error(sg.why);
  const port = await closedPort();
  const args = ["--import", LOOPBACK_PRELOAD, sg.binary, "--stdio", UPSTREAM_ARGV.map(shellQuote).join(" "), "--outputTransport", "streamableHttp", "--stateful", "--port", String(port), "--logLevel", "none"];
  return spawnFront("supergateway", args, port);
}

/** mcp-proxy, Streamable HTTP only (its default stateful sessions and event store), on 127.0.0.1. */
export async function startMcpProxy(): Promise<Front> {
  const mp = findBenchTool("mcpProxy");
  if (!mp.ok) throw new Error(mp.why);
  const port = await closedPort();
  return spawnFront("mcp-proxy", [mp.binary, "--host", "127.0.0.1", "--port", String(port), "--server", "stream", "--", ...UPSTREAM_ARGV], port);
}

/** The plain HTTP relay (bench/http-relay.ts): the floor of any HTTP front in Node.js, in front of the same upstream. */
export async function startHttpRelay(): Promise<Front> {
  const port = await closedPort();
  return spawnFront("http relay", [join(ROOT, "dist/bench/http-relay.js"), String(port), ...UPSTREAM_ARGV], port);
}

// ---- one HTTP target: a front, the headers a call needs, and how to drive it -----------------

export interface HttpTarget {
  name: string;
  era: Era;
  url: string;
  frontPid: number;
  /** The tool's name as this front lists it. */
  tool: string;
  /** Headers every call carries: Authorization for serve, Mcp-Session-Id for a 2025-era session. */
  headers: Record<string, string>;
  /** The processes behind the front (read after the warm-up, when per-caller upstreams exist). */
  upstreamPids(): number[];
}

const ACCEPT = "application/json, text/event-stream";

/** Opens a 2025-era session with raw HTTP (initialize, then notifications/initialized); the headers later calls carry. */
export async function openSession(url: string, auth: Record<string, string>): Promise<Record<string, string>> {
  const base = { "content-type": "application/json", accept: ACCEPT, ...auth };
  const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: { name: "warden-bench-autocannon", version: "1.0.0" } } };
  const res = await fetch(url, { method: "POST", headers: base, body: JSON.stringify(init), signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  const session = res.headers.get("mcp-session-id");
  if (res.status !== 200 || !session) throw new Error(`initialize at ${url} answered ${res.status} without a session (${text.slice(0, 300)})`);
  const version = /"protocolVersion":"([^"]+)"/.exec(text)?.[1] ?? LEGACY_VERSION;
  const headers = { ...auth, "mcp-session-id": session, "mcp-protocol-version": version };
  const note = await fetch(url, { method: "POST", headers: { ...base, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), signal: AbortSignal.timeout(20_000) });
  await note.text();
  if (note.status >= 300) throw new Error(`notifications/initialized at ${url} answered ${note.status}`);
  return headers;
}

/** The prepared tools/call autocannon posts; `[<id>]` becomes a unique id per request (ids must not collide inside one session). */
export function callRequest(t: HttpTarget): { headers: Record<string, string>; body: string } {
  const params: Record<string, unknown> = { name: t.tool, arguments: { message: MESSAGE } };
  if (t.era === "2026") {
    params._meta = { "io.modelcontextprotocol/protocolVersion": MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "warden-bench-autocannon", version: "1.0.0" } };
  }
  const headers: Record<string, string> = { "content-type": "application/json", accept: ACCEPT, ...t.headers };
  if (t.era === "2026") Object.assign(headers, { "mcp-protocol-version": MODERN_VERSION, "mcp-method": "tools/call", "mcp-name": t.tool });
  return { headers, body: JSON.stringify({ jsonrpc: "2.0", id: "[<id>]", method: "tools/call", params }) };
}

// ---- autocannon -----------------------------------------------------------------------------

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  "2xx": number;
  latency: { p50: number; p99: number; average: number };
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
let autocannon: Autocannon | undefined;

function loadAutocannon(): Autocannon {
  if (autocannon) return autocannon;
  const found = findBenchTool("autocannon");
  if (!found.ok) throw new Error(found.why);
  autocannon = createRequire(import.meta.url)(found.binary) as Autocannon;
  return autocannon;
}

export interface LoadSample {
  connections: number;
  seconds: number;
  /** Responses that were 2xx and carried the echo. */
  calls: number;
  perSecond: number;
  /** autocannon's latency under this load, in ms. */
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed: errors, timeouts, non-2xx, or a body without the echo. */
  failed: number;
  /** CPU µs per call of the front process and of the processes behind it. */
  cpuFrontUs?: number;
  cpuUpstreamUs?: number;
}

/** `connections` keep-alive connections, each with one call outstanding, for `seconds`. */
export async function load(t: HttpTarget, connections: number, seconds: number): Promise<LoadSample> {
  const ac = loadAutocannon();
  const { headers, body } = callRequest(t);
  const upstream = t.upstreamPids();
  const before = [cpuOf([t.frontPid]), cpuOf(upstream)];
  const r = await ac({ url: t.url, method: "POST", headers, body, idReplacement: true, connections, pipelining: 1, duration: seconds, timeout: 10, verifyBody: (b: string) => b.includes(EXPECTED) });
  const after = [cpuOf([t.frontPid]), cpuOf(upstream)];
  const calls = r["2xx"] - r.mismatches;
  const per = (i: number) => (before[i] === undefined || after[i] === undefined || calls === 0 ? undefined : (after[i]! - before[i]!) / calls);
  const cpuFrontUs = per(0);
  const cpuUpstreamUs = upstream.length ? per(1) : undefined;
  return {
    connections,
    seconds: r.duration,
    calls,
    perSecond: calls / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    failed: r.errors + r.timeouts + r.non2xx + r.mismatches,
    ...(cpuFrontUs !== undefined ? { cpuFrontUs } : {}),
    ...(cpuUpstreamUs !== undefined ? { cpuUpstreamUs } : {}),
  };
}

/**
 * `n` calls one after another on one keep-alive connection with node:http, each timed (µs): the
 * front's latency without an MCP client library's own cost.
 */
export async function rawSequential(t: HttpTarget, n: number): Promise<number[]> {
  const { headers, body } = callRequest(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let id = 0;
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const text = body.replace("[<id>]", `raw-${id++}`);
      const t0 = process.hrtime.bigint();
      const req = httpRequest(t.url, { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(text) } }, (res) => {
        let answer = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (answer += c));
        res.on("end", () => (answer.includes(EXPECTED) ? resolve(Number(process.hrtime.bigint() - t0) / 1000) : reject(new Error(`${t.name}: HTTP ${res.statusCode} ${answer.slice(0, 300)}`))));
      });
      req.setTimeout(10_000, () => req.destroy(new Error(`${t.name}: no answer within 10 s`)));
      req.on("error", reject);
      req.end(text);
    });
  try {
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await post());
    return times;
  } finally {
    agent.destroy();
  }
}

// ---- SDK clients ----------------------------------------------------------------------------

function echoCall(client: Client, tool: string, label: string): () => Promise<void> {
  const params = { name: tool, arguments: { message: MESSAGE } };
  return async () => {
    const r = await client.callTool(params);
    const first = (r.content as { type: string; text?: string }[] | undefined)?.[0];
    if (r.isError || first?.text !== EXPECTED) throw new Error(`${label}: unexpected tool result ${JSON.stringify(r).slice(0, 300)}`);
  };
}

/** An SDK client over stdio straight to server-everything: the floor every front forwards to. */
export async function openStdioFloor(label: string): Promise<Conn> {
  const transport = new StdioClientTransport({ command: UPSTREAM_ARGV[0]!, args: UPSTREAM_ARGV.slice(1), env: { PATH: process.env.PATH ?? "" }, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 65_536) stderr += d.toString();
  });
  const client = new Client({ name: "warden-bench", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport, { timeout: 30_000 });
  const pid = transport.pid;
  if (pid === null) throw new Error(`${label}: no child process after connect`);
  return { label, route: "direct", client, pid, call: echoCall(client, "echo", label), servicePids: () => [pid], stderr: () => stderr, close: () => client.close() };
}

/** An SDK client over Streamable HTTP to a target (its own session in the 2025 era; stateless in 2026-07-28). */
export async function openHttpConn(t: HttpTarget, auth: Record<string, string>): Promise<Conn> {
  const transport = new StreamableHTTPClientTransport(new URL(t.url), Object.keys(auth).length ? { requestInit: { headers: auth } } : {});
  const client = new Client({ name: "warden-bench", version: "1.0.0" }, t.era === "2026" ? { versionNegotiation: { mode: { pin: MODERN_VERSION } } } : {});
  await client.connect(transport, { timeout: 30_000 });
  return {
    label: t.name,
    route: "gateway",
    client,
    pid: t.frontPid,
    call: echoCall(client, t.tool, t.name),
    servicePids: () => [t.frontPid, ...t.upstreamPids()],
    stderr: () => "",
    close: () => client.close(),
  };
}
