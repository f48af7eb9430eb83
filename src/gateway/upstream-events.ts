// What the gateway does when an upstream's state changes: the status file, the audit log, the
// integrity review of new lists (before clients are told to list again), and relaying the
// upstream's log lines and resource updates to the clients that may hear them.
import type { Server } from "@modelcontextprotocol/server";
import type { AuditSink } from "../audit/index.js";
import type { Upstream } from "../upstream/upstream.js";
import { safeName, stripControlsDeep } from "./terminal-text.js";

export interface UpstreamEventHooks {
  statusChanged(): void;
  log(message: string): void;
  /** Starts the integrity review of the upstream's current lists (read when an event comes, not at wiring). */
  review(upstream: Upstream): Promise<void>;
  audit: AuditSink;
  /** Called when the upstream starts (its process spawning, its handshake under way): this process waits for it. */
  starting(): void;
  /** Tells clients a list changed (after its review). */
  listChanged(kind: "tools" | "prompts" | "resources"): void;
  /** The downstream servers that may hear this upstream's notifications now. */
  listeners(): Server[];
  keepLogControlCharacters: boolean;
}

export function watchUpstream(upstream: Upstream, h: UpstreamEventHooks): void {
  upstream.on("state", () => {
    h.statusChanged();
    if (upstream.state === "starting" || upstream.state === "restarting") h.starting();
  });
  upstream.on("log", (message: string) => h.log(`${upstream.name}: ${message}`));
  upstream.on("listChanged", (kind: "tools" | "prompts" | "resources") => {
    // A new list is reviewed (pins, poisoning) before the client is told to list again.
    const reviewed = h.review(upstream);
    void reviewed.then(() => h.listChanged(kind));
  });
  upstream.on("notification", (n: { method: string; params?: Record<string, unknown> }) => {
    for (const server of h.listeners()) relayNotification(upstream, n, server, h.keepLogControlCharacters);
  });
  upstream.on("crashed", (why: string) => {
    h.audit.append({ kind: "server", event: "crashed", server: upstream.name, error: why });
  });
  upstream.on("restarting", (n: number) => h.audit.append({ kind: "server", event: "restarted", server: upstream.name, detail: { attempt: n } }));
  upstream.on("failed", (why: string) => h.audit.append({ kind: "server", event: "failed", server: upstream.name, error: why }));
  upstream.on("ready", () => {
    h.audit.append({ kind: "server", event: "started", server: upstream.name, detail: { tools: upstream.lists.tools.length, protocolVersion: upstream.protocolVersion, sandbox: upstream.sandboxType ?? "none" } });
    // Started synchronously, so no request can see this server's tools before their review.
    void h.review(upstream);
  });
}

/** An upstream's log line or resource update, to one client. */
function relayNotification(upstream: Upstream, n: { method: string; params?: Record<string, unknown> }, d: Server, keepControls: boolean): void {
  if (n.method === "notifications/message" && n.params) {
    // A terminal shows these: the logger name never carries escapes or invisible characters, the
    // data not unless integrity.keepLogControlCharacters says so.
    const logger = typeof n.params.logger === "string" ? `${upstream.name}/${safeName(n.params.logger)}` : upstream.name;
    const params = keepControls ? n.params : (stripControlsDeep(n.params) as Record<string, unknown>);
    d.sendLoggingMessage({ ...params, logger } as never).catch(() => undefined);
  } else if (n.method === "notifications/resources/updated" && n.params) {
    d.sendResourceUpdated(n.params as never).catch(() => undefined);
  }
}
