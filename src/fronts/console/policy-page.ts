// The Policy page, as a function of the data policy.ts gathers (no I/O). Rules, file names,
// selectors and reasons come from settings files and callers: everything goes through `html`
// (html.ts), which makes invisible characters visible and escapes.
import type { Source } from "../../policy/types.js";
import { type Html, html, layout, query, type Viewer } from "./html.js";
import type { CallAnswer, CallForm, MatcherRow, PolicyView, RuleRow, ServerRow, ToolPattern } from "./policy.js";

export interface PolicyPageData {
  view: PolicyView;
  /** The "view as" field as typed. */
  asTyped: string;
  /** Why the "view as" field cannot be used (the page answers 400). */
  asProblem?: string;
  /** The configured `principals` selectors, offered in the "view as" field. */
  selectors: string[];
  form: CallForm;
  /** A call was submitted (tool given, even empty). */
  testing: boolean;
  answer?: CallAnswer;
  /** What to fix in the submitted call (the page answers 400). */
  problem?: string;
}

const decision = (d: string) => html`<span class="decision-${d === "allow" || d === "ask" || d === "deny" ? d : "other"}">${d}</span>`;
const source = (s: Source) => html`<code>${s.file}</code> at <code>${s.path}</code> (${s.layer})`;
const cells = (s: Source) => html`<td class="layer">${s.layer}</td><td class="file"><code>${s.file}</code></td><td class="path"><code>${s.path}</code></td>`;

function ruleTable(id: string, rows: RuleRow[], empty: string): Html {
  if (rows.length === 0) return html`<p class="muted" id="${id}">${empty}</p>`;
  return html`<table id="${id}" class="rules"><thead><tr><th>Rule</th><th>Written in</th><th>Layer</th><th>File</th><th>JSON path</th></tr></thead><tbody>
${rows.map((r) => html`<tr${r.principal !== undefined ? html` class="added"` : ""}><td class="rule"><code>${r.rule}</code></td><td>${r.principal !== undefined ? html`<strong>added by ${r.principal}</strong> ` : ""}${r.kind}</td>${cells(r.source)}</tr>\n`)}
</tbody></table>`;
}

function patterns(list: ToolPattern[] | undefined, none: string): Html {
  if (list === undefined) return html`<span class="muted">${none}</span>`;
  if (list.length === 0) return html`<span class="muted">[] (none)</span>`;
  return html`${list.map((t) => html`<code title="${t.source.file} at ${t.source.path}">${t.pattern}</code> `)}`;
}

function serversTable(servers: ServerRow[]): Html {
  if (servers.length === 0) return html`<p class="muted">No server is configured.</p>`;
  return html`<table id="policy-servers"><thead><tr><th>Server</th><th>May run</th><th>Why</th><th>denyTools</th><th>allowedTools</th><th>Defined in</th></tr></thead><tbody>
${servers.map((s) => html`<tr><td><code>${s.name}</code>${s.managed ? html` <span class="muted">(managed)</span>` : ""}</td><td>${decision(s.decision)}</td><td>${s.reason}${s.rule !== undefined ? html`: <code>${s.rule}</code>` : ""}${s.ruleSource ? html` <span class="muted">(${source(s.ruleSource)})</span>` : ""}</td><td>${patterns(s.denyTools, "none")}</td><td>${patterns(s.allowedTools, "not set (every tool passes)")}</td><td>${source(s.source)}</td></tr>\n`)}
</tbody></table>`;
}

function matcherList(id: string, rows: MatcherRow[]): Html {
  return html`<ul id="${id}">${rows.map((m) => html`<li><code>${m.matcher}</code> <span class="muted">${source(m.source)}</span></li>`)}</ul>`;
}

function serverLists(v: PolicyView): Html {
  const allowed =
    v.allowedMcpServers === undefined
      ? html`<p><strong>allowedMcpServers</strong>: not set (no allowlist: every server the other steps permit may run).</p>`
      : v.allowedMcpServers.length === 0
        ? html`<p class="warn"><strong>allowedMcpServers</strong> is empty: a lockdown, no server may run.</p>`
        : html`<p><strong>allowedMcpServers</strong>: a server must match one of these.</p>${matcherList("allowed-servers", v.allowedMcpServers)}`;
  const denied =
    v.deniedMcpServers.length === 0
      ? html`<p><strong>deniedMcpServers</strong>: none.</p>`
      : html`<p><strong>deniedMcpServers</strong>: a server matching any of these is refused, whatever the allowlist says.</p>${matcherList("denied-servers", v.deniedMcpServers)}`;
  const narrowing = v.narrowMcpServers.map(
    (list, i) => html`<p><strong>allowedMcpServers of an untrusted layer</strong> (it may narrow the servers, never extend them)${list.length === 0 ? ": empty, a lockdown" : ""}:</p>${matcherList(`narrowing-${i}`, list)}`,
  );
  return html`${denied}${allowed}${narrowing}
${v.exclusiveManagedServers ? html`<p class="warn">managed-mcp.json exists: only the servers it defines may run.</p>` : ""}
${v.requirePinnedPackages ? html`<p>Managed settings require pinned packages: a server started through a package runner must name one exact version.</p>` : ""}`;
}

function orderList(v: PolicyView): Html {
  const mode =
    v.mode === "bypassPermissions"
      ? v.bypassDisabled
        ? "bypassPermissions, but disabled by disableBypassPermissionsMode: an ask stays an ask"
        : "bypassPermissions: every ask becomes allow (denies stay)"
      : v.mode === "dontAsk"
        ? "dontAsk: every ask becomes deny"
        : `${v.mode}: an ask asks a person`;
  return html`<ol id="evaluation-order">
<li>A malformed tool name (control or invisible characters, edge spaces, over 512 characters) is denied before any rule.</li>
<li>MCP tools (<code>mcp__&lt;server&gt;__&lt;tool&gt;</code>): the server must be allowed to run (the server lists below, managed-only mode, <code>disabled</code>); then its <code>denyTools</code> deny, and with <code>allowedTools</code> a tool none of them names is denied.</li>
<li><strong>Deny rules</strong>: any match denies. They match broadly: in any case, <code>*</code> across <code>_</code>, and <code>mcp__x</code> covers every tool of x.</li>
<li><strong>Ask rules</strong>: any match asks.</li>
<li><strong>Allow rules</strong>, <code>autoApproveTools</code> and a matching <code>allowedTools</code> entry: a match allows. They match exactly (case-sensitive, server part against the server, tool part against the tool).</li>
<li>No rule matches: ask.</li>
<li>The mode acts on asks only: ${mode}.</li>
<li>A call the rules do not deny still meets the server's sandbox gate, its guards (filesystem, SQL, arguments) and the secret scan of its arguments. The box above runs all of them, as <code>check</code> does.</li>
</ol>
<p class="muted">Claude Code's own tools (Bash, Read, WebFetch...) are judged by each tool's judge with the same deny → ask → allow order over the same lists (<code>Bash(npm run *)</code>, <code>Read(./.env)</code>). Remote callers get the layers' rules plus those of every <code>principals</code> entry they match, concatenated: a deny anywhere wins, so an entry's allow never beats a layer's deny or ask.</p>`;
}

function testBox(d: PolicyPageData): Html {
  const f = d.form;
  const field = (name: keyof CallForm, label: string, hint: string) => html`<label>${label}<input name="${name}" value="${f[name]}" placeholder="${hint}" maxlength="512"></label>`;
  const a = d.answer;
  return html`<section id="test-call">
<h2>Test a call</h2>
<p class="muted">Answered by the code <code>mcp-warden check --tool NAME --input JSON</code> runs (with <code>--as user:SUBJECT --groups A,B --client ID --org ID</code> when a caller is given), against the settings serve runs with now.</p>
<form class="filters test-call" method="get" action="/console/policy#test-call">
${d.view.as !== undefined ? html`<input type="hidden" name="as" value="${d.view.as}">` : ""}
${field("tool", "Tool", "mcp__github__create_issue or Bash")}
<label class="wide">Arguments (a JSON object)<textarea name="input" rows="3" maxlength="16384" placeholder='{"repo": "octo/app"}'>${f.input}</textarea></label>
${field("subject", "Caller subject (optional)", "alice")}${field("groups", "Groups", "dev, oncall")}${field("org", "Organization", "acme")}${field("client", "Client", "ci-bot")}
<button type="submit">Test</button>
</form>
${d.problem !== undefined ? html`<p class="warn" id="test-error">Not judged: ${d.problem}.</p>` : ""}
${a
  ? html`<dl id="answer">
<dt>Decision</dt><dd id="answer-decision">${decision(a.decision)}</dd>
<dt>Reason</dt><dd id="answer-reason">${a.reason}</dd>
${a.rule !== undefined ? html`<dt>Rule</dt><dd><code id="answer-rule">${a.rule}</code></dd>` : ""}
${a.source ? html`<dt>Rule source</dt><dd id="answer-source">${source(a.source)}</dd>` : ""}
<dt>Judged as</dt><dd>${a.as}</dd>
${a.matched.length > 0 ? html`<dt>principals entries</dt><dd>${a.matched.map((s) => html`<code>${s}</code> `)}</dd>` : ""}
<dt>Working directory</dt><dd><code>${a.cwd}</code> <span class="muted">(where built-in tools' paths are judged: serve's, as <code>check</code> run there)</span></dd>
</dl>`
  : ""}
</section>`;
}

function viewAs(d: PolicyPageData): Html {
  const v = d.view;
  const note =
    v.as === undefined
      ? html`<p class="muted">Shown: the layers' rules alone, as the local user (stdio) gets them. A remote caller also gets the rules of each <code>principals</code> entry it matches.</p>`
      : html`<p id="viewing-as">Shown: the rules of a caller matching <code>${v.as}</code>${v.as !== "*" ? html` (and <code>*</code>, which every signed-in caller matches)` : ""}. ${
          v.applied.length === 0
            ? html`No <code>principals</code> entry applies, so it gets the layers' rules alone.`
            : html`Entries applied: ${v.applied.map((s) => html`<code>${s}</code> `)}; their rules are marked <strong>added by</strong>.`
        } An entry only adds rules: it removes none of the layers', and its deny and ask rules take precedence over every allow. A caller matching several entries (a user, its groups, client and org) gets all of them: test a call with its subject and groups to see the whole.</p>`;
  return html`<form class="filters view-as" method="get" action="/console/policy">
<label>View the rules as<input name="as" value="${d.asTyped}" list="principal-selectors" placeholder="user:alice, group:dev, org:acme, *" maxlength="300"></label>
<datalist id="principal-selectors">${d.selectors.map((s) => html`<option value="${s}"></option>`)}</datalist>
<button type="submit">View</button> <a href="/console/policy">the layers only</a>
</form>
${d.asProblem !== undefined ? html`<p class="warn" id="as-error">${d.asProblem}.</p>` : ""}
${note}`;
}

function principalsSection(v: PolicyView): Html {
  if (v.principals.length === 0) return html`<p class="muted">No <code>principals</code> entry is configured: every caller gets the layers' rules.</p>`;
  return html`${v.principals.map(
    (p) => html`<section class="principal">
<h3><code>${p.selector}</code> <a href="/console/policy${query({ as: p.selector })}">view as</a></h3>
${p.rules.length > 0 ? ruleTable(`principal-${p.selector.replace(/[^A-Za-z0-9_-]/g, "_")}`, p.rules, "") : html`<p class="muted">No rules.</p>`}
${p.rates.length > 0 ? html`<p>Rate limits: ${p.rates.map((r) => html`${r.what} <code>${r.rate}</code> <span class="muted">(${source(r.source)})</span>; `)}</p>` : ""}
</section>`,
  )}`;
}

export function policyPage(viewer: Viewer, d: PolicyPageData): Html {
  const v = d.view;
  const by = (e: RuleRow["effect"]) => v.rules.filter((r) => r.effect === e);
  const body = html`<div class="policy">
<h1>Policy</h1>
<p class="muted">The settings serve runs with now (the ones its last reload applied), in evaluation order, each rule with the layer and file it was written in. Layers, highest first: managed, cli, local, project, user.</p>
${testBox(d)}
<h2>How a call is decided</h2>
${orderList(v)}
<h2>Permission rules</h2>
${viewAs(d)}
<h3>1. Deny</h3>
${ruleTable("rules-deny", by("deny"), "No deny rule.")}
<h3>2. Ask</h3>
${ruleTable("rules-ask", by("ask"), "No ask rule.")}
<h3>3. Allow</h3>
${ruleTable("rules-allow", by("allow"), "No allow rule: every call no rule denies or asks for is asked.")}
<h2>Servers</h2>
${serverLists(v)}
${serversTable(v.servers)}
<h2>Principals</h2>
${principalsSection(v)}
<h2>Settings files</h2>
<table id="settings-files"><thead><tr><th>Layer</th><th>File</th><th></th></tr></thead><tbody>
${v.files.map((f) => html`<tr><td>${f.layer}</td><td><code>${f.file}</code></td><td>${f.untrusted ? html`<span class="muted">untrusted: it may only tighten (<code>mcp-warden trust</code>)</span>` : ""}</td></tr>`)}
</tbody></table>
${v.warnings.length > 0 ? html`<h2>Ignored on purpose</h2><ul id="settings-warnings">${v.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ""}
</div>`;
  return layout({ title: "Policy", viewer, current: "/console/policy" }, body);
}
