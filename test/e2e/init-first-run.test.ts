// What a new user does (issue 12): a `.mcp.json` with server-everything and a server carrying a
// literal GitHub token (and a remote one with a Bearer header), `mcp-warden init`, then the client
// started exactly as the rewritten `.mcp.json` says: `mcp-warden run`, found on the PATH (a scratch
// bin directory whose `mcp-warden` runs this build). The client lists the moved servers' tools at
// once and calls one the starter policy allows; the token is in no project-layer file. The same
// through a real third-party client, the MCP Inspector's CLI from npm.
//
// And what init's approval does not cover: a project entry changed after init (a later commit) is
// another launch configuration and does not start; a server whose approval is taken back does not
// start either, though its entry sits in a settings file init wrote and trusted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { findInspector } from "../../scripts/test-tools.js";
import { CLI, EVERYTHING, scratch, type Scratch, closedPort } from "./harness.js";

/** `ghp_` and 36 characters: the GitHub token format the secret scanner knows. */
const TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2";
const BEARER = "sekrit-bearer-7f3a9c21";

const inspector = findInspector();
// In CI the Inspector is installed by .ci/run (node dist/scripts/test-tools.js install): missing there fails.
const skipInspector = inspector.ok || process.env.CI ? false : `the MCP Inspector is not installed: ${inspector.why}`;
if (skipInspector) console.log(`skipped: ${skipInspector}`);

interface FirstRun {
  s: Scratch;
  /** The scratch env with a bin directory holding `mcp-warden` first on the PATH. */
  env: Record<string, string>;
  init: { code: number | null; stdout: string; stderr: string };
  entry: { command: string; args: string[] };
}

let run: FirstRun;

function projectFile(...parts: string[]): string {
  return join(run.s.project, ...parts);
}

/** Starts the client the way the rewritten .mcp.json says, in the project, as the client would. */
async function connectAsMcpJson(): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: run.entry.command, args: run.entry.args, env: run.env, cwd: run.s.project, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "first-run-client", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport, { timeout: 30_000 });
  return { client, stderr: () => stderr };
}

/** The user's own settings hold a call that cannot be asked for 3 s (the default is 45 s, under the SDK's 60 s). */
function holdBriefly(): void {
  const file = join(run.env.XDG_CONFIG_HOME!, "mcp-warden", "settings.json");
  mkdirSync(join(run.env.XDG_CONFIG_HOME!, "mcp-warden"), { recursive: true });
  writeFileSync(file, JSON.stringify({ approvals: { holdMs: 3000 } }));
}

function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

before(async () => {
  const s = scratch({});
  const bin = join(s.dir, "bin");
  mkdirSync(bin);
  // What `npm install -g` gives: an `mcp-warden` command on the PATH (here: this build).
  writeFileSync(join(bin, "mcp-warden"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
  chmodSync(join(bin, "mcp-warden"), 0o755);
  const env = { ...(s.env as Record<string, string>), PATH: `${bin}:${process.env.PATH}` };
  const port = await closedPort();
  writeFileSync(
    join(s.project, ".mcp.json"),
    JSON.stringify(
      {
        mcpServers: {
          everything: { command: process.execPath, args: [EVERYTHING] },
          github: { command: process.execPath, args: [EVERYTHING], env: { GITHUB_TOKEN: TOKEN } },
          remote: { type: "http", url: `http://127.0.0.1:${port}/mcp`, headers: { Authorization: `Bearer ${BEARER}` } },
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(join(s.project, ".gitignore"), "node_modules/\n");
  const r = spawnSync(process.execPath, [CLI, "init"], { cwd: s.project, env, encoding: "utf8", timeout: 120_000 });
  const mcpJson = JSON.parse(readFileSync(join(s.project, ".mcp.json"), "utf8")) as { mcpServers: Record<string, { command: string; args: string[] }> };
  run = { s, env, init: { code: r.status, stdout: r.stdout, stderr: r.stderr }, entry: mcpJson.mcpServers["mcp-warden"]! };
});

after(() => run?.s.cleanup());

describe("init: a first run leaves a working client", () => {
  it("init succeeds, approves the moved servers and says what went where, without printing a secret", () => {
    const out = run.init.stdout + run.init.stderr;
    assert.equal(run.init.code, 0, out);
    assert.ok(!out.includes(TOKEN) && !out.includes(BEARER), `init printed a secret:\n${out}`);
    assert.match(run.init.stdout, /github: env\.GITHUB_TOKEN → \$\{GITHUB_TOKEN\}/);
    assert.match(run.init.stdout, /remote: headers\.Authorization → \$\{REMOTE_AUTHORIZATION\}/);
    assert.match(run.init.stdout, /approved, as you, the launch configuration/);
    for (const name of ["everything", "github", "remote"]) assert.match(run.init.stdout, new RegExp(`^  ${name}  .*\\((project|local) settings\\)$`, "m"));
    // The remote server cannot be reached: reported, not fatal.
    assert.match(run.init.stdout, /remote: could not list its tools, so no rules/);
    assert.match(run.init.stdout, /allow {2}mcp__everything__echo {2}\(readOnlyHint\)/);
  });

  it("the .mcp.json entry is portable: `mcp-warden run`, resolved on the PATH", () => {
    assert.deepEqual(run.entry, { command: "mcp-warden", args: ["run"] });
    const mcpJson = JSON.parse(readFileSync(projectFile(".mcp.json"), "utf8")) as { mcpServers: Record<string, unknown> };
    assert.deepEqual(Object.keys(mcpJson.mcpServers), ["mcp-warden"]);
  });

  it("the literal token and Bearer credential are in no project-layer file; the local layer holds them and git ignores it", () => {
    for (const file of [projectFile(".mcp.json"), projectFile(".mcp-warden", "settings.json")]) {
      const content = readFileSync(file, "utf8");
      assert.ok(!content.includes(TOKEN), `${file} holds the token`);
      assert.ok(!content.includes(BEARER), `${file} holds the Bearer credential`);
    }
    const project = JSON.parse(readFileSync(projectFile(".mcp-warden", "settings.json"), "utf8"));
    assert.deepEqual(project.mcpServers.github.env, { GITHUB_TOKEN: "${GITHUB_TOKEN}" });
    assert.deepEqual(project.mcpServers.remote.headers, { Authorization: "Bearer ${REMOTE_AUTHORIZATION}" });
    const local = readFileSync(projectFile(".mcp-warden", "settings.local.json"), "utf8");
    assert.ok(local.includes(TOKEN) && local.includes(BEARER));
    const ignored = readFileSync(projectFile(".gitignore"), "utf8").split("\n");
    assert.ok(ignored.includes("node_modules/"), "the existing .gitignore is kept");
    assert.ok(ignored.includes(".mcp-warden/settings.local.json"));
    // The backup of the original .mcp.json holds the token: ignored too.
    assert.ok(readdirSync(run.s.project).some((n) => n.startsWith(".mcp.json.bak-")));
    assert.ok(ignored.includes(".mcp.json.bak-*"));
  });

  it("the settings init wrote are trusted, so its starter policy's allow rules count", () => {
    const r = spawnSync(process.execPath, [CLI, "doctor", "--json"], { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 30_000 });
    const files = (JSON.parse(r.stdout) as { settings: { files: { kind: string; trusted?: boolean }[] } }).settings.files;
    assert.equal(files.find((f) => f.kind === "project")?.trusted, true);
    assert.equal(files.find((f) => f.kind === "local")?.trusted, true);
    const project = JSON.parse(readFileSync(projectFile(".mcp-warden", "settings.json"), "utf8"));
    assert.ok(project.permissions.allow.includes("mcp__everything__echo"));
    assert.ok(project.permissions.allow.includes("mcp__github__get-env"));
  });

  it("an SDK client started as .mcp.json says lists the moved servers' tools and calls an allowed one", async () => {
    const { client, stderr } = await connectAsMcpJson();
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("everything__echo"), `tools: ${names.join(", ")}\n${stderr()}`);
      assert.ok(names.includes("github__get-env"), `tools: ${names.join(", ")}`);
      const echo = await client.callTool({ name: "everything__echo", arguments: { message: "first run" } });
      assert.equal(echo.isError, undefined, text(echo));
      assert.equal(text(echo), "Echo: first run");
      // The github server runs from the local entry: the token reached it, and the gateway redacts it on the way back.
      const env = await client.callTool({ name: "github__get-env", arguments: {} });
      assert.equal(env.isError, undefined, text(env));
      assert.match(text(env), /"GITHUB_TOKEN": ?"\[REDACTED/);
      assert.ok(!text(env).includes(TOKEN));
      assert.ok(!stderr().includes(TOKEN), "the gateway's stderr carries the token");
    } finally {
      await client.close();
    }
  });

  it("an ask tool, called by a client that cannot be asked, gets an actionable error in time; approved from the CLI, the retried call goes through once", async () => {
    // Not a read-only tool: the starter policy leaves it to the default, ask. The user's own settings
    // shorten the hold so the test does not wait out the default 45 s (still under the SDK's 60 s).
    holdBriefly();
    const { client } = await connectAsMcpJson();
    try {
      const first = await client.callTool({ name: "everything__toggle-simulated-logging", arguments: {} });
      assert.equal(first.isError, true, text(first));
      const id = /`mcp-warden approvals approve ([0-9a-f]+)`/.exec(text(first))?.[1];
      assert.ok(id, text(first));
      assert.match(text(first), /again with exactly the same arguments/);
      const approve = spawnSync(process.execPath, [CLI, "approvals", "approve", id], { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 30_000 });
      assert.equal(approve.status, 0, approve.stdout + approve.stderr);
      const retried = await client.callTool({ name: "everything__toggle-simulated-logging", arguments: {} });
      assert.equal(retried.isError, undefined, text(retried));
      const again = await client.callTool({ name: "everything__toggle-simulated-logging", arguments: {} });
      assert.equal(again.isError, true, "the approval let the call through once");
    } finally {
      await client.close();
    }
  });

  it("the MCP Inspector's CLI, started from the rewritten .mcp.json, lists the tools and calls an allowed one", { skip: skipInspector }, () => {
    assert.ok(inspector.ok, inspector.ok ? "" : inspector.why);
    const inspect = (...args: string[]) => inspectWith(0, ...args);
    /** The Inspector exits non-zero (and still prints the result) when a tool answers isError. */
    const inspectWith = (expected: number, ...args: string[]) => {
      // The Inspector hands the server its own minimal environment; -e adds the scratch managed dir.
      const r = spawnSync(
        process.execPath,
        [inspector.binary, "--cli", "--config", projectFile(".mcp.json"), "--server", "mcp-warden", "-e", `MCP_WARDEN_MANAGED_DIR=${run.env.MCP_WARDEN_MANAGED_DIR}`, ...args],
        { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 90_000 },
      );
      assert.equal(r.status, expected, `${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    // Each Inspector run starts a new gateway, and server-everything announces a changed tool list
    // right after it starts: the list must hold every server's tools, with no retry (a refreshed list
    // once reached a request before its review started, and the tools were hidden as not reviewed).
    const listed = JSON.parse(inspect("--method", "tools/list")) as { tools: { name: string }[] };
    const diagnose = () => {
      const audit = spawnSync(process.execPath, [CLI, "audit", "--server", "everything", "--json", "--limit", "40"], { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 30_000 });
      return `${JSON.stringify(listed.tools.map((t) => t.name))}\naudit of everything:\n${audit.stdout}${audit.stderr}`;
    };
    assert.ok(listed.tools.some((t) => t.name === "everything__echo"), diagnose());
    const called = JSON.parse(inspect("--method", "tools/call", "--tool-name", "everything__echo", "--tool-arg", "message=from the inspector"));
    assert.equal(text(called), "Echo: from the inspector");

    // The ask flow through the Inspector (no elicitation; each run is a new gateway): an actionable
    // error, an approval from the CLI with no gateway running, then the retried call goes through.
    holdBriefly();
    const names = (JSON.parse(inspect("--method", "tools/list")) as { tools: { name: string }[] }).tools.map((t) => t.name);
    assert.ok(names.includes("everything__toggle-simulated-logging"), names.join(", "));
    const heldOut = inspectWith(5, "--method", "tools/call", "--tool-name", "everything__toggle-simulated-logging");
    const held = JSON.parse(heldOut) as { isError?: boolean };
    assert.equal(held.isError, true, JSON.stringify(held));
    const id = /`mcp-warden approvals approve ([0-9a-f]+)`/.exec(text(held))?.[1];
    assert.ok(id, text(held));
    const approve = spawnSync(process.execPath, [CLI, "approvals", "approve", id], { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 30_000 });
    assert.equal(approve.status, 0, approve.stdout + approve.stderr);
    const retried = JSON.parse(inspect("--method", "tools/call", "--tool-name", "everything__toggle-simulated-logging")) as { isError?: boolean };
    assert.equal(retried.isError, undefined, JSON.stringify(retried));
  });
});

describe("init: what its approval does not cover", () => {
  it("a project entry changed after init is another launch configuration: it does not start until a person approves it", async () => {
    const file = projectFile(".mcp-warden", "settings.json");
    const original = readFileSync(file, "utf8");
    const settings = JSON.parse(original);
    // A later commit to the project adds an argument (server-everything ignores it, so only approval keeps it from starting).
    settings.mcpServers.everything.args.push("stdio");
    writeFileSync(file, JSON.stringify(settings, null, 2) + "\n");
    try {
      const { client } = await connectAsMcpJson();
      try {
        const names = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(!names.some((n) => n.startsWith("everything__")), `the changed server runs: ${names.join(", ")}`);
        assert.ok(names.includes("github__get-env"), "the unchanged local server still runs");
      } finally {
        await client.close();
      }
      // Control: once a person approves the changed configuration, the same client sees the server.
      const approve = spawnSync(process.execPath, [CLI, "pins", "approve", "everything"], { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 30_000 });
      assert.equal(approve.status, 0, approve.stdout + approve.stderr);
      const again = await connectAsMcpJson();
      try {
        const names = (await again.client.listTools()).tools.map((t) => t.name);
        assert.ok(names.includes("everything__echo"), `approved server missing: ${names.join(", ")}`);
      } finally {
        await again.client.close();
      }
    } finally {
      writeFileSync(file, original);
    }
  });

  it("control: with its approval taken back (`pins reset`), a moved server does not start, though init wrote and trusted its file", async () => {
    const reset = spawnSync(process.execPath, [CLI, "pins", "reset", "everything"], { cwd: run.s.project, env: run.env, encoding: "utf8", timeout: 30_000 });
    assert.equal(reset.status, 0, reset.stderr);
    const { client } = await connectAsMcpJson();
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!names.some((n) => n.startsWith("everything__")), `unapproved server runs: ${names.join(", ")}`);
    } finally {
      await client.close();
    }
  });
});
