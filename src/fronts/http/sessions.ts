// 2025-era sessions of the HTTP front. Each session is bound to the principal that opened it: a
// request presenting a session ID with another principal's token is answered 404, exactly like an
// unknown ID, so a guessed or stolen ID reveals nothing. IDs are 256 random bits from the CSPRNG.
// A session ends after an idle timeout or its absolute lifetime (the client then initializes again
// and gets a new ID: that is how IDs are rotated), on DELETE, or when its principal opens more than
// the cap (the oldest ends).
//
// With a session store (`state.redis`, src/state/session-store.ts) sessions are shared between
// replicas: a session opened on one is recorded in the store, and a replica that does not hold a
// session a request names looks it up and rebuilds it (a new SDK transport and server, to which the
// client's stored initialize is replayed). Every request slides the session's expiry in the store
// and learns whether it still exists there (DELETE through another replica, the cap, expiry). What
// cannot move between replicas stays on the one that has it: the GET event stream, resource
// subscriptions, a call in progress and its response stream, `perSession` upstream instances (each
// replica starts its own). While the store cannot answer, this replica's sessions go on under its
// own expiry, requests for sessions it does not hold get 404 (the client initializes again), and new
// sessions stay on this replica.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { isInitializeRequest, WebStandardStreamableHTTPServerTransport, type Server } from "@modelcontextprotocol/server";
import type { AuditSink } from "../../audit/index.js";
import type { Gateway } from "../../gateway/gateway.js";
import { type Downstream, makeDownstream, refreshPrincipal } from "../../gateway/downstream.js";
import type { Principal } from "../../policy/principal.js";
import { type SessionStore, type SharedInitialize, type SharedSession, type TouchResult, sessionKeyHash } from "../../state/session-store.js";
import { jsonError } from "./http-server.js";

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
  maxPerPrincipal: number;
}

export interface LegacySessionsOptions {
  limits: SessionLimits;
  maxBodyBytes: number;
  /** Shares sessions between replicas; without it they live in this process only. */
  store?: SessionStore;
  log?: (message: string) => void;
}

interface Caller {
  principal: Principal;
  owner: string;
  address: string;
}

interface Session {
  id: string;
  /** sessionKeyHash(id): how the store names it (the cap's removals come back as these). */
  keyHash: string;
  downstream: Downstream;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  /** By this replica's clock (a resumed session's age in the store subtracted from now). */
  createdAt: number;
  lastSeen: number;
  /** Recorded in the store: other replicas may serve it too, and it ends when the store says so. */
  shared: boolean;
}

const notFound = () => jsonError(404, "Session not found: initialize a new session", {}, -32001);
const GONE_FROM_STORE = "ended in the session store (deleted through another replica, over the per-principal cap, or expired)";
/** Longest wait for the replayed initialize of a resumed session (the SDK answers it in memory). */
const RESUME_TIMEOUT_MS = 5_000;

export class LegacySessions {
  private readonly byId = new Map<string, Session>();
  /** Rebuilds under way, so that concurrent requests for one session share one. */
  private readonly resuming = new Map<string, Promise<Session | undefined>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly limits: SessionLimits;
  private readonly maxBodyBytes: number;
  private readonly store: SessionStore | undefined;
  private readonly log: (message: string) => void;
  /** Named in `session-resumed` records: which replica rebuilt the session. */
  private readonly replica = `${hostname()}:${process.pid}`;
  private storeFailing = false;
  private sweeping = false;

  constructor(
    private readonly core: Gateway,
    private readonly audit: AuditSink,
    options: LegacySessionsOptions,
  ) {
    this.limits = options.limits;
    this.maxBodyBytes = options.maxBodyBytes;
    this.store = options.store;
    this.log = options.log ?? (() => undefined);
    this.sweeper = setInterval(() => void this.sweep().catch(() => undefined), Math.min(15_000, Math.max(1000, this.limits.idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.byId.size;
  }

  /** A 2025-era request: opens a session (initialize), or goes to the caller's own session. */
  async handle(request: Request, parsedBody: unknown, caller: Caller): Promise<Response> {
    const id = request.headers.get("mcp-session-id");
    if (id === null) {
      if (request.method === "POST" && isInitializeRequest(parsedBody)) return this.open(request, parsedBody, caller);
      if (request.method !== "POST") return jsonError(405, "Method Not Allowed: GET and DELETE need the Mcp-Session-Id of a 2025-era session", { allow: "POST" });
      return jsonError(400, "Bad Request: no Mcp-Session-Id header; a 2025-era client sends initialize first");
    }
    let session = this.byId.get(id);
    if (session && this.expire(session, Date.now())) session = undefined;
    if (session && session.downstream.owner !== caller.owner) return this.mismatch(id, caller);
    // Seen now, before the store is asked: the sweep must not take it for idle meanwhile.
    if (session) session.lastSeen = Date.now();
    if (this.store && (!session || session.shared)) {
      const touched = await this.touch(id, caller.owner);
      if (session) {
        // Unavailable: this replica's copy goes on under its own expiry.
        if (touched.state === "gone" || touched.state === "other-owner") {
          this.end(session, GONE_FROM_STORE);
          return notFound();
        }
      } else {
        if (touched.state === "other-owner") return this.mismatch(id, caller);
        if (touched.state !== "live") return notFound();
        session = await this.resume(id, touched.session, request.url, caller);
      }
    }
    // Ended while the store was asked (DELETE, the cap, the sweep): as if it never was.
    if (!session || this.byId.get(id) !== session) return notFound();
    session.lastSeen = Date.now();
    refreshPrincipal(session.downstream, caller.principal, caller.address);
    return session.transport.handleRequest(request, { parsedBody });
  }

  /** Someone else's session: audited, and answered as if it did not exist. */
  private mismatch(id: string, caller: Caller): Response {
    this.audit.append({
      kind: "request",
      event: "session-mismatch",
      principal: makeDownstream(caller.principal, { remote: true, sessionId: id, address: caller.address }).audited,
      reason: "a session ID was presented with another principal's credentials",
    });
    return notFound();
  }

  private async open(request: Request, parsedBody: unknown, caller: Caller): Promise<Response> {
    // Without a store the cap is this process's; with one, the store's (below).
    if (!this.store) this.capLocally(caller.owner);
    const session = await this.create(randomBytes(32).toString("base64url"), caller, Date.now());
    this.byId.set(session.id, session);
    const response = await session.transport.handleRequest(request, { parsedBody });
    if (response.status !== 200) {
      this.end(session, `initialize refused (${response.status})`);
      return response;
    }
    const detail = this.store ? await this.share(session, caller.owner, parsedBody) : undefined;
    this.audit.append({ kind: "request", event: "session-started", principal: session.downstream.audited, ...(detail ? { detail } : {}) });
    return response;
  }

  /** Records a new session in the store; when that fails it stays on this replica, capped here. */
  private async share(session: Session, owner: string, parsedBody: unknown): Promise<Record<string, unknown>> {
    const params = (parsedBody as { params: SharedInitialize }).params;
    const initialize = { protocolVersion: params.protocolVersion, capabilities: params.capabilities ?? {}, clientInfo: params.clientInfo };
    const recorded = await this.storeCall((store) => store.open(session.id, owner, initialize));
    if (recorded.ok) {
      session.shared = true;
      for (const hash of recorded.value.removed) {
        const removed = [...this.byId.values()].find((s) => s.keyHash === hash);
        if (removed) this.end(removed, "over the per-principal cap");
      }
      return { shared: true };
    }
    this.capLocally(owner, session);
    return { shared: false, reason: `kept on this replica only: ${recorded.error}` };
  }

  /** Ends (or, shared, lets go of) the owner's oldest sessions here while the owner is at the cap. */
  private capLocally(owner: string, except?: Session): void {
    const mine = [...this.byId.values()].filter((s) => s.downstream.owner === owner && s !== except).sort((a, b) => a.createdAt - b.createdAt);
    while (mine.length >= this.limits.maxPerPrincipal) this.letGo(mine.shift()!, "over the per-principal cap");
  }

  /** A new SDK transport and server for session `id` of `caller` (not yet in byId). */
  private async create(id: string, caller: Caller, createdAt: number): Promise<Session> {
    const downstream = makeDownstream(caller.principal, { remote: true, sessionId: id, address: caller.address });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      maxRequestBodySize: this.maxBodyBytes,
      onsessionclosed: async () => {
        const s = this.byId.get(id);
        if (!s) return;
        this.end(s, "deleted by the client");
        if (s.shared) {
          const removed = await this.storeCall((store) => store.end(id, s.downstream.owner));
          if (!removed.ok) this.log(`sessions: a deleted session could not be removed from the session store (${removed.error}); it expires there after remote.sessions.idleMinutes`);
        }
      },
    });
    const server = this.core.connect(downstream);
    await server.connect(transport);
    return { id, keyHash: sessionKeyHash(id), downstream, transport, server, createdAt, lastSeen: Date.now(), shared: false };
  }

  /** Asks the store about session `id` for `owner`; "unavailable" when it cannot answer. */
  private async touch(id: string, owner: string): Promise<TouchResult | { state: "unavailable" }> {
    const touched = await this.storeCall((store) => store.touch(id, owner));
    return touched.ok ? touched.value : { state: "unavailable" };
  }

  /** A session this replica does not hold, live in the store: rebuilt here (one rebuild at a time per ID). */
  private resume(id: string, shared: SharedSession, url: string, caller: Caller): Promise<Session | undefined> {
    const held = this.byId.get(id);
    if (held) return Promise.resolve(held);
    let pending = this.resuming.get(id);
    if (!pending) {
      pending = this.rebuild(id, shared, url, caller).finally(() => this.resuming.delete(id));
      this.resuming.set(id, pending);
    }
    return pending;
  }

  private async rebuild(id: string, shared: SharedSession, url: string, caller: Caller): Promise<Session | undefined> {
    let session: Session | undefined;
    try {
      session = await this.create(id, caller, Date.now() - shared.ageMs);
      session.shared = true;
      await replayInitialize(session.transport, id, shared.initialize, url);
    } catch (e) {
      if (session) this.teardown(session);
      this.log(`sessions: a shared session could not be resumed on this replica (${e instanceof Error ? e.message : String(e)}); the client gets 404 and initializes again`);
      return undefined;
    }
    this.byId.set(id, session);
    this.audit.append({ kind: "request", event: "session-resumed", principal: session.downstream.audited, detail: { replica: this.replica } });
    return session;
  }

  /** Ends an expired session (or lets go of a shared one idle here); true when it did. */
  private expire(s: Session, now: number): boolean {
    if (now - s.createdAt > this.limits.maxMs) this.end(s, "expired");
    // Idle here only: another replica may have served it since (the store's expiry is the session's).
    else if (now - s.lastSeen > this.limits.idleMs) this.letGo(s, "expired");
    else return false;
    return true;
  }

  /** Shared: only this replica's copy goes (the session goes on in the store); else it ends. */
  private letGo(s: Session, reason: string): void {
    if (!s.shared) return this.end(s, reason);
    if (!this.dispose(s)) return;
    this.auditQuietly({ kind: "request", event: "session-released", principal: s.downstream.audited, reason: `${reason} on this replica; a shared session goes on through the others` });
  }

  /** The session is over (this replica's part of it: the store is the caller's to tell). */
  private end(s: Session, reason: string): void {
    if (!this.dispose(s)) return;
    this.auditQuietly({ kind: "request", event: "session-ended", principal: s.downstream.audited, reason });
  }

  /** Removes this replica's copy; false when it was gone already. */
  private dispose(s: Session): boolean {
    if (this.byId.get(s.id) !== s) return false;
    this.byId.delete(s.id);
    this.teardown(s);
    return true;
  }

  private teardown(s: Session): void {
    this.core.disconnect(s.downstream);
    void s.transport.close().catch(() => undefined);
    void s.server.close().catch(() => undefined);
  }

  private auditQuietly(entry: Parameters<AuditSink["append"]>[0]): void {
    try {
      this.audit.append(entry);
    } catch {
      // A failed audit sink refuses every record (and so every call); ending a session, and shutting
      // down, must still go on. The failure was reported to the call that met it.
    }
  }

  /** Runs one store operation, noting a change between a working and a failing store. */
  private async storeCall<T>(fn: (store: SessionStore) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    try {
      const value = await fn(this.store!);
      this.noteStoreHealth(undefined);
      return { ok: true, value };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      // A record too large to share is this session's matter, not an outage.
      if (!(e instanceof RangeError)) this.noteStoreHealth(error);
      return { ok: false, error };
    }
  }

  /** Logs and audits an outage of the store and its end, once each. */
  private noteStoreHealth(error: string | undefined): void {
    const failing = error !== undefined;
    if (failing === this.storeFailing) return;
    this.storeFailing = failing;
    this.log(
      failing
        ? `sessions: the session store fails (${error}); sessions this replica holds go on under its own expiry, requests for other sessions get 404 (their clients initialize again), and new sessions stay on this replica until it answers`
        : "sessions: the session store answers again; new sessions are shared between replicas",
    );
    this.auditQuietly({ kind: "gateway", event: failing ? "session-store-failing" : "session-store-recovered", ...(failing ? { error } : {}) });
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const s of [...this.byId.values()]) this.expire(s, now);
    if (!this.store || this.sweeping) return;
    // Sessions ended elsewhere end here too, even without a request (their event streams close).
    const shared = [...this.byId.values()].filter((s) => s.shared);
    if (!shared.length) return;
    this.sweeping = true;
    try {
      const present = await this.storeCall((store) => store.present(shared.map((s) => s.id)));
      if (present.ok) shared.forEach((s, i) => present.value[i] === false && this.end(s, GONE_FROM_STORE));
    } finally {
      this.sweeping = false;
    }
  }

  /** Stops serving: shared sessions go on through the other replicas (their records stay). */
  close() {
    clearInterval(this.sweeper);
    for (const s of [...this.byId.values()]) this.letGo(s, "the gateway stopped");
  }
}

/**
 * Brings a fresh transport and SDK server to where the session's own were after its handshake, through
 * the public API only: the client's initialize (its stored params) and `notifications/initialized`,
 * their answers consumed and discarded. Throws when either is not accepted.
 */
async function replayInitialize(transport: WebStandardStreamableHTTPServerTransport, id: string, initialize: SharedInitialize, url: string): Promise<void> {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const request = { jsonrpc: "2.0" as const, id: "mcp-warden-resume", method: "initialize", params: initialize };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the replayed initialize got no answer within ${RESUME_TIMEOUT_MS / 1000} s`)), RESUME_TIMEOUT_MS)));
  try {
    const answer = await Promise.race([transport.handleRequest(new Request(url, { method: "POST", headers }), { parsedBody: request }), timeout]);
    // The answer is an event stream that ends once the result is written.
    const body = await Promise.race([answer.text(), timeout]);
    if (answer.status !== 200 || !eventStreamHasResult(body, request.id)) throw new Error(`the replayed initialize was refused (${answer.status})`);
  } finally {
    clearTimeout(timer);
  }
  const initialized = { jsonrpc: "2.0" as const, method: "notifications/initialized" };
  const accepted = await transport.handleRequest(new Request(url, { method: "POST", headers: { ...headers, "mcp-session-id": id } }), { parsedBody: initialized });
  await accepted.body?.cancel().catch(() => undefined);
  if (accepted.status !== 202) throw new Error(`the replayed notifications/initialized was refused (${accepted.status})`);
}

/** Whether an SSE body carries a JSON-RPC result for request `id`. */
function eventStreamHasResult(body: string, id: string): boolean {
  for (const line of body.split("\n")) {
    if (!line.startsWith("data:")) continue;
    try {
      const message = JSON.parse(line.slice(5)) as { id?: unknown; result?: unknown };
      if (message.id === id && message.result !== undefined && message.result !== null) return true;
    } catch {
      // Not a message (a priming event): look further.
    }
  }
  return false;
}
