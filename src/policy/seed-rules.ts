// The first seed's top-level lists as rules of the engine: `requireApproval: {Tool: [pattern]}` →
// ask `Tool(pattern)`, `requireApproval: {Tool: true}` → ask every use of Tool (the only form an MCP
// tool takes), `denyCommands: [pattern]` → deny `Bash(pattern)`. Patterns match as toolPermissions'
// requireApproval and denyCommands do (generously: an ask or deny errs towards matching). Pure.
import { checkToolPattern, settingsRootOf } from "./engine.js";
import { MCP_PREFIX } from "./names.js";
import { describeSource, parseRule, PolicyError, type ParsedRule } from "./rules.js";
import { misspelledToolName } from "./tool-names.js";
import { parseShell } from "./shell/parser.js";
import { expandWord } from "./shell/words.js";
import type { BuiltinRule } from "./builtin/index.js";
import type { SeedRule, Source, Sourced } from "./types.js";

export type NormalizedSeedRule = BuiltinRule | { mcp: string; parsed: Extract<ParsedRule, { kind: "mcp" }>; source: Source };

export function normalizeSeedRule(entry: Sourced<SeedRule>): NormalizedSeedRule {
  const { value, source } = entry ?? {};
  if (!value || typeof value !== "object" || !source || typeof source.path !== "string")
    throw new PolicyError("invalid policy input: seedRules entries need a value and a source", { problem: "seedRules entries need a value and a source" });
  const fail = (problem: string): never => {
    throw new PolicyError(`invalid ${value.effect === "deny" ? "denyCommands" : "requireApproval"} entry in ${describeSource(source)}: ${problem}`, { source, problem });
  };
  if (value.effect !== "ask" && value.effect !== "deny") fail(`unknown effect ${JSON.stringify(value.effect)}`);
  const tool = value.tool;
  if (typeof tool !== "string") return fail("the tool must be a string");
  if (value.pattern !== undefined) {
    const problem = checkToolPattern(value.pattern);
    if (problem !== undefined) fail(problem);
  }

  if (tool.toLowerCase().startsWith(MCP_PREFIX)) {
    let parsed: ParsedRule;
    try {
      parsed = parseRule(tool);
    } catch (e) {
      return fail((e as PolicyError).problem ?? (e as Error).message);
    }
    if (parsed.kind !== "mcp") return fail("not an MCP tool name");
    if (value.pattern !== undefined || value.effect !== "ask") return fail(`an MCP tool takes requireApproval: true (every call asks), not a list of patterns`);
    return { mcp: tool, parsed, source };
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tool)) fail(`${JSON.stringify(tool)} is not a tool name (a built-in tool such as Bash or Write, or mcp__<server>__<tool>)`);
  const meant = misspelledToolName(tool);
  if (meant !== undefined) fail(`there is no built-in tool ${JSON.stringify(tool)}; did you mean ${JSON.stringify(meant)}?`);
  // `> /dev/sda` names no command: it means "nothing writes /dev/sda", which the Edit rules judge for
  // every shell writer (redirections, tee, dd of=, cp...), not only for `>`.
  const written = tool === "Bash" && value.effect === "deny" && value.pattern !== undefined ? redirectionOnlyTargets(value.pattern) : undefined;
  if (written !== undefined) {
    if (written.length !== 1) return fail("a deny entry that is only a redirection names exactly one file (`> /dev/sda`)");
    return withRoot({ effect: "deny", tool: "Edit", specifier: editSpecifier(written[0]!), text: value.pattern!, source }, source);
  }
  const rule: BuiltinRule = { effect: value.effect, tool, text: value.pattern === undefined ? tool : `${tool}(${value.pattern})`, source };
  if (value.pattern !== undefined) rule.specifier = value.pattern;
  return withRoot(rule, source);
}

function withRoot(rule: BuiltinRule, source: Source): BuiltinRule {
  const root = settingsRootOf(source);
  if (root !== undefined) rule.settingsRoot = root;
  return rule;
}

const OUTPUT_REDIRECTIONS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>", "<>"]);

/**
 * The files a pattern that is nothing but output redirections writes (`> /dev/sda`), or undefined
 * when the pattern names a command (or does not parse: the Bash judge reports that).
 */
export function redirectionOnlyTargets(pattern: string): string[] | undefined {
  let program;
  try {
    program = parseShell(pattern);
  } catch {
    return undefined;
  }
  const cmds = program.pipelines.flatMap((p) => p.cmds);
  if (cmds.length !== 1) return undefined;
  const cmd = cmds[0]!;
  if (cmd.t !== "simple" || cmd.words.length > 0 || cmd.assigns.length > 0 || cmd.redirs.length === 0) return undefined;
  const targets: string[] = [];
  for (const r of cmd.redirs) {
    if (!OUTPUT_REDIRECTIONS.has(r.op) || r.target === undefined) return undefined;
    const e = expandWord(r.target);
    if (e.tooMany || e.fields.length !== 1 || e.fields[0]!.dynamic || e.fields[0]!.glob) return undefined;
    targets.push(e.fields[0]!.text);
  }
  return targets;
}

/** An Edit rule's path for a redirection target: `/abs` → `//abs` (absolute), others as written (`~/x`, `x`). */
function editSpecifier(target: string): string {
  return target.startsWith("/") ? `/${target}` : target;
}
