// `/v1/approvals`: the questions of remote mode, for the principals with the approver role
// (`remote.auth.approvers`). A caller's `ask` is answered by that caller in band (their client's
// elicitation) or by an approver here; never by the caller through this endpoint, since the agent
// holds the caller's token and would approve its own calls. An approver cannot answer a question
// of their own calls here for the same reason.
import type { AuditSink } from "../../audit/index.js";
import type { ApprovalAnswer, ApprovalBroker, PendingApproval } from "../../approvals/broker.js";
import { makeDownstream, ownerOf } from "../../gateway/downstream.js";
import { type Principal, principalSelectors } from "../../policy/principal.js";
import { jsonError } from "./http-server.js";

export const APPROVALS_PATH = "/v1/approvals";

export function isApprover(p: Principal, approvers: readonly string[]): boolean {
  if (p.method === "local") return false;
  const mine = new Set(principalSelectors(p));
  return approvers.some((a) => a !== "*" && mine.has(a));
}

export function approvalsEndpoint(broker: ApprovalBroker, audit: AuditSink, approvers: readonly string[]) {
  const shown = (q: PendingApproval) => ({
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
    const owner = ownerOf(caller.principal);
    if (request.method === "GET" && path === APPROVALS_PATH) {
      const list = broker.list().map(shown);
      return new Response(JSON.stringify({ questions: list }), { status: 200, headers: { "content-type": "application/json" } });
    }
    const m = /^\/v1\/approvals\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (request.method !== "POST" || !m) return jsonError(404, `Not Found: GET ${APPROVALS_PATH}, or POST ${APPROVALS_PATH}/<id> with {"answer": ...}`);
    const question = broker.get(m[1]!);
    if (!question) return jsonError(404, "No such question (answered, expired or never asked)");
    if (question.principal === owner) return jsonError(403, "Forbidden: a question about your own call is answered through your client, not here");
    const answer = (body as { answer?: unknown } | null)?.answer;
    if (typeof answer !== "string" || !question.answers.includes(answer as ApprovalAnswer)) {
      return jsonError(400, `Bad Request: "answer" is one of ${question.answers.join(", ")}`);
    }
    const result = broker.answer(question.id, answer as ApprovalAnswer, "approver");
    audit.append({
      kind: "approval",
      event: "answered",
      principal: makeDownstream(caller.principal, { remote: true, address: caller.address }).audited,
      server: question.server,
      ...(question.tool !== undefined ? { tool: question.tool } : {}),
      decision: answer === "deny" ? "deny" : "allow",
      reason: result.ok ? `answered ${answer} by an approver` : `not applied: ${result.reason}`,
      detail: { approval: question.id, answer, by: "approver", ...(question.principal !== undefined ? { caller: question.principal } : {}) },
    });
    if (!result.ok) return jsonError(409, `Conflict: ${result.reason}`);
    return new Response(JSON.stringify({ id: question.id, answer }), { status: 200, headers: { "content-type": "application/json" } });
  };
}
