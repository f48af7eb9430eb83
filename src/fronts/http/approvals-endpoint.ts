// `/v1/approvals`: the questions of remote mode, for the principals with the approver role
// (`remote.auth.approvers`). A caller's `ask` is answered by that caller in band (their client's
// elicitation) or by an approver here; never by the caller through this endpoint, since the agent
// holds the caller's token and would approve its own calls. An approver cannot answer a question
// of their own calls here for the same reason.
//
// With several replicas (state.redis), a call is held by the replica it reached and the approver's
// request may reach another: the list then holds every replica's questions, and an answer to one held
// elsewhere is checked here as a local one would be, then sent to its holder (shared-approvals.ts).
// Whatever stops it on the way (Redis away, the holder silent) approves nothing.
import type { AuditSink } from "../../audit/index.js";
import { APPROVAL_ANSWERS, type ApprovalAnswer, type ApprovalBroker, type PendingApproval } from "../../approvals/broker.js";
import type { RemoteAnswerResult, SharedApprovals, SharedQuestion } from "../../approvals/shared-approvals.js";
import { makeDownstream, ownerOf } from "../../gateway/downstream.js";
import { type Principal, principalSelectors } from "../../policy/principal.js";
import { jsonError } from "./http-server.js";

export const APPROVALS_PATH = "/v1/approvals";

export function isApprover(p: Principal, approvers: readonly string[]): boolean {
  if (p.method === "local") return false;
  const mine = new Set(principalSelectors(p));
  return approvers.some((a) => a !== "*" && mine.has(a));
}

/** A question as an approver sees it: held by this replica's broker, or (SharedQuestion) by another. */
export type ListedQuestion = PendingApproval | SharedQuestion;

/** The result of an approver's answer: applied, or the HTTP status and message of why not. */
export type ApproverAnswerResult = { ok: true; id: string; answer: ApprovalAnswer } | { ok: false; status: number; message: string };

export interface ApproverActionsOptions {
  /**
   * `run`'s local console: the one person who started the gateway answers the calls of their own
   * client. serve leaves this unset: nobody answers their own calls there.
   */
  answerOwnCalls?: boolean;
  /** The channel recorded as having answered (broker and audit): "approver" (serve) or "page" (run's console). */
  by?: "approver" | "page";
}

/**
 * The approver role's questions and answers, whatever front they come through (this endpoint, the
 * console): the list across replicas, and an answer checked, applied or sent to its holder, and
 * audited with the approver as principal. The caller has checked that the principal is an approver.
 */
export function approverActions(broker: ApprovalBroker, audit: AuditSink, shared?: SharedApprovals, opts: ApproverActionsOptions = {}) {
  const by = opts.by ?? "approver";
  async function list(): Promise<{ questions: ListedQuestion[]; incomplete?: string }> {
    const local = broker.list();
    const listed: { questions: ListedQuestion[]; incomplete?: string } = { questions: [...local] };
    if (shared) {
      try {
        const mine = new Set(local.map((q) => q.id));
        // This replica's own entries come from its broker (one still in Redis may have settled just now).
        for (const q of await shared.list()) if (!mine.has(q.id) && q.replica !== shared.replicaId) listed.questions.push(q);
      } catch (e) {
        listed.incomplete = `the questions other replicas hold could not be read from Redis (${(e as Error).message}); only this replica's are listed: ask again when Redis answers`;
      }
    }
    return listed;
  }

  /** `via`: the front the answer came through, recorded in the audit detail when it is not this endpoint. */
  async function answer(id: string, answer: unknown, caller: { principal: Principal; address: string }, via?: string): Promise<ApproverAnswerResult> {
    const owner = ownerOf(caller.principal);
    const approver = makeDownstream(caller.principal, { remote: true, address: caller.address }).audited;
    const audited = (question: Pick<PendingApproval, "id" | "server" | "tool" | "principal"> | undefined, given: ApprovalAnswer, reason: string, extra: Record<string, unknown> = {}) =>
      audit.append({
        kind: "approval",
        event: "answered",
        principal: approver,
        ...(question ? { server: question.server } : {}),
        ...(question?.tool !== undefined ? { tool: question.tool } : {}),
        decision: given === "deny" ? "deny" : "allow",
        reason,
        detail: { approval: id, answer: given, by, ...(via !== undefined ? { via } : {}), ...(question?.principal !== undefined ? { caller: question.principal } : {}), ...extra },
      });
    const refused = (status: number, message: string): ApproverAnswerResult => ({ ok: false, status, message });

    let question: ListedQuestion | undefined = broker.get(id);
    if (!question && shared) {
      try {
        question = await shared.get(id);
      } catch (e) {
        const why = `the questions other replicas hold cannot be read from Redis (${(e as Error).message})`;
        if (typeof answer === "string" && (APPROVAL_ANSWERS as readonly string[]).includes(answer)) audited(undefined, answer as ApprovalAnswer, `not applied: ${why}`);
        return refused(503, `Service Unavailable: ${why}; nothing was answered: answer again when Redis answers (an unanswered call is denied at its timeout)`);
      }
      // Listed in Redis as this replica's but gone from its broker: it has just been settled.
      if (question?.replica === shared.replicaId) question = undefined;
    }
    if (!question) return refused(404, "No such question (answered, expired or never asked)");
    if (!opts.answerOwnCalls && question.principal === owner) return refused(403, "Forbidden: a question about your own call is answered through your client, not here");
    if (typeof answer !== "string" || !question.answers.includes(answer as ApprovalAnswer)) {
      return refused(400, `Bad Request: "answer" is one of ${question.answers.join(", ")}`);
    }
    const given = answer as ApprovalAnswer;
    if ("replica" in question) {
      const result = await shared!.answerRemote(question, given, owner);
      audited(question, given, result.ok ? `answered ${given} by an approver` : `not applied: ${result.reason}`, { heldBy: question.replica });
      if (!result.ok) return remoteFailure(result);
      return { ok: true, id: question.id, answer: given };
    }
    const result = broker.answer(question.id, given, by);
    const who = by === "approver" ? "an approver" : "the local person in the console";
    audited(question, given, result.ok ? `answered ${given} by ${who}` : `not applied: ${result.reason}`);
    if (!result.ok) return refused(409, `Conflict: ${result.reason}`);
    return { ok: true, id: question.id, answer: given };
  }

  /** Whether the person answering may answer their own calls' questions (run's local console). */
  const answersOwnCalls = opts.answerOwnCalls === true;
  return { list, answer, answersOwnCalls };
}

/** What a front needs of approverActions (answersOwnCalls is false unless said). */
export type ApproverActions = Omit<ReturnType<typeof approverActions>, "answersOwnCalls"> & { answersOwnCalls?: boolean };

export function approvalsEndpoint(actions: ApproverActions, approvers: readonly string[]) {
  const shown = (q: ListedQuestion) => ({
    id: q.id,
    kind: q.kind,
    server: q.server,
    ...(q.tool !== undefined ? { tool: q.tool } : {}),
    ...(q.arguments !== undefined ? { arguments: q.arguments } : {}),
    ...(q.argumentsDigest !== undefined ? { argumentsDigest: q.argumentsDigest } : {}),
    reason: q.reason,
    ...(q.principal !== undefined ? { caller: q.principal } : {}),
    answers: q.answers,
    createdAt: new Date(q.createdAt).toISOString(),
    expiresAt: new Date(q.expiresAt).toISOString(),
  });
  return async (request: Request, path: string, body: unknown, caller: { principal: Principal; address: string }): Promise<Response> => {
    if (!isApprover(caller.principal, approvers)) {
      return jsonError(403, "Forbidden: only principals listed in remote.auth.approvers answer questions here; a caller answers its own through its client");
    }
    if (request.method === "GET" && path === APPROVALS_PATH) {
      const listed = await actions.list();
      const out = { questions: listed.questions.map(shown), ...(listed.incomplete !== undefined ? { incomplete: listed.incomplete } : {}) };
      return new Response(JSON.stringify(out), { status: 200, headers: { "content-type": "application/json" } });
    }
    const m = /^\/v1\/approvals\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (request.method !== "POST" || !m) return jsonError(404, `Not Found: GET ${APPROVALS_PATH}, or POST ${APPROVALS_PATH}/<id> with {"answer": ...}`);
    const result = await actions.answer(m[1]!, (body as { answer?: unknown } | null)?.answer, caller);
    if (!result.ok) return jsonError(result.status, result.message);
    return new Response(JSON.stringify({ id: result.id, answer: result.answer }), { status: 200, headers: { "content-type": "application/json" } });
  };
}

/** An answer for another replica that was not applied: why, and what to do next. */
function remoteFailure(result: Extract<RemoteAnswerResult, { ok: false }>): ApproverAnswerResult {
  const after = "nothing was approved; the call stays held and is denied at its timeout unless someone answers";
  if (result.cause === "refused") return { ok: false, status: 409, message: `Conflict: ${result.reason}` };
  if (result.cause === "unreachable") return { ok: false, status: 503, message: `Service Unavailable: the answer could not be sent to the replica holding the call: ${result.reason}; ${after}: answer again shortly` };
  return { ok: false, status: 504, message: `Gateway Timeout: the replica holding the call did not answer: ${result.reason}; ${after}: list the questions again and answer again if it is still there` };
}
