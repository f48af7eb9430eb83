// Remote mode: the credential of a caller's own instance of a token-exchange server. Each HTTP request
// to the upstream asks for it: the caller's latest verified access token, traded at the identity
// provider for a token for the upstream (src/auth/token-exchange.ts). A caller with nothing to trade
// (an API key) or a refused exchange makes the request fail; it is never sent with another credential.
import type { AuditEntry } from "../audit/record.js";
import type { CallerTokens } from "../auth/caller-tokens.js";
import { TokenExchangeError, type TokenExchanger } from "../auth/token-exchange.js";
import { auditedPrincipal } from "../policy/principal.js";
import { type UpstreamCredential, UpstreamCredentialError } from "../upstream/credential.js";
import type { Downstream } from "./downstream.js";

export function exchangedCredential(opts: {
  server: string;
  /** The caller the instance serves (one principal). */
  caller: Downstream;
  exchanger: TokenExchanger;
  callerTokens: CallerTokens;
  audit: (entry: AuditEntry) => void;
}): UpstreamCredential {
  const { server, caller, exchanger, callerTokens } = opts;
  return async (signal) => {
    if (caller.principal.method !== "oidc")
      throw new UpstreamCredentialError(
        `server '${server}' is called with a token the identity provider issues for each user (token exchange), and ${caller.principal.method === "api-key" ? "an API key" : "this caller"} has no access token to exchange: call it with an access token of ${exchanger.cfg.issuer}`,
      );
    const subjectToken = callerTokens.current(caller.owner);
    if (subjectToken === undefined) throw new UpstreamCredentialError(`server '${server}' needs your current access token for token exchange, and it has expired: get a new one and call again`);
    let exchanged;
    try {
      exchanged = await exchanger.exchange(caller.owner, subjectToken, signal);
    } catch (e) {
      if (e instanceof TokenExchangeError) {
        opts.audit({ kind: "server", event: "token-exchange-failed", server, principal: auditedPrincipal(caller.principal), reason: e.message });
        throw new UpstreamCredentialError(e.message);
      }
      throw e;
    }
    if (exchanged.fresh) {
      const { audience, resource, scope } = exchanger.cfg;
      opts.audit({
        kind: "server",
        event: "token-exchanged",
        server,
        principal: auditedPrincipal(caller.principal),
        detail: { ...(audience !== undefined ? { audience } : {}), ...(resource !== undefined ? { resource } : {}), ...(scope !== undefined ? { scope } : {}), clientId: exchanger.cfg.clientId },
      });
    }
    return `Bearer ${exchanged.token}`;
  };
}
