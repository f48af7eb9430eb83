// Benchmark of `mcp-warden hook`: the wall time from spawning the process to its answer on stdout,
// as Claude Code pays it before every tool call, next to the floor of this machine (`node -e 0`,
// measured in the same interleaved rounds), plus the in-process decision time of the built-in judges.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fsEnvironment } from "../src/adapters/fs-environment.js";
import { compilePolicy } from "../src/policy/index.js";
import type { PolicyInput, Source } from "../src/policy/index.js";

const CLI = new URL("../src/cli.cjs", import.meta.url).pathname;

export interface HookBenchResult {
  runs: number;
  /** Median ms per scenario, and of `node -e 0`. */
  floorMs: number;
  scenarios: { name: string; medianMs: number; p90Ms: number; decision: string }[];
  /** In-process decision time (µs, median and p99) for a compound Bash command and a Read. */
  bashDecideUs: { p50: number; p99: number };
  readDecideUs: { p50: number; p99: number };
}

export const HOOK_RULES = {
  allow: ["Bash(git status:*)", "Bash(git log:*)", "Bash(npm run test:*)", "Bash(grep:*)", "Bash(head:*)", "Read(./src/**)", "WebFetch(domain:docs.example.com)", "mcp__github__get_issue"],
  deny: ["Bash(curl:*)", "Bash(rm -rf /)", "Read(.env)", "Read(~/.ssh/**)", "mcp__*__delete*"],
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] as number;
}
const r1 = (x: number) => Math.round(x * 10) / 10;

function timeSpawn(args: string[], input: string, cwd: string, env: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { input, cwd, env, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

export function runHookBench(runs = 31): HookBenchResult {
  const dir = mkdtempSync(join(tmpdir(), "warden-hookbench-"));
  try {
    const home = join(dir, "home");
    const project = join(home, "project");
    mkdirSync(join(project, ".mcp-warden"), { recursive: true });
    mkdirSync(join(project, "src"), { recursive: true });
    writeFileSync(join(project, "src", "index.ts"), "export {};\n");
    writeFileSync(join(project, ".mcp-warden", "settings.json"), JSON.stringify({ permissions: HOOK_RULES }));
    const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_STATE_HOME: join(home, ".local/state"), MCP_WARDEN_MANAGED_DIR: join(dir, "managed") };
    const hookInput = (tool: string, input: Record<string, unknown>) =>
      JSON.stringify({ session_id: "bench", cwd: project, hook_event_name: "PreToolUse", permission_mode: "default", tool_name: tool, tool_input: input });
    const scenarios = [
      { name: "Bash, compound command (git status && git log …, piped to head)", input: hookInput("Bash", { command: "git status --short && git log --oneline -20 | head -5" }) },
      { name: "Read inside the project", input: hookInput("Read", { file_path: join(project, "src", "index.ts") }) },
      { name: "MCP tool (mcp__github__get_issue)", input: hookInput("mcp__github__get_issue", { number: 1 }) },
    ];
    // The first call validates the settings text with the full loader and remembers it; warm-up covers it.
    for (const s of scenarios) timeSpawn([CLI, "hook"], s.input, project, env);
    const floor: number[] = [];
    const times = scenarios.map(() => [] as number[]);
    const decisions = scenarios.map(() => "");
    for (let i = 0; i < runs; i++) {
      floor.push(timeSpawn(["-e", "0"], "", project, env).ms);
      scenarios.forEach((s, k) => {
        const r = timeSpawn([CLI, "hook"], s.input, project, env);
        times[k]!.push(r.ms);
        decisions[k] = (JSON.parse(r.stdout) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision;
      });
    }

    // In process: the judges alone.
    const src = (path: string): Source => ({ layer: "project", file: join(project, ".mcp-warden/settings.json"), path });
    const input: PolicyInput = {
      allow: HOOK_RULES.allow.map((value, i) => ({ value, source: src(`permissions.allow[${i}]`) })),
      ask: [],
      deny: HOOK_RULES.deny.map((value, i) => ({ value, source: src(`permissions.deny[${i}]`) })),
      autoApprove: [],
      defaultMode: "default",
      bypassDisabled: false,
      servers: [],
      deniedMcpServers: [],
      exclusiveManagedServers: false,
    };
    const policy = compilePolicy(input, fsEnvironment({ env }));
    const micro = (req: { tool: string; input: Record<string, unknown> }) => {
      for (let i = 0; i < 2000; i++) policy.decideTool({ ...req, cwd: project, projectRoot: project });
      const xs: number[] = [];
      for (let i = 0; i < 20000; i++) {
        const t = process.hrtime.bigint();
        policy.decideTool({ ...req, cwd: project, projectRoot: project });
        xs.push(Number(process.hrtime.bigint() - t) / 1e3);
      }
      return { p50: r1(median(xs)), p99: r1(pct(xs, 0.99)) };
    };
    return {
      runs,
      floorMs: r1(median(floor)),
      scenarios: scenarios.map((s, k) => ({ name: s.name, medianMs: r1(median(times[k]!)), p90Ms: r1(pct(times[k]!, 0.9)), decision: decisions[k]! })),
      bashDecideUs: micro({ tool: "Bash", input: { command: "git status --short && git log --oneline -20 | head -5" } }),
      readDecideUs: micro({ tool: "Read", input: { file_path: join(project, "src", "index.ts") } }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(JSON.stringify(runHookBench(), null, 2));
