// RFC 8693 token exchange: the credential a remote upstream gets for one caller. The gateway, as a
// confidential client of the identity provider, hands in the caller's verified access token and gets
// back a token for the upstream's audience, issued for the same user. The caller's own token never
// goes upstream, and an upstream request never goes out without the exchanged token: every failure
// here is an error for that request.
// Neither token is ever logged, audited or put in an error message.
import { readBounded } from "./bounded-body.js";
import { createHash } from "node:crypto";
import { decodeJwt } from "jose";
import { secureUrl } from "./jwt.js";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";

export interface TokenExchangeConfig {
  /** The server entry it is for (messages only). */
  server: string;
  /** remote.auth.issuer: whose discovery names the token endpoint, unless `tokenEndpoint` is set. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  audience?: string;
  resource?: string;
  scope?: string;
  tokenEndpoint?: string;
}

export interface TokenExchangerOptions {
  fetch?: typeof fetch;
  /** One exchange (discovery included) gives up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Seconds before the issued token's expiry at which it is no longer used (default 30). */
  marginSeconds?: number;
  /** Cached tokens kept at most (default 1024); the oldest go first. */
  maxEntries?: number;
  /** The clock, in milliseconds. */
  now?: () => number;
}

/** The exchange failed: the message says why and what to do, and holds no token. */
export class TokenExchangeError extends Error {
  override name = "TokenExchangeError";
}

export interface ExchangedToken {
  token: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** True when the identity provider was asked now (not served from the cache). */
  fresh: boolean;
}

/** Largest token endpoint or discovery answer read. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Longest issued token accepted. */
const MAX_TOKEN_CHARS = 16 * 1024;
/** An issued token that says nothing of its lifetime is used this long. */
const DEFAULT_LIFETIME_SECONDS = 60;

interface CacheEntry {
  token: string;
  expiresAt: number;
}

export class TokenExchanger {
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly marginSeconds: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();
  /** Exchanges under way, so concurrent requests of one caller ask the identity provider once. */
  private readonly pending = new Map<string, Promise<ExchangedToken>>();
  private endpoint: Promise<string> | undefined;

  constructor(
    readonly cfg: TokenExchangeConfig,
    opts: TokenExchangerOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.marginSeconds = opts.marginSeconds ?? 30;
    this.maxEntries = opts.maxEntries ?? 1024;
    this.now = opts.now ?? Date.now;
    if (cfg.tokenEndpoint !== undefined && !secureUrl(cfg.tokenEndpoint))
      throw new TokenExchangeError(`server '${cfg.server}': tokenExchange.tokenEndpoint ${cfg.tokenEndpoint} must be an https URL (http only on localhost): the client secret and the caller's token are sent there`);
  }

  /** A token for `caller` (owner key) in exchange for their access token `subjectToken`: cached, or asked for now. */
  async exchange(caller: string, subjectToken: string, signal?: AbortSignal): Promise<ExchangedToken> {
    const key = `${caller}|${createHash("sha256").update(subjectToken).digest("hex")}`;
    const nowSeconds = this.now() / 1000;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt - nowSeconds > 0) return { ...hit, fresh: false };
    if (hit) this.cache.delete(key);
    let attempt = this.pending.get(key);
    if (!attempt) {
      attempt = this.ask(subjectToken, signal)
        .then((entry) => {
          this.remember(key, entry);
          return { ...entry, fresh: true };
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, attempt);
    }
    return attempt;
  }

  private async ask(subjectToken: string, signal: AbortSignal | undefined): Promise<CacheEntry> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const endpoint = await this.tokenEndpoint(combined);
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    });
    if (this.cfg.audience !== undefined) body.set("audience", this.cfg.audience);
    if (this.cfg.resource !== undefined) body.set("resource", this.cfg.resource);
    if (this.cfg.scope !== undefined) body.set("scope", this.cfg.scope);
    // RFC 6749 2.3.1: client id and secret are form-encoded before they are joined for Basic.
    const basic = Buffer.from(`${formEncode(this.cfg.clientId)}:${formEncode(this.cfg.clientSecret)}`).toString("base64");
    let status: number;
    let answer: unknown;
    try {
      const res = await this.fetchImpl(endpoint, {
        method: "POST",
        redirect: "manual",
        signal: combined,
        headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body,
      });
      status = res.status;
      answer = parseJson(await readBounded(res, MAX_RESPONSE_BYTES));
    } catch (e) {
      throw new TokenExchangeError(`${this.what()} failed: the identity provider could not be asked (${why(e)}); check that ${endpoint} is reachable from the gateway`);
    }
    const doc = (typeof answer === "object" && answer !== null ? answer : {}) as Record<string, unknown>;
    if (status !== 200) {
      const code = typeof doc.error === "string" ? clean(doc.error, 64) : `HTTP ${status}`;
      const detail = typeof doc.error_description === "string" ? `: ${clean(doc.error_description, 200)}` : "";
      const hint = code === "invalid_client" || status === 401 ? "; check tokenExchange.clientId and the client secret in the gateway's environment" : "";
      throw new TokenExchangeError(`${this.what()} was refused by the identity provider (${code}${detail})${hint}`);
    }
    const token = doc.access_token;
    if (typeof token !== "string" || token === "" || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token))
      throw new TokenExchangeError(`${this.what()} got an answer without a usable access_token`);
    if (typeof doc.token_type !== "string" || doc.token_type.toLowerCase() !== "bearer")
      throw new TokenExchangeError(`${this.what()} got a token of type ${JSON.stringify(clean(String(doc.token_type), 32))}, not Bearer`);
    if (doc.issued_token_type !== undefined && doc.issued_token_type !== ACCESS_TOKEN_TYPE && doc.issued_token_type !== JWT_TOKEN_TYPE)
      throw new TokenExchangeError(`${this.what()} got a ${clean(String(doc.issued_token_type), 80)}, not an access token`);
    const nowSeconds = this.now() / 1000;
    const lifetime = typeof doc.expires_in === "number" && doc.expires_in > 0 ? doc.expires_in : (jwtLifetime(token, nowSeconds) ?? DEFAULT_LIFETIME_SECONDS);
    // Used until shortly before it expires; a short-lived token keeps half its life.
    const margin = Math.min(this.marginSeconds, lifetime / 2);
    return { token, expiresAt: nowSeconds + lifetime - margin };
  }

  private remember(key: string, entry: CacheEntry): void {
    const nowSeconds = this.now() / 1000;
    if (this.cache.size >= this.maxEntries) {
      for (const [k, v] of this.cache) if (v.expiresAt <= nowSeconds) this.cache.delete(k);
      while (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(key, entry);
  }

  private what(): string {
    return `the token exchange for server '${this.cfg.server}'`;
  }

  /** The configured endpoint, or the issuer's discovery `token_endpoint` (asked once; again after a failure). */
  private tokenEndpoint(signal: AbortSignal): Promise<string> {
    if (this.cfg.tokenEndpoint !== undefined) return Promise.resolve(this.cfg.tokenEndpoint);
    this.endpoint ??= this.discover(signal).catch((e: unknown) => {
      this.endpoint = undefined;
      throw e;
    });
    return this.endpoint;
  }

  private async discover(signal: AbortSignal): Promise<string> {
    const url = `${this.cfg.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      const res = await this.fetchImpl(url, { redirect: "manual", signal, headers: { accept: "application/json" } });
      if (res.status !== 200) throw new Error(`it answered HTTP ${res.status}`);
      doc = parseJson(await readBounded(res, MAX_RESPONSE_BYTES));
    } catch (e) {
      throw new TokenExchangeError(`${this.what()} failed: cannot read the identity provider's discovery document ${url} (${why(e)}); set tokenExchange.tokenEndpoint or check remote.auth.issuer`);
    }
    const d = (typeof doc === "object" && doc !== null ? doc : {}) as { issuer?: unknown; token_endpoint?: unknown };
    if (d.issuer !== this.cfg.issuer) throw new TokenExchangeError(`${this.what()} failed: the discovery document at ${url} names another issuer; set remote.auth.issuer to its exact issuer URL`);
    if (typeof d.token_endpoint !== "string" || !secureUrl(d.token_endpoint))
      throw new TokenExchangeError(`${this.what()} failed: the identity provider names no usable token_endpoint (https, or http on localhost); set tokenExchange.tokenEndpoint`);
    return d.token_endpoint;
  }
}

/** application/x-www-form-urlencoded, as RFC 6749 2.3.1 wants for Basic client credentials. */
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, "+");
}


function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Seconds until a JWT's exp (undecodable or no exp: undefined). Only for the cache's lifetime, never trusted for access. */
function jwtLifetime(token: string, nowSeconds: number): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === "number" && exp > nowSeconds ? exp - nowSeconds : undefined;
  } catch {
    return undefined;
  }
}

/** Text from the identity provider, safe to show: printable, bounded. */
function clean(s: string, max: number): string {
  const printable = s.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}

function why(e: unknown): string {
  const err = e as Error & { cause?: { code?: unknown } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "no answer in time";
  return typeof err?.cause?.code === "string" ? `${err.message}: ${err.cause.code}` : String(err?.message ?? e);
}
