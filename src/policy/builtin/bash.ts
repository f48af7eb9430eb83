// Judge of Claude Code's Bash tool: Claude Code's permission rules (`Bash(npm run test:*)`,
// `Bash(ls *)`, `denyCommands` entries such as `curl * | bash`) applied to every command bash would
// run, not to the command line as a string.
//
// Order: deny, then ask, then allow; a command no rule allows asks (`unmatched`). A line is allowed
// only when every command in it is; one denied command denies the line. What cannot be known before
// the line runs (a dynamic command name, a string a shell runs that is not static, a parse error, a
// line over 10,000 characters) is never allowed: it asks, or is denied when a deny rule could match
// it. Files the commands read and write go to the Read/Edit rules (FileJudge). Programs that run code
// or write files through their arguments (bash-exec-args.ts), and destructive variants of programs
// (bash-destructive.ts: `git branch -D`, `git push --force`...), are allowed only by an exact rule.
import { analyzeCommand, type Analysis } from "../shell/index.js";
import { describeSource, PolicyError } from "../rules.js";
import { fold } from "../glob.js";
import type { Source } from "../types.js";
import { assignmentName, COMMAND_ENV_NAMES, isSafeAssignment, SOURCED_ENV_NAMES } from "./bash-env.js";
import { argViewOf, findExecArgs, programFamily } from "./bash-exec-args.js";
import { findDestructive } from "./bash-destructive.js";
import { argumentAccesses, redirectAccesses } from "./bash-files.js";
import { type Intent, intentHit, intentOf, lineEffects } from "./bash-intent.js";
import {
  allowMatches,
  allowStrings,
  type CommandPattern,
  compilePattern,
  denyMatches,
  type DenyView,
  denyView,
  type Pattern,
  PatternError,
  patternPrograms,
  SHELL_LIKE,
} from "./bash-pattern.js";
import {
  assignmentsAllowed,
  directoryChanges,
  directoryOperand,
  DIRECTORY_CHANGERS,
  homeIsStatic,
  type Line,
  reachable,
  resolveHome,
  runTimeWords,
  stdinText,
  type Unit,
  variableSettings,
  withDirectoryChanges,
} from "./bash-line.js";
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileAccess, FileJudge } from "./types.js";

export interface BashPolicy {
  /** The verdict for one Bash call (`input.command`); never throws. Unmatched → ask with `unmatched: true`. */
  decide(input: Record<string, unknown>, ctx: BuiltinContext, files: FileJudge): BuiltinVerdict;
}

interface Compiled {
  rule: BuiltinRule;
  pattern: Pattern;
  /** What a deny or ask rule means beyond its words (bash-intent.ts): `rm -rf /` → recursive deletion of /. */
  intent?: Intent;
}

/** Wrappers that add nothing to what they run: the command they run is judged instead. */
const LOOK_THROUGH = new Set(["timeout", "time", "nice", "nohup", "stdbuf", "command", "builtin", "xargs", "env", "setsid", "exec", "ionice", "watch", "eval", "trap", "coproc", ...SHELL_LIKE]);

/** Option values analyzed as command lines may hold command lines in turn; this far and no further. */
const MAX_VALUE_DEPTH = 3;
/** Commands added from option values for one line; past this a value is judged as unresolved. */
const MAX_VALUE_UNITS = 400;
/** Words of opaque code checked against the file rules. */
const MAX_CODE_PATHS = 64;

type Outcome = {
  decision: "deny" | "ask";
  reason: string;
  rule?: string;
  source?: Source;
  keepAsk?: boolean;
  rank: number;
  /** An ask of the file judge's defaults (a write outside the working directories), not of a rule. */
  defaultAsk?: boolean;
  /** Dropped when this unit is allowed by an allow rule without `*` (see fileOutcomes). */
  waivedByExactAllowOf?: number;
};

/**
 * Programs that only read (as far as files go), with their dangerous options already caught by the
 * exec-through-arguments table (a finding makes the line "may change the disk" anyway).
 */
const READS_ONLY: ReadonlySet<string> = new Set([
  "grep", "egrep", "fgrep", "rg", "ag", "ls", "cat", "head", "tail", "less", "more", "find", "wc", "sort", "uniq", "xargs", "echo",
  "printf", "cut", "tr", "jq", "file", "stat", "du", "tree", "true", "false", "cd", "pwd", "test", "[", "nl", "od", "xxd", "hexdump",
  "strings", "base64", "diff", "cmp", "column", "basename", "dirname", "realpath", "readlink", "which", "type", "date", "env", "time",
  "timeout", "nice", "command", "builtin", "sed", "awk",
]);

/** Ranks of asks, for choosing which one the verdict names. */
const RANK = { askRule: 0, file: 1, unresolved: 2, dangerous: 3, env: 4, unmatched: 5 } as const;

function invalid(rule: BuiltinRule, problem: string): PolicyError {
  return new PolicyError(`invalid rule ${JSON.stringify(rule.text)} in ${describeSource(rule.source)}: ${problem}`, { source: rule.source, rule: rule.text, problem });
}

/** Compiles every rule whose tool is `Bash` (any effect). Throws PolicyError naming the rule and its source on a bad pattern. */
export function compileBashRules(rules: BuiltinRule[]): BashPolicy {
  const deny: Compiled[] = [];
  const ask: Compiled[] = [];
  const allow: Compiled[] = [];
  for (const rule of rules) {
    if (rule.tool !== "Bash") continue;
    let pattern: Pattern;
    try {
      pattern = compilePattern(rule.specifier, { prefix: rule.prefix === true });
    } catch (e) {
      if (e instanceof PatternError) throw invalid(rule, e.message);
      throw e;
    }
    if (rule.effect === "allow" && pattern.kind === "list")
      throw invalid(rule, "an allow rule matches one command or one pipeline; write one rule per command instead of joining them with ;, && or ||");
    if (rule.effect === "allow" && pattern.kind === "write")
      throw invalid(rule, "an allow rule names a command, not a redirection; allow writes to files with Edit(...) rules");
    const c: Compiled = { rule, pattern };
    const intent = rule.effect === "allow" ? undefined : intentOf(pattern);
    if (intent) c.intent = intent;
    (rule.effect === "deny" ? deny : rule.effect === "ask" ? ask : allow).push(c);
  }
  const judge = new BashJudge(deny, ask, allow);
  return { decide: (input, ctx, files) => judge.decide(input, ctx, files) };
}

function short(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 120 ? `${t.slice(0, 117)}...` : t;
}

function unitText(u: Unit): string {
  return short(u.cmd.argv.length > 0 ? u.cmd.argv.join(" ") : u.cmd.text);
}

/** Words of a text as bash might see them once quotes and escapes are gone (for "could a rule match this?"). */
function textWords(text: string): Set<string> {
  const words = new Set<string>();
  for (const w of fold(text.replace(/['"\\]/g, "")).split(/[^a-z0-9_.+-]+/)) if (w !== "") words.add(w);
  return words;
}

class BashJudge {
  private readonly denyPrograms: Array<{ c: Compiled; programs: string[][] }>;

  constructor(
    private readonly deny: Compiled[],
    private readonly ask: Compiled[],
    private readonly allow: Compiled[],
  ) {
    this.denyPrograms = deny.map((c) => ({ c, programs: patternPrograms(c.pattern) }));
  }

  decide(input: Record<string, unknown>, ctx: BuiltinContext, files: FileJudge): BuiltinVerdict {
    try {
      const command = input["command"];
      if (typeof command !== "string") return { decision: "deny", reason: "Bash: input.command must be a string" };
      return this.decideLine(command, ctx, files);
    } catch (e) {
      return { decision: "deny", reason: `Bash: the command could not be judged (internal error: ${e instanceof Error ? e.message : String(e)}); denied to fail closed` };
    }
  }

  /** A deny rule that could match a text we cannot analyze: every program word of the rule appears in it. */
  private denyForText(text: string): Compiled | undefined {
    const words = textWords(text);
    const anyShell = [...SHELL_LIKE].some((s) => words.has(s));
    for (const { c, programs } of this.denyPrograms)
      for (const alt of programs) if (alt.every((p, k) => p === "*" || words.has(p) || (k > 0 && SHELL_LIKE.has(p) && anyShell))) return c;
    return undefined;
  }

  private decideLine(command: string, ctx: BuiltinContext, files: FileJudge): BuiltinVerdict {
    const denyAll = this.deny.find((c) => c.pattern.kind === "any");
    if (denyAll) return verdictFrom({ decision: "deny", reason: `every Bash command is denied by ${denyAll.rule.text}`, rank: 0 }, denyAll.rule);
    const analysis = analyzeCommand(command);
    if (analysis.tooLong || (analysis.parseError !== undefined && analysis.commands.length === 0)) {
      const why = analysis.tooLong ? "the command is longer than 10,000 characters" : `the command does not parse (${analysis.parseError})`;
      const d = this.denyForText(command);
      if (d) return verdictFrom({ decision: "deny", reason: `${why}, and it mentions what the deny rule ${d.rule.text} forbids`, rank: 0 }, d.rule);
      return { decision: "ask", reason: `Bash: ${why}; it is never allowed without asking` };
    }
    const line = this.buildLine(analysis);
    if (line.units.length === 0 && line.compoundRedirects.length === 0) return { decision: "ask", reason: "Bash: the command runs nothing that a rule could allow (empty or comments only)", unmatched: true };

    const outcomes: Outcome[] = [];
    // 1. Deny rules, then the fail-closed denials of what cannot be resolved.
    for (const c of this.deny) {
      const hit = this.match(c.pattern, line);
      if (hit) return verdictFrom({ decision: "deny", reason: `${hit} matches the deny rule ${c.rule.text}`, rank: 0 }, c.rule);
    }
    for (const c of this.deny) {
      const hit = this.intentMatch(c, line, ctx);
      if (hit) return verdictFrom({ decision: "deny", reason: `${hit}, which the deny rule ${c.rule.text} forbids`, rank: 0 }, c.rule);
    }
    const unresolved = line.units.filter((u) => u.cmd.unresolved);
    for (const u of unresolved) {
      // A string that did not parse, or code hidden in a variable's value (set in this line, or
      // inherited): deny when the text could hold what a deny rule forbids. An unknown command: any.
      const d = u.cmd.unparsed !== undefined ? this.denyForText(u.cmd.unparsed) : u.cmd.hiddenCode ? this.denyForText(command) : this.deny[0];
      const why = `\`${unitText(u)}\` cannot be known before it runs (${u.cmd.reason ?? "unresolved"})`;
      if (d) return verdictFrom({ decision: "deny", reason: `${why}, and it could be what the deny rule ${d.rule.text} forbids`, rank: 0 }, d.rule);
      outcomes.push({ decision: "ask", reason: `${why}; it is never allowed without asking`, rank: RANK.unresolved });
    }
    // 2. Files read and written, and opaque code mentioning denied programs or paths.
    for (const o of this.fileOutcomes(line, ctx, files)) {
      if (o.decision === "deny") return verdictOf(o);
      outcomes.push(o);
    }
    for (const o of this.codeOutcomes(line, ctx, files)) {
      if (o.decision === "deny") return verdictOf(o);
      outcomes.push(o);
    }
    // 3. Ask rules.
    for (const c of this.ask) {
      const hit = this.match(c.pattern, line) ?? this.intentMatch(c, line, ctx);
      if (hit) outcomes.push({ decision: "ask", reason: `${hit} matches the ask rule ${c.rule.text}`, rule: c.rule.text, source: c.rule.source, rank: RANK.askRule });
    }
    // 4. Allow: every command must be allowed.
    const exactAllowed: boolean[] = [];
    const allowed = this.allowUnits(line, outcomes, ctx, files, exactAllowed);
    for (let k = outcomes.length - 1; k >= 0; k--) {
      const w = (outcomes[k] as Outcome).waivedByExactAllowOf;
      if (w !== undefined && exactAllowed[w]) outcomes.splice(k, 1);
    }
    if (outcomes.length > 0) {
      const best = outcomes.reduce((a, b) => (b.rank < a.rank ? b : a));
      const v = verdictOf({ ...best, decision: "ask" });
      if (outcomes.some((o) => o.keepAsk)) v.keepAsk = true;
      if (outcomes.every((o) => o.rank === RANK.unmatched)) v.unmatched = true;
      return v;
    }
    const first = allowed.find((a) => a.rule !== undefined);
    const names = allowed.filter((a) => a.rule).map((a) => `\`${a.text}\` by ${(a.rule as BuiltinRule).text}`);
    const listed = names.length > 4 ? [...names.slice(0, 3), `${names.length - 3} more`] : names;
    const reason = names.length <= 1 ? (first?.rule ? `\`${first.text}\` is allowed by ${first.rule.text}` : "the command runs nothing a rule must allow") : `all ${names.length} commands are allowed (${listed.join(", ")})`;
    const v: BuiltinVerdict = { decision: "allow", reason: `Bash: ${reason}` };
    if (first?.rule) {
      v.rule = first.rule.text;
      v.source = first.rule.source;
    }
    return v;
  }

  // -------------------------------------------------------------------------------------------
  // The commands of a line, with the command lines found in option values.

  private buildLine(analysis: Analysis): Line {
    const line: Line = { units: [], flows: [], compoundRedirects: [] };
    this.merge(line, analysis, undefined, 0);
    let added = 0;
    for (let i = 0; i < line.units.length; i++) {
      const u = line.units[i] as Unit;
      const values: Array<{ what: string; value: string }> = [];
      // `GIT_SSH_COMMAND='curl x' git fetch`, `export PAGER='curl x'`: the value is a command line.
      for (const a of variableSettings(u.cmd)) if (COMMAND_ENV_NAMES.has(assignmentName(a))) values.push({ what: assignmentName(a), value: a.slice(a.indexOf("=") + 1) });
      if (!u.cmd.unresolved && u.cmd.argv.length > 0) {
        u.findings = [...findExecArgs(argViewOf(u.cmd)), ...findDestructive(u.cmd)];
        for (const f of u.findings) if ((f.hit.kind ?? f.entry.value) === "command" && f.hit.value !== undefined) values.push({ what: f.entry.id, value: f.hit.value });
      }
      for (const { what, value } of values) {
        const sub = u.depth >= MAX_VALUE_DEPTH || added >= MAX_VALUE_UNITS ? undefined : analyzeCommand(value);
        if (sub) added += sub.commands.length;
        // Too deep, too many, too long or not parsable: never allowed, denied when it names a denied program.
        if (!sub || sub.tooLong || (sub.parseError !== undefined && sub.commands.length === 0)) {
          const reason = !sub ? `the value of ${what} is nested too deeply or the line has too many` : `the value of ${what} does not parse as a command`;
          line.units.push({
            cmd: { argv: [], program: "", assignments: [], redirects: [], unresolved: true, reason, dynamicArgs: [], globArgs: [], source: "sh -c", text: value, unparsed: value },
            parent: i,
            fromValue: true,
            depth: u.depth + 1,
            findings: [],
          });
        } else this.merge(line, sub, i, u.depth + 1);
      }
    }
    return line;
  }

  private merge(line: Line, a: Analysis, parent: number | undefined, depth: number): void {
    const off = line.units.length;
    for (const c of a.commands) {
      const u: Unit = { cmd: c, fromValue: parent !== undefined, depth, findings: [] };
      const p = c.parent !== undefined ? c.parent + off : parent;
      if (p !== undefined) u.parent = p;
      line.units.push(u);
    }
    const shift = (r: [number, number]): [number, number] => [r[0] + off, r[1] + off];
    for (const f of a.flows) line.flows.push({ from: shift(f.from), to: shift(f.to) });
    for (const r of a.compoundRedirects) line.compoundRedirects.push({ ...r, first: r.first + off, end: r.end + off });
  }

  private view(u: Unit): DenyView {
    u.view ??= denyView(u.cmd);
    return u.view;
  }

  // -------------------------------------------------------------------------------------------
  // Deny and ask matching: a description of what matched, or undefined.

  private match(p: Pattern, line: Line): string | undefined {
    switch (p.kind) {
      case "any":
        return line.units[0] ? `\`${unitText(line.units[0])}\`` : "the command";
      case "command": {
        const u = line.units.find((x) => denyMatches(p.cmd, this.view(x)));
        return u ? `\`${unitText(u)}\`` : undefined;
      }
      case "pipeline":
        return this.matchFlow(p.stages, line);
      case "list": {
        const parts = p.parts.map((q) => this.match(q, line));
        return parts.every((x) => x !== undefined) ? parts.join(" and ") : undefined;
      }
      case "write":
        return undefined; // by its intent (intentMatch)
    }
  }

  /** The same effect as the rule's intent by other means (`find / -delete` for `rm -rf /`), described. */
  private intentMatch(c: Compiled, line: Line, ctx: BuiltinContext): string | undefined {
    if (!c.intent) return undefined;
    line.effects ??= lineEffects(line.units, line.compoundRedirects);
    const { dirs, unknown } = directoryChanges(line);
    const e = intentHit(c.intent, line.effects, { cwd: ctx.cwd, ...(ctx.home !== undefined ? { home: ctx.home } : {}), dirs, dirsUnknown: unknown });
    if (!e) return undefined;
    const what = e.kind === "delete" ? (e.move ? `moves ${short(e.path)} away` : `deletes ${short(e.path)} recursively`) : `writes ${short(e.path)}`;
    return `\`${short(e.by)}\` ${what}: the same effect as ${c.intent.what}`;
  }

  /** Output of a command matching stage 0 reaching a command matching stage 1, and so on. */
  private matchFlow(stages: CommandPattern[], line: Line): string | undefined {
    let current = line.units.map((_, i) => i).filter((i) => denyMatches(stages[0] as CommandPattern, this.view(line.units[i] as Unit)));
    const chain: number[] = [];
    if (current.length === 0) return undefined;
    chain.push(current[0] as number);
    for (let s = 1; s < stages.length; s++) {
      const reach = reachable(current, line.flows, line.units.length);
      current = [...reach].filter((i) => denyMatches(stages[s] as CommandPattern, this.view(line.units[i] as Unit), true));
      if (current.length === 0) return undefined;
      chain.push(current[0] as number);
    }
    const [a, ...rest] = chain.map((i) => `\`${unitText(line.units[i] as Unit)}\``);
    return `the output of ${a} reaching ${rest.join(" then ")}`;
  }

  // -------------------------------------------------------------------------------------------
  // Files.

  private fileOutcomes(line: Line, ctx: BuiltinContext, files: FileJudge): Outcome[] {
    // Accesses by the unit that makes them (undefined: redirections of compound commands).
    const accesses: Array<[number | undefined, FileAccess[]]> = [];
    line.units.forEach((u, i) => {
      const own = argumentAccesses(u.cmd, runTimeWords(line, i));
      if (u.cmd.redirects.length > 0) own.push(...redirectAccesses(u.cmd.redirects, u.cmd.program || "redirect"));
      // `BASH_ENV=.env bash -c ls`: the shell reads and runs the file at start.
      for (const a of variableSettings(u.cmd)) {
        const name = assignmentName(a);
        if (SOURCED_ENV_NAMES.has(name)) own.push({ path: a.slice(a.indexOf("=") + 1), kind: /[$`]/.test(a) ? "unknown" : "literal", access: "read", via: name });
      }
      accesses.push([i, own]);
    });
    for (const r of line.compoundRedirects) accesses.push([undefined, redirectAccesses(r.redirects, r.kind)]);
    // Globs and recursive reads may be judged by what is on disk now only when nothing in the line
    // can change the disk first: no writes, nothing unresolved, only programs known to just read.
    const mayChangeDisk =
      accesses.some(([, list]) => list.some((a) => a.access === "write" && !/^\/dev\/(?:null|stdout|stderr|fd\/\d+)$/.test(a.path))) ||
      line.units.some((u) => u.cmd.unresolved || (u.cmd.argv.length > 0 && !READS_ONLY.has(programFamily(u.cmd.program))) || u.findings.length > 0);
    if (mayChangeDisk) for (const [, list] of accesses) for (const a of list) a.staticOnly = true;
    const out: Outcome[] = [];
    const home = homeIsStatic(line);
    for (const [unit, list] of accesses) {
      for (const a of withDirectoryChanges(list.map((x) => (home ? resolveHome(x) : x)), line)) {
        const o = this.checkFile(a, ctx, files);
        if (!o) continue;
        if (o.decision === "deny") return [o];
        // A write outside the working directories is asked by default only: an allow rule without
        // `*` that names this very command (`Bash(rm -rf /tmp/build)`) already says yes to it.
        if (o.defaultAsk && unit !== undefined) o.waivedByExactAllowOf = unit;
        out.push(o);
      }
    }
    return out;
  }

  private checkFile(a: FileAccess, ctx: BuiltinContext, files: FileJudge): Outcome | undefined {
    const what = `${a.via} ${a.access === "read" ? "reads" : "writes"} ${a.kind === "unknown" ? `a file known only at run time (${short(a.path)})` : short(a.path)}`;
    const v = files.checkAccess(a, ctx);
    if (v && v.decision !== "allow") {
      const o: Outcome = { decision: v.decision, reason: `${what}: ${v.reason}`, rank: RANK.file };
      if (v.rule !== undefined) o.rule = v.rule;
      if (v.source !== undefined) o.source = v.source;
      if (v.keepAsk) o.keepAsk = true;
      if (v.unmatched && v.decision === "ask" && !v.keepAsk && v.rule === undefined) o.defaultAsk = true;
      return o;
    }
    // A path known only at run time could be any path a deny rule protects.
    if (!v && a.kind === "unknown" && files.hasDeny(a.access)) return { decision: "deny", reason: `${what}, which could be a file a ${a.access === "read" ? "Read" : "Edit"} deny rule protects`, rank: 0 };
    return undefined;
  }

  /** Code in another language (python -c, awk programs...): denied programs and paths it mentions. */
  private codeOutcomes(line: Line, ctx: BuiltinContext, files: FileJudge): Outcome[] {
    const out: Outcome[] = [];
    for (const [i, u] of line.units.entries())
      for (const f of u.findings) {
        let code: string | undefined;
        if ((f.hit.kind ?? f.entry.value) === "code" && f.hit.value !== undefined) code = f.hit.value;
        else if (f.entry.stdinIsCode) code = stdinText(line, i);
        if (code === undefined) continue;
        // The code's own arguments too: `python3 -c '...open(sys.argv[1])' .env`.
        const text = `${code}\n${u.cmd.argv.slice(1).join(" ")}`;
        const d = this.denyForText(text);
        if (d) return [{ decision: "deny", reason: `\`${unitText(u)}\` runs code (${f.entry.id}) that mentions what the deny rule ${d.rule.text} forbids`, rule: d.rule.text, source: d.rule.source, rank: 0 }];
        if (f.entry.pathsKnown) continue;
        let n = 0;
        for (const m of text.matchAll(/[~.\/A-Za-z0-9_@%+=,-]+/g)) {
          const t = (m[0] as string).replace(/^[=,]+|[=,]+$/g, "");
          if (t.length < 2 || !/[./~]/.test(t) || /^[.\d]+$/.test(t) || t.includes("://") || ++n > MAX_CODE_PATHS) continue;
          for (const access of ["read", "write"] as const) {
            const v = files.checkAccess({ path: t, kind: "literal", access, via: `${u.cmd.program} code` }, ctx);
            if (!v || v.decision === "allow") continue;
            const o: Outcome = { decision: v.decision, reason: `\`${unitText(u)}\` runs code (${f.entry.id}) that mentions ${t}: ${v.reason}`, rank: RANK.file };
            if (v.rule !== undefined) o.rule = v.rule;
            if (v.source !== undefined) o.source = v.source;
            if (v.keepAsk) o.keepAsk = true;
            if (o.decision === "deny") return [o];
            out.push(o);
            break;
          }
        }
      }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Allow.

  private allowUnits(line: Line, outcomes: Outcome[], ctx: BuiltinContext, files: FileJudge, exactAllowed: boolean[]): Array<{ text: string; rule?: BuiltinRule }> {
    const result: Array<{ text: string; rule?: BuiltinRule }> = [];
    const hasChildren = new Set<number>();
    for (const u of line.units) if (u.parent !== undefined && !u.fromValue) hasChildren.add(u.parent);
    line.units.forEach((u, i) => {
      exactAllowed[i] = false;
      const c = u.cmd;
      if (c.unresolved) return; // already an ask (or deny) outcome
      const unsafe = c.assignments.filter((a) => !isSafeAssignment(a));
      // Covered by the exact allow of the command that runs it (`Bash(sudo apt update)` covers `apt update`).
      if (u.parent !== undefined && exactAllowed[u.parent]) {
        exactAllowed[i] = true;
        return;
      }
      if (c.argv.length === 0 || (LOOK_THROUGH.has(programFamily(c.program)) && hasChildren.has(i))) {
        if (unsafe.length > 0) outcomes.push({ decision: "ask", reason: `\`${short(c.text)}\` sets ${unsafe.join(", ")}, which may change what runs; only known-safe variables (LANG, TZ, NO_COLOR...) ride on an allow rule`, rank: RANK.env });
        return;
      }
      // `cd src`: changing into a working directory needs no rule (later paths are checked against it).
      // Anywhere else (by its real path: a symlink to ~/.ssh is outside) asks, whatever rule matches,
      // unless an allow rule without `*` names this very command (`Bash(cd /tmp/build)`).
      if (DIRECTORY_CHANGERS.has(c.program)) {
        const dir = directoryOperand(c);
        if (dir !== undefined && files.insideWorkingDirectories?.(dir, ctx) === true) {
          if (unsafe.length === 0) return;
        } else {
          const where = dir === undefined ? "a directory known only at run time" : short(dir);
          outcomes.push({
            decision: "ask",
            reason: `\`${unitText(u)}\` changes to ${where}, which is not inside the working directories; later calls would work there`,
            rank: RANK.file,
            waivedByExactAllowOf: i,
          });
        }
      }
      const strings = allowStrings(c);
      const dangerous = u.findings[0];
      let matchedButDangerous: Compiled | undefined;
      let matchedButEnv: Compiled | undefined;
      for (const r of this.allow) {
        const m = this.allowMatch(r.pattern, u, line, strings);
        if (!m) continue;
        if (dangerous && !m.exact) {
          matchedButDangerous ??= r;
          continue;
        }
        if (!m.envOk) {
          matchedButEnv ??= r;
          continue;
        }
        exactAllowed[i] = m.exact;
        result.push({ text: unitText(u), rule: r.rule });
        return;
      }
      if (matchedButDangerous && dangerous) {
        outcomes.push({
          decision: "ask",
          reason: `\`${unitText(u)}\`: ${dangerous.entry.reason} (${short(dangerous.hit.detail)}); only an allow rule without * that matches the whole command allows it, and ${matchedButDangerous.rule.text} ${matchedButDangerous.rule.prefix ? "is an allowCommands prefix" : "has a wildcard"}`,
          rank: RANK.dangerous,
          ...(dangerous.entry.keepAsk ? { keepAsk: true } : {}),
        });
      } else if (matchedButEnv) {
        outcomes.push({ decision: "ask", reason: `\`${short(c.text)}\` sets ${unsafe.join(", ")}, which may change what runs; ${matchedButEnv.rule.text} does not name it`, rank: RANK.env });
      } else if (dangerous) {
        outcomes.push({ decision: "ask", reason: `\`${unitText(u)}\`: ${dangerous.entry.reason} (${short(dangerous.hit.detail)}), and no allow rule matches the whole command`, rank: RANK.dangerous, ...(dangerous.entry.keepAsk ? { keepAsk: true } : {}) });
      } else outcomes.push({ decision: "ask", reason: `no allow rule matches \`${unitText(u)}\``, rank: RANK.unmatched });
    });
    return result;
  }

  private allowMatch(p: Pattern, u: Unit, line: Line, strings: string[]): { exact: boolean; envOk: boolean } | undefined {
    switch (p.kind) {
      case "any":
        return { exact: false, envOk: u.cmd.assignments.every(isSafeAssignment) };
      case "command":
        if (!allowMatches(p.cmd, strings)) return undefined;
        return { exact: p.cmd.exact, envOk: assignmentsAllowed(p.cmd, u.cmd) };
      case "pipeline": {
        const st = u.cmd.stage;
        if (!st || st.count !== p.stages.length || u.fromValue) return undefined;
        let envOk = true;
        for (let k = 0; k < st.count; k++) {
          const s = line.units.find((x) => x.cmd.stage?.pipeline === st.pipeline && x.cmd.stage.index === k && x.fromValue === u.fromValue);
          if (!s || !allowMatches(p.stages[k] as CommandPattern, allowStrings(s.cmd))) return undefined;
          if (s === u) envOk = assignmentsAllowed(p.stages[k] as CommandPattern, u.cmd);
        }
        return { exact: p.stages.every((s) => s.exact), envOk };
      }
      case "list":
      case "write":
        return undefined;
    }
  }
}

function verdictFrom(o: Omit<Outcome, "rule" | "source">, rule: BuiltinRule): BuiltinVerdict {
  return { decision: o.decision, reason: `Bash: ${o.reason}`, rule: rule.text, source: rule.source };
}

function verdictOf(o: Outcome): BuiltinVerdict {
  const v: BuiltinVerdict = { decision: o.decision, reason: `Bash: ${o.reason}` };
  if (o.rule !== undefined) v.rule = o.rule;
  if (o.source !== undefined) v.source = o.source;
  if (o.keepAsk) v.keepAsk = true;
  return v;
}
