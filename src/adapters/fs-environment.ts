// The real PolicyEnvironment: the file system's symlinks, the user's home, and the files that are
// mcp-warden's own (its settings, audit log and state), which the policy protects from edits.
import { fsEnvironment as fileSystemProbes } from "../policy/paths/links.js";
import type { PolicyEnvironment } from "../policy/builtin/types.js";
import { homeDir, managedDir, stateDir, userConfigDir } from "../settings/paths.js";

export interface FsEnvironmentOptions {
  env: NodeJS.ProcessEnv;
  /** Settings files in use (every layer), the audit directory and its HMAC key: protected besides the defaults. */
  settingsFiles?: string[];
  auditDir?: string;
  /** audit.hmacKeyFile: the agent must not read the key that makes the audit checkpoint unforgeable. */
  auditKeyFile?: string;
}

export function fsEnvironment(opts: FsEnvironmentOptions): PolicyEnvironment {
  const protectedPaths = [managedDir(opts.env), userConfigDir(opts.env), stateDir(opts.env), ...(opts.settingsFiles ?? [])];
  if (opts.auditDir !== undefined) protectedPaths.push(opts.auditDir);
  if (opts.auditKeyFile !== undefined) protectedPaths.push(opts.auditKeyFile);
  return fileSystemProbes({ home: homeDir(opts.env), platform: process.platform, protectedPaths: protectedPaths.filter((p) => p.startsWith("/")) });
}
