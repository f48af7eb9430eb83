// The PostgreSQL audit table, its append-only trigger and the gateway role's grants. The SQL is
// here (and in the README) so an operator can read it and run it by hand; `mcp-warden audit
// init-postgres` runs it as the table's owner. The gateway never creates the table itself: its role
// should hold INSERT and SELECT only, and the owner of a table can disable its triggers.
//
// One table; each row is one record of one writer's hash chain (a writer = one gateway process):
//   writer  the chain's id; seq runs 0, 1, 2, ... per writer, unique (writer, seq)
//   line    the record's exact JSON text, the bytes hashed into the chain (jsonb would reformat it)
//   prev    the chain link: SHA-256 (hex) of the writer's previous line, 64 zeros for seq 0
//   time, kind, event, principal (subject), server, tool, decision: copies of the line's fields for
//           the indexes; verify checks that each still matches the line the chain covers. (Not
//           generated from line::jsonb: jsonb refuses \u0000, which a tool's arguments may hold, and
//           a record the database refuses would refuse the call.)
import type { Client } from "pg";

/** The table's name; a schema is chosen with the URL's search_path (`?options=-c search_path=...`). */
export const AUDIT_TABLE = "mcp_warden_audit";

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS ${AUDIT_TABLE} (
  writer    text        NOT NULL,
  seq       bigint      NOT NULL CHECK (seq >= 0),
  time      timestamptz NOT NULL,
  line      text        NOT NULL,
  prev      text        NOT NULL CHECK (prev ~ '^[0-9a-f]{64}$'),
  kind      text        NOT NULL,
  event     text,
  principal text,
  server    text,
  tool      text,
  decision  text,
  PRIMARY KEY (writer, seq)
);
CREATE INDEX IF NOT EXISTS ${AUDIT_TABLE}_time ON ${AUDIT_TABLE} (time);
CREATE INDEX IF NOT EXISTS ${AUDIT_TABLE}_principal ON ${AUDIT_TABLE} (principal, time);
CREATE INDEX IF NOT EXISTS ${AUDIT_TABLE}_server ON ${AUDIT_TABLE} (server, time);
CREATE INDEX IF NOT EXISTS ${AUDIT_TABLE}_decision ON ${AUDIT_TABLE} (decision, time);

CREATE OR REPLACE FUNCTION ${AUDIT_TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'mcp-warden audit records are append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$fn$;
DROP TRIGGER IF EXISTS ${AUDIT_TABLE}_no_update_delete ON ${AUDIT_TABLE};
CREATE TRIGGER ${AUDIT_TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON ${AUDIT_TABLE}
  FOR EACH ROW EXECUTE FUNCTION ${AUDIT_TABLE}_append_only();
DROP TRIGGER IF EXISTS ${AUDIT_TABLE}_no_truncate ON ${AUDIT_TABLE};
CREATE TRIGGER ${AUDIT_TABLE}_no_truncate BEFORE TRUNCATE ON ${AUDIT_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION ${AUDIT_TABLE}_append_only();
REVOKE ALL ON ${AUDIT_TABLE} FROM PUBLIC;
`;

/** The gateway role's grants: INSERT and SELECT, nothing else (the trigger refuses the rest even to a role granted more). */
export function grantSql(role: string): string {
  const r = quoteIdent(role);
  return `REVOKE ALL ON ${AUDIT_TABLE} FROM ${r};\nGRANT INSERT, SELECT ON ${AUDIT_TABLE} TO ${r};\n`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates (or completes) the table, indexes and trigger, and grants `role` INSERT and SELECT. Run as the table's owner. */
export async function initAuditSchema(client: Client, role?: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(SCHEMA_SQL);
    if (role !== undefined) {
      await client.query(grantSql(role));
      // The role must be able to see the table's schema.
      await client.query(`GRANT USAGE ON SCHEMA ${quoteIdent((await client.query<{ s: string }>("SELECT current_schema() AS s")).rows[0]!.s)} TO ${quoteIdent(role)}`);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/** Why the table cannot be used by this connection's role, or undefined when it can (exists, INSERT and SELECT granted). */
export async function auditTableProblem(client: Client, needInsert: boolean): Promise<string | undefined> {
  const found = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [AUDIT_TABLE]);
  if (!found.rows[0]?.ok)
    return `the audit table ${AUDIT_TABLE} does not exist in this database's search_path: create it once with "mcp-warden audit init-postgres --role <gateway role>" as its owner`;
  const priv = await client.query<{ ins: boolean; sel: boolean }>("SELECT has_table_privilege($1, 'INSERT') AS ins, has_table_privilege($1, 'SELECT') AS sel", [AUDIT_TABLE]);
  const p = priv.rows[0]!;
  if (!p.sel || (needInsert && !p.ins))
    return `this database role may not ${!p.sel ? "read" : "insert into"} ${AUDIT_TABLE}: grant it with "mcp-warden audit init-postgres --role <this role>" (INSERT and SELECT only)`;
  return undefined;
}
