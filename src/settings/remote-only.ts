// Settings that only `mcp-warden serve` enforces, and a remote server's sandbox, which only a
// deployment enforces. A setting that silently does nothing is a defect: `run` (stdio), `serve`,
// `doctor` and `scan` say which of them are set and what they do not do there. The same notes carry
// servers whose package is not pinned to a version (package-notes.ts).
import type { ConfiguredServer } from "../policy/types.js";
import { REMOTE_SANDBOX_KEYS } from "../policy/egress/remote.js";
import { unpinnedPackageNotes } from "./package-notes.js";
import type { ResolvedSettings } from "./resolve.js";

export function remoteOnlyNotes(s: Pick<ResolvedSettings, "forceLoginMethod" | "forceLoginOrgUUID" | "principals" | "servers">): string[] {
  const notes: string[] = [];
  const forced = [s.forceLoginMethod !== undefined ? "forceLoginMethod" : undefined, s.forceLoginOrgUUID !== undefined ? "forceLoginOrgUUID" : undefined].filter(Boolean);
  if (forced.length) {
    notes.push(
      `${forced.join(" and ")} ${forced.length > 1 ? "are" : "is"} enforced by \`mcp-warden serve\` only: on stdio (\`run\`) the client is the local user and no login is checked; Claude Code's own login is Claude Code's to enforce`,
    );
  }
  const entries = Object.keys(s.principals ?? {});
  if (entries.length) {
    notes.push(`principals (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}) apply to remote callers of \`mcp-warden serve\` only: on stdio the layers' rules alone judge the local user`);
  }
  notes.push(...remoteSandboxNotes(s.servers));
  notes.push(...unpinnedPackageNotes(s.servers));
  return notes;
}

/**
 * A remote (`url`) server's `sandbox` (the first seed's hybrid example gives one): mcp-warden connects
 * to the server but does not run it, so nothing of the sandbox confines the server here. One note
 * per such server; a disabled server and `type: "none"` alone need none.
 */
export function remoteSandboxNotes(servers: readonly ConfiguredServer[]): string[] {
  const notes: string[] = [];
  for (const server of servers) {
    const sandbox = server.entry.sandbox;
    if (server.entry.url === undefined || sandbox === undefined || server.entry.disabled === true) continue;
    const keys = Object.keys(sandbox).filter((k) => !(k === "type" && sandbox.type === "none"));
    if (keys.length === 0) continue;
    notes.push(remoteSandboxNote(server.name, keys));
  }
  return notes;
}

export function remoteSandboxNote(name: string, keys: readonly string[]): string {
  const network = keys.filter((k) => REMOTE_SANDBOX_KEYS.has(k));
  return (
    `server '${name}' is remote: its sandbox settings (${keys.join(", ")}) are enforced only where mcp-warden deploys the server (its network lists by "mcp-warden deploy kubernetes"); ` +
    `here mcp-warden only connects to it, so they do not confine what the server reads, writes, runs or reaches` +
    (network.length ? `; its network lists (${network.join(", ")}) do limit mcp-warden's own connections to it` : "")
  );
}
