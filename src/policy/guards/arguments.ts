// The arguments guard: per-tool constraints on the arguments of ANY server's tool calls
// (`guards.arguments` of a server entry), e.g. pin a GitHub server's `owner` to one organisation:
//   {"create_issue": {"owner": {"enum": ["acme"]}}}
// Pure apart from the PolicyEnvironment's symlink resolution (for `paths`).
//
// Tool keys are UPSTREAM tool names (not canonical `mcp__…` names), or `*` globs (`*` alone: every
// tool; `create_*`: a `*` matches any run of characters, src/policy/glob.ts). Matching ignores case
// (as denyTools does): these are restrictions, and a case-insensitive upstream must not let
// `Create_Issue` slip past the constraints of `create_issue`. Every matching key applies.
//
// Argument keys name top-level arguments. A key with dots (`repo.owner`) ALSO names the nested
// argument reached through plain objects; when the input has a top-level argument literally named
// `repo.owner` as well, both values are judged. On the way down, null/undefined means the argument is
// absent; an array or any other non-object means the argument cannot be located, and the call is
// refused (fail closed: `repo: [{owner: "evil"}]` or `repo: "evil/x"` must not dodge `repo.owner`).
//
// Semantics (fail closed; every denial names the constraint and its settings path):
//   - Absent argument (no own property, or undefined): passes. The server's own input schema
//     decides whether it is required. `null` is a present value and is judged like any other.
//   - enum: the value must deep-equal (as JSON values) one of the listed values.
//   - pattern: a JavaScript regex (flag `u`) that must match the WHOLE string (we anchor it as
//     `^(?:…)$`); non-strings fail.
//   - maxLength: strings by Unicode code points (what a person counts, not UTF-16 units), arrays by
//     element count; any other type fails (a number has no length).
//   - paths: a string, or an array of strings, each inside one of the listed roots (reusing the
//     filesystem guard's check: `~`, relative to ctx.cwd, `..`, `file:` URIs, NUL, symlinks, NFC and
//     byte-exact readings). A plain path holding `%XX` must ALSO be inside when percent-decoded: we do
//     not know whether this server decodes. An empty array holds no path and passes.
//   - Several constraints on one argument (or from several matching tool keys): all must hold.
//   - An empty constraint object is allowed and constrains nothing.
// check returns undefined when no constraint is configured for the tool; otherwise a deny verdict,
// or an allow verdict meaning only "the argument constraints hold" (never permission by itself).
import { fold, Glob } from "../glob.js";
import { canonicalizeRequestPath } from "../paths/index.js";
import type { PolicyEnvironment } from "../builtin/types.js";
import type { Verdict } from "../types.js";
import { compileFilesystemPathGuard, type FilesystemPathGuard } from "./filesystem.js";

export interface ArgumentConstraint {
  enum?: unknown[];
  pattern?: string;
  maxLength?: number;
  paths?: string[];
}

export type ArgumentGuardConfig = Record<string, Record<string, ArgumentConstraint>>;

export interface ArgumentGuard {
  /** `tool` is the upstream tool name. undefined: no constraint applies to this tool. Never throws. */
  check(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Verdict | undefined;
}

/**
 * Strings longer than this (in code points) are refused by a `pattern` without running the regex,
 * unless maxLength allows more. V8's regex engine backtracks: a pattern like `(a|aa)*b` or `\s*x\s*`
 * costs polynomially (or worse) in the input length, and the input is chosen by the model. The bound
 * caps polynomial blow-up; a pattern with exponential backtracking (nested quantifiers such as
 * `(a+)+`) can still be slow on short inputs, so settings authors must not write one.
 */
export const PATTERN_INPUT_LIMIT = 10_000;

/** More values in one `paths` argument than this are refused rather than resolved one by one. */
const MAX_PATHS_PER_ARGUMENT = 1000;

interface CompiledArgument {
  key: string;
  /** The dotted reading's segments; undefined when the key has no dot (or an empty segment). */
  segments?: string[];
  settingsPath: string;
  enum?: unknown[];
  pattern?: { source: string; regex: RegExp; limit: number };
  maxLength?: number;
  paths?: { roots: string[]; guard: FilesystemPathGuard };
}

interface CompiledTool {
  key: string;
  glob: Glob;
  args: CompiledArgument[];
}

/** Throws (naming the tool and argument) on an invalid pattern or a malformed config. */
export function compileArgumentGuard(config: ArgumentGuardConfig, env: PolicyEnvironment): ArgumentGuard {
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new Error("guards.arguments must be an object");
  const tools: CompiledTool[] = [];
  for (const [toolKey, args] of Object.entries(config)) {
    const toolPath = `guards.arguments${member(toolKey)}`;
    if (toolKey === "") throw new Error(`${toolPath}: a tool key must not be empty`);
    if (args === null || typeof args !== "object" || Array.isArray(args)) throw new Error(`${toolPath} must be an object of argument constraints`);
    const compiled: CompiledArgument[] = [];
    for (const [argKey, c] of Object.entries(args)) {
      const argPath = `${toolPath}${member(argKey)}`;
      if (argKey === "") throw new Error(`${argPath}: an argument key must not be empty`);
      if (c === null || typeof c !== "object" || Array.isArray(c)) throw new Error(`${argPath} must be an object (enum, pattern, maxLength, paths)`);
      const arg: CompiledArgument = { key: argKey, settingsPath: argPath };
      const segs = argKey.split(".");
      if (segs.length > 1 && segs.every((s) => s !== "")) arg.segments = segs;
      if (c.enum !== undefined) {
        if (!Array.isArray(c.enum)) throw new Error(`${argPath}.enum must be an array`);
        arg.enum = c.enum;
      }
      if (c.maxLength !== undefined) {
        if (!Number.isInteger(c.maxLength) || c.maxLength < 0) throw new Error(`${argPath}.maxLength must be a non-negative integer`);
        arg.maxLength = c.maxLength;
      }
      if (c.pattern !== undefined) {
        if (typeof c.pattern !== "string") throw new Error(`${argPath}.pattern must be a string`);
        // Compile the pattern ALONE first: only a pattern that is valid by itself has balanced groups,
        // so wrapping it cannot be escaped (`acme)|(.*` would otherwise become `^(?:acme)|(.*)$`).
        try {
          new RegExp(c.pattern, "u");
        } catch (e) {
          throw new Error(`${argPath}.pattern (argument ${JSON.stringify(argKey)} of tool ${JSON.stringify(toolKey)}) is not a valid regular expression: ${(e as Error).message}`);
        }
        arg.pattern = {
          source: c.pattern,
          regex: new RegExp(`^(?:${c.pattern})$`, "u"),
          limit: Math.max(PATTERN_INPUT_LIMIT, arg.maxLength ?? 0),
        };
      }
      if (c.paths !== undefined) {
        if (!Array.isArray(c.paths) || !c.paths.every((p) => typeof p === "string" && p.length > 0))
          throw new Error(`${argPath}.paths must be an array of non-empty strings`);
        arg.paths = { roots: [...c.paths], guard: compileFilesystemPathGuard({ roots: [...c.paths] }, env) };
      }
      // An empty constraint constrains nothing: leave it out, so it does not make the tool "constrained".
      if (arg.enum || arg.pattern || arg.maxLength !== undefined || arg.paths) compiled.push(arg);
    }
    if (compiled.length > 0) tools.push({ key: toolKey, glob: new Glob(fold(toolKey)), args: compiled });
  }

  function judge(tool: string, arg: CompiledArgument, value: unknown, where: string, cwd: string): Verdict | undefined {
    const subject = `argument ${JSON.stringify(where)} of ${tool}`;
    const fail = (what: string, constraint: string, detail?: string): Verdict =>
      deny(`${subject} ${what} (${arg.settingsPath}.${constraint})${detail ? `; ${detail}` : ""}`, `${arg.settingsPath}.${constraint}`);

    if (arg.enum && !arg.enum.some((allowed) => jsonEqual(value, allowed))) {
      return fail(`must be one of ${clip(JSON.stringify(arg.enum))}`, "enum", `it is ${describe(value)}`);
    }
    if (arg.maxLength !== undefined) {
      const max = arg.maxLength;
      if (typeof value === "string") {
        // No need to count a string whose UTF-16 length is within the bound (code points ≤ units).
        const n = value.length <= max ? value.length : codePoints(value, max);
        if (n > max) return fail(`must be at most ${max} characters long`, "maxLength", `it is longer`);
      } else if (Array.isArray(value)) {
        if (value.length > max) return fail(`must hold at most ${max} elements`, "maxLength", `it holds ${value.length}`);
      } else {
        return fail(`must be a string or an array no longer than ${max}`, "maxLength", `it is ${describe(value)}, which has no length`);
      }
    }
    if (arg.pattern) {
      const p = arg.pattern;
      if (typeof value !== "string") return fail(`must be a string matching ${clip(JSON.stringify(p.source))}`, "pattern", `it is ${describe(value)}`);
      // Bound the regex's input (see PATTERN_INPUT_LIMIT): longer values fail without being tested.
      if (value.length > p.limit && codePoints(value, p.limit) > p.limit)
        return fail(`must be a string matching ${clip(JSON.stringify(p.source))}`, "pattern", `it is longer than the ${p.limit} characters a pattern is tested against`);
      if (!p.regex.test(value)) return fail(`must match ${clip(JSON.stringify(p.source))} as a whole`, "pattern", `it is ${describe(value)}`);
    }
    if (arg.paths) {
      const shown = clip(JSON.stringify(arg.paths.roots));
      const what = `must be a path inside one of ${shown}`;
      const values = Array.isArray(value) ? value : [value];
      if (arg.paths.roots.length === 0 && values.length > 0) return fail(what, "paths", "the list of roots is empty, so no path is inside it");
      if (Array.isArray(value) && value.length > MAX_PATHS_PER_ARGUMENT)
        return fail(what, "paths", `it holds ${value.length} paths, more than are checked in one call (${MAX_PATHS_PER_ARGUMENT})`);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const label = Array.isArray(value) ? `its element ${i}` : "its value";
        if (typeof v !== "string") return fail(what, "paths", `${label} is ${describe(v)}, not a path string`);
        const outside = pathObjection(arg.paths.guard, v, label, cwd);
        if (outside) return fail(what, "paths", outside);
      }
    }
    return undefined;
  }

  /** Why a path string is not inside the roots (every reading, see the header), or undefined. */
  function pathObjection(guard: FilesystemPathGuard, v: string, label: string, cwd: string): string | undefined {
    const readings = [v];
    if (!/^file:/i.test(v)) {
      const c = canonicalizeRequestPath(v, cwd, env.home);
      if (!("error" in c) && c.decoded !== undefined && c.decoded !== c.path) readings.push(c.decoded);
    }
    for (const [i, r] of readings.entries()) {
      const vv = guard.checkPath(r, "read", i === 0 ? label : `${label} percent-decoded`, { cwd });
      // checkPath without a FileJudge objects only with deny (roots), never with ask, for reads.
      if (vv && vv.decision !== "allow") return vv.reason.replaceAll("the filesystem guard's roots", "those roots");
    }
    return undefined;
  }

  return {
    check(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Verdict | undefined {
      try {
        const name = typeof tool === "string" ? tool : String(tool);
        const folded = fold(name);
        const applicable = tools.filter((t) => t.glob.test(folded));
        if (applicable.length === 0) return undefined;
        if (input === undefined || input === null) input = {};
        if (typeof input !== "object" || Array.isArray(input))
          return deny(`the arguments of ${name} are not an object; the argument constraints (guards.arguments) cannot judge them`, "guards.arguments");
        for (const t of applicable) {
          for (const arg of t.args) {
            const found = locate(input, arg);
            if ("blocked" in found)
              return deny(
                `argument ${JSON.stringify(arg.key)} of ${name} cannot be located: ${found.blocked} (${arg.settingsPath})`,
                arg.settingsPath,
              );
            for (const value of found.values) {
              const v = judge(name, arg, value, arg.key, ctx.cwd);
              if (v) return v;
            }
          }
        }
        return { decision: "allow", reason: `the arguments of ${name} satisfy their constraints (guards.arguments)` };
      } catch (e) {
        return deny(`the argument constraints (guards.arguments) failed on ${String(tool)}: ${(e as Error)?.message ?? String(e)}`, "guards.arguments");
      }
    },
  };
}

/** The values an argument key names: the top-level argument, and the nested one for a dotted key. */
function locate(input: Record<string, unknown>, arg: CompiledArgument): { values: unknown[] } | { blocked: string } {
  const values: unknown[] = [];
  if (Object.prototype.hasOwnProperty.call(input, arg.key) && input[arg.key] !== undefined) values.push(input[arg.key]);
  if (!arg.segments) return { values };
  let cur: unknown = input;
  for (const [i, seg] of arg.segments.entries()) {
    if (cur === undefined || cur === null) return { values }; // absent
    if (typeof cur !== "object" || Array.isArray(cur)) {
      const at = arg.segments.slice(0, i).join(".");
      return { blocked: `${JSON.stringify(at)} is ${describe(cur)}, not an object` };
    }
    cur = Object.prototype.hasOwnProperty.call(cur, seg) ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  if (cur !== undefined) values.push(cur);
  return { values };
}

/** Deep equality of JSON values: objects by their own keys regardless of order, arrays in order. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Code points in s, counting no further than just past `stop` (enough to compare with it). */
function codePoints(s: string, stop: number): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    if (++n > stop) return n;
  }
  return n;
}

/** A settings-path member: `.name` for identifier-like keys, `["…"]` otherwise. */
function member(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** A value for a message: its type, and a clipped JSON rendering of scalars and short values. */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "string") return `the string ${clip(JSON.stringify(v.slice(0, 201)))}`; // slice first: the value may be huge
  if (typeof v === "number" || typeof v === "boolean") return `the ${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function deny(reason: string, rule: string): Verdict {
  return { decision: "deny", reason, rule };
}
