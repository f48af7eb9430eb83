// `Tool` and `Tool(param:value)` rules for every other built-in tool. SKELETON: signatures fixed.
import type { BuiltinRule, BuiltinVerdict } from "./types.js";

export interface ParamPolicy {
  /** deny → ask → allow over the rules of this tool; undefined when none matches. Never throws. */
  decide(tool: string, input: Record<string, unknown>): BuiltinVerdict | undefined;
}

/** Compiles rules for tools other than Bash, Read/Edit/Write and WebFetch. Throws PolicyError naming the rule on a bad specifier. */
export function compileParamRules(rules: BuiltinRule[]): ParamPolicy {
  void rules;
  throw new Error("compileParamRules: not implemented yet");
}
