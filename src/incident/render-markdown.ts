// The incident report as Markdown (CommonMark with GFM tables). Every piece of text is escaped:
// most of it comes from servers and callers, and must neither format the page nor drive a terminal.
import { layoutReport, type Block, type Inline } from "./layout.js";
import type { IncidentReport } from "./report.js";

// C0/C1 controls, bidi overrides, zero-width and tag characters are shown as \uXXXX (\u{XXXXX}); a
// newline becomes a space.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u{e0000}-\u{e007f}]/gu;
const codeEscape = (c: string) => {
  const cp = c.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, "0")}`;
};

function visible(s: string): string {
  return s.replace(UNSAFE, (c) => (c === "\n" || c === "\t" ? " " : codeEscape(c)));
}

/**
 * Plain text: the punctuation that starts inline Markdown is escaped, so nothing in it becomes a
 * link, an image, HTML, code or emphasis. (Block syntax can only start a line: see lineStart.)
 */
export function markdownText(s: string): string {
  return visible(s).replace(/[\\`*_[\]<>#|!~&]/g, "\\$&");
}

/** A line that would read as a list item, a numbered item, a heading underline or indented code is escaped at its start. */
function lineStart(line: string): string {
  return line
    .replace(/^\s+/, "")
    .replace(/^(\d+)([.)])/, "$1\\$2")
    .replace(/^([-+=])/, "\\$1");
}

/** A code span that holds `s` whatever its backticks; in a table cell, `|` is escaped (GFM splits cells on it first). */
export function markdownCode(s: string, inTable: boolean): string {
  let t = visible(s);
  if (inTable) t = t.replace(/\|/g, "\\|");
  if (t === "") return "` `";
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = t.startsWith("`") || t.endsWith("`") || (t.startsWith(" ") && t.endsWith(" ")) ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}

function inlines(parts: Inline[], inTable = false): string {
  return parts.map((x) => ("code" in x ? markdownCode(x.code, inTable) : "strong" in x ? `**${markdownText(x.strong)}**` : markdownText(x.text))).join("");
}

function block(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `${"#".repeat(b.level)} ${markdownText(b.text)}`;
    case "paragraph":
      return lineStart(inlines(b.parts));
    case "list":
      return b.items.map((i) => `- ${b.todo ? "[ ] " : ""}${lineStart(inlines(i))}`).join("\n");
    case "table": {
      const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
      return [row(b.head.map(markdownText)), row(b.head.map(() => "---")), ...b.rows.map((r) => row(r.map((c) => inlines(c, true) || " ")))].join("\n");
    }
    case "pre": {
      const text = b.text.split(/\r?\n/).map(visible).join("\n");
      const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
      const fence = "`".repeat(longest + 1);
      return `${fence}text\n${text}\n${fence}`;
    }
  }
}

export function renderMarkdown(report: IncidentReport): string {
  return `${layoutReport(report).map(block).join("\n\n")}\n`;
}
