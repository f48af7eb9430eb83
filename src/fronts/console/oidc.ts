// Console sign-in: OpenID Connect authorization code flow with PKCE (S256), a nonce and a state,
// against remote.auth.issuer. Built on jose (already a dependency, and what verifies access tokens in
// src/auth/jwt.ts) and fetch rather than openid-client: the flow needs discovery, one token request
// and an ID token check, which is little code, and keeping to jose avoids a second JOSE stack in the
// package. The ID token is verified here (signature from the issuer's JWKS, issuer, audience = the
// console's client id, azp, expiry with the configured skew, the nonce of this sign-in), never
// merely decoded, even though it came straight from the token endpoint.
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { readBoundedBytes } from "../../auth/bounded-body.js";
import { secureUrl } from "../../auth/jwt.js";
import type { Principal } from "../../policy/principal.js";

export interface ConsoleOidcConfig {
  issuer: string;
  clientId: string;
  /** Confidential client (client_secret_basic); without it a public client with PKCE. */
  clientSecret?: string;
  /** <publicUrl>/console/callback, registered at the provider. */
  redirectUri: string;
  scopes: readonly string[];
  algorithms: readonly string[];
  clockSkewSeconds: number;
  /** The claims that carry groups and the organization (remote.auth.groupsClaim, orgClaim). */
  claims: { groups: string; org: string };
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** What a sign-in keeps between the redirect to the provider and the callback. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
}

/** `idToken`: the verified ID token, kept with the session as the hint of a sign-out at the provider. */
export type SignInResult = { ok: true; principal: Principal; name: string; idToken: string } | { ok: false; reason: string };

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint?: string;
  /** OpenID Connect RP-Initiated Logout 1.0; absent when the provider has none (or none usable). */
  end_session_endpoint?: string;
  jwks: JWTVerifyGetKey;
}

const MAX_DOCUMENT_BYTES = 1 << 20;

const random = () => randomBytes(32).toString("base64url");

export class ConsoleOidc {
  private discovery: Promise<Discovery> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly cfg: ConsoleOidcConfig) {
    this.fetchImpl = cfg.fetch ?? fetch;
    this.timeoutMs = cfg.timeoutMs ?? 5000;
  }

  /** The provider's authorization URL for a new sign-in, and what the callback must check. */
  async start(): Promise<{ url: string; pending: PendingSignIn }> {
    const d = await this.discover();
    const pending: PendingSignIn = { state: random(), nonce: random(), verifier: random() };
    const url = new URL(d.authorization_endpoint);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", this.cfg.clientId);
    url.searchParams.set("redirect_uri", this.cfg.redirectUri);
    url.searchParams.set("scope", this.cfg.scopes.join(" "));
    url.searchParams.set("state", pending.state);
    url.searchParams.set("nonce", pending.nonce);
    url.searchParams.set("code_challenge", createHash("sha256").update(pending.verifier).digest("base64url"));
    url.searchParams.set("code_challenge_method", "S256");
    return { url: url.href, pending };
  }

  /** Trades the code for tokens and names the person the ID token is about. Never throws. */
  async finish(code: string, pending: PendingSignIn): Promise<SignInResult> {
    try {
      const d = await this.discover();
      const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: this.cfg.redirectUri, code_verifier: pending.verifier });
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
      if (this.cfg.clientSecret !== undefined) {
        // RFC 6749 2.3.1: both parts form-encoded before Basic.
        headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(this.cfg.clientId)}:${encodeURIComponent(this.cfg.clientSecret)}`).toString("base64")}`;
      } else body.set("client_id", this.cfg.clientId);
      const res = await this.fetchImpl(d.token_endpoint, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs) });
      const json = parseJson(await readBoundedBytes(res, MAX_DOCUMENT_BYTES, "the token endpoint's answer")) as { id_token?: unknown; access_token?: unknown; error?: unknown; error_description?: unknown } | undefined;
      if (res.status !== 200 || typeof json?.id_token !== "string") {
        const why = typeof json?.error === "string" ? `${json.error}${typeof json.error_description === "string" ? `: ${json.error_description.slice(0, 200)}` : ""}` : `HTTP ${res.status}`;
        return { ok: false, reason: `the identity provider refused the sign-in code (${why})` };
      }
      const claims = await this.verifyIdToken(json.id_token, pending.nonce);
      if (typeof claims === "string") return { ok: false, reason: claims };
      // Providers that keep groups out of the ID token give them at the userinfo endpoint.
      if (claims[this.cfg.claims.groups] === undefined && d.userinfo_endpoint && typeof json.access_token === "string") {
        const extra = await this.userinfo(d.userinfo_endpoint, json.access_token, claims.sub!);
        if (typeof extra === "string") return { ok: false, reason: extra };
        for (const k of [this.cfg.claims.groups, this.cfg.claims.org]) if (claims[k] === undefined && extra[k] !== undefined) claims[k] = extra[k];
      }
      return { ok: true, ...this.principalOf(claims), idToken: json.id_token };
    } catch (e) {
      return { ok: false, reason: `the sign-in could not be completed: ${describe(e)}` };
    }
  }

  private async verifyIdToken(token: string, nonce: string): Promise<JWTPayload | string> {
    const d = await this.discover();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, d.jwks, {
        issuer: this.cfg.issuer,
        audience: this.cfg.clientId,
        algorithms: [...this.cfg.algorithms],
        clockTolerance: this.cfg.clockSkewSeconds,
        requiredClaims: ["sub", "exp", "iat"],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) return "the ID token has expired: sign in again (and check this machine's clock)";
      if (e instanceof errors.JWTClaimValidationFailed) return `the ID token's "${e.claim}" claim is not acceptable (${e.reason})`;
      return `the ID token does not verify (${describe(e)})`;
    }
    if (payload.nonce !== nonce) return "the ID token is not for this sign-in (nonce): sign in again";
    // OIDC Core 3.1.3.7: with several audiences, azp must name this client.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== this.cfg.clientId) return "the ID token was issued to another client (azp)";
    if (typeof payload.sub !== "string" || payload.sub === "") return 'the ID token has no "sub"';
    return payload;
  }

  private async userinfo(endpoint: string, accessToken: string, sub: string): Promise<Record<string, unknown> | string> {
    const res = await this.fetchImpl(endpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" }, redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs) });
    const json = parseJson(await readBoundedBytes(res, MAX_DOCUMENT_BYTES, "the userinfo answer")) as Record<string, unknown> | undefined;
    if (res.status !== 200 || !json) return `the identity provider's userinfo endpoint answered HTTP ${res.status}`;
    // OIDC Core 5.3.2: claims about another subject are not this person's.
    if (json.sub !== sub) return "the userinfo answer is about another subject";
    return json;
  }

  /** The principal the claims name, mapped as access tokens' claims are (src/auth/authenticator.ts). */
  private principalOf(claims: JWTPayload): { principal: Principal; name: string } {
    const c = claims as Record<string, unknown>;
    const groups = c[this.cfg.claims.groups];
    const org = c[this.cfg.claims.org];
    const principal: Principal = Object.freeze({
      subject: claims.sub!,
      // A groups claim of any other shape gives no groups: never guess membership.
      groups: Object.freeze(Array.isArray(groups) && groups.every((g) => typeof g === "string") ? [...(groups as string[])] : []),
      ...(typeof org === "string" && org !== "" ? { org } : {}),
      scopes: Object.freeze([]),
      method: "oidc" as const,
      issuer: this.cfg.issuer,
    });
    const shown = [c.name, c.preferred_username, c.email].find((v): v is string => typeof v === "string" && v !== "");
    return { principal, name: shown ?? claims.sub! };
  }

  /**
   * Where to send the browser to end the person's session at the provider too (RP-Initiated Logout:
   * the ID token as hint, this client, and where to come back), or undefined when the provider has no
   * end-session endpoint or cannot be reached: signing out of the console never waits on the provider.
   */
  async endSessionUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<string | undefined> {
    let d: Discovery;
    try {
      d = await this.discover();
    } catch {
      return undefined;
    }
    if (d.end_session_endpoint === undefined) return undefined;
    const url = new URL(d.end_session_endpoint);
    if (idToken !== undefined) url.searchParams.set("id_token_hint", idToken);
    url.searchParams.set("client_id", this.cfg.clientId);
    url.searchParams.set("post_logout_redirect_uri", postLogoutRedirectUri);
    return url.href;
  }

  /** Discovery once (concurrent callers share it); a failure is retried by the next sign-in. */
  private discover(): Promise<Discovery> {
    this.discovery ??= this.fetchDiscovery().catch((e: unknown) => {
      this.discovery = undefined;
      throw e;
    });
    return this.discovery;
  }

  private async fetchDiscovery(): Promise<Discovery> {
    const url = `${this.cfg.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let doc: Record<string, unknown> | undefined;
    try {
      const res = await this.fetchImpl(url, { redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: "application/json" } });
      if (res.status !== 200) throw new Error(`it answered HTTP ${res.status}`);
      doc = parseJson(await readBoundedBytes(res, MAX_DOCUMENT_BYTES, `${url} answered`)) as Record<string, unknown> | undefined;
    } catch (e) {
      throw new Error(`cannot reach the identity provider ${this.cfg.issuer} (discovery at ${url}: ${describe(e)}); check that it is up`);
    }
    if (!doc || doc.issuer !== this.cfg.issuer) throw new Error(`the identity provider at ${url} names another issuer; set remote.auth.issuer to its exact issuer URL`);
    const endpoint = (name: string, required: boolean): string | undefined => {
      const v = doc![name];
      if (v === undefined && !required) return undefined;
      // Codes, tokens and keys in clear text over a network could be read or swapped.
      if (typeof v !== "string" || !secureUrl(v)) throw new Error(`the identity provider ${this.cfg.issuer} gives no usable ${name}: it must be an https URL (or http on localhost)`);
      return v;
    };
    const jwksUri = endpoint("jwks_uri", true)!;
    const userinfo = endpoint("userinfo_endpoint", false);
    // Only where a sign-out sends the browser (with the ID token as hint): an unusable one means no
    // sign-out at the provider, not that nobody can sign in.
    const endSession = typeof doc.end_session_endpoint === "string" && secureUrl(doc.end_session_endpoint) ? doc.end_session_endpoint : undefined;
    return {
      authorization_endpoint: endpoint("authorization_endpoint", true)!,
      token_endpoint: endpoint("token_endpoint", true)!,
      ...(userinfo !== undefined ? { userinfo_endpoint: userinfo } : {}),
      ...(endSession !== undefined ? { end_session_endpoint: endSession } : {}),
      jwks: createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: this.timeoutMs,
        [customFetch]: async (u: string, init: RequestInit) => {
          const res = await this.fetchImpl(u, init);
          return new Response(await readBoundedBytes(res, MAX_DOCUMENT_BYTES, `${u} answered`), { status: res.status, headers: res.headers });
        },
      }),
    };
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: unknown } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "the request timed out";
  return typeof err?.cause?.code === "string" ? `${err.message}: ${err.cause.code}` : String(err?.message ?? e);
}
