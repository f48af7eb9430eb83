// The console's Servers pages, as functions of the data they show (no I/O: servers.ts gathers it).
// Everything a server or a settings file says (names, descriptions, commands, errors) goes through
// `html`, which makes invisible characters visible and escapes; a tool's description and definition
// are laid out line by line like a question's arguments (visibleLines, renderArguments).
import { visibleLines } from "../../approvals/display.js";
import { renderArguments } from "../../policy/integrity/display.js";
import { type Html, html, layout, preformatted, type Viewer } from "./html.js";

export interface ServerRowView {
  name: string;
  /** In the settings serve runs with now (a removed server is still listed while it is blocked). */
  configured: boolean;
  transport: string;
  /** What the page shows: ready, stopped, blocked, not started (no caller yet), ... */
  state: string;
  /** Callers get their own instances (serve, a server not marked `share: "shared"`). */
  perCaller: boolean;
  instances: number;
  readyInstances: number;
  restarts: number;
  lastError?: string;
  lastCrash?: { error: string; at: string };
  /** The sandbox it runs in (running) or would run in (configured). */
  sandbox: string;
  /** Command line or URL, as written (templates unexpanded), credentials and query of a URL hidden. */
  launch?: string;
  /** Names only: values are secrets. */
  env: string[];
  headers: string[];
  /** The package a runner fetches at each start, and whether one exact version is pinned. */
  package?: { runner: string; spec?: string; version?: string };
  /** A docker or podman sandbox's image, and whether it is pinned by digest. */
  image?: { image: string; pinned: boolean };
  /** The launch approval and tool pins. `unknown`: they could not be read (shown as not approved). */
  pins: { status: "approved" | "first-use" | "needs-approval" | "unknown" | "off"; text: string };
  policy?: { decision: string; reason: string; rule?: string };
  layer?: string;
  file?: string;
  /** From managed-mcp.json: the CLI (and so the console) does not change it. */
  managedMcp: boolean;
  disabled: boolean;
  blockedBy?: string;
}

export interface ServersListView {
  rows: ServerRowView[];
  canAdminister: boolean;
  notice?: string;
  /** Why a part could not be read (the pin store), shown above the table. */
  problems: string[];
}

/** One principal column: a `principals` entry, or any caller no entry names. */
export interface PrincipalColumn {
  label: string;
}

/** Whether a tool is in a principal's tools/list, and the rule that says so. */
export interface SeenCell {
  listed: boolean;
  decision: string;
  reason: string;
  rule?: string;
}

export interface ToolView {
  name: string;
  description?: string;
  /** The whole definition as the upstream sent it (name, description, schemas, annotations). */
  definition: unknown;
  /** Why the integrity review hides it from everyone (undefined: it passed). */
  review?: string;
  /** One cell per column of `principals`. */
  seen: SeenCell[];
}

/** Instances whose tool lists are identical share one table. */
export interface ToolGroupView {
  instances: { instance: string; owner?: string; state: string; serverInfo?: { name: string; version: string }; protocolVersion?: string }[];
  tools: ToolView[];
}

export interface ServerDetailView {
  row: ServerRowView;
  principals: PrincipalColumn[];
  groups: ToolGroupView[];
  /** Instances left out of the page (more than it shows). */
  moreInstances: number;
  canAdminister: boolean;
  notice?: string;
  problems: string[];
}

const stateClass = (state: string) => `state-${/^[a-z-]+$/.test(state) ? state : "other"}`;
const decisionClass = (d: string) => `decision-${d === "allow" || d === "ask" || d === "deny" ? d : "other"}`;

function stateCell(r: ServerRowView): Html {
  const instances = r.perCaller
    ? html`<div class="muted">${r.instances === 0 ? "one instance per caller; none started yet" : `${r.readyInstances} of ${r.instances} caller instance${r.instances === 1 ? "" : "s"} ready`}</div>`
    : "";
  return html`<span class="${stateClass(r.state)}">${r.state}</span>${instances}${r.blockedBy ? html`<div class="muted">${r.blockedBy}</div>` : ""}`;
}

function errorCell(r: ServerRowView): Html {
  return html`${r.lastError ?? ""}${r.lastCrash ? html`<div class="muted">last crash ${r.lastCrash.at}: ${r.lastCrash.error}</div>` : ""}`;
}

function launchCell(r: ServerRowView): Html {
  const names = [r.env.length ? `env: ${r.env.join(", ")}` : "", r.headers.length ? `headers: ${r.headers.join(", ")}` : ""].filter(Boolean).join("; ");
  return html`${r.launch !== undefined ? html`<code>${r.launch}</code>` : html`<span class="muted">not in the settings</span>`}${names ? html`<div class="muted">${names} (values hidden)</div>` : ""}`;
}

function packageCell(r: ServerRowView): Html {
  const parts: Html[] = [];
  if (r.package)
    parts.push(
      html`<div><code>${r.package.spec ?? "(package not named)"}</code> via ${r.package.runner}: ${r.package.version !== undefined ? html`pinned to ${r.package.version}` : html`<span class="warn-text">not pinned (every start may fetch a newer release)</span>`}</div>`,
    );
  if (r.image) parts.push(html`<div>image <code>${r.image.image}</code>: ${r.image.pinned ? "pinned by digest" : html`<span class="warn-text">not pinned by digest</span>`}</div>`);
  return parts.length ? html`${parts}` : html`<span class="muted">-</span>`;
}

function pinsCell(r: ServerRowView): Html {
  return html`<span class="pins-${r.pins.status}">${r.pins.text}</span>`;
}

function policyCell(r: ServerRowView): Html {
  if (!r.policy) return html`<span class="muted">-</span>`;
  return html`<span class="${decisionClass(r.policy.decision)}">${r.policy.decision}</span>${r.policy.decision !== "allow" ? html`<div class="muted">${r.policy.reason}</div>` : ""}${r.policy.rule ? html`<div><code>${r.policy.rule}</code></div>` : ""}`;
}

function definedCell(r: ServerRowView): Html {
  if (!r.configured) return html`<span class="muted">no longer in the settings</span>`;
  return html`${r.layer}<div class="muted"><code>${r.file ?? ""}</code></div>${r.disabled ? html`<div>disabled</div>` : ""}`;
}

const noticeBlock = (notice: string | undefined) => (notice ? html`<pre class="notice" id="notice">${preformatted(visibleLines(notice))}</pre>` : "");
const problemsBlock = (problems: string[]) => problems.map((p) => html`<p class="warn">${p}</p>`);

export function serversPage(viewer: Viewer, v: ServersListView): Html {
  const rows = v.rows.map(
    (r) => html`<tr id="server-${r.name}"><td><a href="/console/servers/${encodeURIComponent(r.name)}"><code>${r.name}</code></a><div class="muted">${r.transport}</div></td><td>${stateCell(r)}</td><td>${r.restarts}</td><td>${errorCell(r)}</td><td>${r.sandbox}</td><td>${launchCell(r)}</td><td>${packageCell(r)}</td><td>${pinsCell(r)}</td><td>${policyCell(r)}</td><td>${definedCell(r)}</td></tr>\n`,
  );
  const body = html`<h1>Servers</h1>
${noticeBlock(v.notice)}
${problemsBlock(v.problems)}
<div id="servers-live" data-live>
${
  v.rows.length === 0
    ? html`<p class="muted">No server is configured.</p>`
    : html`<table class="servers"><thead><tr><th>Server</th><th>State</th><th>Restarts</th><th>Last error</th><th>Sandbox</th><th>Launch</th><th>Package or image</th><th>Launch approval and pins</th><th>Policy</th><th>Defined in</th></tr></thead><tbody>
${rows}</tbody></table>`
}
</div>
<p class="muted">Open a server for its tools as the upstream lists them and what each principal sees${v.canAdminister ? ", and to disable or remove it" : ""}. Launch lines are as written in the settings: <code>\${VAR}</code> templates are not expanded, and a URL's credentials and query are hidden.</p>`;
  return layout({ title: "Servers", viewer, current: "/console/servers", live: !v.notice }, body);
}

function seenCell(c: SeenCell): Html {
  return c.listed
    ? html`<td class="seen-listed">listed <span class="${decisionClass(c.decision)}">(${c.decision === "ask" ? "asks first" : c.decision})</span></td>`
    : html`<td class="seen-hidden">hidden${c.rule ? html` by <code>${c.rule}</code>` : ""}<div class="muted">${c.reason}</div></td>`;
}

function group(g: ToolGroupView, principals: PrincipalColumn[], index: number): Html {
  const who = g.instances.map(
    (i) =>
      html`<li><code>${i.instance}</code>${i.owner !== undefined ? html` for ${i.owner}` : ""}: <span class="${stateClass(i.state)}">${i.state}</span>${i.serverInfo ? html` <span class="muted">(says it is ${i.serverInfo.name} ${i.serverInfo.version}${i.protocolVersion ? `, protocol ${i.protocolVersion}` : ""})</span>` : ""}</li>`,
  );
  const tools = g.tools.map(
    (t) => html`<tr><td><code>${t.name}</code></td><td>${t.description !== undefined ? html`<div class="description">${preformatted(visibleLines(t.description))}</div>` : html`<span class="muted">no description</span>`}<details><summary>definition</summary><pre>${preformatted(renderArguments(t.definition, { width: 100 }))}</pre></details></td><td>${t.review === undefined ? html`<span class="decision-allow">passed</span>` : html`<span class="decision-deny">hidden</span><div class="muted">${t.review}</div>`}</td>${t.seen.map(seenCell)}</tr>\n`,
  );
  return html`<section class="tool-group" id="tools-${index}">
<h3>${g.instances.length === 1 ? "Instance" : `${g.instances.length} instances with the same tool list`}</h3>
<ul class="instances">${who}</ul>
${
  g.tools.length === 0
    ? html`<p class="muted">It lists no tools${g.instances.every((i) => i.state !== "ready") ? " (it is not ready)" : ""}.</p>`
    : html`<table class="tools"><thead><tr><th>Tool (upstream name)</th><th>Description, as sent</th><th>Integrity review</th>${principals.map((p) => html`<th>${p.label}</th>`)}</tr></thead><tbody>
${tools}</tbody></table>`
}
</section>`;
}

export function serverPage(viewer: Viewer, v: ServerDetailView): Html {
  const r = v.row;
  const facts = html`<dl>
<dt>State</dt><dd>${stateCell(r)}</dd>
<dt>Transport</dt><dd>${r.transport}</dd>
<dt>Restarts</dt><dd>${r.restarts}</dd>
${r.lastError || r.lastCrash ? html`<dt>Last error</dt><dd>${errorCell(r)}</dd>` : ""}
<dt>Sandbox</dt><dd>${r.sandbox}</dd>
<dt>Launch</dt><dd>${launchCell(r)}</dd>
<dt>Package or image</dt><dd>${packageCell(r)}</dd>
<dt>Launch approval and pins</dt><dd>${pinsCell(r)}</dd>
<dt>Policy</dt><dd>${policyCell(r)}</dd>
<dt>Defined in</dt><dd>${definedCell(r)}</dd>
</dl>`;
  const actions = !v.canAdminister
    ? ""
    : !r.configured
      ? html`<p class="muted">It is no longer in the settings: there is nothing to disable or remove.</p>`
      : html`<h2>Take it out of service</h2>
${r.managedMcp ? html`<p class="warn">It comes from managed-mcp.json, which <code>mcp-warden servers</code> does not change: the change below is refused (ask that file's administrator).</p>` : ""}
<form class="server-actions" method="post" action="/console/servers/${encodeURIComponent(r.name)}"><input type="hidden" name="csrf" value="${viewer.csrf}">
<label><input type="checkbox" name="deny" value="on" checked> also add it to <code>deniedMcpServers</code> in the same file (a deny entry wins over every allow, in every layer)</label>
<div class="buttons"><button type="submit" name="action" value="disable">Disable</button> <button type="submit" name="action" value="remove" class="deny">Remove from the settings</button></div>
</form>
<p class="muted">The same change as <code>mcp-warden servers disable|remove ${r.name} [--deny]</code>: the file is validated, its previous content kept as a backup, and put back if the settings would no longer load. <code>serve</code> then reloads the settings and stops the server; a <code>run</code> gateway keeps it until it restarts.</p>`;
  const principalsNote =
    v.principals.length > 1
      ? html`<p class="muted">Each column is one <code>principals</code> entry alone (with the layers' rules and the <code>*</code> entry, which applies to every authenticated caller); a caller matching several entries gets the deny rules of all of them.</p>`
      : "";
  const instances =
    v.groups.length === 0
      ? html`<p id="no-instances" class="muted">${r.perCaller ? "No caller has started an instance of this server yet: each caller gets its own on first use, and its tools show here then." : r.state === "blocked" ? "It does not run." : "It has not started yet (a lazy server starts on first use)."}</p>`
      : html`${v.groups.map((g, i) => group(g, v.principals, i))}${v.moreInstances > 0 ? html`<p class="muted">${v.moreInstances} more instance(s) not shown.</p>` : ""}`;
  const body = html`<h1>Server <code>${r.name}</code></h1>
${noticeBlock(v.notice)}
${problemsBlock(v.problems)}
${facts}
<h2>Tools: as the upstream lists them, and who sees them</h2>
<p class="muted">"Listed" means it is in that caller's tools/list: the integrity review passed it and no rule denies it. A hidden tool cannot be called either.</p>
${principalsNote}
${instances}
${actions}
<p><a href="/console/servers">← Servers</a></p>`;
  return layout({ title: `Server ${r.name}`, viewer, current: "/console/servers" }, body);
}
