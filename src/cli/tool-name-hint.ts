// `check --tool everything__echo` judges a built-in tool named "everything__echo", which no rule
// names: the client sees `<server><separator><tool>`, but rules (and `check`) use the canonical
// `mcp__<server>__<tool>`. When a name looks like what a client sees, say which name to use.
import { serverNameProblem } from "../settings/server-name.js";
import type { ResolvedSettings } from "../settings/index.js";
import { KNOWN_BUILTIN_TOOLS } from "../policy/tool-names.js";

/**
 * When `tool` looks like a name the gateway exposes: the canonical name, and why (the caller adds
 * how to use it: a `check` command line, a test's "tool" field). Else undefined.
 */
export function exposedNameHint(tool: string, settings: { gateway: Pick<ResolvedSettings["gateway"], "separator" | "prefix">; servers: readonly { name: string }[] }): { canonical: string; why: string } | undefined {
  if (/^mcp__/i.test(tool)) return undefined;
  const { separator, prefix } = settings.gateway;
  let server: string | undefined;
  let name: string | undefined;
  if (prefix) {
    const at = tool.indexOf(separator);
    if (at <= 0) return undefined;
    server = tool.slice(0, at);
    name = tool.slice(at + separator.length);
    if (name === "" || serverNameProblem(server) !== undefined) return undefined;
  } else {
    // One server, exposed without a prefix: a name that is no built-in tool may be one of its tools.
    if (settings.servers.length !== 1 || KNOWN_BUILTIN_TOOLS.includes(tool)) return undefined;
    server = settings.servers[0]!.name;
    name = tool;
  }
  const canonical = `mcp__${server}__${name}`;
  const seen = prefix ? `the name a client sees (<server>${separator}<tool>)` : `a tool of server "${server}", which clients see without a prefix`;
  const configured = settings.servers.some((s) => s.name === server) ? "" : ` (no server "${server}" is configured here)`;
  return { canonical, why: `"${tool}" looks like ${seen}, but rules judge the canonical name ${canonical}${configured}` };
}
