// `mcp-warden audit init-postgres`: creates the PostgreSQL audit table once, as its owner.
import pg from "pg";
import { describePgError } from "../audit/postgres.js";
import { AUDIT_TABLE, grantSql, initAuditSchema, SCHEMA_SQL } from "../audit/postgres-schema.js";

export interface InitPostgresOptions {
  /** The owner's connection URL; absent with `print`. */
  url: string | undefined;
  role?: string;
  print: boolean;
}

/** Exit codes: 0 done (or printed), 1 the database refused or could not be reached, 2 no URL. */
export async function auditInitPostgresCommand(opts: InitPostgresOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (opts.print) {
    out.write(SCHEMA_SQL.trimStart());
    if (opts.role !== undefined) out.write(grantSql(opts.role));
    return 0;
  }
  if (opts.url === undefined) {
    err.write('mcp-warden audit init-postgres: no database: set "state": { "postgres": "postgresql://..." } in the settings, or pass --url\n');
    return 2;
  }
  const client = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await initAuditSchema(client, opts.role);
  } catch (e) {
    err.write(`mcp-warden audit init-postgres: ${describePgError(e as Error)} (connect as the role that is to own ${AUDIT_TABLE}, with CREATE on its schema)\n`);
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
  out.write(`created ${AUDIT_TABLE} (append-only: UPDATE, DELETE and TRUNCATE refused)${opts.role !== undefined ? `; ${opts.role} may INSERT and SELECT` : ""}\n`);
  return 0;
}
