// Tools that only the benchmark of `mcp-warden serve` uses (bench/serve.ts), pinned and kept out of
// package.json like the test tools (scripts/test-tools.ts): supergateway and mcp-proxy, two other
// fronts that put a stdio MCP server behind Streamable HTTP, and autocannon, the HTTP load generator
// every HTTP target is driven with. They go into <repo>/.cache/test-tools/bench (gitignored). `.ci/run`
// does not install them: the benchmark is not part of `npm test`.
//
//   node dist/scripts/bench-tools.js install   installs what is missing (idempotent)
//   node dist/scripts/bench-tools.js where     prints where each tool is, or why it is not usable
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { npmInstall, TEST_TOOLS_DIR, type Found } from "./test-tools.js";

/** Pinned: a new version of a competitor changes what is compared; moving one is a deliberate change. */
export const BENCH_TOOLS = {
  supergateway: { pkg: "supergateway", version: "4.0.0", bin: "supergateway" },
  mcpProxy: { pkg: "mcp-proxy", version: "6.7.19", bin: "mcp-proxy" },
  autocannon: { pkg: "autocannon", version: "9.0.0", bin: undefined },
} as const;
export type BenchTool = keyof typeof BENCH_TOOLS;

export const BENCH_TOOLS_DIR = join(TEST_TOOLS_DIR, "bench");
export const BENCH_INSTALL_HINT = "install them with `npm run build && node dist/scripts/bench-tools.js install` (pinned, into .cache/test-tools/bench)";

/**
 * The pinned tool in the cache. `binary` is the script to run with node (a CLI's bin entry), or for
 * a library (autocannon) its package directory, to load with createRequire.
 */
export function findBenchTool(tool: BenchTool, dir: string = BENCH_TOOLS_DIR): Found {
  const { pkg, version, bin } = BENCH_TOOLS[tool];
  const pkgDir = join(dir, "node_modules", pkg);
  let manifest: { version?: unknown; bin?: unknown; main?: unknown };
  try {
    manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as typeof manifest;
  } catch {
    return { ok: false, why: `no ${pkg} in ${dir}: ${BENCH_INSTALL_HINT}` };
  }
  if (manifest.version !== version) return { ok: false, why: `${pkg} ${String(manifest.version)} in ${pkgDir}, the benchmark pins ${version}: ${BENCH_INSTALL_HINT}` };
  if (bin === undefined) return { ok: true, binary: pkgDir, version };
  const entry = typeof manifest.bin === "string" ? manifest.bin : typeof manifest.bin === "object" && manifest.bin !== null ? (manifest.bin as Record<string, unknown>)[bin] : undefined;
  if (typeof entry !== "string" || !existsSync(join(pkgDir, entry))) return { ok: false, why: `${pkgDir}/package.json names no ${bin} command that exists: ${BENCH_INSTALL_HINT}` };
  return { ok: true, binary: join(pkgDir, entry), version };
}

/** Installs the pinned bench tools unless all are there (one npm install: a second would prune the first). */
export function installBenchTools(dir: string = BENCH_TOOLS_DIR): Record<BenchTool, Found> {
  const tools = Object.keys(BENCH_TOOLS) as BenchTool[];
  if (!tools.every((t) => findBenchTool(t, dir).ok)) npmInstall(dir, ...tools.map((t) => `${BENCH_TOOLS[t].pkg}@${BENCH_TOOLS[t].version}`));
  const found = Object.fromEntries(tools.map((t) => [t, findBenchTool(t, dir)])) as Record<BenchTool, Found>;
  for (const t of tools) {
    const f = found[t];
    if (!f.ok) throw new Error(`installed ${BENCH_TOOLS[t].pkg}@${BENCH_TOOLS[t].version}, but: ${f.why}`);
  }
  return found;
}

function main(args: string[]): number {
  const command = args[0] ?? "where";
  if (command === "install") {
    try {
      for (const [t, f] of Object.entries(installBenchTools())) if (f.ok) process.stdout.write(`bench tools: ${BENCH_TOOLS[t as BenchTool].pkg} ${f.version} at ${f.binary}\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`bench tools: ${(error as Error).message}\nCheck that the npm registry is reachable, then run this again.\n`);
      return 1;
    }
  }
  if (command === "where") {
    const found = (Object.keys(BENCH_TOOLS) as BenchTool[]).map((t) => [t, findBenchTool(t)] as const);
    for (const [t, f] of found) process.stdout.write(f.ok ? `${BENCH_TOOLS[t].pkg} ${f.version}: ${f.binary}\n` : `${BENCH_TOOLS[t].pkg}: ${f.why}\n`);
    return found.every(([, f]) => f.ok) ? 0 : 1;
  }
  process.stderr.write("usage: node dist/scripts/bench-tools.js install | where\n");
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main(process.argv.slice(2));
