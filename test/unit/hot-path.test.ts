// The hot path's own decisions, against the SDK it stands in for: a tools/call is taken only when the
// SDK would accept it and hand the handler the very same params; the SDK internals the hot path needs
// are there in the pinned SDK version (an upgrade that removes one fails here, rather than turning
// the hot path off unnoticed); a request written directly to a server's pipe behaves as the SDK
// client's (wire shape, answers, errors, cancellation, timeout, close).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client, ProtocolError, SdkError } from "@modelcontextprotocol/client";
import { isJSONRPCRequest, Server } from "@modelcontextprotocol/server";
import { isLegacyVersion, simpleToolCall } from "../../src/gateway/hot-path.js";
import { serverInternals, takeClientRequestId } from "../../src/gateway/sdk-internals.js";
import { DirectRequests } from "../../src/upstream/direct-request.js";

const request = (params: unknown, extra: Record<string, unknown> = {}, id: unknown = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params, ...extra });

/** The SDK server's own 2025-era validation of a tools/call, as its handler wrapper runs it. */
function sdkValidation(message: Record<string, unknown>): { ok: boolean; params?: unknown } {
  const server = new Server({ name: "t", version: "1" }, { capabilities: { tools: {} } });
  const codec = (server as unknown as { _wireCodec(): { validateRequest(m: string, r: unknown): { ok: boolean; value?: { params?: unknown } } } })._wireCodec();
  if (!isJSONRPCRequest(message)) return { ok: false };
  const outcome = codec.validateRequest("tools/call", { method: message.method, params: message.params });
  return outcome.ok ? { ok: true, params: outcome.value?.params } : { ok: false };
}

describe("which tools/call the hot path takes", () => {
  it("takes plain calls, with string and safe-integer ids, and hands over exactly name and arguments", () => {
    assert.deepEqual(simpleToolCall(request({ name: "a__b", arguments: { x: 1, y: [true] } })), { id: 1, params: { name: "a__b", arguments: { x: 1, y: [true] } } });
    assert.deepEqual(simpleToolCall(request({ name: "a__b" }, {}, "req-7")), { id: "req-7", params: { name: "a__b" } });
    assert.deepEqual(simpleToolCall(request({ name: "" }, {}, Number.MAX_SAFE_INTEGER)), { id: Number.MAX_SAFE_INTEGER, params: { name: "" } });
  });

  it("leaves everything else to the SDK", () => {
    const refused: unknown[] = [
      request({ name: "a", arguments: {}, _meta: { progressToken: 1 } }),
      request({ name: "a", _meta: {} }),
      request({ name: "a", task: { ttl: 1 } }),
      request({ name: "a", arguments: [] }),
      request({ name: "a", arguments: null }),
      request({ name: 5 }),
      request({ arguments: {} }),
      request([]),
      request(null),
      request("x"),
      request(undefined),
      request({ name: "a" }, { extra: 1 }),
      request({ name: "a" }, {}, 1.5),
      request({ name: "a" }, {}, 2 ** 60),
      request({ name: "a" }, {}, null),
      request({ name: "a" }, { jsonrpc: "1.0" }),
      request({ name: "a" }, { method: "tools/list" }),
      JSON.parse('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"__proto__":{"x":1}}}}'),
      { jsonrpc: "2.0", method: "tools/call", params: { name: "a" } },
      "tools/call",
      null,
    ];
    for (const m of refused) assert.equal(simpleToolCall(m), undefined, JSON.stringify(m));
  });

  it("whatever it takes, the SDK accepts too, with the same params (random messages)", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const values = [0, -1, 1.5, "", "x", true, null, [], [1, "a"], {}, { a: { b: [1] } }, 2 ** 60];
    let taken = 0;
    for (let i = 0; i < 3000; i++) {
      const params: Record<string, unknown> = {};
      if (rnd() < 0.9) params.name = rnd() < 0.9 ? pick(["a", "fixture__echo", "", "ü"]) : pick(values);
      if (rnd() < 0.7) params.arguments = rnd() < 0.8 ? Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, (_, k) => [pick(["k", "text", "constructor", "toString"]) + k, pick(values)])) : pick(values);
      if (rnd() < 0.1) params[pick(["_meta", "task", "other"])] = pick(values);
      const message = request(rnd() < 0.9 ? params : pick(values), rnd() < 0.05 ? { extra: 1 } : {}, rnd() < 0.9 ? pick([1, "s", 0, -7, 3e9]) : pick(values));
      const wire = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
      const mine = simpleToolCall(wire);
      if (!mine) continue;
      taken++;
      const sdk = sdkValidation(wire);
      assert.ok(sdk.ok, `the hot path took what the SDK refuses: ${JSON.stringify(wire)}`);
      assert.deepEqual(mine.params, sdk.params, `different params for ${JSON.stringify(wire)}`);
    }
    assert.ok(taken > 500, `too few messages were taken to say anything (${taken})`);
  });

  it("counts only the 2025-era protocol versions as legacy", () => {
    for (const v of ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]) assert.equal(isLegacyVersion(v), true, v);
    for (const v of ["2026-07-28", undefined, "", "2099-01-01"]) assert.equal(isLegacyVersion(v), false, String(v));
  });
});

describe("the SDK internals the hot path relies on", () => {
  it("are present in the pinned SDK version", () => {
    const server = new Server({ name: "t", version: "1" }, { capabilities: { tools: {} } });
    const internals = serverInternals(server);
    assert.ok(internals, "the SDK server's internals changed: the hot path would be off; see src/gateway/sdk-internals.ts");
    assert.equal(internals.handling(1), false);
    assert.equal(internals.encodeErrorCode(-32002), -32602);
    assert.equal(internals.validateResult("tools/call", { content: [{ type: "text", text: "x", extra: 1 }] }).ok, true);
    assert.equal(internals.validateResult("tools/call", { content: "nope" }).ok, false);
    const client = new Client({ name: "t", version: "1" });
    const first = takeClientRequestId(client);
    assert.equal(typeof first, "number", "the SDK client's request id counter changed: direct sends would be off");
    assert.equal(takeClientRequestId(client), first! + 1);
  });
});

describe("a request written directly to a server's pipe", () => {
  /** Just enough of an SDK client: connected, with the id counter the direct sender draws from. */
  const fakeClient = () => ({ transport: {}, _requestMessageId: 40, onerror: undefined as ((e: Error) => void) | undefined }) as unknown as Client;
  const wire = () => {
    const sent: Record<string, unknown>[] = [];
    return { sent, transport: { send: async (m: never) => void sent.push(m as Record<string, unknown>) } };
  };

  it("goes out as the SDK client sends it, with the next id, and resolves with the result (resultType dropped)", async () => {
    const direct = new DirectRequests();
    const { sent, transport } = wire();
    const answer = direct.request(fakeClient(), transport, "tools/call", { name: "echo", arguments: { text: "x" } }, { timeout: 10_000 });
    assert.deepEqual(sent, [{ method: "tools/call", params: { name: "echo", arguments: { text: "x" } }, jsonrpc: "2.0", id: 40 }]);
    assert.equal(direct.take({ jsonrpc: "2.0", id: 41, result: {} }), false, "another id is not ours");
    assert.equal(direct.take({ jsonrpc: "2.0", id: 40, method: "elicitation/create", params: {} }), false, "a server's request is not an answer");
    assert.equal(direct.take({ jsonrpc: "2.0", id: "40", result: { content: [], resultType: "complete" } }), true, "matched by Number(id), as the SDK does");
    assert.deepEqual(await answer, { content: [] });
    assert.equal(direct.take({ jsonrpc: "2.0", id: 40, result: {} }), false, "a second answer goes to the SDK, which reports it");
  });

  it("an error answer rejects with the SDK's ProtocolError; an answer the SDK would not take is left to it", async () => {
    const direct = new DirectRequests();
    const { transport } = wire();
    const answer = direct.request(fakeClient(), transport, "tools/call", {}, { timeout: 10_000 });
    assert.equal(direct.take({ jsonrpc: "2.0", id: 40, result: [] }), false);
    assert.equal(direct.take({ jsonrpc: "2.0", id: 40, error: { code: 1.5, message: "x" } }), false);
    assert.equal(direct.take({ jsonrpc: "2.0", id: 40, error: { code: -32601, message: "no such method", data: { a: 1 } } }), true);
    await assert.rejects(answer, (e: unknown) => e instanceof ProtocolError && e.code === -32601 && e.message === "no such method");
  });

  it("an abort tells the server and rejects as the SDK does; a late answer is dropped", async () => {
    const direct = new DirectRequests();
    const { sent, transport } = wire();
    const abort = new AbortController();
    const answer = direct.request(fakeClient(), transport, "tools/call", {}, { signal: abort.signal, timeout: 10_000 });
    abort.abort("changed my mind");
    await assert.rejects(answer, (e: unknown) => e instanceof SdkError && e.code === "REQUEST_TIMEOUT" && e.message === "changed my mind");
    assert.deepEqual(sent[1], { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 40, reason: "changed my mind" } });
    assert.equal(direct.take({ jsonrpc: "2.0", id: 40, result: {} }), false);
  });

  it("a timeout tells the server and rejects as the SDK does; a closed connection fails what is pending", async () => {
    const direct = new DirectRequests();
    const { sent, transport } = wire();
    const slow = direct.request(fakeClient(), transport, "tools/call", {}, { timeout: 20 });
    await assert.rejects(slow, (e: unknown) => e instanceof SdkError && e.code === "REQUEST_TIMEOUT" && e.message === "Request timed out");
    assert.equal((sent[1]?.params as { requestId?: unknown }).requestId, 40);
    const pending = direct.request(fakeClient(), transport, "tools/call", {}, { timeout: 10_000 });
    direct.failAll(new SdkError("CONNECTION_CLOSED" as never, "Connection closed"));
    await assert.rejects(pending, /Connection closed/);
  });
});
