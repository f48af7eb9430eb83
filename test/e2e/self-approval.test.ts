// The agent must not approve its own calls (issue 12's approve-then-retry hands the model a question
// id): through the real hook, mcp-warden's approving commands (and `console`, whose link opens the
// local console as its admin) ask even under a blanket Bash allow and in bypassPermissions mode, in
// either spelling, and the running gateways' status files (which hold the approval page's admin
// token) cannot be read. The read-only commands stay allowed, so they must hand out no way to answer:
// with a real gateway holding a call, `approvals list` (text and JSON) shows no link that answers,
// and the old question page address (/a/ID, gone) answers nothing. Nor may anything the agent can read later: the gateway's stderr and the
// client's log notifications (Claude Code keeps both in files under ~/.cache), progress, the status
// file, the audit log and an elicitation form carry no one-time link and no token.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { runtimeDir } from "../../src/settings/paths.js";
import { answerInConsole, auditRecords, CLI, connect, consoleLink, FIXTURE, openConsole, scratch, waitFor, wardenAsync, type Scratch } from "./harness.js";

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

  test("`approvals list`, which the hook allows, shows a held call with no link that answers; the old question page address answers nothing", async () => {
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
      // The gateway names the question on stderr (without a link).
      const id = (await waitFor("the announcement", () => /needs approval \(question ([0-9a-f]+)\)/.exec(c.stderr()) ?? undefined, 20_000))[1]!;
      const text = await wardenAsync(s, ["approvals", "list"]);
      const json = await wardenAsync(s, ["approvals", "list", "--json"]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(json.code, 0, json.stderr);
      for (const out of [text.stdout, json.stdout]) {
        assert.ok(out.includes(id), out);
        assert.doesNotMatch(out, /[?&]t=/, "no token");
        assert.doesNotMatch(out, /\/a\//, "no question page address");
      }
      assert.match(text.stdout, /console: http:\/\/127\.0\.0\.1:\d+\/console\/approvals \(sign in with `mcp-warden console`\)/);

      // What the agent could still do with what it read: post an answer to where the question page was.
      const consolePage = (JSON.parse(json.stdout) as { approvals: { id: string; console?: string }[] }).approvals.find((a) => a.id === id)?.console;
      const page = new URL(`/a/${id}`, consolePage);
      for (const body of [{ answer: "allow-once" }, { t: "", answer: "allow-once" }, { t: "guessed", answer: "allow-once" }] as Record<string, string>[]) {
        const post = await fetch(page, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
        assert.equal(post.status, 404, JSON.stringify(body));
      }
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

  test("no one-time link or token reaches what is logged or kept: stderr, log notifications, progress, the status file, the audit log, an elicitation form", async () => {
    const s = scratch({
      permissions: { ask: ["mcp__fx__echo"] },
      approvals: { page: true, timeoutMs: 60_000, holdMs: 60_000 },
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
    });
    const logs: string[] = [];
    const progress: string[] = [];
    const sinks: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    // A client without elicitation: the call is held while the person answers in the console.
    const c = await connect(s, { onLog: (p) => void logs.push(JSON.stringify(p)) });
    try {
      const call = c.client.callTool({ name: "fx__echo", arguments: { text: "no link" } }, { onprogress: (p) => void progress.push(JSON.stringify(p)), timeout: 60_000 });
      const announcement = await waitFor("the announcement in the client's log", () => logs.find((l) => l.includes("needs approval (question ")), 20_000);
      const id = /\(question ([0-9a-f]+)\)/.exec(announcement)![1]!;
      assert.match(announcement, /`mcp-warden approvals approve [0-9a-f]+` or answer it in the console \(`mcp-warden console` prints a sign-in link\)/);
      await waitFor("the progress of the held call", () => progress.find((m) => m.includes(`question ${id}`)));
      const statusFile = join(runtimeDir(s.env), `${c.transport.pid}.json`);
      const status = await waitFor("the status file with the page server", () => (existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, "utf8")) as { approvals?: { token: string } }).approvals : undefined));
      secrets["the page server's admin token"] = status.token;
      // The person signs in with a link from `mcp-warden console` (its ticket must not be logged either) and answers.
      const link = await consoleLink(s);
      secrets["the console ticket"] = new URL(link).searchParams.get("t")!;
      const answered = await answerInConsole(s, id, "allow-once", await openConsole(s, link));
      assert.equal(answered.status, 303, await answered.text());
      assert.deepEqual((await call).content, [{ type: "text", text: "echo: no link" }]);
      await waitFor("the sign-in and the answer in the audit log", () => {
        const records = auditRecords(s);
        return records.some((r) => r.event === "console-signin") && records.some((r) => r.event === "answered" && (r.detail as { via?: string }).via === "console");
      });
      sinks["the gateway's stderr"] = c.stderr();
      sinks["the client's log notifications"] = logs.join("\n");
      sinks["the held call's progress"] = progress.join("\n");
      sinks["the status file"] = readFileSync(statusFile, "utf8");
      sinks["the audit log"] = readdirSync(s.auditDir).filter((f) => f.endsWith(".jsonl")).map((f) => readFileSync(join(s.auditDir, f), "utf8")).join("\n");
    } finally {
      await c.close();
    }

    // A client with elicitation, page on: the form answers by itself and names the other ways, with no link.
    const forms: string[] = [];
    const e = await connect(s, {
      elicitation: (p) => {
        forms.push(String(p.message));
        return { action: "accept", content: { decision: "allow-once" } };
      },
      onLog: (p) => void logs.push(JSON.stringify(p)),
    });
    try {
      assert.deepEqual((await e.client.callTool({ name: "fx__echo", arguments: { text: "in band" } })).content, [{ type: "text", text: "echo: in band" }]);
      assert.equal(forms.length, 1);
      assert.match(forms[0]!, /Or run `mcp-warden approvals approve [0-9a-f]+` or answer it in the console \(`mcp-warden console` prints a sign-in link\)\./);
      sinks["the elicitation form"] = forms.join("\n");
      sinks["the second gateway's stderr"] = e.stderr();
      sinks["the second client's log notifications"] = logs.join("\n");
    } finally {
      await e.close();
      s.cleanup();
    }

    for (const [where, text] of Object.entries(sinks)) {
      assert.ok(text.length > 0, `${where}: read something`);
      assert.doesNotMatch(text, /[?&]t=/, `${where}: no link with a token`);
      assert.doesNotMatch(text, /\/a\/[0-9a-f]{8}/, `${where}: no question page address`);
      assert.ok(!text.includes(secrets["the console ticket"]!), `${where}: not the console ticket`);
      // The status file is where `mcp-warden approvals` finds the admin token (0600, denied to the agent by the hook).
      if (where !== "the status file") assert.ok(!text.includes(secrets["the page server's admin token"]!), `${where}: not the admin token`);
    }
  });
});
