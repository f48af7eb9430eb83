// Approvals shared between replicas: the messages' strict validation (anything malformed or of the
// wrong type is refused), the broker's session grants with their lifetime, and the Redis adapter
// between two brokers on a private redis-server (pub/sub spans a server's databases, so no shared one):
// a malformed message on a replica's channel is dropped and logged once, never applied.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { ApprovalBroker, type ApprovalRequest } from "../../src/approvals/broker.js";
import { parseAnswerReply, parseAnswerRequest, parseGrantMessage, parseSharedQuestion, sharedNames, MAX_MESSAGE_BYTES } from "../../src/approvals/shared-approvals.js";
import { RedisSharedApprovals } from "../../src/state/redis-approvals.js";
import { openRedis } from "../../src/state/redis.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "../e2e/redis-harness.js";

const REPLICA = "0123456789abcdef0123456789abcdef";
const NONCE = "fedcba9876543210fedcba9876543210";
const names = sharedNames(0);
const isReply = names.isReplyChannel;

const validRequest = { id: "a1b2c3", answer: "allow-once", by: "approver", approver: "api-key||apikey:alice", reply: names.reply(REPLICA), nonce: NONCE, deadline: 1_800_000_000_000 };
const validQuestion = {
  id: "a1b2c3",
  kind: "call",
  server: "fx",
  tool: "mcp__fx__delete_repo",
  arguments: { repo: "one" },
  argumentsDigest: "sha256:00",
  reason: "ask rule",
  principal: "api-key||apikey:agent",
  answers: ["allow-once", "allow-session", "deny"],
  createdAt: 1_000,
  expiresAt: 2_000,
  replica: REPLICA,
};
const validGrant = { serverIdentity: "sha256:11", tool: "mcp__fx__delete_repo", policyVersion: "sha256:22", principal: "api-key||apikey:agent", until: 5_000, from: REPLICA };
const json = (v: unknown) => JSON.stringify(v);

describe("shared approvals: message validation", () => {
  it("accepts the well-formed messages", () => {
    assert.deepEqual(parseAnswerRequest(json(validRequest), isReply), validRequest);
    assert.deepEqual(parseSharedQuestion(json(validQuestion)), validQuestion);
    assert.deepEqual(parseGrantMessage(json(validGrant)), validGrant);
    assert.deepEqual(parseAnswerReply(json({ nonce: NONCE, ok: false, reason: "gone" })), { nonce: NONCE, ok: false, reason: "gone" });
  });

  it("refuses an answer request that is not JSON, too large, has a field too many or too few, or a field of the wrong type", () => {
    const bad: [string, string][] = [
      ["not json {", "not JSON"],
      [json("a string"), "(top)"],
      [json(null), "(top)"],
      [json([validRequest]), "(top)"],
      [json({ ...validRequest, extra: 1 }), "extra"],
      [json({ ...validRequest, answer: "allow-forever" }), "answer"],
      [json({ ...validRequest, answer: 1 }), "answer"],
      [json({ ...validRequest, by: "client" }), "by"],
      [json({ ...validRequest, id: "../../etc" }), "id"],
      [json({ ...validRequest, id: 7 }), "id"],
      [json({ ...validRequest, nonce: "short" }), "nonce"],
      [json({ ...validRequest, deadline: "soon" }), "deadline"],
      [json({ ...validRequest, deadline: 1.5 }), "deadline"],
      [json({ ...validRequest, approver: "" }), "approver"],
      [json({ ...validRequest, reply: 42 }), "reply"],
      [json({ ...validRequest, answer: undefined }), "answer"],
      [json({ ...validRequest, arguments: { big: "x".repeat(MAX_MESSAGE_BYTES) } }), "larger than"],
    ];
    for (const [text, why] of bad) {
      const r = parseAnswerRequest(text, isReply);
      assert.equal(typeof r, "string", `refused: ${text.slice(0, 80)}`);
      assert.ok((r as string).includes(why), `${r} names ${why}`);
    }
  });

  it("refuses an answer request whose reply channel is not a replica's reply channel (the holder would publish there)", () => {
    for (const reply of ["mcp-warden:approvals:db0:grants", names.holder(REPLICA), "mcp-warden:approvals:db1:reply:" + REPLICA, names.reply("not-a-replica"), "anything"]) {
      assert.match(parseAnswerRequest(json({ ...validRequest, reply }), isReply) as string, /reply: not a replica's reply channel/);
    }
  });

  it("refuses replies, grants and stored questions of the wrong shape or type", () => {
    for (const r of [{ nonce: NONCE }, { nonce: NONCE, ok: "true" }, { nonce: 1, ok: true }, { nonce: NONCE, ok: true, more: 1 }, { nonce: NONCE, ok: false, reason: 5 }]) {
      assert.equal(typeof parseAnswerReply(json(r)), "string", json(r));
    }
    for (const g of [
      { ...validGrant, until: "later" },
      { ...validGrant, from: "me" },
      { ...validGrant, serverIdentity: "" },
      { ...validGrant, policyVersion: undefined },
      { ...validGrant, principal: 3 },
      { ...validGrant, scope: "all" },
    ]) {
      assert.equal(typeof parseGrantMessage(json(g)), "string", json(g));
    }
    for (const q of [
      { ...validQuestion, kind: "anything" },
      { ...validQuestion, answers: [] },
      { ...validQuestion, answers: ["yes"] },
      { ...validQuestion, arguments: ["a"] },
      { ...validQuestion, replica: "r1" },
      { ...validQuestion, expiresAt: 500 },
      { ...validQuestion, callEnded: true },
    ]) {
      assert.equal(typeof parseSharedQuestion(json(q)), "string", json(q));
    }
  });
});

const REQUEST: ApprovalRequest = {
  kind: "call",
  server: "fx",
  serverIdentity: "sha256:11",
  tool: "mcp__fx__delete_repo",
  arguments: { repo: "one" },
  argumentsDigest: "sha256:00",
  reason: "ask rule",
  policyVersion: "sha256:22",
  principal: "api-key||apikey:agent",
  answers: ["allow-once", "allow-session", "deny"],
};

describe("ApprovalBroker: ids and session grants with a lifetime", () => {
  it("gives 128-bit ids", () => {
    const broker = new ApprovalBroker({ timeoutMs: 60_000 });
    const { id } = broker.open(REQUEST);
    assert.match(id, /^[0-9a-f]{32}$/);
    broker.close();
  });

  it("ends a session grant after its lifetime, announces the grants given here, and caps those accepted from elsewhere", () => {
    let now = 1_000;
    const broker = new ApprovalBroker({ timeoutMs: 60_000, sessionGrantMs: 100, now: () => now });
    const announced: unknown[] = [];
    broker.on("session-granted", (g) => announced.push(g));
    broker.grantSession(REQUEST);
    assert.deepEqual(announced, [{ serverIdentity: "sha256:11", tool: "mcp__fx__delete_repo", policyVersion: "sha256:22", principal: "api-key||apikey:agent", until: 1_100 }]);
    assert.equal(broker.hasSessionGrant(REQUEST), true);
    assert.equal(broker.hasSessionGrant({ ...REQUEST, principal: "api-key||apikey:other" }), false, "another caller's");
    now = 1_100;
    assert.equal(broker.hasSessionGrant(REQUEST), false, "ended");
    // From another replica: never longer than a grant given here, and not at all when already over.
    broker.acceptSessionGrant({ ...REQUEST, until: 1_000_000 });
    assert.equal(announced.length, 1, "a grant accepted from elsewhere is not announced again");
    now = 1_199;
    assert.equal(broker.hasSessionGrant(REQUEST), true);
    now = 1_200;
    assert.equal(broker.hasSessionGrant(REQUEST), false);
    broker.acceptSessionGrant({ ...REQUEST, until: 1_200 });
    assert.equal(broker.hasSessionGrant(REQUEST), false);
  });
});

const skip = redisUnavailable();

describe("RedisSharedApprovals between two brokers on a private Redis", { skip }, () => {
  let redis: PrivateRedis;
  let clients: Redis[] = [];
  const logs: string[][] = [[], []];
  const brokers = [new ApprovalBroker({ timeoutMs: 60_000 }), new ApprovalBroker({ timeoutMs: 60_000 })];
  let shared: RedisSharedApprovals[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    clients = [await openRedis({ url: redis.url, commandTimeoutMs: 2_000 }), await openRedis({ url: redis.url, commandTimeoutMs: 2_000 })];
    shared = brokers.map((broker, i) => new RedisSharedApprovals({ client: clients[i]!, broker, sessionGrantMs: 3_600_000, log: (m) => logs[i]!.push(m) }));
    for (const s of shared) assert.equal(await s.ready(10_000), true, "subscribed");
  });
  after(async () => {
    for (const b of brokers) b.close();
    for (const s of shared) await s.close();
    for (const c of clients) await c.quit().catch(() => c.disconnect());
    await redis?.stop();
  });

  /** Waits (bounded) until `check` holds, for what crosses Redis. */
  async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${what}: not within 5 s`);
  }

  it("lists a question on the other replica, drops malformed answers to it (logged once), and applies a valid one", async () => {
    const { id, result } = brokers[0]!.open(REQUEST);
    await until("the question is in Redis", async () => (await shared[1]!.list()).some((q) => q.id === id));
    const q = (await shared[1]!.get(id))!;
    assert.equal(q.replica, shared[0]!.replicaId);
    assert.equal(q.principal, REQUEST.principal);

    const holder = sharedNames(0).holder(shared[0]!.replicaId);
    const reply = sharedNames(0).reply(shared[1]!.replicaId);
    const publisher = clients[1]!;
    const good = { id, answer: "allow-once", by: "approver", approver: "api-key||apikey:alice", reply, nonce: NONCE, deadline: Date.now() + 60_000 };
    for (const message of ["{", json({ ...good, answer: "allow-always-and-forever" }), json({ ...good, extra: true }), json({ ...good, id: 5 }), json({ ...good, reply: "mcp-warden:elsewhere" })]) {
      assert.equal(await publisher.publish(holder, message), 1, "the holder receives it");
    }
    await until("the malformed answer is logged", () => logs[0]!.some((m) => /dropped a malformed answer request/.test(m)));
    assert.equal(logs[0]!.filter((m) => /malformed/.test(m)).length, 1, `logged once: ${logs[0]!.join("\n")}`);
    assert.ok(brokers[0]!.get(id), "nothing was applied: the question is still open");

    // The approver's own call: refused by the holder too.
    const own = await shared[1]!.answerRemote(q, "allow-once", REQUEST.principal!);
    assert.deepEqual(own, { ok: false, cause: "refused", reason: "a question about your own call is answered through your client" });
    assert.ok(brokers[0]!.get(id));

    assert.deepEqual(await shared[1]!.answerRemote(q, "allow-once", "api-key||apikey:alice"), { ok: true });
    assert.deepEqual(await result, { answer: "allow-once", by: "approver" });
    await until("the settled question leaves Redis", async () => (await shared[1]!.get(id)) === undefined);
    const again = await shared[1]!.answerRemote(q, "deny", "api-key||apikey:alice");
    assert.equal(again.ok, false);
    assert.match(!again.ok ? again.reason : "", /no pending approval/);
  });

  it("announces a session grant to the other replica; a malformed grant is dropped", async () => {
    await clients[0]!.publish(sharedNames(0).grants, json({ ...validGrant, from: shared[0]!.replicaId, until: "forever" }));
    const other = { ...REQUEST, tool: "mcp__fx__other" };
    brokers[0]!.grantSession(other);
    await until("the grant reaches the other replica", () => brokers[1]!.hasSessionGrant(other));
    assert.ok(logs[1]!.some((m) => /dropped a malformed session grant/.test(m)), logs[1]!.join("\n"));
    assert.equal(brokers[1]!.hasSessionGrant({ ...other, principal: "api-key||apikey:someone-else" }), false);
  });

  it("an answer request past its deadline is refused by the holder and not applied", async () => {
    const { id, result } = brokers[0]!.open(REQUEST);
    const listener = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    listener.on("error", () => undefined);
    try {
      await listener.connect();
      const replyTo = sharedNames(0).reply("c".repeat(32));
      const replies: string[] = [];
      listener.on("message", (_c: string, m: string) => replies.push(m));
      await listener.subscribe(replyTo);
      const late = { id, answer: "allow-once", by: "approver", approver: "api-key||apikey:alice", reply: replyTo, nonce: NONCE, deadline: Date.now() - 1 };
      assert.equal(await clients[1]!.publish(sharedNames(0).holder(shared[0]!.replicaId), json(late)), 1);
      await until("the holder replies", () => replies.length > 0);
      const reply = JSON.parse(replies[0]!) as { nonce: string; ok: boolean; reason: string };
      assert.equal(reply.nonce, NONCE);
      assert.equal(reply.ok, false);
      assert.match(reply.reason, /after its deadline/);
      assert.ok(brokers[0]!.get(id), "not applied");
    } finally {
      listener.disconnect();
      brokers[0]!.abandon(id, "cancelled");
      await result;
    }
  });

  it("a holder that receives the answer but does not reply: not confirmed, after the wait", async () => {
    const silent = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    silent.on("error", () => undefined);
    try {
      await silent.connect();
      const replica = "b".repeat(32);
      await silent.subscribe(sharedNames(0).holder(replica));
      const q = { ...validQuestion, id: "eeee", replica, expiresAt: Date.now() + 60_000 } as Parameters<RedisSharedApprovals["answerRemote"]>[0];
      const r = await shared[1]!.answerRemote(q, "allow-once", "api-key||apikey:alice");
      assert.deepEqual(r, { ok: false, cause: "no-reply", reason: "the replica holding the call did not confirm it within 2 s" });
    } finally {
      silent.disconnect();
    }
  });

  it("an answer for a replica that is not listening fails at once as not answered, and nothing waits", async () => {
    const q = { ...validQuestion, id: "ffff", replica: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", expiresAt: Date.now() + 60_000 } as Parameters<RedisSharedApprovals["answerRemote"]>[0];
    const r = await shared[1]!.answerRemote(q, "allow-once", "api-key||apikey:alice");
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.cause, "no-reply");
  });
});
