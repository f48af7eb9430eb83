// One forwarded request, from the SDK's handler (or the hot path) to its answer: the request's
// context, its tracing span, its input rounds (an upstream's elicitation, sampling or roots request,
// or the gateway's own question), and the pipeline (pipeline.ts) that decides, forwards and audits it.
import { randomUUID } from "node:crypto";
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, type ServerContext } from "@modelcontextprotocol/server";
import type { Upstream } from "../upstream/upstream.js";
import type { CallTracer } from "../ops/tracing.js";
import type { Catalog } from "./catalog.js";
import type { Downstream } from "./downstream.js";
import { reviewsSettled, toProtocolError } from "./downstream-server.js";
import type { AskInFlow, InputBroker, InputMethod } from "./input-broker.js";
import type { IntegrityGate } from "./integrity.js";
import { runPipeline, type ClientIdentity, type ForwardedMethod, type RequestContext, type Stage } from "./pipeline.js";
import { stripControls } from "./terminal-text.js";

/** What a forwarded request needs of the gateway core. */
export interface ForwardHost {
  readonly stages: readonly Stage[];
  readonly integrity: IntegrityGate;
  readonly inputs: InputBroker;
  readonly tracer: CallTracer | undefined;
  readonly keepLogControlCharacters: boolean;
  /** The upstreams a caller reaches and the catalog naming their items. */
  viewOf(d: Downstream): { upstreams: ReadonlyMap<string, Upstream>; catalog: Catalog };
  /** Starts the upstreams never started and waits, bounded, for those starting. */
  startAll(upstreams: ReadonlyMap<string, Upstream>): Promise<void>;
}

/**
 * Runs one forwarded request through the pipeline and turns its end into a result or an error.
 * `direct`: the hot path took it (hot-path.ts), and forward may write it straight to a 2025-era stdio server.
 */
export async function forwardRequest(host: ForwardHost, method: ForwardedMethod, rawParams: unknown, ctx: ServerContext, d: Downstream, direct = false): Promise<never> {
  const params = (rawParams ?? {}) as Record<string, unknown>;
  const progressToken = (params._meta as { progressToken?: string | number } | undefined)?.progressToken;
  // Every request that names an item needs the lists of the servers that may own it, also as the
  // first request after the handshake and for lazy servers (a completion included).
  const view = host.viewOf(d);
  await host.startAll(view.upstreams);
  await reviewsSettled(host.integrity);
  // Progress is relayed in order, and all of it before the result.
  let progressSent: Promise<unknown> = Promise.resolve();
  const rc: RequestContext = {
    id: randomUUID(),
    method,
    params,
    client: clientIdentity(ctx, d),
    principal: d.principal,
    caller: d.audited,
    catalog: view.catalog,
    signal: ctx.mcpReq.signal,
    startedAt: Date.now(),
    ...(direct ? { direct } : {}),
    onProgress:
      progressToken === undefined
        ? undefined
        : (p) => {
            // A progress message is a server's text on the client's screen too.
            const shown = typeof p.message === "string" && !host.keepLogControlCharacters ? { ...p, message: stripControls(p.message) } : p;
            progressSent = progressSent.then(() => ctx.mcpReq.notify({ method: "notifications/progress", params: { ...shown, progressToken } })).catch(() => undefined);
          },
  };
  const span = host.tracer?.start(method, (params._meta as { traceparent?: unknown } | undefined)?.traceparent, {});
  if (span?.traceparent) rc.traceparent = span.traceparent;
  const endSpan = () =>
    span?.end(
      {
        "mcp.server": rc.target?.upstream.name,
        ...(method === "tools/call" ? { "mcp.tool": rc.target?.canonical } : {}),
        "mcp_warden.decision": rc.verdict?.decision ?? "deny",
        "mcp_warden.outcome": rc.error ? String(rc.error.code) : rc.result?.isError === true ? "tool-error" : "ok",
      },
      rc.error !== undefined || rc.result?.isError === true,
    );
  const run = async (askInFlow?: AskInFlow) => {
    // The gateway's own questions (an `ask` rule) ride on this call, when the client can be asked.
    if (askInFlow && clientSupports(ctx, "elicitation/create", d)) rc.askClient = (p, signal) => askInFlow("elicitation/create", p, signal);
    await runPipeline(host.stages, rc);
    if (rc.onProgress) {
      // The SDK dispatches an upstream's notifications a tick later than the response that
      // follows them: let the last progress notifications arrive before answering.
      await new Promise((resolve) => setImmediate(resolve));
      await progressSent;
    }
    if (rc.error) throw toProtocolError(rc.error);
    return rc.result;
  };
  try {
    // Methods that can pause for user input (an upstream's elicitation, sampling or roots request).
    if (method === "tools/call" || method === "prompts/get" || method === "resources/read") {
      return (await host.inputs.run(ctx, d.owner, () => rc.target?.upstream.instanceKey, run, (m) => clientSupports(ctx, m, d))) as never;
    }
    return (await run()) as never;
  } finally {
    endSpan();
  }
}

/** The client's name and version: from the request's envelope (2026-07-28) or the handshake (2025). */
function clientIdentity(ctx: ServerContext, d: Downstream): ClientIdentity {
  const modern = ctx.mcpReq.envelope?.[CLIENT_INFO_META_KEY as keyof typeof ctx.mcpReq.envelope] as ClientIdentity | undefined;
  const legacy = d.server?.getClientVersion();
  const info = modern ?? legacy;
  return info ? { name: info.name, version: info.version } : {};
}

/** Whether the client declared the capability an input request needs (per request in 2026-07-28). */
export function clientSupports(ctx: ServerContext, method: InputMethod, d: Downstream): boolean {
  const modern = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as keyof typeof ctx.mcpReq.envelope] as Record<string, unknown> | undefined;
  const caps = (modern ?? d.server?.getClientCapabilities() ?? {}) as Record<string, unknown>;
  return Boolean(caps[capabilityFor(method)]);
}

/** The client capability an upstream's input request needs. */
export function capabilityFor(method: InputMethod): "elicitation" | "sampling" | "roots" {
  return method === "elicitation/create" ? "elicitation" : method === "sampling/createMessage" ? "sampling" : "roots";
}
