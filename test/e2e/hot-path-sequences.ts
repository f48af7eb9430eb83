// Random request sequences for the hot path's differential test (hot-path-differential.test.ts):
// what a client may send over stdio, hostile parts included, generated from a seed so that a failing
// sequence can be replayed (\`node -e\` on this module's generate(seed) shows it).

export const SECRET = "hot-path-fake-token-0123456789abcdef";
/** A token in a format the scanner knows (a GitHub personal access token's shape), not a configured value. */
export const FORMAT_SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

/** mulberry32: a small seeded generator, so a sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One write to the gateway (its lines arrive together), then a pause before the next. */
export interface Step {
  lines: string[];
  /** Ids whose answers the next step waits for (a cancelled call gets none). */
  await: unknown[];
  /** Written this many ms after the lines, e.g. a cancellation mid-call. */
  later?: { afterMs: number; line: string };
}

export const call = (id: unknown, name: string, args?: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, ...(args !== undefined ? { arguments: args } : {}), ...extra } });

export function generate(seed: number, steps: number): Step[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let next = 1;
  const numericId = () => next++;
  const stringId = () => pick(["", "0", "1", "id-" + next++, "ünïcødé-" + next++, "x".repeat(300) + next++, '"quoted"' + next++]);
  const id = () => (rnd() < 0.6 ? numericId() : stringId());
  const text = () => pick(["hello", "", "multi\nline", "tab\there", "\u001b[31mred\u001b[0m and \u0007bell", "ünïcødé ✓", "x".repeat(200)]);
  const out: Step[] = [];
  /** One request alone: [its line, the ids to await]. */
  const single = (): [string, unknown[]] => {
    const i = id();
    switch (Math.floor(rnd() * 22)) {
      case 0:
      case 1:
      case 2:
        return [call(i, "fixture__echo", { text: text() }), [i]];
      case 3:
        return [call(i, "fixture__echo", { text: `key ${SECRET} here` }), [i]];
      case 4:
        return [call(i, "fixture__echo", { text: `token ${FORMAT_SECRET}` }), [i]];
      case 5:
        return [call(i, "fixture__delete_repo", { repo: "r" }), [i]];
      case 6:
        return [call(i, pick(["fixture__nope", "echo", "", "fixture__echo ", "FIXTURE__ECHO"]), {}), [i]];
      case 7:
        // Unmatched: asked of the client (elicitation), which declines.
        return [call(i, "fixture__create_issue", { title: "t" }), [i]];
      case 8:
        // The upstream asks the client (an input round), which accepts.
        return [call(i, "fixture__confirm", {}), [i]];
      case 9: {
        // Params that are not an object make no JSON-RPC request for the SDK: unanswered, on both paths.
        const params = pick([[], "x", null, { arguments: {} }, { name: 5 }, { name: "fixture__echo", arguments: [] }, { name: "fixture__echo", arguments: null }]);
        return [JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params }), typeof params === "object" && params !== null && !Array.isArray(params) ? [i] : []];
      }
      case 10:
        return [call(i, "fixture__echo", { text: "extra" }, pick([{ foo: 1 }, { _meta: { progressToken: `p${i}` } }, { _meta: {} }, { task: { ttl: 5 } }])), [i]];
      case 11:
        // A tool error: the fixture's own argument validation.
        return [call(i, "fixture__echo", pick([{ text: 5 }, {}, { text: ["a"] }])), [i]];
      case 12:
        return [call(i, "fixture__huge", { bytes: pick([10, 100, 5000]) }), [i]];
      case 13:
        return [call(i, "fixture__garbage", {}), [i]];
      case 14: {
        // Ids the SDK may or may not take: the answers must agree either way.
        // (The SDK answers no request whose id is not a string or a safe integer: nothing to wait for.)
        const odd = pick([9007199254740991, -5, 0, 1.5, 1e21, -0]);
        return [call(odd, "fixture__echo", { text: "odd id" }), Number.isSafeInteger(odd) ? [odd === 0 ? 0 : odd] : []];
      }
      case 15:
        return [JSON.stringify({ jsonrpc: "2.0", id: i, method: pick(["tools/list", "ping", "prompts/list", "resources/list"]) }), [i]];
      case 16:
        return [call(i, "fixture__echo", { text: "args with __proto__", ["__proto__"]: { polluted: true } } as never), [i]];
      case 17:
        // Not a JSON-RPC request to the SDK (an unknown member): unanswered, on both paths.
        return [JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "fixture__echo", arguments: { text: "extra top-level key" } }, extra: true }), []];
      case 18:
        return [pick(["this is not json", '{"jsonrpc":"2.0"}', "[]", '{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}']), []];
      default:
        return [call(i, "fixture__echo", { text: text() }), [i]];
    }
  };
  for (let s = 0; s < steps; s++) {
    const r = rnd();
    if (r < 0.55) {
      const [line, ids] = single();
      out.push({ lines: [line], await: ids });
    } else if (r < 0.8) {
      // Several requests in one write: the gateway reads them together.
      const n = 2 + Math.floor(rnd() * 5);
      const parts = Array.from({ length: n }, single);
      out.push({ lines: parts.map((p) => p[0]), await: parts.flatMap((p) => p[1]) });
    } else if (r < 0.88) {
      // Duplicate ids in flight: a slow call and a quick one with the same id.
      const i = id();
      out.push({ lines: [call(i, "fixture__slow", { ms: 200, steps: 1 }), call(i, "fixture__echo", { text: "same id" })], await: [] });
      out.push({ lines: [call(numericId(), "fixture__echo", { text: "after duplicate" })], await: [] });
    } else if (r < 0.94) {
      // A cancellation mid-call: no answer comes, the server is told, the outcome is audited.
      const i = id();
      out.push({ lines: [call(i, "fixture__slow", { ms: 1500, steps: 1 })], await: [], later: { afterMs: 150, line: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: i, reason: "changed my mind" } }) } });
    } else {
      // A duplicate id, then a cancellation of that id: the SDK cancels only the latest.
      const i = id();
      out.push({
        lines: [call(i, "fixture__slow", { ms: 400, steps: 1 }), call(i, "fixture__slow", { ms: 1500, steps: 1 })],
        await: [],
        later: { afterMs: 150, line: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: i } }) },
      });
    }
  }
  return out;
}

