// The incident report's pure parts on hand-made records: each step's facts, redaction (a token in
// arguments never reaches the report, only its kind), bounded lists, and escaping in the renderers.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { AuditRecord } from "../../src/audit/record.js";
import { ActivityCollector, type ActivityOptions } from "../../src/incident/activity.js";
import type { ActivityFacts } from "../../src/incident/facts.js";
import { compileRedaction } from "../../src/incident/redaction.js";
import { buildIncidentReport, type IncidentInput } from "../../src/incident/report.js";
import { renderHtml } from "../../src/incident/render-html.js";
import { renderMarkdown } from "../../src/incident/render-markdown.js";
import { serverFacts } from "../../src/incident/server-facts.js";
import { describeSql, loadSqlFacts } from "../../src/incident/sql-facts.js";
import { buildToolTable } from "../../src/policy/guards/fs-tools.js";
import type { ConfiguredServer } from "../../src/policy/types.js";
import type { ResolvedSettings } from "../../src/settings/index.js";

const TOKEN = `ghp_${"Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"}`;
const CONFIGURED_SECRET = "hunter2-configured-value";

let seq = 0;
function rec(r: Partial<AuditRecord> & { kind: AuditRecord["kind"] }, minute = 0): AuditRecord {
  return { v: 1, seq: seq++, time: new Date(Date.UTC(2026, 0, 10, 12, minute)).toISOString(), prev: "0".repeat(64), ...r } as AuditRecord;
}
const alice = { subject: "alice", method: "jwt", session: "sha256:aaaa" };
const bob = { subject: "bob", method: "jwt", session: "sha256:bbbb" };
const call = (tool: string, args: unknown, extra: Partial<AuditRecord> = {}, minute = 1) =>
  rec({ kind: "call", event: "decided", id: `id-${seq}`, server: "bad", tool: `mcp__bad__${tool}`, method: "tools/call", arguments: args, decision: "allow", rule: "mcp__bad", ruleSource: { layer: "project", file: "/p/.mcp-warden/settings.json", path: "permissions.allow[0]" }, principal: alice, ...extra }, minute);

function collect(records: AuditRecord[], opts: Partial<ActivityOptions> = {}): ActivityFacts {
  const c = new ActivityCollector({
    server: "bad",
    since: new Date(Date.UTC(2026, 0, 10)),
    pathTools: buildToolTable({ open_doc: { read: ["doc"] } }),
    guardedPaths: true,
    sqlArguments: () => ["sql", "query"],
    describeSql,
    redaction: compileRedaction({ secrets: [CONFIGURED_SECRET], values: [] }),
    ...opts,
  });
  for (const r of records) c.observe(r, { writer: "audit-1.jsonl" });
  for (const r of records) c.observeSession(r, { writer: "audit-1.jsonl" });
  return c.facts();
}

function input(activity: ActivityFacts, extra: Partial<IncidentInput> = {}): IncidentInput {
  return {
    server: "bad",
    generatedAt: "2026-01-11T00:00:00.000Z",
    since: "2026-01-10T00:00:00.000Z",
    settings: { name: "bad", configured: true, transport: "stdio", sandbox: "bubblewrap", credentials: [] },
    activity,
    auditLog: { store: "file", where: "/audit", status: "intact", details: [] },
    containment: { action: "none", deny: false, ran: false, ok: false, output: [], command: "mcp-warden servers disable bad --deny" },
    redaction: compileRedaction({ secrets: [CONFIGURED_SECRET], values: [] }),
    ...extra,
  };
}

before(async () => {
  assert.ok(await loadSqlFacts(), "the SQL parser loads");
});

describe("incident report: review", () => {
  test("calls by tool and decision, outcomes, principals and sessions", () => {
    const f = collect([
      call("read_text_file", { path: "/srv/a" }),
      rec({ kind: "call", event: "completed", server: "bad", tool: "mcp__bad__read_text_file", outcome: "ok", principal: alice }, 2),
      call("read_text_file", { path: "/srv/b" }, { principal: bob }, 3),
      rec({ kind: "call", event: "completed", server: "bad", tool: "mcp__bad__read_text_file", outcome: "tool-error", principal: bob }, 4),
      call("delete_repo", {}, { decision: "deny", outcome: "denied", rule: "mcp__*__delete*" }, 5),
      // Another server, and a record outside the range: neither counts for this server.
      rec({ kind: "call", event: "decided", server: "other", tool: "mcp__other__x", decision: "allow", principal: { subject: "carol", method: "jwt", session: "sha256:cccc" } }, 6),
      { ...call("read_text_file", { path: "/old" }), time: "2025-12-01T00:00:00.000Z" },
    ]);
    const read = f.tools.items.find((t) => t.tool === "mcp__bad__read_text_file")!;
    assert.equal(read.calls, 2);
    assert.deepEqual(read.decisions, { allow: 2 });
    assert.deepEqual(read.outcomes, { ok: 1, "tool-error": 1 });
    assert.deepEqual(read.principals, ["alice (jwt)", "bob (jwt)"]);
    assert.equal(read.sessions, 2);
    const del = f.tools.items.find((t) => t.tool === "mcp__bad__delete_repo")!;
    assert.deepEqual(del.decisions, { deny: 1 });
    assert.deepEqual(del.outcomes, { denied: 1 });
    assert.deepEqual(f.principals.items, [{ key: "alice (jwt)", count: 2 }, { key: "bob (jwt)", count: 1 }]);
    assert.deepEqual(f.sessions.items.map((s) => [s.id, s.kind, s.calls]), [["sha256:aaaa", "remote session", 2], ["sha256:bbbb", "remote session", 1]]);
    assert.ok(!f.paths.items.some((p) => p.path === "/old"), "a record before --since is not read");
    const report = buildIncidentReport(input(f));
    assert.equal(report.review.calls, 3);
    assert.match(report.review.summary, /3 tool call\(s\) to 2 tool\(s\) \(1 refused\)/);
  });

  test("the hook's decisions on the server's tools count as its calls; its other decisions in a session are the client's own tools", () => {
    const hook = (tool: string) => rec({ kind: "decision", event: "decided", principal: alice, tool, arguments: {}, decision: "allow", reason: "allowed by rule" }, 2);
    const f = collect([call("read_text_file", { path: "/a" }), hook("mcp__bad__read_text_file"), hook("Bash"), hook("mcp__badder__x")]);
    assert.equal(f.tools.items.find((t) => t.tool === "mcp__bad__read_text_file")?.calls, 2);
    assert.deepEqual(
      f.cotenants.items.map((c) => [c.server, c.calls]),
      [["(the client's own tools, judged by the hook)", 2]],
    );
  });

  test("a stdio run is one session; records nobody made (egress, server events) belong to none", () => {
    const local = { subject: "me", method: "local" };
    const f = collect([call("read_text_file", { path: "/a" }, { principal: local }), rec({ kind: "request", event: "egress", server: "bad", decision: "allow", detail: { host: "x.example", port: 443 } })]);
    assert.deepEqual(f.sessions.items.map((s) => [s.id, s.kind]), [["audit-1.jsonl", "gateway run"]]);
  });
});

describe("incident report: exposure", () => {
  test("paths, by the guard's table, by tool name, or only by their look; forwarded and refused apart", () => {
    const f = collect([
      call("read_text_file", { path: "/srv/data/a.csv", head: 3 }),
      call("write_file", { path: "/srv/out/b.txt", content: "x" }),
      call("move_file", { source: "/srv/x", destination: "/srv/y" }, { decision: "deny", outcome: "denied" }),
      call("open_doc", { doc: "notes/plan.md" }),
      call("frobnicate", { target: "/etc/passwd", note: "and/or this" }),
      call("save_snapshot", { where: "./snap.tar" }),
      rec({ kind: "request", event: "decided", server: "bad", method: "resources/read", arguments: { uri: "file:///home/u/.env" }, decision: "allow", principal: alice }, 7),
    ]);
    const got = Object.fromEntries(f.paths.items.map((p) => [p.path, [p.access, p.basis, p.allowed, p.refused]]));
    assert.deepEqual(got["/srv/data/a.csv"], ["read", "filesystem guard", 1, 0]);
    assert.deepEqual(got["/srv/out/b.txt"], ["write", "filesystem guard", 1, 0]);
    assert.deepEqual(got["/srv/x"], ["write", "filesystem guard", 0, 1]);
    assert.deepEqual(got["notes/plan.md"], ["read", "filesystem guard", 1, 0]);
    assert.deepEqual(got["/etc/passwd"], ["unknown", "looks like a path", 1, 0]);
    assert.deepEqual(got["./snap.tar"], ["write", "tool name", 1, 0]);
    assert.deepEqual(got["/home/u/.env"], ["read", "resource URI", 1, 0]);
    assert.equal(got["and/or this"], undefined, "prose with a slash is not a path");
    assert.deepEqual(f.resources.items.map((r) => r.uri), ["file:///home/u/.env"]);
  });

  test("SQL statements and their tables, by PostgreSQL's parser", () => {
    const f = collect([
      call("query", { sql: "WITH recent AS (SELECT * FROM billing.invoices) SELECT * FROM recent JOIN customers c ON true" }),
      call("query", { sql: "DELETE FROM audit_trail" }, { decision: "deny", outcome: "denied" }),
      call("query", { sql: "SELEC nonsense" }),
    ]);
    const [first, second, third] = f.sql.items;
    assert.deepEqual([first!.kinds, first!.tables, first!.allowed], [["SELECT"], ["billing.invoices", "customers"], 1]);
    assert.deepEqual([second!.kinds, second!.tables, second!.refused], [["DELETE"], ["audit_trail"], 1]);
    assert.equal(third!.parsed, false);
    assert.deepEqual(f.tables.items.map((t) => t.key).sort(), ["audit_trail", "billing.invoices", "customers"]);
  });

  test("egress hosts from the proxy's records; hosts named in URLs apart", () => {
    const egress = (decision: "allow" | "deny", extra: Partial<AuditRecord> = {}) =>
      rec({ kind: "request", event: "egress", server: "bad", decision, detail: { host: "evil.example", port: 443, address: "203.0.113.9", protocol: "http-connect" }, ...extra });
    const f = collect([egress("allow"), egress("allow"), egress("deny"), egress("allow", { outcome: "error" }), call("fetch", { url: "https://user:pw@Paste.example/x?k=1" })]);
    assert.deepEqual(f.egress.items, [{ host: "evil.example", port: 443, allowed: 2, refused: 1, failed: 1, addresses: ["203.0.113.9"], protocols: ["http-connect"] }]);
    assert.deepEqual(f.urlHosts.items, [{ key: "paste.example", count: 1 }]);
  });

  test("secrets in flight by kind; a token or configured secret in recorded arguments never reaches the report", () => {
    const f = collect([
      rec({ kind: "integrity", event: "secret-in-result", server: "bad", tool: "mcp__bad__get_config", detail: { action: "redact", findings: [{ kind: "github-token", path: "result.content[0].text" }] } }),
      // A log written with scanning off holds the token itself.
      call("write_file", { path: "/tmp/x", content: `token=${TOKEN} pw=${CONFIGURED_SECRET}` }),
    ]);
    assert.deepEqual(
      f.secrets.items.map((s) => [s.kind, s.where, s.tool]),
      [
        ["github-token", "result", "mcp__bad__get_config"],
        ["github-token", "scanned", "mcp__bad__write_file"],
      ],
    );
    const report = buildIncidentReport(input(f));
    for (const text of [JSON.stringify(report), renderMarkdown(report), renderHtml(report)]) {
      assert.ok(!text.includes(TOKEN) && !text.includes(TOKEN.slice(4, 20)), "no part of the token");
      assert.ok(!text.includes(CONFIGURED_SECRET));
      assert.match(text, /github-token/);
    }
    assert.match(JSON.stringify(report.exposure.arguments), /\[REDACTED:github-token\]/);
    assert.ok(report.credentials.items.some((c) => c.name === "github-token" && c.action === "rotate this"));
  });

  test("other servers and principals in the same sessions; a session it was not in is not followed", () => {
    const other = (server: string, principal: object, minute: number) => rec({ kind: "call", event: "decided", server, tool: `mcp__${server}__send`, method: "tools/call", decision: "allow", principal } as never, minute);
    const f = collect([other("slack", alice, 0), call("read_text_file", { path: "/a" }), other("slack", alice, 2), other("github", { ...bob, session: "sha256:zzzz" }, 3)]);
    assert.deepEqual(
      f.cotenants.items.map((c) => [c.server, c.calls, c.sessions, c.tools]),
      [["slack", 2, 1, [{ key: "mcp__slack__send", count: 2 }]]],
    );
    assert.deepEqual(f.sessionPrincipals.items.map((p) => p.key), ["alice (jwt)"]);
    const report = buildIncidentReport(input(f));
    assert.ok(report.exposure.todo.some((t) => t.includes("mcp-warden audit --server slack")));
  });

  test("the last redaction pass works string by string: a large report is redacted, not replaced", () => {
    const f = collect([]);
    // Far more nodes than the secret scanner walks in one value (100,000).
    f.paths = { items: Array.from({ length: 30_000 }, (_, i) => ({ path: i === 7 ? `/x/${TOKEN}` : `/p/${i}`, access: "read" as const, basis: "looks like a path" as const, tools: ["t"], allowed: 1, refused: 0 })), omitted: 0 };
    const report = buildIncidentReport(input(f));
    assert.equal(report.exposure.paths.items.length, 30_000);
    assert.equal(report.exposure.paths.items[7]!.path, "/x/[REDACTED:github-token]");
    assert.equal(report.exposure.paths.items[29_999]!.path, "/p/29999", "the end of the report is intact too");
  });

  test("lists stay bounded and say how much they left out", () => {
    const records = Array.from({ length: 50 }, (_, i) => call("read_text_file", { path: `/srv/f${i}` }));
    const f = collect(records, { limits: { perList: 10, samplesPerTool: 3 } });
    assert.equal(f.paths.items.length, 10);
    assert.equal(f.paths.omitted, 40);
    assert.equal(f.paths.omittedAtLeast, undefined, "40 is exact");
    assert.equal(f.tools.items[0]!.argumentSamples.length, 3);
    assert.equal(f.tools.items[0]!.argumentSamplesOmitted, 30, "the count of what was left out is bounded too (10 × the list)");
    assert.equal(f.tools.items[0]!.calls, 50, "counts stay exact");
    assert.match(renderMarkdown(buildIncidentReport(input(f))), /and 40 more not listed/);
    const many = collect(Array.from({ length: 120 }, (_, i) => call("read_text_file", { path: `/srv/f${i}` })), { limits: { perList: 10 } });
    assert.deepEqual([many.paths.omitted, many.paths.omittedAtLeast], [100, true]);
    assert.match(renderMarkdown(buildIncidentReport(input(many))), /and at least 100 more not listed/);
  });
});

describe("incident report: credentials and policy", () => {
  test("the names of its env, header and host variables, never their values, each to rotate", () => {
    const server: ConfiguredServer = {
      name: "bad",
      entry: { command: "node", args: ["s.js"], env: { GITHUB_TOKEN: "ghp_value_never_shown", LOG_LEVEL: "debug", DB_URL: "postgres://u:${DB_PASSWORD}@db/x" }, sandbox: { type: "bubblewrap", env: ["AWS_SECRET_ACCESS_KEY"] } },
      source: { layer: "project", file: "/p/.mcp-warden/settings.json", path: "mcpServers.bad" },
      managed: false,
      variables: { "env.DB_URL": ["DB_PASSWORD"], "args[0]": ["API_KEY"] },
    };
    const settings = { servers: [server] } as unknown as ResolvedSettings;
    const facts = serverFacts(settings, "bad", { decision: "allow", reason: "allowed" }, compileRedaction({ secrets: [], values: [] }));
    assert.deepEqual(
      facts.credentials.map((c) => [c.name, c.where, c.action]),
      [
        ["GITHUB_TOKEN", "env", "rotate this"],
        ["LOG_LEVEL", "env", "rotate this if it is a credential (its name does not say so)"],
        ["DB_URL", "env", "rotate this"],
        ["API_KEY", "host variable", "rotate this"],
        ["AWS_SECRET_ACCESS_KEY", "sandbox env", "rotate this"],
      ],
    );
    assert.match(facts.credentials[2]!.detail, /host variable DB_PASSWORD/);
    assert.ok(!JSON.stringify(facts).includes("ghp_value_never_shown") && !JSON.stringify(facts).includes("debug"));
  });

  test("the rules that allowed its calls, with their files; a wildcard is flagged", () => {
    const f = collect([
      call("read_text_file", { path: "/a" }),
      call("read_text_file", { path: "/b" }),
      call("send", {}, { rule: "mcp__*", ruleSource: { layer: "user", file: "/home/u/.config/mcp-warden/settings.json", path: "permissions.allow[3]" } }),
      call("ask_me", {}, { rule: undefined, ruleSource: undefined, reason: "approved once by a person" } as never),
    ]);
    assert.deepEqual(
      f.rules.items.map((r) => [r.rule ?? r.reason, r.file, r.calls]),
      [
        ["mcp__bad", "/p/.mcp-warden/settings.json", 2],
        ["mcp__*", "/home/u/.config/mcp-warden/settings.json", 1],
        ["approved once by a person", undefined, 1],
      ],
    );
    const report = buildIncidentReport(input(f));
    assert.ok(report.policy.todo.some((t) => t.includes("`mcp__*`") && t.includes("wildcard")));
    assert.ok(report.policy.todo.some((t) => t.startsWith("add it to the denylist")), "not contained: the change to make");
    assert.match(report.contain.summary, /Nothing was changed/);
  });

  test("a broken log and a failed containment are problems; an unreadable log says steps 2 and 3 are incomplete", () => {
    const f = collect([]);
    const failed = { action: "disable" as const, deny: true, ran: true, ok: false, output: ["mcp-warden servers disable: server 'bad' comes from managed-mcp.json"], command: "x" };
    const report = buildIncidentReport(input(f, { auditLog: { store: "file", where: "/audit", status: "broken", details: ["broken at a.jsonl:3"] }, containment: failed }));
    assert.equal(report.problems.length, 2);
    assert.match(report.problems[0]!, /audit log is broken \(broken at a\.jsonl:3\)/);
    assert.match(report.problems[1]!, /containment failed: .*managed-mcp\.json/);
    const unreadable = buildIncidentReport(input(f, { activity: { error: "EACCES" }, auditLog: { store: "file", where: "/audit", status: "unreadable", details: [] } }));
    assert.match(unreadable.problems[0]!, /could not be read \(EACCES\): steps 2 and 3 are incomplete/);
  });
});

describe("incident report: rendering", () => {
  const hostile = "x`y<script>alert(1)</script>|[a](javascript:alert(1))\u001b[31m*b*";
  const report = () =>
    buildIncidentReport(
      input(
        collect([
          call("read_text_file", { path: `/srv/${hostile}` }),
          // As plain text (not code): a reason, and an address.
          call("read_text_file", { path: "/srv/z" }, { rule: undefined, ruleSource: undefined, reason: hostile } as never),
          rec({ kind: "request", event: "egress", server: "bad", decision: "allow", detail: { host: hostile, port: 1, address: hostile } }),
        ]),
      ),
    );

  test("Markdown: untrusted text cannot make HTML, links, emphasis, table cells or terminal escapes", () => {
    const md = renderMarkdown(report());
    const lines = md.split("\n").filter((l) => l.includes("alert"));
    assert.ok(lines.some((l) => l.includes("\\<script\\>")), "the hostile text appears escaped as plain text somewhere");
    for (const line of lines) {
      // Outside code spans every `<`, `[` and `*` is escaped; inside them Markdown renders nothing.
      const outside = line.replace(/(`+)(?:(?!\1).)*\1/g, "");
      assert.ok(!/(^|[^\\])[<[*]/.test(outside.replace(/^\| |^- \[ \] /, "")), line);
    }
    assert.ok(!md.includes("\u001b"), "no escape character");
    assert.match(md, /\\u001b/);
    const pathRow = md.split("\n").find((l) => l.includes("/srv/") && l.includes("| read |"))!;
    assert.equal(pathRow.split(/(?<!\\)\|/).length - 2, 6, "the pipe in the path does not add a cell");
  });

  test("HTML: everything escaped", () => {
    const html = renderHtml(report());
    assert.ok(!html.includes("<script>") && !html.includes('href="javascript'));
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.ok(!html.includes("\u001b"));
    assert.match(html, /^<article class="incident-report">/);
  });
});
