// `Tool` and `Tool(param:value)` rules for every other built-in tool (WebSearch, Task, ...). Pure.
//
//   Tool                 every call of the tool
//   Tool(param:value)    calls whose input[param] matches value, a glob where `*` matches any run of
//                        characters (glob.ts: no other syntax, no backtracking)
//
// Two readings, as for path rules, because a deny that misses is a bypass while an allow that misses
// only costs a prompt:
//   - allow: the tool name and the value compare case-sensitively, and only a string, number or
//     boolean value can match (numbers and booleans by their JSON text: `5`, `true`);
//   - deny and ask: tool name and value compare case-folded and in Unicode NFC, an array matches when
//     any element does, and an object matches by its JSON text.
import { fold, Glob } from "../glob.js";
import { describeSource, PolicyError } from "../rules.js";
import type { BuiltinRule, BuiltinVerdict, Effect } from "./types.js";

export interface ParamPolicy {
  /** deny → ask → allow over the rules of this tool; undefined when none matches. Never throws. */
  decide(tool: string, input: Record<string, unknown>): BuiltinVerdict | undefined;
}

/** Tools judged by their own compilers (bash.ts, files.ts, web.ts); their rules are ignored here. */
const OTHER_JUDGES: ReadonlySet<string> = new Set(["Bash", "Read", "Edit", "Write", "WebFetch"]);

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One compiled `Tool` / `Tool(param:value)` rule. */
export interface CompiledParamRule {
  rule: BuiltinRule;
  effect: Effect;
  /** Whether this rule matches a call of `tool` with `input`. Never throws. */
  test(tool: string, input: Record<string, unknown>): boolean;
}

/** Compiles one rule; throws PolicyError naming the rule and its source when the specifier is not `name:value`. */
export function compileParamRule(rule: BuiltinRule): CompiledParamRule {
  const lenient = rule.effect !== "allow";
  const toolName = rule.tool;
  const toolFolded = fold(toolName);
  const sameTool = lenient ? (t: string) => fold(t) === toolFolded : (t: string) => t === toolName;
  if (rule.specifier === undefined) return { rule, effect: rule.effect, test: (t) => sameTool(t) };

  const spec = rule.specifier;
  const colon = spec.indexOf(":");
  const bad = (problem: string): never => {
    throw new PolicyError(`invalid rule ${JSON.stringify(rule.text)} in ${describeSource(rule.source)}: ${problem}`, {
      source: rule.source,
      rule: rule.text,
      problem,
    });
  };
  if (colon < 0) bad(`the specifier must be param:value (for example ${toolName}(query:*docs*)), not ${JSON.stringify(spec)}`);
  const param = spec.slice(0, colon);
  const value = spec.slice(colon + 1);
  if (!PARAM_NAME.test(param)) bad(`${JSON.stringify(param)} is not a parameter name (letters, digits and '_')`);
  if (value === "") bad(`the value after '${param}:' is empty (write ${param}:* for any value)`);

  const exact = new Glob(value);
  const loose = new Glob(fold(value.normalize("NFC")));
  const looseText = (s: string): boolean => loose.test(fold(s.normalize("NFC")));
  const looseValue = (v: unknown, depth: number): boolean => {
    if (typeof v === "string") return looseText(v);
    if (typeof v === "number" || typeof v === "boolean") return looseText(JSON.stringify(v));
    if (Array.isArray(v) && depth === 0) return v.some((e) => looseValue(e, 1));
    if (v !== null && typeof v === "object") {
      try {
        return looseText(JSON.stringify(v));
      } catch {
        return true; // a value that cannot be written out cannot be shown not to match: fail closed
      }
    }
    return false;
  };
  const exactValue = (v: unknown): boolean => {
    if (typeof v === "string") return exact.test(v);
    if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") return exact.test(JSON.stringify(v));
    return false;
  };
  return {
    rule,
    effect: rule.effect,
    test(tool, input) {
      if (!sameTool(tool)) return false;
      if (input === null || typeof input !== "object" || !Object.hasOwn(input, param)) return false;
      const v = input[param];
      return lenient ? looseValue(v, 0) : exactValue(v);
    },
  };
}

/** A verdict naming the rule that decided. */
export function ruleVerdict(rule: BuiltinRule, what: string): BuiltinVerdict {
  const verb = rule.effect === "allow" ? "allowed" : rule.effect === "deny" ? "denied" : "needs approval";
  const by = rule.effect === "ask" ? "under" : "by";
  return {
    decision: rule.effect,
    reason: `${what} ${rule.effect === "ask" ? "needs approval" : `is ${verb}`} ${by} ${rule.text} (${describeSource(rule.source)}).`,
    rule: rule.text,
    source: rule.source,
  };
}

/** Compiles rules for tools other than Bash, Read/Edit/Write and WebFetch. Throws PolicyError naming the rule on a bad specifier. */
export function compileParamRules(rules: BuiltinRule[]): ParamPolicy {
  const byEffect: Record<Effect, CompiledParamRule[]> = { deny: [], ask: [], allow: [] };
  for (const r of rules) {
    if (OTHER_JUDGES.has(r.tool)) continue;
    byEffect[r.effect].push(compileParamRule(r));
  }
  return {
    decide(tool, input) {
      try {
        for (const effect of ["deny", "ask", "allow"] as const) {
          for (const c of byEffect[effect]) if (c.test(tool, input)) return ruleVerdict(c.rule, `${tool} call`);
        }
        return undefined;
      } catch (e) {
        return { decision: "deny", reason: `${tool} call could not be judged: ${(e as Error).message}.` };
      }
    },
  };
}
