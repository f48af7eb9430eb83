// `check --as`, `check --batch` with a `principal` field and `mcp-warden test` with one, through the
// real CLI: the same settings judge the same tool differently per remote caller.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cli, scratch, wardenCli } from "./harness.js";

const WRITE = "mcp__db__write_rows";
const SETTINGS = {
  permissions: { deny: ["mcp__db__drop_table"] },
  principals: {
    "client:agent-a": { permissions: { allow: ["mcp__db"] } },
    "client:ci-bot": { permissions: { deny: ["mcp__*__write*"] } },
    "group:dba": { autoApproveTools: ["mcp__db__*"] },
    "org:acme": { permissions: { ask: ["mcp__db__export"] } },
    "*": { permissions: { deny: ["mcp__db__admin*"] } },
  },
};

describe("check --as", () => {
  test("the same tool is allowed for client A and denied for client B, with the exit code of each decision", () => {
    const s = scratch(SETTINGS);
    try {
      const check = (...as: string[]) => wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", WRITE, ...as]);
      const a = check("--as", "user:svc-a", "--client", "agent-a");
      assert.equal(a.code, 0, a.stderr);
      assert.equal(JSON.parse(a.stdout).decision, "allow");
      const b = check("--as", "user:svc-b", "--client", "ci-bot");
      assert.equal(b.code, 1, b.stderr);
      const denied = JSON.parse(b.stdout) as { decision: string; rule: string; source: { file: string; path: string } };
      assert.equal(denied.decision, "deny");
      assert.equal(denied.rule, "mcp__*__write*");
      assert.deepEqual(denied.source, { layer: "cli", file: s.settingsFile, path: 'principals["client:ci-bot"].permissions.deny[0]' });
      // Without --as: the layers' rules alone, and the tool is unmatched.
      assert.equal(check().code, 3);
    } finally {
      s.cleanup();
    }
  });

  test("groups and org count; a layer's deny and `*` beat a principal's allow", () => {
    const s = scratch(SETTINGS);
    try {
      const check = (tool: string, ...as: string[]) => wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", tool, ...as]);
      assert.equal(check(WRITE, "--as", "user:alice", "--groups", "dev, dba").code, 0);
      assert.equal(check(WRITE, "--as", "user:alice", "--groups", "dev").code, 3);
      assert.equal(check("mcp__db__export", "--as", "user:alice", "--groups", "dba", "--org", "acme").code, 3);
      const dropped = check("mcp__db__drop_table", "--as", "user:alice", "--client", "agent-a");
      assert.equal(dropped.code, 1);
      assert.equal(JSON.parse(dropped.stdout).source.path, "permissions.deny[0]");
      assert.equal(check("mcp__db__admin_reset", "--as", "user:alice", "--client", "agent-a").code, 1);
    } finally {
      s.cleanup();
    }
  });

  test("a malformed --as, or caller flags without --as, is a usage error that says what to write", () => {
    const s = scratch(SETTINGS);
    try {
      const bad = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", WRITE, "--as", "client:ci-bot"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--as takes user:SUBJECT.*--client ID/);
      const orphan = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", WRITE, "--groups", "dba"]);
      assert.equal(orphan.code, 2);
      assert.match(orphan.stderr, /--groups describe the caller of --as; add --as user:SUBJECT/);
      const batch = cli(s, ["check", "--batch", "--as", "user:x"], "");
      assert.equal(batch.code, 2);
      assert.match(batch.stderr, /"principal" field/);
    } finally {
      s.cleanup();
    }
  });

  test("a bad rule in a principals entry is a settings error naming its file and path (exit 2)", () => {
    const s = scratch({ principals: { "client:x": { permissions: { deny: ["mcp____"] } } } });
    try {
      const r = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", WRITE]);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes(s.settingsFile) && r.stderr.includes('principals["client:x"].permissions.deny[0]'), r.stderr);
    } finally {
      s.cleanup();
    }
  });
});

describe("check --batch with a principal field", () => {
  test("each request is judged as its principal; a malformed principal is denied, the batch goes on", () => {
    const s = scratch({});
    try {
      const line = (id: string, principal?: unknown, tool = WRITE) => JSON.stringify({ id, settings: SETTINGS, tool, input: {}, ...(principal !== undefined ? { principal } : {}) });
      const r = cli(
        s,
        ["check", "--batch"],
        [
          line("a", { subject: "svc-a", clientId: "agent-a" }),
          line("b", { subject: "svc-b", clientId: "ci-bot" }),
          line("none"),
          line("group", { subject: "alice", groups: ["dba"] }),
          line("bad", { subject: "alice", role: "admin" }),
          line("def", { subject: "svc-a", clientId: "agent-a" }, "mcp__db__drop_table"),
        ].join("\n") + "\n",
      );
      assert.equal(r.code, 0, r.stderr);
      const answers = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; decision: string; reason: string; source?: { path: string } });
      assert.deepEqual(
        answers.map((a) => [a.id, a.decision]),
        [["a", "allow"], ["b", "deny"], ["none", "ask"], ["group", "allow"], ["bad", "deny"], ["def", "deny"]],
      );
      assert.equal(answers[1]!.source?.path, 'principals["client:ci-bot"].permissions.deny[0]');
      assert.match(answers[4]!.reason, /malformed check request.*role/);
    } finally {
      s.cleanup();
    }
  });

  test("a toolDefinition request is judged as its principal too (a tool denied to it is hidden)", () => {
    const s = scratch({});
    try {
      const line = (id: string, principal: unknown) =>
        JSON.stringify({ id, settings: SETTINGS, server: "db", toolDefinition: { name: "write_rows", description: "Write rows.", inputSchema: { type: "object" } }, principal });
      const r = cli(s, ["check", "--batch"], [line("a", { subject: "a", clientId: "agent-a" }), line("b", { subject: "b", clientId: "ci-bot" })].join("\n") + "\n");
      assert.deepEqual(r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { decision: string }).decision), ["allow", "deny"]);
    } finally {
      s.cleanup();
    }
  });
});

describe("mcp-warden test with a principal", () => {
  test("a policy test can name the caller, with inline or layered settings", () => {
    const s = scratch(SETTINGS);
    try {
      const file = join(s.project, "principals.test.json");
      writeFileSync(
        file,
        JSON.stringify([
          { name: "A writes", tool: WRITE, principal: { subject: "a", clientId: "agent-a" }, expect: "allow" },
          { name: "CI does not", tool: WRITE, principal: { subject: "b", clientId: "ci-bot" }, expect: "deny", expectRule: "mcp__*__write*" },
          { name: "inline", tool: WRITE, settings: SETTINGS, principal: { subject: "b", clientId: "ci-bot" }, expect: "deny" },
          { name: "nobody", tool: WRITE, expect: "ask" },
        ]),
      );
      const r = cli(s, ["test", file, "--settings", s.settingsFile]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /4 passed, 0 failed/);
    } finally {
      s.cleanup();
    }
  });
});
