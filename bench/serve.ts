// Benchmark of `mcp-warden serve` against the other ways to put a stdio MCP server on HTTP, all in
// front of the same upstream (server-everything over stdio, tool `echo`), in one run: the upstream
// over stdio directly (the floor), a plain HTTP relay (bench/http-relay.ts: the floor of any HTTP
// front in Node.js), server-everything's own Streamable HTTP mode, serve (both eras), supergateway and
// mcp-proxy. Per target: sequential p50/p99 with an SDK client, calls/s with an SDK
// client at 16 in flight, calls/s with autocannon at 16 and 256 connections (the same prepared
// tools/call for every HTTP target), and the CPU per call of the front and of what runs behind it.
// Then the cost of token verification (bench/token-cost.ts), and, when a target is missed, a CPU
// profile of serve under load.
//
//   node dist/bench/serve.js [--quick] [--write]
// prints the numbers and the docs section; --write also puts the section into docs/PERFORMANCE.md in
// place of the one there (the rest of the document, from the last `npm run bench`, is kept).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH_INSTALL_HINT, findBenchTool, BENCH_TOOLS } from "../scripts/bench-tools.js";
import { summarizeProfile, profileFileFor, type ProfileSummary } from "./cpu-profile.js";
import { descendants, load, openHttpConn, quietFetchListenerWarnings, rawSequential, openSession, openStdioFloor, startEverythingHttp, startHttpRelay, startMcpProxy, startSupergateway, type Era, type Front, type HttpTarget, type LoadSample } from "./http-targets.js";
import { SERVE_TOOL, startBenchServe } from "./serve-launch.js";
import { startStdioServer } from "./stdio-load.js";
import { median, sequential, summarize, throughput, type Conn } from "./stdio.js";
import { ROOT } from "../test/e2e/harness.js";
import { runTokenCost, tokenSection, type TokenCostResult } from "./token-cost.js";
import { serveSection } from "./serve-report.js";

export interface ServeBenchConfig {
  quick: boolean;
  rounds: number;
  /** Warm-up calls per client before the rounds. */
  seqWarm: number;
  /** Per round and target: sequential calls with the SDK client, and as many with the raw client. */
  seqCalls: number;
  /** Per round and target: calls with the SDK client at 16 in flight. */
  sdkCalls: number;
  warmSeconds: number;
  /** Per round and target, at 16 and again at 256 connections. */
  loadSeconds: number;
  profileSeconds: number;
}

export function serveBenchConfig(quick: boolean): ServeBenchConfig {
  return quick
    ? { quick, rounds: 2, seqWarm: 30, seqCalls: 50, sdkCalls: 100, warmSeconds: 0.5, loadSeconds: 0.5, profileSeconds: 1 }
    : { quick, rounds: 3, seqWarm: 200, seqCalls: 250, sdkCalls: 500, warmSeconds: 1.5, loadSeconds: 1.5, profileSeconds: 4 };
}

/** floor: the upstream over stdio; relay: the plain HTTP relay; serve: mcp-warden serve; other: the other fronts. */
export type Role = "floor" | "relay" | "serve" | "other";

export interface TargetResult {
  name: string;
  /** The protocol era the client side speaks. */
  era: string;
  role: Role;
  /** SDK client, sequential, µs, over all rounds. */
  seq?: { p50: number; p99: number; mean: number };
  /** SDK client, 16 in flight, calls/s (median of rounds). */
  sdk16?: number;
  /** One connection, prepared requests, sequential, µs over all rounds (node:http; raw JSON lines for the floor). */
  raw?: { p50: number; p99: number };
  /** The load generator at 16 and 256 (the round with the median calls/s). */
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
  /** 1-minute load average when this part started and ended. */
  load: { before: number; after: number };
}

export const HTTP_RELAY_NAME = "plain HTTP relay (bench/http-relay.ts)";

const log = (line: string) => process.stdout.write(`${line}\n`);
const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => Math.round(x).toLocaleString("en-US");

/** A target under measurement: its clients are open for the whole run, and each round adds samples. */
interface Live {
  result: TargetResult;
  sdk: Conn;
  seqTimes: number[];
  rawTimes: number[];
  sdk16: number[];
  l16: LoadSample[];
  l256: LoadSample[];
  warm(): Promise<void>;
  /** Sequential calls from the raw client (µs). */
  rawSeq(n: number): Promise<number[]>;
  /** The load generator: undefined when it cannot run. */
  load?(connections: number, seconds: number): Promise<LoadSample>;
  close(): Promise<void>;
}

function live(result: TargetResult, sdk: Conn, rawSeq: Live["rawSeq"], gen: Live["load"], close: () => Promise<void>, cfg: ServeBenchConfig): Live {
  const l: Live = {
    result,
    sdk,
    seqTimes: [],
    rawTimes: [],
    sdk16: [],
    l16: [],
    l256: [],
    async warm() {
      for (let i = 0; i < cfg.seqWarm; i++) await sdk.call();
      await rawSeq(cfg.seqWarm);
      await throughput(sdk, cfg.sdkCalls, 16);
      if (gen) await gen(16, cfg.warmSeconds);
    },
    rawSeq,
    close,
  };
  if (gen) l.load = gen;
  return l;
}

async function round(t: Live, cfg: ServeBenchConfig): Promise<void> {
  t.seqTimes.push(...(await sequential(t.sdk, cfg.seqCalls)));
  t.rawTimes.push(...(await t.rawSeq(cfg.seqCalls)));
  t.sdk16.push((await throughput(t.sdk, cfg.sdkCalls, 16)).perSecond);
  if (t.load) {
    t.l16.push(await t.load(16, cfg.loadSeconds));
    t.l256.push(await t.load(256, cfg.loadSeconds));
  }
}

const byRate = (xs: LoadSample[]) => [...xs].sort((a, b) => a.perSecond - b.perSecond)[xs.length >> 1];

function finish(t: Live): TargetResult {
  const r = t.result;
  r.seq = summarize(Float64Array.from(t.seqTimes));
  const raw = summarize(Float64Array.from(t.rawTimes));
  r.raw = { p50: raw.p50, p99: raw.p99 };
  r.sdk16 = median(t.sdk16);
  const l16 = byRate(t.l16);
  const l256 = byRate(t.l256);
  if (l16) r.load16 = l16;
  if (l256) r.load256 = l256;
  const failed = t.l16.concat(t.l256).reduce((n, x) => n + x.failed, 0);
  log(
    `  ${r.name.padEnd(40)} p50 ${f1(r.seq.p50).padStart(7)} µs  p99 ${f1(r.seq.p99).padStart(8)} µs  raw p50 ${f1(r.raw.p50).padStart(7)} µs  SDK@16 ${f0(r.sdk16).padStart(6)}/s` +
      (l16 && l256 ? `  @16 ${f0(l16.perSecond).padStart(6)}/s  @256 ${f0(l256.perSecond).padStart(6)}/s  front ${f1(l16.cpuFrontUs ?? NaN)} µs/call${failed ? `  FAILED ${failed}` : ""}` : ""),
  );
  return r;
}

async function floorTarget(cfg: ServeBenchConfig): Promise<Live> {
  const name = "server-everything over stdio (floor)";
  const sdk = await openStdioFloor(name);
  const raw = await startStdioServer().catch(async (e: unknown) => {
    await sdk.close();
    throw e;
  });
  const close = async () => {
    await sdk.close().catch(() => undefined);
    await raw.stop();
  };
  return live({ name, era: "2025-06-18 over stdio", role: "floor" }, sdk, (n) => raw.sequential(n), (c, s) => raw.load(c, s), close, cfg);
}

/** An HTTP target: an SDK client on its own session, and the raw client and autocannon sharing another. */
async function httpTarget(name: string, era: Era, role: Role, front: Front, tool: string, auth: Record<string, string>, cfg: ServeBenchConfig, autocannon: boolean): Promise<Live> {
  const base: HttpTarget = { name, era, url: front.url, frontPid: front.pid, tool, headers: auth, upstreamPids: () => descendants(front.pid) };
  const sdk = await openHttpConn(base, auth);
  const t: HttpTarget = era === "2025" ? { ...base, headers: await openSession(front.url, auth) } : base;
  const result: TargetResult = { name, era: era === "2026" ? "2026-07-28, stateless" : "2025-06-18, one session", role };
  return live(result, sdk, (n) => rawSequential(t, n), autocannon ? (c, s) => load(t, c, s) : undefined, () => sdk.close().catch(() => undefined), cfg);
}

/** serve under `--cpu-prof` while autocannon keeps 16 calls in flight: where its time goes. */
async function profileServe(cfg: ServeBenchConfig): Promise<ServeBenchResult["profile"]> {
  const b = await startBenchServe({ profile: true });
  try {
    const auth = { authorization: b.apiKeyAuth };
    const t: HttpTarget = { name: "serve (profiled)", era: "2025", url: b.srv.url, frontPid: b.pid, tool: SERVE_TOOL, headers: await openSession(b.srv.url, auth), upstreamPids: () => descendants(b.pid) };
    await load(t, 16, cfg.warmSeconds);
    // Only the measured load counts: serve's start, the upstream's first review and the warm-up are left out.
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const l = await load(t, 16, cfg.profileSeconds);
    const window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    await b.stop();
    const file = profileFileFor(b.profileDir!, b.pid);
    if (!file) return undefined;
    return { ...summarizeProfile(file, 12, undefined, window), seconds: l.seconds, calls: l.calls };
  } finally {
    await b.stop().catch(() => undefined);
    rmSync(b.s.dir, { recursive: true, force: true });
  }
}

export async function runServeBench(quick = false): Promise<ServeBenchResult> {
  quietFetchListenerWarnings();
  const cfg = serveBenchConfig(quick);
  const loadBefore = loadavg()[0]!;
  const missing = (Object.keys(BENCH_TOOLS) as (keyof typeof BENCH_TOOLS)[]).filter((t) => !findBenchTool(t).ok).map((t) => BENCH_TOOLS[t].pkg);
  if (missing.length) log(`  not installed: ${missing.join(", ")}; ${BENCH_INSTALL_HINT}. Measuring the rest.`);
  const ac = !missing.includes("autocannon");
  const fronts: Front[] = [];
  const targets: Live[] = [];
  const skipped: TargetResult[] = [];
  try {
    // Every target runs at once (idle while another is measured), so rounds can interleave them.
    targets.push(await floorTarget(cfg));
    const relay = await startHttpRelay();
    fronts.push(relay);
    targets.push(await httpTarget(HTTP_RELAY_NAME, "2025", "relay", relay, "echo", {}, cfg, ac));
    const everything = await startEverythingHttp();
    fronts.push(everything);
    targets.push(await httpTarget("server-everything, own Streamable HTTP", "2025", "other", everything, "echo", {}, cfg, ac));
    const b = await startBenchServe();
    const serveFront: Front = { url: b.srv.url, pid: b.pid, stderr: b.srv.stderr, stop: b.stop };
    fronts.push(serveFront);
    const auth = { authorization: b.apiKeyAuth };
    targets.push(await httpTarget("mcp-warden serve", "2025", "serve", serveFront, SERVE_TOOL, auth, cfg, ac));
    targets.push(await httpTarget("mcp-warden serve, 2026-07-28", "2026", "serve", serveFront, SERVE_TOOL, auth, cfg, ac));
    for (const [tool, name, start] of [
      ["supergateway", `supergateway ${BENCH_TOOLS.supergateway.version} (stateful)`, startSupergateway],
      ["mcp-proxy", `mcp-proxy ${BENCH_TOOLS.mcpProxy.version}`, startMcpProxy],
    ] as const) {
      if (missing.includes(tool)) {
        skipped.push({ name, era: "2025-06-18, one session", role: "other", skipped: `not installed: ${BENCH_INSTALL_HINT}` });
        continue;
      }
      const f = await start();
      fronts.push(f);
      targets.push(await httpTarget(name, "2025", "other", f, "echo", {}, cfg, ac));
    }
    log(`  warming up ${targets.length} targets, then ${cfg.rounds} rounds in rotating order …`);
    for (const t of targets) await t.warm();
    for (let r = 0; r < cfg.rounds; r++) {
      const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
      if (r % 2 === 1) order.reverse();
      for (const t of order) await round(t, cfg);
    }
  } catch (e) {
    const stderrs = fronts.map((f) => f.stderr().slice(-1500)).filter(Boolean);
    throw new Error(`${(e as Error).message}${stderrs.length ? `\nfronts' stderr:\n${stderrs.join("\n---\n")}` : ""}`, { cause: e });
  } finally {
    for (const t of targets) await t.close();
    for (const f of fronts) await f.stop().catch(() => undefined);
  }
  const results = targets.map(finish);
  results.push(...skipped);
  const result: ServeBenchResult = { config: cfg, targets: results, missing, load: { before: loadBefore, after: 0 } };
  if (ac) {
    log("  serve under --cpu-prof …");
    result.profile = await profileServe(cfg);
  }
  log("  token verification …");
  const tokens = await runTokenCost(quick);
  if ("skipped" in tokens) result.tokensSkipped = tokens.skipped;
  else result.tokens = tokens;
  result.load.after = loadavg()[0]!;
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
