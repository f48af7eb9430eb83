// identify: which upstream and which of its items a request is for, and the canonical name the
// policy judges (built from the upstream's own item name, never from the exposed name alone).
import { canonicalToolName } from "../../policy/index.js";
import type { Catalog } from "../catalog.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";
import type { StageServices } from "./services.js";

export function identifyStage({ catalog: gatewayCatalog }: StageServices): Stage {
  return {
    name: "identify",
    run(ctx: RequestContext) {
      const p = ctx.params;
      const catalog = ctx.catalog ?? gatewayCatalog;
      switch (ctx.method) {
        case "tools/call": {
          const exposed = String(p.name);
          const found = catalog.findTool(exposed);
          if (!found) throw unknown(catalog, "tool", exposed);
          ctx.target = { upstream: found.upstream, name: found.name, canonical: canonicalToolName(found.upstream.name, found.name), listed: { kind: "tools", name: found.name, item: found.tool } };
          ctx.upstreamParams = { ...p, name: found.name };
          return;
        }
        case "prompts/get": {
          const exposed = String(p.name);
          const found = catalog.findPrompt(exposed);
          if (!found) throw unknown(catalog, "prompt", exposed);
          ctx.target = { upstream: found.upstream, name: found.name, canonical: `mcp__${found.upstream.name}`, listed: { kind: "prompts", name: found.name, item: found.prompt } };
          ctx.upstreamParams = { ...p, name: found.name };
          return;
        }
        case "resources/read":
        case "resources/subscribe":
        case "resources/unsubscribe": {
          const uri = String(p.uri);
          const found = catalog.findResource(uri);
          if (found === "ambiguous") throw new GatewayError(ErrorCodes.invalidParams, `Resource ${uri} matches templates of several servers`);
          if (!found) throw new GatewayError(ErrorCodes.invalidParams, `Unknown resource: ${uri}`);
          ctx.target = { upstream: found.upstream, name: uri, canonical: `mcp__${found.upstream.name}`, listed: found.source };
          ctx.upstreamParams = p;
          return;
        }
        case "completion/complete": {
          const ref = p.ref as { type?: string; name?: string; uri?: string } | undefined;
          if (ref?.type === "ref/prompt" && typeof ref.name === "string") {
            const found = catalog.findPrompt(ref.name);
            if (!found) throw new GatewayError(ErrorCodes.invalidParams, `Unknown prompt: ${ref.name}`);
            ctx.target = { upstream: found.upstream, name: found.name, canonical: `mcp__${found.upstream.name}`, listed: { kind: "prompts", name: found.name, item: found.prompt } };
            ctx.upstreamParams = { ...p, ref: { ...ref, name: found.name } };
            return;
          }
          if (ref?.type === "ref/resource" && typeof ref.uri === "string") {
            const found = catalog.findResourceTemplate(ref.uri) ?? catalog.findResource(ref.uri);
            if (!found || found === "ambiguous") throw new GatewayError(ErrorCodes.invalidParams, `Unknown resource template: ${ref.uri}`);
            ctx.target = { upstream: found.upstream, name: ref.uri, canonical: `mcp__${found.upstream.name}`, listed: found.source };
            ctx.upstreamParams = p;
            return;
          }
          throw new GatewayError(ErrorCodes.invalidParams, "completion/complete needs a ref/prompt or ref/resource");
        }
      }
    },
  };
}

/** An unknown name, unless it names a server that is down: then say so, with its last error. */
function unknown(catalog: Catalog, kind: string, exposed: string): GatewayError {
  const upstream = catalog.upstreamOf(exposed);
  if (upstream?.state === "awaiting-approval") return new GatewayError(ErrorCodes.unavailable, upstream.lastError ?? `server '${upstream.name}' waits for a person's approval; run \`mcp-warden approvals list\``);
  // A caller's instance that has no credential for this caller (token exchange) says only why.
  if (upstream?.state === "stopped" && upstream.lastError) return new GatewayError(ErrorCodes.unavailable, upstream.lastError);
  if (upstream && upstream.state !== "ready") {
    return new GatewayError(ErrorCodes.unavailable, `server '${upstream.name}' ${upstream.state === "failed" ? "has failed" : `is ${upstream.state}`}${upstream.lastError ? `: ${upstream.lastError}` : ""}`);
  }
  return new GatewayError(ErrorCodes.invalidParams, `Unknown ${kind}: ${exposed}`);
}
