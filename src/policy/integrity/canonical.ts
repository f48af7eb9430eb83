// Canonical JSON, digests and differences: the core that tool, prompt and template pins and server
// identities share (pins.ts, server-identity.ts). Pure: no I/O.
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

export const CANONICAL_LIMITS = Object.freeze({ maxDepth: 100, maxNodes: 200_000, maxChars: 8 * 1024 * 1024 });

/** A definition or server entry that cannot be pinned (not JSON, too deep, too large, cyclic). */
export class PinInputError extends Error {
  override name = "PinInputError";
}

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

export function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty for "__proto__": assigned, it would replace the prototype instead of being data.
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * A canonical deep copy of a JSON value: keys sorted, `required` sorted where `ctx` says it is a
 * schema keyword. Throws PinInputError on cycles, non-JSON values and inputs past CANONICAL_LIMITS.
 */
export function canonicalize(value: unknown, rootCtx: "data" | "tool"): unknown {
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

/** "sha256:<hex>" of a canonical value under a domain string. */
export function domainDigest(domain: string, value: unknown): string {
  // The domain string keeps a tool digest from ever equalling a server digest of the same JSON.
  return `sha256:${createHash("sha256").update(`${domain}\n`).update(JSON.stringify(value)).digest("hex")}`;
}

/** A canonical deep copy of any JSON value (keys sorted, arrays in order). */
export function canonicalJson(value: unknown): unknown {
  return canonicalize(value, "data");
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
