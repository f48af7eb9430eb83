// `init` approves the launch configurations of the servers it moves, as the settings it has just
// written define them: the person running init is the user, has seen each command line in init's
// plan, and runs the command in a terminal. The repository's files still cannot approve themselves:
// the approval is written to the user's pin store (as `mcp-warden pins approve` does, bound to the
// launch identity of src/gateway/launch-approval.ts), never into a settings file.
import { resolve } from "node:path";
import { withPinStore } from "../adapters/pin-store-factory.js";
import type { PinStore } from "../adapters/pin-store.js";
import { launchStatus } from "../gateway/launch-approval.js";
import type { ConfiguredServer } from "../policy/types.js";
import type { ResolvedSettings } from "../settings/index.js";

export interface LaunchApprovalOutcome {
  name: string;
  /**
   * approved: init recorded the approval now; already: it was approved before; elsewhere: the server
   * that runs under this name is another layer's, not the entry init wrote (not approved by init);
   * missing: no server of this name is configured (managed settings may fix the server set).
   */
  status: "approved" | "already" | "elsewhere" | "missing";
  server?: ConfiguredServer;
}

/**
 * Approves each named server whose resolved entry comes from one of the files init wrote it into
 * (`files`: by server name, absolute paths). Throws on a pin store that cannot be read or written.
 */
export async function approveMovedServers(settings: ResolvedSettings, files: ReadonlyMap<string, readonly string[]>, env: NodeJS.ProcessEnv): Promise<LaunchApprovalOutcome[]> {
  return withPinStore(settings, env, (store) => approveEach(store, settings, files));
}

async function approveEach(store: PinStore, settings: ResolvedSettings, files: ReadonlyMap<string, readonly string[]>): Promise<LaunchApprovalOutcome[]> {
  const out: LaunchApprovalOutcome[] = [];
  for (const [name, written] of files) {
    const server = settings.servers.find((s) => s.name === name);
    if (!server) {
      out.push({ name, status: "missing" });
      continue;
    }
    if (!written.some((f) => resolve(f) === resolve(server.source.file))) {
      out.push({ name, status: "elsewhere", server });
      continue;
    }
    const launch = await launchStatus(store, server);
    if (launch.status === "approved") {
      out.push({ name, status: "already", server });
      continue;
    }
    // First use would approve a server of the user's own layers anyway; recording it here says who did.
    await store.approveServer(launch.identity, name, "init");
    out.push({ name, status: "approved", server });
  }
  return out;
}
