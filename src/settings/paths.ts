// Where mcp-warden looks for settings and keeps its state. One place, so every command agrees.
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface PathEnv {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Managed (organization) settings: /etc/mcp-warden, or MCP_WARDEN_MANAGED_DIR (used by tests). */
export function managedDir(env: NodeJS.ProcessEnv): string {
  return env.MCP_WARDEN_MANAGED_DIR || "/etc/mcp-warden";
}

export function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

export function userConfigDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  return xdg && xdg.startsWith("/") ? join(xdg, "mcp-warden") : join(homeDir(env), ".config", "mcp-warden");
}

export function stateDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  return xdg && xdg.startsWith("/") ? join(xdg, "mcp-warden") : join(homeDir(env), ".local", "state", "mcp-warden");
}

export function settingsFiles(p: PathEnv) {
  const managed = managedDir(p.env);
  return {
    managed: join(managed, "managed-settings.json"),
    managedDropIns: join(managed, "managed-settings.d"),
    managedMcp: join(managed, "managed-mcp.json"),
    local: resolve(p.cwd, ".mcp-warden", "settings.local.json"),
    project: resolve(p.cwd, ".mcp-warden", "settings.json"),
    user: join(userConfigDir(p.env), "settings.json"),
  };
}

export const defaultAuditDir = (env: NodeJS.ProcessEnv) => join(stateDir(env), "audit");
export const defaultLogDir = (env: NodeJS.ProcessEnv) => join(stateDir(env), "logs");
/** Each running gateway writes its live status here, one file per process. */
export const runtimeDir = (env: NodeJS.ProcessEnv) => join(stateDir(env), "run");
