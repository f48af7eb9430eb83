// The filesystem guard: paths in an MCP server's tool arguments must stay inside configured roots.
// SKELETON: the signatures are fixed; the body is being written.
import type { FileJudge, PolicyEnvironment } from "../builtin/types.js";
import type { Verdict } from "../types.js";

export interface FilesystemGuardConfig {
  roots: string[];
  tools?: Record<string, { read?: string[]; write?: string[] }>;
}

export interface FilesystemGuard {
  /**
   * A deny (or ask) verdict when a path argument of this call leaves the roots or a Read/Edit rule
   * objects to it; undefined when the call may proceed. `tool` is the upstream tool name. Never throws.
   */
  check(tool: string, input: Record<string, unknown>, ctx: { cwd: string }): Verdict | undefined;
}

/** `files`: the permission rules' Read/Edit judge, so those rules apply to the server's path arguments too. */
export function compileFilesystemGuard(config: FilesystemGuardConfig, env: PolicyEnvironment, files?: FileJudge): FilesystemGuard {
  void config;
  void env;
  void files;
  throw new Error("compileFilesystemGuard: not implemented yet");
}
