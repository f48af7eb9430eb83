// serve's operations: the metrics and the readiness checks, built from the settings and the running
// core (the settings reload, which run uses too, is src/ops/settings-reload.ts). The HTTP routes that answer them are in src/fronts/http/serve.ts.
import type { Gateway } from "../gateway/gateway.js";
import { GatewayMetrics } from "../ops/metrics.js";
import { metricsAccess, type MetricsAccess } from "../ops/metrics-access.js";
import { postgresCheck, redisCheck, runReadiness, type ReadinessCheck, type ReadinessReport } from "../ops/readiness.js";
import type { ResolvedSettings } from "../settings/index.js";
import { expandString } from "../settings/expand.js";

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
