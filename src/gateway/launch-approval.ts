// Whether a server's launch configuration may run before anything of it starts: the gateway and
// `mcp-warden scan` ask this BEFORE spawning a process or opening a connection, so a server a person
// has not approved never runs code, and none of its messages (sampling, elicitation, logs) can reach
// the client.
//   - approved: a person (or first use, below) approved this very identity under this name and layer;
//   - first use: a server of the user's own layers (managed, command line, user) seen for the first
//     time is approved on sight, as before;
//   - needs approval: a server from the project or local layer (a cloned repository's files, which
//     cannot approve their own servers), or one whose identity differs from the one approved under
//     its name (a changed command, arguments, cwd, URL, code-changing environment, layer).
import type { PinStore, ServerPins } from "../adapters/pin-store.js";
import { renderDiff } from "../policy/integrity/pins.js";
import { diffIdentities, legacyServerIdentity, serverIdentity, type ServerIdentity } from "../policy/integrity/server-identity.js";
import type { ConfiguredServer, LayerName } from "../policy/types.js";

/** Layers whose files a repository can bring: their servers always need a person's approval. */
export const REPOSITORY_LAYERS: ReadonlySet<LayerName> = new Set(["project", "local"]);

export type LaunchStatus =
  | { status: "approved"; identity: ServerIdentity; record: ServerPins }
  | { status: "first-use"; identity: ServerIdentity }
  | { status: "needs-approval"; identity: ServerIdentity; why: string; diff: string; subject: "new-project-server" | "changed" };

/** The identity a server's approval is bound to. One place, so the gateway, `scan` and `pins` agree. */
export function launchIdentity(server: ConfiguredServer): ServerIdentity {
  return serverIdentity({ name: server.name, layer: server.source.layer, entry: server.entry, ...(server.variables ? { variables: server.variables } : {}) });
}

/** What a server's launch needs, from the pin store. Reads only. */
export async function launchStatus(store: PinStore, server: ConfiguredServer): Promise<LaunchStatus> {
  const identity = launchIdentity(server);
  // An approval recorded before identities covered name, layer and environment is carried over when
  // nothing it did not cover is set (pin-store adoptLegacy decides, under its lock).
  const record = (await store.getServer(identity.digest)) ?? (await store.adoptLegacy(identity, legacyServerIdentity(server.entry).digest));
  if (record) return { status: "approved", identity, record };
  const previous = (await store.list()).find((r) => r.serverName === server.name);
  if (previous) {
    return {
      status: "needs-approval",
      identity,
      subject: "changed",
      why: `server '${server.name}' was approved with another launch configuration; it does not start until a person approves this one`,
      diff: renderDiff(diffIdentities(previous.identity, identity)),
    };
  }
  if (REPOSITORY_LAYERS.has(server.source.layer)) {
    return {
      status: "needs-approval",
      identity,
      subject: "new-project-server",
      why: `server '${server.name}' comes from the ${server.source.layer} settings (${server.source.file}), which cannot approve their own servers; it does not start until a person approves it`,
      diff: `+ ${JSON.stringify(displayedIdentity(identity))}`,
    };
  }
  return { status: "first-use", identity };
}

/** The identity without its digest, as a person reads it. */
export function displayedIdentity(identity: ServerIdentity): Record<string, unknown> {
  const { digest: _digest, ...rest } = identity;
  return rest;
}
