// Benchmark of Claude Code's http hook through the real `mcp-warden serve`: the time from the start of
// a POST /v1/hooks/claude-code to the end of its response, on one keep-alive connection over
// 127.0.0.1, as Claude Code pays it before every tool call once the daemon runs. serve authenticates
// the API key, judges with the settings compiled once (checked by stat before each call), appends the
// decision to its audit log (default fsync interval) and answers.
//
//   node dist/bench/http-hook.js [calls per scenario]   (prints the numbers and the docs section)
import { Agent, request } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { AUDIT_DEFAULTS } from "../src/settings/index.js";
import { CLAUDE_CODE_HOOK_PATH } from "../src/fronts/http/claude-code-hook.js";
import { closedPort, scratch, wardenCli } from "../test/e2e/harness.js";
import { startServe } from "../test/e2e/serve-harness.js";
import { HOOK_RULES } from "./hook.js";

export interface HttpHookBenchResult {
  /** Timed calls per scenario (after the warm-up), interleaved. */
  calls: number;
  scenarios: { name: string; decision: string; p50Ms: number; p90Ms: number; p99Ms: number }[];
}

/** The http hook's p50 target (src/fronts/http/hook-settings.ts). */
export const HTTP_HOOK_TARGET_P50_MS = 5;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] as number;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

export async function runHttpHookBench(calls = 1000): Promise<HttpHookBenchResult> {
  const port = await closedPort();
  const s = scratch({
    permissions: HOOK_RULES,
    remote: { listen: `127.0.0.1:${port}` },
    // The default fsync interval, not the harness's shorter test value.
    audit: { fsyncIntervalMs: AUDIT_DEFAULTS.fsyncIntervalMs },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let srv: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
    mkdirSync(join(s.project, "src"), { recursive: true });
    writeFileSync(join(s.project, "src", "index.ts"), "export {};\n");
    const made = wardenCli(s, ["keys", "create", "claude-code-hook", "--settings", s.settingsFile]);
    const key = /^(mcpw_\S+)$/m.exec(made.stdout)?.[1];
    if (made.code !== 0 || key === undefined) throw new Error(`keys create failed: ${made.stderr}`);
    srv = await startServe(s);
    const url = new URL(CLAUDE_CODE_HOOK_PATH, srv.url);

    const post = (body: string, fresh = false) =>
      new Promise<{ ms: number; text: string }>((resolve, reject) => {
        const t = process.hrtime.bigint();
        const req = request(url, { method: "POST", agent: fresh ? false : agent, headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "content-length": Buffer.byteLength(body) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const ms = Number(process.hrtime.bigint() - t) / 1e6;
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
            else resolve({ ms, text: Buffer.concat(chunks).toString() });
          });
        });
        req.on("error", reject);
        req.end(body);
      });
    const event = (tool: string, input: Record<string, unknown>) =>
      JSON.stringify({ session_id: "bench", cwd: s.project, hook_event_name: "PreToolUse", permission_mode: "default", tool_name: tool, tool_input: input, tool_use_id: "toolu_bench" });
    const scenarios = [
      { name: "Bash, compound command (git status && git log …, piped to head)", body: event("Bash", { command: "git status --short && git log --oneline -20 | head -5" }) },
      { name: "Read inside the project", body: event("Read", { file_path: join(s.project, "src", "index.ts") }) },
      { name: "MCP tool (mcp__github__get_issue)", body: event("mcp__github__get_issue", { number: 1 }) },
      // In case Claude Code opens a connection per event: the same Bash call without keep-alive.
      { name: "Bash, compound command, a new connection per call", body: event("Bash", { command: "git status --short && git log --oneline -20 | head -5" }), fresh: true },
    ];
    const warmup = Math.max(20, Math.round(calls / 5));
    for (let i = 0; i < warmup; i++) for (const sc of scenarios) await post(sc.body, sc.fresh);
    const times = scenarios.map(() => [] as number[]);
    const decisions = scenarios.map(() => "");
    for (let i = 0; i < calls; i++) {
      for (const [k, sc] of scenarios.entries()) {
        const r = await post(sc.body, sc.fresh);
        times[k]!.push(r.ms);
        decisions[k] = (JSON.parse(r.text) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision;
      }
    }
    return {
      calls,
      scenarios: scenarios.map((sc, k) => ({ name: sc.name, decision: decisions[k]!, p50Ms: r2(pct(times[k]!, 0.5)), p90Ms: r2(pct(times[k]!, 0.9)), p99Ms: r2(pct(times[k]!, 0.99)) })),
    };
  } finally {
    agent.destroy();
    await srv?.stop().catch(() => undefined);
    s.cleanup();
  }
}

/** The docs section (a part of docs/PERFORMANCE.md's hook section). */
export function httpHookSection(h: HttpHookBenchResult): string[] {
  const worst = Math.max(...h.scenarios.map((x) => x.p50Ms));
  // The target is for the worst call, a new connection included.
  const f2 = (x: number) => x.toFixed(2);
  return [
    "### The http hook through `mcp-warden serve`",
    "",
    `With the http hook (\`init --claude-code --http\`), Claude Code POSTs each event to \`mcp-warden serve\` instead of starting a process. Time from the start of the POST to the end of the response, over 127.0.0.1 on one keep-alive connection (the last row: a new connection per call), ${h.calls} calls per scenario interleaved after a warm-up. serve checks the API key, stats the settings files, judges with the settings compiled once, appends the decision to its audit log (fsynced every ${AUDIT_DEFAULTS.fsyncIntervalMs} ms) and answers. The calls and rules are the ones above; serve is given the rules with \`--settings\`, so they apply (the command hook above reads them from a project file that is not trusted, where only what tightens the policy counts: hence its \`ask\`s).`,
    "",
    "| call | decision | p50 | p90 | p99 |",
    "|---|---|---:|---:|---:|",
    ...h.scenarios.map((x) => `| ${x.name} | ${x.decision} | ${f2(x.p50Ms)} ms | ${f2(x.p90Ms)} ms | ${f2(x.p99Ms)} ms |`),
    "",
    `Target (p50 ≤ ${HTTP_HOOK_TARGET_P50_MS} ms from POST to answer): **${worst <= HTTP_HOOK_TARGET_P50_MS ? "met" : "missed"}** (${f2(worst)} ms at worst). What Claude Code's own HTTP client adds is not in these numbers.`,
    "",
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.argv[2] ?? 1000);
  const result = await runHttpHookBench(n);
  console.log(JSON.stringify(result, null, 2));
  console.log(httpHookSection(result).join("\n"));
}
