// The audit log in PostgreSQL end to end: the real `mcp-warden serve` with `state.postgres`, a real
// MCP server (server-memory, which writes a file on every call it receives), real SDK clients, the
// machine's PostgreSQL reached through a local TCP proxy so the test can cut it for this process only.
// The proxy runs in this test's process: the CLI is run asynchronously (spawnSync would block it).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { listSegments } from "../../src/audit/query.js";
import { cli, closedPort, connect, FIXTURE, MEMORY, scratch, wardenAsync, type Scratch } from "./harness.js";
import { pgProxy, pgScratch, postgresUnavailable, type PgScratch, type TcpProxy } from "./postgres-harness.js";
import { initStateSchema } from "../../src/state/postgres-schema.js";
import pg from "pg";
import { httpClient, startServe, type Serving } from "./serve-harness.js";

const skip = await postgresUnavailable();

/** Claude Code's http hook at serve: the decision it answers for `echo hi`. */
async function hookDecision(srv: Serving, key: string, cwd: string): Promise<{ permissionDecision: string; permissionDecisionReason: string }> {
  const res = await fetch(new URL("/v1/hooks/claude-code", srv.url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ hook_event_name: "PreToolUse", session_id: "s1", tool_name: "Bash", tool_input: { command: "echo hi" }, cwd }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { hookSpecificOutput: { permissionDecision: string; permissionDecisionReason: string } }).hookSpecificOutput;
}

describe("serve with the audit log in PostgreSQL", { skip }, () => {
  const key = generateApiKey();
  let db: PgScratch;
  let role: string;
  let proxy: TcpProxy;
  let s: Scratch;
  let srv: Serving;
  let memoryFile: string;

  before(async () => {
    db = await pgScratch();
    role = await db.createRole();
    proxy = await pgProxy();
    const port = await closedPort();
    s = scratch({
      mcpServers: { memory: { command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: "${WARDEN_MEMORY_FILE}" } } },
      permissions: { allow: ["mcp__memory__create_entities", "mcp__memory__read_graph", "Bash(echo:*)"], deny: ["mcp__memory__delete_entities"] },
      integrity: { pins: false },
      remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { alice: { hash: hashApiKey(key) } } } },
      // The gateway's own role (INSERT and SELECT only), through the proxy.
      state: { postgres: db.urlFor(role, proxy.port) },
    });
    memoryFile = join(s.dir, "memory.jsonl");
    s.env.WARDEN_MEMORY_FILE = memoryFile;
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await proxy?.cut();
    s?.cleanup();
    await db?.drop();
  });

  it("refuses to start while the audit table does not exist, naming init-postgres", async () => {
    await assert.rejects(startServe(s), (e: Error) => {
      assert.match(e.message, /cannot serve: the audit log in PostgreSQL failed: the audit table mcp_warden_audit does not exist .*mcp-warden audit init-postgres/);
      return true;
    });
  });

  it("audit init-postgres creates the table and grants the gateway's role INSERT and SELECT", () => {
    const r = cli(s, ["audit", "init-postgres", "--url", db.adminUrl, "--role", role]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`created mcp_warden_audit .*; ${role} may INSERT and SELECT`));
  });

  it("records every call in PostgreSQL before forwarding, and none in files; audit and audit verify read it", async () => {
    srv = await startServe(s);
    const c = await httpClient(srv.url, key, "legacy");
    try {
      const listed = await c.client.listTools();
      assert.ok(listed.tools.some((t) => t.name === "memory__create_entities"), JSON.stringify(listed.tools.map((t) => t.name)) + srv.stderr());
      const ok = await c.client.callTool({ name: "memory__create_entities", arguments: { entities: [{ name: "before-cut", entityType: "note", observations: ["x"] }] } });
      assert.notEqual(ok.isError, true);
      await assert.rejects(c.client.callTool({ name: "memory__delete_entities", arguments: { entityNames: ["before-cut"] } }), /Denied by mcp-warden/);
    } finally {
      await c.close();
    }
    const allowed = await hookDecision(srv, key, s.project);
    assert.equal(allowed.permissionDecision, "allow", allowed.permissionDecisionReason);
    const rows = (await db.admin<{ line: string }>("SELECT line FROM mcp_warden_audit ORDER BY time, writer, seq")).rows.map((r) => JSON.parse(r.line) as Record<string, unknown>);
    const decided = rows.filter((r) => r.kind === "call" && r.event === "decided");
    assert.deepEqual(
      decided.map((r) => [r.tool, r.decision, (r.principal as { subject?: string } | undefined)?.subject]),
      [
        ["mcp__memory__create_entities", "allow", "apikey:alice"],
        ["mcp__memory__delete_entities", "deny", "apikey:alice"],
      ],
    );
    assert.ok(rows.some((r) => r.event === "completed" && r.tool === "mcp__memory__create_entities" && r.outcome === "ok"), "the outcome record is there too");
    assert.ok(rows.some((r) => r.kind === "gateway" && r.event === "started"));
    assert.ok(rows.some((r) => r.kind === "decision" && r.tool === "Bash" && r.decision === "allow"), "the http hook's decision is in PostgreSQL too");
    assert.deepEqual(listSegments(s.auditDir), [], "no file segments: PostgreSQL is the log");

    const verify = await wardenAsync(s, ["audit", "verify", "--settings", s.settingsFile]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /audit log intact \(PostgreSQL mcp_warden_audit\): \d+ records from 1 writer/);
    const query = await wardenAsync(s, ["audit", "--settings", s.settingsFile, "--decision", "deny", "--json"]);
    assert.equal(query.code, 0, query.stderr);
    const denied = query.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(denied.map((r) => r.tool), ["mcp__memory__delete_entities"]);
  });

  it("audit verify fails, naming the writer and seq, when a superuser alters a record with the trigger bypassed", async () => {
    const victim = (await db.admin<{ writer: string; seq: string }>("SELECT writer, seq FROM mcp_warden_audit WHERE tool = 'mcp__memory__create_entities' AND event = 'decided'")).rows[0]!;
    await db.admin("SET session_replication_role = replica");
    try {
      await db.admin("UPDATE mcp_warden_audit SET line = replace(line, 'before-cut', 'innocuous') WHERE writer = $1 AND seq = $2", [victim.writer, victim.seq]);
    } finally {
      await db.admin("SET session_replication_role = origin");
    }
    const verify = await wardenAsync(s, ["audit", "verify", "--settings", s.settingsFile]);
    assert.equal(verify.code, 1, verify.stdout + verify.stderr);
    assert.ok(verify.stdout.includes(`audit log broken (PostgreSQL mcp_warden_audit) at writer ${victim.writer} seq ${victim.seq}: record modified`), verify.stdout);
  });

  it("PostgreSQL unreachable mid-run: calls are refused with a clear error and never reach the server; once it is back, a new writer records and forwards them again", async () => {
    const before = readFileSync(memoryFile, "utf8");
    // The session is opened first, so the first record written after the cut is the call's decision.
    const c = await httpClient(srv.url, key, "legacy");
    await proxy.cut();
    try {
      await assert.rejects(
        c.client.callTool({ name: "memory__create_entities", arguments: { entities: [{ name: "after-cut", entityType: "note", observations: ["y"] }] } }),
        /Not forwarded: mcp-warden could not record this call in its audit log \(the audit log in PostgreSQL failed: .*Nothing is forwarded until it is back.*carries on by itself\)/,
      );
      // While it is away, every later call is refused too.
      await assert.rejects(c.client.callTool({ name: "memory__read_graph", arguments: {} }), /audit log in PostgreSQL failed/);
      // Claude Code's http hook: an allow that cannot be audited is answered as a deny.
      const hook = await hookDecision(srv, key, s.project);
      assert.equal(hook.permissionDecision, "deny");
      assert.match(hook.permissionDecisionReason, /audit log in PostgreSQL failed/);
      assert.equal(readFileSync(memoryFile, "utf8"), before, "the memory server never received the unaudited call");
      assert.ok(!existsSync(memoryFile) || !readFileSync(memoryFile, "utf8").includes("after-cut"));

      // Back: within seconds, without a restart, calls are recorded and forwarded again.
      await proxy.restore();
      let result: Awaited<ReturnType<typeof c.client.callTool>> | undefined;
      for (let i = 0; i < 50 && !result; i++) {
        await new Promise((r) => setTimeout(r, 200));
        result = await c.client.callTool({ name: "memory__create_entities", arguments: { entities: [{ name: "after-restore", entityType: "note", observations: ["z"] }] } }).catch(() => undefined);
      }
      assert.ok(result, `calls go through again within 10 s of PostgreSQL coming back\n${srv.stderr()}`);
      assert.notEqual(result.isError, true);
      assert.ok(readFileSync(memoryFile, "utf8").includes("after-restore"));
      assert.match(srv.stderr(), /the audit log in PostgreSQL is back/);
    } finally {
      await c.close().catch(() => undefined);
    }
    const rows = (await db.admin<{ writer: string; line: string }>("SELECT writer, line FROM mcp_warden_audit ORDER BY time, seq")).rows;
    const restarted = rows.map((r) => JSON.parse(r.line) as { event?: string; tool?: string; detail?: { recoveredFrom?: string; failure?: string } }).find((r) => r.event === "writer-start" && r.detail?.recoveredFrom);
    assert.ok(restarted, "the new writer's first record names the failed one");
    assert.match(String(restarted.detail!.failure), /failed/);
    assert.ok(rows.some((r) => r.line.includes("after-restore") && r.line.includes('"decided"')), "the call after the recovery was recorded before it was forwarded");
    assert.equal(await srv.stop(), 0, srv.stderr());
  });
});

describe("serve with PostgreSQL unreachable at start", { skip }, () => {
  it("does not start, and says what to do", async () => {
    const dead = await closedPort();
    const port = await closedPort();
    const s = scratch({ remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { alice: { hash: hashApiKey(generateApiKey()) } } } }, state: { postgres: `postgresql://postgres@127.0.0.1:${dead}/test` } });
    try {
      await assert.rejects(startServe(s), (e: Error) => {
        assert.match(e.message, /cannot serve: the audit log in PostgreSQL failed: .*ECONNREFUSED.*make PostgreSQL reachable \(state\.postgres\) and restart mcp-warden/);
        return true;
      });
    } finally {
      s.cleanup();
    }
  });
});

describe("run (stdio) with the audit log in PostgreSQL", { skip }, () => {
  it("records the call in PostgreSQL, closes its writer with a stop record, and verify passes", async () => {
    const db = await pgScratch();
    const s = scratch({ mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } }, permissions: { allow: ["mcp__fx__echo"] }, integrity: { pins: false }, state: { postgres: db.adminUrl } });
    try {
      const owner = new pg.Client({ connectionString: db.adminUrl });
      await owner.connect();
      // Both tables: the gateway keeps its server approvals there too (state.postgres).
      await initStateSchema(owner).finally(() => owner.end());
      const c = await connect(s);
      try {
        const r = await c.client.callTool({ name: "fx__echo", arguments: { text: "hello pg" } });
        assert.notEqual(r.isError, true, c.stderr());
      } finally {
        await c.close();
      }
      const verify = await wardenAsync(s, ["audit", "verify", "--settings", s.settingsFile]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /audit log intact \(PostgreSQL mcp_warden_audit\): \d+ records from 1 writer/);
      assert.doesNotMatch(verify.stdout, /without a stop record/, "the writer ended with its stop record");
      const rows = (await db.admin<{ line: string }>("SELECT line FROM mcp_warden_audit ORDER BY seq")).rows.map((r) => JSON.parse(r.line) as Record<string, unknown>);
      assert.ok(rows.some((r) => r.event === "decided" && r.tool === "mcp__fx__echo" && r.decision === "allow"));
      assert.deepEqual([rows.at(-1)!.kind, rows.at(-1)!.event], ["gateway", "stopped"]);
    } finally {
      s.cleanup();
      await db.drop();
    }
  });
});
