// Benchmark of the sandbox's start-up cost: a fixture server's first tool result through the gateway
// with and without a bubblewrap sandbox, and a command run sandboxed against the bare command, each
// pair measured in interleaved rounds of one run.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { backendAvailability, prepareSandboxedLaunch } from "../src/sandbox/launch.js";
import { chooseSandbox, mandatoryDenies } from "../src/sandbox/policy.js";
import { CLI, FIXTURE, ROOT, scratch } from "../test/e2e/harness.js";
import { median, startupMs } from "./stdio.js";

export interface SandboxBenchResult {
  available: boolean;
  why?: string;
  runs: number;
  /** Median ms to the first tool result through the gateway. */
  gateway?: { unsandboxed: number; sandboxed: number };
  /**
   * Median ms from spawn to exit: `true`; `true` in the sandbox (bare bwrap: the launch prepared in
   * this process); `node -e 0` (Node.js's own start); `mcp-warden exec -- true` (its lean entry point);
   * and the hook's sandboxed Bash form, `mcp-warden exec --bash-sandbox ... -- /bin/bash -c true`.
   */
  command?: { bare: number; sandboxed: number; node: number; exec: number; execBash: number };
}

const r1 = (x: number) => Math.round(x * 10) / 10;

function timeSpawn(command: string, args: string[], stdio: ("pipe" | "ignore" | number)[] = ["ignore", "ignore", "ignore"], env?: NodeJS.ProcessEnv, cwd?: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio, env, cwd });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr?.toString() ?? ""}`);
  return ms;
}

export async function runSandboxBench(runs = 11): Promise<SandboxBenchResult> {
  const available = backendAvailability("bubblewrap");
  if (!available.ok) return { available: false, why: available.why, runs };
  const fixtureServer = (sandbox?: object) => ({
    permissions: { allow: ["mcp__fixture__echo"] },
    mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], ...(sandbox ? { sandbox } : {}) } },
  });
  // The fixture's compiled code and its node_modules must be readable inside.
  const plain = scratch(fixtureServer());
  const boxed = scratch(fixtureServer({ type: "bubblewrap", filesystem: { allowRead: [dirname(FIXTURE), join(ROOT, "dist"), join(ROOT, "node_modules")] } }));
  try {
    const times = { unsandboxed: [] as number[], sandboxed: [] as number[] };
    await startupMs("gateway", plain);
    await startupMs("gateway", boxed);
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? ([["unsandboxed", plain], ["sandboxed", boxed]] as const) : ([["sandboxed", boxed], ["unsandboxed", plain]] as const);
      for (const [k, s] of order) times[k].push(await startupMs("gateway", s));
    }

    // `true` bare, in the sandbox (the launch prepared here, as the gateway does), and via `mcp-warden exec`.
    const home = plain.home;
    const policy = chooseSandbox({ type: "bubblewrap" }, undefined, { home, platform: process.platform, baseDir: plain.project, serverCwd: plain.project, requireSandbox: true }).policy!;
    const cmd = { bare: [] as number[], sandboxed: [] as number[], node: [] as number[], exec: [] as number[], execBash: [] as number[] };
    const trueBin = "/bin/true";
    const execArgs = [CLI, "exec", "--settings", plain.settingsFile, "--", trueBin];
    const execBashArgs = [CLI, "exec", "--bash-sandbox", "--project-root", plain.project, "--settings", plain.settingsFile, "--", "/bin/bash", "-c", "true"];
    // The first runs validate the settings text and write the code cache; later ones are the steady state.
    for (const args of [execArgs, execBashArgs, execArgs]) timeSpawn(process.execPath, args, ["ignore", "ignore", "ignore"], plain.env, plain.project);
    for (let i = 0; i < runs * 2; i++) {
      cmd.bare.push(timeSpawn(trueBin, []));
      const prepared = prepareSandboxedLaunch({ command: trueBin, args: [], env: { PATH: "/usr/bin:/bin" }, cwd: plain.project }, policy, { home, mandatoryDeny: mandatoryDenies(home, []) });
      try {
        cmd.sandboxed.push(timeSpawn(prepared.launch.command, prepared.launch.args, ["ignore", "ignore", "ignore", ...prepared.extraStdio], prepared.launch.env, prepared.launch.cwd));
      } finally {
        prepared.launch.cleanup();
      }
      cmd.node.push(timeSpawn(process.execPath, ["-e", "0"]));
      cmd.exec.push(timeSpawn(process.execPath, execArgs, ["ignore", "ignore", "ignore"], plain.env, plain.project));
      cmd.execBash.push(timeSpawn(process.execPath, execBashArgs, ["ignore", "ignore", "ignore"], plain.env, plain.project));
    }
    return {
      available: true,
      runs,
      gateway: { unsandboxed: r1(median(times.unsandboxed)), sandboxed: r1(median(times.sandboxed)) },
      command: { bare: r1(median(cmd.bare)), sandboxed: r1(median(cmd.sandboxed)), node: r1(median(cmd.node)), exec: r1(median(cmd.exec)), execBash: r1(median(cmd.execBash)) },
    };
  } finally {
    plain.cleanup();
    boxed.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(JSON.stringify(await runSandboxBench(), null, 2));
