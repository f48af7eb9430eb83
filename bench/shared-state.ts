// Benchmark of the shared-state back ends against their single-machine counterparts, in process:
// a rate-limit check with every kind of bucket (global, server, principal, principal and tool) in
// memory and in Redis (the machine's, 127.0.0.1:6379, under a random key prefix removed afterwards),
// and an audit record the call waits for (the decision record) with the file log and with
// PostgreSQL (the machine's, a scratch schema dropped afterwards), plus PostgreSQL's records per
// second when 32 callers each wait for their own. Rows of one kind are measured in alternating
// rounds of one run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { AuditLog } from "../src/audit/log.js";
import { PostgresAuditSink } from "../src/audit/postgres.js";
import { initStateSchema } from "../src/state/postgres-schema.js";
import type { AuditEntry } from "../src/audit/record.js";
import { MemoryLimitStore, RedisLimitStore, type BucketSpec, type LimitStore } from "../src/limits/index.js";
import { openRedis } from "../src/state/redis.js";
import { pgScratch, postgresUnavailable } from "../test/e2e/postgres-harness.js";
import { median } from "./stdio.js";

export interface SharedStateBenchResult {
  /** Median µs per rate-limit check (4 buckets). */
  limits?: { memory: number; redis: number };
  limitsSkipped?: string;
  /** Median µs per awaited decision record; PostgreSQL records/s with 32 concurrent callers. */
  audit?: { file: number; postgres: number; postgresPerSecond: number };
  auditSkipped?: string;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

function buckets(i: number): BucketSpec[] {
  // Large buckets: the benchmark measures the check, never a refusal.
  const big = { capacity: 1e9, refillPerMs: 1e6 };
  return [
    { key: "global", ...big },
    { key: "server:everything", ...big },
    { key: `principal:user-${i % 8}`, ...big },
    { key: `principal-tool:user-${i % 8}:echo`, ...big },
  ];
}

async function timeChecks(store: LimitStore, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = await store.take(buckets(i), Date.now());
    out.push(Number(process.hrtime.bigint() - t) / 1e3);
    if (!r.ok) throw new Error("the benchmark's buckets refused a take");
  }
  return out;
}

async function limitsBench(rounds: number, perRound: number): Promise<Pick<SharedStateBenchResult, "limits" | "limitsSkipped">> {
  let redis;
  try {
    redis = await openRedis({ url: "redis://127.0.0.1:6379/0" });
  } catch (e) {
    return { limitsSkipped: `Redis at 127.0.0.1:6379 is not reachable (${(e as Error).message})` };
  }
  const prefix = `mcp-warden-bench:{ratelimit}:${process.pid}:`;
  try {
    const stores = { memory: new MemoryLimitStore(), redis: new RedisLimitStore({ client: redis, keyPrefix: prefix }) };
    await timeChecks(stores.memory, 200);
    await timeChecks(stores.redis, 200);
    const t = { memory: [] as number[], redis: [] as number[] };
    for (let r = 0; r < rounds; r++) for (const k of r % 2 === 0 ? (["memory", "redis"] as const) : (["redis", "memory"] as const)) t[k].push(...(await timeChecks(stores[k], perRound)));
    return { limits: { memory: r1(median(t.memory)), redis: r1(median(t.redis)) } };
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

const entry = (i: number): AuditEntry => ({ kind: "request", event: "decided", server: "everything", tool: "echo", decision: "allow", reason: `bench ${i}`, arguments: { message: "hello" } });

async function auditBench(rounds: number, perRound: number): Promise<Pick<SharedStateBenchResult, "audit" | "auditSkipped">> {
  const unavailable = await postgresUnavailable();
  if (unavailable !== undefined) return { auditSkipped: unavailable };
  const scratch = await pgScratch();
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-audit-"));
  const file = AuditLog.open({ dir, fsyncIntervalMs: 50, secrets: [] });
  let postgres: PostgresAuditSink | undefined;
  try {
    const c = new pg.Client({ connectionString: scratch.adminUrl });
    await c.connect();
    await initStateSchema(c);
    await c.end();
    postgres = new PostgresAuditSink({ url: scratch.adminUrl });
    const sinks = { file, postgres };
    const time = async (k: keyof typeof sinks, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = process.hrtime.bigint();
        await sinks[k].appendDurable(entry(i));
        out.push(Number(process.hrtime.bigint() - t) / 1e3);
      }
      return out;
    };
    await time("file", 50);
    await time("postgres", 50);
    const t = { file: [] as number[], postgres: [] as number[] };
    for (let r = 0; r < rounds; r++) for (const k of r % 2 === 0 ? (["file", "postgres"] as const) : (["postgres", "file"] as const)) t[k].push(...(await time(k, perRound)));
    // 32 callers, each waiting for its own record, for 2000 records.
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 2000) await postgres!.appendDurable(entry(next++));
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { audit: { file: r1(median(t.file)), postgres: r1(median(t.postgres)), postgresPerSecond: Math.round(2000 / seconds) } };
  } finally {
    await postgres?.close().catch(() => undefined);
    await file.close();
    rmSync(dir, { recursive: true, force: true });
    await scratch.drop();
  }
}

export async function runSharedStateBench(quick = false): Promise<SharedStateBenchResult> {
  return { ...(await limitsBench(quick ? 2 : 6, quick ? 200 : 1000)), ...(await auditBench(quick ? 2 : 6, quick ? 50 : 200)) };
}

/** The PERFORMANCE.md section. */
export function sharedStateSection(r: SharedStateBenchResult): string[] {
  const out = ["## Shared state: Redis and PostgreSQL", ""];
  out.push(
    "In process, medians over alternating rounds of one run, against this machine's Redis and PostgreSQL on 127.0.0.1 (bench/shared-state.ts). A rate-limit check takes from four buckets (global, server, principal, principal and tool) in one step; an audit record is the decision record a call waits for before it is forwarded (the file log writes it and batches fsync every 50 ms; PostgreSQL commits it).",
    "",
    "| | on this machine | shared | ratio |",
    "|---|---:|---:|---:|",
  );
  if (r.limits) out.push(`| rate-limit check (memory / one Redis script) | ${r.limits.memory} µs | ${r.limits.redis} µs | ${(r.limits.redis / r.limits.memory).toFixed(1)}x |`);
  else out.push(`| rate-limit check | not measured: ${r.limitsSkipped ?? "unknown"} | | |`);
  if (r.audit) out.push(`| awaited audit record (file log / PostgreSQL) | ${r.audit.file} µs | ${r.audit.postgres} µs | ${(r.audit.postgres / r.audit.file).toFixed(1)}x |`);
  else out.push(`| awaited audit record | not measured: ${r.auditSkipped ?? "unknown"} | | |`);
  out.push("");
  if (r.audit) out.push(`PostgreSQL took ${r.audit.postgresPerSecond.toLocaleString("en-US")} records per second from 32 concurrent callers each waiting for its own (inserts are batched, one at a time, in chain order).`, "");
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(JSON.stringify(await runSharedStateBench(process.argv.includes("--quick")), null, 2));
