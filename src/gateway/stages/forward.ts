// forward: send the request to its upstream and keep the answer as it came. With tracing on, the
// request's span goes with it: `traceparent` in `_meta`, and as a header to an HTTP server.
import { withTraceparent } from "../../upstream/trace-context.js";
import type { RequestContext, Stage } from "../pipeline.js";

export function forwardStage(): Stage {
  return {
    name: "forward",
    async run(ctx: RequestContext) {
      ctx.forwardAttempted = true;
      const traceparent = ctx.traceparent;
      const params = traceparent === undefined ? ctx.upstreamParams : withMeta(ctx.upstreamParams ?? ctx.params, traceparent);
      ctx.result = await withTraceparent(traceparent, () =>
        ctx.target!.upstream.request(ctx.method, params, {
          signal: ctx.signal,
          onprogress: ctx.onProgress,
          ...(ctx.direct ? { direct: true } : {}),
        }),
      );
    },
  };
}

/** The params with `_meta.traceparent` set to this request's span (the caller's own is its parent). */
function withMeta(params: Record<string, unknown>, traceparent: string): Record<string, unknown> {
  const meta = params._meta && typeof params._meta === "object" ? (params._meta as Record<string, unknown>) : {};
  return { ...params, _meta: { ...meta, traceparent } };
}
