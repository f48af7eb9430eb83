// The network policy for mcp-warden's own connections to a remote MCP server: the same checks as a
// sandboxed server's egress (egress.ts), so a configured URL cannot be turned into a request to
// loopback, a private network or cloud metadata through DNS. Pure: no I/O.
//
// What the user wrote in `url` is the one implicit allow entry:
// - a DNS name allows exactly that name (not its subdomains); the addresses it resolves to are still
//   judged, so a public name that resolves (or is rebound) to 127.0.0.1 or 10.x is refused unless an
//   IP or CIDR entry allows that address;
// - `localhost` (or `*.localhost`) allows loopback, as `allowLocalhost` would;
// - an IP literal allows that address, except link-local ones (169.254.0.0/16 holds cloud metadata,
//   fe80::/10), which only an explicit IP or CIDR entry allows: a settings file from a cloned
//   project must not aim the gateway's requests at the metadata service by writing its address.
// The server's own `sandbox.network` (else the global one) adds entries; its deniedDomains win.
import { BlockList, isIP } from "node:net";
import type { Settings } from "../../settings/schema.js";
import type { ConfiguredServer } from "../types.js";
import { compileEgressPolicy, type EgressPolicy, type NetworkPolicySettings, networkSettingsOf } from "./egress.js";

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet("169.254.0.0", 16, "ipv4");
LINK_LOCAL.addSubnet("fe80::", 10, "ipv6");

function isLinkLocal(address: string): boolean {
  const family = isIP(address);
  // BlockList matches IPv4-mapped IPv6 addresses (::ffff:169.254.169.254) against IPv4 ranges too.
  return family !== 0 && LINK_LOCAL.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The network settings that judge connections to a remote server at `url`, or a reason it cannot be
 * reached at all (a URL that does not parse, or a scheme other than http and https).
 */
export function remoteNetworkSettings(url: string, configured: NetworkPolicySettings | undefined): { settings: NetworkPolicySettings } | { refused: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { refused: "its url is not a valid URL" };
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return { refused: `its url uses ${parsed.protocol}; only http and https are supported` };
  const raw = parsed.hostname;
  const host = (raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw).toLowerCase().replace(/\.$/, "");
  const settings: NetworkPolicySettings = { ...(configured ?? {}), allowedDomains: [...(configured?.allowedDomains ?? [])] };
  if (isIP(host) !== 0) {
    if (!isLinkLocal(host)) settings.allowedDomains!.push(host);
  } else if (host === "localhost" || host.endsWith(".localhost")) {
    settings.allowLocalhost = true;
  } else {
    settings.allowedDomains!.push(host);
  }
  return { settings };
}

/** Sandbox keys that mean something for mcp-warden's own connections to a remote server. */
export const REMOTE_SANDBOX_KEYS: ReadonlySet<string> = new Set(["network", "allowNetwork", "denyNetwork"]);

/**
 * The policy for every connection the gateway opens to a remote server, or why the server must not
 * start. Its own `sandbox` network lists judge those connections (without any, the global sandbox's
 * do). The rest of its sandbox (files, execution, limits) describes the server where it runs, which
 * mcp-warden does not confine: not a reason to refuse it (the first seed's hybrid example carries
 * one), and reported at start, in `doctor` and in `scan` (settings/remote-only.ts).
 */
export function remoteEgressFor(server: ConfiguredServer, globalSandbox: Settings["sandbox"]): { egress: EgressPolicy } | { refused: string } {
  const own = server.entry.sandbox;
  // A sandbox with no network lists of its own (`{allowRead: []}`) must not drop the global ones.
  const remote = remoteNetworkSettings(server.entry.url ?? "", networkSettingsOf(own) ?? networkSettingsOf(globalSandbox));
  if ("refused" in remote) return { refused: `server '${server.name}' is not started: ${remote.refused}` };
  let egress: EgressPolicy;
  try {
    egress = compileEgressPolicy(remote.settings);
  } catch (error) {
    return { refused: `server '${server.name}' is not started: invalid network settings: ${(error as Error).message}` };
  }
  // Judged once up front too, so a denied URL is reported at start rather than at each connection.
  const first = egress.decideUrl(server.entry.url ?? "");
  if (first.decision !== "allow") return { refused: `server '${server.name}' is not started: ${first.reason}` };
  return { egress };
}
