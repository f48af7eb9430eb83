// The `fetch` the gateway's HTTP transports use to reach a remote MCP server. Every new connection
// goes through connect.ts, as a sandboxed server's proxied connections do: the host and port are
// judged, the name is resolved once, the addresses are judged, and the socket goes to exactly the
// checked address (TLS still verifies the certificate against the name). So a remote server whose
// name resolves, or is rebound, to loopback, a private network or cloud metadata is refused.
//
// Redirects are followed only within the same origin (scheme, host and port): a redirect elsewhere
// would carry the configured headers (API keys) to a host the user never named, so it is refused
// and audited. undici is the HTTP client because its connector hook lets us choose the socket
// without re-implementing HTTP; Node's global fetch does not expose that hook.
import * as net from "node:net";
import * as tls from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import type { EgressPolicy } from "../policy/egress/egress.js";
import { type ConnectContext, judgeAndConnect, refuseAudit } from "./connect.js";

export interface CheckedFetchOptions extends Omit<ConnectContext, "connect" | "policy" | "track"> {
  policy: EgressPolicy;
  /** Extra TLS options (a test's `ca`); certificate checks stay on. */
  tls?: Pick<tls.ConnectionOptions, "ca">;
  /** Same-origin redirects followed per request. Default 5. */
  maxRedirects?: number;
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface CheckedFetch {
  fetch: FetchLike;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}

const NETWORK_CODES = { resolve: "ENOTFOUND", refused: "ECONNREFUSED", unreachable: "EHOSTUNREACH", timeout: "ETIMEDOUT" } as const;

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export class EgressRefusedError extends Error {
  readonly code = "EGRESS_REFUSED";
}

export function checkedFetch(opts: CheckedFetchOptions): CheckedFetch {
  const maxRedirects = opts.maxRedirects ?? 5;
  const agent = new Agent({
    connect: (o, callback) => {
      const https = o.protocol === "https:";
      const port = o.port ? Number(o.port) : https ? 443 : 80;
      const ctx: ConnectContext = {
        ...opts,
        connect: (address, p, name) =>
          https
            ? tls.connect({ host: address, port: p, servername: net.isIP(name) === 0 ? name : undefined, ALPNProtocols: ["http/1.1"], ...(opts.tls ?? {}) })
            : net.connect({ host: address, port: p, noDelay: true }),
      };
      judgeAndConnect(ctx, "mcp-upstream", o.hostname, port, opts.policy.decideHost(o.hostname, port)).then(
        (outcome) => {
          if (outcome.ok) callback(null, outcome.socket);
          else if (outcome.kind === "policy" || outcome.kind === "audit") callback(new EgressRefusedError(`mcp-warden refused the connection to ${o.hostname}:${port}: ${outcome.reason}`), null);
          // A network failure keeps its usual code, so it reads as what it is (the server is down).
          else callback(Object.assign(new Error(outcome.reason), { code: NETWORK_CODES[outcome.kind] }), null);
        },
        (error: Error) => callback(error, null),
      );
    },
  });

  const fetch: FetchLike = async (input, init) => {
    let url = new URL(String(input));
    const request: RequestInit = { ...(init ?? {}) };
    for (let hop = 0; ; hop++) {
      const response = (await undiciFetch(url, { ...(request as object), redirect: "manual", dispatcher: agent })) as unknown as Response;
      if (!REDIRECTS.has(response.status)) return response;
      const location = response.headers.get("location");
      if (location === null) return response;
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return response;
      }
      const method = (request.method ?? "GET").toUpperCase();
      // 301/302/303 turn a POST into a GET without its body; an MCP message would be lost, so such a
      // redirect is handed to the transport as it is (it reports the HTTP status).
      if (response.status !== 307 && response.status !== 308 && method !== "GET" && method !== "HEAD") return response;
      await response.body?.cancel().catch(() => undefined);
      const port = (u: URL) => (u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : 80);
      if (next.origin !== url.origin) {
        const reason = `a redirect from ${url.origin} to ${next.origin} was refused: only redirects within the configured server's origin are followed (they would carry its headers elsewhere)`;
        refuseAudit(opts, { decision: "deny", reason }, reason, { host: next.hostname, port: port(next), protocol: "mcp-upstream" });
        throw new EgressRefusedError(reason);
      }
      if (hop >= maxRedirects) throw new EgressRefusedError(`more than ${maxRedirects} redirects from ${url.origin}`);
      url = next;
    }
  };

  let closed: Promise<void> | undefined;
  return {
    fetch,
    close() {
      closed ??= agent.destroy().catch(() => undefined);
      return closed;
    },
  };
}
