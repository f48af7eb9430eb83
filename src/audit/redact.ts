// Secret redaction for audit records. Runs on every append, so the secrets are compiled once into
// a single RegExp and the no-secrets case does no work at all.

export const REDACTED = "[REDACTED]";
/** Shorter values are ignored: redacting "a" or "ok" would shred every record and protect nothing. */
export const MIN_SECRET_LENGTH = 4;

export interface Redactor {
  /** False when there is nothing to redact; callers skip the walk entirely. */
  readonly active: boolean;
  /**
   * Whether JSON text may contain a secret. False means the walk can be skipped: a secret occurs
   * in a value exactly when it occurs in that value's JSON form, unless JSON escapes one of its
   * characters (quote, backslash, control or lone surrogate), and such secrets always answer true.
   */
  mayContain(json: string): boolean;
  string(s: string): string;
  /** A redacted, JSON-shaped copy of `value` (toJSON applied, like JSON.stringify). Never mutates. */
  value(value: unknown): unknown;
}

const IDENTITY: Redactor = { active: false, mayContain: () => false, string: (s) => s, value: (v) => v };

/** Characters JSON.stringify escapes, so the secret would not appear verbatim in JSON text. */
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Compiles the secret values into one matcher: escaped, longest first, so a secret that contains another is removed whole. */
export function compileRedactor(secrets: readonly string[] | undefined): Redactor {
  const usable = [...new Set((secrets ?? []).filter((s) => typeof s === "string" && s.length >= MIN_SECRET_LENGTH))];
  if (usable.length === 0) return IDENTITY;
  usable.sort((a, b) => b.length - a.length);
  const re = new RegExp(usable.map(escapeRegExp).join("|"), "g");
  // String.prototype.replace resets lastIndex of a global RegExp, so sharing `re` is safe.
  const string = (s: string) => s.replace(re, REDACTED);
  const test = new RegExp(re.source);
  const mayContain = usable.some((u) => JSON_ESCAPED.test(u)) ? () => true : (json: string) => test.test(json);
  return { active: true, mayContain, string, value: (v) => walk(v, string, new Set()) };
}

/** Pure: a redacted copy of `value`. Compile a Redactor instead when redacting repeatedly. */
export function redactValue(value: unknown, secrets: readonly string[]): unknown {
  return compileRedactor(secrets).value(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

function walk(v: unknown, redact: (s: string) => string, ancestors: Set<object>): unknown {
  if (typeof v === "string") return redact(v);
  if (typeof v === "number") {
    // A numeric secret (a PIN, an account number) passed as a JSON number would otherwise be written as-is.
    const text = String(v);
    const red = redact(text);
    return red === text ? v : red;
  }
  if (typeof v !== "object" || v === null) return v;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return walk(toJSON.call(v), redact, ancestors);
  if (ancestors.has(v)) throw new TypeError("cannot write a circular structure to the audit log");
  ancestors.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => walk(x, redact, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // Keys can carry secrets too (e.g. a header map keyed by token). Two keys that redact to the same
      // text must not overwrite each other, so later ones get a numbered suffix.
      const base = redact(k);
      let key = base;
      for (let n = 2; Object.prototype.hasOwnProperty.call(out, key); n++) key = `${base}#${n}`;
      // defineProperty for "__proto__" only: that key from parsed JSON must stay data, not replace the
      // prototype; using it for every key would push each copy into V8's slow object mode.
      if (key === "__proto__") Object.defineProperty(out, key, { value: walk(x, redact, ancestors), enumerable: true, writable: true, configurable: true });
      else out[key] = walk(x, redact, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(v);
  }
}
