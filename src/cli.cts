#!/usr/bin/env node
// Entry point, in CommonJS on purpose. `mcp-warden hook` runs before every tool call of a coding
// agent, so it is routed here before anything else loads, without the ES module loader, the
// command-line framework or the schema library: it loads one CommonJS bundle of the hook
// (dist/src/hook/main.bundle.cjs, built by scripts/bundle.ts). `exec` (every Bash command, with the
// Bash sandbox) and `run` (a gateway an agent's session waits for) have lean bundles of their own.
// Every other command, and any argument those lean entries do not take, goes to the command line
// (src/cli/program.ts).
//
// A bundle is compiled with a V8 code cache: parsing and compiling hundreds of KB of JavaScript is a
// large part of the hook's own time and the same work on every call, and Node 20 has no built-in
// compile cache. The cache lives in mcp-warden's state directory next to its other caches (which
// the policy protects from the agent's edits); V8 rejects cached data made for another source or
// another V8, and then the bundle is compiled as usual and the cache rewritten. Without a bundle
// (an unbuilt checkout), the ES modules are imported instead.
import fs = require("node:fs");
import path = require("node:path");
import vm = require("node:vm");
import Module = require("node:module");

type HookModule = { hookMain(args: string[]): Promise<number>; warmUp?(): void };
/** `mcp-warden exec`'s lean entry (src/cli/exec-main.ts): undefined hands the arguments to the full command line. */
type ExecModule = { execMain(args: string[]): Promise<number | undefined>; warmUp?(): void };
/** `mcp-warden run`'s lean entry (src/cli/run-main.ts): undefined hands the arguments to the full command line. */
type RunModule = { runMain(args: string[]): Promise<number | undefined>; warmUp?(): void };

function cacheFileFor(name: string, stamp: string): string | undefined {
  const env = process.env;
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && xdg.startsWith("/") ? xdg : env.HOME && env.HOME.startsWith("/") ? path.join(env.HOME, ".local", "state") : undefined;
  return base === undefined ? undefined : path.join(base, "mcp-warden", "cache", `${name}-${stamp}.v8`);
}

/**
 * When the code cache is written: at the end of a short-lived command, or, for the gateway (which
 * ends with process.exit when its client leaves), a few seconds after it started, once the
 * handshake and the first calls have compiled what a session runs.
 */
type CacheMoment = "beforeExit" | { afterMs: number };

function loadBundle<T extends { warmUp?(): void }>(name: "hook" | "exec" | "run", relative: string, when: CacheMoment = "beforeExit"): T | undefined {
  const file = path.join(__dirname, relative);
  let source: string;
  let stamp: string;
  try {
    source = fs.readFileSync(file, "utf8");
    const st = fs.statSync(file);
    stamp = `${process.version}-${process.arch}-${st.size}-${Math.trunc(st.mtimeMs)}`;
  } catch {
    return undefined;
  }
  const cacheFile = cacheFileFor(name, stamp);
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile !== undefined) cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const mod = { exports: {} as T };
  (script.runInThisContext() as (...args: unknown[]) => void).call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    // After the command has run, so that the functions it compiled lazily are in the cache too.
    const save = () => {
      try {
        mod.exports.warmUp?.();
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, cacheFile);
        // The caches of this bundle's earlier builds (another version or Node.js) are not used again.
        const dir = path.dirname(cacheFile);
        for (const f of fs.readdirSync(dir)) {
          if (f.startsWith(`${name}-`) && f.endsWith(".v8") && f !== path.basename(cacheFile)) fs.rmSync(path.join(dir, f), { force: true });
        }
      } catch {
        // Only speed is lost.
      }
    };
    if (when === "beforeExit") process.once("beforeExit", save);
    else setTimeout(save, when.afterMs).unref();
  }
  return mod.exports;
}

/**
 * A reader that goes away early (`mcp-warden scan | head -1`) makes every later write to that stream
 * fail with EPIPE, emitted as an 'error' event that would end the process with a stack trace. It is
 * not an error of the command: from then on its output is dropped, the command ends as it would have
 * (same exit status), and a command that reads stdin to answer it (`check --batch`) stops reading.
 * Any other write error (a full disk) ends the command, saying so once: 4, or 2 for the hook (which
 * makes Claude Code block the call). The gateway (`run`) handles its own stdout, the MCP channel
 * (src/transport/json-lines.ts), and closes in order; here its streams' errors are only kept from
 * crashing it (stderr is just its log).
 */
function guardOutput(stream: NodeJS.WriteStream, name: "stdout" | "stderr"): void {
  const command = process.argv[2];
  let reported = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (command === "run") return;
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") {
      if (name === "stdout" && !process.stdin.destroyed) process.stdin.destroy();
      return;
    }
    if (reported) return;
    reported = true;
    if (name === "stdout") process.stderr.write(`mcp-warden: cannot write the output: ${error.message}\n`);
    process.exit(command === "hook" ? 2 : 4);
  });
}

async function main(): Promise<void> {
  guardOutput(process.stdout, "stdout");
  guardOutput(process.stderr, "stderr");
  if (process.argv[2] === "hook") {
    const hook: HookModule = loadBundle<HookModule>("hook", path.join("hook", "main.bundle.cjs")) ?? ((await import("./hook/main.js")) as HookModule);
    process.exitCode = await hook.hookMain(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === "exec") {
    const exec: ExecModule = loadBundle<ExecModule>("exec", path.join("cli", "exec-main.bundle.cjs")) ?? ((await import("./cli/exec-main.js")) as ExecModule);
    const status = await exec.execMain(process.argv.slice(3));
    if (status !== undefined) {
      process.exitCode = status;
      return;
    }
  }
  if (process.argv[2] === "run") {
    const run: RunModule = loadBundle<RunModule>("run", path.join("cli", "run-main.bundle.cjs"), { afterMs: 3000 }) ?? ((await import("./cli/run-main.js")) as RunModule);
    if ((await run.runMain(process.argv.slice(3))) !== undefined) return;
  }
  await import("./cli/program.js");
}

main().catch((error: unknown) => {
  process.stderr.write(`mcp-warden: ${(error as Error)?.stack ?? String(error)}\n`);
  // For the hook, 2 makes Claude Code block the call; for other commands it is the usage/settings code.
  process.exitCode = process.argv[2] === "hook" ? 2 : 4;
});
