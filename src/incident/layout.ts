// The report's layout as blocks (headings, paragraphs, tables, lists), rendered to Markdown by
// render-markdown.ts and to HTML by render-html.ts, so both show the same facts in the same order.
// Text in `backticks` becomes code; every piece of text is escaped by the renderer, because most of
// it (tool names, paths, hosts, statements) comes from servers and callers, not from us.
import type { Listed } from "./facts.js";
import type { IncidentReport } from "./report.js";

export type Inline = { text: string } | { code: string } | { strong: string };
export type Block =
  | { kind: "heading"; level: 1 | 2 | 3; text: string }
  | { kind: "paragraph"; parts: Inline[] }
  | { kind: "list"; items: Inline[][]; todo?: boolean }
  | { kind: "table"; head: string[]; rows: Inline[][][] }
  | { kind: "pre"; text: string };

/** Our sentences with `code` spans: split into text and code parts. */
export function inline(s: string): Inline[] {
  const parts: Inline[] = [];
  s.split("`").forEach((piece, i) => {
    if (piece === "") return;
    parts.push(i % 2 === 1 ? { code: piece } : { text: piece });
  });
  return parts;
}

const code = (s: string | number): Inline[] => [{ code: String(s) }];
const text = (s: string | number): Inline[] => [{ text: String(s) }];
/** Names from the log (tools, principals) as code, comma-separated. */
const codes = (list: readonly string[]): Inline[] => (list.length === 0 ? text("-") : list.flatMap((x, i) => [...(i ? text(", ") : []), ...code(x)]));
const p = (s: string): Block => ({ kind: "paragraph", parts: inline(s) });
const counts = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ") || "-";
const more = (l: Listed<unknown>): Block[] => (l.omitted > 0 ? [p(`… and ${l.omittedAtLeast ? "at least " : ""}${l.omitted} more not listed (the report keeps each list bounded).`)] : []);

function table<T>(head: string[], l: Listed<T>, row: (x: T) => Inline[][], empty: string): Block[] {
  if (l.items.length === 0) return [p(empty)];
  return [{ kind: "table", head, rows: l.items.map(row) }, ...more(l)];
}

function todo(items: string[]): Block[] {
  return items.length ? [{ kind: "paragraph", parts: [{ strong: "To do" }] }, { kind: "list", todo: true, items: items.map(inline) }] : [];
}

export function layoutReport(r: IncidentReport): Block[] {
  const b: Block[] = [{ kind: "heading", level: 1, text: `Incident report: ${r.server}` }];
  b.push(p(`Generated ${r.generatedAt}. Activity from ${r.range.since} to ${r.range.until ?? "now"}.`));
  const log = r.auditLog;
  b.push({ kind: "paragraph", parts: [{ text: `Audit log (${log.store}, ` }, { code: log.where }, { text: "): " }, { strong: log.status }, ...(log.details.length ? inline(` — ${log.details.join("; ")}`) : [])] });
  if (r.problems.length) {
    b.push({ kind: "paragraph", parts: [{ strong: "Problems" }] });
    b.push({ kind: "list", items: r.problems.map(inline) });
  }
  const s = r.serverFacts;
  b.push(
    s.configured
      ? p(`Server \`${r.server}\`: ${s.transport}, defined in the ${s.layer} layer (\`${s.file}\`)${s.disabled ? ", disabled" : ""}; sandbox: ${s.sandbox}; filesystem guard: ${s.filesystemGuard ? "yes" : "no"}; SQL guard: ${s.sqlGuard ? "yes" : "no"}.`)
      : p(`Server \`${r.server}\` is not in the settings; the report is built from the audit log alone.`),
  );

  const c = r.contain;
  b.push({ kind: "heading", level: 2, text: c.title }, p(c.summary));
  if (c.containment.output.length) b.push({ kind: "pre", text: c.containment.output.join("\n") });
  b.push(...todo(c.todo));

  const v = r.review;
  b.push({ kind: "heading", level: 2, text: v.title }, p(v.summary));
  b.push(
    ...table(
      ["Tool", "Calls", "Decisions", "Outcomes", "Principals", "Sessions", "First", "Last"],
      v.tools,
      (t) => [code(t.tool), text(t.calls), text(counts(t.decisions)), text(counts(t.outcomes)), codes(t.principals), text(t.sessions), text(t.first), text(t.last)],
      "No tool calls.",
    ),
  );
  if (v.requests.items.length) b.push({ kind: "heading", level: 3, text: "Other requests" }, ...table(["Method", "Count", "Decisions"], v.requests, (q) => [code(q.method), text(q.count), text(counts(q.decisions))], ""));
  b.push({ kind: "heading", level: 3, text: "Principals" }, ...table(["Principal", "Requests"], v.principals, (x) => [code(x.key), text(x.count)], "None recorded."));
  b.push(
    { kind: "heading", level: 3, text: "Sessions" },
    ...table(["Session", "Kind", "First", "Last", "Requests", "Principals"], v.sessions, (x) => [code(x.id), text(x.kind), text(x.first), text(x.last), text(x.calls), codes(x.principals)], "None recorded."),
  );
  if (v.events.items.length) b.push({ kind: "heading", level: 3, text: "Other records of the server" }, ...table(["Record", "Count"], v.events, (x) => [code(x.key), text(x.count)], ""));
  b.push(...todo(v.todo));

  const e = r.exposure;
  b.push({ kind: "heading", level: 2, text: e.title }, p(e.summary));
  b.push({ kind: "heading", level: 3, text: "Tools called, with their arguments (secrets redacted)" });
  b.push(
    ...table(
      ["Tool", "Arguments", "Times", "Decision"],
      { items: e.arguments.items.flatMap((t) => t.samples.map((x) => ({ tool: t.tool, ...x }))), omitted: e.arguments.items.reduce((n, t) => n + t.omitted, 0) },
      (x) => [code(x.tool), code(x.summary), text(x.count), text(x.decision)],
      "No tool calls.",
    ),
  );
  b.push({ kind: "heading", level: 3, text: "Resources read" }, ...table(["URI", "Requests", "Forwarded", "Refused"], e.resources, (x) => [code(x.uri), text(x.count), text(x.allowed), text(x.refused)], "None."));
  b.push(
    { kind: "heading", level: 3, text: "Paths read or written" },
    ...table(["Path", "Access", "Told by", "Tools", "Forwarded", "Refused"], e.paths, (x) => [code(x.path), text(x.access), text(x.basis), codes(x.tools), text(x.allowed), text(x.refused)], "No path in its calls' arguments."),
  );
  b.push(
    { kind: "heading", level: 3, text: "SQL statements" },
    ...table(["Statement", "Kinds", "Tables", "Forwarded", "Refused"], e.sql, (x) => [code(x.statement), text(x.parsed ? x.kinds.join(", ") : "not parsed"), codes(x.tables), text(x.allowed), text(x.refused)], "None."),
  );
  if (e.tables.items.length) b.push(p(`Tables named: ${e.tables.items.map((t) => `\`${t.key}\` (${t.count})`).join(", ")}.`));
  b.push(
    { kind: "heading", level: 3, text: "Egress hosts (connections through its sandbox's proxy)" },
    ...table(
      ["Host", "Port", "Allowed", "Refused", "Failed", "Addresses", "Protocols"],
      e.egress,
      (x) => [code(x.host), text(x.port ?? "-"), text(x.allowed), text(x.refused), text(x.failed), text(x.addresses.join(", ") || "-"), text(x.protocols.join(", ") || "-")],
      "None recorded.",
    ),
  );
  if (e.urlHosts.items.length) b.push(p(`Hosts in URLs its calls were given: ${e.urlHosts.items.map((h) => `\`${h.key}\` (${h.count})`).join(", ")}.`));
  b.push(
    { kind: "heading", level: 3, text: "Secrets detected in flight" },
    ...table(["Kind", "Where", "Tool", "Action", "Count"], e.secrets, (x) => [code(x.kind), text(x.where), code(x.tool), text(x.action), text(x.count)], "None detected."),
  );
  b.push(
    { kind: "heading", level: 3, text: "Other servers and principals in the same sessions" },
    ...table(
      ["Server", "Requests", "Sessions", "Tools", "Principals"],
      e.sameSessions.servers,
      (x) => [code(x.server), text(x.calls), text(x.sessions), codes(x.tools.map((t) => `${t.key} (${t.count})`)), codes(x.principals)],
      "No other server was called in its sessions.",
    ),
  );
  if (e.sameSessions.principals.items.length) b.push(p(`Principals in those sessions: ${e.sameSessions.principals.items.map((x) => `\`${x.key}\``).join(", ")}.`));
  b.push({ kind: "heading", level: 3, text: "Not recorded" }, { kind: "list", items: e.notRecorded.map(inline) });
  b.push(...todo(e.todo));

  const k = r.credentials;
  b.push({ kind: "heading", level: 2, text: k.title }, p(k.summary));
  b.push(...table(["Name", "Where", "What", "Action"], { items: k.items, omitted: 0 }, (x) => [code(x.name), text(x.where), text(x.detail), [{ strong: x.action }]], "None."));
  b.push(...todo(k.todo));

  const y = r.policy;
  b.push({ kind: "heading", level: 2, text: y.title }, p(y.summary));
  if (y.before) b.push(p(`Before: ${y.before.decision} (${y.before.reason})${y.before.source ? `, ${y.before.source.file} ${y.before.source.path}` : ""}.`));
  b.push(
    { kind: "heading", level: 3, text: "What allowed its calls" },
    ...table(
      ["Rule or reason", "Where", "Calls", "Tools"],
      y.allowingRules,
      (x) => [x.rule !== undefined ? code(x.rule) : text(x.reason ?? "-"), x.file ? code(`${x.file}${x.path ? ` ${x.path}` : ""}`) : text("-"), text(x.calls), codes(x.tools)],
      "No allowed call.",
    ),
  );
  b.push(...todo(y.todo));
  return b;
}
