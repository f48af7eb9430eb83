// Tool pins and server approvals in PostgreSQL (`state.postgres`), shared by every `serve` replica and
// every CLI command with the same settings. Same semantics as the file store: the operations are
// pin-store-core.ts's; this file only says where records live and how a change is applied.
//
// The table, and why:
// - One row per approved server: `mcp_warden_pins (identity_digest PRIMARY KEY, server_name, version,
//   record, updated_at)`, where `record` is exactly the server record the pin file keeps under
//   `servers[<digest>]` (identity, approval, three maps of pins). A server record is the unit every
//   change touches (approve, pin, reset, adopt), as in the file; a row per pin would make each read
//   a join and each verification a reassembly, for no gain: a server's pins are read together.
// - `record` is text, not jsonb: the exact JSON written, read back byte for byte (jsonb would reorder
//   keys and refuses \u0000, which a definition may hold). Every row read is verified as strictly as
//   the pin file: digests recomputed, unknown fields refused, the key and `server_name` must match
//   the record. A row that does not verify is a PinStoreError "corrupt" naming it, never absence
//   (fail closed: the gateway then starts and exposes nothing of that server). Unlike the file, one
//   corrupt row does not hide the others from getServer; list() fails on any.
// - `version` is the record format (2); a newer one is a "version" error (upgrade mcp-warden).
// - Every change is one transaction: SELECT ... FOR UPDATE of the rows it reads, the change applied
//   to what they hold now, then UPDATE / DELETE, or INSERT ... ON CONFLICT DO NOTHING for a row that
//   was absent (rows that do not exist cannot be locked: when two writers insert the same server at
//   once, the second inserts nothing, rolls back and applies its change again to the row the first
//   committed). Deadlocks and serialization failures are retried too, a bounded number of times.
// - Timeouts (default 5 s): connecting and each lock wait; twice that for a statement, and a
//   client-side limit for an unanswered network. Any failure is a PinStoreError "io" (or
//   "lock-timeout") that says what to do and never holds the URL.
// - The gateway's role needs SELECT, INSERT, UPDATE and DELETE on this table only; the table is
//   created by its owner with `mcp-warden state init-postgres --role ROLE` (src/state/postgres-schema.ts).
// - Nothing is cached: every read is a query, so another replica's approval or pin is seen at once.
import type pg from "pg";
import { pgModule } from "./pg-module.js";
import { describePgError } from "../audit/postgres.js";
import { quoteIdent } from "../audit/postgres-schema.js";
import { parseServerRecord, pinStoreOver, PinStoreError, serializeServerRecord, type PinStore, type Records, type ServerPins } from "./pin-store-core.js";

export const PINS_TABLE = "mcp_warden_pins";
/** The record format in `version`: the pin file's version 2 server record. */
export const PIN_RECORD_VERSION = 2;

export const PINS_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS ${PINS_TABLE} (
  identity_digest text        PRIMARY KEY CHECK (identity_digest ~ '^sha256:[0-9a-f]{64}$'),
  server_name     text        NOT NULL,
  version         integer     NOT NULL,
  record          text        NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON ${PINS_TABLE} FROM PUBLIC;
`;

/** The gateway role's grants on the pins table: read and change rows, nothing else (no TRUNCATE, no DDL). */
export function pinsGrantSql(role: string): string {
  const r = quoteIdent(role);
  return `REVOKE ALL ON ${PINS_TABLE} FROM ${r};\nGRANT SELECT, INSERT, UPDATE, DELETE ON ${PINS_TABLE} TO ${r};\n`;
}

export interface PostgresPinStoreOptions {
  /** Connecting and each lock wait; a statement may take twice as long. Default 5000 ms. */
  timeoutMs?: number;
}

/** A larger record is refused rather than parsed, as a larger pin file is. */
const MAX_RECORD_CHARS = 64 << 20;
/** A change that meets a conflict (a concurrent insert, a deadlock) is applied again at most this often. */
const MAX_ATTEMPTS = 6;
/** SQLSTATEs after which the whole change is applied again: serialization failure, deadlock, unique violation. */
const RETRY = new Set(["40001", "40P01", "23505"]);

class InsertConflict extends Error {}

/**
 * The pin store in PostgreSQL: `url` (state.postgres, `${VAR}`s expanded) or a pool the caller owns
 * (close() then leaves it open).
 */
export function postgresPinStore(target: string | pg.Pool, options: PostgresPinStoreOptions = {}): PinStore {
  const timeoutMs = options.timeoutMs ?? 5000;
  const owned = typeof target === "string";
  const pool =
    typeof target === "string"
      ? new (pgModule().Pool)({
          connectionString: target,
          max: 4,
          connectionTimeoutMillis: timeoutMs,
          // A lock wait ends first (a "lock-timeout": another writer holds the row), a statement
          // after it, the client's own limit (a network that stops answering) last.
          lock_timeout: timeoutMs,
          statement_timeout: 2 * timeoutMs,
          query_timeout: 2 * timeoutMs + 1000,
          // A holder that stalls inside a transaction does not keep its rows locked for long.
          idle_in_transaction_session_timeout: 2 * timeoutMs,
          idleTimeoutMillis: 30_000,
          // A CLI command ends when its work is done, without waiting for idle connections.
          allowExitOnIdle: true,
        })
      : target;
  // A connection dropped while idle: the next query fails and reports it.
  if (owned) pool.on("error", () => undefined);
  let closed = false;

  const connect = async (): Promise<pg.PoolClient> => {
    if (closed) throw new PinStoreError("io", `the pin store (PostgreSQL table ${PINS_TABLE}) is closed`);
    try {
      return await pool.connect();
    } catch (e) {
      throw storeError(e);
    }
  };

  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> => {
    const client = await connect();
    let failed: Error | undefined;
    try {
      return await client.query<R>(sql, params);
    } catch (e) {
      failed = e as Error;
      throw storeError(e);
    } finally {
      // A connection that failed (a timeout mid-query) is not given to the next caller.
      client.release(failed);
    }
  };

  return pinStoreOver({
    where: `PostgreSQL table ${PINS_TABLE}`,

    async read(identityDigest) {
      if (typeof identityDigest !== "string") return undefined;
      const r = await query<Row>(`SELECT identity_digest, server_name, version, record FROM ${PINS_TABLE} WHERE identity_digest = $1`, [identityDigest]);
      return r.rows[0] ? recordOf(r.rows[0]) : undefined;
    },

    async readAll() {
      const r = await query<Row>(`SELECT identity_digest, server_name, version, record FROM ${PINS_TABLE}`, []);
      return r.rows.map(recordOf);
    },

    async mutate(digests, change) {
      const wanted = [...new Set(digests)].sort();
      for (let attempt = 1; ; attempt++) {
        const client = await connect();
        let broken: Error | undefined;
        try {
          await client.query("BEGIN");
          // Locked in digest order, so two changes locking the same two rows cannot deadlock.
          const rows = await client.query<Row>(`SELECT identity_digest, server_name, version, record FROM ${PINS_TABLE} WHERE identity_digest = ANY($1::text[]) ORDER BY identity_digest FOR UPDATE`, [wanted]);
          const before: Records = new Map(rows.rows.map((row) => [row.identity_digest, recordOf(row)]));
          const records: Records = new Map(before);
          if (!change(records)) {
            await client.query("ROLLBACK");
            return;
          }
          for (const digest of records.keys()) if (!wanted.includes(digest)) throw new Error(`a pin store change touched ${digest}, which it did not name`);
          for (const digest of wanted) {
            const was = before.get(digest);
            const now = records.get(digest);
            if (now === was) continue;
            if (now === undefined) {
              await client.query(`DELETE FROM ${PINS_TABLE} WHERE identity_digest = $1`, [digest]);
              continue;
            }
            const text = JSON.stringify(serializeServerRecord(now));
            if (was === undefined) {
              const r = await client.query(
                `INSERT INTO ${PINS_TABLE} (identity_digest, server_name, version, record, updated_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (identity_digest) DO NOTHING`,
                [digest, now.serverName, PIN_RECORD_VERSION, text],
              );
              if (r.rowCount !== 1) throw new InsertConflict();
            } else {
              await client.query(`UPDATE ${PINS_TABLE} SET server_name = $2, version = $3, record = $4, updated_at = now() WHERE identity_digest = $1`, [digest, now.serverName, PIN_RECORD_VERSION, text]);
            }
          }
          await client.query("COMMIT");
          return;
        } catch (e) {
          await client.query("ROLLBACK").catch(() => undefined);
          const retry = e instanceof InsertConflict || RETRY.has((e as { code?: string }).code ?? "");
          if (retry && attempt < MAX_ATTEMPTS) {
            await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
            continue;
          }
          if (retry) throw new PinStoreError("lock-timeout", `the pins in PostgreSQL (${PINS_TABLE}) kept changing under this change (${MAX_ATTEMPTS} attempts); try again`, { cause: e });
          if (e instanceof PinStoreError) throw e;
          broken = e as Error;
          throw storeError(e);
        } finally {
          client.release(broken);
        }
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end().catch(() => undefined);
    },
  });
}

interface Row {
  identity_digest: string;
  server_name: string;
  version: number;
  record: string;
}

/** One row, verified as strictly as the pin file; throws PinStoreError "corrupt" or "version". */
function recordOf(row: Row): ServerPins {
  const digest = row.identity_digest;
  const bad = (what: string): never => {
    throw new PinStoreError(
      "corrupt",
      `the pin record of ${digest} in PostgreSQL (${PINS_TABLE}) is corrupt: ${what}. Until it is fixed or deleted ` +
        `(DELETE FROM ${PINS_TABLE} WHERE identity_digest = '${digest}'; that server then needs approval again), none of its pins can be checked.`,
    );
  };
  if (typeof row.version !== "number" || !Number.isSafeInteger(row.version)) return bad("its version is not an integer");
  if (row.version > PIN_RECORD_VERSION)
    throw new PinStoreError("version", `the pin record of ${digest} in PostgreSQL (${PINS_TABLE}) has version ${row.version}, written by a newer mcp-warden; this one reads version ${PIN_RECORD_VERSION}. Upgrade mcp-warden.`);
  if (row.version !== PIN_RECORD_VERSION) return bad(`unsupported version ${row.version}`);
  if (typeof row.record !== "string") return bad("the record is not text");
  if (row.record.length > MAX_RECORD_CHARS) return bad(`the record is larger than ${MAX_RECORD_CHARS} characters`);
  let data: unknown;
  try {
    data = JSON.parse(row.record);
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  const record = parseServerRecord(data, digest, false, "record", bad);
  if (row.server_name !== record.serverName) return bad("server_name is not the record's serverName");
  return record;
}

/** A pg, socket or timeout error as a PinStoreError that says what to do, without the URL. */
function storeError(e: unknown): PinStoreError {
  if (e instanceof PinStoreError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: string }).code;
  const why = describePgError(err);
  if (code === "42P01")
    return new PinStoreError(
      "io",
      `the pin table ${PINS_TABLE} does not exist in this database's search_path (or this role may not use its schema): create it once with "mcp-warden state init-postgres --role <gateway role>" as its owner`,
      { cause: e },
    );
  if (code === "42501")
    return new PinStoreError("io", `this database role may not use ${PINS_TABLE} (${why}): grant it with "mcp-warden state init-postgres --role <this role>" (SELECT, INSERT, UPDATE and DELETE)`, { cause: e });
  if (code === "55P03") return new PinStoreError("lock-timeout", `the pins in PostgreSQL (${PINS_TABLE}) stayed locked by another mcp-warden past the timeout (${why}); try again`, { cause: e });
  return new PinStoreError(
    "io",
    `the pins in PostgreSQL (state.postgres, table ${PINS_TABLE}) cannot be read or written: ${why}. Make PostgreSQL reachable and check state.postgres; until then no server approval or pin can be checked (nothing unchecked is started or exposed)`,
    { cause: e },
  );
}
