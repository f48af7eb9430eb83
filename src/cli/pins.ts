// `mcp-warden pins list | approve SERVER [TOOL] | reset SERVER [TOOL]`: the pin store from a terminal.
// `approve` answers the questions running gateways hold about a server's changed tools or changed
// launch configuration (the same questions `approvals` lists); `reset` forgets pins, so the next
// review pins the server's tools again on first use (a project server must then be approved again).
import { Writable } from "node:stream";
import type { PinStore, ServerPins } from "../adapters/pin-store.js";
import { pinFilePath, pinStoreFor } from "../adapters/pin-store-factory.js";
import { displayedIdentity, launchStatus } from "../gateway/launch-approval.js";
import type { ResolvedSettings } from "../settings/resolve.js";
import { visibleText } from "../policy/integrity/display.js";
import { PIN_KINDS } from "../policy/integrity/pins.js";
import { approvalsCommand } from "./approvals.js";

/** The pin file when the settings keep pins on this machine (no state.postgres). */
export function pinFile(env: NodeJS.ProcessEnv): string {
  return pinFilePath(env);
}

export interface PinsOptions {
  server?: string;
  tool?: string;
  json?: boolean;
  env: NodeJS.ProcessEnv;
  /**
   * The settings of this directory: where the pins are (state.postgres, else the pin file), and for
   * `approve`, the launch configuration it can approve without a gateway.
   */
  settings?: ResolvedSettings;
}

export async function pinsCommand(action: "list" | "approve" | "reset", opts: PinsOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const fail = (code: number, msg: string) => {
    err.write(`mcp-warden pins: ${msg}\n`);
    return code;
  };
  const store = pinStoreFor(opts.settings ?? { state: {} }, opts.env);
  try {
    return await pinsWith(store, action, opts, out, err, fail);
  } finally {
    await store.close();
  }
}

async function pinsWith(store: PinStore, action: "list" | "approve" | "reset", opts: PinsOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream, fail: (code: number, msg: string) => number): Promise<number> {
  let records: ServerPins[];
  try {
    records = await store.list();
  } catch (e) {
    return fail(1, (e as Error).message);
  }

  if (action === "list") {
    const shown = records.filter((r) => opts.server === undefined || r.serverName === opts.server);
    if (opts.json) {
      const where = opts.settings?.state.postgres !== undefined ? { postgres: store.where } : { file: store.where };
      out.write(JSON.stringify({ ...where, servers: shown }, null, 2) + "\n");
      return 0;
    }
    if (!shown.length) {
      out.write(`no pins${opts.server ? ` for server ${visibleText(opts.server)}` : ""} (${store.where})\n`);
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
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const code = await approvalsCommand("list", { json: true, env: opts.env }, sink, quiet);
  const tool = opts.tool === undefined ? undefined : opts.tool.startsWith("mcp__") ? opts.tool : `mcp__${opts.server}__${opts.tool}`;
  const pending =
    code === 0
      ? (JSON.parse(listed) as { approvals: { id: string; kind: string; server: string; tool?: string }[] }).approvals.filter(
          (a) => (a.kind === "server" || a.kind === "tool-change") && a.server === opts.server && (tool === undefined || a.tool === tool),
        )
      : [];
  if (!pending.length) {
    // No gateway holds a question: a launch configuration can still be approved from the settings here.
    if (tool === undefined && opts.settings) return approveLaunchHere(opts.server, opts.settings, store, out, fail);
    return fail(1, `nothing of server ${visibleText(opts.server)}${tool ? ` (${visibleText(tool)})` : ""} waits for approval in a running gateway`);
  }
  for (const a of pending) {
    const r = await approvalsCommand("approve", { id: a.id, env: opts.env }, out, err);
    if (r !== 0) return r;
  }
  return 0;
}

/**
 * Approves a server's launch configuration as the settings of this directory define it, without a
 * gateway: the person sees exactly what will run. A gateway already running starts it at its next use.
 */
async function approveLaunchHere(name: string, settings: ResolvedSettings, store: PinStore, out: NodeJS.WritableStream, fail: (code: number, msg: string) => number): Promise<number> {
  const server = settings.servers.find((s) => s.name === name);
  if (!server) return fail(1, `no server ${visibleText(name)} is configured here, and no running gateway asks about it`);
  let launch;
  try {
    launch = await launchStatus(store, server);
    if (launch.status !== "needs-approval") {
      out.write(`server ${visibleText(name)}'s launch configuration needs no approval (${launch.status === "approved" ? "already approved" : "approved on first use"})\n`);
      return 0;
    }
    await store.approveServer(launch.identity, name, "pins approve");
  } catch (e) {
    return fail(1, (e as Error).message);
  }
  out.write(`approved the launch configuration of ${visibleText(name)} (${server.source.layer} settings, ${visibleText(server.source.file)}):\n`);
  out.write(`${visibleText(JSON.stringify(displayedIdentity(launch.identity), null, 2))}\n`);
  out.write("a gateway starts it at its next use; `mcp-warden pins reset " + visibleText(name) + "` takes the approval back\n");
  return 0;
}
