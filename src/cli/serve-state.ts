// serve's shared state in Redis (`state.redis`): the limiter's buckets, when rate limits are
// configured, so that every replica meters the same callers; and the approvals, so that an approver
// answers on any replica a question another one holds (src/state/redis-approvals.ts). Redis
// unreachable at start-up stops serve (what the settings ask to share could not be); an outage later
// is the limiter's onStoreError to handle and leaves each replica its own questions, and the client
// reconnects by itself. Redis is inside the trust boundary: protect it with a password/ACL and TLS.
import type { Redis } from "ioredis";
import type { ApprovalBroker } from "../approvals/broker.js";
import type { SharedApprovals } from "../approvals/shared-approvals.js";
import type { LimitStore } from "../limits/index.js";
import type { ResolvedSettings } from "../settings/index.js";

export interface SharedLimitStore {
  store: LimitStore;
  /** Whether the Redis connection is up now (for a readiness probe). */
  reachable(): boolean;
}

export interface SharedState {
  /** The rate limits' buckets, when the settings configure any limit. */
  limits?: SharedLimitStore;
  /** Publishes `broker`'s questions and session grants to the other replicas, and answers theirs. */
  shareApprovals(broker: ApprovalBroker, opts: { sessionGrantMs: number; secrets: readonly string[] | undefined }): Promise<SharedApprovals>;
  close(): Promise<void>;
}

/** Whether the settings ask for any rate limit (the remote ones or a principal entry's own). */
export function wantsRateLimits(settings: ResolvedSettings): boolean {
  const r = settings.remote?.rateLimits;
  const remote = r !== undefined && (r.global !== undefined || r.perPrincipal !== undefined || Object.keys(r.perTool ?? {}).length > 0 || Object.keys(r.perServer ?? {}).length > 0);
  return remote || Object.values(settings.principals ?? {}).some((e) => e.rateLimits !== undefined);
}

/**
 * The connection to `state.redis`, with the Redis-backed limit store when limits are configured;
 * undefined without `state.redis`. Throws an Error whose message says what to do when the URL cannot
 * be expanded, or when Redis cannot be reached and rate limits need it (approvals alone do without
 * it until it answers: each replica then lists and answers its own questions).
 */
export async function openSharedState(
  settings: ResolvedSettings,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
  commandTimeoutMs: number,
): Promise<SharedState | undefined> {
  const configured = settings.state?.redis;
  if (!configured) return undefined;
  const { expandString } = await import("../settings/expand.js");
  const { openRedis } = await import("../state/redis.js");
  const url = expandString(configured, env, { file: "settings", path: "state.redis" });
  const limited = wantsRateLimits(settings);
  const client: Redis = await openRedis({ url, commandTimeoutMs, log: (m) => log(`shared state: ${m}`), required: limited });
  let limits: SharedLimitStore | undefined;
  if (limited) {
    const { RedisLimitStore } = await import("../limits/redis-store.js");
    limits = { store: new RedisLimitStore({ client }), reachable: () => client.status === "ready" };
  }
  let approvals: { close(): Promise<void> } | undefined;
  return {
    ...(limits ? { limits } : {}),
    shareApprovals: async (broker, opts) => {
      const { RedisSharedApprovals } = await import("../state/redis-approvals.js");
      const { compileRedactor } = await import("../audit/redact.js");
      const redactor = compileRedactor(opts.secrets);
      const shared = new RedisSharedApprovals({ client, broker, sessionGrantMs: opts.sessionGrantMs, log, redact: (value) => redactor.value(value) });
      approvals = shared;
      // Not fatal: until the subscription is up, this replica answers its own questions only.
      if (client.status === "ready" && !(await shared.ready(SUBSCRIBE_WAIT_MS))) log("shared approvals: not subscribed yet; answers from other replicas wait until it is");
      return shared;
    },
    close: async () => {
      await approvals?.close();
      // QUIT waits for answers in flight; a Redis that is away gets a plain disconnect.
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** How long serve's start waits for the approvals' subscription before it serves anyway. */
const SUBSCRIBE_WAIT_MS = 3_000;
