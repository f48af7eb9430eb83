// The console's reading of the audit log, from wherever serve writes it: the file log (audit.dir,
// read newest first from its end: src/audit/newest-first.ts) or PostgreSQL (state.postgres, the
// table's time, principal, server and decision indexes; keyset pagination, never OFFSET). Every
// answer is bounded: a page holds at most `limit` records, and a search that finds few matches
// stops after MAX_SCAN records and offers to continue from there, so a page costs the same on a log
// of a hundred thousand records as on a small one.
import pg from "pg";
import { type LinePosition, linesNewestFirst, parseLineAt, readNewestFirst, readRecordAt } from "../../audit/newest-first.js";
import { matchRecord, type AuditFilter } from "../../audit/query.js";
import { AUDIT_TABLE } from "../../audit/postgres-schema.js";
import { parseRecordLine, type AuditRecord } from "../../audit/record.js";

export interface ActivityFilter extends AuditFilter {
  /** The principal's subject, exactly. */
  principal?: string;
}

export interface ActivityPage {
  records: { ref: string; record: AuditRecord }[];
  /** Where the next (older) page starts; undefined when the log has nothing older. */
  next?: string;
  /** The scan stopped at its bound before the page was full: `next` continues it. */
  scanLimited: boolean;
  /** Lines that are not records (shown, never skipped silently: `mcp-warden audit verify`). */
  damaged: number;
}

export interface MinuteCounts {
  /** Epoch ms of the minute's start. */
  minute: number;
  allow: number;
  ask: number;
  deny: number;
}

export interface ActivitySource {
  /** "the file log in DIR" or "PostgreSQL": said on the pages. */
  readonly where: string;
  page(filter: ActivityFilter, cursor: string | undefined, limit: number): Promise<ActivityPage>;
  get(ref: string): Promise<AuditRecord | undefined>;
  /** Tool calls decided per minute since `since`; `partial` when the scan stopped at its bound. */
  callsPerMinute(since: Date): Promise<{ minutes: MinuteCounts[]; partial: boolean }>;
  close(): Promise<void>;
}

/** Records read for one page at most, matches or not. */
export const MAX_SCAN = 20_000;
/** Records read for the overview's chart at most. */
export const MAX_CHART_SCAN = 100_000;

const encode = (v: unknown[]) => Buffer.from(JSON.stringify(v)).toString("base64url");
function decode(s: string | undefined): unknown[] | undefined {
  if (s === undefined || s.length > 1024) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function matchActivity(r: AuditRecord, f: ActivityFilter): boolean {
  if (f.principal !== undefined && r.principal?.subject !== f.principal) return false;
  return matchRecord(r, f);
}

function addCount(byMinute: Map<number, MinuteCounts>, r: AuditRecord): void {
  if (r.kind !== "call" || r.event !== "decided") return;
  const d = r.decision;
  if (d !== "allow" && d !== "ask" && d !== "deny") return;
  const t = Date.parse(r.time);
  if (Number.isNaN(t)) return;
  const minute = t - (t % 60_000);
  const c = byMinute.get(minute) ?? { minute, allow: 0, ask: 0, deny: 0 };
  c[d]++;
  byMinute.set(minute, c);
}

const YIELD_EVERY = 2_000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether a line lies at or before `pos` in the log (segments sort by name, lines by offset). */
function atOrBefore(item: LinePosition, pos: LinePosition): boolean {
  return item.segment < pos.segment || (item.segment === pos.segment && item.offset <= pos.offset);
}

/**
 * A cheap test a line must pass to match `f`: the writer serializes records with JSON.stringify, so
 * a record whose field equals a value holds `"field":<the value as JSON>`, and one whose tool
 * matches a glob holds each literal piece of the glob. Necessary, not sufficient: what passes is
 * parsed and matched in full. A damaged line fails it and is not counted as damaged here; the
 * unfiltered view and `audit verify` still report it.
 */
export function linePrefilter(f: ActivityFilter): (line: Buffer) => boolean {
  const needles: Buffer[] = [];
  const field = (name: string, value: string | undefined) => {
    if (value !== undefined) needles.push(Buffer.from(`"${name}":${JSON.stringify(value)}`));
  };
  field("server", f.server);
  field("decision", f.decision);
  field("kind", f.kind);
  field("event", f.event);
  field("subject", f.principal);
  if (f.tool !== undefined) {
    if (!f.tool.includes("*")) field("tool", f.tool);
    else for (const piece of f.tool.split("*")) if (piece !== "") needles.push(Buffer.from(JSON.stringify(piece).slice(1, -1)));
  }
  if (needles.length === 0) return () => true;
  return (line) => needles.every((n) => line.includes(n));
}

const TIME_KEY = Buffer.from('"time":"');

/** A record line's time without parsing it (the writer puts it near the start), or undefined. */
function lineTime(line: Buffer): number | undefined {
  const at = line.indexOf(TIME_KEY);
  if (at < 0 || at > 64) return undefined;
  const start = at + TIME_KEY.length;
  const end = line.indexOf(0x22, start);
  if (end < 0 || end - start > 40) return undefined;
  const t = Date.parse(line.toString("latin1", start, end));
  return Number.isNaN(t) ? undefined : t;
}

/** The file log: newest first from the end of the newest segment. */
export function fileActivity(dir: string, bounds: { maxScan?: number; maxChartScan?: number } = {}): ActivitySource {
  const maxScan = bounds.maxScan ?? MAX_SCAN;
  const maxChartScan = bounds.maxChartScan ?? MAX_CHART_SCAN;
  let chart: { newest: LinePosition | undefined; byMinute: Map<number, MinuteCounts>; partialUntil: number | undefined } | undefined;
  return {
    where: `the audit log in ${dir}`,
    async page(filter, cursor, limit) {
      const from = decode(cursor);
      const start = from && typeof from[0] === "string" && typeof from[1] === "number" ? { segment: from[0], offset: from[1] } : undefined;
      if (cursor !== undefined && !start) return { records: [], scanLimited: false, damaged: 0 };
      const out: ActivityPage = { records: [], scanLimited: false, damaged: 0 };
      let scanned = 0;
      let last: [string, number] | undefined;
      const mayMatch = linePrefilter(filter);
      for (const line of linesNewestFirst(dir, start)) {
        if (last && (out.records.length >= limit || scanned >= maxScan)) {
          // `line` is the first one not taken: the next page is what lies before the last one read.
          out.next = encode(last);
          out.scanLimited = out.records.length < limit;
          return out;
        }
        if (++scanned % YIELD_EVERY === 0) await yieldToLoop();
        last = [line.segment, line.offset];
        // A line without the filter's values cannot match: it is not parsed, unless the range's
        // start needs its time (a line whose time cannot be read this way is parsed).
        if (!mayMatch(line.bytes)) {
          if (!filter.since) continue;
          const t = lineTime(line.bytes);
          if (t !== undefined) {
            if (t < filter.since.getTime()) return out;
            continue;
          }
        }
        const item = parseLineAt(line);
        if (item.error !== undefined) {
          out.damaged++;
          continue;
        }
        // Newest first: past the start of the range, nothing older can match.
        if (filter.since && Date.parse(item.record.time) < filter.since.getTime()) return out;
        if (matchActivity(item.record, filter)) out.records.push({ ref: encode([item.segment, item.offset]), record: item.record });
      }
      return out;
    },
    async get(ref) {
      const at = decode(ref);
      if (!at || typeof at[0] !== "string" || typeof at[1] !== "number") return undefined;
      return readRecordAt(dir, { segment: at[0], offset: at[1] });
    },
    async callsPerMinute(since) {
      // Incremental: only the records written since the last scan are read (newest first, down to
      // the newest one read last time), so a refresh costs what was appended, not the hour.
      const prev = chart;
      const byMinute = new Map<number, MinuteCounts>();
      for (const [k, c] of prev?.byMinute ?? []) if (k >= since.getTime() - 60_000) byMinute.set(k, { ...c });
      let newest: LinePosition | undefined;
      let partialUntil = prev?.partialUntil;
      let scanned = 0;
      for (const item of readNewestFirst(dir)) {
        if (prev?.newest && atOrBefore(item, prev.newest)) break;
        newest ??= { segment: item.segment, offset: item.offset };
        if (++scanned > maxChartScan) {
          partialUntil = item.record ? Date.parse(item.record.time) : Date.now();
          break;
        }
        // The reads are synchronous: let the gateway's own work in between.
        if (scanned % YIELD_EVERY === 0) await yieldToLoop();
        if (!item.record) continue;
        if (Date.parse(item.record.time) < since.getTime()) break;
        addCount(byMinute, item.record);
      }
      chart = { newest: newest ?? prev?.newest, byMinute, partialUntil };
      const minutes = [...byMinute.values()].filter((m) => m.minute + 60_000 > since.getTime()).map((m) => ({ ...m }));
      return { minutes, partial: partialUntil !== undefined && partialUntil > since.getTime() };
    },
    async close() {},
  };
}

/** LIKE pattern of an audit tool glob (`*` any run of characters). */
function likeOf(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%");
}

/** The PostgreSQL audit table (state.postgres), through a small pool of its own. */
export function postgresActivity(url: string): ActivitySource {
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, statement_timeout: 10_000 });
  pool.on("error", () => undefined);
  return {
    where: `the PostgreSQL table ${AUDIT_TABLE}`,
    async page(filter, cursor, limit) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: (n: number) => string, value: unknown) => {
        params.push(value);
        where.push(sql(params.length));
      };
      if (filter.principal !== undefined) add((n) => `principal = $${n}`, filter.principal);
      if (filter.server !== undefined) add((n) => `server = $${n}`, filter.server);
      if (filter.decision !== undefined) add((n) => `decision = $${n}`, filter.decision);
      if (filter.kind !== undefined) add((n) => `kind = $${n}`, filter.kind);
      if (filter.event !== undefined) add((n) => `event = $${n}`, filter.event);
      if (filter.tool !== undefined) add((n) => (filter.tool!.includes("*") ? `tool LIKE $${n}` : `tool = $${n}`), filter.tool.includes("*") ? likeOf(filter.tool) : filter.tool);
      if (filter.since !== undefined) add((n) => `time >= $${n}`, filter.since);
      if (filter.until !== undefined) add((n) => `time <= $${n}`, filter.until);
      const from = decode(cursor);
      if (cursor !== undefined) {
        if (!from || typeof from[0] !== "string" || typeof from[1] !== "string" || typeof from[2] !== "string" || Number.isNaN(Date.parse(from[0]))) return { records: [], scanLimited: false, damaged: 0 };
        params.push(new Date(from[0]), from[1], from[2]);
        where.push(`(time, writer, seq) < ($${params.length - 2}, $${params.length - 1}, $${params.length}::bigint)`);
      }
      const res = await pool.query<{ writer: string; seq: string; time: Date; line: string }>(
        `SELECT writer, seq, time, line FROM ${AUDIT_TABLE} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY time DESC, writer DESC, seq DESC LIMIT ${limit + 1}`,
        params,
      );
      const out: ActivityPage = { records: [], scanLimited: false, damaged: 0 };
      for (const row of res.rows.slice(0, limit)) {
        const parsed = parseRecordLine(row.line);
        if (!parsed.record) out.damaged++;
        else if (matchActivity(parsed.record, filter)) out.records.push({ ref: encode([row.writer, row.seq]), record: parsed.record });
      }
      if (res.rows.length > limit) {
        const last = res.rows[limit - 1]!;
        out.next = encode([last.time.toISOString(), last.writer, last.seq]);
      }
      return out;
    },
    async get(ref) {
      const at = decode(ref);
      if (!at || typeof at[0] !== "string" || typeof at[1] !== "string" || !/^\d{1,18}$/.test(at[1])) return undefined;
      const res = await pool.query<{ line: string }>(`SELECT line FROM ${AUDIT_TABLE} WHERE writer = $1 AND seq = $2::bigint`, [at[0], at[1]]);
      return res.rows[0] ? parseRecordLine(res.rows[0].line).record : undefined;
    },
    async callsPerMinute(since) {
      const res = await pool.query<{ minute: string; decision: string; n: number }>(
        `SELECT (extract(epoch FROM date_trunc('minute', time)) * 1000)::bigint AS minute, decision, count(*)::int AS n
         FROM ${AUDIT_TABLE} WHERE time >= $1 AND kind = 'call' AND event = 'decided' GROUP BY 1, 2`,
        [since],
      );
      const byMinute = new Map<number, MinuteCounts>();
      for (const row of res.rows) {
        const minute = Number(row.minute);
        const d = row.decision;
        if (d !== "allow" && d !== "ask" && d !== "deny") continue;
        const c = byMinute.get(minute) ?? { minute, allow: 0, ask: 0, deny: 0 };
        c[d] += row.n;
        byMinute.set(minute, c);
      }
      return { minutes: [...byMinute.values()], partial: false };
    },
    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
