// Judge of the file tools (Read, Edit, Write, MultiEdit, NotebookEdit, NotebookRead, Grep, Glob, LS)
// and the FileJudge that the Bash judge and the MCP filesystem guard ask about every file they touch.
//
// Rules: `Read(…)`, `Edit(…)`, `Write(…)` path rules (paths/rules.ts for the pattern language), judged
// deny → ask → allow, first match wins. An Edit (= Write) rule covers every file-writing tool; a Read
// rule covers every reading tool; a Read deny or ask also covers writes (paths/rules.ts ruleCovers),
// except a shell write that shows nothing of the file (FileAccess.writeOnly: `> .env`, `cp x .env`).
// Rules naming one of the other file tools (`Grep`, `LS(path:/tmp/*)`) apply to calls of that tool
// only, with the `Tool(param:value)` semantics of params.ts.
//
// Every path is judged in every reading: as asked for and with symlinks resolved (link, target), and
// for `%XX` escapes or a `file:` URI, both the literal and the decoded path. A deny or ask applies when
// it matches any reading; an allow (or the working-directory default) only when it covers all.
// Writes to protected paths (paths/protected.ts) ask with keepAsk whatever the allow rules or mode say;
// only a deny comes before them. On Linux a path written in decomposed Unicode gets no allow: every
// reading is normalized to NFC, which is fail-closed for denies but names another file for allows.
//
// Grep returns file contents from a whole tree, and this judge cannot make it skip files: a Grep of a
// directory that may hold a path a Read deny (or ask) covers asks. Glob and LS return names only and
// are judged by the directory they list.
//
// Rules anchored at the working directory (`./x`, `x/y`, bare names for allows, `/x` without a
// settings root) are compiled per request cwd and cached (a bounded LRU); the others once. When the
// cwd lies outside the working directories (BuiltinContext.cwdOutside), allow rules anchored at it do
// not apply and nothing counts as inside: a `cd` must not carry the defaults along (working-dirs.ts).
import path from "node:path";
import {
  allowMatches,
  anySeg,
  bashGlobShapes,
  canonicalizeRequestPath,
  compilePathRule,
  denyMatches,
  globMeetsShape,
  isCaseInsensitivePlatform,
  literalPrefix,
  overlaps,
  litSeg,
  pathSegs,
  protectedReason,
  protectedShapes,
  ruleCovers,
  ruleShapes,
} from "../paths/index.js";
import type { CompiledPathRule, LinkPair, PathRuleContext, ProtectedPathContext, Seg, Shape } from "../paths/index.js";
import { describeSource, PolicyError } from "../rules.js";
import { compileParamRule, ruleVerdict } from "./params.js";
import type { CompiledParamRule } from "./params.js";
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, Effect, FileAccess, FileJudge, PolicyEnvironment } from "./types.js";

/** Tools this judge decides. */
export const FILE_TOOLS: ReadonlySet<string> = new Set(["Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "NotebookRead", "Grep", "Glob", "LS"]);

export interface FilePolicy extends FileJudge {
  /** The verdict for a call of one of FILE_TOOLS; undefined for any other tool. Never throws. */
  decide(tool: string, input: Record<string, unknown>, ctx: BuiltinContext): BuiltinVerdict | undefined;
}

type Access = "read" | "write";

const READ_TOOLS: ReadonlySet<string> = new Set(["Read", "NotebookRead", "Grep", "Glob", "LS"]);

/** The path parameter each tool uses; `optional`: absent means the working directory. */
const PATH_PARAM: Readonly<Record<string, { param: string; optional: boolean }>> = {
  Read: { param: "file_path", optional: false },
  Edit: { param: "file_path", optional: false },
  Write: { param: "file_path", optional: false },
  MultiEdit: { param: "file_path", optional: false },
  NotebookEdit: { param: "notebook_path", optional: false },
  NotebookRead: { param: "notebook_path", optional: false },
  Grep: { param: "path", optional: true },
  Glob: { param: "path", optional: true },
  LS: { param: "path", optional: false },
};

/**
 * Path parameters of any file tool. One a tool does not use is still judged when it is a string: a
 * client or a future version that reads it must not get past the rules that way.
 */
const ANY_PATH_PARAMS = ["file_path", "notebook_path", "path"] as const;

/** Writes that create no file: never "outside the working directories". */
const HARMLESS_WRITES = /^\/dev\/(?:null|stdout|stderr|fd\/\d+)$/;

/** Per-cwd compiled states kept; a gateway serves few working directories. */
const MAX_CWDS = 32;

/** Optional I/O a richer environment (paths/links.ts fsEnvironment) offers. */
interface DirectoryProbe {
  isDirectory?(absPath: string): boolean | undefined;
  walk?: PolicyEnvironment["walk"];
}

/** Entries a recursive read's tree may hold for mcp-warden to look through before it asks instead. */
const WALK_LIMIT = 20_000;

/** A Read/Edit/Write rule as configured. */
interface PathRuleSpec {
  rule: BuiltinRule;
  kind: "Read" | "Edit";
  /** Compiled once when the rule does not depend on the request's cwd. */
  fixed?: CompiledPathRule;
}

/** A rule ready for one cwd: `compiled` undefined means the rule names the tool alone (every path). */
interface ActiveRule {
  rule: BuiltinRule;
  kind: "Read" | "Edit";
  compiled?: CompiledPathRule;
}

interface CwdState {
  rules: Record<Effect, ActiveRule[]>;
  protect: ProtectedPathContext[];
  protectShapes: { shape: Shape; reason: string }[];
}

/** A path argument in all its readings. */
interface Target {
  /** Where it came from, for messages: `file_path`, `path`, `the Glob pattern`. */
  param: string;
  /** The canonical path, for messages. */
  shown: string;
  pairs: LinkPair[];
  /**
   * False when the path as written is not in Unicode NFC on a platform whose file names are byte
   * strings (Linux): every reading is normalized, so `cafe\u0301` is judged as `café`, which is right
   * for a deny but names a different directory for an allow. No allow (rule or default) applies then.
   */
  exact: boolean;
}

type Found = { rule: ActiveRule; pair: LinkPair };

function components(p: string): string[] {
  return p.normalize("NFC").split("/").filter((c) => c !== "" && c !== ".");
}

/** Whether a path, and what its `%XX` escapes decode to, is already NFC. */
function isNfc(p: string): boolean {
  if (p !== p.normalize("NFC")) return false;
  if (!p.includes("%")) return true;
  try {
    const d = p.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => decodeURIComponent(run));
    return d === d.normalize("NFC");
  } catch {
    return false;
  }
}

function within(p: readonly string[], dir: readonly string[]): boolean {
  if (p.length < dir.length) return false;
  for (let i = 0; i < dir.length; i++) if (p[i] !== dir[i]) return false;
  return true;
}

function deny(reason: string): BuiltinVerdict {
  return { decision: "deny", reason };
}

/** `path` or, when the match came through a symlink, `path (a link to target)`. */
function describePair(p: LinkPair): string {
  return p.link === p.target ? p.link : `${p.link} (a link to ${p.target})`;
}

/** ` (the canonical path, and where a symlink leads)`, when that says more than the path as given. */
function resolvedNote(a: FileAccess, p: LinkPair): string {
  return a.path === p.link && p.link === p.target ? "" : ` (${describePair(p)})`;
}

function ruleRef(r: BuiltinRule): string {
  return `${r.text} (${describeSource(r.source)})`;
}

function fromRule(r: BuiltinRule, decision: Effect, reason: string, extra: Partial<BuiltinVerdict> = {}): BuiltinVerdict {
  return { decision, reason, rule: r.text, source: r.source, ...extra };
}

function policyError(rule: BuiltinRule, problem: string): PolicyError {
  return new PolicyError(`invalid rule ${JSON.stringify(rule.text)} in ${describeSource(rule.source)}: ${problem}`, {
    source: rule.source,
    rule: rule.text,
    problem,
  });
}

/** Compiles every rule whose tool is Read, Edit or Write (any effect). Throws PolicyError naming the rule on a bad pattern. */
export function compileFileRules(rules: BuiltinRule[], env: PolicyEnvironment): FilePolicy {
  const probe = env as PolicyEnvironment & DirectoryProbe;
  // APFS/HFS+ and NTFS compare names normalization-insensitively, as they compare case.
  const normalizationInsensitive = isCaseInsensitivePlatform(env.platform);
  const platform = { platform: env.platform };
  const realOf = (dir: string): string => {
    try {
      return env.resolveLinks(dir).target;
    } catch {
      return dir; // an anchor that cannot be resolved keeps its own spelling
    }
  };
  const home = env.home;
  const realHome = typeof home === "string" && home.startsWith("/") ? realOf(home) : home;
  const realRoots = new Map<string, string>();
  const realRoot = (dir: string): string => {
    let r = realRoots.get(dir);
    if (r === undefined) realRoots.set(dir, (r = realOf(dir)));
    return r;
  };

  const specs: Record<Effect, PathRuleSpec[]> = { deny: [], ask: [], allow: [] };
  const toolRules: Record<Effect, CompiledParamRule[]> = { deny: [], ask: [], allow: [] };
  for (const rule of rules) {
    if (rule.tool === "Read" || rule.tool === "Edit" || rule.tool === "Write") {
      const kind = rule.tool === "Read" ? "Read" : "Edit";
      const spec: PathRuleSpec = { rule, kind };
      if (rule.specifier !== undefined) {
        const root = rule.settingsRoot;
        const ctx: PathRuleContext = { cwd: "/", home, settingsRoot: root ?? "/", realHome, ...(root !== undefined ? { realSettingsRoot: realRoot(root) } : {}) };
        let probeRule: CompiledPathRule;
        try {
          probeRule = compilePathRule(rule.tool, rule.specifier, ctx, platform);
        } catch (e) {
          throw policyError(rule, (e as Error).message);
        }
        // Only `//`, `~/` and `/` (with a settings root) anchors are independent of the request's cwd.
        const fixed = probeRule.anchor === "absolute" || probeRule.anchor === "home" || (probeRule.anchor === "settings" && root !== undefined);
        if (fixed) spec.fixed = probeRule;
      }
      specs[rule.effect].push(spec);
    } else if (FILE_TOOLS.has(rule.tool)) {
      toolRules[rule.effect].push(compileParamRule(rule));
    }
  }

  const cache = new Map<string, CwdState>();
  const stateFor = (ctx: BuiltinContext): CwdState => {
    const cwd = ctx.cwd;
    const outside = ctx.cwdOutside !== undefined;
    const key = `${outside ? "o" : "i"}${cwd}`;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    if (typeof cwd !== "string" || !cwd.startsWith("/")) throw new Error(`the working directory is not an absolute path: ${JSON.stringify(cwd)}`);
    const realCwd = realOf(cwd);
    const compileFor = (s: PathRuleSpec): ActiveRule => {
      if (s.rule.specifier === undefined) return { rule: s.rule, kind: s.kind };
      if (s.fixed) return { rule: s.rule, kind: s.kind, compiled: s.fixed };
      const root = s.rule.settingsRoot ?? cwd;
      const ctx: PathRuleContext = { cwd, home, settingsRoot: root, realCwd, realHome, realSettingsRoot: s.rule.settingsRoot !== undefined ? realRoot(root) : realCwd };
      return { rule: s.rule, kind: s.kind, compiled: compilePathRule(s.rule.tool as "Read" | "Edit" | "Write", s.rule.specifier, ctx, platform) };
    };
    const homes = realHome === home ? [home] : [home, realHome];
    const protect = homes.map((h) => ({ cwd, home: h, extra: env.protectedPaths }));
    // From a cwd outside the working directories, `Read(./**)` would allow whatever the cwd holds.
    const allowSpecs = outside ? specs.allow.filter((s) => s.rule.specifier === undefined || s.fixed !== undefined) : specs.allow;
    const state: CwdState = {
      rules: { deny: specs.deny.map(compileFor), ask: specs.ask.map(compileFor), allow: allowSpecs.map(compileFor) },
      protect,
      protectShapes: protectedShapes({ cwd, home, extra: env.protectedPaths }, homes),
    };
    cache.set(key, state);
    if (cache.size > MAX_CWDS) cache.delete(cache.keys().next().value as string);
    return state;
  };

  // Working directories as component lists, in both spellings (as given and resolved). None given:
  // nothing is inside (never the cwd by default).
  const wdCache = new Map<string, string[][]>();
  const workingDirs = (ctx: BuiltinContext): string[][] => {
    const dirs = Array.isArray(ctx.workingDirectories) ? ctx.workingDirectories : [];
    const key = dirs.join("\0");
    const hit = wdCache.get(key);
    if (hit) return hit;
    const out: string[][] = [];
    for (const d of dirs) {
      if (typeof d !== "string" || !d.startsWith("/")) continue;
      const n = path.posix.normalize(d);
      out.push(components(n));
      const real = realOf(n);
      if (real !== n) out.push(components(real));
    }
    wdCache.set(key, out);
    if (wdCache.size > MAX_CWDS) wdCache.delete(wdCache.keys().next().value as string);
    return out;
  };
  const insideWorkingDirs = (p: LinkPair, wds: string[][]): boolean => {
    const l = components(p.link);
    const t = components(p.target);
    return wds.some((d) => within(l, d)) && wds.some((d) => within(t, d));
  };
  /** Inside for the defaults of this call: never when the call's cwd is outside (see cwdOutside). */
  const insideForCall = (p: LinkPair, wds: string[][], ctx: BuiltinContext): boolean => ctx.cwdOutside === undefined && insideWorkingDirs(p, wds);
  /** Why the call's paths count as outside, for reasons: ` (why)` or "". */
  const outsideNote = (ctx: BuiltinContext): string => (ctx.cwdOutside === undefined ? "" : ` (${ctx.cwdOutside})`);

  /** Every reading of a path argument, resolved. Throws (caller: deny) when symlinks cannot be resolved. */
  const readTarget = (raw: string, param: string, ctx: BuiltinContext): Target | { error: string } => {
    const c = canonicalizeRequestPath(raw, ctx.cwd, home);
    if ("error" in c) return { error: c.error };
    const resolve = (lexical: string, physical: string | undefined): LinkPair => {
      // A write to /dev/stdout goes to an open descriptor, not to whatever its link names now.
      if (HARMLESS_WRITES.test(lexical) && physical === undefined) return { link: lexical, target: lexical };
      return { link: lexical, target: env.resolveLinks(physical ?? lexical).target };
    };
    const pairs = [resolve(c.path, c.physical)];
    if (c.decoded !== undefined) pairs.push(resolve(c.decoded, c.decodedPhysical));
    // A tool that does not know URIs opens `file:///x` as a relative path named `file:/x`.
    if (/^file:/i.test(raw)) {
      const lit = canonicalizeRequestPath(`./${raw}`, ctx.cwd, home);
      if ("error" in lit) return { error: lit.error };
      pairs.push(resolve(lit.path, lit.physical));
    }
    return { param, shown: c.path, pairs, exact: normalizationInsensitive || (isNfc(raw) && isNfc(ctx.cwd)) };
  };

  const governs = (r: ActiveRule, access: Access, effect: Effect): boolean => ruleCovers({ tool: r.kind }, access, effect);

  const anyGoverning = (state: CwdState, effect: "deny" | "ask", access: Access): ActiveRule | undefined =>
    state.rules[effect].find((r) => governs(r, access, effect));

  /** The first rule of this effect that matches any reading (the fail-closed reading). */
  const firstObjection = (state: CwdState, effect: "deny" | "ask", access: Access, pairs: LinkPair[]): Found | undefined => {
    for (const r of state.rules[effect]) {
      if (!governs(r, access, effect)) continue;
      if (r.compiled === undefined) return { rule: r, pair: pairs[0] as LinkPair };
      for (const p of pairs) if (denyMatches(r.compiled, p)) return { rule: r, pair: p };
    }
    return undefined;
  };

  const firstAllow = (state: CwdState, access: Access, p: LinkPair): ActiveRule | undefined => {
    for (const r of state.rules.allow) {
      if (!governs(r, access, "allow")) continue;
      if (r.compiled === undefined || allowMatches(r.compiled, p)) return r;
    }
    return undefined;
  };

  const protectedWhy = (state: CwdState, p: LinkPair): string | undefined => {
    for (const pc of state.protect) {
      const why = protectedReason(p, pc);
      if (why !== undefined) return why;
    }
    return undefined;
  };

  /**
   * Whether a path the rule covers is really there: under `dirs` now, and (for a glob) matching one
   * of `globs`. Symlinks found are judged by their targets too. undefined when it cannot be known
   * (no walk in this environment, an unreadable directory, too many entries).
   */
  const coveredOnDisk = (r: ActiveRule, dirs: string[], globs?: Seg[][], only?: { symlinks: true; maxDepth: number }): boolean | undefined => {
    const rule = r.compiled;
    if (probe.walk === undefined || rule === undefined) return undefined;
    let found = false;
    let unknown = false;
    for (const dir of dirs) {
      const result = probe.walk(
        dir,
        (abs, kind) => {
          if (only?.symlinks && kind !== "symlink") return false;
          if (globs !== undefined && !globs.some((g) => overlaps(g, pathSegs(abs), false))) return false;
          let pair: LinkPair = { link: abs, target: abs };
          if (kind === "symlink") {
            try {
              pair = env.resolveLinks(abs);
            } catch {
              unknown = true;
              return true;
            }
          }
          if (denyMatches(rule, pair)) found = true;
          return found;
        },
        WALK_LIMIT,
        only?.maxDepth,
      );
      if (found) return true;
      if (unknown || result === "incomplete") return undefined;
    }
    return false;
  };

  /**
   * A deny or ask rule (of this access) whose paths could lie under one of these trees. With `onDisk`
   * (the directories the trees start at), a rule is passed over when a walk shows none of its paths
   * there now.
   */
  const treeObjection = (state: CwdState, access: Access, trees: Seg[][], onDisk?: string[]): { effect: "deny" | "ask"; rule: ActiveRule } | undefined => {
    for (const effect of ["deny", "ask"] as const) {
      for (const r of state.rules[effect]) {
        if (!governs(r, access, effect)) continue;
        if (r.compiled === undefined) return { effect, rule: r };
        if (!ruleShapes(r.compiled).some((s) => globMeetsShape(trees, s))) continue;
        if (onDisk !== undefined && coveredOnDisk(r, onDisk) === false) continue;
        return { effect, rule: r };
      }
    }
    return undefined;
  };

  const dirsOf = (pairs: LinkPair[]): string[] => [...new Set(pairs.flatMap((p) => [p.link, p.target]))];

  const treesOf = (pairs: LinkPair[]): Seg[][] => {
    const out: Seg[][] = [];
    for (const p of pairs) {
      out.push([...pathSegs(p.link), anySeg()]);
      if (p.target !== p.link) out.push([...pathSegs(p.target), anySeg()]);
    }
    return out;
  };

  const isDir = (p: LinkPair): boolean => {
    if (probe.isDirectory === undefined) return true;
    try {
      return probe.isDirectory(p.target) !== false;
    } catch {
      return true;
    }
  };

  // ---- decide: a call of a file tool ----

  const decideTool = (tool: string, input: Record<string, unknown>, ctx: BuiltinContext): BuiltinVerdict => {
    const access: Access = READ_TOOLS.has(tool) ? "read" : "write";
    if (input === null || typeof input !== "object") return deny(`${tool} call has no input object.`);
    const state = stateFor(ctx);

    const toolRule = (effect: Effect): CompiledParamRule | undefined => toolRules[effect].find((r) => r.test(tool, input));
    const toolDeny = toolRule("deny");
    if (toolDeny) return ruleVerdict(toolDeny.rule, `${tool} call`);

    // The path arguments: the tool's own, then any other path parameter given as a string.
    const { param, optional } = PATH_PARAM[tool] as { param: string; optional: boolean };
    const raws: { param: string; raw: string }[] = [];
    const own = input[param];
    if (own === undefined || own === null || (optional && own === "")) {
      if (!optional) return deny(`${tool} needs a ${param} string; this call has none.`);
      raws.push({ param: `${param} (the working directory)`, raw: ctx.cwd });
    } else if (typeof own !== "string") {
      return deny(`${tool} needs a ${param} string; this call has a ${Array.isArray(own) ? "list" : typeof own}.`);
    } else raws.push({ param, raw: own });
    for (const other of ANY_PATH_PARAMS) {
      const v = input[other];
      if (other !== param && typeof v === "string" && Object.hasOwn(input, other)) raws.push({ param: other, raw: v });
    }
    // Glob searches where its pattern's literal directories lead (`../../etc/*`, `/etc/**`).
    if (tool === "Glob" && typeof input.pattern === "string" && input.pattern !== "") {
      // `..` after a wildcard (`*/../../x`) could climb anywhere: judge it as a search from `/`, and as
      // a path that cannot be known when a Read deny exists.
      if (/[*?[\]{}\\][^/]*\/(?:.*\/)?\.\.(?:\/|$)/.test(input.pattern)) {
        const d = anyGoverning(state, "deny", "read");
        if (d) return fromRule(d.rule, "deny", `Glob pattern ${JSON.stringify(input.pattern)} climbs with \`..\` after a wildcard, so it could reach paths ${ruleRef(d.rule)} denies.`);
        raws.push({ param: "pattern", raw: "/" });
      }
      for (const base of raws.slice()) raws.push({ param: "pattern", raw: globBaseDir(input.pattern, base.raw) });
    }

    const targets: Target[] = [];
    for (const { param: p, raw } of raws) {
      const t = readTarget(raw, p, ctx);
      if ("error" in t) return deny(`${tool} ${p} ${JSON.stringify(raw)} is refused: ${t.error}.`);
      targets.push(t);
    }
    const verb = `${tool} of`;

    for (const t of targets) {
      const found = firstObjection(state, "deny", access, t.pairs);
      if (found) return fromRule(found.rule.rule, "deny", `${verb} ${describePair(found.pair)} is denied by ${ruleRef(found.rule.rule)}.`);
    }
    if (access === "write") {
      for (const t of targets) {
        for (const p of t.pairs) {
          const why = protectedWhy(state, p);
          if (why !== undefined) return { decision: "ask", reason: `${verb} ${describePair(p)} needs approval: it is ${why}.`, keepAsk: true };
        }
      }
    }
    const toolAsk = toolRule("ask");
    if (toolAsk) return ruleVerdict(toolAsk.rule, `${tool} call`);
    for (const t of targets) {
      const found = firstObjection(state, "ask", access, t.pairs);
      if (found) return fromRule(found.rule.rule, "ask", `${verb} ${describePair(found.pair)} needs approval under ${ruleRef(found.rule.rule)}.`);
    }
    // Grep returns file contents from a whole tree: a denied file inside must not come back in its results.
    if (tool === "Grep") {
      for (const t of targets) {
        const dirs = t.pairs.filter(isDir);
        if (dirs.length === 0) continue;
        const hit = treeObjection(state, "read", treesOf(dirs), dirsOf(dirs));
        if (hit) {
          const how = hit.effect === "deny" ? "denies" : "asks for";
          return fromRule(hit.rule.rule, "ask", `Grep searches ${t.shown} recursively, which may hold paths that ${ruleRef(hit.rule.rule)} ${how}; approve the search or narrow its path.`);
        }
      }
    }

    const toolAllow = toolRule("allow");
    if (toolAllow) return ruleVerdict(toolAllow.rule, `${tool} call`);
    const wds = workingDirs(ctx);
    const defaultAllows = access === "read" || ctx.mode === "acceptEdits";
    let allowedBy: ActiveRule | undefined;
    for (const t of targets) {
      if (!t.exact) {
        return { decision: "ask", reason: `${verb} ${JSON.stringify(t.shown)} needs approval: the path is written in decomposed Unicode, and on this platform that names another file than the composed spelling that rules and working directories are compared in.`, unmatched: true };
      }
      for (const p of t.pairs) {
        const r = firstAllow(state, access, p);
        if (r !== undefined) {
          allowedBy ??= r;
          continue;
        }
        if (defaultAllows && insideForCall(p, wds, ctx)) continue;
        const where = insideForCall(p, wds, ctx) ? "inside" : "outside";
        const hint = access === "write" && where === "inside" ? "edits need approval in this mode" : `it is ${where} the working directories${outsideNote(ctx)}`;
        return { decision: "ask", reason: `${verb} ${describePair(p)} matches no ${access === "read" ? "Read" : "Edit"} rule, and ${hint}.`, unmatched: true };
      }
    }
    const shown = targets.map((t) => t.shown).join(", ");
    if (allowedBy !== undefined) return fromRule(allowedBy.rule, "allow", `${verb} ${shown} is allowed by ${ruleRef(allowedBy.rule)}.`);
    return {
      decision: "allow",
      reason: `${verb} ${shown} is ${access === "read" ? "a read" : "an edit (acceptEdits mode)"} inside the working directories, and no rule objects.`,
      unmatched: true,
    };
  };

  // ---- checkAccess: a file a shell command or an MCP tool reads or writes ----

  const unknownAccess = (a: FileAccess, state: CwdState, what: string): BuiltinVerdict | undefined => {
    const d = anyGoverning(state, "deny", a.access);
    if (d) return fromRule(d.rule, "deny", `${what}, a path that cannot be known before it runs, and ${ruleRef(d.rule)} could match it.`);
    const q = anyGoverning(state, "ask", a.access);
    if (q) return fromRule(q.rule, "ask", `${what}, a path that cannot be known before it runs, and ${ruleRef(q.rule)} could match it.`);
    if (a.access === "write") return { decision: "ask", reason: `${what}, a path that cannot be known before it runs.` };
    return undefined;
  };

  const checkGlob = (a: FileAccess, ctx: BuiltinContext, state: CwdState, what: string): BuiltinVerdict | undefined => {
    const alts = bashGlobShapes(a.path, ctx.cwd, home);
    if (alts === undefined) return unknownAccess(a, state, `${what} (a pattern that cannot be read here)`);
    // Also spell each alternative from its literal directory's resolved location.
    const prefixes: { link: string[]; target: string[] }[] = [];
    const all: Seg[][] = [];
    for (const segs of alts) {
      const lit = literalPrefix(segs);
      const dir = "/" + lit.join("/");
      const target = components(env.resolveLinks(dir).target);
      prefixes.push({ link: lit, target });
      all.push(segs);
      if (target.join("/") !== lit.join("/")) all.push([...target.map(litSeg), ...segs.slice(lit.length)]);
    }
    for (const effect of ["deny", "ask"] as const) {
      for (const r of state.rules[effect]) {
        if (!governs(r, a.access, effect)) continue;
        // A rule whose paths the glob could reach, unless a walk of the glob's directory shows none there now.
        const reaches = r.compiled === undefined || ruleShapes(r.compiled).some((s) => globMeetsShape(all, s));
        const absent = reaches && r.compiled !== undefined && !a.staticOnly && coveredOnDisk(r, globRoots(prefixes), a.recursive ? all.map((g) => [...g, anySeg()]) : all) === false;
        // A symlink the glob expands to is read through to its target: a glob whose shape misses the
        // rule can still reach a covered file that way (`cat linked/*` with linked/cfg -> ../.env).
        const throughLink =
          !reaches && r.compiled !== undefined && !a.staticOnly && probe.walk !== undefined &&
          coveredOnDisk(r, globRoots(prefixes), all, { symlinks: true, maxDepth: a.recursive ? Infinity : globDepth(all) }) !== false;
        if ((reaches && !absent) || throughLink) {
          const verdict = effect === "deny" ? "is denied" : "needs approval";
          return fromRule(r.rule, effect, `${what}, which could match a path covered by ${ruleRef(r.rule)}, so it ${verdict}.`);
        }
      }
      if (effect === "deny" && a.access === "write") {
        const p = state.protectShapes.find((s) => globMeetsShape(all, s.shape));
        if (p) return { decision: "ask", reason: `${what}, which could match ${p.reason}.`, keepAsk: true };
      }
    }
    if (a.recursive) {
      const hit = treeObjection(state, a.access, all.map((s) => [...s, anySeg()]), a.staticOnly ? undefined : globRoots(prefixes));
      if (hit) return fromRule(hit.rule.rule, "ask", `${what} recursively, which may reach paths that ${ruleRef(hit.rule.rule)} ${hit.effect === "deny" ? "denies" : "asks for"}.`);
    }
    if (a.access === "write") {
      const wds = workingDirs(ctx);
      const inside = ctx.cwdOutside === undefined && prefixes.every((p) => wds.some((d) => within(p.link, d)) && wds.some((d) => within(p.target, d)));
      const allowed = prefixes.every((p) => state.rules.allow.some((r) => governs(r, "write", "allow") && allowsTree(r, p.link) && allowsTree(r, p.target)));
      // unmatched: a default, not a rule; an exact Bash allow naming the command may waive it (bash.ts).
      if (!inside && !allowed) return { decision: "ask", reason: `${what}, which may be outside the working directories${outsideNote(ctx)}, and no Edit rule allows it.`, unmatched: true };
    }
    return undefined;
  };

  const checkLiteral = (a: FileAccess, ctx: BuiltinContext, state: CwdState, what: string): BuiltinVerdict | undefined => {
    const t = readTarget(a.path, "path", ctx);
    if ("error" in t) return deny(`${what}: ${t.error}.`);
    const d = firstObjection(state, "deny", a.access, t.pairs);
    if (d) return fromRule(d.rule.rule, "deny", `${what}${resolvedNote(a, d.pair)}, which ${ruleRef(d.rule.rule)} denies.`);
    if (a.access === "write") {
      for (const p of t.pairs) {
        const why = protectedWhy(state, p);
        if (why !== undefined) return { decision: "ask", reason: `${what}${resolvedNote(a, p)}, which is ${why}.`, keepAsk: true };
      }
    }
    const q = firstObjection(state, "ask", a.access, t.pairs);
    if (q) return fromRule(q.rule.rule, "ask", `${what}${resolvedNote(a, q.pair)}, which needs approval under ${ruleRef(q.rule.rule)}.`);
    const wds = workingDirs(ctx);
    if (a.recursive) {
      const hit = treeObjection(state, a.access, treesOf(t.pairs), a.staticOnly ? undefined : dirsOf(t.pairs));
      if (hit) return fromRule(hit.rule.rule, "ask", `${what} recursively, which may hold paths that ${ruleRef(hit.rule.rule)} ${hit.effect === "deny" ? "denies" : "asks for"}.`);
      if (a.access === "write") {
        // Removing or overwriting a whole tree that holds a project (its .git, .claude) or home.
        for (const p of t.pairs) {
          const dir = components(p.target);
          const holds = [...wds, components(home), ...env.protectedPaths.map((x) => components(path.posix.resolve(ctx.cwd, x)))].some((w) => within(w, dir));
          if (holds) return { decision: "ask", reason: `${what} recursively, and it holds a working directory, the home directory or mcp-warden's own files.`, keepAsk: true };
        }
      }
    }
    if (a.access === "write" && !t.pairs.every((p) => HARMLESS_WRITES.test(p.link))) {
      if (!t.exact) return { decision: "ask", reason: `${what}, a path in decomposed Unicode that may lie outside the working directories.` };
      for (const p of t.pairs) {
        if (insideForCall(p, wds, ctx) || firstAllow(state, "write", p) !== undefined) continue;
        return { decision: "ask", reason: `${what}${resolvedNote(a, p)}, outside the working directories${outsideNote(ctx)}, and no Edit rule allows it.`, unmatched: true };
      }
    }
    return undefined;
  };

  // A write that shows nothing of the file is judged by the Edit rules alone (FileAccess.writeOnly).
  const writeOnlyStates = new WeakMap<CwdState, CwdState>();
  const editRulesOnly = (s: CwdState): CwdState => {
    let w = writeOnlyStates.get(s);
    if (!w) {
      const edit = (list: ActiveRule[]): ActiveRule[] => list.filter((r) => r.kind === "Edit");
      w = { ...s, rules: { deny: edit(s.rules.deny), ask: edit(s.rules.ask), allow: edit(s.rules.allow) } };
      writeOnlyStates.set(s, w);
    }
    return w;
  };

  const checkAccess = (a: FileAccess, ctx: BuiltinContext): BuiltinVerdict | undefined => {
    if (a === null || typeof a !== "object" || typeof a.path !== "string" || (a.access !== "read" && a.access !== "write")) {
      return deny("A file access could not be judged: it has no path or no access kind.");
    }
    const via = typeof a.via === "string" && a.via !== "" ? a.via : "a command";
    const what = `${via} ${a.access === "read" ? "reads" : "writes"} ${a.path}`;
    const state = a.access === "write" && a.writeOnly === true ? editRulesOnly(stateFor(ctx)) : stateFor(ctx);
    if (a.kind === "unknown") return unknownAccess(a, state, what);
    if (a.kind === "glob") return checkGlob(a, ctx, state, what);
    if (a.kind === "literal") return checkLiteral(a, ctx, state, what);
    return deny(`${what}: unknown path kind ${JSON.stringify(a.kind)}.`);
  };

  return {
    decide(tool, input, ctx) {
      if (!FILE_TOOLS.has(tool)) return undefined;
      try {
        return decideTool(tool, input, ctx);
      } catch (e) {
        return deny(`${tool} call could not be judged: ${(e as Error).message}.`);
      }
    },
    checkAccess(a, ctx) {
      try {
        return checkAccess(a, ctx);
      } catch (e) {
        return deny(`A file access of ${typeof a?.path === "string" ? a.path : "a command"} could not be judged: ${(e as Error).message}.`);
      }
    },
    hasDeny(access) {
      return specs.deny.some((s) => ruleCovers({ tool: s.kind }, access, "deny"));
    },
    insideWorkingDirectories(dir, ctx) {
      // Where the directory really is decides, whatever the call's cwd: `cd /project/src` from
      // outside leads back in. Every reading, link and target, must be inside.
      try {
        if (typeof dir !== "string") return false;
        const t = readTarget(dir, "path", ctx);
        if ("error" in t || !t.exact) return false;
        const wds = workingDirs(ctx);
        return t.pairs.every((p) => insideWorkingDirs(p, wds));
      } catch {
        return false;
      }
    },
  };
}

/**
 * The directory a Glob call searches: its search path joined with the pattern's literal leading
 * directories (an absolute pattern, or one with `..`, leaves the search path).
 */
/** How many levels below its literal prefix a glob can match (Infinity with `**`). */
function globDepth(globs: Seg[][]): number {
  let depth = 0;
  for (const g of globs) depth = g.some((s) => s.any) ? Infinity : Math.max(depth, g.length - literalPrefix(g).length);
  return depth;
}

/** The directories a glob's walk starts at: its literal prefix, as written and resolved. */
function globRoots(prefixes: { link: string[]; target: string[] }[]): string[] {
  return [...new Set(prefixes.flatMap((p) => ["/" + p.link.join("/"), "/" + p.target.join("/")]))];
}

function globBaseDir(pattern: string, searchPath: string): string {
  const joined = pattern.startsWith("/") || pattern === "~" || pattern.startsWith("~/") ? pattern : `${searchPath.replace(/\/+$/, "")}/${pattern}`;
  const parts = joined.split("/");
  const lit: string[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const c = parts[i] as string;
    if (/[*?[\]{}\\]/.test(c)) break;
    lit.push(c);
  }
  const dir = lit.join("/");
  return dir === "" ? (joined.startsWith("/") ? "/" : searchPath) : dir;
}

/** Whether an Edit allow rule covers every path under dir (an anchor alone, or `<literal dir>/**`). */
function allowsTree(r: ActiveRule, dir: string[]): boolean {
  if (r.compiled === undefined) return true;
  const { bases, glob } = r.compiled.layout;
  if (r.compiled.anchor === "anywhere") return false;
  let lit: string[];
  if (glob === "") lit = [];
  else {
    const m = /^((?:[^*?[\]{}\\/]+\/)*)\*\*$/.exec(glob);
    if (!m) return false;
    lit = components(m[1] as string);
  }
  return bases.some((b) => within(dir, [...b, ...lit]));
}
