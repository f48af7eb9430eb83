// Bounded tallies for the incident report: a log of any size reduces to lists of at most `cap`
// distinct keys. A key that arrives when a list is full is not kept; it is counted, so the report
// can say how much it left out rather than pretend the list is complete.

export class BoundedMap<V> {
  readonly #items = new Map<string, V>();
  /** Occurrences of keys that were not kept because the list was full. */
  omittedHits = 0;
  readonly #omittedKeys = new Set<string>();
  #omittedUncounted = false;
  /** Distinct keys not kept, counted up to 10 × cap (a set of them is itself bounded). */
  get omittedKeys(): number {
    return this.#omittedKeys.size;
  }
  /** More distinct keys were left out than omittedKeys counts. */
  get omittedAtLeast(): boolean {
    return this.#omittedUncounted;
  }

  constructor(readonly cap: number) {}

  /** The value under `key`, created by `make` when there is room; undefined when the list is full. */
  get(key: string, make: () => V): V | undefined {
    const found = this.#items.get(key);
    if (found !== undefined) return found;
    if (this.#items.size >= this.cap) {
      this.omittedHits++;
      if (this.#omittedKeys.size < this.cap * 10) this.#omittedKeys.add(key);
      else if (!this.#omittedKeys.has(key)) this.#omittedUncounted = true;
      return undefined;
    }
    const v = make();
    this.#items.set(key, v);
    return v;
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  get size(): number {
    return this.#items.size;
  }

  entries(): IterableIterator<[string, V]> {
    return this.#items.entries();
  }

  values(): IterableIterator<V> {
    return this.#items.values();
  }
}

/** Counts per key, at most `cap` keys. */
export class BoundedCounter {
  readonly map: BoundedMap<{ n: number }>;
  constructor(cap: number) {
    this.map = new BoundedMap(cap);
  }
  add(key: string, by = 1): void {
    const c = this.map.get(key, () => ({ n: 0 }));
    if (c) c.n += by;
  }
  /** Most frequent first, then by key. */
  sorted(): { key: string; count: number }[] {
    return [...this.map.entries()].map(([key, c]) => ({ key, count: c.n })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  get omitted(): number {
    return this.map.omittedKeys;
  }
  get omittedAtLeast(): boolean {
    return this.map.omittedAtLeast;
  }
}

/** A set of at most `cap` members; `total` counts distinct members seen up to 10 × cap. */
export class BoundedSet {
  readonly #kept = new Set<string>();
  readonly #overflow = new Set<string>();
  constructor(readonly cap: number) {}
  add(v: string): void {
    if (this.#kept.has(v)) return;
    if (this.#kept.size < this.cap) this.#kept.add(v);
    else if (this.#overflow.size < this.cap * 10) this.#overflow.add(v);
  }
  has(v: string): boolean {
    return this.#kept.has(v);
  }
  get size(): number {
    return this.#kept.size + this.#overflow.size;
  }
  values(): string[] {
    return [...this.#kept].sort();
  }
  get omitted(): number {
    return this.#overflow.size;
  }
}
