// Pending human approvals and the grants they leave behind. One broker per gateway process; the
// channels that can answer (the client's elicitation, the local console, `mcp-warden approvals`)
// all call answer(), and the first answer wins. No I/O here besides timers: the page server, the
// CLI and the settings writer are adapters around it.
//
// An approval is for one held request: its id names exactly that request, the request's arguments
// are fixed (the held call is forwarded with the arguments that were shown, never with a retry's),
// and it expires. A session grant binds the server's identity, the tool and the policy version, so it
// cannot carry over to a server whose launch configuration changed or to changed rules.
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";

export type ApprovalAnswer = "allow-once" | "allow-session" | "allow-always" | "deny";
export const APPROVAL_ANSWERS: readonly ApprovalAnswer[] = ["allow-once", "allow-session", "allow-always", "deny"];

/** Who answered: a person through one of the channels, or nobody. */
export type AnsweredBy = "client" | "page" | "cli" | "approver" | "timeout" | "cancelled" | "unreachable";

export interface ApprovalRequest {
  /**
   * `call`: a tool call an ask rule holds; `tool-change`: a changed tool definition; `server`: a new
   * or changed launch configuration; `client-request`: a server's sampling, elicitation or roots request.
   */
  kind: "call" | "tool-change" | "server" | "client-request";
  /** For client requests: the JSON-RPC method the server sent. */
  method?: string;
  server: string;
  /** Digest of the server's launch configuration (command and arguments, or URL). */
  serverIdentity: string;
  /** The canonical tool name (`mcp__server__tool`), for calls and tool changes. */
  tool?: string;
  /** The call's arguments, exactly as they will be forwarded. */
  arguments?: Record<string, unknown>;
  /** sha256 of the canonical arguments, shown so a person can compare two questions. */
  argumentsDigest?: string;
  /** Why a person is asked (the rule's reason, or what changed). */
  reason: string;
  rule?: string;
  ruleFile?: string;
  /** For tool and server changes: what changed, rendered for a person. */
  diff?: string;
  policyVersion: string;
  /** Remote mode: the caller whose call or request it is (Downstream.owner); grants are theirs alone. */
  principal?: string;
  /** Which answers make sense (a tool change cannot be "always allowed" as a rule). */
  answers: readonly ApprovalAnswer[];
  /**
   * Set for a call whose client cannot be asked in band: once the call has ended (callEnded), an
   * approval lets the identical call through once when it is retried within this long.
   */
  retryWindowMs?: number;
}

export interface PendingApproval extends ApprovalRequest {
  id: string;
  createdAt: number;
  expiresAt: number;
  /** The held call was answered (with how to approve and retry); the question stays open until expiresAt. */
  callEnded?: boolean;
}

export interface ApprovalResult {
  answer: ApprovalAnswer;
  by: AnsweredBy;
}

interface Entry {
  pending: PendingApproval;
  settle(result: ApprovalResult): void;
}

export interface BrokerOptions {
  /** How long a question waits for an answer before it is denied. */
  timeoutMs: number;
  /** How long a session grant lasts (default: as long as the process). */
  sessionGrantMs?: number;
  now?: () => number;
}

export type SessionGrantScope = Pick<ApprovalRequest, "serverIdentity" | "tool" | "policyVersion" | "principal">;

/** A session grant and when it ends (epoch ms). */
export interface SessionGrant extends SessionGrantScope {
  until: number;
}

/**
 * Events: "opened" (PendingApproval), "settled" (PendingApproval, ApprovalResult), "session-granted"
 * (SessionGrant: a person's answer here granted it; not for grants accepted from elsewhere).
 */
export class ApprovalBroker extends EventEmitter {
  private readonly pending = new Map<string, Entry>();
  /** Grant key -> when the grant ends. */
  private readonly sessionGrants = new Map<string, number>();
  private readonly now: () => number;
  private sessionGrantMs: number;

  constructor(private readonly opts: BrokerOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.sessionGrantMs = opts.sessionGrantMs ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Holds a request until a person answers, the timeout passes (deny) or `signal` aborts (deny).
   * `timeoutMs`: this question's own limit (a changed tool waits longer than a held call).
   * `result` never rejects.
   */
  open(request: ApprovalRequest, signal?: AbortSignal, timeoutMs = this.opts.timeoutMs): { id: string; pending: PendingApproval; result: Promise<ApprovalResult> } {
    // 128 bits: ids of several replicas' brokers share one namespace (src/approvals/shared-approvals.ts).
    const id = randomBytes(16).toString("hex");
    const createdAt = this.now();
    const pending: PendingApproval = { ...request, id, createdAt, expiresAt: createdAt + timeoutMs };
    let settle!: (r: ApprovalResult) => void;
    const result = new Promise<ApprovalResult>((resolve) => (settle = resolve));
    const timer = setTimeout(() => finish({ answer: "deny", by: "timeout" }), timeoutMs);
    timer.unref();
    const onAbort = () => finish({ answer: "deny", by: "cancelled" });
    const finish = (r: ApprovalResult) => {
      if (!this.pending.has(id)) return;
      this.pending.delete(id);
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle(r);
      this.emit("settled", pending, r);
    };
    this.pending.set(id, { pending, settle: finish });
    if (signal?.aborted) finish({ answer: "deny", by: "cancelled" });
    else signal?.addEventListener("abort", onAbort, { once: true });
    if (this.pending.has(id)) this.emit("opened", pending);
    return { id, pending, result };
  }

  list(): PendingApproval[] {
    return [...this.pending.values()].map((e) => e.pending);
  }

  get(id: string): PendingApproval | undefined {
    return this.pending.get(id)?.pending;
  }

  /** A person's answer. Refused when the question is gone (answered, expired) or the answer does not apply. */
  answer(id: string, answer: ApprovalAnswer, by: Exclude<AnsweredBy, "timeout" | "cancelled" | "unreachable">): { ok: true } | { ok: false; reason: string } {
    const entry = this.pending.get(id);
    if (!entry) return { ok: false, reason: `no pending approval ${JSON.stringify(id)} (already answered, expired or never asked)` };
    if (!entry.pending.answers.includes(answer)) return { ok: false, reason: `${answer} is not an answer to this question (choose ${entry.pending.answers.join(", ")})` };
    entry.settle({ answer, by });
    return { ok: true };
  }

  /** Ends a question without a person (no channel could reach one, or its call could wait no longer). */
  abandon(id: string, by: "unreachable" | "cancelled" | "timeout"): void {
    this.pending.get(id)?.settle({ answer: "deny", by });
  }

  /** The held call has ended; the question stays answerable (an approval then applies to a retry). */
  markCallEnded(id: string): void {
    const entry = this.pending.get(id);
    if (entry) entry.pending.callEnded = true;
  }

  /** Denies everything pending (the gateway is stopping). */
  close(): void {
    for (const e of [...this.pending.values()]) e.settle({ answer: "deny", by: "cancelled" });
  }

  /** Session grants last at most `ms` from now on (grants already given keep their end). */
  limitSessionGrants(ms: number): void {
    this.sessionGrantMs = ms;
  }

  /** A person's "allow for this session" given here; announced with "session-granted". */
  grantSession(request: SessionGrantScope): void {
    const until = this.now() + this.sessionGrantMs;
    this.pruneGrants();
    this.sessionGrants.set(grantKey(request), until);
    const grant: SessionGrant = {
      serverIdentity: request.serverIdentity,
      ...(request.tool !== undefined ? { tool: request.tool } : {}),
      policyVersion: request.policyVersion,
      ...(request.principal !== undefined ? { principal: request.principal } : {}),
      until,
    };
    this.emit("session-granted", grant);
  }

  /** A grant given elsewhere (another replica); it never lasts longer than one given here would. */
  acceptSessionGrant(grant: SessionGrant): void {
    const now = this.now();
    const until = Math.min(grant.until, now + this.sessionGrantMs);
    if (!(until > now)) return;
    this.pruneGrants();
    const key = grantKey(grant);
    this.sessionGrants.set(key, Math.max(this.sessionGrants.get(key) ?? 0, until));
  }

  hasSessionGrant(request: SessionGrantScope): boolean {
    const key = grantKey(request);
    const until = this.sessionGrants.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.sessionGrants.delete(key);
    return false;
  }

  private pruneGrants(): void {
    const now = this.now();
    for (const [key, until] of this.sessionGrants) if (until <= now) this.sessionGrants.delete(key);
  }
}

function grantKey(r: SessionGrantScope): string {
  // One caller's "allow for this session" is never another caller's.
  return JSON.stringify([r.serverIdentity, r.tool ?? "", r.policyVersion, r.principal ?? ""]);
}
