// `mcp-warden console`: a link into the local console of each `mcp-warden run` gateway of this
// project. Gateways are found by their status files (as `mcp-warden approvals` finds them); the link
// carries a one-time ticket minted here with the gateway's admin token from its 0600 status file, so
// only the OS user who runs the gateway can mint one. Nothing is sent to the gateway: the ticket is
// checked when the browser opens the link.
import { realpathSync } from "node:fs";
import { relative, isAbsolute } from "node:path";
import { mintTicket, TICKET_TTL_MS, ticketUrl } from "../fronts/console/ticket.js";
import { visibleText } from "../policy/integrity/display.js";
import { runtimeDir } from "../settings/paths.js";
import { type GatewayStatusEntry, readGatewayStatuses } from "./approvals.js";

export interface ConsoleCommandOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  now?: number;
}

const canonical = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** Whether `dir` is the gateway's directory or inside it. */
function inProject(gatewayCwd: string | undefined, dir: string): boolean {
  if (gatewayCwd === undefined) return false;
  const rel = relative(canonical(gatewayCwd), canonical(dir));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export function consoleCommand(opts: ConsoleCommandOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const say = (m: string) => err.write(`mcp-warden console: ${m}\n`);
  // Only run's gateways have a local console (serve's is at /console, behind its sign-in).
  const all = readGatewayStatuses(opts.env, (m) => say(`warning: ${m}`)).filter((g) => g.console !== undefined);
  if (all.length === 0) {
    say(
      `no \`mcp-warden run\` gateway is running for this user (status files are read from ${visibleText(runtimeDir(opts.env))}). ` +
        "The console belongs to a running gateway: start your MCP client (it starts `mcp-warden run`), then run `mcp-warden console` again.",
    );
    return 1;
  }
  const here = all.filter((g) => inProject(g.cwd, opts.cwd));
  const shown = here.length > 0 ? here : all;
  if (here.length === 0) say(`no gateway runs for ${visibleText(opts.cwd)}; the running gateways of other projects are:`);

  const where = (g: GatewayStatusEntry) => `project ${g.cwd !== undefined ? visibleText(g.cwd) : "unknown"}, gateway pid ${g.pid}`;
  let links = 0;
  for (const g of shown) {
    if (g.console?.enabled === false) {
      say(`${where(g)}: the console is off because approvals.page is false in its settings; set "approvals": { "page": true } and restart your MCP client to turn it on`);
      continue;
    }
    if (!g.approvals) {
      say(`${where(g)}: its console has not started yet (it starts once the MCP client has connected); try again in a moment`);
      continue;
    }
    const origin = `${g.approvals.url.protocol}//${g.approvals.url.host}`;
    out.write(`${ticketUrl(origin, mintTicket(g.approvals.token, opts.now))}  (${where(g)})\n`);
    links++;
  }
  if (links === 0) return 1;
  say(`open the link in your browser; it works once, within ${TICKET_TTL_MS / 60_000} minutes (run \`mcp-warden console\` again for a new one)`);
  return 0;
}
