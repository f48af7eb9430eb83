// remote.tracing through the real `mcp-warden serve`: a call carrying a W3C traceparent in `_meta`
// gets a span that is its child, exported over OTLP/HTTP (JSON) to a collector, here a plain HTTP
// server on 127.0.0.1 that keeps what it is sent (no OpenTelemetry collector is installed on this
// machine); the real HTTP upstream reports the traceparent it received as a header and in `_meta`.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { closedPort, scratch, type Scratch, waitFor } from "./harness.js";
import { httpClient, startHttpFixture, startServe, type HttpFixture, type Serving } from "./serve-harness.js";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

/** Receives OTLP/HTTP JSON exports; bounded (1 MiB a request, 1000 spans kept). */
async function startCollector(): Promise<{ server: Server; url: string; spans: OtlpSpan[]; bodies: string[] }> {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      if (body.length < 1 << 20) body += d.toString();
    });
    req.on("end", () => {
      bodies.push(body);
      try {
        const doc = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
        for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) if (spans.length < 1000) spans.push(s);
      } catch {
        // Not JSON: kept in bodies for the failure message.
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}/v1/traces`, spans, bodies };
}

const attr = (s: OtlpSpan, key: string) => s.attributes.find((a) => a.key === key)?.value.stringValue;

describe("serve: OpenTelemetry tracing over OTLP, with the traceparent passed upstream", () => {
  const key = generateApiKey();
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let upstream: HttpFixture;
  let s: Scratch;
  let srv: Serving;
  before(async () => {
    collector = await startCollector();
    upstream = await startHttpFixture();
    s = scratch({
      mcpServers: { web: { type: "http", url: `http://127.0.0.1:${upstream.port}/mcp` } },
      permissions: { allow: ["mcp__web__trace"] },
      integrity: { pins: false },
      remote: { listen: `127.0.0.1:${await closedPort()}`, auth: { apiKeys: { alice: { hash: hashApiKey(key) } } }, tracing: { endpoint: collector.url, serviceName: "warden-test" } },
    });
    srv = await startServe(s);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await upstream?.stop();
    await new Promise((r) => collector?.server.close(r));
    s?.cleanup();
  });

  it("a call with a caller's traceparent gets a child span, exported, whose traceparent the HTTP upstream receives as a header and in _meta", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentSpan = "00f067aa0ba902b7";
    const c = await httpClient(srv.url, key, "modern");
    let reported = "";
    try {
      const r = await c.client.callTool({ name: "web__trace", arguments: {}, _meta: { traceparent: `00-${traceId}-${parentSpan}-01` } });
      reported = (r.content as { text: string }[])[0]!.text;
    } finally {
      await c.close();
    }
    const m = /^header=(\S+) meta=(\S+)$/.exec(reported);
    assert.ok(m, reported);
    assert.equal(m[1], m[2], "the header and _meta carry the same traceparent");
    const [, gotTrace, gotSpan, flags] = m[1]!.split("-");
    assert.equal(gotTrace, traceId, "the upstream's trace is the caller's");
    assert.notEqual(gotSpan, parentSpan, "the upstream's parent is the gateway's span, not the caller's");
    assert.equal(flags, "01");

    const span = await waitFor("the exported span", () => collector.spans.find((x) => x.spanId.toLowerCase() === gotSpan), 15_000);
    assert.equal(span.traceId.toLowerCase(), traceId);
    assert.equal(span.parentSpanId?.toLowerCase(), parentSpan);
    assert.equal(span.name, "mcp tools/call");
    assert.equal(attr(span, "mcp.server"), "web");
    assert.equal(attr(span, "mcp.tool"), "mcp__web__trace");
    assert.equal(attr(span, "mcp_warden.decision"), "allow");
    assert.equal(attr(span, "mcp_warden.outcome"), "ok");
    assert.ok(collector.bodies.join("").includes("warden-test"), "service.name is the configured one");
    assert.ok(!collector.bodies.join("").includes(key), "no credential in the export");
  });

  it("a call without a traceparent starts a new trace; the upstream still gets the gateway's span", async () => {
    const c = await httpClient(srv.url, key, "modern");
    try {
      const r = await c.client.callTool({ name: "web__trace", arguments: {} });
      const text = (r.content as { text: string }[])[0]!.text;
      const m = /^header=00-([0-9a-f]{32})-([0-9a-f]{16})-01 meta=/.exec(text);
      assert.ok(m, text);
      await waitFor("the new trace's span", () => collector.spans.find((x) => x.spanId.toLowerCase() === m[2] && !x.parentSpanId), 15_000);
    } finally {
      await c.close();
    }
  });
});
