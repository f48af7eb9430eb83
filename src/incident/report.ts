// The incident report: the second seed's five steps ("Contain, investigate, remediate") for one
// server, as one object. A pure function of facts gathered elsewhere (the settings, the audit log's
// activity, its verify status, what containment did), so the command line and a web console build
// the same report; rendering (render-markdown.ts, render-html.ts, JSON) is separate.
import type { ActivityFacts, Counted, CotenantFact, EgressFact, Listed, PathFact, RuleFact, SecretFact, SessionFact, SqlFact, ToolFacts } from "./facts.js";
import type { Redaction } from "./redaction.js";
import { trafficCredentials, type CredentialFact, type PolicyVerdictFact, type ServerFacts } from "./server-facts.js";

export interface AuditLogFact {
  store: "file" | "postgres";
  /** The directory, or "PostgreSQL (state.postgres)": never a URL (it may hold a password). */
  where: string;
  /** What `mcp-warden audit verify` says of the whole log; unreadable: the log could not be read. */
  status: "intact" | "broken" | "unverified" | "unreadable";
  details: string[];
}

export interface ContainmentFact {
  action: "disable" | "remove" | "none";
  deny: boolean;
  layer?: string;
  /** False when nothing was asked: the report then says what to run. */
  ran: boolean;
  ok: boolean;
  /** What `mcp-warden servers disable|remove` printed (stdout and stderr), line by line. */
  output: string[];
  /** The equivalent `mcp-warden servers ...` command. */
  command: string;
}

export interface IncidentInput {
  server: string;
  generatedAt: string;
  since: string;
  until?: string;
  settings: ServerFacts;
  /** The activity, or why the log could not be read. */
  activity: ActivityFacts | { error: string };
  auditLog: AuditLogFact;
  containment: ContainmentFact;
  /** The policy's verdict on the server after containment (settings loaded again), when it ran. */
  policyAfter?: PolicyVerdictFact;
  /** The SQL parser could not be loaded: statements are listed unparsed. */
  sqlUnparsed?: boolean;
  /** A last pass over the whole report (configured secrets, token formats). */
  redaction?: Redaction;
}

interface Step {
  title: string;
  summary: string;
  /** What a person should do next, each with the command where there is one. */
  todo: string[];
}

export interface IncidentReport {
  version: 1;
  server: string;
  generatedAt: string;
  range: { since: string; until: string | null };
  auditLog: AuditLogFact;
  /** What makes the command exit 1: a broken or unreadable log, a failed containment. */
  problems: string[];
  serverFacts: ServerFacts;
  contain: Step & { containment: ContainmentFact };
  review: Step & {
    calls: number;
    first: string | null;
    last: string | null;
    tools: Listed<Omit<ToolFacts, "argumentSamples" | "argumentSamplesOmitted">>;
    requests: ActivityFacts["requests"];
    principals: Listed<Counted>;
    sessions: Listed<SessionFact>;
    events: Listed<Counted>;
    recordsRead: number;
    recordsOfServer: number;
  };
  exposure: Step & {
    arguments: Listed<{ tool: string; samples: ToolFacts["argumentSamples"]; omitted: number }>;
    resources: ActivityFacts["resources"];
    paths: Listed<PathFact>;
    sql: Listed<SqlFact>;
    tables: Listed<Counted>;
    egress: Listed<EgressFact>;
    urlHosts: Listed<Counted>;
    secrets: Listed<SecretFact>;
    sameSessions: { servers: Listed<CotenantFact>; principals: Listed<Counted>; sessionsNotFollowed: number };
    notRecorded: string[];
  };
  credentials: Step & { items: CredentialFact[] };
  policy: Step & { change: ContainmentFact; before?: PolicyVerdictFact; after?: PolicyVerdictFact; allowingRules: Listed<RuleFact> };
}

const EMPTY = { items: [], omitted: 0 };

/** A value from the log or the settings as code in our sentences (a backtick in it would end the span early). */
const q = (s: string) => `\`${s.replace(/`/g, "'")}\``;

export function buildIncidentReport(input: IncidentInput): IncidentReport {
  const a: ActivityFacts | undefined = "error" in input.activity ? undefined : input.activity;
  const name = input.server;
  const problems: string[] = [];
  if (input.auditLog.status === "broken") problems.push(`the audit log is broken (${input.auditLog.details[0] ?? "see audit verify"}): facts below may be missing or altered; run \`mcp-warden audit verify\` and keep a copy of the log as it is`);
  if (input.auditLog.status === "unreadable" || "error" in input.activity)
    problems.push(`the audit log could not be read${"error" in input.activity ? ` (${input.activity.error})` : ""}: steps 2 and 3 are incomplete; fix access to it and run this again`);
  if (a && a.damagedLines > 0) problems.push(`${a.damagedLines} line(s) of the audit log are not records (damaged): run \`mcp-warden audit verify\``);
  if (input.containment.ran && !input.containment.ok) problems.push(`containment failed: ${input.containment.output.at(-1) ?? "see step 1"}`);

  const report: IncidentReport = {
    version: 1,
    server: name,
    generatedAt: input.generatedAt,
    range: { since: input.since, until: input.until ?? null },
    auditLog: input.auditLog,
    problems,
    serverFacts: input.settings,
    contain: containStep(input),
    review: reviewStep(input, a),
    exposure: exposureStep(input, a),
    credentials: credentialsStep(input, a),
    policy: policyStep(input, a),
  };
  return input.redaction ? redactStrings(report, input.redaction.text) : report;
}

/**
 * Every string of the report through `text`, one string at a time: a scan of the whole object could
 * exceed the scanner's limits and come back as one "[REDACTED:unscannable]" in place of the report.
 */
function redactStrings<T>(v: T, text: (s: string) => string): T {
  if (typeof v === "string") return text(v) as T;
  if (Array.isArray(v)) return v.map((x) => redactStrings(x, text)) as T;
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactStrings(x, text)])) as T;
}

function containStep(input: IncidentInput): IncidentReport["contain"] {
  const c = input.containment;
  const name = input.server;
  const todo: string[] = [];
  let summary: string;
  if (!c.ran) {
    summary = "Nothing was changed: `mcp-warden incident` changes settings only when asked (--disable, --remove or --deny).";
    todo.push(`contain it: \`mcp-warden incident ${name} --deny\` (disables it and adds it to deniedMcpServers), or \`${c.command}\``);
    if (input.settings.policy && input.settings.policy.decision !== "allow") summary += ` A gateway already refuses to start it: ${input.settings.policy.reason}.`;
  } else if (c.ok) {
    const done = [c.action === "remove" ? "removed" : c.action === "disable" ? "disabled" : "", c.deny ? "added to deniedMcpServers" : ""].filter(Boolean).join(" and ");
    summary = `Contained: ${done}, with the settings' validation, a backup and a rollback if they no longer load.`;
  } else {
    summary = "Containment FAILED: the server may still run. See the output below.";
    todo.push(`fix what the output says, then run \`${c.command}\` (or give --layer to write the deny entry elsewhere)`);
  }
  if (c.ran && c.ok)
    todo.push("running gateways stop it at their settings reload: the output above names any that still ran it after a few seconds; restart those (`mcp-warden status` lists them)");
  todo.push(`if a client also starts this server directly, outside mcp-warden, remove it there too (Claude Code: \`claude mcp remove ${name}\`)`);
  return { title: "1. Contain", summary, todo, containment: c };
}

function reviewStep(input: IncidentInput, a: ActivityFacts | undefined): IncidentReport["review"] {
  const name = input.server;
  const tools = a ? { items: a.tools.items.map(({ argumentSamples: _s, argumentSamplesOmitted: _o, ...t }) => t), omitted: a.tools.omitted } : EMPTY;
  const calls = tools.items.reduce((n, t) => n + t.calls, 0);
  const denied = tools.items.reduce((n, t) => n + (t.decisions.deny ?? 0), 0);
  const requests = a?.requests.items.reduce((n, r) => n + r.count, 0) ?? 0;
  const summary = !a
    ? "The audit log could not be read: no activity can be shown."
    : a.recordsOfServer === 0
      ? `No record of server '${name}' in the range (${a.recordsRead} records read).`
      : `${calls} tool call(s) to ${tools.items.length}${tools.omitted ? "+" : ""} tool(s)${denied ? ` (${denied} refused)` : ""} and ${requests} other request(s), from ${a.first} to ${a.last}, by ${a.principals.items.length} principal(s) in ${a.sessions.items.length}${a.sessions.omitted ? "+" : ""} session(s).`;
  const todo = [`read the raw records: \`mcp-warden audit --server ${name} --since ${input.since}\``];
  return {
    title: "2. Review",
    summary,
    todo,
    calls,
    first: a?.first ?? null,
    last: a?.last ?? null,
    tools,
    requests: a?.requests ?? EMPTY,
    principals: a?.principals ?? EMPTY,
    sessions: a?.sessions ?? EMPTY,
    events: a?.events ?? EMPTY,
    recordsRead: a?.recordsRead ?? 0,
    recordsOfServer: a?.recordsOfServer ?? 0,
  };
}

function exposureStep(input: IncidentInput, a: ActivityFacts | undefined): IncidentReport["exposure"] {
  const notRecorded = [
    "What the server returned is not recorded (only the secrets detected in it): the contents of the files it read, the rows it queried and the pages it fetched are not known from the log.",
    "Paths are listed as the calls named them (a relative path is relative to the server's working directory); a file the server opened on its own, without an argument naming it, is not recorded.",
  ];
  const sandboxes = a?.sandboxes ?? [];
  if (sandboxes.includes("none"))
    notRecorded.push(
      "It ran without a sandbox (at least once in the range): its own file and network access was not confined or recorded; it could read whatever the gateway's user can (for example ~/.ssh, ~/.aws, browser profiles). Treat those as exposed.",
    );
  else if (sandboxes.length === 0 && input.settings.sandbox === "none") notRecorded.push("Its settings give it no sandbox: its own file and network access is not recorded.");
  if (a && a.egress.items.length === 0 && sandboxes.length > 0 && !sandboxes.includes("none")) notRecorded.push("No connection through its sandbox's egress proxy was recorded.");
  if (input.sqlUnparsed) notRecorded.push("The SQL parser could not be loaded: statements are listed, their tables are not.");
  if (a && a.sessionsUnfollowed > 0) notRecorded.push(`${a.sessionsUnfollowed} of its sessions were not followed to other servers (over the limit): narrow --since/--until.`);
  notRecorded.push("Other servers in the same sessions may have received this server's output through the model; their own calls are listed, not what the model passed on.");

  const touched = a?.paths.items.filter((p) => p.allowed > 0) ?? [];
  const hosts = a?.egress.items.filter((e) => e.allowed > 0) ?? [];
  const secrets = a?.secrets.items ?? [];
  const parts = [
    `${touched.length} path(s) in forwarded calls`,
    `${a?.resources.items.length ?? 0} resource(s)`,
    `${a?.sql.items.length ?? 0} SQL statement(s) on ${a?.tables.items.length ?? 0} table(s)`,
    `${hosts.length} egress host(s) reached`,
    `${secrets.length} kind(s) of secret in flight`,
    `${a?.cotenants.items.length ?? 0} other server(s) in the same sessions`,
  ];
  const todo: string[] = [];
  if (touched.some((p) => p.access !== "read")) todo.push("check the files it wrote or may have written (listed with access write or unknown) for planted content");
  if (hosts.length > 0) todo.push(`treat what it read as sent to: ${hosts.map((h) => q(h.host)).join(", ")}`);
  for (const c of a?.cotenants.items ?? []) todo.push(`review what ${q(c.server)} did in the same sessions: ${q(`mcp-warden audit --server ${c.server} --since ${input.since}`)}`);
  return {
    title: "3. Exposure",
    summary: a ? `${parts.join(", ")}.` : "Unknown: the audit log could not be read.",
    todo,
    arguments: a ? { items: a.tools.items.map((t) => ({ tool: t.tool, samples: t.argumentSamples, omitted: t.argumentSamplesOmitted })), omitted: a.tools.omitted } : EMPTY,
    resources: a?.resources ?? EMPTY,
    paths: a?.paths ?? EMPTY,
    sql: a?.sql ?? EMPTY,
    tables: a?.tables ?? EMPTY,
    egress: a?.egress ?? EMPTY,
    urlHosts: a?.urlHosts ?? EMPTY,
    secrets: a?.secrets ?? EMPTY,
    sameSessions: { servers: a?.cotenants ?? EMPTY, principals: a?.sessionPrincipals ?? EMPTY, sessionsNotFollowed: a?.sessionsUnfollowed ?? 0 },
    notRecorded,
  };
}

function credentialsStep(input: IncidentInput, a: ActivityFacts | undefined): IncidentReport["credentials"] {
  const items = [...input.settings.credentials, ...trafficCredentials(a?.secrets.items ?? [])];
  const summary = !input.settings.configured
    ? "The server is not in the settings: the names of the credentials it was given are not known here. Token formats seen in its traffic are listed."
    : items.length === 0
      ? "The settings give it no env, header or host variable, and no token was seen in its traffic."
      : `${items.length} credential(s): ${items.filter((c) => c.likelySecret).length} are credentials by name or kind. Values are never shown.`;
  const todo = items.map((c) => `${c.action}: ${q(c.name)} (${c.where})`);
  if (input.settings.configured && input.settings.transport === "stdio" && input.settings.sandbox === "none")
    todo.push("it ran unsandboxed with your user's permissions: also rotate credentials stored in files it could read (cloud CLIs, SSH keys, tokens in dotfiles)");
  return { title: "4. Credentials", summary, todo, items };
}

function policyStep(input: IncidentInput, a: ActivityFacts | undefined): IncidentReport["policy"] {
  const c = input.containment;
  const rules = a?.rules ?? EMPTY;
  const todo: string[] = [];
  if (!c.ran || !c.ok) todo.push(`add it to the denylist: \`mcp-warden servers ${c.action === "remove" ? "remove" : "disable"} ${input.server} --deny\``);
  for (const r of rules.items) {
    if (r.rule === undefined) continue;
    const where = r.file ? ` (${q(r.file)}${r.path ? `, ${q(r.path)}` : ""})` : "";
    const wide = r.rule.includes("*") ? "; it is a wildcard that may allow other servers' tools too" : "";
    todo.push(`review the allow rule ${q(r.rule)}${where}: it allowed ${r.calls} call(s)${wide}`);
  }
  const before = input.settings.policy;
  if (before?.source && /allowedMcpServers/.test(before.source.path)) todo.push(`review the allowlist entry that let it run: ${q(before.rule ?? before.source.path)} (${q(before.source.file)}, ${q(before.source.path)})`);
  const after = input.policyAfter;
  const summary = c.ran
    ? c.ok
      ? `Applied: ${c.output.filter((l) => /^\s+(added|set|removed)/.test(l)).map((l) => l.trim()).join("; ") || "no change was needed"}.${after ? ` A gateway starting now: ${after.decision}${after.decision !== "allow" ? ` (${after.reason})` : ""}.` : ""}`
      : "Not applied: containment failed (step 1)."
    : `To apply: \`${c.command}\`.`;
  return { title: "5. Policy", summary, todo, change: c, ...(before ? { before } : {}), ...(after ? { after } : {}), allowingRules: rules };
}
