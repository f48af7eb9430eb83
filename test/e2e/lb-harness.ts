// A real load balancer for tests of several `serve` replicas: HAProxy from Debian, in the
// foreground, on 127.0.0.1 only, with its configuration in a temporary directory. Round robin over
// the backends, health checks every 300 ms, and a failed connection retried on another backend
// (`option redispatch`), as a production front of replicas would be set up.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "./harness.js";

export interface LoadBalancer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Why HAProxy cannot run here, or undefined. */
export function haproxyProblem(): string | undefined {
  return spawnSync("haproxy", ["-v"], { stdio: "ignore" }).status === 0 ? undefined : "haproxy is not installed (apt-get install haproxy; .ci/run does this)";
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Starts HAProxy in front of `backends` (ports on 127.0.0.1); `mode: "http"` balances each request,
 * "tcp" each connection. `reuse`: keep connections to the backends open and share them between
 * requests (`http-reuse always`), as a production front does; by default each request gets its own
 * backend connection, so a test sees every request reach the replica it was balanced to.
 */
export async function startHaproxy(backends: number[], opts: { mode?: "http" | "tcp"; reuse?: boolean } = {}): Promise<LoadBalancer> {
  const problem = haproxyProblem();
  if (problem !== undefined) throw new Error(problem);
  const dir = mkdtempSync(join(tmpdir(), "warden-lb-"));
  const port = await closedPort();
  const mode = opts.mode ?? "http";
  const cfg = [
    "global",
    "  maxconn 256",
    "defaults",
    `  mode ${mode}`,
    "  timeout connect 2s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  retries 3",
    "  option redispatch",
    ...(mode === "http" ? (opts.reuse ? ["  option http-keep-alive", "  http-reuse always"] : ["  option http-server-close"]) : []),
    "frontend fe",
    `  bind 127.0.0.1:${port}`,
    "  default_backend replicas",
    "backend replicas",
    "  balance roundrobin",
    ...backends.map((p, i) => `  server r${i + 1} 127.0.0.1:${p} check inter 300ms fall 2 rise 1`),
    "",
  ].join("\n");
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, cfg);
  let stderr = "";
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  child.once("exit", () => (exited = true));
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      for (let i = 0; i < 50 && !exited; i++) await new Promise((r) => setTimeout(r, 100));
      if (!exited) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (exited) break;
    if (await portOpen(port)) return { port, url: `http://127.0.0.1:${port}`, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`haproxy did not start: ${stderr}`);
}
