// Reading the audit log for the incident report: the two passes of ActivityCollector over the file
// log (segment by segment, a line at a time) or the PostgreSQL table (a page at a time), and the
// log's verify status. Nothing here holds more than one page of the log in memory.
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { describePgError } from "../audit/postgres.js";
import { pagePostgresAudit, verifyPostgresAudit } from "../audit/postgres-read.js";
import { AuditKeyError, readAuditKey, readAuditLines, verifyAudit, type VerifyOptions } from "../audit/index.js";
import type { ActivityCollector } from "./activity.js";
import type { AuditLogFact } from "./report.js";

const YIELD_EVERY = 2_000;

export type LogSource = { store: "file"; dir: string; keyFile?: string } | { store: "postgres"; url: string };

export function describeSource(source: LogSource): string {
  // Never the URL: it may hold a password.
  return source.store === "file" ? source.dir : "PostgreSQL (state.postgres)";
}

/** Both passes. Throws when the log cannot be read (the caller reports that, never "no activity"). */
export async function readActivity(source: LogSource, collector: ActivityCollector, range: { since?: Date; until?: Date }): Promise<void> {
  if (source.store === "file") {
    // The file is read synchronously; in a long-lived process (serve's console) other requests get
    // their turn every YIELD_EVERY lines.
    let n = 0;
    for (const item of readAuditLines(source.dir)) {
      if (item.error !== undefined) collector.damaged();
      else collector.observe(item.record, { writer: item.file });
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    if (collector.followedSessions === 0) return;
    for (const item of readAuditLines(source.dir)) {
      if (item.record) collector.observeSession(item.record, { writer: item.file });
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    return;
  }
  try {
    // The server's own records by the (server, time) index; every record of the range for the sessions.
    for await (const row of pagePostgresAudit(source.url, { server: collector.server, ...range })) {
      if (row.record) collector.observe(row.record, { writer: row.writer });
      else collector.damaged();
    }
    if (collector.followedSessions === 0) return;
    for await (const row of pagePostgresAudit(source.url, range)) if (row.record) collector.observeSession(row.record, { writer: row.writer });
  } catch (e) {
    throw new Error(`cannot read the PostgreSQL audit log (state.postgres): ${describePgError(e as Error)}`);
  }
}

/** What `mcp-warden audit verify` would say of the whole log, in a few lines. */
export async function verifyLog(source: LogSource): Promise<AuditLogFact> {
  const where = describeSource(source);
  if (source.store === "postgres") {
    try {
      const r = await verifyPostgresAudit(source.url);
      const details = r.ok ? [`${r.records} records from ${r.writers} writer(s), every writer's chain checked`] : r.broken.slice(0, 5).map((b) => `writer ${b.writer} seq ${b.seq}: ${b.reason}`);
      if (r.unfinished.length) details.push(`${r.unfinished.length} writer(s) without a stop record (running, killed, or their newest records removed)`);
      return { store: "postgres", where, status: r.status, details };
    } catch (e) {
      return { store: "postgres", where, status: "unreadable", details: [`cannot read it: ${describePgError(e as Error)}`] };
    }
  }
  const opts: VerifyOptions = {};
  if (source.keyFile !== undefined) {
    try {
      opts.key = readAuditKey(source.keyFile);
    } catch (e) {
      if (e instanceof AuditKeyError && e.reason !== "invalid") opts.keyError = e.message;
      else return { store: "file", where, status: "unverified", details: [`the audit key cannot be used: ${(e as Error).message}`] };
    }
  }
  try {
    const r = verifyAudit(source.dir, opts);
    const details: string[] = [];
    if (r.status === "intact") details.push(`${r.records} records in ${r.segments} segment(s), every chain and every segment's head checked against the ${r.checkpoint?.hmac === "verified" ? "keyed checkpoint (HMAC verified)" : "checkpoint"}`);
    if (r.firstBroken) details.push(`broken at ${r.firstBroken.file}:${r.firstBroken.line}: ${r.firstBroken.reason}`);
    for (const p of r.problems.slice(0, 5)) details.push(`${p.file}: ${p.reason}`);
    for (const u of r.unverified.slice(0, 5)) details.push(`not proven complete: ${u}`);
    if (r.segments === 0 && r.checkpoint === null) details.push("no audit records");
    return { store: "file", where, status: r.status, details };
  } catch (e) {
    return { store: "file", where, status: "unreadable", details: [`cannot read it: ${(e as Error).message}`] };
  }
}
