// `mcp-warden serve` as the bench runs it: in front of server-everything over stdio, the echo tool
// allowed, pins off, the audit log on with the default fsync interval, one API key (and, when given,
// an OpenID issuer); optionally under `--cpu-prof`.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { generateApiKey, hashApiKey } from "../src/auth/api-keys.js";
import { AUDIT_DEFAULTS } from "../src/settings/index.js";
import { closedPort, EVERYTHING, scratch, type Scratch } from "../test/e2e/harness.js";
import { type Serving, startServe } from "../test/e2e/serve-harness.js";
import { descendants } from "./http-targets.js";

/** How serve names the upstream's echo: the server entry's name, `__`, the tool. */
export const SERVE_TOOL = "everything__echo";

export interface BenchServe {
  srv: Serving;
  s: Scratch;
  /** The API key's Authorization header value. */
  apiKeyAuth: string;
  /** The resource URL (the audience tokens must carry). */
  resource: string;
  pid: number;
  /** Where V8 writes the profile when started with `profile`. */
  profileDir?: string;
  stop(): Promise<void>;
}

export async function startBenchServe(opts: { issuer?: string; profile?: boolean } = {}): Promise<BenchServe> {
  const port = await closedPort();
  const key = generateApiKey();
  const s = scratch({
    permissions: { allow: ["mcp__everything__echo"] },
    mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } },
    integrity: { pins: false },
    // The default fsync interval, not the harness's shorter test value.
    audit: { fsyncIntervalMs: AUDIT_DEFAULTS.fsyncIntervalMs },
    remote: { listen: `127.0.0.1:${port}`, auth: { apiKeys: { bench: { hash: hashApiKey(key) } }, ...(opts.issuer ? { issuer: opts.issuer } : {}) } },
  });
  const profileDir = opts.profile ? join(s.dir, "profile") : undefined;
  if (profileDir) mkdirSync(profileDir);
  let srv: Serving;
  try {
    srv = await startServe(s, [], {}, profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []);
  } catch (e) {
    s.cleanup();
    throw e;
  }
  return {
    srv,
    s,
    apiKeyAuth: `Bearer ${key}`,
    resource: srv.url,
    pid: srv.child.pid!,
    ...(profileDir ? { profileDir } : {}),
    async stop() {
      const spawned = descendants(srv.child.pid!);
      try {
        await srv.stop();
      } finally {
        // serve stops its upstreams itself; anything left is killed, so nothing outlives the bench.
        for (const p of spawned) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            // already gone
          }
        }
        if (!profileDir) s.cleanup();
      }
    },
  };
}
