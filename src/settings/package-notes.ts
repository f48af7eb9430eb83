// A stdio server started through a package runner without an exact version runs whatever release
// the registry serves at each start. Managed `requirePinnedPackages` refuses such servers; without
// it, `run`, `serve`, `doctor` and `scan` say so, once per server, with how to pin.
import { packageLaunch, pinHint } from "../policy/package-pins.js";
import type { ConfiguredServer } from "../policy/types.js";

/** The note for one server, or undefined when it is pinned, remote, disabled or no package runner. */
export function unpinnedPackageNote(server: ConfiguredServer): string | undefined {
  const command = server.entry.command;
  if (typeof command !== "string" || server.entry.disabled === true) return undefined;
  const launch = packageLaunch(command, server.entry.args ?? []);
  if (launch === undefined || launch.version !== undefined) return undefined;
  return (
    `server '${server.name}' starts ${launch.spec !== undefined ? JSON.stringify(launch.spec) : "a package"} through ${launch.runner} without one exact version: ` +
    `each start may run a newer release than the one you approved (its launch approval covers the command line, not the package's code). Pin it: ${pinHint(launch)}`
  );
}

export function unpinnedPackageNotes(servers: readonly ConfiguredServer[]): string[] {
  return servers.map(unpinnedPackageNote).filter((n): n is string => n !== undefined);
}
