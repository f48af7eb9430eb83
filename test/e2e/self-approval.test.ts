// The agent must not approve its own calls (issue 12's approve-then-retry hands the model a question
// id): through the real hook, mcp-warden's approving commands (and `console`, whose link opens the
// local console as its admin) ask even under a blanket Bash allow and in bypassPermissions mode, in
// either spelling, and the running gateways' status files (which hold the approval page's admin
// token) cannot be read. The read-only commands stay allowed, so they must hand out no way to answer:
// with a real gateway holding a call, `approvals list` (text and JSON) shows no question page link,
// and the page refuses an answer without its token (test/unit/approval-page.test.ts covers wrong,
// used and expired tokens).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { CLI, connect, FIXTURE, scratch, waitFor, wardenAsync, type Scratch } from "./harness.js";

function withUserSettings(s: Scratch, settings: Record<string, unknown>): void {
  const file = join(s.env.XDG_CONFIG_HOME as string, "mcp-warden", "settings.json");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ audit: { dir: s.auditDir }, ...settings }));
}

function decide(s: Scratch, tool: string, input: Record<string, unknown>): { decision: string; reason: string } {
  const stdin = JSON.stringify({ session_id: "s", cwd: s.project, permission_mode: "bypassPermissions", hook_event_name: "PreToolUse", tool_name: tool, tool_input: input });
  const r = spawnSync(process.execPath, [CLI, "hook"], { cwd: s.project, env: { ...s.env, CLAUDE_PROJECT_DIR: s.project }, input: stdin, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = (JSON.parse(r.stdout) as { hookSpecificOutput: { permissionDecision: string; permissionDecisionReason: string } }).hookSpecificOutput;
  return { decision: out.permissionDecision, reason: out.permissionDecisionReason };
}

describe("the agent cannot approve its own calls", () => {
  for (const mode of ["default", "bypassPermissions"] as const) {
    test(`under a blanket Bash and Read allow, in ${mode} mode, approving commands ask and status files cannot be read`, () => {
      const s = scratch({});
      try {
        withUserSettings(s, { permissions: { allow: ["Bash", "Read"], defaultMode: mode } });
        mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
        for (const command of [
          "mcp-warden approvals approve 0a1b2c3d",
          "mcp-warden approvals approve 0a1b2c3d --always",
          "mcp-warden approvals deny 0a1b2c3d",
          `node ${CLI} approvals approve 0a1b2c3d`,
          "mcp-warden pins approve evil",
          "mcp-warden pins reset github",
          "mcp-warden trust",
          "mcp-warden console",
          `node ${CLI} console`,
          "echo ok && mcp-warden approvals approve 0a1b2c3d",
        ]) {
          const d = decide(s, "Bash", { command });
          assert.equal(d.decision, "ask", `${command}: ${d.reason}`);
          assert.match(d.reason, /answers for a person/, command);
        }
        for (const command of ["mcp-warden approvals list", "mcp-warden pins list", "mcp-warden status --json"]) {
          assert.equal(decide(s, "Bash", { command }).decision, "allow", `${command} only reads`);
        }
        const statusFile = join(s.home, ".local/state/mcp-warden/run/12345.json");
        mkdirSync(dirname(statusFile), { recursive: true });
        writeFileSync(statusFile, JSON.stringify({ approvals: { url: "http://127.0.0.1:1", token: "admin" } }));
        assert.equal(decide(s, "Read", { file_path: statusFile }).decision, "deny");
        assert.equal(decide(s, "Bash", { command: `cat ${statusFile}` }).decision, "deny");
      } finally {
        s.cleanup();
      }
    });
  }

  test("an allow rule naming the exact command lets the user pre-approve that one command", () => {
    const s = scratch({});
    try {
      withUserSettings(s, { permissions: { allow: ["Bash(mcp-warden pins approve github)"] } });
      assert.equal(decide(s, "Bash", { command: "mcp-warden pins approve github" }).decision, "allow");
      assert.equal(decide(s, "Bash", { command: "mcp-warden pins approve evil" }).decision, "ask");
    } finally {
      s.cleanup();
    }
  });

  test("`approvals list`, which the hook allows, shows a held call without its page's one-time link; the page refuses an answer without it", async () => {
    const s = scratch({
      permissions: { ask: ["mcp__fx__echo"] },
      approvals: { page: true, timeoutMs: 60_000, holdMs: 60_000 },
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
    });
    // No elicitation: the call is held for the page, the console and the CLI.
    const c = await connect(s);
    try {
      const call = c.client.callTool({ name: "fx__echo", arguments: { text: "self-approve" } }).then(
        (r) => r,
        (e: Error) => e,
      );
      // The person's copy of the link is on the gateway's stderr: the token exists, only not for the agent.
      const link = await waitFor("the announcement", () => /http:\/\/127\.0\.0\.1:\d+\/a\/([0-9a-f]+)\?t=[A-Za-z0-9_-]+/.exec(c.stderr()) ?? undefined, 20_000);
      const id = link[1]!;
      const text = await wardenAsync(s, ["approvals", "list"]);
      const json = await wardenAsync(s, ["approvals", "list", "--json"]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(json.code, 0, json.stderr);
      for (const out of [text.stdout, json.stdout]) {
        assert.ok(out.includes(id), out);
        assert.doesNotMatch(out, /[?&]t=/, "no token");
        assert.ok(!out.includes(new URL(link[0]).searchParams.get("t")!), "not the page's token");
        assert.doesNotMatch(out, /\/a\//, "no question page address");
      }
      assert.match(text.stdout, /console: http:\/\/127\.0\.0\.1:\d+\/console\/approvals \(sign in with `mcp-warden console`\)/);

      // What the agent could still do with what it read: post an answer to the page without the token.
      const page = new URL(`/a/${id}`, link[0]);
      for (const body of [{ answer: "allow-once" }, { t: "", answer: "allow-once" }, { t: "guessed", answer: "allow-once" }] as Record<string, string>[]) {
        const post = await fetch(page, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
        assert.equal(post.status, 403, JSON.stringify(body));
      }
      const consolePage = (JSON.parse(json.stdout) as { approvals: { id: string; console?: string }[] }).approvals.find((a) => a.id === id)?.console;
      assert.equal((await fetch(consolePage!, { redirect: "manual" })).status, 401, "the console's page needs a sign-in");
      const still = await wardenAsync(s, ["approvals", "list", "--json"]);
      assert.ok(still.stdout.includes(id), "still pending: nothing was answered");
      assert.equal((await wardenAsync(s, ["approvals", "deny", id])).code, 0);
      assert.ok((await call) instanceof Error, "denied by the person");
    } finally {
      await c.close();
      s.cleanup();
    }
  });
});
