// The filesystem guard: paths in an MCP server's tool arguments must stay inside configured roots.
//
// mcp-warden enforces this itself, whatever the server does: the reference filesystem server's own
// checks were bypassed twice (CVE-2025-53110: `/home/u/project2` passed a string-prefix test for
// `/home/u/project`; CVE-2025-53109: a symlink inside an allowed directory led outside it).
//
// A path argument is allowed only when EVERY reading of it is inside a root:
//   - the path as given (lexical: `~`, relative to cwd, `.`/`..`/`//` normalized) and its target
//     (symlinks resolved through the real path of its deepest existing ancestor, so a file that does
//     not exist yet under a symlinked directory, and a dangling symlink, count where they lead);
//   - in Unicode NFC (what the permission rules match) and byte-exact (what Linux compares: `café`
//     spelled NFD is another directory than `café` spelled NFC);
//   - a `file:` URI decoded (its only reading); with `\` read as a separator when the path holds one
//     (a server that normalizes Windows paths would).
// Plain paths are NOT percent-decoded for the roots check: `/p/%2e%2e` names a file literally called
// `%2e%2e` inside `/p`, which is what the reference server (and any POSIX tool) opens. The Read/Edit
// rules still see the decoded reading (the FileJudge canonicalizes it). See DECODED_PLAIN_PATHS.
// Inside a root means by path components, never a string prefix; case counts (Linux is case-sensitive;
// on macOS and Windows this is stricter than the file system, never looser). Roots are canonicalized
// the same way, and their real paths count too, so a root reached through a symlink works.
//
// A relative path is judged against cwd, and the gateway forwards it made absolute (absolutize):
// servers resolve relative paths against bases the guard cannot know (the reference server uses its
// first allowed directory), and `~` against their own home.
//
// Then the permission rules' Read(...)/Edit(...) patterns apply to the same path (through the
// FileJudge); without one, writes to protected paths (.git, .mcp.json, shell start-up files,
// mcp-warden's own files) need approval.
//
// Known limit, the check-then-use race: between this check and the server's open(), a path can be
// swapped for a symlink (or a directory on the way replaced) by anyone who can write inside a root;
// the server then follows it outside. A gateway that does not open the file itself cannot close
// that window. The sandbox, whose mounts expose only the roots to the server, closes it (a later
// issue). Likewise a server that recurses (directory_tree, search_files) sees what lies below the
// checked directory; the reference server does not descend into symlinked directories, others may.
// And paths are resolved on the gateway's file system: a server that sees another one (a container
// with its own mounts, a remote host) needs roots in its own terms, and its symlinks are not seen.
import { canonicalizeRequestPath, protectedReason, type CanonicalPath } from "../paths/index.js";
import type { FileJudge, PolicyEnvironment } from "../builtin/types.js";
import type { Verdict } from "../types.js";
import { exactSpellings, exactTarget, exists, lexical, within, type Spelling } from "./fs-spellings.js";
import { argumentLooksLikePath, buildToolTable, findPathLikeArgument, type Access, type ToolSpec } from "./fs-tools.js";

export interface FilesystemGuardConfig {
  roots: string[];
  tools?: Record<string, { read?: string[]; write?: string[] }>;
}

export interface FilesystemGuard {
  /**
   * A deny (or ask) verdict when a path argument of this call leaves the roots or a Read/Edit rule
   * objects to it; undefined when the call may proceed. `tool` is the upstream tool name. Never throws.
   */
  check(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Verdict | undefined;
}

/** The guard with a check of a single path, for what is not a tool call (a `file:` resource URI, a prompt argument). */
export interface FilesystemPathGuard extends FilesystemGuard {
  /** Like check, for one path; `label` names it in messages (`resource URI`). Never throws. */
  checkPath(value: unknown, access: Access, label: string, ctx: { cwd: string }): Verdict | undefined;
  /**
   * A copy of a call's arguments (after check passed) whose path arguments are absolute as judged:
   * a relative path joined to cwd (without normalizing, so `..` still walks as judged), `~` and `~/`
   * expanded to the judged home. Absolute paths and `file:` URIs are kept. The server then opens what
   * the guard judged, whatever base it would have resolved a relative path against (the reference
   * server resolves one against its first allowed directory, not its cwd) and whatever home it has.
   */
  absolutize(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Record<string, unknown>;
}

export type { Access } from "./fs-tools.js";

/**
 * Whether the percent-decoded reading of a plain (non-URI) path must be inside the roots too. Off:
 * a plain path is opened literally by the reference server and by POSIX tools, and a file may really
 * be named `report%2e%2e.txt`. Turn it on for servers that decode plain paths.
 */
export const DECODED_PLAIN_PATHS = false;

/** More values in one argument than this is refused rather than resolved one by one. */
const MAX_PATHS_PER_ARGUMENT = 1000;

/** `files`: the permission rules' Read/Edit judge, so those rules apply to the server's path arguments too. */
export function compileFilesystemGuard(config: FilesystemGuardConfig, env: PolicyEnvironment, files?: FileJudge): FilesystemGuard {
  return compileFilesystemPathGuard(config, env, files);
}

interface RootSet {
  /** For messages and the FileJudge's working directories: each root, canonical (NFC). */
  shown: string[];
  /** Roots (lexical and real) in NFC, for NFC readings. */
  nfc: string[];
  /** Roots (lexical and real) byte-exact, for exact readings. */
  exact: string[];
}

/** compileFilesystemGuard, with checkPath. */
export function compileFilesystemPathGuard(config: FilesystemGuardConfig, env: PolicyEnvironment, files?: FileJudge): FilesystemPathGuard {
  let configError: string | undefined;
  let tools = new Map<string, ToolSpec>();
  try {
    if (!config || typeof config !== "object") configError = "guards.filesystem is not an object";
    else if (!Array.isArray(config.roots) || config.roots.length === 0) configError = "guards.filesystem.roots is empty: no path can be inside it";
    else if (!config.roots.every((r) => typeof r === "string" && r.length > 0)) configError = "guards.filesystem.roots holds an entry that is not a non-empty string";
    tools = buildToolTable(config?.tools);
  } catch (e) {
    configError = `guards.filesystem cannot be compiled: ${(e as Error).message}`;
  }
  const roots: string[] = configError ? [] : [...config.roots];

  // Roots are resolved afresh for every call (a few realpath calls): a root directory replaced by a
  // symlink, or created, after an earlier call must not leave a stale real path allowed.
  function checkOne(value: unknown, access: Access, label: string, via: string, cwd: string, rs: RootSet | { error: string }): Verdict | undefined {
    if (typeof value !== "string") return deny(`${label} holds ${describeType(value)}, not a path string; the filesystem guard cannot judge it`, "guards.filesystem");
    if ("error" in rs) return deny(`${rs.error}; refusing ${label}`, "guards.filesystem.roots");
    const c = canonicalizeRequestPath(value, cwd, env.home);
    if ("error" in c) return deny(`${label} (${show(value)}) cannot be judged: ${c.error}`, "guards.filesystem");
    const outside = leavesRoots(value, c, cwd, rs, label);
    if (outside) return outside;
    return rulesObjection(value, c, access, label, via, cwd, rs);
  }

  /** The first reading of the path that is outside the roots, as a deny verdict. */
  function leavesRoots(value: string, c: Extract<CanonicalPath, { path: string }>, cwd: string, rs: RootSet, label: string): Verdict | undefined {
    const shownRoots = rs.shown.join(", ");
    const outside = (subject: string, detail?: string): Verdict =>
      deny(
        detail === undefined
          ? `${label} ${subject} is outside the filesystem guard's roots (${shownRoots})`
          : `${label} ${subject} ${detail}, outside the filesystem guard's roots (${shownRoots})`,
        "guards.filesystem.roots",
      );
    const isUri = /^file:/i.test(value);

    // Readings, most telling message first. NFC ones from the shared path layer, exact ones from fs-spellings.
    const readings: { form: "nfc" | "exact"; how: Spelling["how"]; link: string; physical?: string }[] = [];
    readings.push({ form: "nfc", how: "as given", link: c.path, ...(c.physical !== undefined ? { physical: c.physical } : {}) });
    const exact = exactSpellings(value, cwd, env.home).filter((s) => isUri || DECODED_PLAIN_PATHS || !s.how.startsWith("percent-decoded"));
    for (const s of exact) readings.push({ form: "exact", ...s });
    if ((isUri || DECODED_PLAIN_PATHS) && c.decoded !== undefined) {
      readings.push({ form: "nfc", how: "percent-decoded", link: c.decoded, ...(c.decodedPhysical !== undefined ? { physical: c.decodedPhysical } : {}) });
    }
    if (value.includes("\\")) {
      const b = canonicalizeRequestPath(value.replaceAll("\\", "/"), cwd, env.home);
      if ("error" in b) return deny(`${label} (${show(value)}) with \\ read as a separator cannot be judged: ${b.error}`, "guards.filesystem");
      readings.push({ form: "nfc", how: "with \\ as a separator", link: b.path, ...(b.physical !== undefined ? { physical: b.physical } : {}) });
      if ((isUri || DECODED_PLAIN_PATHS) && b.decoded !== undefined) {
        readings.push({ form: "nfc", how: "percent-decoded, with \\ as a separator", link: b.decoded, ...(b.decodedPhysical !== undefined ? { physical: b.decodedPhysical } : {}) });
      }
    }

    const given = value === c.path ? `(${show(c.path)})` : `(${show(value)}, that is ${show(c.path)})`;
    const subject = (how: Spelling["how"]): string => (how === "as given" ? given : `(${show(value)}) read ${how}`);
    for (const r of readings) {
      const set = r.form === "nfc" ? rs.nfc : rs.exact;
      if (set.some((root) => within(r.link, root))) continue;
      if (r.how === "as given" && r.form === "nfc") return outside(given);
      if (r.how === "as given") return outside(given, `as the file system compares names (byte for byte, without Unicode normalization) is ${show(r.link)}`);
      return outside(subject(r.how), `is ${show(r.link)}`);
    }
    for (const r of readings) {
      const set = r.form === "nfc" ? rs.nfc : rs.exact;
      const from = r.physical ?? r.link;
      const target = r.form === "nfc" ? env.resolveLinks(from).target.normalize("NFC") : exactTarget(from);
      if (set.some((root) => within(target, root))) continue;
      return outside(subject(r.how), `leads through a symlink${r.physical !== undefined ? " (or a `..` after one)" : ""} to ${show(target)}`);
    }
    return undefined;
  }

  /** What the Read/Edit rules (or, without them, the protected paths) say about the path. */
  function rulesObjection(value: string, c: Extract<CanonicalPath, { path: string }>, access: Access, label: string, via: string, cwd: string, rs: RootSet): Verdict | undefined {
    if (files) {
      const candidates = [c.physical ?? c.path];
      if (value.includes("\\")) {
        const b = canonicalizeRequestPath(value.replaceAll("\\", "/"), cwd, env.home);
        if (!("error" in b)) candidates.push(b.physical ?? b.path);
      }
      let ask: Verdict | undefined;
      for (const p of new Set(candidates)) {
        const v = files.checkAccess({ path: p, kind: "literal", access, via }, { cwd, workingDirectories: rs.shown, mode: "default" });
        if (!v || v.decision === "allow") continue;
        const verdict: Verdict = { ...v, reason: `${label} (${show(c.path)}): ${v.reason}` };
        if (v.decision === "deny") return verdict;
        ask ??= verdict;
      }
      return ask;
    }
    if (access !== "write") return undefined;
    const ctx = { cwd, home: env.home, extra: env.protectedPaths };
    const why = protectedReason({ link: c.path, target: env.resolveLinks(c.physical ?? c.path).target.normalize("NFC") }, ctx);
    if (why === undefined) return undefined;
    return { decision: "ask", reason: `${label} (${show(c.path)}) writes to a protected path: ${why}` };
  }

  function checkPathGuarded(value: unknown, access: Access, label: string, via: string, cwd: string, rs: RootSet | { error: string }): Verdict | undefined {
    try {
      return checkOne(value, access, label, via, cwd, rs);
    } catch (e) {
      return deny(`${label} (${typeof value === "string" ? show(value) : describeType(value)}) cannot be judged: ${(e as Error)?.message ?? String(e)}`, "guards.filesystem");
    }
  }

  return {
    check(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Verdict | undefined {
      try {
        if (configError) return deny(`${configError}; refusing ${tool}`, "guards.filesystem.roots");
        if (input === undefined || input === null) input = {};
        if (typeof input !== "object" || Array.isArray(input)) return deny(`the arguments of ${tool} are not an object; the filesystem guard cannot judge them`, "guards.filesystem");
        const spec = tools.get(tool);
        if (!spec) {
          const found = findPathLikeArgument(input);
          if (!found) return undefined;
          return deny(
            `tool '${tool}' is not known to the filesystem guard and its argument '${found.name}' looks like a path (by its ${found.why}); ` +
              `declare its path arguments in guards.filesystem.tools (e.g. "${tool}": {"read": ["${found.name}"]}), or list it with no paths if it takes none`,
            "guards.filesystem.tools",
          );
        }
        const rs = compileRoots(roots, ctx.cwd, env);
        let ask: Verdict | undefined;
        const note = (v: Verdict | undefined): Verdict | undefined => {
          if (!v || v.decision === "allow") return undefined;
          if (v.decision === "deny") return v;
          ask ??= v;
          return undefined;
        };
        for (const [arg, access] of spec.paths) {
          if (!Object.prototype.hasOwnProperty.call(input, arg)) continue;
          const value = input[arg];
          if (value === undefined || value === null) continue;
          const via = `${tool} argument ${arg}`;
          if (Array.isArray(value)) {
            if (value.length > MAX_PATHS_PER_ARGUMENT) return deny(`path argument '${arg}' of ${tool} holds ${value.length} paths, more than the filesystem guard checks in one call (${MAX_PATHS_PER_ARGUMENT})`, "guards.filesystem");
            for (let i = 0; i < value.length; i++) {
              const d = note(checkPathGuarded(value[i], access, `path argument '${arg}[${i}]'`, via, ctx.cwd, rs));
              if (d) return d;
            }
          } else {
            const d = note(checkPathGuarded(value, access, `path argument '${arg}'`, via, ctx.cwd, rs));
            if (d) return d;
          }
        }
        if (spec.builtin) {
          // A built-in tool with an argument it does not declare: another server's tool of the same
          // name (or a newer version of it) may read a path from it.
          for (const [arg, value] of Object.entries(input)) {
            if (spec.paths.has(arg) || spec.others.has(arg)) continue;
            if (argumentLooksLikePath(arg, value)) {
              return deny(
                `argument '${arg}' of ${tool} looks like a path but the filesystem guard does not know it; declare it in guards.filesystem.tools ("${tool}": {"read": ["${arg}"]})`,
                "guards.filesystem.tools",
              );
            }
          }
        }
        return ask;
      } catch (e) {
        return deny(`the filesystem guard failed on ${tool}: ${(e as Error)?.message ?? String(e)}`, "guards.filesystem");
      }
    },
    checkPath(value: unknown, access: Access, label: string, ctx: { cwd: string }): Verdict | undefined {
      try {
        if (configError) return deny(`${configError}; refusing ${label}`, "guards.filesystem.roots");
        return checkPathGuarded(value, access, label, label, ctx.cwd, compileRoots(roots, ctx.cwd, env));
      } catch (e) {
        return deny(`${label} cannot be judged: ${(e as Error)?.message ?? String(e)}`, "guards.filesystem");
      }
    },
    absolutize(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Record<string, unknown> {
      const out: Record<string, unknown> = { ...input };
      const spec = tools.get(tool);
      if (!spec) return out;
      const abs = (v: unknown): unknown => {
        if (typeof v !== "string" || v.startsWith("/") || /^file:/i.test(v)) return v;
        if (v === "~") return env.home;
        if (v.startsWith("~/")) return env.home + v.slice(1);
        return `${ctx.cwd === "/" ? "" : ctx.cwd}/${v}`;
      };
      for (const arg of spec.paths.keys()) {
        if (!Object.prototype.hasOwnProperty.call(out, arg)) continue;
        const v = out[arg];
        out[arg] = Array.isArray(v) ? v.map(abs) : abs(v);
      }
      return out;
    },
  };
}

/** Canonical roots (NFC and byte-exact), with their real paths. A root that cannot be read is an error. */
function compileRoots(roots: string[], cwd: string, env: PolicyEnvironment): RootSet | { error: string } {
  const shown: string[] = [];
  const nfc = new Set<string>();
  const exact = new Set<string>();
  const real = (f: () => string): string | undefined => {
    try {
      return f();
    } catch {
      return undefined; // cannot resolve: the lexical spelling alone (fewer paths allowed, never more)
    }
  };
  for (const [i, root] of roots.entries()) {
    const c = canonicalizeRequestPath(root, cwd, env.home);
    if ("error" in c) return { error: `guards.filesystem.roots[${i}] (${show(root)}) is not a usable path: ${c.error}` };
    shown.push(c.path);
    nfc.add(c.path);
    const nfcReal = real(() => env.resolveLinks(c.physical ?? c.path).target.normalize("NFC"));
    if (nfcReal) nfc.add(nfcReal);
    // Byte-exact: the root as written (a file: URI decoded), then its real path.
    const text = /^file:/i.test(root) ? decodeURIComponent(new URL(root).pathname) : root;
    const l = lexical(text, cwd, env.home);
    if (!l) return { error: `guards.filesystem.roots[${i}] (${show(root)}) is not a usable path` };
    const spellings = [l];
    // A root written in another Unicode form than the directory on disk (settings edited on macOS):
    // when the spelling as written does not exist and its NFC form does differ, the NFC form counts too.
    if (!exists(l.link) && l.link.normalize("NFC") !== l.link) spellings.push({ link: l.link.normalize("NFC") });
    for (const s of spellings) {
      exact.add(s.link);
      const t = real(() => exactTarget(s.physical ?? s.link));
      if (t) exact.add(t);
    }
  }
  return { shown, nfc: [...nfc], exact: [...exact] };
}

function deny(reason: string, rule?: string): Verdict {
  return rule === undefined ? { decision: "deny", reason } : { decision: "deny", reason, rule };
}

/** A path for a message: clipped, and JSON-quoted when it holds control characters. */
function show(s: string): string {
  const clipped = s.length > 300 ? `${s.slice(0, 300)}…` : s;
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(clipped) ? JSON.stringify(clipped) : clipped;
}

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
