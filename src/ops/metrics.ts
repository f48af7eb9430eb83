// `/metrics`: serve's counters in Prometheus' text format, kept with prom-client. Most are derived
// from the audit records the gateway writes anyway (one place sees every decision, outcome, restart
// and crash), the rest are told by the front (authentication failures, rate limits) or read when
// scraped (open sessions). Labels are only values the settings bound: server names, decisions,
// outcomes, sandbox types, limit kinds. Never a session id, a subject, a token or a tool argument.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { AuditEntry } from "../audit/record.js";

export interface GatewayMetricsOptions {
  /** Configured server names: any other value (an unknown tool's server) is counted as "unknown". */
  servers: () => ReadonlySet<string>;
  /** The sandbox type a server runs in ("none" when it has none), for sandbox failures. */
  sandboxOf: (server: string) => string | undefined;
  /** Open 2025-era sessions, read when scraped. */
  openSessions: () => number;
  /** Per-caller upstream instances running, read when scraped. */
  upstreamInstances?: () => number;
}

/** Seconds; a call through the gateway spans a local check (sub-millisecond) to a slow tool (minutes). */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<"server" | "decision">;
  private readonly latency: Histogram<"server" | "outcome">;
  private readonly authFailures: Counter<"status">;
  private readonly rateLimitedCalls: Counter<"limit">;
  private readonly restarts: Counter<"server">;
  private readonly sandboxFailures: Counter<"server" | "sandbox">;
  private readonly reloads: Counter<"result">;

  constructor(private readonly opts: GatewayMetricsOptions) {
    const registers = [this.registry];
    // Process metrics (CPU, memory, event-loop lag, open handles): what an operator looks at first.
    collectDefaultMetrics({ register: this.registry, prefix: "mcp_warden_" });
    this.calls = new Counter({ name: "mcp_warden_calls_total", help: "tools/call requests judged, by server and decision", labelNames: ["server", "decision"], registers });
    this.latency = new Histogram({
      name: "mcp_warden_call_duration_seconds",
      help: "Time from a tools/call's arrival to its answer, by server and outcome",
      labelNames: ["server", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.authFailures = new Counter({ name: "mcp_warden_auth_failures_total", help: "Requests refused by authentication or scopes, by HTTP status", labelNames: ["status"], registers });
    this.rateLimitedCalls = new Counter({ name: "mcp_warden_rate_limited_total", help: "Requests refused by a rate limit, by the kind of limit", labelNames: ["limit"], registers });
    this.restarts = new Counter({ name: "mcp_warden_upstream_restarts_total", help: "Restarts of upstream servers after a crash or a failed start", labelNames: ["server"], registers });
    this.sandboxFailures = new Counter({
      name: "mcp_warden_sandbox_failures_total",
      help: "Crashes of sandboxed upstream servers, and sandboxed servers given up on after failed starts, by server and sandbox type",
      labelNames: ["server", "sandbox"],
      registers,
    });
    this.reloads = new Counter({ name: "mcp_warden_settings_reloads_total", help: "Settings reloads, by result (applied, rejected)", labelNames: ["result"], registers });
    new Gauge({ name: "mcp_warden_open_sessions", help: "Open 2025-era sessions", registers, collect: gaugeReading(opts.openSessions) });
    if (opts.upstreamInstances)
      new Gauge({ name: "mcp_warden_upstream_instances", help: "Per-caller upstream server instances running", registers, collect: gaugeReading(opts.upstreamInstances) });
  }

  /** Reads one audit record as it is written. Never throws: metrics must not break the audit path. */
  observe(entry: AuditEntry): void {
    try {
      if (entry.kind === "call") this.observeCall(entry);
      else if (entry.kind === "server") this.observeServer(entry);
    } catch {
      // A metric that cannot be counted is lost, never the call.
    }
  }

  authFailure(status: number): void {
    this.authFailures.inc({ status: String(status) });
  }

  /** `limit` is the settings path of the refusing limit; only its kind becomes a label. */
  rateLimited(limit: string): void {
    this.rateLimitedCalls.inc({ limit: limitKind(limit) });
  }

  reload(result: "applied" | "rejected"): void {
    this.reloads.inc({ result });
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  private server(name: string | undefined): string {
    return name !== undefined && this.opts.servers().has(name) ? name : "unknown";
  }

  private observeCall(entry: AuditEntry) {
    const server = this.server(entry.server);
    if (entry.event === "decided") {
      this.calls.inc({ server, decision: entry.decision ?? "deny" });
      // A call that was not forwarded ends with this record; a forwarded one with "completed".
      if (entry.outcome === "denied" && entry.durationMs !== undefined) this.latency.observe({ server, outcome: "denied" }, entry.durationMs / 1000);
    } else if (entry.event === "completed" && entry.durationMs !== undefined) {
      this.latency.observe({ server, outcome: entry.outcome ?? "ok" }, entry.durationMs / 1000);
    }
  }

  private observeServer(entry: AuditEntry) {
    const server = this.server(entry.server);
    if (entry.event === "restarted") this.restarts.inc({ server });
    if (entry.event === "crashed" || entry.event === "failed") {
      const sandbox = entry.server !== undefined ? this.opts.sandboxOf(entry.server) : undefined;
      if (sandbox !== undefined && sandbox !== "none") this.sandboxFailures.inc({ server, sandbox });
    }
  }
}

function gaugeReading(read: () => number) {
  return function (this: Gauge) {
    this.set(read());
  };
}

const LIMIT_KINDS = new Set(["global", "perServer", "perPrincipal", "perTool", "onStoreError"]);

/** `remote.rateLimits.perTool.mcp__a__b` → "perTool"; `principals["user:x"].rateLimits.perTool.…` → "principal.perTool". */
export function limitKind(limit: string): string {
  const m = /rateLimits\.([A-Za-z]+)/.exec(limit);
  const kind = m && LIMIT_KINDS.has(m[1]!) ? m[1]! : "settings";
  return limit.startsWith("principals") ? `principal.${kind}` : kind;
}
