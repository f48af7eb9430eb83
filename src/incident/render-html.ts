// The incident report as an HTML fragment, for the console (which wraps it in its own page, under
// its strict CSP: no inline script or style here). Everything is escaped.
import { layoutReport, type Block, type Inline } from "./layout.js";
import type { IncidentReport } from "./report.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeHtml(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function inlines(parts: Inline[]): string {
  return parts.map((x) => ("code" in x ? `<code>${escapeHtml(x.code)}</code>` : "strong" in x ? `<strong>${escapeHtml(x.strong)}</strong>` : escapeHtml(x.text))).join("");
}

function block(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `<h${b.level}>${escapeHtml(b.text)}</h${b.level}>`;
    case "paragraph":
      return `<p>${inlines(b.parts)}</p>`;
    case "list":
      return `<ul${b.todo ? ' class="todo"' : ""}>${b.items.map((i) => `<li>${inlines(i)}</li>`).join("")}</ul>`;
    case "table":
      return `<table><thead><tr>${b.head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${b.rows
        .map((r) => `<tr>${r.map((c) => `<td>${inlines(c)}</td>`).join("")}</tr>`)
        .join("")}</tbody></table>`;
    case "pre":
      return `<pre><code>${escapeHtml(b.text)}</code></pre>`;
  }
}

/** `<article class="incident-report">…</article>`. */
export function renderHtml(report: IncidentReport): string {
  return `<article class="incident-report">\n${layoutReport(report).map(block).join("\n")}\n</article>\n`;
}
