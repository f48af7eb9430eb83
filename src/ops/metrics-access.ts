// Who may read `/metrics`. The numbers name the configured servers and show who uses the gateway
// how much, so they are not public; but Prometheus cannot log in through the IdP either. Hence:
// loopback only by default (a sidecar, or `kubectl port-forward`), an allow-list of addresses or
// ranges for a scraper in the cluster, and/or a bearer token from the environment (a Secret).
import { timingSafeEqual, createHash } from "node:crypto";
import { BlockList, isIP } from "node:net";

export interface MetricsAccessSettings {
  allowFrom?: string[];
  bearerTokenEnv?: string;
}

/** `forwarded`: the request carries Forwarded or X-Forwarded-For (it came through a proxy). */
export type MetricsAccess = (address: string, authorization: string | undefined, forwarded?: boolean) => { ok: true } | { ok: false; status: 401 | 403; message: string };

const LOOPBACK = ["127.0.0.0/8", "::1"];

/** Throws (serve refuses to start) when the settings name a token variable that is unset or an address that is not one. */
export function metricsAccess(settings: MetricsAccessSettings | undefined, env: NodeJS.ProcessEnv): MetricsAccess {
  let token: Buffer | undefined;
  if (settings?.bearerTokenEnv !== undefined) {
    const value = env[settings.bearerTokenEnv];
    if (!value) throw new Error(`remote.metrics.bearerTokenEnv names ${settings.bearerTokenEnv}, which is not set: set it to the token your Prometheus sends, or remove the setting`);
    token = digest(value);
  }
  // With a token, any address may present it unless allowFrom says otherwise.
  const ranges = settings?.allowFrom ?? (token ? undefined : LOOPBACK);
  const allowed = ranges ? blockListOf(ranges) : undefined;
  const loopbackDefault = settings?.allowFrom === undefined && token === undefined;
  return (address, authorization, forwarded = false) => {
    // A reverse proxy on this host makes every caller look like loopback: the default (loopback
    // only) never counts a request that came through one; such a setup names allowFrom or a token.
    if (loopbackDefault && forwarded)
      return { ok: false, status: 403, message: "Forbidden: /metrics is served to loopback callers only, and this request came through a proxy (Forwarded/X-Forwarded-For); set remote.metrics.allowFrom or bearerTokenEnv" };
    if (allowed && !contains(allowed, address))
      return { ok: false, status: 403, message: "Forbidden: /metrics is served to the addresses in remote.metrics.allowFrom (default: loopback only)" };
    if (token) {
      const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1];
      // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
      if (presented === undefined || !timingSafeEqual(digest(presented), token))
        return { ok: false, status: 401, message: "Unauthorized: /metrics needs the bearer token of remote.metrics.bearerTokenEnv" };
    }
    return { ok: true };
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function blockListOf(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const r of ranges) {
    const [addr, bits, extra] = r.split("/");
    const family = isIP(addr ?? "");
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
      throw new Error(`remote.metrics.allowFrom: '${r}' is not an IP address or CIDR range (e.g. 10.0.0.0/8 or ::1)`);
    list.addSubnet(addr!, prefix, family === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

function contains(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 6 ? "ipv6" : "ipv4");
}
