// Everything mcp-warden keeps in PostgreSQL (`state.postgres`), created at once by its owner with
// `mcp-warden state init-postgres` (or `audit init-postgres`, the same command): the audit table
// (src/audit/postgres-schema.ts) and the pins table (src/adapters/pin-store-postgres.ts). The
// gateway's role gets only what it needs: INSERT and SELECT on the audit log, SELECT, INSERT, UPDATE
// and DELETE on the pins, USAGE on the schema. It never creates or owns a table.
import type { Client } from "pg";
import { AUDIT_TABLE, grantSql as auditGrantSql, quoteIdent, SCHEMA_SQL as AUDIT_SCHEMA_SQL } from "../audit/postgres-schema.js";
import { PINS_SCHEMA_SQL, PINS_TABLE, pinsGrantSql } from "../adapters/pin-store-postgres.js";

export { AUDIT_TABLE, PINS_TABLE };

/** The SQL that init runs, as `--print` shows it. */
export function stateSchemaSql(role?: string): string {
  let sql = AUDIT_SCHEMA_SQL.trimStart();
  if (role !== undefined) sql += auditGrantSql(role);
  sql += PINS_SCHEMA_SQL;
  if (role !== undefined) sql += `${pinsGrantSql(role)}-- and USAGE on the schema the tables are in: GRANT USAGE ON SCHEMA <schema> TO ${quoteIdent(role)};\n`;
  return sql;
}

/** Creates (or completes) both tables in one transaction and grants `role`. Run as the tables' owner. */
export async function initStateSchema(client: Client, role?: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(AUDIT_SCHEMA_SQL);
    await client.query(PINS_SCHEMA_SQL);
    if (role !== undefined) {
      await client.query(auditGrantSql(role));
      await client.query(pinsGrantSql(role));
      // The role must be able to see the tables' schema.
      const schema = (await client.query<{ s: string }>("SELECT current_schema() AS s")).rows[0]!.s;
      await client.query(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
