// The local approval page: one HTML page per held request, answerable with a plain form, and a small
// JSON API for `mcp-warden approvals`. It is an adapter around the ApprovalBroker and holds no
// decisions of its own: every answer goes through broker.answer(), where the first answer wins.
//
// Threat model. The arguments shown are written by whoever steers the model, so every string is made
// visible (control, bidi, zero-width and tag characters) and then HTML-escaped. The server is reachable
// by every local process and by any web page the person has open (cross-site requests to 127.0.0.1,
// DNS rebinding), so: loopback only, Host allow-list, Origin and Content-Type checks on POST, a
// one-time random token per approval for the page, a bearer token for the API, small bodies, and
// headers that forbid scripts, framing, sniffing, caching and referrers.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { APPROVAL_ANSWERS, type ApprovalAnswer, type ApprovalBroker, type PendingApproval } from "../approvals/broker.js";
import { hasInvisibleCharacters, renderArguments, visibleText } from "../policy/integrity/display.js";

export interface ApprovalPage {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** The one-time token URL for this approval (the same URL on every call while it is pending). */
  urlFor(id: string): string;
  /** Bearer token for the JSON API (the CLI reads it from the gateway's status file). */
  readonly adminToken: string;
  close(): Promise<void>;
}

export const ANSWER_LABELS: Record<ApprovalAnswer, string> = {
  "allow-once": "Allow once",
  "allow-session": "Allow for this session",
  "allow-always": "Always allow (adds an allow rule to your local settings)",
  deny: "Deny",
};

const MAX_BODY = 16 * 1024;
/** Approval ids are the broker's hex ids; anything else in a path is simply not found. */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
};

export async function startApprovalPage(broker: ApprovalBroker, opts: { port?: number; title?: string } = {}): Promise<ApprovalPage> {
  const title = opts.title ?? "mcp-warden: approval needed";
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
      const approvals = broker.list().map((p) => ({ ...p, url: urlFor(p.id) }));
      return sendJson(res, 200, { approvals });
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
    if (!broker.get(id)) return send(res, 410, "text/html", gonePage(title));
    // GET never answers and never consumes the token: link previews and prefetchers fetch it too.
    const p = byToken(id, t);
    if (!p) return send(res, 403, "text/html", messagePage(title, "This link is not valid", "The link's token is wrong or was already used. Open the link the gateway gave you, or run <code>mcp-warden approvals list</code>."));
    send(res, 200, "text/html", approvalPage(title, p, tokens.get(id)!));
  }

  async function postPage(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (!hasContentType(req, "application/x-www-form-urlencoded")) return send(res, 415, "text/plain", "expected application/x-www-form-urlencoded\n");
    const body = await readBody(req, res);
    if (body === undefined) return;
    const form = new URLSearchParams(body);
    const p = byToken(id, form.get("t"));
    if (!p) return send(res, 403, "text/html", messagePage(title, "This link is not valid", "The token is wrong or was already used, or the approval is no longer pending (answered elsewhere or expired). Nothing was answered."));
    const answer = form.get("answer");
    if (!isAnswer(answer) || !p.answers.includes(answer)) {
      return send(res, 400, "text/html", messagePage(title, "Not an answer to this question", `Choose one of: ${p.answers.map((a) => esc(ANSWER_LABELS[a])).join(", ")}. Nothing was answered.`));
    }
    const r = broker.answer(id, answer, "page");
    if (!r.ok) return send(res, 409, "text/html", messagePage(title, "Not answered", esc(visibleText(r.reason))));
    // One-time: the settle listener already dropped it; dropping it here too does not depend on that.
    tokens.delete(id);
    send(res, 200, "text/html", answeredPage(title, p, answer));
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
      }),
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

// ---- HTML ----------------------------------------------------------------------------------------

/** HTML-escapes text that has already been made visible; safe in element content and quoted attributes. */
function esc(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Untrusted text: invisible characters made visible first, then escaped. */
const show = (s: string) => esc(visibleText(s));

/** Multi-line text made visible line by line; a CR before LF goes with the line break. */
export function visibleLines(s: string): string {
  return s.split(/\r?\n/).map(visibleText).join("\n");
}

/** Whether any key or string anywhere in a JSON-like value holds characters a reader would not see. */
export function hasHiddenCharacters(v: unknown, depth = 0): boolean {
  if (depth > 64) return true; // Too deep to check cheaply: warn rather than vouch for it.
  if (typeof v === "string") return hasInvisibleCharacters(v);
  if (Array.isArray(v)) return v.some((x) => hasHiddenCharacters(x, depth + 1));
  if (v && typeof v === "object") return Object.entries(v).some(([k, x]) => hasInvisibleCharacters(k) || hasHiddenCharacters(x, depth + 1));
  return false;
}

export function formatTimeLeft(ms: number): string {
  if (ms <= 0) return "expired";
  const s = Math.ceil(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

const STYLE = `
  :root { color-scheme: light; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f4f5f7; color: #1d2125; }
  main { max-width: 920px; margin: 24px auto; background: #fff; border: 1px solid #d0d4da; border-radius: 8px; padding: 20px 28px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #505a66; margin: 0 0 16px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0 0 16px; }
  dt { color: #505a66; }
  dd { margin: 0; overflow-wrap: anywhere; }
  code, pre { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
  pre { background: #f6f8fa; border: 1px solid #d0d4da; border-radius: 6px; padding: 10px 12px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 16px; }
  .warn { background: #fff4e5; border: 1px solid #f0b35c; border-radius: 6px; padding: 8px 12px; margin: 0 0 12px; }
  form { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 8px; }
  button { font: inherit; padding: 8px 14px; border-radius: 6px; border: 1px solid #8c959f; background: #fff; color: #1d2125; cursor: pointer; }
  button:hover { background: #eef1f4; }
  button.deny { background: #b42318; border-color: #8f1c13; color: #fff; font-weight: 600; }
  button.deny:hover { background: #8f1c13; }
  .muted { color: #505a66; font-size: 13px; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function messagePage(title: string, heading: string, html: string): string {
  return layout(title, `<h1>${esc(heading)}</h1>\n<p>${html}</p>`);
}

function gonePage(title: string): string {
  return messagePage(
    title,
    "This approval is no longer pending",
    "It was answered (here, in the client or with <code>mcp-warden approvals</code>), it expired (an unanswered question is denied), or the gateway stopped. Nothing more to do on this page.",
  );
}

const KIND_HEADINGS: Record<PendingApproval["kind"], string> = {
  call: "A tool call is waiting for your approval",
  "tool-change": "A tool's definition changed",
  server: "A server's launch configuration is new or changed",
  "client-request": "A server asks to use your client",
};

function approvalPage(title: string, p: PendingApproval, token: string): string {
  const rows: string[] = [];
  const row = (k: string, v: string) => rows.push(`<dt>${esc(k)}</dt><dd>${v}</dd>`);
  row("Server", `<code>${show(p.server)}</code>`);
  if (p.tool !== undefined) row("Tool", `<code>${show(p.tool)}</code>`);
  if (p.method !== undefined) row("Request", `<code>${show(p.method)}</code>`);
  row("Reason", show(p.reason));
  if (p.rule !== undefined) row("Rule", `<code>${show(p.rule)}</code>${p.ruleFile !== undefined ? ` in <code>${show(p.ruleFile)}</code>` : ""}`);
  else if (p.ruleFile !== undefined) row("Rule file", `<code>${show(p.ruleFile)}</code>`);
  row("Time left", `${esc(formatTimeLeft(p.expiresAt - Date.now()))} <span class="muted">(then it is denied; reload for the current time)</span>`);
  if (p.argumentsDigest !== undefined) row("Arguments digest", `<code>${show(p.argumentsDigest)}</code>`);
  row("Request id", `<code>${esc(p.id)}</code>`);

  const parts: string[] = [`<h1>${esc(KIND_HEADINGS[p.kind] ?? "Approval needed")}</h1>`, `<p class="sub">${esc(holdingNote(p))}</p>`];
  if (p.arguments !== undefined && hasHiddenCharacters(p.arguments)) {
    parts.push(`<p class="warn"><strong>Hidden characters:</strong> the arguments contain control, zero-width, bidirectional or tag characters. They are shown below as visible escapes; read them before you allow.</p>`);
  }
  parts.push(`<dl>${rows.join("")}</dl>`);
  if (p.arguments !== undefined) {
    // renderArguments makes invisible characters visible and wraps long values; esc() comes after it.
    parts.push(`<h2 class="muted">Arguments (in full, exactly as they will be forwarded)</h2>`, `<pre id="arguments">${esc(renderArguments(p.arguments, { width: 100 }))}</pre>`);
  }
  // A diff is multi-line by nature: each line is made visible on its own (visibleText would escape the line feeds).
  if (p.diff !== undefined) parts.push(`<h2 class="muted">What changed</h2>`, `<pre id="diff">${esc(visibleLines(p.diff))}</pre>`);
  // No autofocus and no default: a stray Enter must not answer. Deny is styled apart.
  const buttons = p.answers
    .map((a) => `<button type="submit" name="answer" value="${esc(a)}"${a === "deny" ? ' class="deny"' : ""}>${esc(ANSWER_LABELS[a])}</button>`)
    .join("\n");
  parts.push(`<form method="post" action="/a/${encodeURIComponent(p.id)}">\n<input type="hidden" name="t" value="${esc(token)}">\n${buttons}\n</form>`);
  parts.push(`<p class="muted">This link works once. You can also answer with <code>mcp-warden approvals approve ${esc(p.id)}</code> or <code>mcp-warden approvals deny ${esc(p.id)}</code>.</p>`);
  return layout(title, parts.join("\n"));
}

/** What happens to the request while the question is open. */
export function holdingNote(p: PendingApproval): string {
  const window = p.retryWindowMs !== undefined ? formatWindow(p.retryWindowMs) : undefined;
  if (p.callEnded && window) return `The call has ended: its client could not wait for you. If you allow it, the identical call (same arguments) goes through once when it is retried within ${window} of your answer.`;
  if (window) return `mcp-warden is holding this request until you answer. If its client stops waiting first, allowing it lets the identical call through once when it is retried within ${window}.`;
  return "mcp-warden is holding this request until you answer.";
}

function formatWindow(ms: number): string {
  return ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
}

function answeredPage(title: string, p: PendingApproval, answer: ApprovalAnswer): string {
  const what = p.tool !== undefined ? `<code>${show(p.tool)}</code> on <code>${show(p.server)}</code>` : `<code>${show(p.server)}</code>`;
  const retry = p.callEnded && p.retryWindowMs !== undefined ? ` Its call has ended: retry it, with the same arguments, within ${esc(formatWindow(p.retryWindowMs))}; it goes through once.` : "";
  const outcome: Record<ApprovalAnswer, string> = {
    "allow-once": p.callEnded ? `Allowed once: ${what}.${retry}` : `Allowed once: ${what} proceeds with the arguments shown.`,
    "allow-session": p.callEnded
      ? `Allowed for this session: calls of ${what} are allowed until the gateway restarts or the rules change.${retry}`
      : `Allowed for this session: ${what} proceeds, and later calls of it are allowed until the gateway restarts or the rules change.`,
    "allow-always": p.callEnded
      ? `Always allowed: an allow rule for ${what} is added to your local settings.${retry}`
      : `Always allowed: ${what} proceeds, and an allow rule is added to your local settings.`,
    deny: `Denied: ${what} is refused.`,
  };
  return messagePage(title, answer === "deny" ? "Denied" : "Allowed", `${outcome[answer]} You can close this page.`);
}
