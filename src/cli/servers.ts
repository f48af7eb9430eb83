// `mcp-warden servers list|disable|remove`: see the configured servers, and take one out of service
// by editing the settings layer that defines it (incident response). After a change the settings
// are loaded again, so the command reports what a gateway will actually do, not what we hoped.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { withPinStore } from "../adapters/pin-store-factory.js";
import { launchStatus, REPOSITORY_LAYERS } from "../gateway/launch-approval.js";
import { compileRedactor } from "../audit/redact.js";
import { compilePolicy, PolicyError, type CompiledPolicy } from "../policy/index.js";
import type { ConfiguredServer } from "../policy/types.js";
import { loadSettings, parseJson, ServerName, settingsFiles, SettingsError, type ResolvedSettings } from "../settings/index.js";
import { EditError, isEditableLayer, isObject, layerFile, readJsonDocument, restoreJsonDocument, validateSettingsData, writeJsonDocument, type JsonDocument, type JsonObject } from "./settings-edit.js";
import { clean, compilePolicyOrReport, formatTable, readLiveGateways, serverVerdict, transportOf, type GatewayStatus } from "./status.js";

export interface ServerListing {
  name: string;
  transport: string;
  /** stdio: as written in the settings file, before ${VAR} expansion, so expanded secrets never show. */
  command?: string;
  args?: string[];
  /** http/sse: without userinfo, query or fragment. */
  url?: string;
  /** True when userinfo, query or fragment was removed from `url`. */
  urlPartsHidden?: boolean;
  /** Names only; values are secrets. */
  env: string[];
  headers: string[];
  layer: string;
  file: string;
  managed: boolean;
  disabled: boolean;
  decision: "allow" | "deny" | "ask";
  reason: string;
  rule?: string;
  /** Allowed by policy, but its launch configuration waits for a person's approval (a project's own server, a changed launch). */
  awaitingApproval?: string;
}

export async function serversListCommand(opts: { settings: ResolvedSettings; json?: boolean; env?: NodeJS.ProcessEnv }, out: NodeJS.WritableStream): Promise<number> {
  const policy = compilePolicyOrReport(opts.settings, "servers list");
  if (!policy) return 2;
  const listing = listServers(opts.settings, policy);
  await markAwaitingApproval(opts.settings, listing, opts.env ?? process.env);
  if (opts.json) {
    out.write(JSON.stringify({ servers: listing }, null, 2) + "\n");
    return 0;
  }
  if (listing.length === 0) {
    out.write(`no servers configured (settings files read: ${opts.settings.files.length ? opts.settings.files.map((f) => f.file).join(", ") : "none"})\n`);
    return 0;
  }
  out.write(
    formatTable(
      ["NAME", "TRANSPORT", "COMMAND / URL", "DEFINED IN", "DISABLED", "POLICY"],
      listing.map((s) => [
        s.name,
        s.transport,
        target(s),
        `${s.layer}: ${s.file}`,
        s.disabled ? "yes" : "no",
        s.decision !== "allow" ? `${s.decision}: ${s.reason}` : s.awaitingApproval !== undefined ? `allow, awaiting approval: ${s.awaitingApproval}` : "allow",
      ]),
    ),
  );
  return 0;
}

export function listServers(settings: ResolvedSettings, policy: CompiledPolicy = compilePolicy(settings.policy)): ServerListing[] {
  const redact = compileRedactor(settings.secrets);
  const raw = new RawEntries();
  return settings.servers.map((s) => {
    const v = serverVerdict(policy, s, settings);
    // The entry as written (templates like ${TOKEN} unexpanded); the expanded one if the file changed since.
    const written = raw.get(s) ?? s.entry;
    const item: ServerListing = {
      name: s.name,
      transport: transportOf(s),
      env: Object.keys(s.entry.env ?? {}),
      headers: Object.keys(s.entry.headers ?? {}),
      layer: s.source.layer,
      file: s.source.file,
      managed: s.managed,
      disabled: s.entry.disabled === true,
      decision: v.decision,
      reason: redact.string(v.reason),
    };
    if (v.rule !== undefined) item.rule = redact.string(v.rule);
    if (item.transport === "stdio") {
      item.command = redact.string(typeof written.command === "string" ? written.command : s.entry.command ?? "");
      item.args = (Array.isArray(written.args) ? written.args : s.entry.args ?? []).map((a) => redact.string(String(a)));
    } else {
      const u = stripUrl(typeof written.url === "string" ? written.url : s.entry.url ?? "");
      item.url = redact.string(u.url);
      item.urlPartsHidden = u.hidden;
    }
    return item;
  });
}

/**
 * Marks the servers a gateway would not start until a person approves their launch configuration
 * (the same check the gateway makes, src/gateway/launch-approval.ts), with the command that does it.
 */
async function markAwaitingApproval(settings: ResolvedSettings, listing: ServerListing[], env: NodeJS.ProcessEnv): Promise<void> {
  const redact = compileRedactor(settings.secrets);
  await withPinStore(settings, env, async (store) => {
    for (const item of listing) {
      if (item.decision !== "allow" || item.disabled) continue;
      const server = settings.servers.find((s) => s.name === item.name)!;
      try {
        const launch = await launchStatus(store, server);
        if (launch.status === "needs-approval" && (settings.integrity.pins || REPOSITORY_LAYERS.has(server.source.layer)))
          item.awaitingApproval = `${redact.string(launch.why)}; \`mcp-warden pins approve ${server.name}\` shows and approves it`;
      } catch (e) {
        // Fail closed: an approval that cannot be checked is not one.
        item.awaitingApproval = `its approval cannot be checked: ${redact.string((e as Error).message)}`;
      }
    }
  });
}

/** Server entries as they stand in their files, read once per file. */
class RawEntries {
  private readonly files = new Map<string, JsonObject | undefined>();
  get(s: ConfiguredServer): { command?: unknown; args?: unknown; url?: unknown } | undefined {
    if (!this.files.has(s.source.file)) {
      let data: JsonObject | undefined;
      try {
        const parsed = parseJson(readFileSync(s.source.file, "utf8"), s.source.file);
        data = isObject(parsed) ? parsed : undefined;
      } catch {
        data = undefined;
      }
      this.files.set(s.source.file, data);
    }
    const servers = this.files.get(s.source.file)?.mcpServers;
    const entry = isObject(servers) && Object.hasOwn(servers, s.name) ? servers[s.name] : undefined;
    return isObject(entry) ? entry : undefined;
  }
}

/**
 * A URL without userinfo, query and fragment, by text rather than by parsing, so that templates
 * (`${API_BASE}/mcp?key=${KEY}`) are shortened the same way. `hidden`: something was removed.
 */
export function stripUrl(url: string): { url: string; hidden: boolean } {
  let hidden = false;
  let s = url;
  const cut = s.search(/[?#]/);
  if (cut >= 0) {
    s = s.slice(0, cut);
    hidden = true;
  }
  s = s.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/\\]*@/, (_m, scheme: string) => {
    hidden = true;
    return scheme;
  });
  return { url: s, hidden };
}

/** For people: the stripped URL, saying when something was left out. */
export function showUrl(url: string): string {
  const u = stripUrl(url);
  return u.hidden ? `${u.url} (credentials/query hidden)` : u.url;
}

/** `<1 env var>`, `<3 headers>`: counts stand in for values, which are secrets. */
export function countOf(n: number, what: string): string {
  return `<${n} ${what}${n === 1 ? "" : "s"}>`;
}

function target(s: ServerListing): string {
  const extra = [s.env.length ? countOf(s.env.length, "env var") : "", s.headers.length ? countOf(s.headers.length, "header") : ""].filter(Boolean).join(" ");
  const base =
    s.transport === "stdio" ? [s.command ?? "", ...(s.args ?? [])].map(shellWord).join(" ") : `${s.url ?? ""}${s.urlPartsHidden ? " (credentials/query hidden)" : ""}`;
  return extra ? `${base}  ${extra}` : base;
}

/** For display only: quotes a word that a shell would split or interpret. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./${}-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

export interface ServersChangeOptions {
  action: "disable" | "remove";
  server: string;
  layer?: string;
  deny?: boolean;
  settings: ResolvedSettings;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** `err`: where warnings and errors go (the incident command captures both streams into its report). */
export async function serversChangeCommand(opts: ServersChangeOptions, out: NodeJS.WritableStream, errOut: NodeJS.WritableStream = process.stderr): Promise<number> {
  try {
    return await changeServer(opts, out, errOut);
  } catch (err) {
    if (err instanceof EditError) {
      errOut.write(`mcp-warden servers ${opts.action}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

async function changeServer(opts: ServersChangeOptions, out: NodeJS.WritableStream, errOut: NodeJS.WritableStream): Promise<number> {
  const { action, server: name, settings, cwd, env } = opts;
  if (!ServerName.safeParse(name).success) throw new EditError(`'${clean(name)}' is not a valid server name`, 2);
  if (opts.layer !== undefined && !isEditableLayer(opts.layer)) throw new EditError(`unknown layer '${clean(opts.layer)}' (managed, local, project or user)`, 2);

  const configured = settings.servers.find((s) => s.name === name);
  const managedMcpFile = resolve(cwd, settingsFiles({ cwd, env }).managedMcp);
  const where = (s: ConfiguredServer) => `the ${s.source.layer} layer (${s.source.file})`;

  let layer: string;
  let file: string;
  if (opts.layer !== undefined && isEditableLayer(opts.layer)) {
    layer = opts.layer;
    file = resolve(cwd, layerFile(opts.layer, { cwd, env }));
  } else if (!configured) {
    throw new EditError(`no server named '${name}' is configured${opts.deny ? "; give --layer to say where to write the deny entry" : ""}`, 2);
  } else if (configured.source.file === managedMcpFile) {
    throw new EditError(
      `server '${name}' comes from ${managedMcpFile}, which this command does not change (it is the organization's server set); ask its administrator, or write a deny entry with --layer LAYER --deny`,
      2,
    );
  } else {
    layer = configured.source.layer;
    file = configured.source.file;
  }

  const doc = readJsonDocument(file);
  const data = structuredClone(doc.data);
  const servers = data.mcpServers;
  const defined = isObject(servers) && Object.hasOwn(servers, name);
  if (!defined && !opts.deny) {
    const elsewhere = configured ? `; it is defined in ${where(configured)}` : "";
    throw new EditError(`server '${name}' is not defined in the ${layer} layer (${file})${elsewhere}. Add --deny to write only a deny entry there.`, 2);
  }

  const changes: string[] = [];
  const unchanged: string[] = [];
  if (defined) {
    if (action === "remove") {
      delete servers[name];
      changes.push(`removed mcpServers.${name}`);
    } else {
      const entry = servers[name];
      if (!isObject(entry)) throw new EditError(`${file}: mcpServers.${name} is not an object`, 2);
      if (entry.disabled === true) unchanged.push(`mcpServers.${name}.disabled is already true`);
      else {
        entry.disabled = true;
        changes.push(`set mcpServers.${name}.disabled = true`);
      }
    }
  }
  if (opts.deny) {
    const list = data.deniedMcpServers === undefined ? [] : data.deniedMcpServers;
    if (!Array.isArray(list)) throw new EditError(`${file}: deniedMcpServers is not a list`, 2);
    // The denylist compares names case-insensitively, so an entry differing only in case already denies.
    const present = list.some((m) => isObject(m) && typeof m.serverName === "string" && m.serverName.toLowerCase() === name.toLowerCase());
    if (present) unchanged.push(`deniedMcpServers already has an entry for '${name}'`);
    else {
      data.deniedMcpServers = [...list, { serverName: name }];
      changes.push(`added {"serverName": "${name}"} to deniedMcpServers`);
    }
  }

  for (const u of unchanged) out.write(`${u}\n`);
  if (changes.length === 0) {
    out.write(`nothing to change in ${file}\n`);
    // Nothing was written, but the server may still run from another layer: say so.
    const policy = compilePolicyOrReport(settings, `servers ${action}`);
    if (!policy) return 2;
    const effect = effectOf(settings, policy, name);
    if (effect.message) out.write(`${effect.message}\n`);
    if (effect.warning) errOut.write(`mcp-warden servers ${action}: warning: ${effect.warning}\n`);
    return effect.warning ? 1 : 0;
  }

  const written = writeLayer(doc, data, layer);
  const effect = checkEffect(opts, doc, errOut);
  if (effect.rolledBack) return 1;
  out.write(`${file} (${layer} layer):\n${changes.map((c) => `  ${c}\n`).join("")}`);
  out.write(written.backup ? `  previous content saved as ${written.backup}\n` : `  (new file)\n`);
  if (written.trustNote) out.write(`  ${written.trustNote}\n`);
  if (effect.message) out.write(`${effect.message}\n`);
  if (effect.warning) errOut.write(`mcp-warden servers ${action}: warning: ${effect.warning}\n`);
  await reportRunningGateways(env, out, name, effect.warning === undefined);
  return effect.warning ? 1 : 0;
}

function writeLayer(doc: JsonDocument, data: JsonObject, layer: string) {
  try {
    return writeJsonDocument(doc, data, validateSettingsData);
  } catch (err) {
    if (err instanceof EditError && err.exitCode === 1 && layer === "managed")
      throw new EditError(`${err.message} (managed settings are normally writable only by an administrator)`, 1);
    throw err;
  }
}

/**
 * Loads the settings again and says whether a gateway would still start the server. If they no
 * longer load (a removal can uncover another layer's entry with, say, an unset ${VAR}), the file
 * is put back: this command must not leave settings that stop every gateway from starting.
 */
function checkEffect(opts: ServersChangeOptions, doc: JsonDocument, errOut: NodeJS.WritableStream): { rolledBack?: true; message?: string; warning?: string } {
  const { server: name, cwd, env, settings } = opts;
  // settings.files lists --settings files highest precedence first; loadSettings wants command-line order.
  const cliFiles = settings.files.filter((f) => f.layer === "cli").map((f) => f.file).reverse();
  let after: ResolvedSettings;
  let policy: CompiledPolicy;
  try {
    after = loadSettings({ cwd, env, cliFiles });
    policy = compilePolicy(after.policy);
  } catch (err) {
    if (!(err instanceof SettingsError || err instanceof PolicyError)) throw err;
    const restored = restore(doc);
    errOut.write(
      `mcp-warden servers ${opts.action}: after this change the settings no longer load:\n${err.message}\n` +
        (restored ? `${doc.file} was restored to its previous content; ` : `restoring ${doc.file} failed too; copy the backup back by hand; `) +
        `try \`mcp-warden servers disable ${name}\` instead\n`,
    );
    return { rolledBack: true };
  }
  return effectOf(after, policy, name);
}

/** What a gateway starting with these settings would do with the server. */
function effectOf(settings: ResolvedSettings, policy: CompiledPolicy, name: string): { message?: string; warning?: string } {
  const s = settings.servers.find((x) => x.name === name);
  if (!s) return { message: `server '${name}' is no longer configured` };
  const v = serverVerdict(policy, s, settings);
  if (v.decision !== "allow") return { message: `a gateway will not start server '${name}': ${compileRedactor(settings.secrets).string(v.reason)}` };
  return {
    warning: `server '${name}' is still configured and allowed to run, from the ${s.source.layer} layer (${s.source.file}); change that layer too, or use --deny`,
  };
}

function restore(doc: JsonDocument): boolean {
  try {
    restoreJsonDocument(doc);
    return true;
  } catch {
    return false;
  }
}

/** How long `servers disable|remove` waits for running gateways to stop the server (their reload is debounced 300 ms, polled every 2 s). */
const GATEWAY_STOP_WAIT_MS = 5_000;

/**
 * What the running gateways do about the change. Each watches its settings files and stops a server
 * a reload disables, denies or removes (Gateway.replacePolicy); this waits, bounded, until every
 * gateway that ran the server says (in its status file) that it no longer does, and names any that
 * still do. Run inside serve (its console's action), serve itself is left out: it reloads too.
 */
async function reportRunningGateways(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, name: string, refused: boolean): Promise<void> {
  const all = () => readLiveGateways(env, compileRedactor([])).gateways;
  const others = (list: GatewayStatus[]) => list.filter((g) => g.pid !== process.pid);
  const runs = (g: GatewayStatus) => g.servers.some((x) => x.name === name && x.state !== "blocked");
  const first = all();
  let gateways = others(first);
  if (gateways.length === 0) {
    // Inside a gateway (its console's action), that gateway reloads the change itself.
    out.write(first.length > 0 ? `no other running gateway found\n` : `no running gateway found; the change applies when a gateway starts\n`);
    return;
  }
  const running = gateways.filter(runs);
  if (running.length === 0) {
    out.write(`no running gateway runs '${name}' (${gateways.length} running)\n`);
    return;
  }
  if (!refused) {
    out.write(`running gateways go on running '${name}' (the settings still allow it):\n`);
    for (const g of running) out.write(`  pid ${g.pid}  cwd ${clean(g.cwd)}\n`);
    return;
  }
  const deadline = Date.now() + GATEWAY_STOP_WAIT_MS;
  let still = running;
  while (still.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    gateways = others(all());
    // A gateway that ended stopped its servers with it.
    still = running.filter((g) => gateways.some((x) => x.pid === g.pid && runs(x)));
  }
  for (const g of running) {
    const stopped = !still.includes(g);
    out.write(
      stopped
        ? `  pid ${g.pid}  cwd ${clean(g.cwd)}: stopped '${name}' (its settings reload)\n`
        : `  pid ${g.pid}  cwd ${clean(g.cwd)}: still runs '${name}' after ${GATEWAY_STOP_WAIT_MS / 1000} s; restart it (reconnect the MCP server in your agent), and if its settings do not include this change, make it there too\n`,
    );
  }
  if (still.length) out.write(`${still.length} running gateway(s) still run '${name}'\n`);
}
