// Rate limits for remote mode: which token buckets a request takes from, and what a refusal says.
// Buckets: global (every caller), perServer (one per upstream server, every caller), perPrincipal
// (one per caller) and perTool (one per caller and tool). Tool and server calls take from all that
// apply; list and discover calls take from global and perPrincipal. All or nothing (see store.ts).
// Fail closed: a store that throws or does not answer in time refuses, unless onStoreError says
// otherwise: "local" meters the call with this process's own buckets (the same limits, per replica),
// "allow" lets it through unmetered. Limits only ever refuse: the policy judges every call afterwards.
import { fold, Glob } from "../policy/glob.js";
import type { Principal } from "../policy/principal.js";
import type { RemoteSettings } from "../settings/schema.js";
import { parseRate, RateError, type BucketRate } from "./rate.js";
import { MemoryLimitStore, type BucketSpec, type LimitStore, type TakeResult } from "./store.js";

export type RateLimitSettings = NonNullable<RemoteSettings["rateLimits"]>;

/** A caller's own `principals.<selector>.rateLimits` (merged over the entries matching them). */
export interface PrincipalRateLimits {
  perPrincipal?: string;
  perTool?: Record<string, string>;
  /** Where these came from, for the refusal's `limit`, e.g. `principals["group:ci"]`. */
  source?: string;
}

export interface LimitRequest {
  principal: Principal;
  /** JSON-RPC method: `tools/call`, `tools/list`, `resources/read`, ... */
  method: string;
  /** The upstream server a forwarded request goes to. */
  server?: string;
  /** The canonical tool name (`mcp__server__tool`) of a tools/call. */
  tool?: string;
}

export type LimitResult =
  | { ok: true; /** set when the store failed and onStoreError "allow" or "local" let the request through */ storeError?: string }
  | {
      ok: false;
      /** Whole seconds, at least 1: the HTTP front's Retry-After. */
      retryAfterSeconds: number;
      /** The setting that refused, e.g. `remote.rateLimits.perTool["mcp__*__search*"]`. */
      limit: string;
      /** One sentence for the caller and the audit log. */
      reason: string;
      /** The store's own error, for the audit log only (it may name internal hosts). */
      storeError?: string;
    };

export interface RateLimiterOptions {
  settings: RateLimitSettings | undefined;
  /** The caller's own entry's rate limits (from the principal policy), if any. */
  principalLimits?: (p: Principal) => PrincipalRateLimits | undefined;
  store?: LimitStore;
  /** How long the store may take before the request counts as a store error; default 250 ms. */
  storeTimeoutMs?: number;
  /**
   * Told when the store starts failing (with its error) and when it answers again (undefined): once
   * per change, not per request, so an outage cannot flood a log.
   */
  onStoreHealth?: (error: string | undefined) => void;
}

export type OnStoreError = NonNullable<RateLimitSettings["onStoreError"]>;

export const DEFAULT_STORE_TIMEOUT_MS = 250;
const SETTINGS = "remote.rateLimits";
const DEFAULT_PRINCIPAL_SOURCE = "principals[…]";

interface Limit {
  rate: BucketRate;
  text: string;
  /** The setting's path. */
  path: string;
}

interface ToolLimit extends Limit {
  glob: Glob;
}

interface Planned extends Limit {
  key: string;
  /** "per caller", "across all callers", ... */
  scope: string;
}

export class RateLimiter {
  private readonly global: Limit | undefined;
  private readonly perPrincipal: Limit | undefined;
  private readonly perTool: readonly ToolLimit[];
  private readonly perServer: ReadonlyMap<string, Limit>;
  private readonly onStoreError: OnStoreError;
  /** onStoreError "local": this process's buckets, used only while the store fails. */
  private readonly localStore: LimitStore | undefined;
  private readonly onStoreHealth: ((error: string | undefined) => void) | undefined;
  private storeFailing = false;
  private readonly principalLimits: ((p: Principal) => PrincipalRateLimits | undefined) | undefined;
  private readonly store: LimitStore;
  private readonly storeTimeoutMs: number;
  /** Parsed rates and globs of principal entries, which arrive per request (bounded: they come from settings). */
  private readonly rateCache = new Map<string, BucketRate>();
  private readonly globCache = new Map<string, Glob>();

  /** Throws RateError naming the setting when a rate is invalid. */
  constructor(options: RateLimiterOptions) {
    const s = options.settings ?? {};
    this.global = s.global !== undefined ? limit(s.global, `${SETTINGS}.global`) : undefined;
    this.perPrincipal = s.perPrincipal !== undefined ? limit(s.perPrincipal, `${SETTINGS}.perPrincipal`) : undefined;
    this.perTool = Object.entries(s.perTool ?? {}).map(([pattern, text]) => ({ ...limit(text, `${SETTINGS}.perTool[${JSON.stringify(pattern)}]`), glob: new Glob(fold(pattern)) }));
    this.perServer = new Map(Object.entries(s.perServer ?? {}).map(([name, text]) => [name, limit(text, `${SETTINGS}.perServer[${JSON.stringify(name)}]`)]));
    this.onStoreError = s.onStoreError ?? "deny";
    this.localStore = this.onStoreError === "local" ? new MemoryLimitStore() : undefined;
    this.onStoreHealth = options.onStoreHealth;
    this.principalLimits = options.principalLimits;
    this.store = options.store ?? new MemoryLimitStore();
    this.storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  }

  /** Whether any limit may apply (principal entries count: they are only known per request). */
  get active(): boolean {
    return this.global !== undefined || this.perPrincipal !== undefined || this.perTool.length > 0 || this.perServer.size > 0 || this.principalLimits !== undefined;
  }

  /** Takes one token from every bucket that applies, or refuses. Never throws. */
  async check(request: LimitRequest, nowMs: number = Date.now()): Promise<LimitResult> {
    let planned: Planned[];
    try {
      planned = this.plan(request);
    } catch (error) {
      // A broken principal entry: refuse rather than let the caller through unmetered.
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, retryAfterSeconds: 60, limit: SETTINGS, reason: `mcp-warden cannot apply its rate limits (${message}); tell the operator to fix the settings` };
    }
    if (planned.length === 0) return { ok: true };

    const buckets = planned.map((p) => ({ key: p.key, capacity: p.rate.capacity, refillPerMs: p.rate.refillPerMs }));
    let result: TakeResult;
    let storeError: string | undefined;
    try {
      result = await this.takeWithin(this.store, buckets, nowMs);
      if (!isTakeResult(result)) throw new Error("the limit store gave a malformed answer");
      this.noteStoreHealth(undefined);
    } catch (error) {
      storeError = error instanceof Error ? error.message : String(error);
      this.noteStoreHealth(storeError);
      if (this.onStoreError === "allow") return { ok: true, storeError };
      const refusal = {
        ok: false as const,
        retryAfterSeconds: 1,
        limit: `${SETTINGS}.onStoreError`,
        reason: `the rate-limit store is unreachable and remote.rateLimits.onStoreError is "${this.onStoreError}", so mcp-warden refuses calls until it answers again; retry shortly, or tell the operator if this persists`,
        storeError,
      };
      if (!this.localStore) return refusal;
      try {
        result = await this.takeWithin(this.localStore, buckets, nowMs);
        if (!isTakeResult(result)) return refusal;
      } catch {
        return refusal;
      }
    }
    if (result.ok) return storeError !== undefined ? { ok: true, storeError } : { ok: true };
    const refused = planned.find((p) => p.key === result.bucket);
    // Capped at a day: a store that answers with an absurd wait must not make the header absurd.
    const retryAfterSeconds = Math.min(86_400, Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    if (!refused) {
      // The store named a bucket that was not asked for: it is broken, and a refusal is the safe reading.
      return { ok: false, retryAfterSeconds, limit: SETTINGS, reason: `rate limit reached; retry in ${retryAfterSeconds} s` };
    }
    const local = storeError !== undefined ? " (this replica's own count while the shared rate-limit store is unreachable)" : "";
    return {
      ok: false,
      retryAfterSeconds,
      limit: refused.path,
      reason: `rate limit reached: ${refused.path} allows ${refused.text} ${refused.scope}${local}; retry in ${retryAfterSeconds} s`,
      ...(storeError !== undefined ? { storeError } : {}),
    };
  }

  /** Reports a change between a working and a failing store, once per change. */
  private noteStoreHealth(error: string | undefined): void {
    const failing = error !== undefined;
    if (failing === this.storeFailing) return;
    this.storeFailing = failing;
    try {
      this.onStoreHealth?.(error);
    } catch {
      // A reporting failure must not change the answer.
    }
  }

  /** The buckets a request takes from, in a fixed order: global, server, principal, tool. */
  private plan(request: LimitRequest): Planned[] {
    const own = this.principalLimits?.(request.principal);
    const source = own?.source ?? DEFAULT_PRINCIPAL_SOURCE;
    const who = [request.principal.method, request.principal.issuer ?? "", request.principal.subject];
    const out: Planned[] = [];
    if (this.global) out.push({ ...this.global, key: "global", scope: "across all callers" });
    if (request.server !== undefined) {
      const server = this.perServer.get(request.server) ?? this.perServer.get("*");
      if (server) out.push({ ...server, key: `server:${JSON.stringify(request.server)}`, scope: `for server '${request.server}' across all callers` });
    }
    const principal = own?.perPrincipal !== undefined ? this.cachedLimit(own.perPrincipal, `${source}.rateLimits.perPrincipal`) : this.perPrincipal;
    if (principal) out.push({ ...principal, key: `principal:${JSON.stringify(who)}`, scope: "per caller" });
    if (request.method === "tools/call" && request.tool !== undefined) {
      const tool = this.toolLimit(request.tool, own, source);
      if (tool) out.push({ ...tool, key: `tool:${JSON.stringify([...who, request.tool])}`, scope: "per caller and tool" });
    }
    return out;
  }

  /** The first perTool entry whose glob matches: the caller's own entry first, then remote.rateLimits. */
  private toolLimit(tool: string, own: PrincipalRateLimits | undefined, source: string): Limit | undefined {
    const folded = fold(tool);
    for (const [pattern, text] of Object.entries(own?.perTool ?? {})) {
      if (this.cachedGlob(pattern).test(folded)) return this.cachedLimit(text, `${source}.rateLimits.perTool[${JSON.stringify(pattern)}]`);
    }
    return this.perTool.find((t) => t.glob.test(folded));
  }

  private cachedLimit(text: string, path: string): Limit {
    let rate = this.rateCache.get(text);
    if (!rate) {
      rate = limit(text, path).rate;
      if (this.rateCache.size >= 1000) this.rateCache.clear();
      this.rateCache.set(text, rate);
    }
    return { rate, text, path };
  }

  private cachedGlob(pattern: string): Glob {
    let glob = this.globCache.get(pattern);
    if (!glob) {
      glob = new Glob(fold(pattern));
      if (this.globCache.size >= 1000) this.globCache.clear();
      this.globCache.set(pattern, glob);
    }
    return glob;
  }

  /** The store's answer, or a rejection when it throws or takes longer than the bound. */
  private takeWithin(store: LimitStore, buckets: BucketSpec[], nowMs: number): Promise<TakeResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // Not unref'd: while a request waits on the store, this timer is what ends the wait.
      timer = setTimeout(() => reject(new Error(`the limit store did not answer within ${this.storeTimeoutMs} ms`)), this.storeTimeoutMs);
    });
    // new Promise: a store that throws synchronously is a rejection too.
    const taken = new Promise<TakeResult>((resolve, reject) => {
      store.take(buckets, nowMs).then(resolve, reject);
    });
    return Promise.race([taken, timeout]).finally(() => clearTimeout(timer));
  }
}

function limit(text: string, path: string): Limit {
  try {
    return { rate: parseRate(text), text, path };
  } catch (error) {
    throw new RateError(`${path}: ${(error as Error).message}`);
  }
}

/** A store's answer as the contract says; anything else counts as a store error. */
function isTakeResult(r: unknown): r is TakeResult {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  if (o.ok === true) return true;
  return o.ok === false && typeof o.bucket === "string" && typeof o.retryAfterMs === "number" && o.retryAfterMs >= 0 && !Number.isNaN(o.retryAfterMs);
}
