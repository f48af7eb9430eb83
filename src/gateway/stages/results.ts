// results: what a tool returns is bounded before the client (and the model) sees it: a result larger
// than integrity.maxResultBytes becomes an error result saying so, and with
// integrity.stripControlCharacters, control characters and ANSI escapes are removed from text
// content (a terminal-rendering client would otherwise act on them). Runs after the secrets stage.
import type { RequestContext, Stage } from "../pipeline.js";
import { stripControls } from "../terminal-text.js";

export { stripControls };

export function resultsStage(opts: { maxResultBytes: number; stripControlCharacters: boolean }): Stage {
  return {
    name: "results",
    // A result ends the pipeline for ordinary stages; this one exists to look at it.
    always: true,
    run(ctx: RequestContext) {
      if (ctx.method !== "tools/call" || !ctx.result || ctx.error) return;
      const bytes = Buffer.byteLength(JSON.stringify(ctx.result));
      if (bytes > opts.maxResultBytes) {
        ctx.result = {
          content: [{ type: "text", text: `mcp-warden withheld this result: ${bytes} bytes exceed integrity.maxResultBytes (${opts.maxResultBytes}).` }],
          isError: true,
        };
        return;
      }
      if (!opts.stripControlCharacters || !Array.isArray(ctx.result.content)) return;
      ctx.result = {
        ...ctx.result,
        content: (ctx.result.content as { type?: string; text?: unknown }[]).map((c) => (c?.type === "text" && typeof c.text === "string" ? { ...c, text: stripControls(c.text) } : c)),
      };
    },
  };
}
