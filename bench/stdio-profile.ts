// Where `mcp-warden run` spends its CPU per call: the gateway is run under `node --cpu-prof` with the
// benchmark's SDK client keeping 16 calls in flight (the load of the throughput phase), and the
// profile is read twice: self time by area (bench/cpu-profile.ts summarizeProfile) and time charged
// to whoever asked for it (attributeProfile: zod, JSON and stream internals counted for the SDK
// side, stage or transport that called them).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, type Scratch } from "../test/e2e/harness.js";
import { attributeProfile, profileFileFor, summarizeProfile, type Attribution, type Owner, type ProfileSummary, type Window } from "./cpu-profile.js";
import { open, throughput } from "./stdio.js";

const PROGRAM = join(ROOT, "dist/src/cli/program.js");

/** The pieces of a forwarded call, innermost first where they nest (secret scanning is policy code called by a stage). */
export const STDIO_OWNERS: Owner[] = [
  { label: "audit log: records, hash chain, writes (src/audit)", frame: /@.*\/dist\/src\/audit\// },
  { label: "secret scanning of arguments and results (src/policy/integrity/secrets)", frame: /@.*\/dist\/src\/policy\/integrity\/secrets\.js$/ },
  { label: "policy decision (src/policy)", frame: /@.*\/dist\/src\/policy\// },
  { label: "line transport, both legs: JSON parse and serialize, pipe writes (src/transport, src/fronts)", frame: /@.*\/dist\/src\/(transport|fronts)\// },
  { label: "the upstream wrapper (src/upstream)", frame: /@.*\/dist\/src\/upstream\// },
  { label: "the pipeline and its stages (src/gateway)", frame: /@.*\/dist\/src\/gateway\// },
  { label: "other mcp-warden code", frame: /@.*\/dist\/src\// },
  { label: "SDK server, the client's leg: dispatch, request and result validation (zod)", frame: /@.*\/@modelcontextprotocol\/server\// },
  { label: "SDK client, the upstream's leg: request, response validation (zod)", frame: /@.*\/@modelcontextprotocol\/client\// },
];

/** Inclusive time of named functions (lower bounds: time after an `await` belongs to the resuming microtask). */
export const STDIO_PIECES: { label: string; frame: RegExp }[] = [
  { label: "a client line parsed and dispatched (json-lines.ts `finishLine`)", frame: /^finishLine@.*\/transport\/json-lines\.js$/ },
  { label: "a message serialized and written (json-lines.ts `send`)", frame: /^send@.*\/transport\/json-lines\.js$/ },
  { label: "the SDK server's request dispatch (`_onrequest`)", frame: /^_onrequest@.*@modelcontextprotocol\/server\// },
  { label: "the SDK client's response dispatch (`_onresponse`)", frame: /^_onresponse@.*@modelcontextprotocol\/client\// },
  { label: "schema validation (zod `safeParse`)", frame: /^safeParse@.*\/zod\// },
  { label: "the gateway pipeline (src/gateway `runPipeline`)", frame: /^runPipeline@.*\/gateway\/pipeline\.js$/ },
  { label: "audit appends (src/audit `append`)", frame: /^append@.*\/audit\/log\.js$/ },
  { label: "garbage collection", frame: /^\(garbage collector\)@$/ },
];

export interface StdioProfile {
  label: string;
  calls: number;
  /** The gateway's CPU per call over the profiled phase, from /proc (profiling itself adds to it). */
  gatewayCpuUs: number | undefined;
  summary: ProfileSummary;
  attribution: Attribution;
}

/** `calls` calls at 16 in flight through a gateway started under --cpu-prof; undefined if V8 wrote no profile. */
export async function profileGateway(s: Scratch, label: string, calls: number, warmup: number, env: Record<string, string> = {}): Promise<StdioProfile | undefined> {
  const dir = join(s.dir, `cpu-profile-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  try {
    // The ES modules, not the bundle cli.cjs loads (the same code): the attribution goes by source file.
    const conn = await open("gateway", s, label, { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`], env, gatewayEntry: PROGRAM });
    let sample;
    let window: Window | undefined;
    try {
      for (let i = 0; i < warmup; i++) await conn.call();
      await throughput(conn, warmup, 16);
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      sample = await throughput(conn, calls, 16);
      window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    } finally {
      // The gateway writes its profile when it exits, after the client closes its stdin.
      await conn.close();
    }
    const file = await waitFor(() => profileFileFor(dir, conn.pid), 10_000);
    if (!file) return undefined;
    // For a closer look (e.g. in Chrome's DevTools): BENCH_KEEP_PROFILE=<dir> keeps a copy.
    if (process.env.BENCH_KEEP_PROFILE) copyFileSync(file, join(process.env.BENCH_KEEP_PROFILE, `${label.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`));
    return { label, calls, gatewayCpuUs: sample.cpuUsPerCall?.service[0], summary: summarizeProfile(file, 12, STDIO_PIECES, window), attribution: attributeProfile(file, STDIO_OWNERS, window) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor<T>(read: () => T | undefined, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = read();
    if (v !== undefined || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const us = (x: number) => `${x.toFixed(1)} µs`;

/** The docs section: where one forwarded call's CPU goes in the gateway. */
export function stdioProfileSection(profiles: StdioProfile[]): string[] {
  if (!profiles.length) return [];
  const out = [
    "## Where the gateway's CPU per call goes",
    "",
    `Each gateway below was started again under \`node --cpu-prof\`, from its ES modules (\`dist/src/cli/program.js run\`: the same code \`run\` loads as one bundle, with each frame naming its source file), and driven like the throughput phase (the SDK client keeping 16 calls in flight; ${profiles.map((p) => `${p.calls.toLocaleString("en-US")} calls`).join(", ")}, after a warm-up). Shares are of the busy time V8 sampled (idle left out); µs per call apply a share to the gateway's CPU per call measured from /proc over the same phase (sampling adds a little to it). Each sample is charged to the innermost frame of mcp-warden's own code or of an SDK package on its stack: zod, JSON, Node's stream internals and native code count for whoever called them. V8 samples the thread whenever it is not idle, so a system call counts with any time the process waited inside it (a pipe write that wakes the reader, on a machine whose CPUs are busy): shares of system calls are upper bounds, and the /proc figure is the cost.`,
    "",
  ];
  const head = `| piece | ${profiles.map((p) => `${p.label}: share`).join(" | ")} | ${profiles.map((p) => `${p.label}: µs per call`).join(" | ")} |`;
  out.push(head, `|---|${profiles.map(() => "---:").join("|")}|${profiles.map(() => "---:").join("|")}|`);
  const labels = profiles[0]!.attribution.rows.map((r) => r.label);
  for (const label of labels) {
    const cells = profiles.map((p) => p.attribution.rows.find((r) => r.label === label));
    if (cells.every((c) => !c || c.share < 0.005)) continue;
    const shares = cells.map((c) => (c ? pct(c.share) + (c.zodShare >= 0.01 ? ` (zod ${pct(c.zodShare)})` : "") : "—"));
    const micro = cells.map((c, i) => (c && profiles[i]!.gatewayCpuUs !== undefined ? us(c.share * profiles[i]!.gatewayCpuUs!) : "—"));
    out.push(`| ${label} | ${shares.join(" | ")} | ${micro.join(" | ")} |`);
  }
  out.push(
    `| **the gateway's CPU per call (/proc, under the profiler)** | ${profiles.map(() => "").join(" | ")} | ${profiles.map((p) => (p.gatewayCpuUs === undefined ? "—" : `**${us(p.gatewayCpuUs)}**`)).join(" | ")} |`,
    "",
    "Time in each piece and everything it calls (a sample counts for every piece on its stack; lower bounds, since time after an `await` belongs to the microtask that resumes):",
    "",
    `| piece | ${profiles.map((p) => p.label).join(" | ")} |`,
    `|---|${profiles.map(() => "---:").join("|")}|`,
    ...profiles[0]!.summary.inclusive.map((x, i) => `| ${x.label} | ${profiles.map((p) => pct(p.summary.inclusive[i]?.share ?? 0)).join(" | ")} |`),
    "",
    `The functions with the most self time (${profiles[0]!.label}):`,
    "",
    "| function | where | area | share |",
    "|---|---|---|---:|",
    ...profiles[0]!.summary.frames.slice(0, 10).map((f) => `| \`${f.name}\` | ${f.where} | ${f.area} | ${pct(f.share)} |`),
    "",
  );
  return out;
}

/**
 * What keeps a gateway from the issue's CPU target even on the hot path: its profile's pieces in µs
 * per call, against the parse relay's whole cost. Empty without a profile or a /proc reading.
 */
export function floorExplanation(p: StdioProfile | undefined, relayCpuUs: number | undefined, targetUs: number): string[] {
  if (!p || p.gatewayCpuUs === undefined || relayCpuUs === undefined) return [];
  const total = p.gatewayCpuUs;
  // The gateway's own per-call work, which no relay does: audit, secret scans, policy, pipeline, upstream wrapper.
  const own = p.attribution.rows.filter((r) => /^(audit|secret|policy|the pipeline|the upstream)/.test(r.label)).reduce((sum, r) => sum + r.share * total, 0);
  const pieces = p.attribution.rows
    .filter((r) => r.share >= 0.02)
    .sort((a, b) => b.share - a.share)
    .map((r) => `${r.label.replace(/ \(.*\)$/, "")} ${us(r.share * total)}`);
  return [
    `What stands between the hot path and ${targetUs} µs: under the profiler the gateway (${p.label}) spent ${us(total)} per call: ${pieces.join("; ")}. The parse relay spends ${us(relayCpuUs)} in all. Beyond what the relay does (a parse and a serialization of each message, one pipe write per batch), every call here also builds, redacts, hashes and writes two audit records, scans its arguments and its result for secrets, makes a policy decision, and runs the pipeline as a chain of promises with an abort signal, an input-round flow and a timeout of its own: ${us(own)} per call here for the audit log, the secret scans, the policy decision, the pipeline and the upstream wrapper together${own > targetUs ? `, more than the ${targetUs} µs target by itself` : ""}. ${own > targetUs ? "Meeting the target would take a different shape for that per-call work (no per-call promise chain, a cheaper audit record), not only a shorter path through the SDK." : "The rest is the SDK's share, the line transport and the garbage collector."}`,
    "",
  ];
}
