// Where token buckets live. The contract: one `take` over several buckets, all-or-nothing.
// MemoryLimitStore is the single-process one; redis-store.ts shares buckets between replicas.

export interface BucketSpec {
  /** Identifies the bucket across calls (the limiter builds it; opaque to the store). */
  readonly key: string;
  /** Tokens a full bucket holds (the burst). */
  readonly capacity: number;
  /** Tokens added per millisecond, up to capacity. */
  readonly refillPerMs: number;
  /** Tokens this request takes from the bucket; default 1. */
  readonly cost?: number;
}

export type TakeResult = { ok: true } | { ok: false; /** key of the first refusing bucket, in the order given */ bucket: string; retryAfterMs: number };

export interface LimitStore {
  /**
   * Takes `cost` tokens from every bucket, or from none: when any bucket holds too few, nothing is
   * consumed (and no bucket is created) and the first refusing bucket is named, with how long until it
   * holds enough. A bucket never seen is full. Rejects when it cannot answer; the caller then decides
   * (fail closed by default).
   */
  take(buckets: readonly BucketSpec[], nowMs: number): Promise<TakeResult>;
}

/**
 * The buckets of one take, checked and keyed: the same key twice takes the sum of both costs from that
 * one bucket. Throws RangeError for a bucket that is not positive and finite or can never hold its cost.
 * Insertion order is the order given, so "the first refusing bucket" is well defined.
 */
export function mergeBuckets(specs: readonly BucketSpec[]): Map<string, { spec: BucketSpec; cost: number }> {
  const wanted = new Map<string, { spec: BucketSpec; cost: number }>();
  for (const spec of specs) {
    const cost = spec.cost ?? 1;
    if (!(spec.capacity > 0 && Number.isFinite(spec.capacity) && spec.refillPerMs > 0 && Number.isFinite(spec.refillPerMs) && cost > 0 && Number.isFinite(cost))) {
      throw new RangeError(`invalid bucket ${JSON.stringify(spec.key)}: capacity, refill and cost must be positive and finite`);
    }
    const seen = wanted.get(spec.key);
    if (seen) seen.cost += cost;
    else wanted.set(spec.key, { spec, cost });
  }
  for (const [key, { spec, cost }] of wanted) {
    if (cost > spec.capacity) throw new RangeError(`bucket ${JSON.stringify(key)} can never hold ${cost} tokens (capacity ${spec.capacity})`);
  }
  return wanted;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed. Never moves backwards (a clock step back refills nothing). */
  atMs: number;
  capacity: number;
  refillPerMs: number;
}

/** Tolerance for the float arithmetic of refills: a token due at exactly t is there at t. */
const EPSILON = 1e-9;

/** Default bound on buckets kept: ~100 bytes each plus the key, so tens of MB at most. */
export const DEFAULT_MAX_BUCKETS = 100_000;

/** In-process buckets, bounded in number so that a flood of distinct keys cannot grow memory. */
export class MemoryLimitStore implements LimitStore {
  /** Insertion order is recency: a bucket is re-inserted when used, so the first entries are the least recent. */
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxBuckets: number;

  constructor(options: { maxBuckets?: number } = {}) {
    const max = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    if (!Number.isSafeInteger(max) || max < 10) throw new RangeError(`maxBuckets must be an integer >= 10 (got ${max})`);
    this.maxBuckets = max;
  }

  /** How many buckets are held now. */
  get size(): number {
    return this.buckets.size;
  }

  take(buckets: readonly BucketSpec[], nowMs: number): Promise<TakeResult> {
    // Synchronous inside: no other take interleaves between the check and the consumption.
    try {
      return Promise.resolve(this.takeNow(buckets, nowMs));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private takeNow(specs: readonly BucketSpec[], nowMs: number): TakeResult {
    if (!Number.isFinite(nowMs)) throw new RangeError("the limit store needs a finite time");
    const wanted = mergeBuckets(specs);

    const levels: number[] = [];
    for (const [key, { spec, cost }] of wanted) {
      const level = this.levelOf(this.buckets.get(key), spec, nowMs);
      if (level + EPSILON < cost) return { ok: false, bucket: key, retryAfterMs: Math.ceil((cost - level) / spec.refillPerMs) };
      levels.push(level);
    }

    let i = 0;
    for (const [key, { spec, cost }] of wanted) {
      const old = this.buckets.get(key);
      this.buckets.delete(key); // re-inserted below: most recent
      this.buckets.set(key, { tokens: (levels[i++] as number) - cost, atMs: Math.max(nowMs, old?.atMs ?? nowMs), capacity: spec.capacity, refillPerMs: spec.refillPerMs });
    }
    if (this.buckets.size > this.maxBuckets) this.evict(nowMs);
    return { ok: true };
  }

  /** Tokens in a bucket at `nowMs`, under the rate given now (a smaller new capacity caps it). */
  private levelOf(bucket: Bucket | undefined, spec: BucketSpec, nowMs: number): number {
    if (!bucket) return spec.capacity;
    const elapsed = Math.max(0, nowMs - bucket.atMs);
    return Math.min(spec.capacity, bucket.tokens + elapsed * spec.refillPerMs);
  }

  /**
   * Brings the count down to 90% of the bound: first every bucket that has refilled to full (dropping
   * it loses nothing: an unknown bucket is full), then the least recently used. Sweeping to 90% makes
   * the O(n) pass happen once per n/10 new buckets.
   */
  private evict(nowMs: number): void {
    const target = Math.floor(this.maxBuckets * 0.9);
    for (const [key, b] of this.buckets) {
      if (b.tokens + Math.max(0, nowMs - b.atMs) * b.refillPerMs + EPSILON >= b.capacity) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(key);
    }
  }
}
