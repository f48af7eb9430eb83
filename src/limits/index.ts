// Rate limits for remote mode: token buckets, all-or-nothing, failing closed.
export { parseRate, RateError, type BucketRate } from "./rate.js";
export { DEFAULT_MAX_BUCKETS, MemoryLimitStore, type BucketSpec, type LimitStore, type TakeResult } from "./store.js";
export { DEFAULT_REDIS_KEY_PREFIX, RedisLimitStore, type RedisLimitStoreOptions, type RedisScriptClient } from "./redis-store.js";
export { DEFAULT_STORE_TIMEOUT_MS, RateLimiter, type LimitRequest, type LimitResult, type OnStoreError, type PrincipalRateLimits, type RateLimiterOptions, type RateLimitSettings } from "./limiter.js";
