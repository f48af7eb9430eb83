// `POST /v1/hooks/claude-code`: Claude Code's http hook (`"type": "http"` in its settings) posts
// each PreToolUse event here instead of running `mcp-warden hook`; the answer is the same judge's.
// serve authenticates the caller (the bearer token) and mounts the handler below.
//
// What Claude Code does with the answer (found with the real Claude Code 2.1.332; see
// test/e2e/claude-code-http-hook.test.ts and the README):
// - a 2xx whose body is a hook's JSON output is obeyed like a command hook's stdout: allow runs the
//   call, deny and ask do not (ask prompts the user in a session; with -p it is refused);
// - a 2xx with an empty body is "no decision": Claude Code's own permission rules decide;
// - anything else (refused connection, timeout, a non-2xx status, a non-JSON body) is a hook
//   failure. Without `"onFailure": "block"` on the hook the call then GOES AHEAD; with it, it is
//   blocked. `init --claude-code --http` writes `"onFailure": "block"`.
// So every answer here, refusals included, is 200 with a decision in the body: a deny reaches the
// user with its reason whatever the hook's onFailure, and never depends on a failure mode.
import type { AuditEntry } from "../../audit/record.js";
import { AuditLog } from "../../audit/log.js";
import { findProjectRoot, provideSecretScanner, type CompiledSettings } from "../../check/judge.js";
import { hookAnswer, judgePreToolUse, parsePreToolUse, type HookAnswer } from "../../hook/judge-hook-input.js";
import { compileSecretScanner } from "../../policy/integrity/secrets.js";
import { auditedPrincipal, type Principal } from "../../policy/principal.js";
import type { HookSettingsSource } from "./hook-settings.js";

export const CLAUDE_CODE_HOOK_PATH = "/v1/hooks/claude-code";

/** Claude Code's events are small; the command hook takes the same limit on stdin. */
export const MAX_HOOK_BODY_BYTES = 4 << 20;

export interface ClaudeCodeHookOptions {
  /** The settings each call is judged by (hook-settings.ts: compiled once, reloaded on change). */
  settings: HookSettingsSource;
  /**
   * Writes a decision record; throws when it cannot (the call is then refused). Default: an audit
   * log of this process (its own segment) in the settings' audit directory, opened at the first
   * call and reopened when the audit settings change (closed by the handler's close()).
   */
  audit?: (entry: AuditEntry, compiled: CompiledSettings) => void;
  /**
   * Resolves once the records written so far are durable (an asynchronous sink: PostgreSQL); the
   * answer waits for it, and a rejection turns it into a deny (no allow goes out unaudited).
   */
  auditDurable?: () => Promise<void>;
  /** Bodies larger than this are refused (default MAX_HOOK_BODY_BYTES). */
  maxBodyBytes?: number;
}

export interface HookHttpAnswer {
  status: number;
  body: HookAnswer;
}

/**
 * `body`: the request body, as bytes or text (parsed here, with the size limit) or already parsed
 * JSON. `principal`: the caller serve authenticated; it is recorded with the decision.
 */
export type ClaudeCodeHookHandler = ((body: unknown, principal: Principal, signal?: AbortSignal) => Promise<HookHttpAnswer>) & {
  /** Closes the audit logs the default writer opened (their pending fsyncs are done first). */
  close(): void;
};

/**
 * The default audit writer: one AuditLog per audit configuration, as the gateway keeps its own. The
 * command hook's shared, lock-and-fsync-per-record append costs ~3.5 ms a call here; a log of this
 * process writes each record before answering and fsyncs every `audit.fsyncIntervalMs`, as the gateway does.
 */
function ownAuditLogs(): { write(entry: AuditEntry, compiled: CompiledSettings): void; close(): void } {
  const logs = new Map<string, AuditLog>();
  return {
    write(entry, compiled) {
      const a = compiled.settings.audit;
      const opts = { dir: a.dir, fsyncIntervalMs: a.fsyncIntervalMs, secrets: compiled.settings.secrets, ...(a.hmacKeyFile !== undefined ? { hmacKeyFile: a.hmacKeyFile } : {}) };
      const key = JSON.stringify(opts);
      let log = logs.get(key);
      if (log === undefined) {
        log = AuditLog.open(opts);
        logs.set(key, log);
        // Settings that changed leave their old log behind: at most a few are kept open.
        if (logs.size > MAX_OPEN_AUDIT_LOGS) {
          const [oldestKey, oldest] = logs.entries().next().value as [string, AuditLog];
          logs.delete(oldestKey);
          oldest.close();
        }
      }
      log.append(entry);
    },
    close() {
      for (const log of logs.values()) log.close();
      logs.clear();
    },
  };
}

const MAX_OPEN_AUDIT_LOGS = 4;

export function createClaudeCodeHookHandler(opts: ClaudeCodeHookOptions): ClaudeCodeHookHandler {
  // The daemon carries the secret scanner for good (the command hook loads it per MCP call).
  provideSecretScanner(compileSecretScanner);
  const own = opts.audit === undefined ? ownAuditLogs() : undefined;
  const audit = opts.audit ?? (own as NonNullable<typeof own>).write;
  const maxBytes = opts.maxBodyBytes ?? MAX_HOOK_BODY_BYTES;
  const deny = (reason: string): HookHttpAnswer => ({ status: 200, body: hookAnswer("deny", `mcp-warden: ${reason}`) });

  const handle = async (body: unknown, principal: Principal, signal?: AbortSignal): Promise<HookHttpAnswer> => {
    try {
      if (signal?.aborted) return deny("the request was cancelled before it was judged");
      const value = decodeBody(body, maxBytes);
      if ("refusal" in value) return deny(value.refusal);
      const parsed = parsePreToolUse(value.json);
      if ("refusal" in parsed) return { status: 200, body: parsed.refusal };
      const event = parsed.event;
      // Claude Code sends no project directory to http hooks (CLAUDE_PROJECT_DIR is only in a command
      // hook's environment): the project is the nearest directory at or above cwd holding `.mcp-warden/`.
      const projectRoot = findProjectRoot(event.cwd);
      let compiled: CompiledSettings;
      try {
        compiled = opts.settings.forCall({ cwd: event.cwd, projectRoot, principal });
      } catch (error) {
        return deny(`settings error, every call is refused until it is fixed: ${(error as Error).message}`);
      }
      const answer = judgePreToolUse(compiled, event, {
        via: "http-hook",
        projectRoot,
        // Who asked: never the token, only what auditedPrincipal keeps (subject, client, org, method).
        principal: auditedPrincipal(principal),
        audit: (entry) => audit(entry, compiled),
      });
      if (opts.auditDurable) {
        try {
          await opts.auditDurable();
        } catch (error) {
          return deny(`the call could not be audited, so it is refused: ${(error as Error).message}`);
        }
      }
      return { status: 200, body: answer };
    } catch (error) {
      return deny(`the call could not be judged, so it is refused: ${(error as Error).message}`);
    }
  };
  return Object.assign(handle, { close: () => own?.close() });
}

function decodeBody(body: unknown, maxBytes: number): { json: unknown } | { refusal: string } {
  if (typeof body === "string" || body instanceof Uint8Array) {
    const bytes = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    if (bytes > maxBytes) return { refusal: `the hook request body is larger than ${maxBytes} bytes` };
    let text: string;
    try {
      text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
    } catch {
      return { refusal: "the hook request body is not UTF-8" };
    }
    try {
      return { json: JSON.parse(text) };
    } catch {
      return { refusal: "the hook request body is not JSON" };
    }
  }
  if (body === undefined) return { refusal: "the hook request has no body" };
  return { json: body };
}
