// The incident report as an HTML fragment, for the console (which wraps it in its own page, under
// its strict CSP: no inline script or style here). Everything is escaped.
import { layoutReport, type Block, type Inline } from "./layout.js";
import type { IncidentReport } from "./report.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// Controls, bidi overrides, zero-width and tag characters are shown as \uXXXX (\u{XXXXX}), never sent raw.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u{e0000}-\u{e007f}]/gu;
const codeEscape = (c: string) => {
  const cp = c.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, "0")}`;
};

export function escapeHtml(s: string): string {
  return s.replace(UNSAFE, (c) => codeEscape(c)).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
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
