// rate-limit: after identify, before decide. Takes a token from every bucket that applies to the
// request (remote mode's rate limits); a refusal ends the request with ErrorCodes.rateLimited and a
// deny verdict whose reason the audit-decision stage records. Calls denied later by the policy have
// taken their token too: probing denied tools is metered like any other call.
import type { AuditLog } from "../../audit/index.js";
import type { LimitResult, RateLimiter } from "../../limits/limiter.js";
import type { Principal } from "../../policy/principal.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { ClientIdentity, RequestContext, Stage } from "../pipeline.js";

export interface RateLimitStageOptions {
  limiter: RateLimiter;
  audit: Pick<AuditLog, "append">;
  /** The clock (tests inject one). */
  now?: () => number;
}

/** Store failures are audited at most this often: a store that is down must not flood the log. */
const STORE_ERROR_AUDIT_INTERVAL_MS = 60_000;

export function rateLimitStage({ limiter, audit, now = Date.now }: RateLimitStageOptions): Stage {
  const storeErrors = storeErrorAuditor(audit, now);
  return {
    name: "rate-limit",
    async run(ctx: RequestContext) {
      const target = ctx.target;
      // Every forwarded method is metered (global, server, caller); only tools/call has a tool bucket.
      const result = await limiter.check(
        { principal: ctx.principal, method: ctx.method, server: target?.upstream.name, tool: ctx.method === "tools/call" ? target?.canonical : undefined },
        now(),
      );
      storeErrors.note(result);
      if (result.ok) return;
      ctx.verdict = { decision: "deny", reason: result.reason, rule: result.limit };
      ctx.error = rateLimitError(result);
    },
  };
}

/**
 * Meters a list or discover call (tools/list, prompts/list, resources/list, ...), which takes from the
 * global and per-caller buckets. Returns the error to answer with when refused, after auditing the
 * refusal; undefined when the call may go ahead.
 */
export async function meterListCall(
  { limiter, audit, now = Date.now }: RateLimitStageOptions,
  request: { principal: Principal; method: string; id?: string; client?: ClientIdentity },
): Promise<GatewayError | undefined> {
  const result = await limiter.check({ principal: request.principal, method: request.method }, now());
  if (result.storeError !== undefined) auditStoreError(audit, result);
  if (result.ok) return undefined;
  audit.append({
    kind: "list",
    event: "decided",
    id: request.id,
    client: request.client,
    method: request.method,
    decision: "deny",
    reason: result.reason,
    rule: result.limit,
    outcome: "denied",
    detail: { retryAfterSeconds: result.retryAfterSeconds },
  });
  return rateLimitError(result);
}

/** The client's error for a refusal: data has what the HTTP front needs for 429 and Retry-After. */
export function rateLimitError(refusal: Extract<LimitResult, { ok: false }>): GatewayError {
  return new GatewayError(ErrorCodes.rateLimited, `Refused by mcp-warden: ${refusal.reason}`, {
    retryAfterSeconds: refusal.retryAfterSeconds,
    limit: refusal.limit,
    reason: refusal.reason,
  });
}

function storeErrorAuditor(audit: Pick<AuditLog, "append">, now: () => number) {
  let lastAt = -Infinity;
  let suppressed = 0;
  return {
    note(result: LimitResult) {
      if (result.storeError === undefined) return;
      const at = now();
      if (at - lastAt < STORE_ERROR_AUDIT_INTERVAL_MS) return void suppressed++;
      lastAt = at;
      auditStoreError(audit, result, suppressed);
      suppressed = 0;
    },
  };
}

function auditStoreError(audit: Pick<AuditLog, "append">, result: LimitResult, suppressed = 0): void {
  audit.append({
    kind: "gateway",
    event: "rate-limit-store-error",
    reason: result.ok ? 'the rate-limit store failed; remote.rateLimits.onStoreError is "allow", so requests go through unmetered' : result.reason,
    // A store's message may hold its URL; credentials in it are cut out.
    error: withoutUrlCredentials(result.storeError ?? ""),
    ...(suppressed > 0 ? { detail: { sinceLastRecord: suppressed } } : {}),
  });
}

function withoutUrlCredentials(message: string): string {
  return message.replace(/\/\/[^\s/@]*@/g, "//[REDACTED]@");
}
