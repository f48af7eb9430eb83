// The console's two static files, shipped inside the package as strings (no CDN, no build step:
// the console works offline). Pages work without the script; it only refreshes the parts of a page
// marked data-live while the page is visible.

export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1d2125; --muted: #505a66; --line: #d0d4da; --bg: #f4f5f7; --allow: #2f7d32; --ask: #b26a00; --deny: #b42318; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 18px; padding: 10px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header nav { display: flex; gap: 14px; flex: 1; }
header nav a { color: var(--fg); text-decoration: none; padding: 4px 2px; }
header nav a[aria-current="page"] { border-bottom: 2px solid var(--fg); }
form.signout { display: flex; align-items: center; gap: 8px; margin: 0; }
.who { color: var(--muted); font-size: 13px; }
main { max-width: 1180px; margin: 20px auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 26px; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
code, pre { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0 0 12px; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); font-size: 13px; }
.warn { background: #fff4e5; border: 1px solid #f0b35c; border-radius: 6px; padding: 8px 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 160px; }
.card .n { font-size: 26px; font-weight: 700; }
.decision-allow { color: var(--allow); font-weight: 600; }
.decision-ask { color: var(--ask); font-weight: 600; }
.decision-deny { color: var(--deny); font-weight: 600; }
svg.chart { width: 100%; height: 140px; border: 1px solid var(--line); border-radius: 6px; background: #fbfbfc; }
svg.chart .allow { fill: var(--allow); }
svg.chart .ask { fill: var(--ask); }
svg.chart .deny { fill: var(--deny); }
.legend span { margin-right: 14px; }
.legend .allow::before, .legend .ask::before, .legend .deny::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.legend .allow::before { background: var(--allow); }
.legend .ask::before { background: var(--ask); }
.legend .deny::before { background: var(--deny); }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select { font: inherit; padding: 4px 6px; border: 1px solid #8c959f; border-radius: 4px; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #8c959f; background: #fff; color: var(--fg); cursor: pointer; }
button:hover { background: #eef1f4; }
button.deny { background: var(--deny); border-color: #8f1c13; color: #fff; font-weight: 600; }
form.answers { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; }
.question { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 14px; }
.state-ready { color: var(--allow); }
.state-crashed, .state-failed, .state-blocked, .state-stopped { color: var(--deny); }
/* Policy page */
#test-call { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; margin-bottom: 16px; }
form.test-call label.wide { flex-basis: 100%; }
form.test-call textarea { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; padding: 4px 6px; border: 1px solid #8c959f; border-radius: 4px; width: 100%; }
table.rules tr.added { background: #eef4ff; }
.policy h3 { font-size: 15px; margin: 14px 0 6px; }
.policy .principal { border-top: 1px solid var(--line); padding-top: 4px; }
/* Incidents page (incidents-page.ts) */
.notice { background: #eaf5ea; border: 1px solid #9fcf9f; border-radius: 6px; padding: 8px 12px; }
ol.incident-steps-intro li { margin-bottom: 4px; }
form.incident-form .filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
form.incident-form label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
fieldset.incident-contain { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 12px; padding: 8px 14px; }
fieldset.incident-contain label { flex-direction: row; align-items: center; gap: 6px; font-size: 14px; color: var(--fg); margin: 4px 0; }
fieldset.incident-contain legend { font-weight: 600; }
nav.incident-nav ol { padding-left: 20px; }
nav.incident-nav li { margin-bottom: 6px; }
nav.incident-nav li .muted { display: block; }
section.incident-step { border-top: 1px solid var(--line); margin-top: 18px; padding-top: 4px; }
section.incident-step h3 { font-size: 14px; margin: 14px 0 6px; }
ul.todo li { margin-bottom: 2px; }
.step-next { margin-top: 12px; }
/* Servers page (servers-page.ts) */
pre.notice { background: #fff4e5; border-color: #f0b35c; }
.warn-text, .pins-needs-approval, .pins-unknown { color: var(--deny); }
.pins-approved { color: var(--allow); }
.state-awaiting-approval, .state-disabled, .state-restarting, .state-starting { color: var(--ask); }
table.servers td, table.tools td { font-size: 13px; }
table.servers th, table.servers td:first-child, table.servers td:nth-child(3), table.servers td:nth-child(5) { overflow-wrap: normal; }
table.tools .description { white-space: pre-wrap; overflow-wrap: anywhere; }
td.seen-listed { color: var(--allow); }
td.seen-hidden { color: var(--deny); }
details summary { cursor: pointer; color: var(--muted); font-size: 12px; }
ul.instances { margin: 4px 0 8px; padding-left: 18px; font-size: 13px; }
.tool-group { margin-bottom: 18px; }
form.server-actions { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; display: flex; flex-direction: column; gap: 10px; }
form.server-actions .buttons { display: flex; gap: 8px; }
`;

export const CONSOLE_JS = `"use strict";
// Progressive enhancement only: every page works without this file.
(function () {
  var seconds = Number(document.body && document.body.getAttribute("data-refresh"));
  if (!seconds) return;
  var stopped = false;
  function busy() {
    var a = document.activeElement;
    return a && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA");
  }
  function refresh() {
    if (stopped || document.hidden || busy()) return;
    fetch(location.href, { credentials: "same-origin", headers: { "x-console-live": "1" } })
      .then(function (res) {
        // Signed out, expired or refused: stop, and let a reload show why.
        if (!res.ok || res.redirected) { stopped = true; return undefined; }
        return res.text();
      })
      .then(function (text) {
        if (text === undefined) return;
        var next = new DOMParser().parseFromString(text, "text/html");
        var live = document.querySelectorAll("[data-live]");
        for (var i = 0; i < live.length; i++) {
          var fresh = next.getElementById(live[i].id);
          if (fresh) live[i].replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () { /* the next tick tries again */ });
  }
  setInterval(refresh, seconds * 1000);
})();
`;
