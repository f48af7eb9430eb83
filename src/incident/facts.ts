// The facts the incident report is built from: what ActivityCollector (activity.ts) gathers from
// the audit log. Plain data (JSON as it is), so a console can keep, send and render them.
import type { Access } from "../policy/guards/fs-tools.js";

export interface Counted {
  key: string;
  count: number;
}

export interface ToolFacts {
  tool: string;
  calls: number;
  decisions: Record<string, number>;
  outcomes: Record<string, number>;
  first: string;
  last: string;
  principals: string[];
  sessions: number;
  /** Distinct argument summaries (secrets redacted), the first ones seen. */
  argumentSamples: { summary: string; count: number; decision: string }[];
  /** Distinct summaries left out (at least this many). */
  argumentSamplesOmitted: number;
}

export interface PathFact {
  path: string;
  access: Access | "unknown";
  /** How the access was told: the filesystem guard's tool table, the tool's name, or only that the argument looks like a path. */
  basis: "filesystem guard" | "reference tool name" | "tool name" | "looks like a path" | "resource URI";
  tools: string[];
  /** Calls that were forwarded (allowed) and refused. */
  allowed: number;
  refused: number;
}

export interface EgressFact {
  host: string;
  port?: number;
  allowed: number;
  refused: number;
  failed: number;
  addresses: string[];
  protocols: string[];
}

export interface SecretFact {
  kind: string;
  /** arguments: sent to the server; result: returned by it; scanned: found in an argument by this report's own scan. */
  where: "arguments" | "result" | "scanned";
  tool: string;
  action: string;
  count: number;
}

export interface SqlFact {
  statement: string;
  kinds: string[];
  tables: string[];
  allowed: number;
  refused: number;
  parsed: boolean;
}

export interface RuleFact {
  rule?: string;
  reason?: string;
  layer?: string;
  file?: string;
  path?: string;
  calls: number;
  tools: string[];
}

export interface SessionFact {
  id: string;
  kind: "remote session" | "gateway run" | "caller in a gateway run";
  first: string;
  last: string;
  calls: number;
  principals: string[];
}

export interface CotenantFact {
  server: string;
  calls: number;
  sessions: number;
  tools: Counted[];
  principals: string[];
}

export interface Listed<T> {
  items: T[];
  /** Distinct entries left out because the list was full. */
  omitted: number;
  /** More were left out than `omitted` counts (the count of what was left out is bounded too). */
  omittedAtLeast?: true;
}

export interface ActivityFacts {
  server: string;
  since?: string;
  until?: string;
  /** Records read in each pass, and records of this server in the range. */
  recordsRead: number;
  recordsOfServer: number;
  /** Lines that could not be read as records (damage: see the audit log's verify status). */
  damagedLines: number;
  first?: string;
  last?: string;
  tools: Listed<ToolFacts>;
  requests: Listed<{ method: string; count: number; decisions: Record<string, number> }>;
  resources: Listed<{ uri: string; count: number; allowed: number; refused: number }>;
  paths: Listed<PathFact>;
  sql: Listed<SqlFact>;
  tables: Listed<Counted>;
  egress: Listed<EgressFact>;
  /** Hosts of URLs in the server's arguments (what it was asked to reach, whether or not it did). */
  urlHosts: Listed<Counted>;
  secrets: Listed<SecretFact>;
  principals: Listed<Counted>;
  sessions: Listed<SessionFact>;
  /** Other servers active in the same sessions, and every principal seen there. */
  cotenants: Listed<CotenantFact>;
  sessionPrincipals: Listed<Counted>;
  /** Sessions of this server that the second pass could not follow (over the limit). */
  sessionsUnfollowed: number;
  rules: Listed<RuleFact>;
  /** Server lifecycle and integrity records: `kind/event` → count. */
  events: Listed<Counted>;
  /** Sandbox kinds its starts recorded; "none" for a start without one (its connections were not proxied, so not recorded). */
  sandboxes: string[];
}
