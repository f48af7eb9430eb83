// The PostgreSQL pin store against the machine's real PostgreSQL, beyond the shared contract
// (pin-store-contract.test.ts): what a row holds, a row altered behind the store's back is an error
// and never absence, two writers inserting the same server at once, lock waits and an unreachable or
// silent database end in bounded errors that say what to do, the gateway role holds only its grants,
// and `state init-postgres` creates both tables. Each test group has its own schema and role.
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PinStoreError, type PinStore } from "../../src/adapters/pin-store.js";
import { serializeServerRecord } from "../../src/adapters/pin-store-core.js";
import { pinFilePath, pinStoreFor } from "../../src/adapters/pin-store-factory.js";
import { PINS_TABLE, postgresPinStore } from "../../src/adapters/pin-store-postgres.js";
import { initPostgresCommand } from "../../src/cli/audit-postgres.js";
import { makePin, serverIdentity } from "../../src/policy/integrity/pins.js";
import { closedPort } from "../e2e/harness.js";
import { pgScratch, postgresUnavailable, type PgScratch } from "../e2e/postgres-harness.js";

const skip = await postgresUnavailable();

const github = serverIdentity({ name: "github", layer: "user", entry: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"], env: { GITHUB_TOKEN: "ghp_NOT_IN_THE_TABLE_123" } } });
const remote = serverIdentity({ name: "remote", layer: "user", entry: { url: "https://mcp.example.com/mcp" } });
const createIssue = makePin("tools", { name: "create_issue", description: "does create_issue" }, { approvedAt: "2026-01-01T00:00:00.000Z" });

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<PinStoreError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PinStoreError, `expected a PinStoreError (${code}), got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

async function run(command: (out: PassThrough, err: PassThrough) => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = "";
  let e = "";
  out.on("data", (d) => (o += String(d)));
  err.on("data", (d) => (e += String(d)));
  const code = await command(out, err);
  return { code, out: o, err: e };
}

/** A connection as `url`'s role (another replica's, or a person's in psql). */
async function session(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  return c;
}

describe("the PostgreSQL pin store", { skip }, () => {
  let db: PgScratch;
  let role: string;
  const stores: PinStore[] = [];
  const open = (opts?: { timeoutMs?: number }, url = db.urlFor(role)) => {
    const s = postgresPinStore(url, opts);
    stores.push(s);
    return s;
  };
  before(async () => {
    db = await pgScratch();
    role = await db.createRole();
    const init = await run((out, err) => initPostgresCommand({ url: db.adminUrl, role, print: false }, out, err));
    assert.equal(init.code, 0, init.err);
    assert.match(init.out, new RegExp(`created ${PINS_TABLE} \\(pins and server approvals\\); ${role} may SELECT, INSERT, UPDATE and DELETE`));
  });
  after(async () => {
    for (const s of stores.splice(0)) await s.close();
    await db?.drop();
  });

  it("keeps one row per server: its digest, name, format version and the exact record text; no secret value", async () => {
    const store = open();
    await store.approveServer(github, "github", "alice");
    await store.pinTools(github.digest, [createIssue]);
    const rows = (await db.admin<{ identity_digest: string; server_name: string; version: number; record: string; updated_at: Date }>(`SELECT * FROM ${PINS_TABLE}`)).rows;
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.deepEqual([row.identity_digest, row.server_name, row.version], [github.digest, "github", 2]);
    assert.ok(row.updated_at instanceof Date);
    const got = (await store.getServer(github.digest))!;
    assert.equal(row.record, JSON.stringify(serializeServerRecord(got)), "the record is the server record as the pin file keeps it");
    assert.deepEqual(Object.keys(JSON.parse(row.record)), ["identity", "serverName", "approvedAt", "approvedBy", "tools", "prompts", "resourceTemplates"]);
    assert.ok(!row.record.includes("ghp_NOT_IN_THE_TABLE_123"), "env values that are secrets are not part of the identity");
    assert.deepEqual(JSON.parse(row.record).identity.envNames, ["GITHUB_TOKEN"]);
    await store.resetServer(github.digest);
  });

  it("a row altered behind the store's back is a 'corrupt' error for every read and change, never absence; other rows stay readable", async () => {
    const store = open();
    await store.approveServer(github, "github");
    await store.pinTools(github.digest, [createIssue]);
    await store.approveServer(remote, "remote");
    const original = (await db.admin<{ record: string }>(`SELECT record FROM ${PINS_TABLE} WHERE identity_digest = $1`, [github.digest])).rows[0]!.record;
    const otherDigest = `sha256:${"0".repeat(64)}`;
    const tamperings: [string, string, unknown[], string][] = [
      ["a pin's digest changed", `UPDATE ${PINS_TABLE} SET record = replace(record, $2, $3) WHERE identity_digest = $1`, [github.digest, createIssue.digest, otherDigest], "corrupt"],
      ["a pinned description edited", `UPDATE ${PINS_TABLE} SET record = replace(record, 'does create_issue', 'does something else') WHERE identity_digest = $1`, [github.digest], "corrupt"],
      ["the identity's arguments edited", `UPDATE ${PINS_TABLE} SET record = replace(record, 'server-github', 'server-evil') WHERE identity_digest = $1`, [github.digest], "corrupt"],
      ["an unknown field", `UPDATE ${PINS_TABLE} SET record = replace(record, '"serverName"', '"comment":1,"serverName"') WHERE identity_digest = $1`, [github.digest], "corrupt"],
      ["not JSON", `UPDATE ${PINS_TABLE} SET record = '{' WHERE identity_digest = $1`, [github.digest], "corrupt"],
      ["server_name differs from the record", `UPDATE ${PINS_TABLE} SET server_name = 'other' WHERE identity_digest = $1`, [github.digest], "corrupt"],
      ["an older format version", `UPDATE ${PINS_TABLE} SET version = 1 WHERE identity_digest = $1`, [github.digest], "corrupt"],
      ["a newer format version", `UPDATE ${PINS_TABLE} SET version = 3 WHERE identity_digest = $1`, [github.digest], "version"],
    ];
    for (const [what, sql, params, code] of tamperings) {
      await db.admin(sql, params);
      try {
        const e = await rejectsWith(store.getServer(github.digest), code).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
        if (code === "corrupt") assert.match(e.message, new RegExp(`DELETE FROM ${PINS_TABLE} WHERE identity_digest = '${github.digest}'`), what);
        await rejectsWith(store.list(), code);
        await rejectsWith(store.approveServer(github, "github"), code);
        await rejectsWith(store.pinTools(github.digest, [makePin("tools", { name: "other" })]), code);
        await rejectsWith(store.resetServer(github.digest), code);
        assert.equal((await store.getServer(remote.digest))?.serverName, "remote", `${what}: another server's row is still read`);
      } finally {
        await db.admin(`UPDATE ${PINS_TABLE} SET record = $2, server_name = 'github', version = 2 WHERE identity_digest = $1`, [github.digest, original]);
      }
      const after = await db.admin<{ record: string }>(`SELECT record FROM ${PINS_TABLE} WHERE identity_digest = $1`, [github.digest]);
      assert.equal(after.rows[0]!.record, original, `${what}: no change was written over the altered row`);
    }
    // A record moved under another server's key: its identity no longer matches the key.
    await db.admin(`DELETE FROM ${PINS_TABLE} WHERE identity_digest = $1`, [remote.digest]);
    await db.admin(`UPDATE ${PINS_TABLE} SET identity_digest = $2 WHERE identity_digest = $1`, [github.digest, remote.digest]);
    await rejectsWith(store.getServer(remote.digest), "corrupt", /the key is not the identity's digest/);
    await db.admin(`DELETE FROM ${PINS_TABLE}`);
  });

  it("two writers inserting the same new server at once: the second applies its change again to the row the first committed", async () => {
    const store = open();
    // Another replica inserts the record and has not committed yet.
    const other = await session(db.urlFor(role));
    try {
      await other.query("BEGIN");
      const record = { identity: remote, serverName: "remote", approvedAt: "2026-01-01T00:00:00.000Z", approvedBy: "other replica", tools: { ping: makePin("tools", { name: "ping" }) }, prompts: {}, resourceTemplates: {} };
      await other.query(`INSERT INTO ${PINS_TABLE} (identity_digest, server_name, version, record) VALUES ($1, 'remote', 2, $2)`, [remote.digest, JSON.stringify(record)]);
      const approving = store.approveServer(remote, "remote", "this replica");
      // Bounded wait until our insert waits on the other's uncommitted row.
      const deadline = Date.now() + 10_000;
      while ((await db.admin<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'`, [role])).rows[0]!.n === "0") {
        assert.ok(Date.now() < deadline, "the store's insert never waited on the other writer's row");
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query("COMMIT");
      await approving;
    } finally {
      await other.end();
    }
    const got = (await store.getServer(remote.digest))!;
    assert.equal(got.approvedBy, "this replica", "the approval was applied");
    assert.deepEqual(Object.keys(got.tools), ["ping"], "the other writer's pins were kept, as approving keeps pins");
    await store.resetServer(remote.digest);
  });

  it("a row locked past the timeout by another writer: the change fails as 'lock-timeout', nothing written", async () => {
    const store = open({ timeoutMs: 300 });
    await store.approveServer(github, "github");
    const other = await session(db.urlFor(role));
    try {
      await other.query("BEGIN");
      await other.query(`SELECT 1 FROM ${PINS_TABLE} WHERE identity_digest = $1 FOR UPDATE`, [github.digest]);
      await rejectsWith(store.pinTools(github.digest, [createIssue]), "lock-timeout", /locked by another mcp-warden/);
      await other.query("ROLLBACK");
    } finally {
      await other.end();
    }
    assert.deepEqual(Object.keys((await store.getServer(github.digest))!.tools), []);
    await store.pinTools(github.digest, [createIssue]);
    assert.deepEqual(Object.keys((await store.getServer(github.digest))!.tools), ["create_issue"], "the lock released, the change goes through");
    await store.resetServer(github.digest);
  });

  it("the gateway role may read and change pin rows, and nothing else: no TRUNCATE, DDL, new tables, or rewriting the audit log", async () => {
    const privileges = (await db.admin<Record<string, boolean>>(
      `SELECT ${["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"].map((p) => `has_table_privilege($1, '${PINS_TABLE}', '${p}') AS "${p}"`).join(", ")}`,
      [role],
    )).rows[0]!;
    assert.deepEqual(privileges, { SELECT: true, INSERT: true, UPDATE: true, DELETE: true, TRUNCATE: false, REFERENCES: false, TRIGGER: false });
    const c = await session(db.urlFor(role));
    try {
      for (const sql of [
        `TRUNCATE ${PINS_TABLE}`,
        `ALTER TABLE ${PINS_TABLE} ADD COLUMN note text`,
        `DROP TABLE ${PINS_TABLE}`,
        "CREATE TABLE mcp_warden_other (a int)",
        "UPDATE mcp_warden_audit SET kind = 'x'",
        "DELETE FROM mcp_warden_audit",
      ]) {
        await assert.rejects(c.query(sql), (e: Error & { code?: string }) => {
          assert.equal(e.code, "42501", `${sql}: ${e.message}`); // insufficient_privilege
          return true;
        });
      }
    } finally {
      await c.end();
    }
  });

  it("a role without the grants, and a database without the table, fail as 'io' naming state init-postgres", async () => {
    const stranger = await db.createRole();
    await rejectsWith(open({}, db.urlFor(stranger)).getServer(github.digest), "io", /mcp-warden state init-postgres --role/);
    await db.admin(`GRANT USAGE ON SCHEMA ${db.schema} TO ${stranger}`);
    await rejectsWith(open({}, db.urlFor(stranger)).list(), "io", /may not use mcp_warden_pins .*grant it with "mcp-warden state init-postgres --role <this role>"/);
    const empty = await pgScratch();
    try {
      await rejectsWith(open({}, empty.adminUrl).approveServer(github, "github"), "io", /the pin table mcp_warden_pins does not exist .*mcp-warden state init-postgres --role <gateway role>/);
    } finally {
      await empty.drop();
    }
  });
});

describe("the PostgreSQL pin store, unreachable", { skip }, () => {
  it("a refused connection fails every operation as 'io', saying what to do, without the URL's password", async () => {
    const port = await closedPort();
    const store = postgresPinStore(`postgresql://gateway:s3cret-pass-word@127.0.0.1:${port}/test`, { timeoutMs: 2000 });
    try {
      for (const p of [store.getServer(github.digest), store.list(), store.approveServer(github, "github"), store.resetServer(github.digest)]) {
        const e = await rejectsWith(p, "io", /ECONNREFUSED.*Make PostgreSQL reachable and check state\.postgres/);
        assert.ok(!e.message.includes("s3cret-pass-word"), e.message);
      }
    } finally {
      await store.close();
    }
  });

  it("a server that accepts the connection and never answers: 'io' once the timeout passes", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const store = postgresPinStore(`postgresql://gateway@127.0.0.1:${port}/test`, { timeoutMs: 300 });
    try {
      await rejectsWith(store.getServer(github.digest), "io", /timeout.*Make PostgreSQL reachable/);
      await rejectsWith(store.pinTools(github.digest, [createIssue]), "io");
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describe("pinStoreFor: the settings choose the store", { skip }, () => {
  it("pins.json without state.postgres; PostgreSQL with it; an unset ${VAR} in it fails closed instead of falling back to the file", async () => {
    const env = { HOME: "/nonexistent-home", XDG_STATE_HOME: "/nonexistent-state" };
    const file = pinStoreFor({ state: {} }, env);
    assert.equal(file.where, pinFilePath(env));
    await file.close();

    const unset = pinStoreFor({ state: { postgres: "postgresql://gateway:${PINS_TEST_PASSWORD}@127.0.0.1/test" } }, env);
    await rejectsWith(unset.getServer(github.digest), "io", /state\.postgres.*PINS_TEST_PASSWORD/);
    await rejectsWith(unset.approveServer(github, "github"), "io");

    const db = await pgScratch();
    try {
      const owner = await session(db.adminUrl);
      const { initStateSchema } = await import("../../src/state/postgres-schema.js");
      await initStateSchema(owner).finally(() => owner.end());
      const store = pinStoreFor({ state: { postgres: "${PINS_TEST_URL}" } }, { ...env, PINS_TEST_URL: db.adminUrl });
      try {
        assert.match(store.where, /PostgreSQL table mcp_warden_pins/);
        await store.approveServer(github, "github");
        assert.equal((await db.admin(`SELECT 1 FROM ${PINS_TABLE} WHERE identity_digest = $1`, [github.digest])).rowCount, 1);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });
});

describe("state init-postgres --print", () => {
  it("prints both tables and the role's grants, nothing run", async () => {
    const r = await run((out, err) => initPostgresCommand({ url: undefined, role: "gw", print: true }, out, err));
    assert.equal(r.code, 0);
    assert.match(r.out, /CREATE TABLE IF NOT EXISTS mcp_warden_audit/);
    assert.match(r.out, /GRANT INSERT, SELECT ON mcp_warden_audit TO "gw";/);
    assert.match(r.out, /CREATE TABLE IF NOT EXISTS mcp_warden_pins \(/);
    assert.match(r.out, /GRANT SELECT, INSERT, UPDATE, DELETE ON mcp_warden_pins TO "gw";/);
    assert.match(r.out, /GRANT USAGE ON SCHEMA <schema> TO "gw"/);
  });
});
