// ask: a person must confirm. The call is held while every available channel asks at once (the
// client's elicitation, the local console, `mcp-warden approvals`); the first answer wins. No
// answer before the timeout, no channel at all, a withdrawn question or an exception: deny.
//
// What is approved is exactly this held call: the arguments forwarded are the ones shown (the
// pipeline context is fixed before the question), and an answer names this question's id. A
// session grant binds server identity, tool and policy version; "always" also writes an allow rule
// to the local settings layer (never managed) for later sessions.
//
// A client that cannot be asked in band (no elicitation, or approvals.client off) would time out
// (60 s by default) while a person is found. Its call is held at most approvals.holdMs (or, when it
// sent a progressToken, kept alive with progress until approvals.timeoutMs), then answered with a
// tool error naming the command that approves it. The question stays open, on disk
// too (src/adapters/grant-store.ts), for approvals.retryWindowMs: an approval given then lets the
// identical call (client, server identity, tool, arguments digest, policy version) through once.
//
// No message of the gateway carries a link that answers by itself (there used to be a question page,
// /a/ID?t=TOKEN; it is gone): whoever holds such a link answers the question, and every place a
// message goes is kept or read by more than the person.
// stderr and the client's log notifications end up in files the agent can read (Claude Code keeps
// both under ~/.cache/claude-cli-nodejs/<project>/mcp-logs-<server>/); the tool result, errors and
// progress may reach the model; the elicitation form passes through the client's hooks (Claude
// Code's Elicitation hook) and logs, and answers the question by itself anyway. The messages name the question and
// the ways to answer that need the person: `mcp-warden approvals approve|deny ID` and the console
// (`mcp-warden console` prints a sign-in link whose ticket is spent on first use); the Claude Code
// hook asks the person before the agent runs either command.
import { ownerOf } from "../downstream.js";
import { createHash } from "node:crypto";
import type { AuditSink } from "../../audit/index.js";
import { type ApprovalAnswer, type ApprovalBroker, type ApprovalRequest, type ApprovalResult, APPROVAL_ANSWERS } from "../../approvals/broker.js";
import { type AskingGateway, type CallBinding, type HeldCall, formatMinutes, retryInstructions } from "../../approvals/retry-grants.js";
import type { HeldCallStore } from "../../adapters/grant-store.js";
import { renderArguments } from "../../policy/integrity/display.js";
import { canonicalJson } from "../../policy/integrity/pins.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";

export interface AskServices {
  broker: ApprovalBroker;
  audit: AuditSink;
  /** Digest of the rules in force now (a settings reload changes it); session grants and approvals bind to it. */
  policyVersion(): string;
  /** Digest of a server's launch configuration. */
  identityOf(server: string): string;
  /** Remote mode: where principals with the approver role answer (serve's /v1/approvals, its console), a channel of its own; undefined when nobody can. */
  approvers?: () => string | undefined;
  /**
   * Starts (once) the local page server: the API `mcp-warden approvals` answers through and run's
   * console. False when it is off or cannot start.
   */
  pageServer(): Promise<boolean>;
  /**
   * Tells the person a question waits (stderr, the client's log, progress of the held call if it has
   * a token). `text` is what howToAnswer says: no link (see the top of this file).
   */
  announce(ctx: RequestContext, text: string): void;
  /** run's local console is on (the page server serves it): the person can answer there too. */
  localConsole?: boolean;
  /** Writes `rule` as an allow rule to the local settings layer; returns the file written. */
  writeAllowRule(rule: string): Promise<string>;
  /** Whether to ask through the client (settings `approvals.client`). */
  useClient: boolean;
  /**
   * Questions about held calls on disk, so they outlive the call and the gateway ("approve, then
   * retry"). Undefined when nobody can answer out of band (approvals.page off).
   */
  heldCalls?: Pick<HeldCallStore, "save" | "consume" | "remove" | "answer" | "prune">;
  /** approvals.timeoutMs, approvals.holdMs, approvals.retryWindowMs. */
  timeoutMs: number;
  holdMs: number;
  retryWindowMs: number;
  /** This gateway, as recorded with a persisted question. */
  gateway: AskingGateway;
  /** A line on the gateway's stderr. */
  log(message: string): void;
  /** Removes configured secret values (as the audit log does) from what is stored on disk. */
  redact?(value: unknown): unknown;
}

/** How often a call kept alive by progress says again who must act. */
const PROGRESS_EVERY_MS = 10_000;

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

/** Where a question can be answered besides the client's form. */
export interface AnswerWays {
  /** `mcp-warden approvals approve|deny ID` (the page server runs, or the question is on disk). */
  cli: boolean;
  /** run's local console (`mcp-warden console` prints a sign-in link). */
  console: boolean;
  /** serve: where principals with the approver role answer. */
  approversAt?: string | undefined;
}

/** The ways to answer question `id`, each a phrase for the person; never a link that answers by itself. */
export function waysToAnswer(id: string, o: AnswerWays): string[] {
  return [
    ...(o.cli ? [`run \`mcp-warden approvals approve ${id}\``] : []),
    ...(o.console ? ["answer it in the console (`mcp-warden console` prints a sign-in link)"] : []),
    ...(o.approversAt !== undefined ? [`a principal with the approver role answers it through ${o.approversAt}`] : []),
  ];
}

/** Where a question can be answered, as a line for the person (stderr, the client's log, progress). */
export function howToAnswer(tool: string, id: string, o: AnswerWays): string {
  const ways = waysToAnswer(id, o);
  return `${tool} needs approval (question ${id})${ways.length ? `: ${ways.join(" or ")}` : ""}`;
}

/**
 * The question as the client's elicitation form shows it. The form answers by itself; the other ways
 * are named for a person who would rather answer elsewhere. No link that answers: the form passes
 * through the client's hooks and logs (see the top of this file).
 */
export function elicitationFor(request: ApprovalRequest, id: string, elsewhere: AnswerWays): Record<string, unknown> {
  const lines = [
    `mcp-warden: approve this call? (question ${id})`,
    `Server: ${request.server}`,
    `Tool: ${request.tool}`,
    `Why asked: ${request.reason}${request.rule ? ` — rule ${request.rule}` : ""}${request.ruleFile ? ` in ${request.ruleFile}` : ""}`,
    `Arguments (${request.argumentsDigest}):`,
    renderArguments(request.arguments ?? {}),
  ];
  const ways = waysToAnswer(id, elsewhere);
  if (ways.length) lines.push(`Or ${ways.join(" or ")}.`);
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
  // Questions whose call ended and nobody answered yet, by the call they are about: a retry before
  // the answer waits on the same question instead of opening another (a retrying model would
  // otherwise pile questions up).
  const openQuestions = new Map<string, { id: string; expiresAt: number; handled: Promise<void> }>();
  const asking = {
    async run(ctx: RequestContext) {
      const v = ctx.verdict!;
      if (v.decision !== "ask") return;
      const target = ctx.target!;
      const server = target.upstream.name;
      // What will be forwarded (redacted already if a secret was found and the setting says so).
      const args = ((ctx.upstreamParams ?? ctx.params).arguments as Record<string, unknown> | undefined) ?? {};
      // A remote caller's question is theirs: its grants bind to them, and none of them may write an
      // allow rule into the settings everybody shares ("always").
      const owner = ctx.principal.method === "local" ? undefined : ownerOf(ctx.principal);
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
        policyVersion: services.policyVersion(),
        ...(owner !== undefined ? { principal: owner } : {}),
        // An ask rule outranks every allow rule, so "always allow" (an allow rule) is offered only
        // when no rule asked (unmatched calls ask by default); it would not stop the next question.
        answers: v.rule === undefined && owner === undefined ? APPROVAL_ANSWERS : APPROVAL_ANSWERS.filter((a) => a !== "allow-always"),
      };
      if (services.broker.hasSessionGrant(request)) {
        ctx.verdict = { ...v, decision: "allow", reason: `approved for this session (${v.reason})` };
        return;
      }
      const binding: CallBinding = {
        client: ctx.client.name ?? "",
        serverIdentity: request.serverIdentity,
        tool: target.canonical,
        argumentsDigest: request.argumentsDigest!,
        policyVersion: services.policyVersion(),
        ...(owner !== undefined ? { principal: owner } : {}),
      };
      const store = services.heldCalls;
      // A person approved this very call after an earlier attempt ended: it passes, once.
      if (store && useGrant(services, store, ctx, binding)) return;

      const inBand = services.useClient && ctx.askClient !== undefined;
      // Out of band, the call is held only as long as the client waits; the question may outlive it.
      const detachable = !inBand && store !== undefined;
      const waitMs = ctx.onProgress ? services.timeoutMs : Math.min(services.holdMs, services.timeoutMs);
      const key = JSON.stringify(binding);
      const open = detachable ? openQuestions.get(key) : undefined;
      if (open && services.broker.get(open.id)) {
        // Retried before anybody answered: held again on the same question.
        const page = await services.pageServer().catch(() => false);
        const waiting = howToAnswer(target.canonical, open.id, { cli: true, console: page && services.localConsole === true });
        services.announce(ctx, waiting);
        await hold(ctx, open.handled, waitMs, waiting);
        if (ctx.signal.aborted) throw new GatewayError(ErrorCodes.cancelled, "the call was cancelled while waiting for approval");
        if (useGrant(services, store!, ctx, binding)) return;
        if (services.broker.get(open.id)) return endHeldCall(services, ctx, open.id, open.expiresAt, true);
        // Denied or expired meanwhile: asked anew.
      }
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      // A cancelled call withdraws its question, unless the question can outlive it: a client that
      // gives up (its own timeout sends a cancellation) can still be approved and retried.
      if (!detachable) ctx.signal.addEventListener("abort", onAbort, { once: true });
      const { id, pending, result } = services.broker.open(
        detachable ? { ...request, retryWindowMs: services.retryWindowMs } : request,
        stop.signal,
        detachable ? Math.max(services.retryWindowMs, services.timeoutMs) : undefined,
      );
      let detached = false;
      let persisted = false;
      try {
        const channels: string[] = [];
        // "page": the page server runs (the console and the API of `mcp-warden approvals`).
        const page = await services.pageServer().catch(() => false);
        if (page) channels.push("page");
        const approversAt = services.approvers?.();
        if (approversAt !== undefined) channels.push("approvers");
        if (detachable) {
          try {
            store.save(heldCallRecord(id, pending.createdAt, pending.expiresAt, request, binding, services));
            persisted = true;
            channels.push("held-call store");
          } catch (e) {
            services.log(`cannot store question ${id} for \`mcp-warden approvals\`: ${(e as Error).message}`);
          }
        }
        // Only the ways that exist: the CLI needs the page server or the disk; approvers need serve's approver role.
        const where: AnswerWays = { cli: page || persisted, console: page && services.localConsole === true, approversAt };
        if (inBand) {
          channels.push("client");
          ctx
            .askClient!(elicitationFor(request, id, where), stop.signal)
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
          detail: { approval: id, channels, argumentsDigest: request.argumentsDigest, ...(inBand ? {} : { client: binding.client, progress: ctx.onProgress !== undefined }) },
        });
        const waiting = howToAnswer(target.canonical, id, where);
        if (!channels.length) services.broker.abandon(id, "unreachable");
        else services.announce(ctx, waiting);

        let answer: ApprovalResult | undefined;
        if (inBand || !channels.length) answer = await result;
        else {
          answer = await hold(ctx, result, waitMs, waiting);
          // Nowhere to keep the question: it ends with the call.
          if (answer === undefined && !persisted) {
            services.broker.abandon(id, ctx.signal.aborted ? "cancelled" : "timeout");
            answer = await result;
          }
        }

        if (answer === undefined) {
          // The call ends now; the question stays open (page, CLI, disk) for a retry.
          detached = true;
          ctx.signal.removeEventListener("abort", onAbort);
          services.broker.markCallEnded(id);
          const handled = result.then((late) => answeredAfterCall(services, store!, ctx, request, id, late));
          openQuestions.set(key, { id, expiresAt: pending.expiresAt, handled });
          void handled.finally(() => {
            if (openQuestions.get(key)?.id === id) openQuestions.delete(key);
          });
          return endHeldCall(services, ctx, id, pending.expiresAt, false);
        }
        // Answered while the call was held: it applies to this call, and no retry may reuse it.
        if (persisted) store!.remove(id);

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
        const note = await grantBeyondThisCall(services, request, answer.answer);
        ctx.verdict = { ...v, decision: "allow", reason: `approved (${answer.answer}) through the ${answer.by}${note}` };
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        // Withdraws the question from the channels that did not answer (not one that outlives its call).
        if (!detached) stop.abort();
      }
    },
  };
  return {
    name: "ask",
    // Synchronous when nothing is asked (most calls): the pipeline then has nothing to wait for.
    run: (ctx: RequestContext) => (ctx.verdict!.decision === "ask" ? asking.run(ctx) : undefined),
  };
}

/**
 * Waits for `p` at most `ms` (undefined then, or when the client cancels). A client that sent a
 * progressToken hears every PROGRESS_EVERY_MS who must act (`waiting`), which also keeps its
 * request alive.
 */
async function hold<T>(ctx: RequestContext, p: Promise<T>, ms: number, waiting: string): Promise<T | undefined> {
  // An abort listener added after the abort would never run.
  if (ctx.signal.aborted) return undefined;
  const started = Date.now();
  const keepAlive = ctx.onProgress
    ? setInterval(() => ctx.onProgress?.({ progress: Math.round((Date.now() - started) / 1000), message: `waiting for a person: ${waiting}` }), PROGRESS_EVERY_MS)
    : undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
        onAbort = () => resolve(undefined);
        ctx.signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(keepAlive);
    if (onAbort) ctx.signal.removeEventListener("abort", onAbort);
  }
}

/** Ends a held call whose question stays open: a tool error saying how to approve it and that the call must be retried. */
function endHeldCall(services: AskServices, ctx: RequestContext, id: string, answerableUntil: number, repeated: boolean): void {
  const v = ctx.verdict!;
  const tool = ctx.target!.canonical;
  const why = ctx.signal.aborted
    ? "the client stopped waiting (it cancelled the call)"
    : ctx.onProgress
      ? `nobody answered within ${formatMinutes(Date.now() - ctx.startedAt)}`
      : ctx.askClient
        ? "asking through the client is switched off (approvals.client), so the call was not kept waiting"
        : "this client cannot show the question (it has no elicitation), so the call was not kept waiting";
  // The model reads this: commands the hook asks the person about, never a link that answers.
  const text = retryInstructions({ tool, reason: v.reason, id, retryWindowMs: services.retryWindowMs, why, console: services.localConsole === true });
  services.audit.append({
    kind: "approval",
    event: "deferred",
    id: ctx.id,
    server: ctx.target!.upstream.name,
    tool,
    reason: why,
    detail: {
      approval: id,
      heldMs: Date.now() - ctx.startedAt,
      answerableUntil: new Date(answerableUntil).toISOString(),
      retryWindowMs: services.retryWindowMs,
      ...(repeated ? { repeated: true } : {}),
    },
  });
  ctx.verdict = { ...v, reason: `${v.reason}; waiting for a person (question ${id}), then a retry` };
  if (ctx.method !== "tools/call") throw new GatewayError(ErrorCodes.needsApproval, text, { decision: "ask", reason: v.reason, rule: v.rule, approval: id });
  ctx.result = { content: [{ type: "text", text }], isError: true, _meta: { "mcp-warden/approval": { id, command: `mcp-warden approvals approve ${id}`, answerableUntil: new Date(answerableUntil).toISOString() } } };
}

/** "Allow for this session" and "always allow" reach past this call: a session grant, an allow rule. Returns a note for the verdict. */
async function grantBeyondThisCall(services: AskServices, request: ApprovalRequest, answer: ApprovalAnswer): Promise<string> {
  if (answer === "allow-session" || answer === "allow-always") services.broker.grantSession(request);
  if (answer !== "allow-always") return "";
  try {
    return `; allow rule ${request.tool} written to ${await services.writeAllowRule(request.tool!)}`;
  } catch (e) {
    // The approval stands; the rule could not be kept for later sessions.
    return `; the allow rule could not be written: ${(e as Error).message}`;
  }
}

/** Uses a stored approval of this exact call, if there is one (once); expired ones are removed and audited first. */
function useGrant(services: AskServices, store: NonNullable<AskServices["heldCalls"]>, ctx: RequestContext, binding: CallBinding): boolean {
  const problems: string[] = [];
  let used;
  try {
    for (const gone of store.prune(problems)) {
      if (gone.status.state !== "expired") continue;
      services.audit.append({
        kind: "approval",
        event: "expired",
        server: gone.question.server,
        tool: gone.question.binding.tool,
        decision: "deny",
        reason: gone.status.granted ? "approved, but the call was not retried within the retry window" : "nobody answered before the question expired",
        detail: { approval: gone.question.id, argumentsDigest: gone.question.binding.argumentsDigest, ...(gone.answer ? { answer: gone.answer.answer, by: gone.answer.by } : {}) },
      });
    }
    used = store.consume(binding, problems);
  } catch (e) {
    // Fail closed: an unreadable store grants nothing; the call is asked about as usual.
    problems.push((e as Error).message);
  }
  for (const p of problems) services.log(`held calls: ${p}`);
  if (!used?.answer) return false;
  const v = ctx.verdict!;
  services.audit.append({
    kind: "approval",
    event: "used",
    id: ctx.id,
    server: used.question.server,
    tool: binding.tool,
    decision: "allow",
    reason: `approved by a person (${used.answer.by}) after an earlier attempt ended; used once`,
    detail: { approval: used.question.id, answer: used.answer.answer, by: used.answer.by, answeredAt: new Date(used.answer.at).toISOString(), argumentsDigest: binding.argumentsDigest },
  });
  ctx.verdict = { ...v, decision: "allow", reason: `approved (${used.answer.answer}) through the ${used.answer.by} after an earlier attempt (question ${used.question.id}); used once` };
  return true;
}

/** A person answered after the call ended: the answer goes to disk, where the retry finds it. */
async function answeredAfterCall(services: AskServices, store: NonNullable<AskServices["heldCalls"]>, ctx: RequestContext, request: ApprovalRequest, id: string, late: ApprovalResult): Promise<void> {
  // timeout: the window is over (the store expires it); cancelled: this gateway is stopping, and the
  // question stays on disk for `mcp-warden approvals approve` and the next gateway.
  if (late.by === "timeout" || late.by === "cancelled" || late.by === "unreachable") return;
  let stored: ReturnType<NonNullable<AskServices["heldCalls"]>["answer"]>;
  try {
    stored = store.answer(id, { answer: late.answer, by: late.by });
  } catch (e) {
    stored = { ok: false, reason: (e as Error).message };
  }
  const granted = stored.ok && stored.entry.status.state === "granted" ? stored.entry.status.until : undefined;
  services.audit.append({
    kind: "approval",
    event: "answered",
    id: ctx.id,
    server: request.server,
    tool: request.tool,
    decision: late.answer === "deny" ? "deny" : "allow",
    detail: {
      approval: id,
      answer: late.answer,
      by: late.by,
      afterCall: true,
      ...(granted !== undefined ? { retryUntil: new Date(granted).toISOString() } : {}),
      ...(stored.ok ? {} : { notStored: stored.reason }),
    },
  });
  if (!stored.ok) services.log(`the answer to question ${id} could not be stored, so a retry will be asked again: ${stored.reason}`);
  if (late.answer !== "deny") {
    const note = await grantBeyondThisCall(services, request, late.answer);
    if (note) services.log(`question ${id}${note}`);
  }
}

function heldCallRecord(id: string, createdAt: number, expiresAt: number, request: ApprovalRequest, binding: CallBinding, services: AskServices): HeldCall {
  return {
    version: 1,
    id,
    binding,
    server: request.server,
    // Shown to the person who answers with no gateway running; the digest binds the real ones.
    arguments: (services.redact ? services.redact(request.arguments ?? {}) : (request.arguments ?? {})) as Record<string, unknown>,
    reason: request.reason,
    ...(request.rule !== undefined ? { rule: request.rule } : {}),
    ...(request.ruleFile !== undefined ? { ruleFile: request.ruleFile } : {}),
    answers: [...request.answers],
    createdAt,
    expiresAt,
    retryWindowMs: services.retryWindowMs,
    gateway: services.gateway,
  };
}
