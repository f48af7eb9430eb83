// The web console served by `mcp-warden serve` at /console, and by `run` on 127.0.0.1: an adapter
// of its own, in front of the gateway core (approvals, server states) and the audit log. The HTTP
// front (src/fronts/http, or run's page server src/adapters/approval-page.ts) has already applied its
// protections (Host, Origin, body size, timeouts) before a request gets here.
//
// Every route checks, on the server: a console session (else sign-in), a role that allows the
// route's action (else 403), and for every POST the session's CSRF token and, from a browser, a
// same-origin Sec-Fetch-Site and Origin. A console session never authenticates an MCP request and a
// bearer token never opens the console. How a session begins is the sign-in adapter's business
// (signin-oidc.ts for serve, signin-local.ts for run's local console); the pages are route modules
// (routes.ts) listed below.
import { createHash, timingSafeEqual } from "node:crypto";
import type { AuditSink } from "../../audit/index.js";
import { parseTimeArg } from "../../audit/query.js";
import { makeDownstream, ownerOf } from "../../gateway/downstream.js";
import type { ResolvedSettings } from "../../settings/index.js";
import type { FrontRequest } from "../http/http-server.js";
import type { ApproverActions } from "../http/approvals-endpoint.js";
import type { ActivityFilter, ActivitySource, MinuteCounts } from "./activity.js";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets.js";
import { explainRecord, warmExplain } from "./explain.js";
import { CONSOLE_PATH, html, htmlResponse, layout, messagePage, SECURITY_HEADERS, signedOutResponse, type Viewer } from "./html.js";
import { type IncidentReportStore, incidentRoutes } from "./incidents.js";
import { activityPage, approvalsPage, overviewPage, recordPage } from "./pages.js";
import { policyRoutes } from "./policy.js";
import { type ConsoleAction, may } from "./roles.js";
import { serverStates, type ServersSource, serversRoutes } from "./servers.js";
import { type ConsoleContext, type ConsoleRoute, type ConsoleSignIn, seeOther } from "./routes.js";
import { clearCookie, type ConsoleSession, type ConsoleSessionStore, ConsoleSessions, parseCookies, SESSION_COOKIE, SessionStoreUnavailable } from "./sessions.js";

export interface ConsoleOptions {
  /** How a session begins, given the console's session store and helpers. */
  signIn: (shared: { sessions: ConsoleSessionStore; secure: (req: FrontRequest) => boolean; safeReturn: (value: string | null) => string }) => ConsoleSignIn;
  /** Where finished incident reports are kept; this process's memory unless given. */
  incidentReports?: IncidentReportStore;
  /** Where sessions live; this process's memory unless given. */
  sessions?: ConsoleSessionStore;
  /** The origin people open the console at. */
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
  /** The Servers page's view of the core (instances, reviews) and the pin store, which the console closes. */
  serverDetails?: ServersSource;
}

export interface Console {
  handle(req: FrontRequest): Promise<Response>;
  close(): Promise<void>;
}

const LIMIT_DEFAULT = 50;
/** How long a page waits for a due chart refresh before it shows the last one. */
const CHART_WAIT_MS = 60;
const LIMIT_MAX = 200;
const DECISIONS = new Set(["allow", "ask", "deny"]);
const NEEDS_TEXT: Record<ConsoleAction, string> = {
  read: "reading the console needs the viewer, approver or admin role",
  answer: "answering questions needs the approver or admin role",
  administer: "changing servers and running incidents needs the admin role",
};

const sameSecret = (a: string, b: string) => timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());

/** A path under /console to come back to after sign-in; anything else is the overview. */
function safeReturn(value: string | null): string {
  return value !== null && /^\/console(\/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?$/.test(value) ? value : CONSOLE_PATH;
}

/**
 * The shared session store does not answer: no session could be checked, begun or ended, so none is
 * granted (and a sign-out did not happen). Said with what to do; the store's own error goes to the log.
 */
export function storeDownPage(where: string): Response {
  return messagePage(
    503,
    "Console sessions are unavailable",
    html`This console keeps its sessions in ${where}, which does not answer right now, so nobody can be signed in, checked or signed out; nothing was done. Reload this page in a minute. If it lasts, ask the operator of this mcp-warden to check that Redis is running and reachable from every <code>serve</code> replica (their logs say when the connection is lost and when it is back).`,
    undefined,
    { "retry-after": "30" },
  );
}

export function createConsole(opts: ConsoleOptions): Console {
  const sessions: ConsoleSessionStore = opts.sessions ?? new ConsoleSessions(opts.session);
  const secure = (req: FrontRequest) => req.proto === "https" || opts.publicOrigin.startsWith("https:");
  const signIn = opts.signIn({ sessions, secure, safeReturn });
  const notices = new Map<string, string>();
  // The overview's chart: read ahead at start, then served from memory while a refresh runs in the
  // background every few seconds at most (the file source reads only what was appended since).
  let chart: { at: number; value: { minutes: MinuteCounts[]; partial: boolean }; error?: string } | undefined;
  let refreshing: Promise<void> | undefined;
  const refreshChart = (): Promise<void> =>
    (refreshing ??= Promise.resolve()
      .then(() => opts.activity.callsPerMinute(new Date(Date.now() - 3_600_000)))
      .then(
        (value) => {
          chart = { at: Date.now(), value };
        },
        (e: unknown) => {
          if (chart) chart.error = (e as Error).message;
          throw e;
        },
      )
      .finally(() => {
        refreshing = undefined;
      }));
  refreshChart().catch(() => undefined);
  Promise.resolve()
    .then(() => warmExplain(opts.settings(), opts.env))
    .catch(() => undefined);

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

  // The pages. A new page module adds its routes here.
  const routes: ConsoleRoute[] = [
    { method: "GET", path: /^\/console$/, needs: "read", handle: (c) => overview(c.viewer) },
    {
      method: "GET",
      path: /^\/console\/approvals$/,
      needs: "read",
      handle: async (c) => {
        const notice = await c.takeNotice();
        const listed = await opts.approvals.list();
        return htmlResponse(200, approvalsPage(c.viewer, { ...listed, ...(opts.approvals.answersOwnCalls ? {} : { owner: ownerOf(c.session.principal) }), canAnswer: may(c.role, "answer"), now: Date.now(), ...(notice ? { notice } : {}) }));
      },
    },
    {
      method: "POST",
      path: /^\/console\/approvals\/([A-Za-z0-9_-]{1,64})$/,
      needs: "answer",
      handle: async (c) => {
        const result = await opts.approvals.answer(c.match[1]!, c.form.get("answer") ?? undefined, { principal: c.session.principal, address: c.req.address }, "console");
        if (!result.ok) return messagePage(result.status, "Not answered", html`${result.message}. <a href="/console/approvals">Back to the questions</a>.`, c.viewer);
        await c.notify(`Answered ${result.answer} (question ${result.id}).`);
        return seeOther("/console/approvals");
      },
    },
    { method: "GET", path: /^\/console\/activity$/, needs: "read", handle: (c) => activity(c.viewer, c.url) },
    {
      method: "GET",
      path: /^\/console\/activity\/([A-Za-z0-9_-]{1,1024})$/,
      needs: "read",
      handle: async (c) => {
        const record = await opts.activity.get(c.match[1]!).catch(() => undefined);
        if (!record) return messagePage(404, "No such record", html`It is not in ${opts.activity.where}. <a href="/console/activity">Back to the activity</a>.`, c.viewer);
        const explanation = await explainRecord(record, opts.settings(), opts.env, opts.cwd);
        return htmlResponse(200, recordPage(c.viewer, record, explanation));
      },
    },
    ...policyRoutes(opts),
    ...incidentRoutes({ settings: opts.settings, env: opts.env, cwd: opts.cwd, activity: opts.activity, audit: opts.audit, ...(opts.incidentReports ? { reports: opts.incidentReports } : {}) }),
    ...serversRoutes(opts),
  ];

  async function handle(req: FrontRequest): Promise<Response> {
    const url = new URL(req.request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.request.method;
    if (method === "GET" && path === "/console/static/console.css") return staticFile(CONSOLE_CSS, "text/css");
    if (method === "GET" && path === "/console/static/console.js") return staticFile(CONSOLE_JS, "text/javascript");
    const opened = await signIn.open(req, url, path);
    if (opened) return opened;

    const cookies = parseCookies(req.request.headers.get("cookie"));
    const cookie = cookies.get(SESSION_COOKIE);
    const session = await sessions.get(cookie);
    if (!session) {
      const location = method === "GET" || method === "HEAD" ? signIn.signInPath(safeReturn(path + url.search)) : undefined;
      if (location !== undefined) return seeOther(location);
      return messagePage(401, "Not signed in", html`Your console session has ended or never began. ${signIn.howToSignIn}`);
    }
    const role = signIn.roleOf(session);
    const viewer: Viewer = { name: session.name, role: role ?? "no role", csrf: session.csrf };

    let form = new URLSearchParams();
    if (method === "POST") {
      const type = (req.request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (type === "application/x-www-form-urlencoded") form = new URLSearchParams(req.body);
      const why = forged(req, session, form);
      if (why) return messagePage(403, "Refused", `Nothing was done: ${why}.`, viewer);
      if (path === "/console/signout") {
        await sessions.end(cookie);
        // The console session is over whatever the provider does; then, with a provider that can, the
        // person's session there ends too (or a shared browser would sign the next person in as them).
        const atProvider = await signIn.signOutAtProvider?.(session);
        opts.audit.append({
          kind: "request",
          event: "console-signout",
          principal: makeDownstream(session.principal, { remote: true, address: req.address }).audited,
          detail: { atProvider: atProvider !== undefined },
        });
        const clear = clearCookie(SESSION_COOKIE, secure(req));
        if (atProvider !== undefined) return signedOutResponse(atProvider, clear);
        return messagePage(200, "Signed out", html`You are signed out of the console. ${signIn.howToSignIn}`, undefined, { "set-cookie": clear });
      }
    } else if (method !== "GET" && method !== "HEAD") {
      return messagePage(405, "Method not allowed", "The console takes GET and POST only.", viewer, { allow: "GET, POST" });
    }
    if (role === undefined) return messagePage(403, "No console role", signIn.noRole(session), viewer);

    const wanted = method === "HEAD" ? "GET" : method;
    for (const route of routes) {
      if (route.method !== wanted) continue;
      const match = route.path.exec(path);
      if (!match) continue;
      if (!may(role, route.needs)) return messagePage(403, "Not allowed", `Your role (${role}) may not do this: ${NEEDS_TEXT[route.needs]}. Nothing was done.`, viewer);
      const noticeKey = createHash("sha256").update(session.csrf).digest("base64url");
      const ctx: ConsoleContext = {
        req,
        url,
        match,
        session,
        role,
        viewer,
        form,
        notify: async (text) => {
          // A shared store keeps it for whichever replica serves the next page; if it cannot, this
          // replica keeps it (the action itself is done: a notice never undoes or fails it).
          if (sessions.putNotice) {
            try {
              await sessions.putNotice(noticeKey, text);
              return;
            } catch {
              // SessionStoreUnavailable: logged by the store.
            }
          }
          // Bounded: a notice nobody collects is dropped with the oldest.
          if (notices.size >= 1000) notices.delete(notices.keys().next().value!);
          notices.set(noticeKey, text);
        },
        takeNotice: async () => {
          const own = notices.get(noticeKey);
          notices.delete(noticeKey);
          if (own !== undefined || !sessions.takeNotice) return own;
          return sessions.takeNotice(noticeKey).catch(() => undefined);
        },
      };
      return route.handle(ctx);
    }
    return messagePage(404, "Not found", html`No such console page. <a href="/console">Overview</a>.`, viewer);
  }

  async function overview(viewer: Viewer): Promise<Response> {
    const now = Date.now();
    if (!chart) {
      try {
        await refreshChart();
      } catch (e) {
        return messagePage(503, "The audit log cannot be read", `${(e as Error).message}. Check that ${opts.activity.where} is reachable.`, viewer);
      }
    } else if (now - chart.at > 5_000) {
      // Due: wait a little for the refresh (incremental on the file log, so usually quick); past
      // that, the last chart is shown and the page's next refresh picks up the new one.
      const done = refreshChart().then(
        () => true,
        () => true,
      );
      await Promise.race([done, new Promise<boolean>((r) => setTimeout(r, CHART_WAIT_MS, false).unref())]);
    }
    const shown = chart!;
    const listed = await opts.approvals.list();
    const denials = await opts.activity.page({ decision: "deny" }, undefined, 10).catch(() => ({ records: [] }));
    return htmlResponse(
      200,
      overviewPage(viewer, {
        now,
        minutes: shown.value.minutes,
        chartPartial: shown.value.partial,
        ...(shown.error !== undefined && now - shown.at > 15_000 ? { chartStale: `The chart is from ${new Date(shown.at).toISOString().slice(11, 19)} UTC: the audit log cannot be read now (${shown.error})` } : {}),
        openQuestions: listed.questions.length,
        ...(listed.incomplete ? { questionsIncomplete: listed.incomplete } : {}),
        servers: opts.serverDetails ? serverStates(opts.serverDetails) : opts.servers(),
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
      } catch (e) {
        if (e instanceof SessionStoreUnavailable) return storeDownPage(e.where);
        // Never a stack trace in a page; nothing was changed by a request that failed here.
        return htmlResponse(500, layout({ title: "Internal error" }, html`<h1>Internal error</h1><p>The console could not answer; see mcp-warden's stderr, then reload.</p>`));
      }
    },
    close: async () => {
      await opts.activity.close();
      await sessions.close?.();
      await opts.serverDetails?.pins?.close();
    },
  };
}
