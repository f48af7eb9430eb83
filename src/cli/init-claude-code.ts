// `mcp-warden init --claude-code`: install mcp-warden as Claude Code's PreToolUse hook, so the
// agent's own tools (Bash, Read, Edit, WebFetch...) are judged by the same rules as MCP tools.
//
//   project (default)  ./.claude/settings.json
//   --user             ~/.claude/settings.json
//   --http URL         the http hook: Claude Code POSTs each event to `mcp-warden serve` at URL
//                      instead of running `mcp-warden hook` (a process per call)
//
// Idempotent: a hook entry that already is this install's is left alone; an entry of another
// mcp-warden install is pointed at this one; the other kind of mcp-warden hook (command or http) is
// replaced, since one judge per call is enough. The previous file is kept as a backup.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EditError, isObject, jsonEqual, readJsonDocument, writeJsonDocument, type JsonObject } from "./settings-edit.js";
import { shellWord } from "./servers.js";

export interface InitClaudeCodeOptions {
  user?: boolean;
  /** Install the http hook posting to this URL (serve's) instead of the command hook. */
  http?: string;
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

/** The path serve answers Claude Code's http hook on. */
export const HTTP_HOOK_PATH = "/v1/hooks/claude-code";
/** The environment variable Claude Code reads the bearer token from: the settings file holds only its name. */
export const HOOK_TOKEN_ENV = "MCP_WARDEN_HOOK_TOKEN";
/** Seconds Claude Code waits for serve; it answers in milliseconds, and a timeout blocks the call (onFailure). */
const HTTP_HOOK_TIMEOUT_SECONDS = 10;

/** An http entry of ours: posts to some serve's hook path. */
function isWardenHttpHook(h: unknown): h is JsonObject {
  if (!isObject(h) || h.type !== "http" || typeof h.url !== "string") return false;
  try {
    return new URL(h.url).pathname.endsWith(HTTP_HOOK_PATH);
  } catch {
    return false;
  }
}

/**
 * The URL to write, from the one given: serve's hook path added to a bare origin. The token must
 * not cross a network in clear text, so plain http is for loopback addresses only.
 */
export function hookUrl(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new EditError(`--http ${JSON.stringify(given)} is not a URL; give serve's address, e.g. http://127.0.0.1:8787`, 2);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new EditError(`--http ${given}: the URL must start with http:// or https://`, 2);
  if (url.username !== "" || url.password !== "") throw new EditError(`--http ${given}: leave credentials out of the URL; Claude Code sends the token from $${HOOK_TOKEN_ENV}`, 2);
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol === "http:" && !loopback)
    throw new EditError(`--http ${given}: plain http to ${url.hostname} would send the bearer token across the network in clear text; use https://, or serve on a loopback address`, 2);
  if (url.pathname === "/" || url.pathname === "") url.pathname = HTTP_HOOK_PATH;
  if (!url.pathname.endsWith(HTTP_HOOK_PATH)) throw new EditError(`--http ${given}: serve answers Claude Code's hook at ${HTTP_HOOK_PATH}; give the server's address (or a URL ending in ${HTTP_HOOK_PATH})`, 2);
  return url.href;
}

/**
 * The http hook entry `init --claude-code --http` writes. `onFailure: "block"`: without it, Claude
 * Code lets the call go ahead when serve is down, times out, or answers an error (found with Claude
 * Code 2.1.332; the field exists since 2.1.295).
 */
export function httpHookEntry(url: string): JsonObject {
  return { type: "http", url, headers: { Authorization: `Bearer $${HOOK_TOKEN_ENV}` }, allowedEnvVars: [HOOK_TOKEN_ENV], timeout: HTTP_HOOK_TIMEOUT_SECONDS, onFailure: "block" };
}

/** An existing http entry of ours brought to `want`, keeping headers and variables the user added. */
function updatedHttpHook(h: JsonObject, want: JsonObject): JsonObject {
  const headers = isObject(h.headers) ? { ...h.headers } : {};
  // Header names are case-insensitive: one Authorization, ours.
  for (const name of Object.keys(headers)) if (name.toLowerCase() === "authorization") delete headers[name];
  const vars = Array.isArray(h.allowedEnvVars) ? h.allowedEnvVars.filter((v) => v !== HOOK_TOKEN_ENV) : [];
  return { ...h, ...want, headers: { ...headers, ...(want.headers as JsonObject) }, allowedEnvVars: [...vars, HOOK_TOKEN_ENV] };
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
  // Before any file is read: a bad URL or an unbuilt install is a usage error either way.
  const want: JsonObject = opts.http !== undefined ? httpHookEntry(hookUrl(opts.http)) : { type: "command", command: hookCommand(), timeout: HOOK_TIMEOUT_SECONDS };
  const isSameKind = want.type === "http" ? isWardenHttpHook : isWardenHook;
  const isOtherKind = want.type === "http" ? isWardenHook : isWardenHttpHook;
  const doc = readJsonDocument(file);
  const data = structuredClone(doc.data);

  const hooks = data.hooks ?? {};
  if (!isObject(hooks)) throw new EditError(`${file}: "hooks" is not an object; fix it by hand first`, 2);
  const pre = hooks.PreToolUse ?? [];
  if (!Array.isArray(pre)) throw new EditError(`${file}: "hooks.PreToolUse" is not an array; fix it by hand first`, 2);

  let found = false;
  let changed = false;
  for (const group of pre) {
    if (!isObject(group) || !Array.isArray(group.hooks)) continue;
    const kept: unknown[] = [];
    for (const h of group.hooks) {
      if (isOtherKind(h)) {
        out.write(`replacing the mcp-warden ${h.type} hook (${String(h.type === "http" ? h.url : h.command)}): one mcp-warden judge per call is enough\n`);
        changed = true;
        continue;
      }
      kept.push(h);
      if (!isSameKind(h)) continue;
      found = true;
      // Only a group that applies to every tool counts as installed; a narrower matcher would leave tools unjudged.
      if (group.matcher !== "*" && group.matcher !== "" && group.matcher !== undefined) {
        group.matcher = "*";
        changed = true;
      }
      if (want.type === "command" && h.command !== want.command) {
        out.write(`updating the mcp-warden hook: ${String(h.command)} → ${String(want.command)}\n`);
        h.command = want.command;
        changed = true;
      }
      if (want.type === "http") {
        const next = updatedHttpHook(h, want);
        if (!jsonEqual(next, h)) {
          if (h.url !== want.url) out.write(`updating the mcp-warden http hook: ${String(h.url)} → ${String(want.url)}\n`);
          for (const k of Object.keys(h)) delete h[k];
          Object.assign(h, next);
          changed = true;
        }
      }
    }
    group.hooks = kept;
  }
  // Groups the replacement emptied go too.
  const groups = pre.filter((g) => !(isObject(g) && Array.isArray(g.hooks) && g.hooks.length === 0));
  if (!found) {
    // First, so it judges the call before any other hook can approve it.
    groups.unshift({ matcher: "*", hooks: [want] });
    changed = true;
  }
  if (!changed) {
    out.write(`${file} already has the mcp-warden ${want.type === "http" ? "http " : ""}hook for every tool; nothing to do\n`);
    if (want.type === "http") tokenAdvice(opts.env, out);
    return 0;
  }
  hooks.PreToolUse = groups;
  data.hooks = hooks;
  if (opts.dryRun) {
    out.write(`would write ${file}:\n${JSON.stringify(data, null, 2)}\ndry run: nothing was written\n`);
    return 0;
  }
  const result = writeJsonDocument(doc, data);
  const backup = result.backup ? ` (previous version kept as ${result.backup})` : "";
  if (want.type === "http") {
    out.write(`installed the mcp-warden http hook (${String(want.url)}) in ${result.written}${backup}\n`);
    out.write("Claude Code now asks `mcp-warden serve` before every tool call; decisions are in `mcp-warden audit`.\n");
    out.write(
      `While serve is down, times out or answers an error, Claude Code refuses every tool call ("onFailure": "block", honoured by Claude Code 2.1.295 and later; an older one lets the calls through: check \`claude --version\`).\n`,
    );
    tokenAdvice(opts.env, out);
    return 0;
  }
  out.write(`installed the mcp-warden PreToolUse hook in ${result.written}${backup}\n`);
  out.write("Claude Code now asks mcp-warden before every tool call; decisions are in `mcp-warden audit`.\n");
  return 0;
}

/** Where the token comes from: the settings file names the variable only, since it may be committed. */
function tokenAdvice(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): void {
  out.write(`Claude Code sends the bearer token from $${HOOK_TOKEN_ENV}; the settings file holds only the variable's name. Create a token for it with\n`);
  out.write(`  mcp-warden keys create claude-code-hook\n`);
  out.write(`and export ${HOOK_TOKEN_ENV}=<the mcpw_... key it prints> in the environment Claude Code starts from.\n`);
  if (!env[HOOK_TOKEN_ENV]) out.write(`note: ${HOOK_TOKEN_ENV} is not set here; until it is, serve refuses the hook's requests and Claude Code blocks every tool call.\n`);
}
