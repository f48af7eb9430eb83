// Claude Code's http hook end to end with real parts only: the real Claude Code binary (pinned, in
// .cache/test-tools) against the fake Messages API, and the real `mcp-warden serve` process answering
// POST /v1/hooks/claude-code. The setup is a user's, through the real CLI: `mcp-warden keys create`
// makes the hook's API key, `mcp-warden init --claude-code --http <serve's base URL>` writes the hook
// into the project's .claude/settings.json (read by Claude Code itself), and the key reaches Claude
// Code as $MCP_WARDEN_HOOK_TOKEN.
//
// Claude Code's own rules allow Bash in every run (`permissions.allow: ["Bash"]`, as for a user who
// leaves the judging to mcp-warden), so a command that does not run was stopped by the hook; the
// allowed command and the control show commands running when nothing stops them.
//
// What Claude Code 2.1.332 does when the hook cannot answer: a refused connection, a timeout, a 401
// or 401 (wrong or no token) are hook failures; with `"onFailure": "block"` (what init writes) the
// call is blocked and the model is told why; without it the call GOES AHEAD (the control below).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateApiKey } from "../../src/auth/api-keys.js";
import { HOOK_TOKEN_ENV } from "../../src/cli/init-claude-code.js";
import { CLAUDE_CODE_HOOK_PATH } from "../../src/fronts/http/claude-code-hook.js";
import { claudeSkip as skip, runClaude, type ClaudeRun } from "./claude-code-run.js";
import { auditRecords, closedPort, scratch, wardenCli, type Scratch } from "./harness.js";
import { startServe, type Serving } from "./serve-harness.js";

if (skip) console.log(`skipped: ${skip}`);

type Step = { id: string; name: string; input: Record<string, unknown> };
type HookEntry = Record<string, unknown> & { url?: string; onFailure?: string; timeout?: number };

describe("real Claude Code + its http hook answered by the real mcp-warden serve", { skip }, () => {
  let s: Scratch;
  let srv: Serving;
  let key: string;
  let base: string;
  let installed: HookEntry;
  let n = 0;
  const victim = () => join(s.project, "victim.txt");
  const created = (name: string) => join(s.project, `${name}.txt`);
  const rm = (): Step => ({ id: `toolu_rm_${++n}`, name: "Bash", input: { command: "rm victim.txt", description: "remove a file" } });
  const touch = (name: string): Step => ({ id: `toolu_touch_${++n}`, name: "Bash", input: { command: `touch ${name}.txt`, description: "create a file" } });

  /**
   * `claude -p` in the project: the hook comes from the .claude/settings.json init wrote; `--settings`
   * adds only Claude Code's own rule allowing Bash. `token`: $MCP_WARDEN_HOOK_TOKEN (unset if null).
   */
  const run = (script: Step[], token: string | null = key) =>
    runClaude({ dir: s.dir, env: { ...s.env, ...(token !== null ? { [HOOK_TOKEN_ENV]: token } : {}) }, cwd: s.project, settings: { permissions: { allow: ["Bash"] } }, script });

  const decisionFor = (toolUseId: string) => auditRecords(s).find((r) => r.kind === "decision" && (r.detail as { toolUseId?: unknown } | undefined)?.toolUseId === toolUseId);
  const auditText = () => readdirSync(s.auditDir).filter((f) => f.endsWith(".jsonl")).map((f) => readFileSync(join(s.auditDir, f), "utf8")).join("");

  /** The call did not run: the model got an error naming why, and Claude Code counts it as denied. */
  const blocked = (r: ClaudeRun, id: string, why: RegExp) => {
    const result = r.results.get(id);
    assert.ok(result, `no tool_result for ${id}`);
    assert.equal(result.isError, true, result.text);
    assert.match(result.text, why);
    assert.ok(r.denied.includes(id), `${id} is not in permission_denials: ${r.denied.join(", ")}`);
  };

  before(async () => {
    const port = await closedPort();
    // serve's settings: touch allowed (and the file it writes), rm denied; API keys only (no identity provider).
    s = scratch({ permissions: { allow: ["Bash(touch:*)", "Edit(./**)"], deny: ["Bash(rm:*)"] }, remote: { listen: `127.0.0.1:${port}` } });
    // The project root (Claude Code sends http hooks no project directory): found by its `.mcp-warden/`.
    mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
    writeFileSync(victim(), "must survive\n");

    const made = wardenCli(s, ["keys", "create", "claude-code-hook", "--settings", s.settingsFile]);
    assert.equal(made.code, 0, made.stderr);
    const m = /^(mcpw_\S+)$/m.exec(made.stdout);
    assert.ok(m, `no key in the output of keys create: ${made.stdout}`);
    key = m[1]!;

    srv = await startServe(s);
    base = new URL(srv.url).origin;
    const init = wardenCli(s, ["init", "--claude-code", "--http", base]);
    assert.equal(init.code, 0, init.stderr);
    const claudeSettings = JSON.parse(readFileSync(join(s.project, ".claude", "settings.json"), "utf8")) as { hooks: { PreToolUse: { matcher: string; hooks: HookEntry[] }[] } };
    const groups = claudeSettings.hooks.PreToolUse;
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.matcher, "*");
    installed = groups[0]!.hooks[0]!;
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    s?.cleanup();
  });

  it("init --http with serve's base URL writes serve's hook path, the token's variable name (not the token) and onFailure block", () => {
    assert.equal(installed.url, `${base}${CLAUDE_CODE_HOOK_PATH}`);
    assert.equal(installed.onFailure, "block");
    assert.deepEqual(installed.headers, { Authorization: `Bearer $${HOOK_TOKEN_ENV}` });
    assert.ok(!readFileSync(join(s.project, ".claude", "settings.json"), "utf8").includes(key));
  });

  it("obeys serve: a denied Bash command does not run, an allowed one does, both audited by serve with the key's principal and without the key", async () => {
    const [del, make] = [rm(), touch("allowed")];
    const r = await run([del, make]);
    assert.ok(existsSync(victim()), "the denied rm ran");
    blocked(r, del.id, /^PreToolUse:Bash hook error: mcp-warden: .*rm/);
    assert.ok(existsSync(created("allowed")), `the allowed touch did not run: ${r.results.get(make.id)?.text}`);
    assert.equal(r.results.get(make.id)?.isError, false);
    const principal = { subject: "apikey:claude-code-hook", clientId: "claude-code-hook", method: "api-key" };
    for (const [step, decision] of [[del, "deny"], [make, "allow"]] as const) {
      const record = decisionFor(step.id);
      assert.equal(record?.decision, decision, `serve's audit log has no ${decision} for ${step.id}`);
      assert.deepEqual(record?.principal, principal);
      assert.equal((record?.detail as Record<string, unknown>).via, "http-hook");
    }
    assert.ok(!auditText().includes(key), "the API key is in the audit log");
  });

  // Unset, $MCP_WARDEN_HOOK_TOKEN expands to nothing: Claude Code sends `Authorization: Bearer `, a
  // header with an empty token, which serve answers with 401 like no header at all.
  it("a wrong token or none (401): the call is blocked, and each failed authentication is audited without the token", async () => {
    const failures = () => auditRecords(s).filter((x) => x.event === "auth-failed" && (x.detail as { path?: string }).path === CLAUDE_CODE_HOOK_PATH).length;
    const wrong = generateApiKey();
    for (const [name, token, status] of [["wrong-token", wrong, 401], ["no-token", null, 401]] as const) {
      const before = failures();
      const step = touch(name);
      const r = await run([step], token);
      assert.equal(existsSync(created(name)), false, `the call ran (${name})`);
      blocked(r, step.id, new RegExp(`failed; blocking because onFailure is "block"\\s+HTTP ${status}`));
      assert.equal(decisionFor(step.id), undefined, "serve judged a call from a caller it did not authenticate");
      assert.ok(failures() > before, `no auth-failed record for the hook path (${name})`);
    }
    assert.ok(!auditText().includes(wrong), "the wrong token is in the audit log");
  });

  it("serve stopped mid-answer (SIGSTOP): the call is blocked when the installed 10 s timeout runs out", async () => {
    assert.equal(installed.timeout, 10);
    const step = touch("while-hung");
    srv.child.kill("SIGSTOP");
    let r: ClaudeRun;
    try {
      r = await run([step]);
    } finally {
      srv.child.kill("SIGCONT");
    }
    assert.equal(existsSync(created("while-hung")), false, "the call ran while serve did not answer");
    blocked(r, step.id, /timed out; blocking because onFailure is "block"/);
  });

  it("serve down (stopped, connection refused): the installed hook blocks the call", async () => {
    assert.equal(await srv.stop(), 0);
    const step = touch("while-down");
    const r = await run([step]);
    assert.equal(existsSync(created("while-down")), false, "the call ran while serve was down");
    blocked(r, step.id, /failed; blocking because onFailure is "block"\s+connect ECONNREFUSED/);
  });

  it("control, serve down: the installed entry without onFailure lets the call go ahead (Claude Code 2.1.332's default)", async () => {
    // Another directory, so that the project's installed entry (with onFailure) is not read as well.
    const elsewhere = join(s.home, "elsewhere");
    mkdirSync(elsewhere, { recursive: true });
    const { onFailure: _dropped, ...entry } = installed;
    const step: Step = { id: `toolu_touch_open_${++n}`, name: "Bash", input: { command: "touch fail-open.txt", description: "create a file" } };
    const r = await runClaude({
      dir: s.dir,
      env: { ...s.env, [HOOK_TOKEN_ENV]: key },
      cwd: elsewhere,
      settings: { permissions: { allow: ["Bash"] }, hooks: { PreToolUse: [{ matcher: "*", hooks: [entry] }] } },
      script: [step],
    });
    assert.ok(existsSync(join(elsewhere, "fail-open.txt")), "expected Claude Code 2.1.332 to run the call when the hook is unreachable and onFailure is unset");
    assert.equal(r.results.get(step.id)?.isError, false);
  });
});
