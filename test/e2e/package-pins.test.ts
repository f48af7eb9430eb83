// Servers started through a package runner without an exact version, through the real CLI: `run`
// and `scan` say so (and the server works), and managed requirePinnedPackages keeps such a server
// from starting while a pinned one runs. `npx` here is a stand-in on the PATH that starts the
// fixture server, so no registry is asked (this machine reaches none).
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli, connect, FIXTURE, scratch, type Scratch } from "./harness.js";

function withFakeNpx(settings: Record<string, unknown>): Scratch {
  const s = scratch(settings);
  const bin = join(s.dir, "bin");
  mkdirSync(bin);
  // Whatever package it is asked for, it runs the fixture server (so the test needs no registry).
  writeFileSync(join(bin, "npx"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FIXTURE)}\n`);
  chmodSync(join(bin, "npx"), 0o755);
  s.env.PATH = `${bin}:${s.env.PATH}`;
  return s;
}

const servers = {
  loose: { command: "npx", args: ["-y", "@example/mcp-fixture"] },
  pinned: { command: "npx", args: ["-y", "@example/mcp-fixture@1.4.2"] },
};

describe("package runners without an exact version", () => {
  it("run notes the unpinned server with how to pin it, and it works; scan notes it too", async () => {
    const s = withFakeNpx({ permissions: { allow: ["mcp__loose__echo", "mcp__pinned__echo"] }, mcpServers: servers });
    try {
      const c = await connect(s);
      try {
        const r = await c.client.callTool({ name: "loose__echo", arguments: { text: "hi" } });
        assert.equal(r.isError, undefined, JSON.stringify(r));
        assert.match(c.stderr(), /note: server 'loose' starts "@example\/mcp-fixture" through npx without one exact version.*Pin it: write "@example\/mcp-fixture@<version>"/);
        assert.doesNotMatch(c.stderr(), /server 'pinned' starts/);
      } finally {
        await c.close();
      }
      const scan = cli(s, ["scan", "--json", "--settings", s.settingsFile]);
      assert.match(scan.stdout, /server 'loose' starts .*without one exact version/, scan.stderr);
    } finally {
      s.cleanup();
    }
  });

  it("with managed requirePinnedPackages the unpinned server is blocked, naming the rule, and the pinned one runs", async () => {
    const s = withFakeNpx({ permissions: { allow: ["mcp__loose__echo", "mcp__pinned__echo"] }, mcpServers: servers });
    try {
      writeFileSync(join(s.dir, "managed", "managed-settings.json"), JSON.stringify({ requirePinnedPackages: true }));
      const status = cli(s, ["status", "--json", "--settings", s.settingsFile]);
      assert.equal(status.code, 0, status.stderr);
      const configured = (JSON.parse(status.stdout) as { configured: { name: string; state: string }[] }).configured;
      const loose = configured.find((x) => x.name === "loose");
      assert.equal(loose?.state, "blocked");
      assert.match(JSON.stringify(loose), /requirePinnedPackages/);
      const c = await connect(s);
      try {
        const ok = await c.client.callTool({ name: "pinned__echo", arguments: { text: "hi" } });
        assert.equal(ok.isError, undefined, JSON.stringify(ok));
        const names = (await c.client.listTools()).tools.map((t) => t.name);
        assert.ok(!names.some((n) => n.startsWith("loose__")), `the unpinned server's tools are not offered: ${names.join(", ")}`);
      } finally {
        await c.close();
      }
    } finally {
      s.cleanup();
    }
  });

  it("requirePinnedPackages outside the managed layer is ignored with a warning, not obeyed", () => {
    const s = withFakeNpx({});
    try {
      const user = join(s.env.XDG_CONFIG_HOME as string, "mcp-warden");
      mkdirSync(user, { recursive: true });
      writeFileSync(join(user, "settings.json"), JSON.stringify({ requirePinnedPackages: true, mcpServers: servers }));
      const status = cli(s, ["status", "--json"]);
      assert.equal(status.code, 0, status.stderr);
      const loose = (JSON.parse(status.stdout) as { configured: { name: string; state: string }[] }).configured.find((x) => x.name === "loose");
      assert.ok(loose, status.stdout);
      assert.notEqual(loose.state, "blocked");
      const doctor = cli(s, ["doctor", "--json"]);
      assert.match(doctor.stdout, /'requirePinnedPackages' is only honoured in managed settings; ignored/, doctor.stderr);
    } finally {
      s.cleanup();
    }
  });
});
