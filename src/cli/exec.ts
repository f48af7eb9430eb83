// `mcp-warden exec [--profile NAME] -- CMD ARGS...`: any command line tool in the same sandbox, under
// the same network policy and audit log, as a sandboxed server. stdin, stdout and stderr pass through;
// the exit status is the command's (128 + signal number when it was killed).
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { Duplex } from "node:stream";
import { fsEnvironment } from "../adapters/fs-environment.js";
import { appendShared } from "../audit/log.js";
import type { AuditEntry } from "../audit/record.js";
import { attachEgress, type EgressHandle } from "../egress/proxy.js";
import { compileEgressPolicy } from "../policy/egress/egress.js";
import { prepareSandboxedLaunch } from "../sandbox/launch.js";
import { bashSandboxChoice } from "../sandbox/bash-policy.js";
import { chooseSandbox, mandatoryDenies } from "../sandbox/policy.js";
import type { ResolvedSettings } from "../settings/resolve.js";
import { childEnvironment } from "../transport/process.js";
import { stateDir } from "../settings/paths.js";
import { join } from "node:path";

export interface ExecOptions {
  settings: ResolvedSettings;
  profile?: string;
  command: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * The agent's Bash command as the hook wraps it (src/hook/bash-sandbox.ts): the Bash sandbox
   * (src/sandbox/bash-policy.ts) instead of a profile, and the shell's whole environment.
   */
  bashSandbox?: { projectRoot?: string };
}

/** Returns the exit status for the process. */
export async function execCommand(opts: ExecOptions): Promise<number> {
  const { settings, env, cwd } = opts;
  const fail = (message: string, status = 2): number => {
    process.stderr.write(`mcp-warden exec: ${message}\n`);
    return status;
  };
  if (opts.command.length === 0) return fail("give the command after --: mcp-warden exec -- CMD ARGS...");
  let sandboxSettings = settings.sandbox;
  if (opts.profile !== undefined) {
    sandboxSettings = settings.sandboxProfiles?.[opts.profile];
    if (sandboxSettings === undefined) return fail(`no sandbox profile named ${JSON.stringify(opts.profile)} (settings: sandboxProfiles)`);
  }
  const environment = fsEnvironment({ env, settingsFiles: settings.files.map((f) => f.file), auditDir: settings.audit.dir, auditKeyFile: settings.audit.hmacKeyFile });
  const bash = opts.bashSandbox;
  if (bash !== undefined && opts.profile !== undefined) return fail("--bash-sandbox and --profile exclude each other");
  // exec exists to sandbox: without settings it still gets the platform's default sandbox, and "none" is refused.
  const choice =
    bash !== undefined
      ? bashSandboxChoice(settings, { home: environment.home, platform: process.platform, cwd, ...(bash.projectRoot !== undefined ? { projectRoot: bash.projectRoot } : {}) })
      : chooseSandbox(sandboxSettings, undefined, { home: environment.home, platform: process.platform, baseDir: cwd, serverCwd: cwd, requireSandbox: true, requireImageDigest: settings.requireImageDigest === true });
  if (choice.refused !== undefined || choice.policy === undefined) return fail(choice.refused ?? "no sandbox");
  const policy = choice.policy;
  let egressPolicy;
  try {
    egressPolicy = compileEgressPolicy(policy.network);
  } catch (error) {
    return fail(`invalid sandbox network settings: ${(error as Error).message}`);
  }

  const [command, ...args] = opts.command as [string, ...string[]];
  const passthrough: Record<string, string> = {};
  for (const name of policy.env) if (env[name] !== undefined) passthrough[name] = env[name] as string;
  // The agent's shell command gets the shell's environment, as it would unsandboxed (the sandbox
  // limits where anything can go); its private /tmp replaces a host TMPDIR it could not see.
  if (bash !== undefined) {
    for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== "" && !k.includes("=")) passthrough[k] = v;
    passthrough.TMPDIR = "/tmp";
  }
  let prepared;
  try {
    prepared = prepareSandboxedLaunch({ command, args, env: childEnvironment(passthrough, env), cwd }, policy, {
      home: environment.home,
      mandatoryDeny: mandatoryDenies(environment.home, environment.protectedPaths),
      cacheDir: join(stateDir(env), "cache"),
    });
  } catch (error) {
    return fail((error as Error).message, 1);
  }

  // Short-lived like the hook: one shared segment for every exec, not one segment per run.
  const record = (entry: AuditEntry) => appendShared({ dir: settings.audit.dir, fsyncIntervalMs: 0, secrets: settings.secrets, owner: "exec", hmacKeyFile: settings.audit.hmacKeyFile }, entry);
  try {
    record({ kind: "request", event: "exec", decision: "allow", reason: `runs sandboxed (${policy.type})`, arguments: opts.command, detail: { cwd, sandbox: policy.type, profile: opts.profile ?? null, ...(bash !== undefined ? { bashSandbox: true, projectRoot: bash.projectRoot ?? null } : {}) } });
  } catch (error) {
    prepared.launch.cleanup();
    return fail(`cannot write the audit log, so nothing runs: ${(error as Error).message}`, 1);
  }
  const { launch } = prepared;
  // A container's channel is the proxy's pair of named pipes, open before the container starts.
  let egress: EgressHandle | undefined;
  try {
    egress = prepared.egressFifos?.serve({ server: `exec:${command}`, policy: egressPolicy, audit: record });
  } catch (error) {
    launch.cleanup();
    return fail((error as Error).message, 1);
  }
  const child = spawn(launch.command, launch.args, { cwd: launch.cwd, env: launch.env, stdio: ["inherit", "inherit", "inherit", ...prepared.extraStdio] });
  if (prepared.egress) {
    const channel = child.stdio[3] as unknown as Duplex;
    egress = attachEgress(channel, { server: `exec:${command}`, policy: egressPolicy, audit: record });
  }
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const status = await new Promise<number>((resolve) => {
    child.once("error", (e) => {
      process.stderr.write(`mcp-warden exec: cannot start the sandbox: ${e.message}\n`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
  for (const [s, h] of handlers) process.off(s, h);
  egress?.close();
  launch.cleanup();
  try {
    record({ kind: "request", event: "exec-exited", detail: { status } });
  } catch {
    // The run is over; its start was recorded.
  }
  return status;
}
