// Pinning what servers list: tool definitions, prompts and resource templates (rug-pull and MCPoison
// defence). Pure: no I/O. Server identity lives in server-identity.ts, the canonical JSON and the
// differences in canonical.ts; both are re-exported here.
//
// What a pin covers (version 2): the whole definition object as the server lists it and the gateway
// passes it on, every field, unknown ones too: `_meta`, `icons`, `execution`, `title`,
// `outputSchema`... Anything the client receives may carry text to the user or the model, so a field
// outside the pin could change after approval with nobody asked (issue 11, a `_meta` rug pull).
//
// Version 1 pins (tools only) covered name, title, description, inputSchema, outputSchema and
// annotations (PINNED_TOOL_FIELDS). A stored pin without a version is version 1. When its version 1
// digest still matches the current definition, the status is "upgrade": the definition is the one a
// person approved as far as the old pin could tell, and the caller re-pins the WHOLE definition as
// version 2 once it has passed the poisoning scan (definitions.ts), since the fields outside the old
// pin were never reviewed. A version 1 pin that does not match is "changed"; the difference shown then
// compares the old pinned fields with the whole current definition, so the fields the old pin did not
// cover show as added: the person sees everything the approval will pin.
//
// Canonical form (canonical.ts): keys sorted, arrays in order, `required` sorted and de-duplicated
// only in a tool's schema positions (a prompt argument's `required` is a boolean: data); bounded work,
// cycles and non-JSON values refused with PinInputError.
import { canonicalize, diffDefinitions, domainDigest, isPlainObject, PinInputError, type DefinitionDiff } from "./canonical.js";

export { CANONICAL_LIMITS, canonicalJson, diffDefinitions, PinInputError, renderDiff, type DefinitionChange, type DefinitionDiff } from "./canonical.js";
export {
  CODE_LOADING_ENV_NAMES,
  CODE_LOADING_ENV_PREFIXES,
  diffIdentities,
  isCodeChangingEnvName,
  isLegacyIdentity,
  legacyServerIdentity,
  serverIdentity,
  setsCodeChangingEnv,
  verifyServerIdentity,
  type AnyServerIdentity,
  type LegacyServerIdentity,
  type ServerEntryLike,
  type ServerIdentity,
  type ServerIdentityInput,
} from "./server-identity.js";

/** The tool fields a version 1 pin covered. A version 2 pin covers every field. */
export const PINNED_TOOL_FIELDS = ["name", "title", "description", "inputSchema", "outputSchema", "annotations"] as const;

/** The version new pins are made with. */
export const PIN_VERSION = 2;
export type PinVersion = 1 | 2;

/** What a server lists that is pinned; the pin store keeps one map of pins per kind. */
export type PinKind = "tools" | "prompts" | "resourceTemplates";
export const PIN_KINDS: readonly PinKind[] = ["tools", "prompts", "resourceTemplates"];

const DOMAINS: Record<PinKind, string> = {
  tools: "mcp-warden/tool-definition/v2",
  prompts: "mcp-warden/prompt-definition/v2",
  resourceTemplates: "mcp-warden/resource-template-definition/v2",
};
const LEGACY_TOOL_DOMAIN = "mcp-warden/tool-definition/v1";
const NOUNS: Record<PinKind, string> = { tools: "tool", prompts: "prompt", resourceTemplates: "resource template" };

/** A pin of a tool, a prompt or a resource template (the same shape for each kind). */
export interface PinnedTool {
  name: string;
  /** 2: the whole definition; 1 (tools only): PINNED_TOOL_FIELDS. Absent in a stored pin means 1. */
  version?: PinVersion;
  /** "sha256:<hex>" of the canonical definition. */
  digest: string;
  /** The canonical definition that was pinned, kept so a diff can be shown. */
  definition: Record<string, unknown>;
  approvedAt: string;
  approvedBy?: string;
}
export type PinnedItem = PinnedTool;

/**
 * new: nothing pinned under this name; same: the digest matches; upgrade: a version 1 pin whose
 * digest matches (re-pin as version 2 after the scan); changed: with the difference.
 */
export type PinStatus = { status: "new" } | { status: "same" } | { status: "upgrade" } | { status: "changed"; diff: DefinitionDiff };

// ---------------------------------------------------------------------------------------------------
// Canonical definitions and digests

/** The whole definition, canonical. Throws PinInputError for one that cannot be pinned. */
export function canonicalDefinition(kind: PinKind, item: Record<string, unknown>): Record<string, unknown> {
  const noun = NOUNS[kind];
  if (typeof item !== "object" || item === null || Array.isArray(item) || !isPlainObject(item)) throw new PinInputError(`a ${noun} definition must be a JSON object`);
  if (typeof item.name !== "string" || item.name === "") throw new PinInputError(`a ${noun} definition needs a non-empty string 'name'`);
  if (kind === "resourceTemplates" && typeof item.uriTemplate !== "string") throw new PinInputError(`a ${noun} definition needs a string 'uriTemplate'`);
  return canonicalize(item, kind === "tools" ? "tool" : "data") as Record<string, unknown>;
}

/** The version 2 digest of a definition of this kind. */
export function definitionDigest(kind: PinKind, item: Record<string, unknown>): string {
  return domainDigest(DOMAINS[kind], canonicalDefinition(kind, item));
}

/** The whole tool definition, canonical (version 2). */
export function canonicalToolDefinition(tool: Record<string, unknown>): Record<string, unknown> {
  return canonicalDefinition("tools", tool);
}

export function toolDigest(tool: Record<string, unknown>): string {
  return definitionDigest("tools", tool);
}

export function promptDigest(prompt: Record<string, unknown>): string {
  return definitionDigest("prompts", prompt);
}

export function resourceTemplateDigest(template: Record<string, unknown>): string {
  return definitionDigest("resourceTemplates", template);
}

/** Only the fields a version 1 pin covered, canonical. */
export function legacyCanonicalToolDefinition(tool: Record<string, unknown>): Record<string, unknown> {
  canonicalDefinition("tools", tool); // the same checks (and limits) on the whole definition
  const picked: Record<string, unknown> = {};
  for (const field of PINNED_TOOL_FIELDS) {
    if (Object.hasOwn(tool, field) && tool[field] !== undefined) picked[field] = tool[field];
  }
  return canonicalize(picked, "tool") as Record<string, unknown>;
}

/** The version 1 digest: what a stored version 1 pin holds. */
export function legacyToolDigest(tool: Record<string, unknown>): string {
  return domainDigest(LEGACY_TOOL_DOMAIN, legacyCanonicalToolDefinition(tool));
}

/** A version 2 pin of a definition as it is listed now. */
export function makePin(kind: PinKind, item: Record<string, unknown>, approval: { approvedAt?: string; approvedBy?: string } = {}): PinnedTool {
  const definition = canonicalDefinition(kind, item);
  return {
    name: definition.name as string,
    version: 2,
    digest: domainDigest(DOMAINS[kind], definition),
    definition,
    approvedAt: approval.approvedAt ?? new Date().toISOString(),
    ...(approval.approvedBy !== undefined ? { approvedBy: approval.approvedBy } : {}),
  };
}

export function toolPin(tool: Record<string, unknown>, approval: { approvedAt?: string; approvedBy?: string } = {}): PinnedTool {
  return makePin("tools", tool, approval);
}

/**
 * A pin whose definition and digest agree, as a fresh copy with an explicit version. `stored`: read
 * from the pin file, where an absent version is 1 and a version 1 definition holds only
 * PINNED_TOOL_FIELDS. From a caller (not stored), a tool pin without a version is version 2 when
 * its digest is the version 2 digest of its definition, else version 1 (callers written before the
 * version field); other kinds are always version 2. Throws PinInputError naming the problem.
 */
export function verifyPin(kind: PinKind, raw: unknown, stored: boolean): PinnedTool {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PinInputError("is not an object");
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!["name", "version", "digest", "definition", "approvedAt", "approvedBy"].includes(k)) throw new PinInputError(`has an unknown field ${JSON.stringify(k)}`);
  if (typeof r.name !== "string" || r.name === "") throw new PinInputError("has no non-empty 'name'");
  if (typeof r.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(r.digest)) throw new PinInputError("has no valid 'digest'");
  if (typeof r.approvedAt !== "string" || r.approvedAt === "") throw new PinInputError("has no non-empty 'approvedAt'");
  if (r.approvedBy !== undefined && typeof r.approvedBy !== "string") throw new PinInputError("has a 'approvedBy' that is not a string");
  if (r.version !== undefined && r.version !== 1 && r.version !== 2) throw new PinInputError(`has an unknown version ${JSON.stringify(r.version)}`);
  if (typeof r.definition !== "object" || r.definition === null || Array.isArray(r.definition)) throw new PinInputError("has no 'definition' object");
  const rawDefinition = r.definition as Record<string, unknown>;
  let definition: Record<string, unknown>;
  try {
    definition = canonicalDefinition(kind, rawDefinition);
  } catch (e) {
    if (e instanceof PinInputError) throw new PinInputError(`has a definition that cannot be pinned: ${e.message}`);
    throw e;
  }
  let version: PinVersion;
  if (r.version !== undefined) version = r.version as PinVersion;
  else if (stored) version = 1;
  else version = kind !== "tools" || domainDigest(DOMAINS[kind], definition) === r.digest ? 2 : 1;
  if (version === 1) {
    if (kind !== "tools") throw new PinInputError(`is a version 1 pin, but only tools had version 1 pins (a ${NOUNS[kind]} pin needs "version": 2)`);
    // In the file a version 1 definition is exactly the pinned fields; from a caller, extra fields
    // are dropped, but the digest must still agree.
    if (stored && Object.keys(rawDefinition).some((k) => !(PINNED_TOOL_FIELDS as readonly string[]).includes(k))) throw new PinInputError("has a version 1 definition with fields that version 1 did not pin");
    definition = legacyCanonicalToolDefinition(rawDefinition);
    if (domainDigest(LEGACY_TOOL_DOMAIN, definition) !== r.digest) throw new PinInputError("has a digest that does not match its definition");
  } else if (domainDigest(DOMAINS[kind], definition) !== r.digest) {
    throw new PinInputError("has a digest that does not match its definition");
  }
  if (definition.name !== r.name) throw new PinInputError("has a name that differs from its definition's name");
  return { name: r.name, version, digest: r.digest, definition, approvedAt: r.approvedAt, ...(r.approvedBy !== undefined ? { approvedBy: r.approvedBy as string } : {}) };
}

// ---------------------------------------------------------------------------------------------------
// Comparing with a pin

/** How a listed definition compares with its pin (see PinStatus). Throws PinInputError for an unpinnable definition or a malformed pin. */
export function compareDefinition(kind: PinKind, pinned: PinnedTool | undefined, item: Record<string, unknown>): PinStatus {
  const definition = canonicalDefinition(kind, item);
  if (pinned === undefined) return { status: "new" };
  if (typeof pinned !== "object" || pinned === null || typeof pinned.digest !== "string" || typeof pinned.definition !== "object" || pinned.definition === null)
    throw new PinInputError("the pin is malformed");
  // Pins from the store always carry their version; one built by a caller without it may be either
  // (the two digests are domain-separated, so at most one can match).
  const version = pinned.version;
  if (version !== undefined && version !== 2 && !(version === 1 && kind === "tools"))
    throw new PinInputError(`the pin has a version (${String(version)}) that a ${NOUNS[kind]} pin cannot have`);
  if (version !== 1 && domainDigest(DOMAINS[kind], definition) === pinned.digest) return { status: "same" };
  if (version !== 2 && kind === "tools" && domainDigest(LEGACY_TOOL_DOMAIN, legacyCanonicalToolDefinition(item)) === pinned.digest) return { status: "upgrade" };
  return { status: "changed", diff: diffDefinitions(pinned.definition, definition) };
}

/** compareDefinition for tools. */
export function comparePin(pinned: PinnedTool | undefined, tool: Record<string, unknown>): PinStatus {
  return compareDefinition("tools", pinned, tool);
}

export interface ToolListEntry {
  name: string;
  /** The version 2 digest. */
  digest: string;
  /** The canonical definition: what the gateway exposes (and pins, once approved). */
  definition: Record<string, unknown>;
  status: PinStatus;
  /**
   * For a new tool while pinned tools vanished from the same listing: the vanished tool it most
   * likely replaces (a rename), with the difference. For display only: the new tool never inherits
   * the old one's approval.
   */
  replaces?: { name: string; diff: DefinitionDiff };
}

export interface ToolListComparison {
  /** Every listed tool with a unique name that could be canonicalized, in listing order. */
  tools: ToolListEntry[];
  /** Pinned tools the listing no longer has. */
  removed: string[];
  /** Names listed more than once: which definition a call reaches is unknown, so hide all of them. */
  duplicates: string[];
  /** Tools that cannot be pinned (no name, not JSON, past the limits): hide them. */
  invalid: { index: number; name?: string; error: string }[];
}

/**
 * Compares a whole tools/list result with a server's pins. A rename shows up as a removed tool plus
 * a new one (mcp-026): the gateway should ask about new tools on a server that already has pins
 * instead of pinning them on first sight, and `replaces` lets it show what the new tool replaced.
 */
export function compareToolList(pinned: Readonly<Record<string, PinnedTool>> | undefined, tools: readonly Record<string, unknown>[]): ToolListComparison {
  const result: ToolListComparison = { tools: [], removed: [], duplicates: [], invalid: [] };
  const counts = new Map<string, number>();
  for (const t of tools) {
    const name = typeof t === "object" && t !== null && typeof t.name === "string" ? t.name : undefined;
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const pinOf = (name: string): PinnedTool | undefined => (pinned && Object.hasOwn(pinned, name) ? pinned[name] : undefined);
  tools.forEach((tool, index) => {
    const name = typeof tool === "object" && tool !== null && typeof tool.name === "string" ? tool.name : undefined;
    if (name !== undefined && (counts.get(name) ?? 0) > 1) {
      if (!result.duplicates.includes(name)) result.duplicates.push(name);
      return;
    }
    try {
      const definition = canonicalToolDefinition(tool);
      const digest = domainDigest(DOMAINS.tools, definition);
      const status = compareDefinition("tools", pinOf(name!), tool);
      result.tools.push({ name: name!, digest, definition, status });
    } catch (e) {
      if (!(e instanceof PinInputError)) throw e;
      result.invalid.push({ index, ...(name !== undefined ? { name } : {}), error: e.message });
    }
  });
  if (pinned) {
    const listed = new Set(counts.keys());
    result.removed = Object.keys(pinned).filter((n) => !listed.has(n)).sort();
  }
  // Pair new tools with vanished ones: the same inputSchema first, else one vanished and one new.
  const vanished = result.removed.map((n) => pinOf(n)!).filter((p) => p !== undefined);
  const fresh = result.tools.filter((t) => t.status.status === "new");
  if (vanished.length && fresh.length) {
    const schemaKey = (d: Record<string, unknown>): string => JSON.stringify(d.inputSchema ?? null);
    const used = new Set<string>();
    for (const t of fresh) {
      const matches = vanished.filter((p) => !used.has(p.name) && schemaKey(p.definition) === schemaKey(t.definition));
      if (matches.length === 1) {
        used.add(matches[0]!.name);
        t.replaces = { name: matches[0]!.name, diff: diffDefinitions(matches[0]!.definition, t.definition) };
      }
    }
    const left = vanished.filter((p) => !used.has(p.name));
    const unpaired = fresh.filter((t) => !t.replaces);
    if (left.length === 1 && unpaired.length === 1) unpaired[0]!.replaces = { name: left[0]!.name, diff: diffDefinitions(left[0]!.definition, unpaired[0]!.definition) };
  }
  return result;
}
