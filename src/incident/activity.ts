// What one server did, from its audit records: the facts of the incident report's steps 2 and 3.
// Pure and incremental: the caller reads the log (a file log, PostgreSQL, or the console's own
// source) and feeds records one at a time, in two passes: `observe` every record of the range (the
// server's own facts, and which sessions it was active in), then `observeSession` every record again
// (what else happened in those sessions). Memory is bounded by the limits, never by the log's size;
// each list says how much it left out.
import type { AuditRecord } from "../audit/record.js";
import { argumentLooksLikePath, looksLikePathValue, type Access, type ToolSpec } from "../policy/guards/fs-tools.js";
import { BoundedCounter, BoundedMap, BoundedSet } from "./bounded.js";
import type { ActivityFacts, EgressFact, Listed, PathFact, RuleFact, SecretFact, SessionFact, SqlFact, ToolFacts } from "./facts.js";
import type { Redaction } from "./redaction.js";
import type { SqlFacts } from "./sql-facts.js";

export interface ActivityLimits {
  /** Distinct tools, paths, hosts, URIs, statements, tables, rules... kept per list. */
  perList: number;
  /** Distinct argument summaries kept per tool. */
  samplesPerTool: number;
  /** Sessions of the server remembered for the second pass. */
  sessions: number;
}

export const DEFAULT_LIMITS: ActivityLimits = { perList: 200, samplesPerTool: 10, sessions: 10_000 };

export interface ActivityOptions {
  server: string;
  /** Inclusive; records outside the range are ignored. */
  since?: Date;
  until?: Date;
  /** Which arguments of which tools are paths, and read or written (policy/guards/fs-tools buildToolTable). */
  pathTools: Map<string, ToolSpec>;
  /** The table comes from the server's filesystem guard (else: the reference server's tool names). */
  guardedPaths: boolean;
  /** Argument names holding SQL for a tool (its upstream name): guards.sql.arguments, default sql and query. */
  sqlArguments: (tool: string) => readonly string[];
  /** Statement kinds and tables of an SQL text; undefined when it cannot be parsed. */
  describeSql?: (sql: string) => SqlFacts | undefined;
  redaction: Redaction;
  limits?: Partial<ActivityLimits>;
}

/** Where a record belongs: a remote session, or one `run` of the gateway (one stdio client). */
export interface RecordOrigin {
  /** The segment file (file log) or writer (PostgreSQL) that holds the record. */
  writer: string;
}


const inc = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);

/** The label of a principal as recorded (never a token: the log holds none). */
export function principalLabel(p: NonNullable<AuditRecord["principal"]>): string {
  const extra = [p.clientId !== undefined ? `client ${p.clientId}` : "", p.org !== undefined ? `org ${p.org}` : ""].filter(Boolean).join(", ");
  return `${p.subject} (${p.method}${extra ? `, ${extra}` : ""})`;
}

/** The session a record belongs to, or undefined for records no caller made (egress, server events). */
export function sessionOf(r: AuditRecord, origin: RecordOrigin): { id: string; kind: SessionFact["kind"] } | undefined {
  const p = r.principal;
  if (!p) return undefined;
  if (p.session !== undefined) return { id: p.session, kind: "remote session" };
  // A stdio `run` serves one client: its records are one session.
  if (p.method === "local") return { id: origin.writer, kind: "gateway run" };
  // Remote requests without a session (the 2026-07-28 era): the caller within that gateway process.
  return { id: `${principalLabel(p)} @ ${origin.writer}`, kind: "caller in a gateway run" };
}

const READ_WORDS = /(^|_|-|\b)(read|get|list|search|open|cat|view|show|find|fetch|download|query|describe|stat|tree)/i;
const WRITE_WORDS = /(^|_|-|\b)(write|edit|create|move|rename|delete|remove|append|save|put|upload|update|set|mkdir|copy|patch)/i;

export class ActivityCollector {
  readonly #o: ActivityOptions;
  readonly #limits: ActivityLimits;
  readonly #since: number;
  readonly #until: number;
  #read = 0;
  #recordsOfServer = 0;
  #damaged = 0;
  #first: string | undefined;
  #last: string | undefined;
  readonly #tools: BoundedMap<{ facts: ToolFacts; principals: BoundedSet; sessions: BoundedSet; samples: BoundedMap<{ count: number; decision: string }> }>;
  readonly #requests: BoundedMap<{ method: string; count: number; decisions: Record<string, number> }>;
  readonly #resources: BoundedMap<{ uri: string; count: number; allowed: number; refused: number }>;
  readonly #paths: BoundedMap<{ fact: PathFact; tools: BoundedSet }>;
  readonly #sql: BoundedMap<SqlFact>;
  readonly #tables: BoundedCounter;
  readonly #egress: BoundedMap<{ fact: EgressFact; addresses: BoundedSet; protocols: BoundedSet }>;
  readonly #urlHosts: BoundedCounter;
  readonly #secrets: BoundedMap<SecretFact>;
  readonly #principals: BoundedCounter;
  readonly #sessions: BoundedMap<{ fact: SessionFact; principals: BoundedSet }>;
  readonly #follow: BoundedSet;
  readonly #cotenants: BoundedMap<{ server: string; calls: number; sessions: BoundedSet; tools: BoundedCounter; principals: BoundedSet }>;
  readonly #sessionPrincipals: BoundedCounter;
  readonly #rules: BoundedMap<{ fact: RuleFact; tools: BoundedSet }>;
  readonly #events: BoundedCounter;
  readonly #sandboxes = new Set<string>();

  constructor(options: ActivityOptions) {
    this.#o = options;
    const l = (this.#limits = { ...DEFAULT_LIMITS, ...options.limits });
    this.#since = options.since?.getTime() ?? -Infinity;
    this.#until = options.until?.getTime() ?? Infinity;
    const n = l.perList;
    this.#tools = new BoundedMap(n);
    this.#requests = new BoundedMap(n);
    this.#resources = new BoundedMap(n);
    this.#paths = new BoundedMap(n);
    this.#sql = new BoundedMap(n);
    this.#tables = new BoundedCounter(n);
    this.#egress = new BoundedMap(n);
    this.#urlHosts = new BoundedCounter(n);
    this.#secrets = new BoundedMap(n);
    this.#principals = new BoundedCounter(n);
    this.#sessions = new BoundedMap(n);
    this.#follow = new BoundedSet(l.sessions);
    this.#cotenants = new BoundedMap(n);
    this.#sessionPrincipals = new BoundedCounter(n);
    this.#rules = new BoundedMap(n);
    this.#events = new BoundedCounter(n);
  }

  #inRange(r: AuditRecord): boolean {
    const t = Date.parse(r.time);
    return !Number.isNaN(t) && t >= this.#since && t <= this.#until;
  }

  /** A line that is not a record: counted, never skipped silently. */
  damaged(): void {
    this.#damaged++;
  }

  /**
   * A record of this server: the gateway names the server; the PreToolUse hook's decisions on MCP
   * tools (a client's own connection to a server of that name) name only the canonical tool.
   */
  #ofServer(r: AuditRecord): boolean {
    if (r.server !== undefined) return r.server === this.#o.server;
    return r.kind === "decision" && typeof r.tool === "string" && r.tool.startsWith(`mcp__${this.#o.server}__`);
  }

  /** First pass: every record of the range (records of other servers are only counted). */
  observe(r: AuditRecord, origin: RecordOrigin): void {
    this.#read++;
    if (!this.#ofServer(r) || !this.#inRange(r)) return;
    this.#recordsOfServer++;
    this.#first ??= r.time;
    this.#last = r.time;
    if (r.event === "egress") return this.#egressRecord(r);
    if (r.kind === "integrity" && (r.event === "secret-in-arguments" || r.event === "secret-in-result")) return this.#secretRecord(r);
    if (r.kind === "server" && r.event === "started") {
      const sandbox = (r.detail as { sandbox?: unknown } | undefined)?.sandbox;
      this.#sandboxes.add(typeof sandbox === "string" ? this.#o.redaction.text(sandbox) : "none");
    }
    if (r.event !== "decided" || (r.kind !== "call" && r.kind !== "request" && r.kind !== "decision")) {
      // Completed records carry the outcome of a call counted by its decided record.
      if (r.event === "completed" && r.kind === "call" && typeof r.tool === "string") {
        const t = this.#tools.get(r.tool, () => this.#newTool(r.tool!, r.time));
        if (t && r.outcome) inc(t.facts.outcomes, r.outcome);
        return;
      }
      if (r.event !== "completed") this.#events.add(`${r.kind}/${r.event ?? "-"}`);
      return;
    }
    const session = sessionOf(r, origin);
    if (session) this.#session(r, session);
    if (r.principal) this.#principals.add(principalLabel(r.principal));
    const allowed = r.decision === "allow";
    if (allowed) this.#rule(r);
    if ((r.kind === "call" || r.kind === "decision") && typeof r.tool === "string") return this.#call(r, session?.id, allowed);
    this.#request(r, allowed);
  }

  get server(): string {
    return this.#o.server;
  }

  /** Sessions (ids) this server was active in, for the second pass. */
  get followedSessions(): number {
    return this.#follow.size;
  }

  /** Second pass: every record again; those of the server's sessions tell who and what else was there. */
  observeSession(r: AuditRecord, origin: RecordOrigin): void {
    if (!this.#inRange(r)) return;
    const session = sessionOf(r, origin);
    if (!session || !this.#follow.has(session.id)) return;
    if (r.principal) this.#sessionPrincipals.add(principalLabel(r.principal));
    if (this.#ofServer(r) || r.event !== "decided") return;
    const server = r.server ?? (r.kind === "decision" ? "(the client's own tools, judged by the hook)" : undefined);
    if (server === undefined) return;
    const c = this.#cotenants.get(server, () => ({ server, calls: 0, sessions: new BoundedSet(this.#limits.perList), tools: new BoundedCounter(20), principals: new BoundedSet(20) }));
    if (!c) return;
    c.calls++;
    c.sessions.add(session.id);
    if (typeof r.tool === "string") c.tools.add(this.#o.redaction.text(r.tool));
    else if (r.method) c.tools.add(r.method);
    if (r.principal) c.principals.add(principalLabel(r.principal));
  }

  #newTool(tool: string, time: string) {
    return {
      facts: { tool: this.#o.redaction.text(tool), calls: 0, decisions: {}, outcomes: {}, first: time, last: time, principals: [], sessions: 0, argumentSamples: [], argumentSamplesOmitted: 0 },
      principals: new BoundedSet(20),
      sessions: new BoundedSet(this.#limits.perList),
      samples: new BoundedMap<{ count: number; decision: string }>(this.#limits.samplesPerTool),
    };
  }

  #session(r: AuditRecord, s: { id: string; kind: SessionFact["kind"] }): void {
    this.#follow.add(s.id);
    const entry = this.#sessions.get(s.id, () => ({ fact: { id: this.#o.redaction.text(s.id), kind: s.kind, first: r.time, last: r.time, calls: 0, principals: [] }, principals: new BoundedSet(20) }));
    if (!entry) return;
    entry.fact.calls++;
    entry.fact.last = r.time;
    if (r.principal) entry.principals.add(principalLabel(r.principal));
  }

  #rule(r: AuditRecord): void {
    const src = r.ruleSource;
    const key = r.rule !== undefined ? `rule\0${r.rule}\0${src?.file ?? ""}\0${src?.path ?? ""}` : `reason\0${r.reason ?? ""}`;
    const red = this.#o.redaction.text;
    const entry = this.#rules.get(key, () => {
      const fact: RuleFact = { calls: 0, tools: [] };
      if (r.rule !== undefined) fact.rule = red(r.rule);
      else if (r.reason !== undefined) fact.reason = red(r.reason).slice(0, 300);
      if (src) Object.assign(fact, { layer: src.layer, file: red(src.file), path: red(src.path) });
      return { fact, tools: new BoundedSet(20) };
    });
    if (!entry) return;
    entry.fact.calls++;
    entry.tools.add(red(r.tool ?? r.method ?? "-"));
  }

  #call(r: AuditRecord, session: string | undefined, allowed: boolean): void {
    const t = this.#tools.get(r.tool!, () => this.#newTool(r.tool!, r.time));
    const { value: args, kinds } = this.#o.redaction.value(r.arguments);
    const toolName = this.#o.redaction.text(r.tool!);
    for (const kind of kinds) this.#secret({ kind, where: "scanned", tool: toolName, action: "found in the recorded arguments" });
    if (t) {
      t.facts.calls++;
      t.facts.last = r.time;
      inc(t.facts.decisions, r.decision ?? "deny");
      if (r.outcome === "denied") inc(t.facts.outcomes, "denied");
      if (r.principal) t.principals.add(principalLabel(r.principal));
      if (session !== undefined) t.sessions.add(session);
      const summary = summarize(args);
      const sample = t.samples.get(summary, () => ({ count: 0, decision: r.decision ?? "deny" }));
      if (sample) sample.count++;
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) return;
    const input = args as Record<string, unknown>;
    const upstreamTool = upstreamToolName(r.tool!, this.#o.server);
    this.#pathsOf(upstreamTool, toolName, input, allowed);
    this.#sqlOf(this.#o.sqlArguments(upstreamTool), input, allowed);
    this.#urlsOf(input, 0);
  }

  #request(r: AuditRecord, allowed: boolean): void {
    const method = r.method ?? "(no method)";
    const q = this.#requests.get(method, () => ({ method, count: 0, decisions: {} }));
    if (q) {
      q.count++;
      inc(q.decisions, r.decision ?? "deny");
    }
    const params = r.arguments as { uri?: unknown } | undefined;
    if (method.startsWith("resources/") && typeof params?.uri === "string") {
      const uri = this.#o.redaction.text(params.uri);
      const res = this.#resources.get(uri, () => ({ uri, count: 0, allowed: 0, refused: 0 }));
      if (res) {
        res.count++;
        if (allowed) res.allowed++;
        else res.refused++;
      }
      if (/^file:/i.test(uri)) this.#path(uri.replace(/^file:\/\//i, ""), "read", "resource URI", method, allowed);
    }
  }

  #pathsOf(upstreamTool: string, toolName: string, input: Record<string, unknown>, allowed: boolean): void {
    const spec = this.#o.pathTools.get(upstreamTool);
    const basis = spec ? (this.#o.guardedPaths ? "filesystem guard" : "reference tool name") : undefined;
    for (const [name, value] of Object.entries(input)) {
      const declared = spec?.paths.get(name);
      if (declared !== undefined) {
        for (const p of strings(value, 0)) this.#path(p, declared, basis!, toolName, allowed);
        continue;
      }
      if (spec?.others.has(name) || !argumentLooksLikePath(name, value)) continue;
      const access: Access | "unknown" = WRITE_WORDS.test(upstreamTool) ? "write" : READ_WORDS.test(upstreamTool) ? "read" : "unknown";
      for (const p of strings(value, 0)) {
        if (!looksLikePathValue(p)) continue;
        this.#path(p, access, access === "unknown" ? "looks like a path" : "tool name", toolName, allowed);
      }
    }
  }

  #path(raw: string, access: Access | "unknown", basis: PathFact["basis"], tool: string, allowed: boolean): void {
    const path = this.#o.redaction.text(raw).slice(0, 500);
    const entry = this.#paths.get(`${access}\0${path}`, () => ({ fact: { path, access, basis, tools: [], allowed: 0, refused: 0 }, tools: new BoundedSet(10) }));
    if (!entry) return;
    if (allowed) entry.fact.allowed++;
    else entry.fact.refused++;
    entry.tools.add(tool);
  }

  #sqlOf(names: readonly string[], input: Record<string, unknown>, allowed: boolean): void {
    for (const name of names) {
      const sql = input[name];
      if (typeof sql !== "string" || sql.trim() === "") continue;
      // Parsed as recorded (redaction leaves the statement's shape, and a secret in it never reaches the report).
      const text = this.#o.redaction.text(sql);
      const statement = text.length > 300 ? `${text.slice(0, 300)}…` : text;
      const entry = this.#sql.get(text, () => {
        const facts = this.#o.describeSql?.(text);
        for (const table of facts?.tables ?? []) this.#tables.add(table);
        return { statement, kinds: facts?.kinds ?? [], tables: facts?.tables ?? [], allowed: 0, refused: 0, parsed: facts !== undefined };
      });
      if (!entry) continue;
      if (allowed) entry.allowed++;
      else entry.refused++;
    }
  }

  #urlsOf(v: unknown, depth: number): void {
    if (depth > 4) return;
    if (typeof v === "string") {
      const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#\s]+)/i.exec(v.trim());
      if (m && !/^file:/i.test(v.trim())) {
        // The authority without userinfo: a password in a URL never reaches the report.
        const host = m[1]!.replace(/^.*@/, "").toLowerCase();
        this.#urlHosts.add(this.#o.redaction.text(host));
      }
      return;
    }
    if (v === null || typeof v !== "object") return;
    const values = Array.isArray(v) ? v : Object.values(v);
    for (const x of values.slice(0, 1000)) this.#urlsOf(x, depth + 1);
  }

  #egressRecord(r: AuditRecord): void {
    const d = (r.detail ?? {}) as { host?: unknown; port?: unknown; address?: unknown; protocol?: unknown };
    const host = typeof d.host === "string" ? this.#o.redaction.text(d.host) : "(unknown host)";
    const port = typeof d.port === "number" ? d.port : undefined;
    const e = this.#egress.get(`${host}\0${port ?? ""}`, () => ({
      fact: { host, ...(port !== undefined ? { port } : {}), allowed: 0, refused: 0, failed: 0, addresses: [], protocols: [] },
      addresses: new BoundedSet(10),
      protocols: new BoundedSet(5),
    }));
    if (!e) return;
    if (r.outcome === "error") e.fact.failed++;
    else if (r.decision === "allow") e.fact.allowed++;
    else e.fact.refused++;
    if (typeof d.address === "string") e.addresses.add(d.address);
    if (typeof d.protocol === "string") e.protocols.add(d.protocol);
  }

  #secretRecord(r: AuditRecord): void {
    const d = (r.detail ?? {}) as { action?: unknown; findings?: unknown };
    const where = r.event === "secret-in-arguments" ? "arguments" : "result";
    const findings = Array.isArray(d.findings) ? d.findings : [];
    const tool = this.#o.redaction.text(r.tool ?? "-");
    const action = typeof d.action === "string" ? d.action : "-";
    for (const f of findings.slice(0, 100)) {
      const kind = typeof (f as { kind?: unknown })?.kind === "string" ? (f as { kind: string }).kind : "unknown";
      this.#secret({ kind: this.#o.redaction.text(kind), where, tool, action });
    }
  }

  #secret(s: Omit<SecretFact, "count">): void {
    const e = this.#secrets.get(`${s.kind}\0${s.where}\0${s.tool}\0${s.action}`, () => ({ ...s, count: 0 }));
    if (e) e.count++;
  }

  facts(): ActivityFacts {
    const listed = <T>(items: T[], from: BoundedMap<unknown>): Listed<T> => ({ items, omitted: from.omittedKeys, ...(from.omittedAtLeast ? { omittedAtLeast: true as const } : {}) });
    const counted = (c: BoundedCounter) => listed(c.sorted(), c.map);
    const tools = [...this.#tools.values()].map((t) => ({
      ...t.facts,
      principals: t.principals.values(),
      sessions: t.sessions.size,
      argumentSamples: [...t.samples.entries()].map(([summary, s]) => ({ summary, count: s.count, decision: s.decision })),
      argumentSamplesOmitted: t.samples.omittedKeys,
    }));
    tools.sort((a, b) => b.calls - a.calls || cmp(a.tool, b.tool));
    const facts: ActivityFacts = {
      server: this.#o.server,
      recordsRead: this.#read,
      recordsOfServer: this.#recordsOfServer,
      damagedLines: this.#damaged,
      tools: listed(tools, this.#tools),
      requests: listed([...this.#requests.values()].sort((a, b) => b.count - a.count), this.#requests),
      resources: listed([...this.#resources.values()].sort((a, b) => b.count - a.count), this.#resources),
      paths: listed(
        [...this.#paths.values()].map((p) => ({ ...p.fact, tools: p.tools.values() })).sort((a, b) => cmp(a.access, b.access) || cmp(a.path, b.path)),
        this.#paths,
      ),
      sql: listed([...this.#sql.values()], this.#sql),
      tables: counted(this.#tables),
      egress: listed(
        [...this.#egress.values()].map((e) => ({ ...e.fact, addresses: e.addresses.values(), protocols: e.protocols.values() })).sort((a, b) => cmp(a.host, b.host)),
        this.#egress,
      ),
      urlHosts: counted(this.#urlHosts),
      secrets: listed([...this.#secrets.values()].sort((a, b) => cmp(a.kind, b.kind) || cmp(a.where, b.where)), this.#secrets),
      principals: counted(this.#principals),
      sessions: listed(
        [...this.#sessions.values()].map((s) => ({ ...s.fact, principals: s.principals.values() })).sort((a, b) => cmp(a.first, b.first)),
        this.#sessions,
      ),
      cotenants: listed(
        [...this.#cotenants.values()]
          .map((c) => ({ server: this.#o.redaction.text(c.server), calls: c.calls, sessions: c.sessions.size, tools: c.tools.sorted().map((t) => ({ key: t.key, count: t.count })), principals: c.principals.values() }))
          .sort((a, b) => b.calls - a.calls || cmp(a.server, b.server)),
        this.#cotenants,
      ),
      sessionPrincipals: counted(this.#sessionPrincipals),
      sessionsUnfollowed: this.#follow.omitted,
      rules: listed(
        [...this.#rules.values()].map((r) => ({ ...r.fact, tools: r.tools.values() })).sort((a, b) => b.calls - a.calls),
        this.#rules,
      ),
      events: counted(this.#events),
      sandboxes: [...this.#sandboxes].sort(),
    };
    if (this.#o.since) facts.since = this.#o.since.toISOString();
    if (this.#o.until) facts.until = this.#o.until.toISOString();
    if (this.#first !== undefined) facts.first = this.#first;
    if (this.#last !== undefined) facts.last = this.#last;
    return facts;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `mcp__srv__read_file` → `read_file` (the upstream's own name, which the guard's table uses). */
export function upstreamToolName(canonical: string, server: string): string {
  const prefix = `mcp__${server}__`;
  return canonical.startsWith(prefix) ? canonical.slice(prefix.length) : canonical;
}

/** String values of an argument (a path, or a list of them), a few levels deep. */
function strings(v: unknown, depth: number): string[] {
  if (typeof v === "string") return [v];
  if (depth > 3 || v === null || typeof v !== "object") return [];
  const values = Array.isArray(v) ? v : Object.values(v);
  return values.slice(0, 100).flatMap((x) => strings(x, depth + 1));
}

/** One line for an argument object: long strings shortened, the whole bounded. Expects redacted input. */
export function summarize(args: unknown): string {
  if (args === undefined) return "(no arguments)";
  let text: string;
  try {
    text = JSON.stringify(args, (_k, v: unknown) => (typeof v === "string" && v.length > 120 ? `${v.slice(0, 120)}… (${v.length} chars)` : v)) ?? String(args);
  } catch {
    text = "(arguments that cannot be shown)";
  }
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}
