// Pinning tool definitions and server identity (rug-pull and MCPoison defence). Pure: no I/O.
//
// What a tool pin covers: the fields the model reads or that shape what it may send, and nothing
// else: name, title, description, inputSchema, outputSchema, annotations (PINNED_TOOL_FIELDS).
// Left out, on purpose:
//   - `_meta`: protocol metadata a server may vary per response (vendor keys, session data); pinning
//     it would raise an approval on reconnects that change nothing the model sees.
//   - `icons`: display only, and icon URLs are often signed or rotated.
//   - `execution` (task support): how the call is transported, not what the model reads or sends.
//   The gateway should therefore expose only the pinned fields (the canonical definition), so that an
//   unpinned field can never carry text to the client that nobody approved.
//
// Canonical form: object keys sorted (UTF-16 code unit order), arrays keep their order, with one
// exception: a JSON Schema `required` list (in a schema position, not inside `default`, `enum`,
// `const` or `examples` data) is sorted and de-duplicated. `required` is a set by definition and
// servers often build it from a hash map or set, so its order changes between runs without meaning
// anything. `enum` (and `type` lists, `prefixItems`, `examples`...) stay ordered: the order is visible
// to the model, enum values are arbitrary JSON that has no natural order, and a reordering is rare
// enough that asking about it costs little.
//
// Bounded work: canonicalization is iterative (no recursion on input depth), refuses nesting deeper
// than CANONICAL_LIMITS.maxDepth, more than maxNodes values or maxChars characters of strings and
// keys (shared references count each time they are reached, so a DAG cannot blow up quietly), and
// throws on cycles and on values JSON cannot carry.
import { createHash } from "node:crypto";

/** The tool fields a pin covers. */
export const PINNED_TOOL_FIELDS = ["name", "title", "description", "inputSchema", "outputSchema", "annotations"] as const;

export const CANONICAL_LIMITS = Object.freeze({ maxDepth: 100, maxNodes: 200_000, maxChars: 8 * 1024 * 1024 });

/** A tool definition or server entry that cannot be pinned (not JSON, too deep, too large, cyclic). */
export class PinInputError extends Error {
  override name = "PinInputError";
}

export interface PinnedTool {
  name: string;
  /** "sha256:<hex>" of the canonical definition. */
  digest: string;
  /** The canonical definition that was pinned, kept so a diff can be shown. */
  definition: Record<string, unknown>;
  approvedAt: string;
  approvedBy?: string;
}

export interface ServerIdentity {
  kind: "stdio" | "remote";
  command?: string;
  args?: string[];
  cwd?: string;
  url?: string;
  /** "sha256:<hex>" of the other fields. */
  digest: string;
}

export type PinStatus = { status: "new" } | { status: "same" } | { status: "changed"; diff: DefinitionDiff };

export interface DefinitionChange {
  path: string;
  before?: unknown;
  after?: unknown;
  kind: "added" | "removed" | "changed";
}

export interface DefinitionDiff {
  changes: DefinitionChange[];
  /** One line, e.g. "description changed; inputSchema.properties.bcc added". */
  summary: string;
}

// ---------------------------------------------------------------------------------------------------
// Canonical JSON

/**
 * Where a value sits, so `required` is sorted only where JSON Schema defines it:
 * data (anything not a schema), schema, a map of name → schema, a list of schemas, `items` (a schema
 * or a list of schemas), `dependencies` (name → schema or list of names), the tool object itself.
 */
type Ctx = "data" | "schema" | "schemaMap" | "schemaList" | "schemaOrList" | "dependencies" | "required" | "tool";

const SCHEMA_MAP_KEYWORDS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);
const SCHEMA_KEYWORDS = new Set([
  "additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else",
  "unevaluatedItems", "unevaluatedProperties", "contentSchema",
]);
const SCHEMA_LIST_KEYWORDS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);

function childCtx(parent: Ctx, key: string | number): Ctx {
  switch (parent) {
    case "tool":
      return key === "inputSchema" || key === "outputSchema" ? "schema" : "data";
    case "schema":
      if (typeof key !== "string") return "data";
      if (key === "required") return "required";
      if (key === "items") return "schemaOrList";
      if (key === "dependencies") return "dependencies";
      if (SCHEMA_MAP_KEYWORDS.has(key)) return "schemaMap";
      if (SCHEMA_KEYWORDS.has(key)) return "schema";
      if (SCHEMA_LIST_KEYWORDS.has(key)) return "schemaList";
      return "data"; // enum, const, default, examples, description, unknown keywords: data
    case "schemaMap":
    case "schemaList":
      return "schema";
    case "dependencies":
      return "schema"; // an array value here is a list of names: arrays of strings are left as they are
    default:
      return "data";
  }
}

interface Frame {
  src: Record<string, unknown> | unknown[];
  out: Record<string, unknown> | unknown[];
  keys: string[] | undefined; // undefined for arrays
  i: number;
  ctx: Ctx;
  depth: number;
  /** This container's key in its parent (undefined for the root), for error messages. */
  at: string | number | undefined;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty for "__proto__": assigned, it would replace the prototype instead of being data.
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * A canonical deep copy of a JSON value: keys sorted, `required` sorted where `ctx` says it is a
 * schema keyword. Throws PinInputError on cycles, non-JSON values and inputs past CANONICAL_LIMITS.
 */
function canonicalize(value: unknown, rootCtx: Ctx): unknown {
  let nodes = 0;
  let chars = 0;
  const stack: Frame[] = [];
  const ancestors = new Set<object>();
  const where = (key: string | number | undefined): string => {
    const path: (string | number)[] = [];
    for (const f of stack) if (f.at !== undefined) path.push(f.at);
    if (key !== undefined) path.push(key);
    return `at ${formatPath(path) || "(root)"}`;
  };
  const fail = (message: string, key: string | number | undefined): never => {
    throw new PinInputError(`${message} (${where(key)})`);
  };
  const count = (n: number, c: number, key: string | number | undefined): void => {
    nodes += n;
    chars += c;
    if (nodes > CANONICAL_LIMITS.maxNodes) fail(`definition has more than ${CANONICAL_LIMITS.maxNodes} values`, key);
    if (chars > CANONICAL_LIMITS.maxChars) fail(`definition has more than ${CANONICAL_LIMITS.maxChars} characters of text`, key);
  };

  // The copy of a leaf; for an object or array a fresh container, pushed as a frame to fill later.
  // SKIP: an undefined property, dropped as JSON.stringify would drop it.
  const SKIP = Symbol("skip");
  const visit = (v: unknown, ctx: Ctx, depth: number, key: string | number | undefined, inArray: boolean): unknown => {
    switch (typeof v) {
      case "string":
        count(1, v.length, key);
        return v;
      case "boolean":
        count(1, 0, key);
        return v;
      case "number":
        if (!Number.isFinite(v)) fail(`${String(v)} is not a JSON number`, key);
        count(1, 0, key);
        return Object.is(v, -0) ? 0 : v;
      case "undefined":
        // In an array JSON would turn it into null silently: refuse instead.
        if (inArray) fail("undefined in an array is not JSON", key);
        return SKIP;
      case "object": {
        if (v === null) {
          count(1, 0, key);
          return null;
        }
        if (ancestors.has(v)) fail("definition contains a cycle", key);
        if (depth > CANONICAL_LIMITS.maxDepth) fail(`definition is nested deeper than ${CANONICAL_LIMITS.maxDepth} levels`, key);
        const isArray = Array.isArray(v);
        if (!isArray && !isPlainObject(v)) fail(`a ${Object.prototype.toString.call(v)} is not JSON`, key);
        const keys = isArray ? undefined : Object.keys(v).sort();
        count(1, keys ? keys.reduce((n, k) => n + k.length, 0) : 0, key);
        // `items` holding one schema is itself a schema; holding a list, each element is one.
        const effective: Ctx = ctx === "schemaOrList" ? (isArray ? "schemaList" : "schema") : ctx;
        const out: Record<string, unknown> | unknown[] = isArray ? [] : {};
        ancestors.add(v);
        stack.push({ src: v as Record<string, unknown> | unknown[], out, keys, i: 0, ctx: effective, depth, at: key });
        return out;
      }
      default:
        return fail(`a ${typeof v} is not JSON`, key);
    }
  };

  const root = visit(value, rootCtx, 1, undefined, false);
  if (root === SKIP) throw new PinInputError("undefined is not JSON");
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    const length = f.keys ? f.keys.length : (f.src as unknown[]).length;
    if (f.i >= length) {
      stack.pop();
      ancestors.delete(f.src);
      if (f.ctx === "required") sortRequired(f.out);
      continue;
    }
    const key: string | number = f.keys ? f.keys[f.i]! : f.i;
    f.i++;
    const child = f.keys ? (f.src as Record<string, unknown>)[key as string] : (f.src as unknown[])[key as number];
    // A container child is linked into `out` now and filled when its frame (pushed by visit) runs.
    const copy = visit(child, childCtx(f.ctx, key), f.depth + 1, key, !f.keys);
    if (copy === SKIP) continue;
    if (f.keys) setOwn(f.out as Record<string, unknown>, key as string, copy);
    else (f.out as unknown[]).push(copy);
  }
  return root;
}

/** `required` is a set: sorted and de-duplicated, but only when it is a list of strings. */
function sortRequired(list: Record<string, unknown> | unknown[]): void {
  if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return;
  const sorted = [...new Set(list as string[])].sort();
  list.length = 0;
  list.push(...sorted);
}

function sha256(domain: string, value: unknown): string {
  // The domain string keeps a tool digest from ever equalling a server digest of the same JSON.
  return `sha256:${createHash("sha256").update(`${domain}\n`).update(JSON.stringify(value)).digest("hex")}`;
}

/** A canonical deep copy of any JSON value (keys sorted, arrays in order). */
export function canonicalJson(value: unknown): unknown {
  return canonicalize(value, "data");
}

// ---------------------------------------------------------------------------------------------------
// Tools

/** Only the pinned fields of a tool, canonical. Throws PinInputError for a tool that cannot be pinned. */
export function canonicalToolDefinition(tool: Record<string, unknown>): Record<string, unknown> {
  if (typeof tool !== "object" || tool === null || Array.isArray(tool) || !isPlainObject(tool)) throw new PinInputError("a tool definition must be a JSON object");
  if (typeof tool.name !== "string" || tool.name === "") throw new PinInputError("a tool definition needs a non-empty string 'name'");
  const picked: Record<string, unknown> = {};
  for (const field of PINNED_TOOL_FIELDS) {
    if (Object.hasOwn(tool, field) && tool[field] !== undefined) picked[field] = tool[field];
  }
  return canonicalize(picked, "tool") as Record<string, unknown>;
}

export function toolDigest(tool: Record<string, unknown>): string {
  return sha256("mcp-warden/tool-definition/v1", canonicalToolDefinition(tool));
}

/** new: nothing pinned under this name; same: the digest matches; changed: with the difference. */
export function comparePin(pinned: PinnedTool | undefined, tool: Record<string, unknown>): PinStatus {
  const definition = canonicalToolDefinition(tool);
  if (pinned === undefined) return { status: "new" };
  if (typeof pinned !== "object" || pinned === null || typeof pinned.digest !== "string" || typeof pinned.definition !== "object" || pinned.definition === null)
    throw new PinInputError("comparePin: the pin is malformed");
  if (sha256("mcp-warden/tool-definition/v1", definition) === pinned.digest) return { status: "same" };
  return { status: "changed", diff: diffDefinitions(pinned.definition, definition) };
}

export interface ToolListEntry {
  name: string;
  digest: string;
  /** The canonical definition: what the gateway should expose (and pin, once approved). */
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
      const digest = sha256("mcp-warden/tool-definition/v1", definition);
      const pin = pinOf(name!);
      const status: PinStatus = pin === undefined ? { status: "new" } : pin.digest === digest ? { status: "same" } : { status: "changed", diff: diffDefinitions(pin.definition, definition) };
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

// ---------------------------------------------------------------------------------------------------
// Server identity

/**
 * The identity a server's approval is bound to: for stdio the command, arguments and cwd; for
 * remote servers the URL (WHATWG-canonical: lowercase host, default port dropped; fragment and
 * user:password dropped, since the fragment is never sent and credentials are secrets).
 * Not part of identity: `env` values and `headers`, which may hold secrets and must never be stored
 * in the pin file (and rotating a token must not need a re-approval); the remote transport type
 * (http / sse), which changes how, not whom, we talk to. Pass the entry after ${VAR} expansion.
 */
export function serverIdentity(entry: { command?: string; args?: string[]; cwd?: string; url?: string; type?: string }): ServerIdentity {
  if (typeof entry !== "object" || entry === null) throw new PinInputError("a server entry must be an object");
  const type = entry.type ?? (entry.url !== undefined && entry.url !== "" ? "http" : "stdio");
  if (type === "stdio") {
    if (typeof entry.command !== "string" || entry.command === "") throw new PinInputError("a stdio server needs a non-empty 'command'");
    const args = entry.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) throw new PinInputError("'args' must be a list of strings");
    if (entry.cwd !== undefined && typeof entry.cwd !== "string") throw new PinInputError("'cwd' must be a string");
    const fields = { kind: "stdio" as const, command: entry.command, args: [...args], ...(entry.cwd !== undefined ? { cwd: entry.cwd } : {}) };
    return { ...fields, digest: sha256("mcp-warden/server-identity/v1", canonicalJson(fields)) };
  }
  if (type !== "http" && type !== "streamable-http" && type !== "sse") throw new PinInputError(`unknown server type ${JSON.stringify(type)}`);
  if (typeof entry.url !== "string" || entry.url === "") throw new PinInputError(`a ${type} server needs a 'url'`);
  const fields = { kind: "remote" as const, url: canonicalUrl(entry.url) };
  return { ...fields, digest: sha256("mcp-warden/server-identity/v1", canonicalJson(fields)) };
}

function canonicalUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new PinInputError(`server url does not parse: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new PinInputError(`server url must be http or https: ${JSON.stringify(raw)}`);
  u.username = "";
  u.password = "";
  u.hash = "";
  return u.href;
}

/** What changed between an approved launch configuration and the current one (digests left out). */
export function diffIdentities(before: ServerIdentity, after: ServerIdentity): DefinitionDiff {
  const strip = ({ digest: _d, ...rest }: ServerIdentity): Record<string, unknown> => rest;
  return diffDefinitions(strip(before), strip(after));
}

// ---------------------------------------------------------------------------------------------------
// Differences

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    // Quoted with JSON escapes, so a key holding a newline or a dot cannot forge another path.
    else if (IDENTIFIER.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${safeJson(seg)}]`;
  }
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Every difference between two JSON objects, path by path in sorted key order. Arrays compare
 * element by element (an insertion shows as changes up to the end: nothing is hidden). Both sides
 * are canonicalized first, so the limits and cycle checks apply here too.
 */
export function diffDefinitions(before: Record<string, unknown>, after: Record<string, unknown>): DefinitionDiff {
  type Item = { change: DefinitionChange } | { path: (string | number)[]; a: unknown; b: unknown };
  const changes: DefinitionChange[] = [];
  // Iterative, in document order: the items of one level are pushed in reverse, so they pop in order.
  const stack: Item[] = [{ path: [], a: canonicalJson(before), b: canonicalJson(after) }];
  while (stack.length) {
    const item = stack.pop()!;
    if ("change" in item) {
      changes.push(item.change);
      continue;
    }
    const { path, a: x, b: y } = item;
    const level: Item[] = [];
    const pair = (p: (string | number)[], hasA: boolean, hasB: boolean, va: unknown, vb: unknown): void => {
      if (!hasB) level.push({ change: { path: formatPath(p), before: va, kind: "removed" } });
      else if (!hasA) level.push({ change: { path: formatPath(p), after: vb, kind: "added" } });
      else level.push({ path: p, a: va, b: vb });
    };
    if (isObj(x) && isObj(y)) {
      for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) pair([...path, k], Object.hasOwn(x, k), Object.hasOwn(y, k), x[k], y[k]);
    } else if (Array.isArray(x) && Array.isArray(y)) {
      for (let i = 0; i < Math.max(x.length, y.length); i++) pair([...path, i], i < x.length, i < y.length, x[i], y[i]);
    } else if (!sameJson(x, y)) {
      changes.push({ path: formatPath(path) || "(root)", before: x, after: y, kind: "changed" });
    }
    for (let i = level.length - 1; i >= 0; i--) stack.push(level[i]!);
  }
  return { changes, summary: summarize(changes) };
}

function sameJson(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  return JSON.stringify(x) === JSON.stringify(y); // both canonical, so equal text means equal values
}

const SUMMARY_ITEMS = 8;

function summarize(changes: readonly DefinitionChange[]): string {
  if (!changes.length) return "no changes";
  const parts = changes.slice(0, SUMMARY_ITEMS).map((c) => `${c.path} ${c.kind}`);
  if (changes.length > SUMMARY_ITEMS) parts.push(`and ${changes.length - SUMMARY_ITEMS} more`);
  return parts.join("; ");
}

/**
 * JSON text with every invisible or direction-changing character escaped as \uXXXX: controls
 * (C0, C1), format characters (zero-width, bidi overrides) and line/paragraph separators, so a
 * reviewer sees every character that is there and a value cannot fake extra diff lines.
 */
function safeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (ch) => {
    let out = "";
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return out;
  });
}

/**
 * Line based and complete: a header with the summary, then per change a "~ path (kind)" line and
 * "- before" / "+ after" lines with the values as single-line JSON, never shortened.
 */
export function renderDiff(diff: DefinitionDiff): string {
  if (!diff.changes.length) return "no changes\n";
  const lines: string[] = [`${diff.changes.length} change${diff.changes.length === 1 ? "" : "s"}: ${diff.summary}`];
  for (const c of diff.changes) {
    lines.push(`~ ${c.path} (${c.kind})`);
    if (c.kind !== "added") lines.push(`- ${safeJson(c.before)}`);
    if (c.kind !== "removed") lines.push(`+ ${safeJson(c.after)}`);
  }
  return lines.join("\n") + "\n";
}
