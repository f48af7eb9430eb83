// The connection to Redis for shared state (`state.redis`): one client per process, set to fail fast
// while Redis is away so that each caller decides what an outage means (rate limits:
// remote.rateLimits.onStoreError; sessions: they stay on their replica) instead of waiting in a
// queue, and to reconnect on its own.
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
  const client = newClient(options, true);
  /** The first connection's own error: a refused password shows here, while connect() only says "Connection is closed". */
  let startError: Error | undefined;
  const noteStartError = (error: Error) => void (startError ??= error);
  client.on("error", noteStartError);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    const reason = (startError ?? (error as Error)).message;
    const auth = /NOAUTH|WRONGPASS|invalid password|AUTH/i.test(reason);
    const next = auth ? "give the right user name and password in state.redis (e.g. redis://:${REDIS_PASSWORD}@host:6379/0)" : "start Redis there or correct state.redis";
    throw new RedisUnavailable(`cannot ${auth ? "log in to" : "reach"} Redis at ${where} (state.redis): ${reason}; ${next}`);
  } finally {
    client.off("error", noteStartError);
  }
  watchConnection(client, where, options.log ?? (() => undefined), true);
  return client;
}

/**
 * A client that connects in the background and keeps trying: for state whose users carry on without
 * Redis (sessions stay on their replica), so that serve starts while Redis is away. Resolves once the
 * first attempt has ended (connected or failed, at most `firstAttemptMs`), so that a Redis that is up
 * serves the first requests. Its commands fail at once while the connection is down. The first
 * connection and every loss and return are logged once each.
 */
export async function openRedisInBackground(options: OpenRedisOptions & { firstAttemptMs?: number }): Promise<Redis> {
  const where = redisLocation(options.url);
  const client = newClient(options, false);
  watchConnection(client, where, options.log ?? (() => undefined), false);
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const done = () => {
      client.off("ready", done);
      client.off("error", done);
      resolve();
    };
    client.once("ready", done);
    client.once("error", done);
    timer = setTimeout(done, options.firstAttemptMs ?? 2_000);
  });
  clearTimeout(timer);
  return client;
}

function newClient(options: OpenRedisOptions, lazyConnect: boolean): Redis {
  const client = new Redis(options.url, {
    lazyConnect,
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
  // Without an 'error' listener ioredis prints every failed reconnect to stderr.
  client.on("error", () => undefined);
  return client;
}

/** Logs a lost connection and its return, once each (not per retry). */
function watchConnection(client: Redis, where: string, log: (message: string) => void, connected: boolean): void {
  let up = connected;
  let everUp = connected;
  if (!connected) log(`connecting to Redis at ${where}`);
  const lost = (error?: Error) => {
    if (!up) return;
    up = false;
    log(`lost the connection to Redis at ${where}${error ? ` (${error.message})` : ""}; reconnecting`);
  };
  let toldUnreachable = false;
  client.on("error", (error: Error) => {
    if (!everUp && !toldUnreachable) {
      toldUnreachable = true;
      log(`cannot reach Redis at ${where} yet (${error.message}); retrying`);
    }
    lost(error);
  });
  client.on("close", () => lost());
  client.on("ready", () => {
    if (up) return;
    up = true;
    log(everUp ? `the connection to Redis at ${where} is back` : `connected to Redis at ${where}`);
    everUp = true;
  });
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
