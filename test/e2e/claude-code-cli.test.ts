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
