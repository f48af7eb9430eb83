// The hot path (issue 18): a tools/call from a 2025-era stdio client, after the handshake, taken
// where the SDK server would receive it (after serveStdio's queue, in the same order) and run by the
// same gateway code as on the SDK path (Gateway.forwardRequest: the whole pipeline, every stage,
// both audit records, input rounds through the SDK's own legacy shim). Its answer is checked and
// encoded as the SDK server would (the era's tools/call result validation, its error code mapping).
// What is skipped is the SDK's per-request work around that: three schema checks of the JSON-RPC
// envelope, the request validated twice, the handler context and its wrappers, and, when the
// server is a 2025-era stdio server too, the SDK client's request machinery (Upstream.request's
// `direct`, src/upstream/direct-request.ts).
//
// Fail closed: only a request this file fully understands is taken (simpleToolCall); anything else,
// any other method, notifications, a modern-era client, a call before `notifications/initialized`,
// an id the SDK is already handling, or an SDK whose internals are not as expected goes to the SDK
// path, which serves it as before. MCP_WARDEN_HOT_PATH=off turns the hot path off (for the
// differential test: test/e2e/hot-path-differential.test.ts).
import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode, SUPPORTED_PROTOCOL_VERSIONS, type Server, type ServerContext } from "@modelcontextprotocol/server";
import { serverInternals, type ServerInternals } from "./sdk-internals.js";

export interface HotCall {
  id: string | number;
  /** Exactly what the SDK's request validation would hand the handler. */
  params: { name: string; arguments?: Record<string, unknown> };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The message as a tools/call the hot path fully understands, or undefined. Taken only when the
 * SDK's schemas would accept it and hand the handler the very same params: a JSON-RPC 2.0 request
 * with nothing but jsonrpc, id (string or safe integer), method and params; params with nothing but
 * a string `name` and an optional plain-object `arguments` (no `_meta`: progress tokens and other
 * request metadata take the SDK path; no `__proto__` key, which a schema library's copy would drop).
 */
export function simpleToolCall(m: unknown): HotCall | undefined {
  if (!isPlainObject(m) || m.method !== "tools/call" || m.jsonrpc !== "2.0") return undefined;
  const id = m.id;
  if (typeof id !== "string" && !Number.isSafeInteger(id)) return undefined;
  for (const k in m) if (k !== "jsonrpc" && k !== "id" && k !== "method" && k !== "params") return undefined;
  const p = m.params;
  if (!isPlainObject(p) || typeof p.name !== "string") return undefined;
  for (const k in p) if (k !== "name" && k !== "arguments") return undefined;
  if (!has(p, "arguments")) return { id: id as string | number, params: { name: p.name } };
  const args = p.arguments;
  if (!isPlainObject(args) || has(args, "__proto__")) return undefined;
  return { id: id as string | number, params: { name: p.name, arguments: args } };
}

/** A 2025-era protocol version (the SDK serves all of them with one codec). */
export function isLegacyVersion(version: string | undefined): boolean {
  return version !== undefined && (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version) && version < "2026";
}

export interface HotPathOptions {
  /** False when switched off (MCP_WARDEN_HOT_PATH=off): every message goes to the SDK. */
  enabled: boolean;
  /** The SDK server instance serving the client now (serveStdio may build more than one). */
  server(): Server | undefined;
  /** Runs a tools/call through the gateway (Gateway.forwardRequest, with `direct`). */
  forward(params: HotCall["params"], ctx: ServerContext): Promise<unknown>;
  /** A failure no client answer can carry (reported as the SDK reports its own). */
  onError(error: Error): void;
}

/** The connection an SDK server instance speaks on (serveStdio's channel): what the hot path reads and writes. */
interface Channel {
  onmessage?: (message: unknown, extra?: unknown) => void;
  send(message: unknown): Promise<void>;
}

interface InFlight {
  abort: AbortController;
  /** A later request with the same id went to the SDK: a cancellation of the id is the SDK's (as its handler map keeps only the latest). */
  superseded: boolean;
}

/** The hot path of one stdio client. */
export class HotPath {
  private readonly calls = new Map<string, InFlight>();
  private readonly initialized = new WeakSet<Server>();
  private readonly internals = new WeakMap<Server, ServerInternals | null>();

  constructor(private readonly opts: HotPathOptions) {}

  /**
   * Installs the hooks the hot path needs on a new SDK server instance (before it connects). Messages
   * are taken where the SDK server would receive them, after serveStdio's queue, so the hot path sees
   * them in the very order the SDK would (a cancellation before a request with the same id, say).
   */
  adopt(server: Server): void {
    const connect = server.connect.bind(server);
    server.connect = async (transport) => {
      await connect(transport);
      const channel = transport as unknown as Channel;
      const sdk = channel.onmessage;
      channel.onmessage = (message, extra) => {
        if (!this.take(server, channel, message)) sdk?.(message, extra);
      };
    };
    const previous = server.oninitialized;
    server.oninitialized = () => {
      this.initialized.add(server);
      previous?.();
    };
    // The SDK's cancellation, with the hot path's calls first: the same validated notification.
    server.setNotificationHandler("notifications/cancelled", (n) => {
      const { requestId, reason } = n.params as { requestId?: string | number; reason?: string };
      if (requestId !== undefined && this.cancel(requestId, reason)) return;
      this.internalsOf(server)?.cancel(n as never);
    });
  }

  /** Whether the message was taken (answered by the hot path); false hands it to the SDK. */
  take(server: Server, channel: Channel, message: unknown): boolean {
    const call = this.opts.enabled ? simpleToolCall(message) : undefined;
    if (!call) {
      this.supersede(message);
      return false;
    }
    const sdk = server === this.opts.server() ? this.ready(server) : undefined;
    if (!sdk || sdk.handling(call.id) || this.calls.has(keyOf(call.id))) {
      this.supersede(message);
      return false;
    }
    this.run(server, channel, sdk, call);
    return true;
  }

  /** A cancellation of a call the hot path runs: true when it was one (and is aborted). */
  cancel(id: string | number, reason: string | undefined): boolean {
    const c = this.calls.get(keyOf(id));
    if (!c || c.superseded) return false;
    c.abort.abort(reason);
    return true;
  }

  /** The client went away: every call ends as the SDK ends its handlers (aborted, unanswered). */
  closeAll(): void {
    const error = new SdkError(SdkErrorCode.ConnectionClosed, "Connection closed");
    for (const c of this.calls.values()) c.abort.abort(error);
    this.calls.clear();
  }

  private ready(server: Server): ServerInternals | undefined {
    if (!this.initialized.has(server) || !server.transport || !isLegacyVersion(server.getNegotiatedProtocolVersion())) return undefined;
    return this.internalsOf(server);
  }

  private internalsOf(server: Server): ServerInternals | undefined {
    let found = this.internals.get(server);
    if (found === undefined) {
      found = serverInternals(server) ?? null;
      this.internals.set(server, found);
    }
    return found ?? undefined;
  }

  /** A request the SDK serves whose id a hot call has: the SDK's handler map now names the SDK's. */
  private supersede(message: unknown) {
    if (this.calls.size === 0 || !isPlainObject(message) || typeof message.method !== "string") return;
    const id = message.id;
    if (typeof id !== "string" && typeof id !== "number") return;
    const c = this.calls.get(keyOf(id));
    if (c) c.superseded = true;
  }

  private run(server: Server, channel: Channel, sdk: ServerInternals, call: HotCall) {
    const key = keyOf(call.id);
    const entry: InFlight = { abort: new AbortController(), superseded: false };
    this.calls.set(key, entry);
    const signal = entry.abort.signal;
    const ctx = contextFor(server, call.id, signal);
    const request = { method: "tools/call", params: call.params };
    const handler = (req: unknown, c: unknown) => this.opts.forward((req as typeof request).params, c as ServerContext);
    void (async () => {
      let response: Record<string, unknown>;
      try {
        let result = await this.opts.forward(call.params, ctx);
        // An input round (the upstream's elicitation, sampling or roots request, or the gateway's own
        // question): asked of the client and the call resumed, by the SDK's own legacy shim.
        if (isInputRequired(result)) result = await sdk.fulfillInputRequired("tools/call", handler, request, ctx, result);
        response = { result: validated(sdk, result), jsonrpc: "2.0", id: call.id };
      } catch (error) {
        const e = error as { code?: unknown; message?: string; data?: unknown };
        const code = Number.isSafeInteger(e?.code) ? (e.code as number) : ProtocolErrorCode.InternalError;
        response = { jsonrpc: "2.0", id: call.id, error: { code: sdk.encodeErrorCode(code), message: e?.message ?? "Internal error", ...(e?.data !== undefined ? { data: e.data } : {}) } };
      }
      // Cancelled (or the client left): no answer, as the SDK gives none. The channel settles the
      // request it delivered, as it does for the SDK's answers.
      if (!signal.aborted) await channel.send(response).catch((e: Error) => this.opts.onError(new Error(`Failed to send response: ${e.message}`)));
      if (this.calls.get(key) === entry) this.calls.delete(key);
    })();
  }
}

/** String and number ids are different ids. */
const keyOf = (id: string | number) => (typeof id === "string" ? `s${id}` : `n${id}`);

function isInputRequired(v: unknown): boolean {
  return isPlainObject(v) && v.resultType === "input_required";
}

/** The SDK server's tools/call result check (its tools/call wrapper): the era's schema, or an invalid-params error. */
function validated(sdk: ServerInternals, result: unknown): unknown {
  const outcome = sdk.validateResult("tools/call", result);
  if (outcome.ok) return outcome.value;
  if (outcome.reason === "not-in-era") throw new ProtocolError(ProtocolErrorCode.InternalError, "No wire schema for tools/call in the resolved era");
  throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid tools/call result: ${outcome.message}`);
}

/** The handler context the SDK server would build for this request, as far as the gateway reads it. */
function contextFor(server: Server, id: string | number, signal: AbortSignal): ServerContext {
  return {
    sessionId: undefined,
    mcpReq: {
      id,
      method: "tools/call",
      _meta: undefined,
      signal,
      requestState: () => undefined,
      notify: (notification: { method: string; params?: Record<string, unknown> }) => server.notification(notification as never, { relatedRequestId: id }),
      send: () => Promise.reject(new Error("not available on the hot path")),
      log: () => Promise.resolve(),
      elicitInput: (params: unknown, options?: unknown) => server.elicitInput(params as never, options as never),
      requestSampling: (params: unknown, options?: unknown) => server.createMessage(params as never, options as never),
    },
    http: undefined,
  } as unknown as ServerContext;
}
