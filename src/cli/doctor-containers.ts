// `doctor`'s line per container server: the engine as detected here, the runtime the server would
// run under, and each limit enforced or not (and why), or why the server would not start.
import { detectContainerHost, describeHost, findExecutable } from "../sandbox/container-host.js";
import { hostArguments, type LimitState } from "../sandbox/container-limits.js";
import { engineEnvironment, limitsOf, type ContainerEngine } from "../sandbox/container.js";
import { chooseSandbox } from "../sandbox/policy.js";
import type { ResolvedSettings } from "../settings/index.js";

export interface ContainerServerCheck {
  server: string;
  engine: ContainerEngine;
  /** Whether the server's container would start here. */
  ok: boolean;
  /** The engine as detected: rootless or not, cgroup version, default runtime. */
  host?: string;
  runtime?: string;
  limits?: LimitState[];
  /** Why it would not start. */
  problem?: string;
}

export function checkContainerServers(settings: Pick<ResolvedSettings, "servers" | "sandbox" | "requireSandbox">, env: NodeJS.ProcessEnv, home: string, cwd: string): ContainerServerCheck[] {
  const out: ContainerServerCheck[] = [];
  for (const server of settings.servers) {
    const entry = server.entry;
    if (entry.url !== undefined) continue;
    const { policy } = chooseSandbox(entry.sandbox, settings.sandbox, { home, platform: process.platform, baseDir: entry.cwd ?? cwd, serverCwd: entry.cwd, requireSandbox: settings.requireSandbox === true });
    if (policy === undefined || (policy.type !== "docker" && policy.type !== "podman")) continue;
    const engine = policy.type;
    const clientEnv = engineEnvironment(env);
    const executable = findExecutable(engine, clientEnv.PATH);
    if (executable === undefined) {
      out.push({ server: server.name, engine, ok: false, problem: `${engine} is not installed (not on PATH)` });
      continue;
    }
    const remote = engine === "podman" && (process.platform !== "linux" || clientEnv.CONTAINER_HOST !== undefined || clientEnv.CONTAINER_CONNECTION !== undefined);
    const detected = detectContainerHost(engine, { executable, env: clientEnv, timeoutMs: 5000, remote });
    if (!detected.ok) {
      out.push({ server: server.name, engine, ok: false, problem: `${/[.?!]$/.test(detected.why) ? detected.why : `${detected.why}.`} ${detected.fix}` });
      continue;
    }
    const host = describeHost(detected.host);
    try {
      const planned = hostArguments(engine, detected.host, policy, limitsOf(engine, policy), (n) => findExecutable(n, clientEnv.PATH));
      if (!planned.ok) out.push({ server: server.name, engine, ok: false, host, problem: planned.why });
      else out.push({ server: server.name, engine, ok: true, host, runtime: planned.runtime, limits: planned.limits });
    } catch (error) {
      out.push({ server: server.name, engine, ok: false, host, problem: (error as Error).message });
    }
  }
  return out;
}
