// serve against the plain HTTP relay (bench/http-relay.ts), issue 18's "HTTP front" target: the same
// discipline as the stdio part (bench/relay-floor.ts) applied to HTTP. serve's p50 is held to 1.25x the
// relay's, as the stdio gateway is held to the parse relay's; its CPU per call is stated as measured
// (issue 18 sets no number for HTTP), beside the relay's.
import type { ServeBenchResult, TargetResult } from "./serve.js";

export const HTTP_RELAY_TARGET = { p50VsRelay: 1.25 };

export interface RelayComparison {
  relay: TargetResult;
  serve: TargetResult;
  /** SDK client, sequential: serve's p50 ÷ the relay's, and the µs serve adds. */
  p50Ratio: number;
  p50AddedUs: number;
  /** The same with one raw keep-alive connection. */
  rawP50Ratio?: number;
  rawP50AddedUs?: number;
  /** CPU µs per call at 16 connections: the front process, and front plus upstream. */
  cpu?: { serveFront: number; relayFront: number; serveAll?: number; relayAll?: number };
  /** serve's calls/s ÷ the relay's: autocannon at 16 connections, and SDK client at 16 in flight. */
  ratio16?: number;
  ratioSdk16?: number;
  met: { p50: boolean; rawP50?: boolean };
}

/** serve (2025 era) against the relay of the same run; undefined when the relay was not measured. */
export function compareWithRelay(r: ServeBenchResult): RelayComparison | undefined {
  const relay = r.targets.find((t) => t.role === "relay" && !t.skipped && t.seq);
  const serve = r.targets.find((t) => t.role === "serve" && t.seq);
  if (!relay?.seq || !serve?.seq) return undefined;
  const p50Ratio = serve.seq.p50 / relay.seq.p50;
  const raw = serve.raw && relay.raw ? { ratio: serve.raw.p50 / relay.raw.p50, added: serve.raw.p50 - relay.raw.p50 } : undefined;
  const all = (t: TargetResult) => (t.load16?.cpuFrontUs !== undefined && t.load16.cpuUpstreamUs !== undefined ? t.load16.cpuFrontUs + t.load16.cpuUpstreamUs : undefined);
  const serveFront = serve.load16?.cpuFrontUs;
  const relayFront = relay.load16?.cpuFrontUs;
  const serveAll = all(serve);
  const relayAll = all(relay);
  return {
    relay,
    serve,
    p50Ratio,
    p50AddedUs: serve.seq.p50 - relay.seq.p50,
    ...(raw ? { rawP50Ratio: raw.ratio, rawP50AddedUs: raw.added } : {}),
    ...(serveFront !== undefined && relayFront !== undefined
      ? { cpu: { serveFront, relayFront, ...(serveAll !== undefined ? { serveAll } : {}), ...(relayAll !== undefined ? { relayAll } : {}) } }
      : {}),
    ...(serve.load16 && relay.load16 ? { ratio16: serve.load16.perSecond / relay.load16.perSecond } : {}),
    ...(serve.sdk16 && relay.sdk16 ? { ratioSdk16: serve.sdk16 / relay.sdk16 } : {}),
    met: { p50: p50Ratio <= HTTP_RELAY_TARGET.p50VsRelay, ...(raw ? { rawP50: raw.ratio <= HTTP_RELAY_TARGET.p50VsRelay } : {}) },
  };
}

const f0 = (x: number) => Math.round(x).toLocaleString("en-US");
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const verdict = (b: boolean | undefined) => (b === undefined ? "not measured" : b ? "**met**" : "**not met**");

/** The sentences of the serve section about the relay floor. */
export function relayLines(r: ServeBenchResult): string[] {
  const c = compareWithRelay(r);
  if (!c) return ["The plain HTTP relay was not measured in this run.", ""];
  const { relay, serve } = c;
  const cpu = c.cpu;
  const cpuLine = cpu
    ? `CPU per call at 16 connections, as measured (issue 18 sets no number for HTTP): serve's process ${f1(cpu.serveFront)} µs against the relay's ${f1(cpu.relayFront)} µs (${f1(cpu.serveFront - cpu.relayFront)} µs more, ${f2(cpu.serveFront / cpu.relayFront)}x)${cpu.serveAll !== undefined && cpu.relayAll !== undefined ? `; front and upstream together ${f1(cpu.serveAll)} µs against ${f1(cpu.relayAll)} µs (${f2(cpu.serveAll / cpu.relayAll)}x)` : ""}.`
    : "CPU per call was not measured (autocannon is not installed).";
  return [
    `Against the relay floor (issue 18's HTTP front target). The plain HTTP relay (bench/http-relay.ts) is the least any MCP HTTP front in Node.js does: a node:http server that parses each posted message, remaps its id, writes it as one line to the same upstream over stdio, and posts the upstream's answer back re-serialized (200 application/json; 202 for a notification; an \`Mcp-Session-Id\` on \`initialize\`, every session sharing the one upstream; no checks, no auth, no SSE). It is measured in the same rounds with the same clients and load as every other target. Target, as issue 18 sets it for stdio against the parse relay: serve's p50 at most ${HTTP_RELAY_TARGET.p50VsRelay}x the relay's.`,
    "",
    `- Latency, SDK client: serve ${f1(serve.seq!.p50)} µs against the relay's ${f1(relay.seq!.p50)} µs at p50, ${f0(c.p50AddedUs)} µs added, ${f2(c.p50Ratio)}x: ${verdict(c.met.p50)}.`,
    `- Latency, one raw connection: ${c.rawP50Ratio !== undefined ? `serve ${f1(serve.raw!.p50)} µs against ${f1(relay.raw!.p50)} µs, ${f0(c.rawP50AddedUs!)} µs added, ${f2(c.rawP50Ratio)}x: ${verdict(c.met.rawP50)}` : "not measured"}.`,
    `- ${cpuLine}`,
    `- Calls/s at 16 connections (autocannon): ${c.ratio16 !== undefined ? `serve ${f0(serve.load16!.perSecond)} against the relay's ${f0(relay.load16!.perSecond)}, ${f2(c.ratio16)}x` : "not measured"}${c.ratioSdk16 !== undefined ? `; SDK client at 16 in flight ${f2(c.ratioSdk16)}x` : ""}.`,
    "",
  ];
}
