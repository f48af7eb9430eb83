// serve's shared state: with `state.redis` set and rate limits configured, the limiter's buckets live
// in Redis so that every replica meters the same callers. Redis unreachable at start-up stops serve
// (the limits the settings ask for could not be shared); an outage later is the limiter's
// onStoreError to handle, and the client reconnects by itself.
import type { LimitStore } from "../limits/index.js";
import type { ResolvedSettings } from "../settings/index.js";

export interface SharedLimitStore {
  store: LimitStore;
  /** Whether the Redis connection is up now (for a readiness probe). */
  reachable(): boolean;
  close(): Promise<void>;
}

/** Whether the settings ask for any rate limit (the remote ones or a principal entry's own). */
export function wantsRateLimits(settings: ResolvedSettings): boolean {
  const r = settings.remote?.rateLimits;
  const remote = r !== undefined && (r.global !== undefined || r.perPrincipal !== undefined || Object.keys(r.perTool ?? {}).length > 0 || Object.keys(r.perServer ?? {}).length > 0);
  return remote || Object.values(settings.principals ?? {}).some((e) => e.rateLimits !== undefined);
}

/**
 * The Redis-backed limit store when `state.redis` is set and limits are configured; undefined
 * otherwise (the limiter keeps its in-memory buckets). Throws an Error whose message says what to do
 * when the URL cannot be expanded or Redis cannot be reached.
 */
export async function openSharedLimitStore(
  settings: ResolvedSettings,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
  commandTimeoutMs: number,
): Promise<SharedLimitStore | undefined> {
  const configured = settings.state?.redis;
  if (!configured || !wantsRateLimits(settings)) return undefined;
  const { expandString } = await import("../settings/expand.js");
  const { openRedis } = await import("../state/redis.js");
  const { RedisLimitStore } = await import("../limits/redis-store.js");
  const url = expandString(configured, env, { file: "settings", path: "state.redis" });
  const client = await openRedis({ url, commandTimeoutMs, log: (m) => log(`rate limits: ${m}`) });
  return {
    store: new RedisLimitStore({ client }),
    reachable: () => client.status === "ready",
    close: async () => {
      // QUIT waits for answers in flight; a Redis that is away gets a plain disconnect.
      await client.quit().catch(() => client.disconnect());
    },
  };
}
