// Containers left behind by a gateway that died without removing them (killed with SIGKILL, a
// crash, a power cut while `--rm` had not run): every container mcp-warden starts carries the labels
// `mcp-warden=1`, `mcp-warden.gateway-pid=<pid>` and `mcp-warden.gateway-host=<hostname>`
// (container.ts). `reapContainers` lists them, and force-removes those whose gateway pid is not a
// live process on this host. A container whose labels are missing or malformed, or that another
// host started (an engine shared over DOCKER_HOST/CONTAINER_HOST), is never touched: its pid means
// nothing here. A pid that was reused by an unrelated process keeps its container alive (the safe
// way to be wrong); this gateway's own containers are always kept.
import { execFile } from "node:child_process";
import { hostname as osHostname } from "node:os";
import { engineEnvironment, HOST_LABEL, LABEL, PID_LABEL, type ContainerEngine } from "./container.js";

export interface ReapOptions {
  /** The engine executable; default the engine's name, looked up on the PATH of `env`. */
  executable?: string;
  /** The engine client's environment; default engineEnvironment(process.env). */
  env?: NodeJS.ProcessEnv;
  /** This host's name, compared with the `mcp-warden.gateway-host` label; default os.hostname(). */
  hostname?: string;
  /** Whether a pid is a live process; default: `kill(pid, 0)` succeeds or fails with EPERM. */
  isAlive?: (pid: number) => boolean;
  /** Per engine command; default 15000 ms. */
  timeoutMs?: number;
}

export interface ReapReport {
  /** IDs of the containers removed. */
  removed: string[];
  /** IDs kept because their gateway is alive (or is this process). */
  alive: string[];
  /** IDs (or raw lines) not judged: no or malformed labels, or started by another host. */
  skipped: string[];
  /** Why listing or removing failed, when it did; then `removed` holds only the IDs the engine confirmed. */
  error?: string;
}

/** The `ps` format: ID, gateway pid and gateway host, space-separated (labels hold no spaces we write). */
export const REAP_PS_FORMAT = `{{.ID}} {{.Label "${PID_LABEL}"}} {{.Label "${HOST_LABEL}"}}`;
/** Podman's (4.x has no `.Label` method; its `.Labels` is a map; a missing key prints "<no value>", which is skipped). */
export const PODMAN_REAP_PS_FORMAT = `{{.ID}} {{index .Labels "${PID_LABEL}"}} {{index .Labels "${HOST_LABEL}"}}`;

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists and belongs to someone else. Anything but ESRCH: assume alive.
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function run(executable: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<{ ok: boolean; stdout: string; why: string }> {
  return new Promise((resolve) => {
    execFile(executable, args, { env, timeout, killSignal: "SIGKILL", maxBuffer: 8 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        const why =
          e.code === "ENOENT" ? `\`${executable}\` not found` : e.killed ? `\`${executable} ${args[0]}\` did not answer within ${timeout} ms` : (stderr.trim() || err.message).slice(0, 400);
        resolve({ ok: false, stdout, why });
      } else resolve({ ok: true, stdout, why: "" });
    });
  });
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Removes the labelled containers of gateways that are no longer running on this host. */
export async function reapContainers(engine: ContainerEngine, opts: ReapOptions = {}): Promise<ReapReport> {
  const executable = opts.executable ?? engine;
  const env = opts.env ?? engineEnvironment(process.env);
  const host = opts.hostname ?? osHostname();
  const isAlive = opts.isAlive ?? defaultIsAlive;
  const timeout = opts.timeoutMs ?? 15_000;
  const report: ReapReport = { removed: [], alive: [], skipped: [] };

  const listed = await run(executable, ["ps", "--all", "--no-trunc", "--filter", `label=${LABEL}=1`, "--format", engine === "podman" ? PODMAN_REAP_PS_FORMAT : REAP_PS_FORMAT], env, timeout);
  if (!listed.ok) return { ...report, error: `listing ${engine} containers failed: ${listed.why}` };

  const dead: string[] = [];
  for (const line of listed.stdout.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === "") continue;
    const [id, pidText, owner] = fields;
    if (id === undefined || !CONTAINER_ID.test(id)) {
      report.skipped.push(line.trim());
      continue;
    }
    if (fields.length !== 3 || pidText === undefined || !/^[1-9]\d{0,9}$/.test(pidText) || owner !== host) {
      report.skipped.push(id);
      continue;
    }
    const pid = Number(pidText);
    if (pid === process.pid || isAlive(pid)) report.alive.push(id);
    else dead.push(id);
  }
  if (dead.length === 0) return report;

  const removed = await run(executable, ["rm", "--force", ...dead], env, timeout);
  if (!removed.ok) {
    // Some may be gone already (their own --rm); say which ones the engine still lists as removed.
    const gone = removed.stdout.split("\n").map((l) => l.trim()).filter((l) => dead.includes(l));
    return { ...report, removed: gone, error: `removing ${engine} containers failed: ${removed.why}` };
  }
  report.removed = dead;
  return report;
}
