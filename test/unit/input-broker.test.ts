// The input broker's rounds: an upstream request for client input (roots, elicitation, sampling)
// rides on an open call as an input_required round. Regression: a second request the upstream sends
// while the client is answering the first (no round waiting) must be shown in the next round; it
// used to wait for a wake that never came, and the call hung until its timeout (seen with
// server-everything, whose start-up roots request and a tool's own roots request overlap).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerContext } from "@modelcontextprotocol/server";
import { InputBroker } from "../../src/gateway/input-broker.js";

interface Round {
  resultType?: string;
  inputRequests?: Record<string, { method: string }>;
  requestState?: string;
}

/** The parts of the SDK's context the broker reads; `state` is what the SDK hands over once verify passed. */
function contextFor(state: unknown, inputResponses?: Record<string, unknown>): ServerContext {
  return { mcpReq: { method: "tools/call", requestState: () => state, inputResponses } } as unknown as ServerContext;
}

/** Rejects instead of hanging: the bug this file guards against is a round that never returns. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe("input broker rounds", () => {
  it("a second upstream request queued while the client answers the first is shown in the next round, and the call completes", async () => {
    const broker = new InputBroker();
    const signal = new AbortController().signal;
    let second: Promise<Record<string, unknown>> | undefined;
    let releaseSecond!: () => void;
    const secondAsked = new Promise<void>((r) => (releaseSecond = r));
    const forward = async (ask: (m: "roots/list", p: undefined, s: AbortSignal) => Promise<Record<string, unknown>>) => {
      // As in the gateway: the call reaches the upstream, which asks, a little later (the pipeline is async).
      await new Promise((r) => setImmediate(r));
      const first = await ask("roots/list", undefined, signal);
      await secondAsked;
      return { first, second: await second! };
    };
    const ctx0 = contextFor(undefined);
    const first = (await within(broker.run(ctx0, "owner", () => "srv", forward, () => true), 2000, "first round")) as Round;
    assert.equal(first.resultType, "input_required");
    const [k1] = Object.keys(first.inputRequests ?? {});
    assert.ok(k1);
    const state = await broker.verify(first.requestState!, ctx0);

    // While the client answers the first question, the upstream asks again (no round is waiting now).
    second = broker.requestInput("srv", "roots/list", undefined, signal);
    assert.ok(second, "a call of the server is open, so the request rides on it");
    releaseSecond();

    const next = (await within(broker.run(contextFor(state, { [k1!]: { roots: [{ uri: "file:///a" }] } }), "owner", () => "srv", forward, () => true), 2000, "second round")) as Round;
    assert.equal(next.resultType, "input_required", JSON.stringify(next));
    const keys = Object.keys(next.inputRequests ?? {});
    assert.equal(keys.length, 1);
    assert.notEqual(keys[0], k1);
    const state2 = await broker.verify(next.requestState!, ctx0);

    const done = (await within(broker.run(contextFor(state2, { [keys[0]!]: { roots: [{ uri: "file:///b" }] } }), "owner", () => "srv", forward, () => true), 2000, "last round")) as Record<string, unknown>;
    assert.deepEqual(done, { first: { roots: [{ uri: "file:///a" }] }, second: { roots: [{ uri: "file:///b" }] } });
    assert.equal(broker.hasOpenCall("srv"), false, "the flow is finished");
  });

  it("an input asked before the first round waits (synchronously, while the call starts) is shown in the first round", async () => {
    const broker = new InputBroker();
    const signal = new AbortController().signal;
    const ctx0 = contextFor(undefined);
    const first = (await within(broker.run(ctx0, "owner", () => "srv", (ask) => ask("roots/list", undefined, signal), () => true), 2000, "first round")) as Round;
    assert.equal(first.resultType, "input_required");
    assert.deepEqual(Object.values(first.inputRequests ?? {}).map((r) => r.method), ["roots/list"]);
  });

  it("another caller cannot resume a flow (answered as if it did not exist)", async () => {
    const broker = new InputBroker();
    const signal = new AbortController().signal;
    const ctx0 = contextFor(undefined);
    const first = (await broker.run(ctx0, "alice", () => "srv", (ask) => ask("roots/list", undefined, signal), () => true)) as Round;
    const state = await broker.verify(first.requestState!, ctx0);
    await assert.rejects(broker.run(contextFor(state, {}), "mallory", () => "srv", async () => ({}), () => true), /expired or was already completed/);
  });
});
