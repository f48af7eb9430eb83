// `/readyz`: whether this replica can serve calls now. Each check is bounded in time and run in
// parallel; any failure (a timeout and an exception included) counts as not ready. What is reported
// names the part and a reason a person can act on, never a password or a full connection string.
import type { Redis } from "ioredis";

export interface ReadinessCheck {
  /** Shown in the answer: "redis", "postgres", "identity-provider", "server:<name>". */
  name: string;
  /** Resolves when ready; rejects with a reason (no secrets) when not. */
  check(signal: AbortSignal): Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean; reason?: string }[];
}

/** Each check's bound; a probe runs every few seconds, so a slow store must not pile them up. */
export const CHECK_TIMEOUT_MS = 2000;

export async function runReadiness(checks: readonly ReadinessCheck[], timeoutMs = CHECK_TIMEOUT_MS): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      const signal = AbortSignal.timeout(timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
      try {
        await Promise.race([c.check(signal), timedOut]);
        return { name: c.name, ok: true };
      } catch (e) {
        return { name: c.name, ok: false, reason: scrub((e as Error)?.message ?? String(e)) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every((r) => r.ok), checks: results };
}

/** `scheme://user:password@host` in a reason becomes `scheme://host`: errors can quote the URL. */
export function scrub(reason: string): string {
  return reason.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, "$1").slice(0, 300);
}

/** Where a store URL points, for messages: scheme, host and port only. */
export function shownAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * Redis answers PING, on a connection of its own kept for the probes (ioredis, reconnecting by
 * itself): a probe sees the store as a new connection would, whatever the rate limits' client does.
 */
export function redisCheck(url: string): ReadinessCheck & { close(): void } {
  const where = shownAddress(url);
  let client: Redis | undefined;
  let lastError: string | undefined;
  const open = async (): Promise<Redis> => {
    const { Redis } = await import("ioredis");
    const c = new Redis(url, {
      lazyConnect: true,
      // A probe fails at once while disconnected: nothing queues for a later connection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: CHECK_TIMEOUT_MS,
      connectTimeout: CHECK_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    });
    // Also keeps ioredis from printing every failed reconnect.
    c.on("error", (e: NodeJS.ErrnoException) => (lastError = e.code === "ECONNREFUSED" ? "connection refused (is Redis running there?)" : e.message));
    c.on("ready", () => (lastError = undefined));
    c.connect().catch(() => undefined);
    return c;
  };
  return {
    name: "redis",
    async check() {
      client ??= await open();
      if (client.status !== "ready") {
        // The first probe may come while the connection is still being made.
        await new Promise<void>((resolve) => {
          const done = () => resolve();
          client!.once("ready", done);
          setTimeout(done, CHECK_TIMEOUT_MS / 2).unref();
        });
      }
      if (client.status !== "ready") throw new Error(`redis at ${where}: ${lastError ?? `not connected (${client.status})`}`);
      const answer = await client.ping().catch((e: Error) => {
        throw new Error(`redis at ${where}: ${scrub(e.message)}`);
      });
      if (answer !== "PONG") throw new Error(`redis at ${where}: it did not answer PONG`);
    },
    close() {
      client?.disconnect();
    },
  };
}

/** PostgreSQL answers `SELECT 1` over a fresh connection (pg), closed afterwards. */
export function postgresCheck(url: string): ReadinessCheck {
  const where = shownAddress(url);
  return {
    name: "postgres",
    async check(signal) {
      // pg ships no types of its own; the few calls made here are typed below.
      const pg = (await import(PG_MODULE)) as { default: { Client: new (cfg: Record<string, unknown>) => PgClient } };
      const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS, query_timeout: CHECK_TIMEOUT_MS });
      // An error after the check (the server going away) must not be an unhandled 'error' event.
      client.on("error", () => undefined);
      const onAbort = () => void client.end().catch(() => undefined);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        await client.connect();
        await client.query("SELECT 1");
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new Error(`postgres at ${where}: ${err.code === "ECONNREFUSED" ? "connection refused (is PostgreSQL running there?)" : scrub(err.message)}`);
      } finally {
        signal.removeEventListener("abort", onAbort);
        await client.end().catch(() => undefined);
      }
    },
  };
}

const PG_MODULE: string = "pg";

interface PgClient {
  on(event: "error", fn: (e: Error) => void): void;
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}
