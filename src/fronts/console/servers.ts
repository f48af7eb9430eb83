// The console's Servers page: what each configured server is and does, gathered from the settings
// serve runs with now (the same listing as `mcp-warden servers list`: listServers), the gateway
// core (states, instances, what the integrity review hides), the pin store (launch approvals and
// tool pins, as `servers list` and `pins` read them) and the policy (the same decideTool the
// gateway's tools/list filters with, per `principals` entry). Admins disable or remove a server
// through the CLI's own code (serversChangeCommand: validation, backups, rollback); serve's settings
// watcher then reloads the settings and the core stops the server (Gateway.replacePolicy).
import { resolve } from "node:path";
import { Writable } from "node:stream";
import type { PinStore } from "../../adapters/pin-store.js";
import { withPinStore } from "../../adapters/pin-store-factory.js";
import { visibleLines } from "../../approvals/display.js";
import type { AuditSink } from "../../audit/index.js";
import { compileRedactor } from "../../audit/redact.js";
import { listServers, serversChangeCommand, shellWord, type ServerListing } from "../../cli/servers.js";
import { makeDownstream } from "../../gateway/downstream.js";
import { launchStatus, REPOSITORY_LAYERS } from "../../gateway/launch-approval.js";
import type { InstanceStatus, ServerStatus } from "../../gateway/status-file.js";
import { canonicalToolName, compilePolicy, type CompiledPolicy } from "../../policy/index.js";
import { packageLaunch } from "../../policy/package-pins.js";
import type { Principal } from "../../policy/principal.js";
import { compilePrincipalPolicies, type PrincipalPolicies } from "../../policy/principals.js";
import type { ConfiguredServer } from "../../policy/types.js";
import { chooseSandbox } from "../../sandbox/policy.js";
import { homeDir, settingsFiles, type ResolvedSettings } from "../../settings/index.js";
import { serverNameProblem } from "../../settings/server-name.js";
import { html, htmlResponse, layout, messagePage, preformatted } from "./html.js";
import { may } from "./roles.js";
import { type ConsoleContext, type ConsoleRoute, seeOther } from "./routes.js";
import { type PrincipalColumn, type ServerRowView, serverPage, serversPage, type ToolGroupView, type ToolView } from "./servers-page.js";

/** What the core tells the page (serve: core.status() and core.instancesOf()). */
export interface ServersSource {
  status(): ServerStatus[];
  instancesOf(server: string): { perCaller: boolean; instances: InstanceStatus[] };
  /** Launch approvals and tool pins (the settings' store); the console closes it. Opened per page without. */
  pins?: PinStore;
}

export interface ServersPageOptions {
  settings: () => ResolvedSettings;
  env: NodeJS.ProcessEnv;
  cwd: string;
  audit: AuditSink;
  /** Without it (a console with no core), the page shows the settings and the states `servers` gives. */
  serverDetails?: ServersSource;
  servers: () => { name: string; state: string; error?: string }[];
}

/** Instances shown on a server's page at most (serve may run one per caller, up to hundreds). */
const MAX_INSTANCES_SHOWN = 20;
/** A pin store that does not answer within this is reported, not waited for. */
const PIN_TIMEOUT_MS = 5_000;
/** The CLI's report is short; anything past this is cut. */
const MAX_REPORT_CHARS = 8_000;

const ACTIONS = new Set(["disable", "remove"]);
const NAME_PATH = /^\/console\/servers\/([A-Za-z0-9_-]{1,64})$/;

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${PIN_TIMEOUT_MS / 1000} s`)), PIN_TIMEOUT_MS)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The principal a `principals` selector stands for: only that entry (and `*`) matches it. */
export function principalOf(selector: string): Principal {
  // An empty subject: `user:` is no valid selector, so no user entry matches by accident.
  const base = { subject: "", groups: [] as string[], scopes: [] as string[], method: "oidc" as const };
  const at = selector.indexOf(":");
  const kind = selector.slice(0, at);
  const value = selector.slice(at + 1);
  if (kind === "user") return { ...base, subject: value };
  if (kind === "group") return { ...base, groups: [value] };
  if (kind === "client") return { ...base, clientId: value };
  if (kind === "org") return { ...base, org: value };
  return base;
}

/** One column per `principals` entry, then any caller none of them names. */
export function principalColumns(settings: Pick<ResolvedSettings, "principals">): { column: PrincipalColumn; principal: Principal }[] {
  const selectors = Object.keys(settings.principals ?? {}).filter((s) => s !== "*").sort();
  const star = Object.hasOwn(settings.principals ?? {}, "*");
  return [
    ...selectors.map((s) => ({ column: { label: s }, principal: principalOf(s) })),
    { column: { label: star ? `any other caller (*)` : "any caller" }, principal: principalOf("*") },
  ];
}

/** What each column sees of `tools` (the gateway's tools/list filter: a deny verdict hides). */
export function toolViews(server: string, tools: InstanceStatus["tools"], policies: CompiledPolicy[]): ToolView[] {
  return tools.map(({ tool, hidden }) => {
    const seen = policies.map((p) => {
      const v = p.decideTool({ tool: canonicalToolName(server, tool.name), input: {} });
      return { listed: v.decision !== "deny" && hidden === undefined, decision: v.decision, reason: hidden !== undefined && v.decision !== "deny" ? `the integrity review hides it` : v.reason, ...(v.rule !== undefined && v.decision === "deny" ? { rule: v.rule } : {}) };
    });
    return { name: tool.name, ...(typeof tool.description === "string" ? { description: tool.description } : {}), definition: tool, ...(hidden !== undefined ? { review: hidden } : {}), seen };
  });
}

/** Instances with identical tool lists share a table (a list that differs on one instance stands out). */
export function groupInstances(instances: InstanceStatus[]): { key: string; members: InstanceStatus[] }[] {
  const groups = new Map<string, InstanceStatus[]>();
  for (const i of instances) {
    const key = JSON.stringify(i.tools.map((t) => [t.tool, t.hidden ?? null]));
    groups.set(key, [...(groups.get(key) ?? []), i]);
  }
  return [...groups].map(([key, members]) => ({ key, members }));
}

/** `Downstream.owner` is `method|issuer|subject`: the subject is what a person recognizes. */
const ownerSubject = (owner: string) => owner.split("|").slice(2).join("|");

/** A server's state as people mean it: with per-caller instances, ready when one of them is. */
function stateOf(own: string, perCaller: boolean, instances: InstanceStatus[]): string {
  if (!perCaller || own === "blocked") return own;
  return instances.some((i) => i.state === "ready") ? "ready" : instances.length > 0 ? instances[0]!.state : "not started";
}

/** Every server's state for the overview, counted as the Servers page counts it. */
export function serverStates(src: ServersSource): { name: string; state: string; error?: string }[] {
  return src.status().map((s) => {
    const { perCaller, instances } = src.instancesOf(s.name);
    const error = s.lastError ?? s.blockedBy ?? instances.find((i) => i.lastError !== undefined)?.lastError;
    return { name: s.name, state: stateOf(s.state, perCaller, instances), ...(error !== undefined ? { error } : {}) };
  });
}

export function serversRoutes(o: ServersPageOptions): ConsoleRoute[] {
  const principalCache = new WeakMap<ResolvedSettings, { base: CompiledPolicy; principals: PrincipalPolicies }>();
  const policiesOf = (settings: ResolvedSettings) => {
    let c = principalCache.get(settings);
    if (!c) {
      const base = compilePolicy(settings.policy);
      c = { base, principals: compilePrincipalPolicies(settings, undefined, base) };
      principalCache.set(settings, c);
    }
    return c;
  };
  const managedMcpFile = () => resolve(o.cwd, settingsFiles({ cwd: o.cwd, env: o.env }).managedMcp);

  const withPins = <T>(settings: ResolvedSettings, fn: (store: PinStore) => Promise<T>): Promise<T> =>
    o.serverDetails?.pins ? fn(o.serverDetails.pins) : withPinStore(settings, o.env, fn);

  /** The launch approval and pins of each configured server, as `servers list` reads them (fail closed). */
  async function pinsOf(settings: ResolvedSettings, servers: readonly ConfiguredServer[], allowed: ReadonlySet<string>): Promise<{ pins: Map<string, ServerRowView["pins"]>; problems: string[] }> {
    const pins = new Map<string, ServerRowView["pins"]>();
    const problems: string[] = [];
    try {
      await withPins(settings, async (store) => {
        let stuck: string | undefined;
        for (const server of servers) {
          // A store that did not answer once is not asked again for this page.
          if (stuck !== undefined) {
            pins.set(server.name, { status: "unknown", text: `cannot be checked (treated as not approved): ${stuck}` });
            continue;
          }
          try {
            const launch = await bounded(launchStatus(store, server), "the pin store").catch((e: Error) => {
              if (/did not answer within/.test(e.message)) stuck = e.message;
              throw e;
            });
            const pinsOn = settings.integrity.pins;
            if (launch.status === "approved") {
              const tools = Object.keys(launch.record.tools).length;
              pins.set(server.name, { status: "approved", text: `launch approved ${launch.record.approvedAt}${launch.record.approvedBy ? ` (${launch.record.approvedBy})` : ""}; ${pinsOn ? `${tools} tool${tools === 1 ? "" : "s"} pinned` : "tool pins off (integrity.pins)"}` });
            } else if (launch.status === "first-use") {
              const runs = allowed.has(server.name);
              pins.set(server.name, { status: pinsOn && runs ? "first-use" : "off", text: !runs ? "none recorded (it does not run)" : pinsOn ? "new: approved and pinned at its first start" : "pins off (integrity.pins): runs as configured" });
            } else if (pinsOn || REPOSITORY_LAYERS.has(server.source.layer)) {
              pins.set(server.name, { status: "needs-approval", text: `waits for approval: ${launch.why}; \`mcp-warden pins approve ${server.name}\` shows and approves it` });
            } else {
              pins.set(server.name, { status: "off", text: "pins off (integrity.pins): its changed launch runs unasked" });
            }
          } catch (e) {
            pins.set(server.name, { status: "unknown", text: `cannot be checked (treated as not approved): ${(e as Error).message}` });
          }
        }
      });
    } catch (e) {
      problems.push(`The pin store cannot be read: ${(e as Error).message}. Launch approvals show as unknown; check state.postgres or the pin file.`);
    }
    return { pins, problems };
  }

  function row(settings: ResolvedSettings, name: string, listing: ServerListing | undefined, status: ServerStatus | undefined, pins: ServerRowView["pins"] | undefined): ServerRowView {
    const server = settings.servers.find((s) => s.name === name);
    const { perCaller, instances } = o.serverDetails?.instancesOf(name) ?? { perCaller: false, instances: [] };
    const state = stateOf(status?.state ?? (listing?.disabled ? "disabled" : "unknown"), perCaller, instances);
    const lastError = status?.lastError ?? instances.find((i) => i.lastError !== undefined)?.lastError;
    const lastCrash = status?.lastCrash ?? instances.find((i) => i.lastCrash !== undefined)?.lastCrash;
    const running = instances.find((i) => i.state === "ready") ?? instances[0];
    let sandbox = running?.sandbox ?? (status && status.state !== "blocked" && status.sandbox !== "none" ? status.sandbox : undefined);
    let image: ServerRowView["image"];
    let pkg: ServerRowView["package"];
    if (server && server.entry.url === undefined) {
      const choice = chooseSandbox(server.entry.sandbox, settings.sandbox, { home: homeDir(o.env), platform: process.platform, baseDir: server.entry.cwd ?? o.cwd, serverCwd: server.entry.cwd, requireSandbox: settings.requireSandbox === true });
      if (choice.policy !== undefined) {
        sandbox ??= `${choice.policy.type} (configured)`;
        if (choice.policy.image !== undefined) image = { image: choice.policy.image, pinned: /@sha256:[0-9a-f]{64}$/i.test(choice.policy.image) };
      }
      const launch = packageLaunch(listing?.command ?? server.entry.command ?? "", listing?.args ?? server.entry.args ?? []);
      if (launch) pkg = { runner: launch.runner, ...(launch.spec !== undefined ? { spec: launch.spec } : {}), ...(launch.version !== undefined ? { version: launch.version } : {}) };
    } else if (server) sandbox ??= "remote (egress checks only)";
    const launch = listing
      ? listing.transport === "stdio"
        ? [listing.command ?? "", ...(listing.args ?? [])].map(shellWord).join(" ")
        : `${listing.url ?? ""}${listing.urlPartsHidden ? " (credentials/query hidden)" : ""}`
      : undefined;
    return {
      name,
      configured: listing !== undefined,
      transport: listing?.transport ?? status?.transport ?? "unknown",
      state,
      perCaller,
      instances: instances.length,
      readyInstances: instances.filter((i) => i.state === "ready").length,
      restarts: (status?.restarts ?? 0) + (perCaller ? instances.reduce((n, i) => n + i.restarts, 0) : 0),
      ...(lastError !== undefined ? { lastError } : {}),
      ...(lastCrash !== undefined ? { lastCrash } : {}),
      sandbox: sandbox ?? "none",
      ...(launch !== undefined ? { launch } : {}),
      env: listing?.env ?? [],
      headers: listing?.headers ?? [],
      ...(pkg ? { package: pkg } : {}),
      ...(image ? { image } : {}),
      pins: pins ?? { status: "unknown", text: listing ? "not checked" : "-" },
      ...(listing ? { policy: { decision: listing.decision, reason: listing.reason, ...(listing.rule !== undefined ? { rule: listing.rule } : {}) } } : {}),
      ...(listing ? { layer: listing.layer, file: listing.file } : {}),
      managedMcp: server !== undefined && resolve(o.cwd, server.source.file) === managedMcpFile(),
      disabled: listing?.disabled ?? false,
      ...(status?.blockedBy !== undefined ? { blockedBy: status.blockedBy } : {}),
    };
  }

  /** Every configured server, and those the core still reports (blocked after a removal). */
  async function rows(settings: ResolvedSettings, only?: string): Promise<{ rows: ServerRowView[]; problems: string[] }> {
    const { base } = policiesOf(settings);
    const listing = listServers(settings, base).filter((l) => only === undefined || l.name === only);
    const status = (o.serverDetails?.status() ?? o.servers().map((s) => ({ name: s.name, state: s.state, transport: "unknown", tools: 0, prompts: 0, resources: 0, restarts: 0, sandbox: "none", ...(s.error !== undefined ? { lastError: s.error } : {}) }))).filter(
      (s) => only === undefined || s.name === only,
    );
    const runnable = new Set(listing.filter((l) => l.decision === "allow" && !l.disabled).map((l) => l.name));
    const { pins, problems } = await pinsOf(settings, settings.servers.filter((s) => listing.some((l) => l.name === s.name)), runnable);
    const names = [...new Set([...listing.map((l) => l.name), ...status.map((s) => s.name)])];
    return {
      rows: names.map((n) => row(settings, n, listing.find((l) => l.name === n), status.find((s) => s.name === n), pins.get(n))),
      problems,
    };
  }

  async function list(c: ConsoleContext): Promise<Response> {
    const notice = await c.takeNotice();
    const { rows: all, problems } = await rows(o.settings());
    return htmlResponse(200, serversPage(c.viewer, { rows: all, canAdminister: may(c.role, "administer"), problems, ...(notice ? { notice } : {}) }));
  }

  async function detail(c: ConsoleContext): Promise<Response> {
    const name = c.match[1]!;
    if (serverNameProblem(name) !== undefined) return messagePage(404, "No such server", html`That is not a server name. <a href="/console/servers">Servers</a>.`, c.viewer);
    const settings = o.settings();
    const found = await rows(settings, name);
    const r = found.rows[0];
    if (!r) return messagePage(404, "No such server", html`No server named <code>${name}</code> is configured or running. <a href="/console/servers">Servers</a>.`, c.viewer);
    const { principals } = policiesOf(settings);
    const columns = principalColumns(settings);
    const policies = columns.map((col) => principals.forPrincipal(col.principal));
    const { instances } = o.serverDetails?.instancesOf(name) ?? { instances: [] };
    const groups: ToolGroupView[] = groupInstances(instances.slice(0, MAX_INSTANCES_SHOWN)).map(({ members }) => ({
      instances: members.map((i) => ({ instance: i.instance, ...(i.owner !== undefined ? { owner: ownerSubject(i.owner) } : {}), state: i.state, ...(i.serverInfo ? { serverInfo: i.serverInfo } : {}), ...(i.protocolVersion ? { protocolVersion: i.protocolVersion } : {}) })),
      tools: toolViews(name, members[0]!.tools, policies),
    }));
    const notice = await c.takeNotice();
    return htmlResponse(
      200,
      serverPage(c.viewer, {
        row: r,
        principals: columns.map((x) => x.column),
        groups,
        moreInstances: Math.max(0, instances.length - MAX_INSTANCES_SHOWN),
        canAdminister: may(c.role, "administer"),
        problems: found.problems,
        ...(notice ? { notice } : {}),
      }),
    );
  }

  async function change(c: ConsoleContext): Promise<Response> {
    const name = c.match[1]!;
    const action = c.form.get("action") ?? "";
    const denyField = c.form.get("deny");
    const back = html`<a href="/console/servers/${encodeURIComponent(name)}">Back to the server</a>`;
    if (serverNameProblem(name) !== undefined) return messagePage(400, "Not changed", html`That is not a server name; nothing was changed. <a href="/console/servers">Servers</a>.`, c.viewer);
    if (!ACTIONS.has(action)) return messagePage(400, "Not changed", html`Choose disable or remove; nothing was changed. ${back}.`, c.viewer);
    if (denyField !== null && denyField !== "on") return messagePage(400, "Not changed", html`The deny field is "on" or absent; nothing was changed. ${back}.`, c.viewer);
    const deny = denyField === "on";
    const settings = o.settings();
    const redact = compileRedactor(settings.secrets);
    const file = settings.servers.find((s) => s.name === name)?.source.file;
    let report = "";
    const sink = new Writable({
      write(chunk, _enc, done) {
        if (report.length < MAX_REPORT_CHARS) report += String(chunk);
        done();
      },
    });
    let code: number;
    try {
      code = await serversChangeCommand({ action: action as "disable" | "remove", server: name, deny, settings, cwd: o.cwd, env: o.env }, sink, sink);
    } catch (e) {
      // Not one of the command's own refusals: its file writes are atomic, so a file is whole, old or new.
      code = 1;
      report += `mcp-warden servers ${action}: ${(e as Error).message}\n`;
    }
    const command = `mcp-warden servers ${action} ${name}${deny ? " --deny" : ""}`;
    const shown = redact.string(report.slice(0, MAX_REPORT_CHARS)).trimEnd();
    let audited = true;
    try {
      o.audit.append({
        kind: "request",
        event: "console-server-change",
        principal: makeDownstream(c.session.principal, { remote: true, address: c.req.address }).audited,
        server: name,
        outcome: code === 0 ? "ok" : "error",
        detail: { action, server: name, deny, ...(file !== undefined ? { file } : {}), exitCode: code },
      });
    } catch {
      audited = false;
    }
    const unaudited = audited ? "" : "\n\nWarning: the audit log refused the record of this change; check the log (`mcp-warden audit verify`).";
    if (code === 2)
      return htmlResponse(
        409,
        layout({ title: "Not changed", viewer: c.viewer, current: "/console/servers" }, html`<h1>Not changed</h1>\n<p><code>${command}</code> refused, and nothing was changed:</p>\n<pre id="report">${preformatted(visibleLines(shown + unaudited))}</pre>\n<p>${back}.</p>`),
      );
    const what = `${action === "disable" ? "Disabled" : "Removed"} ${name}${deny ? " and added it to deniedMcpServers" : ""}.`;
    const head =
      code === 0
        ? `${what} This gateway reloads the changed settings within seconds: a server they disable, deny or remove is stopped, and its tools leave every client's list. Reload this page to see it.`
        : `${command} finished with exit code ${code}: read its report (a warning, or a change it undid).`;
    await c.notify(`${head}\n\nWhat \`${command}\` reported:\n${shown}${unaudited}`);
    return seeOther("/console/servers");
  }

  return [
    { method: "GET", path: /^\/console\/servers$/, needs: "read", handle: list },
    { method: "GET", path: NAME_PATH, needs: "read", handle: detail },
    { method: "POST", path: NAME_PATH, needs: "administer", handle: change },
  ];
}
