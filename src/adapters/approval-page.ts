// The local page server of `mcp-warden run`: the web console under /console (signed in with a
// one-time ticket from `mcp-warden console`; src/fronts/console/local.ts), where a person answers the
// held questions, and a small JSON API for `mcp-warden approvals`. It is an adapter around the
// ApprovalBroker and holds no decisions of its own: every answer goes through broker.answer(), where
// the first answer wins. There is no page per question any more: its one-time link was a capability
// that an agent running as the same user could read wherever it was shown (stages/ask.ts), so /a/...
// answers 404 with a page that says where questions are answered.
//
// Threat model. The server is reachable by every local process and by any web page the person has
// open (cross-site requests to 127.0.0.1, DNS rebinding), so: loopback only, Host allow-list, Origin
// and Content-Type checks on POST, a bearer token for the API, a console session (cookie, CSRF token)
// for the console, small bodies, and headers that forbid inline scripts and styles, framing,
// sniffing and caching. The console gets each request only after these.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { APPROVAL_ANSWERS, type ApprovalAnswer, type ApprovalBroker } from "../approvals/broker.js";
import type { FrontRequest } from "../fronts/http/http-server.js";
import { CONSOLE_CSS, CONSOLE_JS } from "../fronts/console/assets.js";
import { CONSOLE_PATH, html, layout, SECURITY_HEADERS } from "../fronts/console/html.js";

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
  /** Bearer token for the JSON API (the CLI reads it from the gateway's status file). */
  readonly adminToken: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;
/** Approval ids are the broker's hex ids; anything else in a path is simply not found. */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export async function startApprovalPage(broker: ApprovalBroker, opts: ApprovalPageOptions = {}): Promise<ApprovalPage> {
  const adminToken = newToken();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Nothing about the request is logged (a URL may carry a ticket); the client gets a bare 500.
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
  // Built at its first request, not here: the held call's announcement (which waits for this server)
  // and the API must not wait for the console's modules and its first log read.
  let pageConsole: Promise<PageConsole | undefined> | undefined;
  let consoleError: string | undefined;
  const consoleNow = (): Promise<PageConsole | undefined> =>
    (pageConsole ??= Promise.resolve()
      .then(() => opts.console?.({ origin, adminToken }))
      .catch((e: unknown) => {
        consoleError = (e as Error).message;
        return undefined;
      }));

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
    // Where the question pages were (/a/ID?t=TOKEN): whatever the method or token, nothing is shown
    // or answered, and an old link or bookmark learns where questions are answered now.
    if (url.pathname === "/a" || url.pathname.startsWith("/a/")) return send(res, 404, "text/html", NO_QUESTION_PAGE);
    if (url.pathname === "/api/approvals") {
      if (method !== "GET") return methodNotAllowed(res, "GET");
      if (!adminAuthorized(req)) return unauthorized(res);
      // Nothing here answers by itself: `mcp-warden approvals list` only reads, an agent may run it,
      // and it prints what it is given. The bearer answers through POST below.
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
   * passed (loopback, Host, Origin, body size). Without a console, only its static files are served
   * (the page for /a/... uses the stylesheet).
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
    if (o === undefined) return undefined; // Not a browser (the CLI, curl): the bearer token or session carries it.
    // `Origin: null` (a sandboxed frame, a data: URL, a no-referrer page) is refused too: the console's
    // pages are served with Referrer-Policy same-origin, so their forms send the real origin.
    if (allowedOrigins.has(o.toLowerCase())) return undefined;
    return "cross-origin request";
  }

  function adminAuthorized(req: IncomingMessage): boolean {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "");
    return m !== null && sameSecret(m[1]!, adminToken);
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
    return sendJson(res, 200, { ok: true, id, answer });
  }

  return {
    port,
    origin,
    adminToken,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => pageConsole?.then((c) => c?.close()).catch(() => undefined)),
  };
}

/**
 * The answer to /a/...: where questions are answered now, in the console's look, with no script and
 * no form. Nothing of any question is on it.
 */
const NO_QUESTION_PAGE = layout(
  { title: "No question page", script: false },
  html`<h1>No question page</h1>
<p>This address shows and answers nothing: mcp-warden no longer has a page per question.</p>
<p>Questions are answered in the console (run <code>mcp-warden console</code> in the project's terminal for a sign-in link), or on the command line: <code>mcp-warden approvals list</code>, then <code>mcp-warden approvals approve ID</code> or <code>mcp-warden approvals deny ID</code>.</p>
<p class="muted"><a href="${CONSOLE_PATH}">The console</a> (it needs a sign-in link from <code>mcp-warden console</code>).</p>`,
).text;

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
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, "Content-Type": `${type}; charset=utf-8`, "Content-Length": Buffer.byteLength(body) };
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

