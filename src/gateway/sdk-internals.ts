// The few internals of the MCP SDK (pinned at an exact version in package.json) that the hot path
// (hot-path.ts, upstream/direct-request.ts) needs to behave exactly as the SDK path does: which
// request ids the SDK server is handling (a duplicate id goes where the SDK would put it), its
// cancellation of a request, its wire codec (the result validation the SDK applies to every
// tools/call result), its legacy input-round shim, and the SDK client's request id counter (a
// forwarded call takes the id the SDK client would have given it). Each accessor checks that what
// it reaches is there and of the expected kind; when one is not (another SDK version), it returns
// undefined and the hot path is not taken: the SDK path serves every call, as before.
import type { Client } from "@modelcontextprotocol/client";
import type { Server } from "@modelcontextprotocol/server";

/** Validation outcome of the SDK's wire codec (WireCodec.validateResult). */
export type CodecOutcome = { ok: true; value: unknown } | { ok: false; reason: "not-in-era" | "invalid"; message?: string };

export interface ServerInternals {
  /** Whether the SDK server is handling a request with this id now. */
  handling(id: string | number): boolean;
  /** The SDK's own handling of a validated notifications/cancelled (aborts its handler, if any). */
  cancel(notification: { params: { requestId?: string | number; reason?: string } }): void;
  /** The negotiated era's validation of a tools/call result (as Server's tools/call wrapper applies it). */
  validateResult(method: "tools/call", result: unknown): CodecOutcome;
  /** Error code mapping of the era (2025: -32002 becomes -32602). */
  encodeErrorCode(code: number): number;
  /** The legacy era's input rounds: elicitation, sampling and roots requests to the client, then the handler again. */
  fulfillInputRequired(method: "tools/call", handler: (request: unknown, ctx: unknown) => Promise<unknown>, request: unknown, ctx: unknown, first: unknown): Promise<unknown>;
}

interface RawServer {
  _requestHandlerAbortControllers?: unknown;
  _oncancel?: unknown;
  _wireCodec?: unknown;
  _legacyInputRequiredShim?: unknown;
}

interface RawCodec {
  validateResult?: unknown;
  encodeErrorCode?: unknown;
}

export function serverInternals(server: Server): ServerInternals | undefined {
  const raw = server as unknown as RawServer;
  const handlers = raw._requestHandlerAbortControllers;
  if (!(handlers instanceof Map) || typeof raw._oncancel !== "function" || typeof raw._wireCodec !== "function" || typeof raw._legacyInputRequiredShim !== "function") return undefined;
  const codec = () => (raw._wireCodec as () => RawCodec).call(server);
  const probe = codec();
  if (typeof probe?.validateResult !== "function" || typeof probe.encodeErrorCode !== "function") return undefined;
  return {
    handling: (id) => handlers.has(id),
    cancel: (n) => void (raw._oncancel as (n: unknown) => unknown).call(server, n),
    validateResult: (method, result) => (codec().validateResult as (m: string, r: unknown) => CodecOutcome)(method, result),
    encodeErrorCode: (code) => (codec().encodeErrorCode as (c: number) => number)(code),
    fulfillInputRequired: (method, handler, request, ctx, first) => {
      const shim = (raw._legacyInputRequiredShim as () => { fulfill?: unknown }).call(server);
      if (typeof shim?.fulfill !== "function") return Promise.reject(new Error("the SDK's legacy input shim is not available"));
      return (shim.fulfill as (...a: unknown[]) => Promise<unknown>).call(shim, method, handler, request, ctx, first);
    },
  };
}

/** Takes the next request id of the SDK client's own counter, so ids on the wire stay unique and in sequence; undefined when there is none. */
export function takeClientRequestId(client: Client): number | undefined {
  const raw = client as unknown as { _requestMessageId?: unknown };
  if (typeof raw._requestMessageId !== "number" || !Number.isSafeInteger(raw._requestMessageId)) return undefined;
  return raw._requestMessageId++;
}

/** Whether the SDK client keeps the counter takeClientRequestId draws from. */
export function hasClientRequestIds(client: Client): boolean {
  const raw = client as unknown as { _requestMessageId?: unknown };
  return typeof raw._requestMessageId === "number";
}
