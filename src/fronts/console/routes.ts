// What a console page module provides: routes, each with the action its role must allow. The
// console's pipeline (console.ts) has already checked the session, the CSRF token of a POST and the
// role before a route's handler runs; a handler only gathers data and renders (pages are pure).
import type { FrontRequest } from "../http/http-server.js";
import type { Html } from "./html.js";
import { SECURITY_HEADERS, type Viewer } from "./html.js";
import type { ConsoleAction, ConsoleRole } from "./roles.js";
import type { ConsoleSession } from "./sessions.js";

export interface ConsoleContext {
  req: FrontRequest;
  url: URL;
  /** The path's captures (route.path is anchored). */
  match: RegExpExecArray;
  session: ConsoleSession;
  role: ConsoleRole;
  viewer: Viewer;
  /** A POST's urlencoded form (empty for a GET). */
  form: URLSearchParams;
  /**
   * A notice for the next page this session opens (after a POST's redirect), on whichever replica
   * serves it when the session store is shared. Awaited before the redirect is sent.
   */
  notify(text: string): Promise<void>;
  /** The notice left for this page, once. */
  takeNotice(): Promise<string | undefined>;
}

export interface ConsoleRoute {
  method: "GET" | "POST";
  /** Anchored, matched against the path without a trailing slash. */
  path: RegExp;
  needs: ConsoleAction;
  handle(ctx: ConsoleContext): Promise<Response> | Response;
}

/** After a POST: back to a page (303, so a reload does not post again). */
export function seeOther(location: string): Response {
  return new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, location } });
}

/**
 * How people get a console session: through the identity provider (serve) or a one-time token
 * (run's local console). Its routes answer without a session.
 */
export interface ConsoleSignIn {
  /** Answers a route that needs no session (sign-in, callback, entry); undefined when `path` is none. */
  open(req: FrontRequest, url: URL, path: string): Promise<Response | undefined>;
  /** Where a GET without a session is sent; undefined when there is nowhere to go (a page says how to get in). */
  signInPath(next: string): string | undefined;
  /** What someone without a session does next (on the 401 page and after sign-out). */
  howToSignIn: Html;
  /** The role a session holds now: read on every request, so changed settings apply at once. */
  roleOf(session: ConsoleSession): ConsoleRole | undefined;
  /** The 403 page's text for a session that holds no role. */
  noRole(session: ConsoleSession): Html;
  /**
   * After the console session ended: where the browser goes to end the person's session at the
   * identity provider too, or undefined (no provider, none configured, or it cannot be reached).
   */
  signOutAtProvider?(session: ConsoleSession): Promise<string | undefined>;
}
