// End to end: upstream crashes, restarts, timeouts, progress, cancellation, bad messages and
// shutdown, with the real mcp-warden process and the fixture server.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { alive, auditRecords, cli, connect, FIXTURE, INIT, rawGateway, scratch, waitFor, waitForExit } from "./harness.js";

const ALLOW_ALL_FIXTURE = { allow: ["mcp__fixture"] };
const fixture = (env: Record<string, string>) => ({ command: process.execPath, args: [FIXTURE], env });
const readOr = (file: string) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

describe("upstream lifecycle", () => {
  test("a crash fails the in-flight call at once with a clear error, and the server is restarted", async () => {
    const s = scratch({
      permissions: ALLOW_ALL_FIXTURE,
      mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_STARTS_FILE: "${STARTS}" } } },
      gateway: { restart: { initialDelayMs: 50, maxDelayMs: 200, maxRestarts: 3 }, callTimeoutMs: 20_000 },
    });
    s.env.STARTS = join(s.dir, "starts");
    const c = await connect(s);
    try {
      const started = Date.now();
      await assert.rejects(c.client.callTool({ name: "fixture__crash", arguments: {} }), (e: Error & { code?: number }) => {
        assert.equal(e.code, -32052);
        assert.match(e.message, /server 'fixture' exited with code 3 while handling this call/);
        return true;
      });
      assert.ok(Date.now() - started < 5000, "the call failed at once, not at the timeout");
      await waitFor("a restart", () => readFileSync(s.env.STARTS!, "utf8").trim().split("\n").length >= 2);
      const again = await c.client.callTool({ name: "fixture__echo", arguments: { text: "back" } });
      assert.deepEqual(again.content, [{ type: "text", text: "echo: back" }]);
      const events = auditRecords(s).filter((r) => r.kind === "server").map((r) => r.event);
      assert.ok(events.includes("crashed") && events.includes("restarted"), events.join(","));
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a server that keeps failing to start is given up after maxRestarts and reported", async () => {
    const s = scratch({
      permissions: ALLOW_ALL_FIXTURE,
      mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_EXIT_AT_START: "7" } } },
      gateway: { restart: { initialDelayMs: 10, maxDelayMs: 20, maxRestarts: 2 } },
    });
    const c = await connect(s);
    try {
      await waitFor("failed state", () => auditRecords(s).some((r) => r.kind === "server" && r.event === "failed"), 20_000);
      const tools = await c.client.listTools();
      assert.equal(tools.tools.length, 0);
      await assert.rejects(c.client.callTool({ name: "fixture__echo", arguments: { text: "x" } }), /server 'fixture' has failed: .*Connection closed/);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  for (const hotPath of ["on", "off"] as const)
  test(`a call the client cancels is audited as cancelled, not as a timeout (hot path ${hotPath})`, async () => {
    const s = scratch({ permissions: ALLOW_ALL_FIXTURE, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE] } } });
    if (hotPath === "off") s.env.MCP_WARDEN_HOT_PATH = "off";
    const c = await connect(s);
    try {
      const abort = new AbortController();
      const call = c.client.callTool({ name: "fixture__slow", arguments: { ms: 5000, steps: 1 } }, { signal: abort.signal });
      // Cancelled once the gateway has decided and forwarded it (its decision record is written first).
      await waitFor("the decision record", () => auditRecords(s).find((r) => r.event === "decided" && r.tool === "mcp__fixture__slow"));
      abort.abort("the user pressed Esc");
      await assert.rejects(call);
      const outcome = await waitFor("the outcome record", () => auditRecords(s).find((r) => r.event === "completed" && r.tool === "mcp__fixture__slow"));
      assert.equal(outcome.outcome, "cancelled");
      // The gateway still serves the client afterwards.
      const r = await c.client.callTool({ name: "fixture__echo", arguments: { text: "after" } });
      assert.deepEqual(r.content, [{ type: "text", text: "echo: after" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a per-call timeout ends a slow call with a timeout error", async () => {
    const s = scratch({ permissions: ALLOW_ALL_FIXTURE, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], timeoutMs: 300 } } });
    const c = await connect(s);
    try {
      await assert.rejects(c.client.callTool({ name: "fixture__slow", arguments: { ms: 5000, steps: 1 } }), (e: Error & { code?: number }) => {
        assert.equal(e.code, -32053);
        assert.match(e.message, /did not answer tools\/call within 300 ms/);
        return true;
      });
      // Outcome records are written just after the response, so wait for it.
      const outcome = await waitFor("the outcome record", () => auditRecords(s).find((r) => r.event === "completed" && r.tool === "mcp__fixture__slow"));
      assert.equal(outcome.outcome, "timeout");
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("progress notifications reach the client and cancellation reaches the upstream", async () => {
    const s = scratch({ permissions: ALLOW_ALL_FIXTURE, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_CANCEL_FILE: "${CANCELS}" } } } });
    s.env.CANCELS = join(s.dir, "cancels");
    writeFileSync(s.env.CANCELS, "");
    const c = await connect(s);
    try {
      // Counted as they arrive on the wire, before the response: the SDK client itself dispatches a
      // notification a microtask after a response read in the same chunk, and then drops it.
      const seen: number[] = [];
      const sdk = c.transport.onmessage!;
      c.transport.onmessage = ((m: unknown, ...rest: unknown[]) => {
        const n = m as { method?: string; params?: { progress?: number } };
        if (n.method === "notifications/progress" && typeof n.params?.progress === "number") seen.push(n.params.progress);
        if ((m as { id?: unknown }).id !== undefined && "result" in (m as object)) seen.push(-1);
        (sdk as (...args: unknown[]) => void)(m, ...rest);
      }) as typeof sdk;
      const r = await c.client.callTool({ name: "fixture__slow", arguments: { ms: 200, steps: 4 } }, { onprogress: () => undefined });
      assert.deepEqual(r.content, [{ type: "text", text: "slept 200 ms" }]);
      assert.deepEqual(seen, [1, 2, 3, 4, -1], "all four progress notifications, then the result");
      const abort = new AbortController();
      const pending = c.client.callTool({ name: "fixture__slow", arguments: { ms: 10_000, steps: 2 } }, { signal: abort.signal });
      setTimeout(() => abort.abort(), 300);
      await assert.rejects(pending);
      await waitFor("the upstream to see the cancellation", () => readFileSync(s.env.CANCELS!, "utf8").includes("cancelled"));
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("junk on an upstream's stdout is skipped and the call still answers", async () => {
    const s = scratch({ permissions: ALLOW_ALL_FIXTURE, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE] } } });
    const c = await connect(s);
    try {
      const r = await c.client.callTool({ name: "fixture__garbage", arguments: {} });
      assert.deepEqual(r.content, [{ type: "text", text: "answered after garbage" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("a result over maxMessageBytes fails that call clearly; smaller ones pass", async () => {
    const s = scratch({ permissions: ALLOW_ALL_FIXTURE, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE] } }, gateway: { maxMessageBytes: 200_000 } });
    const c = await connect(s);
    try {
      const ok = await c.client.callTool({ name: "fixture__huge", arguments: { bytes: 100_000 } });
      assert.equal((ok.content as { text: string }[])[0]!.text.length, 100_000);
      const started = Date.now();
      await assert.rejects(c.client.callTool({ name: "fixture__huge", arguments: { bytes: 1_000_000 } }), /over the limit of 200000 bytes/);
      assert.ok(Date.now() - started < 5000);
      assert.ok((await c.client.callTool({ name: "fixture__echo", arguments: { text: "still here" } })).content);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("stopping the client stops every upstream process group, grandchildren included", async () => {
    const s = scratch({
      permissions: ALLOW_ALL_FIXTURE,
      mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_PID_FILE: "${PIDF}", FIXTURE_SPAWN_CHILD: "${GRANDF}" } } },
    });
    s.env.PIDF = join(s.dir, "pid");
    s.env.GRANDF = join(s.dir, "grandchild");
    const c = await connect(s);
    await c.client.listTools();
    const serverPid = Number(await waitFor("pid file", () => { try { return readFileSync(s.env.PIDF!, "utf8"); } catch { return undefined; } }));
    const grandchild = Number(await waitFor("grandchild pid", () => { try { return readFileSync(s.env.GRANDF!, "utf8"); } catch { return undefined; } }));
    const gatewayPid = c.transport.pid!;
    assert.ok(alive(serverPid) && alive(grandchild));
    await c.close();
    await waitForExit(gatewayPid, 10_000);
    await waitForExit(serverPid, 5_000);
    await waitForExit(grandchild, 5_000);
    s.cleanup();
  });
});

describe("after a gateway is killed outright", () => {
  test("its servers outlive it, and the next `mcp-warden status` or gateway stops them (and nothing else)", async () => {
    const s = scratch({
      permissions: ALLOW_ALL_FIXTURE,
      mcpServers: { fixture: fixture({ FIXTURE_PID_FILE: "${PIDF}", FIXTURE_SPAWN_CHILD: "${GRANDF}" }) },
    });
    s.env.PIDF = join(s.dir, "pid");
    s.env.GRANDF = join(s.dir, "grandchild");
    const bystander = spawn("sleep", ["60"], { stdio: "ignore" });
    const c = await connect(s);
    try {
      await c.client.listTools();
      const serverPid = Number(await waitFor("pid file", () => readOr(s.env.PIDF!)));
      const grandchild = Number(await waitFor("grandchild pid", () => readOr(s.env.GRANDF!)));
      // Let the status file record the server's process group.
      await waitFor("the status file to list the server's process group", () => cli(s, ["status", "--json", "--settings", s.settingsFile]).stdout.includes('"state": "ready"'));
      await new Promise((r) => setTimeout(r, 200));
      process.kill(c.transport.pid!, "SIGKILL");
      await waitForExit(c.transport.pid!, 5000);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(alive(serverPid) && alive(grandchild), "a server that ignores the end of stdin outlives a SIGKILLed gateway");
      const r = cli(s, ["status", "--settings", s.settingsFile]);
      assert.match(r.stderr, /stopped server 'fixture' \(process group \d+\) of dead gateway/);
      await waitForExit(serverPid, 5000);
      await waitForExit(grandchild, 5000);
      assert.ok(alive(bystander.pid!), "an unrelated process is untouched");
    } finally {
      bystander.kill("SIGKILL");
      await c.close().catch(() => undefined);
      s.cleanup();
    }
  });
});

describe("bad input from the client", () => {
  test("malformed JSON, non-JSON-RPC, oversized and unknown-method messages each get an error; serving goes on", async () => {
    const s = scratch({ permissions: ALLOW_ALL_FIXTURE, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE] } }, gateway: { maxMessageBytes: 100_000 } });
    const g = rawGateway(s);
    try {
      g.send(INIT(1));
      await g.reply(1);
      g.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
      g.send('{"jsonrpc": "2.0", "id": 2, "method": "tools/list"'); // cut short
      g.send(JSON.stringify({ jsonrpc: "1.0", id: 3, method: "tools/list" }));
      g.send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "fixture__echo", arguments: { text: "x".repeat(200_000) } } }));
      g.send(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "no/such/method" }));
      g.send(JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "fixture__echo", arguments: { text: "after the junk" } } }));
      const oversized = (await g.reply(4)) as { error: { code: number; message: string } };
      assert.equal(oversized.error.code, -32600);
      assert.match(oversized.error.message, /exceeds the limit of 100000 bytes/);
      const wrongVersion = (await g.reply(3)) as { error: { code: number } };
      assert.equal(wrongVersion.error.code, -32600);
      const unknown = (await g.reply(5)) as { error: { code: number } };
      assert.equal(unknown.error.code, -32601);
      const good = (await g.reply(6)) as { result: { content: unknown } };
      assert.deepEqual(good.result.content, [{ type: "text", text: "echo: after the junk" }]);
      const parseError = g.messages.find((m) => (m.error as { code?: number } | undefined)?.code === -32700);
      assert.ok(parseError, "the cut-short line got a parse error");
      const verify = cli(s, ["audit", "verify", "--dir", s.auditDir]);
      assert.equal(verify.code, 0, "nothing already in the audit log was lost or broken");
      assert.ok(auditRecords(s).some((r) => r.event === "rejected"), "rejected lines are recorded");
    } finally {
      g.child.stdin.end();
      await waitForExit(g.child.pid!, 10_000);
      s.cleanup();
    }
  });

  test("a settings file with a typo stops the gateway with the file, the JSON path and what was expected", () => {
    const s = scratch({ mcpServers: { fixture: { comand: "node" } } });
    const r = cli(s, ["run", "--settings", s.settingsFile]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /settings\.json/);
    assert.match(r.stderr, /mcpServers\.fixture/);
    assert.match(r.stderr, /comand/);
    s.cleanup();
  });
});
