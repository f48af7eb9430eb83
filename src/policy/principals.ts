// Per-principal policy (remote mode): the layers' rules plus those of every `principals` entry the
// caller matches. Pure: no I/O.
//
// - Selectors (principalSelectors in principal.ts): `*` (any authenticated caller, never the local
//   stdio user), `org:<id>`, `group:<name>`, `client:<client id>`, `user:<subject>`. They match
//   exactly, case included: IdP subjects, client ids and group ids are case-sensitive.
// - The effective rules are concatenated, so the engine's order holds across all of them: deny
//   anywhere wins (a principal allow never beats a layer's deny, managed or not), then ask, then
//   allow; unmatched asks. An entry's autoApproveTools join the autoApprove list for that caller.
// - One CompiledPolicy per distinct set of matched entries, compiled at first use and kept in a
//   bounded LRU: which entries match is attacker-influenced (a token's groups claim), so the number
//   of sets is bounded here rather than trusted. A caller matching no entry with rules gets the base
//   policy object itself.
// - Rate limits: see rateLimitsFor.
import { compilePolicy, type CompiledPolicy } from "./engine.js";
import type { PolicyEnvironment } from "./builtin/index.js";
import { principalSelectors, type Principal } from "./principal.js";
import { PolicyError } from "./rules.js";
import type { PolicyInput, Source, Sourced, Verdict } from "./types.js";
import type { ResolvedSettings } from "../settings/resolve.js";

/** One selector's entry, merged across layers: each rule keeps its file and JSON path. */
export interface PrincipalRules {
  allow: Sourced<string>[];
  ask: Sourced<string>[];
  deny: Sourced<string>[];
  autoApprove: Sourced<string>[];
  rateLimits: {
    /** Rate such as "600/min" for all of this caller's calls. */
    perPrincipal?: Sourced<string>;
    /** Per canonical tool name or glob. */
    perTool: Record<string, Sourced<string>>;
  };
}

/** The resolved `principals` setting: selector → merged entry. */
export type PrincipalRulesBySelector = Readonly<Record<string, PrincipalRules>>;

/** A rate that applies to a caller, with the selector and setting it came from. */
export interface AppliedRate {
  rate: string;
  selector: string;
  source: Source;
}

export interface PrincipalRateLimits {
  perPrincipal?: AppliedRate;
  perTool: Readonly<Record<string, AppliedRate>>;
}

export interface PrincipalPolicies {
  /** The base policy: the layers' rules alone. */
  readonly base: CompiledPolicy;
  /** The policy for this caller. Never throws: a policy that cannot be built denies everything. */
  forPrincipal(p: Principal): CompiledPolicy;
  /**
   * The rate limits of the entries this caller matches. Per field (`perPrincipal`, and each
   * `perTool` key) the most specific selector wins: user > client > group > org > `*`. Between
   * entries equally specific (two groups), the lower rate wins. Throws a TypeError for a malformed
   * principal (groups not a list): the caller refuses that request.
   */
  rateLimitsFor(p: Principal): PrincipalRateLimits;
  /** Policies compiled and cached now (at most the cache limit). */
  readonly cachedPolicies: number;
}

/** A `principals` key: `*` or `user:`, `group:`, `client:`, `org:` and a non-empty name (as the schema says). */
export const PRINCIPAL_SELECTOR = /^(\*|(user|group|client|org):.+)$/;

export const DEFAULT_POLICY_CACHE_LIMIT = 1000;

/** Most specific last: the order rate limits are applied in (a later one overrides). */
const SPECIFICITY = ["*", "org", "group", "client", "user"] as const;
const kindOf = (selector: string) => (selector === "*" ? "*" : selector.slice(0, selector.indexOf(":")));
const specificity = (selector: string) => SPECIFICITY.indexOf(kindOf(selector) as (typeof SPECIFICITY)[number]);

const RATE = /^\s*(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/;
const PERIOD_SECONDS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

/** "600/min" → 600 tokens per 60 s; undefined when it does not parse (the schema rejects such values). */
export function parseRate(rate: string): { tokens: number; seconds: number } | undefined {
  const m = RATE.exec(rate);
  if (!m) return undefined;
  return { tokens: Number(m[1]), seconds: PERIOD_SECONDS[m[2]!]! };
}

/** Lower means stricter; a rate that does not parse counts as the strictest (0), never as unlimited. */
function perSecond(rate: string): number {
  const r = parseRate(rate);
  return r === undefined ? 0 : r.tokens / r.seconds;
}

const NO_LIMITS: PrincipalRateLimits = Object.freeze({ perTool: Object.freeze({}) });

/** A policy that refuses everything, for a principal whose policy cannot be built (fail closed). */
function denyAll(reason: string): CompiledPolicy {
  const v: Verdict = Object.freeze({ decision: "deny", reason });
  return { decideTool: () => v, decideServer: () => v, decideServerItems: () => v, ruleCount: 0, fileJudge: undefined };
}

const hasRules = (e: PrincipalRules) => e.allow.length + e.ask.length + e.deny.length + e.autoApprove.length > 0;

function withEntries(base: PolicyInput, entries: readonly PrincipalRules[]): PolicyInput {
  return {
    ...base,
    allow: [...base.allow, ...entries.flatMap((e) => e.allow)],
    ask: [...base.ask, ...entries.flatMap((e) => e.ask)],
    deny: [...base.deny, ...entries.flatMap((e) => e.deny)],
    autoApprove: [...base.autoApprove, ...entries.flatMap((e) => e.autoApprove)],
  };
}

interface Options {
  env?: PolicyEnvironment;
  /** The base policy compiled already (the gateway's): reused instead of compiled again. */
  base?: CompiledPolicy;
  /** Most distinct policies kept at once (default 1000). */
  cacheLimit?: number;
}

/**
 * Compiles the per-principal policies. Every rule of every entry is compiled once here, so a bad
 * one is a PolicyError naming its file and JSON path when settings load, not at some caller's first
 * request; so is a selector the schema would refuse.
 */
export function compilePrincipalRules(base: PolicyInput, principals: PrincipalRulesBySelector, opts: Options = {}): PrincipalPolicies {
  return new Policies(base, principals, opts);
}

/** The same for resolved settings (the gateway, `check`). */
export function compilePrincipalPolicies(settings: Pick<ResolvedSettings, "policy" | "principals">, env?: PolicyEnvironment, base?: CompiledPolicy): PrincipalPolicies {
  const opts: Options = {};
  if (env !== undefined) opts.env = env;
  if (base !== undefined) opts.base = base;
  return new Policies(settings.policy, settings.principals, opts);
}

class Policies implements PrincipalPolicies {
  readonly base: CompiledPolicy;
  private readonly entries = new Map<string, PrincipalRules>();
  /** Selectors whose entry has rules, in a fixed order: the cache key of a set of them is canonical. */
  private readonly order = new Map<string, number>();
  private readonly cache = new Map<string, CompiledPolicy>();
  private readonly limit: number;

  constructor(
    private readonly input: PolicyInput,
    principals: PrincipalRulesBySelector,
    private readonly opts: Options,
  ) {
    this.limit = Math.max(1, opts.cacheLimit ?? DEFAULT_POLICY_CACHE_LIMIT);
    for (const [selector, entry] of Object.entries(principals ?? {})) {
      if (!PRINCIPAL_SELECTOR.test(selector))
        throw new PolicyError(
          `invalid principals key ${JSON.stringify(selector)}: a principal is "user:<subject>", "group:<name>", "client:<client id>", "org:<id>" or "*"`,
          { problem: "invalid principal selector" },
        );
      this.entries.set(selector, entry);
      if (hasRules(entry)) this.order.set(selector, this.order.size);
    }
    this.base = opts.base ?? compilePolicy(input, opts.env);
    // Every entry's rules at once: the engine reports every bad rule with its source.
    if (this.order.size > 0) compilePolicy(withEntries(input, [...this.order.keys()].map((s) => this.entries.get(s)!)), opts.env);
  }

  get cachedPolicies(): number {
    return this.cache.size;
  }

  /** The configured selectors this principal matches, in configuration order. */
  private matched(p: Principal, withRules: boolean): string[] {
    const out: string[] = [];
    for (const s of principalSelectors(p)) if (withRules ? this.order.has(s) : this.entries.has(s)) out.push(s);
    if (withRules) out.sort((a, b) => this.order.get(a)! - this.order.get(b)!);
    return out;
  }

  forPrincipal(p: Principal): CompiledPolicy {
    let matched: string[];
    try {
      matched = this.order.size === 0 ? [] : this.matched(p, true);
    } catch {
      return denyAll("the caller's identity is malformed, so no policy applies to it");
    }
    if (matched.length === 0) return this.base;
    // Selectors cannot hold a newline (the schema's pattern), but JSON keeps the key unambiguous anyway.
    const key = JSON.stringify(matched);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      // Most recently used last, so eviction takes the least recently used.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    let policy: CompiledPolicy;
    try {
      policy = compilePolicy(withEntries(this.input, matched.map((s) => this.entries.get(s)!)), this.opts.env);
    } catch (e) {
      // Validated at construction, so this is not expected; whatever it is, it must not allow.
      return denyAll(`the policy for this caller cannot be built: ${(e as Error).message}`);
    }
    this.cache.set(key, policy);
    if (this.cache.size > this.limit) this.cache.delete(this.cache.keys().next().value!);
    return policy;
  }

  rateLimitsFor(p: Principal): PrincipalRateLimits {
    if (this.entries.size === 0) return NO_LIMITS;
    const matched = this.matched(p, false).sort((a, b) => specificity(a) - specificity(b));
    let perPrincipal: AppliedRate | undefined;
    const perTool: Record<string, AppliedRate> = Object.create(null);
    const wins = (now: AppliedRate | undefined, next: AppliedRate) =>
      now === undefined || specificity(next.selector) > specificity(now.selector) || perSecond(next.rate) < perSecond(now.rate);
    for (const selector of matched) {
      const limits = this.entries.get(selector)!.rateLimits;
      if (limits.perPrincipal !== undefined) {
        const next = { rate: limits.perPrincipal.value, selector, source: limits.perPrincipal.source };
        if (wins(perPrincipal, next)) perPrincipal = next;
      }
      for (const [tool, rate] of Object.entries(limits.perTool)) {
        const next = { rate: rate.value, selector, source: rate.source };
        if (wins(perTool[tool], next)) perTool[tool] = next;
      }
    }
    if (perPrincipal === undefined && Object.keys(perTool).length === 0) return NO_LIMITS;
    return perPrincipal === undefined ? { perTool } : { perPrincipal, perTool };
  }
}
