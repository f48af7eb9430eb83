// End to end: the real mcp-warden process, real servers from npm and our fixture, a real SDK client.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { auditRecords, cli, connect, waitFor, EVERYTHING, FILESYSTEM, FIXTURE, MEMORY, scratch, type Connected, type Scratch } from "./harness.js";

const SECRET = "s3cr3t-token-value-1234";

describe("a gateway in front of server-everything, -filesystem, -memory and the fixture", () => {
  let s: Scratch;
  let legacy: Connected;
  let modern: Connected;

  before(async () => {
    s = scratch({
      permissions: {
        allow: ["mcp__everything__echo", "mcp__everything__get-sum", "mcp__everything__toggle-subscriber-updates", "mcp__fs__list_directory", "mcp__memory__read_graph", "mcp__fixture__create_issue", "mcp__fixture__echo"],
        deny: ["mcp__*__delete*", "mcp__everything__get-env", "mcp__fs__write_file"],
      },
      // Secrets pass through here on purpose, to prove the audit log's own redaction; scanning in
      // flight (which would block or redact them) is tested in secrets.test.ts.
      secretScanning: { arguments: "off", results: "off" },
      mcpServers: {
        everything: { command: process.execPath, args: [EVERYTHING] },
        fs: { command: process.execPath, args: [FILESYSTEM, "${WARDEN_FS_ROOT}"] },
        memory: { command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: "${WARDEN_MEMORY_FILE}" } },
        fixture: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_SECRET: SECRET } },
      },
    });
    const root = join(s.dir, "fsroot");
    mkdirSync(root);
    writeFileSync(join(root, "a.txt"), "hello");
    s.env.WARDEN_FS_ROOT = root;
    s.env.WARDEN_MEMORY_FILE = join(s.dir, "memory.jsonl");
    legacy = await connect(s);
    modern = await connect(s, { era: "modern" });
  });

  after(async () => {
    await legacy?.close();
    await modern?.close();
    s?.cleanup();
  });

  test("the legacy client negotiates a 2025 revision and the modern client 2026-07-28", () => {
    assert.equal(legacy.client.getProtocolEra(), "legacy");
    assert.equal(modern.client.getProtocolEra(), "modern");
    assert.equal(modern.client.getNegotiatedProtocolVersion(), "2026-07-28");
  });

  test("tools of every upstream are exposed as <server>__<tool>, denied ones are not listed", async () => {
    const expectedNames = ["everything__echo", "fs__list_directory", "memory__read_graph", "fixture__create_issue", "fixture__slow"];
    for (const c of [legacy, modern]) {
      // Two gateways start four servers each at once: on a loaded machine one may still be starting
      // at the first list (bounded: three lists a second apart), and the audit trail says why if not.
      let names: string[] = [];
      for (let i = 0; i < 3; i++) {
        names = (await c.client.listTools()).tools.map((t) => t.name);
        if (expectedNames.every((e) => names.includes(e))) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const trail = () => JSON.stringify(auditRecords(s).filter((r) => r.kind === "server" || r.kind === "integrity").map((r) => [r.kind, r.event, r.server, r.reason ?? r.error]));
      for (const expected of expectedNames) {
        assert.ok(names.includes(expected), `${expected} missing from ${names.join(", ")}; server and integrity records: ${trail()}`);
      }
      for (const hidden of ["everything__get-env", "fs__write_file", "fixture__delete_repo", "fixture__create_issue__delete_all", "memory__delete_entities"]) {
        assert.ok(!names.includes(hidden), `${hidden} should be hidden`);
      }
    }
  });

  test("an allowed call is forwarded to the right upstream in both eras", async () => {
    const a = await legacy.client.callTool({ name: "everything__echo", arguments: { message: "hi" } });
    assert.deepEqual(a.content, [{ type: "text", text: "Echo: hi" }]);
    const b = await modern.client.callTool({ name: "fixture__echo", arguments: { text: "modern" } });
    assert.deepEqual(b.content, [{ type: "text", text: "echo: modern" }]);
    const c = await modern.client.callTool({ name: "fs__list_directory", arguments: { path: s.env.WARDEN_FS_ROOT } });
    assert.match(JSON.stringify(c.content), /a\.txt/);
  });

  test("a denied tool is not callable and the error names the rule", async () => {
    await assert.rejects(legacy.client.callTool({ name: "fixture__delete_repo", arguments: {} }), (e: Error & { code?: number }) => {
      assert.equal(e.code, -32050);
      assert.match(e.message, /mcp__\*__delete\*/);
      assert.match(e.message, /settings\.json/);
      return true;
    });
  });

  test("create_issue__delete_all does not ride on the allow for create_issue", async () => {
    await assert.rejects(legacy.client.callTool({ name: "fixture__create_issue__delete_all", arguments: {} }), /Denied/);
    const ok = await legacy.client.callTool({ name: "fixture__create_issue", arguments: {} });
    assert.deepEqual(ok.content, [{ type: "text", text: "issue created" }]);
  });

  test("a tool no rule matches needs approval; with no way to ask anybody it is refused at once", async () => {
    await assert.rejects(modern.client.callTool({ name: "everything__get-tiny-image", arguments: {} }), (e: Error & { code?: number }) => {
      assert.equal(e.code, -32051);
      assert.match(e.message, /needs approval.*no approval channel is available/);
      return true;
    });
  });

  test("an unknown tool name is an invalid-params error, not a crash", async () => {
    await assert.rejects(legacy.client.callTool({ name: "nosuchserver__echo", arguments: {} }), /Unknown tool/);
    await assert.rejects(legacy.client.callTool({ name: "everything__nosuchtool", arguments: {} }), /Unknown tool/);
    // The gateway still serves afterwards.
    assert.ok((await legacy.client.callTool({ name: "everything__get-sum", arguments: { a: 2, b: 3 } })).content);
  });

  test("prompts, resources and completions of server-everything pass through", async () => {
    const prompts = (await legacy.client.listPrompts()).prompts.map((p) => p.name);
    assert.ok(prompts.includes("everything__simple-prompt"), prompts.join(","));
    const got = await legacy.client.getPrompt({ name: "everything__simple-prompt" });
    assert.ok(got.messages.length > 0);
    const resources = (await legacy.client.listResources()).resources;
    assert.ok(resources.length > 0);
    const read = await legacy.client.readResource({ uri: resources[0]!.uri });
    assert.equal(read.contents[0]!.uri, resources[0]!.uri);
    const fixtureRead = await modern.client.readResource({ uri: "fixture://hello" });
    assert.deepEqual(fixtureRead.contents, [{ uri: "fixture://hello", text: "hello from the fixture" }]);
  });

  test("completions are routed to the prompt's server under its upstream name", async () => {
    const r = await legacy.client.complete({ ref: { type: "ref/prompt", name: "everything__completable-prompt" }, argument: { name: "department", value: "S" } });
    assert.deepEqual(r.completion.values, ["Sales", "Support"]);
  });

  test("resource subscriptions, resources/updated and upstream log messages reach the client", async () => {
    const logs: { logger?: string; data?: unknown }[] = [];
    const updated: string[] = [];
    legacy.client.setNotificationHandler("notifications/message", (n) => void logs.push(n.params as { logger?: string; data?: unknown }));
    legacy.client.setNotificationHandler("notifications/resources/updated", (n) => void updated.push(n.params.uri));
    await legacy.client.setLoggingLevel("debug");
    const uri = (await legacy.client.listResources()).resources.find((r) => r.uri.startsWith("demo://"))?.uri;
    assert.ok(uri, "server-everything lists demo:// resources");
    await legacy.client.subscribeResource({ uri });
    await waitFor("the subscribe acknowledgement log", () => logs.find((l) => String(l.data).includes(`Received Subscribe Resource request for URI: ${uri}`)));
    assert.equal(logs.find((l) => String(l.data).includes("Received Subscribe"))?.logger, "everything", "log messages name their server");
    await legacy.client.callTool({ name: "everything__toggle-subscriber-updates", arguments: {} }).catch(() => undefined);
    await waitFor("a resources/updated notification", () => updated.includes(uri), 15_000);
  });

  test("every call is in the audit log, decision before outcome, and secrets never appear", async () => {
    await legacy.client.callTool({ name: "fixture__echo", arguments: { text: `token=${SECRET}` } });
    const decidedNow = auditRecords(s).filter((r) => r.kind === "call" && r.event === "decided" && r.tool === "mcp__fixture__echo");
    assert.ok(decidedNow.length >= 1, "the decision is on disk by the time the result arrives");
    const last = decidedNow.at(-1)!;
    // The outcome is written just after the response: wait for it.
    const records = await waitFor("the outcome record", () => {
      const all = auditRecords(s);
      return all.some((r) => r.event === "completed" && r.id === last.id) && all;
    });
    assert.equal(last.decision, "allow");
    assert.equal(last.rule, "mcp__fixture__echo");
    assert.deepEqual(last.client, { name: "e2e-client", version: "1.0.0" });
    const completed = records.find((r) => r.event === "completed" && r.id === last.id);
    assert.ok(completed, "an outcome record follows the decision");
    assert.equal(completed.outcome, "ok");
    assert.ok((records.indexOf(completed) as number) > records.indexOf(last));
    const denied = records.find((r) => r.kind === "call" && r.tool === "mcp__fixture__delete_repo");
    assert.equal(denied?.decision, "deny");
    assert.equal(denied?.outcome, "denied");
    const raw = auditRecords(s).map((r) => JSON.stringify(r)).join("\n");
    assert.ok(!raw.includes(SECRET), "the configured secret must be redacted");
    // The in-flight scanner (which found the secret) or the audit log redactor: either way, redacted.
    assert.match(raw, /\[REDACTED[\]:]/);
    const verify = cli(s, ["audit", "verify", "--dir", s.auditDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /intact/);
  });

  test("each server's stderr goes to its own log file", () => {
    const log = readFileSync(join(s.logDir, "fixture.stderr.log"), "utf8");
    assert.match(log, /fixture server \d+ starting/);
  });
});
