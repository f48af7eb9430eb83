// Globs for tool names, server commands and URLs: `*` matches any run of characters (including none),
// every other character is literal. Pure: no I/O.
//
// Deliberately not picomatch: its path semantics make `*` stop at `/` (and treat `?`, `[`, `{` as
// syntax), so a deny rule `mcp__*__delete*` would silently miss a tool whose name contains `/`.
// A deny that misses is a bypass; here `*` crosses every character.
//
// Matching never backtracks: a glob is a list of literal segments, and `lit0*lit1*…*litN` matches when
// the text starts with lit0, ends with litN and holds lit1…litN-1 in order in between. Taking the
// leftmost occurrence of each middle segment is always optimal, so one indexOf per segment decides.
// A `.*` regex would backtrack polynomially (`*a*a*a*a*b` against a long run of `a`s), letting a
// client stall the gateway with a crafted tool name.
//
// Many globs: one combined alternation RegExp was measured first and rejected: over 100 globs of the
// `mcp__*__drop_x*` kind V8 needs ~12 µs per test (each alternative is tried, each `.*` backtracks),
// and ~6 µs in a backtracking-safe form. Instead every glob has a key, a literal that any matching text
// must contain; one Aho–Corasick pass over the text finds which keys occur (cost: the text's length,
// whatever the number of globs) and only the globs owning those keys are tested.

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Case folding for the case-insensitive comparisons (deny/ask rules, denyTools, deniedMcpServers).
 * Upper then lower so that `ß`/`SS`, `ς`/`σ`/`Σ` and `ſ`/`s` fold alike: a deny must not miss a
 * spelling that a case-insensitive upstream would treat as the same name. No character folds to
 * or from `_` or `*`, so folding keeps the `__` separators of a name and the stars of a pattern.
 */
export function fold(s: string): string {
  // For ASCII, lower-casing alone is the same fold, at half the cost.
  return NON_ASCII.test(s) ? s.toUpperCase().toLowerCase() : s.toLowerCase();
}

export class Glob {
  readonly pattern: string;
  /** The literal pieces between stars; consecutive stars count as one. Length 1: no star. */
  private readonly segments: readonly string[];
  /** Sum of the segment lengths: no shorter text can match. */
  private readonly minLength: number;

  constructor(pattern: string) {
    this.pattern = pattern;
    this.segments = pattern.split(/\*+/);
    let min = 0;
    for (const s of this.segments) min += s.length;
    this.minLength = min;
  }

  get isLiteral(): boolean {
    return this.segments.length === 1;
  }

  /** True when the pattern is only stars: it matches every string. */
  get matchesAll(): boolean {
    return this.segments.length > 1 && this.minLength === 0;
  }

  test(s: string): boolean {
    const segs = this.segments;
    const n = segs.length;
    const first = segs[0] as string;
    if (n === 1) return s === first;
    if (s.length < this.minLength) return false;
    const last = segs[n - 1] as string;
    if (!s.startsWith(first) || !s.endsWith(last)) return false;
    let pos = first.length;
    // Middle segments must fit between the prefix and the suffix, without overlapping either.
    const end = s.length - last.length;
    for (let i = 1; i < n - 1; i++) {
      const seg = segs[i] as string;
      const at = s.indexOf(seg, pos);
      if (at < 0 || at + seg.length > end) return false;
      pos = at + seg.length;
    }
    return true;
  }

  /** The literal pieces between the stars. */
  get literals(): readonly string[] {
    return this.segments;
  }
}

/** Keys longer than this are cut: any piece of a required literal is required too, and short keys keep the automaton small. */
const MAX_KEY = 12;
/** Largest transition table (states × alphabet) built; beyond it a list is scanned glob by glob. */
const MAX_CELLS = 4_000_000;
/** Below this many globs a plain scan is as fast as the automaton. */
const INDEX_AT = 8;

/**
 * Aho–Corasick automaton over a set of literal keys, as a dense transition table over the characters
 * (UTF-16 code units) that occur in the keys; any other character leads back to the root.
 */
class KeyAutomaton {
  private readonly asciiClass = new Uint16Array(128);
  private readonly otherClass = new Map<number, number>();
  private readonly width: number;
  private readonly delta: Int32Array;
  /** Keys ending at each state, including those reached through failure links. */
  private readonly outputs: (Int32Array | undefined)[];

  /** undefined when the table would exceed MAX_CELLS. */
  static build(keys: readonly string[]): KeyAutomaton | undefined {
    const classes = new Map<number, number>();
    let states = 1;
    for (const k of keys) {
      states += k.length;
      for (let i = 0; i < k.length; i++) {
        const c = k.charCodeAt(i);
        if (!classes.has(c)) classes.set(c, classes.size + 1);
      }
    }
    if (states * (classes.size + 1) > MAX_CELLS) return undefined;
    return new KeyAutomaton(keys, classes);
  }

  private constructor(keys: readonly string[], classes: Map<number, number>) {
    this.width = classes.size + 1; // class 0: a character in no key
    for (const [c, cls] of classes) {
      if (c < 128) this.asciiClass[c] = cls;
      else this.otherClass.set(c, cls);
    }
    const width = this.width;

    // The trie.
    const children: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    keys.forEach((k, id) => {
      let node = 0;
      for (let i = 0; i < k.length; i++) {
        const cls = classes.get(k.charCodeAt(i)) as number;
        let next = (children[node] as Map<number, number>).get(cls);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          own.push([]);
          (children[node] as Map<number, number>).set(cls, next);
        }
        node = next;
      }
      (own[node] as number[]).push(id);
    });

    // Breadth first: failure links and the full transition table.
    const n = children.length;
    const delta = new Int32Array(n * width);
    const fail = new Int32Array(n);
    const outputs: (Int32Array | undefined)[] = new Array(n).fill(undefined);
    const queue: number[] = [];
    for (const [cls, child] of children[0] as Map<number, number>) {
      delta[cls] = child;
      queue.push(child);
    }
    for (let q = 0; q < queue.length; q++) {
      const r = queue[q] as number;
      const f = fail[r] as number;
      const mine = own[r] as number[];
      const inherited = outputs[f];
      if (mine.length || inherited) outputs[r] = Int32Array.from([...mine, ...(inherited ?? [])]);
      const kids = children[r] as Map<number, number>;
      for (let cls = 1; cls < width; cls++) {
        const u = kids.get(cls);
        if (u === undefined) delta[r * width + cls] = delta[f * width + cls] as number;
        else {
          delta[r * width + cls] = u;
          fail[u] = delta[f * width + cls] as number;
          queue.push(u);
        }
      }
    }
    this.delta = delta;
    this.outputs = outputs;
  }

  /** Calls visit(keyId) for every occurrence of every key in s. */
  scan(s: string, visit: (keyId: number) => void): void {
    const width = this.width;
    const delta = this.delta;
    const ascii = this.asciiClass;
    let state = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const cls = c < 128 ? (ascii[c] as number) : (this.otherClass.get(c) ?? 0);
      state = delta[state * width + cls] as number;
      const out = this.outputs[state];
      if (out !== undefined) for (let j = 0; j < out.length; j++) visit(out[j] as number);
    }
  }
}

/**
 * Picks each item's key: the literal piece least shared with other items (a piece every item has,
 * like `mcp__`, selects nothing), preferring pieces of three or more characters, then longer ones.
 * An item with no literal at all gets "" and is always a candidate.
 */
function chooseKeys(items: readonly (readonly string[])[]): string[] {
  const freq = new Map<string, number>();
  for (const pieces of items) for (const p of new Set(pieces)) if (p) freq.set(p, (freq.get(p) ?? 0) + 1);
  return items.map((pieces) => {
    let best = "";
    let bestScore: [number, number, number] | undefined;
    for (const p of pieces) {
      if (!p) continue;
      const score: [number, number, number] = [p.length >= 3 ? 0 : 1, freq.get(p) as number, -p.length];
      if (!bestScore || score[0] < bestScore[0] || (score[0] === bestScore[0] && (score[1] < bestScore[1] || (score[1] === bestScore[1] && score[2] < bestScore[2])))) {
        best = p;
        bestScore = score;
      }
    }
    return best.slice(0, MAX_KEY);
  });
}

/**
 * Finds, for a text, the items that may match it: those whose key occurs in the text, plus those
 * without a key. A superset: the caller tests each candidate exactly.
 */
export class CandidateIndex {
  private readonly automaton: KeyAutomaton | undefined;
  /** Key id → items owning that key. */
  private readonly owners: Int32Array[] = [];
  private readonly always: Int32Array;
  private readonly stamps: Uint32Array;
  private epoch = 0;
  private readonly buffer: Int32Array;
  private count = 0;
  /** Bound once: scan() calls it per key occurrence without allocating a closure per call. */
  private readonly visit = (keyId: number): void => {
    const owners = this.owners[keyId] as Int32Array;
    for (let j = 0; j < owners.length; j++) {
      const item = owners[j] as number;
      if (this.stamps[item] !== this.epoch) {
        this.stamps[item] = this.epoch;
        this.buffer[this.count++] = item;
      }
    }
  };

  /** `pieces[i]`: the literals item i's matches must all contain. */
  constructor(pieces: readonly (readonly string[])[]) {
    const keys = chooseKeys(pieces);
    const keyIds = new Map<string, number>();
    const owners: number[][] = [];
    const always: number[] = [];
    keys.forEach((k, item) => {
      if (k === "") return void always.push(item);
      let id = keyIds.get(k);
      if (id === undefined) {
        id = owners.length;
        keyIds.set(k, id);
        owners.push([]);
      }
      (owners[id] as number[]).push(item);
    });
    this.automaton = KeyAutomaton.build([...keyIds.keys()]);
    this.owners = owners.map((o) => Int32Array.from(o));
    this.always = Int32Array.from(always);
    this.stamps = new Uint32Array(pieces.length);
    this.buffer = new Int32Array(pieces.length);
  }

  /**
   * Collects the candidate items for s into `items` and returns how many, or -1 when the automaton
   * was too large to build (the caller then tests every item). `items` is reused by the next call:
   * read it before calling again (decisions are synchronous, so they do).
   */
  candidates(s: string): number {
    if (this.automaton === undefined) return -1;
    if (++this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
    this.count = 0;
    for (let j = 0; j < this.always.length; j++) {
      const item = this.always[j] as number;
      this.stamps[item] = this.epoch;
      this.buffer[this.count++] = item;
    }
    this.automaton.scan(s, this.visit);
    return this.count;
  }

  get items(): Int32Array {
    return this.buffer;
  }
}

/**
 * A list of patterns with a value each. Literal patterns are looked up in a Map (the first value
 * added wins); globs are tested through a CandidateIndex when there are many. find() returns an exact
 * hit first, else the value of the earliest-added glob that matches.
 */
export class GlobList<R> {
  private readonly exact = new Map<string, R>();
  private readonly globs: Glob[] = [];
  private readonly values: R[] = [];
  private index: CandidateIndex | undefined;
  private sealed = false;

  add(pattern: string, value: R): void {
    if (this.sealed) throw new Error("GlobList.add after seal");
    const g = new Glob(pattern);
    if (g.isLiteral) {
      if (!this.exact.has(pattern)) this.exact.set(pattern, value);
      return;
    }
    this.globs.push(g);
    this.values.push(value);
  }

  /** Builds the candidate index; call once after the last add(). */
  seal(): this {
    this.sealed = true;
    if (this.globs.length >= INDEX_AT) this.index = new CandidateIndex(this.globs.map((g) => g.literals));
    return this;
  }

  get size(): number {
    return this.exact.size + this.globs.length;
  }

  find(s: string): R | undefined {
    const hit = this.exact.get(s);
    if (hit !== undefined) return hit;
    const globs = this.globs;
    if (globs.length === 0) return undefined;
    const index = this.index;
    const count = index === undefined ? -1 : index.candidates(s);
    if (count < 0) {
      for (let i = 0; i < globs.length; i++) if ((globs[i] as Glob).test(s)) return this.values[i];
      return undefined;
    }
    const items = (index as CandidateIndex).items;
    let best = -1;
    for (let j = 0; j < count; j++) {
      const i = items[j] as number;
      if ((best < 0 || i < best) && (globs[i] as Glob).test(s)) best = i;
    }
    return best < 0 ? undefined : this.values[best];
  }
}
