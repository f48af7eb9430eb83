// `mcp-warden hook`: Claude Code's PreToolUse command hook. Claude Code runs it before every tool
// call with the call as JSON on stdin; it answers allow, ask or deny on stdout, judged by the same
// rules, settings files and audit log as the gateway.
//
// It runs once per tool call, so it loads only what a decision needs: no command-line framework,
// no schema library on the usual path (settings texts validated before are read with JSON.parse:
// settings/fast-load.ts). Fail closed: whatever goes wrong ends in deny, and when not even a deny
// can be written, exit status 2, which Claude Code treats as "block this call".
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { isatty } from "node:tty";
import { fsEnvironment } from "../adapters/fs-environment.js";
import { compilePolicy } from "../policy/index.js";
import type { PolicyInput } from "../policy/types.js";
import { appendShared } from "../audit/log.js";
import { compileSettings, findProjectRoot, provideSecretScanner } from "../check/judge.js";
import { hookOutput, judgePreToolUse, parsePreToolUseText } from "./judge-hook-input.js";

/** Defined by the hook bundle's banner (scripts/bundle.ts): a synchronous require next to the bundle. */
declare const __wardenRequire: ((id: string) => unknown) | undefined;
import { loadSettingsFast } from "../settings/fast-load.js";
import { applyBashSandbox } from "./bash-sandbox.js";

/** Claude Code's hook input is small; anything near this is not a hook call. */
const MAX_INPUT_BYTES = 4 << 20;
/** A hook that waits for stdin forever would hang the agent; Claude Code closes stdin at once. */
const STDIN_TIMEOUT_MS = 10_000;

export { hookOutput, type HookDecision } from "./judge-hook-input.js";

function usage(message: string): number {
  process.stderr.write(`mcp-warden hook: ${message}\nusage: mcp-warden hook [--settings FILE]...  (reads Claude Code's PreToolUse JSON on stdin)\n`);
  // 2 blocks the tool call in Claude Code: a misconfigured hook must not let calls through.
  return 2;
}

export async function hookMain(args: string[]): Promise<number> {
  const cliFiles: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--settings" && i + 1 < args.length) cliFiles.push(args[++i] as string);
    else if (a.startsWith("--settings=")) cliFiles.push(a.slice("--settings=".length));
    else if (a === "--help" || a === "-h") {
      process.stdout.write("usage: mcp-warden hook [--settings FILE]...\nA Claude Code PreToolUse hook: reads the hook JSON on stdin, prints the decision. Set it up with `mcp-warden init --claude-code`.\n");
      return 0;
    } else return usage(`unknown argument ${JSON.stringify(a)}`);
  }
  let out: string;
  try {
    out = await decide(await readStdin(), cliFiles);
  } catch (error) {
    out = hookOutput("deny", `mcp-warden could not judge this call: ${(error as Error).message}`);
  }
  try {
    process.stdout.write(out);
    return 0;
  } catch (error) {
    process.stderr.write(`mcp-warden hook: cannot write the decision: ${(error as Error).message}\n`);
    return 2;
  }
}

async function readStdin(): Promise<string> {
  // Claude Code writes the JSON to a pipe and closes it: one synchronous read is the cheapest way
  // (no stream machinery to load). A terminal, or a non-blocking descriptor, takes the stream path
  // with its timeout instead.
  if (!isatty(0)) {
    try {
      const bytes = readFileSync(0);
      if (bytes.length > MAX_INPUT_BYTES) throw new Error(`the hook input is larger than ${MAX_INPUT_BYTES} bytes`);
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reading = (async () => {
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size > MAX_INPUT_BYTES) throw new Error(`the hook input is larger than ${MAX_INPUT_BYTES} bytes`);
      chunks.push(chunk as Buffer);
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no hook input on stdin within ${STDIN_TIMEOUT_MS} ms`)), STDIN_TIMEOUT_MS);
  });
  try {
    await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
}

/** The decision for one hook input, audited. Throws only when it cannot even decide. */
export async function decide(text: string, cliFiles: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const parsed = parsePreToolUseText(text);
  if ("refusal" in parsed) return JSON.stringify(parsed.refusal) + "\n";
  const event = parsed.event;

  // Settings belong to the project, not to whichever subdirectory the agent has cd'ed into: the
  // project is CLAUDE_PROJECT_DIR, else the nearest directory at or above cwd holding `.mcp-warden/`.
  // It is also the root of the working directories; without one there is none (never the cwd alone,
  // which a `cd` can move anywhere). Settings are then looked up from cwd, as before.
  const projectRoot = typeof env.CLAUDE_PROJECT_DIR === "string" && env.CLAUDE_PROJECT_DIR.startsWith("/") ? env.CLAUDE_PROJECT_DIR : findProjectRoot(event.cwd);
  let compiled;
  try {
    compiled = compileSettings(await loadSettingsFast({ cwd: projectRoot ?? event.cwd, env, cliFiles }), env);
  } catch (error) {
    return hookOutput("deny", `mcp-warden: settings error, every call is refused until it is fixed: ${(error as Error).message}`);
  }
  // Arguments of MCP tools are checked for secrets; the scanner is loaded only for them.
  if (event.tool.startsWith("mcp__")) {
    try {
      // In the bundle (run from a V8 code cache, where import() is unavailable) it is a CommonJS
      // bundle of its own next to this one; unbundled, the ES module.
      const secrets = (typeof __wardenRequire === "function" ? __wardenRequire("./secrets.bundle.cjs") : await import("../policy/integrity/secrets.js")) as typeof import("../policy/integrity/secrets.js");
      provideSecretScanner(secrets.compileSecretScanner);
    } catch {
      // Unloaded, judgeToolCall refuses MCP calls it cannot check.
    }
  }
  const audit = compiled.settings.audit;
  const settings = compiled.settings;
  const answer = judgePreToolUse(compiled, event, {
    via: "hook",
    projectRoot,
    // The CLI that runs this hook (process.argv[1]) also runs the sandboxed command.
    adjust: (tool, args, verdict) =>
      tool === "Bash" ? applyBashSandbox(settings, args, verdict, { cwd: event.cwd, projectRoot, env, node: process.execPath, cli: resolvePath(process.argv[1] as string), cliFiles }) : { verdict },
    audit: (entry) => appendShared({ dir: audit.dir, fsyncIntervalMs: 0, secrets: compiled.settings.secrets, owner: "hook", hmacKeyFile: audit.hmacKeyFile }, entry),
  });
  return JSON.stringify(answer) + "\n";
}

/**
 * Runs each judge once on made-up calls, so that the code cache the entry point writes (src/cli.cts)
 * holds their compiled code too, not only that of the first call's tool. No I/O beyond looking up
 * paths that do not exist.
 */
export function warmUp(): void {
  const source = { layer: "request" as const, file: "<warm-up>", path: "permissions" };
  const rules = (xs: string[]) => xs.map((value) => ({ value, source }));
  const input: PolicyInput = {
    allow: rules(["Bash(git status:*)", "Bash(git log:*)", "Read(./src/**)", "Edit(./**)", "WebFetch(domain:example.com)", "WebSearch(query:x*)", "mcp__a__b"]),
    ask: rules(["Bash(npm publish:*)"]),
    deny: rules(["Bash(curl:*)", "Read(.env)", "mcp__*__delete*"]),
    autoApprove: [],
    defaultMode: "default",
    bypassDisabled: false,
    servers: [],
    deniedMcpServers: [],
    exclusiveManagedServers: false,
  };
  const cwd = "/nonexistent-mcp-warden-warm-up/project";
  const policy = compilePolicy(input, fsEnvironment({ env: { HOME: "/nonexistent-mcp-warden-warm-up" } }));
  const calls: [string, Record<string, unknown>][] = [
    ["Bash", { command: "git status --short && git log --oneline -20 | head -5 > out.txt; cat .env" }],
    ["Read", { file_path: `${cwd}/src/a.ts` }],
    ["Edit", { file_path: `${cwd}/.git/config`, old_string: "a", new_string: "b" }],
    ["Grep", { pattern: "x", path: cwd }],
    ["WebFetch", { url: "https://www.example.com/a", prompt: "x" }],
    ["WebSearch", { query: "xyz" }],
    ["mcp__a__b", {}],
  ];
  for (const [tool, args] of calls) policy.decideTool({ tool, input: args, cwd, projectRoot: cwd });
}
