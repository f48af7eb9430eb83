// The local page server of `mcp-warden run`: one HTML page per held request, answerable with a plain
// form, a small JSON API for `mcp-warden approvals`, and the web console under /console (signed in
// with a one-time ticket from `mcp-warden console`; src/fronts/console/local.ts). It is an adapter
// around the ApprovalBroker and holds no decisions of its own: every answer goes through
// broker.answer(), where the first answer wins. The pages are rendered by approval-page-html.ts.
// The gateway links no question page in its messages (stages/ask.ts says why): a person answers in
// the console here or with the CLI; a question page answers only for whoever is handed urlFor's link.
//
// Threat model. The arguments shown are written by whoever steers the model, so every string is made
// visible (control, bidi, zero-width and tag characters) and then HTML-escaped. The server is reachable
// by every local process and by any web page the person has open (cross-site requests to 127.0.0.1,
// DNS rebinding), so: loopback only, Host allow-list, Origin and Content-Type checks on POST, a
// one-time random token per approval for the page, a bearer token for the API, a console session
// (cookie, CSRF token) for the console, small bodies, and headers that forbid inline scripts and
// styles, framing, sniffing, caching and referrers. The console gets each request only after these.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { APPROVAL_ANSWERS, type ApprovalAnswer, type ApprovalBroker, type PendingApproval } from "../approvals/broker.js";
import type { FrontRequest } from "../fronts/http/http-server.js";
import { CONSOLE_CSS, CONSOLE_JS } from "../fronts/console/assets.js";
import { ANSWER_LABELS, answeredPage, gonePage, invalidLinkPage, messagePage, PAGE_HEADERS, questionPage } from "./approval-page-html.js";

export { ANSWER_LABELS, formatTimeLeft, hasHiddenCharacters, holdingNote, visibleLines } from "./approval-page-html.js";

/** The console as the page server sees it (src/fronts/console/console.ts). */
export interface PageConsole {
  handle(req: FrontRequest): Promise<Response>;
  close(): Promise<void>;
}

export interface ApprovalPageOptions {
  port?: number;
  /** The console under /console, built once the server listens (it needs the origin and admin token). */
  console?: (page: { origin: string; adminToken: string }) => PageConsole | undefined | Promise<PageConsole | undefined>;
}

export interface ApprovalPage {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /**
   * The one-time token URL for this approval (the same URL on every call while it is pending). The
   * gateway puts it in no message (stages/ask.ts says why): no token is minted until this is called.
   */
  urlFor(id: string): string;
  /** Bearer token for the JSON API (the CLI reads it from the gateway's status file). */
  readonly adminToken: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;
/** Approval ids are the broker's hex ids; anything else in a path is simply not found. */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export async function startApprovalPage(broker: ApprovalBroker, opts: ApprovalPageOptions = {}): Promise<ApprovalPage> {
  const adminToken = newToken();
  // id -> the page token of a pending approval. Forgotten when the approval settles, so a used or
  // expired link can never answer again, and the map cannot grow past the pending set.
  const tokens = new Map<string, string>();
  const onSettled = (p: PendingApproval) => void tokens.delete(p.id);
  broker.on("settled", onSettled);

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Nothing about the request is logged (the URL carries a token); the client gets a bare 500.
      if (!res.headersSent) send(res, 500, "text/plain", "internal error\n");
      else res.destroy();
    });
  });
  // Slow or idle clients must not hold sockets open for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: opts.port ?? 0, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // The page alone must not keep a stopping gateway alive.
  server.unref();
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  // Built at its first request, not here: a question's page (and the held call's announcement,
  // which waits for this server) must not wait for the console's modules and its first log read.
  let pageConsole: Promise<PageConsole | undefined> | undefined;
  let consoleError: string | undefined;
  const consoleNow = (): Promise<PageConsole | undefined> =>
    (pageConsole ??= Promise.resolve()
      .then(() => opts.console?.({ origin, adminToken }))
      .catch((e: unknown) => {
        consoleError = (e as Error).message;
        return undefined;
      }));

  function tokenFor(id: string): string {
    let t = tokens.get(id);
    if (t === undefined) {
      t = newToken();
      // Only a pending approval gets a live token; a link for a settled one is valid-looking but dead
      // (it shows "no longer pending"), so a caller racing a settle does not need to handle an error.
      if (broker.get(id)) tokens.set(id, t);
    }
    return t;
  }
  const urlFor = (id: string) => `${origin}/a/${encodeURIComponent(id)}?t=${tokenFor(id)}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a foreign name resolving to 127.0.0.1 arrives with that name as Host.
    const host = (req.headers.host ?? "").toLowerCase();
    if (!allowedHosts.has(host)) return send(res, 421, "text/plain", "misdirected request\n");
    const method = req.method ?? "GET";
    let url: URL;
    try {
      url = new URL(req.url ?? "/", origin);
    } catch {
      return send(res, 400, "text/plain", "bad request\n");
    }
    if (method === "POST") {
      const why = crossOrigin(req);
      if (why) return send(res, 403, "text/plain", `forbidden: ${why}\n`);
    }

    if (url.pathname === "/console" || url.pathname.startsWith("/console/")) return toConsole(req, res, url, method, host);
    const page = /^\/a\/([^/]+)$/.exec(url.pathname);
    if (page) {
      const id = decodeSegment(page[1]!);
      if (id === undefined) return notFound(res);
      if (method === "GET") return getPage(res, id, url.searchParams.get("t"));
      if (method === "POST") return postPage(req, res, id);
      return methodNotAllowed(res, "GET, POST");
    }
    if (url.pathname === "/api/approvals") {
      if (method !== "GET") return methodNotAllowed(res, "GET");
      if (!adminAuthorized(req)) return unauthorized(res);
      // No page link (its one-time token answers the question): `mcp-warden approvals list` only reads,
      // an agent may run it, and it prints what it is given. The bearer answers through POST below.
      return sendJson(res, 200, { approvals: broker.list() });
    }
    const api = /^\/api\/approvals\/([^/]+)$/.exec(url.pathname);
    if (api) {
      if (method !== "POST") return methodNotAllowed(res, "POST");
      if (!adminAuthorized(req)) return unauthorized(res);
      const id = decodeSegment(api[1]!);
      if (id === undefined) return sendJson(res, 404, { error: "no such approval" });
      return postApi(req, res, id);
    }
    return notFound(res);
  }

  /**
   * The console, given the request as its front would (FrontRequest) once this server's own checks
   * passed (loopback, Host, Origin, body size). Without a console, only its stylesheet is served
   * (the question pages use it).
   */
  async function toConsole(req: IncomingMessage, res: ServerResponse, url: URL, method: string, host: string): Promise<void> {
    const isStatic = url.pathname === "/console/static/console.css" || url.pathname === "/console/static/console.js";
    const built = opts.console && !isStatic ? await consoleNow() : undefined;
    if (!built) {
      if (method === "GET" && url.pathname === "/console/static/console.css") return send(res, 200, "text/css", CONSOLE_CSS);
      if (method === "GET" && url.pathname === "/console/static/console.js") return send(res, 200, "text/javascript", CONSOLE_JS);
      if (consoleError !== undefined) return send(res, 503, "text/plain", `The console could not start (${consoleError}); see the gateway's stderr. Questions can still be answered with \`mcp-warden approvals approve|deny ID\`.\n`);
      return notFound(res);
    }
    if (method !== "GET" && method !== "HEAD" && method !== "POST") return methodNotAllowed(res, "GET, POST");
    let body = "";
    if (method === "POST") {
      const read = await readBody(req, res);
      if (read === undefined) return;
      body = read;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else headers.set(k, v);
    }
    const address = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const request = new Request(`http://${host}${req.url ?? "/"}`, { method, headers });
    const response = await built.handle({ request, body, address, proto: "http", hostAllowed: true });
    const out: Record<string, string | string[]> = {};
    response.headers.forEach((v, k) => {
      if (k !== "set-cookie") out[k] = v;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) out["set-cookie"] = cookies;
    const text = method === "HEAD" ? "" : await response.text();
    out["content-length"] = String(Buffer.byteLength(text));
    res.writeHead(response.status, out);
    res.end(text);
  }

  /** Why a POST is refused as cross-origin, or undefined. */
  function crossOrigin(req: IncomingMessage): string | undefined {
    const o = req.headers.origin;
    if (o === undefined) return undefined; // Not a browser (the CLI, curl): the tokens carry the request.
    if (allowedOrigins.has(o.toLowerCase())) return undefined;
    // Our own page sends `Origin: null` for its form: its Referrer-Policy is no-referrer, and browsers
    // then serialize the origin as null. Sec-Fetch-Site is set by the browser (pages cannot forge it)
    // and says same-origin only for our own page; a sandboxed frame or data: URL elsewhere also sends
    // null, but with Sec-Fetch-Site cross-site.
    if (o === "null" && req.headers["sec-fetch-site"] === "same-origin") return undefined;
    return "cross-origin request";
  }

  function adminAuthorized(req: IncomingMessage): boolean {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "");
    return m !== null && sameSecret(m[1]!, adminToken);
  }

  /** The pending approval whose live token is `presented`, or undefined (wrong, used, missing token). */
  function byToken(id: string, presented: string | null | undefined): PendingApproval | undefined {
    const live = tokens.get(id);
    if (live === undefined || typeof presented !== "string" || !sameSecret(presented, live)) return undefined;
    return broker.get(id);
  }

  function getPage(res: ServerResponse, id: string, t: string | null): void {
    if (!broker.get(id)) return send(res, 410, "text/html", gonePage());
    // GET never answers and never consumes the token: link previews and prefetchers fetch it too.
    const p = byToken(id, t);
    if (!p) return send(res, 403, "text/html", invalidLinkPage(false));
    send(res, 200, "text/html", questionPage(p, tokens.get(id)!, Date.now()));
  }

  async function postPage(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (!hasContentType(req, "application/x-www-form-urlencoded")) return send(res, 415, "text/plain", "expected application/x-www-form-urlencoded\n");
    const body = await readBody(req, res);
    if (body === undefined) return;
    const form = new URLSearchParams(body);
    const p = byToken(id, form.get("t"));
    if (!p) return send(res, 403, "text/html", invalidLinkPage(true));
    const answer = form.get("answer");
    if (!isAnswer(answer) || !p.answers.includes(answer)) {
      return send(res, 400, "text/html", messagePage("Not an answer to this question", `Choose one of: ${p.answers.map((a) => ANSWER_LABELS[a]).join(", ")}. Nothing was answered.`));
    }
    const r = broker.answer(id, answer, "page");
    if (!r.ok) return send(res, 409, "text/html", messagePage("Not answered", r.reason));
    // One-time: the settle listener already dropped it; dropping it here too does not depend on that.
    tokens.delete(id);
    send(res, 200, "text/html", answeredPage(p, answer));
  }

  async function postApi(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (!hasContentType(req, "application/json")) return sendJson(res, 415, { error: "expected application/json" });
    const body = await readBody(req, res);
    if (body === undefined) return;
    let answer: unknown;
    try {
      answer = (JSON.parse(body) as { answer?: unknown } | null)?.answer;
    } catch {
      return sendJson(res, 400, { error: "body is not JSON" });
    }
    if (!isAnswer(answer)) return sendJson(res, 400, { error: `answer must be one of ${APPROVAL_ANSWERS.join(", ")}` });
    const p = broker.get(id);
    if (!p) return sendJson(res, 404, { error: `no pending approval ${JSON.stringify(id)} (already answered, expired or never asked)` });
    const r = broker.answer(id, answer, "cli");
    if (!r.ok) return sendJson(res, 409, { error: r.reason });
    tokens.delete(id);
    return sendJson(res, 200, { ok: true, id, answer });
  }

  return {
    port,
    origin,
    adminToken,
    urlFor,
    close: () =>
      new Promise<void>((resolve) => {
        broker.off("settled", onSettled);
        tokens.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => pageConsole?.then((c) => c?.close()).catch(() => undefined)),
  };
}

function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Constant-time comparison; hashing first makes the lengths equal without leaking them. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}

function isAnswer(v: unknown): v is ApprovalAnswer {
  return typeof v === "string" && (APPROVAL_ANSWERS as readonly string[]).includes(v);
}

function decodeSegment(s: string): string | undefined {
  try {
    const d = decodeURIComponent(s);
    return ID_RE.test(d) ? d : undefined;
  } catch {
    return undefined;
  }
}

function hasContentType(req: IncomingMessage, type: string): boolean {
  const ct = req.headers["content-type"];
  return typeof ct === "string" && ct.split(";")[0]!.trim().toLowerCase() === type;
}

/** The body as text, or undefined after answering 413/400 (too large, aborted). */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  return new Promise((resolve) => {
    const refuse = (status: number, text: string) => {
      req.removeAllListeners("data");
      // The rest of the body is not read: the socket goes once the refusal is written.
      res.once("finish", () => req.socket.destroy());
      if (!res.headersSent) send(res, status, "text/plain", text, true);
      resolve(undefined);
    };
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > MAX_BODY) return refuse(413, "request body too large\n");
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) return refuse(413, "request body too large\n");
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", () => refuse(400, "bad request\n"));
    // A client that goes away mid-body: nothing to answer (resolving twice is a no-op after "end").
    req.once("close", () => resolve(undefined));
  });
}

function send(res: ServerResponse, status: number, type: string, body: string, close = false): void {
  const headers: Record<string, string | number> = { ...PAGE_HEADERS, "Content-Type": `${type}; charset=utf-8`, "Content-Length": Buffer.byteLength(body) };
  // After refusing an unread body, the connection cannot be reused.
  if (close) headers.Connection = "close";
  res.writeHead(status, headers);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, "application/json", JSON.stringify(value) + "\n");
}

function notFound(res: ServerResponse): void {
  send(res, 404, "text/plain", "not found\n");
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader("Allow", allow);
  send(res, 405, "text/plain", "method not allowed\n");
}

function unauthorized(res: ServerResponse): void {
  res.setHeader("WWW-Authenticate", "Bearer");
  sendJson(res, 401, { error: "missing or wrong bearer token" });
}

