// Throughput of `mcp-warden serve` scaled out: one replica with the single-machine defaults (file
// audit log, limits in memory), one replica with the shared state (limits in this machine's Redis,
// the audit log in its PostgreSQL), the same behind HAProxy, and two such replicas behind HAProxy.
// autocannon posts the same prepared 2026-07-28 tools/call (server-everything's echo, stateless, so
// the load balancer spreads every request) at 32 connections; rows are measured in alternating
// rounds of one run. Every replica, the load balancer, the upstreams and autocannon share this
// machine's cores: the two-replica row shows what a second replica adds here, not on two machines.
//
//   node dist/bench/replicas.js [--quick]
import { readFileSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { generateApiKey, hashApiKey } from "../src/auth/api-keys.js";
import { initStateSchema } from "../src/state/postgres-schema.js";
import { AUDIT_DEFAULTS } from "../src/settings/index.js";
import { closedPort, EVERYTHING, scratch, type Scratch } from "../test/e2e/harness.js";
import { haproxyProblem, startHaproxy, type LoadBalancer } from "../test/e2e/lb-harness.js";
import { pgScratch, postgresUnavailable, type PgScratch } from "../test/e2e/postgres-harness.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "../test/e2e/redis-harness.js";
import { startServe, type Serving } from "../test/e2e/serve-harness.js";
import { descendants, load, type HttpTarget, type LoadSample } from "./http-targets.js";
import { SERVE_TOOL } from "./serve-launch.js";
import { median } from "./stdio.js";

export interface ReplicaRow {
  name: string;
  /** Median calls/s over the rounds, and the p50 / p99 (ms) of the median round. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  /** The machine's CPUs busy during the median round, % of all cores (from /proc/stat). */
  busyPercent?: number;
  /** CPU time of the whole machine per call in that round, µs (every process: load generator included). */
  machineCpuUs?: number;
}

export interface ReplicasBenchResult {
  rows?: ReplicaRow[];
  skipped?: string;
  connections: number;
  seconds: number;
  rounds: number;
  cores: number;
  load: { before: number; after: number };
}

const CONNECTIONS = 32;

/** Busy and total jiffies of all CPUs (/proc/stat's first line); undefined off Linux. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** A load sample with the share of the machine's CPUs busy meanwhile. */
async function measured(t: HttpTarget, seconds: number): Promise<LoadSample & { busyPercent?: number; machineCpuUs?: number }> {
  const before = cpuTimes();
  const sample = await load(t, CONNECTIONS, seconds);
  const after = cpuTimes();
  if (!before || !after || after.total <= before.total) return sample;
  const busyShare = (after.busy - before.busy) / (after.total - before.total);
  return {
    ...sample,
    busyPercent: Math.round(100 * busyShare),
    ...(sample.calls > 0 ? { machineCpuUs: Math.round((busyShare * cpus().length * sample.seconds * 1e6) / sample.calls) } : {}),
  };
}

interface Replica {
  srv: Serving;
  s: Scratch;
  port: number;
}

async function startReplica(key: string, state: { redis: string; postgres: string } | undefined): Promise<Replica> {
  const port = await closedPort();
  const s = scratch({
    permissions: { allow: ["mcp__everything__echo"] },
    mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } },
    integrity: { pins: false },
    audit: { fsyncIntervalMs: AUDIT_DEFAULTS.fsyncIntervalMs },
    ...(state ? { state } : {}),
    remote: {
      listen: `127.0.0.1:${port}`,
      auth: { apiKeys: { bench: { hash: hashApiKey(key) } } },
      // Large enough never to refuse: the check (one Redis script per call when shared) is measured, not a refusal.
      rateLimits: { global: "1000000/s", perPrincipal: "1000000/s" },
    },
  });
  return { srv: await startServe(s), s, port };
}

async function stopReplica(r: Replica): Promise<void> {
  const spawned = descendants(r.srv.child.pid!);
  await r.srv.stop().catch(() => undefined);
  for (const p of spawned) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  r.s.cleanup();
}

export async function runReplicasBench(quick: boolean): Promise<ReplicasBenchResult> {
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 1 : 3;
  const base = { connections: CONNECTIONS, seconds, rounds, cores: cpus().length, load: { before: loadavg()[0]!, after: 0 } };
  const missing = (await postgresUnavailable()) ?? redisUnavailable() ?? haproxyProblem();
  if (missing) return { ...base, skipped: missing, load: { ...base.load, after: loadavg()[0]! } };

  const key = generateApiKey();
  let db: PgScratch | undefined;
  let redis: PrivateRedis | undefined;
  const replicas: Replica[] = [];
  const balancers: LoadBalancer[] = [];
  try {
    db = await pgScratch();
    const role = await db.createRole();
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    await initStateSchema(admin, role).finally(() => admin.end());
    // A private redis-server on this machine (no persistence), so nothing is left in the machine's.
    redis = await startPrivateRedis();
    const shared = { redis: redis.url, postgres: db.urlFor(role) };
    const single = await startReplica(key, undefined);
    const r1 = await startReplica(key, shared);
    const r2 = await startReplica(key, shared);
    replicas.push(single, r1, r2);
    // Backend connections kept open and shared, as a production front keeps them.
    const lb1 = await startHaproxy([r1.port], { reuse: true });
    const lb2 = await startHaproxy([r1.port, r2.port], { reuse: true });
    balancers.push(lb1, lb2);
    const target = (name: string, url: string): HttpTarget => ({
      name,
      era: "2026",
      url,
      frontPid: r1.srv.child.pid!,
      tool: SERVE_TOOL,
      headers: { authorization: `Bearer ${key}` },
      upstreamPids: () => [],
    });
    const targets = [
      target("one replica, file audit log, limits in memory", single.srv.url),
      target("one replica, Redis limits, PostgreSQL audit log", r1.srv.url),
      target("the same behind HAProxy", `${lb1.url}/mcp`),
      target("two replicas behind HAProxy", `${lb2.url}/mcp`),
    ];
    // Warm-up: each target's per-caller upstream is started and the JIT warmed.
    for (const t of targets) await load(t, 4, quick ? 0.5 : 1);
    const samples = new Map<string, (LoadSample & { busyPercent?: number; machineCpuUs?: number })[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) for (const t of targets) samples.get(t.name)!.push(await measured(t, seconds));
    const rows = targets.map((t) => {
      const s = samples.get(t.name)!;
      const mid = median(s.map((x) => x.perSecond));
      const at = s.reduce((a, b) => (Math.abs(b.perSecond - mid) < Math.abs(a.perSecond - mid) ? b : a));
      return { name: t.name, perSecond: Math.round(mid), p50Ms: at.p50Ms, p99Ms: at.p99Ms, failed: s.reduce((n, x) => n + x.failed, 0), ...(at.busyPercent !== undefined ? { busyPercent: at.busyPercent } : {}), ...(at.machineCpuUs !== undefined ? { machineCpuUs: at.machineCpuUs } : {}) };
    });
    return { ...base, rows, load: { ...base.load, after: loadavg()[0]! } };
  } finally {
    for (const b of balancers) await b.stop().catch(() => undefined);
    for (const r of replicas) await stopReplica(r);
    await db?.drop().catch(() => undefined);
    await redis?.stop();
  }
}

export function replicasSection(r: ReplicasBenchResult): string[] {
  const out = ["## Scale-out: one and two `serve` replicas", ""];
  if (!r.rows) return [...out, `Not measured: ${r.skipped ?? "unknown"}.`, ""];
  out.push(
    `autocannon at ${r.connections} connections, the same prepared 2026-07-28 \`tools/call\` (server-everything's echo) for every row, ${r.rounds} alternating round(s) of ${r.seconds} s; calls/s is the median round (bench/replicas.ts). The shared rows keep rate limits in a Redis on this machine (one script per call) and the audit log in its PostgreSQL (the decision record committed before forwarding, the outcome before answering). Everything runs on this machine's ${r.cores} cores: the replicas, HAProxy, the upstreams and the load generator compete for them, so the two-replica row shows what a second replica adds here, not what it adds on its own machine. Load average ${r.load.before.toFixed(2)} before, ${r.load.after.toFixed(2)} after.`,
    "",
    "| | calls/s | vs one replica (file, memory) | p50 | p99 | failed | CPUs busy | machine CPU per call |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  const first = r.rows[0]!.perSecond;
  for (const row of r.rows) out.push(`| ${row.name} | ${row.perSecond.toLocaleString("en-US")} | ${(row.perSecond / first).toFixed(2)}x | ${row.p50Ms} ms | ${row.p99Ms} ms | ${row.failed} | ${row.busyPercent !== undefined ? `${row.busyPercent}%` : "—"} | ${row.machineCpuUs !== undefined ? `${row.machineCpuUs.toLocaleString("en-US")} µs` : "—"} |`);
  out.push("");
  const one = r.rows[2];
  const two = r.rows[3];
  if (one?.machineCpuUs !== undefined && two?.machineCpuUs !== undefined && two.busyPercent !== undefined)
    out.push(
      `How to read the last two rows: with two replicas this machine's CPUs were ${two.busyPercent}% busy and the whole machine spent ${two.machineCpuUs.toLocaleString("en-US")} µs of CPU per call, against ${one.machineCpuUs.toLocaleString("en-US")} µs with one (${one.busyPercent}% busy). The second replica does not make a call cheaper: it runs a second serve process, a second upstream instance per caller and a second PostgreSQL writer on the same ${r.cores} cores, so here it only adds processes competing for them. Where each replica has cores of its own, throughput adds up to what each replica passes; this benchmark cannot show that on one ${r.cores}-core machine, and the extra CPU per call with two replicas has not been broken down by process yet. HAProxy keeps and shares its backend connections (\`http-reuse always\`), as a production front does: one replica behind it passes ${(one.perSecond / r.rows[1]!.perSecond).toFixed(2)}x the calls/s it passes directly.`,
      "",
    );
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await runReplicasBench(process.argv.includes("--quick"));
  console.log(replicasSection(r).join("\n"));
}
