// Canonical absolute form of a path an agent's file tool asks for. Pure: no filesystem access
// (symlinks are resolved separately, by resolveLinks in links.ts).
//
// Paths here are POSIX paths: `/` is the only separator and `\` is an ordinary file-name character.
import path from "node:path";

export type CanonicalPath =
  | {
      /** The path as a tool that takes it literally would open it: absolute, normalized, NFC. */
      path: string;
      /**
       * Present only for a plain (non-URI) path holding `%XX` escapes: the same path after
       * percent-decoding, for a tool that decodes. The literal reading stays in `path`, since a file
       * may really be named `100%41.txt`. Treat both as candidates, as for a symlink's link and
       * target: a deny matching either applies; an allow must match both.
       */
      decoded?: string;
      /**
       * Present only when the input has `..` segments: the absolute path with `.` and repeated `/`
       * removed but `..` kept, as the kernel walks it. `/p/link/../x` is `/p/x` lexically, but the
       * kernel goes to the parent of link's *target*. Pass it to resolveLinks (whose `link` is still
       * the lexical `path`) so that the target is where a tool that does not normalize would land.
       */
      physical?: string;
      /** `physical` for the `decoded` reading. */
      decodedPhysical?: string;
    }
  | { error: string };

const PERCENT = /%[0-9a-fA-F]{2}/;
const MAX_PATH_BYTES = 4096;
const FILE_URI = /^file:/i;

/**
 * `file://` URIs are decoded (only a local host: empty or `localhost`); `~` and `~/…` expand to
 * home; a relative path resolves against cwd; `.`, `..` and repeated separators are normalized
 * (`..` never climbs above `/`); a trailing separator is dropped; the result is Unicode NFC.
 * Rejected: empty input, input over 4096 bytes, NUL (raw or percent-encoded), `~user` forms, a remote or malformed URI,
 * and percent-escapes that do not decode to valid UTF-8 (ambiguous, so fail closed).
 */
export function canonicalizeRequestPath(input: string, cwd: string, home: string): CanonicalPath {
  if (typeof input !== "string" || input.length === 0) return { error: "empty path" };
  if (input.includes("\0")) return { error: "path contains a NUL character" };
  // Linux's PATH_MAX: the kernel refuses longer paths anyway, and it bounds the cost of glob matching.
  if (Buffer.byteLength(input, "utf8") > MAX_PATH_BYTES) return { error: `path is longer than ${MAX_PATH_BYTES} bytes` };
  if (!path.posix.isAbsolute(cwd)) return { error: `working directory is not absolute: ${cwd}` };
  if (!path.posix.isAbsolute(home)) return { error: `home directory is not absolute: ${home}` };

  if (FILE_URI.test(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      return { error: `malformed file URI: ${input}` };
    }
    if (url.hostname !== "" && url.hostname.toLowerCase() !== "localhost") {
      return { error: `file URI names a remote host (${url.hostname}): ${input}` };
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname);
    } catch {
      return { error: `file URI has invalid percent-encoding: ${input}` };
    }
    if (decoded.includes("\0")) return { error: "path contains a NUL character (percent-encoded)" };
    return finish(decoded, cwd, home);
  }

  const literal = finish(input, cwd, home);
  if ("error" in literal || !PERCENT.test(input)) return literal;
  // Only runs of well-formed `%XX` escapes are decoded (a lone `%` stays, as in `50%off%20sale`).
  let decoded: string;
  try {
    decoded = input.replace(PERCENT_RUN, (run) => decodeURIComponent(run));
  } catch {
    return { error: `path has percent-escapes that are not valid UTF-8: ${input}` };
  }
  if (decoded.includes("\0")) return { error: "path contains a NUL character (percent-encoded)" };
  const alt = finish(decoded, cwd, home);
  if ("error" in alt) return alt;
  if (alt.path === literal.path && alt.physical === literal.physical) return literal;
  return alt.physical === undefined ? { ...literal, decoded: alt.path } : { ...literal, decoded: alt.path, decodedPhysical: alt.physical };
}

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;

function finish(p: string, cwd: string, home: string): { path: string; physical?: string } | { error: string } {
  if (p.startsWith("~")) {
    if (p === "~") p = home;
    else if (p.startsWith("~/")) p = home + p.slice(1);
    else return { error: `~user paths are not supported: ${p}` };
  }
  const base = cwd.normalize("NFC");
  const rel = p.normalize("NFC");
  // resolve() normalizes `.`/`..`/`//` and drops a trailing `/`; on POSIX `/..` stays `/`.
  const abs = path.posix.resolve(base, rel);
  const joined = path.posix.isAbsolute(rel) ? rel : `${base}/${rel}`;
  const segs = joined.split("/").filter((s) => s !== "" && s !== ".");
  if (!segs.includes("..")) return { path: abs };
  return { path: abs, physical: "/" + segs.join("/") };
}
