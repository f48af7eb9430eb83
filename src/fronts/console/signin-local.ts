// The local console's sign-in (`mcp-warden run`): no identity provider, a one-time ticket instead.
// `mcp-warden console` mints the ticket from the admin token in the gateway's 0600 status file
// (ticket.ts), so only the OS user who runs the gateway gets in; GET /console/enter?t=TICKET takes
// it once and begins a console session for that person, with the admin role (they started `run`;
// it is theirs). Without a session there is nowhere to send a browser: a page says how to get in.
import type { AuditSink } from "../../audit/index.js";
import { makeDownstream } from "../../gateway/downstream.js";
import type { Principal } from "../../policy/principal.js";
import type { FrontRequest } from "../http/http-server.js";
import { CONSOLE_PATH, html, messagePage, signedInResponse } from "./html.js";
import type { ConsoleSignIn } from "./routes.js";
import { type ConsoleSessionStore, SESSION_COOKIE, setCookie } from "./sessions.js";
import { ENTER_PATH, TicketGate } from "./ticket.js";

export interface LocalSignInOptions {
  /** The page server's admin token: tickets are signed with it. */
  adminToken: string;
  /** The local person (method "local"), as the stdio front names them. */
  principal: Principal;
  sessions: ConsoleSessionStore;
  audit: AuditSink;
  now?: () => number;
}

/** What someone without a session does next. */
export const HOW_TO_GET_IN = html`Run <code>mcp-warden console</code> in a terminal in your project: it prints a fresh link into this console (a link works once, for five minutes).`;

export function localSignIn(o: LocalSignInOptions): ConsoleSignIn {
  const tickets = new TicketGate(o.adminToken, o.now ? { now: o.now } : {});
  const audited = (address: string) => makeDownstream(o.principal, { remote: false, address }).audited;

  async function enter(req: FrontRequest, url: URL): Promise<Response> {
    const taken = tickets.take(url.searchParams.get("t"));
    if (!taken.ok) {
      o.audit.append({ kind: "request", event: "console-signin-failed", principal: audited(req.address), reason: taken.reason, detail: { method: "local" } });
      return messagePage(403, "This link does not open the console", html`Nothing was opened: ${taken.reason}. ${HOW_TO_GET_IN}`);
    }
    const { cookie } = await o.sessions.create(o.principal, o.principal.subject);
    o.audit.append({ kind: "request", event: "console-signin", principal: audited(req.address), detail: { role: "admin", method: "local" } });
    // Plain http on loopback: no Secure flag (a browser would drop the cookie).
    return signedInResponse(CONSOLE_PATH, [setCookie(SESSION_COOKIE, cookie, { secure: false, sameSite: "Strict" })]);
  }

  return {
    open: async (req, url, path) => {
      if (path !== ENTER_PATH) return undefined;
      if (req.request.method !== "GET") return messagePage(405, "Method not allowed", HOW_TO_GET_IN, undefined, { allow: "GET" });
      return enter(req, url);
    },
    // Nowhere to send a browser: the console answers with a page that says how to get in.
    signInPath: () => undefined,
    howToSignIn: HOW_TO_GET_IN,
    roleOf: (s) => (s.principal.method === "local" && s.principal.subject === o.principal.subject ? "admin" : undefined),
    noRole: () => html`This session is not the local person's. ${HOW_TO_GET_IN}`,
  };
}

