// remote.sessions.maxPerPrincipal: a principal opening one session more than the cap ends its oldest;
// another principal's sessions are untouched. The real serve process, API keys, raw 2025-era requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, scratch, type Scratch } from "./harness.js";
import { rawPost, startServe, type Serving } from "./serve-harness.js";

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cap", version: "1" } } };
const PING = { jsonrpc: "2.0", id: 2, method: "ping" };

describe("serve: sessions per principal are capped, the oldest ends", () => {
  const alice = generateApiKey();
  const bob = generateApiKey();
  let s: Scratch;
  let srv: Serving;
  before(async () => {
    const port = await closedPort();
    s = scratch({
      remote: { listen: `127.0.0.1:${port}`, sessions: { maxPerPrincipal: 2 }, auth: { apiKeys: { alice: { hash: hashApiKey(alice) }, bob: { hash: hashApiKey(bob) } } } },
    });
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  const open = async (key: string) => {
    const res = await rawPost(srv.url, INIT, { authorization: `Bearer ${key}` });
    assert.equal(res.status, 200, await res.text());
    return res.headers.get("mcp-session-id")!;
  };
  const ping = async (key: string, sid: string) => (await rawPost(srv.url, PING, { authorization: `Bearer ${key}`, "mcp-session-id": sid })).status;

  it("a third session of alice ends her first; her second and bob's stay", async () => {
    const bobs = await open(bob);
    const first = await open(alice);
    const second = await open(alice);
    assert.equal(await ping(alice, first), 200);
    const third = await open(alice);
    assert.equal(await ping(alice, first), 404);
    assert.equal(await ping(alice, second), 200);
    assert.equal(await ping(alice, third), 200);
    assert.equal(await ping(bob, bobs), 200);
    assert.ok(auditRecords(s).some((r) => r.event === "session-ended" && r.reason === "over the per-principal cap"));
  });
});
