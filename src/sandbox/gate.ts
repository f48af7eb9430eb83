// Whether and how a configured server runs sandboxed: the one answer the gateway, `check` and
// `status` share. A server whose sandbox cannot run does not start (fail closed), with what is
// missing and how to fix it.
import { compileEgressPolicy, type EgressPolicy } from "../policy/egress/egress.js";
import { remoteEgressFor } from "../policy/egress/remote.js";
import type { ConfiguredServer, Verdict } from "../policy/types.js";
import type { ResolvedSettings } from "../settings/resolve.js";
import { backendAvailability, executeRefusal } from "./launch.js";
import { packageRunnerRefusal } from "./no-exec.js";
import { chooseSandbox } from "./policy.js";
import type { SandboxPolicy } from "./types.js";

export type SandboxDecision =
  | { kind: "none" }
  | { kind: "sandboxed"; policy: SandboxPolicy; egress: EgressPolicy }
  /** A remote server: no sandbox, but the gateway's own connections to it are judged by `egress`. */
  | { kind: "remote"; egress: EgressPolicy }
  | { kind: "refused"; verdict: Verdict };

const refuse = (reason: string): SandboxDecision => ({ kind: "refused", verdict: { decision: "deny", reason } });

/**
 * `home`: the user's home directory (for `~` in sandbox paths). `cwd`: the gateway's. `cacheDir`:
 * where a successful backend probe is remembered (mcp-warden's state cache).
 */
export function sandboxFor(
  server: ConfiguredServer,
  settings: Pick<ResolvedSettings, "sandbox" | "requireSandbox" | "requireImageDigest">,
  home: string,
  cwd: string,
  cacheDir?: string,
): SandboxDecision {
  const entry = server.entry;
  const remote = entry.url !== undefined;
  if (remote) {
    const r = remoteEgressFor(server, settings.sandbox);
    return "refused" in r ? refuse(r.refused) : { kind: "remote", egress: r.egress };
  }
  const choice = chooseSandbox(entry.sandbox, settings.sandbox, {
    home,
    platform: process.platform,
    baseDir: entry.cwd ?? cwd,
    serverCwd: entry.cwd,
    requireSandbox: settings.requireSandbox === true,
    requireImageDigest: settings.requireImageDigest === true,
  });
  if (choice.refused !== undefined) return refuse(`server '${server.name}' is not started: ${choice.refused}`);
  if (choice.policy === undefined) return { kind: "none" };
  const noExec = executeRefusal(choice.policy);
  if (noExec !== undefined) return refuse(`server '${server.name}' is not started: ${noExec}`);
  if (choice.policy.execute !== undefined && entry.command !== undefined) {
    const runner = packageRunnerRefusal(server.name, entry.command, entry.args ?? []);
    if (runner !== undefined) return refuse(runner);
  }
  const available = backendAvailability(choice.policy.type, cacheDir);
  if (!available.ok) return refuse(`server '${server.name}' is not started: its ${choice.policy.type} sandbox cannot run here (${available.why}). To fix: ${available.install}`);
  try {
    return { kind: "sandboxed", policy: choice.policy, egress: compileEgressPolicy(choice.policy.network) };
  } catch (error) {
    return refuse(`server '${server.name}' is not started: invalid sandbox network settings: ${(error as Error).message}`);
  }
}

/** The gateway's refusal, as `check` and `test` report it (the judge's SandboxGate). */
export function gatewaySandboxRefusal(cacheDir: string): (server: ConfiguredServer, settings: ResolvedSettings, home: string, cwd: string) => Verdict | undefined {
  // Per server entry: a batch of checks asks about the same servers again and again.
  const known = new WeakMap<ConfiguredServer, Verdict | null>();
  return (server, settings, home, cwd) => {
    let v = known.get(server);
    if (v === undefined) {
      const d = sandboxFor(server, settings, home, cwd, cacheDir);
      known.set(server, (v = d.kind === "refused" ? d.verdict : null));
    }
    return v ?? undefined;
  };
}
