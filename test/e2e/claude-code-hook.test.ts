// The PreToolUse hook under the real Claude Code binary (issue 11, finding 6 and the trust model).
// `claude -p` runs offline against a fake Messages API on 127.0.0.1 (test/fixtures/
// fake-messages-api.ts) that plays the model: it sends scripted `tool_use` blocks and records the
// `tool_result`s Claude Code sends back. Claude Code runs `mcp-warden hook` (dist/src/cli.cjs)
// before every tool call, from a `--settings` file, in a scratch HOME.
//
// What a hook's `ask` becomes in -p mode (found with Claude Code 2.1.332, no permission prompt tool):
// the call is not run; the model gets an error tool_result whose text is the hook's
// permissionDecisionReason, and the final result lists the call in `permission_denials`.
//
// A hook's `allow` skips Claude Code's own permission checks (its refusals of reads through a
// symlink out of the project, or of `rm -rf` outside it, in default mode). So each attack has a
// control run in which mcp-warden allows the same call and the harm happens: the refusal in the
// attack run is the hook's doing, and the test would fail if the hook allowed.
//
// The binary is installed by `node dist/scripts/test-tools.js install`; see claude-code-run.ts.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ScriptedToolUse } from "../fixtures/fake-messages-api.js";
import { claudeSkip as skip, runClaude as runClaudeWith, type ClaudeRun } from "./claude-code-run.js";
import { auditRecords, CLI, cli, scratch, type Scratch } from "./harness.js";

if (skip) console.log(`skipped: ${skip}`);

const KEY_MARKER = "FAKE-KEY-d41d8cd98f00b204";
const INSIDE_MARKER = "inside-the-project-7c1e";

type Machine = Scratch & { ssh: string; key: string; sshlink: string; userSettings: string };

/** A scratch HOME with a fake ~/.ssh/id_rsa, a project holding `sshlink -> ~/.ssh`, and the user's mcp-warden settings. */
function machine(userPermissions: Record<string, unknown> = {}): Machine {
  const s = scratch({});
  const ssh = join(s.home, ".ssh");
  mkdirSync(ssh, { recursive: true });
  const key = join(ssh, "id_rsa");
  writeFileSync(key, `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`);
  mkdirSync(join(s.project, "src"), { recursive: true });
  writeFileSync(join(s.project, "src", "a.ts"), `export const marker = "${INSIDE_MARKER}";\n`);
  const sshlink = join(s.project, "sshlink");
  symlinkSync(ssh, sshlink);
  const userSettings = join(s.env.XDG_CONFIG_HOME as string, "mcp-warden", "settings.json");
  const m = { ...s, ssh, key, sshlink, userSettings };
  writeUserSettings(m, userPermissions);
  return m;
}

function writeUserSettings(m: Machine, permissions: Record<string, unknown>): void {
  mkdirSync(dirname(m.userSettings), { recursive: true });
  writeFileSync(m.userSettings, JSON.stringify({ permissions, audit: { dir: m.auditDir, fsyncIntervalMs: 50 } }));
}

/**
 * Runs the real `claude -p` in `cwd` against a fake model playing `script`, with the mcp-warden hook
 * installed through `--settings` (or no hook at all), and no route off the machine.
 */
async function runClaude(m: Machine, script: ScriptedToolUse[], opts: { cwd?: string; hook?: boolean } = {}): Promise<ClaudeRun> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const hooks = { PreToolUse: [{ matcher: "*", hooks: [{ type: "command", command: `${quote(process.execPath)} ${quote(CLI)} hook`, timeout: 30 }] }] };
  return runClaudeWith({ dir: m.dir, env: m.env, cwd: opts.cwd ?? m.project, settings: opts.hook === false ? {} : { hooks }, script });
}

/** The hook's audit record for one of Claude Code's tool calls. */
function hookDecision(m: Machine, toolUseId: string): { decision: string; reason: string } {
  const record = auditRecords(m).find((r) => r.kind === "decision" && (r.detail as { toolUseId?: unknown } | undefined)?.toolUseId === toolUseId);
  assert.ok(record, `the hook recorded no decision for ${toolUseId}: was it run?`);
  return { decision: record.decision as string, reason: record.reason as string };
}

/** The call was not run: the model got the hook's own reason as an error, and Claude Code counts it as denied. */
function refusedByHook(m: Machine, run: ClaudeRun, toolUseId: string, reason: RegExp): void {
  const verdict = hookDecision(m, toolUseId);
  assert.notEqual(verdict.decision, "allow", verdict.reason);
  assert.match(verdict.reason, reason);
  const result = run.results.get(toolUseId);
  assert.ok(result, `no tool_result for ${toolUseId} reached the model`);
  assert.equal(result.isError, true, result.text);
  assert.ok(result.text.startsWith(`mcp-warden: ${verdict.reason}`), `the model sees the hook's reason, not Claude Code's own: ${result.text}`);
  assert.ok(run.denied.includes(toolUseId), `${toolUseId} is not in permission_denials: ${run.denied.join(", ")}`);
}

describe("real Claude Code + mcp-warden hook: a symlink from the project to ~/.ssh", { skip }, () => {
  let m: Machine;
  let run: ClaudeRun;
  before(async () => {
    // The user allows every `cd`: the working-directory rule, not a missing allow rule, must stop it.
    m = machine({ allow: ["Bash(cd:*)"] });
    run = await runClaude(m, [
      { id: "toolu_cd_sshlink", name: "Bash", input: { command: "cd sshlink", description: "enter sshlink" } },
      { id: "toolu_read_via_link", name: "Read", input: { file_path: "sshlink/id_rsa" } },
      { id: "toolu_read_key", name: "Read", input: { file_path: m.key } },
      { id: "toolu_read_inside", name: "Read", input: { file_path: "src/a.ts" } },
    ]);
  });
  after(() => m?.cleanup());

  it("`cd sshlink` is not silently allowed: the hook asks, and in -p mode the model gets its reason as an error", () => {
    refusedByHook(m, run, "toolu_cd_sshlink", /`cd sshlink` changes to sshlink, which is not inside the working directories/);
    assert.equal(hookDecision(m, "toolu_cd_sshlink").decision, "ask");
  });

  it("Read of ~/.ssh/id_rsa, through sshlink or by its own path, is refused; the key never reaches the model", () => {
    refusedByHook(m, run, "toolu_read_via_link", /outside the working directories/);
    refusedByHook(m, run, "toolu_read_key", /outside the working directories/);
    assert.ok(run.sent.length > 0);
    assert.ok(!run.sent.includes(KEY_MARKER), "the key's content was sent to the model");
  });

  it("near miss: Read src/a.ts inside the project is allowed and its content comes back to the model", () => {
    assert.equal(hookDecision(m, "toolu_read_inside").decision, "allow");
    const result = run.results.get("toolu_read_inside");
    assert.equal(result?.isError, false, result?.text);
    assert.ok(result?.text.includes(INSIDE_MARKER), result?.text);
    assert.ok(!run.denied.includes("toolu_read_inside"));
  });

  it("control: with ~/.ssh in the user's own additionalDirectories the hook allows the read through sshlink, and the key does reach the model", async () => {
    writeUserSettings(m, { allow: ["Bash(cd:*)"], additionalDirectories: [m.ssh] });
    const control = await runClaude(m, [{ id: "toolu_control_read", name: "Read", input: { file_path: "sshlink/id_rsa" } }]);
    assert.equal(hookDecision(m, "toolu_control_read").decision, "allow");
    assert.ok(control.results.get("toolu_control_read")?.text.includes(KEY_MARKER), control.results.get("toolu_control_read")?.text);
    assert.ok(control.sent.includes(KEY_MARKER));
  });
});

describe("real Claude Code + mcp-warden hook: Claude Code started in /", { skip }, () => {
  let m: Machine;
  before(() => (m = machine()));
  after(() => m?.cleanup());
  const script = () => [{ id: "toolu_read_from_root", name: "Read", input: { file_path: m.key } }];

  it("Read of ~/.ssh/id_rsa is refused: / is never a working directory, even as CLAUDE_PROJECT_DIR", async () => {
    const run = await runClaude(m, script(), { cwd: "/" });
    refusedByHook(m, run, "toolu_read_from_root", /the project root \/ is \/, the home directory or an ancestor of it/);
    assert.ok(!run.sent.includes(KEY_MARKER), "the key's content was sent to the model");
  });

  it("control: without the hook, Claude Code itself allows that read (its working directory is /), and the key reaches the model", async () => {
    const run = await runClaude(m, script(), { cwd: "/", hook: false });
    assert.equal(run.results.get("toolu_read_from_root")?.isError, false);
    assert.ok(run.sent.includes(KEY_MARKER));
  });
});

describe("real Claude Code + mcp-warden hook: an untrusted project's defaultMode bypassPermissions", { skip }, () => {
  let m: Machine;
  let outside: string;
  const rm = () => [{ id: `toolu_rm_${Date.now()}`, name: "Bash", input: { command: `rm -rf ${outside}`, description: "remove a directory outside the project" } }];
  before(() => {
    m = machine();
    outside = join(m.dir, "outside-the-project");
    mkdirSync(outside);
    writeFileSync(join(outside, "marker"), "must survive\n");
    mkdirSync(join(m.project, ".mcp-warden"));
    writeFileSync(join(m.project, ".mcp-warden", "settings.json"), JSON.stringify({ permissions: { defaultMode: "bypassPermissions" } }, null, 2) + "\n");
  });
  after(() => m?.cleanup());

  it("`rm -rf` of a directory outside the project is refused and does not run", async () => {
    const script = rm();
    const run = await runClaude(m, script);
    // Untrusted, the project's mode is ignored: the user's default mode judges the command.
    refusedByHook(m, run, script[0]?.id as string, /rm writes .*outside-the-project, outside the working directories/);
    assert.equal(hookDecision(m, script[0]?.id as string).decision, "ask");
    assert.ok(existsSync(join(outside, "marker")), "the directory outside the project was removed");
  });

  it("control: after `mcp-warden trust`, the hook allows the same command and Claude Code runs it", async () => {
    const trusted = cli(m, ["trust"]);
    assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
    const script = rm();
    const run = await runClaude(m, script);
    assert.equal(hookDecision(m, script[0]?.id as string).decision, "allow");
    assert.equal(run.results.get(script[0]?.id as string)?.isError, false);
    assert.equal(existsSync(outside), false, "trusted, the project's mode applies (the attack, had it been trusted)");
  });
});
