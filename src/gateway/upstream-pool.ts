// Remote mode: no upstream state is shared between principals unless a server says it may be.
// Each server entry's `share` says how its upstream is shared:
//   - `shared`: one instance for every caller (stateless tools; the default for remote HTTP servers);
//   - `perPrincipal`: one instance per principal, stopped when idle (the default for stdio servers);
//   - `perSession`: one per 2025-era session (a 2026-07-28 request has no session: per principal).
// A caller's view maps each server name to the instance that is theirs. Instances are created on
// first use and count against a bound; when it is reached a new caller is refused, never handed
// another principal's instance.
import { createHash } from "node:crypto";
import type { ConfiguredServer } from "../policy/types.js";
import type { Upstream } from "../upstream/upstream.js";
import type { Downstream } from "./downstream.js";
import { ErrorCodes, GatewayError } from "./errors.js";

export type ShareMode = "shared" | "perPrincipal" | "perSession";

export function shareModeOf(server: ConfiguredServer): ShareMode {
  // A token-exchange server's credential is its caller's: never shared (the schema refuses "shared").
  if (server.entry.tokenExchange) return server.entry.share === "perSession" ? "perSession" : "perPrincipal";
  return server.entry.share ?? (server.entry.url !== undefined ? "shared" : "perPrincipal");
}

export interface PoolOptions {
  /** An instance unused this long is stopped. */
  idleMs: number;
  /** Instances (of all servers) running at once. */
  maxInstances: number;
  /** Makes another instance of a server for a partition (planUpstreams' factory plus the gateway's wiring), first used by `caller`. */
  create(server: string, partition: string, caller: Downstream): Upstream;
  /** Told when an instance is stopped for good (review state, status). */
  onStopped(upstream: Upstream): void;
}

interface Instance {
  upstream: Upstream;
  lastUsed: number;
  /** Whose it is: the principal (Downstream.owner) and, per session, the session's hash. */
  owner: string;
  session?: string;
}

export class UpstreamPool {
  private readonly instances = new Map<string, Instance>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    /** The gateway's own instances: the `shared` servers use them. */
    private readonly shared: ReadonlyMap<string, Upstream>,
    private readonly opts: PoolOptions,
  ) {
    this.sweeper = setInterval(() => void this.sweep(Date.now()), Math.max(1000, Math.min(60_000, opts.idleMs / 4)));
    this.sweeper.unref();
  }

  /** The upstreams this caller reaches, by server name; creates the caller's own instances on first use. */
  viewFor(d: Downstream, now = Date.now()): Map<string, Upstream> {
    const view = new Map<string, Upstream>();
    for (const [name, upstream] of this.shared) {
      const mode = shareModeOf(upstream.server);
      if (mode === "shared") {
        view.set(name, upstream);
        continue;
      }
      const session = mode === "perSession" ? d.audited.session : undefined;
      const partition = partitionOf(session !== undefined ? `session|${session}` : `principal|${d.owner}`);
      const key = `${name}#${partition}`;
      let instance = this.instances.get(key);
      if (!instance) {
        if (this.instances.size >= this.opts.maxInstances) {
          throw new GatewayError(
            ErrorCodes.unavailable,
            `server '${name}' runs one instance per caller and ${this.opts.maxInstances} instances are running already; try again when others have gone idle`,
          );
        }
        instance = { upstream: this.opts.create(name, partition, d), lastUsed: now, owner: d.owner, ...(session !== undefined ? { session } : {}) };
        this.instances.set(key, instance);
      }
      instance.lastUsed = now;
      view.set(name, instance.upstream);
    }
    return view;
  }

  /** Whether this instance is the caller's own (its log lines and resource updates may reach them). */
  isFor(upstream: Upstream, d: Downstream): boolean {
    const i = this.instances.get(upstream.instanceKey);
    return i !== undefined && i.upstream === upstream && i.owner === d.owner && (i.session === undefined || i.session === d.audited.session);
  }

  /** Every instance this pool started (for status, orphan records and shutdown). */
  all(): Upstream[] {
    return [...this.instances.values()].map((i) => i.upstream);
  }

  /** Whose instance this is (Downstream.owner), or undefined for one this pool does not hold. */
  ownerOf(upstream: Upstream): string | undefined {
    const i = this.instances.get(upstream.instanceKey);
    return i !== undefined && i.upstream === upstream ? i.owner : undefined;
  }

  /** Takes every instance of a server out of the pool (a settings reload refused the server); the caller stops them. */
  takeServer(server: string): Upstream[] {
    const out: Upstream[] = [];
    for (const [key, i] of this.instances)
      if (i.upstream.name === server) {
        this.instances.delete(key);
        out.push(i.upstream);
      }
    return out;
  }

  async sweep(now: number): Promise<void> {
    const idle = [...this.instances].filter(([, i]) => now - i.lastUsed > this.opts.idleMs);
    for (const [key, i] of idle) {
      this.instances.delete(key);
      await i.upstream.stop().catch(() => undefined);
      this.opts.onStopped(i.upstream);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.upstream.stop().catch(() => undefined)));
  }
}

/** A partition's name in keys and file names: short, and no caller's identity in clear. */
function partitionOf(what: string): string {
  return createHash("sha256").update(what).digest("hex").slice(0, 12);
}
