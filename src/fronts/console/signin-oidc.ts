// Console sign-in through the identity provider (serve): authorization code with PKCE (oidc.ts),
// bound to the browser that started it by a cookie of its own, used once; roles from the ID
// token's claims (roles.ts). Every sign-in, failed or not, is audited.
import type { AuditSink } from "../../audit/index.js";
import { makeDownstream } from "../../gateway/downstream.js";
import type { FrontRequest } from "../http/http-server.js";
import { html, messagePage, SECURITY_HEADERS, signedInResponse } from "./html.js";
import { ConsoleOidc, type ConsoleOidcConfig } from "./oidc.js";
import { consoleRole, type ConsoleRoles, roleHint } from "./roles.js";
import type { ConsoleSignIn } from "./routes.js";
import { clearCookie, type ConsoleSession, type ConsoleSessionStore, parseCookies, SESSION_COOKIE, setCookie, SIGNIN_COOKIE } from "./sessions.js";

export interface OidcSignInOptions {
  oidc: ConsoleOidcConfig;
  sessions: ConsoleSessionStore;
  audit: AuditSink;
  roles: () => ConsoleRoles;
  approvers: () => readonly string[];
  /** Whether cookies get Secure (https in front). */
  secure: (req: FrontRequest) => boolean;
  /** A path under /console to come back to, or the overview. */
  safeReturn: (value: string | null) => string;
  /**
   * Where the provider sends the browser back after a sign-out there (<publicUrl>/console/signed-out,
   * registered at the provider); unset: signing out ends the console session only.
   */
  postLogoutRedirectUri?: string;
}

export function oidcSignIn(o: OidcSignInOptions): ConsoleSignIn {
  const oidc = new ConsoleOidc(o.oidc);

  async function start(req: FrontRequest, url: URL): Promise<Response> {
    let started;
    try {
      started = await oidc.start();
    } catch (e) {
      return messagePage(503, "Sign-in is not available", `${(e as Error).message}. Try again when the identity provider answers.`);
    }
    const binding = await o.sessions.beginSignIn(started.pending, o.safeReturn(url.searchParams.get("next")));
    return new Response(null, {
      status: 303,
      headers: { ...SECURITY_HEADERS, location: started.url, "set-cookie": setCookie(SIGNIN_COOKIE, binding, { secure: o.secure(req), sameSite: "Lax", maxAgeSeconds: 600 }) },
    });
  }

  async function callback(req: FrontRequest, url: URL): Promise<Response> {
    const again = html`<a href="/console/signin">Sign in again</a>.`;
    const cookies = parseCookies(req.request.headers.get("cookie"));
    const state = url.searchParams.get("state") ?? "";
    const taken = await o.sessions.takeSignIn(state, cookies.get(SIGNIN_COOKIE));
    const clear = { "set-cookie": clearCookie(SIGNIN_COOKIE, o.secure(req)) };
    if (!taken) return messagePage(400, "Sign-in failed", html`This sign-in is unknown, expired (ten minutes) or was started in another browser. ${again}`, undefined, clear);
    const error = url.searchParams.get("error");
    const code = url.searchParams.get("code");
    if (error !== null || code === null) {
      return messagePage(400, "Sign-in failed", html`The identity provider answered ${error ?? "without a code"}${url.searchParams.get("error_description") ? `: ${url.searchParams.get("error_description")!.slice(0, 300)}` : ""}. ${again}`, undefined, clear);
    }
    const result = await oidc.finish(code, taken.pending);
    if (!result.ok) {
      o.audit.append({ kind: "request", event: "console-signin-failed", reason: result.reason, detail: { address: req.address } });
      return messagePage(400, "Sign-in failed", html`${result.reason}. ${again}`, undefined, clear);
    }
    const role = consoleRole(result.principal, o.roles(), o.approvers());
    let cookie: string;
    try {
      ({ cookie } = await o.sessions.create(result.principal, result.name, result.idToken));
    } catch (e) {
      // A shared store refuses claims it could not read back (their size): no session, said plainly.
      if (!(e instanceof RangeError)) throw e;
      o.audit.append({ kind: "request", event: "console-signin-failed", reason: e.message, detail: { address: req.address } });
      return messagePage(400, "Sign-in failed", html`${e.message}: ask the operator of the identity provider to send fewer groups to this client. ${again}`, undefined, clear);
    }
    o.audit.append({
      kind: "request",
      event: "console-signin",
      principal: makeDownstream(result.principal, { remote: true, address: req.address }).audited,
      ...(role === undefined ? { reason: "no console role" } : {}),
      detail: { role: role ?? "none" },
    });
    return signedInResponse(taken.returnTo, [setCookie(SESSION_COOKIE, cookie, { secure: o.secure(req), sameSite: "Strict" }), clearCookie(SIGNIN_COOKIE, o.secure(req))]);
  }

  return {
    open: async (req, url, path) => {
      if (req.request.method !== "GET") return undefined;
      if (path === "/console/signin") return start(req, url);
      if (path === "/console/callback") return callback(req, url);
      // Where the provider sends the browser back after a sign-out there: a page, nothing more.
      if (path === "/console/signed-out") return messagePage(200, "Signed out", html`You are signed out of the console and at the identity provider. <a href="/console/signin">Sign in</a>.`);
      return undefined;
    },
    signInPath: (next) => `/console/signin?next=${encodeURIComponent(next)}`,
    howToSignIn: html`<a href="/console/signin">Sign in</a>.`,
    roleOf: (s) => consoleRole(s.principal, o.roles(), o.approvers()),
    ...(o.postLogoutRedirectUri !== undefined ? { signOutAtProvider: (s: ConsoleSession) => oidc.endSessionUrl(s.idToken, o.postLogoutRedirectUri!) } : {}),
    noRole: (s) =>
      html`You are signed in as ${s.name} (<code>user:${s.principal.subject}</code>${s.principal.groups.map((g) => html`, <code>group:${g}</code>`)}), but none of these holds a console role. Ask the operator of this mcp-warden to add one of them to <code>remote.console.roles</code> (it grants roles to: ${roleHint(o.roles())}).`,
  };
}
