// serve's operations: the metrics, the readiness checks and the settings reload, built from the
// settings and the running core. The HTTP routes that answer them are in src/fronts/http/serve.ts.
import { dirname, resolve } from "node:path";
import type { Gateway } from "../gateway/gateway.js";
import { GatewayMetrics } from "../ops/metrics.js";
import { metricsAccess, type MetricsAccess } from "../ops/metrics-access.js";
import { postgresCheck, redisCheck, runReadiness, type ReadinessCheck, type ReadinessReport } from "../ops/readiness.js";
import { watchSettings, type SettingsReloader } from "../ops/settings-reload.js";
import type { ResolvedSettings } from "../settings/index.js";
import { expandString } from "../settings/expand.js";

/** Settings a reload applies at once; a change to any other top-level field is reported as needing a restart. */
const LIVE_FIELDS = new Set<string>([
  "policy",
  "principals",
  // Claude Code's http hook reloads its settings itself (hook-settings.ts); the MCP path reads these through `policy`.
  "toolPermissions",
  "bashSandbox",
  // Not settings: where they came from, and notes.
  "files",
  "untrustedFiles",
  "warnings",
]);

/**
 * The top-level fields that differ and only take effect after a restart (servers, remote, audit,
 * state, ...). Principals' rate limits apply live only when some were set at start (the rate
 * limiter asks for them per request only then).
 */
export function fieldsNeedingRestart(before: ResolvedSettings, after: ResolvedSettings, livePrincipalLimits: boolean): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: string[] = [];
  for (const key of keys) {
    if (LIVE_FIELDS.has(key)) continue;
    const a = (before as unknown as Record<string, unknown>)[key];
    const b = (after as unknown as Record<string, unknown>)[key];
    let same: boolean;
    try {
      same = JSON.stringify(a) === JSON.stringify(b);
    } catch {
      same = false;
    }
    if (!same) out.push(key);
  }
  // The rates only: where a rate is written (its source) may change without changing it.
  const limitsOf = (x: ResolvedSettings) =>
    JSON.stringify(Object.entries(x.principals ?? {}).map(([k, v]) => [k, v.rateLimits.perPrincipal?.value, Object.entries(v.rateLimits.perTool).map(([t, r]) => [t, r.value])]));
  if (!livePrincipalLimits && limitsOf(before) !== limitsOf(after)) out.push("principals.*.rateLimits");
  return out.sort();
}

export function buildMetrics(core: Gateway, settings: ResolvedSettings, env: NodeJS.ProcessEnv, openSessions: () => number): { metrics: GatewayMetrics; access: MetricsAccess } {
  const access = metricsAccess(settings.remote?.metrics, env);
  const servers = new Set(settings.servers.map((s) => s.name));
  const metrics = new GatewayMetrics({
    servers: () => servers,
    sandboxOf: (server) => core.upstreams.get(server)?.sandboxType ?? "none",
    openSessions,
    upstreamInstances: () => core.instanceCount(),
  });
  core.audit.observe((entry) => metrics.observe(entry));
  return { metrics, access };
}

/**
 * The stores the settings name, the identity provider's keys (when an issuer is set) and the eager
 * servers. Throws a SettingsError when a store URL names an unset variable.
 */
export function readinessChecks(
  core: Gateway,
  settings: ResolvedSettings,
  env: NodeJS.ProcessEnv,
  keysReachable: ((signal: AbortSignal) => Promise<void>) | undefined,
): { run: () => Promise<ReadinessReport>; close(): void } {
  const fixed: ReadinessCheck[] = [];
  const closers: (() => void)[] = [];
  if (settings.state.redis) {
    const redis = redisCheck(expandString(settings.state.redis, env, { file: "settings", path: "state.redis" }));
    fixed.push(redis);
    closers.push(() => redis.close());
  }
  if (settings.state.postgres) fixed.push(postgresCheck(expandString(settings.state.postgres, env, { file: "settings", path: "state.postgres" })));
  if (keysReachable) fixed.push({ name: "identity-provider", check: keysReachable });
  return {
    run: () => {
      const servers: ReadinessCheck[] = core.eagerStates().map((u) => ({
        name: `server:${u.name}`,
        check: async () => {
          if (u.state !== "ready") throw new Error(`server '${u.name}' is ${u.state}${u.error ? `: ${u.error}` : ""}`);
        },
      }));
      return runReadiness([...fixed, ...servers]);
    },
    close: () => closers.forEach((c) => c()),
  };
}

export interface ReloadOptions {
  core: Gateway;
  env: NodeJS.ProcessEnv;
  cliFiles: string[];
  initial: ResolvedSettings;
  /** Loads and validates like the command line does (throws with a message on any error). */
  load: () => ResolvedSettings;
  /** Compiles and installs the new rules; throws (nothing changed) when they do not compile. */
  applyPolicy: (next: ResolvedSettings) => Promise<void>;
  onResult?: (result: "applied" | "rejected") => void;
  /** Whether the rate limiter asks for principals' limits (some were set at start). */
  livePrincipalLimits: boolean;
  log: (m: string) => void;
}

/** Watches the settings files; valid changes are applied and audited, invalid ones audited and ignored. */
export function reloadSettings(opts: ReloadOptions): SettingsReloader {
  let current = opts.initial;
  const { core, log } = opts;
  return watchSettings<ResolvedSettings>({
    cwd: process.cwd(),
    env: opts.env,
    cliFiles: opts.cliFiles.map((f) => resolve(f)),
    directories: current.files.map((f) => dirname(f.file)),
    load: opts.load,
    apply: async (next) => {
      await opts.applyPolicy(next);
      const restart = fieldsNeedingRestart(current, next, opts.livePrincipalLimits);
      current = next;
      opts.onResult?.("applied");
      log(`settings reloaded: the rules are in force now${restart.length ? `; changes to ${restart.join(", ")} take effect after a restart` : ""}`);
      core.audit.append({
        kind: "gateway",
        event: "settings-reloaded",
        detail: { files: next.files.map((f) => `${f.layer}:${f.file}`), ...(restart.length ? { needsRestart: restart } : {}) },
      });
    },
    rejected: (error) => {
      opts.onResult?.("rejected");
      log(`settings reload rejected, the previous settings stay in force: ${error.message} (fix the file; it is read again when it changes)`);
      core.audit.append({ kind: "gateway", event: "settings-reload-rejected", decision: "deny", error: error.message });
    },
  });
}
