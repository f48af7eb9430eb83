// decide: the policy core's verdict. Tools are judged by their canonical name; prompts, resources
// and completions by whether a deny rule covers their whole server.
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";
import type { StageServices } from "./services.js";

export function decideStage({ policy: layersPolicy, policyFor, integrity }: StageServices): Stage {
  return {
    name: "decide",
    run(ctx: RequestContext) {
      const target = ctx.target!;
      const policy = policyFor ? policyFor(ctx.principal) : layersPolicy;
      const verdict =
        ctx.method === "tools/call"
          ? policy.decideTool({ tool: target.canonical, input: (ctx.params.arguments as Record<string, unknown>) ?? {} })
          : policy.decideServerItems(target.upstream.name);
      ctx.verdict = verdict;
      if (verdict.decision === "deny") {
        const where = verdict.source ? ` (${verdict.source.file}, ${verdict.source.path})` : "";
        throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${verdict.reason}${where}`, {
          decision: "deny",
          reason: verdict.reason,
          rule: verdict.rule,
        });
      }
      // An item hidden by the integrity review (changed since approved, poisoned, server not
      // approved), after the rules so a denied tool's error names its rule; before ask, so nobody
      // is asked about something that may not be exposed. Prompts, resources and templates too.
      const listed = target.listed;
      const hidden = listed ? integrity?.hiddenReason(target.upstream, listed.name, listed.item, listed.kind) : undefined;
      if (hidden !== undefined) {
        ctx.verdict = { decision: "deny", reason: `hidden by mcp-warden: ${hidden}` };
        throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${hidden}`, { decision: "deny", reason: hidden });
      }
    },
  };
}
