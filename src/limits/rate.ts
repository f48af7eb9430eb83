// A rate ("600/min", "10/s", "5000/hour") as a token bucket: `count` tokens of burst, refilled evenly
// over the period. Pure: no I/O.

export interface BucketRate {
  /** The burst: a full bucket holds this many tokens. */
  readonly capacity: number;
  /** Tokens added per millisecond (capacity / period). */
  readonly refillPerMs: number;
}

const PERIOD_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

const RATE = /^\s*(\d+)\s*\/\s*([a-z]+)\s*$/;
/** Far above any sensible limit; keeps token arithmetic exact in doubles. */
const MAX_COUNT = 1_000_000_000;

/** Thrown for a rate that is not `<count>/<s|min|hour>` with 1 <= count <= 1e9. */
export class RateError extends Error {}

/**
 * Parses a rate. The settings schema validates the shape already; this is defensive, and also
 * refuses "0/min" (a bucket that never holds a token is a deny rule in disguise: write a deny rule).
 */
export function parseRate(text: string): BucketRate {
  const m = typeof text === "string" ? RATE.exec(text) : null;
  const period = m ? PERIOD_MS[m[2] as string] : undefined;
  if (!m || period === undefined) throw new RateError(`"${String(text)}" is not a rate: write "<count>/<s|min|hour>", e.g. "600/min"`);
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new RateError(`"${text}": the count must be between 1 and ${MAX_COUNT} (to refuse every call, use a deny rule)`);
  }
  return Object.freeze({ capacity: count, refillPerMs: count / period });
}
