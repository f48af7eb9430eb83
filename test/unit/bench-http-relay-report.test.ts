// serve against the plain HTTP relay in the serve section (bench/http-relay-report.ts): the p50 target
// of issue 18 (at most 1.25x the relay's) is judged from the numbers given, met or not, and the CPU
// and calls/s ratios are those of the same run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareWithRelay, relayLines } from "../../bench/http-relay-report.js";
import type { ServeBenchResult, TargetResult } from "../../bench/serve.js";
import { serveBenchConfig } from "../../bench/serve.js";

const sample = (perSecond: number, cpuFrontUs: number, cpuUpstreamUs: number) => ({ connections: 16, seconds: 1, calls: perSecond, perSecond, p50Ms: 1, p99Ms: 2, failed: 0, cpuFrontUs, cpuUpstreamUs });

function target(name: string, role: TargetResult["role"], p50: number, rawP50: number, perSecond: number, cpuFront: number): TargetResult {
  return { name, era: "2025-06-18, one session", role, seq: { p50, p99: 2 * p50, mean: p50 }, raw: { p50: rawP50, p99: 2 * rawP50 }, sdk16: perSecond / 2, load16: sample(perSecond, cpuFront, 40), load256: sample(perSecond, cpuFront, 40) };
}

function result(serveP50: number, serveRawP50: number): ServeBenchResult {
  return {
    config: serveBenchConfig(true),
    targets: [target("floor", "floor", 150, 100, 20_000, 30), target("relay", "relay", 400, 200, 8_000, 60), target("serve", "serve", serveP50, serveRawP50, 4_000, 240)],
    missing: [],
    load: { before: 0, after: 0 },
  };
}

describe("bench: serve against the plain HTTP relay", () => {
  it("holds serve's p50 to 1.25x the relay's, for the SDK client and the raw connection apart", () => {
    const met = compareWithRelay(result(500, 250))!;
    assert.equal(met.p50Ratio, 1.25);
    assert.equal(met.p50AddedUs, 100);
    assert.deepEqual(met.met, { p50: true, rawP50: true });
    const missed = compareWithRelay(result(900, 240))!;
    assert.deepEqual(missed.met, { p50: false, rawP50: true });
    assert.equal(missed.ratio16, 0.5);
    assert.equal(missed.ratioSdk16, 0.5);
    assert.deepEqual(missed.cpu, { serveFront: 240, relayFront: 60, serveAll: 280, relayAll: 100 });
  });

  it("says met or not met in the section, and says so when no relay was measured", () => {
    const text = relayLines(result(900, 240)).join("\n");
    assert.match(text, /500 µs added, 2\.25x: \*\*not met\*\*/);
    assert.match(text, /1\.20x: \*\*met\*\*/);
    assert.match(text, /serve's process 240\.0 µs against the relay's 60\.0 µs \(180\.0 µs more, 4\.00x\)/);
    assert.match(text, /serve 4,000 against the relay's 8,000, 0\.50x/);
    const noRelay = result(500, 250);
    noRelay.targets = noRelay.targets.filter((t) => t.role !== "relay");
    assert.equal(compareWithRelay(noRelay), undefined);
    assert.match(relayLines(noRelay).join("\n"), /not measured/);
  });
});
