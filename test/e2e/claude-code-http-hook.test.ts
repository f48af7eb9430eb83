// Claude Code's http hook under the real Claude Code binary (issue 13, section 8): Claude Code POSTs
// each PreToolUse event to a node:http server on 127.0.0.1 that mounts the hook handler
// (src/fronts/http/claude-code-hook.ts) behind a bearer token check, as `mcp-warden serve` will. The
// hook entry is the one `init --claude-code --http` writes (httpHookEntry), so these runs show what
// the installed configuration does.
//
// Claude Code's own rules allow Bash in every run (`permissions.allow: ["Bash"]`, as for a user who
// leaves the judging to mcp-warden), so a command that does not run was stopped by the hook, and the
// controls show each command running when the hook lets it through or fails open.
//
// What Claude Code 2.1.332 does when the hook cannot answer (each case below has its control):
// refused connection, HTTP 5xx, a timeout, a 401 (token missing): without `onFailure` the call GOES
// AHEAD; with `"onFailure": "block"` (what init writes) it is blocked, and the model is told why.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { httpHookEntry, HOOK_TOKEN_ENV } from "../../src/cli/init-claude-code.js";
import { CLAUDE_CODE_HOOK_PATH, createClaudeCodeHookHandler, type ClaudeCodeHookHandler } from "../../src/fronts/http/claude-code-hook.js";
import { reloadingSettings } from "../../src/fronts/http/hook-settings.js";
import type { Principal } from "../../src/policy/principal.js";
import { claudeSkip as skip, runClaude, type ClaudeRun } from "./claude-code-run.js";
import { auditRecords, closedPort, scratch, type Scratch } from "./harness.js";

if (skip) console.log(`skipped: ${skip}`);

const TOKEN = "mcpw_e2e_http_hook_token_5b7d1e";
const hookCaller: Principal = Object.freeze({ subject: "claude-code-hook", clientId: "claude-code-hook", groups: [], scopes: [], method: "api-key" as const });

type Mode = "judge" | "error500" | "hang";

interface HookServer {
  url: string;
  /** How the server answers from now on. */
  mode: Mode;
  /** Requests received, with whether their token was right. */
  requests: { authorized: boolean }[];
  close(): Promise<void>;
}

/** serve's part, as small as it gets: POST the hook path with the bearer token, or 401. */
async function startHookServer(handle: ClaudeCodeHookHandler): Promise<HookServer> {
  const state: HookServer = { url: "", mode: "judge", requests: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const authorized = req.headers.authorization === `Bearer ${TOKEN}`;
      state.requests.push({ authorized });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (state.mode === "hang") return; // never answers: Claude Code's timeout decides
      if (state.mode === "error500") return send(500, { error: "internal error (the test's failure mode)" });
      if (req.method !== "POST" || req.url !== CLAUDE_CODE_HOOK_PATH) return send(404, { error: "not found" });
      if (!authorized) return send(401, { error: "a valid bearer token is required" });
      void handle(Buffer.concat(chunks), hookCaller).then((a) => send(a.status, a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CLAUDE_CODE_HOOK_PATH}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

describe("real Claude Code + mcp-warden http hook", { skip }, () => {
  let s: Scratch;
  let handle: ClaudeCodeHookHandler;
  let hook: HookServer;
  let n = 0;
  const victim = () => join(s.project, "victim.txt");
  const created = (name: string) => join(s.project, `${name}.txt`);
  const rm = () => ({ id: `toolu_rm_${++n}`, name: "Bash", input: { command: "rm victim.txt", description: "remove a file" } });
  const touch = (name: string) => ({ id: `toolu_touch_${++n}`, name: "Bash", input: { command: `touch ${name}.txt`, description: "create a file" } });

  /** Claude Code's settings: its own rules allow Bash; the hook is init's entry, adjusted by `tweak`. */
  const claudeSettings = (url: string, tweak: (entry: Record<string, unknown>) => void = () => {}) => {
    const entry = httpHookEntry(url);
    tweak(entry);
    return { permissions: { allow: ["Bash"] }, hooks: { PreToolUse: [{ matcher: "*", hooks: [entry] }] } };
  };
  const run = (settings: Record<string, unknown>, script: { id: string; name: string; input: Record<string, unknown> }[], env: NodeJS.ProcessEnv = { [HOOK_TOKEN_ENV]: TOKEN }) =>
    runClaude({ dir: s.dir, env: { ...s.env, ...env }, cwd: s.project, settings, script });

  const decisionFor = (toolUseId: string) => auditRecords(s).find((r) => r.kind === "decision" && (r.detail as { toolUseId?: unknown } | undefined)?.toolUseId === toolUseId);

  /** The call did not run: the model got an error naming why, and Claude Code counts it as denied. */
  const blocked = (r: ClaudeRun, id: string, why: RegExp) => {
    const result = r.results.get(id);
    assert.ok(result, `no tool_result for ${id}`);
    assert.equal(result.isError, true, result.text);
    assert.match(result.text, why);
    assert.ok(r.denied.includes(id), `${id} is not in permission_denials: ${r.denied.join(", ")}`);
  };

  before(async () => {
    s = scratch({});
    // The project: found by its `.mcp-warden/` (Claude Code sends http hooks no project directory).
    mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
    writeFileSync(victim(), "must survive\n");
    // The user's mcp-warden settings: touch allowed, rm denied.
    const userSettings = join(s.env.XDG_CONFIG_HOME as string, "mcp-warden", "settings.json");
    mkdirSync(join(s.env.XDG_CONFIG_HOME as string, "mcp-warden"), { recursive: true });
    writeFileSync(userSettings, JSON.stringify({ permissions: { allow: ["Bash(touch:*)", "Edit(./**)"], deny: ["Bash(rm:*)"] }, audit: { dir: s.auditDir, fsyncIntervalMs: 50 } }));
    handle = createClaudeCodeHookHandler({ settings: reloadingSettings({ env: s.env, project: "caller" }) });
    hook = await startHookServer(handle);
  });
  after(async () => {
    await hook?.close();
    handle?.close();
    s?.cleanup();
  });

  it("obeys the hook: a denied Bash command does not run, an allowed one does, each decision audited with the caller", async () => {
    hook.mode = "judge";
    const [del, make] = [rm(), touch("allowed")];
    const r = await run(claudeSettings(hook.url), [del, make]);
    assert.ok(existsSync(victim()), "the denied rm ran");
    blocked(r, del.id, /^PreToolUse:Bash hook error: mcp-warden: .*rm/);
    assert.equal(decisionFor(del.id)?.decision, "deny");
    assert.ok(existsSync(created("allowed")), "the allowed touch did not run");
    assert.equal(r.results.get(make.id)?.isError, false);
    const record = decisionFor(make.id);
    assert.equal(record?.decision, "allow");
    assert.deepEqual(record?.principal, { subject: "claude-code-hook", clientId: "claude-code-hook", method: "api-key" });
    assert.equal((record?.detail as Record<string, unknown>).via, "http-hook");
    assert.ok(hook.requests.every((q) => q.authorized), "Claude Code sent the token from $MCP_WARDEN_HOOK_TOKEN");
  });

  it("control: without the hook, Claude Code's own rules let the same rm run", async () => {
    const copy = join(s.project, "victim-control.txt");
    writeFileSync(copy, "goes\n");
    await run({ permissions: { allow: ["Bash"] } }, [{ id: `toolu_rm_control_${++n}`, name: "Bash", input: { command: "rm victim-control.txt", description: "remove" } }]);
    assert.equal(existsSync(copy), false);
  });

  it("daemon down (connection refused): the installed entry blocks the call", async () => {
    const url = `http://127.0.0.1:${await closedPort()}${CLAUDE_CODE_HOOK_PATH}`;
    const step = touch("while-down");
    const r = await run(claudeSettings(url), [step]);
    assert.equal(existsSync(created("while-down")), false, "the call ran while the daemon was down");
    blocked(r, step.id, /failed; blocking because onFailure is "block"\s+connect ECONNREFUSED/);
  });

  it("control, daemon down: the same entry without onFailure lets the call go ahead (Claude Code's default)", async () => {
    const url = `http://127.0.0.1:${await closedPort()}${CLAUDE_CODE_HOOK_PATH}`;
    const step = touch("down-fail-open");
    const r = await run(claudeSettings(url, (e) => delete e.onFailure), [step]);
    assert.ok(existsSync(created("down-fail-open")), "expected Claude Code 2.1.332 to run the call when the hook is unreachable");
    assert.equal(r.results.get(step.id)?.isError, false);
  });

  it("HTTP 500 from the daemon: the installed entry blocks the call; without onFailure it goes ahead", async () => {
    hook.mode = "error500";
    try {
      const step = touch("on-500");
      const r = await run(claudeSettings(hook.url), [step]);
      assert.equal(existsSync(created("on-500")), false, "the call ran on a 500");
      blocked(r, step.id, /failed; blocking because onFailure is "block"\s+HTTP 500/);

      const open = touch("on-500-fail-open");
      await run(claudeSettings(hook.url, (e) => delete e.onFailure), [open]);
      assert.ok(existsSync(created("on-500-fail-open")), "expected Claude Code 2.1.332 to run the call on a 500 without onFailure");
    } finally {
      hook.mode = "judge";
    }
  });

  it("a daemon that does not answer in time: the installed entry blocks the call at the timeout", async () => {
    hook.mode = "hang";
    try {
      const step = touch("on-timeout");
      // init writes 10 s; 2 s keeps the test short and is the same code path.
      const r = await run(claudeSettings(hook.url, (e) => (e.timeout = 2)), [step]);
      assert.equal(existsSync(created("on-timeout")), false, "the call ran after the hook timed out");
      blocked(r, step.id, /timed out; blocking because onFailure is "block"/);
    } finally {
      hook.mode = "judge";
    }
  });

  it("no token in Claude Code's environment: the daemon answers 401 and the call is blocked", async () => {
    const before = hook.requests.length;
    const step = touch("no-token");
    const r = await run(claudeSettings(hook.url), [step], {});
    assert.equal(existsSync(created("no-token")), false, "the call ran without a token");
    blocked(r, step.id, /HTTP 401/);
    assert.ok(hook.requests.slice(before).every((q) => !q.authorized));
  });
});
