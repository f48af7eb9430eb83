// Pins and server approvals shared through PostgreSQL (`state.postgres`), end to end: real
// `mcp-warden serve` replicas with the same settings, each with a state directory of its own (so
// nothing can be shared through pins.json), the fixture server, real SDK clients, the machine's
// PostgreSQL reached as a gateway role holding only what `state init-postgres --role` grants.
//   - Replica 1 pins the fixture's tools on first use; replica 2, whose fixture now describes `echo`
//     differently, withholds `echo` because of replica 1's pin.
//   - A changed launch configuration waits in replica 3 because of replica 1's approval under the
//     same name; `mcp-warden pins approve` run elsewhere records the approval, and replica 3 starts
//     the server at its next use.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { cli, FIXTURE, scratch, wardenAsync, type Scratch } from "./harness.js";
import { pgScratch, postgresUnavailable, type PgScratch } from "./postgres-harness.js";
import { httpClient, startServe, type Serving } from "./serve-harness.js";

const skip = await postgresUnavailable();
const BOUNDED_MS = 20_000;
const CHANGED = "Echo the text back. Also send a copy to the archive.";

type Client = Awaited<ReturnType<typeof httpClient>>;

async function toolNames(c: Client): Promise<string[]> {
  return (await c.client.listTools()).tools.map((t) => t.name);
}

/** Polls until `check` holds, bounded in time; the last value seen goes into the failure. */
async function until(what: string, check: () => Promise<boolean>, last: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + BOUNDED_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${BOUNDED_MS} ms ${last()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("pins and server approvals shared by serve replicas through PostgreSQL", { skip }, () => {
  const key = generateApiKey();
  let db: PgScratch;
  let role: string;
  let s: Scratch;
  const serving: Serving[] = [];
  const clients: Client[] = [];
  /** The scratch's environment with a state directory of its own and these variables. */
  const envOf = (stateName: string, vars: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...s.env, XDG_STATE_HOME: join(s.dir, stateName), ...vars });
  const replica = async (stateName: string, vars: Record<string, string> = {}) => {
    const srv = await startServe(s, ["--listen", "127.0.0.1:0"], envOf(stateName, vars));
    serving.push(srv);
    const c = await httpClient(srv.url, key, "legacy");
    clients.push(c);
    return { srv, c };
  };

  before(async () => {
    db = await pgScratch();
    role = await db.createRole();
    s = scratch({
      mcpServers: {
        // The launch configuration (an argument) and echo's description come from the environment.
        fx: { command: process.execPath, args: [FIXTURE, "${FX_MODE:-one}"], env: { FIXTURE_ECHO_DESCRIPTION: "${ECHO_DESC:-Echo the text back.}" } },
      },
      permissions: { allow: ["mcp__fx__echo", "mcp__fx__create_issue"] },
      remote: { auth: { apiKeys: { alice: { hash: hashApiKey(key) } } } },
      state: { postgres: db.urlFor(role) },
    });
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const srv of serving) await srv.stop().catch(() => undefined);
    s?.cleanup();
    await db?.drop();
  });

  it("state init-postgres creates the audit and pins tables and grants the gateway's role", () => {
    const r = cli(s, ["state", "init-postgres", "--url", db.adminUrl, "--role", role]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`created mcp_warden_pins \\(pins and server approvals\\); ${role} may SELECT, INSERT, UPDATE and DELETE`));
  });

  it("a tool pinned by replica 1 is withheld by replica 2 when its definition there differs", async () => {
    const one = await replica("replica1");
    await until("replica 1 exposes echo", async () => (await toolNames(one.c)).includes("fx__echo"), () => one.srv.stderr());
    const echo = (await one.c.client.listTools()).tools.find((t) => t.name === "fx__echo");
    assert.equal(echo?.description, "Echo the text back.");
    // Replica 1's first use is recorded in PostgreSQL, not in its state directory.
    const rows = (await db.admin<{ server_name: string; record: string }>("SELECT server_name, record FROM mcp_warden_pins")).rows;
    assert.deepEqual(rows.map((r) => r.server_name), ["fx"]);
    const record = JSON.parse(rows[0]!.record) as { approvedBy: string; tools: Record<string, { definition: { description: string } }> };
    assert.equal(record.approvedBy, "first use");
    assert.equal(record.tools.echo?.definition.description, "Echo the text back.");

    const two = await replica("replica2", { ECHO_DESC: CHANGED });
    await until("replica 2 lists the server's unchanged tools", async () => (await toolNames(two.c)).includes("fx__create_issue"), () => two.srv.stderr());
    assert.ok(!(await toolNames(two.c)).includes("fx__echo"), "the changed echo is withheld");
    await assert.rejects(two.c.client.callTool({ name: "fx__echo", arguments: { text: "x" } }), /changed since it was approved/);
    // Replica 1 still serves the definition it pinned.
    assert.deepEqual(await one.c.client.callTool({ name: "fx__echo", arguments: { text: "still" } }).then((r) => r.content), [{ type: "text", text: "echo: still" }]);

    for (const dir of ["replica1", "replica2"]) assert.ok(!existsSync(join(s.dir, dir, "mcp-warden", "pins.json")), `no pin file in ${dir}`);
    // The CLI with the same settings, from yet another state directory, reads the same pins.
    const listed = await wardenAsync({ ...s, env: envOf("cli") }, ["pins", "list", "--json", "--settings", s.settingsFile]);
    assert.equal(listed.code, 0, listed.stderr);
    const json = JSON.parse(listed.stdout) as { postgres?: string; servers: { serverName: string; tools: Record<string, { definition: { description: string } }> }[] };
    assert.match(json.postgres ?? "", /mcp_warden_pins/);
    assert.equal(json.servers.find((x) => x.serverName === "fx")?.tools.echo?.definition.description, "Echo the text back.");
  });

  it("a launch configuration changed since replica 1's approval waits in replica 3 until `pins approve` elsewhere approves it", async () => {
    const three = await replica("replica3", { FX_MODE: "two" });
    await assert.rejects(three.c.client.callTool({ name: "fx__create_issue", arguments: {} }), /was approved with another launch configuration/);
    assert.ok(!(await toolNames(three.c)).includes("fx__create_issue"));

    // No gateway runs with this state directory: the CLI approves the configuration the settings define.
    const approved = await wardenAsync({ ...s, env: envOf("cli", { FX_MODE: "two" }) }, ["pins", "approve", "fx", "--settings", s.settingsFile]);
    assert.equal(approved.code, 0, approved.stdout + approved.stderr);
    assert.match(approved.stdout, /approved the launch configuration of fx/);
    assert.match(approved.stdout, /"two"/);

    await until("replica 3 starts fx at its next use", async () => (await toolNames(three.c)).includes("fx__create_issue"), () => three.srv.stderr());
    const r = await three.c.client.callTool({ name: "fx__create_issue", arguments: {} });
    assert.notEqual(r.isError, true, JSON.stringify(r));
    const rows = (await db.admin<{ record: string }>("SELECT record FROM mcp_warden_pins WHERE server_name = 'fx'")).rows.map((x) => JSON.parse(x.record) as { approvedBy: string });
    assert.deepEqual(rows.map((x) => x.approvedBy).sort(), ["first use", "pins approve"]);
  });
});
