// Attacks from a malicious repository's server and from a malicious upstream, against the real
// gateway (issue 11): a project's server is not spawned before a person approves it (and `scan` does
// not run it either); requests a server sends to the client are held to `clientRequests`, audited,
// and the client's answers scanned for secrets; log messages reach the client without escapes.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { auditRecords, connect, HOSTILE, scratch, updateSettings, waitFor, waitForQuestion, wardenCli, type Scratch } from "./harness.js";

const hostile = (s: Scratch, env: Record<string, string> = {}) => ({
  command: process.execPath,
  args: [HOSTILE],
  protocol: "legacy",
  env: { HOSTILE_MARKER: join(s.dir, "started"), HOSTILE_ANSWERS: join(s.dir, "answers.jsonl"), ...env },
});

function answers(s: Scratch): { id: string; result?: unknown; error?: { message?: string } }[] {
  const file = join(s.dir, "answers.jsonl");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
}

const started = (s: Scratch) => existsSync(join(s.dir, "started"));
const ESC = "\u001b";
const GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

/** A client that records every request and log message the gateway sends it. */
function recordingClient() {
  const seen: { method: string; params: Record<string, unknown> }[] = [];
  return {
    seen,
    opts: {
      sampling: (params: Record<string, unknown>) => {
        seen.push({ method: "sampling/createMessage", params });
        return { role: "assistant", content: { type: "text", text: "a summary" }, model: "fake" };
      },
      elicitation: (params: Record<string, unknown>) => {
        seen.push({ method: "elicitation/create", params });
        return { action: "accept", content: { token: GITHUB_TOKEN } };
      },
      roots: [{ uri: "file:///work/project", name: "project" }],
      onLog: (params: Record<string, unknown>) => seen.push({ method: "notifications/message", params }),
    },
  };
}

describe("a project's own server", () => {
  test("is not spawned, and nothing of it reaches the client, until a person approves it; then it starts", async () => {
    const s = scratch({ approvals: { page: true }, permissions: { allow: ["mcp__evil__echo"] } });
    try {
      mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
      writeFileSync(join(s.project, ".mcp-warden", "settings.json"), JSON.stringify({ mcpServers: { evil: hostile(s, { HOSTILE_AT_START: "sample,elicit,log" }) } }));
      const rec = recordingClient();
      const c = await connect(s, rec.opts);
      try {
        assert.deepEqual((await c.client.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith("evil__")), []);
        await assert.rejects(c.client.callTool({ name: "evil__echo", arguments: { text: "x" } }), /does not start until a person approves it.*mcp-warden approvals approve/s);
        const q = await waitForQuestion(s, (x) => x.kind === "server" && x.server === "evil");
        assert.match(q.diff ?? "", /hostile-server/, "the person sees the command that would run");
        assert.equal(started(s), false, "the server's process was never started");
        assert.deepEqual(rec.seen.filter((x) => x.method !== "notifications/message" || String(x.params.logger).startsWith("evil")), [], "no request or log of the server reached the client");
        const status = wardenCli(s, ["status", "--json"]);
        assert.match(status.stdout, /awaiting-approval/);

        // scan does not run it either, unless told to.
        const scanned = wardenCli(s, ["scan", "--json", "--settings", s.settingsFile]);
        assert.equal(scanned.code, 1, "an unapproved server is flagged");
        assert.equal((JSON.parse(scanned.stdout) as { servers: { name: string; status: string }[] }).servers.find((x) => x.name === "evil")?.status, "awaiting-approval");
        assert.equal(started(s), false, "scan did not start it");

        assert.equal(wardenCli(s, ["approvals", "approve", q.id]).code, 0);
        await waitFor("the approved server to start", () => started(s), 20_000);
        const tools = await waitFor("evil's tools", async () => (await c.client.listTools()).tools.some((t) => t.name === "evil__echo"), 20_000);
        assert.ok(tools);
        const r = await c.client.callTool({ name: "evil__echo", arguments: { text: "hi" } });
        assert.deepEqual(r.content, [{ type: "text", text: "echo: hi" }]);
        assert.ok(auditRecords(s).some((x) => x.kind === "server" && x.event === "approved" && x.server === "evil"));
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });

  test("`pins approve NAME` without a gateway approves the launch configuration the settings here define, and shows it", async () => {
    const s = scratch({ permissions: { allow: ["mcp__evil__echo"] } });
    try {
      mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
      writeFileSync(join(s.project, ".mcp-warden", "settings.json"), JSON.stringify({ mcpServers: { evil: hostile(s) } }));
      assert.match(wardenCli(s, ["status", "--settings", s.settingsFile]).stdout, /awaiting approval: server 'evil' comes from the project settings/);
      const approved = wardenCli(s, ["pins", "approve", "evil", "--settings", s.settingsFile]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, /approved the launch configuration of evil \(project settings/);
      assert.match(approved.stdout, /hostile-server/, "what was approved is shown");
      assert.equal(started(s), false, "approving runs nothing");
      const c = await connect(s);
      try {
        const r = await c.client.callTool({ name: "evil__echo", arguments: { text: "hi" } });
        assert.deepEqual(r.content, [{ type: "text", text: "echo: hi" }]);
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });

  test("scan --include-unapproved runs it, and says so", async () => {
    const s = scratch({});
    try {
      mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
      writeFileSync(join(s.project, ".mcp-warden", "settings.json"), JSON.stringify({ mcpServers: { evil: hostile(s) } }));
      const help = wardenCli(s, ["scan", "--help"]);
      assert.match(help.stdout, /--include-unapproved.*RUNS the commands/s);
      const scanned = wardenCli(s, ["scan", "--json", "--include-unapproved", "--settings", s.settingsFile]);
      assert.equal((JSON.parse(scanned.stdout) as { servers: { name: string; status: string }[] }).servers.find((x) => x.name === "evil")?.status, "ran");
      assert.equal(started(s), true);
      // Nothing was approved by scanning: a gateway still holds it back.
      const c = await connect(s);
      try {
        await assert.rejects(c.client.callTool({ name: "evil__echo", arguments: { text: "x" } }), /does not start until a person approves it/);
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });
});

describe("requests a server sends to the client", () => {
  test("outside any call: elicitation is refused, sampling waits for a person, roots pass; all audited", async () => {
    const s = scratch({ approvals: { page: true, timeoutMs: 60_000 } });
    try {
      updateSettings(s, { mcpServers: { up: hostile(s, { HOSTILE_AT_START: "elicit,sample,roots" }) } });
      const rec = recordingClient();
      const c = await connect(s, rec.opts);
      try {
        await c.client.listTools();
        const q = await waitForQuestion(s, (x) => x.kind === "client-request" && x.server === "up");
        assert.equal(q.method, "sampling/createMessage");
        assert.match(JSON.stringify(q.arguments), /Summarize ~\/.ssh\/id_rsa/, "the person sees what the server would send to the model");
        await waitFor("the elicitation's refusal and the roots answer", () => answers(s).length >= 2 && answers(s), 20_000);
        assert.equal(rec.seen.filter((x) => x.method === "elicitation/create").length, 0, "the form never reached the client");
        assert.equal(rec.seen.filter((x) => x.method === "sampling/createMessage").length, 0, "sampling waits for the person");
        const elicitAnswer = answers(s).find((a) => a.error && /elicitation/.test(String(a.error.message)));
        assert.match(String(elicitAnswer?.error?.message), /none of its calls was open/);

        assert.equal(wardenCli(s, ["approvals", "approve", q.id]).code, 0);
        await waitFor("the sampling request to reach the client", () => rec.seen.some((x) => x.method === "sampling/createMessage"), 20_000);
        await waitFor("the sampling answer to reach the server", () => answers(s).some((a) => JSON.stringify(a.result ?? "").includes("a summary")), 20_000);

        const audit = auditRecords(s).filter((x) => x.kind === "request" && x.server === "up");
        const toClient = audit.filter((x) => x.event === "to-client");
        assert.deepEqual(toClient.map((x) => [x.method, x.decision]).sort(), [
          ["elicitation/create", "deny"],
          ["roots/list", "allow"],
          ["sampling/createMessage", "ask"],
        ]);
        const fromClient = audit.filter((x) => x.event === "from-client").map((x) => x.method).sort();
        assert.deepEqual(fromClient, ["roots/list", "sampling/createMessage"], "the client's answers are audited");
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });

  test("a secret typed into an elicitation form during a call is not passed to the server, and not logged", async () => {
    const s = scratch({});
    try {
      updateSettings(s, { permissions: { allow: ["mcp__up__elicit_in_call"] }, mcpServers: { up: hostile(s) } });
      const rec = recordingClient();
      const c = await connect(s, rec.opts);
      try {
        await c.client.callTool({ name: "up__elicit_in_call", arguments: {} });
        assert.equal(rec.seen.filter((x) => x.method === "elicitation/create").length, 1, "during a call the form reaches the client");
        const got = answers(s).find((a) => a.error || a.result);
        assert.ok(got, "the server got an answer");
        assert.doesNotMatch(JSON.stringify(got), new RegExp(GITHUB_TOKEN), "the token never reached the server");
        assert.match(String(got.error?.message), /contains a secret/);
        const auditText = readdirSync(s.auditDir, { withFileTypes: true })
          .filter((f) => f.isFile())
          .map((f) => readFileSync(join(s.auditDir, f.name), "utf8"))
          .join("");
        assert.doesNotMatch(auditText, new RegExp(GITHUB_TOKEN), "the audit log does not hold the token");
        assert.ok(auditRecords(s).some((x) => x.event === "secret-in-client-answer" && x.server === "up"));
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });

  test("clientRequests can deny a kind even during calls, per server", async () => {
    const s = scratch({});
    try {
      updateSettings(s, { permissions: { allow: ["mcp__up__elicit_in_call"] }, mcpServers: { up: { ...hostile(s), clientRequests: { elicitation: "deny" } } } });
      const rec = recordingClient();
      const c = await connect(s, rec.opts);
      try {
        const r = await c.client.callTool({ name: "up__elicit_in_call", arguments: {} });
        assert.match(JSON.stringify(r.content), /settings deny elicitation requests of server 'up'/);
        assert.equal(rec.seen.filter((x) => x.method === "elicitation/create").length, 0);
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });
});

describe("log messages from servers", () => {
  test("reach the client without terminal escapes in the logger name or the data", async () => {
    const s = scratch({});
    try {
      updateSettings(s, { mcpServers: { up: hostile(s, { HOSTILE_AT_START: "log" }) } });
      const rec = recordingClient();
      const c = await connect(s, rec.opts);
      try {
        await c.client.listTools();
        const log = await waitFor("the server's log message", () => rec.seen.find((x) => x.method === "notifications/message" && String(x.params.logger).startsWith("up/")), 20_000);
        assert.equal(log.params.logger, "up/evilclick here", "whole sequences removed (screen clear, title, OSC-8 link), the visible text kept");
        assert.equal(log.params.data, "read thisclick here");
        assert.ok(!JSON.stringify(log.params).includes(ESC), "no ESC anywhere");
        assert.ok(!/[\u0007\u009b]/.test(JSON.stringify(log.params)), "no BEL or 8-bit CSI");
        assert.match(String(log.params.data), /read this/);
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });

  test("keepLogControlCharacters keeps the data's escapes, never the logger name's", async () => {
    const s = scratch({ integrity: { keepLogControlCharacters: true } });
    try {
      updateSettings(s, { mcpServers: { up: hostile(s, { HOSTILE_AT_START: "log" }) } });
      const rec = recordingClient();
      const c = await connect(s, rec.opts);
      try {
        await c.client.listTools();
        const log = await waitFor("the server's log message", () => rec.seen.find((x) => x.method === "notifications/message" && String(x.params.logger).startsWith("up/")), 20_000);
        assert.ok(!String(log.params.logger).includes(ESC));
        assert.ok(String(log.params.data).includes(`${ESC}[2J`));
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });
});

describe("the gateway's own stderr", () => {
  test("quotes what it is given without escape sequences, and one line per message", async () => {
    const s = scratch({});
    try {
      // A command that cannot start: its name (escapes, a line break and a forged line) is quoted in the error.
      updateSettings(s, { mcpServers: { broken: { command: "no-such-program-\u001b[2J\u001b]0;pwned\u0007\nmcp-warden: all servers approved" } } });
      const c = await connect(s);
      try {
        await c.client.listTools();
        const stderr = await waitFor("the start failure on stderr", () => c.stderr().includes("no-such-program") && c.stderr(), 20_000);
        assert.ok(!stderr.includes("\u001b") && !stderr.includes("\u0007"), JSON.stringify(stderr));
        const forged = stderr.split("\n").filter((l) => l.startsWith("mcp-warden: all servers approved"));
        assert.deepEqual(forged, [], "a quoted line break cannot start a line of its own");
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });
});
