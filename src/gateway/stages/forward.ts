// forward: send the request to its upstream and keep the answer as it came.
import type { RequestContext, Stage } from "../pipeline.js";

export function forwardStage(): Stage {
  return {
    name: "forward",
    async run(ctx: RequestContext) {
      ctx.forwardAttempted = true;
      ctx.result = await ctx.target!.upstream.request(ctx.method, ctx.upstreamParams, {
        signal: ctx.signal,
        onprogress: ctx.onProgress,
      });
    },
  };
}
