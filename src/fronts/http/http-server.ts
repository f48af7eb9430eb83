// The HTTP listener of `mcp-warden serve`: node:http(s) with the transport's protections applied
// before any route sees a request — Host allowlisting (DNS rebinding), Origin validation, a body
// limit, header and idle timeouts, X-Forwarded-* believed only from configured proxies — and then a
// web-standard Request handed to the route. Written on node:http directly (not a framework) because
// every limit must hold before a byte of the body is buffered, and the routes speak fetch's
// Request/Response, which is what the MCP SDK's HTTP pieces take.
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server as NodeServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { isIP } from "node:net";

export interface HttpFrontLimits {
  maxBodyBytes: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface HttpFrontOptions extends HttpFrontLimits {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  /** Host header values accepted, lower case, with or without a port. */
  allowedHosts: string[];
  /** Origin values accepted (scheme://host[:port], lower case). */
  allowedOrigins: string[];
  /** Addresses of proxies whose X-Forwarded-For / -Proto are believed. */
  trustedProxies: string[];
  /** Told about requests refused here (before a route), for the audit log. */
  onRefused?: (what: { status: number; reason: string; address: string }) => void;
}

/** What a route gets: the request with its body already read (within the limit), and who sent it. */
export interface FrontRequest {
  /** Method, URL, headers and abort signal; its body is empty: read `body`. */
  request: Request;
  /** The body's text (empty when none). */
  body: string;
  /** The client's address: the socket's, or X-Forwarded-For's when the socket is a trusted proxy. */
  address: string;
  /** "https" or "http" as the client used it (X-Forwarded-Proto from a trusted proxy). */
  proto: string;
  /** Whether the Host passed its check (always, except on a probe path). */
  hostAllowed: boolean;
}

export type Route = (req: FrontRequest) => Promise<Response>;

export interface HttpFront {
  readonly server: NodeServer;
  /** The address actually bound (port 0 resolved). */
  readonly address: { host: string; port: number };
  /** Stops accepting, lets requests in flight end (bounded), then closes every connection. */
  drain(timeoutMs: number): Promise<void>;
}

/** A JSON-RPC-shaped error body, the form MCP clients read from a refused HTTP request. */
export function jsonError(status: number, message: string, headers: Record<string, string> = {}, code = -32000): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export async function startHttpFront(opts: HttpFrontOptions, route: Route): Promise<HttpFront> {
  const allowedHosts = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
  const allowedOrigins = new Set(opts.allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, "")));
  const trusted = new Set(opts.trustedProxies);
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // A drain waits for requests in flight; a GET is a 2025-era event stream that never ends by itself.
    const counted = req.method !== "GET";
    if (counted) inFlight++;
    try {
      const socketAddress = normalizeAddress(req.socket.remoteAddress ?? "");
      const fromProxy = trusted.has(socketAddress);
      const address = fromProxy ? (forwardedFor(req.headers["x-forwarded-for"], trusted) ?? socketAddress) : socketAddress;
      const proto = fromProxy && typeof req.headers["x-forwarded-proto"] === "string" ? req.headers["x-forwarded-proto"].split(",")[0]!.trim().toLowerCase() : opts.tls ? "https" : "http";
      const refuse = async (status: number, reason: string, message: string) => {
        opts.onRefused?.({ status, reason, address });
        await writeResponse(res, jsonError(status, message));
      };
      // Node keeps the first of two Host or Authorization lines; a proxy in front may keep the last.
      // Such a request means two things at once: refused (RFC 9112 3.2 for Host).
      const repeated = repeatedHeader(req.rawHeaders, SINGLE_HEADERS);
      if (repeated) {
        closeAfter(req, res);
        return await refuse(400, "repeated-header", `Bad Request: more than one ${repeated} header; send exactly one`);
      }
      const host = (req.headers.host ?? "").toLowerCase();
      // Probes (a container's HEALTHCHECK, the kubelet) name the pod's address or 127.0.0.1, not the
      // gateway's public host; the health answers carry no data a rebound page could steal (the route
      // is told the Host was not checked, and gives such a request no reasons and no metrics).
      const hostOk = hostAllowed(host, allowedHosts);
      if (!hostOk && !isProbe(req)) {
        return await refuse(403, "host", `Forbidden: Host '${host.slice(0, 100)}' is not one this gateway serves (remote.allowedHosts)`);
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase().replace(/\/+$/, ""))) {
        return await refuse(403, "origin", `Forbidden: Origin '${origin.slice(0, 100)}' is not allowed (remote.allowedOrigins)`);
      }
      const tooLarge = `Payload Too Large: the body exceeds ${opts.maxBodyBytes} bytes (remote.maxBodyBytes)`;
      const declared = Number(req.headers["content-length"] ?? "0");
      if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
        closeAfter(req, res);
        return await refuse(413, "body-size", tooLarge);
      }
      const read = await readBody(req, opts.maxBodyBytes, opts.idleTimeoutMs);
      // A client that went away is answered by nobody; one that stalled is cut off like a slow header.
      if (read === "aborted") return;
      if (read === "too-large" || read === "stalled") {
        closeAfter(req, res);
        if (read === "too-large") return await refuse(413, "body-size", tooLarge);
        return await refuse(408, "body-stalled", `Request Timeout: the body stopped arriving for ${opts.idleTimeoutMs} ms (remote.idleTimeoutMs)`);
      }
      const body = read.body;
      const abort = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) headers.append(k, x);
        else headers.set(k, v);
      }
      const method = (req.method ?? "GET").toUpperCase();
      // A probe's Host was not checked: the URL is built from the listen address instead.
      const url = `${proto}://${hostOk && host ? host : `${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${opts.port}`}${req.url ?? "/"}`;
      // No body on the Request: routes get it as text (FrontRequest.body) and hand it on parsed (the
      // SDK's parsedBody), so a body stream per request would be built and never read.
      const request = new Request(url, { method, headers, signal: abort.signal });
      const response = await route({ request, body, address, proto, hostAllowed: hostOk });
      await writeResponse(res, response, abort.signal);
    } catch {
      // Never a stack trace at the client; the route already audited what it could.
      if (!res.headersSent) await writeResponse(res, jsonError(500, "Internal error in mcp-warden; see its stderr")).catch(() => undefined);
      else res.destroy();
    } finally {
      if (counted) inFlight--;
      if (inFlight === 0) drained?.();
    }
  };

  const server: NodeServer = opts.tls
    ? // A client that connects and never finishes the TLS handshake is cut off like a slow header.
      createHttpsServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key), handshakeTimeout: opts.headersTimeoutMs }, (q, r) => void handle(q, r))
    : createHttpServer((q, r) => void handle(q, r));
  // A client that sends its headers slowly (slowloris) is cut off; so is one that stalls its body.
  server.headersTimeout = opts.headersTimeoutMs;
  server.requestTimeout = Math.max(opts.headersTimeoutMs, 30_000);
  server.keepAliveTimeout = opts.idleTimeoutMs;
  // Node checks those timeouts on this interval (30 s by default): often enough for the limits to hold.
  (server as unknown as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 1000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.on("clientError", (e: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed HTTP, headers too large, or a timeout: answer if the socket can still take it and no
    // response has started on it (as Node's own handler does), then drop it.
    // A TLS failure (a handshake that timed out or was not TLS at all) has no channel to answer on.
    const tlsFailure = /^ERR_(TLS|SSL)_/.test(e.code ?? "");
    const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (socket.writable && !started && !tlsFailure) {
      socket.end(`HTTP/1.1 ${clientErrorStatus(e.code)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      // The client may never read the answer; the socket goes regardless.
      setTimeout(() => socket.destroy(), 1000).unref();
    } else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === "object" && bound ? { host: opts.host, port: bound.port } : { host: opts.host, port: opts.port };
  return {
    server,
    address,
    async drain(timeoutMs: number) {
      server.close();
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
      }
      for (const s of sockets) s.destroy();
    },
  };
}

/**
 * The body; "too-large" once it passes the limit, "stalled" when no byte came for `stallMs` (the
 * rest is then not read), "aborted" when the client went away first.
 */
function readBody(req: IncomingMessage, limit: number, stallMs: number): Promise<{ body: string } | "too-large" | "stalled" | "aborted"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let stall: NodeJS.Timeout | undefined;
    const settle = (v: { body: string } | "too-large" | "stalled" | "aborted") => {
      if (settled) return;
      settled = true;
      clearTimeout(stall);
      chunks.length = 0;
      resolve(v);
    };
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(() => settle("stalled"), stallMs);
    };
    arm();
    req.on("data", (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit) return settle("too-large");
      chunks.push(c);
      arm();
    });
    req.once("end", () => settle({ body: Buffer.concat(chunks).toString("utf8") }));
    req.once("error", () => settle("aborted"));
    // Closed before "end": the client is gone (Node does not always emit "aborted" or "error").
    req.once("close", () => settle("aborted"));
  });
}

/**
 * This response closes the connection: a refused body is not kept, and the socket carries no other
 * request. Node would end and destroy the socket the moment the response is written; a client still
 * uploading then gets a reset (EPIPE) instead of the answer. So the socket is half-closed instead, and
 * what the client still sends is read and dropped until it closes too, at most LINGER_MS.
 */
function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("connection", "close");
  req.resume();
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
const LINGER_MS = 1000;

/** The status line for a request Node's parser refused before any route saw it. */
function clientErrorStatus(code: string | undefined): string {
  if (code === "HPE_HEADER_OVERFLOW") return "431 Request Header Fields Too Large";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "408 Request Timeout";
  return "400 Bad Request";
}

/** Headers whose second line would make the request ambiguous. */
const SINGLE_HEADERS = new Set(["host", "authorization"]);

/** The first header of `names` that appears more than once in the raw [name, value, ...] list. */
function repeatedHeader(raw: readonly string[], names: ReadonlySet<string>): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!names.has(name)) continue;
    if (seen.has(name)) return name[0]!.toUpperCase() + name.slice(1);
    seen.add(name);
  }
  return undefined;
}

/** Hop-by-hop headers are the listener's to set (RFC 9110 7.6.1), never a route's. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]);

async function writeResponse(res: ServerResponse, response: Response, signal?: AbortSignal): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k) && k !== "set-cookie") headers[k] = v;
  });
  // Each cookie on a line of its own (forEach would give one, the last, of several).
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // SSE frames go out as they come: flushed per chunk.
      if (!res.write(value)) await new Promise<void>((r) => res.once("drain", r));
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

/** A Host header is `name`, `name:port`, `[v6]` or `[v6]:port`; anything else is not ours. */
const HOST_SHAPE = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/;

const PROBE_PATHS = new Set(["/healthz", "/readyz"]);

/** A GET of a health path (query ignored): exempt from the Host check only. */
function isProbe(req: IncomingMessage): boolean {
  return req.method === "GET" && PROBE_PATHS.has((req.url ?? "").split("?")[0]!);
}

function hostAllowed(host: string, allowed: ReadonlySet<string>): boolean {
  const m = HOST_SHAPE.exec(host);
  if (!m) return false;
  if (allowed.has(host)) return true;
  // "name:port" is also accepted when the bare name is listed.
  return allowed.has(m[1]!);
}

/** IPv4-mapped IPv6 ("::ffff:127.0.0.1") as the IPv4 address. */
function normalizeAddress(a: string): string {
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** The right-most X-Forwarded-For entry that is not a trusted proxy: the first hop nobody we trust added. */
function forwardedFor(header: string | string[] | undefined, trusted: ReadonlySet<string>): string | undefined {
  const value = Array.isArray(header) ? header.join(",") : header;
  if (!value) return undefined;
  const hops = value
    .split(",")
    .map((h) => normalizeAddress(h.trim()))
    .filter((h) => isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i]!)) return hops[i];
  return hops[0];
}
