// `mcp-warden serve`: the gateway core behind an authenticated HTTP front for many users and agents.
// Request path: the listener's protections (http-server.ts) → authentication (never optional) →
// required scopes → rate limits → the MCP endpoint of either era (mcp-endpoint.ts), or Claude Code's
// http hook. Each piece is an adapter passed in, so this file only says in which order they run.
import type { AuditSink } from "../../audit/index.js";
import type { Gateway } from "../../gateway/gateway.js";
import { ownerOf, makeDownstream } from "../../gateway/downstream.js";
import type { Principal } from "../../policy/principal.js";
import type { RemoteSettings } from "../../settings/schema.js";
import { type FrontRequest, type HttpFront, jsonError, startHttpFront } from "./http-server.js";
import { type McpEndpoint, mcpEndpoint } from "./mcp-endpoint.js";
import { APPROVALS_PATH } from "./approvals-endpoint.js";
import { CONSOLE_PATH } from "../console/html.js";
import { CLAUDE_CODE_HOOK_PATH as HOOK_PATH } from "./claude-code-hook.js";
import type { MetricsAccess } from "../../ops/metrics-access.js";
import type { ReadinessReport } from "../../ops/readiness.js";
import type { SessionStore } from "../../state/session-store.js";

/** A refused authentication or authorization, as the authenticator reports it. */
export interface AuthRefusal {
  ok: false;
  status: number;
  description: string;
  /** The whole WWW-Authenticate value. */
  challenge: string;
  audit: { reason: string; method?: string; issuer?: string; subject?: string };
}

/** src/auth's authenticator, as the front uses it. */
export interface FrontAuthenticator {
  authenticate(authorization: string | undefined): Promise<{ ok: true; principal: Principal; /** The token's exp, seconds since the epoch. */ expiresAt?: number } | AuthRefusal>;
  checkScopes(principal: Principal, method: string, tool?: string): AuthRefusal | undefined;
  metadata(): { paths: string[]; document: Record<string, unknown> };
  close(): void;
}

/** src/limits' rate limiter, as the front uses it. */
export interface FrontLimiter {
  check(input: { principal: Principal; method: string; server?: string; tool?: string }): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number; limit: string; reason: string }>;
}

/** The metrics, as the front uses them. */
export interface FrontMetrics {
  text(): Promise<{ body: string; contentType: string }>;
  /** Who may read /metrics and /readyz's reasons. */
  access: MetricsAccess;
  authFailure(status: number): void;
  rateLimited(limit: string): void;
}

/** Claude Code's http hook (POST /v1/hooks/claude-code). */
export type HookHandler = (body: unknown, principal: Principal, signal: AbortSignal) => Promise<{ status: number; body: unknown }>;

export interface ServeOptions {
  core: Gateway;
  audit: AuditSink;
  remote: ResolvedRemote;
  authenticator: FrontAuthenticator;
  limiter?: FrontLimiter;
  hook?: HookHandler;
  /** `/v1/approvals`: the approver role's questions and answers (approvals-endpoint.ts). */
  approvals?: (request: Request, path: string, body: unknown, caller: { principal: Principal; address: string }) => Promise<Response>;
  /** Token exchange (src/auth/caller-tokens.ts): each OIDC caller's latest verified access token, in memory. */
  callerTokens?: { remember(owner: string, token: string, expiresAt: number | undefined): void };
  /** Whether to audit one more failed authentication from this address (a flood must not fill the log). */
  auditFailure?: (address: string) => boolean;
  /** `/metrics` and the counters the front moves (src/ops/metrics.ts). */
  metrics?: FrontMetrics;
  /** `/readyz`'s checks (src/ops/readiness.ts); without them the process is ready once it listens. */
  readiness?: () => Promise<ReadinessReport>;
  /** 2025-era sessions shared between replicas (state.redis); without it each replica keeps its own. */
  sessionStore?: SessionStore;
  /** The web console at /console (src/fronts/console/): its own sign-in, never a bearer token. */
  console?: { handle(req: FrontRequest): Promise<Response>; close(): Promise<void> };
  log: (message: string) => void;
}

/** `remote` with every default filled in. */
export interface ResolvedRemote {
  host: string;
  port: number;
  resource: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  trustedProxies: string[];
  tls?: { cert: string; key: string };
  maxBodyBytes: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  sessions: { idleMs: number; maxMs: number; maxPerPrincipal: number };
}

export const MCP_PATH = "/mcp";

/** Fills remote mode's defaults; `listen` from the command line wins over the settings. */
export function resolveRemote(remote: RemoteSettings | undefined, listenOverride?: string): ResolvedRemote {
  const r = remote ?? {};
  const listen = listenOverride ?? r.listen ?? "127.0.0.1:8787";
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new Error(`listen address '${listen}' is not HOST:PORT (e.g. 127.0.0.1:8787)`);
  const host = m[1]!.replace(/^\[|\]$/g, "");
  const port = Number(m[2]);
  const scheme = r.tls ? "https" : "http";
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const resource = r.resource ?? `${scheme}://${shownHost}:${port}${MCP_PATH}`;
  const resourceUrl = new URL(resource);
  const loopback = ["127.0.0.1", "localhost", "[::1]"];
  const allowedHosts = r.allowedHosts ?? [...new Set([shownHost, ...(loopback.includes(shownHost) ? loopback : []), resourceUrl.host, resourceUrl.hostname])];
  return {
    host,
    port,
    resource,
    allowedHosts,
    allowedOrigins: r.allowedOrigins ?? [resourceUrl.origin],
    trustedProxies: r.trustedProxies ?? [],
    ...(r.tls ? { tls: r.tls } : {}),
    maxBodyBytes: r.maxBodyBytes ?? 4 * 1024 * 1024,
    headersTimeoutMs: r.headersTimeoutMs ?? 10_000,
    idleTimeoutMs: r.idleTimeoutMs ?? 5_000,
    sessions: {
      idleMs: (r.sessions?.idleMinutes ?? 30) * 60_000,
      maxMs: (r.sessions?.maxHours ?? 12) * 3_600_000,
      maxPerPrincipal: r.sessions?.maxPerPrincipal ?? 16,
    },
  };
}

export interface Serving {
  /** The MCP endpoint's URL as bound (port 0 resolved). */
  url: string;
  front: HttpFront;
  endpoint: McpEndpoint;
  /** Drains the listener, then stops the core (upstreams, audit). */
  close(reason: string): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<Serving> {
  const { core, audit, remote, authenticator } = opts;
  const endpoint = mcpEndpoint(core, audit, {
    sessions: remote.sessions,
    maxBodyBytes: remote.maxBodyBytes,
    log: opts.log,
    ...(opts.sessionStore ? { sessionStore: opts.sessionStore } : {}),
  });
  const metadata = authenticator.metadata();
  const metadataPaths = new Set(metadata.paths);

  const refuseAuth = (r: AuthRefusal, address: string, path: string): Response => {
    opts.metrics?.authFailure(r.status);
    if (opts.auditFailure?.(address) ?? true) {
      audit.append({
        kind: "request",
        event: "auth-failed",
        reason: r.audit.reason,
        detail: { status: r.status, address, path, ...(r.audit.method ? { method: r.audit.method } : {}), ...(r.audit.issuer ? { issuer: r.audit.issuer } : {}), ...(r.audit.subject ? { subject: r.audit.subject } : {}) },
      });
    }
    return jsonError(r.status, r.description, { "www-authenticate": r.challenge });
  };

  const readiness = opts.readiness ? sharedRun(opts.readiness) : undefined;
  /** No authentication: probes and scrapers cannot log in. What each answer reveals is bounded instead. */
  const operations = async (path: string, req: FrontRequest): Promise<Response> => {
    const noStore = { "cache-control": "no-store" };
    // Alive and serving: this very answer proves it, and says nothing else.
    if (path === "/healthz") return new Response("ok\n", { status: 200, headers: { "content-type": "text/plain", ...noStore } });
    // A request whose Host or Origin failed the checks (DNS rebinding from a browser) learns only the status.
    const access = req.hostAllowed ? opts.metrics?.access(req.address, req.request.headers.get("authorization") ?? undefined, req.request.headers.has("forwarded") || req.request.headers.has("x-forwarded-for")) : { ok: false as const, status: 403 as const, message: "Forbidden: /metrics needs a Host this gateway serves (remote.allowedHosts)" };
    if (path === "/metrics") {
      if (!opts.metrics) return jsonError(404, "Not Found: this gateway serves no metrics");
      if (!access?.ok) return jsonError(access!.status, access!.message);
      const { body, contentType } = await opts.metrics.text();
      return new Response(body, { status: 200, headers: { "content-type": contentType, ...noStore } });
    }
    const report = readiness ? await readiness() : { ready: true, checks: [] };
    // Everyone learns which parts are not ready; why (addresses, errors) only those who may read the metrics.
    const detailed = access?.ok === true;
    const body = {
      ready: report.ready,
      notReady: report.checks.filter((c) => !c.ok).map((c) => c.name),
      checks: report.checks.map((c) => ({ name: c.name, ok: c.ok, ...(detailed && c.reason !== undefined ? { reason: c.reason } : {}) })),
    };
    return new Response(JSON.stringify(body), { status: report.ready ? 200 : 503, headers: { "content-type": "application/json", ...noStore } });
  };

  const route = async (req: FrontRequest): Promise<Response> => {
    const url = new URL(req.request.url);
    const path = url.pathname;
    if (req.request.method === "GET" && metadataPaths.has(path)) {
      return new Response(JSON.stringify(metadata.document), { status: 200, headers: { "content-type": "application/json", "cache-control": "max-age=300" } });
    }
    if (req.request.method === "GET" && (path === "/healthz" || path === "/readyz" || path === "/metrics")) return operations(path, req);
    if (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`)) {
      if (!opts.console) return jsonError(404, "Not Found: this gateway serves no console (set remote.console)");
      return opts.console.handle(req);
    }
    const approvalsPath = path === APPROVALS_PATH || path.startsWith(`${APPROVALS_PATH}/`);
    if (path !== MCP_PATH && path !== HOOK_PATH && !approvalsPath) return jsonError(404, `Not Found: the MCP endpoint is ${MCP_PATH}`);

    const authorization = req.request.headers.get("authorization") ?? undefined;
    const auth = await authenticator.authenticate(authorization);
    if (!auth.ok) return refuseAuth(auth, req.address, path);
    const principal = auth.principal;

    let parsed: unknown;
    if (req.request.method === "POST") {
      try {
        parsed = JSON.parse(req.body);
      } catch {
        return jsonError(400, "Parse error: the body is not valid JSON", {}, -32700);
      }
    }

    if (approvalsPath) {
      if (!opts.approvals) return jsonError(404, "Not Found: this gateway serves no approvals endpoint");
      return opts.approvals(req.request, path, parsed, { principal, address: req.address });
    }

    if (path === HOOK_PATH) {
      if (req.request.method !== "POST") return jsonError(405, "Method Not Allowed: POST Claude Code's hook input here", { allow: "POST" });
      if (!opts.hook) return jsonError(404, "Not Found: this gateway serves no hook endpoint");
      const scopes = authenticator.checkScopes(principal, "hooks/claude-code");
      if (scopes) return refuseAuth(scopes, req.address, path);
      const answer = await opts.hook(parsed, principal, req.request.signal);
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { "content-type": "application/json" } });
    }

    // Scopes and rate limits judge every request of the message (a 2025-03-26 batch has several).
    const messages = Array.isArray(parsed) ? parsed : parsed === undefined ? [] : [parsed];
    for (const m of messages) {
      const msg = m as { method?: unknown; id?: unknown; params?: { name?: unknown } } | null;
      if (!msg || typeof msg !== "object" || typeof msg.method !== "string" || msg.id === undefined) continue;
      const tool = msg.method === "tools/call" && typeof msg.params?.name === "string" ? core.resolveTool(msg.params.name) : undefined;
      const scopes = authenticator.checkScopes(principal, msg.method, tool?.canonical);
      if (scopes) return refuseAuth(scopes, req.address, path);
      if (opts.limiter) {
        const limited = await opts.limiter.check({ principal, method: msg.method, ...(tool ? { server: tool.server, tool: tool.canonical } : {}) });
        if (!limited.ok) {
          opts.metrics?.rateLimited(limited.limit);
          audit.append({
            kind: "request",
            event: "rate-limited",
            method: msg.method,
            ...(tool ? { server: tool.server, tool: tool.canonical } : {}),
            principal: makeDownstream(principal, { remote: true, address: req.address }).audited,
            decision: "deny",
            reason: limited.reason,
            rule: limited.limit,
          });
          return jsonError(429, `Too Many Requests: ${limited.reason}; retry after ${limited.retryAfterSeconds} s`, { "retry-after": String(limited.retryAfterSeconds) });
        }
      }
    }
    const owner = ownerOf(principal);
    // Kept only for token exchange with upstreams; the token itself is never passed on.
    if (opts.callerTokens && principal.method === "oidc") {
      const token = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1];
      if (token) opts.callerTokens.remember(owner, token, auth.expiresAt);
    }
    return endpoint.handle(req.request, parsed, { principal, owner, address: req.address });
  };

  const front = await startHttpFront(
    {
      host: remote.host,
      port: remote.port,
      ...(remote.tls ? { tls: remote.tls } : {}),
      allowedHosts: remote.allowedHosts,
      allowedOrigins: remote.allowedOrigins,
      trustedProxies: remote.trustedProxies,
      maxBodyBytes: remote.maxBodyBytes,
      headersTimeoutMs: remote.headersTimeoutMs,
      idleTimeoutMs: remote.idleTimeoutMs,
      onRefused: ({ status, reason, address }) => {
        if (opts.auditFailure?.(address) ?? true) audit.append({ kind: "request", event: "refused", reason, detail: { status, address } });
      },
    },
    route,
  );
  const shownHost = remote.host.includes(":") ? `[${remote.host}]` : remote.host;
  const url = `${remote.tls ? "https" : "http"}://${shownHost}:${front.address.port}${MCP_PATH}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    front,
    endpoint,
    close(reason: string) {
      closing ??= (async () => {
        opts.log(`stopping (${reason}): draining requests in flight (at most 10 s)`);
        await front.drain(10_000);
        opts.log("drained; ending sessions");
        await endpoint.close();
        await opts.console?.close();
        authenticator.close();
        opts.log("stopping the servers");
        await core.close(reason);
        opts.log("stopped");
      })();
      return closing;
    },
  };
}

/**
 * One run of `fn` at a time, its result reused for `reuseMs`: a flood of /readyz requests must not
 * become a flood of connections to the stores and the identity provider.
 */
function sharedRun<T>(fn: () => Promise<T>, reuseMs = 1000): () => Promise<T> {
  let running: Promise<T> | undefined;
  let last: { at: number; value: T } | undefined;
  return () => {
    if (last && Date.now() - last.at < reuseMs) return Promise.resolve(last.value);
    running ??= fn()
      .then((value) => {
        last = { at: Date.now(), value };
        return value;
      })
      .finally(() => (running = undefined));
    return running;
  };
}
