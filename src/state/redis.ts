// The connection to Redis for shared state (`state.redis`): one client per process, set to fail fast
// while Redis is away so that each caller decides what an outage means (rate limits:
// remote.rateLimits.onStoreError) instead of waiting in a queue, and to reconnect on its own.
import { Redis } from "ioredis";

export interface OpenRedisOptions {
  /** The `state.redis` URL, `${VAR}` already expanded. */
  url: string;
  /** Longest wait for one command's answer (default 250 ms): past it the command rejects. */
  commandTimeoutMs?: number;
  /** Longest wait for the first connection (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Told when the connection is lost and when it is back (once each, not per retry). */
  log?: (message: string) => void;
  /**
   * false: a Redis that cannot be reached at start-up is logged, not thrown, and the client keeps
   * trying (for state that each replica can do without meanwhile). Default true.
   */
  required?: boolean;
}

/** Redis could not be reached or refused the connection at start-up; the message says what to do. */
export class RedisUnavailable extends Error {}

/** Reconnect attempts back off to at most this far apart, and never give up. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * Connects and resolves once Redis answers; rejects with RedisUnavailable (naming the host, never the
 * password) when it does not. The client then reconnects by itself after any loss.
 */
export async function openRedis(options: OpenRedisOptions): Promise<Redis> {
  const where = redisLocation(options.url);
  const log = options.log ?? (() => undefined);
  const client = new Redis(options.url, {
    lazyConnect: true,
    // While disconnected a command fails at once rather than queueing for a later connection.
    enableOfflineQueue: false,
    // A command sent just before a connection dropped is not replayed after the caller was answered:
    // a replayed rate-limit take would spend tokens for a call that was already refused or metered locally.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
  });
  let up = false;
  /** The first connection's own error: a refused password shows here, while connect() only says "Connection is closed". */
  let startError: Error | undefined;
  // Without an 'error' listener ioredis prints every failed reconnect to stderr.
  client.on("error", (error: Error) => {
    startError ??= error;
    if (!up) return;
    up = false;
    log(`lost the connection to Redis at ${where} (${error.message}); reconnecting`);
  });
  client.on("close", () => {
    if (!up) return;
    up = false;
    log(`lost the connection to Redis at ${where}; reconnecting`);
  });
  try {
    await client.connect();
    await client.ping();
    up = true;
  } catch (error) {
    const reason = (startError ?? (error as Error)).message;
    const auth = /NOAUTH|WRONGPASS|invalid password|AUTH/i.test(reason);
    const next = auth ? "give the right user name and password in state.redis (e.g. redis://:${REDIS_PASSWORD}@host:6379/0)" : "start Redis there or correct state.redis";
    const message = `cannot ${auth ? "log in to" : "reach"} Redis at ${where} (state.redis): ${reason}; ${next}`;
    if (options.required ?? true) {
      client.disconnect();
      throw new RedisUnavailable(message);
    }
    // The client goes on reconnecting by itself (its retry strategy).
    log(`${message}; retrying`);
  }
  client.on("ready", () => {
    if (up) return;
    up = true;
    log(`the connection to Redis at ${where} is back`);
  });
  return client;
}

/** `host:port/db` of a Redis URL, for messages: no user name, no password. */
export function redisLocation(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "6379"}${u.pathname && u.pathname !== "/" ? u.pathname : ""}`;
  } catch {
    return "(an unparsable URL)";
  }
}
