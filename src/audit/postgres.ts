// The audit log in PostgreSQL (`state.postgres`), for several gateway replicas sharing one log.
// Each process is one writer with its own hash chain (writer id, seq 0, 1, 2, ...), so replicas never
// contend for a chain head; `audit verify` checks every writer's chain (postgres-verify.ts).
//
// Writes are asynchronous, ordered and fail closed:
// - append() chains the record synchronously (seq, prev hash) exactly as the file log does and queues
//   it; one insert at a time sends the queue, in order, as one multi-row INSERT.
// - The record a forwarded call depends on (the decision record) is written with appendDurable(),
//   which the audit-decision stage AWAITS: it resolves once that row, and every row queued before it,
//   is committed. We chose the awaited append over a synchronous facade with a local spool: a spool
//   would be a second durable store to keep, verify and replay on every replica's disk (which is
//   read-only in the hardened image), and the pipeline stage is already async.
// - Any failed insert (PostgreSQL unreachable, a timeout, a refused privilege) fails the sink: every
//   waiting and later append rejects, so no call is forwarded unaudited. The rows of a failed insert
//   may or may not have been committed, so that chain cannot go on. The sink then probes the
//   database every RECOVERY_PROBE_MS; once it answers (and the table is usable), a NEW writer starts
//   (a new chain whose writer-start names the failed one, and whose writer-link records the newest
//   row then in the table), and calls are recorded and forwarded again without a restart. The calls
//   refused meanwhile were never forwarded, so the log has no gap where it matters.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import { pgModule } from "../adapters/pg-module.js";
import { buildRecord, GENESIS_PREV, hashLine, isAuditKind, type AuditEntry, type AuditRecord } from "./record.js";
import { compileRedactor, type Redactor } from "./redact.js";
import type { AuditSink } from "./sink.js";
import { AUDIT_TABLE, auditTableProblem } from "./postgres-schema.js";

export const WRITER_START_EVENT = "writer-start";
/** Names the newest record of another writer when this one first reached the table (see verify). */
export const WRITER_LINK_EVENT = "writer-link";

export interface PostgresSinkOptions {
  /** A postgres:// or postgresql:// URL (`state.postgres`). */
  url: string;
  secrets?: readonly string[];
  /** How long one insert (or connecting) may take before the sink fails; default 10 s. */
  timeoutMs?: number;
  /** Told when the sink fails (the message) and when a new writer has taken over (undefined). */
  onHealth?: (failure: string | undefined) => void;
}

/** What the audit sink's failure looks like to a caller: says what to do next, never the URL. */
export class PostgresAuditError extends Error {
  override name = "PostgresAuditError";
}

interface Row {
  record: AuditRecord;
  line: string;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const BATCH = 500;
/** How often a failed sink asks the database whether it is back. */
export const RECOVERY_PROBE_MS = 1_000;

/** The columns copied from a record for the indexes; verify recomputes them. Text may hold no NUL in PostgreSQL. */
export function indexedColumns(r: AuditRecord): [string, string | null, string | null, string | null, string | null, string | null] {
  const t = (v: unknown): string | null => (typeof v === "string" ? v.replace(/\0/g, "") : null);
  return [t(r.kind)!, t(r.event), t(r.principal?.subject), t(r.server), t(r.tool), t(r.decision)];
}

export class PostgresAuditSink implements AuditSink {
  /** This process's current chain: host, pid and a random part, so a restarted pid never continues another chain; a new one after a recovery. */
  #writer = newWriterId();
  get writer(): string {
    return this.#writer;
  }
  readonly durableOnAppend = false;
  get where(): string {
    return `postgresql table ${AUDIT_TABLE}, writer ${this.#writer}`;
  }
  readonly #pool: pg.Pool;
  readonly #redactor: Redactor;
  #seq = 0;
  #prev = GENESIS_PREV;
  #queue: Row[] = [];
  #committed = -1;
  #waiters: Waiter[] = [];
  #pumping: Promise<void> | undefined;
  #scheduled = false;
  #checked = false;
  #failure: PostgresAuditError | undefined;
  #closed = false;
  #recovery: NodeJS.Timeout | undefined;
  /** Whether any insert succeeded: a sink that never reached the table (start-up) does not wait for it, its process stops. */
  #everCommitted = false;
  readonly #onHealth: ((failure: string | undefined) => void) | undefined;

  constructor(opts: PostgresSinkOptions) {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    // One connection: inserts are sent one at a time anyway, in chain order.
    this.#pool = new (pgModule().Pool)({ connectionString: opts.url, max: 1, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, idleTimeoutMillis: 0 });
    // A connection dropped while idle: the next insert fails and reports it; nothing to do here.
    this.#pool.on("error", () => undefined);
    this.#redactor = compileRedactor(opts.secrets);
    this.#onHealth = opts.onHealth;
    // Every chain starts with a record naming its writer, as every file segment starts with a segment-start.
    this.#chain({ kind: "gateway", event: WRITER_START_EVENT, detail: { writer: this.#writer, host: hostname(), pid: process.pid } }, false);
    this.#schedule();
  }

  /** The failure in force (every append refused), or undefined while records are being written. */
  get failure(): string | undefined {
    return this.#failure?.message;
  }

  append(entry: AuditEntry): AuditRecord {
    const record = this.#chain(entry, this.#redactor.active);
    this.#schedule();
    return record;
  }

  appendSoon(entry: AuditEntry): AuditRecord {
    return this.append(entry);
  }

  appendDurable(entry: AuditEntry): Promise<AuditRecord> {
    let record: AuditRecord;
    try {
      record = this.append(entry);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.#committedThrough(record.seq).then(() => record);
  }

  /** Resolves once every record appended so far is committed; rejects if the sink failed. */
  flush(): Promise<void> {
    return this.#committedThrough(this.#seq - 1);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#failure) await this.flush().catch(() => undefined);
    } finally {
      this.#closed = true;
      clearTimeout(this.#recovery);
      await this.#pool.end().catch(() => undefined);
    }
  }

  #chain(entry: AuditEntry, redact: boolean): AuditRecord {
    if (this.#closed) throw new PostgresAuditError(`the audit log (${this.where}) is closed`);
    if (this.#failure) throw this.#failure;
    if (typeof entry !== "object" || entry === null || !isAuditKind(entry.kind))
      throw new TypeError(`audit entry has an invalid kind: ${JSON.stringify((entry as { kind?: unknown } | null)?.kind) ?? "undefined"}`);
    const time = new Date().toISOString();
    let record = buildRecord(this.#seq, time, entry, this.#prev);
    let line = JSON.stringify(record);
    if (redact && this.#redactor.mayContain(line)) {
      record = buildRecord(this.#seq, time, this.#redactor.value(entry) as AuditEntry, this.#prev);
      line = JSON.stringify(record);
    }
    this.#queue.push({ record, line });
    this.#prev = hashLine(line);
    this.#seq++;
    return record;
  }

  #committedThrough(seq: number): Promise<void> {
    if (this.#committed >= seq) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
  }

  /** Sends the queue within this turn of the event loop, batched with whatever else is appended in it. */
  #schedule(): void {
    if (this.#scheduled || this.#pumping) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pumping ??= this.#pump().finally(() => {
        this.#pumping = undefined;
        // Appended while the last insert was finishing.
        if (this.#queue.length > 0 && !this.#failure) this.#schedule();
      });
    });
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failure) {
      let batch: Row[];
      try {
        if (!this.#checked) {
          const problem = await this.#tableProblem();
          if (problem) throw new PostgresAuditError(problem);
          this.#checked = true;
          // Chains link to each other as file segments do: a writer whose records (or newest
          // records) were deleted shows in the link a later writer made to it.
          const newest = await this.#pool.query<{ writer: string; seq: string; line: string }>(
            `SELECT writer, seq, line FROM ${AUDIT_TABLE} WHERE writer <> $1 ORDER BY time DESC, seq DESC LIMIT 1`,
            [this.#writer],
          );
          const row = newest.rows[0];
          this.#chain(
            { kind: "gateway", event: WRITER_LINK_EVENT, detail: row ? { previousWriter: row.writer, previousSeq: Number(row.seq), previousHash: hashLine(row.line) } : { previousWriter: null } },
            false,
          );
        }
        batch = this.#queue.slice(0, BATCH);
        await this.#insert(batch);
      } catch (e) {
        this.#fail(e as Error);
        return;
      }
      // Records appended meanwhile stay queued behind the batch.
      this.#queue.splice(0, batch.length);
      this.#committed = batch.at(-1)!.record.seq;
      this.#everCommitted = true;
      const due = this.#waiters.filter((w) => w.seq <= this.#committed);
      this.#waiters = this.#waiters.filter((w) => w.seq > this.#committed);
      for (const w of due) w.resolve();
    }
  }

  async #tableProblem(): Promise<string | undefined> {
    const client = await this.#pool.connect();
    try {
      return await auditTableProblem(client as unknown as pg.Client, true);
    } finally {
      client.release();
    }
  }

  async #insert(batch: Row[]): Promise<void> {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const { record, line } of batch) {
      const n = values.length;
      values.push(this.#writer, record.seq, record.time, line, record.prev, ...indexedColumns(record));
      tuples.push(`(${Array.from({ length: 11 }, (_, i) => `$${n + i + 1}`).join(", ")})`);
    }
    // One statement: the batch is committed whole or not at all.
    await this.#pool.query(`INSERT INTO ${AUDIT_TABLE} (writer, seq, time, line, prev, kind, event, principal, server, tool, decision) VALUES ${tuples.join(", ")}`, values);
  }

  #fail(e: Error): void {
    const why = e instanceof PostgresAuditError ? e.message : describePgError(e);
    this.#failure = new PostgresAuditError(
      this.#everCommitted
        ? `the audit log in PostgreSQL failed: ${why}. Nothing is forwarded until it is back (no call goes unaudited); make PostgreSQL reachable (state.postgres): mcp-warden checks every ${RECOVERY_PROBE_MS / 1000} s and carries on by itself`
        : `the audit log in PostgreSQL failed: ${why}. Nothing is forwarded (no call goes unaudited); make PostgreSQL reachable (state.postgres) and restart mcp-warden`,
      { cause: e },
    );
    this.#queue = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(this.#failure);
    this.#onHealth?.(this.#failure.message);
    if (this.#everCommitted) this.#probeLater();
  }

  #probeLater(): void {
    if (this.#closed) return;
    this.#recovery = setTimeout(() => void this.#probe(), RECOVERY_PROBE_MS);
    this.#recovery.unref();
  }

  /** Starts a new writer once the database answers and the table is usable again; otherwise probes again later. */
  async #probe(): Promise<void> {
    if (this.#closed || !this.#failure) return;
    let problem: string | undefined;
    try {
      problem = await this.#tableProblem();
    } catch {
      problem = "unreachable";
    }
    if (this.#closed) return;
    if (problem !== undefined) return this.#probeLater();
    const failed = this.#writer;
    const reason = this.#failure.message;
    this.#writer = newWriterId();
    this.#seq = 0;
    this.#prev = GENESIS_PREV;
    this.#committed = -1;
    this.#checked = false;
    this.#failure = undefined;
    this.#chain({ kind: "gateway", event: WRITER_START_EVENT, detail: { writer: this.#writer, host: hostname(), pid: process.pid, recoveredFrom: failed, failure: reason } }, false);
    this.#schedule();
    this.#onHealth?.(undefined);
  }
}

function newWriterId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/** A pg or socket error in one line, without the connection URL. */
export function describePgError(e: Error): string {
  // Connecting to a name with several addresses fails with an AggregateError and an empty message.
  const inner = e instanceof AggregateError && e.errors[0] instanceof Error ? (e.errors[0] as Error) : e;
  const code = (inner as { code?: string }).code;
  const message = inner.message || String(inner);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
