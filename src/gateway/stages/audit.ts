// audit: one record with the decision, durable BEFORE the request is forwarded (the file log writes
// it into the kernel synchronously; PostgreSQL commits it, awaited here), so killing mcp-warden never
// loses the record of a call that reached a server; and one record with the outcome afterwards.
// A sink that cannot write it throws: the pipeline turns that into an error, never a forwarded call.
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";
import type { StageServices } from "./services.js";

const KIND = { "tools/call": "call" } as const;

export function auditDecisionStage({ audit }: StageServices): Stage {
  return {
    name: "audit-decision",
    always: true,
    async run(ctx: RequestContext) {
      const v = ctx.verdict;
      const forwarding = !ctx.error && v?.decision === "allow";
      const written = audit.appendDurable({
        kind: KIND[ctx.method as keyof typeof KIND] ?? "request",
        event: "decided",
        id: ctx.id,
        client: ctx.client,
        ...(ctx.caller ? { principal: ctx.caller } : {}),
        method: ctx.method,
        server: ctx.target?.upstream.name,
        tool: ctx.method === "tools/call" ? ctx.target?.canonical : undefined,
        arguments: ctx.auditArguments !== undefined ? ctx.auditArguments : ctx.method === "tools/call" ? ctx.params.arguments : ctx.params,
        decision: v?.decision ?? "deny",
        reason: v?.reason ?? ctx.error?.message,
        rule: v?.rule,
        ruleSource: v?.source,
        ...(forwarding ? {} : { outcome: "denied" as const, durationMs: Date.now() - ctx.startedAt }),
      });
      try {
        await written;
      } catch (e) {
        throw new GatewayError(ErrorCodes.unavailable, `Not forwarded: mcp-warden could not record this call in its audit log (${(e as Error).message})`);
      }
    },
  };
}

export function auditOutcomeStage({ audit }: StageServices): Stage {
  return {
    name: "audit-outcome",
    always: true,
    run(ctx: RequestContext) {
      // Requests that never reached forward were fully recorded by the decision record.
      if (ctx.verdict?.decision !== "allow" || (!ctx.result && !ctx.forwardAttempted)) return;
      const isToolError = ctx.result?.isError === true;
      const entry = {
        kind: KIND[ctx.method as keyof typeof KIND] ?? "request",
        event: "completed",
        id: ctx.id,
        ...(ctx.caller ? { principal: ctx.caller } : {}),
        server: ctx.target?.upstream.name,
        tool: ctx.method === "tools/call" ? ctx.target?.canonical : undefined,
        method: ctx.method,
        durationMs: Date.now() - ctx.startedAt,
        outcome: ctx.error ? (ctx.error.code === ErrorCodes.timeout ? "timeout" : ctx.error.code === ErrorCodes.cancelled ? "cancelled" : "error") : isToolError ? "tool-error" : "ok",
        error: ctx.error?.message,
      } as const;
      // The decision was written before forwarding. The file log puts the outcome in the kernel
      // within this turn, so it need not hold up the response. A sink that queues in this process
      // (PostgreSQL) commits it first, batched with every other call's: a replica killed right after
      // answering has still recorded the outcome of every call it answered. A failure here does not
      // take back a result the server already produced; the sink has failed and refuses the next call.
      if (audit.durableOnAppend) audit.appendSoon(entry);
      else
        return audit.appendDurable(entry).then(
          () => undefined,
          () => undefined,
        );
    },
  };
}
