// Remote mode's authentication: an OAuth 2.1 resource server. A request's `Authorization: Bearer`
// value is either an API key (`mcpw_...`, looked up by hash) or a JWT access token of the configured
// issuer (src/auth/jwt.ts). The answer is a principal, or a failure that says what HTTP status and
// WWW-Authenticate challenge to send, with an audit note that never holds the token.
// The seed's SSO settings are enforced here: forceLoginMethod "sso" refuses API keys, and
// forceLoginOrgUUID refuses any principal whose organization is not the given one.
import { buildOAuthProtectedResourceMetadata, getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/server";
import type { JWTPayload } from "jose";
import type { Principal } from "../policy/principal.js";
import { ApiKeyTable, looksLikeApiKey } from "./api-keys.js";
import { bearerChallenge } from "./challenge.js";
import { JwtVerifier, secureUrl, type JwtVerifierOptions } from "./jwt.js";
import { RequiredScopes } from "./scopes.js";
import type { RemoteAuthSettings } from "./settings-types.js";

export type { RemoteAuthSettings } from "./settings-types.js";
export { FailureBudget } from "./failure-budget.js";

export interface AuthenticatorConfig {
  /** This gateway's resource URL (remote.resource): the audience tokens must carry. */
  resource: string;
  auth: RemoteAuthSettings;
  forceLoginMethod?: "sso" | "any";
  forceLoginOrgUUID?: string;
}

export type AuthFailure = {
  ok: false;
  status: 400 | 401 | 403 | 503;
  error: "invalid_token" | "insufficient_scope" | "invalid_request" | "temporarily_unavailable";
  description: string;
  /** The whole WWW-Authenticate value. */
  challenge: string;
  /** For the audit log: never a token. */
  audit: { reason: string; method?: "oidc" | "api-key"; issuer?: string; subject?: string };
};

export type AuthResult = { ok: true; principal: Principal; /** Seconds since the epoch (the token's exp). */ expiresAt?: number } | AuthFailure;

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<AuthResult>;
  /** 403 insufficient_scope listing ALL required scopes, or undefined when the principal has them. `tool` is canonical (mcp__server__tool). */
  checkScopes(principal: Principal, method: string, tool?: string): AuthFailure | undefined;
  /** RFC 9728 document and the paths it is served at (the path-suffixed form for the resource's path first, then the root form). */
  metadata(): { paths: string[]; document: Record<string, unknown> };
  /** Readiness (`/readyz`): the identity provider's keys can be fetched; undefined without an issuer. */
  keysReachable?: (signal: AbortSignal) => Promise<void>;
  close(): void;
}

export interface AuthenticatorOptions extends JwtVerifierOptions {
  /** The clock, in milliseconds (API key expiry). */
  now?: () => number;
}

/** Settings that cannot work; `serve` refuses to start with this message. */
export class AuthConfigError extends Error {
  override name = "AuthConfigError";
}

export const DEFAULT_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const;
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** Longer bearer values are refused before any parsing. */
export const MAX_TOKEN_CHARS = 16 * 1024;
/** RFC 6750 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function createAuthenticator(cfg: AuthenticatorConfig, opts: AuthenticatorOptions = {}): Authenticator {
  const auth = cfg.auth;
  const now = opts.now ?? Date.now;
  let resourceUrl: URL;
  try {
    resourceUrl = new URL(cfg.resource);
  } catch {
    throw new AuthConfigError(`remote.resource ${JSON.stringify(cfg.resource)} is not a URL; set it to this gateway's public MCP URL, e.g. https://mcp.example.com/mcp`);
  }
  if (auth.jwksUri !== undefined && auth.issuer === undefined) throw new AuthConfigError("remote.auth.jwksUri needs remote.auth.issuer too: tokens are accepted only from a named issuer");
  for (const [what, url] of [["remote.auth.issuer", auth.issuer], ["remote.auth.jwksUri", auth.jwksUri]] as const)
    if (url !== undefined && !secureUrl(url)) throw new AuthConfigError(`${what} ${url} must be an https URL (http only on localhost): keys fetched in clear text could be swapped`);
  const keys = new ApiKeyTable(auth.apiKeys);
  if (auth.issuer === undefined && (keys.size === 0 || cfg.forceLoginMethod === "sso"))
    throw new AuthConfigError(
      cfg.forceLoginMethod === "sso"
        ? 'forceLoginMethod "sso" accepts only the identity provider\'s tokens, but remote.auth.issuer is not set; set it to your OpenID issuer URL'
        : "nobody could authenticate: set remote.auth.issuer (your OpenID issuer URL) or create an API key with `mcp-warden keys create NAME`",
    );
  const issuer = auth.issuer;
  const jwt =
    issuer === undefined
      ? undefined
      : new JwtVerifier(
          { issuer, audience: cfg.resource, algorithms: auth.algorithms ?? DEFAULT_ALGORITHMS, clockSkewSeconds: auth.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS, ...(auth.jwksUri !== undefined ? { jwksUri: auth.jwksUri } : {}) },
          opts,
        );
  const required = new RequiredScopes(auth.requiredScopes);
  const resourceMetadata = getOAuthProtectedResourceMetadataUrl(resourceUrl);
  const claimNames = { groups: auth.groupsClaim ?? "groups", org: auth.orgClaim ?? "org_id", clientId: auth.clientIdClaim };

  /** RFC 6750 3.1: when no bearer token was presented, the challenge carries no error code. */
  const noToken = (description: string, reason: string): AuthFailure => ({ ok: false, status: 401, error: "invalid_token", description, challenge: bearerChallenge({ resourceMetadata }), audit: { reason } });
  const fail = (status: AuthFailure["status"], error: AuthFailure["error"], description: string, audit: AuthFailure["audit"], scopes?: string[]): AuthFailure => ({
    ok: false,
    status,
    error,
    description,
    // A 503 is no statement about the token: the challenge only points at the metadata.
    challenge: bearerChallenge(status === 503 ? { resourceMetadata } : { error, description, scopes, resourceMetadata }),
    audit,
  });

  /** forceLoginOrgUUID, for either method. The expected value is not shown to the caller. */
  const orgRefusal = (p: Principal): AuthFailure | undefined => {
    if (cfg.forceLoginOrgUUID === undefined || p.org === cfg.forceLoginOrgUUID) return undefined;
    const what = p.method === "api-key" ? "the API key's org" : `the token's "${claimNames.org}" claim`;
    return fail(401, "invalid_token", `this gateway accepts only members of one organization (forceLoginOrgUUID), and ${what} ${p.org === undefined ? "is missing" : "names another"}`, {
      reason: `organization ${p.org === undefined ? "missing" : JSON.stringify(p.org)} is not the required one`,
      method: p.method === "api-key" ? "api-key" : "oidc",
      ...(p.issuer !== undefined ? { issuer: p.issuer } : {}),
      subject: p.subject,
    });
  };

  async function authenticate(authorization: string | undefined): Promise<AuthResult> {
    if (authorization === undefined || authorization.trim() === "")
      return noToken("this endpoint needs a bearer token; get one from the authorization server named in the resource metadata", "no token");
    if (authorization.length > MAX_TOKEN_CHARS + 64) return fail(401, "invalid_token", `the token is longer than ${MAX_TOKEN_CHARS} characters`, { reason: "token too long" });
    if (!/^Bearer(\s|$)/i.test(authorization))
      // Another scheme (Basic, ...): no bearer token was presented at all (RFC 6750 3.1: no error code).
      return noToken("this endpoint takes `Authorization: Bearer <token>`", "not a bearer token");
    // `Bearer ` and nothing else is what a client sends when its token variable is unset: no token.
    if (/^Bearer\s*$/i.test(authorization)) return noToken("the bearer token is empty: set the token the client sends (e.g. $MCP_WARDEN_HOOK_TOKEN)", "empty bearer token");
    const m = BEARER.exec(authorization);
    if (!m) return fail(400, "invalid_request", "the Authorization header must be exactly `Bearer <token>`, one token", { reason: "malformed Authorization header" });
    const token = m[1]!;
    if (token.length > MAX_TOKEN_CHARS) return fail(401, "invalid_token", `the token is longer than ${MAX_TOKEN_CHARS} characters`, { reason: "token too long" });
    return looksLikeApiKey(token) ? apiKey(token) : idpToken(token);
  }

  function apiKey(token: string): AuthResult {
    if (cfg.forceLoginMethod === "sso")
      return fail(401, "invalid_token", `this gateway requires SSO (forceLoginMethod "sso"): API keys are not accepted; use an access token from ${issuer ?? "the identity provider"}`, {
        reason: "API key refused: SSO required",
        method: "api-key",
      });
    const found = keys.check(token, now());
    if (!found.ok)
      return fail(401, "invalid_token", found.reason, { reason: found.reason, method: "api-key", ...(found.entry ? { subject: found.entry.subject ?? `apikey:${found.name}` } : {}) });
    const e = found.entry;
    const principal: Principal = Object.freeze({
      subject: e.subject ?? `apikey:${found.name}`,
      clientId: found.name,
      groups: Object.freeze([...(e.groups ?? [])]),
      ...(e.org !== undefined ? { org: e.org } : {}),
      scopes: Object.freeze([...(e.scopes ?? [])]),
      method: "api-key" as const,
    });
    const refused = orgRefusal(principal);
    if (refused) return refused;
    const expires = e.expires === undefined ? undefined : Math.floor(Date.parse(e.expires) / 1000);
    return { ok: true, principal, ...(expires !== undefined ? { expiresAt: expires } : {}) };
  }

  async function idpToken(token: string): Promise<AuthResult> {
    if (jwt === undefined || issuer === undefined)
      return fail(401, "invalid_token", "this gateway accepts only its API keys (no identity provider is configured)", { reason: "not an API key, and no issuer configured" });
    const checked = await jwt.verify(token);
    if (!checked.ok) {
      if (checked.kind === "unavailable") return fail(503, "temporarily_unavailable", checked.reason, { reason: checked.reason, method: "oidc", issuer });
      return fail(401, "invalid_token", checked.reason, { reason: checked.reason, method: "oidc", issuer });
    }
    const principal = principalOf(checked.payload, issuer);
    if (typeof principal === "string") return fail(401, "invalid_token", principal, { reason: principal, method: "oidc", issuer });
    const refused = orgRefusal(principal);
    if (refused) return refused;
    return { ok: true, principal, ...(typeof checked.payload.exp === "number" ? { expiresAt: checked.payload.exp } : {}) };
  }

  /** The principal a verified token names, or why it names none. */
  function principalOf(p: JWTPayload, iss: string): Principal | string {
    if (typeof p.sub !== "string" || p.sub === "") return 'the token has no "sub" claim';
    const claims = p as Record<string, unknown>;
    const clientId = [claimNames.clientId ?? "client_id", ...(claimNames.clientId === undefined ? ["azp"] : [])].map((c) => claims[c]).find((v): v is string => typeof v === "string" && v !== "");
    const groups = claims[claimNames.groups];
    const org = claims[claimNames.org];
    return Object.freeze({
      subject: p.sub,
      ...(clientId !== undefined ? { clientId } : {}),
      // A groups claim of any other shape (a string, mixed array) gives no groups: never guess membership.
      groups: Object.freeze(Array.isArray(groups) && groups.every((g) => typeof g === "string") ? [...(groups as string[])] : []),
      ...(typeof org === "string" && org !== "" ? { org } : {}),
      scopes: Object.freeze(scopesOf(claims)),
      method: "oidc" as const,
      issuer: iss,
    });
  }

  return {
    authenticate,
    checkScopes(principal, method, tool) {
      const need = required.for(method, tool);
      const missing = need.filter((s) => !principal.scopes.includes(s));
      if (missing.length === 0) return undefined;
      return fail(
        403,
        "insufficient_scope",
        `${tool ?? method} needs the scopes ${need.join(" ")}; the token lacks ${missing.join(" ")}: get a token with all of them`,
        { reason: `missing scopes ${missing.join(" ")}`, method: principal.method === "api-key" ? "api-key" : "oidc", ...(principal.issuer !== undefined ? { issuer: principal.issuer } : {}), subject: principal.subject },
        need,
      );
    },
    metadata() {
      const scopes = required.all();
      const document: Record<string, unknown> =
        issuer === undefined
          ? { resource: cfg.resource }
          : { ...(buildOAuthProtectedResourceMetadata({ oauthMetadata: { issuer } as never, resourceServerUrl: resourceUrl, resourceName: "mcp-warden", dangerouslyAllowInsecureIssuerUrl: true, ...(scopes.length ? { scopesSupported: scopes } : {}) }) as Record<string, unknown>) };
      // (The issuer's scheme was checked at creation: https, or http on a loopback host only.)
      // The resource exactly as configured (URL.href could add a slash): clients ask the IdP for this audience.
      document.resource = cfg.resource;
      document.bearer_methods_supported = ["header"];
      for (const k of Object.keys(document)) if (document[k] === undefined) delete document[k];
      const suffixed = new URL(resourceMetadata).pathname;
      return { paths: [...new Set([suffixed, "/.well-known/oauth-protected-resource"])], document };
    },
    ...(jwt ? { keysReachable: (signal: AbortSignal) => jwt.checkKeys(signal) } : {}),
    close() {
      // Nothing holds sockets or timers between requests (jose's cache is plain memory).
    },
  };
}

/** `scope` (space-separated) or `scp` (an array, or a space-separated string as some IdPs send). */
function scopesOf(claims: Record<string, unknown>): string[] {
  const raw = typeof claims.scope === "string" ? claims.scope : claims.scp;
  if (typeof raw === "string") return raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw) && raw.every((s) => typeof s === "string")) return [...(raw as string[])];
  return [];
}
