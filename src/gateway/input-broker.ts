// Requests an upstream sends for user input (elicitation, sampling, roots) while the client waits
// on one of its calls. The gateway answers the client's call with an `input_required` result that
// carries the upstream's request; the client answers and retries the call, and the answer goes back
// to the upstream, which then finishes the original call. On 2025-era clients the SDK's legacy shim
// turns the same `input_required` into a real elicitation request, so one path serves both eras.
//
// A flow is named by an HMAC-protected `requestState` bound to the method and expiring, so a client
// cannot resume, or answer for, a call that is not its own.
import { randomBytes, randomUUID } from "node:crypto";
import { createRequestStateCodec, type ServerContext } from "@modelcontextprotocol/server";
import { ErrorCodes, GatewayError } from "./errors.js";

export type InputMethod = "elicitation/create" | "sampling/createMessage" | "roots/list";

/** Asks the client for input within one call's flow (the gateway's own questions, e.g. an approval). */
export type AskInFlow = (method: InputMethod, params: Record<string, unknown> | undefined, signal: AbortSignal) => Promise<Record<string, unknown>>;

interface PendingInput {
  request: { method: InputMethod; params?: Record<string, unknown> };
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

interface Flow {
  id: string;
  /** The caller whose call this is (Downstream.owner): only they can resume it or be asked in it. */
  owner: string;
  /** The upstream the call went to (known once the pipeline has identified it). */
  server: () => string | undefined;
  /** The forwarded call; settles with its result or error. */
  done: Promise<void>;
  outcome: { value?: unknown; error?: unknown } | undefined;
  /** Inputs the upstream asked for and the client has not been shown yet. */
  queued: PendingInput[];
  /** Inputs shown to the client, by the key used in `inputRequests`. */
  asked: Map<string, PendingInput>;
  wake: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** How long a flow waits for the client to come back with answers. */
const FLOW_TTL_SECONDS = 600;

export class InputBroker {
  private readonly flows = new Map<string, Flow>();
  private readonly codec = createRequestStateCodec<{ flow: string }>({
    key: randomBytes(32),
    ttlSeconds: FLOW_TTL_SECONDS,
    bind: (ctx) => ctx.mcpReq.method,
  });

  /** For ServerOptions.requestState.verify: rejects forged, expired or rebound states. */
  readonly verify = (state: string, ctx: ServerContext) => this.codec.verify(state, ctx);

  /**
   * Runs `forward` for a new call, or resumes the flow named by the verified requestState, and
   * returns when the call is done (its result) or needs input (an input_required result).
   */
  async run<T>(
    ctx: ServerContext,
    owner: string,
    server: () => string | undefined,
    forward: (askInFlow: AskInFlow) => Promise<T>,
    canAsk: (method: InputMethod) => boolean,
  ): Promise<T | Record<string, unknown>> {
    const state = ctx.mcpReq.requestState<{ flow: string } | undefined>();
    let flow: Flow;
    if (state && typeof state === "object" && typeof state.flow === "string") {
      const found = this.flows.get(state.flow);
      // Another caller's flow is answered as if it did not exist: nothing about it is revealed.
      if (!found || found.owner !== owner) throw new GatewayError(ErrorCodes.invalidParams, "This call's input round has expired or was already completed; call again.");
      flow = found;
      this.deliver(flow, ctx.mcpReq.inputResponses ?? {});
    } else {
      flow = { id: randomUUID(), owner, server, done: Promise.resolve(), outcome: undefined, queued: [], asked: new Map(), wake: undefined, timer: undefined };
      this.flows.set(flow.id, flow);
      const f = flow;
      f.done = forward((method, params, signal) => this.enqueue(f, method, params, signal)).then(
        (value) => void (f.outcome = { value }),
        (error: unknown) => void (f.outcome = { error: error ?? new Error("failed") }),
      );
    }
    for (;;) {
      // An input the upstream asked for while no round was waiting (between the last round's answer
      // and this resume) is already queued and woke nobody: show it now rather than wait for a wake
      // that never comes (the upstream waits for that very answer).
      if (!flow.outcome && !flow.queued.length) {
        const woke = new Promise<void>((resolve) => (flow.wake = resolve));
        await Promise.race([flow.done, woke]);
        flow.wake = undefined;
      }
      if (flow.outcome) {
        this.finish(flow, "the call finished before the input was given");
        if (flow.outcome.error !== undefined) throw flow.outcome.error;
        return flow.outcome.value as T;
      }
      if (!flow.queued.length) continue;
      const askable: PendingInput[] = [];
      for (const input of flow.queued.splice(0)) {
        if (canAsk(input.request.method)) askable.push(input);
        else input.reject(new GatewayError(ErrorCodes.methodNotFound, `the client does not support ${input.request.method}`));
      }
      if (!askable.length) continue;
      const inputRequests: Record<string, unknown> = {};
      for (const input of askable) {
        const key = `i${randomUUID().slice(0, 8)}`;
        flow.asked.set(key, input);
        inputRequests[key] = input.request;
      }
      clearTimeout(flow.timer);
      flow.timer = setTimeout(() => this.finish(flow, "the client did not answer in time", ErrorCodes.timeout), FLOW_TTL_SECONDS * 1000);
      flow.timer.unref();
      const requestState = await this.codec.mint({ flow: flow.id }, ctx);
      return { resultType: "input_required", inputRequests, requestState };
    }
  }

  /** The client's answers, each to the upstream request it belongs to; unknown keys are ignored. */
  private deliver(flow: Flow, responses: Record<string, unknown>) {
    for (const [key, response] of Object.entries(responses)) {
      const input = flow.asked.get(key);
      if (!input) continue;
      flow.asked.delete(key);
      input.resolve(response as Record<string, unknown>);
    }
  }

  /**
   * An upstream asks for input. Attached to the oldest open flow of that server: stdio gives no way
   * to tell which of its in-flight calls a request belongs to, and any open call of the same client
   * can carry the question. Undefined when no call of that server is open.
   */
  requestInput(server: string, method: InputMethod, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<Record<string, unknown>> | undefined {
    const open = [...this.flows.values()].filter((f) => f.server() === server);
    const flow = open[0];
    if (!flow) return undefined;
    // Calls of several callers are open on this server: the request could be any one's, and showing
    // it to the wrong one would leak it across principals. Nobody is asked.
    if (open.some((f) => f.owner !== flow.owner)) {
      return Promise.reject(new GatewayError(ErrorCodes.unavailable, "the server's request cannot be attributed to one caller (calls of several principals are open on it)"));
    }
    return this.enqueue(flow, method, params, signal);
  }

  /** Whether a call of `server` is open now (an input request of that server can ride on it). */
  hasOpenCall(server: string): boolean {
    for (const f of this.flows.values()) if (f.server() === server) return true;
    return false;
  }

  /** Queues an input request on one flow; the flow's next round shows it to the client. */
  private enqueue(flow: Flow, method: InputMethod, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const input: PendingInput = { request: { method, ...(params ? { params } : {}) }, resolve, reject };
      flow.queued.push(input);
      signal.addEventListener(
        "abort",
        () => {
          // Not shown yet: never show it. Shown already: a late answer is ignored.
          const i = flow.queued.indexOf(input);
          if (i >= 0) flow.queued.splice(i, 1);
          reject(new GatewayError(ErrorCodes.cancelled, "the request was withdrawn"));
        },
        { once: true },
      );
      flow.wake?.();
    });
  }

  private finish(flow: Flow, why: string, code: number = ErrorCodes.cancelled) {
    clearTimeout(flow.timer);
    // Built only when something waits: this runs at the end of every call.
    if (flow.queued.length || flow.asked.size) {
      const reason = new GatewayError(code, why);
      for (const input of [...flow.queued, ...flow.asked.values()]) input.reject(reason);
    }
    flow.queued = [];
    flow.asked.clear();
    this.flows.delete(flow.id);
  }
}
