// One decision for a tool call, as the gateway makes it: the policy, the refusal of settings not
// enforced yet, and the server's guards. Shared by `check`, `check --batch` and the hook; kept free
// of the schema library so that the hook starts fast.
import { fsEnvironment } from "../adapters/fs-environment.js";
import type { PolicyEnvironment } from "../policy/builtin/types.js";
import { compileFilesystemGuard, type FilesystemGuard } from "../policy/guards/filesystem.js";
import { compilePolicy, parseCanonical, type CompiledPolicy } from "../policy/index.js";
import type { ConfiguredServer, Verdict } from "../policy/types.js";
import { unenforcedCallFeature, unenforcedServerFeature } from "../policy/unenforced.js";
import type { ResolvedSettings } from "../settings/resolve.js";

/** Settings compiled once, with what judging a call needs beside the policy. */
export interface CompiledSettings {
  settings: ResolvedSettings;
  policy: CompiledPolicy;
  environment: PolicyEnvironment;
  /** Filesystem guards by server name, compiled at first use. */
  guards: Map<string, FilesystemGuard>;
}

/** The policy, environment and guards for loaded settings (the CLI's `check`, the hook). */
export function compileSettings(settings: ResolvedSettings, env: NodeJS.ProcessEnv): CompiledSettings {
  const environment = fsEnvironment({ env, settingsFiles: settings.files.map((f) => f.file), auditDir: settings.audit.dir });
  return { settings, policy: compilePolicy(settings.policy, environment), environment, guards: new Map() };
}

/**
 * The gateway's decision for a tool call, minus what needs a live server: the policy, then the
 * refusal of settings that are not enforced yet, then the server's guards. Built-in tools (Bash,
 * Read...) are judged relative to `cwd`, the agent's working directory.
 */
export function judgeToolCall(c: CompiledSettings, tool: string, input: Record<string, unknown>, cwd: string): Verdict {
  const verdict = c.policy.decideTool({ tool, input, cwd });
  if (verdict.decision === "deny") return verdict;
  const target = parseCanonical(tool);
  const server = target && c.settings.servers.find((s) => s.name === target.server);
  if (server && target) {
    const refusal = unenforcedServerFeature(server, c.settings.sandbox) ?? unenforcedCallFeature(server);
    if (refusal) return refusal;
    const objection = guardFor(c, server)?.check(target.tool, input, { cwd });
    if (objection && objection.decision !== "allow") return objection;
  }
  return verdict;
}

function guardFor(c: CompiledSettings, server: ConfiguredServer): FilesystemGuard | undefined {
  const config = server.entry.guards?.filesystem;
  if (config === undefined) return undefined;
  let guard = c.guards.get(server.name);
  if (!guard) c.guards.set(server.name, (guard = compileFilesystemGuard(config, c.environment, c.policy.fileJudge)));
  return guard;
}

