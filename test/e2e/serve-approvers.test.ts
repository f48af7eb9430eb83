// serve with the local approval page off: the approver role is a channel of its own. A call an ask
// rule holds (the caller's client cannot be asked in band) waits for an approver's answer through
// /v1/approvals and completes when approved; with nobody answering it ends denied at holdMs, never
// forwarded. The real `mcp-warden serve`, real SDK clients, API keys.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch } from "./harness.js";
import { httpClient, startServe, type Serving } from "./serve-harness.js";

const texts = (r: unknown) => ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");

describe("serve: approvers answer held calls with the approval page off", () => {
  const keys = { alice: generateApiKey(), bob: generateApiKey() };
  let s: Scratch;
  let srv: Serving;
  let approvals: string;
  const as = (who: keyof typeof keys) => ({ authorization: `Bearer ${keys[who]}`, "content-type": "application/json" });

  before(async () => {
    const port = await closedPort();
    s = scratch({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      permissions: { ask: ["mcp__fx__echo"] },
      approvals: { page: false, holdMs: 4_000 },
      integrity: { pins: false },
      remote: {
        listen: `127.0.0.1:${port}`,
        auth: { apiKeys: { alice: { hash: hashApiKey(keys.alice) }, bob: { hash: hashApiKey(keys.bob) } }, approvers: ["user:apikey:bob"] },
      },
    });
    srv = await startServe(s);
    approvals = srv.url.replace(/\/mcp$/, "/v1/approvals");
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  async function question(text: string): Promise<{ id: string }> {
    for (let i = 0; i < 100; i++) {
      const list = (await (await fetch(approvals, { headers: as("bob") })).json()) as { questions: { id: string; tool?: string; arguments?: { text?: string } }[] };
      const q = list.questions.find((x) => x.tool === "mcp__fx__echo" && x.arguments?.text === text);
      if (q) return q;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no question for ${text} appeared`);
  }

  it("a held call is listed for the approver, approved through /v1/approvals, and completes", async () => {
    const c = await httpClient(srv.url, keys.alice, "legacy");
    try {
      const call = c.client.callTool({ name: "fx__echo", arguments: { text: "approve me" } });
      const q = await question("approve me");
      const res = await fetch(`${approvals}/${q.id}`, { method: "POST", headers: as("bob"), body: JSON.stringify({ answer: "allow-once" }) });
      assert.equal(res.status, 200, await res.text());
      assert.equal(texts(await call), "echo: approve me");
      const asked = auditRecords(s).find((r) => r.kind === "approval" && r.event === "asked");
      assert.deepEqual((asked?.detail as { channels?: string[] } | undefined)?.channels, ["approvers"]);
    } finally {
      await c.close();
    }
  });

  it("unanswered, the call ends denied after holdMs and is never forwarded; the message names the approver channel", async () => {
    const c = await httpClient(srv.url, keys.alice, "legacy");
    try {
      const r = await c.client.callTool({ name: "fx__echo", arguments: { text: "nobody answers" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
      assert.equal((r as { isError?: boolean }).isError, true, JSON.stringify(r));
      assert.doesNotMatch(texts(r), /echo: nobody answers/);
      const records = auditRecords(s);
      const decided = records.filter((x) => x.kind === "call" && x.event === "decided" && (x.arguments as { text?: string } | undefined)?.text === "nobody answers");
      assert.equal(decided.length, 1);
      assert.notEqual(decided[0]!.decision, "allow");
      assert.deepEqual(records.filter((x) => x.event === "completed" && x.id === decided[0]!.id), [], "never forwarded");
      assert.match(srv.stderr() + texts(r), /approver role answers it through \/v1\/approvals/);
    } finally {
      await c.close();
    }
  });
});
