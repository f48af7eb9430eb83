// The Incidents page: the second seed's five steps (contain, review, exposure, credentials, policy)
// as a form and then the report, walked step by step. Pure: functions of the data they show. The
// report is laid out by src/incident/layout.ts (the same blocks as the Markdown and the standalone
// HTML) and written here with `html`, so everything from servers and callers is escaped and its
// invisible characters shown, under the console's CSP (no inline style or script).
import { visibleLines } from "../../approvals/display.js";
import { layoutReport, type Block, type Inline } from "../../incident/layout.js";
import { renderHtml } from "../../incident/render-html.js";
import type { IncidentReport } from "../../incident/report.js";
import { EDITABLE_LAYERS, type EditableLayer } from "../../cli/settings-edit.js";
import { type Html, html, layout, preformatted, type Viewer } from "./html.js";

export const CONTAINMENTS = ["none", "disable", "remove"] as const;
export type Containment = (typeof CONTAINMENTS)[number];

/** The form's fields as typed (shown again after an error). */
export interface IncidentFormValues {
  server: string;
  since: string;
  until: string;
  contain: Containment;
  deny: boolean;
  /** The settings layer containment writes to (`--layer`); "" for the layer that defines the server. */
  layer: "" | EditableLayer;
}

export interface IncidentFormData {
  /** Configured servers first, then names seen in the log's newest calls that are not configured. */
  servers: { name: string; configured: boolean; disabled?: boolean }[];
  /** Whether the viewer may contain (admin): otherwise the containment choice is not shown. */
  canContain: boolean;
  values: IncidentFormValues;
  error?: string;
  notice?: string;
  /** Where the activity is read from, for the page. */
  where: string;
}

export const DEFAULT_FORM: IncidentFormValues = { server: "", since: "7d", until: "", contain: "none", deny: false, layer: "" };

const STEPS: readonly [title: string, what: string][] = [
  ["Contain", "disable or remove the server and add it to the denylist (deniedMcpServers), with the settings' validation, a backup and a rollback: the same code as `mcp-warden servers disable|remove --deny`."],
  ["Review", "its activity in the audit log for the range: calls by tool and decision, with principals and sessions."],
  ["Exposure", "what it touched and held: arguments (secrets redacted), resources, paths, SQL, egress hosts, secrets in flight, and the other servers in the same sessions."],
  ["Credentials", "the names of the env and header variables it was given (never their values) and the token formats seen in its traffic, each to rotate."],
  ["Policy", "the change applied, and the rules that allowed its calls, to review."],
];

/** Our sentences with `code` spans (the steps' descriptions above). */
function sentence(s: string): Html {
  return html`${s.split("`").map((piece, i) => (i % 2 === 1 ? html`<code>${piece}</code>` : piece))}`;
}

export function incidentFormPage(viewer: Viewer, d: IncidentFormData): Html {
  const v = d.values;
  const configured = d.servers.filter((s) => s.configured);
  const seen = d.servers.filter((s) => !s.configured);
  const listed = d.servers.some((s) => s.name === v.server);
  const option = (s: { name: string; disabled?: boolean }) => html`<option value="${s.name}"${s.name === v.server ? html` selected` : ""}>${s.name}${s.disabled ? " (disabled)" : ""}</option>`;
  const serverField =
    d.servers.length > 0
      ? html`<label>Server<select name="server" id="incident-server">
${configured.length ? html`<optgroup label="Configured">${configured.map(option)}</optgroup>` : ""}
${seen.length ? html`<optgroup label="Seen in the log, not configured">${seen.map(option)}</optgroup>` : ""}
</select></label>
<label>or another name<input name="other" value="${listed ? "" : v.server}" placeholder="a server in older records"></label>`
      : html`<label>Server<input name="other" id="incident-server" value="${v.server}" placeholder="github" required></label>`;
  const contain = d.canContain
    ? html`<fieldset class="incident-contain">
<legend>1. Contain (changes the settings now)</legend>
${CONTAINMENTS.map((c) => html`<label><input type="radio" name="contain" value="${c}"${v.contain === c ? html` checked` : ""}> ${c === "none" ? "report only, change nothing" : c === "disable" ? "disable the server" : "remove the server from its settings layer"}</label>`)}
<label><input type="checkbox" name="deny" value="on"${v.deny ? html` checked` : ""}> and add it to the denylist (deniedMcpServers)</label>
<label>in the settings layer<select name="layer" id="incident-layer">
<option value=""${v.layer === "" ? html` selected` : ""}>that defines the server</option>
${EDITABLE_LAYERS.map((l) => html`<option value="${l}"${v.layer === l ? html` selected` : ""}>${l}</option>`)}
</select></label>
<p class="muted">Running gateways stop the server at their settings reload, within seconds; the report names any that still run it. Another layer than the one that defines the server: for a deny entry where the organization's settings keep it (managed), or where a repository cannot undo it (user).</p>
</fieldset>`
    : html`<p class="muted" id="no-containment">Your role (${viewer.role}) runs the report without containment: disabling, removing or denying a server needs the admin role.</p>`;
  const body = html`<h1>Incidents</h1>
${d.notice ? html`<p class="notice" id="notice">${d.notice}</p>` : ""}
<p>The response to a server you no longer trust, in five steps, ending in a report you can download:</p>
<ol class="incident-steps-intro">${STEPS.map(([title, what]) => html`<li><strong>${title}</strong>: ${sentence(what)}</li>`)}</ol>
${d.error ? html`<p class="warn" id="incident-error">${d.error}</p>` : ""}
<form class="incident-form" method="post" action="/console/incidents">
<input type="hidden" name="csrf" value="${viewer.csrf}">
<div class="filters">
${serverField}
<label>Since<input name="since" value="${v.since}" placeholder="7d, 24h, 2025-01-31"></label>
<label>Until<input name="until" value="${v.until}" placeholder="now, or 1h, 2025-01-31T12:00Z"></label>
</div>
${contain}
<button type="submit" id="run-incident">Run the incident</button>
</form>
<p class="muted">Activity from ${d.where}. Reading it may take a moment on a large log. The report is kept in this server's memory for an hour (the last 20 reports); anyone signed in to the console, whatever their role, can open and download it by its link.</p>`;
  return layout({ title: "Incidents", viewer, current: "/console/incidents" }, body);
}

function inlines(parts: Inline[]): Html {
  return html`${parts.map((x) => ("code" in x ? html`<code>${x.code}</code>` : "strong" in x ? html`<strong>${x.strong}</strong>` : x.text))}`;
}

function block(b: Block): Html {
  switch (b.kind) {
    case "heading":
      return b.level === 3 ? html`<h3>${b.text}</h3>` : html`<h2>${b.text}</h2>`;
    case "paragraph":
      return html`<p>${inlines(b.parts)}</p>`;
    case "list":
      return html`<ul${b.todo ? html` class="todo"` : ""}>${b.items.map((i) => html`<li>${inlines(i)}</li>`)}</ul>`;
    case "table":
      return html`<table><thead><tr>${b.head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${b.rows.map((r) => html`<tr>${r.map((c) => html`<td>${inlines(c)}</td>`)}</tr>`)}</tbody></table>`;
    case "pre":
      return html`<pre>${preformatted(visibleLines(b.text))}</pre>`;
  }
}

/** The report's blocks: what comes before step 1 (log status, problems, the server), then one section per step. */
export function reportSections(r: IncidentReport): { head: Html; steps: { id: string; title: string; body: Html }[] } {
  const head: Html[] = [];
  const steps: { id: string; title: string; body: Html[] }[] = [];
  for (const b of layoutReport(r)) {
    if (b.kind === "heading" && b.level === 1) continue; // The page's own h1 says it.
    if (b.kind === "heading" && b.level === 2) {
      steps.push({ id: `step-${steps.length + 1}`, title: b.text, body: [] });
      continue;
    }
    (steps.at(-1)?.body ?? head).push(block(b));
  }
  return { head: html`${head}`, steps: steps.map((s) => ({ ...s, body: html`${s.body}` })) };
}

export interface IncidentReportView {
  id: string;
  report: IncidentReport;
  /** Epoch ms after which the report is no longer kept. */
  keptUntil: number;
  notice?: string;
}

export function incidentReportPage(viewer: Viewer, v: IncidentReportView): Html {
  const r = v.report;
  const { head, steps } = reportSections(r);
  const summaries = [r.contain, r.review, r.exposure, r.credentials, r.policy].map((s) => s.summary);
  const base = `/console/incidents/${v.id}`;
  const downloads = html`<p class="downloads" id="downloads">Download the report:
<a href="${base}.md" download>Markdown</a> · <a href="${base}.json" download>JSON</a> · <a href="${base}.html" download>HTML (standalone)</a></p>`;
  const c = r.contain.containment;
  const status = !c.ran ? "report only: nothing changed" : c.ok ? "contained" : "containment FAILED";
  const body = html`<h1>Incident report: <code>${r.server}</code></h1>
${v.notice ? html`<p class="notice" id="notice">${v.notice}</p>` : ""}
<p class="incident-status">Containment: <strong class="${c.ran && !c.ok ? "decision-deny" : ""}" id="containment-status">${status}</strong>. Audit log: <strong>${r.auditLog.status}</strong>.</p>
${downloads}
<nav class="incident-nav" aria-label="The five steps"><ol>${steps.map((s, i) => html`<li><a href="#${s.id}">${s.title}</a><span class="muted">${summaries[i] ?? ""}</span></li>`)}</ol></nav>
<div class="incident-head">${head}</div>
${steps.map(
  (s, i) => html`<section class="incident-step" id="${s.id}">
<h2>${s.title}</h2>
${s.body}
<p class="step-next">${i + 1 < steps.length ? html`<a href="#${steps[i + 1]!.id}">Next: ${steps[i + 1]!.title} →</a>` : html`Last step. <a href="#downloads">Download the report</a> or <a href="/console/incidents">run another</a>.`}</p>
</section>`,
)}
<p class="muted">Kept in this server's memory until ${new Date(v.keptUntil).toISOString().replace(/\.\d+Z$/, "Z")} (an hour, the last 20 reports): anyone signed in to the console, whatever their role, can open and download it by this link.</p>`;
  return layout({ title: `Incident: ${r.server}`, viewer, current: "/console/incidents" }, body);
}

/** The CSS of the standalone HTML download, which has no console stylesheet to lean on. */
const STANDALONE_CSS = `body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1d2125}
code,pre{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}pre{background:#f6f8fa;border:1px solid #d0d4da;padding:8px;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d0d4da;vertical-align:top;overflow-wrap:anywhere}`;

/**
 * The report as one HTML file to keep: renderHtml's escaped fragment in a document whose own CSP
 * allows its inline stylesheet and nothing else (no script, no request), wherever it is opened.
 */
export function standaloneReportHtml(r: IncidentReport): string {
  const title = `Incident report: ${r.server}`.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>${STANDALONE_CSS}</style>
</head>
<body>
${renderHtml(r)}</body>
</html>
`;
}
