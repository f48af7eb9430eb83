// End to end: the filesystem guard in front of the real reference filesystem server
// (@modelcontextprotocol/server-filesystem), driven through the real mcp-warden process by a real
// SDK client. The server itself is started with its allowed directory WIDENED to the whole scratch
// directory, so the server's own checks would let every attack below through: only the guard holds.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { auditRecords, FILESYSTEM, scratch, type Scratch } from "./harness.js";

// The CLI and fixture of THIS build (dist/ or another outDir), not necessarily the harness's dist/.
const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(HERE, "../../src/cli.cjs");
const FIXTURE = resolve(HERE, "../fixtures/fixture-server.js");

const SECRET = "TOP SECRET: outside the root\n";
const INSIDE = "hello from inside the root\n";

type CallResult = { content?: { type: string; text?: string }[]; isError?: boolean };

describe("filesystem guard, end to end with the reference filesystem server", () => {
  let s: Scratch;
  let client: Client;
  let stderr = "";
  const outside = () => join(s.home, "outside.txt");

  before(async () => {
    s = scratch({
      permissions: { allow: ["mcp__fs", "mcp__open", "mcp__sqlish"] },
      mcpServers: {
        // Guarded: the server may touch the whole scratch directory; the guard allows only the project.
        fs: { command: process.execPath, args: [FILESYSTEM, "PLACEHOLDER"], guards: { filesystem: { roots: ["PLACEHOLDER"] } } },
        // Unguarded, same widened directory: shows that the server alone would let the reads through.
        open: { command: process.execPath, args: [FILESYSTEM, "PLACEHOLDER"] },
        // A guard that is not enforced yet still refuses every call.
        sqlish: { command: process.execPath, args: [FIXTURE], guards: { sql: { readOnly: true, dialect: "sqlite" } } },
      },
    });
    // Rewrite the settings with the scratch paths (scratch() picks the directory).
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8")) as { mcpServers: Record<string, { args: string[]; guards?: { filesystem?: { roots: string[] } } }> };
    settings.mcpServers.fs!.args = [FILESYSTEM, s.dir];
    settings.mcpServers.fs!.guards!.filesystem!.roots = [s.project];
    settings.mcpServers.open!.args = [FILESYSTEM, s.dir];
    writeFileSync(s.settingsFile, JSON.stringify(settings, null, 2));

    writeFileSync(join(s.project, "hello.txt"), INSIDE);
    writeFileSync(join(s.project, "movable.txt"), "move me\n");
    writeFileSync(outside(), SECRET);
    mkdirSync(join(s.home, "project2"));
    writeFileSync(join(s.home, "project2", "secret.txt"), SECRET);
    mkdirSync(join(s.home, "outdir"));
    symlinkSync(outside(), join(s.project, "leak")); // a file symlink inside the root, pointing outside
    symlinkSync(join(s.home, "outdir"), join(s.project, "outdir")); // a directory symlink, pointing outside

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "run", "--settings", s.settingsFile],
      env: s.env as Record<string, string>,
      cwd: s.project,
      stderr: "pipe",
    });
    transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: "e2e-guard", version: "1.0.0" }, { capabilities: {} });
    await client.connect(transport, { timeout: 30_000 });
  });

  after(async () => {
    await client?.close();
    s?.cleanup();
  });

  const call = (tool: string, args: Record<string, unknown>) => client.callTool({ name: tool, arguments: args }) as Promise<CallResult>;
  const text = (r: CallResult) => (r.content ?? []).map((c) => c.text ?? "").join("\n");
  const refused = async (tool: string, args: Record<string, unknown>, re: RegExp = /outside the filesystem guard's roots/) => {
    await assert.rejects(call(tool, args), (e: Error) => {
      assert.match(e.message, /Denied by mcp-warden/);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("TOP SECRET"));
      return true;
    });
  };

  test("the server alone would serve the outside file (its allowed directory is widened)", async () => {
    assert.equal(text(await call("open__read_text_file", { path: outside() })), SECRET);
    // It resolves a relative path against its allowed directory (the scratch dir), not its cwd.
    assert.equal(text(await call("open__read_text_file", { path: "home/outside.txt" })), SECRET);
  });

  test("a read inside the root returns its content; listing the root works", async () => {
    assert.equal(text(await call("fs__read_text_file", { path: join(s.project, "hello.txt") })), INSIDE);
    assert.equal(text(await call("fs__read_text_file", { path: "hello.txt" })), INSIDE, "relative to the gateway's (and server's) cwd");
    assert.match(text(await call("fs__list_directory", { path: s.project })), /hello\.txt/);
  });

  test("a relative path is forwarded as the absolute path the guard judged, not re-based by the server", async () => {
    // The reference server resolves a relative path against its first allowed directory (here the
    // whole scratch dir), where `home/outside.txt` IS the outside file. The guard judged it against
    // cwd (the project), so it forwards <project>/home/outside.txt: no such file, nothing leaks.
    const r = await call("fs__read_text_file", { path: "home/outside.txt" }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
    assert.equal(r.isError, true);
    assert.ok(!text(r).includes("TOP SECRET"), text(r));
    assert.match(text(r), new RegExp(`${s.project}/home/outside\\.txt`));
  });

  test("`..` traversal, an absolute path outside, and a sibling with the root as string prefix are refused", async () => {
    await refused("fs__read_text_file", { path: `${s.project}/../outside.txt` });
    await refused("fs__read_text_file", { path: "../outside.txt" });
    await refused("fs__read_text_file", { path: outside() });
    await refused("fs__read_text_file", { path: join(s.home, "project2", "secret.txt") });
    await refused("fs__list_directory", { path: `${s.project}2` });
    await refused("fs__read_multiple_files", { paths: [join(s.project, "hello.txt"), outside()] }, /'paths\[1\]'/);
  });

  test("a symlink inside the root pointing outside is refused, for reads and writes", async () => {
    await refused("fs__read_text_file", { path: join(s.project, "leak") }, /leads through a symlink/);
    await refused("fs__write_file", { path: join(s.project, "leak"), content: "pwned" }, /leads through a symlink/);
    await refused("fs__edit_file", { path: join(s.project, "leak"), edits: [{ oldText: "TOP", newText: "pwned" }] });
    assert.equal(readFileSync(outside(), "utf8"), SECRET);
  });

  test("a write of a new file through a symlinked directory is refused, and nothing is created", async () => {
    await refused("fs__write_file", { path: join(s.project, "outdir", "planted.txt"), content: "pwned" }, /leads through a symlink/);
    await refused("fs__create_directory", { path: join(s.project, "outdir", "newdir") });
    assert.ok(!existsSync(join(s.home, "outdir", "planted.txt")));
    assert.ok(!existsSync(join(s.home, "outdir", "newdir")));
  });

  test("file: URIs, with or without percent-encoded `..`, are decoded and refused when outside", async () => {
    await refused("fs__read_text_file", { path: `file://${outside()}` });
    await refused("fs__read_text_file", { path: `file://${s.project}/%2e%2e/outside.txt` });
    await refused("fs__read_text_file", { path: `file://${s.project}/sub/..%2f..%2foutside.txt` });
  });

  test("a percent-encoded `..` in a plain path names a file literally: the server finds no such file, the outside file stays unread", async () => {
    const r = await call("fs__read_text_file", { path: `${s.project}/%2e%2e/outside.txt` }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }));
    assert.equal(r.isError, true);
    assert.ok(!text(r).includes("TOP SECRET"));
  });

  test("move_file with a destination (or source) outside the root is refused; nothing moves", async () => {
    await refused("fs__move_file", { source: join(s.project, "movable.txt"), destination: join(s.home, "stolen.txt") }, /'destination'/);
    await refused("fs__move_file", { source: outside(), destination: join(s.project, "took.txt") }, /'source'/);
    assert.ok(existsSync(join(s.project, "movable.txt")));
    assert.ok(!existsSync(join(s.home, "stolen.txt")));
    assert.ok(!existsSync(join(s.project, "took.txt")));
    assert.equal(readFileSync(outside(), "utf8"), SECRET);
    // Inside to inside works.
    await call("fs__move_file", { source: join(s.project, "movable.txt"), destination: join(s.project, "moved.txt") });
    assert.ok(existsSync(join(s.project, "moved.txt")));
  });

  test("a server with an sql guard for a dialect without a parser here has its SQL calls refused", async () => {
    await assert.rejects(call("sqlish__echo", { text: "x", query: "select 1" }), /dialect|parser|refuse/i);
  });

  test("refusals are audited as denials naming the guard", async () => {
    const denied = auditRecords(s).filter((r) => r.kind === "call" && r.event === "decided" && r.decision === "deny" && String(r.tool).startsWith("mcp__fs__"));
    assert.ok(denied.length >= 10, `${denied.length} denials: ${stderr.slice(-2000)}`);
    assert.ok(denied.every((r) => /filesystem guard/.test(String(r.reason))));
    assert.ok(denied.some((r) => (r.ruleSource as { path?: string } | undefined)?.path === "mcpServers.fs.guards.filesystem"));
  });
});
