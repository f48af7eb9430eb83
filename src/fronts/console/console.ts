// The web console served by `mcp-warden serve` at /console: an adapter of its own, in front of the
// gateway core (approvals, server states) and the audit log. The HTTP front (src/fronts/http) has
// already applied its protections (Host, Origin, body size, timeouts) before a request gets here.
//
// Every route checks, on the server: a console session (else sign-in), a role that allows the
// action (else 403), and for every POST the session's CSRF token and, from a browser, a same-origin
// Sec-Fetch-Site and Origin. A console session never authenticates an MCP request and a bearer
// token never opens the console.
import { createHash, timingSafeEqual } from "node:crypto";
import type { AuditSink } from "../../audit/index.js";
import { parseTimeArg } from "../../audit/query.js";
import { makeDownstream, ownerOf } from "../../gateway/downstream.js";
import type { ResolvedSettings } from "../../settings/index.js";
import type { FrontRequest } from "../http/http-server.js";
import type { ApproverActions } from "../http/approvals-endpoint.js";
import type { ActivityFilter, ActivitySource, MinuteCounts } from "./activity.js";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets.js";
import { explainRecord } from "./explain.js";
import { CONSOLE_PATH, html, htmlResponse, layout, messagePage, SECURITY_HEADERS, type Viewer } from "./html.js";
import { ConsoleOidc, type ConsoleOidcConfig } from "./oidc.js";
import { activityPage, approvalsPage, overviewPage, recordPage } from "./pages.js";
import { type ConsoleAction, consoleRole, type ConsoleRoles, may, roleHint } from "./roles.js";
import { clearCookie, type ConsoleSession, ConsoleSessions, parseCookies, SESSION_COOKIE, setCookie, SIGNIN_COOKIE } from "./sessions.js";

export interface ConsoleOptions {
  oidc: ConsoleOidcConfig;
  /** The origin people open the console at (redirect URI <origin>/console/callback). */
  publicOrigin: string;
  session: { idleMs: number; maxMs: number };
  /** The current settings (replaced by a reload): roles, approvers and the policy `check` explains with. */
  settings: () => ResolvedSettings;
  env: NodeJS.ProcessEnv;
  cwd: string;
  approvals: ApproverActions;
  servers: () => { name: string; state: string; error?: string }[];
  activity: ActivitySource;
  audit: AuditSink;
}

export interface Console {
  handle(req: FrontRequest): Promise<Response>;
  close(): Promise<void>;
}

const LIMIT_DEFAULT = 50;
const LIMIT_MAX = 200;
const DECISIONS = new Set(["allow", "ask", "deny"]);

const sameSecret = (a: string, b: string) => timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());

/** A path under /console to come back to after sign-in; anything else is the overview. */
function safeReturn(value: string | null): string {
  return value !== null && /^\/console(\/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?$/.test(value) ? value : CONSOLE_PATH;
}

export function createConsole(opts: ConsoleOptions): Console {
  const oidc = new ConsoleOidc(opts.oidc);
  const sessions = new ConsoleSessions(opts.session);
  const roles = (): ConsoleRoles => opts.settings().remote?.console?.roles ?? {};
  const approvers = () => opts.settings().remote?.auth?.approvers ?? [];
  const notices = new WeakMap<ConsoleSession, string>();
  let chart: { at: number; value: { minutes: MinuteCounts[]; partial: boolean } } | undefined;

  const secure = (req: FrontRequest) => req.proto === "https" || opts.publicOrigin.startsWith("https:");
  const viewerOf = (s: ConsoleSession, role: string): Viewer => ({ name: s.name, role, csrf: s.csrf });

  const staticFile = (body: string, type: string) =>
    new Response(body, { status: 200, headers: { ...SECURITY_HEADERS, "content-type": `${type}; charset=utf-8`, "cache-control": "no-cache" } });

  /** Why a POST is refused (CSRF), or undefined. */
  function forged(req: FrontRequest, s: ConsoleSession, form: URLSearchParams): string | undefined {
    const h = req.request.headers;
    const site = h.get("sec-fetch-site");
    if (site !== null && site !== "same-origin") return "the request came from another site";
    const origin = h.get("origin");
    if (origin !== null && origin.toLowerCase() !== opts.publicOrigin.toLowerCase() && origin.toLowerCase() !== new URL(req.request.url).origin.toLowerCase()) return "the request came from another origin";
    const token = form.get("csrf") ?? h.get("x-csrf-token");
    if (token === null || !sameSecret(token, s.csrf)) return "the form's security token is missing or wrong (reload the page and try again)";
    return undefined;
  }

  async function signIn(req: FrontRequest, url: URL): Promise<Response> {
    let started;
    try {
      started = await oidc.start();
    } catch (e) {
      return messagePage(503, "Sign-in is not available", `${(e as Error).message}. Try again when the identity provider answers.`);
    }
    const binding = sessions.beginSignIn(started.pending, safeReturn(url.searchParams.get("next")));
    return new Response(null, {
      status: 303,
      headers: { ...SECURITY_HEADERS, location: started.url, "set-cookie": setCookie(SIGNIN_COOKIE, binding, { secure: secure(req), sameSite: "Lax", maxAgeSeconds: 600 }) },
    });
  }

  async function callback(req: FrontRequest, url: URL): Promise<Response> {
    const again = html`<a href="/console/signin">Sign in again</a>.`;
    const cookies = parseCookies(req.request.headers.get("cookie"));
    const state = url.searchParams.get("state") ?? "";
    const taken = sessions.takeSignIn(state, cookies.get(SIGNIN_COOKIE));
    const clear = { "set-cookie": clearCookie(SIGNIN_COOKIE, secure(req)) };
    if (!taken) return messagePage(400, "Sign-in failed", html`This sign-in is unknown, expired (ten minutes) or was started in another browser. ${again}`, undefined, clear);
    const error = url.searchParams.get("error");
    const code = url.searchParams.get("code");
    if (error !== null || code === null) {
      return messagePage(400, "Sign-in failed", html`The identity provider answered ${error ?? "without a code"}${url.searchParams.get("error_description") ? `: ${url.searchParams.get("error_description")!.slice(0, 300)}` : ""}. ${again}`, undefined, clear);
    }
    const result = await oidc.finish(code, taken.pending);
    if (!result.ok) {
      opts.audit.append({ kind: "request", event: "console-signin-failed", reason: result.reason, detail: { address: req.address } });
      return messagePage(400, "Sign-in failed", html`${result.reason}. ${again}`, undefined, clear);
    }
    const role = consoleRole(result.principal, roles(), approvers());
    const { cookie } = sessions.create(result.principal, result.name);
    opts.audit.append({
      kind: "request",
      event: "console-signin",
      principal: makeDownstream(result.principal, { remote: true, address: req.address }).audited,
      ...(role === undefined ? { reason: "no console role" } : {}),
      detail: { role: role ?? "none" },
    });
    const headers = new Headers({ ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" });
    headers.append("set-cookie", setCookie(SESSION_COOKIE, cookie, { secure: secure(req), sameSite: "Strict" }));
    headers.append("set-cookie", clearCookie(SIGNIN_COOKIE, secure(req)));
    // A page of our own, not a redirect: after the provider's cross-site redirect a browser would not
    // send the SameSite=Strict cookie with a redirect's next request; from this page it does.
    const page = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${taken.returnTo}"><title>Signed in · mcp-warden</title><link rel="stylesheet" href="/console/static/console.css"></head><body><main><p>Signed in. <a id="continue" href="${taken.returnTo}">Continue</a>.</p></main></body></html>`;
    return new Response(page.text, { status: 200, headers });
  }

  async function handle(req: FrontRequest): Promise<Response> {
    const url = new URL(req.request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.request.method;
    if (method === "GET" && path === "/console/static/console.css") return staticFile(CONSOLE_CSS, "text/css");
    if (method === "GET" && path === "/console/static/console.js") return staticFile(CONSOLE_JS, "text/javascript");
    if (method === "GET" && path === "/console/signin") return signIn(req, url);
    if (method === "GET" && path === "/console/callback") return callback(req, url);

    const cookies = parseCookies(req.request.headers.get("cookie"));
    const session = sessions.get(cookies.get(SESSION_COOKIE));
    if (!session) {
      if (method === "GET" || method === "HEAD") {
        return new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, location: `/console/signin?next=${encodeURIComponent(safeReturn(path + url.search))}` } });
      }
      return messagePage(401, "Not signed in", html`Your console session has ended or never began. <a href="/console/signin">Sign in</a>, then try again.`);
    }
    const role = consoleRole(session.principal, roles(), approvers());
    const viewer = viewerOf(session, role ?? "no role");

    let form = new URLSearchParams();
    if (method === "POST") {
      const type = (req.request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (type === "application/x-www-form-urlencoded") form = new URLSearchParams(req.body);
      const why = forged(req, session, form);
      if (why) return messagePage(403, "Refused", `Nothing was done: ${why}.`, viewer);
      if (path === "/console/signout") {
        sessions.end(cookies.get(SESSION_COOKIE));
        return messagePage(200, "Signed out", html`You are signed out of the console. <a href="/console/signin">Sign in again</a>.`, undefined, { "set-cookie": clearCookie(SESSION_COOKIE, secure(req)) });
      }
    } else if (method !== "GET" && method !== "HEAD") {
      return messagePage(405, "Method not allowed", "The console takes GET and POST only.", viewer, { allow: "GET, POST" });
    }

    const need: ConsoleAction = method === "POST" ? "answer" : "read";
    if (!may(role, need)) {
      if (role === undefined) {
        return messagePage(
          403,
          "No console role",
          html`You are signed in as ${session.name} (<code>user:${session.principal.subject}</code>${session.principal.groups.map((g) => html`, <code>group:${g}</code>`)}), but none of these holds a console role. Ask the operator of this mcp-warden to add one of them to <code>remote.console.roles</code> (it grants roles to: ${roleHint(roles())}).`,
          viewer,
        );
      }
      return messagePage(403, "Not allowed", `Your role (${role}) may not do this: answering questions needs the approver or admin role. Nothing was done.`, viewer);
    }

    if (method === "GET" && path === CONSOLE_PATH) return overview(viewer);
    if (method === "GET" && path === "/console/approvals") {
      const notice = notices.get(session);
      notices.delete(session);
      const listed = await opts.approvals.list();
      return htmlResponse(200, approvalsPage(viewer, { ...listed, owner: ownerOf(session.principal), canAnswer: may(role, "answer"), now: Date.now(), ...(notice ? { notice } : {}) }));
    }
    const answer = /^\/console\/approvals\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (method === "POST" && answer) {
      const result = await opts.approvals.answer(answer[1]!, form.get("answer") ?? undefined, { principal: session.principal, address: req.address }, "console");
      if (!result.ok) return messagePage(result.status, "Not answered", html`${result.message}. <a href="/console/approvals">Back to the questions</a>.`, viewer);
      notices.set(session, `Answered ${result.answer} (question ${result.id}).`);
      return new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, location: "/console/approvals" } });
    }
    if (method === "GET" && path === "/console/activity") return activity(viewer, url);
    const detail = /^\/console\/activity\/([A-Za-z0-9_-]{1,1024})$/.exec(path);
    if (method === "GET" && detail) {
      const record = await opts.activity.get(detail[1]!).catch(() => undefined);
      if (!record) return messagePage(404, "No such record", html`It is not in ${opts.activity.where}. <a href="/console/activity">Back to the activity</a>.`, viewer);
      const explanation = await explainRecord(record, opts.settings(), opts.env, opts.cwd);
      return htmlResponse(200, recordPage(viewer, record, explanation));
    }
    return messagePage(404, "Not found", html`No such console page. <a href="/console">Overview</a>.`, viewer);
  }

  async function overview(viewer: Viewer): Promise<Response> {
    const now = Date.now();
    // One chart read per few seconds, however many pages refresh it.
    if (!chart || now - chart.at > 5_000) {
      try {
        chart = { at: now, value: await opts.activity.callsPerMinute(new Date(now - 3_600_000)) };
      } catch (e) {
        return messagePage(503, "The audit log cannot be read", `${(e as Error).message}. Check that ${opts.activity.where} is reachable.`, viewer);
      }
    }
    const listed = await opts.approvals.list();
    const denials = await opts.activity.page({ decision: "deny" }, undefined, 10).catch(() => ({ records: [] }));
    return htmlResponse(
      200,
      overviewPage(viewer, {
        now,
        minutes: chart.value.minutes,
        chartPartial: chart.value.partial,
        openQuestions: listed.questions.length,
        ...(listed.incomplete ? { questionsIncomplete: listed.incomplete } : {}),
        servers: opts.servers(),
        recentDenials: denials.records,
        where: opts.activity.where,
      }),
    );
  }

  async function activity(viewer: Viewer, url: URL): Promise<Response> {
    const raw: Record<string, string> = {};
    for (const k of ["principal", "server", "tool", "decision", "since", "until", "limit"]) {
      const v = url.searchParams.get(k)?.trim();
      if (v) raw[k] = v.slice(0, 512);
    }
    const filter: ActivityFilter = {};
    let error: string | undefined;
    if (raw.principal) filter.principal = raw.principal;
    if (raw.server) filter.server = raw.server;
    if (raw.tool) filter.tool = raw.tool;
    if (raw.decision) {
      if (DECISIONS.has(raw.decision)) filter.decision = raw.decision as ActivityFilter["decision"];
      else error = `unknown decision "${raw.decision}": choose allow, ask or deny`;
    }
    const limit = raw.limit === undefined ? LIMIT_DEFAULT : Number(raw.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMIT_MAX) error = `"per page" is a whole number from 1 to ${LIMIT_MAX}`;
    try {
      if (raw.since) filter.since = parseTimeArg(raw.since, new Date());
      if (raw.until) filter.until = parseTimeArg(raw.until, new Date());
    } catch (e) {
      error = (e as Error).message;
    }
    const before = url.searchParams.get("before") ?? undefined;
    const base = { filter, raw, limit: Number.isSafeInteger(limit) ? limit : LIMIT_DEFAULT, first: before === undefined, where: opts.activity.where };
    if (error) return htmlResponse(400, activityPage(viewer, { ...base, rows: [], scanLimited: false, damaged: 0, error }));
    try {
      const page = await opts.activity.page(filter, before, limit);
      return htmlResponse(200, activityPage(viewer, { ...base, rows: page.records, ...(page.next ? { next: page.next } : {}), scanLimited: page.scanLimited, damaged: page.damaged }));
    } catch (e) {
      return messagePage(503, "The audit log cannot be read", `${(e as Error).message}. Check that ${opts.activity.where} is reachable, then reload.`, viewer);
    }
  }

  return {
    handle: async (req) => {
      try {
        return await handle(req);
      } catch {
        // Never a stack trace in a page; nothing was changed by a request that failed here.
        return htmlResponse(500, layout({ title: "Internal error" }, html`<h1>Internal error</h1><p>The console could not answer; see mcp-warden's stderr, then reload.</p>`));
      }
    },
    close: () => opts.activity.close(),
  };
}
