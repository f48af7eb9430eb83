// The policy engine: compiles a PolicyInput once, then answers every tool call. Pure: no I/O.
//
// decideTool(req), in order; the first step that answers wins:
//   0. A name that is not a string, is empty, longer than MAX_NAME_LENGTH, or carries control or
//      invisible characters or edge whitespace → deny. An upstream may read such a name differently
//      from the rules, so it is refused before any rule is consulted.
//   1. A name not starting with `mcp__` is a built-in tool (Bash, Read, WebFetch...): its judge in
//      builtin/ decides, with the same deny → ask → allow order and the same modes (builtin/index.ts).
//   2. A malformed MCP name (parseCanonical undefined) → deny.
//   3. Server level. For a configured server: its decideServer verdict if deny; then its `denyTools`
//      (upstream names or globs, case-insensitive) → deny; then, if it has `allowedTools`, a tool none
//      of them matches (case-sensitive) → deny. For a server that is not configured: a name differing
//      only in case from a configured server → deny (a routing layer might fold case and reach the
//      configured server around its denyTools); otherwise the checks its name alone can decide
//      (managed-only mode, serverName entries of the server lists), and then rules only.
//   4. deny rules → deny.   5. ask rules → ask.
//      Both match BROADLY: case-insensitively against the whole canonical string, `*` matching any run
//      of characters including `_`, and a server-only rule `mcp__x` also matches every `mcp__x__<any>`.
//      So deny `mcp__*__delete*` catches `mcp__db__Delete_rows` and `mcp__github__create_issue__delete_all`
//      (a tool whose own name holds `__delete`) but not `mcp__db__list_deleted_items`.
//   6. allow rules, autoApproveTools and the matching `allowedTools` entry → allow. Allow matches
//      STRUCTURALLY and case-sensitively: the rule splits like a canonical name, its server part is
//      matched against the server only and its tool part against the tool only; `mcp__x` and
//      `mcp__x__*` allow every tool of x. So allow `mcp__github__create_issue` allows neither
//      `mcp__github__create_issue__delete_all` nor `mcp__GitHub__create_issue`.
//      The asymmetry is the point: a deny errs towards matching, an allow towards not matching.
//   7. Nothing matched → ask.
//   8. Modes act on ask only (never on deny): bypassPermissions → allow, unless bypass is disabled
//      (then default behavior, and the reason says so); dontAsk → deny; other modes → as default.
//   Verdict.rule is the rule as written and Verdict.source where it was written.
//
// Speed (every call passes here): rules without `*` sit in Maps, deny/ask keyed by the folded server
// then tool, allow by server then tool; globs with a literal server part sit in per-server lists; a
// list with many globs finds its few candidates in one Aho–Corasick pass over the name instead of
// testing every glob (see glob.ts for why not one combined RegExp). Verdicts are built and frozen at
// compile time, so a decision allocates only a few short strings.
import { CandidateIndex, fold, Glob, GlobList } from "./glob.js";
import { INVISIBLE_CHAR, MCP_PREFIX, nameProblem, parseCanonical, codePoint } from "./names.js";
import { describeSource, parseRule, PolicyError, type ParsedRule } from "./rules.js";
import { ServerGate } from "./servers.js";
import { misspelledToolName } from "./tool-names.js";
import { normalizeSeedRule } from "./seed-rules.js";
import { compileBuiltinPolicy, type BuiltinPolicy, type BuiltinRule, type FileJudge, type PolicyEnvironment } from "./builtin/index.js";
import type { ConfiguredServer, Decision, PolicyInput, Source, Sourced, ToolRequest, ToolPermissionsBlock, Verdict } from "./types.js";

export interface CompiledPolicy {
  /** The verdict for one tool call; never throws. */
  decideTool(req: ToolRequest): Verdict;
  /** Whether a server may run at all: only allow or deny. */
  decideServer(server: ConfiguredServer): Verdict;
  /**
   * For a server's prompts, resources and completions (items that are not tools): deny when the
   * server is refused or a deny rule covers every tool of it (`mcp__x`, `mcp__x__*`, `mcp__*`),
   * else allow. Only allow or deny.
   */
  decideServerItems(server: string): Verdict;
  /** Permission rules, autoApproveTools entries and per-server denyTools/allowedTools entries compiled. */
  readonly ruleCount: number;
  /** The Read/Edit rules as a judge of single paths (for guards on MCP path arguments); undefined without an environment. */
  readonly fileJudge: FileJudge | undefined;
}

type Mode = PolicyInput["defaultMode"];
const MODES: ReadonlySet<string> = new Set<Mode>(["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk"]);

/** A frozen verdict with a frozen private copy of its source: callers share it and cannot alter it. */
function verdict(decision: Decision, reason: string, rule?: string, source?: Source): Verdict {
  const v: Verdict = { decision, reason };
  if (rule !== undefined) v.rule = rule;
  if (source !== undefined) v.source = Object.isFrozen(source) ? source : Object.freeze({ ...source });
  return Object.freeze(v);
}

function isSource(s: unknown): s is Source {
  const o = s as Source | null;
  return !!o && typeof o === "object" && typeof o.layer === "string" && typeof o.file === "string" && typeof o.path === "string";
}

/** Deny and ask rules: folded, whole-name matching (see step 4). */
class BroadIndex {
  /** `mcp__x`, `mcp__x__*`: every tool of x. */
  private readonly serverWide = new Map<string, Verdict>();
  /** Literal server part: its tool part, exact or glob, against the folded tool. */
  private readonly perServer = new Map<string, GlobList<Verdict>>();
  /** Server part with `*`: the whole folded rule against the whole folded name. */
  private readonly global = new GlobList<Verdict>();
  /** The global rules that cover whole servers (no tool part, or only `*`): their server globs. */
  private readonly covering: { server: Glob; v: Verdict }[] = [];

  // A rule `mcp__S__T` with S free of `*` can only match names whose server is S: its literal prefix
  // `mcp__S__` fixes where the name's first `__` is (S has no `__`, and cannot end in `_` since the
  // split is at the first `__`). So bucketing by server gives exactly the whole-string answer.
  add(rule: Extract<ParsedRule, { kind: "mcp" }>, v: Verdict): void {
    const server = fold(rule.server);
    const tool = rule.tool === undefined ? undefined : fold(rule.tool);
    const toolAll = tool === undefined || new Glob(tool).matchesAll;
    if (!server.includes("*")) {
      if (toolAll) {
        if (!this.serverWide.has(server)) this.serverWide.set(server, v);
        return;
      }
      let list = this.perServer.get(server);
      if (!list) this.perServer.set(server, (list = new GlobList()));
      list.add(tool as string, v);
      return;
    }
    const whole = MCP_PREFIX + server + (tool === undefined ? "" : "__" + tool);
    this.global.add(whole, v);
    if (toolAll) this.covering.push({ server: new Glob(server), v });
    // `mcp__x` also covers `mcp__x__<anything>`.
    if (tool === undefined) this.global.add(whole + "__*", v);
  }

  seal(): void {
    for (const l of this.perServer.values()) l.seal();
    this.global.seal();
  }

  find(lcName: string, lcServer: string, lcTool: string): Verdict | undefined {
    const wide = this.serverWide.get(lcServer);
    if (wide !== undefined) return wide;
    const list = this.perServer.get(lcServer);
    if (list !== undefined) {
      const hit = list.find(lcTool);
      if (hit !== undefined) return hit;
    }
    return this.global.find(lcName);
  }

  /** A rule matching every tool of the (folded) server, if any. */
  coveringServer(lcServer: string): Verdict | undefined {
    const wide = this.serverWide.get(lcServer);
    if (wide !== undefined) return wide;
    for (const c of this.covering) if (c.server.test(lcServer)) return c.v;
    return undefined;
  }
}

/** Allow rules and autoApproveTools: structural, case-sensitive matching (see step 6). */
class StructuralIndex {
  private readonly serverWide = new Map<string, Verdict>();
  private readonly perServer = new Map<string, GlobList<Verdict>>();
  /** Server part with `*`: server glob against the server, tool glob (undefined: any) against the tool. */
  private readonly pairs: { server: Glob; tool: Glob | undefined; v: Verdict }[] = [];
  /** With many pairs: candidates by a literal of either glob, found in `server + "\0" + tool`. */
  private pairIndex: CandidateIndex | undefined;

  add(rule: Extract<ParsedRule, { kind: "mcp" }>, v: Verdict): void {
    const toolAll = rule.tool === undefined || new Glob(rule.tool).matchesAll;
    if (!rule.server.includes("*")) {
      if (toolAll) {
        if (!this.serverWide.has(rule.server)) this.serverWide.set(rule.server, v);
        return;
      }
      let list = this.perServer.get(rule.server);
      if (!list) this.perServer.set(rule.server, (list = new GlobList()));
      list.add(rule.tool as string, v);
      return;
    }
    this.pairs.push({ server: new Glob(rule.server), tool: toolAll ? undefined : new Glob(rule.tool as string), v });
  }

  seal(): void {
    for (const l of this.perServer.values()) l.seal();
    if (this.pairs.length >= 8)
      this.pairIndex = new CandidateIndex(this.pairs.map((p) => [...p.server.literals, ...(p.tool?.literals ?? [])]));
  }

  find(server: string, tool: string): Verdict | undefined {
    const wide = this.serverWide.get(server);
    if (wide !== undefined) return wide;
    const list = this.perServer.get(server);
    if (list !== undefined) {
      const hit = list.find(tool);
      if (hit !== undefined) return hit;
    }
    const pairs = this.pairs;
    if (pairs.length === 0) return undefined;
    const index = this.pairIndex;
    // The joined text only finds candidates (a key occurring anywhere in it); each is then tested
    // structurally, server glob against the server and tool glob against the tool.
    const count = index === undefined ? -1 : index.candidates(server + "\0" + tool);
    if (count < 0) {
      for (const p of pairs) if (p.server.test(server) && (p.tool === undefined || p.tool.test(tool))) return p.v;
      return undefined;
    }
    const items = (index as CandidateIndex).items;
    let best = -1;
    for (let j = 0; j < count; j++) {
      const i = items[j] as number;
      if (best >= 0 && i > best) continue;
      const p = pairs[i] as (typeof pairs)[number];
      if (p.server.test(server) && (p.tool === undefined || p.tool.test(tool))) best = i;
    }
    return best < 0 ? undefined : (pairs[best] as (typeof pairs)[number]).v;
  }
}

interface ServerState {
  verdict: Verdict;
  /** Folded patterns → deny verdicts. */
  denyTools: GlobList<Verdict> | undefined;
  /** Patterns → allow verdicts; undefined when the server sets no allowedTools. */
  allowedTools: GlobList<Verdict> | undefined;
  notAllowed: Verdict;
}

/** A tool-name pattern of denyTools/allowedTools: an upstream tool name or a `*` glob. */
export function checkToolPattern(p: unknown): string | undefined {
  if (typeof p !== "string") return "an entry must be a string";
  if (p.trim() === "") return "an entry must not be empty";
  const bad = INVISIBLE_CHAR.exec(p);
  if (bad) return `it contains the invisible or control character ${codePoint(bad[0])}`;
  if (p !== p.trim()) return "it has leading or trailing whitespace";
  return undefined;
}

function inputError(what: string): never {
  throw new PolicyError(`invalid policy input: ${what}`, { problem: what });
}

class Policy implements CompiledPolicy {
  readonly ruleCount: number;
  private readonly gate: ServerGate;
  private readonly deny = new BroadIndex();
  private readonly ask = new BroadIndex();
  private readonly allow = new StructuralIndex();
  private readonly servers = new Map<string, ServerState>();
  /** Folded name → configured name, to refuse names that differ only in case. */
  private readonly serversFolded = new Map<string, string>();
  private readonly mode: Mode;
  private readonly bypass: "on" | "disabled" | "off";
  private readonly unmatched: Verdict;
  private readonly builtinRules: BuiltinRule[] = [];
  private builtinCompiled: BuiltinPolicy | undefined;

  constructor(
    input: PolicyInput,
    private readonly env?: PolicyEnvironment,
  ) {
    if (!input || typeof input !== "object") inputError("the policy input must be an object");
    if (!MODES.has(input.defaultMode)) inputError(`unknown defaultMode ${JSON.stringify(input.defaultMode)}`);
    if (typeof input.bypassDisabled !== "boolean") inputError("bypassDisabled must be a boolean");
    if (typeof input.exclusiveManagedServers !== "boolean") inputError("exclusiveManagedServers must be a boolean");
    this.mode = input.defaultMode;
    this.bypass = this.mode !== "bypassPermissions" ? "off" : input.bypassDisabled ? "disabled" : "on";
    this.gate = new ServerGate(input);

    // Allow before autoApprove: when both match, the allow rule is the one reported.
    const lists = [
      [input.deny, "deny", this.deny, (t: string) => verdict("deny", `denied by rule ${t}`)],
      [input.ask, "ask", this.ask, (t: string) => this.applyMode(verdict("ask", `rule ${t} requires approval`))],
      [input.allow, "allow", this.allow, (t: string) => verdict("allow", `allowed by rule ${t}`)],
      [input.autoApprove, "autoApprove", this.allow, (t: string) => verdict("allow", `allowed by autoApproveTools entry ${t}`)],
    ] as const;
    // Every problem of the rules is collected and reported at once (fixing them one per run is a slow
    // loop); one problem still fails the whole compile: no policy is built with a rule left out.
    const problems: PolicyError[] = [];
    const collect = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (e) {
        // Errors with a source are the settings' (a rule, an entry); others are malformed input: at once.
        if (!(e instanceof PolicyError) || e.source === undefined) throw e;
        problems.push(e);
        return undefined;
      }
    };
    let count = 0;
    for (const [list, name, index, make] of lists) {
      for (const r of this.rules(list, name, problems)) {
        count++;
        if (r.parsed.kind !== "mcp") {
          this.builtinRules.push(builtinRule(name === "autoApprove" ? "allow" : name, r.parsed, r.source));
          continue;
        }
        const v = make(JSON.stringify(r.parsed.text));
        index.add(r.parsed, verdict(v.decision, v.reason, r.parsed.text, r.source));
      }
    }
    for (const block of input.toolPermissions ?? []) {
      for (const extra of collect(() => normalizeToolPermissions(block)) ?? []) {
        count++;
        if ("mcp" in extra) {
          const text = extra.mcp;
          const v = this.applyMode(verdict("ask", `toolPermissions requires approval for ${JSON.stringify(text)}`));
          this.ask.add(extra.parsed, verdict(v.decision, v.reason, text, extra.source));
        } else this.builtinRules.push(extra);
      }
    }
    for (const entry of input.seedRules ?? []) {
      const r = collect(() => normalizeSeedRule(entry));
      if (r === undefined) continue;
      count++;
      if ("mcp" in r) {
        const v = this.applyMode(verdict("ask", `requireApproval lists ${JSON.stringify(r.mcp)}`));
        this.ask.add(r.parsed, verdict(v.decision, v.reason, r.mcp, r.source));
      } else this.builtinRules.push(r);
    }
    this.additionalDirectories = (input.additionalDirectories ?? []).map((d) => {
      if (typeof d?.value !== "string" || d.value === "") inputError("additionalDirectories entries must be non-empty strings");
      return d.value;
    });
    // Built-in rules with a specifier are compiled now, so a bad one is reported when settings load;
    // without any, the judges are compiled at the first built-in call (the gateway never needs them).
    if (this.builtinRules.length > 0) {
      try {
        this.builtin();
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        // A judge stops at its first bad rule: compile each rule alone to name every bad one.
        const before = problems.length;
        for (const rule of this.builtinRules) collect(() => compileBuiltinPolicy([rule], this.env, this.builtinOptions()));
        if (problems.length === before) problems.push(e);
      }
    }
    this.deny.seal();
    this.ask.seal();
    this.allow.seal();

    if (!Array.isArray(input.servers)) inputError("servers must be an array");
    for (const server of input.servers) count += collect(() => this.addServer(server)) ?? 0;
    if (problems.length > 0) throw allProblems(problems);
    this.ruleCount = count;
    this.unmatched = this.applyMode(verdict("ask", "no rule matches; unmatched tools need approval"));
  }

  private readonly additionalDirectories: string[];

  private builtin(): BuiltinPolicy {
    this.builtinCompiled ??= compileBuiltinPolicy(this.builtinRules, this.env, this.builtinOptions());
    return this.builtinCompiled;
  }

  private builtinOptions() {
    return { mode: this.mode, bypassDisabled: this.bypass === "disabled", additionalDirectories: this.additionalDirectories };
  }

  get fileJudge(): FileJudge | undefined {
    return this.env === undefined ? undefined : this.builtin().files;
  }

  /** Parses every rule of a list; each bad one adds a PolicyError naming the rule, file and JSON path to `problems`. */
  private rules(list: Sourced<string>[], name: string, problems: PolicyError[]): { parsed: ParsedRule; source: Source }[] {
    if (!Array.isArray(list)) inputError(`${name} must be an array`);
    return list.flatMap((r, i) => {
      if (!r || typeof r !== "object" || !isSource(r.source)) inputError(`${name}[${i}] needs a value and a source`);
      const source = Object.freeze({ ...r.source });
      try {
        return [{ parsed: parseRule(r.value), source }];
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        const problem = e.problem ?? e.message;
        problems.push(new PolicyError(`invalid rule ${JSON.stringify(r.value)} in ${describeSource(source)}: ${problem}`, { source, rule: String(r.value), problem }));
        return [];
      }
    });
  }

  /** Compiles one configured server; returns how many tool patterns it holds. */
  private addServer(server: ConfiguredServer): number {
    if (!server || typeof server !== "object" || typeof server.name !== "string" || !server.entry || typeof server.entry !== "object")
      inputError("every server needs a name and an entry");
    if (!isSource(server.source)) inputError(`server ${JSON.stringify(server.name)} needs a source`);
    const name = server.name;
    const src = server.source;
    if (this.servers.has(name)) inputError(`server ${JSON.stringify(name)} is defined twice (merged settings hold one entry per name)`);
    const folded = fold(name);
    const clash = this.serversFolded.get(folded);
    if (clash !== undefined)
      inputError(`servers ${JSON.stringify(clash)} and ${JSON.stringify(name)} differ only in case; names must be distinct regardless of case`);
    this.serversFolded.set(folded, name);

    const quoted = JSON.stringify(name);
    const patterns = (field: "denyTools" | "allowedTools"): { pattern: string; source: Source }[] | undefined => {
      const list = server.entry[field];
      if (list === undefined) return undefined;
      if (!Array.isArray(list)) inputError(`mcpServers.${name}.${field} must be an array`);
      return list.map((p, i) => {
        const source = Object.freeze({ layer: src.layer, file: src.file, path: `mcpServers.${name}.${field}[${i}]` });
        const problem = checkToolPattern(p);
        if (problem !== undefined)
          throw new PolicyError(`invalid ${field} entry ${JSON.stringify(p)} in ${describeSource(source)}: ${problem}`, {
            source,
            rule: String(p),
            problem,
          });
        return { pattern: p, source };
      });
    };

    let count = 0;
    const denyList = patterns("denyTools");
    let denyTools: GlobList<Verdict> | undefined;
    if (denyList) {
      denyTools = new GlobList();
      for (const { pattern, source } of denyList)
        denyTools.add(fold(pattern), verdict("deny", `denied by denyTools entry ${JSON.stringify(pattern)} of server ${quoted}`, pattern, source));
      denyTools.seal();
      count += denyList.length;
    }
    const allowList = patterns("allowedTools");
    let allowedTools: GlobList<Verdict> | undefined;
    if (allowList) {
      allowedTools = new GlobList();
      for (const { pattern, source } of allowList)
        allowedTools.add(pattern, verdict("allow", `allowed by allowedTools entry ${JSON.stringify(pattern)} of server ${quoted}`, pattern, source));
      allowedTools.seal();
      count += allowList.length;
    }
    this.servers.set(name, {
      verdict: this.gate.decide(server),
      denyTools,
      allowedTools,
      notAllowed: verdict("deny", `not in allowedTools of server ${quoted}`, undefined, {
        layer: src.layer,
        file: src.file,
        path: `mcpServers.${name}.allowedTools`,
      }),
    });
    return count;
  }

  /** Step 8, applied once per ask verdict at compile time. */
  private applyMode(v: Verdict): Verdict {
    if (v.decision !== "ask") return v;
    if (this.bypass === "on")
      return verdict("allow", `bypassPermissions mode allows what would need approval (${v.reason})`, v.rule, v.source);
    if (this.bypass === "disabled")
      return verdict("ask", `${v.reason} (bypassPermissions mode is disabled by disableBypassPermissionsMode)`, v.rule, v.source);
    if (this.mode === "dontAsk") return verdict("deny", `dontAsk mode denies what would need approval (${v.reason})`, v.rule, v.source);
    return v;
  }

  decideServer(server: ConfiguredServer): Verdict {
    return this.gate.decide(server);
  }

  decideServerItems(server: string): Verdict {
    if (typeof server !== "string" || server === "" || server.includes("__") || nameProblem(server) !== undefined)
      return verdict("deny", `malformed server name ${JSON.stringify(String(server)).slice(0, 80)}`);
    const lcServer = fold(server);
    const st = this.servers.get(server);
    if (st !== undefined) {
      if (st.verdict.decision !== "allow") return st.verdict;
    } else {
      const configured = this.serversFolded.get(lcServer);
      if (configured !== undefined)
        return verdict("deny", `server ${JSON.stringify(server)} is not configured; the configured server is spelled ${JSON.stringify(configured)}`);
      const byName = this.gate.decideUnconfigured(server);
      if (byName !== undefined) return byName;
    }
    return this.deny.coveringServer(lcServer) ?? verdict("allow", `no deny rule covers every tool of server ${JSON.stringify(server)}`);
  }

  decideTool(req: ToolRequest): Verdict {
    const name: unknown = req !== null && typeof req === "object" ? req.tool : undefined;
    if (typeof name !== "string") return MALFORMED_REQUEST;
    const problem = nameProblem(name);
    if (problem !== undefined) return verdict("deny", `malformed tool name: ${problem}`);
    if (!name.startsWith(MCP_PREFIX)) {
      const input = req.input;
      if (input === null || typeof input !== "object" || Array.isArray(input)) return verdict("deny", `malformed request: the input of ${name} is not an object`);
      return this.builtin().decide(name, input, req.cwd, req.projectRoot);
    }
    const parts = parseCanonical(name);
    if (parts === undefined) return MALFORMED_MCP_NAME;
    const { server, tool } = parts;

    // Folding never moves `_`, so the folded name splits at the same separator.
    const lc = fold(name);
    const lcSep = lc.indexOf("__", MCP_PREFIX.length);
    if (lcSep <= MCP_PREFIX.length || lcSep + 2 >= lc.length) return MALFORMED_MCP_NAME;
    const lcServer = lc.slice(MCP_PREFIX.length, lcSep);
    const lcTool = lc.slice(lcSep + 2);

    let allowedByServer: Verdict | undefined;
    const st = this.servers.get(server);
    if (st !== undefined) {
      if (st.verdict.decision !== "allow") return st.verdict;
      if (st.denyTools !== undefined) {
        const hit = st.denyTools.find(lcTool);
        if (hit !== undefined) return hit;
      }
      if (st.allowedTools !== undefined) {
        allowedByServer = st.allowedTools.find(tool);
        if (allowedByServer === undefined) return st.notAllowed;
      }
    } else {
      const configured = this.serversFolded.get(lcServer);
      if (configured !== undefined)
        return verdict("deny", `server ${JSON.stringify(server)} is not configured; the configured server is spelled ${JSON.stringify(configured)}`);
      const byName = this.gate.decideUnconfigured(server);
      if (byName !== undefined) return byName;
    }

    const denied = this.deny.find(lc, lcServer, lcTool);
    if (denied !== undefined) return denied;
    const asked = this.ask.find(lc, lcServer, lcTool);
    if (asked !== undefined) return asked;
    const allowed = this.allow.find(server, tool);
    if (allowed !== undefined) return allowed;
    if (allowedByServer !== undefined) return allowedByServer;
    return this.unmatched;
  }
}

/** The directory `/path` anchors of a rule refer to: the project of `<project>/.mcp-warden/settings.json`. */
export function settingsRootOf(source: Source): string | undefined {
  if (source.layer === "request" || !source.file.startsWith("/")) return undefined;
  const dir = source.file.slice(0, source.file.lastIndexOf("/")) || "/";
  const base = dir.slice(dir.lastIndexOf("/") + 1);
  if (base === ".mcp-warden" || base === ".claude") return dir.slice(0, dir.lastIndexOf("/")) || "/";
  return dir;
}

function builtinRule(effect: BuiltinRule["effect"], parsed: Extract<ParsedRule, { kind: "builtin" }>, source: Source): BuiltinRule {
  const r: BuiltinRule = { effect, tool: parsed.tool, text: parsed.text, source };
  if (parsed.specifier !== undefined) r.specifier = parsed.specifier;
  const root = settingsRootOf(source);
  if (root !== undefined) r.settingsRoot = root;
  return r;
}

/**
 * The second seed's `toolPermissions` as rules of the same engine: `Bash.allowCommands` → allow of
 * that command and any further arguments at a word boundary (`npm run` allows `npm run build`, not
 * `npm runx`; see BuiltinRule.prefix), `Bash.denyCommands` → deny (each entry is a Bash pattern, pipelines included), `requireApproval`
 * → ask (`true`: every use; a list: `Tool(entry)`, e.g. `Write: ["*.env"]`). An MCP tool takes only
 * `requireApproval: true`.
 */
function normalizeToolPermissions(block: Sourced<ToolPermissionsBlock>): (BuiltinRule | { mcp: string; parsed: Extract<ParsedRule, { kind: "mcp" }>; source: Source })[] {
  if (!block || typeof block.value !== "object" || block.value === null || !isSource(block.source)) inputError("toolPermissions needs a value and a source");
  const out: (BuiltinRule | { mcp: string; parsed: Extract<ParsedRule, { kind: "mcp" }>; source: Source })[] = [];
  const base = block.source;
  for (const [tool, entry] of Object.entries(block.value)) {
    const at = (p: string): Source => Object.freeze({ layer: base.layer, file: base.file, path: `${base.path}.${tool}${p}` });
    const fail = (p: string, problem: string): never => {
      const source = at(p);
      throw new PolicyError(`invalid toolPermissions entry in ${describeSource(source)}: ${problem}`, { source, problem });
    };
    if (tool.toLowerCase().startsWith(MCP_PREFIX)) {
      let parsed: ParsedRule;
      try {
        parsed = parseRule(tool);
      } catch (e) {
        return fail("", (e as PolicyError).problem ?? (e as Error).message);
      }
      if (parsed.kind !== "mcp") return fail("", "not an MCP tool name");
      if (entry.allowCommands !== undefined || entry.denyCommands !== undefined) fail("", "allowCommands and denyCommands apply to Bash only");
      if (Array.isArray(entry.requireApproval)) fail(".requireApproval", "an MCP tool takes requireApproval: true, not a list");
      if (entry.requireApproval === true) out.push({ mcp: tool, parsed, source: at(".requireApproval") });
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tool)) fail("", `${JSON.stringify(tool)} is not a tool name`);
    const meant = misspelledToolName(tool);
    if (meant !== undefined) fail("", `there is no built-in tool ${JSON.stringify(tool)}; did you mean ${JSON.stringify(meant)}?`);
    if (tool !== "Bash" && (entry.allowCommands !== undefined || entry.denyCommands !== undefined))
      fail("", "allowCommands and denyCommands apply to Bash only");
    const add = (effect: BuiltinRule["effect"], field: string, list: string[] | undefined, text: (e: string) => string) => {
      (list ?? []).forEach((e, i) => {
        const problem = checkToolPattern(e);
        if (problem !== undefined) fail(`.${field}[${i}]`, problem);
        const r: BuiltinRule = { effect, tool, specifier: e, text: text(e), source: at(`.${field}[${i}]`) };
        // The seed's allowCommands name commands "and their arguments"; deny and ask match generously anyway.
        if (field === "allowCommands") r.prefix = true;
        const root = settingsRootOf(base);
        if (root !== undefined) r.settingsRoot = root;
        out.push(r);
      });
    };
    add("allow", "allowCommands", entry.allowCommands, (e) => e);
    add("deny", "denyCommands", entry.denyCommands, (e) => e);
    if (entry.requireApproval === true) out.push({ effect: "ask", tool, text: tool, source: at(".requireApproval") });
    else if (Array.isArray(entry.requireApproval)) add("ask", "requireApproval", entry.requireApproval, (e) => `${tool}(${e})`);
  }
  return out;
}

const MALFORMED_REQUEST = verdict("deny", "malformed request: the tool name is not a string");
const MALFORMED_MCP_NAME = verdict("deny", "malformed MCP tool name: expected mcp__<server>__<tool> with a non-empty server and tool");

/** One PolicyError for every problem found: itself when there is one, else one listing them all. */
function allProblems(problems: PolicyError[]): PolicyError {
  const first = problems[0]!;
  if (problems.length === 1) return first;
  const e = new PolicyError(`${problems.length} problems in the rules:\n${problems.map((p) => `  - ${p.message}`).join("\n")}`, {
    ...(first.source ? { source: first.source } : {}),
    ...(first.rule !== undefined ? { rule: first.rule } : {}),
    ...(first.problem !== undefined ? { problem: first.problem } : {}),
  });
  e.problems = problems;
  return e;
}

/** Validates every rule (PolicyError names the rule, file and JSON path; all of them when several are bad) and builds the indexes. */
export function compilePolicy(input: PolicyInput, env?: PolicyEnvironment): CompiledPolicy {
  return new Policy(input, env);
}
