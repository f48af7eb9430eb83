// `mcp-warden init --claude-code`: install `mcp-warden hook` as Claude Code's PreToolUse hook, so
// the agent's own tools (Bash, Read, Edit, WebFetch...) are judged by the same rules as MCP tools.
//
//   project (default)  ./.claude/settings.json
//   --user             ~/.claude/settings.json
//
// Idempotent: a hook entry that already runs this install's `hook` is left alone; an entry that runs
// another mcp-warden install's hook is pointed at this one. The previous file is kept as a backup.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EditError, isObject, readJsonDocument, writeJsonDocument, type JsonObject } from "./settings-edit.js";
import { shellWord } from "./servers.js";

export interface InitClaudeCodeOptions {
  user?: boolean;
  dryRun?: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Seconds Claude Code waits for the hook; the hook itself answers in well under one. */
const HOOK_TIMEOUT_SECONDS = 30;

/** The command line Claude Code runs: absolute paths, since Claude Code may not have our PATH. */
export function hookCommand(): string {
  const cli = fileURLToPath(new URL("../cli.cjs", import.meta.url));
  if (!existsSync(cli)) throw new EditError(`cannot find the mcp-warden CLI at ${cli}; is this install built?`, 1);
  return `${shellWord(process.execPath)} ${shellWord(cli)} hook`;
}

/** An entry of ours: runs some mcp-warden CLI's `hook` subcommand. */
function isWardenHook(h: unknown): h is JsonObject {
  return isObject(h) && h.type === "command" && typeof h.command === "string" && /(mcp-warden|\/cli\.c?js)\S*'? hook$/.test(h.command);
}

export async function initClaudeCodeCommand(opts: InitClaudeCodeOptions, out: NodeJS.WritableStream): Promise<number> {
  try {
    return install(opts, out);
  } catch (err) {
    if (err instanceof EditError) {
      process.stderr.write(`mcp-warden init --claude-code: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

function install(opts: InitClaudeCodeOptions, out: NodeJS.WritableStream): number {
  const home = opts.env.HOME;
  if (opts.user && (!home || !home.startsWith("/"))) throw new EditError("HOME is not set to an absolute path; cannot find ~/.claude/settings.json", 1);
  const file = opts.user ? join(home as string, ".claude", "settings.json") : resolve(opts.cwd, ".claude", "settings.json");
  const doc = readJsonDocument(file);
  const data = structuredClone(doc.data);
  const command = hookCommand();

  const hooks = data.hooks ?? {};
  if (!isObject(hooks)) throw new EditError(`${file}: "hooks" is not an object; fix it by hand first`, 2);
  const pre = hooks.PreToolUse ?? [];
  if (!Array.isArray(pre)) throw new EditError(`${file}: "hooks.PreToolUse" is not an array; fix it by hand first`, 2);

  let found = false;
  let changed = false;
  for (const group of pre) {
    if (!isObject(group) || !Array.isArray(group.hooks)) continue;
    for (const h of group.hooks) {
      if (!isWardenHook(h)) continue;
      found = true;
      // Only a group that applies to every tool counts as installed; a narrower matcher would leave tools unjudged.
      if (group.matcher !== "*" && group.matcher !== "" && group.matcher !== undefined) {
        group.matcher = "*";
        changed = true;
      }
      if (h.command !== command) {
        out.write(`updating the mcp-warden hook: ${String(h.command)} → ${command}\n`);
        h.command = command;
        changed = true;
      }
    }
  }
  if (!found) {
    // First, so it judges the call before any other hook can approve it.
    pre.unshift({ matcher: "*", hooks: [{ type: "command", command, timeout: HOOK_TIMEOUT_SECONDS }] });
    changed = true;
  }
  if (!changed) {
    out.write(`${file} already runs the mcp-warden hook for every tool; nothing to do\n`);
    return 0;
  }
  hooks.PreToolUse = pre;
  data.hooks = hooks;
  if (opts.dryRun) {
    out.write(`would write ${file}:\n${JSON.stringify(data, null, 2)}\ndry run: nothing was written\n`);
    return 0;
  }
  const result = writeJsonDocument(doc, data);
  out.write(`installed the mcp-warden PreToolUse hook in ${result.written}${result.backup ? ` (previous version kept as ${result.backup})` : ""}\n`);
  out.write("Claude Code now asks mcp-warden before every tool call; decisions are in `mcp-warden audit`.\n");
  return 0;
}
