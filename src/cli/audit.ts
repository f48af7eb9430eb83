// `mcp-warden audit query` and `audit verify`. Commander wiring lives elsewhere; these take parsed
// options and streams and return the exit code: 0 success, 1 the log is damaged or unreadable,
// 2 bad arguments, 3 (verify) not proven complete.
import { join } from "node:path";
import type { Decision } from "../policy/types.js";
import { describePgError } from "../audit/postgres.js";
import { queryPostgresAudit, verifyPostgresAudit, type PgVerifyResult } from "../audit/postgres-read.js";
import { AUDIT_TABLE } from "../audit/postgres-schema.js";
import { AUDIT_KINDS, AuditKeyError, isAuditKind, matchRecord, parseTimeArg, readAuditKey, readAuditLines, verifyAudit, type AuditFilter, type AuditRecord, type VerifyOptions, type VerifyResult } from "../audit/index.js";

export interface AuditQueryOptions {
  dir: string;
  /** `state.postgres`: read the PostgreSQL audit table instead of `dir`. */
  postgres?: string;
  server?: string;
  tool?: string;
  decision?: string;
  kind?: string;
  event?: string;
  since?: string;
  until?: string;
  json?: boolean;
  /** Print only the last (most recent) N matching records. */
  limit?: number;
}

const DECISIONS: readonly Decision[] = ["allow", "ask", "deny"];

export async function auditQueryCommand(opts: AuditQueryOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const filter = parseFilter(opts);
  if (typeof filter === "string") {
    err.write(`mcp-warden audit query: ${filter}\n`);
    return 2;
  }
  const limit = opts.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    err.write(`mcp-warden audit query: --limit must be a positive integer, got ${String(limit)}\n`);
    return 2;
  }

  let matches: AuditRecord[] = [];
  let damaged = 0;
  if (opts.postgres !== undefined) {
    try {
      const found = await queryPostgresAudit(opts.postgres, filter, limit);
      matches = found.records;
      for (const d of found.damaged) err.write(`mcp-warden audit query: ${AUDIT_TABLE} writer ${d.writer} seq ${d.seq}: ${d.error} (run "mcp-warden audit verify")\n`);
      damaged = found.damaged.length;
    } catch (e) {
      err.write(`mcp-warden audit query: cannot read the PostgreSQL audit log (state.postgres): ${describePgError(e as Error)}\n`);
      return 1;
    }
  } else {
    try {
      for (const item of readAuditLines(opts.dir)) {
        if (item.error !== undefined) {
          // Shown, never skipped silently; the rest of the log is still worth reading.
          damaged++;
          err.write(`mcp-warden audit query: ${join(opts.dir, item.file)}:${item.line}: ${item.error} (run "mcp-warden audit verify")\n`);
          continue;
        }
        if (!matchRecord(item.record, filter)) continue;
        matches.push(item.record);
        if (limit !== undefined && matches.length > limit) matches.shift();
      }
    } catch (e) {
      err.write(`mcp-warden audit query: cannot read ${opts.dir}: ${(e as Error).message}\n`);
      return 1;
    }
  }

  if (opts.json) {
    for (const r of matches) out.write(`${JSON.stringify(r)}\n`);
  } else if (matches.length > 0) {
    out.write(formatTable(matches));
  }
  return damaged > 0 ? 1 : 0;
}

function parseFilter(opts: AuditQueryOptions): AuditFilter | string {
  const f: AuditFilter = {};
  if (opts.server !== undefined) f.server = opts.server;
  if (opts.tool !== undefined) f.tool = opts.tool;
  if (opts.event !== undefined) f.event = opts.event;
  if (opts.decision !== undefined) {
    if (!(DECISIONS as readonly string[]).includes(opts.decision)) return `unknown decision "${opts.decision}" (expected one of: ${DECISIONS.join(", ")})`;
    f.decision = opts.decision as Decision;
  }
  if (opts.kind !== undefined) {
    if (!isAuditKind(opts.kind)) return `unknown kind "${opts.kind}" (expected one of: ${AUDIT_KINDS.join(", ")})`;
    f.kind = opts.kind;
  }
  const now = new Date();
  try {
    if (opts.since !== undefined) f.since = parseTimeArg(opts.since, now);
    if (opts.until !== undefined) f.until = parseTimeArg(opts.until, now);
  } catch (e) {
    return (e as Error).message;
  }
  if (f.since && f.until && f.since > f.until) return `--since (${f.since.toISOString()}) is after --until (${f.until.toISOString()})`;
  return f;
}

const COLUMNS = ["TIME", "KIND", "DECISION", "SERVER", "TOOL", "RULE", "OUTCOME", "DURATION"] as const;

function formatTable(records: AuditRecord[]): string {
  const rows = records.map((r) =>
    [
      r.time,
      r.event ? `${r.kind}/${r.event}` : r.kind,
      r.decision,
      r.server,
      r.tool ?? r.method,
      r.rule,
      r.outcome,
      typeof r.durationMs === "number" ? `${r.durationMs}ms` : undefined,
    ].map(cell),
  );
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}\n`;
  return line(COLUMNS) + rows.map(line).join("");
}

// Server and tool names come from untrusted MCP servers: escape anything that could drive the
// terminal (ESC sequences, other C0/C1 controls) or reorder the text on screen (bidi overrides).
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function cell(value: unknown): string {
  if (value === undefined || value === null || value === "") return "-";
  return String(value).replace(UNSAFE_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export interface AuditVerifyOptions {
  dir: string;
  /** `state.postgres`: verify the PostgreSQL audit table instead of `dir`. */
  postgres?: string;
  json?: boolean;
  /** The HMAC key of a keyed log (--key-file, else audit.hmacKeyFile). */
  keyFile?: string;
}

/**
 * Exit codes: 0 intact; 1 something was altered or removed (a broken chain, a deleted segment, a cut
 * or rewritten tail, a tampered checkpoint), or the directory cannot be read; 2 bad arguments (an
 * unusable --key-file); 3 nothing found altered but not proven complete (no checkpoint for segments
 * of older versions, an unreadable checkpoint, a keyed checkpoint whose key is not available).
 */
export async function auditVerifyCommand(opts: AuditVerifyOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (opts.postgres !== undefined) return verifyPostgres(opts.postgres, opts.json === true, out, err);
  const verifyOpts: VerifyOptions = {};
  if (opts.keyFile !== undefined) {
    try {
      verifyOpts.key = readAuditKey(opts.keyFile);
    } catch (e) {
      // A file that is not a usable key is refused; one we may not read leaves the HMAC unchecked, said so below.
      if (!(e instanceof AuditKeyError) || e.reason === "invalid") {
        err.write(`mcp-warden audit verify: ${(e as Error).message}\n`);
        return 2;
      }
      verifyOpts.keyError = e.message;
    }
  }
  let result: VerifyResult;
  try {
    result = verifyAudit(opts.dir, verifyOpts);
  } catch (e) {
    // Could not check is not "intact".
    err.write(`mcp-warden audit verify: cannot read ${opts.dir}: ${(e as Error).message}\n`);
    return 1;
  }
  if (opts.json) {
    out.write(`${JSON.stringify(result)}\n`);
  } else {
    out.write(formatVerify(opts.dir, result));
  }
  return result.status === "intact" ? 0 : result.status === "broken" ? 1 : 3;
}

function formatVerify(dir: string, r: VerifyResult): string {
  if (r.segments === 0 && r.checkpoint === null) return "no audit records\n";
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const counts = `${plural(r.records, "record")} in ${plural(r.segments, "segment")}`;
  const lines: string[] = [];
  if (r.status === "intact") {
    const how = r.checkpoint?.hmac === "verified" ? "the keyed checkpoint (HMAC verified)" : "the checkpoint (unkeyed)";
    lines.push(`audit log intact: ${counts}, every chain and every segment's head checked against ${how}`);
  } else {
    if (r.firstBroken) {
      const b = r.firstBroken;
      lines.push(`audit log broken at ${join(dir, b.file)}:${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ""}: ${b.reason}`);
    }
    for (const p of r.problems) lines.push(`audit log broken at ${join(dir, p.file)}${p.seq !== undefined ? ` (seq ${p.seq})` : ""}: ${p.reason}`);
    for (const u of r.unverified) lines.push(`audit log unverified: ${u}`);
    if (r.status === "unverified") lines.push(`no record was found altered (${counts}), but the log is not proven complete`);
  }
  if (r.uncovered > 0)
    lines.push(`${plural(r.uncovered, "record")} written after the last checkpoint update${r.checkpoint?.updated ? ` (${r.checkpoint.updated})` : ""} not yet covered by it: normal while a writer runs, or after a crash`);
  return lines.map((l) => `${l}\n`).join("");
}

/** `audit verify` of the PostgreSQL log: 0 every writer's chain intact, 1 a chain broken or the table unreadable. */
async function verifyPostgres(url: string, json: boolean, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let result: PgVerifyResult;
  try {
    result = await verifyPostgresAudit(url);
  } catch (e) {
    err.write(`mcp-warden audit verify: cannot read the PostgreSQL audit log (state.postgres): ${describePgError(e as Error)}\n`);
    return 1;
  }
  if (json) {
    out.write(`${JSON.stringify(result)}\n`);
  } else {
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const counts = `${plural(result.records, "record")} from ${plural(result.writers, "writer")}`;
    if (result.ok) out.write(`audit log intact (PostgreSQL ${AUDIT_TABLE}): ${counts}, every writer's chain checked\n`);
    for (const b of result.broken) out.write(`audit log broken (PostgreSQL ${AUDIT_TABLE}) at writer ${cell(b.writer)} seq ${b.seq}: ${b.reason}\n`);
    if (result.unfinished.length > 0)
      out.write(`${plural(result.unfinished.length, "writer")} without a stop record (still running, killed, or their newest records removed): ${result.unfinished.map(cell).join(", ")}\n`);
  }
  return result.ok ? 0 : 1;
}
