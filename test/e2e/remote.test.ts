// End to end for remote upstreams: the real mcp-warden process in front of an MCP server reached
// over streamable HTTP (our SDK v2 fixture on 127.0.0.1) twice, once negotiated (the gateway's
// client probes and settles on 2026-07-28) and once pinned to the 2025 handshake, and in front of a
// URL nothing listens on. The legacy HTTP+SSE transport (`type: "sse"`) is not covered: SDK v2 has
// no server side for it.
import { HTTP_FIXTURE, type HttpFixture, startHttpFixture } from "./serve-harness.js";
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { auditRecords, cli, connect, ROOT, scratch, waitForExit, type Connected, type Scratch, closedPort } from "./harness.js";

const TOKEN = "rt-9f3c1a7e5b2d4c60-remote";
/** A client-visible failure must arrive well within this; a hang fails the test instead of stalling it. */
const BOUNDED_MS = 15_000;

/** Races `p` against a deadline, so a hang is a failure with a message rather than a stuck test. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const texts = (r: { content?: unknown }) => (r.content as { type: string; text?: string }[]).map((c) => c.text);

describe("a gateway in front of a remote streamable HTTP server and one that is down", () => {
  let fixture: HttpFixture;
  let downPort: number;
  let s: Scratch;
  let legacy: Connected;
  let modern: Connected;

  before(async () => {
    fixture = await startHttpFixture();
    downPort = await closedPort();
    s = scratch({
      permissions: {
        allow: ["mcp__remote__echo", "mcp__remote__whoami", "mcp__remote__progress", "mcp__remote2025__echo", "mcp__remote2025__whoami", "mcp__remote2025__progress", "mcp__down__echo"],
      },
      // The token passes through here on purpose, to prove the audit log's own redaction; scanning in
      // flight (which would block or redact it) is tested in secrets.test.ts.
      secretScanning: { arguments: "off", results: "off" },
      mcpServers: {
        remote: { type: "http", url: `http://127.0.0.1:${fixture.port}/mcp`, headers: { Authorization: "Bearer ${REMOTE_TOKEN}" } },
        remote2025: {
          type: "streamable-http",
          url: `http://127.0.0.1:${fixture.port}/mcp`,
          headers: { Authorization: "Bearer ${REMOTE_TOKEN}" },
          protocol: "legacy",
        },
        down: { type: "http", url: `http://127.0.0.1:${downPort}/mcp`, headers: { Authorization: "Bearer ${REMOTE_TOKEN}" } },
      },
      // Default restart and timeout settings: what a user gets.
    });
    s.env.REMOTE_TOKEN = TOKEN;
    legacy = await within(BOUNDED_MS * 2, "connecting the legacy client", connect(s));
    modern = await within(BOUNDED_MS * 2, "connecting the modern client", connect(s, { era: "modern" }));
  });

  after(async () => {
    await legacy?.close().catch(() => undefined);
    await modern?.close().catch(() => undefined);
    await fixture?.stop();
    s?.cleanup();
  });

  test("the gateway serves both eras although one upstream is down", () => {
    assert.equal(legacy.client.getProtocolEra(), "legacy");
    assert.equal(modern.client.getProtocolEra(), "modern");
    assert.equal(modern.client.getNegotiatedProtocolVersion(), "2026-07-28");
  });

  test("the remote servers' tools are listed as <server>__<tool>; the down server contributes none", async () => {
    for (const c of [legacy, modern]) {
      const names = (await within(BOUNDED_MS, "tools/list", c.client.listTools())).tools.map((t) => t.name);
      for (const expected of ["remote__echo", "remote__whoami", "remote__progress", "remote2025__echo", "remote2025__whoami"]) {
        assert.ok(names.includes(expected), `${expected} missing from ${names.join(", ")}`);
      }
      assert.ok(!names.some((n) => n.startsWith("down__")), `the down server has no tools to list: ${names.join(", ")}`);
    }
  });

  test("the gateway speaks 2026-07-28 to the negotiated upstream and 2025 to the pinned one", () => {
    const log = fixture.stderr();
    assert.match(log, /request POST server\/discover protocol=2026-07-28 status=200/);
    assert.match(log, /request POST initialize protocol=- status=200/);
    assert.match(log, /request POST tools\/list protocol=2025-\d\d-\d\d status=200/);
  });

  test("a call is forwarded over HTTP in both client eras, to both upstream eras", async () => {
    for (const [c, era] of [[legacy, "legacy"], [modern, "modern"]] as const) {
      for (const server of ["remote", "remote2025"]) {
        const text = `${era} client via ${server}`;
        const r = await within(BOUNDED_MS, `${era} echo on ${server}`, c.client.callTool({ name: `${server}__echo`, arguments: { text } }));
        assert.deepEqual(r.content, [{ type: "text", text: `echo: ${text}` }]);
      }
    }
    // The requests really went over HTTP to the fixture, in both upstream eras.
    assert.match(fixture.stderr(), /request POST tools\/call protocol=2026-07-28 status=200/);
    assert.match(fixture.stderr(), /request POST tools\/call protocol=2025-\d\d-\d\d status=200/);
  });

  test("the configured Authorization header, ${VAR} expanded, reaches the remote server", async () => {
    for (const c of [legacy, modern]) {
      for (const server of ["remote", "remote2025"]) {
        const r = await within(BOUNDED_MS, `whoami on ${server}`, c.client.callTool({ name: `${server}__whoami`, arguments: {} }));
        assert.deepEqual(texts(r), [`Bearer ${TOKEN}`], `whoami on ${server}`);
      }
    }
  });

  test("an SSE response streams through: progress arrives before the result", async () => {
    for (const c of [legacy, modern]) {
      for (const server of ["remote", "remote2025"]) {
        const seen: number[] = [];
        const r = await within(
          BOUNDED_MS,
          `progress on ${server}`,
          c.client.callTool({ name: `${server}__progress`, arguments: { steps: 3 } }, { onprogress: (p) => void seen.push(p.progress) }),
        );
        assert.deepEqual(texts(r), ["done after 3 steps"]);
        assert.deepEqual(seen, [1, 2, 3], `progress from ${server}`);
      }
    }
    assert.match(fixture.stderr(), /request POST tools\/call protocol=\S+ status=200 type=text\/event-stream/);
  });

  test("a call to the down server fails at once with a clear error, in both eras", async () => {
    for (const c of [legacy, modern]) {
      const started = Date.now();
      await assert.rejects(within(BOUNDED_MS, "a call to the down server", c.client.callTool({ name: "down__echo", arguments: { text: "x" } })), (e: Error & { code?: number }) => {
        assert.doesNotMatch(e.message, /did not settle/, "the call hung");
        // The down server never listed its tools; the gateway says the server is unavailable and why.
        assert.equal(e.code, -32052);
        assert.match(e.message, /server 'down' (is restarting|has failed|is starting): fetch failed \(ECONNREFUSED/);
        return true;
      });
      assert.ok(Date.now() - started < BOUNDED_MS, "the failure is prompt");
    }
    // The gateway still serves afterwards.
    const ok = await within(BOUNDED_MS, "echo after the failure", legacy.client.callTool({ name: "remote__echo", arguments: { text: "still here" } }));
    assert.deepEqual(ok.content, [{ type: "text", text: "echo: still here" }]);
  });

  test("status reports the remote server ready over http and the down one with its connection error", () => {
    const r = cli(s, ["status", "--json", "--settings", s.settingsFile]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const status = JSON.parse(r.stdout) as { gateways: { servers: { name: string; state: string; transport: string; lastError?: string; protocolVersion?: string }[] }[] };
    assert.ok(status.gateways.length >= 1, r.stdout);
    for (const g of status.gateways) {
      const remote = g.servers.find((x) => x.name === "remote")!;
      assert.equal(remote.state, "ready");
      assert.equal(remote.transport, "http");
      assert.equal(remote.protocolVersion, "2026-07-28");
      const pinned = g.servers.find((x) => x.name === "remote2025")!;
      assert.equal(pinned.state, "ready");
      assert.equal(pinned.transport, "http");
      assert.match(pinned.protocolVersion ?? "", /^2025-/);
      const down = g.servers.find((x) => x.name === "down")!;
      assert.equal(down.transport, "http");
      assert.notEqual(down.state, "ready");
      // What undici says today; the cause (ECONNREFUSED) is not passed on (see the report).
      assert.match(down.lastError ?? "", /fetch failed|ECONNREFUSED/, "the down server's error is reported");
    }
    assert.ok(!r.stdout.includes(TOKEN), "status never shows the token");
  });

  test("the audit log records the remote calls and never contains the Authorization header value", async () => {
    const records = await within(BOUNDED_MS, "audit records", (async () => {
      // fsyncIntervalMs is 50: give the writer a moment.
      await new Promise((r) => setTimeout(r, 200));
      return auditRecords(s);
    })());
    const decided = records.filter((r) => r.kind === "call" && r.event === "decided" && r.tool === "mcp__remote__whoami");
    assert.ok(decided.length >= 2, "both whoami calls are recorded");
    for (const d of decided) {
      assert.equal(d.decision, "allow");
      assert.equal(d.server, "remote");
      const completed = records.find((r) => r.event === "completed" && r.id === d.id);
      assert.equal(completed?.outcome, "ok");
    }
    const started = records.find((r) => r.kind === "server" && r.event === "started" && r.server === "remote");
    assert.ok(started, "the remote server's start is recorded");
    const raw = records.map((r) => JSON.stringify(r)).join("\n");
    assert.ok(!raw.includes(`Bearer ${TOKEN}`), "the configured header value must be redacted");
    assert.ok(!raw.includes(TOKEN), "the token must never appear in the audit log");
    const verify = cli(s, ["audit", "verify", "--dir", s.auditDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  test("the token alone, not just the whole header value, is redacted from the audit log", async () => {
    // The secret the user configured is REMOTE_TOKEN; `Bearer ${REMOTE_TOKEN}` is only its wrapping.
    // A call argument (or an upstream error message) carrying the bare token must not leak it.
    const r = await within(BOUNDED_MS, "echo", legacy.client.callTool({ name: "remote__echo", arguments: { text: `token=${TOKEN}` } }));
    assert.deepEqual(r.content, [{ type: "text", text: `echo: token=${TOKEN}` }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const raw = auditRecords(s).map((x) => JSON.stringify(x)).join("\n");
    assert.match(raw, /token=/, "the echo call is in the audit log");
    assert.ok(!raw.includes(TOKEN), "the bare token value leaked into the audit log");
  });
});

describe("a remote server that goes away after the gateway connected to it", () => {
  let fixture: HttpFixture;
  let s: Scratch;
  let legacy: Connected;
  let modern: Connected;

  before(async () => {
    fixture = await startHttpFixture();
    s = scratch({
      permissions: { allow: ["mcp__gone__echo"] },
      mcpServers: { gone: { type: "http", url: `http://127.0.0.1:${fixture.port}/mcp` } },
    });
    legacy = await within(BOUNDED_MS * 2, "connecting the legacy client", connect(s));
    modern = await within(BOUNDED_MS * 2, "connecting the modern client", connect(s, { era: "modern" }));
  });

  after(async () => {
    await legacy?.close().catch(() => undefined);
    await modern?.close().catch(() => undefined);
    await fixture?.stop();
    s?.cleanup();
  });

  test("calls work, then fail promptly with an unavailable error once the server is gone", async () => {
    for (const c of [legacy, modern]) {
      const r = await within(BOUNDED_MS, "echo", c.client.callTool({ name: "gone__echo", arguments: { text: "before" } }));
      assert.deepEqual(r.content, [{ type: "text", text: "echo: before" }]);
    }
    await fixture.stop();
    for (const c of [legacy, modern]) {
      const started = Date.now();
      await assert.rejects(within(BOUNDED_MS, "a call to the vanished server", c.client.callTool({ name: "gone__echo", arguments: { text: "after" } })), (e: Error & { code?: number }) => {
        assert.doesNotMatch(e.message, /did not settle/, "the call hung");
        assert.equal(e.code, -32052);
        assert.match(e.message, /server 'gone'/);
        return true;
      });
      assert.ok(Date.now() - started < BOUNDED_MS, "the failure is prompt");
      // The gateway itself keeps serving.
      const names = (await within(BOUNDED_MS, "tools/list", c.client.listTools())).tools.map((t) => t.name);
      assert.ok(Array.isArray(names));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const failed = auditRecords(s).filter((r) => r.event === "completed" && r.tool === "mcp__gone__echo" && r.outcome === "error");
    assert.equal(failed.length, 2, "each failed call has an error outcome in the audit log");
  });
});

describe("a legacy HTTP+SSE upstream", () => {
  test("is listed and called through the gateway by clients of both eras", async () => {
    const sse = await startHttpFixture(join(ROOT, "dist/test/fixtures/sse-fixture-server.js"));
    const s = scratch({ permissions: { allow: ["mcp__old"] }, mcpServers: { old: { type: "sse", url: `http://127.0.0.1:${sse.port}/sse` } } });
    try {
      for (const era of ["legacy", "modern"] as const) {
        const c = await connect(s, { era });
        try {
          const names = (await within(BOUNDED_MS, "tools/list", c.client.listTools())).tools.map((t) => t.name);
          assert.ok(names.includes("old__echo"), names.join(","));
          const r = await within(BOUNDED_MS, "echo over SSE", c.client.callTool({ name: "old__echo", arguments: { text: era } }));
          assert.deepEqual(r.content, [{ type: "text", text: `sse echo: ${era}` }]);
        } finally {
          await c.close();
        }
      }
    } finally {
      await sse.stop();
      s.cleanup();
    }
  });
});

// The gateway's own connections obey the egress checks. DNS here is a hosts file that only the
// gateway sees: it runs under bubblewrap with the whole host bound in (network included) and its
// own /etc/hosts, so no outside resolver or address is involved.
const bwrap = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };

describe("the gateway's own connections to remote servers are judged like a sandbox's egress", { skip: bwrap.ok ? false : `bubblewrap unavailable (needed for a private /etc/hosts): ${bwrap.why}` }, () => {
  let fixture: HttpFixture;
  let s: Scratch;
  let c: Connected;

  before(async () => {
    fixture = await startHttpFixture();
    s = scratch({
      permissions: { allow: ["mcp__rebound__echo", "mcp__corp__echo", "mcp__literal__echo"] },
      mcpServers: {
        // A public-looking name whose DNS answer is loopback: the SSRF / rebinding shape.
        rebound: { type: "http", url: `http://mcp.rebound.test:${fixture.port}/mcp` },
        // The same answer, allowed by an explicit CIDR entry (a private corporate host).
        corp: { type: "http", url: `http://mcp.corp.test:${fixture.port}/mcp`, sandbox: { network: { allowedDomains: ["127.0.0.1/32"] } } },
        // What the user wrote: an address, allowed as written.
        literal: { type: "http", url: `http://127.0.0.1:${fixture.port}/mcp` },
      },
    });
    const hosts = join(s.dir, "hosts");
    writeFileSync(hosts, "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 mcp.rebound.test\n127.0.0.1 mcp.corp.test\n");
    c = await within(BOUNDED_MS * 2, "connecting", connect(s, { wrap: ["bwrap", "--dev-bind", "/", "/", "--ro-bind", hosts, "/etc/hosts", "--die-with-parent", "--"] }));
  });

  after(async () => {
    await c?.close().catch(() => undefined);
    await fixture?.stop();
    s?.cleanup();
  });

  test("a name that resolves to loopback is refused; the same name with a CIDR entry, and a literal address, are served", async () => {
    const names = (await within(BOUNDED_MS, "tools/list", c.client.listTools())).tools.map((t) => t.name);
    assert.ok(names.includes("corp__echo") && names.includes("literal__echo"), names.join(", "));
    assert.ok(!names.some((n) => n.startsWith("rebound__")), `the refused server lists no tools: ${names.join(", ")}`);
    for (const server of ["corp", "literal"]) {
      const r = await within(BOUNDED_MS, `echo on ${server}`, c.client.callTool({ name: `${server}__echo`, arguments: { text: server } }));
      assert.deepEqual(r.content, [{ type: "text", text: `echo: ${server}` }]);
    }
    await assert.rejects(within(BOUNDED_MS, "echo on rebound", c.client.callTool({ name: "rebound__echo", arguments: { text: "x" } })), (e: Error & { code?: number }) => {
      assert.equal(e.code, -32052);
      assert.match(e.message, /mcp-warden refused the connection to mcp\.rebound\.test:\d+: mcp\.rebound\.test resolves to 127\.0\.0\.1, which is loopback/);
      return true;
    });
  });

  test("each decision is in the audit log with server, host, port and address", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const egress = auditRecords(s).filter((r) => r.event === "egress");
    const refused = egress.find((r) => r.server === "rebound" && r.decision === "deny");
    assert.ok(refused, "the refusal is audited");
    assert.deepEqual(refused.detail, { host: "mcp.rebound.test", port: fixture.port, protocol: "mcp-upstream" });
    const allowed = egress.find((r) => r.server === "corp" && r.decision === "allow");
    assert.deepEqual(allowed?.detail, { host: "mcp.corp.test", port: fixture.port, address: "127.0.0.1", protocol: "mcp-upstream" });
  });

  test("check --batch answers a remote server's URLs with the same policy", () => {
    // The batch contract: each line carries its own complete settings (the scratch file's servers).
    const settings = { mcpServers: (JSON.parse(readFileSync(s.settingsFile, "utf8")) as { mcpServers: unknown }).mcpServers };
    const lines = [
      { id: "1", settings, server: "literal", url: `http://127.0.0.1:${fixture.port}/mcp` },
      { id: "2", settings, server: "literal", url: "http://169.254.169.254/latest/meta-data/" },
      { id: "3", settings, server: "corp", url: `http://mcp.corp.test:${fixture.port}/other` },
      { id: "4", settings, server: "corp", url: "http://elsewhere.test/" },
    ];
    const r = cli(s, ["check", "--batch"], lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const answers = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; decision: string; reason: string });
    assert.deepEqual(answers.map((a) => [a.id, a.decision]), [["1", "allow"], ["2", "deny"], ["3", "allow"], ["4", "deny"]], r.stdout + r.stderr);
    assert.match(answers[1]!.reason, /link-local \(cloud metadata\)/);
    assert.match(answers[3]!.reason, /elsewhere\.test:80 is not in allowedDomains/);
  });
});

describe("a remote server whose URL carries user:password", () => {
  test("is reached with Basic authorization (fetch refuses such URLs), and the password is in no log or audit record", async () => {
    const fixture = await startHttpFixture();
    const password = "pw-7c1e0b9d4f2a";
    const s = scratch({
      permissions: { allow: ["mcp__basic__whoami"] },
      // The server echoes the header back: results unscanned here, so the test sees what was sent.
      secretScanning: { results: "off" },
      mcpServers: { basic: { type: "http", url: `http://alice:${password}@127.0.0.1:${fixture.port}/mcp` } },
    });
    let c: Connected | undefined;
    try {
      c = await within(BOUNDED_MS * 2, "connecting", connect(s));
      const r = await within(BOUNDED_MS, "whoami", c.client.callTool({ name: "basic__whoami", arguments: {} }));
      assert.deepEqual(texts(r), [`Basic ${Buffer.from(`alice:${password}`).toString("base64")}`]);
      assert.doesNotMatch(c.stderr(), new RegExp(password));
      assert.doesNotMatch(JSON.stringify(auditRecords(s)), new RegExp(password));
    } finally {
      await c?.close().catch(() => undefined);
      await fixture.stop();
      s.cleanup();
    }
  });
});
