// Benchmark of `mcp-warden serve` against the other ways to put a stdio MCP server on HTTP, all in
// front of the same upstream (server-everything over stdio, tool `echo`), in one run: the upstream
// over stdio directly (the floor), server-everything's own Streamable HTTP mode, serve (both eras),
// supergateway and mcp-proxy. Per target: sequential p50/p99 with an SDK client, calls/s with an SDK
// client at 16 in flight, calls/s with autocannon at 16 and 256 connections (the same prepared
// tools/call for every HTTP target), and the CPU per call of the front and of what runs behind it.
// Then the cost of token verification (bench/token-cost.ts), and, when a target is missed, a CPU
// profile of serve under load.
//
//   node dist/bench/serve.js [--quick] [--write]
// prints the numbers and the docs section; --write also puts the section into docs/PERFORMANCE.md in
// place of the one there (the rest of the document, from the last `npm run bench`, is kept).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH_INSTALL_HINT, findBenchTool, BENCH_TOOLS } from "../scripts/bench-tools.js";
import { summarizeProfile, profileFileFor, type ProfileSummary } from "./cpu-profile.js";
import { descendants, load, openHttpConn, openSession, openStdioFloor, startEverythingHttp, startMcpProxy, startSupergateway, type Era, type Front, type HttpTarget, type LoadSample } from "./http-targets.js";
import { SERVE_TOOL, startBenchServe } from "./serve-launch.js";
import { startStdioServer } from "./stdio-load.js";
import { sequential, summarize, throughput, type Conn } from "./stdio.js";
import { ROOT } from "../test/e2e/harness.js";
import { runTokenCost, tokenSection, type TokenCostResult } from "./token-cost.js";
import { serveSection } from "./serve-report.js";

export interface ServeBenchConfig {
  quick: boolean;
  seqWarm: number;
  seqCalls: number;
  sdkCalls: number;
  warmSeconds: number;
  loadSeconds: number;
  profileSeconds: number;
}

export function serveBenchConfig(quick: boolean): ServeBenchConfig {
  return quick
    ? { quick, seqWarm: 30, seqCalls: 100, sdkCalls: 200, warmSeconds: 0.5, loadSeconds: 1, profileSeconds: 1 }
    : { quick, seqWarm: 200, seqCalls: 600, sdkCalls: 1500, warmSeconds: 1.5, loadSeconds: 4, profileSeconds: 4 };
}

export type Role = "floor" | "serve" | "other";

export interface TargetResult {
  name: string;
  /** The protocol era the client side speaks. */
  era: string;
  role: Role;
  /** SDK client, sequential, µs. */
  seq?: { p50: number; p99: number; mean: number };
  /** SDK client, 16 in flight, calls/s. */
  sdk16?: number;
  load16?: LoadSample;
  load256?: LoadSample;
  skipped?: string;
}

export interface ServeBenchResult {
  config: ServeBenchConfig;
  targets: TargetResult[];
  /** Tools not installed (with how to install them). */
  missing: string[];
  profile?: ProfileSummary & { seconds: number; calls: number };
  tokens?: TokenCostResult;
  tokensSkipped?: string;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => Math.round(x).toLocaleString("en-US");

async function sdkMeasure(conn: Conn, cfg: ServeBenchConfig): Promise<Pick<TargetResult, "seq" | "sdk16">> {
  for (let i = 0; i < cfg.seqWarm; i++) await conn.call();
  const seq = summarize(await sequential(conn, cfg.seqCalls));
  const t = await throughput(conn, cfg.sdkCalls, 16);
  return { seq, sdk16: t.perSecond };
}

/** An HTTP target: SDK client first (its own session), then autocannon on a session of its own. */
async function measureHttp(name: string, era: Era, role: Role, front: Front, tool: string, auth: Record<string, string>, cfg: ServeBenchConfig, autocannon: boolean): Promise<TargetResult> {
  const base: HttpTarget = { name, era, url: front.url, frontPid: front.pid, tool, headers: auth, upstreamPids: () => descendants(front.pid) };
  const r: TargetResult = { name, era: era === "2026" ? "2026-07-28, stateless" : "2025-06-18, one session", role };
  const conn = await openHttpConn(base, auth);
  try {
    Object.assign(r, await sdkMeasure(conn, cfg));
  } finally {
    await conn.close().catch(() => undefined);
  }
  if (autocannon) {
    const t: HttpTarget = era === "2025" ? { ...base, headers: await openSession(front.url, auth) } : base;
    await load(t, 16, cfg.warmSeconds);
    r.load16 = await load(t, 16, cfg.loadSeconds);
    r.load256 = await load(t, 256, cfg.loadSeconds);
  }
  const l = r.load16;
  log(
    `  ${name.padEnd(40)} p50 ${f1(r.seq!.p50).padStart(7)} µs  p99 ${f1(r.seq!.p99).padStart(8)} µs  SDK@16 ${f0(r.sdk16!).padStart(6)}/s` +
      (l ? `  @16 ${f0(l.perSecond).padStart(6)}/s  @256 ${f0(r.load256!.perSecond).padStart(6)}/s  front ${f1(l.cpuFrontUs ?? NaN)} µs/call${l.failed + r.load256!.failed ? `  FAILED ${l.failed + r.load256!.failed}` : ""}` : ""),
  );
  return r;
}

async function measureFloor(cfg: ServeBenchConfig): Promise<TargetResult> {
  const name = "server-everything over stdio (floor)";
  const r: TargetResult = { name, era: "2025-06-18 over stdio", role: "floor" };
  const conn = await openStdioFloor(name);
  try {
    Object.assign(r, await sdkMeasure(conn, cfg));
  } finally {
    await conn.close().catch(() => undefined);
  }
  const raw = await startStdioServer();
  try {
    await raw.load(16, cfg.warmSeconds);
    r.load16 = await raw.load(16, cfg.loadSeconds);
    r.load256 = await raw.load(256, cfg.loadSeconds);
  } finally {
    await raw.stop();
  }
  log(`  ${name.padEnd(40)} p50 ${f1(r.seq!.p50).padStart(7)} µs  p99 ${f1(r.seq!.p99).padStart(8)} µs  SDK@16 ${f0(r.sdk16!).padStart(6)}/s  @16 ${f0(r.load16.perSecond).padStart(6)}/s  @256 ${f0(r.load256.perSecond).padStart(6)}/s  server ${f1(r.load16.cpuFrontUs ?? NaN)} µs/call`);
  return r;
}

async function withFront<T>(start: () => Promise<Front>, use: (f: Front) => Promise<T>): Promise<T> {
  const f = await start();
  try {
    return await use(f);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nfront stderr: ${f.stderr().slice(-2000)}`, { cause: e });
  } finally {
    await f.stop();
  }
}

/** serve under `--cpu-prof` while autocannon keeps 16 calls in flight: where its time goes. */
async function profileServe(cfg: ServeBenchConfig): Promise<ServeBenchResult["profile"]> {
  const b = await startBenchServe({ profile: true });
  try {
    const auth = { authorization: b.apiKeyAuth };
    const t: HttpTarget = { name: "serve (profiled)", era: "2025", url: b.srv.url, frontPid: b.pid, tool: SERVE_TOOL, headers: await openSession(b.srv.url, auth), upstreamPids: () => descendants(b.pid) };
    await load(t, 16, cfg.warmSeconds);
    const l = await load(t, 16, cfg.profileSeconds);
    await b.stop();
    const file = profileFileFor(b.profileDir!, b.pid);
    if (!file) return undefined;
    return { ...summarizeProfile(file), seconds: l.seconds, calls: l.calls };
  } finally {
    await b.stop().catch(() => undefined);
    rmSync(b.s.dir, { recursive: true, force: true });
  }
}

export async function runServeBench(quick = false): Promise<ServeBenchResult> {
  const cfg = serveBenchConfig(quick);
  const missing = (Object.keys(BENCH_TOOLS) as (keyof typeof BENCH_TOOLS)[]).filter((t) => !findBenchTool(t).ok).map((t) => BENCH_TOOLS[t].pkg);
  if (missing.length) log(`  not installed: ${missing.join(", ")}; ${BENCH_INSTALL_HINT}. Measuring the rest.`);
  const ac = !missing.includes("autocannon");
  const targets: TargetResult[] = [];
  targets.push(await measureFloor(cfg));
  targets.push(await withFront(startEverythingHttp, (f) => measureHttp("server-everything, own Streamable HTTP", "2025", "other", f, "echo", {}, cfg, ac)));
  const b = await startBenchServe();
  try {
    const front: Front = { url: b.srv.url, pid: b.pid, stderr: b.srv.stderr, stop: b.stop };
    const auth = { authorization: b.apiKeyAuth };
    targets.push(await measureHttp("mcp-warden serve", "2025", "serve", front, SERVE_TOOL, auth, cfg, ac));
    targets.push(await measureHttp("mcp-warden serve, 2026-07-28", "2026", "serve", front, SERVE_TOOL, auth, cfg, ac));
  } catch (e) {
    throw new Error(`${(e as Error).message}\nserve stderr: ${b.srv.stderr().slice(-2000)}`, { cause: e });
  } finally {
    await b.stop();
  }
  for (const [tool, name, start] of [
    ["supergateway", `supergateway ${BENCH_TOOLS.supergateway.version} (stateful)`, startSupergateway],
    ["mcp-proxy", `mcp-proxy ${BENCH_TOOLS.mcpProxy.version}`, startMcpProxy],
  ] as const) {
    if (missing.includes(tool)) targets.push({ name, era: "2025-06-18, one session", role: "other", skipped: `not installed: ${BENCH_INSTALL_HINT}` });
    else targets.push(await withFront(start, (f) => measureHttp(name, "2025", "other", f, "echo", {}, cfg, ac)));
  }
  const result: ServeBenchResult = { config: cfg, targets, missing };
  if (ac) {
    log("  serve under --cpu-prof …");
    result.profile = await profileServe(cfg);
  }
  log("  token verification …");
  const tokens = await runTokenCost(quick);
  if ("skipped" in tokens) result.tokensSkipped = tokens.skipped;
  else result.tokens = tokens;
  return result;
}

/** The docs section: the comparison, the targets, and the token verification cost. */
export function serveDocSection(r: ServeBenchResult): string[] {
  return [...serveSection(r), ...tokenSection(r.tokens, r.tokensSkipped)];
}

export const SERVE_HEADING = "## `mcp-warden serve` against other HTTP fronts";

/** The document with this section replaced (or, when it has none, put before the sandbox section or at the end). */
export function spliceSection(doc: string, section: string[]): string {
  const lines = doc.split("\n");
  const start = lines.indexOf(SERVE_HEADING);
  const next = (from: number) => {
    const i = lines.findIndex((l, k) => k > from && /^## /.test(l));
    return i < 0 ? lines.findIndex((l, k) => k > from && /^Reproduce with/.test(l)) : i;
  };
  if (start >= 0) {
    const end = next(start);
    lines.splice(start, (end < 0 ? lines.length : end) - start, ...section);
  } else {
    const at = lines.indexOf("## Sandbox start-up");
    lines.splice(at < 0 ? lines.length : at, 0, ...section);
  }
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await runServeBench(process.argv.includes("--quick"));
  const section = serveDocSection(result);
  console.log(JSON.stringify(result, null, 2));
  console.log(section.join("\n"));
  if (process.argv.includes("--write")) {
    const file = join(ROOT, "docs/PERFORMANCE.md");
    writeFileSync(file, spliceSection(readFileSync(file, "utf8"), section));
    console.log(`wrote the section into ${file}`);
  }
}
