// The hook's Bash sandbox with real processes: `mcp-warden hook` answers with updatedInput, and that
// command, run by a real shell as Claude Code runs it, executes exactly the original string inside
// the real bubblewrap sandbox (hostile quoting included); the settings that change the answer
// (autoAllowBashIfSandboxed, excludedCommands, failIfUnavailable) each change it, and only as said.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { auditRecords, CLI, scratch, type Scratch } from "./harness.js";

const available = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };

interface Answer {
  permissionDecision: string;
  permissionDecisionReason: string;
  updatedInput?: { command: string; description?: string };
}

describe("mcp-warden hook: Bash commands wrapped in the sandbox", { skip: available.ok ? false : `bubblewrap unavailable: ${available.why}` }, () => {
  let s: Scratch;
  before(() => {
    s = scratch({});
    mkdirSync(join(s.home, ".ssh"), { recursive: true });
    writeFileSync(join(s.home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
  });
  after(() => s?.cleanup());

  const hook = (settings: object, command: string): Answer => {
    const file = join(s.dir, `hook-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ audit: { dir: s.auditDir }, ...settings }));
    const input = JSON.stringify({ hook_event_name: "PreToolUse", tool_name: "Bash", tool_input: { command, description: "d" }, cwd: s.project, session_id: "t", tool_use_id: `toolu_${Math.random().toString(36).slice(2)}` });
    const r = spawnSync(process.execPath, [CLI, "hook", "--settings", file], { input, env: s.env, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { hookSpecificOutput: Answer }).hookSpecificOutput;
  };
  /** Runs a command line the way Claude Code's Bash tool does: a shell evaluates the string. */
  const shell = (command: string) => spawnSync("/bin/bash", ["-c", command], { cwd: s.project, env: s.env, encoding: "utf8", timeout: 60_000 });

  const HOSTILE = [
    `printf '%s|' 'a'"'"'b' "c'd" 'e\\'`,
    `printf '%s|' "$(echo sub)" \`echo tick\` '$(not run)' "\\$HOME-literal"`,
    `printf '%s|' 'line1\nline2' $'tab\\there' "semi;colon" 'amp&&amp' '|pipe' '#hash'`,
    `printf '%s|' '!bang' '*' "' ; echo injected ; '" "\\"dq\\"" 'üñí©ødé'`,
    `echo 'it'\\''s' && cat <<'EOF'\nhere $doc 'q' "dq"\nEOF`,
    `x='a b'; for w in $x; do printf '<%s>' "$w"; done; echo`,
  ];

  for (const original of HOSTILE)
    it(`the wrapped command runs exactly the original under bash: ${JSON.stringify(original).slice(0, 60)}`, () => {
      const answer = hook({ permissions: { allow: ["Bash"] }, sandbox: { enabled: true } }, original);
      // (The rules may still ask about a part they cannot resolve; an asked call carries the wrapped form too.)
      assert.notEqual(answer.permissionDecision, "deny", answer.permissionDecisionReason);
      const wrapped = answer.updatedInput?.command ?? "";
      assert.match(wrapped, /'exec' '--bash-sandbox'/);
      assert.equal(answer.updatedInput?.description, "d", "the rest of the tool input is kept");
      const direct = shell(original);
      const boxed = shell(wrapped);
      assert.equal(boxed.stderr, direct.stderr);
      assert.equal(boxed.stdout, direct.stdout);
      assert.equal(boxed.status, direct.status);
      assert.doesNotMatch(boxed.stdout, /^injected$/m);
    });

  it("inside, the home directory's secrets are unreadable and only the project is writable", () => {
    const answer = hook({ permissions: { allow: ["Bash"] }, sandbox: { enabled: true } }, "cat ~/.ssh/id_rsa; touch ok-in-project && echo wrote; touch /usr/x 2>/dev/null || echo ro-usr");
    const r = shell(answer.updatedInput?.command ?? "");
    assert.doesNotMatch(r.stdout, /PRIVATE KEY/);
    assert.match(r.stdout, /wrote/);
    assert.match(r.stdout, /ro-usr/);
    // Control: unsandboxed, the same command reads the key.
    assert.match(shell("cat ~/.ssh/id_rsa").stdout, /PRIVATE KEY/);
  });

  it("the rules judge the original command: a deny stays a deny, with no updatedInput", () => {
    const answer = hook({ permissions: { allow: ["Bash"], deny: ["Bash(curl:*)"] }, sandbox: { enabled: true, autoAllowBashIfSandboxed: true } }, "curl https://x.example");
    assert.equal(answer.permissionDecision, "deny");
    assert.equal(answer.updatedInput, undefined);
  });

  it("autoAllowBashIfSandboxed turns a rule-less ask into allow; an ask rule still asks", () => {
    const off = hook({ sandbox: { enabled: true } }, "ls -la");
    assert.equal(off.permissionDecision, "ask");
    assert.ok(off.updatedInput, "an asked call is answered with the sandboxed form too");
    const on = hook({ sandbox: { enabled: true, autoAllowBashIfSandboxed: true } }, "ls -la");
    assert.equal(on.permissionDecision, "allow", on.permissionDecisionReason);
    assert.match(on.permissionDecisionReason, /autoAllowBashIfSandboxed/);
    const ruled = hook({ permissions: { ask: ["Bash(ls:*)"] }, sandbox: { enabled: true, autoAllowBashIfSandboxed: true } }, "ls -la");
    assert.equal(ruled.permissionDecision, "ask");
  });

  it("excludedCommands run unsandboxed under the normal rules, but not when anything else rides along", () => {
    const settings = { permissions: { allow: ["Bash"] }, sandbox: { enabled: true, autoAllowBashIfSandboxed: true, excludedCommands: ["git status"] } };
    const alone = hook(settings, "git status --short");
    assert.equal(alone.permissionDecision, "allow");
    assert.equal(alone.updatedInput, undefined);
    assert.match(alone.permissionDecisionReason, /runs unsandboxed: it is in sandbox.excludedCommands/);
    const riding = hook(settings, "git status && cat ~/.ssh/id_rsa");
    assert.ok(riding.updatedInput, "a command with a non-excluded part runs sandboxed");
    const askedAnyway = hook({ sandbox: { enabled: true, autoAllowBashIfSandboxed: true, excludedCommands: ["ls"] } }, "ls");
    assert.equal(askedAnyway.permissionDecision, "ask", "no auto-allow for a command that runs unsandboxed");
  });

  it("no sandbox possible: deny by default; with failIfUnavailable false the plain judgement, saying so", () => {
    // A network policy needs the egress proxy, which only the bubblewrap backend runs.
    const settings = (fail?: boolean) => ({
      permissions: { allow: ["Bash"] },
      sandbox: { type: "docker", image: "x", ...(fail === undefined ? {} : { failIfUnavailable: fail }) },
      toolPermissions: { Bash: { networkPolicy: { allowDomains: ["example.com"] } } },
    });
    const refused = hook(settings(), "ls");
    assert.equal(refused.permissionDecision, "deny");
    assert.match(refused.permissionDecisionReason, /must run sandboxed.*failIfUnavailable/);
    const plain = hook(settings(false), "ls");
    assert.equal(plain.permissionDecision, "allow");
    assert.equal(plain.updatedInput, undefined);
    assert.match(plain.permissionDecisionReason, /not sandboxed: .*failIfUnavailable is false/);
  });

  it("without sandbox.enabled or a networkPolicy nothing is wrapped", () => {
    const answer = hook({ permissions: { allow: ["Bash"] } }, "ls");
    assert.equal(answer.permissionDecision, "allow");
    assert.equal(answer.updatedInput, undefined);
  });

  it("the audit record holds the original command and the sandboxed form", () => {
    const answer = hook({ permissions: { allow: ["Bash"] }, sandbox: { enabled: true } }, "echo audit-me");
    const record = auditRecords(s).reverse().find((r) => r.kind === "decision" && (r.arguments as { command?: string }).command === "echo audit-me");
    assert.ok(record);
    assert.equal((record.detail as { sandboxedCommand?: string }).sandboxedCommand, answer.updatedInput?.command);
  });
});
