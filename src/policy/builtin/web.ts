// Judge of WebFetch. SKELETON: the signatures are fixed; the body is being written.
import type { BuiltinContext, BuiltinRule, BuiltinVerdict } from "./types.js";

export interface WebFetchPolicy {
  /** The verdict for one WebFetch call (`input.url`); never throws. Unmatched → ask with `unmatched: true`. */
  decide(input: Record<string, unknown>, ctx: BuiltinContext): BuiltinVerdict;
}

/** Compiles every rule whose tool is `WebFetch` (any effect). Throws PolicyError naming the rule on a bad specifier. */
export function compileWebFetchRules(rules: BuiltinRule[]): WebFetchPolicy {
  void rules;
  throw new Error("compileWebFetchRules: not implemented yet");
}
