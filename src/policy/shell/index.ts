// Shell command analysis for rules on Claude Code's `Bash` tool. See analyze.ts.
export { analyzeCommand, initShellAnalyzer, MAX_COMMAND_LENGTH, MAX_SHELL_DEPTH, MAX_WRAPPER_CHAIN } from "./analyze.js";
export type { Analysis, CommandSource, CompoundRedirects, Flow, RedirectInfo, SimpleCommand } from "./analyze.js";
