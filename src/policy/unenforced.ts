// Settings that promise protection mcp-warden does not enforce yet. A server configured with one
// is refused, never run without it: a user who wrote a guard relies on it. (Sandboxes are enforced:
// src/sandbox/gate.ts decides whether one can run.) Pure: no I/O. Used by the gateway and by
// `check`, so both answer alike.
import type { ConfiguredServer, Verdict } from "./types.js";

/** Guards the gateway enforces (policy/guards/): a server configured with only these is served. */
const ENFORCED_GUARDS: ReadonlySet<string> = new Set(["filesystem", "sql", "arguments"]);

/** Why calls to this server must be refused, or undefined. `filesystem` is enforced; `sql` and `arguments` are not yet. */
export function unenforcedCallFeature(server: ConfiguredServer): Verdict | undefined {
  const guards = server.entry.guards;
  if (!guards) return undefined;
  const kinds = Object.entries(guards)
    .filter(([k, v]) => v !== undefined && !ENFORCED_GUARDS.has(k))
    .map(([k]) => k);
  if (!kinds.length) return undefined;
  return {
    decision: "deny",
    reason: `guards (${kinds.join(", ")}) are configured for server '${server.name}' but not supported yet; refusing rather than running unguarded`,
  };
}
