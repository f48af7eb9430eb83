// End to end: server control, fail-closed settings, pagination, list_changed, elicitation relay,
// era negotiation with upstreams, lazy start, environment isolation and `status`.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { auditRecords, CLI, cli, connect, EVERYTHING, FIXTURE, scratch, waitFor } from "./harness.js";

const fixture = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [FIXTURE], ...extra });

describe("server control", () => {
  test("a server on deniedMcpServers is never started, and one off the allowlist neither", async () => {
    const s = scratch({
      permissions: { allow: ["mcp__good", "mcp__bad", "mcp__stranger"] },
      mcpServers: {
        good: fixture(),
        bad: fixture({ env: { FIXTURE_PID_FILE: "${BAD_PID}" } }),
        stranger: { command: process.execPath, args: [EVERYTHING] },
      },
      deniedMcpServers: [{ serverName: "bad" }],
      allowedMcpServers: [{ serverName: "good" }, { serverName: "bad" }],
    });
    s.env.BAD_PID = join(s.dir, "bad.pid");
    const c = await connect(s);
    try {
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("good__echo"));
      assert.ok(!names.some((n) => n.startsWith("bad__") || n.startsWith("stranger__")), names.join(","));
      assert.ok(!existsSync(s.env.BAD_PID), "the denied server's process never ran");
      const blocked = auditRecords(s).filter((r) => r.kind === "server" && r.event === "blocked").map((r) => r.server);
      assert.deepEqual(blocked.sort(), ["bad", "stranger"]);
      const status = JSON.parse(cli(s, ["status", "--json", "--settings", s.settingsFile]).stdout) as {
        gateways: { servers: { name: string; state: string; tools: number }[] }[];
      };
      const servers = status.gateways[0]!.servers;
      assert.equal(servers.find((x) => x.name === "good")?.state, "ready");
      assert.ok((servers.find((x) => x.name === "good")?.tools ?? 0) > 5);
      assert.equal(servers.find((x) => x.name === "bad")?.state, "blocked");
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a sandbox that cannot run here keeps the server from starting; SQL and argument guards judge their servers' calls", async () => {
    const s = scratch({
      permissions: { allow: ["mcp__boxed", "mcp__guarded", "mcp__mysql", "mcp__pinned"] },
      mcpServers: {
        // seatbelt is macOS only: on this machine the sandbox cannot run, so the server must not start unsandboxed.
        boxed: fixture({ sandbox: { type: process.platform === "darwin" ? "docker" : "seatbelt" }, env: { FIXTURE_PID_FILE: "${BOXED_PID}" } }),
        guarded: fixture({ guards: { sql: { readOnly: true, dialect: "postgresql" } } }),
        // A dialect without a real parser here is refused, never guessed.
        mysql: fixture({ guards: { sql: { readOnly: true, dialect: "mysql" } } }),
        // Argument constraints: echo's text is pinned to one value.
        pinned: fixture({ guards: { arguments: { echo: { text: { enum: ["ok"] } } } } }),
      },
    });
    s.env.BOXED_PID = join(s.dir, "boxed.pid");
    const c = await connect(s);
    try {
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(!names.some((n) => n.startsWith("boxed__")));
      assert.ok(!existsSync(s.env.BOXED_PID));
      // The SQL guard judges the call's `sql` argument with PostgreSQL's parser (the fixture's echo ignores it).
      await assert.rejects(c.client.callTool({ name: "guarded__echo", arguments: { text: "x", sql: "SELECT 1; DROP TABLE users" } }), /Denied by mcp-warden/);
      const ok = await c.client.callTool({ name: "guarded__echo", arguments: { text: "read", sql: "SELECT count(*) FROM users" } });
      assert.deepEqual(ok.content, [{ type: "text", text: "echo: read" }]);
      await assert.rejects(c.client.callTool({ name: "mysql__echo", arguments: { text: "x", sql: "SELECT 1" } }), /mysql/i);
      await assert.rejects(c.client.callTool({ name: "pinned__echo", arguments: { text: "other" } }), /guards\.arguments\.echo\.text\.enum/);
      assert.deepEqual((await c.client.callTool({ name: "pinned__echo", arguments: { text: "ok" } })).content, [{ type: "text", text: "echo: ok" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a deny covering a whole server hides its prompts and resources too", async () => {
    const s = scratch({ permissions: { allow: ["mcp__open"], deny: ["mcp__closed"] }, mcpServers: { open: fixture(), closed: fixture() } });
    const c = await connect(s);
    try {
      const prompts = (await c.client.listPrompts()).prompts.map((p) => p.name);
      assert.deepEqual(prompts, ["open__greeting"]);
      await assert.rejects(c.client.getPrompt({ name: "closed__greeting", arguments: { name: "x" } }), /Denied|Unknown prompt/);
      const got = await c.client.getPrompt({ name: "open__greeting", arguments: { name: "Ada" } });
      assert.deepEqual(got.messages[0]!.content, { type: "text", text: "Hello, Ada!" });
    } finally {
      await c.close();
      s.cleanup();
    }
  });
});

describe("naming", () => {
  test("a configured separator names tools <server><sep><tool>; rules still judge mcp__<server>__<tool>", async () => {
    const s = scratch({ permissions: { allow: ["mcp__gh__create_issue"], deny: ["mcp__*__delete*"] }, mcpServers: { gh: fixture() }, gateway: { separator: "." } });
    const c = await connect(s);
    try {
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("gh.create_issue") && names.includes("gh.echo"));
      assert.ok(!names.includes("gh.create_issue__delete_all") && !names.includes("gh.delete_repo"));
      assert.ok((await c.client.callTool({ name: "gh.create_issue", arguments: {} })).content);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("single-server mode exposes tools under their own names, judged by their canonical names", async () => {
    const s = scratch({ permissions: { allow: ["mcp__only__echo"], deny: ["mcp__*__delete*"] }, mcpServers: { only: fixture() }, gateway: { prefix: false } });
    const c = await connect(s);
    try {
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("echo") && !names.some((n) => n.includes("only")));
      assert.ok(!names.includes("delete_repo") && !names.includes("create_issue__delete_all"));
      const r = await c.client.callTool({ name: "echo", arguments: { text: "solo" } });
      assert.deepEqual(r.content, [{ type: "text", text: "echo: solo" }]);
      const decided = auditRecords(s).find((r) => r.event === "decided" && r.kind === "call");
      assert.equal(decided?.tool, "mcp__only__echo");
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("settings with two servers and prefix:false, or a server name with the separator, are refused", () => {
    const two = scratch({ mcpServers: { a: fixture(), b: fixture() }, gateway: { prefix: false } });
    const r = cli(two, ["run", "--settings", two.settingsFile]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /prefix/);
    two.cleanup();
    const smuggle = scratch({ mcpServers: { "evil__x": fixture() } });
    const q = cli(smuggle, ["run", "--settings", smuggle.settingsFile]);
    assert.equal(q.code, 2);
    assert.match(q.stderr, /mcpServers\.evil__x|'__'/);
    smuggle.cleanup();
  });
});

describe("protocol features", () => {
  test("long tool lists are paginated with cursors the gateway issues", async () => {
    const s = scratch({ permissions: { allow: ["mcp__fixture"] }, mcpServers: { fixture: fixture({ env: { FIXTURE_MANY_TOOLS: "120" } }) }, gateway: { pageSize: 50 } });
    const c = await connect(s);
    try {
      const first = await c.client.request({ method: "tools/list", params: {} });
      assert.equal(first.tools.length, 50);
      assert.ok(first.nextCursor);
      const all = await c.client.listTools();
      assert.ok(all.tools.length > 120);
      assert.equal(new Set(all.tools.map((t) => t.name)).size, all.tools.length, "no tool twice");
      await assert.rejects(c.client.request({ method: "tools/list", params: { cursor: "garbage" } }), /cursor/i);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  for (const [upstreamProtocol, era] of [["auto", "legacy"], ["legacy", "modern"]] as const)
  test(`an upstream's tools/list_changed (${upstreamProtocol} upstream) reaches a ${era} client and the new tool is callable`, async () => {
    const s = scratch({ permissions: { allow: ["mcp__fixture"] }, mcpServers: { fixture: fixture({ protocol: upstreamProtocol }) } });
    const c = await connect(s, { era });
    try {
      let changed = 0;
      c.client.setNotificationHandler("notifications/tools/list_changed", () => {
        changed++;
      });
      // A 2026-07-28 client receives change notifications only on a listen stream it opens.
      if (era === "modern") await c.client.listen({ toolsListChanged: true });
      await c.client.listTools();
      await c.client.callTool({ name: "fixture__add_tool", arguments: {} });
      await waitFor("list_changed", () => changed > 0);
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("fixture__dynamic"));
      const r = await c.client.callTool({ name: "fixture__dynamic", arguments: {} });
      assert.deepEqual(r.content, [{ type: "text", text: "dynamic tool ran" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  for (const era of ["legacy", "modern"] as const)
  test(`an upstream's request for user input during a call reaches a ${era} client, from a 2026 and a 2025 upstream`, async () => {
    const s = scratch({ permissions: { allow: ["mcp__fixture", "mcp__everything"] }, mcpServers: { fixture: fixture(), everything: { command: process.execPath, args: [EVERYTHING] } } });
    const asked: string[] = [];
    const c = await connect(s, {
      era,
      elicitation: (params) => {
        asked.push(String(params.message));
        return params.message === "Proceed?" ? { action: "accept", content: { ok: true } } : { action: "accept", content: { name: "Ada Lovelace", check: true } };
      },
    });
    try {
      const r = await c.client.callTool({ name: "fixture__confirm", arguments: {} });
      assert.deepEqual(r.content, [{ type: "text", text: "confirmed" }]);
      const e = await c.client.callTool({ name: "everything__trigger-elicitation-request", arguments: {} });
      assert.match(JSON.stringify(e.content), /Ada Lovelace/);
      assert.deepEqual(asked, ["Proceed?", "Please provide inputs for the following fields:"]);
      const relayed = auditRecords(s).filter((r) => r.event === "to-client" && r.method === "elicitation/create").map((r) => r.server);
      assert.deepEqual(relayed, ["fixture", "everything"]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a forged or replayed requestState cannot resume or answer someone's input round", async () => {
    const s = scratch({ permissions: { allow: ["mcp__fixture"] }, mcpServers: { fixture: fixture() } });
    const c = await connect(s, { era: "modern", elicitation: () => ({ action: "decline" }) });
    try {
      const forged = c.client.request({
        method: "tools/call",
        params: { name: "fixture__confirm", arguments: {}, requestState: "v1.eyJwIjp7ImZsb3ciOiJ4In19.AAAA", inputResponses: { i1: { action: "accept", content: { ok: true } } } },
      });
      await assert.rejects(forged, (e: Error & { code?: number }) => {
        assert.equal(e.code, -32602);
        assert.match(e.message, /Invalid or expired requestState/);
        return true;
      });
      // A genuine round, answered once, cannot be replayed: its flow is gone after the call ends.
      const first = (await c.client.request(
        { method: "tools/call", params: { name: "fixture__confirm", arguments: {} } },
        { allowInputRequired: true },
      )) as { resultType?: string; requestState?: string; inputRequests?: Record<string, unknown> };
      assert.equal(first.resultType, "input_required");
      const key = Object.keys(first.inputRequests ?? {})[0]!;
      const answer = { name: "fixture__confirm", arguments: {}, requestState: first.requestState, inputResponses: { [key]: { action: "accept", content: { ok: true } } } };
      const done = (await c.client.request({ method: "tools/call", params: answer })) as { content?: unknown };
      assert.deepEqual(done.content, [{ type: "text", text: "confirmed" }]);
      await assert.rejects(c.client.request({ method: "tools/call", params: answer }), /expired or was already completed/);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a client without elicitation gets a clear refusal for a call that needs input; the call does not hang", async () => {
    const without = scratch({ permissions: { allow: ["mcp__fixture"] }, mcpServers: { fixture: fixture() } });
    const d = await connect(without);
    try {
      // The client cannot answer: the upstream's request is refused, and the call ends; it does not hang.
      await assert.rejects(d.client.callTool({ name: "fixture__confirm", arguments: {} }));
    } finally {
      await d.close();
      without.cleanup();
    }
  });

  test("upstreams are spoken to in their own era: 2026-07-28 with our fixture, 2025 with server-everything", async () => {
    const s = scratch({ permissions: { allow: ["mcp__modern", "mcp__old"] }, mcpServers: { modern: fixture(), old: { command: process.execPath, args: [EVERYTHING] } } });
    const c = await connect(s);
    try {
      await c.client.listTools();
      const started = auditRecords(s).filter((r) => r.kind === "server" && r.event === "started");
      const version = (name: string) => (started.find((r) => r.server === name)?.detail as { protocolVersion?: string } | undefined)?.protocolVersion;
      assert.equal(version("modern"), "2026-07-28");
      assert.match(version("old") ?? "", /^2025-/);
      const r = await c.client.callTool({ name: "modern__echo", arguments: { text: "era" } });
      assert.deepEqual(r.content, [{ type: "text", text: "echo: era" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("the client's roots reach a 2025 upstream, and roots/list_changed makes it ask again", async () => {
    const s = scratch({ permissions: { allow: ["mcp__everything"] }, mcpServers: { everything: { command: process.execPath, args: [EVERYTHING] } } });
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "run", "--settings", s.settingsFile], env: s.env as Record<string, string>, cwd: s.project, stderr: "pipe" });
    const client = new Client({ name: "roots-client", version: "1" }, { capabilities: { roots: { listChanged: true } } });
    let roots = [{ uri: "file:///first", name: "first" }];
    let asked = 0;
    client.setRequestHandler("roots/list", async () => {
      asked++;
      return { roots };
    });
    await client.connect(transport);
    try {
      await client.listTools();
      const first = await client.callTool({ name: "everything__get-roots-list", arguments: {} });
      assert.match(JSON.stringify(first.content), /file:\/\/\/first/);
      const before = asked;
      roots = [{ uri: "file:///second", name: "second" }];
      await client.sendRootsListChanged();
      await waitFor("the upstream to ask for roots again", () => asked > before);
      const second = await client.callTool({ name: "everything__get-roots-list", arguments: {} });
      assert.match(JSON.stringify(second.content), /file:\/\/\/second/);
    } finally {
      await client.close();
      s.cleanup();
    }
  });

  test("a lazy server starts only when the client first asks for something", async () => {
    const s = scratch({ permissions: { allow: ["mcp__fixture"] }, mcpServers: { fixture: fixture({ startup: "lazy", env: { FIXTURE_PID_FILE: "${PIDF}" } }) } });
    s.env.PIDF = join(s.dir, "pid");
    const c = await connect(s);
    try {
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!existsSync(s.env.PIDF), "not started before use");
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("fixture__echo"));
      assert.ok(existsSync(s.env.PIDF));
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a server sees only the configured environment, not the gateway's own variables", async () => {
    const s = scratch({ permissions: { allow: ["mcp__fixture"] }, mcpServers: { fixture: fixture({ env: { GIVEN: "yes" } }) } });
    s.env.AWS_SECRET_ACCESS_KEY = "do-not-leak-this";
    const c = await connect(s);
    try {
      const leaked = await c.client.callTool({ name: "fixture__env", arguments: { name: "AWS_SECRET_ACCESS_KEY" } });
      assert.deepEqual(leaked.content, [{ type: "text", text: "AWS_SECRET_ACCESS_KEY is unset" }]);
      const given = await c.client.callTool({ name: "fixture__env", arguments: { name: "GIVEN" } });
      assert.deepEqual(given.content, [{ type: "text", text: "GIVEN is set" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });
});

describe("check", () => {
  test("check --tool answers with the machine's settings and a documented exit code per decision", () => {
    const s = scratch({ permissions: { allow: ["mcp__gh__get_issue"], ask: ["mcp__gh__create_issue"], deny: ["mcp__*__delete*"] } });
    const run = (tool: string) => cli(s, ["check", "--settings", s.settingsFile, "--tool", tool, "--input", "{}"]);
    const allow = run("mcp__gh__get_issue");
    assert.equal(allow.code, 0);
    assert.equal(JSON.parse(allow.stdout).decision, "allow");
    const ask = run("mcp__gh__create_issue");
    assert.equal(ask.code, 3);
    const deny = run("mcp__gh__delete_repo");
    assert.equal(deny.code, 1);
    assert.equal(JSON.parse(deny.stdout).rule, "mcp__*__delete*");
    const bad = cli(s, ["check", "--tool", "mcp__gh__x", "--input", "[1]"]);
    assert.equal(bad.code, 2);
    s.cleanup();
  });

  test("check --batch answers every line in order, denies what it cannot judge, and never stops", () => {
    const s = scratch({});
    const settings = { permissions: { allow: ["mcp__gh__get_issue"], deny: ["mcp__*__delete*"] } };
    const lines = [
      JSON.stringify({ id: "a", settings, tool: "mcp__gh__get_issue", input: {} }),
      "this is not json",
      JSON.stringify({ id: "b", settings: { permissions: { allow: ["mcp__"] } }, tool: "mcp__gh__get_issue", input: {} }),
      JSON.stringify({ id: "c", settings: { permisions: {} }, tool: "mcp__gh__get_issue", input: {} }),
      JSON.stringify({ id: "d", settings, tool: "Bash", input: { command: "ls" } }),
      JSON.stringify({ id: "e", settings, server: "web", url: "https://example.com" }),
      JSON.stringify({ id: "f", settings, tool: "mcp__gh__delete_repo", input: {} }),
      JSON.stringify({ id: "g", settings, tool: "mcp__gh__unknown", input: {} }),
    ].join("\n");
    const r = cli(s, ["check", "--batch"], lines + "\n");
    assert.equal(r.code, 0);
    const answers = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; decision: string; reason: string });
    assert.deepEqual(
      answers.map((a) => [a.id, a.decision]),
      [["a", "allow"], ["", "deny"], ["b", "deny"], ["c", "deny"], ["d", "ask"], ["e", "deny"], ["f", "deny"], ["g", "ask"]],
    );
    assert.match(answers[3]!.reason, /permisions/);
    assert.match(answers[4]!.reason, /no allow rule matches `ls`/);
    assert.match(answers[5]!.reason, /no server named "web"/);
    s.cleanup();
  });
});
