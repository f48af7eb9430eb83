// Console sessions, in this process's memory: a random cookie value names a session (stored by its
// hash), which ends after idleMs without a request or maxMs after sign-in, or at sign-out. A console
// session is not an MCP credential: the MCP endpoint takes bearer tokens only, and the console never
// accepts a bearer token. Sign-ins under way are kept here too (state, nonce, PKCE verifier) for ten
// minutes, bound to the browser that started them by a cookie of their own, and used once.
// Both maps are bounded: past the bound the oldest entry goes (its person signs in again).
import { createHash, randomBytes } from "node:crypto";
import type { Principal } from "../../policy/principal.js";
import type { PendingSignIn } from "./oidc.js";

export const SESSION_COOKIE = "mcpw_console";
export const SIGNIN_COOKIE = "mcpw_console_signin";
const SIGNIN_MS = 10 * 60_000;

export interface ConsoleSession {
  principal: Principal;
  /** Shown in the header (name, preferred_username, email or sub). */
  name: string;
  /** The per-session CSRF token every POST carries. */
  csrf: string;
  createdAt: number;
  lastSeen: number;
  /**
   * The ID token of the sign-in (OIDC): the hint a sign-out at the provider sends. Kept with the
   * session only; never logged, shown or sent anywhere but in that sign-out.
   */
  idToken?: string;
}

interface SignInEntry {
  pending: PendingSignIn;
  /** The hash of the browser's sign-in cookie. */
  binding: string;
  returnTo: string;
  expiresAt: number;
}

const digest = (s: string) => createHash("sha256").update(s).digest("base64url");
const token = () => randomBytes(32).toString("base64url");

type Maybe<T> = T | Promise<T>;

/**
 * A shared store that does not answer: nobody is signed in, checked or signed out meanwhile (the
 * console answers 503 with `where` and what to do). The message never holds a cookie or a secret.
 */
export class SessionStoreUnavailable extends Error {
  constructor(
    /** What keeps the sessions, for people: "Redis at host:6379/0 (state.redis)". */
    readonly where: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where console sessions live: this process's memory (ConsoleSessions) or a store every replica
 * shares. The console awaits every call, so a store may answer asynchronously; a shared store that
 * cannot answer throws SessionStoreUnavailable.
 */
export interface ConsoleSessionStore {
  beginSignIn(pending: PendingSignIn, returnTo: string): Maybe<string>;
  takeSignIn(state: string, cookie: string | undefined): Maybe<{ pending: PendingSignIn; returnTo: string } | undefined>;
  create(principal: Principal, name: string, idToken?: string): Maybe<{ cookie: string; session: ConsoleSession }>;
  get(cookie: string | undefined): Maybe<ConsoleSession | undefined>;
  end(cookie: string | undefined): Maybe<void>;
  /**
   * A shared store also keeps the notice a session's next page shows (after a POST's redirect, which
   * a load balancer may send to another replica), under `key` (a hash of the session's CSRF token),
   * for a few minutes and read once. Without these, the console keeps notices in its own memory.
   */
  putNotice?(key: string, text: string): Promise<void>;
  takeNotice?(key: string): Promise<string | undefined>;
  close?(): Promise<void>;
}

export class ConsoleSessions implements ConsoleSessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly signIns = new Map<string, SignInEntry>();
  private readonly now: () => number;

  constructor(private readonly opts: { idleMs: number; maxMs: number; now?: () => number; maxSessions?: number; maxSignIns?: number }) {
    this.now = opts.now ?? Date.now;
  }

  /** Remembers a sign-in under way; the value of the cookie that binds it to this browser. */
  beginSignIn(pending: PendingSignIn, returnTo: string): string {
    const binding = token();
    this.prune();
    bound(this.signIns, this.opts.maxSignIns ?? 1000);
    this.signIns.set(pending.state, { pending, binding: digest(binding), returnTo, expiresAt: this.now() + SIGNIN_MS });
    return binding;
  }

  /** The sign-in `state` names, once, when the same browser (cookie) comes back in time. */
  takeSignIn(state: string, cookie: string | undefined): { pending: PendingSignIn; returnTo: string } | undefined {
    const entry = this.signIns.get(state);
    if (!entry || cookie === undefined || digest(cookie) !== entry.binding) return undefined;
    this.signIns.delete(state);
    if (entry.expiresAt <= this.now()) return undefined;
    return { pending: entry.pending, returnTo: entry.returnTo };
  }

  /** A new session; the cookie value naming it. */
  create(principal: Principal, name: string, idToken?: string): { cookie: string; session: ConsoleSession } {
    const cookie = token();
    const at = this.now();
    const session: ConsoleSession = { principal, name, csrf: token(), createdAt: at, lastSeen: at, ...(idToken !== undefined ? { idToken } : {}) };
    this.prune();
    bound(this.sessions, this.opts.maxSessions ?? 10_000);
    this.sessions.set(digest(cookie), session);
    return { cookie, session };
  }

  /** The live session a cookie names (its idle time restarts), or undefined. */
  get(cookie: string | undefined): ConsoleSession | undefined {
    if (cookie === undefined || cookie === "") return undefined;
    const key = digest(cookie);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.lastSeen >= this.opts.idleMs || now - s.createdAt >= this.opts.maxMs) {
      this.sessions.delete(key);
      return undefined;
    }
    s.lastSeen = now;
    return s;
  }

  end(cookie: string | undefined): void {
    if (cookie !== undefined) this.sessions.delete(digest(cookie));
  }

  get size(): number {
    return this.sessions.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (now - s.lastSeen >= this.opts.idleMs || now - s.createdAt >= this.opts.maxMs) this.sessions.delete(k);
    for (const [k, e] of this.signIns) if (e.expiresAt <= now) this.signIns.delete(k);
  }
}

/** Drops the oldest entries (insertion order) until one more fits. */
function bound<V>(map: Map<string, V>, max: number): void {
  while (map.size >= max) map.delete(map.keys().next().value!);
}

/** The cookies of a request (the first of a repeated name wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * A Set-Cookie value under /console. The session cookie is SameSite=Strict; the sign-in cookie is
 * Lax, since it must come back with the provider's cross-site redirect to the callback.
 */
export function setCookie(name: string, value: string, opts: { secure: boolean; sameSite: "Strict" | "Lax"; maxAgeSeconds?: number }): string {
  return [`${name}=${value}`, "Path=/console", "HttpOnly", `SameSite=${opts.sameSite}`, ...(opts.secure ? ["Secure"] : []), ...(opts.maxAgeSeconds !== undefined ? [`Max-Age=${opts.maxAgeSeconds}`] : [])].join("; ");
}

export function clearCookie(name: string, secure: boolean): string {
  return setCookie(name, "", { secure, sameSite: "Lax", maxAgeSeconds: 0 });
}
