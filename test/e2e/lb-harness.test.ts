// The load balancer the replica tests stand behind (lb-harness.ts): requests alternate between the
// backends, and when one backend dies the others take every request.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { haproxyProblem, startHaproxy, type LoadBalancer } from "./lb-harness.js";

const problem = haproxyProblem();

describe("HAProxy in front of two backends", { skip: problem ?? false }, () => {
  const servers: Server[] = [];
  let lb: LoadBalancer;
  before(async () => {
    for (const name of ["one", "two"]) {
      const s = createServer((_q, r) => r.end(name));
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
      servers.push(s);
    }
    lb = await startHaproxy(servers.map((s) => (s.address() as AddressInfo).port));
  });
  after(async () => {
    await lb?.stop();
    for (const s of servers) s.close();
  });

  it("alternates requests between the backends", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await fetch(lb.url).then((r) => r.text()));
    assert.deepEqual([...new Set(seen)].sort(), ["one", "two"], seen.join(","));
  });

  it("sends every request to the backend left when the other dies", async () => {
    servers[0]!.closeAllConnections();
    await new Promise<void>((resolve) => servers[0]!.close(() => resolve()));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await fetch(lb.url).then((r) => r.text()));
    assert.deepEqual(seen, ["two", "two", "two", "two", "two", "two"]);
  });
});
