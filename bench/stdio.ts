// Helpers for bench/run.ts: an SDK client over stdio to the fixture server (directly, or through
// `mcp-warden run`), latency and throughput loops, and per-process CPU readings from /proc.
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { CLI, FIXTURE, type Scratch } from "../test/e2e/harness.js";

/**
 * How the client reaches the fixture: directly, through `mcp-warden run`, or through a relay process
 * (bench/relay.ts) that copies the bytes, or parses and re-serializes each JSON line: the floor for any
 * stdio proxy written in Node.js.
 */
export type Route = "direct" | "gateway" | "relay-bytes" | "relay-json";

export interface OpenOptions {
  /** Node.js options for the process the client spawns (`--cpu-prof`, say). */
  nodeArgs?: string[];
  /**
   * The gateway's entry point instead of dist/src/cli.cjs (which loads `run` as one bundle): the CPU
   * profiles use the ES modules (dist/src/cli/program.js), so that each frame names its source file.
   */
  gatewayEntry?: string;
  /** Variables added to that process's environment. */
  env?: Record<string, string>;
}

const RELAY = fileURLToPath(new URL("./relay.js", import.meta.url));

function argvFor(route: Route, s: Scratch, gatewayEntry = CLI): string[] {
  switch (route) {
    case "direct":
      return [FIXTURE];
    case "gateway":
      return [gatewayEntry, "run", "--settings", s.settingsFile];
    case "relay-bytes":
      return [RELAY, "bytes", process.execPath, FIXTURE];
    case "relay-json":
      return [RELAY, "json", process.execPath, FIXTURE];
  }
}

export interface Conn {
  /** What this connection is called in the results. */
  label: string;
  route: Route;
  client: Client;
  /** Pid of the process the client talks to (the fixture, or the gateway). */
  pid: number;
  /** One trivial tool call; throws unless the echo came back. */
  call(): Promise<void>;
  /** Pids whose CPU time counts for this connection, besides the benchmark process itself. */
  servicePids(): number[];
  stderr(): string;
  close(): Promise<void>;
}

const TEXT = "hello";
const EXPECTED = `echo: ${TEXT}`;

/** Connects an SDK client (legacy era, the default) directly to the fixture or to a gateway or relay in front of it. */
export async function open(route: Route, s: Scratch, label: string = route, opts: OpenOptions = {}): Promise<Conn> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), ...argvFor(route, s, opts.gatewayEntry)],
    env: { ...(s.env as Record<string, string>), ...opts.env },
    cwd: s.project,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 65_536) stderr += d.toString();
  });
  const client = new Client({ name: "warden-bench", version: "1.0.0" }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: 30_000 });
  } catch (error) {
    await transport.close().catch(() => undefined);
    throw new Error(`${label}: cannot connect: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
  const pid = transport.pid;
  if (pid === null) throw new Error(`${label}: no child process after connect`);
  const name = route === "gateway" ? "fixture__echo" : "echo";
  const params = { name, arguments: { text: TEXT } };
  let upstreamPid: number | undefined;
  return {
    label,
    route,
    client,
    pid,
    async call() {
      const r = await client.callTool(params);
      const first = (r.content as { type: string; text?: string }[] | undefined)?.[0];
      if (r.isError || first?.text !== EXPECTED) throw new Error(`${label}: unexpected tool result ${JSON.stringify(r).slice(0, 300)}`);
    },
    servicePids() {
      if (route === "direct") return [pid];
      upstreamPid ??= childPids(pid)[0];
      return upstreamPid === undefined ? [pid] : [pid, upstreamPid];
    },
    stderr: () => stderr,
    async close() {
      await client.close();
    },
  };
}

/** `n` sequential calls, each timed; returns the durations in microseconds. */
export async function sequential(conn: Conn, n: number): Promise<Float64Array> {
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await conn.call();
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return times;
}

export interface ThroughputSample {
  calls: number;
  seconds: number;
  perSecond: number;
  /** CPU time per call, in microseconds, of: the benchmark client, and the processes serving it. */
  cpuUsPerCall: { client: number; service: number[] } | undefined;
}

/** `total` calls with exactly `inflight` outstanding until the last ones drain. */
export async function throughput(conn: Conn, total: number, inflight: number): Promise<ThroughputSample> {
  let issued = 0;
  const worker = async () => {
    while (issued < total) {
      issued++;
      await conn.call();
    }
  };
  const pids = conn.servicePids();
  const before = pids.map(procCpuUs);
  const clientBefore = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const clientCpu = process.cpuUsage(clientBefore);
  const after = pids.map(procCpuUs);
  let cpuUsPerCall: ThroughputSample["cpuUsPerCall"];
  if (before.every((b) => b !== undefined) && after.every((a) => a !== undefined)) {
    cpuUsPerCall = {
      client: (clientCpu.user + clientCpu.system) / total,
      service: pids.map((_, i) => (after[i]! - before[i]!) / total),
    };
  }
  return { calls: total, seconds, perSecond: total / seconds, cpuUsPerCall };
}

/** Time from spawning to the first tool result, in milliseconds; closes the connection after. */
export async function startupMs(route: Route, s: Scratch, opts: OpenOptions = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  const conn = await open(route, s, route, opts);
  try {
    await conn.call();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    await conn.close();
  }
}

// ---- statistics -----------------------------------------------------------------------------

/** The q-quantile of sorted values (nearest rank, as bench/policy.ts computes it). */
export function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function summarize(times: Float64Array): { p50: number; p99: number; mean: number } {
  const sorted = Float64Array.from(times).sort();
  let total = 0;
  for (const t of sorted) total += t;
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean: total / sorted.length };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---- /proc readings (Linux; elsewhere they are simply absent) ----------------------------------

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const n = Number(r.stdout?.trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** Fields of /proc/<pid>/stat after the command name: index 0 is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** User + system CPU time a process has used so far, in microseconds. */
export function procCpuUs(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  return ((Number(f[11]) + Number(f[12])) / clockTicks()) * 1e6;
}

/** Resident set size in MiB. */
export function procRssMiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function childPids(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(Number(e));
    if (f && Number(f[1]) === parent) out.push(Number(e));
  }
  return out;
}
