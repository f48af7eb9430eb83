// A server waiting for launch approval (here: a project's own server) is a "waiting for a person"
// state the user must be able to act on: a call to it names the exact command and, while the
// approval page runs, the console (never a link that answers: the model reads it); `approvals list`
// names the console's page and no link either; the person answers in the console, entered through
// `mcp-warden console`. `servers list` says "awaiting approval" and names the command, in text and
// JSON, and stops saying so once the launch is approved.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { answerInConsole, connect, FIXTURE, scratch, wardenCli, type Scratch } from "./harness.js";

function projectServer(s: Scratch): void {
  mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
  writeFileSync(join(s.project, ".mcp-warden", "settings.json"), JSON.stringify({ mcpServers: { repo: { command: process.execPath, args: [FIXTURE] } } }));
}

describe("a server awaiting launch approval", () => {
  test("a call to it names the approve command and the console, never a link; `approvals list` shows no link; approving in the console starts it", async () => {
    const s = scratch({ permissions: { allow: ["mcp__repo__echo"] }, approvals: { page: true } });
    projectServer(s);
    const c = await connect(s);
    try {
      let message = "";
      await assert.rejects(c.client.callTool({ name: "repo__echo", arguments: { text: "x" } }), (e: Error) => {
        message = e.message;
        return true;
      });
      assert.match(message, /does not start until a person approves it/);
      const id = /`mcp-warden approvals approve ([0-9a-f]+)`/.exec(message)?.[1];
      assert.ok(id, message);
      assert.doesNotMatch(message, /\?t=|http:\/\/127\.0\.0\.1/, "the model never gets a way to approve");
      assert.match(message, /answer it in the console: `mcp-warden console` prints a sign-in link/);
      // `approvals list` (which the message names, and an agent may run) gives no way to answer either.
      const json = wardenCli(s, ["approvals", "list", "--json"]).stdout;
      const listed = JSON.parse(json) as { approvals: { id: string; console?: string }[] };
      assert.match(listed.approvals.find((a) => a.id === id)?.console ?? "", /^http:\/\/127\.0\.0\.1:\d+\/console\/approvals$/, json);
      assert.doesNotMatch(json + wardenCli(s, ["approvals", "list"]).stdout, /[?&]t=|\/a\//);
      // The person answers in the console.
      const answered = await answerInConsole(s, id, "allow-once");
      assert.equal(answered.status, 303, await answered.text());
      // Approved: the server starts; the next call reaches it (bounded wait while it starts).
      let result: unknown;
      for (const deadline = Date.now() + 20_000; result === undefined && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        result = await c.client.callTool({ name: "repo__echo", arguments: { text: "started" } }).catch(() => undefined);
      }
      assert.deepEqual((result as { content?: unknown } | undefined)?.content, [{ type: "text", text: "echo: started" }]);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("with the page off the refusal still names the command, and no URL", async () => {
    const s = scratch({ permissions: { allow: ["mcp__repo__echo"] }, approvals: { page: false } });
    projectServer(s);
    const c = await connect(s);
    try {
      await assert.rejects(c.client.callTool({ name: "repo__echo", arguments: { text: "x" } }), (e: Error) => {
        assert.match(e.message, /mcp-warden approvals approve [0-9a-f]+/);
        assert.doesNotMatch(e.message, /http:\/\//);
        return true;
      });
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("servers list says awaiting approval and names `pins approve`, until the launch is approved", () => {
    const s = scratch({ approvals: { page: true }, mcpServers: { mine: { command: process.execPath, args: [FIXTURE] } } });
    try {
      projectServer(s);
      const text = wardenCli(s, ["servers", "list", "--settings", s.settingsFile]);
      assert.equal(text.code, 0, text.stderr);
      const repoLine = text.stdout.split("\n").find((l) => l.startsWith("repo "));
      assert.match(repoLine ?? "", /allow, awaiting approval: .*project settings.*`mcp-warden pins approve repo`/);
      const mineLine = text.stdout.split("\n").find((l) => l.startsWith("mine "));
      assert.doesNotMatch(mineLine ?? "", /awaiting/, "a server of the user's own settings is approved on first use");

      const json = JSON.parse(wardenCli(s, ["servers", "list", "--json", "--settings", s.settingsFile]).stdout) as { servers: { name: string; awaitingApproval?: string }[] };
      assert.match(json.servers.find((x) => x.name === "repo")?.awaitingApproval ?? "", /pins approve repo/);

      const approved = wardenCli(s, ["pins", "approve", "repo", "--settings", s.settingsFile]);
      assert.equal(approved.code, 0, approved.stdout + approved.stderr);
      const after = JSON.parse(wardenCli(s, ["servers", "list", "--json", "--settings", s.settingsFile]).stdout) as { servers: { name: string; awaitingApproval?: string }[] };
      assert.equal(after.servers.find((x) => x.name === "repo")?.awaitingApproval, undefined);
    } finally {
      s.cleanup();
    }
  });
});
