// How many failed authentications per source address are audited: N per minute (default 20), the
// rest counted, so a flood of bad tokens cannot fill the audit log while each source still leaves
// a trace. The front writes the counts of the suppressed ones as a record of their own (drain()).

export interface FailureBudgetOptions {
  /** Audited failures per source per minute (default 20). */
  perMinute?: number;
  /** Sources tracked at once (default 10000); past that, new sources share one budget. */
  maxSources?: number;
  now?: () => number;
}

const WINDOW_MS = 60_000;
/** The shared budget of sources beyond maxSources. */
export const OVERFLOW_SOURCE = "(other sources)";

export class FailureBudget {
  private readonly perMinute: number;
  private readonly maxSources: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, { start: number; used: number }>();
  private readonly pending = new Map<string, number>();
  private total = 0;

  constructor(opts: FailureBudgetOptions = {}) {
    this.perMinute = opts.perMinute ?? 20;
    this.maxSources = opts.maxSources ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** True: audit this failure. False: it is over the source's budget, and counted instead. */
  take(source: string): boolean {
    const now = this.now();
    let key = source;
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= this.maxSources) this.evictExpired(now);
      if (this.windows.size >= this.maxSources) key = OVERFLOW_SOURCE;
      w = this.windows.get(key);
      if (w === undefined) {
        w = { start: now, used: 0 };
        this.windows.set(key, w);
      }
    }
    if (now - w.start >= WINDOW_MS) {
      w.start = now;
      w.used = 0;
    }
    if (w.used < this.perMinute) {
      w.used++;
      return true;
    }
    this.total++;
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    return false;
  }

  /** Failures not audited since the start. */
  get suppressedTotal(): number {
    return this.total;
  }

  /** The failures not audited since the last drain, by source; the counts start again from zero. */
  drain(): { source: string; count: number }[] {
    const out = [...this.pending].map(([source, count]) => ({ source, count }));
    this.pending.clear();
    return out;
  }

  private evictExpired(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(k);
  }
}
