// X-Forwarded-For is believed only from remote.trustedProxies: the address the audit log records for
// a caller is the socket's unless the socket is a configured proxy. The real serve process.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, scratch, type Scratch } from "./harness.js";
import { rawPost, startServe, type Serving } from "./serve-harness.js";

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fwd", version: "1" } } };

async function serveWith(trustedProxies: string[] | undefined): Promise<{ s: Scratch; srv: Serving }> {
  const port = await closedPort();
  const s = scratch({ remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { k: { hash: hashApiKey(generateApiKey()) } } }, ...(trustedProxies ? { trustedProxies } : {}) } });
  return { s, srv: await startServe(s) };
}

/** The address recorded for one refused (unauthenticated) request sent with this X-Forwarded-For. */
async function recordedAddress(x: { s: Scratch; srv: Serving }, forwardedFor: string): Promise<string | undefined> {
  const res = await rawPost(x.srv.url, INIT, { "x-forwarded-for": forwardedFor });
  assert.equal(res.status, 401);
  const failed = auditRecords(x.s).filter((r) => r.event === "auth-failed");
  return (failed.at(-1)?.detail as { address?: string } | undefined)?.address;
}

describe("serve: X-Forwarded-For only from trusted proxies", () => {
  const running: { s: Scratch; srv: Serving }[] = [];
  after(async () => {
    for (const x of running) {
      await x.srv.stop().catch(() => undefined);
      x.s.cleanup();
    }
  });

  it("ignores X-Forwarded-For from a client that is not a configured proxy", async () => {
    const x = await serveWith(undefined);
    running.push(x);
    assert.equal(await recordedAddress(x, "203.0.113.7"), "127.0.0.1");
  });

  it("takes the last hop no trusted proxy added when the socket is a trusted proxy", async () => {
    const x = await serveWith(["127.0.0.1"]);
    running.push(x);
    assert.equal(await recordedAddress(x, "203.0.113.7"), "203.0.113.7");
    // A client cannot hide behind a forged first hop: the right-most untrusted entry counts.
    assert.equal(await recordedAddress(x, "198.51.100.1, 203.0.113.9"), "203.0.113.9");
  });
});
