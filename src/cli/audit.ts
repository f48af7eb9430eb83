// `mcp-warden audit query` and `audit verify`. Commander wiring lives elsewhere; these take parsed
// options and streams and return the exit code: 0 success, 1 the log is damaged or unreadable,
// 2 bad arguments.
import { join } from "node:path";
import type { Decision } from "../policy/types.js";
import { AUDIT_KINDS, isAuditKind, matchRecord, parseTimeArg, readAuditLines, verifyAudit, type AuditFilter, type AuditRecord } from "../audit/index.js";

export interface AuditQueryOptions {
  dir: string;
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

  const matches: AuditRecord[] = [];
  let damaged = 0;
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

export async function auditVerifyCommand(opts: { dir: string; json?: boolean }, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let result;
  try {
    result = verifyAudit(opts.dir);
  } catch (e) {
    // Could not check is not "intact".
    err.write(`mcp-warden audit verify: cannot read ${opts.dir}: ${(e as Error).message}\n`);
    return 1;
  }
  if (opts.json) {
    out.write(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    out.write(result.records === 0 && result.segments === 0 ? "no audit records\n" : `audit log intact: ${result.records} record${result.records === 1 ? "" : "s"} in ${result.segments} segment${result.segments === 1 ? "" : "s"}\n`);
  } else {
    const b = result.firstBroken!;
    out.write(`audit log broken at ${join(opts.dir, b.file)}:${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ""}: ${b.reason}\n`);
  }
  return result.ok ? 0 : 1;
}
