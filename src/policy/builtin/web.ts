// Judge of WebFetch: `WebFetch` (every URL) and `WebFetch(domain:<host>)` rules. Pure.
//
// The host judged is the one a fetch would connect to, as the WHATWG URL parser (the one fetch uses)
// reads it: userinfo is not the host (`https://example.com@evil.com` goes to evil.com), backslashes
// are separators, percent-escapes and IDN are decoded to punycode, numeric IPv4 spellings
// (`0x7f.1`) become dotted quads. Hosts compare case-insensitively with a trailing dot ignored, on
// both the rule and the URL. `*.example.com` matches subdomains at any depth, not example.com itself.
// An IP literal matches only an IP-literal rule (no `*.` suffix match on `1.2.3.4`). Only http and
// https URLs can be allowed; any other scheme and an unparseable URL are denied.
import { describeSource, PolicyError } from "../rules.js";
import { ruleVerdict } from "./params.js";
import { authorityAmbiguity } from "../url-authority.js";
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, Effect } from "./types.js";

export interface WebFetchPolicy {
  /** The verdict for one WebFetch call (`input.url`); never throws. Unmatched → ask with `unmatched: true`. */
  decide(input: Record<string, unknown>, ctx: BuiltinContext): BuiltinVerdict;
}

interface HostRule {
  rule: BuiltinRule;
  /** undefined: every host. */
  host?: string;
  /** `*.host`: strict subdomains only. */
  subdomains: boolean;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || IPV4.test(host);
}

/** The host as the URL parser canonicalizes it (punycode, lower case), without a trailing dot; undefined when it is not a host. */
function canonicalHost(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(`http://${text}/`);
  } catch {
    return undefined;
  }
  // Anything other than a bare host (a port, a path, userinfo) changes what the text means.
  if (url.port !== "" || url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "" || url.hash !== "") return undefined;
  const host = url.hostname.replace(/\.$/, "");
  return host === "" ? undefined : host;
}

function compileHostRule(rule: BuiltinRule): HostRule {
  if (rule.specifier === undefined) return { rule, subdomains: false };
  const bad = (problem: string): never => {
    throw new PolicyError(`invalid rule ${JSON.stringify(rule.text)} in ${describeSource(rule.source)}: ${problem}`, {
      source: rule.source,
      rule: rule.text,
      problem,
    });
  };
  const m = /^domain:(.*)$/s.exec(rule.specifier);
  if (!m) return bad(`the specifier must be domain:<host> (for example WebFetch(domain:example.com)), not ${JSON.stringify(rule.specifier)}`);
  let text = (m[1] as string).trim();
  if (text === "") return bad("the host after 'domain:' is empty");
  if (text === "*") return { rule, subdomains: false };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) bad(`write the host alone, without a scheme: domain:${text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")}`);
  let subdomains = false;
  if (text.startsWith("*.")) {
    subdomains = true;
    text = text.slice(2);
  }
  if (text.includes("*")) bad("`*` is only allowed as a leading `*.` (subdomains) or alone (every host)");
  if (text.includes(":") && !text.startsWith("[")) bad("a domain rule takes no port (and an IPv6 address is written in brackets: [::1])");
  const host = canonicalHost(text);
  if (host === undefined) return bad(`${JSON.stringify(text)} is not a host name (no scheme, port, path or user)`);
  if (subdomains && isIpLiteral(host)) bad("an IP address has no subdomains: drop the `*.`");
  return { rule, host, subdomains };
}

function hostMatches(r: HostRule, host: string): boolean {
  if (r.host === undefined) return true;
  // An IP literal matches only the same IP literal, and a name rule never matches an IP.
  if (isIpLiteral(host) || isIpLiteral(r.host)) return !r.subdomains && host === r.host;
  if (r.subdomains) return host.length > r.host.length + 1 && host.endsWith(`.${r.host}`);
  return host === r.host;
}

/** Compiles every rule whose tool is `WebFetch` (any effect). Throws PolicyError naming the rule on a bad specifier. */
export function compileWebFetchRules(rules: BuiltinRule[]): WebFetchPolicy {
  const byEffect: Record<Effect, HostRule[]> = { deny: [], ask: [], allow: [] };
  for (const r of rules) if (r.tool === "WebFetch") byEffect[r.effect].push(compileHostRule(r));

  return {
    decide(input) {
      try {
        const raw: unknown = input?.url;
        if (typeof raw !== "string" || raw === "") return { decision: "deny", reason: "WebFetch needs a url string; this call has none." };
        const shown = JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw);
        const ambiguous = authorityAmbiguity(raw);
        if (ambiguous) return { decision: "deny", reason: `WebFetch of ${shown} is denied: ${ambiguous}.` };
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          return { decision: "deny", reason: `WebFetch of ${shown} is denied: the URL cannot be parsed.` };
        }
        if (url.protocol !== "http:" && url.protocol !== "https:") {
          return { decision: "deny", reason: `WebFetch of ${shown} is denied: only http and https URLs can be fetched, not ${url.protocol}.` };
        }
        const host = url.hostname.toLowerCase().replace(/\.$/, "");
        if (host === "") return { decision: "deny", reason: `WebFetch of ${shown} is denied: the URL has no host.` };
        for (const effect of ["deny", "ask", "allow"] as const) {
          for (const r of byEffect[effect]) if (hostMatches(r, host)) return ruleVerdict(r.rule, `WebFetch of ${shown} (host ${host})`);
        }
        return { decision: "ask", reason: `WebFetch of ${shown} (host ${host}) matches no WebFetch rule.`, unmatched: true };
      } catch (e) {
        return { decision: "deny", reason: `WebFetch could not be judged: ${(e as Error).message}.` };
      }
    },
  };
}
