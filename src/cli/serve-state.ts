// serve's shared state (`state.redis`): one Redis client per process for the rate limiter's buckets
// (when limits are configured) and the 2025-era sessions, so that every replica meters the same
// callers and serves the same sessions.
// With rate limits, Redis unreachable at start-up stops serve (the limits the settings ask for could
// not be shared). Without them, serve starts and connects in the background: until Redis answers,
// sessions stay on the replica that opened them (and /readyz says Redis is not ready). An outage
// later is each user's to handle (the limiter's onStoreError; sessions: sessions.ts), and the client
// reconnects by itself.
import type { LimitStore } from "../limits/index.js";
import type { ResolvedSettings } from "../settings/index.js";
import type { SessionStore } from "../state/session-store.js";

export interface SharedState {
  /** The rate limiter's buckets in Redis; only when rate limits are configured. */
  limitStore?: LimitStore;
  /** The 2025-era sessions in Redis. */
  sessionStore: SessionStore;
  close(): Promise<void>;
}

/** Whether the settings ask for any rate limit (the remote ones or a principal entry's own). */
export function wantsRateLimits(settings: ResolvedSettings): boolean {
  const r = settings.remote?.rateLimits;
  const remote = r !== undefined && (r.global !== undefined || r.perPrincipal !== undefined || Object.keys(r.perTool ?? {}).length > 0 || Object.keys(r.perServer ?? {}).length > 0);
  return remote || Object.values(settings.principals ?? {}).some((e) => e.rateLimits !== undefined);
}

/**
 * The Redis-backed stores when `state.redis` is set; undefined otherwise (buckets and sessions stay
 * in memory). Throws an Error whose message says what to do when the URL cannot be expanded, or when
 * rate limits are configured and Redis cannot be reached.
 */
export async function openSharedState(
  settings: ResolvedSettings,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
  opts: { commandTimeoutMs: number; sessions: { idleMs: number; maxMs: number; maxPerPrincipal: number } },
): Promise<SharedState | undefined> {
  const configured = settings.state?.redis;
  if (!configured) return undefined;
  const { expandString } = await import("../settings/expand.js");
  const { openRedis, openRedisInBackground } = await import("../state/redis.js");
  const { RedisSessionStore } = await import("../state/session-store.js");
  const url = expandString(configured, env, { file: "settings", path: "state.redis" });
  const redisOptions = { url, commandTimeoutMs: opts.commandTimeoutMs, log: (m: string) => log(`shared state: ${m}`) };
  const limits = wantsRateLimits(settings);
  const client = limits ? await openRedis(redisOptions) : await openRedisInBackground(redisOptions);
  const { RedisLimitStore } = limits ? await import("../limits/redis-store.js") : { RedisLimitStore: undefined };
  return {
    ...(RedisLimitStore ? { limitStore: new RedisLimitStore({ client }) } : {}),
    sessionStore: new RedisSessionStore({ client, limits: opts.sessions }),
    close: async () => {
      // QUIT waits for answers in flight; a Redis that is away gets a plain disconnect.
      if (client.status !== "ready") return client.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
