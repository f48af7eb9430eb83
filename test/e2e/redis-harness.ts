// Redis for the shared-state tests: the machine's Redis on 127.0.0.1:6379 (never stopped by a test:
// other runs use it), keys under a random prefix removed afterwards; and private redis-server
// processes on free 127.0.0.1 ports, without persistence, that a test may stop, pause and restart.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { closedPort } from "./harness.js";

export const MACHINE_REDIS_URL = "redis://127.0.0.1:6379/0";

/** Why the Redis tests cannot run here, or undefined when they can (redis-server installed). */
export function redisUnavailable(): string | undefined {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "redis-server is not installed (.ci/run installs it: apt-get install redis-server)";
}

/** A random key prefix for one test file's keys on the machine's Redis. */
export function testKeyPrefix(): string {
  return `mcp-warden-test:${randomBytes(6).toString("hex")}:`;
}

/** Deletes every key under `prefix` (SCAN, bounded), returning how many there were. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  // Globs in the prefix are escaped: the prefixes used here have none, but a copy-paste must not widen the match.
  const pattern = prefix.replace(/[*?[\]\\]/g, "\\$&") + "*";
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length) deleted += await client.del(...keys);
    cursor = next;
    if (cursor === "0") break;
  }
  return deleted;
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** Whether the process is running now. */
  running(): boolean;
  /** SIGKILL and wait for the exit (the data go with it: no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill) and waits until it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that holds connections open but answers nothing. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free 127.0.0.1 port, no persistence, and waits until it answers. */
export async function startPrivateRedis(options: { password?: string } = {}): Promise<PrivateRedis> {
  const port = await closedPort();
  let child: ChildProcess | undefined;
  let stderr = "";
  const launch = async () => {
    const auth = options.password !== undefined ? ["--requirepass", options.password] : [];
    const c = spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", ...auth], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    c.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-10_000)));
    child = c;
    await waitForPing(port, options.password, () => (c.exitCode !== null ? `redis-server exited (${c.exitCode}): ${stderr}` : undefined));
  };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async () => {
    const c = child;
    if (!c || !running()) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGCONT");
    c.kill("SIGKILL");
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    running,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    stop: kill,
  };
}

/** PINGs a Redis until it answers (at most 10 s, 100 attempts). */
async function waitForPing(port: number, password: string | undefined, failed: () => string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const why = failed();
    if (why) throw new Error(why);
    const client = new Redis({ host: "127.0.0.1", port, ...(password !== undefined ? { password } : {}), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the private redis-server on 127.0.0.1:${port} did not answer PING within 10 s`);
}
