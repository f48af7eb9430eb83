// ask: a person must confirm. Until the approval flow exists, `ask` fails closed: the call is
// refused with a message saying it needs approval. Nothing is silently allowed.
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";

export function askStage(): Stage {
  return {
    name: "ask",
    run(ctx: RequestContext) {
      const v = ctx.verdict!;
      if (v.decision !== "ask") return;
      throw new GatewayError(
        ErrorCodes.needsApproval,
        `${ctx.target!.canonical} needs approval (${v.reason}), and mcp-warden cannot ask yet, so the call is refused. Add an allow rule to permit it.`,
        { decision: "ask", reason: v.reason, rule: v.rule },
      );
    },
  };
}
