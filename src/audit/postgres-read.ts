// Reading the PostgreSQL audit log: `audit` (query) and `audit verify`. Verify walks every writer's
// chain in (writer, seq) order, a page at a time, and names the first broken record of each writer:
// a line that is not a record, a row whose columns no longer match its line, a seq gap (rows
// deleted), a link that does not match (a line altered, e.g. by a superuser who disabled the
// trigger). Each writer's writer-link record names the newest record of another writer when it
// started: that record must still exist with that hash, so a whole writer removed, or its records
// cut back past that point, shows too. What remains unseen: the newest records of the newest
// writers (nobody linked to them yet); verify lists the writers that have no stop record (still
// running, killed, or cut short).
import type pg from "pg";
import { pgModule } from "../adapters/pg-module.js";
import { AUDIT_TABLE, auditTableProblem } from "./postgres-schema.js";
import { indexedColumns, WRITER_LINK_EVENT, WRITER_START_EVENT } from "./postgres.js";
import { matchRecord, type AuditFilter } from "./query.js";
import { GENESIS_PREV, hashLine, parseRecordLine, type AuditRecord } from "./record.js";

export interface PgBroken {
  writer: string;
  seq: number;
  reason: string;
}

export interface PgVerifyResult {
  ok: boolean;
  status: "intact" | "broken";
  writers: number;
  records: number;
  /** The first broken record of each writer whose chain is broken. */
  broken: PgBroken[];
  /** Writers without the gateway's stop record: running, killed, or their newest records removed. */
  unfinished: string[];
}

interface DbRow {
  writer: string;
  seq: string;
  time: Date;
  line: string;
  prev: string;
  kind: string;
  event: string | null;
  principal: string | null;
  server: string | null;
  tool: string | null;
  decision: string | null;
}

const PAGE = 5000;

async function connect(url: string): Promise<pg.Client> {
  const client = new (pgModule().Client)({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const problem = await auditTableProblem(client, false);
    if (problem) throw new Error(problem);
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
  return client;
}

/** Every row in (writer, seq) order, a page at a time (keyset pagination: no long transaction, no offset scans). */
async function* allRows(client: pg.Client): AsyncGenerator<DbRow> {
  let after: [string, string] | undefined;
  for (;;) {
    const page = await client.query<DbRow>(
      `SELECT writer, seq, time, line, prev, kind, event, principal, server, tool, decision FROM ${AUDIT_TABLE}
       ${after ? "WHERE (writer, seq) > ($1, $2::bigint)" : ""} ORDER BY writer, seq LIMIT ${PAGE}`,
      after ?? [],
    );
    for (const row of page.rows) yield row;
    if (page.rows.length < PAGE) return;
    const last = page.rows.at(-1)!;
    after = [last.writer, last.seq];
  }
}

interface Checked {
  seq: number;
  hash: string;
}

/** Checks every writer's chain. Throws when the database cannot be read (that is not "intact"). */
export async function verifyPostgresAudit(url: string): Promise<PgVerifyResult> {
  const client = await connect(url);
  const result: PgVerifyResult = { ok: false, status: "intact", writers: 0, records: 0, broken: [], unfinished: [] };
  try {
    // First the links between writers, so the walk below can note the hashes they ask for.
    const links = await writerLinks(client);
    const wanted = new Map(links.map((l) => [`${l.target.writer}\0${l.target.seq}`, undefined as string | undefined]));
    let writer: string | undefined;
    let expected = 0;
    let last: Checked | undefined;
    // A writer's stop record is its last but for, at most, its writer-link (chained when it first reached the table).
    let stopped = false;
    let brokenHere = false;
    // A link mismatch between `last` and `cur`: the next row tells which of the two was altered.
    let pending: { before: Checked; cur: Checked } | undefined;
    const fail = (seq: number, reason: string) => {
      if (brokenHere) return;
      brokenHere = true;
      result.broken.push({ writer: writer!, seq, reason });
    };
    const endWriter = () => {
      if (writer === undefined) return;
      if (pending) fail(pending.before.seq, `record modified: its hash does not match the prev of the next record (seq ${pending.cur.seq}), or that record's prev was altered`);
      pending = undefined;
      if (!stopped) result.unfinished.push(writer);
    };
    for await (const row of allRows(client)) {
      if (row.writer !== writer) {
        endWriter();
        writer = row.writer;
        result.writers++;
        expected = 0;
        last = undefined;
        stopped = false;
        brokenHere = false;
      }
      result.records++;
      const seq = Number(row.seq);
      const hash = hashLine(row.line);
      const key = `${row.writer}\0${seq}`;
      if (wanted.has(key)) wanted.set(key, hash);
      const parsed = parseRecordLine(row.line);
      if (parsed.record?.kind === "gateway" && parsed.record.event === "stopped") stopped = true;
      if (brokenHere) continue;
      if (pending) {
        // The row after a mismatch still chains to the suspect: the one before was altered.
        if (row.prev !== pending.cur.hash) fail(pending.cur.seq, "record modified: it chains neither to the record before it nor to the one after it");
        else fail(pending.before.seq, `record modified: its hash does not match the prev of the next record (seq ${pending.cur.seq})`);
        continue;
      }
      if (!parsed.record) {
        fail(seq, `the stored line is not a valid record: ${parsed.error}`);
        continue;
      }
      const rec = parsed.record;
      const mismatch = rowMismatch(row, seq, rec);
      if (mismatch) {
        fail(seq, `record modified: its row's ${mismatch} no longer match the record`);
        continue;
      }
      if (seq !== expected) {
        fail(seq, `${seq - expected} record(s) missing before seq ${seq} (rows deleted)`);
        continue;
      }
      if (seq === 0) {
        if (rec.prev !== GENESIS_PREV) fail(seq, "the first record of a writer must have a prev of 64 zeros");
        else if (!(rec.kind === "gateway" && rec.event === WRITER_START_EVENT && rec.detail?.writer === writer))
          fail(seq, "the first record of a writer is not its writer-start record (its first records were deleted)");
      } else if (rec.prev !== last!.hash) {
        pending = { before: last!, cur: { seq, hash } };
      }
      last = { seq, hash };
      expected = seq + 1;
    }
    endWriter();
    const brokenWriters = new Set(result.broken.map((b) => b.writer));
    for (const link of links) {
      if (brokenWriters.has(link.writer)) continue; // its chain is already reported broken
      const found = wanted.get(`${link.target.writer}\0${link.target.seq}`);
      const what = `the record it links to (writer ${link.target.writer} seq ${link.target.seq})`;
      if (found === undefined) result.broken.push({ writer: link.writer, seq: link.seq, reason: `${what} is missing: records of that writer were deleted` });
      else if (found !== link.target.hash) result.broken.push({ writer: link.writer, seq: link.seq, reason: `${what} was altered` });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  result.status = result.broken.length > 0 ? "broken" : "intact";
  result.ok = result.status === "intact";
  return result;
}

interface WriterLink {
  writer: string;
  seq: number;
  target: { writer: string; seq: number; hash: string };
}

/** Every writer-link record naming another writer's record. One that does not parse is the chain walk's to report. */
async function writerLinks(client: pg.Client): Promise<WriterLink[]> {
  const res = await client.query<{ writer: string; seq: string; line: string }>(`SELECT writer, seq, line FROM ${AUDIT_TABLE} WHERE kind = 'gateway' AND event = $1`, [WRITER_LINK_EVENT]);
  const links: WriterLink[] = [];
  for (const row of res.rows) {
    const d = parseRecordLine(row.line).record?.detail as { previousWriter?: unknown; previousSeq?: unknown; previousHash?: unknown } | undefined;
    if (typeof d?.previousWriter !== "string" || typeof d.previousSeq !== "number" || typeof d.previousHash !== "string") continue;
    links.push({ writer: row.writer, seq: Number(row.seq), target: { writer: d.previousWriter, seq: d.previousSeq, hash: d.previousHash } });
  }
  return links;
}

/** Which of a row's columns disagree with its line, or undefined when none does. */
function rowMismatch(row: DbRow, seq: number, rec: AuditRecord): string | undefined {
  const bad: string[] = [];
  if (rec.seq !== seq) bad.push("seq");
  if (rec.prev !== row.prev) bad.push("prev");
  if (Date.parse(rec.time) !== row.time.getTime()) bad.push("time");
  const columns = indexedColumns(rec);
  const stored = [row.kind, row.event, row.principal, row.server, row.tool, row.decision];
  const names = ["kind", "event", "principal", "server", "tool", "decision"];
  columns.forEach((v, i) => {
    if (v !== stored[i]) bad.push(names[i]!);
  });
  return bad.length > 0 ? bad.join(", ") : undefined;
}

/**
 * Records matching `filter`, oldest first (by time, then writer and seq); the newest `limit` when
 * given. The indexed columns narrow the scan; every row is then matched against its own line.
 */
export async function queryPostgresAudit(url: string, filter: AuditFilter, limit?: number): Promise<{ records: AuditRecord[]; damaged: { writer: string; seq: number; error: string }[] }> {
  const client = await connect(url);
  try {
    const where: string[] = [];
    const params: unknown[] = [];
    const eq = (column: string, value: unknown) => {
      params.push(value);
      where.push(`${column} = $${params.length}`);
    };
    if (filter.server !== undefined) eq("server", filter.server);
    if (filter.decision !== undefined) eq("decision", filter.decision);
    if (filter.kind !== undefined) eq("kind", filter.kind);
    if (filter.event !== undefined) eq("event", filter.event);
    if (filter.since !== undefined) {
      params.push(filter.since);
      where.push(`time >= $${params.length}`);
    }
    if (filter.until !== undefined) {
      params.push(filter.until);
      where.push(`time <= $${params.length}`);
    }
    // The tool glob is matched here, after the query: a LIMIT in SQL would count rows it then drops.
    const sqlLimit = limit !== undefined && filter.tool === undefined ? ` LIMIT ${Number(limit)}` : "";
    const order = sqlLimit ? "DESC" : "ASC";
    const res = await client.query<{ writer: string; seq: string; line: string }>(
      `SELECT writer, seq, line FROM ${AUDIT_TABLE} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY time ${order}, writer ${order}, seq ${order}${sqlLimit}`,
      params,
    );
    const rows = sqlLimit ? res.rows.reverse() : res.rows;
    const records: AuditRecord[] = [];
    const damaged: { writer: string; seq: number; error: string }[] = [];
    for (const row of rows) {
      const parsed = parseRecordLine(row.line);
      if (!parsed.record) damaged.push({ writer: row.writer, seq: Number(row.seq), error: parsed.error });
      else if (matchRecord(parsed.record, filter)) records.push(parsed.record);
    }
    return { records: limit !== undefined ? records.slice(-limit) : records, damaged };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Every row in the time range (and of one server, when given), oldest first, a page at a time
 * (keyset on time, writer, seq: memory stays at one page whatever the table's size). A row whose
 * line is not a record comes back with `error`. For the incident report's passes over the log.
 */
export async function* pagePostgresAudit(url: string, filter: { server?: string; since?: Date; until?: Date }): AsyncGenerator<{ writer: string; seq: number; record?: AuditRecord; error?: string }> {
  const client = await connect(url);
  try {
    let after: [Date, string, string] | undefined;
    for (;;) {
      const params: unknown[] = [];
      const where: string[] = [];
      const add = (sql: (n: number) => string, ...values: unknown[]) => {
        params.push(...values);
        where.push(sql(params.length - values.length + 1));
      };
      // A server's records, and the hook's decisions on its tools (which name only the tool): the collector checks again.
      if (filter.server !== undefined) add((n) => `(server = $${n} OR (server IS NULL AND kind = 'decision' AND tool LIKE $${n + 1}))`, filter.server, `mcp__${filter.server}__%`);
      if (filter.since !== undefined) add((n) => `time >= $${n}`, filter.since);
      if (filter.until !== undefined) add((n) => `time <= $${n}`, filter.until);
      if (after) add((n) => `(time, writer, seq) > ($${n}, $${n + 1}, $${n + 2}::bigint)`, ...after);
      const page = await client.query<{ writer: string; seq: string; time: Date; line: string }>(
        `SELECT writer, seq, time, line FROM ${AUDIT_TABLE} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY time, writer, seq LIMIT ${PAGE}`,
        params,
      );
      for (const row of page.rows) {
        const parsed = parseRecordLine(row.line);
        yield parsed.record ? { writer: row.writer, seq: Number(row.seq), record: parsed.record } : { writer: row.writer, seq: Number(row.seq), error: parsed.error };
      }
      if (page.rows.length < PAGE) return;
      const last = page.rows.at(-1)!;
      after = [last.time, last.writer, last.seq];
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
