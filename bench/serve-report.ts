// The docs section for bench/serve.ts: the comparison table, the ratios, the issue's targets (met or
// not, from this run's numbers), and where serve's time goes when a target is missed.
import { BENCH_TOOLS } from "../scripts/bench-tools.js";
import { relayLines } from "./http-relay-report.js";
import type { ServeBenchResult, TargetResult } from "./serve.js";

const f0 = (x: number) => Math.round(x).toLocaleString("en-US");
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const opt = (x: number | undefined, f: (x: number) => string, unit = "") => (x === undefined || !Number.isFinite(x) ? "—" : `${f(x)}${unit}`);

export const SERVE_TARGETS = { p50AddedUs: 1000, throughputRatio: 0.6 };

export interface ServeAnalysis {
  floor: TargetResult;
  serve: TargetResult;
  others: TargetResult[];
  p50AddedUs: number;
  /** The same with one raw connection (node:http; JSON lines for the floor). */
  rawP50AddedUs?: number;
  /** serve's calls/s ÷ the floor's, with the load generator of each (autocannon; raw stdio lines). */
  ratio16?: number;
  ratio256?: number;
  /** SDK client against SDK client, 16 in flight. */
  ratioSdk16: number;
  /** serve ÷ each HTTP target at 16 and 256 connections. */
  versus: { name: string; at16?: number; at256?: number }[];
  met: { p50: boolean; rawP50?: boolean; throughput?: boolean; ahead?: boolean };
}

export function analyseServe(r: ServeBenchResult): ServeAnalysis {
  const floor = r.targets.find((t) => t.role === "floor")!;
  const serve = r.targets.find((t) => t.role === "serve")!;
  const others = r.targets.filter((t) => t.role === "other" && !t.skipped);
  const p50AddedUs = serve.seq!.p50 - floor.seq!.p50;
  const rawP50AddedUs = serve.raw && floor.raw ? serve.raw.p50 - floor.raw.p50 : undefined;
  const ratio16 = serve.load16 && floor.load16 ? serve.load16.perSecond / floor.load16.perSecond : undefined;
  const ratio256 = serve.load256 && floor.load256 ? serve.load256.perSecond / floor.load256.perSecond : undefined;
  const versus = others.map((o) => ({
    name: o.name,
    ...(serve.load16 && o.load16 ? { at16: serve.load16.perSecond / o.load16.perSecond } : {}),
    ...(serve.load256 && o.load256 ? { at256: serve.load256.perSecond / o.load256.perSecond } : {}),
  }));
  const measuredVs = versus.filter((v) => v.at16 !== undefined);
  return {
    floor,
    serve,
    others,
    p50AddedUs,
    ...(rawP50AddedUs !== undefined ? { rawP50AddedUs } : {}),
    ...(ratio16 !== undefined ? { ratio16 } : {}),
    ...(ratio256 !== undefined ? { ratio256 } : {}),
    ratioSdk16: serve.sdk16! / floor.sdk16!,
    versus,
    met: {
      p50: p50AddedUs <= SERVE_TARGETS.p50AddedUs,
      ...(rawP50AddedUs !== undefined ? { rawP50: rawP50AddedUs <= SERVE_TARGETS.p50AddedUs } : {}),
      ...(ratio16 !== undefined ? { throughput: ratio16 >= SERVE_TARGETS.throughputRatio } : {}),
      ...(measuredVs.length ? { ahead: measuredVs.every((v) => v.at16! > 1 && (v.at256 === undefined || v.at256 > 1)) } : {}),
    },
  };
}

const cpu = (t: TargetResult) => t.load16?.cpuFrontUs;
const behind = (t: TargetResult) => t.load16?.cpuUpstreamUs;

function row(t: TargetResult): string {
  if (t.skipped) return `| ${t.name} | ${t.era} | ${t.skipped} | | | | | | | | |`;
  const failed = (t.load16?.failed ?? 0) + (t.load256?.failed ?? 0);
  return [
    "",
    t.name,
    t.era,
    opt(t.seq?.p50, f1, " µs"),
    opt(t.seq?.p99, f1, " µs"),
    opt(t.raw?.p50, f1, " µs"),
    opt(t.sdk16, f0),
    opt(t.load16?.perSecond, f0) + (failed ? ` (${failed} failed)` : ""),
    opt(t.load256?.perSecond, f0),
    opt(t.load16?.p50Ms, f2, " ms"),
    opt(cpu(t), f1, " µs"),
    t.role === "floor" ? "—" : opt(behind(t), f1, " µs"),
    "",
  ].join(" | ").trim();
}

export function serveSection(r: ServeBenchResult): string[] {
  const a = analyseServe(r);
  const c = r.config;
  const yes = (b: boolean | undefined) => (b === undefined ? "not measured" : b ? "**met**" : "**not met**");
  const out: string[] = [
    "## `mcp-warden serve` against other HTTP fronts",
    "",
    `Every target fronts the same upstream: \`@modelcontextprotocol/server-everything\` over stdio, tool \`echo {message: "hello"}\` (its own Streamable HTTP mode runs the same server in process). Targets: the upstream over stdio directly (the floor any front forwards to); a plain HTTP relay (bench/http-relay.ts, the floor of any HTTP front in Node.js: below); server-everything's own Streamable HTTP mode; \`mcp-warden serve\` (settings allow \`mcp__everything__echo\`, pins off, the audit log on with the default fsync interval, an API key; in the 2025 era on a session, and in the 2026-07-28 era, stateless); supergateway ${BENCH_TOOLS.supergateway.version} (\`--outputTransport streamableHttp --stateful --logLevel none\`: one upstream per session, no per-message log) and mcp-proxy ${BENCH_TOOLS.mcpProxy.version} (\`--server stream\`, its defaults otherwise). All listen on 127.0.0.1 (server-everything and supergateway bind every interface by themselves; a preload, test/fixtures/loopback-listen.ts, keeps them on 127.0.0.1).`,
    "",
    `All targets run at once (each idle while another is measured). Each client first warms up (${c.seqWarm} calls sequentially, ${c.sdkCalls} at 16 in flight${c.warmSeconds ? `, ${c.warmSeconds} s of load` : ""}); then ${c.rounds} rounds visit the targets in rotating order, and in each round each target gets: ${c.seqCalls} sequential calls with the official SDK client (Streamable HTTP, or stdio for the floor), each timed; ${c.seqCalls} sequential calls on one keep-alive connection with node:http posting the prepared request described next (the front's latency without an MCP client library's cost; for the floor, JSON lines one at a time); ${c.sdkCalls} calls with the SDK client keeping 16 in flight; then the load generator, autocannon ${BENCH_TOOLS.autocannon.version} (programmatic), posting one prepared tools/call with a fresh JSON-RPC id per request on keep-alive connections, each with one request outstanding, for ${c.loadSeconds} s with 16 connections and ${c.loadSeconds} s with 256. A call counts only when the answer is 2xx and carries \`Echo: hello\`. 2025-era targets get a session opened first (initialize, notifications/initialized; the SDK client has its own), and every request carries its \`Mcp-Session-Id\` (and, for serve, the API key). The floor cannot take HTTP: it gets the same kind of load as raw JSON lines on its stdin, a prepared request with a fresh id, 16 or 256 outstanding. Latencies are quantiles of all rounds' samples; calls/s and CPU are from the round with the median calls/s. CPU per call is the front process's and its upstream's user + system time from /proc/<pid>/stat over that run, divided by its calls (for the floor, the server's). autocannon runs inside the benchmark process and shares the machine's CPUs with the target. The machine's 1-minute load average was ${f2(r.load.before)} when this part began and ${f2(r.load.after)} when it ended${r.load.before > 1.5 || r.load.after > 1.5 ? " (other work competed for its CPUs: absolute numbers are lower than on a quiet machine; the rounds are there so that drift hits every target alike)" : ""}.${c.quick ? " Run with \`--quick\`: short loops, indicative only." : ""}`,
    "",
    "| target | era | p50, sequential, SDK client | p99, sequential, SDK client | p50, sequential, one raw connection | calls/s, SDK client, 16 in flight | calls/s, 16 connections | calls/s, 256 connections | p50 at 16 connections | front CPU per call | upstream CPU per call |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...r.targets.map(row),
    "",
  ];
  if (r.missing.length) out.push(`Not installed when this ran: ${r.missing.join(", ")} (\`node dist/scripts/bench-tools.js install\`).`, "");

  const vs = a.versus.map((v) => `${v.name} ${opt(v.at16, f2, "x")} at 16, ${opt(v.at256, f2, "x")} at 256`).join("; ");
  out.push(
    "Ratios of this run (serve in the 2025 era):",
    "",
    `- Latency: serve adds ${f0(a.p50AddedUs)} µs at p50 to the upstream's own stdio call (${f1(a.floor.seq!.p50)} → ${f1(a.serve.seq!.p50)} µs), target ≤ ${f0(SERVE_TARGETS.p50AddedUs)} µs: ${yes(a.met.p50)}. With one raw connection instead of the SDK client on both sides: ${opt(a.rawP50AddedUs, f0, " µs")} added (${opt(a.floor.raw?.p50, f1)} → ${opt(a.serve.raw?.p50, f1)} µs): ${yes(a.met.rawP50)}. Of the SDK figure, the SDK's HTTP client and the HTTP round trip are a share any HTTP front pays: server-everything's own HTTP mode adds ${opt(a.others.find((o) => o.name.startsWith("server-everything"))?.seq?.p50, (x) => f0(x - a.floor.seq!.p50), " µs")} with no forwarding at all.`,
    `- Throughput: ${opt(a.ratio16, f2, "x")} the floor's calls/s at 16 (${opt(a.ratio256, f2, "x")} at 256), target ≥ ${SERVE_TARGETS.throughputRatio}x: ${yes(a.met.throughput)}. SDK client against SDK client at 16 in flight: ${f2(a.ratioSdk16)}x.`,
    `- Against the other HTTP fronts (serve's calls/s ÷ theirs): ${vs || "none measured"}. Ahead of every one: ${yes(a.met.ahead)}${behindOf(a)}. Differences of a few percent are within what separates two rounds here.`,
    "",
  );
  out.push(...relayLines(r));
  const modern = r.targets.find((t) => t.role === "serve" && t.era.startsWith("2026"));
  if (modern?.seq && a.serve.seq) {
    out.push(`In the 2026-07-28 era (no session; every request carries its own protocol envelope and gets a fresh SDK server instance on serve's side) serve answers at p50 ${f1(modern.seq.p50)} µs sequentially and ${opt(modern.load16?.perSecond, f0)} calls/s at 16 connections, against ${f1(a.serve.seq.p50)} µs and ${opt(a.serve.load16?.perSecond, f0)} in the 2025 era.`, "");
  }
  out.push(...whereServeTimeGoes(r, a));
  return out;
}

/** Where serve is not ahead, named. */
function behindOf(a: ServeAnalysis): string {
  const at = (v: ServeAnalysis["versus"][number]) => [v.at16 !== undefined && v.at16 <= 1 ? "16" : "", v.at256 !== undefined && v.at256 <= 1 ? "256" : ""].filter(Boolean);
  const behind = a.versus.filter((v) => at(v).length).map((v) => `${v.name} at ${at(v).join(" and ")} connections`);
  return behind.length ? ` (not ahead of ${behind.join("; ")})` : "";
}

function whereServeTimeGoes(r: ServeBenchResult, a: ServeAnalysis): string[] {
  const missed = !a.met.p50 || a.met.throughput === false || a.met.ahead === false;
  const out: string[] = [];
  const serveCpu = cpu(a.serve);
  const floorCpu = cpu(a.floor);
  if (serveCpu !== undefined && a.serve.load16) {
    const upstream = behind(a.serve);
    out.push(
      `serve's own process spends ${f1(serveCpu)} µs of CPU per call at 16 connections${upstream !== undefined ? `, and the upstream behind it ${f1(upstream)} µs` : ""}${floorCpu !== undefined ? ` (the same upstream driven directly: ${f1(floorCpu)} µs)` : ""}. That time includes V8's and libuv's helper threads (garbage collection, the audit log's writes), so the process can use more than one CPU (${pct((serveCpu * a.serve.load16.perSecond) / 1e6)} of one here), but its JavaScript runs on one thread: one serve process passes on the order of ${f0(1e6 / serveCpu)} calls/s at most, however many cores the machine has.`,
      "",
    );
  }
  if (!missed) return out;
  const best = [...a.others, a.serve].filter((t) => t.load16).sort((x, y) => y.load16!.perSecond - x.load16!.perSecond)[0];
  if (best && a.floor.load16) {
    out.push(
      `No HTTP front here comes near the floor: the fastest at 16 connections, ${best.name}, does ${f0(best.load16!.perSecond)} calls/s, ${f2(best.load16!.perSecond / a.floor.load16.perSecond)}x of what the upstream does over its pipe. Driven directly, the upstream reads many requests per wake-up and spends ${opt(floorCpu, f1, " µs")} per call; behind a front, calls reach it one by one (${opt(behind(a.serve), f1, " µs")} per call behind serve). Each front process spends hundreds of µs of CPU per call on HTTP parsing, the SDK's Streamable HTTP transport (JSON-RPC validation, a web stream per response), and, in serve, the gateway pipeline and two audit records, against ${opt(floorCpu, f1, " µs")} for the whole direct call.`,
      "",
    );
  }
  if (a.floor.load16 && a.met.throughput === false) {
    const need = SERVE_TARGETS.throughputRatio * a.floor.load16.perSecond;
    const budget = 1e6 / need;
    const spent = [a.serve, ...a.others].map(cpu).filter((x): x is number => x !== undefined);
    const least = spent.length ? Math.min(...spent) : undefined;
    out.push(
      `For ${SERVE_TARGETS.throughputRatio}x of the floor a front would have to pass ${f0(need)} calls/s: with its JavaScript on one thread, that leaves at most about ${f0(budget)} µs of CPU per call for HTTP, MCP and forwarding together${least !== undefined ? `, ${pct(budget / least)} of the least any front here spends (${f1(least)} µs)` : ""}.${least !== undefined && budget < least ? " Against a trivial upstream like `echo` none of the fronts measured here, serve included, comes within reach of it; the ratio rises as the upstream's own calls cost more." : ""}`,
      "",
    );
  }
  const p = r.profile;
  if (!p) {
    out.push("No profile was taken (autocannon is not installed).", "");
    return out;
  }
  out.push(
    `Where serve's time goes: serve was run again under \`node --cpu-prof\` with autocannon keeping 16 calls in flight for ${f1(p.seconds)} s (${f0(p.calls)} calls; ${f0(p.busyMs)} ms of busy CPU sampled in that load alone: serve's start, its upstream's first review and the warm-up left out, and idle time too). Self time by area:`,
    "",
    "| area | share of busy time |",
    "|---|---:|",
    ...p.areas.map((x) => `| ${x.area} | ${pct(x.share)} |`),
    "",
    "Time in each piece of the request path and in what it calls (a sample counts for every piece on its stack; after an `await` the time belongs to the microtask that resumes, so these are lower bounds):",
    "",
    "| piece | share of busy time |",
    "|---|---:|",
    ...p.inclusive.map((x) => `| ${x.label} | ${pct(x.share)} |`),
    "",
    "The functions with the most self time:",
    "",
    "| function | where | area | share |",
    "|---|---|---|---:|",
    ...p.frames.map((x) => `| \`${x.name}\` | ${x.where} | ${x.area} | ${pct(x.share)} |`),
    "",
  );
  return out;
}
