// A request to a 2025-era stdio server written straight to its pipe, for the hot path
// (src/gateway/hot-path.ts): what the SDK client's request() does for such a server, without its
// per-request machinery. The id comes from the SDK client's own counter, so the server sees the
// sequence it always sees; the answer is taken off the wire before the SDK client looks at it.
// Everything observable is the SDK client's: the cancellation sent on abort or timeout, the errors
// (the same SdkError and ProtocolError values, which Upstream.request translates as it always does),
// a response the SDK would not accept left to the SDK (which reports it; the call then times out).
import { isJSONRPCErrorResponse, isJSONRPCResultResponse, ProtocolError, SdkError, SdkErrorCode, type Client } from "@modelcontextprotocol/client";
import { takeClientRequestId } from "../gateway/sdk-internals.js";

interface Pending {
  signal: AbortSignal | undefined;
  settle(response: Record<string, unknown>): void;
  fail(error: Error): void;
}

export interface DirectTransport {
  send(message: never): Promise<void>;
}

/** Every request sent directly and not answered yet, by id (one set per Upstream). */
export class DirectRequests {
  private readonly pending = new Map<number, Pending>();

  /**
   * Sends `method` with `params` as the SDK client would (same id sequence, same wire shape, same
   * cancellation and timeout behaviour) and resolves with the result as the SDK client returns it.
   */
  request(client: Client, transport: DirectTransport, method: string, params: Record<string, unknown> | undefined, opts: { signal?: AbortSignal; timeout: number }): Promise<Record<string, unknown>> {
    const { signal, timeout } = opts;
    let id: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      if (!client.transport) {
        reject(new Error("Not connected"));
        return;
      }
      if (signal?.aborted) {
        const reason: unknown = signal.reason;
        throw reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason));
      }
      const taken = takeClientRequestId(client);
      if (taken === undefined) {
        reject(new Error("the SDK client has no request id counter"));
        return;
      }
      id = taken;
      const messageId = taken;
      let answered = false;
      const cancel = (reason: unknown) => {
        if (answered) return;
        transport
          .send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: messageId, reason: String(reason) } } as never)
          .catch((error: unknown) => client.onerror?.(new Error(`Failed to send cancellation: ${String(error)}`)));
        reject(reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason)));
      };
      this.pending.set(messageId, {
        signal,
        settle: (response) => {
          answered = true;
          const error = response.error as { code: number; message: string; data?: unknown } | undefined;
          if (error) {
            reject(ProtocolError.fromError(error.code, error.message, error.data));
            return;
          }
          resolve(withoutResultType(response.result as Record<string, unknown>));
        },
        fail: (error) => {
          answered = true;
          reject(error);
        },
      });
      if (signal) {
        onAbort = () => cancel(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      }
      timer = setTimeout(() => cancel(new SdkError(SdkErrorCode.RequestTimeout, "Request timed out", { timeout })), timeout);
      transport.send({ method, params, jsonrpc: "2.0", id: messageId } as never).catch(reject);
    }).finally(() => {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      if (id !== undefined) this.pending.delete(id);
      clearTimeout(timer);
    });
  }

  /**
   * A message from the server: true when it answered a direct request (and settled it). Anything
   * else, or an answer the SDK client would not take as a response, goes on to the SDK client.
   */
  take(message: Record<string, unknown>): boolean {
    if (this.pending.size === 0 || "method" in message || !("id" in message)) return false;
    // The SDK client matches responses by Number(id): a server echoing "5" for 5 is answered too.
    const id = Number(message.id);
    const pending = this.pending.get(id);
    if (!pending || !isResponse(message)) return false;
    this.pending.delete(id);
    // Cancelled already (and rejected then): the late answer is dropped, as the SDK drops it.
    if (!pending.signal?.aborted) pending.settle(message);
    return true;
  }

  /** The connection closed: every pending request fails at once, as the SDK client's do. */
  failAll(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    // An aborted request was rejected by its abort already.
    for (const p of all) if (!p.signal?.aborted) p.fail(error);
  }
}

/** The 2025-era codec's decodeResult: a `resultType` key is dropped, everything else passes. */
function withoutResultType(result: Record<string, unknown>): Record<string, unknown> {
  if (!("resultType" in result)) return result;
  const copy = { ...result };
  delete copy.resultType;
  return copy;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown) => typeof v === "string" || Number.isSafeInteger(v);

/**
 * What the SDK's Protocol takes as a response (isJSONRPCResultResponse or isJSONRPCErrorResponse).
 * The usual shapes are recognised without a schema library; anything else asks the SDK's own checks.
 */
function isResponse(m: Record<string, unknown>): boolean {
  let keys = 0;
  for (const _ in m) keys++;
  if (keys === 3 && m.jsonrpc === "2.0" && isId(m.id)) {
    if (isPlainObject(m.result) && !("_meta" in m.result)) return true;
    const e = m.error;
    if (isPlainObject(e) && Number.isSafeInteger(e.code) && typeof e.message === "string") return true;
  }
  return isJSONRPCResultResponse(m) || isJSONRPCErrorResponse(m);
}
