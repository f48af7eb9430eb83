// Approvals shared between `serve` replicas. A held call waits in the broker of the replica it reached;
// an approver's request may reach another replica. The questions every replica holds are published
// to a shared store (Redis: src/state/redis-approvals.ts) so that any replica lists them, and an
// answer given on one replica is sent to the replica holding the call, which applies it to its own
// broker and says whether it did. Session grants are announced to every replica.
//
// Fail closed: an answer that does not reach the holder, or whose confirmation does not come back,
// approves nothing (the call stays held and is denied at its timeout); a message that does not read
// as exactly what is expected is dropped, never applied; a replica that missed a grant asks again.
//
// The store is inside the trust boundary: whoever can write to it can answer questions and grant
// sessions on every replica, as whoever can write to it can change the rate limits. Protect it with a
// password or ACL user and TLS (rediss://), and give no one else access to it.
//
// Pure: the records and messages, their names and their validation; no I/O.
import * as z from "zod/v4";
import { APPROVAL_ANSWERS, type ApprovalAnswer, type PendingApproval, type SessionGrant } from "./broker.js";

/** A question as published for the other replicas: what the approvals endpoint shows, and who holds it. */
export interface SharedQuestion {
  id: string;
  kind: PendingApproval["kind"];
  server: string;
  tool?: string;
  arguments?: Record<string, unknown>;
  argumentsDigest?: string;
  reason: string;
  /**
   * For tool and server changes: what changed (the broker's `diff`), at most MAX_SHARED_DIFF_BYTES;
   * a longer one is cut there and ends with DIFF_CUT_NOTE.
   */
  diff?: string;
  /** The caller whose call it is (Downstream.owner): they may not answer it through the endpoint. */
  principal?: string;
  answers: ApprovalAnswer[];
  createdAt: number;
  expiresAt: number;
  /** The replica whose broker holds it. */
  replica: string;
}

/** An answer sent to the replica holding the question. */
export interface AnswerRequest {
  id: string;
  answer: ApprovalAnswer;
  by: "approver";
  /** The approver's owner key: the holder checks again that nobody answers their own call. */
  approver: string;
  /** Where the holder publishes its reply (the answering replica's reply channel). */
  reply: string;
  nonce: string;
  /** Epoch ms (the answering replica's clock): past it the holder applies nothing, since the approver was already told it failed. */
  deadline: number;
}

/** The holder's reply: whether the answer was applied to its broker. */
export interface AnswerReply {
  nonce: string;
  ok: boolean;
  reason?: string;
}

/** A session grant as announced to the other replicas. */
export interface GrantMessage extends SessionGrant {
  /** The replica whose broker granted it (a replica ignores its own). */
  from: string;
}

export type RemoteAnswerResult =
  | { ok: true }
  /** refused: the holder answered and did not apply it; no-reply: nothing came back in time; unreachable: it could not be sent. */
  | { ok: false; cause: "refused" | "no-reply" | "unreachable"; reason: string };

/** What the approvals endpoint needs of the shared store. */
export interface SharedApprovals {
  /** This replica's id (random, per process). */
  readonly replicaId: string;
  /** Every replica's open questions (this one's too), expired ones left out. Throws when the store cannot be read. */
  list(): Promise<SharedQuestion[]>;
  /** One question, undefined when no replica holds it. Throws when the store cannot be read. */
  get(id: string): Promise<SharedQuestion | undefined>;
  /** Sends `answer` to the replica holding `question` and waits (bounded) for its reply. Never throws. */
  answerRemote(question: SharedQuestion, answer: ApprovalAnswer, approver: string): Promise<RemoteAnswerResult>;
  close(): Promise<void>;
}

/** Key and channel names, all under `mcp-warden:`. Pub/sub channels span a Redis server's databases, so they name the database. */
export function sharedNames(db: number) {
  const channels = `mcp-warden:approvals:db${db}:`;
  return {
    question: (id: string) => `mcp-warden:approval:${id}`,
    /** Sorted set of question ids by expiresAt. */
    index: "mcp-warden:approvals:index",
    /** Answer requests for the replica holding a question. */
    holder: (replica: string) => `${channels}holder:${replica}`,
    /** Replies for the replica that sent an answer. */
    reply: (replica: string) => `${channels}reply:${replica}`,
    grants: `${channels}grants`,
    isReplyChannel: (channel: string) => channel.startsWith(`${channels}reply:`) && REPLICA_ID_RE.test(channel.slice(`${channels}reply:`.length)),
  };
}

/** A message larger than this is not one of ours (a question's arguments are the largest part). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A changed definition's diff is published up to this size: enough to read, small enough to list often. */
export const MAX_SHARED_DIFF_BYTES = 16 * 1024;
/** Ends a diff cut at MAX_SHARED_DIFF_BYTES (its full text stays with the replica holding the question). */
export const DIFF_CUT_NOTE = "\n… (cut at 16 KiB when shared between replicas: the rest is left out here; the replica holding this question shows the whole diff on its own Approvals page)";

const REPLICA_ID_RE = /^[0-9a-f]{32}$/;
const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const ReplicaId = z.string().regex(REPLICA_ID_RE);
const Nonce = z.string().regex(/^[0-9a-f]{32}$/);
const Time = z.number().int().nonnegative();
const Answer = z.enum(APPROVAL_ANSWERS as unknown as [ApprovalAnswer, ...ApprovalAnswer[]]);

const QuestionSchema = z.strictObject({
  id: Id,
  kind: z.enum(["call", "tool-change", "server", "client-request"]),
  server: z.string().min(1),
  tool: z.string().min(1).optional(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  argumentsDigest: z.string().min(1).optional(),
  reason: z.string(),
  diff: z
    .string()
    .refine((d) => Buffer.byteLength(d) <= MAX_SHARED_DIFF_BYTES + Buffer.byteLength(DIFF_CUT_NOTE), `longer than ${MAX_SHARED_DIFF_BYTES} bytes`)
    .optional(),
  principal: z.string().min(1).optional(),
  answers: z.array(Answer).min(1),
  createdAt: Time,
  expiresAt: Time,
  replica: ReplicaId,
});

const AnswerRequestSchema = z.strictObject({
  id: Id,
  answer: Answer,
  by: z.literal("approver"),
  approver: z.string().min(1).max(2048),
  reply: z.string().min(1).max(256),
  nonce: Nonce,
  deadline: Time,
});

const AnswerReplySchema = z.strictObject({ nonce: Nonce, ok: z.boolean(), reason: z.string().max(2048).optional() });

const GrantSchema = z.strictObject({
  serverIdentity: z.string().min(1),
  tool: z.string().min(1).optional(),
  policyVersion: z.string().min(1),
  principal: z.string().min(1).optional(),
  until: Time,
  from: ReplicaId,
});

/** Random ids: a replica's and a nonce are 16 bytes, hex. */
export function isReplicaId(value: string): boolean {
  return REPLICA_ID_RE.test(value);
}

/** The published form of a broker's question; `redact` removes configured secrets from the arguments. */
export function sharedQuestionOf(p: PendingApproval, replica: string, redact: (value: unknown) => unknown = (v) => v): SharedQuestion {
  return {
    id: p.id,
    kind: p.kind,
    server: p.server,
    ...(p.tool !== undefined ? { tool: p.tool } : {}),
    ...(p.arguments !== undefined ? { arguments: redact(p.arguments) as Record<string, unknown> } : {}),
    ...(p.argumentsDigest !== undefined ? { argumentsDigest: p.argumentsDigest } : {}),
    reason: p.reason,
    ...(p.diff !== undefined ? { diff: boundedDiff(redact(p.diff) as string) } : {}),
    ...(p.principal !== undefined ? { principal: p.principal } : {}),
    answers: [...p.answers],
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
    replica,
  };
}

/** `diff` as published: whole when it fits MAX_SHARED_DIFF_BYTES, else cut at a line (or character) boundary with DIFF_CUT_NOTE. */
export function boundedDiff(diff: string): string {
  if (Buffer.byteLength(diff) <= MAX_SHARED_DIFF_BYTES) return diff;
  // Cut on a UTF-8 character boundary: a streaming decode keeps a split last character back.
  let cut = new TextDecoder("utf-8").decode(Buffer.from(diff).subarray(0, MAX_SHARED_DIFF_BYTES), { stream: true });
  const line = cut.lastIndexOf("\n");
  if (line > MAX_SHARED_DIFF_BYTES / 2) cut = cut.slice(0, line);
  return cut + DIFF_CUT_NOTE;
}

/** Parses JSON text (bounded in size) and checks it with `check`; the value, or why it is not one. */
function read<T>(text: string, what: string, check: (value: unknown) => T | string): T | string {
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) return `${what}: larger than ${MAX_MESSAGE_BYTES} bytes`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${what}: not JSON`;
  }
  const r = check(value);
  return typeof r === "string" ? `${what}: ${r}` : r;
}

function issue(error: z.ZodError): string {
  const first = error.issues[0];
  return `${first?.path.join(".") || "(top)"}: ${first?.message ?? "invalid"}`;
}

/** A stored question, or why it is not one (strictly: an unknown field is not a question). */
export function parseSharedQuestion(text: string): SharedQuestion | string {
  return read(text, "question", (value) => {
    const r = QuestionSchema.safeParse(value);
    if (!r.success) return issue(r.error);
    if (r.data.expiresAt < r.data.createdAt) return "it expires before it was created";
    return r.data as SharedQuestion;
  });
}

/** An answer request, or why it is not one; `replyChannel` says which reply channels are ours to publish to. */
export function parseAnswerRequest(text: string, replyChannel: (channel: string) => boolean): AnswerRequest | string {
  return read(text, "answer request", (value) => {
    const r = AnswerRequestSchema.safeParse(value);
    if (!r.success) return issue(r.error);
    // The holder publishes to the channel the message names: only to a replica's reply channel.
    if (!replyChannel(r.data.reply)) return "reply: not a replica's reply channel";
    return r.data;
  });
}

export function parseAnswerReply(text: string): AnswerReply | string {
  return read(text, "answer reply", (value) => {
    const r = AnswerReplySchema.safeParse(value);
    return r.success ? r.data : issue(r.error);
  });
}

export function parseGrantMessage(text: string): GrantMessage | string {
  return read(text, "session grant", (value) => {
    const r = GrantSchema.safeParse(value);
    return r.success ? (r.data as GrantMessage) : issue(r.error);
  });
}
