// Judge of Claude Code's Bash tool. SKELETON: the signatures are fixed; the body is being written.
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileJudge } from "./types.js";

export interface BashPolicy {
  /** The verdict for one Bash call (`input.command`); never throws. Unmatched → ask with `unmatched: true`. */
  decide(input: Record<string, unknown>, ctx: BuiltinContext, files: FileJudge): BuiltinVerdict;
}

/** Compiles every rule whose tool is `Bash` (any effect). Throws PolicyError naming the rule and its source on a bad pattern. */
export function compileBashRules(rules: BuiltinRule[]): BashPolicy {
  void rules;
  throw new Error("compileBashRules: not implemented yet");
}
