// "Approve, then retry": a client that cannot be asked in band (no elicitation) gets its held call
// answered with an error that says how to approve it; the question stays open, and an approval given
// after the call ended lets that exact call through once when the client retries it within a window.
// Pure: the records, their binding and their state. The file store is src/adapters/grant-store.ts.
//
// What a grant is bound to: the client's name, the server's launch identity, the canonical tool name,
// the digest of the canonical arguments and the policy version. A retry that differs in any of them
// (other arguments, a changed launch configuration, changed rules) is asked again. A grant is used
// once: the store claims it atomically, so two concurrent retries (or two gateways) cannot both pass.
import * as z from "zod/v4";
import { APPROVAL_ANSWERS, type ApprovalAnswer } from "./broker.js";

export interface CallBinding {
  /** The client's declared name (clientInfo.name), "" when it gave none. */
  client: string;
  /** Digest of the server's launch identity. */
  serverIdentity: string;
  /** Canonical tool name, `mcp__server__tool`. */
  tool: string;
  /** sha256 of the canonical arguments, as forwarded. */
  argumentsDigest: string;
  /** Digest of the rules in force. */
  policyVersion: string;
  /** Remote mode: the caller whose call it is (Downstream.owner); only their retry can use the approval. */
  principal?: string;
}

/** Where the gateway that asked ran, so `mcp-warden approvals` can act (and audit) without it. */
export interface AskingGateway {
  pid: number;
  /** Its working directory: "always allow" writes the local layer there. */
  cwd: string;
  auditDir: string;
  auditKeyFile?: string;
}

/** A question about a held call, as persisted. */
export interface HeldCall {
  version: 1;
  id: string;
  binding: CallBinding;
  server: string;
  /** The arguments shown to the person; absent when they were too large to store (the digest binds them). */
  arguments?: Record<string, unknown>;
  reason: string;
  rule?: string;
  ruleFile?: string;
  answers: ApprovalAnswer[];
  createdAt: number;
  /** The question is answerable until then. */
  expiresAt: number;
  /** An approval lets the identical call through once, within this long after it was given. */
  retryWindowMs: number;
  gateway: AskingGateway;
}

export type AnswerChannel = "client" | "page" | "cli" | "approver";

export interface HeldCallAnswer {
  version: 1;
  id: string;
  answer: ApprovalAnswer;
  by: AnswerChannel;
  at: number;
}

const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const Time = z.number().int().nonnegative();
const Answer = z.enum(APPROVAL_ANSWERS as unknown as [ApprovalAnswer, ...ApprovalAnswer[]]);

const HeldCallSchema = z.strictObject({
  version: z.literal(1),
  id: Id,
  binding: z.strictObject({ client: z.string(), serverIdentity: z.string().min(1), tool: z.string().min(1), argumentsDigest: z.string().min(1), policyVersion: z.string().min(1), principal: z.string().min(1).optional() }),
  server: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).optional(),
  reason: z.string(),
  rule: z.string().optional(),
  ruleFile: z.string().optional(),
  answers: z.array(Answer).min(1),
  createdAt: Time,
  expiresAt: Time,
  retryWindowMs: z.number().int().positive(),
  gateway: z.strictObject({ pid: z.number().int().positive(), cwd: z.string().min(1), auditDir: z.string().min(1), auditKeyFile: z.string().min(1).optional() }),
});

const AnswerSchema = z.strictObject({ version: z.literal(1), id: Id, answer: Answer, by: z.enum(["client", "page", "cli", "approver"]), at: Time });

/** A persisted question, or why it is not one (read strictly: an unknown field is not a question). */
export function parseHeldCall(value: unknown, id: string): HeldCall | string {
  const r = HeldCallSchema.safeParse(value);
  if (!r.success) return `not a held-call record: ${r.error.issues[0]?.path.join(".") || "(top)"}: ${r.error.issues[0]?.message}`;
  if (r.data.id !== id) return `its id ${JSON.stringify(r.data.id)} does not match its file name`;
  if (r.data.expiresAt < r.data.createdAt) return "it expires before it was created";
  return r.data as HeldCall;
}

export function parseHeldCallAnswer(value: unknown, id: string): HeldCallAnswer | string {
  const r = AnswerSchema.safeParse(value);
  if (!r.success) return `not an answer record: ${r.error.issues[0]?.path.join(".") || "(top)"}: ${r.error.issues[0]?.message}`;
  if (r.data.id !== id) return `its id ${JSON.stringify(r.data.id)} does not match its file name`;
  return r.data;
}

export function sameBinding(a: CallBinding, b: CallBinding): boolean {
  return (
    a.client === b.client &&
    a.serverIdentity === b.serverIdentity &&
    a.tool === b.tool &&
    a.argumentsDigest === b.argumentsDigest &&
    a.policyVersion === b.policyVersion &&
    (a.principal ?? "") === (b.principal ?? "")
  );
}

/**
 * - pending: nobody answered yet, still answerable;
 * - granted: a person allowed it; the identical call passes once until `until`;
 * - denied: a person refused it (or the answer is not one this question offered);
 * - expired: unanswered past its time, or granted and not used within the window.
 */
export type HeldCallState =
  | { state: "pending"; until: number }
  | { state: "granted"; until: number; answer: HeldCallAnswer }
  | { state: "denied"; answer?: HeldCallAnswer; why: string }
  | { state: "expired"; granted: boolean; at: number };

export function heldCallState(q: HeldCall, a: HeldCallAnswer | undefined, now: number): HeldCallState {
  if (!a) return now < q.expiresAt ? { state: "pending", until: q.expiresAt } : { state: "expired", granted: false, at: q.expiresAt };
  if (a.answer === "deny") return { state: "denied", answer: a, why: `denied by a person (${a.by})` };
  // Fail closed on answers the question did not offer, or given outside its time.
  if (!q.answers.includes(a.answer)) return { state: "denied", answer: a, why: `${a.answer} is not an answer to this question` };
  if (a.at < q.createdAt || a.at > q.expiresAt) return { state: "denied", answer: a, why: "answered outside the question's time" };
  const until = a.at + q.retryWindowMs;
  return now < until ? { state: "granted", until, answer: a } : { state: "expired", granted: true, at: until };
}

export function formatMinutes(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  const min = Math.round(ms / 60_000);
  return `${min} min`;
}

/**
 * The text a client that could not be asked receives: who must act, how, and that the call must
 * then be retried. It reaches the model too, so it names the commands a person runs but never a
 * link that approves by itself: the agent must not hold a capability to approve. The commands named either answer (the hook asks about them) or print no link. `console`: run's
 * local console is on, where the person answers after signing in with a link from `mcp-warden
 * console` (which the Claude Code hook asks about too).
 */
export function retryInstructions(o: { tool: string; reason: string; id: string; retryWindowMs: number; why: string; console?: boolean }): string {
  return [
    `mcp-warden held back ${o.tool}: it needs a person's approval (${o.reason}), and ${o.why}. Nothing was run.`,
    `To approve it, the user runs \`mcp-warden approvals approve ${o.id}\`${o.console ? " (or answers it in the console: `mcp-warden console` prints a sign-in link)" : ""}.`,
    `Then call ${o.tool} again with exactly the same arguments within ${formatMinutes(o.retryWindowMs)}: it goes through once. To refuse it: \`mcp-warden approvals deny ${o.id}\``,
  ].join("\n");
}
