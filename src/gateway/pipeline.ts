// The gateway's request path as a short list of stages with one interface. Each stage reads and
// enriches the context; a stage ends the request early by setting `ctx.error` (or `ctx.result`).
// Stages marked `always` run even then (audit needs to record denials and failures too).
import type { Verdict } from "../policy/types.js";
import type { Principal } from "../policy/principal.js";
import type { AuditEntry } from "../audit/record.js";
import type { Catalog } from "./catalog.js";
import type { Upstream } from "../upstream/upstream.js";
import type { ItemKind } from "./integrity.js";
import { toGatewayError, type GatewayError } from "./errors.js";

export type ForwardedMethod = "tools/call" | "prompts/get" | "resources/read" | "resources/subscribe" | "resources/unsubscribe" | "completion/complete";

export interface ClientIdentity {
  name?: string;
  version?: string;
}

export interface RequestContext {
  /** Correlates this request's audit records. */
  readonly id: string;
  readonly method: ForwardedMethod;
  /** Params as the client sent them (validated by the SDK for the method's shape). */
  readonly params: Record<string, unknown>;
  readonly client: ClientIdentity;
  /** Who is calling: the local OS user on stdio, the authenticated caller in remote mode. */
  readonly principal: Principal;
  /** The catalog of the upstreams this caller reaches (remote mode: their own instances); default the gateway's. */
  readonly catalog?: Catalog;
  /** What the audit log records of the caller (principal, session hash, address). */
  readonly caller?: AuditEntry["principal"];
  readonly signal: AbortSignal;
  readonly startedAt: number;
  /** Relays upstream progress to the client when the client asked for it. */
  readonly onProgress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** Asks the client a question within this call (elicitation), when the client supports it. */
  askClient?: (params: Record<string, unknown>, signal: AbortSignal) => Promise<Record<string, unknown>>;
  /** Set by identify: which upstream and which of its items. */
  target?: {
    upstream: Upstream;
    name: string;
    canonical: string;
    /** The listed item a request reaches: the tool, the prompt, the resource or the template its URI matched (the integrity review judged that object). */
    listed?: { kind: ItemKind; name: string; item: object };
  };
  /** Set by decide (and possibly changed by ask and guard). */
  verdict?: Verdict;
  /** What the audit log records as the arguments, when they had to be redacted (a secret was found). */
  auditArguments?: unknown;
  /** Params to send upstream (the item name translated back). */
  upstreamParams?: Record<string, unknown>;
  /** This request's span as W3C traceparent (tracing on): sent upstream in `_meta` and as an HTTP header. */
  traceparent?: string;
  /**
   * The hot path (hot-path.ts): the call came without the SDK server, and forward may write it
   * straight to a 2025-era stdio server's pipe (Upstream.request's `direct`). Every stage runs as usual.
   */
  readonly direct?: boolean;
  /** Set by forward just before sending: from here on an outcome record is owed. */
  forwardAttempted?: boolean;
  result?: Record<string, unknown>;
  error?: GatewayError;
}

export interface Stage {
  readonly name: string;
  /** Runs even after an earlier stage ended the request. */
  readonly always?: boolean;
  run(ctx: RequestContext): void | Promise<void>;
}

export async function runPipeline(stages: readonly Stage[], ctx: RequestContext): Promise<void> {
  for (const stage of stages) {
    if ((ctx.error || ctx.result) && !stage.always) continue;
    try {
      // Only a stage that returns a promise is awaited: most stages are synchronous, and a turn of
      // the microtask queue for each of them costs every call.
      const pending = stage.run(ctx);
      if (pending !== undefined) await pending;
    } catch (error) {
      // An exception in any stage ends the request as an error: never as a forwarded call.
      ctx.error = toGatewayError(error);
    }
  }
}

