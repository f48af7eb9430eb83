// "Approve, then retry", end to end: the real gateway, real SDK clients that declare no elicitation
// (as the MCP Inspector and several IDEs), the real `mcp-warden approvals` CLI. A held call is
// answered before the client's own timeout with a tool error naming the command and the console; an
// approval given afterwards lets the identical call through once, and nothing else: not a second
// retry, not other arguments, not another client, not after the window, not twice across two
// gateways. With a progressToken the call is kept open instead. With no gateway running, the CLI
// answers from the stored question and the next gateway honours it. Every step is audited.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { answerInConsole, auditRecords, CLI, consoleApprovals, FIXTURE, openConsole, scratch, waitFor, waitForExit, type Scratch, wardenAsync } from "./harness.js";

/** The client's own request timeout in these tests: every held call must be answered before it. */
const CLIENT_TIMEOUT_MS = 30_000;
const HOLD_MS = 1500;

const warden = wardenAsync;

function settings(approvals: Record<string, unknown>) {
  return {
    permissions: { ask: ["mcp__fx__echo"] },
    approvals: { page: true, holdMs: HOLD_MS, ...approvals },
    mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
  };
}

interface Gw {
  client: Client;
  pid: number;
  /** The gateway's stderr so far (which names the question and the ways to answer, never a link that answers). */
  stderr(): string;
  close(): Promise<void>;
}

/** `mcp-warden run` with an SDK client that declares no capabilities at all (no elicitation). */
async function connectAs(s: Scratch, name = "e2e-client"): Promise<Gw> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "run", "--settings", s.settingsFile], env: s.env as Record<string, string>, cwd: s.project, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => void (stderr += d.toString()));
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport, { timeout: 30_000 });
  const pid = transport.pid!;
  return {
    client,
    pid,
    stderr: () => stderr,
    close: async () => {
      await client.close().catch(() => undefined);
      await waitForExit(pid, 15_000).catch(() => undefined);
    },
  };
}

type CallResult = { content?: { type: string; text?: string }[]; isError?: boolean; _meta?: Record<string, unknown> };

function echo(gw: Gw, text: string, extra: Record<string, unknown> = {}): Promise<CallResult> {
  return gw.client.callTool({ name: "fx__echo", arguments: { text } }, { timeout: CLIENT_TIMEOUT_MS, ...extra }) as Promise<CallResult>;
}

/** The question id of an actionable error, after checking that it says what to do. */
function actionable(r: CallResult): string {
  assert.equal(r.isError, true, `expected the actionable tool error, got ${JSON.stringify(r)}`);
  const text = r.content?.map((c) => c.text ?? "").join("\n") ?? "";
  const m = /`mcp-warden approvals approve ([0-9a-f]+)`/.exec(text);
  assert.ok(m, `the error names the approve command: ${text}`);
  assert.match(text, /answers it in the console: `mcp-warden console` prints a sign-in link/, "and where else the person answers");
  assert.doesNotMatch(text, /\?t=|http:\/\/127\.0\.0\.1/, "never the page's one-time link: the model must not hold a way to approve its own call");
  assert.doesNotMatch(text, /approvals list/, "nor a pointer to a listing (one used to show the link)");
  assert.match(text, /again with exactly the same arguments/, "and that the call must be retried");
  assert.equal((r._meta?.["mcp-warden/approval"] as { id?: string } | undefined)?.id, m[1]);
  return m[1]!;
}

function ok(r: CallResult, text: string) {
  assert.notEqual(r.isError, true, JSON.stringify(r));
  assert.deepEqual(r.content, [{ type: "text", text: `echo: ${text}` }]);
}

const approvalEvents = (s: Scratch, id: string) =>
  auditRecords(s)
    .filter((r) => r.kind === "approval" && (r.detail as { approval?: string } | undefined)?.approval === id)
    .map((r) => r.event);

describe("ask with a client that has no elicitation: approve, then retry", () => {
  let s: Scratch;
  let gw: Gw;
  before(async () => {
    s = scratch(settings({}));
    gw = await connectAs(s);
  });
  after(async () => {
    await gw?.close();
    s?.cleanup();
  });

  test("the held call is answered before the client's timeout with an error naming the command and the page; after approval the identical retry passes once, a second retry asks again", async () => {
    const id = actionable(await echo(gw, "one"));
    // The question outlives the call: listed, marked as ended.
    const listed = await warden(s, ["approvals", "list", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const q = (JSON.parse(listed.stdout) as { approvals: { id: string; callEnded?: boolean }[] }).approvals.find((a) => a.id === id);
    assert.ok(q?.callEnded, listed.stdout);
    const approved = await warden(s, ["approvals", "approve", id]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /retry it with the same arguments/);

    ok(await echo(gw, "one"), "one");
    const again = actionable(await echo(gw, "one"));
    assert.notEqual(again, id, "a second retry is a new question");

    await waitFor("the audit records", () => approvalEvents(s, id).includes("used"));
    assert.deepEqual(approvalEvents(s, id), ["asked", "deferred", "answered", "used"]);
    const answered = auditRecords(s).find((r) => r.event === "answered" && (r.detail as { approval?: string }).approval === id)!;
    assert.deepEqual([(answered.detail as Record<string, unknown>).by, (answered.detail as Record<string, unknown>).afterCall], ["cli", true]);
    // The refused attempts are recorded as what they were: asked, not forwarded.
    assert.ok(auditRecords(s).some((r) => r.kind === "call" && r.event === "decided" && r.decision === "ask" && r.outcome === "denied"));
  });

  test("an approval is bound to the arguments and to the client: other arguments or another client are asked again", async () => {
    const id = actionable(await echo(gw, "bound"));
    assert.equal((await warden(s, ["approvals", "approve", id])).code, 0);
    actionable(await echo(gw, "bound ")); // one character more
    const other = await connectAs(s, "another-client");
    try {
      actionable(await echo(other, "bound"));
    } finally {
      await other.close();
    }
    // The grant is still there for the call it was given for.
    ok(await echo(gw, "bound"), "bound");
  });

  test("a retry before anybody answered is held on the same question, not a new one; an approval given meanwhile lets it through", async () => {
    const id = actionable(await echo(gw, "patient"));
    assert.equal(actionable(await echo(gw, "patient")), id, "the same question");
    const listed = JSON.parse((await warden(s, ["approvals", "list", "--json"])).stdout) as { approvals: { id: string; arguments?: { text?: string } }[] };
    assert.equal(listed.approvals.filter((a) => a.arguments?.text === "patient").length, 1, "one question for the call");
    // Whether the approval lands before the retry or while it is held, the retry passes.
    const retry = echo(gw, "patient");
    assert.equal((await warden(s, ["approvals", "approve", id])).code, 0);
    ok(await retry, "patient");
    assert.deepEqual(approvalEvents(s, id), ["asked", "deferred", "deferred", "answered", "used"]);
  });

  test("a denial after the call ended lets nothing through: the retry is asked again", async () => {
    const id = actionable(await echo(gw, "no"));
    assert.equal((await warden(s, ["approvals", "deny", id])).code, 0);
    assert.notEqual(actionable(await echo(gw, "no")), id);
    await waitFor("the denial's audit record", () => approvalEvents(s, id).includes("answered"));
  });

  test("the console shows a question whose call has ended as such and answers it; the retry passes", async () => {
    const r = await echo(gw, "via console");
    const id = actionable(r);
    // stderr tells the person which question and where to answer it, with no link that answers.
    const announced = await waitFor("the announcement on stderr", () => gw.stderr().split("\n").find((l) => l.includes(`(question ${id})`)));
    assert.match(announced, /`mcp-warden console` prints a sign-in link/);
    assert.doesNotMatch(gw.stderr(), /[?&]t=|127\.0\.0\.1:\d+\/a\//, "no question page link on stderr");
    // The person's channel: the console, entered with a link from `mcp-warden console`.
    const session = await openConsole(s);
    const page = await consoleApprovals(session);
    const question = new RegExp(`<section[^>]*id="q-${id}"[\\s\\S]*?</section>`).exec(page)?.[0];
    assert.ok(question, `the console lists question ${id}`);
    assert.match(question, /The call has ended: its client could not wait for you\. If you allow it, the identical call \(same arguments\) goes through once when it is retried/);
    const answered = await answerInConsole(s, id, "allow-once", session);
    assert.equal(answered.status, 303, await answered.text());
    await waitFor("the answer on disk", () => approvalEvents(s, id).includes("answered"));
    ok(await echo(gw, "via console"), "via console");
  });
});

describe("approve, then retry: limits", () => {
  test("the window: an approval not used within approvals.retryWindowMs lets nothing through, and its expiry is audited", async () => {
    const s = scratch(settings({ retryWindowMs: 1000 }));
    const gw = await connectAs(s);
    try {
      const id = actionable(await echo(gw, "late"));
      assert.equal((await warden(s, ["approvals", "approve", id])).code, 0);
      await new Promise((r) => setTimeout(r, 1500));
      actionable(await echo(gw, "late"));
      const expired = auditRecords(s).find((r) => r.event === "expired" && (r.detail as { approval?: string }).approval === id);
      assert.ok(expired, "the expiry is audited");
      assert.match(String(expired.reason), /not retried within the retry window/);
    } finally {
      await gw.close();
      s.cleanup();
    }
  });

  test("two gateways retrying the approved call at the same moment: exactly one passes", async () => {
    const s = scratch(settings({}));
    const a = await connectAs(s);
    const b = await connectAs(s);
    try {
      const id = actionable(await echo(a, "race"));
      assert.equal((await warden(s, ["approvals", "approve", id])).code, 0);
      const results = await Promise.all([echo(a, "race"), echo(b, "race"), echo(a, "race"), echo(b, "race")]);
      assert.equal(results.filter((r) => r.isError !== true).length, 1, JSON.stringify(results));
      assert.equal(auditRecords(s).filter((r) => r.event === "used").length, 1);
    } finally {
      await a.close();
      await b.close();
      s.cleanup();
    }
  });

  test("with a progressToken the call stays open past approvals.holdMs, says who must act, and completes when approved", async () => {
    const s = scratch(settings({ timeoutMs: 60_000 }));
    const gw = await connectAs(s);
    try {
      const progress: string[] = [];
      const call = echo(gw, "kept alive", { onprogress: (p: { message?: string }) => void progress.push(p.message ?? ""), resetTimeoutOnProgress: true });
      const id = await waitFor("the progress message", () => /approvals approve ([0-9a-f]+)/.exec(progress.join("\n"))?.[1]);
      // Longer than the hold: a call without a progressToken would have been answered by now.
      await new Promise((r) => setTimeout(r, HOLD_MS + 1000));
      assert.equal((await warden(s, ["approvals", "approve", id])).code, 0);
      ok(await call, "kept alive");
      assert.ok(progress.some((m) => m.includes(`mcp-warden approvals approve ${id}`) && m.includes("`mcp-warden console`")), progress.join("\n"));
      // Progress may reach the model in some clients: never the page's one-time link in it.
      assert.ok(progress.every((m) => !/\?t=|http:\/\//.test(m)), progress.join("\n"));
      assert.deepEqual(approvalEvents(s, id), ["asked", "answered"]);
    } finally {
      await gw.close();
      s.cleanup();
    }
  });
});

describe("a client that gives up", () => {
  test("its own timeout cancels the held call, and the question stays answerable: approve, then retry passes", async () => {
    const s = scratch(settings({ timeoutMs: 60_000 }));
    const gw = await connectAs(s);
    try {
      const progress: string[] = [];
      // Sends a progressToken (kept alive by progress), but gives up after 2 s without resetting on progress.
      await assert.rejects(echo(gw, "impatient", { onprogress: (p: { message?: string }) => void progress.push(p.message ?? ""), timeout: 2000 }), /timed out/i);
      const id = /approvals approve ([0-9a-f]+)/.exec(progress.join("\n"))?.[1];
      assert.ok(id, progress.join("\n"));
      await waitFor("the deferral after the cancellation", () => approvalEvents(s, id).includes("deferred"));
      const deferred = auditRecords(s).find((r) => r.event === "deferred" && (r.detail as { approval?: string }).approval === id);
      assert.match(String(deferred?.reason), /the client stopped waiting/);
      assert.equal((await warden(s, ["approvals", "approve", id])).code, 0);
      ok(await echo(gw, "impatient"), "impatient");
    } finally {
      await gw.close();
      s.cleanup();
    }
  });
});

describe("approve with no gateway running", () => {
  test("the CLI answers the stored question and audits it; a new gateway lets the identical retry through once", async () => {
    const s = scratch(settings({}));
    try {
      const first = await connectAs(s);
      const id = actionable(await echo(first, "offline"));
      await first.close();

      const listed = await warden(s, ["approvals", "list"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${id} .*no longer running`));
      assert.match(listed.stdout, /offline/, "the arguments are shown");
      // No gateway, so no session to allow.
      const session = await warden(s, ["approvals", "approve", id, "--session"]);
      assert.equal(session.code, 1);
      assert.match(session.stderr, /--session needs the gateway that asked/);
      const approved = await warden(s, ["approvals", "approve", id]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, /allowed once: mcp__fx__echo on fx/);
      const answered = auditRecords(s).find((r) => r.event === "answered" && (r.detail as { approval?: string }).approval === id);
      assert.deepEqual(answered?.detail, { approval: id, answer: "allow-once", by: "cli", afterCall: true, gatewayRunning: false, retryUntil: (answered?.detail as { retryUntil: string }).retryUntil });
      // Answered once: a second answer is refused.
      assert.equal((await warden(s, ["approvals", "deny", id])).code, 1);

      const second = await connectAs(s);
      try {
        ok(await echo(second, "offline"), "offline");
        actionable(await echo(second, "offline"));
      } finally {
        await second.close();
      }
      assert.deepEqual(approvalEvents(s, id), ["asked", "deferred", "answered", "used"]);
    } finally {
      s.cleanup();
    }
  });

  test("--always with no gateway running writes the allow rule to the local layer of the directory the gateway ran in", async () => {
    const s = scratch(settings({}));
    try {
      const first = await connectAs(s);
      // No rule matches create_issue: it asks by default, so "always allow" is offered.
      const r = (await first.client.callTool({ name: "fx__create_issue", arguments: {} }, { timeout: CLIENT_TIMEOUT_MS })) as CallResult;
      const id = /approvals approve ([0-9a-f]+)/.exec(r.content?.[0]?.text ?? "")?.[1];
      assert.ok(r.isError && id, JSON.stringify(r));
      await first.close();
      const approved = await warden(s, ["approvals", "approve", id, "--always"]);
      assert.equal(approved.code, 0, approved.stderr);
      const local = join(s.project, ".mcp-warden", "settings.local.json");
      assert.deepEqual((JSON.parse(readFileSync(local, "utf8")) as { permissions: { allow: string[] } }).permissions.allow, ["mcp__fx__create_issue"]);
      const second = await connectAs(s);
      try {
        for (let i = 0; i < 2; i++) {
          const again = (await second.client.callTool({ name: "fx__create_issue", arguments: {} }, { timeout: CLIENT_TIMEOUT_MS })) as CallResult;
          assert.deepEqual(again.content, [{ type: "text", text: "issue created" }]);
        }
      } finally {
        await second.close();
      }
    } finally {
      s.cleanup();
    }
  });
});
