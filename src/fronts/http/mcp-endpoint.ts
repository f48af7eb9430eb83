// `/mcp`: one Streamable HTTP endpoint for both protocol eras, over the gateway core.
// - 2026-07-28: stateless, POST only; each request gets a fresh SDK server instance for its caller
//   (the SDK's createMcpHandler checks MCP-Protocol-Version, Mcp-Method and Mcp-Name against the
//   body); GET and DELETE get 405.
// - 2025 revisions: sessions bound to their principal (sessions.ts), the GET stream, DELETE; shared
//   between replicas through the session store when there is one.
// The caller was authenticated by serve.ts before anything here runs.
import { createMcpHandler, isLegacyRequest, type AuthInfo } from "@modelcontextprotocol/server";
import type { AuditSink } from "../../audit/index.js";
import type { Gateway } from "../../gateway/gateway.js";
import { type Downstream, makeDownstream } from "../../gateway/downstream.js";
import type { Principal } from "../../policy/principal.js";
import { jsonError } from "./http-server.js";
import type { SessionStore } from "../../state/session-store.js";
import { LegacySessions, type SessionLimits } from "./sessions.js";

export interface Caller {
  principal: Principal;
  owner: string;
  address: string;
}

export interface McpEndpoint {
  handle(request: Request, parsedBody: unknown, caller: Caller): Promise<Response>;
  readonly sessions: LegacySessions;
  close(): Promise<void>;
}

/** The downstream of one 2026-07-28 request travels to the server factory inside AuthInfo.extra. */
const DOWNSTREAM = "mcpWardenDownstream";

export function mcpEndpoint(
  core: Gateway,
  audit: AuditSink,
  opts: { sessions: SessionLimits; maxBodyBytes: number; log: (m: string) => void; /** Shares 2025-era sessions between replicas (state.redis). */ sessionStore?: SessionStore },
): McpEndpoint {
  const modern = createMcpHandler(
    (ctx) => {
      const d = ctx.authInfo?.extra?.[DOWNSTREAM] as Downstream | undefined;
      // Never served without a caller: the front authenticates before any request reaches here.
      if (!d) throw new Error("no authenticated caller for this request");
      return core.serverFor(d);
    },
    { legacy: "reject", maxRequestBodySize: opts.maxBodyBytes, onerror: (e) => opts.log(`2026-07-28 request: ${e.message}`) },
  );
  // List changes reach 2026-07-28 clients through their subscriptions/listen streams.
  const unlisten = core.onListChanged((kind) => {
    if (kind === "tools") modern.notify.toolsChanged();
    else if (kind === "prompts") modern.notify.promptsChanged();
    else modern.notify.resourcesChanged();
  });
  const sessions = new LegacySessions(core, audit, {
    limits: opts.sessions,
    maxBodyBytes: opts.maxBodyBytes,
    log: opts.log,
    ...(opts.sessionStore ? { store: opts.sessionStore } : {}),
  });

  return {
    sessions,
    async handle(request, parsedBody, caller) {
      const legacy = request.method !== "POST" || (await isLegacyRequest(request, parsedBody, { maxRequestBodySize: opts.maxBodyBytes }));
      if (legacy) return sessions.handle(request, parsedBody, caller);
      const mismatch = paramHeaderMismatch(request.headers, parsedBody);
      if (mismatch) return jsonError(400, `Bad Request: ${mismatch}`, {}, -32600);
      const d = makeDownstream(caller.principal, { remote: true, address: caller.address });
      const authInfo: AuthInfo = {
        // The SDK's type wants the token; the caller's token is never passed on (not upstream, not here).
        token: "",
        clientId: caller.principal.clientId ?? caller.principal.subject,
        scopes: [...caller.principal.scopes],
        extra: { [DOWNSTREAM]: d },
      };
      return modern.fetch(request, { authInfo, parsedBody });
    },
    async close() {
      unlisten();
      sessions.close();
      await modern.close().catch(() => undefined);
    },
  };
}

/**
 * `Mcp-Param-<name>` headers mirror a tools/call argument for intermediaries: each must name an
 * argument of the body with exactly that value, so that what a proxy or WAF judged by the headers is
 * what the gateway judges by the body.
 */
export function paramHeaderMismatch(headers: Headers, body: unknown): string | undefined {
  const mirrored: [string, string][] = [];
  headers.forEach((value, key) => {
    if (key.startsWith("mcp-param-")) mirrored.push([key.slice("mcp-param-".length), value]);
  });
  if (!mirrored.length) return undefined;
  const b = body as { method?: unknown; params?: { arguments?: unknown } } | null;
  const args = b && typeof b === "object" && b.method === "tools/call" && b.params?.arguments && typeof b.params.arguments === "object" ? (b.params.arguments as Record<string, unknown>) : undefined;
  if (!args) return "Mcp-Param-* headers are only for tools/call requests with arguments";
  for (const [name, value] of mirrored) {
    const key = Object.keys(args).find((k) => k.toLowerCase() === name);
    const arg = key === undefined ? undefined : args[key];
    const shown = typeof arg === "string" ? arg : typeof arg === "number" || typeof arg === "boolean" ? String(arg) : undefined;
    if (shown === undefined || shown !== value.trim()) return `header Mcp-Param-${name} does not match the body's argument`;
  }
  return undefined;
}
