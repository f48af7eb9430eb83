// `mcp-warden state init-postgres` (and `audit init-postgres`, the same command): creates, once and
// as their owner, every table mcp-warden keeps in PostgreSQL: the audit log and the pins.
import pg from "pg";
import { describePgError } from "../audit/postgres.js";
import { AUDIT_TABLE, initStateSchema, PINS_TABLE, stateSchemaSql } from "../state/postgres-schema.js";

export interface InitPostgresOptions {
  /** The owner's connection URL; absent with `print`. */
  url: string | undefined;
  role?: string;
  print: boolean;
}

/** Exit codes: 0 done (or printed), 1 the database refused or could not be reached, 2 no URL. */
export async function initPostgresCommand(opts: InitPostgresOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr, command = "state init-postgres"): Promise<number> {
  if (opts.print) {
    out.write(stateSchemaSql(opts.role));
    return 0;
  }
  if (opts.url === undefined) {
    err.write(`mcp-warden ${command}: no database: set "state": { "postgres": "postgresql://..." } in the settings, or pass --url\n`);
    return 2;
  }
  const client = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await initStateSchema(client, opts.role);
  } catch (e) {
    err.write(`mcp-warden ${command}: ${describePgError(e as Error)} (connect as the role that is to own ${AUDIT_TABLE} and ${PINS_TABLE}, with CREATE on their schema)\n`);
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
  out.write(`created ${AUDIT_TABLE} (append-only: UPDATE, DELETE and TRUNCATE refused)${opts.role !== undefined ? `; ${opts.role} may INSERT and SELECT` : ""}\n`);
  out.write(`created ${PINS_TABLE} (pins and server approvals)${opts.role !== undefined ? `; ${opts.role} may SELECT, INSERT, UPDATE and DELETE` : ""}\n`);
  return 0;
}

