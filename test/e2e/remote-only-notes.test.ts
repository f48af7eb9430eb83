// Settings only `serve` enforces are never silently ignored: `run` and `doctor` say so.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, FIXTURE, scratch, type Scratch, wardenCli } from "./harness.js";

describe("remote-only settings on stdio", () => {
  let s: Scratch;
  before(() => {
    s = scratch({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      forceLoginMethod: "sso",
      forceLoginOrgUUID: "org-a",
      principals: { "client:ci-bot": { permissions: { deny: ["mcp__fx__echo"] } } },
    });
  });
  after(() => s.cleanup());

  it("run says at start that forceLoginMethod, forceLoginOrgUUID and principals are enforced by serve only", async () => {
    const c = await connect(s);
    try {
      await c.client.listTools();
      assert.match(c.stderr(), /forceLoginMethod and forceLoginOrgUUID are enforced by `mcp-warden serve` only/);
      assert.match(c.stderr(), /principals \(client:ci-bot\) apply to remote callers of `mcp-warden serve` only/);
    } finally {
      await c.close();
    }
  });

  it("doctor lists the same notes (read from the user settings file)", () => {
    const dir = join(s.env.XDG_CONFIG_HOME!, "mcp-warden");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "settings.json"), readFileSync(s.settingsFile));
    const r = wardenCli(s, ["doctor"]);
    assert.match(r.stdout, /forceLoginMethod and forceLoginOrgUUID are enforced by `mcp-warden serve` only/);
    assert.match(r.stdout, /principals \(client:ci-bot\)/);
  });
});
