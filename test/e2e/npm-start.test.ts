// `npm start` is an MCP server on stdio: with --silent (how a client should launch it; the README
// says so) its stdout carries MCP messages and nothing else (not npm's "> mcp-warden@0.1.0 start"
// banner, not the build's lines); without it only npm's banner precedes them. The real npm runs the
// project's own `start` script, in a copy of the package whose `build` script
// prints to stdout as the real build does ("wrote ..."), without rebuilding dist/ under the other
// tests running from it. A raw reader checks every stdout line, and an SDK client lists the tools.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { ROOT, scratch, type Scratch } from "./harness.js";

const npm = spawnSync("npm", ["--version"], { encoding: "utf8" });

describe("npm start", { skip: npm.status === 0 ? false : "npm is not on the PATH" }, () => {
  let s: Scratch;
  let pkg: string;
  before(() => {
    s = scratch({});
    pkg = join(s.dir, "pkg");
    const real = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> } & Record<string, unknown>;
    const copy = { ...real, scripts: { start: real.scripts.start, build: "echo 'wrote dist/src/hook/main.bundle.cjs (a stand-in for the build, printing to stdout as it does)'" } };
    mkdirSync(pkg);
    writeFileSync(join(pkg, "package.json"), JSON.stringify(copy, null, 2));
    for (const entry of ["dist", "node_modules", "examples", "schema"]) symlinkSync(join(ROOT, entry), join(pkg, entry));
    // The example's memory server writes here, not into the checkout.
    s.env.MEMORY_FILE_PATH = join(s.dir, "memory.jsonl");
  });
  after(() => s.cleanup());

  /** Runs `npm start` with `args`, answers one initialize, and returns what came on stdout and stderr. */
  async function startOnce(args: string[]): Promise<{ stdout: string; stderr: string }> {
    const child = spawn("npm", ["start", ...args], { cwd: pkg, env: s.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }) + "\n");
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('"id":1') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      assert.ok(stdout.includes('"id":1'), `no answer to initialize; stderr: ${stderr}`);
    } finally {
      child.stdin.end();
      await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(undefined)));
    }
    return { stdout, stderr };
  }

  const jsonRpcOnly = (stdout: string) => {
    for (const line of stdout.split("\n").filter((l) => l !== "")) assert.equal((JSON.parse(line) as { jsonrpc?: string }).jsonrpc, "2.0", line);
  };

  test("with --silent, the project's start script leaves nothing but JSON-RPC on stdout; the build's lines go to stderr", async () => {
    const { stdout, stderr } = await startOnce(["--silent"]);
    jsonRpcOnly(stdout);
    assert.match(stderr, /wrote dist\/src\/hook\/main\.bundle\.cjs/, "the build's lines went to stderr");
  });

  test("without --silent, only npm's own banner precedes the JSON-RPC messages", async () => {
    const { stdout } = await startOnce([]);
    const lines = stdout.split("\n").filter((l) => l !== "");
    const firstJson = lines.findIndex((l) => l.startsWith("{"));
    assert.ok(firstJson >= 0);
    for (const banner of lines.slice(0, firstJson)) assert.match(banner, /^> /, `only npm's banner: ${banner}`);
    jsonRpcOnly(lines.slice(firstJson).join("\n"));
  });

  test("an SDK client started as `npm start` lists the example's tools", async () => {
    const transport = new StdioClientTransport({ command: "npm", args: ["start"], cwd: pkg, env: s.env as Record<string, string>, stderr: "pipe" });
    const client = new Client({ name: "npm-start-client", version: "1" });
    await client.connect(transport, { timeout: 60_000 });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("everything__echo") && names.includes("files__read_text_file"), names.join(", "));
    } finally {
      await client.close();
    }
  });
});
