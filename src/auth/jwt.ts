// JWT access tokens of one OpenID issuer, verified with jose: keys found through OIDC discovery
// and the issuer's JWKS (cached by jose, refetched on an unknown `kid` after jose's cooldown), the
// issuer and audience (RFC 8707) checked, the algorithms pinned to asymmetric ones, `exp`/`nbf`
// with a bounded skew. When the issuer cannot be reached the answer is "unavailable", never a pass.
import { readBoundedBytes } from "./bounded-body.js";
import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export interface JwtVerifierConfig {
  issuer: string;
  /** Skips discovery when set. */
  jwksUri?: string;
  /** The resource URL tokens must name in `aud`. */
  audience: string;
  algorithms: readonly string[];
  clockSkewSeconds: number;
}

export interface JwtVerifierOptions {
  fetch?: typeof fetch;
  /** Discovery and JWKS requests give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** After a JWKS fetch, an unknown `kid` refetches only once this has passed (jose's cooldown; default 30000 ms). */
  jwksCooldownMs?: number;
  /** Keys are refetched when older than this (default 10 minutes). */
  jwksMaxAgeMs?: number;
  /** After a failed discovery, requests are refused without asking the issuer again for this long (default 2000 ms). */
  retryAfterFailureMs?: number;
}

export type JwtCheck =
  | { ok: true; payload: JWTPayload }
  /** `invalid`: the token is refused (401). `unavailable`: the issuer could not be asked (503). */
  | { ok: false; kind: "invalid" | "unavailable"; reason: string };

/** Largest discovery document or JWKS read (a hostile or broken endpoint must not exhaust memory). */
const MAX_DOCUMENT_BYTES = 1 << 20;

export class JwtVerifier {
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private keys: Promise<JWTVerifyGetKey> | undefined;
  private failedUntil = 0;
  private lastFailure = "";
  /** The key set's URL, once known (configured, or found by discovery). */
  private resolvedJwksUri: string | undefined;

  constructor(
    private readonly cfg: JwtVerifierConfig,
    private readonly opts: JwtVerifierOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async verify(token: string): Promise<JwtCheck> {
    // Unverified look at the claims, only to refuse early a token that cannot be for us: it spares the
    // issuer a JWKS refetch for another issuer's `kid`. jwtVerify checks both again after the signature.
    let claimed: JWTPayload;
    try {
      claimed = decodeJwt(token);
    } catch {
      return { ok: false, kind: "invalid", reason: "the token is not a well-formed JWT" };
    }
    if (claimed.iss !== this.cfg.issuer) return { ok: false, kind: "invalid", reason: `the token was issued by ${describe(claimed.iss)}, not by ${this.cfg.issuer}` };
    const aud = Array.isArray(claimed.aud) ? claimed.aud : [claimed.aud];
    if (!aud.includes(this.cfg.audience)) return { ok: false, kind: "invalid", reason: `the token is for another resource (aud ${describe(claimed.aud)}), not ${this.cfg.audience}` };

    let getKey: JWTVerifyGetKey;
    try {
      getKey = await this.keySet();
    } catch (e) {
      return { ok: false, kind: "unavailable", reason: (e as Error).message };
    }
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        algorithms: [...this.cfg.algorithms],
        clockTolerance: this.cfg.clockSkewSeconds,
        requiredClaims: ["sub", "exp"],
      });
      return { ok: true, payload };
    } catch (e) {
      return classify(e, this.cfg.issuer);
    }
  }

  /** The issuer's key set: discovered once (concurrent callers share the attempt), retried after a failure. */
  private keySet(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    if (Date.now() < this.failedUntil) return Promise.reject(new Error(this.lastFailure));
    const attempt = this.discover().catch((e: unknown) => {
      this.keys = undefined;
      this.failedUntil = Date.now() + (this.opts.retryAfterFailureMs ?? 2000);
      this.lastFailure = (e as Error).message;
      throw e;
    });
    this.keys = attempt;
    return attempt;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    let jwksUri = this.cfg.jwksUri;
    if (jwksUri === undefined) {
      const url = `${this.cfg.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
      let doc: unknown;
      try {
        const res = await this.boundedFetch(url, { redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: "application/json" } });
        if (res.status !== 200) throw new Error(`it answered HTTP ${res.status}`);
        doc = await res.json();
      } catch (e) {
        throw new Error(`cannot reach the identity provider ${this.cfg.issuer} (discovery at ${url}: ${why(e)}); check that it is up and that remote.auth.issuer is its exact issuer URL`);
      }
      const d = doc as { issuer?: unknown; jwks_uri?: unknown } | null;
      if (typeof d !== "object" || d === null || d.issuer !== this.cfg.issuer)
        throw new Error(`the identity provider at ${url} names its issuer ${describe(d?.issuer)}, not ${this.cfg.issuer}; set remote.auth.issuer to its exact issuer URL`);
      if (typeof d.jwks_uri !== "string" || !secureUrl(d.jwks_uri))
        throw new Error(`the identity provider ${this.cfg.issuer} gives no usable jwks_uri (${describe(d.jwks_uri)}): it must be an https URL (or http on localhost)`);
      jwksUri = d.jwks_uri;
    }
    this.resolvedJwksUri = jwksUri;
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.timeoutMs,
      ...(this.opts.jwksCooldownMs !== undefined ? { cooldownDuration: this.opts.jwksCooldownMs } : {}),
      ...(this.opts.jwksMaxAgeMs !== undefined ? { cacheMaxAge: this.opts.jwksMaxAgeMs } : {}),
      [customFetch]: (url: string, init: RequestInit) => this.boundedFetch(url, init),
    });
  }

  /**
   * Readiness: the issuer's key set can be fetched now and holds keys. Rejects with a reason a
   * person can act on. Fetched afresh each time (bounded): jose's cache would hide an outage.
   */
  async checkKeys(signal: AbortSignal): Promise<void> {
    await this.keySet();
    const uri = this.resolvedJwksUri!;
    let doc: unknown;
    try {
      const res = await this.boundedFetch(uri, { redirect: "manual", signal, headers: { accept: "application/json" } });
      if (res.status !== 200) throw new Error(`it answered HTTP ${res.status}`);
      doc = await res.json();
    } catch (e) {
      throw new Error(`cannot fetch the signing keys of ${this.cfg.issuer} from ${uri}: ${why(e)}`);
    }
    const keys = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new Error(`the key set of ${this.cfg.issuer} at ${uri} holds no keys`);
  }

  /** fetch whose body is read here, at most MAX_DOCUMENT_BYTES, and handed on as a new Response. */
  private async boundedFetch(url: string, init: RequestInit): Promise<Response> {
    const res = await this.fetchImpl(url, init);
    const body = await readBoundedBytes(res, MAX_DOCUMENT_BYTES, `${url} answered`);
    return new Response(body, { status: res.status, headers: res.headers });
  }
}

/** https, or http to a loopback host: keys fetched in clear text over a network could be swapped. */
export function secureUrl(text: string): boolean {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return false;
  }
  if (u.protocol === "https:") return true;
  return u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

/** jose's errors: what the token got wrong (401) or what kept us from checking it (503). */
function classify(e: unknown, issuer: string): JwtCheck {
  const unavailable = (detail: string): JwtCheck => ({
    ok: false,
    kind: "unavailable",
    reason: `cannot fetch the signing keys of the identity provider ${issuer} (${detail}); check that it is up and reachable from the gateway`,
  });
  if (e instanceof errors.JWTExpired) return { ok: false, kind: "invalid", reason: "the token has expired" };
  if (e instanceof errors.JWTClaimValidationFailed) return { ok: false, kind: "invalid", reason: `the token's "${e.claim}" claim is not acceptable (${e.reason})` };
  if (e instanceof errors.JOSEAlgNotAllowed) return { ok: false, kind: "invalid", reason: "the token's signature algorithm is not accepted" };
  if (e instanceof errors.JWSSignatureVerificationFailed) return { ok: false, kind: "invalid", reason: "the token's signature does not verify" };
  if (e instanceof errors.JWKSNoMatchingKey) return { ok: false, kind: "invalid", reason: `no signing key of ${issuer} matches the token's key id` };
  if (e instanceof errors.JWKSMultipleMatchingKeys) return { ok: false, kind: "invalid", reason: "the token's key id matches several keys; refused" };
  if (e instanceof errors.JWKSTimeout) return unavailable("the request timed out");
  if (e instanceof errors.JWKSInvalid || e instanceof errors.JWKInvalid) return unavailable("its key set is not valid");
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid || e instanceof errors.JOSENotSupported) return { ok: false, kind: "invalid", reason: "the token is not a valid signed JWT" };
  // The rest (a failed fetch, a non-200 JWKS answer, a body over the bound) happened while getting keys.
  return unavailable(why(e));
}

function why(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "the request timed out";
  const cause = err?.cause as { code?: unknown; message?: unknown } | undefined;
  return typeof cause?.code === "string" ? `${err.message}: ${cause.code}` : String(err?.message ?? e);
}

/** A claim value for a message: short, and never more than 100 characters of whatever the token says. */
function describe(v: unknown): string {
  if (v === undefined) return "nobody";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}
