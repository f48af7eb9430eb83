// Settings that only `mcp-warden serve` enforces. A setting that silently does nothing is a defect:
// `run` (stdio) and `doctor` say which of them are set and what they do not do there.
import type { ResolvedSettings } from "./resolve.js";

export function remoteOnlyNotes(s: Pick<ResolvedSettings, "forceLoginMethod" | "forceLoginOrgUUID" | "principals">): string[] {
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
  return notes;
}
