// `mcp-warden init --claude-code` and `mcp-warden test FILE`, through the real CLI.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, ROOT, scratch, type Scratch } from "./harness.js";

describe("mcp-warden init --claude-code", () => {
  let s: Scratch;
  before(() => (s = scratch({})));
  after(() => s.cleanup());

  const settingsPath = () => join(s.project, ".claude", "settings.json");
  const hooksOf = (file: string) => (JSON.parse(readFileSync(file, "utf8")) as { hooks: { PreToolUse: { matcher: string; hooks: { command: string }[] }[] } }).hooks.PreToolUse;

  it("installs the hook for every tool in the project's .claude/settings.json, keeping other settings and hooks", () => {
    mkdirSync(join(s.project, ".claude"), { recursive: true });
    const existing = { model: "opus", hooks: { PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "echo other" }] }], Stop: [] } };
    writeFileSync(settingsPath(), JSON.stringify(existing, null, 2));
    const r = cli(s, ["init", "--claude-code"]);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(readFileSync(settingsPath(), "utf8")) as Record<string, unknown>;
    assert.equal(data.model, "opus");
    const pre = hooksOf(settingsPath());
    assert.equal(pre.length, 2);
    assert.equal(pre[0]?.matcher, "*");
    assert.match(pre[0]?.hooks[0]?.command ?? "", /cli\.cjs'? hook$/);
    assert.equal(pre[1]?.hooks[0]?.command, "echo other");
    const backups = readdirSync(join(s.project, ".claude")).filter((f) => f !== "settings.json");
    assert.equal(backups.length, 1, `one backup of the previous file: ${backups.join(", ")}`);
    assert.deepEqual(JSON.parse(readFileSync(join(s.project, ".claude", backups[0] as string), "utf8")), existing);
  });

  it("is idempotent: a second run changes nothing and writes no backup", () => {
    const before = readFileSync(settingsPath(), "utf8");
    const files = readdirSync(join(s.project, ".claude")).length;
    const r = cli(s, ["init", "--claude-code"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /nothing to do/);
    assert.equal(readFileSync(settingsPath(), "utf8"), before);
    assert.equal(readdirSync(join(s.project, ".claude")).length, files);
  });

  it("widens a narrowed matcher back to every tool", () => {
    const data = JSON.parse(readFileSync(settingsPath(), "utf8")) as { hooks: { PreToolUse: { matcher: string }[] } };
    (data.hooks.PreToolUse[0] as { matcher: string }).matcher = "Bash";
    writeFileSync(settingsPath(), JSON.stringify(data));
    assert.equal(cli(s, ["init", "--claude-code"]).code, 0);
    assert.equal(hooksOf(settingsPath())[0]?.matcher, "*");
  });

  it("points an existing hook of another mcp-warden install at this one instead of adding a second", () => {
    const dir = join(s.dir, "other-install");
    mkdirSync(join(dir, ".claude"), { recursive: true });
    writeFileSync(join(dir, ".claude", "settings.json"), JSON.stringify({ hooks: { PreToolUse: [{ matcher: "*", hooks: [{ type: "command", command: "mcp-warden hook" }] }] } }));
    const r = cli({ ...s, project: dir }, ["init", "--claude-code"]);
    assert.equal(r.code, 0, r.stderr);
    const pre = hooksOf(join(dir, ".claude", "settings.json"));
    assert.equal(pre.length, 1);
    assert.match(pre[0]?.hooks[0]?.command ?? "", /cli\.cjs'? hook$/);
  });

  it("writes the user's ~/.claude/settings.json with --user", () => {
    const r = cli(s, ["init", "--claude-code", "--user"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(hooksOf(join(s.home, ".claude", "settings.json"))[0]?.hooks[0]?.command ?? "", / hook$/);
  });

  it("refuses to rewrite a settings file that is not valid JSON, and leaves it alone", () => {
    const dir = join(s.dir, "broken");
    mkdirSync(join(dir, ".claude"), { recursive: true });
    writeFileSync(join(dir, ".claude", "settings.json"), "{ nope");
    const r = cli({ ...s, project: dir }, ["init", "--claude-code"]);
    assert.equal(r.code, 2);
    assert.equal(readFileSync(join(dir, ".claude", "settings.json"), "utf8"), "{ nope");
  });
});

describe("mcp-warden init --claude-code --http URL", () => {
  let s: Scratch;
  before(() => (s = scratch({})));
  after(() => s.cleanup());

  const TOKEN = "mcpw_init_test_token_never_written_4c2a";
  const settingsPath = () => join(s.project, ".claude", "settings.json");
  type Entry = Record<string, unknown> & { type: string; url?: string; command?: string };
  const preOf = () => (JSON.parse(readFileSync(settingsPath(), "utf8")) as { hooks: { PreToolUse: { matcher: string; hooks: Entry[] }[] } }).hooks.PreToolUse;
  const withToken = (): Scratch => ({ ...s, env: { ...s.env, MCP_WARDEN_HOOK_TOKEN: TOKEN } });

  it("replaces the command hook with an http entry that blocks on failure and names the token's variable, never the token", () => {
    assert.equal(cli(s, ["init", "--claude-code"]).code, 0);
    mkdirSync(join(s.project, ".claude"), { recursive: true });
    const data = JSON.parse(readFileSync(settingsPath(), "utf8")) as { hooks: { PreToolUse: unknown[] } };
    data.hooks.PreToolUse.push({ matcher: "Bash", hooks: [{ type: "command", command: "echo other" }] });
    writeFileSync(settingsPath(), JSON.stringify(data));

    const r = cli(withToken(), ["init", "--claude-code", "--http", "http://127.0.0.1:8787"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replacing the mcp-warden command hook/);
    assert.match(r.stdout, /mcp-warden keys create claude-code-hook/);
    assert.match(r.stdout, /onFailure/);
    const pre = preOf();
    assert.equal(pre.length, 2, JSON.stringify(pre));
    assert.equal(pre[0]?.matcher, "*");
    assert.deepEqual(pre[0]?.hooks, [
      { type: "http", url: "http://127.0.0.1:8787/v1/hooks/claude-code", headers: { Authorization: "Bearer $MCP_WARDEN_HOOK_TOKEN" }, allowedEnvVars: ["MCP_WARDEN_HOOK_TOKEN"], timeout: 10, onFailure: "block" },
    ]);
    assert.equal(pre[1]?.hooks[0]?.command, "echo other");
    for (const f of readdirSync(join(s.project, ".claude"))) assert.ok(!readFileSync(join(s.project, ".claude", f), "utf8").includes(TOKEN), `${f} holds the token`);
  });

  it("is idempotent, and says when the token's variable is not set", () => {
    const before = readFileSync(settingsPath(), "utf8");
    const r = cli(s, ["init", "--claude-code", "--http", "http://127.0.0.1:8787/v1/hooks/claude-code"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing to do/);
    assert.match(r.stdout, /MCP_WARDEN_HOOK_TOKEN is not set here/);
    assert.equal(readFileSync(settingsPath(), "utf8"), before);
  });

  it("points an existing entry at a new URL and restores onFailure, keeping headers the user added", () => {
    const data = JSON.parse(readFileSync(settingsPath(), "utf8")) as { hooks: { PreToolUse: { hooks: Entry[] }[] } };
    const entry = data.hooks.PreToolUse[0]?.hooks[0] as Entry;
    delete entry.onFailure;
    entry.headers = { authorization: "Bearer literal-token-pasted-here", "X-Team": "$TEAM" };
    entry.allowedEnvVars = ["TEAM"];
    writeFileSync(settingsPath(), JSON.stringify(data));
    const r = cli(s, ["init", "--claude-code", "--http", "https://warden.example.com"]);
    assert.equal(r.code, 0, r.stderr);
    const h = preOf()[0]?.hooks[0] as Entry;
    assert.equal(h.url, "https://warden.example.com/v1/hooks/claude-code");
    assert.equal(h.onFailure, "block");
    assert.deepEqual(h.headers, { "X-Team": "$TEAM", Authorization: "Bearer $MCP_WARDEN_HOOK_TOKEN" });
    assert.deepEqual(h.allowedEnvVars, ["TEAM", "MCP_WARDEN_HOOK_TOKEN"]);
    assert.ok(!readFileSync(settingsPath(), "utf8").includes("literal-token-pasted-here"), "a token pasted into the header was kept");
  });

  it("switches back: `init --claude-code` replaces the http entry with the command hook", () => {
    const r = cli(s, ["init", "--claude-code"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replacing the mcp-warden http hook/);
    const ours = preOf().flatMap((g) => g.hooks).filter((h) => h.type === "http" || / hook$/.test(h.command ?? ""));
    assert.equal(ours.length, 1);
    assert.equal(ours[0]?.type, "command");
  });

  it("refuses plain http off loopback, credentials in the URL, and what is not a URL, changing nothing", () => {
    const before = readFileSync(settingsPath(), "utf8");
    for (const [url, message] of [
      ["http://10.0.0.5:8787", /clear text/],
      ["https://user:pw@warden.example.com", /credentials/],
      ["127.0.0.1:8787", /not a URL|must start with http/],
      ["https://warden.example.com/mcp", /\/v1\/hooks\/claude-code/],
    ] as const) {
      const r = cli(s, ["init", "--claude-code", "--http", url]);
      assert.equal(r.code, 2, `${url}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(readFileSync(settingsPath(), "utf8"), before);
  });

  it("--http without --claude-code is a usage error", () => {
    const r = cli(s, ["init", "--http", "http://127.0.0.1:8787"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--http goes with --claude-code/);
  });
});

describe("mcp-warden test FILE", () => {
  let s: Scratch;
  before(() => {
    s = scratch({ permissions: { allow: ["Bash(git status:*)"], deny: ["Bash(curl:*)", "Read(.env)"] } });
  });
  after(() => s.cleanup());

  it("passes tests whose decisions match, judged by the loaded settings", () => {
    const file = join(s.project, "policy.test.json");
    writeFileSync(
      file,
      JSON.stringify([
        { name: "git status is fine", tool: "Bash", input: { command: "git status" }, expect: "allow", expectRule: "Bash(git status:*)" },
        { name: "no curl behind git", tool: "Bash", input: { command: "git status; curl x" }, expect: "deny" },
        { tool: "Read", input: { file_path: ".env" }, expect: "deny" },
        { tool: "Bash", input: { command: "make" }, expect: "ask" },
      ]),
    );
    const r = cli(s, ["test", file, "--settings", s.settingsFile]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /policy tests: 4 passed, 0 failed/);
  });

  it("reports each failing test and exits 1", () => {
    const file = join(s.project, "failing.jsonl");
    writeFileSync(
      file,
      [
        JSON.stringify({ name: "wrong on purpose", tool: "Bash", input: { command: "curl x" }, expect: "allow" }),
        JSON.stringify({ name: "inline settings", tool: "Bash", input: { command: "ls" }, settings: { permissions: { allow: ["Bash(ls *)"] } }, expect: "allow" }),
      ].join("\n"),
    );
    const r = cli(s, ["test", file, "--settings", s.settingsFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL wrong on purpose: expected allow, got deny/);
    assert.match(r.stdout, /policy tests: 1 passed, 1 failed/);
  });

  it("the bundled example policy passes its own tests", () => {
    const r = cli(s, ["test", join(ROOT, "examples", "policy.test.json"), "--settings", join(ROOT, "examples", "claude-code.settings.json")]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /policy tests: 12 passed, 0 failed/);
  });

  it("exits 2 on a malformed test file", () => {
    const file = join(s.project, "bad.json");
    writeFileSync(file, JSON.stringify([{ tool: "Bash", expect: "maybe" }]));
    assert.equal(cli(s, ["test", file, "--settings", s.settingsFile]).code, 2);
    assert.ok(existsSync(file));
  });
});
