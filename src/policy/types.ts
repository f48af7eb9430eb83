// Types shared by the pure policy core and its callers. Nothing here does I/O.
import type { ServerEntry, ServerMatcher } from "../settings/schema.js";

export type Decision = "allow" | "ask" | "deny";

/** The settings layers, highest precedence first. `request` is the single layer of `check --batch`. */
export type LayerName = "managed" | "cli" | "local" | "project" | "user" | "request";
export const LAYER_ORDER: readonly LayerName[] = ["managed", "cli", "local", "project", "user", "request"];

/** Where a rule or setting came from, so every decision can name its file and JSON path. */
export interface Source {
  layer: LayerName;
  /** The settings file (absolute path), or `<request id>` for check --batch. */
  file: string;
  /** JSON path inside that file, e.g. `permissions.deny[2]` or `mcpServers.github.denyTools[0]`. */
  path: string;
}

export interface Sourced<T> {
  value: T;
  source: Source;
}

/** A server as the merged settings define it (highest layer wins per name). */
export interface ConfiguredServer {
  name: string;
  entry: ServerEntry;
  source: Source;
  /** Defined by managed settings or managed-mcp.json. */
  managed: boolean;
  /** The host variables each field was filled from by `${VAR}` expansion, by field path (names only). */
  variables?: Record<string, string[]>;
}

/** Everything the policy core needs, already merged across layers. Built by settings/resolve. */
export interface PolicyInput {
  allow: Sourced<string>[];
  ask: Sourced<string>[];
  deny: Sourced<string>[];
  /** Canonical names or globs allowed without asking (`autoApproveTools`), judged like allow rules. */
  autoApprove: Sourced<string>[];
  /** `permissions.defaultMode`, from the highest layer that sets it. */
  defaultMode: "default" | "acceptEdits" | "plan" | "bypassPermissions" | "dontAsk";
  /** True when any layer says `permissions.disableBypassPermissionsMode: "disable"`. */
  bypassDisabled: boolean;
  servers: ConfiguredServer[];
  /** undefined: no allowlist, no restriction. [] : lockdown. */
  allowedMcpServers?: Sourced<ServerMatcher>[];
  /** allowedMcpServers of untrusted project/local settings, one list per layer: a server must match each too (they narrow, never extend). */
  narrowMcpServers?: Sourced<ServerMatcher>[][];
  deniedMcpServers: Sourced<ServerMatcher>[];
  /** managed-mcp.json exists: only managed servers may run. */
  exclusiveManagedServers: boolean;
  /** Managed `requirePinnedPackages`: servers started through a package runner must name one exact version. */
  requirePinnedPackages?: boolean;
  /** `toolPermissions` blocks (the second seed's form), one per layer; normalized into rules by the compiler. */
  toolPermissions?: Sourced<ToolPermissionsBlock>[];
  /** The first seed's top-level `requireApproval` and `denyCommands`, one rule per entry with its exact source. */
  seedRules?: Sourced<SeedRule>[];
  /** `permissions.additionalDirectories`: working directories besides the project root (reads inside are allowed by default). */
  additionalDirectories?: Sourced<string>[];
}

/**
 * One entry of the first seed's top-level lists: `requireApproval: {Tool: [pattern] | true}` (ask) or
 * `denyCommands: [pattern]` (deny, Bash). Matched like toolPermissions' requireApproval and denyCommands.
 */
export interface SeedRule {
  effect: "ask" | "deny";
  /** A built-in tool (`Bash`, `Write`) or a canonical MCP name (`mcp__github__create_issue`, ask only). */
  tool: string;
  /** The pattern as written; absent: every use of the tool. */
  pattern?: string;
}

/** `toolPermissions`: per tool, commands to allow or deny and what needs approval. */
export type ToolPermissionsBlock = Record<string, { allowCommands?: string[]; denyCommands?: string[]; requireApproval?: boolean | string[] }>;

/** The answer of the policy core, and of `check`. */
export interface Verdict {
  decision: Decision;
  /** One sentence a person can read. */
  reason: string;
  /** The rule text that decided, when a rule did. */
  rule?: string;
  source?: Source;
}

/** A tool call to judge. `tool` is canonical: a built-in name (`Bash`) or `mcp__<server>__<tool>`. */
export interface ToolRequest {
  tool: string;
  input: Record<string, unknown>;
  /** The agent's working directory (absolute); built-in tools cannot be judged without it. */
  cwd?: string;
  /**
   * The project's directory (absolute): with `permissions.additionalDirectories`, the working
   * directories of built-in tools (never `/`, home or an ancestor of home). Absent: there is none.
   */
  projectRoot?: string;
}
