// Secrets in flight, end to end: the real gateway in front of the fixture server scans what a call
// sends and what comes back, blocks or redacts as configured, and the audit log never holds the secret.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { auditRecords, connect, FIXTURE, scratch, type Connected, type Scratch } from "./harness.js";

// Built by concatenation so this repository's own secret scanners do not flag the test.
const PRIVATE_KEY = ["-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", "QyNTUxOQAAACBLx1mA1c7gqH1pZ3cOo0n9G2sF4TjvYk8yGQm2uQ1ZkwAAAJgr4h1bK+Id", "-----END OPENSSH PRIVATE KEY-----"].join("\n");
const GITHUB_TOKEN = "gh" + "p_" + "R7xK2mQ9vLp4Tz8Wn3Ys6Bd1Fh5Jc0Ga2Ue7";
const CONFIGURED = "fixture-secret-value-4f8a2c9e1b";

function gateway(secretScanning: Record<string, unknown>) {
  return scratch({
    permissions: { allow: ["mcp__fx__echo"] },
    secretScanning,
    mcpServers: { fx: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_SECRET: CONFIGURED } } },
  });
}

const text = (r: { content?: unknown }) => (r.content as { text?: string }[])[0]?.text ?? "";

describe("secrets in arguments, by default", () => {
  let s: Scratch;
  let c: Connected;
  before(async () => {
    s = gateway({});
    c = await connect(s);
  });
  after(async () => {
    await c?.close();
    s?.cleanup();
  });

  test("a private key in an allowed tool's arguments is refused, naming the kind and the place, never the key", async () => {
    await assert.rejects(c.client.callTool({ name: "fx__echo", arguments: { text: `city=Paris auth=${PRIVATE_KEY}` } }), (e: Error & { code?: number }) => {
      assert.equal(e.code, -32050);
      assert.match(e.message, /private-key at arguments\.text/);
      assert.ok(!e.message.includes("b3BlbnNzaC1rZXktdjEAAAAA"), "the message does not quote the key");
      return true;
    });
  });

  test("a forge token and a configured secret (a secret-named env value of a server) are refused too", async () => {
    await assert.rejects(c.client.callTool({ name: "fx__echo", arguments: { text: GITHUB_TOKEN } }), /github/i);
    await assert.rejects(c.client.callTool({ name: "fx__echo", arguments: { text: `value ${CONFIGURED}` } }), /configured/);
  });

  test("an ordinary call goes through", async () => {
    const r = await c.client.callTool({ name: "fx__echo", arguments: { text: "a uuid 9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f and a sha 3600abc" } });
    assert.match(text(r), /^echo: a uuid/);
  });

  test("the audit log records where a secret was found, and never the secret", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const records = auditRecords(s);
    const raw = records.map((r) => JSON.stringify(r)).join("\n");
    for (const secret of ["b3BlbnNzaC1rZXktdjEAAAAA", GITHUB_TOKEN, CONFIGURED]) assert.ok(!raw.includes(secret), `the audit log holds ${secret.slice(0, 6)}…`);
    const events = records.filter((r) => r.kind === "integrity" && r.event === "secret-in-arguments");
    assert.equal(events.length, 3);
    assert.deepEqual((events[0]!.detail as { findings: unknown[] }).findings, [{ kind: "private-key", path: "arguments.text" }]);
    const decided = records.filter((r) => r.event === "decided" && r.decision === "deny");
    assert.ok(decided.some((r) => JSON.stringify(r.arguments).includes("[REDACTED:private-key]")), "the decision record keeps the call, redacted");
  });
});

describe("secrets redacted instead of blocked", () => {
  let s: Scratch;
  let c: Connected;
  before(async () => {
    s = gateway({ arguments: "redact" });
    c = await connect(s);
  });
  after(async () => {
    await c?.close();
    s?.cleanup();
  });

  test("arguments are forwarded with the secret removed (the server echoes what it received)", async () => {
    const r = await c.client.callTool({ name: "fx__echo", arguments: { text: `token ${GITHUB_TOKEN} end` } });
    assert.match(text(r), /^echo: token \[REDACTED:github[^\]]*\] end$/);
    assert.ok(!text(r).includes(GITHUB_TOKEN));
  });
});

describe("secrets in results", () => {
  let s: Scratch;
  let c: Connected;
  before(async () => {
    // Arguments unchecked, so the fixture's echo puts the secret into its result.
    s = gateway({ arguments: "off" });
    c = await connect(s);
  });
  after(async () => {
    await c?.close();
    s?.cleanup();
  });

  test("a secret in a result is redacted before the client sees it, and audited without the value", async () => {
    const r = await c.client.callTool({ name: "fx__echo", arguments: { text: `here: ${GITHUB_TOKEN}` } });
    assert.match(text(r), /^echo: here: \[REDACTED:github[^\]]*\]$/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const records = auditRecords(s);
    assert.ok(records.some((x) => x.kind === "integrity" && x.event === "secret-in-result"));
    // Even with argument checks off, the decision record holds the arguments redacted.
    assert.ok(!records.map((x) => JSON.stringify(x)).join("\n").includes(GITHUB_TOKEN), "the audit log holds the token");
  });
});

describe("results are bounded and, on request, stripped of control characters", () => {
  let s: Scratch;
  let c: Connected;
  before(async () => {
    s = scratch({
      permissions: { allow: ["mcp__fx__echo", "mcp__fx__huge"] },
      integrity: { maxResultBytes: 50_000, stripControlCharacters: true },
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
    });
    c = await connect(s);
  });
  after(async () => {
    await c?.close();
    s?.cleanup();
  });

  test("a result over integrity.maxResultBytes becomes an error result saying why; a smaller one passes", async () => {
    const big = await c.client.callTool({ name: "fx__huge", arguments: { bytes: 60_000 } });
    assert.equal(big.isError, true);
    assert.match(text(big), /withheld this result: \d+ bytes exceed integrity\.maxResultBytes \(50000\)/);
    const small = await c.client.callTool({ name: "fx__huge", arguments: { bytes: 40_000 } });
    assert.equal(text(small).length, 40_000);
  });

  test("ANSI escapes and control characters are removed from text results; tabs and newlines stay", async () => {
    const r = await c.client.callTool({ name: "fx__echo", arguments: { text: "a\u001b[2J\u001b]8;;http://x\u0007link\u001b]8;;\u0007\tb\nc\u0007\u0000d" } });
    assert.equal(text(r), "echo: alink\tb\ncd");
  });
});
