// Console sessions shared between `serve` replicas through Redis (state.redis), so that a person
// signed in through one replica is signed in on all of them and a load balancer need not be sticky.
// The same contract as the in-memory store (src/fronts/console/sessions.ts ConsoleSessions):
//
// - A session is the key `<prefix>console-session:<sha256(cookie) hex>` holding the JSON
//   {principal, name, csrf, createdAt, lastSeen, idToken?}. The cookie itself is the browser's credential and is
//   never a key or a value. Each read checks the idle time (lastSeen) and the absolute lifetime
//   (createdAt) itself, then slides lastSeen and the key's expiry (the idle time, never past the
//   lifetime): the expiry is only Redis's way of forgetting, not what ends a session.
// - A sign-in under way is `<prefix>console-signin:<sha256(state) hex>` holding {pending, binding,
//   returnTo, expiresAt} for ten minutes, where binding is the hash of the browser's sign-in cookie.
//   A Lua script takes it once: it is deleted and returned only to the browser that started it, so
//   two replicas given the same callback cannot both finish it.
// - Whatever is read back is checked strictly (zod): an entry of another shape is no session and no
//   sign-in. Sign-out deletes the key, so it ends the session on every replica at once.
// - The notice a session's next page shows (after a POST's redirect, which may reach another replica)
//   is `<prefix>console-notice:<sha256(sha256(csrf))>` for five minutes, taken once (GETDEL).
// - The CSRF token, the ID token, the nonce and the PKCE verifier are secrets: they live in Redis values only, and
//   nothing here logs a value or a key.
// - Redis unreachable or slow: every method throws SessionStoreUnavailable, and the console answers
//   503 (never a session it could not check). The first failure and the return are logged once each.
//
// Clocks: the times are the replica's (like the in-memory store's), so replicas' clocks should agree
// to well within the idle time; a replica whose clock is ahead ends sessions that much early.
import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import * as z from "zod/v4";
import type { ConsoleSession, ConsoleSessionStore } from "../fronts/console/sessions.js";
import { SessionStoreUnavailable } from "../fronts/console/sessions.js";
import type { PendingSignIn } from "../fronts/console/oidc.js";
import type { Principal } from "../policy/principal.js";

export interface RedisConsoleSessionsOptions {
  /** The fail-fast command client serve opened (src/state/redis.ts). */
  client: Pick<Redis, "get" | "set" | "del" | "getdel" | "eval" | "evalsha">;
  idleMs: number;
  maxMs: number;
  /** Where Redis is, for messages: host:port/db, never a password. */
  where: string;
  /** Prepended to every key (default `mcp-warden:`); letters, digits and `:_.{}-` only. */
  keyPrefix?: string;
  now?: () => number;
  log?: (message: string) => void;
}

const SIGNIN_MS = 10 * 60_000;
/** A notice waits this long for the page after its redirect. */
const NOTICE_MS = 5 * 60_000;
const MAX_NOTICE_BYTES = 16 * 1024;
/** A value larger than this is not one of ours (a principal's groups are the largest part). */
const MAX_VALUE_BYTES = 64 * 1024;
const PREFIX = /^[A-Za-z0-9:_.{}-]{1,100}$/;

const hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const token = () => randomBytes(32).toString("base64url");

const Text = z.string().max(8192);
const Time = z.number().int().nonnegative();
const PrincipalSchema = z.strictObject({
  subject: z.string().min(1).max(8192),
  clientId: Text.optional(),
  groups: z.array(Text).max(10_000),
  org: Text.optional(),
  scopes: z.array(Text).max(10_000),
  method: z.enum(["local", "oidc", "api-key"]),
  issuer: Text.optional(),
});
const SessionSchema = z.strictObject({
  principal: PrincipalSchema,
  name: Text,
  csrf: z.string().min(16).max(256),
  createdAt: Time,
  lastSeen: Time,
  // A compact JWS (three base64url parts).
  idToken: z.string().max(16_384).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/).optional(),
});
const SignInSchema = z.strictObject({
  pending: z.strictObject({ state: z.string().min(1).max(512), nonce: z.string().min(1).max(512), verifier: z.string().min(43).max(128) }),
  binding: z.string().regex(/^[0-9a-f]{64}$/),
  returnTo: z.string().startsWith("/console").max(2048),
  expiresAt: Time,
});

/** Parses a stored value strictly; undefined for anything else (not JSON, too large, another shape). */
function parse<T>(schema: z.ZodType<T>, text: string): T | undefined {
  if (Buffer.byteLength(text) > MAX_VALUE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

// KEYS: the sign-in. ARGV: the hash of the browser's sign-in cookie. Returns {1, value} after deleting
// it when the binding matches; {0} when there is no such sign-in, or it is another browser's (left
// in place: a stranger holding the state cannot spend someone else's sign-in); a value that is not
// an object with a binding is deleted.
export const TAKE_SIGNIN_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return {0} end
local ok, rec = pcall(cjson.decode, v)
if not ok or type(rec) ~= 'table' or type(rec.binding) ~= 'string' then
  redis.call('DEL', KEYS[1])
  return {0}
end
if rec.binding ~= ARGV[1] then return {0} end
redis.call('DEL', KEYS[1])
return {1, v}
`;
const TAKE_SIGNIN_SHA = createHash("sha1").update(TAKE_SIGNIN_SCRIPT).digest("hex");

export class RedisConsoleSessions implements ConsoleSessionStore {
  private readonly prefix: string;
  private readonly now: () => number;
  private failing = false;

  constructor(private readonly opts: RedisConsoleSessionsOptions) {
    const prefix = opts.keyPrefix ?? "mcp-warden:";
    if (!PREFIX.test(prefix)) throw new RangeError(`Redis key prefix ${JSON.stringify(prefix)}: use 1-100 letters, digits and ':_.{}-'`);
    if (!(opts.idleMs >= 1 && opts.maxMs >= 1)) throw new RangeError("console session times must be positive");
    this.prefix = prefix;
    this.now = opts.now ?? Date.now;
  }

  /** The Redis key of the session a cookie names. */
  sessionKey(cookie: string): string {
    return `${this.prefix}console-session:${hex(cookie)}`;
  }

  /** The Redis key of the sign-in a `state` names. */
  signInKey(state: string): string {
    return `${this.prefix}console-signin:${hex(state)}`;
  }

  async beginSignIn(pending: PendingSignIn, returnTo: string): Promise<string> {
    const binding = token();
    const value = JSON.stringify({ pending, binding: hex(binding), returnTo, expiresAt: this.now() + SIGNIN_MS });
    const set = await this.redis(() => this.opts.client.set(this.signInKey(pending.state), value, "PX", SIGNIN_MS, "NX"));
    // A second sign-in under the same 256-bit random state would be a broken random source: refuse it.
    if (set === null) throw new Error("a sign-in with this state is already under way");
    return binding;
  }

  async takeSignIn(state: string, cookie: string | undefined): Promise<{ pending: PendingSignIn; returnTo: string } | undefined> {
    if (cookie === undefined || cookie === "" || state === "") return undefined;
    const key = this.signInKey(state);
    const reply = await this.redis(() => this.script(key, hex(cookie)));
    if (!Array.isArray(reply) || reply[0] !== 1 || typeof reply[1] !== "string") return undefined;
    const entry = parse(SignInSchema, reply[1]);
    // Expired by its own time as well as Redis's; a state that does not match its key is not this one.
    if (!entry || entry.pending.state !== state || entry.expiresAt <= this.now()) return undefined;
    return { pending: entry.pending, returnTo: entry.returnTo };
  }

  async create(principal: Principal, name: string, idToken?: string): Promise<{ cookie: string; session: ConsoleSession }> {
    const cookie = token();
    const at = this.now();
    const session: ConsoleSession = { principal: plainPrincipal(principal), name, csrf: token(), createdAt: at, lastSeen: at, ...(idToken !== undefined ? { idToken } : {}) };
    const value = JSON.stringify(session);
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES || !SessionSchema.safeParse(session).success) throw new RangeError("the identity provider's claims are too large or malformed for a console session");
    const set = await this.redis(() => this.opts.client.set(this.sessionKey(cookie), value, "PX", Math.ceil(Math.min(this.opts.idleMs, this.opts.maxMs)), "NX"));
    if (set === null) throw new Error("a console session with this cookie already exists");
    return { cookie, session };
  }

  async get(cookie: string | undefined): Promise<ConsoleSession | undefined> {
    if (cookie === undefined || cookie === "") return undefined;
    const key = this.sessionKey(cookie);
    const text = await this.redis(() => this.opts.client.get(key));
    if (text === null) return undefined;
    // Fail closed: an entry this version cannot read is no session (its person signs in again).
    const s = parse(SessionSchema, text) as ConsoleSession | undefined;
    if (!s) return undefined;
    const now = this.now();
    if (now - s.lastSeen >= this.opts.idleMs || now - s.createdAt >= this.opts.maxMs) {
      await this.redis(() => this.opts.client.del(key));
      return undefined;
    }
    const session: ConsoleSession = { ...s, lastSeen: Math.max(now, s.lastSeen) };
    const left = Math.min(this.opts.idleMs, s.createdAt + this.opts.maxMs - now);
    // XX: only while the key exists, so a sign-out on another replica in between is not undone.
    const set = await this.redis(() => this.opts.client.set(key, JSON.stringify(session), "PX", Math.max(1, Math.ceil(left)), "XX"));
    return set === null ? undefined : session;
  }

  async end(cookie: string | undefined): Promise<void> {
    if (cookie === undefined || cookie === "") return;
    await this.redis(() => this.opts.client.del(this.sessionKey(cookie)));
  }

  /** The Redis key of a session's notice (`key` is already a hash of the session's CSRF token). */
  noticeKey(key: string): string {
    return `${this.prefix}console-notice:${hex(key)}`;
  }

  async putNotice(key: string, text: string): Promise<void> {
    // Cut to a bound on a character boundary: a notice is a page's message, never a store's burden.
    const value = Buffer.byteLength(text) > MAX_NOTICE_BYTES ? `${Buffer.from(text).subarray(0, MAX_NOTICE_BYTES).toString("utf8").replace(/\uFFFD$/, "")}…` : text;
    await this.redis(() => this.opts.client.set(this.noticeKey(key), value, "PX", NOTICE_MS));
  }

  async takeNotice(key: string): Promise<string | undefined> {
    const text = await this.redis(() => this.opts.client.getdel(this.noticeKey(key)));
    return typeof text === "string" && Buffer.byteLength(text) <= MAX_NOTICE_BYTES + 4 ? text : undefined;
  }

  /** EVALSHA; when Redis does not hold the script (first use, a restart, SCRIPT FLUSH), EVAL loads it. */
  private async script(key: string, binding: string): Promise<unknown> {
    try {
      return await this.opts.client.evalsha(TAKE_SIGNIN_SHA, 1, key, binding);
    } catch (error) {
      if (!/^NOSCRIPT/.test((error as Error).message ?? "")) throw error;
      return this.opts.client.eval(TAKE_SIGNIN_SCRIPT, 1, key, binding);
    }
  }

  /** Runs one Redis call; a failure becomes SessionStoreUnavailable (logged once until Redis answers again). */
  private async redis<T>(call: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (e) {
      const why = (e as Error).message;
      if (!this.failing) {
        this.failing = true;
        this.opts.log?.(`console: sessions cannot be read or written in Redis at ${this.opts.where} (${why}); the console answers 503 until Redis answers`);
      }
      throw new SessionStoreUnavailable(`Redis at ${this.opts.where} (state.redis)`, `console sessions: Redis at ${this.opts.where} does not answer (${why})`);
    }
    if (this.failing) {
      this.failing = false;
      this.opts.log?.(`console: Redis at ${this.opts.where} answers again; console sessions work again`);
    }
    return result;
  }
}

/** The principal's fields only (a frozen object with extra fields would not read back strictly). */
function plainPrincipal(p: Principal): Principal {
  return {
    subject: p.subject,
    ...(p.clientId !== undefined ? { clientId: p.clientId } : {}),
    groups: [...p.groups],
    ...(p.org !== undefined ? { org: p.org } : {}),
    scopes: [...p.scopes],
    method: p.method,
    ...(p.issuer !== undefined ? { issuer: p.issuer } : {}),
  };
}
