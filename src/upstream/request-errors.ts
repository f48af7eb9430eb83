// What a request to an upstream needs around the SDK client's call: a timeout that restarts with
// progress, and the translation of what the SDK throws into the gateway's errors (upstream.ts).
import { ErrorCodes, GatewayError } from "../gateway/errors.js";

/** A timeout that restarts on demand, aborting the request (so the server is told) when it fires. */
export function resettableTimeout(ms: number, outer: AbortSignal | undefined, error: () => Error) {
  const abort = new AbortController();
  let fail!: (e: Error) => void;
  const expired = new Promise<never>((_, reject) => (fail = reject));
  expired.catch(() => undefined);
  const fire = () => {
    const e = error();
    fail(e);
    abort.abort(e);
  };
  let timer = setTimeout(fire, ms);
  const onOuterAbort = () => abort.abort(outer?.reason);
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  if (outer?.aborted) abort.abort(outer.reason);
  return {
    abort,
    expired,
    reset() {
      clearTimeout(timer);
      timer = setTimeout(fire, ms);
    },
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuterAbort);
    },
  };
}

export const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref());

export function isConnectionClosed(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === "CONNECTION_CLOSED" || (typeof e?.message === "string" && /connection closed/i.test(e.message));
}

/** The message, plus the underlying cause (fetch hides ECONNREFUSED and the like in `cause`). */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = cause ? [cause.code, cause.message].filter((x) => typeof x === "string" && x && !error.message.includes(x)).join(": ") : "";
  return detail ? `${error.message} (${detail})` : error.message;
}

/** What the SDK client threw, as the gateway's error (a server's own JSON-RPC error passes with its code). */
export function translateError(error: unknown, server: string, method: string, timeout: number, callerAborted = false): GatewayError {
  if (error instanceof GatewayError) return error;
  // The caller withdrew the request (its client's notifications/cancelled, or the client went away):
  // the SDK reports that as a request timeout, but the audit log must say what happened.
  if (callerAborted) return new GatewayError(ErrorCodes.cancelled, `the client cancelled the request to server '${server}'`);
  const e = error as { code?: unknown; message?: string; data?: unknown; name?: string };
  const message = describe(error);
  if (typeof e?.code === "number" && Number.isInteger(e.code) && e.code > -33000 && e.code < 0 && !/timed out/i.test(message)) {
    // A JSON-RPC error from the server itself: pass its code and message on.
    return new GatewayError(e.code, message, e.data && typeof e.data === "object" ? (e.data as Record<string, unknown>) : undefined);
  }
  if (/timed? ?out/i.test(message) || e?.code === "REQUEST_TIMEOUT") {
    return new GatewayError(ErrorCodes.timeout, `server '${server}' did not answer ${method} within ${timeout} ms`);
  }
  if (e?.name === "AbortError" || /abort/i.test(message)) return new GatewayError(ErrorCodes.cancelled, "request cancelled");
  return new GatewayError(ErrorCodes.unavailable, `server '${server}': ${message}`);
}
