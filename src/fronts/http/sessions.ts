// 2025-era sessions of the HTTP front. Each session is bound to the principal that opened it: a
// request presenting a session ID with another principal's token is answered 404, exactly like an
// unknown ID, so a guessed or stolen ID reveals nothing. IDs are 256 random bits from the CSPRNG.
// A session ends after an idle timeout or its absolute lifetime (the client then initializes again
// and gets a new ID: that is how IDs are rotated), on DELETE, or when its principal opens more than
// the cap (the oldest ends).
import { randomBytes } from "node:crypto";
import { isInitializeRequest, WebStandardStreamableHTTPServerTransport, type Server } from "@modelcontextprotocol/server";
import type { AuditSink } from "../../audit/index.js";
import type { Gateway } from "../../gateway/gateway.js";
import { type Downstream, makeDownstream, refreshPrincipal } from "../../gateway/downstream.js";
import type { Principal } from "../../policy/principal.js";
import { jsonError } from "./http-server.js";

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
  maxPerPrincipal: number;
}

interface Session {
  id: string;
  downstream: Downstream;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  createdAt: number;
  lastSeen: number;
}

export class LegacySessions {
  private readonly byId = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly core: Gateway,
    private readonly audit: AuditSink,
    private readonly limits: SessionLimits,
    private readonly maxBodyBytes: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(15_000, Math.max(1000, limits.idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.byId.size;
  }

  /** A 2025-era request: opens a session (initialize), or goes to the caller's own session. */
  async handle(request: Request, parsedBody: unknown, caller: { principal: Principal; owner: string; address: string }): Promise<Response> {
    const id = request.headers.get("mcp-session-id");
    if (id === null) {
      if (request.method === "POST" && isInitializeRequest(parsedBody)) return this.open(request, parsedBody, caller);
      if (request.method !== "POST") return jsonError(405, "Method Not Allowed: GET and DELETE need the Mcp-Session-Id of a 2025-era session", { allow: "POST" });
      return jsonError(400, "Bad Request: no Mcp-Session-Id header; a 2025-era client sends initialize first");
    }
    const session = this.byId.get(id);
    const now = Date.now();
    if (session && this.expired(session, now)) this.end(session, "expired");
    if (!session || !this.byId.has(id)) return jsonError(404, "Session not found: initialize a new session", {}, -32001);
    if (session.downstream.owner !== caller.owner) {
      // Someone else's session: audited, and answered as if it did not exist.
      this.audit.append({
        kind: "request",
        event: "session-mismatch",
        principal: makeDownstream(caller.principal, { remote: true, sessionId: id, address: caller.address }).audited,
        reason: "a session ID was presented with another principal's credentials",
      });
      return jsonError(404, "Session not found: initialize a new session", {}, -32001);
    }
    session.lastSeen = now;
    refreshPrincipal(session.downstream, caller.principal, caller.address);
    return session.transport.handleRequest(request, { parsedBody });
  }

  private async open(request: Request, parsedBody: unknown, caller: { principal: Principal; owner: string; address: string }): Promise<Response> {
    const mine = [...this.byId.values()].filter((s) => s.downstream.owner === caller.owner).sort((a, b) => a.createdAt - b.createdAt);
    while (mine.length >= this.limits.maxPerPrincipal) this.end(mine.shift()!, "over the per-principal cap");
    const id = randomBytes(32).toString("base64url");
    const downstream = makeDownstream(caller.principal, { remote: true, sessionId: id, address: caller.address });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      maxRequestBodySize: this.maxBodyBytes,
      onsessionclosed: () => {
        const s = this.byId.get(id);
        if (s) this.end(s, "deleted by the client");
      },
    });
    const server = this.core.connect(downstream);
    await server.connect(transport);
    const now = Date.now();
    const session: Session = { id, downstream, transport, server, createdAt: now, lastSeen: now };
    this.byId.set(id, session);
    const response = await transport.handleRequest(request, { parsedBody });
    if (response.status !== 200) {
      this.end(session, `initialize refused (${response.status})`);
      return response;
    }
    this.audit.append({ kind: "request", event: "session-started", principal: downstream.audited });
    return response;
  }

  private expired(s: Session, now: number): boolean {
    return now - s.lastSeen > this.limits.idleMs || now - s.createdAt > this.limits.maxMs;
  }

  private end(s: Session, reason: string) {
    if (!this.byId.delete(s.id)) return;
    this.core.disconnect(s.downstream);
    void s.transport.close().catch(() => undefined);
    void s.server.close().catch(() => undefined);
    try {
      this.audit.append({ kind: "request", event: "session-ended", principal: s.downstream.audited, reason });
    } catch {
      // A failed audit sink refuses every record (and so every call); ending a session, and shutting
      // down, must still go on. The failure was reported to the call that met it.
    }
  }

  private sweep() {
    const now = Date.now();
    for (const s of [...this.byId.values()]) if (this.expired(s, now)) this.end(s, "expired");
  }

  close() {
    clearInterval(this.sweeper);
    for (const s of [...this.byId.values()]) this.end(s, "the gateway stopped");
  }
}
