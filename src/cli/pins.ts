// `mcp-warden pins list | approve SERVER [TOOL] | reset SERVER [TOOL]`: the pin store from a terminal.
// `approve` answers the questions running gateways hold about a server's changed tools or changed
// launch configuration (the same questions `approvals` lists); `reset` forgets pins, so the next
// review pins the server's tools again on first use (a project server must then be approved again).
import { Writable } from "node:stream";
import { join } from "node:path";
import { filePinStore, type ServerPins } from "../adapters/pin-store.js";
import { visibleText } from "../policy/integrity/display.js";
import { PIN_KINDS } from "../policy/integrity/pins.js";
import { stateDir } from "../settings/paths.js";
import { approvalsCommand } from "./approvals.js";

export function pinFile(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), "pins.json");
}

export interface PinsOptions {
  server?: string;
  tool?: string;
  json?: boolean;
  env: NodeJS.ProcessEnv;
}

export async function pinsCommand(action: "list" | "approve" | "reset", opts: PinsOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const fail = (code: number, msg: string) => {
    err.write(`mcp-warden pins: ${msg}\n`);
    return code;
  };
  const store = filePinStore(pinFile(opts.env));
  let records: ServerPins[];
  try {
    records = await store.list();
  } catch (e) {
    return fail(1, (e as Error).message);
  }

  if (action === "list") {
    const shown = records.filter((r) => opts.server === undefined || r.serverName === opts.server);
    if (opts.json) {
      out.write(JSON.stringify({ file: pinFile(opts.env), servers: shown }, null, 2) + "\n");
      return 0;
    }
    if (!shown.length) {
      out.write(`no pins${opts.server ? ` for server ${visibleText(opts.server)}` : ""} (${pinFile(opts.env)})\n`);
      return 0;
    }
    for (const r of shown) {
      const launch = r.identity.kind === "remote" ? r.identity.url : [r.identity.command, ...(r.identity.args ?? [])].join(" ");
      out.write(`${visibleText(r.serverName)}: ${visibleText(launch ?? "")} (approved ${r.approvedAt}${r.approvedBy ? ` by ${r.approvedBy}` : ""})\n`);
      for (const kind of PIN_KINDS) {
        const label = kind === "tools" ? "" : kind === "prompts" ? "prompt " : "template ";
        for (const t of Object.values(r[kind])) out.write(`  ${label}${visibleText(t.name)}  ${t.digest.slice(0, 19)}…  ${t.approvedAt}${t.approvedBy ? ` (${t.approvedBy})` : ""}\n`);
      }
    }
    return 0;
  }

  if (!opts.server) return fail(2, `${action} needs a server name`);
  if (action === "reset") {
    const mine = records.filter((r) => r.serverName === opts.server);
    if (!mine.length) return fail(1, `no pins for server ${visibleText(opts.server)}`);
    try {
      for (const r of mine) {
        if (opts.tool === undefined) await store.resetServer(r.identity.digest);
        else for (const kind of PIN_KINDS) await store.resetItem(r.identity.digest, kind, opts.tool);
      }
    } catch (e) {
      return fail(1, (e as Error).message);
    }
    out.write(`reset ${opts.tool ? `the pins named ${visibleText(opts.tool)} (tool, prompt, template) of ` : "every pin of "}${visibleText(opts.server)}; a running gateway applies it at its next review of the server\n`);
    return 0;
  }

  // approve: the pending questions about this server's tools or identity, in running gateways.
  let listed = "";
  const sink = new Writable({
    write(chunk, _enc, done) {
      listed += String(chunk);
      done();
    },
  });
  const code = await approvalsCommand("list", { json: true, env: opts.env }, sink, err);
  if (code !== 0) return code;
  const tool = opts.tool === undefined ? undefined : opts.tool.startsWith("mcp__") ? opts.tool : `mcp__${opts.server}__${opts.tool}`;
  const pending = (JSON.parse(listed) as { approvals: { id: string; kind: string; server: string; tool?: string }[] }).approvals.filter(
    (a) => (a.kind === "server" || a.kind === "tool-change") && a.server === opts.server && (tool === undefined || a.tool === tool),
  );
  if (!pending.length) return fail(1, `nothing of server ${visibleText(opts.server)}${tool ? ` (${visibleText(tool)})` : ""} waits for approval`);
  for (const a of pending) {
    const r = await approvalsCommand("approve", { id: a.id, env: opts.env }, out, err);
    if (r !== 0) return r;
  }
  return 0;
}
