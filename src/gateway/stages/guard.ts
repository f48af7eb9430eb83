// guard: server-specific checks on arguments (filesystem roots, read-only SQL, argument
// constraints). None is enforced yet, so a server configured with one refuses every call.
import { unenforcedCallFeature } from "../../policy/unenforced.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";

export function guardStage(): Stage {
  return {
    name: "guard",
    run(ctx: RequestContext) {
      const refusal = unenforcedCallFeature(ctx.target!.upstream.server);
      if (!refusal) return;
      ctx.verdict = refusal;
      throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${refusal.reason}`, { decision: "deny", reason: refusal.reason });
    },
  };
}
