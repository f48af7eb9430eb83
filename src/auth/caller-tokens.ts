// Remote mode: each OIDC caller's latest verified access token, kept only so that token exchange
// (token-exchange.ts) can trade it for an upstream's credential. In memory only, never written,
// logged or audited; a token is dropped at its expiry, and the map is bounded.

interface Held {
  token: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export class CallerTokens {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly maxCallers = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keeps `token` as `owner`'s latest (a token without an expiry is not kept: it could never be dropped). */
  remember(owner: string, token: string, expiresAt: number | undefined): void {
    const nowSeconds = this.now() / 1000;
    if (expiresAt === undefined || expiresAt <= nowSeconds) return;
    // Re-inserted, so the map's order is least recently seen first.
    this.held.delete(owner);
    if (this.held.size >= this.maxCallers) {
      for (const [k, v] of this.held) if (v.expiresAt <= nowSeconds) this.held.delete(k);
      while (this.held.size >= this.maxCallers) this.held.delete(this.held.keys().next().value!);
    }
    this.held.set(owner, { token, expiresAt });
  }

  /** `owner`'s latest token while it is valid; undefined once it has expired (and it is dropped then). */
  current(owner: string): string | undefined {
    const held = this.held.get(owner);
    if (!held) return undefined;
    if (held.expiresAt <= this.now() / 1000) {
      this.held.delete(owner);
      return undefined;
    }
    return held.token;
  }

  get size(): number {
    return this.held.size;
  }
}
