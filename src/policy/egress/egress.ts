// Egress decisions: may a sandboxed server connect to this URL, or to this host and port? The same
// functions serve `check --batch` (`{"server", "url"}` requests) and, with the sandbox issue's
// proxy, every outbound connection. Pure: no DNS, no sockets. The proxy resolves a name once, passes
// the addresses to decideAddresses(), and connects to exactly the address that was checked.
//
// Hosts are judged the way a client would really connect:
// - URLs are parsed with the WHATWG parser, as fetch and curl-alikes do: userinfo is not the host,
//   `\` ends the authority for http(s), `#` and `?` end it too, IDN names become punycode, and IPv4
//   in any notation (integer, hex, octal, short) becomes dotted decimal.
// - A bare host (a proxy's CONNECT or SOCKS5 target) must be a plain DNS name or an IP literal: a NUL,
//   a space, `@`, `/`, `\` or anything a resolver might cut at is refused, never trimmed.
// - Names compare case-insensitively with the trailing dot removed; `*.example.com` matches any
//   subdomain at any depth but not `example.com` itself; a deny entry wins over an allow entry.
// - IP literals are denied unless an IP or CIDR entry allows them: an allowlist of names says nothing
//   about addresses. Loopback names (`localhost`, `*.localhost`) and addresses need allowLocalhost.
import { BlockList, isIP } from "node:net";
import type { Verdict } from "../types.js";
import { authorityAmbiguity } from "../url-authority.js";

export interface NetworkPolicySettings {
  allowedDomains?: string[];
  deniedDomains?: string[];
  allowLocalhost?: boolean;
}

export interface EgressPolicy {
  /** The decision for a URL a server wants to fetch. */
  decideUrl(url: string): Verdict;
  /** The decision for a host and port (a proxy's CONNECT or SOCKS5 target). */
  decideHost(host: string, port: number): Verdict;
  /**
   * The decision for the addresses a name resolved to: every address must be allowed (a name that
   * resolves to loopback, a private network or cloud metadata is refused unless explicitly allowed).
   */
  decideAddresses(host: string, addresses: string[]): Verdict;
}

/** Schemes a sandboxed server may use through the proxy. */
const SCHEMES: ReadonlySet<string> = new Set(["http:", "https:", "ws:", "wss:"]);
const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Addresses no server reaches unless an entry allows them: loopback, unspecified, private, shared,
 * link-local (cloud metadata at 169.254.169.254 included), multicast, reserved, benchmark and
 * documentation ranges, and the IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4).
 */
const SPECIAL_V4: [string, number, string][] = [
  ["0.0.0.0", 8, "this network (0.0.0.0 reaches local listeners)"],
  ["10.0.0.0", 8, "a private network"],
  ["100.64.0.0", 10, "shared address space"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local (cloud metadata)"],
  ["172.16.0.0", 12, "a private network"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "a private network"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];
const SPECIAL_V6: [string, number, string][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["64:ff9b::", 96, "NAT64 (embeds an IPv4 address)"],
  ["64:ff9b:1::", 48, "local NAT64"],
  ["100::", 64, "discard"],
  ["2001::", 23, "IETF protocol assignments"],
  ["2001:db8::", 32, "documentation"],
  ["2002::", 16, "6to4 (embeds an IPv4 address)"],
  ["fc00::", 7, "unique local (private)"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
];

const special = new BlockList();
for (const [net, prefix] of SPECIAL_V4) special.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of SPECIAL_V6) special.addSubnet(net, prefix, "ipv6");

function specialWhy(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return "not an IP address";
  const type = family === 4 ? "ipv4" : "ipv6";
  if (!special.check(address, type)) return undefined;
  const probe = new BlockList();
  for (const [net, prefix, why] of family === 4 ? SPECIAL_V4 : SPECIAL_V6) {
    probe.addSubnet(net, prefix, type);
    if (probe.check(address, type)) return why;
  }
  // An IPv4-mapped IPv6 address matched an IPv4 range.
  for (const [net, prefix, why] of SPECIAL_V4) {
    const one = new BlockList();
    one.addSubnet(net, prefix, "ipv4");
    if (one.check(address, "ipv6")) return why;
  }
  return "a special-purpose range";
}

function isLoopback(address: string): boolean {
  const family = isIP(address);
  const b = new BlockList();
  b.addSubnet("127.0.0.0", 8, "ipv4");
  b.addAddress("::1", "ipv6");
  return family !== 0 && b.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** `[::1]` → `::1`; names lower-cased without a trailing dot. */
function bare(hostname: string): string {
  const h = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return h.toLowerCase().replace(/\.$/, "");
}

interface DomainEntry {
  text: string;
  /** `*.x`: subdomains of x only. */
  wildcard: boolean;
  name: string;
}

interface Entries {
  domains: DomainEntry[];
  ips: BlockList;
  ipTexts: string[];
}

function compileEntries(list: string[] | undefined, field: string): Entries {
  const out: Entries = { domains: [], ips: new BlockList(), ipTexts: [] };
  for (const raw of list ?? []) {
    if (typeof raw !== "string" || raw.trim() !== raw || raw === "") throw new Error(`${field}: entry ${JSON.stringify(raw)} must be a non-empty string without edge spaces`);
    const cidr = /^(.+)\/(\d{1,3})$/.exec(raw);
    const ip = cidr ? cidr[1] as string : bare(raw);
    const family = isIP(ip);
    if (family !== 0) {
      const prefix = cidr ? Number(cidr[2]) : family === 4 ? 32 : 128;
      if (prefix > (family === 4 ? 32 : 128)) throw new Error(`${field}: ${JSON.stringify(raw)} has a prefix longer than the address`);
      out.ips.addSubnet(ip, prefix, family === 4 ? "ipv4" : "ipv6");
      out.ipTexts.push(raw);
      continue;
    }
    if (cidr) throw new Error(`${field}: ${JSON.stringify(raw)} is not an address range`);
    const wildcard = raw.startsWith("*.");
    const rest = wildcard ? raw.slice(2) : raw;
    if (/[:/@?#\\\s%]/.test(rest)) throw new Error(`${field}: ${JSON.stringify(raw)} is not a domain name (no scheme, port, path or userinfo)`);
    let name: string;
    try {
      // IDN entries compare in punycode, as hosts do.
      name = bare(new URL(`http://${rest}/`).hostname);
    } catch {
      throw new Error(`${field}: ${JSON.stringify(raw)} is not a domain name`);
    }
    if (!DNS_NAME.test(name) || rest.includes("*")) throw new Error(`${field}: ${JSON.stringify(raw)} is not a domain name (a \`*.\` prefix is the only wildcard)`);
    out.domains.push({ text: raw, wildcard, name });
  }
  return out;
}

function domainHit(entries: Entries, host: string): DomainEntry | undefined {
  return entries.domains.find((e) => (e.wildcard ? host.endsWith("." + e.name) : host === e.name));
}

function ipHit(entries: Entries, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && entries.ips.check(address, family === 4 ? "ipv4" : "ipv6");
}

function verdict(decision: Verdict["decision"], reason: string, rule?: string): Verdict {
  const v: Verdict = { decision, reason };
  if (rule !== undefined) v.rule = rule;
  return v;
}

/**
 * Compiles a server's network settings. Throws on an entry that is neither a domain (optionally
 * `*.`-prefixed) nor an IP address or CIDR range. `unlisted`: what an unlisted host gets ("deny"
 * until approvals exist).
 */
export function compileEgressPolicy(settings: NetworkPolicySettings, unlisted: "ask" | "deny" = "deny"): EgressPolicy {
  const allow = compileEntries(settings.allowedDomains, "allowedDomains");
  const deny = compileEntries(settings.deniedDomains, "deniedDomains");
  const allowLocalhost = settings.allowLocalhost === true;

  const judgeAddress = (address: string, what: string): Verdict | undefined => {
    if (ipHit(deny, address)) return verdict("deny", `${what} is in deniedDomains`);
    if (isLoopback(address) && allowLocalhost) return undefined;
    if (ipHit(allow, address)) return undefined;
    const why = specialWhy(address);
    if (why !== undefined) return verdict("deny", `${what} is ${why}; only an IP or CIDR entry in allowedDomains${why === "loopback" ? " or allowLocalhost" : ""} allows it`);
    return undefined;
  };

  const judgeName = (host: string, port: number): Verdict => {
    const where = `${host}:${port}`;
    if (isIP(host) !== 0) {
      const objection = judgeAddress(host, `the address ${host}`);
      if (objection) return objection;
      if (ipHit(allow, host) || (allowLocalhost && isLoopback(host))) return verdict("allow", `${where}: the address is allowed`);
      return verdict("deny", `${where}: an IP literal is denied unless an IP or CIDR entry allows it (domain entries say nothing about addresses)`);
    }
    if (!DNS_NAME.test(host)) return verdict("deny", `${JSON.stringify(host)} is not a plain DNS name`);
    const denied = domainHit(deny, host);
    if (denied) return verdict("deny", `${where} is denied by deniedDomains entry ${denied.text}`, denied.text);
    if (host === "localhost" || host.endsWith(".localhost")) {
      return allowLocalhost ? verdict("allow", `${where}: loopback is allowed (allowLocalhost)`) : verdict("deny", `${where} is a loopback name; set allowLocalhost to reach local services`);
    }
    const allowed = domainHit(allow, host);
    if (allowed) return verdict("allow", `${where} is allowed by allowedDomains entry ${allowed.text}`, allowed.text);
    return verdict(unlisted, `${where} is not in allowedDomains${unlisted === "ask" ? "; it needs approval" : ""}`);
  };

  return {
    decideUrl(url) {
      if (typeof url !== "string" || url.length > 8192) return verdict("deny", "not a URL");
      // Control characters or spaces around or inside a URL are stripped or cut differently by
      // different parsers; refuse rather than guess which host a client would reach.
      if (/[\u0000-\u0020\u007f]/.test(url)) return verdict("deny", "the URL contains control characters or spaces");
      const ambiguous = authorityAmbiguity(url);
      if (ambiguous) return verdict("deny", `${JSON.stringify(url.slice(0, 200))} is refused: ${ambiguous}`);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return verdict("deny", `${JSON.stringify(url.slice(0, 200))} is not a valid URL`);
      }
      if (!SCHEMES.has(parsed.protocol)) return verdict("deny", `the ${parsed.protocol} scheme is not allowed (only http, https, ws and wss go through the egress proxy)`);
      const port = parsed.port !== "" ? Number(parsed.port) : parsed.protocol === "http:" || parsed.protocol === "ws:" ? 80 : 443;
      return judgeName(bare(parsed.hostname), port);
    },
    decideHost(host, port) {
      if (typeof host !== "string" || host === "" || host.length > 255) return verdict("deny", "not a host name");
      if (!Number.isInteger(port) || port < 1 || port > 65535) return verdict("deny", `port ${String(port)} is not a TCP port`);
      // Only what a plain name or an IP literal may hold: a NUL, `@`, `/`, `\`, `%`, spaces and the
      // like would be cut or read differently by the resolver than by this check.
      if (!/^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)$/.test(host)) return verdict("deny", `${JSON.stringify(host)} is not a plain host name or IP literal`);
      let canonical: string;
      try {
        canonical = bare(new URL(`http://${isIP(host) === 6 ? `[${host}]` : host}/`).hostname);
      } catch {
        return verdict("deny", `${JSON.stringify(host)} is not a valid host`);
      }
      return judgeName(canonical, port);
    },
    decideAddresses(host, addresses) {
      if (!Array.isArray(addresses) || addresses.length === 0) return verdict("deny", `${host} did not resolve`);
      for (const a of addresses) {
        if (isIP(a) === 0) return verdict("deny", `${host} resolved to ${JSON.stringify(a)}, which is not an address`);
        const objection = judgeAddress(a, `${host} resolves to ${a}, which`);
        if (objection) return objection;
      }
      return verdict("allow", `${host} resolves only to allowed addresses`);
    },
  };
}

/** The second seed's flat form (`allowNetwork`, `denyNetwork`) as the structured one. */
export function networkSettingsOf(sandbox: { network?: NetworkPolicySettings; allowNetwork?: string[]; denyNetwork?: string[] } | undefined): NetworkPolicySettings | undefined {
  if (sandbox === undefined) return undefined;
  if (sandbox.network === undefined && sandbox.allowNetwork === undefined && sandbox.denyNetwork === undefined) return undefined;
  const out: NetworkPolicySettings = { ...(sandbox.network ?? {}) };
  if (sandbox.allowNetwork) out.allowedDomains = [...(out.allowedDomains ?? []), ...sandbox.allowNetwork];
  // `"*"` in the seed's denyNetwork says "nothing else": egress is denied by default already, and a
  // deny that matched everything would also deny what allowNetwork names (deny wins).
  if (sandbox.denyNetwork) out.deniedDomains = [...(out.deniedDomains ?? []), ...sandbox.denyNetwork.filter((d) => d !== "*")];
  return out;
}
