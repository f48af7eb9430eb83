// The console's Redis session store against real Redis: the same contract as the in-memory store
// (create, get, idle time, absolute lifetime, sign-out, a sign-in taken once by its own browser),
// run on both with one clock the test moves; then what only the shared store has: keys that are
// hashes, a session seen and ended from another replica's connection, the lifetime enforced on read
// whatever the key's expiry, malformed entries ignored, two replicas racing for one sign-in, and a
// Redis that stops (every call throws SessionStoreUnavailable; the console answers 503 and grants
// nothing) and comes back. The machine's Redis under a random key prefix removed afterwards, and a
// private redis-server this file kills and restarts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Redis } from "ioredis";
import { createConsole } from "../../src/fronts/console/console.js";
import { html } from "../../src/fronts/console/html.js";
import { type ConsoleSessionStore, ConsoleSessions, SessionStoreUnavailable } from "../../src/fronts/console/sessions.js";
import type { FrontRequest } from "../../src/fronts/http/http-server.js";
import type { Principal } from "../../src/policy/principal.js";
import { RedisConsoleSessions } from "../../src/state/redis-console-sessions.js";
import { openRedis } from "../../src/state/redis.js";
import { deleteKeys, MACHINE_REDIS_URL, redisUnavailable, startPrivateRedis, testKeyPrefix, type PrivateRedis } from "../e2e/redis-harness.js";

const skip = redisUnavailable();
const IDLE = 1_000;
const MAX = 3_000;
const principal: Principal = Object.freeze({ subject: "user-carol", clientId: "mcp-warden-console", groups: Object.freeze(["approvers"]), scopes: Object.freeze([]), method: "oidc" as const, issuer: "https://idp.example" });
const pendingOf = (state: string) => ({ state, nonce: "n".repeat(43), verifier: "v".repeat(43) });

/** The store contract, for a store whose clock is `clock.now`. */
function contract(name: string, make: (clock: { now: number }) => ConsoleSessionStore, ready: () => boolean = () => true) {
  describe(`the console session contract: ${name}`, () => {
    it("a created session is found by its cookie, with its principal, name and CSRF token; nothing else is", async (t) => {
      if (!ready()) return t.skip("no store");
      const clock = { now: 1_000_000 };
      const s = make(clock);
      const { cookie, session } = await s.create(principal, "Carol Approver");
      assert.match(cookie, /^[A-Za-z0-9_-]{43}$/);
      assert.match(session.csrf, /^[A-Za-z0-9_-]{43}$/);
      const got = await s.get(cookie);
      assert.deepEqual(got?.principal, { ...principal, groups: ["approvers"], scopes: [] });
      assert.equal(got?.name, "Carol Approver");
      assert.equal(got?.csrf, session.csrf);
      assert.equal(got?.createdAt, 1_000_000);
      assert.equal(await s.get(`${cookie}x`), undefined);
      assert.equal(await s.get(""), undefined);
      assert.equal(await s.get(undefined), undefined);
    });

    it("a session keeps the sign-in's ID token (the hint of a sign-out at the provider), and a session without one has none", async (t) => {
      if (!ready()) return t.skip("no store");
      const clock = { now: 1_500_000 };
      const s = make(clock);
      const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLWNhcm9sIn0.c2lnbmF0dXJl";
      const { cookie } = await s.create(principal, "Carol", idToken);
      assert.equal((await s.get(cookie))?.idToken, idToken);
      const plain = await s.create(principal, "Carol");
      assert.equal((await s.get(plain.cookie))?.idToken, undefined);
    });

    it("a session ends after its idle time, and after its absolute time however active", async (t) => {
      if (!ready()) return t.skip("no store");
      const clock = { now: 2_000_000 };
      const s = make(clock);
      const { cookie } = await s.create(principal, "U");
      clock.now += 900;
      assert.ok(await s.get(cookie));
      clock.now += 900;
      assert.ok(await s.get(cookie), "activity restarts the idle time");
      clock.now += 1_100;
      assert.equal(await s.get(cookie), undefined, "idle for 1100 ms");
      clock.now += 1;
      assert.equal(await s.get(cookie), undefined, "and it stays ended");
      const second = (await s.create(principal, "U")).cookie;
      const start = clock.now;
      for (; clock.now < start + MAX - 100; clock.now += 500) assert.ok(await s.get(second), `alive at +${clock.now - start} ms`);
      clock.now = start + MAX;
      assert.equal(await s.get(second), undefined, "three seconds after sign-in");
    });

    it("sign-out ends the session", async (t) => {
      if (!ready()) return t.skip("no store");
      const s = make({ now: 3_000_000 });
      const { cookie } = await s.create(principal, "U");
      const other = (await s.create(principal, "U")).cookie;
      await s.end(cookie);
      assert.equal(await s.get(cookie), undefined);
      assert.ok(await s.get(other), "another session of the same person stays");
      await s.end(undefined);
      await s.end("never-was");
    });

    it("a sign-in is taken once, only by the browser that started it, within ten minutes", async (t) => {
      if (!ready()) return t.skip("no store");
      const clock = { now: 4_000_000 };
      const s = make(clock);
      const state = `st-${Math.random()}`;
      const binding = await s.beginSignIn(pendingOf(state), "/console/activity");
      assert.equal(await s.takeSignIn(state, "another browser"), undefined);
      assert.equal(await s.takeSignIn(state, undefined), undefined);
      assert.equal(await s.takeSignIn("another state", binding), undefined);
      assert.deepEqual(await s.takeSignIn(state, binding), { pending: pendingOf(state), returnTo: "/console/activity" }, "the right browser still can, after a wrong one tried");
      assert.equal(await s.takeSignIn(state, binding), undefined, "used once");
      const late = `st2-${Math.random()}`;
      const lateBinding = await s.beginSignIn(pendingOf(late), "/console");
      clock.now += 10 * 60_000 + 1;
      assert.equal(await s.takeSignIn(late, lateBinding), undefined, "expired");
    });
  });
}

contract("in memory", (clock) => new ConsoleSessions({ idleMs: IDLE, maxMs: MAX, now: () => clock.now }));

let machine: Redis | undefined;
const prefix = testKeyPrefix();
const redisStore = (clock: { now: number }, client = machine!) => new RedisConsoleSessions({ client, idleMs: IDLE, maxMs: MAX, where: "127.0.0.1:6379/0", keyPrefix: prefix, now: () => clock.now });

describe("on the machine's Redis", { skip }, () => {
  let second: Redis;
  before(async () => {
    machine = await openRedis({ url: MACHINE_REDIS_URL, commandTimeoutMs: 5_000 });
    // A second connection stands for a second replica.
    second = await openRedis({ url: MACHINE_REDIS_URL, commandTimeoutMs: 5_000 });
  });
  after(async () => {
    if (machine) {
      await deleteKeys(machine, prefix);
      assert.equal((await machine.keys(`${prefix}*`)).length, 0, "the test's keys are gone");
      await machine.quit();
    }
    await second?.quit();
  });

  contract("Redis", (clock) => redisStore(clock), () => machine !== undefined);

  it("keys are the hashes of the cookie and the state; the value holds exactly the session's fields; neither the cookie nor the state is in Redis", async () => {
    const clock = { now: 5_000_000 };
    const s = redisStore(clock);
    const { cookie, session } = await s.create(principal, "Carol");
    const state = `st-${Math.random()}`;
    const binding = await s.beginSignIn(pendingOf(state), "/console");
    const value = JSON.parse((await machine!.get(s.sessionKey(cookie)))!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(value).sort(), ["createdAt", "csrf", "lastSeen", "name", "principal"]);
    assert.equal(value.csrf, session.csrf);
    assert.match(s.sessionKey(cookie), new RegExp(`^${prefix}console-session:[0-9a-f]{64}$`));
    assert.match(s.signInKey(state), new RegExp(`^${prefix}console-signin:[0-9a-f]{64}$`));
    const ttl = await machine!.pttl(s.sessionKey(cookie));
    assert.ok(ttl > 0 && ttl <= IDLE, `the key expires within the idle time: ${ttl}`);
    const signinTtl = await machine!.pttl(s.signInKey(state));
    assert.ok(signinTtl > 9 * 60_000 && signinTtl <= 10 * 60_000, `a sign-in expires in ten minutes: ${signinTtl}`);
    for (const k of await machine!.keys(`${prefix}*`)) {
      assert.ok(!k.includes(cookie) && !k.includes(state) && !k.includes(binding), k);
      const v = (await machine!.get(k)) ?? "";
      assert.ok(!v.includes(cookie) && !v.includes(binding), `${k} holds no cookie value`);
    }
  });

  it("a session created through one replica's connection is read, slid and ended through another's", async () => {
    const clock = { now: 6_000_000 };
    const one = redisStore(clock);
    const two = redisStore(clock, second);
    const { cookie, session } = await one.create(principal, "Carol");
    clock.now += 800;
    assert.equal((await two.get(cookie))?.csrf, session.csrf);
    clock.now += 800;
    assert.ok(await one.get(cookie), "replica 2's read restarted the idle time for replica 1");
    await two.end(cookie);
    assert.equal(await one.get(cookie), undefined, "signed out everywhere");
    assert.equal(await machine!.exists(one.sessionKey(cookie)), 0);
  });

  it("a notice put through one replica's connection is taken once through another's, under a hashed key that expires, and cut to its bound", async () => {
    const one = redisStore({ now: 0 });
    const two = redisStore({ now: 0 }, second);
    const key = `notice-${Math.random()}`;
    await one.putNotice(key, "Answered deny (question q1).");
    assert.match(one.noticeKey(key), new RegExp(`^${prefix}console-notice:[0-9a-f]{64}$`));
    const ttl = await machine!.pttl(one.noticeKey(key));
    assert.ok(ttl > 0 && ttl <= 5 * 60_000, `the notice expires: ${ttl}`);
    assert.equal(await two.takeNotice(key), "Answered deny (question q1).");
    assert.equal(await one.takeNotice(key), undefined, "taken once");
    await one.putNotice(key, "é".repeat(20_000));
    const cut = (await two.takeNotice(key))!;
    assert.ok(Buffer.byteLength(cut) <= 16 * 1024 + 4 && cut.endsWith("…") && !cut.includes("\uFFFD"), "cut on a character boundary");
  });

  it("the absolute lifetime and the idle time are enforced on read, whatever the key's expiry says", async () => {
    const clock = { now: 7_000_000 };
    const s = redisStore(clock);
    const { cookie } = await s.create(principal, "U");
    await machine!.pexpire(s.sessionKey(cookie), 3_600_000);
    clock.now += IDLE;
    assert.equal(await s.get(cookie), undefined, "idle");
    assert.equal(await machine!.exists(s.sessionKey(cookie)), 0, "and removed");
    const active = (await s.create(principal, "U")).cookie;
    for (let i = 0; i < 4; i++) {
      clock.now += 600;
      await machine!.pexpire(s.sessionKey(active), 3_600_000);
      assert.ok(await s.get(active));
    }
    const ttl = await machine!.pttl(s.sessionKey(active));
    assert.ok(ttl > 0 && ttl <= MAX - 4 * 600, `the slid expiry never passes the lifetime: ${ttl}`);
    await machine!.pexpire(s.sessionKey(active), 3_600_000);
    clock.now += 600;
    assert.equal(await s.get(active), undefined, "3000 ms after sign-in, though active and the key alive");
  });

  it("a malformed entry is no session and no sign-in", async () => {
    const clock = { now: 8_000_000 };
    const s = redisStore(clock);
    const { cookie } = await s.create(principal, "U");
    const good = JSON.parse((await machine!.get(s.sessionKey(cookie)))!) as Record<string, unknown>;
    const bad: unknown[] = [
      "not json {",
      "null",
      JSON.stringify([good]),
      JSON.stringify({ ...good, extra: 1 }),
      JSON.stringify({ ...good, csrf: undefined }),
      JSON.stringify({ ...good, csrf: "short" }),
      JSON.stringify({ ...good, lastSeen: "now" }),
      JSON.stringify({ ...good, principal: { ...(good.principal as object), method: "root" } }),
      JSON.stringify({ ...good, principal: { ...(good.principal as object), admin: true } }),
      JSON.stringify({ ...good, principal: { ...(good.principal as object), groups: "secops" } }),
      JSON.stringify({ ...good, name: "x".repeat(70_000) }),
      JSON.stringify({ ...good, idToken: "not a JWS" }),
      JSON.stringify({ ...good, idToken: 42 }),
    ];
    for (const value of bad) {
      await machine!.set(s.sessionKey(cookie), value as string, "PX", 60_000);
      assert.equal(await s.get(cookie), undefined, String(value).slice(0, 200));
    }
    const state = `st-${Math.random()}`;
    const binding = await s.beginSignIn(pendingOf(state), "/console");
    const entry = JSON.parse((await machine!.get(s.signInKey(state)))!) as Record<string, unknown>;
    for (const value of [
      { ...entry, returnTo: "https://evil.example/" },
      { ...entry, pending: { ...(entry.pending as object), verifier: "" } },
      { ...entry, pending: { ...(entry.pending as object), state: "another" } },
      { ...entry, extra: true },
    ]) {
      await machine!.set(s.signInKey(state), JSON.stringify(value), "PX", 60_000);
      assert.equal(await s.takeSignIn(state, binding), undefined, JSON.stringify(value));
    }
    await machine!.set(s.signInKey(state), "not json", "PX", 60_000);
    assert.equal(await s.takeSignIn(state, binding), undefined);
    assert.equal(await machine!.exists(s.signInKey(state)), 0, "an unreadable sign-in is removed");
  });

  it("two replicas given the same callback at once: exactly one takes the sign-in", async () => {
    const clock = { now: 9_000_000 };
    for (let round = 0; round < 20; round++) {
      const state = `race-${round}-${Math.random()}`;
      const binding = await redisStore(clock).beginSignIn(pendingOf(state), "/console");
      const taken = await Promise.all([redisStore(clock).takeSignIn(state, binding), redisStore(clock, second).takeSignIn(state, binding)]);
      assert.equal(taken.filter((x) => x !== undefined).length, 1, `round ${round}`);
    }
  });
});

describe("with Redis stopped", { skip }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  const logs: string[] = [];
  before(async () => {
    redis = await startPrivateRedis();
    client = await openRedis({ url: redis.url, commandTimeoutMs: 1_000 });
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("every call throws SessionStoreUnavailable (logged once), the console answers 503 and grants nothing; with Redis back it works again", async () => {
    const clock = { now: Date.now() };
    const store = new RedisConsoleSessions({ client, idleMs: IDLE, maxMs: MAX, where: `127.0.0.1:${redis.port}/0`, now: () => clock.now, log: (m) => logs.push(m) });
    const { cookie } = await store.create(principal, "U");
    await redis.kill();
    const calls: [string, () => Promise<unknown>][] = [
      ["get", () => store.get(cookie)],
      ["create", () => store.create(principal, "U")],
      ["end", () => store.end(cookie)],
      ["beginSignIn", () => store.beginSignIn(pendingOf("s"), "/console")],
      ["takeSignIn", () => store.takeSignIn("s", "b")],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call(), (e: unknown) => e instanceof SessionStoreUnavailable && e.where === `Redis at 127.0.0.1:${redis.port}/0 (state.redis)`, name);
    }
    assert.equal(logs.length, 1, logs.join("\n"));
    assert.match(logs[0]!, /console: sessions cannot be read or written in Redis at 127\.0\.0\.1:\d+\/0 .*the console answers 503 until Redis answers/);
    assert.ok(!logs[0]!.includes(cookie));

    // The console in front of it: a page, a POST and sign-out are 503 with what to do; no cookie is set.
    const console = createConsole({
      signIn: () => ({ open: async () => undefined, signInPath: (next) => `/console/signin?next=${encodeURIComponent(next)}`, howToSignIn: html`Sign in.`, roleOf: () => "admin", noRole: () => html`` }),
      sessions: store,
      publicOrigin: "http://127.0.0.1:1",
      session: { idleMs: IDLE, maxMs: MAX },
      settings: () => { throw new Error("not read"); },
      env: {},
      cwd: "/",
      approvals: { list: async () => ({ questions: [] }), answer: async () => ({ ok: false, status: 500, message: "not called" }) },
      servers: () => [],
      activity: { where: "nowhere", close: async () => undefined } as never,
      audit: { append: () => undefined } as never,
    });
    const req = (method: string, path: string): FrontRequest => ({
      request: new Request(`http://127.0.0.1:1${path}`, { method, headers: { cookie: `mcpw_console=${cookie}`, ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}) } }),
      body: method === "POST" ? "csrf=x" : "",
      address: "127.0.0.1",
      proto: "http",
      hostAllowed: true,
    });
    for (const [method, path] of [["GET", "/console"], ["GET", "/console/approvals"], ["POST", "/console/signout"], ["POST", "/console/approvals/abc"]] as const) {
      const res = await console.handle(req(method, path));
      assert.equal(res.status, 503, `${method} ${path}`);
      assert.equal(res.headers.get("set-cookie"), null, "no cookie set or cleared");
      assert.equal(res.headers.get("retry-after"), "30");
      const text = await res.text();
      assert.match(text, /Console sessions are unavailable/);
      assert.match(text, /keeps its sessions in Redis at 127\.0\.0\.1:\d+\/0 \(state\.redis\), which does not answer/);
      assert.match(text, /Reload this page in a minute.*check that Redis is running and reachable/s);
      assert.doesNotMatch(text, /at .*\.js:\d+|Error:/, "no stack trace");
    }

    await redis.restart();
    for (let i = 0; i < 100 && client.status !== "ready"; i++) await new Promise((r) => setTimeout(r, 50));
    const again = await store.create(principal, "U");
    assert.equal((await store.get(again.cookie))?.name, "U");
    assert.equal(await store.get(cookie), undefined, "the old session went with that Redis's data");
    assert.match(logs.at(-1)!, /console: Redis at .* answers again/);
  });
});
