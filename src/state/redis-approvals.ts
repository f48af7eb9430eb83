// Approvals shared between `serve` replicas through Redis (state.redis); what is shared and why:
// src/approvals/shared-approvals.ts.
//
// - Each open question is a key `mcp-warden:approval:<id>` (JSON, PEXPIREAT its expiry) and a member
//   of the sorted set `mcp-warden:approvals:index` (score: expiry); written when the broker opens it,
//   removed when it settles. A question whose removal failed expires with its key.
// - An answer for a question another replica holds is PUBLISHed on the holder's channel with a nonce
//   and a reply channel; the holder applies it to its broker and publishes {nonce, ok, reason} back.
// - A session grant is PUBLISHed on the grants channel; every replica adds it to its broker.
// - Commands use the fail-fast client serve opened (src/state/redis.ts); subscriptions use a
//   connection of their own (`duplicate()`) that reconnects and subscribes again by itself. While it
//   cannot, this replica answers only its own questions: answers for others fail, and nothing it
//   misses is applied.
//
// Redis is inside the trust boundary (anyone who can publish there can answer questions): protect it
// with a password or ACL and TLS, as for the shared rate limits.
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { ApprovalAnswer, ApprovalBroker, ApprovalResult, PendingApproval, SessionGrant } from "../approvals/broker.js";
import {
  type AnswerReply,
  type AnswerRequest,
  type GrantMessage,
  type RemoteAnswerResult,
  type SharedApprovals,
  type SharedQuestion,
  MAX_MESSAGE_BYTES,
  parseAnswerReply,
  parseAnswerRequest,
  parseGrantMessage,
  parseSharedQuestion,
  sharedNames,
  sharedQuestionOf,
} from "../approvals/shared-approvals.js";

export interface RedisSharedApprovalsOptions {
  /** The fail-fast command client (openRedis). */
  client: Redis;
  broker: ApprovalBroker;
  /** Session grants' lifetime on this replica (remote.sessions.maxHours). */
  sessionGrantMs: number;
  log(message: string): void;
  /** Removes configured secrets from a question's arguments before they are stored. */
  redact?(value: unknown): unknown;
  /** How long an answering replica waits for the holder's reply (default 2000 ms). */
  replyTimeoutMs?: number;
}

/** At most this many questions are read for one listing. */
const MAX_LISTED = 1000;
const DEFAULT_REPLY_TIMEOUT_MS = 2_000;
/** The subscriber's SUBSCRIBE may wait longer than a fail-fast command. */
const SUBSCRIBE_TIMEOUT_MS = 2_000;

export class RedisSharedApprovals implements SharedApprovals {
  readonly replicaId = randomBytes(16).toString("hex");
  private readonly names;
  private readonly subscriber: Redis;
  private subscribed = false;
  private closed = false;
  /** Nonce -> the answer waiting for its reply. */
  private readonly waiting = new Map<string, (reply: AnswerReply) => void>();
  /** A question's write, which its removal waits for (so a quick settle cannot leave it behind). */
  private readonly writes = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Kinds of malformed message already logged (each once). */
  private readonly malformedLogged = new Set<string>();
  private storeFailing = false;
  private readonly replyTimeoutMs: number;
  private readonly listeners: [string, (...args: unknown[]) => void][] = [];

  constructor(private readonly opts: RedisSharedApprovalsOptions) {
    this.names = sharedNames(opts.client.options.db ?? 0);
    this.replyTimeoutMs = opts.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
    opts.broker.limitSessionGrants(opts.sessionGrantMs);
    this.listen("opened", (p: PendingApproval) => this.track(this.publishQuestion(p)));
    this.listen("settled", (p: PendingApproval, _r: ApprovalResult) => this.track(this.removeQuestion(p.id)));
    this.listen("session-granted", (g: SessionGrant) => this.track(this.announceGrant(g)));
    // Its own connection: a subscribed connection runs no other command. Subscribed again on every
    // (re)connection, by us rather than ioredis, so a first subscription that failed is retried too.
    this.subscriber = opts.client.duplicate({ lazyConnect: false, enableOfflineQueue: false, autoResubscribe: false, commandTimeout: SUBSCRIBE_TIMEOUT_MS });
    this.subscriber.on("error", () => undefined);
    this.subscriber.on("close", () => {
      if (this.subscribed && !this.closed) opts.log("shared approvals: lost the subscription; answers between replicas wait until it is back");
      this.subscribed = false;
    });
    this.subscriber.on("ready", () => void this.subscribe());
    this.subscriber.on("message", (channel: string, message: string) => this.onMessage(channel, message));
  }

  /** Resolves once subscribed (or `ms` passed: the replica then serves its own questions until it is). */
  async ready(ms: number): Promise<boolean> {
    for (let waited = 0; !this.subscribed && !this.closed && waited < ms; waited += 50) await new Promise((r) => setTimeout(r, 50));
    return this.subscribed;
  }

  async list(): Promise<SharedQuestion[]> {
    const { client } = this.opts;
    const now = Date.now();
    const ids = await client.zrangebyscore(this.names.index, `(${now}`, "+inf", "LIMIT", 0, MAX_LISTED);
    // Expired entries go; their keys expired by themselves.
    void client.zremrangebyscore(this.names.index, "-inf", now).catch(() => undefined);
    if (!ids.length) return [];
    const texts = await client.mget(...ids.map((id) => this.names.question(id)));
    const out: SharedQuestion[] = [];
    const gone: string[] = [];
    texts.forEach((text, i) => {
      if (text === null) return void gone.push(ids[i]!);
      const q = this.readQuestion(text, ids[i]!);
      if (q && q.expiresAt > now) out.push(q);
    });
    if (gone.length) void client.zrem(this.names.index, ...gone).catch(() => undefined);
    return out;
  }

  async get(id: string): Promise<SharedQuestion | undefined> {
    const text = await this.opts.client.get(this.names.question(id));
    if (text === null) return undefined;
    const q = this.readQuestion(text, id);
    return q && q.expiresAt > Date.now() ? q : undefined;
  }

  async answerRemote(question: SharedQuestion, answer: ApprovalAnswer, approver: string): Promise<RemoteAnswerResult> {
    if (!this.subscribed) {
      return { ok: false, cause: "unreachable", reason: "this replica is not subscribed to Redis, so it could not hear the reply of the replica holding the call" };
    }
    const nonce = randomBytes(16).toString("hex");
    const request: AnswerRequest = { id: question.id, answer, by: "approver", approver, reply: this.names.reply(this.replicaId), nonce, deadline: Date.now() + this.replyTimeoutMs };
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<AnswerReply | undefined>((resolve) => {
      this.waiting.set(nonce, resolve);
      timer = setTimeout(() => resolve(undefined), this.replyTimeoutMs);
    });
    try {
      let receivers: number;
      try {
        receivers = await this.opts.client.publish(this.names.holder(question.replica), JSON.stringify(request));
      } catch (e) {
        return { ok: false, cause: "unreachable", reason: `cannot send it through Redis (${(e as Error).message})` };
      }
      if (receivers === 0) return { ok: false, cause: "no-reply", reason: "the replica holding the call is not listening (it stopped, or lost its connection to Redis)" };
      const r = await reply;
      if (!r) return { ok: false, cause: "no-reply", reason: `the replica holding the call did not confirm it within ${this.replyTimeoutMs / 1000} s` };
      return r.ok ? { ok: true } : { ok: false, cause: "refused", reason: r.reason ?? "refused by the replica holding the call" };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(nonce);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // The broker has settled everything by now (serve closes the core first): its removals go out.
    await Promise.allSettled([...this.inFlight]);
    this.closed = true;
    for (const [event, fn] of this.listeners) this.opts.broker.off(event, fn);
    for (const resolve of this.waiting.values()) resolve({ nonce: "", ok: false, reason: "this replica is stopping" });
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private listen<A extends unknown[]>(event: string, fn: (...args: A) => void): void {
    const listener = fn as (...args: unknown[]) => void;
    this.opts.broker.on(event, listener);
    this.listeners.push([event, listener]);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.names.holder(this.replicaId), this.names.reply(this.replicaId), this.names.grants);
      if (!this.subscribed) this.opts.log(`shared approvals: replica ${this.replicaId} listens for answers and session grants from the other replicas`);
      this.subscribed = true;
    } catch (e) {
      if (this.closed) return;
      this.opts.log(`shared approvals: cannot subscribe (${(e as Error).message}); retrying`);
      // A new connection, and with it a new attempt (the client's retry strategy spaces them).
      this.subscriber.disconnect(true);
    }
  }

  private async publishQuestion(p: PendingApproval): Promise<void> {
    const q = sharedQuestionOf(p, this.replicaId, this.opts.redact);
    let text = JSON.stringify(q);
    // Too large to be read back: shown without its arguments elsewhere (their digest still binds them).
    if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) text = JSON.stringify({ ...q, arguments: undefined });
    const key = this.names.question(p.id);
    const write = this.opts.client
      .multi()
      .set(key, text)
      .pexpireat(key, q.expiresAt)
      .zadd(this.names.index, q.expiresAt, q.id)
      .exec()
      .then((results) => {
        const failed = results?.find(([error]) => error)?.[0];
        if (failed) throw failed;
        this.storeWorks();
      })
      .catch((e: Error) => this.storeFails(`cannot publish question ${p.id} (${e.message}); only this replica lists and answers it`));
    this.writes.set(p.id, write);
    await write;
  }

  private async removeQuestion(id: string): Promise<void> {
    await this.writes.get(id);
    this.writes.delete(id);
    try {
      await this.opts.client.multi().del(this.names.question(id)).zrem(this.names.index, id).exec();
    } catch (e) {
      // Harmless: it expires with its key, and an answer to it is refused by this replica's broker.
      this.storeFails(`cannot remove question ${id} (${(e as Error).message}); other replicas list it until it expires`);
    }
  }

  private async announceGrant(g: SessionGrant): Promise<void> {
    if (!Number.isFinite(g.until)) return;
    const message: GrantMessage = { ...g, from: this.replicaId };
    try {
      await this.opts.client.publish(this.names.grants, JSON.stringify(message));
    } catch (e) {
      // The other replicas ask again: the safe direction.
      this.storeFails(`cannot announce a session grant (${(e as Error).message}); other replicas will ask again`);
    }
  }

  private onMessage(channel: string, text: string): void {
    if (this.closed) return;
    if (channel === this.names.holder(this.replicaId)) this.track(this.onAnswerRequest(text));
    else if (channel === this.names.reply(this.replicaId)) this.onReply(text);
    else if (channel === this.names.grants) this.onGrant(text);
  }

  /** The holder's side: apply an answer another replica received, and say whether it was applied. */
  private async onAnswerRequest(text: string): Promise<void> {
    const request = parseAnswerRequest(text, this.names.isReplyChannel);
    if (typeof request === "string") return this.malformed("answer request", request);
    const refuse = (reason: string) => this.sendReply(request.reply, { nonce: request.nonce, ok: false, reason });
    // Past its deadline the approver was told it failed: applying it now would contradict that.
    if (Date.now() > request.deadline) return refuse("it arrived after its deadline (the replicas' clocks differ, or this replica was too busy); answer again");
    const question = this.opts.broker.get(request.id);
    if (!question) return refuse(`no pending approval ${JSON.stringify(request.id)} (already answered, expired or never asked)`);
    if (question.principal !== undefined && question.principal === request.approver) return refuse("a question about your own call is answered through your client");
    const r = this.opts.broker.answer(request.id, request.answer, "approver");
    await this.sendReply(request.reply, r.ok ? { nonce: request.nonce, ok: true } : { nonce: request.nonce, ok: false, reason: r.reason });
  }

  private async sendReply(channel: string, reply: AnswerReply): Promise<void> {
    try {
      await this.opts.client.publish(channel, JSON.stringify(reply));
    } catch (e) {
      // The answering replica reports no confirmation; an applied answer stands (it was a person's).
      this.storeFails(`cannot reply to an answer (${(e as Error).message})`);
    }
  }

  private onReply(text: string): void {
    const reply = parseAnswerReply(text);
    if (typeof reply === "string") return this.malformed("answer reply", reply);
    // Unknown nonce: a reply that came after its wait ended; nothing waits for it.
    this.waiting.get(reply.nonce)?.(reply);
  }

  private onGrant(text: string): void {
    const grant = parseGrantMessage(text);
    if (typeof grant === "string") return this.malformed("session grant", grant);
    if (grant.from === this.replicaId) return;
    const { from: _from, ...rest } = grant;
    this.opts.broker.acceptSessionGrant(rest);
  }

  private readQuestion(text: string, id: string): SharedQuestion | undefined {
    const q = parseSharedQuestion(text);
    if (typeof q === "string" || q.id !== id) {
      this.malformed("stored question", typeof q === "string" ? q : `its id does not match its key ${this.names.question(id)}`);
      return undefined;
    }
    return q;
  }

  private malformed(kind: string, why: string): void {
    if (this.malformedLogged.has(kind)) return;
    this.malformedLogged.add(kind);
    this.opts.log(`shared approvals: dropped a malformed ${kind} from Redis (${why}); nothing of it was applied (further ones are dropped without a message)`);
  }

  private storeFails(message: string): void {
    if (this.storeFailing) return;
    this.storeFailing = true;
    this.opts.log(`shared approvals: ${message}`);
  }

  private storeWorks(): void {
    if (!this.storeFailing) return;
    this.storeFailing = false;
    this.opts.log("shared approvals: Redis answers again; new questions are shared");
  }
}
