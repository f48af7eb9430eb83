// `/readyz`: whether this replica can serve calls now. Each check is bounded in time and run in
// parallel; any failure (a timeout and an exception included) counts as not ready. What is reported
// names the part and a reason a person can act on, never a password or a full connection string.
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

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
 * Redis answers PING (after AUTH when the URL carries credentials). RESP over a socket, since all
 * this needs is one round trip; the Redis state adapter's client can take this check's place.
 */
export function redisCheck(url: string): ReadinessCheck {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(u.port || 6379);
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const commands: string[][] = [];
  if (password) commands.push(user ? ["AUTH", user, password] : ["AUTH", password]);
  commands.push(["PING"]);
  const where = shownAddress(url);
  return {
    name: "redis",
    check: (signal) =>
      new Promise<void>((resolve, reject) => {
        const socket: Socket = u.protocol === "rediss:" ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
        let answer = "";
        const fail = (why: string) => {
          socket.destroy();
          reject(new Error(`redis at ${where}: ${why}`));
        };
        signal.addEventListener("abort", () => fail("no answer in time"), { once: true });
        socket.once("error", (e: NodeJS.ErrnoException) => fail(e.code === "ECONNREFUSED" ? "connection refused (is Redis running there?)" : (e.code ?? e.message)));
        socket.once(u.protocol === "rediss:" ? "secureConnect" : "connect", () => socket.write(commands.map(resp).join("")));
        socket.on("data", (d: Buffer) => {
          answer += d.toString("latin1");
          if (answer.length > 4096) return fail("an answer too long for PING");
          const lines = answer.split("\r\n").filter(Boolean);
          const error = lines.find((l) => l.startsWith("-"));
          // The server's own error text (e.g. NOAUTH, WRONGPASS) carries no secret of ours.
          if (error) return fail(`it answered ${error.slice(1, 120)}`);
          if (lines.length >= commands.length) {
            if (lines[lines.length - 1] !== "+PONG") return fail("it did not answer PONG");
            socket.end();
            resolve();
          }
        });
      }),
  };
}

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
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
