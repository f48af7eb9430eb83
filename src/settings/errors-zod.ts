// zod validation failures as SettingsError messages. Kept apart from errors.ts so that code which
// never validates (the hook's fast path) does not load zod.
import * as z from "zod/v4";
import { formatPath, SettingsError, type SettingsIssue } from "./errors.js";

/** Turns a zod failure into a SettingsError: first issue's path on the error, every issue in the message. */
export function settingsErrorFromZod(file: string, error: z.ZodError, input: unknown, schema: z.ZodType): SettingsError {
  const issues = error.issues.flatMap((issue) => describeIssue(issue, [], input, schema));
  const [first, ...more] = issues;
  if (!first) return new SettingsError(file, "", "invalid settings");
  return new SettingsError(file, first.path, first.message, { more });
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, base: readonly PropertyKey[], input: unknown, schema: z.ZodType): SettingsIssue[] {
  const at = [...base, ...issue.path];
  const path = formatPath(at);
  const value = valueAt(input, at);
  switch (issue.code) {
    case "invalid_type": {
      if (value === undefined) {
        const last = at[at.length - 1];
        return [{ path, message: typeof last === "string" ? `missing required field '${last}'` : "missing value" }];
      }
      return [{ path, message: `expected ${typeWord(issue.expected)}, got ${typeOf(value)}` }];
    }
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const known = objectKeysAt(schema, at);
        const hint = known ? suggest(key, known) : undefined;
        return {
          path: formatPath([...at, key]),
          message: `unknown field '${key}'${hint ? ` (did you mean '${hint}'?)` : ""}`,
        };
      });
    case "invalid_value": {
      const expected = issue.values.map((v) => JSON.stringify(v));
      const what = expected.length === 1 ? expected[0] : `one of ${expected.join(", ")}`;
      return [{ path, message: `expected ${what}, got ${show(value)}` }];
    }
    case "too_small":
    case "too_big":
      return [{ path, message: sizeMessage(issue) }];
    case "invalid_format": {
      // A regex check with our own message ("a server name is ...") reads better than the pattern.
      const text = issue.message.replace(/^Invalid string: /, "");
      return [{ path, message: `${text} (got ${show(value)})` }];
    }
    case "invalid_key": {
      const key = at[at.length - 1];
      const inner = issue.issues[0];
      // The key's own problems are described against the key string; the name is shown once, up front.
      const why = inner ? describeIssue(inner, [], key, z.any())[0]?.message.replace(/ \(got .*\)$/, "") : undefined;
      return [{ path, message: `invalid name ${show(key)}${why ? `: ${why}` : ""}` }];
    }
    case "invalid_union":
      return describeUnion(issue, at, value, input, schema);
    default:
      return [{ path, message: issue.message }];
  }
}

/** A value matched none of a union's forms: say which part of which form is wrong when that is clear. */
function describeUnion(
  issue: Extract<Issue, { code: "invalid_union" }>,
  at: PropertyKey[],
  value: unknown,
  input: unknown,
  schema: z.ZodType,
): SettingsIssue[] {
  const path = formatPath(at);
  const branches = issue.errors;
  const rootType = branches.map((b) => b.find((i) => i.code === "invalid_type" && i.path.length === 0));
  if (branches.length > 0 && rootType.every((i) => i !== undefined)) {
    const expected = [...new Set(rootType.map((i) => typeWord((i as Extract<Issue, { code: "invalid_type" }>).expected)))];
    return [{ path, message: `expected ${expected.join(" or ")}, got ${typeOf(value)}` }];
  }
  const union = schemaAt(schema, at);
  if (union instanceof z.ZodUnion && isPlainObject(value)) {
    const forms = union.options.map((o) => (o instanceof z.ZodObject ? Object.keys(o.shape) : undefined));
    if (forms.every((f) => f !== undefined)) {
      // The form whose fields the value uses is the one the author meant; explain its problems.
      const keys = Object.keys(value);
      const meant = forms.flatMap((f, i) => (f!.some((k) => keys.includes(k)) ? [i] : []));
      const only = meant.length === 1 ? branches[meant[0]!] : undefined;
      if (only && only.length > 0) return only.flatMap((i) => describeIssue(i, at, input, schema));
      const list = forms.map((f) => `{${f!.join(", ")}}`).join(" | ");
      return [{ path, message: `expected an object with exactly one of these field sets: ${list}` }];
    }
  }
  const parts = branches.map((b) => (b[0] ? describeIssue(b[0], at, input, schema)[0]?.message : undefined)).filter(Boolean);
  return [{ path, message: `matches none of the allowed forms: ${parts.join("; or ")}` }];
}

function sizeMessage(issue: Extract<Issue, { code: "too_small" | "too_big" }>): string {
  const small = issue.code === "too_small";
  const limit = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case "string":
      if (small && limit === 1) return "must not be empty";
      return `must be ${small ? "at least" : "at most"} ${limit} characters long`;
    case "array":
    case "set":
      return `must have ${small ? "at least" : "at most"} ${limit} item${limit === 1 ? "" : "s"}`;
    default:
      if (small) return inclusive ? `must be at least ${limit}` : `must be greater than ${limit}`;
      return inclusive ? `must be at most ${limit}` : `must be less than ${limit}`;
  }
}

function typeWord(expected: string): string {
  return expected === "int" ? "integer" : expected;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function show(value: unknown): string {
  const text = typeof value === "symbol" ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (typeof cur !== "object" || cur === null || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Follows a JSON path through the schema (objects, records, arrays, optionals, object unions). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let cur: z.ZodType | undefined = schema;
  for (const seg of path) {
    cur = unwrap(cur);
    if (cur instanceof z.ZodObject) cur = (cur.shape as Record<string, z.ZodType>)[String(seg)];
    else if (cur instanceof z.ZodRecord) cur = cur.valueType as z.ZodType;
    else if (cur instanceof z.ZodArray) cur = cur.element as z.ZodType;
    else if (cur instanceof z.ZodUnion) {
      const hit: z.ZodType | undefined = (cur.options as readonly z.ZodType[]).find(
        (o) => o instanceof z.ZodObject && Object.hasOwn(o.shape, String(seg)),
      );
      cur = hit ? ((hit as z.ZodObject).shape as Record<string, z.ZodType>)[String(seg)] : undefined;
    } else return undefined;
    if (!cur) return undefined;
  }
  return unwrap(cur);
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  const s = schemaAt(schema, path);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

/** The known field closest to a misspelled one, if it is close enough to be a plausible typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edit distance counting a swap of two neighbouring letters as one edit ("dney" → "deny"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  return d[a.length]![b.length]!;
}
