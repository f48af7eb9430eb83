// The W3C traceparent of the request being forwarded, for the HTTP upstream's fetch to send as a
// header. Carried in AsyncLocalStorage because the MCP SDK's client makes the HTTP request deep in
// its own call chain, where no per-request option reaches.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<string>();

/** Runs `fn` with `traceparent` as the one outgoing requests carry (nothing when undefined). */
export function withTraceparent<T>(traceparent: string | undefined, fn: () => T): T {
  return traceparent === undefined ? fn() : current.run(traceparent, fn);
}

export function currentTraceparent(): string | undefined {
  return current.getStore();
}
