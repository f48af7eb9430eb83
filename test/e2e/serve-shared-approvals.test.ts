// Approvals shared between two real `serve` replicas through Redis (state.redis): a call held on
// replica 1 is listed, and answered, through replica 2 (and through HAProxy in front of both); a deny
// fails the call; an approver's own call and an unknown id are refused; "allow for this session"
// reaches the other replica; with Redis stopped an answer through replica 2 is refused, nothing is
// forwarded, and the held call ends unapproved at its timeout.
//
// Callers are API keys and real SDK clients (2025 era, no elicitation: the call is held until an
// approver answers). Each replica has its own scratch (HOME, audit log), and both read one common
// settings file and use one state directory path, as replicas deployed from one image do: a session
// grant binds the policy version, and the policy names the settings file of each rule and the state
// directory (a built-in deny rule). The Redis is a private redis-server per describe (pub/sub channels
// span a server's databases; the second describe kills its Redis).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys.js";
import { auditRecords, closedPort, FIXTURE, scratch, type Scratch } from "./harness.js";
import { haproxyProblem, startHaproxy, type LoadBalancer } from "./lb-harness.js";
import { redisUnavailable, startPrivateRedis, type PrivateRedis } from "./redis-harness.js";
import { httpClient, startServe, type Serving } from "./serve-harness.js";

const skip = redisUnavailable() ?? haproxyProblem();
const CALLERS = ["agent", "carol", "alice", "bob"] as const;
type Caller = (typeof CALLERS)[number];
/** alice and bob are approvers; agent and carol are not. */
const APPROVERS = new Set<Caller>(["alice", "bob"]);
const owner = (c: Caller) => `api-key||apikey:${c}`;
const texts = (r: { content?: unknown }) => (r.content as { type: string; text?: string }[]).map((c) => c.text).join("");

interface Listed {
  questions: { id: string; tool?: string; caller?: string; arguments?: Record<string, unknown>; answers: string[] }[];
  incomplete?: string;
}

/** Two replicas reading one common settings file (their own scratch each for HOME and the audit log). */
async function startReplicas(redisPort: number, approvals: Record<string, unknown>, keys: Record<Caller, string>): Promise<{ scratches: Scratch[]; replicas: Serving[] }> {
  const scratches = [0, 1].map(() => scratch({ approvals: { page: true, ...approvals } }));
  const common = join(scratches[0]!.dir, "common-settings.json");
  writeFileSync(
    common,
    JSON.stringify({
      mcpServers: { fx: { command: process.execPath, args: [FIXTURE] } },
      permissions: { allow: ["mcp__fx__echo"], ask: ["mcp__fx__delete_repo"] },
      integrity: { pins: false },
      state: { redis: `redis://127.0.0.1:${redisPort}/0` },
      remote: {
        auth: {
          apiKeys: Object.fromEntries(CALLERS.map((c) => [c, { hash: hashApiKey(keys[c]), ...(APPROVERS.has(c) ? { groups: ["approvers"] } : {}) }])),
          approvers: ["group:approvers"],
        },
      },
    }),
  );
  const state = { XDG_STATE_HOME: join(scratches[0]!.dir, "state") };
  const replicas: Serving[] = [];
  for (const s of scratches) replicas.push(await startServe(s, ["--settings", common, "--listen", `127.0.0.1:${await closedPort()}`], state));
  return { scratches, replicas };
}

const base = (r: Serving | LoadBalancer) => ("child" in r ? r.url.replace(/\/mcp$/, "") : r.url);
const headers = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

async function list(at: string, key: string): Promise<Listed> {
  const res = await fetch(`${at}/v1/approvals`, { headers: headers(key) });
  assert.equal(res.status, 200);
  return (await res.json()) as Listed;
}

async function answer(at: string, key: string, id: string, given: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${at}/v1/approvals/${id}`, { method: "POST", headers: headers(key), body: JSON.stringify({ answer: given }) });
  return { status: res.status, body: await res.text() };
}

/** Polls the list (at most 100 times, 100 ms apart) until a question about `repo` is in it. */
async function questionAbout(at: string, key: string, repo: string): Promise<Listed["questions"][number]> {
  for (let i = 0; i < 100; i++) {
    const q = (await list(at, key)).questions.find((x) => x.tool === "mcp__fx__delete_repo" && x.arguments?.repo === repo);
    if (q) return q;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no question about ${repo} listed at ${at}`);
}

describe("serve: two replicas share their approvals through Redis", { skip }, () => {
  const keys = Object.fromEntries(CALLERS.map((c) => [c, generateApiKey()])) as Record<Caller, string>;
  let redis: PrivateRedis;
  let scratches: Scratch[] = [];
  let replicas: Serving[] = [];
  let lb: LoadBalancer;
  /** The test's own subscriber to the session-grant channel. */
  let grants: Redis;
  const granted: Record<string, unknown>[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    ({ scratches, replicas } = await startReplicas(redis.port, { holdMs: 60_000, timeoutMs: 60_000 }, keys));
    lb = await startHaproxy(replicas.map((r) => Number(new URL(r.url).port)));
    grants = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    grants.on("error", () => undefined);
    await grants.connect();
    grants.on("message", (_channel: string, message: string) => granted.push(JSON.parse(message) as Record<string, unknown>));
    await grants.subscribe("mcp-warden:approvals:db0:grants");
  });
  after(async () => {
    grants?.disconnect();
    await lb?.stop();
    for (const r of replicas) await r.stop().catch(() => undefined);
    await redis?.stop();
    for (const s of scratches) s.cleanup();
  });

  it("a call held on replica 1 is listed through HAProxy (by both replicas) and replica 2; allow-once through replica 2 runs it", async () => {
    const agent = await httpClient(replicas[0]!.url, keys.agent, "legacy");
    try {
      const call = agent.client.callTool({ name: "fx__delete_repo", arguments: { repo: "via-lb" } });
      const q = await questionAbout(lb.url, keys.alice, "via-lb");
      assert.match(q.id, /^[0-9a-f]{32}$/, "a 128-bit id");
      assert.equal(q.caller, owner("agent"));
      // Round robin: two listings through HAProxy are one from each replica; both hold the question.
      for (let i = 0; i < 2; i++) assert.ok((await list(lb.url, keys.alice)).questions.some((x) => x.id === q.id), `listing ${i + 1} through HAProxy`);
      const onReplica2 = await list(base(replicas[1]!), keys.alice);
      assert.ok(onReplica2.questions.some((x) => x.id === q.id) && onReplica2.incomplete === undefined, JSON.stringify(onReplica2));

      const r = await answer(base(replicas[1]!), keys.alice, q.id, "allow-once");
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { id: q.id, answer: "allow-once" });
      assert.equal(texts(await call), "repo deleted");

      const answeredHere = auditRecords(scratches[1]!).find((x) => x.kind === "approval" && x.event === "answered");
      assert.equal((answeredHere?.principal as { clientId?: string } | undefined)?.clientId, "alice", "replica 2 audits the approver's answer");
      assert.equal(answeredHere?.reason, "answered allow-once by an approver");
      assert.equal((answeredHere?.detail as { approval?: string }).approval, q.id);
      const held = auditRecords(scratches[0]!);
      assert.ok(held.some((x) => x.kind === "approval" && x.event === "answered" && (x.detail as { by?: string }).by === "approver"), "replica 1 applied it");
      assert.ok(held.some((x) => x.event === "completed" && x.tool === "mcp__fx__delete_repo"), "and forwarded the call");
      // Settled: it leaves the shared list.
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        gone = !(await list(base(replicas[1]!), keys.alice)).questions.some((x) => x.id === q.id);
        if (!gone) await new Promise((res) => setTimeout(res, 100));
      }
      assert.ok(gone, "the answered question is no longer listed on replica 2");
    } finally {
      await agent.close();
    }
  });

  it("the holder stopped (SIGSTOP): an answer through replica 2 gets 504 and is not applied, not even when the holder runs again; a later answer is", async () => {
    const agent = await httpClient(replicas[0]!.url, keys.agent, "legacy");
    try {
      const call = agent.client.callTool({ name: "fx__delete_repo", arguments: { repo: "holder-paused" } });
      const q = await questionAbout(base(replicas[1]!), keys.alice, "holder-paused");
      replicas[0]!.child.kill("SIGSTOP");
      let late;
      try {
        late = await answer(base(replicas[1]!), keys.alice, q.id, "allow-once");
      } finally {
        replicas[0]!.child.kill("SIGCONT");
      }
      assert.equal(late.status, 504, late.body);
      assert.match(late.body, /the replica holding the call did not answer: .*did not confirm it within 2 s; nothing was approved/);
      const audited = auditRecords(scratches[1]!).filter((x) => x.kind === "approval" && (x.detail as { approval?: string }).approval === q.id);
      assert.equal(audited.length, 1);
      assert.match(String(audited[0]!.reason), /^not applied: the replica holding the call did not confirm it/);
      // Running again, the holder reads the answer past its deadline and applies nothing: the question stays open.
      const open = await questionAbout(base(replicas[0]!), keys.alice, "holder-paused");
      assert.equal(open.id, q.id);
      const r = await answer(base(replicas[1]!), keys.alice, q.id, "allow-once");
      assert.equal(r.status, 200, r.body);
      assert.equal(texts(await call), "repo deleted");
      const applied = auditRecords(scratches[0]!).filter((x) => x.kind === "approval" && x.event === "answered" && (x.detail as { approval?: string }).approval === q.id);
      assert.equal(applied.length, 1, "replica 1 applied one answer, the second");
    } finally {
      replicas[0]!.child.kill("SIGCONT");
      await agent.close();
    }
  });

  it("a deny through replica 2 fails the call held on replica 1 with the policy's message, and nothing is forwarded", async () => {
    const agent = await httpClient(replicas[0]!.url, keys.agent, "legacy");
    try {
      const call = agent.client.callTool({ name: "fx__delete_repo", arguments: { repo: "denied" } });
      // It fails while this test is still answering: asserted below.
      call.catch(() => undefined);
      const q = await questionAbout(base(replicas[1]!), keys.bob, "denied");
      const r = await answer(base(replicas[1]!), keys.bob, q.id, "deny");
      assert.equal(r.status, 200, r.body);
      await assert.rejects(call, /mcp__fx__delete_repo needs approval .*it was not given: denied by a person \(approver\)/);
      const held = auditRecords(scratches[0]!);
      const decided = held.filter((x) => x.event === "decided" && (x.arguments as { repo?: string } | undefined)?.repo === "denied");
      assert.equal(decided.length, 1);
      assert.notEqual(decided[0]!.decision, "allow");
      assert.equal(decided[0]!.outcome, "denied", "not forwarded");
      const applied = held.find((x) => x.kind === "approval" && x.event === "answered" && (x.detail as { approval?: string }).approval === q.id);
      assert.equal(applied?.decision, "deny");
      assert.deepEqual([(applied?.detail as { answer?: string }).answer, (applied?.detail as { by?: string }).by], ["deny", "approver"]);
    } finally {
      await agent.close();
    }
  });

  it("an approver cannot answer their own call through replica 2 (403, the question stays open); an unknown id is 404", async () => {
    const own = await httpClient(replicas[0]!.url, keys.alice, "legacy");
    try {
      const call = own.client.callTool({ name: "fx__delete_repo", arguments: { repo: "alice-own" } });
      call.catch(() => undefined);
      const q = await questionAbout(base(replicas[1]!), keys.alice, "alice-own");
      assert.equal(q.caller, owner("alice"));
      const r = await answer(base(replicas[1]!), keys.alice, q.id, "allow-once");
      assert.equal(r.status, 403, r.body);
      assert.match(r.body, /a question about your own call is answered through your client/);
      assert.ok((await list(base(replicas[1]!), keys.bob)).questions.some((x) => x.id === q.id), "still open");
      // Another approver ends it.
      assert.equal((await answer(base(replicas[1]!), keys.bob, q.id, "deny")).status, 200);
      await assert.rejects(call, /denied by a person \(approver\)/);
    } finally {
      await own.close();
    }
    const unknown = await answer(base(replicas[1]!), keys.bob, "0".repeat(32), "allow-once");
    assert.equal(unknown.status, 404, unknown.body);
    assert.match(unknown.body, /No such question/);
  });

  it("allow-session through replica 2 is announced to every replica: the caller's next call on replica 2 is not asked again", async () => {
    const on1 = await httpClient(replicas[0]!.url, keys.carol, "legacy");
    const on2 = await httpClient(replicas[1]!.url, keys.carol, "legacy");
    try {
      const call = on1.client.callTool({ name: "fx__delete_repo", arguments: { repo: "session-1" } });
      const q = await questionAbout(base(replicas[1]!), keys.bob, "session-1");
      assert.equal((await answer(base(replicas[1]!), keys.bob, q.id, "allow-session")).status, 200);
      assert.equal(texts(await call), "repo deleted");
      // The grant crossed Redis (replica 2 hears it on the channel this test also listens to).
      for (let i = 0; i < 50 && !granted.some((g) => g.principal === owner("carol")); i++) await new Promise((r) => setTimeout(r, 100));
      const grant = granted.find((g) => g.principal === owner("carol"));
      assert.ok(grant, "the grant was announced");
      assert.equal(grant.tool, "mcp__fx__delete_repo");
      assert.ok(typeof grant.until === "number" && grant.until > Date.now() + 3_000_000, "it lasts the session lifetime (12 h by default)");
      assert.equal(texts(await on2.client.callTool({ name: "fx__delete_repo", arguments: { repo: "session-2" } })), "repo deleted");
      const onReplica2 = auditRecords(scratches[1]!);
      const decided = onReplica2.find((x) => x.event === "decided" && (x.arguments as { repo?: string } | undefined)?.repo === "session-2");
      assert.equal(decided?.decision, "allow");
      assert.match(String(decided?.reason), /approved for this session/);
      assert.ok(!onReplica2.some((x) => x.kind === "approval" && x.event === "asked"), "replica 2 asked nobody");
    } finally {
      await on1.close();
      await on2.close();
    }
  });
});

describe("serve: shared approvals with Redis stopped", { skip }, () => {
  const keys = Object.fromEntries(CALLERS.map((c) => [c, generateApiKey()])) as Record<Caller, string>;
  let redis: PrivateRedis;
  let scratches: Scratch[] = [];
  let replicas: Serving[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    // The held call waits 4 s: no answer arrives in that time, so it ends unapproved.
    ({ scratches, replicas } = await startReplicas(redis.port, { holdMs: 60_000, timeoutMs: 4_000 }, keys));
  });
  after(async () => {
    for (const r of replicas) await r.stop().catch(() => undefined);
    await redis?.stop();
    for (const s of scratches) s.cleanup();
  });

  it("an approval through replica 2 is refused (not applied), its list says it is incomplete, and the call held on replica 1 ends at its timeout without being forwarded", async () => {
    const agent = await httpClient(replicas[0]!.url, keys.agent, "legacy");
    try {
      const call = agent.client.callTool({ name: "fx__delete_repo", arguments: { repo: "redis-gone" } });
      const q = await questionAbout(base(replicas[1]!), keys.alice, "redis-gone");
      await redis.kill();

      const listed = await list(base(replicas[1]!), keys.alice);
      assert.match(listed.incomplete ?? "", /the questions other replicas hold could not be read from Redis .*only this replica's are listed: ask again when Redis answers/);
      assert.ok(!listed.questions.some((x) => x.id === q.id));
      const onHolder = await list(base(replicas[0]!), keys.alice);
      assert.ok(onHolder.questions.some((x) => x.id === q.id) && onHolder.incomplete !== undefined, "the holder still lists its own");

      const r = await answer(base(replicas[1]!), keys.alice, q.id, "allow-once");
      assert.equal(r.status, 503, r.body);
      assert.match(r.body, /cannot be read from Redis.*nothing was answered: answer again when Redis answers/);
      const notApplied = auditRecords(scratches[1]!).filter((x) => x.kind === "approval" && x.event === "answered");
      assert.equal(notApplied.length, 1);
      assert.match(String(notApplied[0]!.reason), /^not applied: /);

      const result = await call;
      assert.equal(result.isError, true);
      assert.match(texts(result), /held back mcp__fx__delete_repo: it needs a person's approval .*Nothing was run/);
      const held = auditRecords(scratches[0]!);
      const decided = held.filter((x) => x.event === "decided" && x.tool === "mcp__fx__delete_repo");
      assert.equal(decided.length, 1);
      assert.notEqual(decided[0]!.decision, "allow");
      assert.equal(decided[0]!.outcome, "denied");
      assert.ok(!held.some((x) => x.event === "completed" && x.tool === "mcp__fx__delete_repo"), "nothing was forwarded");
      assert.ok(!held.some((x) => x.kind === "approval" && x.event === "answered"), "no answer reached replica 1");
      const stderr = replicas.map((x) => x.stderr()).join("");
      assert.ok(!/Unhandled error event|ioredis/.test(stderr), "no raw client noise on stderr");
    } finally {
      await agent.close();
    }
  });

  it("Redis restarted: the replicas reconnect and subscribe again by themselves, and an answer through replica 2 reaches replica 1 again", async () => {
    await redis.restart();
    const subscribedLines = (r: Serving) => r.stderr().split("\n").filter((l) => /shared approvals: replica [0-9a-f]{32} listens/.test(l)).length;
    for (let i = 0; i < 75 && !replicas.every((r) => subscribedLines(r) >= 2); i++) await new Promise((res) => setTimeout(res, 200));
    assert.ok(replicas.every((r) => subscribedLines(r) >= 2), `both subscribed again: ${replicas.map((r) => r.stderr()).join("")}`);
    let listed: Listed | undefined;
    for (let i = 0; i < 75 && (listed = await list(base(replicas[1]!), keys.alice)).incomplete !== undefined; i++) await new Promise((res) => setTimeout(res, 200));
    assert.equal(listed?.incomplete, undefined, "replica 2 reads Redis again");

    const agent = await httpClient(replicas[0]!.url, keys.agent, "legacy");
    try {
      const call = agent.client.callTool({ name: "fx__delete_repo", arguments: { repo: "redis-back" } });
      const q = await questionAbout(base(replicas[1]!), keys.alice, "redis-back");
      const r = await answer(base(replicas[1]!), keys.alice, q.id, "allow-once");
      assert.equal(r.status, 200, r.body);
      // Answered within the 4 s hold the call runs; answered just after, the call ended and the answer waits for its retry.
      await call;
      const applied = auditRecords(scratches[0]!).find((x) => x.kind === "approval" && x.event === "answered" && (x.detail as { approval?: string }).approval === q.id);
      assert.deepEqual([applied?.decision, (applied?.detail as { by?: string } | undefined)?.by], ["allow", "approver"], "replica 1 applied it");
    } finally {
      await agent.close();
    }
  });
});
