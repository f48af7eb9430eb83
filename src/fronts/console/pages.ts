// The console's pages, as functions of the data they show (no I/O: console.ts gathers the data).
// Everything from an agent, a tool, a server or a caller goes through `html` (html.ts), which makes
// invisible characters visible and escapes; arguments and diffs are laid out by the helpers
// `mcp-warden approvals list` uses too (renderArguments, visibleLines), so both show a call alike.
import { ANSWER_LABELS, formatTimeLeft, hasHiddenCharacters, holdingNote, visibleLines } from "../../approvals/display.js";
import type { AuditRecord } from "../../audit/record.js";
import { renderArguments } from "../../policy/integrity/display.js";
import type { ListedQuestion } from "../http/approvals-endpoint.js";
import type { ActivityFilter, MinuteCounts } from "./activity.js";
import type { Explanation } from "./explain.js";
import { type Html, html, layout, preformatted, query, type Viewer } from "./html.js";

export interface OverviewData {
  now: number;
  minutes: MinuteCounts[];
  chartPartial: boolean;
  /** Why the chart is older than it should be. */
  chartStale?: string;
  openQuestions: number;
  questionsIncomplete?: string;
  servers: { name: string; state: string; error?: string }[];
  recentDenials: { ref: string; record: AuditRecord }[];
  where: string;
}

const decision = (d: string | undefined) => (d ? html`<span class="decision-${d === "allow" || d === "ask" || d === "deny" ? d : "other"}">${d}</span>` : html`-`);
const time = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, "Z");

/** Calls per minute by decision over the last hour, as stacked SVG bars (no script, no chart library). */
export function callsChart(minutes: MinuteCounts[], now: number): Html {
  const end = now - (now % 60_000);
  const slots = Array.from({ length: 60 }, (_, i) => end - (59 - i) * 60_000);
  const byMinute = new Map(minutes.map((m) => [m.minute, m]));
  const max = Math.max(1, ...slots.map((t) => { const m = byMinute.get(t); return m ? m.allow + m.ask + m.deny : 0; }));
  const H = 120;
  const bars = slots.map((t, i) => {
    const m = byMinute.get(t) ?? { minute: t, allow: 0, ask: 0, deny: 0 };
    let y = H;
    const rects = (["deny", "ask", "allow"] as const).map((d) => {
      const h = (m[d] / max) * (H - 4);
      if (h <= 0) return html``;
      y -= h;
      return html`<rect class="${d}" x="${i * 10 + 1}" y="${y.toFixed(1)}" width="8" height="${h.toFixed(1)}"></rect>`;
    });
    return html`<g><title>${new Date(t).toISOString().slice(11, 16)} UTC: ${m.allow} allowed, ${m.ask} asked, ${m.deny} denied</title>${rects}</g>`;
  });
  return html`<svg class="chart" viewBox="0 0 600 ${H}" preserveAspectRatio="none" role="img" aria-label="Tool calls per minute by decision, last hour">${bars}</svg>`;
}

export function overviewPage(viewer: Viewer, d: OverviewData): Html {
  const totals = d.minutes.reduce((a, m) => ({ allow: a.allow + m.allow, ask: a.ask + m.ask, deny: a.deny + m.deny }), { allow: 0, ask: 0, deny: 0 });
  const up = d.servers.filter((s) => s.state === "ready").length;
  const body = html`<h1>Overview</h1>
<div id="overview-live" data-live>
<div class="cards">
<div class="card"><div class="n" id="open-questions">${d.openQuestions}</div><a href="/console/approvals">open questions</a></div>
<div class="card"><div class="n">${up} / ${d.servers.length}</div>servers ready</div>
<div class="card"><div class="n">${totals.allow + totals.ask + totals.deny}</div>tool calls in the last hour</div>
<div class="card"><div class="n decision-deny">${totals.deny}</div>denied in the last hour</div>
</div>
${d.questionsIncomplete ? html`<p class="warn">${d.questionsIncomplete}</p>` : ""}
<h2>Tool calls per minute, last hour</h2>
${d.chartStale ? html`<p class="warn">${d.chartStale}.</p>` : ""}
${callsChart(d.minutes, d.now)}
<p class="legend muted"><span class="allow">allowed ${totals.allow}</span><span class="ask">asked ${totals.ask}</span><span class="deny">denied ${totals.deny}</span>${d.chartPartial ? " (the newest records only: the hour holds more than the chart reads)" : ""}</p>
<h2>Servers</h2>
${d.servers.length === 0 ? html`<p class="muted">No server is configured.</p>` : html`<table><thead><tr><th>Server</th><th>State</th><th>Last error</th></tr></thead><tbody>${d.servers.map((s) => html`<tr><td><code>${s.name}</code></td><td class="state-${/^[a-z-]+$/.test(s.state) ? s.state : "other"}">${s.state}</td><td>${s.error ?? ""}</td></tr>`)}</tbody></table>`}
<h2>Recent denials</h2>
${d.recentDenials.length === 0 ? html`<p class="muted">None recorded.</p>` : activityTable(d.recentDenials)}
</div>
<p class="muted">From ${d.where}.</p>`;
  return layout({ title: "Overview", viewer, current: "/console", live: true }, body);
}

export function activityTable(rows: { ref: string; record: AuditRecord }[], id?: string): Html {
  return html`<table${id ? html` id="${id}" data-live` : ""}><thead><tr><th>Time (UTC)</th><th>Principal</th><th>Kind</th><th>Server</th><th>Tool or method</th><th>Decision</th><th>Rule</th><th>Outcome</th><th></th></tr></thead><tbody>
${rows.map(({ ref, record: r }) => html`<tr><td>${time(r.time)}</td><td>${r.principal?.subject ?? ""}</td><td>${r.event ? `${r.kind}/${r.event}` : r.kind}</td><td>${r.server ?? ""}</td><td><code>${r.tool ?? r.method ?? ""}</code></td><td>${decision(r.decision)}</td><td><code>${r.rule ?? ""}</code></td><td>${r.outcome ?? ""}</td><td><a href="/console/activity/${encodeURIComponent(ref)}">open</a></td></tr>\n`)}
</tbody></table>`;
}

export interface ActivityView {
  filter: ActivityFilter;
  /** The filter fields as typed, for the form and the links. */
  raw: Record<string, string>;
  rows: { ref: string; record: AuditRecord }[];
  next?: string;
  first: boolean;
  scanLimited: boolean;
  damaged: number;
  limit: number;
  error?: string;
  where: string;
}

export function activityPage(viewer: Viewer, v: ActivityView): Html {
  const field = (name: string, label: string, hint: string) => html`<label>${label}<input name="${name}" value="${v.raw[name] ?? ""}" placeholder="${hint}"></label>`;
  const chosen = v.raw.decision ?? "";
  const form = html`<form class="filters" method="get" action="/console/activity">
${field("principal", "Principal (subject)", "user-alice")}${field("server", "Server", "github")}${field("tool", "Tool (glob)", "mcp__github__*")}
<label>Decision<select name="decision">${["", "allow", "ask", "deny"].map((d) => html`<option value="${d}"${d === chosen ? html` selected` : ""}>${d || "any"}</option>`)}</select></label>
${field("since", "Since", "1h, 2025-01-31")}${field("until", "Until", "10m, 2025-01-31T12:00Z")}
<label>Per page<input name="limit" value="${v.limit}" size="4"></label>
<button type="submit">Filter</button> <a href="/console/activity">clear</a>
</form>`;
  const more = v.next ? html`<p><a id="older" href="/console/activity${query({ ...v.raw, before: v.next })}">Older records →</a>${v.scanLimited ? html` <span class="muted">(this page stopped after reading its share of the log without filling up; continue to search older records)</span>` : ""}</p>` : html`<p class="muted">No older records match.</p>`;
  const body = html`<h1>Activity</h1>
${form}
${v.error ? html`<p class="warn" id="filter-error">${v.error}</p>` : ""}
${v.damaged > 0 ? html`<p class="warn">${v.damaged} line(s) of the log are not valid records: run <code>mcp-warden audit verify</code>.</p>` : ""}
${v.first ? html`<p class="muted">Newest first${v.first ? "; this page refreshes itself while it is open" : ""}.</p>` : html`<p class="muted"><a href="/console/activity${query(v.raw)}">← Newest</a></p>`}
${v.rows.length === 0 ? html`<p id="activity-rows" ${v.first ? html`data-live` : ""}>No records match.</p>` : activityTable(v.rows, v.first ? "activity-rows" : undefined)}
${more}
<p class="muted">From ${v.where}.</p>`;
  return layout({ title: "Activity", viewer, current: "/console/activity", live: v.first && !v.error }, body);
}

export function recordPage(viewer: Viewer, r: AuditRecord, explanation: Explanation | undefined): Html {
  const rows: Html[] = [];
  const row = (k: string, v: Html | string | undefined) => {
    if (v !== undefined && v !== "") rows.push(html`<dt>${k}</dt><dd>${v}</dd>`);
  };
  row("Time", time(r.time));
  row("Kind", r.event ? `${r.kind}/${r.event}` : r.kind);
  if (r.principal) row("Principal", `${r.principal.subject} (${r.principal.method}${r.principal.clientId ? `, client ${r.principal.clientId}` : ""}${r.principal.org ? `, org ${r.principal.org}` : ""})`);
  row("Server", r.server);
  row("Tool", r.tool ? html`<code>${r.tool}</code>` : undefined);
  row("Method", r.method);
  row("Decision", r.decision ? decision(r.decision) : undefined);
  row("Reason", r.reason);
  row("Rule", r.rule ? html`<code id="rule">${r.rule}</code>` : undefined);
  row("Rule source", r.ruleSource ? html`<code>${r.ruleSource.file}</code> at <code>${r.ruleSource.path}</code> (${r.ruleSource.layer})` : undefined);
  row("Outcome", r.outcome);
  row("Duration", typeof r.durationMs === "number" ? `${r.durationMs} ms` : undefined);
  row("Error", r.error);
  row("Request id", r.id);
  const why = explanation
    ? html`<h2>What <code>mcp-warden check</code> answers today</h2>
<p class="muted">Judged against today's policy (the settings serve runs with now), as ${explanation.as}. The decision above is the one made at the time; the two differ when the settings changed since.</p>
<dl id="explanation"><dt>Decision</dt><dd>${decision(explanation.verdict.decision)}</dd><dt>Reason</dt><dd>${explanation.verdict.reason}</dd>${explanation.verdict.rule ? html`<dt>Rule</dt><dd><code>${explanation.verdict.rule}</code></dd>` : ""}${explanation.verdict.source ? html`<dt>Rule source</dt><dd><code>${explanation.verdict.source.file}</code> at <code>${explanation.verdict.source.path}</code> (${explanation.verdict.source.layer})</dd>` : ""}</dl>
${explanation.caveats.map((c) => html`<p class="muted">Note: ${c}.</p>`)}`
    : html`<p class="muted">This record is not a tool call: there is nothing for <code>check</code> to judge.</p>`;
  const body = html`<h1>Audit record</h1>
<dl>${rows}</dl>
${r.arguments !== undefined ? html`<h2>Arguments (as recorded, secrets redacted)</h2><pre id="arguments">${preformatted(renderArguments(r.arguments, { width: 110 }))}</pre>` : ""}
${r.detail !== undefined ? html`<h2>Detail</h2><pre>${preformatted(renderArguments(r.detail, { width: 110 }))}</pre>` : ""}
${why}
<p><a href="/console/activity">← Activity</a></p>`;
  return layout({ title: "Audit record", viewer, current: "/console/activity" }, body);
}

const KIND_HEADINGS: Record<ListedQuestion["kind"], string> = {
  call: "A tool call waits for approval",
  "tool-change": "A tool's definition changed",
  server: "A server's launch configuration is new or changed",
  "client-request": "A server asks to use its caller's client",
};

export interface ApprovalsView {
  questions: ListedQuestion[];
  incomplete?: string;
  /**
   * The viewer's owner key: their own calls' questions are answered through their client. Unset
   * under run's local console, where the person answers their own calls.
   */
  owner?: string;
  canAnswer: boolean;
  now: number;
  /** A message after an answer (what happened). */
  notice?: string;
}

export function approvalsPage(viewer: Viewer, v: ApprovalsView): Html {
  const question = (q: ListedQuestion) => {
    const own = v.owner !== undefined && q.principal === v.owner;
    const remote = "replica" in q;
    // A question held by another replica carries its diff too (cut at 16 KiB, with a note saying so).
    const diff = q.diff;
    const rule = !remote ? q.rule : undefined;
    const answers = v.canAnswer && !own
      ? html`<form class="answers" method="post" action="/console/approvals/${encodeURIComponent(q.id)}"><input type="hidden" name="csrf" value="${viewer.csrf}">
${q.answers.map((a) => html`<button type="submit" name="answer" value="${a}"${a === "deny" ? html` class="deny"` : ""}>${ANSWER_LABELS[a]}</button>`)}
</form>`
      : html`<p class="muted">${own ? "This question is about your own call: answer it through your client." : "Your role (viewer) cannot answer questions."}</p>`;
    return html`<section class="question" id="q-${q.id}">
<h2>${KIND_HEADINGS[q.kind] ?? "A question"}</h2>
${!remote ? html`<p class="muted">${holdingNote(q)}</p>` : html`<p class="muted">Held by another replica; an answer here is sent to it.</p>`}
${q.arguments !== undefined && hasHiddenCharacters(q.arguments) ? html`<p class="warn"><strong>Hidden characters:</strong> the arguments contain control, zero-width, bidirectional or tag characters, shown below as visible escapes. Read them before you allow.</p>` : ""}
<dl><dt>Server</dt><dd><code>${q.server}</code></dd>${q.tool !== undefined ? html`<dt>Tool</dt><dd><code>${q.tool}</code></dd>` : ""}${q.principal !== undefined ? html`<dt>Caller</dt><dd>${q.principal.split("|").slice(-1)[0]} <span class="muted">(${q.principal})</span></dd>` : ""}
<dt>Reason</dt><dd>${q.reason}</dd>${rule !== undefined ? html`<dt>Rule</dt><dd><code>${rule}</code></dd>` : ""}
<dt>Time left</dt><dd>${formatTimeLeft(q.expiresAt - v.now)} <span class="muted">(then it is denied)</span></dd>${q.argumentsDigest !== undefined ? html`<dt>Arguments digest</dt><dd><code>${q.argumentsDigest}</code></dd>` : ""}
<dt>Question id</dt><dd><code>${q.id}</code></dd></dl>
${q.arguments !== undefined ? html`<h3 class="muted">Arguments (in full, exactly as they will be forwarded)</h3><pre class="arguments">${preformatted(renderArguments(q.arguments, { width: 100 }))}</pre>` : ""}
${diff !== undefined ? html`<h3 class="muted">What changed</h3><pre class="diff">${preformatted(visibleLines(diff))}</pre>` : ""}
${answers}
</section>`;
  };
  const body = html`<h1>Approvals</h1>
${v.notice ? html`<p class="warn" id="notice">${v.notice}</p>` : ""}
<div id="questions" data-live>
${v.incomplete ? html`<p class="warn">${v.incomplete}</p>` : ""}
${v.questions.length === 0 ? html`<p>No question is waiting.</p>` : v.questions.map(question)}
</div>`;
  // No live refresh while someone may be reading arguments to answer: they reload when they want.
  return layout({ title: "Approvals", viewer, current: "/console/approvals", live: v.questions.length === 0 }, body);
}
