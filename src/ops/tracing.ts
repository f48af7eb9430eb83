// OpenTelemetry tracing (remote.tracing): one span per forwarded request, a child of the caller's
// trace when its request carries a W3C traceparent in `_meta`, exported over OTLP/HTTP in batches.
// The span's own traceparent goes to the upstream (in `_meta`, and as a header to HTTP servers).
// Attributes are the method, server, canonical tool, decision and outcome: never arguments, results,
// tokens or the caller's identity (a trace backend is not the audit log).
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, defaultTextMapGetter, defaultTextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from "@opentelemetry/sdk-trace";

export interface TracingSettings {
  endpoint: string;
  serviceName?: string;
  sampleRatio?: number;
}

export interface CallSpan {
  /** The traceparent upstreams get (this span as their parent); undefined when not sampled. */
  readonly traceparent: string | undefined;
  /** `failed`: the request ended in an error or a refusal (the span's status; no error text is kept). */
  end(attributes: Record<string, string | undefined>, failed: boolean): void;
}

export interface CallTracer {
  start(method: string, parent: unknown, attributes: Record<string, string | undefined>): CallSpan;
  /** Exports what is buffered (bounded by the exporter's timeout) and stops. */
  shutdown(): Promise<void>;
}

/** A traceparent as W3C Trace Context writes it; anything else from a caller is ignored. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function createTracer(settings: TracingSettings, version: string): CallTracer {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": settings.serviceName ?? "mcp-warden", "service.version": version }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio ?? 1) }),
    // Bounded: at most 2048 spans wait; past that new ones are dropped, never the calls.
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.endpoint, timeoutMillis: 5000 }), scheduledDelayMillis: 1000, maxQueueSize: 2048 })],
  });
  const tracer = provider.getTracer("mcp-warden", version);
  const propagator = new W3CTraceContextPropagator();
  return {
    start(method, parent, attributes) {
      const carrier = typeof parent === "string" && TRACEPARENT.test(parent) ? { traceparent: parent } : {};
      const parentContext = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
      const span = tracer.startSpan(`mcp ${method}`, { kind: SpanKind.SERVER, attributes: defined({ "mcp.method.name": method, ...attributes }) }, parentContext);
      const out: Record<string, string> = {};
      if (span.isRecording()) propagator.inject(trace.setSpan(context.active(), span), out, defaultTextMapSetter);
      return {
        traceparent: out.traceparent,
        end(more, failed) {
          span.setAttributes(defined(more));
          if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown().catch(() => undefined),
  };
}

function defined(attributes: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).filter((e): e is [string, string] => e[1] !== undefined));
}
