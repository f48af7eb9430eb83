// The second seed's flat sandbox on a real server under real bubblewrap behind the real gateway:
// `allowExecute: false` stops the server from starting programs (id, sh) while its own tools work;
// `allowRead: []` leaves it no host files beyond its runtime and package; `allowNetwork` with
// `denyNetwork: ["*"]` lets it reach the listed host only. The same server without allowExecute
// (the control) does start id and sh, so the failures are the sandbox's doing.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { cli, connect, ROOT, scratch, type Connected, type Scratch } from "./harness.js";

const PROBE = join(ROOT, "dist/test/fixtures/exec-probe-server.js");
const available = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };
const skip = available.ok ? false : `bubblewrap unavailable: ${available.why}`;

/** The seed's production-api sandbox, verbatim but for the host it may reach. */
const seedSandbox = (extra: Record<string, unknown> = {}) => ({ allowNetwork: ["127.0.0.1"], denyNetwork: ["*"], allowRead: [], allowWrite: [], ...extra });

let web: http.Server;
let port: number;
before(async () => {
  web = http.createServer((_req, res) => res.end("hello from the allowed host"));
  web.listen(0, "127.0.0.1");
  await once(web, "listening");
  port = (web.address() as AddressInfo).port;
});
after(() => {
  web.closeAllConnections();
  web.close();
});

async function probe(sandbox: Record<string, unknown>): Promise<{ s: Scratch; c: Connected; call(name: string, args?: Record<string, unknown>): Promise<string> }> {
  const s = scratch({ permissions: { allow: ["mcp__probe"] }, mcpServers: { probe: { command: process.execPath, args: [PROBE], sandbox } } });
  mkdirSync(join(s.home, ".ssh"), { recursive: true });
  writeFileSync(join(s.home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
  writeFileSync(join(s.home, "notes.txt"), "a file in the home directory\n");
  const c = await connect(s);
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await c.client.callTool({ name: `probe__${name}`, arguments: args });
    const t = (r.content as { type: string; text?: string }[]).map((x) => x.text ?? "").join("");
    assert.ok(!r.isError, `${name}: ${t}`);
    return t;
  };
  return { s, c, call };
}

describe("allowExecute false, allowRead [], allowWrite [], allowNetwork with denyNetwork *", { skip }, () => {
  let p: Awaited<ReturnType<typeof probe>>;
  before(async () => {
    p = await probe(seedSandbox({ allowExecute: false }));
  });
  after(async () => {
    await p?.c.close();
    p?.s.cleanup();
  });

  it("the server itself still works", async () => {
    assert.equal(await p.call("echo", { text: "hi" }), "echo: hi");
  });
  it("cannot run id: no such program in its sandbox", async () => {
    const t = await p.call("run_id");
    assert.match(t, /^failed: ENOENT/);
    assert.doesNotMatch(t, /uid=/);
  });
  it("cannot spawn sh", async () => {
    const t = await p.call("spawn_sh");
    assert.match(t, /^failed/);
    assert.doesNotMatch(t, /shell-ran/);
  });
  it("cannot read ~/.ssh/id_rsa, other home files or the system's programs", async () => {
    for (const f of [join(p.s.home, ".ssh", "id_rsa"), join(p.s.home, "notes.txt"), "/usr/bin/id", "/bin/sh"]) {
      const t = await p.call("read_file", { path: f });
      assert.match(t, /^failed/, f);
    }
  });
  it("reaches the allowed host, and nothing else", async () => {
    assert.equal(await p.call("fetch", { url: `http://127.0.0.1:${port}/` }), "ok: hello from the allowed host");
    // The same server by a name the list does not hold, and an address it does not hold: refused by
    // the egress proxy before any connection.
    assert.match(await p.call("fetch", { url: `http://localhost:${port}/` }), /^failed: 403 mcp-warden egress proxy: localhost:/);
    assert.match(await p.call("fetch", { url: `http://127.0.0.2:${port}/` }), /^failed: 403 mcp-warden egress proxy: the address 127\.0\.0\.2 is loopback; only an IP or CIDR entry/);
  });
});

describe("the control: the same sandbox without allowExecute", { skip }, () => {
  let p: Awaited<ReturnType<typeof probe>>;
  before(async () => {
    p = await probe({ ...seedSandbox(), allowRead: [join(ROOT, "node_modules"), ROOT] });
  });
  after(async () => {
    await p?.c.close();
    p?.s.cleanup();
  });
  it("runs id and sh", async () => {
    assert.match(await p.call("run_id"), /^ok: uid=/);
    assert.equal(await p.call("spawn_sh"), "ok: shell-ran");
  });
});

describe("allowExecute as a list: the listed program runs, nothing else", { skip }, () => {
  let p: Awaited<ReturnType<typeof probe>>;
  before(async () => {
    p = await probe(seedSandbox({ allowExecute: ["/usr/bin/id"] }));
  });
  after(async () => {
    await p?.c.close();
    p?.s.cleanup();
  });
  it("runs id, and cannot spawn sh", async () => {
    assert.match(await p.call("run_id"), /^ok: uid=/);
    assert.match(await p.call("spawn_sh"), /^failed/);
  });
});

describe("allowExecute false and a package runner (npx -y)", () => {
  it("refuses the server with what to do instead, in status", () => {
    const s = scratch({ mcpServers: { "production-api": { command: "npx", args: ["-y", "@company/mcp-api-server"], sandbox: seedSandbox({ allowExecute: false }) } } });
    try {
      const r = cli(s, ["status", "--json", "--settings", s.settingsFile]);
      assert.equal(r.code, 0, r.stderr);
      const entry = (JSON.parse(r.stdout) as { configured: { name: string; state: string }[] }).configured.find((x) => x.name === "production-api");
      assert.equal(entry?.state, "blocked");
      assert.match(JSON.stringify(entry), /allowExecute false.*npx.*Resolve the package ahead of time.*npm install --prefix/);
    } finally {
      s.cleanup();
    }
  });
});
