// `mcp-warden run` starts from its single-file bundle (src/cli/run-main.ts, built by scripts/bundle.ts),
// compiled from a V8 code cache it writes once a session has run for a few seconds; anything its lean
// entry does not take goes to the full command line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, connect, FIXTURE, scratch, waitFor } from "./harness.js";

const cacheDir = (env: NodeJS.ProcessEnv) => join(env.XDG_STATE_HOME as string, "mcp-warden", "cache");
const runCaches = (env: NodeJS.ProcessEnv) => (existsSync(cacheDir(env)) ? readdirSync(cacheDir(env)).filter((f) => /^run-.*\.v8$/.test(f)) : []);

test("run serves from its bundle: the first session writes the code cache, and the next gateway starts from it and serves", async () => {
  const s = scratch({ permissions: { allow: ["mcp__fixture__echo"] }, mcpServers: { fixture: { command: process.execPath, args: [FIXTURE] } } });
  try {
    assert.deepEqual(runCaches(s.env), [], "no cache before the first run");
    // An earlier build's cache (another version): replaced, not kept beside the new one. The hook's stays.
    mkdirSync(cacheDir(s.env), { recursive: true });
    writeFileSync(join(cacheDir(s.env), "run-v0.0.0-x64-1-1.v8"), "stale");
    writeFileSync(join(cacheDir(s.env), "hook-v0.0.0-x64-1-1.v8"), "another bundle's");
    const c = await connect(s);
    try {
      const r = await c.client.callTool({ name: "fixture__echo", arguments: { text: "bundled" } });
      assert.deepEqual(r.content, [{ type: "text", text: "echo: bundled" }]);
      // Only the bundle's loader writes this cache (the ES modules have none): it proves the bundle ran.
      await waitFor("the run bundle's code cache", () => runCaches(s.env).some((f) => f !== "run-v0.0.0-x64-1-1.v8"), 15_000);
    } finally {
      await c.close();
    }
    const caches = runCaches(s.env);
    assert.equal(caches.length, 1, "one code cache for the run bundle: the earlier build's is gone");
    assert.ok(existsSync(join(cacheDir(s.env), "hook-v0.0.0-x64-1-1.v8")), "another bundle's cache is left alone");
    const file = join(cacheDir(s.env), caches[0]!);
    assert.ok(statSync(file).size > 100_000, "the cache holds the compiled gateway");
    assert.equal(statSync(file).mode & 0o077, 0, "the cache is private to the user");
    const written = statSync(file).mtimeMs;
    // The second gateway compiles from the cache: V8 accepts it, so it is not rewritten even when the
    // session outlives the moment a rejected cache would be replaced (3 s after the start).
    const c2 = await connect(s);
    try {
      const r = await c2.client.callTool({ name: "fixture__echo", arguments: { text: "from the cache" } });
      assert.deepEqual(r.content, [{ type: "text", text: "echo: from the cache" }]);
      await new Promise((r) => setTimeout(r, 4_000));
    } finally {
      await c2.close();
    }
    assert.equal(statSync(file).mtimeMs, written, "an accepted cache is not rewritten");
  } finally {
    s.cleanup();
  }
});

test("run's lean entry hands --help and unknown options to the full command line, where a usage error exits 2 as --help says (subcommands too)", () => {
  const s = scratch({});
  try {
    const help = spawnSync(process.execPath, [CLI, "run", "--help"], { env: s.env, cwd: s.project, encoding: "utf8", timeout: 30_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: mcp-warden run/);
    const bad = spawnSync(process.execPath, [CLI, "run", "--frobnicate"], { env: s.env, cwd: s.project, encoding: "utf8", timeout: 30_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option '--frobnicate'/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, "no stack trace");
    const sub = spawnSync(process.execPath, [CLI, "servers", "list", "--frobnicate"], { env: s.env, cwd: s.project, encoding: "utf8", timeout: 30_000 });
    assert.equal(sub.status, 2, sub.stderr);
  } finally {
    s.cleanup();
  }
});

test("run with a settings file that does not exist says so and exits 2, from the lean entry as from the full command line", () => {
  const s = scratch({});
  try {
    for (const args of [["--settings", "/nonexistent/settings.json"], ["--settings=/nonexistent/settings.json"]]) {
      const r = spawnSync(process.execPath, [CLI, "run", ...args], { env: s.env, cwd: s.project, encoding: "utf8", timeout: 30_000, input: "" });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /settings error: .*nonexistent\/settings\.json.*file not found/);
    }
  } finally {
    s.cleanup();
  }
});

test("run loads PostgreSQL's client and the SQL parser only for settings that use them", () => {
  const s = scratch({ mcpServers: { idle: { command: process.execPath, args: ["-e", "setTimeout(() => {}, 60000)"] } } });
  const sql = scratch({ mcpServers: { db: { command: process.execPath, args: ["-e", "setTimeout(() => {}, 60000)"], guards: { sql: { readOnly: true, dialect: "postgres" } } } } });
  try {
    // A preload that names every package of that kind the process requires (the bundle requires them, never imports).
    const preload = join(s.dir, "name-requires.cjs");
    writeFileSync(preload, `const M = require("node:module"); const load = M._load; M._load = function (id, ...rest) { if (/^(pg|libpg-query)$/.test(id)) process.stderr.write("[required " + id + "]\\n"); return load.call(this, id, ...rest); };`);
    const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }) + "\n";
    const required = (x: ReturnType<typeof scratch>) => {
      const r = spawnSync(process.execPath, ["-r", preload, CLI, "run", "--settings", x.settingsFile], { env: x.env, cwd: x.project, encoding: "utf8", timeout: 30_000, input: initialize });
      // The client closes at once: the gateway started, read its input and stopped cleanly.
      assert.equal(r.status, 0, r.stderr);
      return [...r.stderr.matchAll(/\[required ([^\]]+)\]/g)].map((m) => m[1]);
    };
    assert.deepEqual(required(s), [], "neither is loaded without an SQL guard or state.postgres");
    assert.deepEqual(required(sql), ["libpg-query"], "an SQL guard loads the parser, and only it");
  } finally {
    s.cleanup();
    sql.cleanup();
  }
});
