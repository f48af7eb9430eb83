// serve's settings reload, through the real `mcp-warden serve`: the rules come from a file laid out
// as a Kubernetes ConfigMap volume lays it out (settings.json -> ..data/settings.json, ..data -> a
// timestamped directory, swapped by renaming a new ..data symlink over the old one). A valid edit
// takes effect without a restart; a broken file keeps the old rules; both are audited.
import assert from "node:assert/strict";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch, waitFor } from "./harness.js";
import { httpClient, startServe, type Serving } from "./serve-harness.js";

/** A ConfigMap volume at `dir` holding settings.json; `publish` swaps in a new version atomically. */
function configMapVolume(dir: string) {
  mkdirSync(dir, { recursive: true });
  let version = 0;
  const publish = (text: string) => {
    version++;
    const data = `..v${version}`;
    mkdirSync(join(dir, data));
    writeFileSync(join(dir, data, "settings.json"), text);
    // As the kubelet does: a new symlink beside the old one, renamed over it in one step.
    symlinkSync(data, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  return { file: join(dir, "settings.json"), publish, link: () => symlinkSync("..data/settings.json", join(dir, "settings.json")) };
}

describe("serve: settings reload from a ConfigMap-style volume", () => {
  const key = generateApiKey();
  let s: Scratch;
  let srv: Serving;
  let volume: ReturnType<typeof configMapVolume>;
  let call: () => Promise<"allowed" | string>;
  let closeClient: () => Promise<void>;

  const reloadRecords = () => auditRecords(s).filter((r) => r.kind === "gateway" && String(r.event).startsWith("settings-reload"));

  before(async () => {
    s = scratch({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE], share: "shared" } },
      integrity: { pins: false },
      remote: { listen: `127.0.0.1:${await closedPort()}`, auth: { apiKeys: { alice: { hash: hashApiKey(key) } } } },
    });
    volume = configMapVolume(join(s.dir, "configmap"));
    volume.publish(JSON.stringify({ permissions: { deny: ["mcp__fx__echo"] } }));
    volume.link();
    srv = await startServe(s, ["--settings", volume.file]);
    const c = await httpClient(srv.url, key, "modern");
    closeClient = () => c.close();
    call = async () => {
      try {
        const r = await c.client.callTool({ name: "fx__echo", arguments: { text: "hi" } });
        return r.isError ? `tool error: ${JSON.stringify(r.content)}` : "allowed";
      } catch (e) {
        return (e as Error).message;
      }
    };
  });
  after(async () => {
    await closeClient?.().catch(() => undefined);
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("a tool the first rules deny is allowed after a valid edit, without a restart, and the reload is audited", async () => {
    assert.match(await call(), /Denied by mcp-warden/);
    const pid = srv.child.pid;
    volume.publish(JSON.stringify({ permissions: { allow: ["mcp__fx__echo"] } }));
    await waitFor("the reload's audit record", () => reloadRecords().find((r) => r.event === "settings-reloaded"), 15_000);
    assert.equal(await call(), "allowed");
    assert.equal(srv.child.pid, pid);
    assert.equal(srv.child.exitCode, null);
    assert.match(srv.stderr(), /settings reloaded: the rules are in force now/);
  });

  it("a broken file is rejected and audited with its error; the rules in force stay (the tool stays allowed)", async () => {
    volume.publish('{ "permissions": { "allow": ["mcp__fx__echo"] ');
    const rejected = await waitFor("the rejection's audit record", () => reloadRecords().find((r) => r.event === "settings-reload-rejected"), 15_000);
    assert.equal(typeof rejected.error, "string");
    assert.match(String(rejected.error), /settings\.json/);
    assert.equal(await call(), "allowed");
    // A file that parses but is not valid settings (an unknown field) is refused the same way.
    volume.publish(JSON.stringify({ permissions: { allow: ["mcp__fx__echo"] }, permisions: { deny: ["mcp__fx__echo"] } }));
    await waitFor("the second rejection", () => reloadRecords().filter((r) => r.event === "settings-reload-rejected").length >= 2 || undefined, 15_000);
    assert.equal(await call(), "allowed");
    assert.match(srv.stderr(), /settings reload rejected, the previous settings stay in force/);
  });

  it("a change to something only a restart applies (remote.rateLimits) is applied for the rules and named as needing a restart", async () => {
    volume.publish(JSON.stringify({ permissions: { deny: ["mcp__fx__echo"] }, remote: { rateLimits: { global: "1000/min" } } }));
    const applied = await waitFor("the second reload", () => reloadRecords().filter((r) => r.event === "settings-reloaded")[1], 15_000);
    assert.deepEqual((applied.detail as { needsRestart?: string[] }).needsRestart, ["remote"]);
    assert.match(await call(), /Denied by mcp-warden/);
  });
});
