// Settings that promise protection mcp-warden does not enforce yet. A server configured with one
// is refused, never run without it: a user who wrote a guard or a sandbox relies on it.
// Pure: no I/O. Used by the gateway and by `check`, so both answer alike.
import type { Settings } from "../settings/schema.js";
import type { ConfiguredServer, Verdict } from "./types.js";

/** A sandbox that would isolate the server (anything but type "none"). */
function wantsSandbox(sandbox: Settings["sandbox"] | undefined): boolean {
  return sandbox !== undefined && sandbox.type !== "none";
}

/** Why this server must not start, or undefined. */
export function unenforcedServerFeature(server: ConfiguredServer, globalSandbox: Settings["sandbox"] | undefined): Verdict | undefined {
  const sandbox = server.entry.sandbox ?? globalSandbox;
  if (wantsSandbox(sandbox)) {
    return {
      decision: "deny",
      reason: `a sandbox is configured for server '${server.name}' but sandboxing is not supported yet; the server is not started rather than run unsandboxed`,
    };
  }
  return undefined;
}

/** Guards the gateway enforces (policy/guards/): a server configured with only these is served. */
const ENFORCED_GUARDS: ReadonlySet<string> = new Set(["filesystem"]);

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
