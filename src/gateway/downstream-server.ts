// The MCP server a client talks to, one per downstream (gateway.ts's connect/serverFor): what a
// caller may see in each list (its rules, then the integrity review), paged, and the forwarded
// methods, which the core runs through the pipeline.
import { ProtocolError, Server, type ServerContext } from "@modelcontextprotocol/server";
import type { AuditSink } from "../audit/index.js";
import { canonicalToolName, type CompiledPolicy } from "../policy/index.js";
import type { Principal } from "../policy/principal.js";
import type { ResolvedSettings } from "../settings/index.js";
import type { Upstream } from "../upstream/upstream.js";
import type { Catalog } from "./catalog.js";
import type { Downstream } from "./downstream.js";
import { GatewayError } from "./errors.js";
import type { IntegrityGate, ItemKind } from "./integrity.js";
import { pageOf } from "./paging.js";
import type { ForwardedMethod } from "./pipeline.js";

export const VERSION = "0.1.0";

/** What the downstream server needs of the gateway's core. */
export interface DownstreamHost {
  gateway: ResolvedSettings["gateway"];
  integrity: IntegrityGate;
  audit: AuditSink;
  /** The configured upstreams (roots and logging notices go to all of them). */
  upstreams: ReadonlyMap<string, Upstream>;
  /** The upstreams a caller reaches and the catalog naming their items. */
  viewOf(d: Downstream): { upstreams: ReadonlyMap<string, Upstream>; catalog: Catalog };
  /** Starts what never started, waiting (bounded) for those starting. */
  startAll(upstreams: ReadonlyMap<string, Upstream>): Promise<void>;
  policyFor(p: Principal): CompiledPolicy;
  forward(method: ForwardedMethod, params: unknown, ctx: ServerContext, d: Downstream): Promise<unknown>;
  verifyRequestState: (state: string, ctx: ServerContext) => unknown;
  /** Bumped when any list changes: a cursor of an older generation is refused. */
  listGeneration(): number;
}

export function toProtocolError(e: GatewayError): Error {
  return new ProtocolError(e.code, e.message, e.data);
}

/** Waits, bounded (10 s), until no integrity review is under way (a tool is hidden until its review ends). */
export async function reviewsSettled(integrity: IntegrityGate): Promise<void> {
  const deadline = Date.now() + 10_000;
  // A list can be replaced (a server's list_changed) while an earlier review is awaited: wait again.
  while (integrity.busy && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([integrity.settled(), new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
  }
}

/**
 * Reads what the reviews let through once none is under way. `read` runs in the same tick as the
 * last check, so a list replaced between the wait and the read (its review started at once, see
 * Upstream.refreshLists) is waited for too, instead of being shown as "not reviewed yet". If the
 * wait runs out, what is unreviewed stays hidden (fail closed).
 */
export async function whenReviewed<T>(integrity: IntegrityGate, read: () => T): Promise<T> {
  for (let round = 0; round < 3; round++) {
    await reviewsSettled(integrity);
    if (!integrity.busy) break;
  }
  return read();
}

function instructions(g: ResolvedSettings["gateway"]): string {
  return g.prefix
    ? "mcp-warden gateway: tools of several MCP servers, each named <server>" + g.separator + "<tool>, checked against the user's policy."
    : "mcp-warden gateway: the tools of one MCP server under their own names, checked against the user's policy.";
}

/** Pages a merged list (paging.ts); a bad cursor is the client's error. The first page is audited when `audited` names the method. */
function page<K extends string, T>(host: DownstreamHost, key: K, items: T[], cursor: string | undefined, audited?: string, d?: Downstream): { [P in K]: T[] } & { nextCursor?: string } {
  if (audited && cursor === undefined) host.audit.append({ kind: "list", method: audited, ...(d ? { principal: d.audited } : {}), detail: { listed: items.length } });
  try {
    return pageOf(key, items, cursor, { size: host.gateway.pageSize, generation: host.listGeneration() });
  } catch (e) {
    throw e instanceof GatewayError ? toProtocolError(e) : e;
  }
}

async function listTools(host: DownstreamHost, d: Downstream, cursor: string | undefined) {
  const view = host.viewOf(d);
  await host.startAll(view.upstreams);
  let hidden = 0;
  // Filtered for this caller every time: a list is never cached across principals.
  const policy = host.policyFor(d.principal);
  const tools = await whenReviewed(host.integrity, () => {
    hidden = 0;
    return view.catalog.tools((upstream, tool) => {
      const v = policy.decideTool({ tool: canonicalToolName(upstream.name, tool.name), input: {} });
      const shown = v.decision !== "deny" && host.integrity.hiddenReason(upstream, tool.name, tool) === undefined;
      if (!shown) hidden++;
      return shown;
    });
  });
  if (cursor === undefined) host.audit.append({ kind: "list", method: "tools/list", principal: d.audited, detail: { listed: tools.length, hidden } });
  return page(host, "tools", tools, cursor);
}

export function buildDownstreamServer(host: DownstreamHost, d: Downstream): Server {
  const server = new Server(
    { name: "mcp-warden", version: VERSION },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        completions: {},
        logging: {},
      },
      instructions: instructions(host.gateway),
      requestState: { verify: host.verifyRequestState as never },
    },
  );
  d.server = server;
  server.setRequestHandler("tools/list", async (req) => listTools(host, d, req.params?.cursor));
  // What the integrity review let through, of servers the caller's rules do not deny whole.
  const itemsAllowed = (name: string) => host.policyFor(d.principal).decideServerItems(name).decision !== "deny";
  const shown = (kind: ItemKind) => (u: Upstream, item: { name?: string; uri?: string }) =>
    itemsAllowed(u.name) && host.integrity.hiddenReason(u, String(kind === "resources" ? item.uri : item.name), item, kind) === undefined;
  server.setRequestHandler("prompts/list", async (req) => {
    const view = host.viewOf(d);
    await host.startAll(view.upstreams);
    const prompts = await whenReviewed(host.integrity, () => view.catalog.prompts(shown("prompts")));
    return page(host, "prompts", prompts, req.params?.cursor, "prompts/list", d);
  });
  server.setRequestHandler("resources/list", async (req) => {
    const view = host.viewOf(d);
    await host.startAll(view.upstreams);
    const resources = await whenReviewed(host.integrity, () => view.catalog.resources(shown("resources")));
    return page(host, "resources", resources, req.params?.cursor, "resources/list", d);
  });
  server.setRequestHandler("resources/templates/list", async (req) => {
    const view = host.viewOf(d);
    await host.startAll(view.upstreams);
    const templates = await whenReviewed(host.integrity, () => view.catalog.resourceTemplates(shown("resourceTemplates")));
    return page(host, "resourceTemplates", templates, req.params?.cursor, "resources/templates/list") as never;
  });
  // The client's roots changed: tell every upstream (2025 era; 2026-07-28 servers ask per call).
  server.setNotificationHandler("notifications/roots/list_changed", async () => {
    for (const u of host.upstreams.values()) await u.notify("notifications/roots/list_changed");
  });
  const forward = (method: ForwardedMethod) => async (req: { params?: unknown }, ctx: ServerContext) => host.forward(method, req.params, ctx, d);
  server.setRequestHandler("tools/call", forward("tools/call") as never);
  server.setRequestHandler("prompts/get", forward("prompts/get") as never);
  server.setRequestHandler("resources/read", forward("resources/read") as never);
  server.setRequestHandler("resources/subscribe", forward("resources/subscribe") as never);
  server.setRequestHandler("resources/unsubscribe", forward("resources/unsubscribe") as never);
  server.setRequestHandler("completion/complete", forward("completion/complete") as never);
  server.setRequestHandler("logging/setLevel", async (req) => {
    await Promise.all(
      [...host.upstreams.values()]
        .filter((u) => u.state === "ready" && u.capabilities?.logging)
        .map((u) => u.request("logging/setLevel", req.params as Record<string, unknown>, {}).catch(() => undefined)),
    );
    return {};
  });
  return server;
}
