// Benchmark of the policy core: one decision over a 10,000-rule policy must stay under 20 µs at p99.
// Run directly (`node dist/bench/policy.js`) to print the numbers as JSON; bench/run.js may import it.
import { pathToFileURL } from "node:url";
import { compilePolicy } from "../src/policy/index.js";
import type { ConfiguredServer, PolicyInput, Source, Sourced, ToolRequest } from "../src/policy/index.js";

export interface PolicyBenchResult {
  rules: number;
  decisions: number;
  p50us: number;
  p99us: number;
  perSecond: number;
}

const TARGET_RULES = 10_000;
const SERVERS = 200;
const WARMUP = 20_000;
const DECISIONS = 200_000;

const VERBS = ["get", "list", "create", "update", "search", "read", "write", "fetch", "sync", "describe"];
const NOUNS = ["issue", "pull_request", "file", "record", "user", "project", "comment", "table", "page", "secret", "branch", "job"];

function src(list: string, i: number): Source {
  return { layer: "project", file: "/bench/.mcp-warden/settings.json", path: `permissions.${list}[${i}]` };
}

function sourced(list: string, values: string[]): Sourced<string>[] {
  return values.map((value, i) => ({ value, source: src(list, i) }));
}

/** Deterministic pseudo-random numbers, so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function serverName(i: number): string {
  return `svc-${String(i).padStart(3, "0")}`;
}

function toolName(k: number): string {
  return `${VERBS[k % VERBS.length]}_${NOUNS[Math.floor(k / VERBS.length) % NOUNS.length]}_${k}`;
}

export function buildBenchPolicy(): { input: PolicyInput; requests: ToolRequest[] } {
  const servers: ConfiguredServer[] = [];
  for (let i = 0; i < SERVERS; i++) {
    const name = serverName(i);
    servers.push({
      name,
      managed: false,
      source: { layer: "project", file: "/bench/.mcp.json", path: `mcpServers.${name}` },
      entry:
        i % 3 === 0
          ? { type: "http", url: `https://mcp.example.com/${name}/mcp` }
          : {
              command: "npx",
              args: ["-y", `@example/${name}`],
              // A few upstream-level denials per server, and an allowlist on every tenth.
              denyTools: ["drop_database", `purge_*_${i}`],
              ...(i % 10 === 0 ? { allowedTools: ["get_*", "list_*", "search_*", "read_*", "describe_*"] } : {}),
            },
    });
  }

  const deny: string[] = [];
  const ask: string[] = [];
  const allow: string[] = [];
  const autoApprove: string[] = [];
  for (let i = 0; i < SERVERS; i++) {
    const s = serverName(i);
    for (let k = 0; k < 4; k++) deny.push(`mcp__${s}__delete_${NOUNS[k]}`);
    for (let k = 0; k < 3; k++) ask.push(`mcp__${s}__write_${NOUNS[k + 4]}_${k}`);
    deny.push(`mcp__${s}__admin_*`); // per-server deny glob
    if (i % 4 === 0) ask.push(`mcp__${s}__*_secret_*`); // per-server ask glob
    for (let k = 0; k < 5; k++) allow.push(`mcp__${s}__${VERBS[k]}_*_${k}`); // per-server tool globs
    if (i < 40) allow.push(`mcp__${s}`); // server-wide
    if (i < 20) autoApprove.push(`mcp__${s}__describe_*`);
  }
  // Globs across servers: the red-team favourites and their relatives.
  for (let k = 0; k < 100; k++) deny.push(`mcp__*__drop_${NOUNS[k % NOUNS.length]}*${k}`);
  deny.push("mcp__*__delete*", "mcp__*__*exec*", "mcp__*__*shell*");
  for (let k = 0; k < 50; k++) ask.push(`mcp__*__send_${k}_*`);
  for (let k = 0; k < 20; k++) allow.push(`mcp__svc-1${k % 10}*__list_*_${k}`);
  autoApprove.push("mcp__*__health", "mcp__*__ping");

  // Exact allow names fill the rest: the bulk of a real policy is a long list of approved tools.
  const serverPatterns = servers.reduce((n, s) => n + (s.entry.denyTools?.length ?? 0) + (s.entry.allowedTools?.length ?? 0), 0);
  let fill = TARGET_RULES - (deny.length + ask.length + allow.length + autoApprove.length + serverPatterns);
  for (let k = 0; fill > 0; k++)
    for (let i = 0; i < SERVERS && fill > 0; i++, fill--) allow.push(`mcp__${serverName(i)}__${toolName(k)}`);

  const input: PolicyInput = {
    allow: sourced("allow", allow),
    ask: sourced("ask", ask),
    deny: sourced("deny", deny),
    autoApprove: sourced("autoApprove", autoApprove),
    defaultMode: "default",
    bypassDisabled: false,
    servers,
    deniedMcpServers: [{ value: { serverName: "evil" }, source: src("deniedMcpServers", 0) }],
    exclusiveManagedServers: false,
  };

  // Requests: hits and misses of every index, in a fixed shuffled order.
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const names: string[] = [];
  for (let n = 0; n < 8192; n++) {
    const s = serverName(Math.floor(r() * SERVERS));
    const k = Math.floor(r() * 60);
    switch (n % 12) {
      case 0: names.push(`mcp__${s}__${toolName(k)}`); break; // exact allow (mostly)
      case 1: names.push(`mcp__${s}__${VERBS[k % 5]}_thing_${k % 5}`); break; // per-server allow glob
      case 2: names.push(`mcp__${s}__delete_${pick(NOUNS)}`); break; // deny exact / deny glob
      case 3: names.push(`mcp__${s}__drop_${pick(NOUNS)}_x${k}`); break; // global deny glob
      case 4: names.push(`mcp__${s}__write_${NOUNS[4 + (k % 3)]}_${k % 3}`); break; // ask exact
      case 5: names.push(`mcp__${s}__unknown_tool_${k}`); break; // unmatched
      case 6: names.push(`mcp__${s}__create_issue__delete_all`); break; // tool with `__` inside
      case 7: names.push(`mcp__unconfigured-${k}__${toolName(k)}`); break; // server not configured
      case 8: names.push(`mcp__${s}__list_deleted_items`); break; // near miss of the delete glob
      case 9: names.push(`mcp__${s}__admin_${pick(NOUNS)}`); break; // per-server deny glob
      case 10: names.push(`mcp__${s}__Get_Issue_${k}`); break; // case variant, misses allow
      default: names.push(`mcp__${s}__describe_${pick(NOUNS)}`); break; // autoApprove / allowedTools
    }
  }
  const requests = names.map((tool) => ({ tool, input: {} }));
  return { input, requests };
}

export async function runPolicyBench(): Promise<PolicyBenchResult> {
  const { input, requests } = buildBenchPolicy();
  const policy = compilePolicy(input);
  const n = requests.length;
  let sink = 0;
  for (let i = 0; i < WARMUP; i++) sink += policy.decideTool(requests[i % n] as ToolRequest).reason.length;

  const times = new Float64Array(DECISIONS);
  for (let i = 0; i < DECISIONS; i++) {
    const req = requests[i % n] as ToolRequest;
    const t0 = process.hrtime.bigint();
    const v = policy.decideTool(req);
    const t1 = process.hrtime.bigint();
    times[i] = Number(t1 - t0);
    sink += v.decision.length;
  }
  if (sink === 0) throw new Error("unreachable: keeps the decisions from being optimized away");

  let total = 0;
  for (const t of times) total += t;
  times.sort();
  const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] as number) / 1000;
  return {
    rules: policy.ruleCount,
    decisions: DECISIONS,
    p50us: round(at(0.5)),
    p99us: round(at(0.99)),
    perSecond: Math.round(DECISIONS / (total / 1e9)),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runPolicyBench()));
}
