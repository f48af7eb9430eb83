// The rough edges a new user hit (issue 12, item 8), each through the real CLI: `status` keeps an
// upstream's crash after its restart, every bad rule is named at once (and a misspelled deny rule
// fails closed in the hook), `check` hints the canonical name for a name as the client sees it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CLI, connect, FIXTURE, scratch, waitFor, wardenCli } from "./harness.js";

describe("status after an upstream crash", () => {
  test("LAST ERROR still shows the crash once the server has restarted", async () => {
    const s = scratch({ permissions: { allow: ["mcp__fx"] }, mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } }, gateway: { restart: { initialDelayMs: 10 } } });
    const c = await connect(s);
    try {
      await c.client.listTools();
      await assert.rejects(c.client.callTool({ name: "fx__crash", arguments: {} }));
      const restarted = await waitFor(
        "the server to be ready again after its restart",
        () => {
          const r = wardenCli(s, ["status", "--json", "--settings", s.settingsFile]);
          const fx = (JSON.parse(r.stdout) as { gateways: { servers: { name: string; state: string; restarts: number; lastError?: string; lastCrash?: { error: string } }[] }[] }).gateways[0]?.servers.find(
            (x) => x.name === "fx",
          );
          return fx && fx.state === "ready" && fx.restarts > 0 ? fx : undefined;
        },
        20_000,
      );
      assert.equal(restarted.lastError, undefined, "it runs again: no current error");
      assert.match(restarted.lastCrash?.error ?? "", /exited with code 3; see .*fx\.stderr\.log/);
      const text = wardenCli(s, ["status", "--settings", s.settingsFile]);
      assert.match(text.stdout, /^ {2}fx +ready .*exited with code 3; see \S+fx\.stderr\.log \(at \S+; restarted since\)$/m);
    } finally {
      await c.close();
      s.cleanup();
    }
  });
});

describe("rule errors", () => {
  test("check names every bad rule at once, with the tool a misspelled one meant", () => {
    const s = scratch({ permissions: { deny: ["Raed(.env)", "mcp__ok", "Bash(rm -rf *"], allow: ["WebFecth(domain:example.com)"] } });
    try {
      const r = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", "Read", "--input", '{"file_path":".env"}']);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "", "no decision is printed");
      assert.match(r.stderr, /settings error: 3 problems in the rules:/);
      assert.match(r.stderr, /permissions\.deny\[0\]: there is no built-in tool "Raed"; did you mean "Read\(\.env\)"\?/);
      assert.match(r.stderr, /permissions\.deny\[2\]: unbalanced parentheses/);
      assert.match(r.stderr, /permissions\.allow\[0\]: there is no built-in tool "WebFecth"; did you mean "WebFetch\(domain:example\.com\)"\?/);
    } finally {
      s.cleanup();
    }
  });

  test("the hook denies every call while a project's deny rule is misspelled, and says which and what it meant", () => {
    const s = scratch({});
    try {
      mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
      writeFileSync(join(s.project, ".mcp-warden", "settings.json"), JSON.stringify({ permissions: { deny: ["Raed(.env)"] } }));
      writeFileSync(join(s.project, ".env"), "TOKEN=x\n");
      const input = JSON.stringify({ session_id: "s", cwd: s.project, permission_mode: "default", hook_event_name: "PreToolUse", tool_name: "Read", tool_input: { file_path: join(s.project, ".env") } });
      const r = spawnSync(process.execPath, [CLI, "hook"], { cwd: s.project, env: { ...s.env, CLAUDE_PROJECT_DIR: s.project }, input, encoding: "utf8", timeout: 30_000 });
      const answer = JSON.parse(r.stdout) as { hookSpecificOutput: { permissionDecision: string; permissionDecisionReason: string } };
      assert.equal(answer.hookSpecificOutput.permissionDecision, "deny");
      assert.match(answer.hookSpecificOutput.permissionDecisionReason, /did you mean "Read\(\.env\)"/);
    } finally {
      s.cleanup();
    }
  });
});

describe("check with a name as the client sees it", () => {
  test("check --tool everything__echo hints mcp__everything__echo; the canonical name gets no hint", () => {
    const s = scratch({ permissions: { allow: ["mcp__everything__echo"] }, mcpServers: { everything: { command: process.execPath, args: [FIXTURE] } } });
    try {
      const exposed = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", "everything__echo"]);
      assert.equal(JSON.parse(exposed.stdout).decision, "ask", "stdout stays the decision alone");
      assert.match(exposed.stderr, /hint: "everything__echo" looks like the name a client sees.*`mcp-warden check --tool mcp__everything__echo`/);
      const canonical = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", "mcp__everything__echo"]);
      assert.equal(canonical.code, 0);
      assert.equal(canonical.stderr, "");
      const bash = wardenCli(s, ["check", "--settings", s.settingsFile, "--tool", "Bash", "--input", '{"command":"ls"}']);
      assert.doesNotMatch(bash.stderr, /hint/);
      const file = join(s.dir, "t.json");
      writeFileSync(file, JSON.stringify([{ tool: "everything__echo", expect: "allow" }]));
      const t = wardenCli(s, ["test", file, "--settings", s.settingsFile]);
      assert.equal(t.code, 1);
      assert.match(t.stdout, /hint: .*write "tool": "mcp__everything__echo"/);
    } finally {
      s.cleanup();
    }
  });
});

describe("each command's --help", () => {
  const s = scratch({});
  const help = (args: string[]) => {
    const r = wardenCli(s, [...args, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.slice(r.stdout.lastIndexOf("Exit"));
  };

  test("lists the command's own exit codes, not the global list", () => {
    try {
      const run = help(["run"]);
      assert.match(run, /4 +the gateway could not start/);
      assert.doesNotMatch(run, /allow|deny|verify|doctor/, "run --help says nothing of check's or verify's codes");
      const check = help(["check"]);
      assert.match(check, /0 +allow\n +1 +deny\n +2 +usage or settings error.*\n +3 +ask/);
      assert.doesNotMatch(check, /gateway|verify/);
      assert.match(help(["scan"]), /1 +something flagged: .*a server that did not start/);
      assert.match(help(["doctor"]), /1 +something required is missing/);
      assert.match(help(["audit", "verify"]), /3 nothing found altered but not proven complete/);
      for (const args of [["status"], ["audit"], ["servers", "list"], ["servers", "disable"], ["init"], ["trust"], ["pins", "approve"], ["pins", "list"], ["approvals", "approve"]]) {
        const text = help(args);
        assert.match(text, /^Exit codes:\n +0 /, args.join(" "));
        assert.doesNotMatch(text, /check: allow|altered or removed|gateway could not start/, args.join(" "));
      }
      assert.match(help([]), /each command's --help lists its own/);
    } finally {
      s.cleanup();
    }
  });
});
