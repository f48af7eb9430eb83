// The live status a running gateway publishes for `mcp-warden status` and `mcp-warden approvals`:
// one file per gateway process in the runtime directory (0600), rewritten at most every 50 ms,
// atomically and without following a link planted at its name.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ensurePrivateDir, writeFileAtomic } from "../adapters/safe-files.js";
import { runtimeDir } from "../settings/paths.js";
import type { Tool } from "@modelcontextprotocol/server";
import type { Upstream } from "../upstream/upstream.js";

export interface ServerStatus {
  name: string;
  state: string;
  transport: string;
  tools: number;
  prompts: number;
  resources: number;
  restarts: number;
  protocolVersion?: string;
  lastError?: string;
  /** The last crash, also after a successful restart. */
  lastCrash?: { error: string; at: string };
  sandbox: string;
  stderrLog?: string;
  blockedBy?: string;
}

/** Each server's state: the running upstreams, then those the policy or their sandbox keep from running. */
export function serverStatuses(upstreams: Iterable<Upstream>, blocked: readonly { name: string; reason: string; transport: string }[]): ServerStatus[] {
  const out: ServerStatus[] = [];
  for (const u of upstreams) {
    out.push({
      name: u.name,
      state: u.state,
      transport: u.transportKind,
      tools: u.lists.tools.length,
      prompts: u.lists.prompts.length,
      resources: u.lists.resources.length,
      restarts: u.restarts,
      protocolVersion: u.protocolVersion,
      lastError: u.lastError,
      lastCrash: u.lastCrash,
      sandbox: u.sandboxType ?? "none",
      stderrLog: u.transportKind === "stdio" ? u.stderrLog : undefined,
    });
  }
  for (const b of blocked) out.push({ name: b.name, state: "blocked", transport: b.transport, tools: 0, prompts: 0, resources: 0, restarts: 0, sandbox: "none", blockedBy: b.reason });
  return out;
}

/** One running instance of a server and what the integrity review lets through of its tools (the console's Servers page). */
export interface InstanceStatus {
  /** The server's name, or `<name>#<partition>` for a caller's own instance (remote mode). */
  instance: string;
  /** Whose instance it is (Downstream.owner); undefined for the gateway's own. */
  owner?: string;
  state: string;
  restarts: number;
  lastError?: string;
  lastCrash?: { error: string; at: string };
  sandbox: string;
  protocolVersion?: string;
  /** What the server says it is (its initialize answer). */
  serverInfo?: { name: string; version: string };
  /** The tools as the upstream lists them, each with why the review hides it (undefined: passed). */
  tools: { tool: Tool; hidden?: string }[];
}

export function instanceStatus(u: Upstream, hiddenReason: (u: Upstream, name: string, item: object) => string | undefined, owner?: string): InstanceStatus {
  const info = u.serverInfo;
  return {
    instance: u.instanceKey,
    ...(owner !== undefined ? { owner } : {}),
    state: u.state,
    restarts: u.restarts,
    ...(u.lastError !== undefined ? { lastError: u.lastError } : {}),
    ...(u.lastCrash !== undefined ? { lastCrash: u.lastCrash } : {}),
    sandbox: u.sandboxType ?? "none",
    ...(u.protocolVersion !== undefined ? { protocolVersion: u.protocolVersion } : {}),
    ...(info ? { serverInfo: { name: String(info.name), version: String(info.version) } } : {}),
    tools: u.lists.tools.map((tool) => {
      const hidden = hiddenReason(u, tool.name, tool);
      return hidden === undefined ? { tool } : { tool, hidden };
    }),
  };
}

export class StatusFile {
  readonly file: string;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `snapshot` builds the content (already redacted); `onError` hears why a write failed. */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly snapshot: () => Record<string, unknown>,
    private readonly onError: (message: string) => void,
  ) {
    this.file = join(runtimeDir(env), `${process.pid}.json`);
  }

  /** Writes soon (coalescing bursts of state changes). */
  schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, 50);
    this.timer.unref();
  }

  write(): void {
    if (this.closed) return;
    try {
      ensurePrivateDir(runtimeDir(this.env));
      writeFileAtomic(this.file, JSON.stringify(this.snapshot(), null, 2));
    } catch (e) {
      this.onError(`cannot write status file: ${(e as Error).message}`);
    }
  }

  remove(): void {
    this.closed = true;
    clearTimeout(this.timer);
    rmSync(this.file, { force: true });
  }
}
