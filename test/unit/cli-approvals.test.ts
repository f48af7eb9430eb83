// `mcp-warden approvals` against run's real page server and broker in this process, found the way the
// CLI finds a gateway: a status file `<runtimeDir>/<pid>.json` in a scratch state directory.
import { test, describe, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { ApprovalBroker, type ApprovalAnswer, type ApprovalRequest } from "../../src/approvals/broker.js";
import { startApprovalPage, type ApprovalPage } from "../../src/adapters/approval-page.js";
import { approvalsCommand, loopbackUrl, type ApprovalsAction, type ApprovalsOptions } from "../../src/cli/approvals.js";
import { runtimeDir } from "../../src/settings/paths.js";

function request(args: Record<string, unknown>, answers: readonly ApprovalAnswer[] = ["allow-once", "allow-session", "allow-always", "deny"]): ApprovalRequest {
  return {
    kind: "call",
    server: "github",
    serverIdentity: "sha256:abc",
    tool: "mcp__github__create_issue",
    arguments: args,
    reason: "matched an ask rule",
    rule: "ask: mcp__github__*",
    ruleFile: "/p/.mcp-warden/settings.json",
    policyVersion: "v1",
    answers,
  };
}

async function run(action: ApprovalsAction, opts: Omit<ApprovalsOptions, "env">, env: NodeJS.ProcessEnv) {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: string[] = [];
  const e: string[] = [];
  out.on("data", (c: Buffer) => o.push(c.toString()));
  err.on("data", (c: Buffer) => e.push(c.toString()));
  const code = await approvalsCommand(action, { ...opts, env, timeoutMs: 3000 }, out, err);
  return { code, out: o.join(""), err: e.join("") };
}

describe("mcp-warden approvals", () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let broker: ApprovalBroker;
  let page: ApprovalPage;
  let statusFile: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "warden-cli-approvals-"));
    env = { PATH: process.env.PATH, HOME: join(root, "home"), XDG_STATE_HOME: join(root, "state") };
    broker = new ApprovalBroker({ timeoutMs: 60_000 });
    page = await startApprovalPage(broker);
    mkdirSync(runtimeDir(env), { recursive: true });
    statusFile = join(runtimeDir(env), `${process.pid}.json`);
    assert.ok(statusFile.startsWith(root), "the runtime dir is inside the scratch dir");
  });
  // As run's gateway writes it: its console is on the page server.
  beforeEach(() => {
    writeFileSync(statusFile, JSON.stringify({ pid: process.pid, cwd: root, updatedAt: new Date().toISOString(), servers: [], approvals: { url: page.origin, token: page.adminToken }, console: { enabled: true } }));
  });
  after(async () => {
    broker.close();
    await page.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("list shows each pending approval with its arguments made visible, and the console's Approvals page, never a link that answers", async () => {
    const a = broker.open(request({ title: "bug", body: "text" + " ".repeat(300) + "hidden\u200b\u001b[31m" }));
    try {
      const r = await run("list", {}, env);
      assert.equal(r.code, 0, r.err);
      assert.ok(r.out.includes(a.id));
      assert.ok(r.out.includes("github"));
      assert.ok(r.out.includes("mcp__github__create_issue"));
      assert.ok(r.out.includes("matched an ask rule"));
      assert.ok(r.out.includes("ask: mcp__github__*"));
      assert.match(r.out, /expires in \d+m \d+s/);
      assert.ok(r.out.includes(`console: ${page.origin}/console/approvals (sign in with \`mcp-warden console\`)`), r.out);
      assert.ok(!/[?&]t=/.test(r.out), "no token is printed: `list` only reads, and an agent may run it");
      assert.ok(!r.out.includes(`/a/${a.id}`), "nor the old question page's address");
      assert.ok(r.out.includes("hidden"), "the payload after 300 spaces is shown");
      assert.ok(!r.out.includes("\u200b") && !r.out.includes("\u001b"), "no raw hidden characters on the terminal");
      assert.match(r.out, /hidden characters/);
      assert.ok(!r.out.includes(page.adminToken), "the admin token is never printed");
    } finally {
      broker.abandon(a.id, "cancelled");
    }
  });

  test("list --json is parseable, complete and terminal-safe, and holds no token", async () => {
    const a = broker.open(request({ s: "x\u202ey\u200bz" }));
    try {
      const r = await run("list", { json: true }, env);
      assert.equal(r.code, 0, r.err);
      assert.ok(!r.out.includes("\u202e") && !r.out.includes("\u200b"));
      const parsed = JSON.parse(r.out) as { approvals: { id: string; arguments: { s: string }; url?: string; console?: string; gateway: number }[] };
      const entry = parsed.approvals.find((x) => x.id === a.id);
      assert.ok(entry);
      assert.equal(entry.arguments.s, "x\u202ey\u200bz", "the value is intact for a JSON reader");
      assert.equal(entry.console, `${page.origin}/console/approvals`);
      assert.equal(entry.url, undefined);
      assert.ok(!/[?&]t=|\/a\//.test(r.out), "no token, no question page address");
      assert.equal(entry.gateway, process.pid);
    } finally {
      broker.abandon(a.id, "cancelled");
    }
  });

  test("a gateway without a local console (serve's page server) is listed with no page at all", async () => {
    writeFileSync(statusFile, JSON.stringify({ pid: process.pid, approvals: { url: page.origin, token: page.adminToken } }));
    const a = broker.open(request({}));
    try {
      const text = await run("list", {}, env);
      assert.equal(text.code, 0, text.err);
      assert.ok(text.out.includes(a.id));
      assert.doesNotMatch(text.out, /console|https?:\/\//);
      const json = await run("list", { json: true }, env);
      assert.doesNotMatch(json.out, /"console"|"url"|https?:\/\//);
    } finally {
      broker.abandon(a.id, "cancelled");
    }
  });

  test("an older gateway's API answer with a question page's link: the link is dropped, in text and JSON", async () => {
    const secret = "S3cr3tPageToken_" + "x".repeat(27);
    const question = { kind: "call", id: "0a1b2c3d", server: "github", tool: "mcp__github__create_issue", reason: "matched an ask rule", policyVersion: "v1", serverIdentity: "sha256:abc", answers: ["allow-once", "deny"], createdAt: Date.now(), expiresAt: Date.now() + 60_000 };
    const older = createServer((req, res) => {
      res.writeHead(req.headers.authorization === "Bearer older-admin" ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify({ approvals: [{ ...question, url: `http://127.0.0.1:${(older.address() as AddressInfo).port}/a/0a1b2c3d?t=${secret}` }] }));
    });
    await new Promise<void>((resolve) => older.listen(0, "127.0.0.1", resolve));
    try {
      writeFileSync(statusFile, JSON.stringify({ pid: process.pid, approvals: { url: `http://127.0.0.1:${(older.address() as AddressInfo).port}`, token: "older-admin" }, console: { enabled: true } }));
      for (const json of [false, true]) {
        const r = await run("list", { json }, env);
        assert.equal(r.code, 0, r.err);
        assert.ok(r.out.includes("0a1b2c3d"), r.out);
        assert.ok(!r.out.includes(secret) && !/[?&]t=/.test(r.out), `json=${json}: ${r.out}`);
        assert.ok(r.out.includes("/console/approvals"), "the console's page instead");
      }
    } finally {
      older.close();
      older.closeAllConnections();
    }
  });

  test("list with nothing pending", async () => {
    const r = await run("list", {}, env);
    assert.equal(r.code, 0);
    assert.match(r.out, /no pending approvals/);
  });

  test("approve answers allow-once by cli; --session and --always choose the scope", async () => {
    for (const [scope, answer] of [[undefined, "allow-once"], ["session", "allow-session"], ["always", "allow-always"]] as const) {
      const a = broker.open(request({ n: answer }));
      const r = await run("approve", { id: a.id, ...(scope ? { scope } : {}) }, env);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(await a.result, { answer, by: "cli" });
      assert.ok(r.out.includes("mcp__github__create_issue"));
    }
  });

  test("deny answers deny by cli", async () => {
    const a = broker.open(request({}));
    const r = await run("deny", { id: a.id }, env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^denied: /);
    assert.deepEqual(await a.result, { answer: "deny", by: "cli" });
  });

  test("an unknown, answered or inapplicable approval exits 1", async () => {
    const r = await run("approve", { id: "ffffffffffff" }, env);
    assert.equal(r.code, 1);
    assert.match(r.err, /no pending approval ffffffffffff/);
    const a = broker.open(request({}, ["allow-once", "deny"]));
    const always = await run("approve", { id: a.id, scope: "always" }, env);
    assert.equal(always.code, 1);
    assert.match(always.err, /not an answer/);
    assert.ok(broker.get(a.id), "still pending");
    assert.equal((await run("deny", { id: a.id }, env)).code, 0);
    const again = await run("deny", { id: a.id }, env);
    assert.equal(again.code, 1);
  });

  test("usage errors exit 2", async () => {
    assert.equal((await run("approve", {}, env)).code, 2);
    assert.equal((await run("deny", {}, env)).code, 2);
    assert.equal((await run("deny", { id: "abc", scope: "always" }, env)).code, 2);
    assert.equal((await run("list", { id: "abc" }, env)).code, 2);
    assert.equal((await run("approve", { id: "../../etc" }, env)).code, 2);
    assert.equal((await run("approve", { id: "abc", json: true }, env)).code, 2);
  });

  test("no gateway: no status file, a dead pid, or a status file without a loopback URL", async () => {
    const empty = { ...env, XDG_STATE_HOME: join(root, "empty-state") };
    const none = await run("list", {}, empty);
    assert.equal(none.code, 1);
    assert.match(none.err, /no running gateway/);

    rmSync(statusFile);
    // A pid that is not running: a child that has exited and been reaped.
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
    writeFileSync(join(runtimeDir(env), `${deadPid}.json`), JSON.stringify({ pid: deadPid, approvals: { url: page.origin, token: page.adminToken } }));
    assert.equal((await run("list", {}, env)).code, 1);
    rmSync(join(runtimeDir(env), `${deadPid}.json`));

    // A status file pointing the admin token elsewhere is not followed, and the token is not printed.
    for (const url of ["http://evil.example:80", "https://127.0.0.1:" + page.port, "http://user:pw@127.0.0.1:" + page.port, "http://127.0.0.2:" + page.port, "http://127.0.0.1"]) {
      writeFileSync(statusFile, JSON.stringify({ pid: process.pid, approvals: { url, token: page.adminToken } }));
      const r = await run("list", {}, env);
      assert.equal(r.code, 1, url);
      assert.match(r.err, /ignoring approvals url/);
      assert.ok(!r.err.includes(page.adminToken));
    }
    // A status file whose pid disagrees with its name is not trusted.
    writeFileSync(statusFile, JSON.stringify({ pid: 1, approvals: { url: page.origin, token: page.adminToken } }));
    assert.equal((await run("list", {}, env)).code, 1);
    // A wrong admin token: the gateway refuses, the command says it could not.
    writeFileSync(statusFile, JSON.stringify({ pid: process.pid, approvals: { url: page.origin, token: "wrong" } }));
    const wrong = await run("list", {}, env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /did not answer: HTTP 401/);
  });

  test("a localhost URL is accepted and still connects to 127.0.0.1", async () => {
    writeFileSync(statusFile, JSON.stringify({ pid: process.pid, approvals: { url: `http://localhost:${page.port}`, token: page.adminToken } }));
    const a = broker.open(request({}));
    const r = await run("approve", { id: a.id }, env);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await a.result, { answer: "allow-once", by: "cli" });
  });
});

test("loopbackUrl accepts only http://127.0.0.1:PORT and http://localhost:PORT", () => {
  assert.ok(loopbackUrl("http://127.0.0.1:8080"));
  assert.ok(loopbackUrl("http://localhost:8080/"));
  for (const bad of ["http://127.0.0.1", "https://127.0.0.1:1", "http://[::1]:1", "http://a@127.0.0.1:1", "http://localhost.evil:1", "file:///etc/passwd", "not a url"]) assert.equal(loopbackUrl(bad), undefined, bad);
});
