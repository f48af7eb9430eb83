// serve's shared state (`state.redis`): one Redis client per process for the rate limiter's buckets
// (when limits are configured), the 2025-era sessions and the approvals, so that every replica meters
// the same callers, serves the same sessions, and an approver answers on any replica a question
// another one holds (src/state/redis-approvals.ts); and the web console's sessions, so a person signed
// in through one replica is signed in on all (src/state/redis-console-sessions.ts).
// With rate limits, Redis unreachable at start-up stops serve (the limits the settings ask for could
// not be shared). Without them, serve starts and connects in the background: until Redis answers,
// sessions stay on the replica that opened them, each replica lists and answers its own questions,
// the console answers 503 (its sessions are kept in Redis only), and /readyz says Redis is not ready.
// An outage later is each user's to handle (the limiter's onStoreError; sessions: sessions.ts;
// approvals: redis-approvals.ts; the console: 503), and the client reconnects by itself. Redis is inside the trust boundary: protect it with a password/ACL and TLS.
import type { ApprovalBroker } from "../approvals/broker.js";
import type { SharedApprovals } from "../approvals/shared-approvals.js";
import type { IncidentReportStore } from "../fronts/console/incidents.js";
import type { ConsoleSessionStore } from "../fronts/console/sessions.js";
import type { LimitStore } from "../limits/index.js";
import type { ResolvedSettings } from "../settings/index.js";
import type { SessionStore } from "../state/session-store.js";

export interface SharedState {
  /** The rate limiter's buckets in Redis; only when rate limits are configured. */
  limitStore?: LimitStore;
  /** The 2025-era sessions in Redis. */
  sessionStore: SessionStore;
  /** Publishes `broker`'s questions and session grants to the other replicas, and answers theirs. */
  shareApprovals(broker: ApprovalBroker, opts: { sessionGrantMs: number; secrets: readonly string[] | undefined }): Promise<SharedApprovals>;
  /** The web console's sessions and sign-ins in Redis, so a person signed in on one replica is on all. */
  consoleSessions(times: { idleMs: number; maxMs: number }): ConsoleSessionStore;
  /** Finished incident reports in Redis, so that a report's link works on every replica. */
  incidentReports(): IncidentReportStore;
  close(): Promise<void>;
}

/** Whether the settings ask for any rate limit (the remote ones or a principal entry's own). */
export function wantsRateLimits(settings: ResolvedSettings): boolean {
  const r = settings.remote?.rateLimits;
  const remote = r !== undefined && (r.global !== undefined || r.perPrincipal !== undefined || Object.keys(r.perTool ?? {}).length > 0 || Object.keys(r.perServer ?? {}).length > 0);
  return remote || Object.values(settings.principals ?? {}).some((e) => e.rateLimits !== undefined);
}

/**
 * The Redis-backed stores when `state.redis` is set; undefined otherwise (buckets, sessions and
 * questions stay in this process). Throws an Error whose message says what to do when the URL cannot
 * be expanded, or when rate limits are configured and Redis cannot be reached.
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
  const { openRedis, openRedisInBackground, redisLocation } = await import("../state/redis.js");
  const { RedisSessionStore } = await import("../state/session-store.js");
  const { RedisConsoleSessions } = await import("../state/redis-console-sessions.js");
  const { RedisIncidentReports } = await import("../state/redis-incident-reports.js");
  const url = expandString(configured, env, { file: "settings", path: "state.redis" });
  const redisOptions = { url, commandTimeoutMs: opts.commandTimeoutMs, log: (m: string) => log(`shared state: ${m}`) };
  const limits = wantsRateLimits(settings);
  const client = limits ? await openRedis(redisOptions) : await openRedisInBackground(redisOptions);
  const { RedisLimitStore } = limits ? await import("../limits/redis-store.js") : { RedisLimitStore: undefined };
  let approvals: { close(): Promise<void> } | undefined;
  return {
    ...(RedisLimitStore ? { limitStore: new RedisLimitStore({ client }) } : {}),
    sessionStore: new RedisSessionStore({ client, limits: opts.sessions }),
    shareApprovals: async (broker, shareOpts) => {
      const { RedisSharedApprovals } = await import("../state/redis-approvals.js");
      const { compileRedactor } = await import("../audit/redact.js");
      const redactor = compileRedactor(shareOpts.secrets);
      const shared = new RedisSharedApprovals({ client, broker, sessionGrantMs: shareOpts.sessionGrantMs, log, redact: (value) => redactor.value(value) });
      approvals = shared;
      // Not fatal: until the subscription is up, this replica answers its own questions only.
      if (client.status === "ready" && !(await shared.ready(SUBSCRIBE_WAIT_MS))) log("shared approvals: not subscribed yet; answers from other replicas wait until it is");
      return shared;
    },
    consoleSessions: (times) => new RedisConsoleSessions({ client, ...times, where: redisLocation(url), log }),
    incidentReports: () => new RedisIncidentReports({ client }),
    close: async () => {
      await approvals?.close();
      // QUIT waits for answers in flight; a Redis that is away gets a plain disconnect.
      if (client.status !== "ready") return client.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** How long serve's start waits for the approvals' subscription before it serves anyway. */
const SUBSCRIBE_WAIT_MS = 3_000;
