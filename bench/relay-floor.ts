// The relay floor (issue 18): between the same client and server, a Node.js process that copies the
// bytes and one that parses and re-serializes every JSON line (bench/relay.ts), measured in the same
// rounds as the direct path and the gateway. The gateway is held to the parse relay, the least any
// stdio proxy that looks at messages costs, rather than to the direct path.

/** What bench/run.ts measured for one connection (medians of rounds). */
export interface PathStats {
  p50: number;
  p99: number;
  perSecond: number;
  cpuClient?: number;
  /** CPU µs per call of the processes serving the client: the middle process first, then the server. */
  cpuService?: number[];
}

export interface FloorRow {
  label: string;
  /** Whether this row is a gateway (its middle process is held to the CPU target). */
  gateway: boolean;
  stats: PathStats;
}

export const FLOOR_TARGET = { p50VsParseRelay: 1.25, throughputVsDirect: 0.8, gatewayCpuUs: 60 };

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f0 = (x: number) => Math.round(x).toLocaleString("en-US");

/** The targets of issue 18 for one gateway row, against the floor rows of the same run. */
export function floorVerdict(row: FloorRow, direct: PathStats, parseRelay: PathStats) {
  const p50 = row.stats.p50 / parseRelay.p50;
  const throughput = row.stats.perSecond / direct.perSecond;
  const cpu = row.stats.cpuService?.[0];
  return {
    p50,
    throughput,
    cpu,
    met: { p50: p50 <= FLOOR_TARGET.p50VsParseRelay, throughput: throughput >= FLOOR_TARGET.throughputVsDirect, cpu: cpu !== undefined && cpu <= FLOOR_TARGET.gatewayCpuUs },
  };
}

export function floorSection(rows: FloorRow[], direct: PathStats, parseRelay: PathStats, bytesRelay: PathStats, inflight: number): string[] {
  const middle = (s: PathStats, direct: boolean) => (direct ? "—" : s.cpuService?.[0] === undefined ? "—" : `${f1(s.cpuService[0])} µs`);
  const all = (s: PathStats) => (s.cpuClient === undefined || !s.cpuService ? "—" : `${f1(s.cpuClient + s.cpuService.reduce((a, b) => a + b, 0))} µs`);
  const out = [
    "## Against the relay floor",
    "",
    `Any stdio proxy written in Node.js adds a process, a pipe and their wake-ups. Two relays measure that floor in the same rounds as the rows above, between the same client and fixture (bench/relay.ts): one copies the bytes both ways, one parses and re-serializes every JSON line (the least a proxy that looks at messages does). Ratios are of this run's medians; CPU is per call at ${inflight} in flight, from /proc.`,
    "",
    "| path | p50 | p50 vs direct | p50 vs parse relay | calls/s, " + inflight + " in flight | vs direct | middle process CPU per call | all processes CPU per call |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    `| direct | ${f1(direct.p50)} µs | 1.00x | ${f2(direct.p50 / parseRelay.p50)}x | ${f0(direct.perSecond)} | 1.00x | ${middle(direct, true)} | ${all(direct)} |`,
    `| relay, bytes | ${f1(bytesRelay.p50)} µs | ${f2(bytesRelay.p50 / direct.p50)}x | ${f2(bytesRelay.p50 / parseRelay.p50)}x | ${f0(bytesRelay.perSecond)} | ${f2(bytesRelay.perSecond / direct.perSecond)}x | ${middle(bytesRelay, false)} | ${all(bytesRelay)} |`,
    `| relay, parse and re-serialize | ${f1(parseRelay.p50)} µs | ${f2(parseRelay.p50 / direct.p50)}x | 1.00x | ${f0(parseRelay.perSecond)} | ${f2(parseRelay.perSecond / direct.perSecond)}x | ${middle(parseRelay, false)} | ${all(parseRelay)} |`,
    ...rows.map((r) => `| ${r.label} | ${f1(r.stats.p50)} µs | ${f2(r.stats.p50 / direct.p50)}x | ${f2(r.stats.p50 / parseRelay.p50)}x | ${f0(r.stats.perSecond)} | ${f2(r.stats.perSecond / direct.perSecond)}x | ${middle(r.stats, false)} | ${all(r.stats)} |`),
    "",
    `Targets of issue 18, for each gateway row: p50 at most ${FLOOR_TARGET.p50VsParseRelay}x the parse relay's, throughput at least ${FLOOR_TARGET.throughputVsDirect}x direct, the gateway's own CPU at most ${FLOOR_TARGET.gatewayCpuUs} µs per call.`,
    "",
    "| gateway | p50 vs parse relay | met? | throughput vs direct | met? | gateway CPU per call | met? |",
    "|---|---:|---|---:|---|---:|---|",
  ];
  const yes = (b: boolean) => (b ? "yes" : "**no**");
  for (const r of rows.filter((x) => x.gateway)) {
    const v = floorVerdict(r, direct, parseRelay);
    out.push(`| ${r.label} | ${f2(v.p50)}x | ${yes(v.met.p50)} | ${f2(v.throughput)}x | ${yes(v.met.throughput)} | ${v.cpu === undefined ? "—" : `${f1(v.cpu)} µs`} | ${yes(v.met.cpu)} |`);
  }
  const relayCpu = parseRelay.cpuService?.[0];
  out.push(
    "",
    `The parse relay itself spends ${relayCpu === undefined ? "(not measured)" : `${f1(relayCpu)} µs`} of CPU per call in its own process and passes ${f2(parseRelay.perSecond / direct.perSecond)}x the direct calls/s: a gateway can come near it only by doing little more than one parse and one serialization per message.`,
    "",
  );
  return out;
}

/** One gateway with the hot path and without it (MCP_WARDEN_HOT_PATH=off), from the same rounds. */
export interface HotPathPair {
  label: string;
  on: PathStats;
  off: PathStats;
}

/** Before and after the hot path (src/gateway/hot-path.ts), measured in the same run. */
export function hotPathSection(pairs: HotPathPair[], inflight: number): string[] {
  const cpu = (s: PathStats) => s.cpuService?.[0];
  const cell = (x: number | undefined) => (x === undefined ? "—" : `${f1(x)} µs`);
  const out = [
    "## The hot path",
    "",
    `A \`tools/call\` from a 2025-era client over stdio, after the handshake, takes the hot path (src/gateway/hot-path.ts): the same pipeline stages and audit records, without the SDK server's per-request work (envelope schema checks, the request validated twice, the handler context) and, when the upstream is a 2025-era stdio server, without the SDK client's (the request goes to the server's pipe with the id the SDK client would give it). Anything else takes the SDK path, as every call did before; test/e2e/hot-path-differential.test.ts shows both paths give the same answers and audit records. Each gateway was measured a second time in the same rounds with the hot path off (\`MCP_WARDEN_HOT_PATH=off\`):`,
    "",
    `| gateway | CPU per call, hot path | CPU per call, SDK path | change | calls/s at ${inflight}, hot path | SDK path | p50, hot path | SDK path |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const p of pairs) {
    const a = cpu(p.on);
    const b = cpu(p.off);
    out.push(
      `| ${p.label} | ${cell(a)} | ${cell(b)} | ${a !== undefined && b !== undefined ? `${f0((100 * (a - b)) / b)}%` : "—"} | ${f0(p.on.perSecond)} | ${f0(p.off.perSecond)} | ${f1(p.on.p50)} µs | ${f1(p.off.p50)} µs |`,
    );
  }
  out.push("");
  return out;
}
