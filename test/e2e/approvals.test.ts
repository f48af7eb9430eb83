// `ask` end to end: the real gateway holds a call an ask rule covers until a person answers, through
// a real SDK client's elicitation (2025-era and 2026-07-28 clients), or, for a client that cannot be
// asked, through run's local console (real HTTP, entered with a link from the real `mcp-warden
// console`) and `mcp-warden approvals` (the real CLI).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { answerInConsole, auditRecords, connect, FIXTURE, scratch, waitFor, type Connected, type Scratch, wardenAsync } from "./harness.js";

const BOUNDED_MS = 20_000;

const warden = wardenAsync;

/** `askRule`: echo is asked by an explicit ask rule; otherwise it asks because no rule matches it. */
function settings(approvals: Record<string, unknown>, askRule = true) {
  return {
    permissions: { allow: ["mcp__fx__create_issue"], ...(askRule ? { ask: ["mcp__fx__echo"] } : {}) },
    approvals,
    mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
  };
}

type Elicited = { message: string; requestedSchema: { properties: { decision: { oneOf: { const: string }[] } } } };

describe("ask through the client's elicitation", () => {
  let s: Scratch;
  let legacy: Connected;
  let modern: Connected;
  const asked: Elicited[] = [];
  const answers: Record<string, unknown>[] = [];
  const answer = (params: Record<string, unknown>) => {
    asked.push(params as unknown as Elicited);
    return answers.shift() ?? { action: "decline" };
  };

  before(async () => {
    s = scratch(settings({ page: false, timeoutMs: 15_000 }));
    legacy = await connect(s, { elicitation: answer });
    modern = await connect(s, { era: "modern", elicitation: answer });
  });
  after(async () => {
    await legacy?.close().catch(() => undefined);
    await modern?.close().catch(() => undefined);
    s?.cleanup();
  });

  test("allow once lets exactly that call through; the question shows server, tool, rule and the arguments made visible", async () => {
    asked.length = 0;
    answers.push({ action: "accept", content: { decision: "allow-once" } });
    const payload = `hello${" ".repeat(300)}then\u200bhidden`;
    const r = await legacy.client.callTool({ name: "fx__echo", arguments: { text: payload } });
    assert.deepEqual(r.content, [{ type: "text", text: `echo: ${payload}` }]);
    assert.equal(asked.length, 1);
    const q = asked[0]!;
    assert.match(q.message, /Server: fx/);
    assert.match(q.message, /Tool: mcp__fx__echo/);
    assert.match(q.message, /mcp__fx__echo/);
    assert.match(q.message, /settings\.json/, "the rule's file is named");
    assert.ok(!q.message.includes(" ".repeat(300)), "the padding is compacted, not shown raw");
    assert.ok(!q.message.includes("\u200b"), "the zero-width character is made visible");
    assert.match(q.message, /hidden/);
    // An ask rule outranks allow rules, so "always allow" is not offered for it.
    assert.deepEqual(q.requestedSchema.properties.decision.oneOf.map((o) => o.const), ["allow-once", "allow-session", "deny"]);
    // Once means once: the next call asks again, and a declined form refuses it.
    answers.push({ action: "decline" });
    await assert.rejects(legacy.client.callTool({ name: "fx__echo", arguments: { text: "again" } }), (e: Error & { code?: number }) => {
      assert.equal(e.code, -32051);
      assert.match(e.message, /denied by a person \(client\)/);
      return true;
    });
    assert.equal(asked.length, 2);
  });

  test("a 2026-07-28 client is asked through an input_required round, and a deny refuses", async () => {
    asked.length = 0;
    answers.push({ action: "accept", content: { decision: "allow-once" } });
    const r = await modern.client.callTool({ name: "fx__echo", arguments: { text: "modern" } });
    assert.deepEqual(r.content, [{ type: "text", text: "echo: modern" }]);
    answers.push({ action: "accept", content: { decision: "deny" } });
    await assert.rejects(modern.client.callTool({ name: "fx__echo", arguments: { text: "no" } }), (e: Error & { code?: number }) => e.code === -32051);
    assert.equal(asked.length, 2);
  });

  test("an accepted form with an unknown decision, or one the question did not offer, is a deny at once", async () => {
    answers.push({ action: "accept", content: { decision: "allow-forever-and-ever" } });
    await assert.rejects(legacy.client.callTool({ name: "fx__echo", arguments: { text: "x" } }), (e: Error & { code?: number }) => e.code === -32051);
    // "always" is not offered for a rule that asks; answering it anyway must not hold the call open.
    const started = Date.now();
    answers.push({ action: "accept", content: { decision: "allow-always" } });
    await assert.rejects(legacy.client.callTool({ name: "fx__echo", arguments: { text: "y" } }), (e: Error & { code?: number }) => e.code === -32051 && /denied by a person \(client\)/.test(e.message));
    assert.ok(Date.now() - started < 10_000, "not held until the 15 s approval timeout");
  });

  test("allow for this session stops the questions for that tool, and both are audited", async () => {
    asked.length = 0;
    answers.push({ action: "accept", content: { decision: "allow-session" } });
    for (const text of ["one", "two", "three"]) {
      const r = await legacy.client.callTool({ name: "fx__echo", arguments: { text } });
      assert.deepEqual(r.content, [{ type: "text", text: `echo: ${text}` }]);
    }
    assert.equal(asked.length, 1, "asked once for the session");
    await new Promise((r) => setTimeout(r, 200));
    const records = auditRecords(s);
    const answered = records.filter((r) => r.kind === "approval" && r.event === "answered");
    assert.ok(answered.some((r) => (r.detail as Record<string, unknown>).answer === "allow-session" && (r.detail as Record<string, unknown>).by === "client"));
    assert.ok(records.some((r) => r.kind === "approval" && r.event === "asked" && r.tool === "mcp__fx__echo"));
  });
});

describe("ask with a client that cannot be asked: the console and the CLI", () => {
  let s: Scratch;
  let c: Connected;
  const logs: string[] = [];

  before(async () => {
    // No rule matches echo: it asks by default, so "always allow" is offered.
    s = scratch(settings({ page: true, timeoutMs: 15_000 }, false));
    c = await connect(s);
    c.client.setNotificationHandler("notifications/message", (n) => void logs.push(String((n.params as { data?: unknown }).data)));
  });
  after(async () => {
    await c?.close().catch(() => undefined);
    s?.cleanup();
  });

  /** Starts a held call and waits until the CLI lists its question. */
  async function held(text: string) {
    const call = c.client.callTool({ name: "fx__echo", arguments: { text } }).then(
      (r) => ({ ok: true as const, r }),
      (e: Error & { code?: number }) => ({ ok: false as const, e }),
    );
    const deadline = Date.now() + BOUNDED_MS;
    for (;;) {
      const r = await warden(s, ["approvals", "list", "--json"]);
      const parsed = r.code === 0 ? (JSON.parse(r.stdout) as { approvals: { id: string; tool: string; console?: string; arguments: unknown }[] }) : undefined;
      const question = parsed?.approvals.find((a) => JSON.stringify(a.arguments).includes(text));
      if (question) return { call, question };
      if (Date.now() > deadline) throw new Error(`the question did not appear in \`approvals list\` within ${BOUNDED_MS} ms: ${r.stdout}${r.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  test("approvals approve releases exactly the held call", async () => {
    const { call, question } = await held("via cli");
    assert.equal(question.tool, "mcp__fx__echo");
    const r = await warden(s, ["approvals", "approve", question.id]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = await call;
    assert.ok(result.ok, "the call went through");
    assert.deepEqual(result.r.content, [{ type: "text", text: "echo: via cli" }]);
    // The question is gone: approving it again fails.
    assert.notEqual((await warden(s, ["approvals", "approve", question.id])).code, 0);
  });

  test("the pending call's log message and stderr name the question, the command and the console, never a link that answers; the console answers it; `approvals list` names the console", async () => {
    logs.length = 0;
    const { call, question } = await held("via console");
    // What the person reads (the client's log notification, the gateway's stderr): which question, and
    // the ways to answer that need the person. Clients keep both in files the agent can read.
    const announcement = await waitFor("the announcement", () => logs.find((l) => l.includes(question.id)));
    assert.equal(announcement, `mcp__fx__echo needs approval (question ${question.id}): run \`mcp-warden approvals approve ${question.id}\` or answer it in the console (\`mcp-warden console\` prints a sign-in link)`);
    assert.ok(c.stderr().includes(announcement), "stderr says the same");
    for (const out of [logs.join("\n"), c.stderr()]) assert.doesNotMatch(out, /[?&]t=|127\.0\.0\.1:\d+\/a\//, "no question page link");
    // `approvals list` only reads (an agent may run it): the console's page, not a link that answers.
    assert.match(question.console ?? "", /^http:\/\/127\.0\.0\.1:\d+\/console\/approvals$/);
    const text = await warden(s, ["approvals", "list"]);
    const json = await warden(s, ["approvals", "list", "--json"]);
    for (const out of [text.stdout, json.stdout]) {
      assert.ok(out.includes(question.id), out);
      assert.doesNotMatch(out, /[?&]t=|\/a\//, "no question page link");
    }
    assert.match(text.stdout, /sign in with `mcp-warden console`/);
    // The person answers in the console, entered with a link from `mcp-warden console`.
    const answered = await answerInConsole(s, question.id, "allow-once");
    assert.equal(answered.status, 303, await answered.text());
    const result = await call;
    assert.ok(result.ok);
    assert.deepEqual(result.r.content, [{ type: "text", text: "echo: via console" }]);
    await waitFor("the answer audited as given in the console", () =>
      auditRecords(s).find((r) => r.kind === "approval" && r.event === "answered" && (r.detail as { approval?: string; via?: string }).approval === question.id && (r.detail as { via?: string }).via === "console"),
    );
  });

  test("approvals deny refuses the held call", async () => {
    const { call, question } = await held("to deny");
    assert.equal((await warden(s, ["approvals", "deny", question.id])).code, 0);
    const result = await call;
    assert.ok(!result.ok);
    assert.equal(result.e.code, -32051);
    assert.match(result.e.message, /denied by a person \(cli\)/);
  });

  test("always allow writes an allow rule to the local settings layer, which a new gateway obeys without asking", async () => {
    const { call, question } = await held("always");
    assert.equal((await warden(s, ["approvals", "approve", question.id, "--always"])).code, 0);
    assert.ok((await call).ok);
    const local = join(s.project, ".mcp-warden", "settings.local.json");
    assert.ok(existsSync(local), "the local layer file was written");
    assert.deepEqual((JSON.parse(readFileSync(local, "utf8")) as { permissions: { allow: string[] } }).permissions.allow, ["mcp__fx__echo"]);
    // A fresh gateway, in the same project, loads the rule: no question.
    const fresh = await connect(s);
    try {
      const r = await fresh.client.callTool({ name: "fx__echo", arguments: { text: "later" } });
      assert.deepEqual(r.content, [{ type: "text", text: "echo: later" }]);
    } finally {
      await fresh.close();
    }
  });
});

describe("ask fails closed", () => {
  test("no answer before approvals.timeoutMs: the call kept open by progress is refused, and nothing ran", async () => {
    const s = scratch(settings({ page: true, timeoutMs: 1500, holdMs: 1000 }));
    const c = await connect(s);
    try {
      const r = (await c.client.callTool({ name: "fx__echo", arguments: { text: "nobody" } }, { onprogress: () => undefined })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(r.isError, true);
      assert.match(r.content[0]!.text, /nobody answered within 2 s\. Nothing was run\./);
      assert.ok(!JSON.stringify(r).includes("echo: nobody"));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(!auditRecords(s).some((x) => x.kind === "call" && x.event === "completed"), "nothing was forwarded");
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test("with no channel (client cannot be asked, page off) the call is denied at once", async () => {
    const s = scratch(settings({ page: false }));
    const c = await connect(s);
    try {
      const started = Date.now();
      await assert.rejects(c.client.callTool({ name: "fx__echo", arguments: { text: "x" } }), (e: Error & { code?: number }) => {
        assert.equal(e.code, -32051);
        assert.match(e.message, /no approval channel is available/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, "not held until a timeout");
    } finally {
      await c.close();
      s.cleanup();
    }
  });
});
