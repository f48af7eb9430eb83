// ask: a person must confirm. The call is held while every available channel asks at once (the
// client's elicitation, the local approval page, `mcp-warden approvals`); the first answer wins. No
// answer before the timeout, no channel at all, a withdrawn question or an exception: deny.
//
// What is approved is exactly this held call: the arguments forwarded are the ones shown (the
// pipeline context is fixed before the question), and an answer names this question's id. A
// session grant binds server identity, tool and policy version; "always" also writes an allow rule
// to the local settings layer (never managed) for later sessions.
import { createHash } from "node:crypto";
import type { AuditLog } from "../../audit/index.js";
import { type ApprovalAnswer, type ApprovalBroker, type ApprovalRequest, APPROVAL_ANSWERS } from "../../approvals/broker.js";
import { renderArguments } from "../../policy/integrity/display.js";
import { canonicalJson } from "../../policy/integrity/pins.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";

export interface AskServices {
  broker: ApprovalBroker;
  audit: AuditLog;
  /** Digest of the rules in force; session grants and approvals bind to it. */
  policyVersion: string;
  /** Digest of a server's launch configuration. */
  identityOf(server: string): string;
  /** Starts (once) the local approval page and returns the one-time URL for a question, or undefined when there is none. */
  pageUrl(id: string): Promise<string | undefined>;
  /** Tells the person a question waits (stderr and the client's log), with where to answer. */
  announce(ctx: RequestContext, text: string): void;
  /** Writes `rule` as an allow rule to the local settings layer; returns the file written. */
  writeAllowRule(rule: string): Promise<string>;
  /** Whether to ask through the client (settings `approvals.client`). */
  useClient: boolean;
}

/** Elicitation answers, in the order a person sees them. */
const CHOICES: { answer: ApprovalAnswer; title: string }[] = [
  { answer: "allow-once", title: "Allow once" },
  { answer: "allow-session", title: "Allow for this session" },
  { answer: "allow-always", title: "Always allow (adds an allow rule to local settings)" },
  { answer: "deny", title: "Deny" },
];

export function argumentsDigest(args: Record<string, unknown>): string {
  return "sha256:" + createHash("sha256").update(JSON.stringify(canonicalJson(args))).digest("hex");
}

/** The question as the client's elicitation form shows it. */
export function elicitationFor(request: ApprovalRequest, id: string, pageUrl: string | undefined): Record<string, unknown> {
  const lines = [
    `mcp-warden: approve this call? (question ${id})`,
    `Server: ${request.server}`,
    `Tool: ${request.tool}`,
    `Why asked: ${request.reason}${request.rule ? ` — rule ${request.rule}` : ""}${request.ruleFile ? ` in ${request.ruleFile}` : ""}`,
    `Arguments (${request.argumentsDigest}):`,
    renderArguments(request.arguments ?? {}),
  ];
  if (pageUrl) lines.push(`Or answer at ${pageUrl}`);
  return {
    mode: "form",
    message: lines.join("\n"),
    requestedSchema: {
      type: "object",
      properties: {
        decision: {
          type: "string",
          title: "Decision",
          oneOf: CHOICES.filter((c) => request.answers.includes(c.answer)).map((c) => ({ const: c.answer, title: c.title })),
        },
      },
      required: ["decision"],
    },
  };
}

/** An elicitation result as an answer: only an accepted form with a known decision allows anything. */
export function answerFromElicitation(result: Record<string, unknown>): ApprovalAnswer {
  if (result.action !== "accept") return "deny";
  const decision = (result.content as Record<string, unknown> | undefined)?.decision;
  return typeof decision === "string" && (APPROVAL_ANSWERS as readonly string[]).includes(decision) ? (decision as ApprovalAnswer) : "deny";
}

export function askStage(services: AskServices): Stage {
  return {
    name: "ask",
    async run(ctx: RequestContext) {
      const v = ctx.verdict!;
      if (v.decision !== "ask") return;
      const target = ctx.target!;
      const server = target.upstream.name;
      // What will be forwarded (redacted already if a secret was found and the setting says so).
      const args = ((ctx.upstreamParams ?? ctx.params).arguments as Record<string, unknown> | undefined) ?? {};
      const request: ApprovalRequest = {
        kind: "call",
        server,
        serverIdentity: services.identityOf(server),
        tool: target.canonical,
        arguments: args,
        argumentsDigest: argumentsDigest(args),
        reason: v.reason,
        ...(v.rule !== undefined ? { rule: v.rule } : {}),
        ...(v.source?.file !== undefined ? { ruleFile: v.source.file } : {}),
        policyVersion: services.policyVersion,
        // An ask rule outranks every allow rule, so "always allow" (an allow rule) is offered only
        // when no rule asked (unmatched calls ask by default); it would not stop the next question.
        answers: v.rule === undefined ? APPROVAL_ANSWERS : APPROVAL_ANSWERS.filter((a) => a !== "allow-always"),
      };
      if (services.broker.hasSessionGrant(request)) {
        ctx.verdict = { ...v, decision: "allow", reason: `approved for this session (${v.reason})` };
        return;
      }

      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const { id, result } = services.broker.open(request, stop.signal);
      try {
        const channels: string[] = [];
        const url = await services.pageUrl(id).catch(() => undefined);
        if (url) channels.push("page");
        if (services.useClient && ctx.askClient) {
          channels.push("client");
          ctx
            .askClient(elicitationFor(request, id, url), stop.signal)
            .then((r) => {
              // An answer this question does not offer is a deny, not a question left open.
              if (!services.broker.answer(id, answerFromElicitation(r), "client").ok) services.broker.answer(id, "deny", "client");
            })
            // The client could not ask (or the question was withdrawn): the other channels stay open;
            // with none, the question ends now rather than at the timeout.
            .catch(() => {
              if (channels.length === 1) services.broker.abandon(id, "unreachable");
            });
        }
        services.audit.append({
          kind: "approval",
          event: "asked",
          id: ctx.id,
          server,
          tool: target.canonical,
          reason: v.reason,
          rule: v.rule,
          ruleSource: v.source,
          detail: { approval: id, channels, argumentsDigest: request.argumentsDigest },
        });
        if (!channels.length) services.broker.abandon(id, "unreachable");
        else services.announce(ctx, `${target.canonical} needs approval (question ${id})${url ? `: open ${url}` : ""} or run \`mcp-warden approvals approve ${id}\``);

        const answer = await result;
        services.audit.append({
          kind: "approval",
          event: "answered",
          id: ctx.id,
          server,
          tool: target.canonical,
          decision: answer.answer === "deny" ? "deny" : "allow",
          detail: { approval: id, answer: answer.answer, by: answer.by, waitedMs: Date.now() - ctx.startedAt },
        });
        if (answer.answer === "deny") {
          const why =
            answer.by === "timeout"
              ? "nobody answered before the approval timeout"
              : answer.by === "unreachable"
                ? "no approval channel is available (the client cannot be asked and the approval page is off)"
                : answer.by === "cancelled"
                  ? "the call was cancelled while waiting"
                  : `denied by a person (${answer.by})`;
          throw new GatewayError(ErrorCodes.needsApproval, `${target.canonical} needs approval (${v.reason}), and it was not given: ${why}.`, {
            decision: "deny",
            reason: why,
            rule: v.rule,
          });
        }
        if (answer.answer === "allow-session" || answer.answer === "allow-always") services.broker.grantSession(request);
        let note = "";
        if (answer.answer === "allow-always") {
          try {
            note = `; allow rule ${target.canonical} written to ${await services.writeAllowRule(target.canonical)}`;
          } catch (e) {
            // The approval of this call stands; the rule could not be kept for later sessions.
            note = `; the allow rule could not be written: ${(e as Error).message}`;
          }
        }
        ctx.verdict = { ...v, decision: "allow", reason: `approved (${answer.answer}) through the ${answer.by}${note}` };
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        // Withdraws the question from the channels that did not answer.
        stop.abort();
      }
    },
  };
}
