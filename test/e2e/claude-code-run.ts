// Runs the real Claude Code binary (`claude -p`) offline: against a fake Messages API on 127.0.0.1
// (test/fixtures/fake-messages-api.ts) that plays the model from a script of `tool_use` blocks, with
// the Claude Code settings a test gives (its hooks), in a scratch HOME and TMPDIR. Shared by the
// command hook's and the http hook's tests.
//
// The binary is installed by `node dist/scripts/test-tools.js install` (.ci/run runs it). Without it
// the tests skip with the reason, except in CI (CI=true), where they fail.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findClaudeCode } from "../../scripts/test-tools.js";
import { startFakeMessagesApi, type ScriptedToolUse, type ToolResult } from "../fixtures/fake-messages-api.js";

export const claude = findClaudeCode();
/** In CI the tool is installed by .ci/run: missing there is a failure (in the run), not a skip. */
export const claudeSkip: string | false = claude.ok || process.env.CI ? false : `the real Claude Code is not installed: ${claude.why}`;

/** Bounds one `claude -p` run; a scripted session takes a few seconds. */
const CLAUDE_TIMEOUT_MS = 90_000;

export interface ClaudeRun {
  code: number | null;
  stderr: string;
  /** The tool_results Claude Code sent back to the fake model, by tool_use id. */
  results: Map<string, ToolResult>;
  /** Everything Claude Code sent to the fake model, request bodies joined. */
  sent: string;
  /** tool_use ids in the final result's `permission_denials`. */
  denied: string[];
}

export interface ClaudeRunOptions {
  /** A scratch directory: the settings file and Claude Code's TMPDIR go here. */
  dir: string;
  /** The environment (a scratch HOME); the fake API's address and an offline setup are added. */
  env: NodeJS.ProcessEnv;
  /** Claude Code's working directory. */
  cwd: string;
  /** Claude Code's settings for this run (`--settings`), e.g. its hooks. */
  settings: Record<string, unknown>;
  script: ScriptedToolUse[];
}

/** Runs `claude -p` to its end against a fake model playing `script`, with no route off the machine. */
export async function runClaude(opts: ClaudeRunOptions): Promise<ClaudeRun> {
  if (!claude.ok) throw new Error(claude.why);
  const settings = join(opts.dir, `claude-settings-${process.hrtime.bigint()}.json`);
  writeFileSync(settings, JSON.stringify(opts.settings));
  const api = await startFakeMessagesApi(opts.script);
  try {
    // Claude Code keeps per-session files under $TMPDIR/claude-<uid>: inside the scratch dir, removed with it.
    const tmp = join(opts.dir, "tmp");
    mkdirSync(tmp, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...opts.env,
      TMPDIR: tmp,
      ANTHROPIC_BASE_URL: api.url,
      ANTHROPIC_API_KEY: "sk-ant-offline-test-dummy",
      ENABLE_TOOL_SEARCH: "false",
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_ERROR_REPORTING: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    };
    const args = ["-p", "Run the scripted steps.", "--output-format", "stream-json", "--verbose", "--settings", settings, "--strict-mcp-config", "--no-session-persistence", "--permission-mode", "default"];
    // Its own process group, so that a timeout ends Claude Code with its hooks and shells.
    const child = spawn(claude.binary, args, { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[test] claude -p still running after ${CLAUDE_TIMEOUT_MS} ms: killed`;
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    }, CLAUDE_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    clearTimeout(timer);
    const events = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type?: string; permission_denials?: { tool_use_id: string }[] });
    const result = events.find((e) => e.type === "result");
    assert.ok(result, `claude -p ended (status ${code}) without a result:\n${stderr}\n${stdout.slice(-2000)}`);
    return { code, stderr, results: api.toolResults(), sent: api.bodies.join("\n"), denied: (result.permission_denials ?? []).map((d) => d.tool_use_id) };
  } finally {
    await api.close();
  }
}
