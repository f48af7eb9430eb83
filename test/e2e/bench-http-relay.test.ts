// The plain HTTP relay the serve benchmark measures as its floor (bench/http-relay.ts), in front of the
// real server-everything over stdio: the official SDK client's tools/call comes back right, and the
// raw HTTP the bench's drivers send gets what a 2025-era Streamable HTTP server would answer.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { descendants, openHttpConn, openSession, rawSequential, startHttpRelay, type Front, type HttpTarget } from "../../bench/http-targets.js";

describe("bench: the plain HTTP relay in front of server-everything", () => {
  let relay: Front;
  let target: HttpTarget;
  before(async () => {
    relay = await startHttpRelay();
    target = { name: "http relay", era: "2025", url: relay.url, frontPid: relay.pid, tool: "echo", headers: {}, upstreamPids: () => descendants(relay.pid) };
  });
  after(async () => {
    await relay?.stop();
  });

  it("answers a real SDK client's tools/call (Streamable HTTP, 2025 era) with the upstream's result", async () => {
    const conn = await openHttpConn(target, {});
    try {
      const result = await conn.client.callTool({ name: "echo", arguments: { message: "through the relay" } });
      assert.deepEqual(result.content, [{ type: "text", text: "Echo: through the relay" }]);
      assert.notEqual(result.isError, true);
      // Many at once from two clients: each answer reaches the call that asked for it.
      const other = await openHttpConn(target, {});
      try {
        const texts = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const r = await (i % 2 ? other : conn).client.callTool({ name: "echo", arguments: { message: `m${i}` } });
            return (r.content as { text: string }[])[0]!.text;
          }),
        );
        assert.deepEqual(texts, Array.from({ length: 40 }, (_, i) => `Echo: m${i}`));
      } finally {
        await other.close();
      }
    } finally {
      await conn.close();
    }
    assert.equal(descendants(relay.pid).length, 1, "one upstream, shared by every session");
  });

  it("gives initialize a session id, answers a notification 202 and GET 405, and the bench's raw driver its echo", async () => {
    const headers = await openSession(relay.url, {});
    assert.match(headers["mcp-session-id"]!, /^[0-9a-f-]{36}$/);
    assert.equal(headers["mcp-protocol-version"], "2025-06-18");
    const times = await rawSequential({ ...target, headers }, 5);
    assert.equal(times.length, 5);
    const note = await fetch(relay.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    assert.equal(note.status, 202);
    await note.body?.cancel();
    const get = await fetch(relay.url, { headers: { accept: "text/event-stream" } });
    assert.equal(get.status, 405);
    await get.body?.cancel();
  });

  it("keeps the same client id from two sessions apart (ids are remapped upstream)", async () => {
    const post = async (message: string) => {
      const res = await fetch(relay.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "echo", arguments: { message } } }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      return (await res.json()) as { id: number; result: { content: { text: string }[] } };
    };
    const [a, b] = await Promise.all([post("first"), post("second")]);
    assert.equal(a.id, 7);
    assert.equal(b.id, 7);
    assert.equal(a.result.content[0]!.text, "Echo: first");
    assert.equal(b.result.content[0]!.text, "Echo: second");
  });
});
