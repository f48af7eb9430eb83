// Secrets in flight: finds the values of configured secrets and well-known credential formats in
// tool-call arguments and tool results, and redacts them. Pure: no I/O.
//
// Hand-written rather than a library: no dependency may be added, and the established scanners
// (gitleaks, trufflehog, detect-secrets) are Go or Python programs, not Node libraries.
//
// What a finding may hold: a JSON path, a kind and a fixed description. Never the matched text or
// any part of it, because findings go to the audit log. A property name that holds a secret is
// shown redacted in paths too.
//
// Cost: runs on every call, so every pattern is compiled once; one pass over each text finds which
// formats' literal needles (and which configured values' anchors) occur, and only those regexes
// run; every regex is linear: bounded quantifiers, no nested unbounded repetition.

import { isSecretName } from "./secret-names.js";

export { isSecretName };
export interface SecretFinding {
  /** JSON path into the scanned value, e.g. "arguments.auth" or "content[0].text"; "" is the root itself. */
  path: string;
  /** e.g. "private-key", "aws-access-key-id", "github-token", "configured:DB_PASSWORD", "unscannable". */
  kind: string;
  /** Human text; never contains the secret or any part of it. */
  description: string;
}

/** Bounds on the walk. Beyond any of them the scanner reports an "unscannable" finding, so the caller fails closed. */
export interface SecretScanLimits {
  /** Nesting depth of objects and arrays; default 64. */
  maxDepth?: number;
  /** Values visited (objects, arrays, strings, keys, numbers...); default 100,000. */
  maxNodes?: number;
  /** Total UTF-16 code units of strings and keys scanned; default 16 Mi. */
  maxChars?: number;
}

export interface SecretScannerOptions {
  /** Configured secrets, e.g. from a server's env. Values shorter than 8 characters are ignored and named in `rejectedValues`. */
  values?: { name: string; value: string }[];
  /** Detect well-known credential formats; default true. */
  formats?: boolean;
  limits?: SecretScanLimits;
}

export interface SecretScanner {
  scan(value: unknown, rootPath?: string): SecretFinding[];
  /**
   * A copy of `value` with each secret span replaced by `[REDACTED:<kind>]`; the input is never
   * mutated. A subtree beyond the limits is replaced whole by `[REDACTED:unscannable]`, so the copy
   * is safe to log even when the caller then refuses the call.
   */
  redact(value: unknown, rootPath?: string): { value: unknown; findings: SecretFinding[] };
  /** Names of configured values that were ignored because they are too short to match safely. */
  readonly rejectedValues: string[];
}

export const MIN_CONFIGURED_SECRET_LENGTH = 8;
const DEFAULT_LIMITS: Required<SecretScanLimits> = { maxDepth: 64, maxNodes: 100_000, maxChars: 16 * 1024 * 1024 };
/** Configured values longer than this are matched literally in a few encodings instead of char by char (keeps the regex small). */
const MAX_SPELLED_LENGTH = 256;
/** Shorter texts cannot hold any format or configured value (all are at least 8 characters). */
const MIN_SECRET_TEXT = 8;

// ---------------------------------------------------------------------------------------------
// Spans

interface Span {
  start: number;
  end: number;
  kind: string;
  description: string;
  /** Lower wins a tie; configured values first, then formats in table order, generic guesses last. */
  rank: number;
}

interface Detector {
  /** The detector runs only when the text contains one of these literals. */
  needles: readonly string[];
  find(s: string, out: Span[], rank: number): void;
}

/** Overlapping spans become one: the kind of the longest (then best-ranked) span names the union. */
function mergeSpans(spans: Span[]): Span[] {
  if (spans.length <= 1) return spans;
  spans.sort((a, b) => a.start - b.start || b.end - a.end || a.rank - b.rank);
  const merged: Span[] = [];
  let current = { ...spans[0]! };
  let best = spans[0]!;
  for (let i = 1; i < spans.length; i++) {
    const sp = spans[i]!;
    if (sp.start < current.end) {
      const len = sp.end - sp.start;
      const bestLen = best.end - best.start;
      if (len > bestLen || (len === bestLen && sp.rank < best.rank)) best = sp;
      current.end = Math.max(current.end, sp.end);
      current.kind = best.kind;
      current.description = best.description;
      continue;
    }
    merged.push(current);
    current = { ...sp };
    best = sp;
  }
  merged.push(current);
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

// Character counts by UTF-16 unit, in one table reused by every call (these run per candidate
// match, and a Map per call was measured as the main cost on hostile input).
const unitCounts = new Uint32Array(65536);

interface CharStats {
  /** Shannon entropy, bits per character. */
  entropy: number;
  /** Share of the most frequent character: high for fill-ins like "xxxx" or "0000". */
  dominant: number;
  distinct: number;
}

function charStats(s: string): CharStats {
  const n = s.length;
  let max = 0;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const c = ++unitCounts[s.charCodeAt(i)]!;
    if (c === 1) distinct++;
    if (c > max) max = c;
  }
  let entropy = 0;
  for (let i = 0; i < n; i++) {
    const u = s.charCodeAt(i);
    const c = unitCounts[u]!;
    if (c === 0) continue;
    const p = c / n;
    entropy -= p * Math.log2(p);
    unitCounts[u] = 0;
  }
  return { entropy, dominant: n === 0 ? 1 : max / n, distinct };
}

// Case-sensitive on purpose: case-insensitively, "here" turns up in about 1 of 2,000 random 36-character tokens.
const PLACEHOLDER_TEXT = /x{4}|X{4}|\*{3}|\.{3}|0{8}|<|>|[Yy]our|YOUR|[Hh]ere|HERE|[Pp]laceholder|PLACEHOLDER|[Rr]edacted|REDACTED|[Cc]hangeme|[Dd]ummy|DUMMY|[Ii]nsert|INSERT|[Rr]eplace|REPLACE/;

/** A token body that is a documentation fill-in rather than random: "ghp_xxxx…", "AKIA0000…", "<your token>". */
function looksLikePlaceholder(body: string): boolean {
  if (PLACEHOLDER_TEXT.test(body)) return true;
  // Random text of this length almost never repeats one character this often.
  const stats = charStats(body);
  return stats.dominant > Math.max(0.3, 6 / body.length) || stats.distinct < Math.min(8, body.length);
}

function base64Decode(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(s: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < s.length; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ s.charCodeAt(i)) & 0xff]!;
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * GitHub and npm tokens end in the CRC32 of the 30 random characters, base62, 6 digits. A failed
 * checksum does not clear a match: fakes built for attacks rarely carry one, and the prefix and
 * length already make false positives negligible. It only makes the description more certain.
 */
function base62Crc32Valid(body36: string): boolean {
  let n = crc32(body36.slice(0, 30));
  let digits = "";
  for (let i = 0; i < 6; i++) {
    digits = BASE62[n % 62]! + digits;
    n = Math.floor(n / 62);
  }
  return digits === body36.slice(30);
}

// ---------------------------------------------------------------------------------------------
// Format detectors

const B62 = "A-Za-z0-9";
const B64URL = "A-Za-z0-9_\\-";

/**
 * Start of a token: not preceded by a character of its alphabet, except that an escape like "\n"
 * counts as a separator (JSON text inside a string: "line\nghp_…" must still match). Written as a
 * nested negative lookbehind: the positive `(?<=^|[^…]|\\n)` is as correct but stops V8 from
 * scanning for the literal that follows, about 8 times slower.
 */
const after = (alphabet: string) => String.raw`(?<!(?<!\\)[${alphabet}])`;

interface RegexFormat {
  kind: string;
  description: string;
  needles: readonly string[];
  /** Global. */
  re: RegExp;
  /**
   * Redact this capture group only (a labelled value), instead of the whole match. It must end the
   * match: its start is computed from the end, which spares the `d` flag (measured: V8 builds the
   * index arrays on every exec, a third of the cost of a match).
   */
  group?: number;
  /** Structural check: the description to report, or null to reject the match. */
  check?: (m: RegExpExecArray, description: string) => string | null;
}

function regexDetector(f: RegexFormat): Detector {
  return {
    needles: f.needles,
    find(s, out, rank) {
      f.re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = f.re.exec(s)) !== null) {
        if (m[0].length === 0) {
          f.re.lastIndex++;
          continue;
        }
        const description = f.check ? f.check(m, f.description) : f.description;
        if (description === null) continue;
        let start = m.index;
        let end = m.index + m[0].length;
        if (f.group !== undefined) start = end - (m[f.group] ?? "").length;
        out.push({ start, end, kind: f.kind, description, rank });
      }
    },
  };
}

/** Not a placeholder, and mixes character classes the way a random token does. */
function randomBody(body: string): boolean {
  if (looksLikePlaceholder(body)) return false;
  let classes = 0;
  if (/[a-z]/.test(body)) classes++;
  if (/[A-Z]/.test(body)) classes++;
  if (/[0-9]/.test(body)) classes++;
  return classes >= 2;
}

const checkRandom =
  (bodyGroup: number) =>
  (m: RegExpExecArray, description: string): string | null =>
    randomBody(m[bodyGroup] ?? "") ? description : null;

// Separators that stand for a line break in a key that was flattened: real newlines, spaces, or
// JSON/JS escapes at any nesting depth ("\n", "\\n", "\u000a").
const LINE_BREAK = String.raw`(?:\r?\n|\\{1,7}[rn]|\\{1,7}u000[aAdD])`;
const BODY_SEPARATORS = new RegExp(String.raw`(?:[ \t\r\n]|\\{1,7}[nrt]|\\{1,7}u000[aAdD9])+`);

const PURE_BASE64 = /^[A-Za-z0-9+/]+=*$/;
const PGP_CHECKSUM = /^=[A-Za-z0-9+/]{4}$/;
/** Armor headers ("Proc-Type: 4,ENCRYPTED", "Version: GnuPG", "Comment: …") come before the base64, and are short. */
const MAX_HEADER_CHARS = 400;

/**
 * A key body between BEGIN and END: optional armor headers, then base64 (one line or many, the
 * line breaks real, escaped or flattened to spaces). Not a "..." placeholder, prose or code.
 */
function pemBodyLooksLikeKey(body: string): boolean {
  let longest = 0;
  let headerChars = 0;
  let b64 = "";
  for (const token of body.split(BODY_SEPARATORS)) {
    if (token === "") continue;
    if (PURE_BASE64.test(token)) {
      longest = Math.max(longest, token.length);
      if (b64.length < 4096) b64 += token;
      continue;
    }
    if (longest >= 16 && PGP_CHECKSUM.test(token)) continue;
    // Anything else is a header, allowed only before the key material starts.
    if (longest >= 16 || token.includes("..") || (headerChars += token.length) > MAX_HEADER_CHARS) return false;
  }
  if (longest < 16) return false;
  // Not looksLikePlaceholder: key bodies are full of "A" (zero bytes of length fields), and long
  // enough that words like "here" occur by chance. Variety of characters is the test.
  return charStats(b64).distinct >= 10 && /[0-9+/]/.test(b64) && /[A-Z]/.test(b64) && /[a-z]/.test(b64);
}

/** Without an END line: the body is what follows the header while it stays base64, headers or line breaks. */
const PEM_HEADER_LINES = new RegExp(String.raw`(?:[ \t]*${LINE_BREAK}?[A-Za-z]{2,20}(?:-[A-Za-z]{2,20}){0,3}: [^\r\n\\]{1,200})*`, "y");
const PEM_OPEN_BODY = new RegExp(String.raw`(?:[A-Za-z0-9+/=]|[ \t\r\n]|\\{1,7}[nrt]|\\{1,7}u000[aAdD])*`, "y");

interface BlockFormat {
  kind: string;
  description: string;
  needles: readonly string[];
  begin: RegExp;
  end: RegExp;
  /** Body check when the END marker is present. */
  closedBody(body: string): boolean;
  /** When the END marker is missing (truncated, or left off on purpose): the end of the secret, or -1. */
  openEnd(s: string, from: number): number;
}

/**
 * A begin marker, a body, an end marker. Each BEGIN pairs with the first END after it, provided no
 * other BEGIN comes first; both lists are found in one pass each, so a text full of BEGINs with no
 * END stays linear.
 */
function blockDetector(f: BlockFormat): Detector {
  return {
    needles: f.needles,
    find(s, out, rank) {
      const begins: Array<[number, number]> = [];
      const ends: Array<[number, number]> = [];
      f.begin.lastIndex = 0;
      for (let m; (m = f.begin.exec(s)) !== null; ) begins.push([m.index, m.index + m[0].length]);
      if (begins.length === 0) return;
      f.end.lastIndex = 0;
      for (let m; (m = f.end.exec(s)) !== null; ) ends.push([m.index, m.index + m[0].length]);
      let e = 0;
      for (let i = 0; i < begins.length; i++) {
        const [start, headerEnd] = begins[i]!;
        const nextBegin = begins[i + 1]?.[0] ?? Infinity;
        while (e < ends.length && ends[e]![0] < headerEnd) e++;
        const end = ends[e];
        if (end && end[0] < nextBegin) {
          if (f.closedBody(s.slice(headerEnd, end[0]))) out.push({ start, end: end[1], kind: f.kind, description: f.description, rank });
          continue;
        }
        const openEnd = f.openEnd(s, headerEnd);
        if (openEnd > headerEnd) out.push({ start, end: openEnd, kind: f.kind, description: `${f.description} (no END line)`, rank });
      }
    },
  };
}

const PERCENT_RUN = /[A-Za-z0-9%+/=._~-]*/y;

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

const toBase64Url = (b64: string) => b64.replace(/\+/g, "-").replace(/\//g, "_");

/** An encoded run is followed this far; a key is looked for in this much after the encoded BEGIN (key files are a few kB). */
const MAX_ENCODED_RUN = 1 << 20;
const MAX_DECODED_WINDOW = 64 * 1024;

/**
 * A whole key file sent base64- or hex-encoded (a common way to pass one through a single field):
 * the run of encoded text around the encoded "-----BEGIN " is decoded and given to the PEM detector.
 */
function encodedPemDetector(encoding: "base64" | "hex", needles: string[], alphabet: RegExp): Detector {
  return {
    needles,
    find(s, out, rank) {
      const hits: number[] = [];
      for (const needle of needles) for (let at = s.indexOf(needle); at !== -1; at = s.indexOf(needle, at + 1)) hits.push(at);
      hits.sort((a, b) => a - b);
      let done = 0;
      for (const at of hits) {
        if (at < done) continue;
        let start = at;
        while (start > 0 && at - start < 8 && alphabet.test(s[start - 1]!)) start--;
        let end = at + 1;
        while (end < s.length && end - start < MAX_ENCODED_RUN && alphabet.test(s[end]!)) end++;
        while (end < s.length && s[end] === "=") end++;
        done = end;
        // The encoded text may start a few characters before the needle: try each alignment once
        // (4 characters make a base64 group, 2 a hex byte).
        const group = encoding === "hex" ? 2 : 4;
        for (let k = start; k <= at && k < start + group; k++) {
          const run = s.slice(k, Math.min(end, at + MAX_DECODED_WINDOW));
          const decoded = encoding === "hex" ? Buffer.from(run.slice(0, run.length & ~1), "hex").toString("latin1") : base64Decode(run).toString("latin1");
          const found: Span[] = [];
          PEM_DETECTOR.find(decoded, found, rank);
          if (found.length > 0) {
            out.push({ start: k, end, kind: "private-key", description: `private key (${encoding}-encoded PEM block)`, rank });
            break;
          }
        }
      }
    },
  };
}

function pemOpenEnd(s: string, from: number): number {
  PEM_HEADER_LINES.lastIndex = from;
  PEM_HEADER_LINES.exec(s);
  PEM_OPEN_BODY.lastIndex = PEM_HEADER_LINES.lastIndex;
  const m = PEM_OPEN_BODY.exec(s);
  if (!m) return -1;
  const body = m[0];
  let longest = 0;
  for (const token of body.split(BODY_SEPARATORS)) longest = Math.max(longest, token.length);
  if (longest < 32 || !pemBodyLooksLikeKey(body)) return -1;
  // Stop after the last base64 character, not after trailing separators.
  const trimmed = body.replace(/(?:[ \t\r\n]|\\{1,7}[nrt]|\\{1,7}u000[aAdD])+$/, "");
  return PEM_OPEN_BODY.lastIndex - body.length + trimmed.length;
}

/** DER of a private key: SEQUENCE { INTEGER 0|1, then INTEGER (PKCS#1 RSA, DSA), SEQUENCE (PKCS#8) or OCTET STRING (SEC1 EC) }. */
function derLooksLikePrivateKey(b64: string): boolean {
  const bytes = base64Decode(b64.slice(0, 16));
  if (bytes[0] !== 0x30) return false;
  const lenByte = bytes[1] ?? 0;
  const header = lenByte < 0x80 ? 2 : lenByte >= 0x81 && lenByte <= 0x83 ? 2 + (lenByte - 0x80) : -1;
  if (header < 0) return false;
  if (bytes[header] !== 0x02 || bytes[header + 1] !== 0x01) return false;
  const version = bytes[header + 2];
  const next = bytes[header + 3];
  return (version === 0 || version === 1) && (next === 0x02 || next === 0x30 || next === 0x04);
}

/** JOSE header: base64url JSON object naming an algorithm. */
function jwtHeaderValid(part: string): boolean {
  try {
    const header: unknown = JSON.parse(base64Decode(part).toString("utf8"));
    return typeof header === "object" && header !== null && !Array.isArray(header) && typeof (header as { alg?: unknown }).alg === "string";
  } catch {
    return false;
  }
}

function basicCredentialsValid(b64: string): boolean {
  const text = base64Decode(b64).toString("utf8");
  const colon = text.indexOf(":");
  return colon > 0 && colon < text.length - 1 && /^[\x20-\x7e]+$/.test(text);
}

const DATABASE_SCHEMES = new Set([
  "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "mssql", "sqlserver",
  "oracle", "cockroachdb", "clickhouse", "cassandra", "couchdb", "neo4j", "neo4j+s", "bolt", "amqp", "amqps",
  "db2", "snowflake", "memcached", "elasticsearch", "influxdb", "nats",
]);
const URL_USERINFO = /([^\s:@/"'<>\\]{0,128}):([^\s@/"'<>\\]{1,256})@(?=[\w[\].-])/y;
const URL_SCHEME_BEFORE = /(?:^|[^A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}?(?::[a-z]{2,20})?)$/d;
const PASSWORD_PLACEHOLDERS = new Set(["password", "passwd", "pass", "pwd", "secret", "pw", "changeme", "your_password", "your-password", "yourpassword", "mypassword", "xxx", "xxxx"]);

/** user:password@ after "scheme://": found from each "://" rather than a regex that would try every letter of the text. */
const urlPasswordDetector: Detector = {
  needles: ["://"],
  find(s, out, rank) {
    for (let at = s.indexOf("://"); at !== -1; at = s.indexOf("://", at + 3)) {
      const windowStart = Math.max(0, at - 40);
      const found = URL_SCHEME_BEFORE.exec(s.slice(windowStart, at));
      if (!found) continue;
      let scheme = found[1]!;
      if (isEscapeLetter(s, windowStart + found.indices![1]![0])) scheme = scheme.slice(1);
      if (scheme === "") continue;
      URL_USERINFO.lastIndex = at + 3;
      const m = URL_USERINFO.exec(s);
      if (!m) continue;
      const password = m[2]!;
      if (isPasswordPlaceholder(password)) continue;
      const start = at + 3 + m[1]!.length + 1;
      const base = scheme.toLowerCase().replace(/^jdbc:/, "");
      const database = DATABASE_SCHEMES.has(base);
      out.push({
        start,
        end: start + password.length,
        kind: database ? "database-url-password" : "url-password",
        description: database ? `password in a ${base} connection URL` : "password in the user-info part of a URL",
        rank,
      });
    }
  },
};

function isPasswordPlaceholder(p: string): boolean {
  const lower = p.toLowerCase();
  if (PASSWORD_PLACEHOLDERS.has(lower)) return true;
  if (/^[*x.•]+$/i.test(p) || /^[$%{<[]/.test(p) || p.includes("${") || p.includes("{{")) return true;
  return /^(?:your|my|db|the)?[_-]?(?:password|passwd|pass|pwd|secret)$/i.test(p);
}

// ---------------------------------------------------------------------------------------------
// Generic "name = value" assignments: only when the name says secret and the value looks random.

/**
 * Average length of the runs of one character class (a capitalised word counts as one run). Random
 * tokens switch class every one or two characters; words and camelCase identifiers do not.
 */
function averageRunLength(s: string): number {
  const runs = s.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9_.-]+/g) ?? [];
  const counted = runs.reduce((n, r) => n + r.length, 0);
  return runs.length === 0 ? Infinity : counted / runs.length;
}

/**
 * High-entropy and not obviously something else: a reference (`${X}`, `$X`, `process.env.X`), a path
 * or URL, an identifier (`userPassword`), a date, or a fill-in. Prose never passes (no whitespace allowed).
 */
function looksLikeSecretValue(v: string): boolean {
  if (v.length < 8 || v.length > 512 || /\s/.test(v)) return false;
  if (/^[$%<{[@&*#]/.test(v) || v.includes("${") || v.includes("{{")) return false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^(?:\/|\.\.?\/|~\/|[A-Za-z]:\\)/.test(v)) return false;
  if (/^[A-Z][A-Z0-9_]*$/.test(v) || /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\))?$/.test(v)) return false;
  if (/^[\d:.\-TZ+/]+$/i.test(v) && /^\d{2,4}[-/.]\d{1,2}/.test(v)) return false;
  if (PLACEHOLDER_TEXT.test(v)) return false;
  const stats = charStats(v);
  if (stats.dominant > 0.4) return false;
  const lower = /[a-z]/.test(v);
  const upper = /[A-Z]/.test(v);
  const digit = /[0-9]/.test(v);
  const symbol = /[^A-Za-z0-9_.-]/.test(v);
  const classes = +lower + +upper + +digit + +symbol;
  if (classes < 2) return false;
  if (stats.entropy < (v.length >= 12 ? 3.0 : 2.5)) return false;
  // Passwords with symbols are accepted on entropy; alphanumerics must also be choppy, as random text is
  // (words and camelCase identifiers have long runs of one class).
  if (symbol && classes >= 3) return true;
  return averageRunLength(v) <= 3;
}

const GENERIC_ASSIGNMENT =
  /(password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth)([A-Za-z0-9_-]{0,24})(?:\\{0,7}["'])?[ \t]{0,4}(?:[:=]|=>)[ \t]{0,4}(?:\\{0,7}["'])?((?:Bearer|Basic|token)[ \t]+)?([^\s"'\\,;&<>{}()[\]`]{8,256})/gi;
const NAME_CHAR = /[A-Za-z0-9_.-]/;

/** The "n" of an escaped "\n" in JSON text: a separator, not part of the name that follows it. */
function isEscapeLetter(s: string, at: number): boolean {
  return at > 0 && s[at - 1] === "\\" && "nrtbf".includes(s[at]!);
}

/** The usual spellings; a name in mIxEd case is left to the property-name check. */
const casings = (words: readonly string[]) => words.flatMap((w) => [w, w[0]!.toUpperCase() + w.slice(1), w.toUpperCase()]);

const genericAssignmentDetector: Detector = {
  needles: casings(["pass", "pwd", "secret", "token", "key", "auth", "cred"]),
  find(s, out, rank) {
    GENERIC_ASSIGNMENT.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = GENERIC_ASSIGNMENT.exec(s)) !== null) {
      const labelStart = m.index;
      let nameStart = labelStart;
      while (nameStart > 0 && labelStart - nameStart < 40 && NAME_CHAR.test(s[nameStart - 1]!) && !isEscapeLetter(s, nameStart - 1)) nameStart--;
      const name = s.slice(nameStart, labelStart) + m[1]! + m[2]!;
      let value = m[4]!;
      value = value.replace(/[.]+$/, "");
      if (!isSecretName(name) || !looksLikeSecretValue(value)) {
        // Resume right after the label, so an assignment inside a rejected value is still seen.
        GENERIC_ASSIGNMENT.lastIndex = labelStart + m[1]!.length;
        continue;
      }
      // The value ends the match.
      const valueStart = m.index + m[0].length - m[4]!.length;
      out.push({ start: valueStart, end: valueStart + value.length, kind: "generic-secret", description: "high-entropy value assigned to a secret-named field", rank });
    }
  },
};

/** `{"password": "…"}` as parsed data: the name is the property key, not part of the string. */
function namedValueSpan(key: string, s: string, rank: number): Span | null {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (/^(?:aws)?secretaccesskey$|^awssecret(?:key)?$/.test(normalized) && /^[A-Za-z0-9/+]{40}$/.test(s) && randomBody(s)) {
    return { start: 0, end: s.length, kind: "aws-secret-access-key", description: "AWS secret access key (labelled)", rank };
  }
  if (!isSecretName(key)) return null;
  const scheme = /^(?:Bearer|Basic|token)[ \t]+/i.exec(s);
  const from = scheme ? scheme[0].length : 0;
  const value = s.slice(from);
  if (!looksLikeSecretValue(value)) return null;
  return { start: from, end: s.length, kind: "generic-secret", description: "high-entropy value of a secret-named property", rank };
}


const PEM_DETECTOR = blockDetector({
  kind: "private-key",
  description: "private key (PEM or OpenSSH block)",
  needles: ["BEGIN", "begin"],
  begin: /-{3,5} ?BEGIN ((?:[A-Z0-9]{1,20} ){0,4})PRIVATE KEY(?: BLOCK)? ?-{3,5}/gi,
  end: /-{3,5} ?END ((?:[A-Z0-9]{1,20} ){0,4})PRIVATE KEY(?: BLOCK)? ?-{3,5}/gi,
  closedBody: pemBodyLooksLikeKey,
  openEnd: pemOpenEnd,
});

/**
 * The first three base64 characters of a DER private key: SEQUENCE (0x30), then a short-form length
 * from 0x2e (the 48 bytes of an Ed25519 key) followed by INTEGER (0x02), or a long-form 0x81 to 0x83
 * followed by any length byte (only its top two bits reach the third character).
 */
const DER_KEY_STARTS = [
  ...new Set([
    ...Array.from({ length: 0x80 - 0x2e }, (_, i) => [0x30, 0x2e + i, 0x02]),
    ...[0x81, 0x82, 0x83].flatMap((len) => [0x00, 0x40, 0x80, 0xc0].map((next) => [0x30, len, next])),
  ].map((bytes) => Buffer.from(bytes).toString("base64").slice(0, 3))),
];

/** In table order: on a tie between overlapping matches of equal length, the earlier entry names the span. */
const FORMAT_DETECTORS: readonly Detector[] = [
  PEM_DETECTOR,
  blockDetector({
    // encodeURIComponent or form encoding of a whole key file: spaces as %20 or +, newlines as %0A.
    kind: "private-key",
    description: "private key (percent-encoded PEM block)",
    needles: ["BEGIN%20", "BEGIN+"],
    begin: /-{3,5}(?:%20|\+)?BEGIN(?:%20|\+)(?:[A-Z0-9]{1,20}(?:%20|\+)){0,4}PRIVATE(?:%20|\+)KEY(?:(?:%20|\+)BLOCK)?(?:%20|\+)?-{3,5}/gi,
    end: /-{3,5}(?:%20|\+)?END(?:%20|\+)(?:[A-Z0-9]{1,20}(?:%20|\+)){0,4}PRIVATE(?:%20|\+)KEY(?:(?:%20|\+)BLOCK)?(?:%20|\+)?-{3,5}/gi,
    closedBody: (body) => pemBodyLooksLikeKey(percentDecoded(body)),
    openEnd: (s, from) => {
      PERCENT_RUN.lastIndex = from;
      const m = PERCENT_RUN.exec(s);
      return m && pemBodyLooksLikeKey(percentDecoded(m[0])) ? from + m[0].length : -1;
    },
  }),
  encodedPemDetector("base64", [...base64Cores(Buffer.from("-----BEGIN ")), ...base64Cores(Buffer.from("-----BEGIN ")).map(toBase64Url)], /[A-Za-z0-9+/_-]/),
  encodedPemDetector("hex", ["2d2d2d2d2d424547494e20", "2D2D2D2D2D424547494E20"], /[0-9A-Fa-f]/),
  blockDetector({
    kind: "private-key",
    description: "PuTTY private key file",
    needles: ["PuTTY-User-Key-File"],
    begin: /PuTTY-User-Key-File-\d: ?[A-Za-z0-9-]{1,40}/g,
    end: /Private-(?:MAC|Hash): ?[0-9a-fA-F]{16,128}/g,
    closedBody: (body) => body.includes("Private-Lines"),
    openEnd: (s, from) => {
      const lines = s.indexOf("Private-Lines", from);
      return lines === -1 || lines - from > 65536 ? -1 : Math.min(s.length, lines + 65536);
    },
  }),
  regexDetector({
    // The base64 of an OpenSSH key container always starts with "openssh-key-v1\0".
    kind: "private-key",
    description: "OpenSSH private key body (no header)",
    needles: ["b3BlbnNzaC1rZXktdjE"],
    re: new RegExp(String.raw`${after("A-Za-z0-9+/")}b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/]*={0,2}(?:(?:${LINE_BREAK}|[ \t]){1,4}[A-Za-z0-9+/]{4,}={0,2}){0,2000}`, "g"),
  }),
  regexDetector({
    kind: "private-key",
    description: "DER private key in base64 (PKCS#1, PKCS#8 or SEC1, no header)",
    needles: DER_KEY_STARTS,
    re: new RegExp(String.raw`${after("A-Za-z0-9+/")}M[A-Za-z0-9+/]{63,}={0,2}(?:${LINE_BREAK}{1,2}[A-Za-z0-9+/]{4,}={0,2}){0,2000}`, "g"),
    check: (m, d) => (derLooksLikePrivateKey(m[0]) ? d : null),
  }),
  regexDetector({
    kind: "aws-access-key-id",
    description: "AWS access key id",
    needles: ["AKIA", "ASIA", "ABIA", "ACCA"],
    // Key ids are base32 after the prefix: letters and 2-7 only.
    re: new RegExp(String.raw`${after("A-Za-z0-9")}(?:AKIA|ASIA|ABIA|ACCA)([A-Z2-7]{16})(?![A-Za-z0-9])`, "g"),
    check: (m, d) => (looksLikePlaceholder(m[1]!) ? null : d),
  }),
  regexDetector({
    kind: "aws-secret-access-key",
    description: "AWS secret access key (labelled)",
    needles: casings(["secret"]),
    re: /(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_?secret)(?:\\{0,7}["'])?[ \t]{0,4}[:=][ \t]{0,4}(?:\\{0,7}["'])?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "github-token",
    description: "GitHub token",
    needles: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}gh[pousr]_([A-Za-z0-9]{36,251})(?![A-Za-z0-9_])`, "g"),
    check: (m, d) => {
      const body = m[1]!;
      if (!randomBody(body)) return null;
      return body.length === 36 && base62Crc32Valid(body) ? `${d} (checksum valid)` : d;
    },
  }),
  regexDetector({
    kind: "github-token",
    description: "GitHub fine-grained personal access token",
    needles: ["github_pat_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}github_pat_([A-Za-z0-9]{20,30}_[A-Za-z0-9]{50,70})(?![A-Za-z0-9_])`, "g"),
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "gitlab-token",
    description: "GitLab token",
    needles: ["glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-", "glimt-", "glagent-", "gloas-", "glffct-"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_-")}(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt|glimt|glagent|gloas|glffct)-([A-Za-z0-9_-]{20,300}(?:\.[A-Za-z0-9_-]{1,64}){0,3})(?![A-Za-z0-9_-])`, "g"),
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "slack-token",
    description: "Slack token",
    needles: ["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xapp-", "xoxe"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_-")}(?:xox[baprs]-((?:[0-9]{1,14}-){1,4})[A-Za-z0-9]{16,64}|xapp-\d-[A-Z0-9]{6,14}-\d{6,14}-[a-f0-9]{32,80}|xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{100,300})(?![A-Za-z0-9_-])`, "g"),
    // Team and user ids are long numbers; "xoxb-your-token-here" fails the class.
    check: (m, d) => (m[1] === undefined || /[0-9]{6}/.test(m[1]) || /^xox[ar]-2-/.test(m[0]) ? d : null),
  }),
  regexDetector({
    kind: "slack-webhook",
    description: "Slack incoming webhook URL",
    needles: ["hooks.slack.com"],
    re: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/T[A-Z0-9]{6,14}\/[A-Z0-9]{6,14}\/(?:[0-9]{4,20}\/)?[A-Za-z0-9]{16,64}/g,
  }),
  regexDetector({
    kind: "discord-webhook",
    description: "Discord webhook URL",
    needles: ["/api/webhooks/"],
    re: /https?:\/\/(?:ptb\.|canary\.)?discord(?:app)?\.com\/api\/webhooks\/[0-9]{15,22}\/[A-Za-z0-9_-]{50,100}/g,
  }),
  regexDetector({
    kind: "stripe-secret-key",
    description: "Stripe live secret or restricted key",
    needles: ["sk_live_", "rk_live_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}[sr]k_live_([A-Za-z0-9]{20,247})(?![A-Za-z0-9_])`, "g"),
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "stripe-webhook-secret",
    description: "Stripe webhook signing secret",
    needles: ["whsec_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}whsec_([A-Za-z0-9+/=]{32,100})(?![A-Za-z0-9_])`, "g"),
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "google-api-key",
    description: "Google API key",
    needles: ["AIza"],
    re: new RegExp(String.raw`${after(B64URL)}AIza([${B64URL}]{35})(?![${B64URL}])`, "g"),
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "google-oauth",
    description: "Google OAuth client secret or access token",
    needles: ["GOCSPX-", "ya29."],
    re: new RegExp(String.raw`${after(B64URL)}(?:GOCSPX-([${B64URL}]{28})|ya29\.([${B64URL}]{30,2048}))(?![${B64URL}])`, "g"),
    check: (m, d) => (randomBody(m[1] ?? m[2] ?? "") ? d : null),
  }),
  regexDetector({
    kind: "anthropic-api-key",
    description: "Anthropic API key",
    needles: ["sk-ant-"],
    re: new RegExp(String.raw`${after(B64URL)}sk-ant-[a-z]{2,10}\d{0,3}-([${B64URL}]{20,300})(?![${B64URL}])`, "g"),
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "openai-api-key",
    description: "OpenAI API key",
    needles: ["sk-"],
    re: new RegExp(String.raw`${after(B64URL)}sk-(?!ant-)(?:(?:proj|svcacct|admin|None)-)?([${B64URL}]{32,300})(?![${B64URL}])`, "g"),
    // "T3BlbkFJ" is base64 of "OpenAI", embedded in every key since 2023; without it, demand a random body.
    check: (m, d) => (m[1]!.includes("T3BlbkFJ") ? `${d} (marker found)` : randomBody(m[1]!) && averageRunLength(m[1]!) <= 3 ? d : null),
  }),
  regexDetector({
    kind: "npm-token",
    description: "npm access token",
    needles: ["npm_"],
    re: new RegExp(String.raw`${after(B62 + "_")}npm_([${B62}]{36})(?![${B62}_])`, "g"),
    check: (m, d) => (randomBody(m[1]!) ? (base62Crc32Valid(m[1]!) ? `${d} (checksum valid)` : d) : null),
  }),
  regexDetector({
    // A PyPI token is a macaroon; its serialization always begins with bytes 02 01 08, "AgE" in base64.
    kind: "pypi-token",
    description: "PyPI API token",
    needles: ["pypi-AgE"],
    re: new RegExp(String.raw`${after(B64URL)}pypi-AgE[${B64URL}]{50,2000}`, "g"),
  }),
  regexDetector({
    kind: "twilio-api-key",
    description: "Twilio API key SID",
    needles: [..."0123456789abcdef"].map((h) => `SK${h}`),
    re: new RegExp(String.raw`${after("A-Za-z0-9")}SK([0-9a-f]{32})(?![A-Za-z0-9])`, "g"),
    check: (m, d) => (looksLikePlaceholder(m[1]!) ? null : d),
  }),
  regexDetector({
    kind: "sendgrid-api-key",
    description: "SendGrid API key",
    needles: ["SG."],
    re: new RegExp(String.raw`${after(B64URL)}SG\.([${B64URL}]{22})\.([${B64URL}]{43})(?![${B64URL}])`, "g"),
    check: checkRandom(2),
  }),
  regexDetector({
    kind: "huggingface-token",
    description: "Hugging Face access token",
    needles: ["hf_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}hf_([A-Za-z]{34})(?![A-Za-z0-9_])`, "g"),
    check: (m, d) => (randomBody(m[1]!) && averageRunLength(m[1]!) <= 3 ? d : null),
  }),
  regexDetector({
    kind: "digitalocean-token",
    description: "DigitalOcean token",
    needles: ["_v1_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}do[opr]_v1_([a-f0-9]{64})(?![A-Za-z0-9_])`, "g"),
    check: (m, d) => (looksLikePlaceholder(m[1]!) ? null : d),
  }),
  regexDetector({
    kind: "shopify-token",
    description: "Shopify access token",
    needles: ["shpat_", "shpss_", "shpca_", "shppa_"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}shp(?:at|ss|ca|pa)_([a-fA-F0-9]{32})(?![A-Za-z0-9_])`, "g"),
    check: (m, d) => (looksLikePlaceholder(m[1]!) ? null : d),
  }),
  regexDetector({
    kind: "azure-storage-key",
    description: "Azure storage account key",
    needles: ["AccountKey="],
    re: /AccountKey=([A-Za-z0-9+/]{86}==)/g,
    group: 1,
    check: checkRandom(1),
  }),
  regexDetector({
    kind: "telegram-bot-token",
    description: "Telegram bot token",
    needles: [":AA"],
    re: new RegExp(String.raw`${after("A-Za-z0-9_")}[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])`, "g"),
  }),
  regexDetector({
    kind: "jwt",
    description: "JSON Web Token",
    // The header is a JSON object: base64url of `{"` is "eyJ", of `{ "` "eyA", of "{\n" "ewo", of "{\r\n" "ew0".
    needles: ["eyJ", "eyA", "ewo", "ew0"],
    re: new RegExp(String.raw`${after(B64URL)}((?:eyJ|eyA|ewo|ew0)[${B64URL}]{6,2048})\.([${B64URL}]{2,16384})\.([${B64URL}]{0,4096})(?:\.[${B64URL}]{0,16384}\.[${B64URL}]{0,1024})?(?![${B64URL}])`, "g"),
    check: (m, d) => (jwtHeaderValid(m[1]!) ? d : null),
  }),
  urlPasswordDetector,
  regexDetector({
    kind: "basic-auth",
    description: "HTTP Basic credentials",
    needles: ["asic"],
    re: new RegExp(String.raw`${after("A-Za-z0-9")}[Bb]asic[ \t]+([A-Za-z0-9+/]{8,2048}={0,2})(?![A-Za-z0-9+/=])`, "g"),
    group: 1,
    check: (m, d) => (basicCredentialsValid(m[1]!) ? d : null),
  }),
  regexDetector({
    kind: "bearer-token",
    description: "bearer token",
    needles: ["earer"],
    re: new RegExp(String.raw`${after("A-Za-z0-9")}[Bb]earer[ \t]+([A-Za-z0-9._~+/-]{16,4096}={0,2})(?![A-Za-z0-9._~+/=-])`, "g"),
    group: 1,
    check: (m, d) => (looksLikeSecretValue(m[1]!) ? d : null),
  }),
  genericAssignmentDetector,
];

// ---------------------------------------------------------------------------------------------
// Configured values, in the encodings a value takes on its way out

/** Hex digit matched in either case, without making the whole pattern case-insensitive. */
function hexCaseless(byte: number): string {
  return byte
    .toString(16)
    .padStart(2, "0")
    .replace(/[a-f]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

// Up to 3 levels of JSON-in-JSON: a quote escapes as 1, 3, 7 backslashes, a \u as 1, 2, 4.
const BACKSLASHES = String.raw`\\{1,7}`;
const SHORT_ESCAPES: Record<string, string> = { "\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f" };
const HTML_ENTITIES: Record<string, string[]> = { "&": ["&amp;"], "<": ["&lt;"], ">": ["&gt;"], '"': ["&quot;"], "'": ["&#39;", "&#x27;", "&apos;"] };

/**
 * One character in every spelling it can take: itself, JSON/JS-escaped at any nesting depth
 * (`\"`, `\\\"`, `\u0041`), percent-encoded once or twice (`%41`, `%2541`, `+` for space), or as an
 * HTML entity. Mixed spellings in one value match too, as real encoders produce them.
 */
function spellCharacter(ch: string): string {
  const alts: string[] = [];
  if (ch === "\\") alts.push(String.raw`\\{1,8}`);
  else if (ch === '"' || ch === "/" || ch === "'") alts.push(String.raw`\\{0,7}` + escapeRegExp(ch));
  else alts.push(escapeRegExp(ch));
  const short = SHORT_ESCAPES[ch];
  if (short) alts.push(BACKSLASHES + short);
  for (let i = 0; i < ch.length; i++) {
    const unit = ch.charCodeAt(i);
    alts.push(BACKSLASHES + "u" + [unit >> 8, unit & 0xff].map(hexCaseless).join(""));
  }
  // A lone surrogate has no UTF-8 form: it only ever matches itself or its \u escape.
  if (ch.length === 1 && ch.charCodeAt(0) >= 0xd800 && ch.charCodeAt(0) <= 0xdfff) return `(?:${alts.join("|")})`;
  alts.push([...Buffer.from(ch, "utf8")].map((b) => `%(?:25)?${hexCaseless(b)}`).join(""));
  if (ch === " ") alts.push(String.raw`\+`);
  for (const entity of HTML_ENTITIES[ch] ?? []) alts.push(escapeRegExp(entity));
  return `(?:${alts.join("|")})`;
}

/** Characters that none of the encodings above changes. */
const UNCHANGED_RUN = /[A-Za-z0-9_.~-]+/g;
const ANCHOR_LENGTH = 4;

/**
 * Literals of which every supported spelling of `value` contains at least one: its longest run of
 * characters no encoder touches (else the start of each encoder's output), plus the start of the
 * fully percent-encoded and fully \u-escaped forms, in which no character survives.
 */
function spellingAnchors(value: string): string[] {
  const anchors = new Set<string>();
  const runs = value.match(UNCHANGED_RUN) ?? [];
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a), "");
  if (longest.length >= ANCHOR_LENGTH) anchors.add(longest);
  else {
    const json = JSON.stringify(value).slice(1, -1);
    for (const form of [value, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(value)]) anchors.add(form.slice(0, 6));
  }
  const head = Buffer.from(Array.from(value).slice(0, 3).join(""), "utf8");
  const percent = [...head].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");
  anchors.add(percent.toUpperCase().slice(0, 9));
  anchors.add(percent.slice(0, 9));
  const units = value.slice(0, 2);
  const uEscaped = [...units].map((c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")).join("");
  anchors.add(uEscaped);
  anchors.add(uEscaped.replace(/[a-f]/g, (c) => c.toUpperCase()));
  return [...anchors].filter((a) => a.length >= 2);
}

/**
 * Base64 of the value as it sits inside a longer encoded text, at each of the 3 byte alignments:
 * the characters fully determined by the value's bytes, whatever comes before or after. At
 * alignment 0 and a value length divisible by 3 this is the plain base64 of the value.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const encoded = padded.toString("base64");
    const core = encoded.slice(k > 0 ? 4 : 0, Math.floor(padded.length / 3) * 4);
    if (core.length >= 8) cores.push(core);
  }
  return cores;
}

type FormKind = "spelled" | "literal" | "base64" | "base64url" | "hex";

interface ConfiguredValue {
  name: string;
  value: string;
  /** Global; null for values too long to spell char by char (their literal forms cover them). */
  spelled: RegExp | null;
}

interface LiteralForm {
  owner: number;
  text: string;
  form: FormKind;
}

const FORM_WORDS: Record<FormKind, string> = {
  spelled: "escaped or percent-encoded",
  literal: "escaped or percent-encoded",
  base64: "base64-encoded",
  base64url: "base64url-encoded",
  hex: "hex-encoded",
};

function configuredSpan(value: ConfiguredValue, start: number, end: number, form: FormKind, verbatim: boolean): Span {
  const how = verbatim ? "" : `, ${FORM_WORDS[form]}`;
  return { start, end, kind: `configured:${value.name}`, description: `value of the configured secret ${value.name}${how}`, rank: 0 };
}

function findSpelled(value: ConfiguredValue, s: string, out: Span[]): void {
  const re = value.spelled!;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) out.push(configuredSpan(value, m.index, m.index + m[0].length, "spelled", m[0] === value.value));
}

function findLiteral(form: LiteralForm, value: ConfiguredValue, s: string, out: Span[]): void {
  for (let at = s.indexOf(form.text); at !== -1; at = s.indexOf(form.text, at + form.text.length)) {
    let start = at;
    let end = at + form.text.length;
    if (form.form === "base64" || form.form === "base64url") {
      // The core leaves out the up to 4 characters at each edge that mix the value's bits with its
      // neighbours'; they still leak a few bits, so the redaction takes them too.
      const alphabet = form.form === "base64" ? /[A-Za-z0-9+/]/ : /[A-Za-z0-9_-]/;
      for (let i = 0; i < 4 && start > 0 && alphabet.test(s[start - 1]!); i++) start--;
      for (let i = 0; i < 4 && end < s.length && alphabet.test(s[end]!); i++) end++;
      while (end < s.length && s[end] === "=") end++;
    }
    out.push(configuredSpan(value, start, end, form.form, form.form === "literal" && form.text === value.value));
  }
}

// ---------------------------------------------------------------------------------------------
// Which detectors, spellings and literals to try on a text: one pass over it with a hashed table of
// the needles' first three characters. Measured on 1 MB of mixed text: 66 `String.includes` calls
// cost 12 ms, the rule engine's Aho–Corasick index (glob.ts) 34 ms because needles as common as
// "key" fire at every other word, a table of first two characters 11 ms (English is full of "se"
// and "ea"), this table a few ms. Each trigger fires at most once per text.

type Trigger = { detector: number } | { spelled: number } | { literal: number };

const HEAD_BITS = 16;
const HEAD_MASK = (1 << HEAD_BITS) - 1;
const headHash = (c1: number, c2: number, c3: number) => ((c1 << 10) ^ (c2 << 5) ^ c3 ^ (c1 >> 6)) & HEAD_MASK;

class Triggers {
  private readonly needles: string[] = [];
  private readonly triggerOf: number[] = [];
  private readonly triggers: Trigger[] = [];
  /** Hash of the first three characters → 1 + index into `buckets`; collisions are sorted out by startsWith. */
  private readonly heads = new Int32Array(1 << HEAD_BITS);
  private readonly buckets: number[][] = [];
  /** Needles shorter than 3 or not starting with three ASCII characters: tested with `includes`. */
  private readonly others: number[] = [];
  private readonly fired: Uint8Array;

  constructor(entries: ReadonlyArray<[needle: string, trigger: Trigger]>) {
    const triggerIds = new Map<Trigger, number>();
    for (const [needle, trigger] of entries) {
      let id = triggerIds.get(trigger);
      if (id === undefined) {
        id = this.triggers.length;
        triggerIds.set(trigger, id);
        this.triggers.push(trigger);
      }
      const n = this.needles.length;
      this.needles.push(needle);
      this.triggerOf.push(id);
      const [c1, c2, c3] = [needle.charCodeAt(0), needle.charCodeAt(1), needle.charCodeAt(2)];
      if (!(c1 < 128 && c2 < 128 && c3 < 128)) {
        this.others.push(n); // NaN (a short needle) fails the comparison too
        continue;
      }
      const head = headHash(c1, c2, c3);
      if (this.heads[head] === 0) {
        this.buckets.push([]);
        this.heads[head] = this.buckets.length;
      }
      this.buckets[this.heads[head]! - 1]!.push(n);
    }
    this.fired = new Uint8Array(this.triggers.length);
  }

  /** Calls `fire` once for each trigger with a needle in `s`. */
  forEach(s: string, fire: (t: Trigger) => void): void {
    const fired = this.fired;
    fired.fill(0);
    const heads = this.heads;
    let c1 = s.charCodeAt(0);
    let c2 = s.charCodeAt(1);
    for (let i = 2; i < s.length; i++) {
      const c3 = s.charCodeAt(i);
      const b = heads[headHash(c1, c2, c3)]!;
      c1 = c2;
      c2 = c3;
      if (b === 0) continue;
      const bucket = this.buckets[b - 1]!;
      for (let j = 0; j < bucket.length; j++) {
        const n = bucket[j]!;
        const t = this.triggerOf[n]!;
        if (fired[t] === 0 && s.startsWith(this.needles[n]!, i - 2)) {
          fired[t] = 1;
          fire(this.triggers[t]!);
        }
      }
    }
    for (const n of this.others) {
      const t = this.triggerOf[n]!;
      if (fired[t] === 0 && s.includes(this.needles[n]!)) {
        fired[t] = 1;
        fire(this.triggers[t]!);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The walk

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_PATH_KEY = 80;
const UNSCANNABLE_MARK = "[REDACTED:unscannable]";

function childPath(parent: string, key: string): string {
  const shown = key.length > MAX_PATH_KEY ? `${key.slice(0, MAX_PATH_KEY - 1)}…` : key;
  if (IDENTIFIER.test(shown)) return parent === "" ? shown : `${parent}.${shown}`;
  return `${parent}[${JSON.stringify(shown)}]`;
}

function applySpans(s: string, spans: Span[]): string {
  let out = "";
  let at = 0;
  for (const sp of spans) {
    out += s.slice(at, sp.start) + `[REDACTED:${sp.kind}]`;
    at = sp.end;
  }
  return out + s.slice(at);
}

class Walk {
  readonly findings: SecretFinding[] = [];
  private nodes = 0;
  private chars = 0;
  private exhausted = false;
  private readonly reported = new Set<string>();
  private readonly ancestors = new Set<object>();

  constructor(
    private readonly limits: Required<SecretScanLimits>,
    private readonly scanText: (s: string, key: string | null) => Span[],
    private readonly numbers: boolean,
    private readonly redacting: boolean,
  ) {}

  private unscannable(path: string, reason: string, why: string): unknown {
    // One finding per reason: a hostile value must not be able to flood the audit record.
    if (!this.reported.has(reason)) {
      this.reported.add(reason);
      this.findings.push({ path, kind: "unscannable", description: why });
    }
    return UNSCANNABLE_MARK;
  }

  /** Budget for one more node of `chars` characters; false once any limit is passed. */
  private take(chars: number): boolean {
    if (this.exhausted) return false;
    this.nodes++;
    this.chars += chars;
    if (this.nodes > this.limits.maxNodes || this.chars > this.limits.maxChars) this.exhausted = true;
    return !this.exhausted;
  }

  private budgetExceeded(path: string): unknown {
    return this.unscannable(
      path,
      "budget",
      `value too large to scan for secrets (more than ${this.limits.maxNodes} values or ${this.limits.maxChars} characters)`,
    );
  }

  private text(s: string, path: string, key: string | null, what: string): string {
    const spans = mergeSpans(this.scanText(s, key));
    for (const sp of spans) this.findings.push({ path, kind: sp.kind, description: what === "" ? sp.description : `${sp.description}, ${what}` });
    return spans.length === 0 ? s : applySpans(s, spans);
  }

  visit(v: unknown, path: string, depth: number, key: string | null): unknown {
    if (typeof v === "string") {
      if (!this.take(v.length)) return this.budgetExceeded(path);
      return this.text(v, path, key, "");
    }
    if (typeof v === "number" || typeof v === "bigint") {
      if (!this.take(0)) return this.budgetExceeded(path);
      if (!this.numbers) return v;
      // A numeric secret (an account number, a PIN) sent as a JSON number.
      const asText = String(v);
      const red = this.text(asText, path, null, "");
      return red === asText ? v : red;
    }
    if (typeof v !== "object" || v === null) return v;
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    // What goes on the wire is the JSON form.
    if (typeof toJSON === "function") {
      const json: unknown = toJSON.call(v);
      if (json !== v) return this.visit(json, path, depth, key);
    }
    if (depth >= this.limits.maxDepth) return this.unscannable(path, "depth", `value nested deeper than ${this.limits.maxDepth} levels`);
    if (this.ancestors.has(v)) return this.unscannable(path, "circular", "value refers to itself (circular)");
    if (!this.take(0)) return this.budgetExceeded(path);
    this.ancestors.add(v);
    try {
      if (Array.isArray(v)) {
        const out: unknown[] = this.redacting ? new Array(v.length) : [];
        for (let i = 0; i < v.length; i++) {
          if (this.exhausted && !this.redacting) break;
          const r = this.visit(v[i], `${path}[${i}]`, depth + 1, null);
          if (this.redacting) out[i] = r;
        }
        return out;
      }
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (this.exhausted && !this.redacting) break;
        let redactedKey: string;
        if (!this.take(k.length)) redactedKey = this.budgetExceeded(childPath(path, "…")) as string;
        else {
          const before = this.findings.length;
          redactedKey = this.text(k, path, null, "in a property name");
          // A secret inside the key: report it at the property, with the key shown redacted.
          for (let i = before; i < this.findings.length; i++) this.findings[i]!.path = childPath(path, redactedKey);
        }
        const r = this.visit(x, childPath(path, redactedKey), depth + 1, k);
        if (!this.redacting) continue;
        // Two keys that redact alike must not overwrite each other.
        let name = redactedKey;
        for (let n = 2; Object.prototype.hasOwnProperty.call(out, name); n++) name = `${redactedKey}#${n}`;
        // defineProperty only for "__proto__", which must stay data; for every key it would slow V8 down.
        if (name === "__proto__") Object.defineProperty(out, name, { value: r, enumerable: true, writable: true, configurable: true });
        else out[name] = r;
      }
      return out;
    } finally {
      this.ancestors.delete(v);
    }
  }
}

// ---------------------------------------------------------------------------------------------

export function compileSecretScanner(opts: SecretScannerOptions): SecretScanner {
  const limits: Required<SecretScanLimits> = { ...DEFAULT_LIMITS, ...definedOnly(opts.limits ?? {}) };
  const rejected: string[] = [];
  const values: ConfiguredValue[] = [];
  const literals: LiteralForm[] = [];
  const needles: Array<[string, Trigger]> = [];
  const seen = new Set<string>();
  for (const entry of opts.values ?? []) {
    const name = String(entry?.name);
    if (typeof entry?.value !== "string" || entry.value.length < MIN_CONFIGURED_SECRET_LENGTH) {
      if (!rejected.includes(name)) rejected.push(name);
      continue;
    }
    if (seen.has(entry.value)) continue;
    seen.add(entry.value);
    const value = entry.value;
    const owner = values.length;
    const spelled = value.length <= MAX_SPELLED_LENGTH ? new RegExp(Array.from(value, spellCharacter).join(""), "g") : null;
    values.push({ name, value, spelled });
    if (spelled) {
      const trigger = { spelled: owner };
      for (const anchor of spellingAnchors(value)) needles.push([anchor, trigger]);
    }
    const forms = new Map<string, FormKind>();
    if (!spelled) {
      const json = JSON.stringify(value).slice(1, -1);
      for (const text of [value, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(value)]) forms.set(text, "literal");
    }
    const bytes = Buffer.from(value, "utf8");
    for (const core of base64Cores(bytes)) {
      forms.set(core, "base64");
      const url = toBase64Url(core);
      if (url !== core) forms.set(url, "base64url");
    }
    const hex = bytes.toString("hex");
    forms.set(hex, "hex");
    forms.set(hex.toUpperCase(), "hex");
    for (const [text, form] of forms) {
      needles.push([text, { literal: literals.length }]);
      literals.push({ owner, text, form });
    }
  }
  const formats = opts.formats !== false;
  const detectors = formats ? FORMAT_DETECTORS : [];
  detectors.forEach((d, i) => {
    const trigger = { detector: i };
    for (const n of d.needles) needles.push([n, trigger]);
  });
  const triggers = new Triggers(needles);
  const genericRank = detectors.length + 1;

  // Reused between calls (scans are synchronous): which detectors and values a text triggered.
  const detectorHit = new Uint8Array(detectors.length);
  const spelledHit = new Uint8Array(values.length);
  const scanText = (s: string, key: string | null): Span[] => {
    const spans: Span[] = [];
    if (s.length < MIN_SECRET_TEXT) return spans;
    detectorHit.fill(0);
    spelledHit.fill(0);
    // Literal forms are searched as soon as they are seen; detectors then run in table order.
    triggers.forEach(s, (t) => {
      if ("detector" in t) detectorHit[t.detector] = 1;
      else if ("spelled" in t) spelledHit[t.spelled] = 1;
      else {
        const form = literals[t.literal]!;
        findLiteral(form, values[form.owner]!, s, spans);
      }
    });
    for (let i = 0; i < values.length; i++) if (spelledHit[i]) findSpelled(values[i]!, s, spans);
    for (let i = 0; i < detectors.length; i++) if (detectorHit[i]) detectors[i]!.find(s, spans, i + 1);
    if (formats && key !== null) {
      const named = namedValueSpan(key, s, genericRank);
      if (named) spans.push(named);
    }
    return spans;
  };

  const run = (value: unknown, rootPath: string, redacting: boolean) => {
    const walk = new Walk(limits, scanText, values.length > 0, redacting);
    const out = walk.visit(value, rootPath, 0, null);
    return { value: out, findings: walk.findings };
  };

  return {
    scan: (value, rootPath = "") => run(value, rootPath, false).findings,
    redact: (value, rootPath = "") => run(value, rootPath, true),
    rejectedValues: rejected,
  };
}

function definedOnly(limits: SecretScanLimits): SecretScanLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => typeof v === "number" && v >= 0));
}
