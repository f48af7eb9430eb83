// Judge of the file tools (Read, Edit, Write, ...). SKELETON: the signatures are fixed; the body is being written.
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileJudge, PolicyEnvironment } from "./types.js";

/** Tools this judge decides. */
export const FILE_TOOLS: ReadonlySet<string> = new Set(["Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "NotebookRead", "Grep", "Glob", "LS"]);

export interface FilePolicy extends FileJudge {
  /** The verdict for a call of one of FILE_TOOLS; undefined for any other tool. Never throws. */
  decide(tool: string, input: Record<string, unknown>, ctx: BuiltinContext): BuiltinVerdict | undefined;
}

/** Compiles every rule whose tool is Read, Edit or Write (any effect). Throws PolicyError naming the rule on a bad pattern. */
export function compileFileRules(rules: BuiltinRule[], env: PolicyEnvironment): FilePolicy {
  void rules;
  void env;
  throw new Error("compileFileRules: not implemented yet");
}
