// The egress proxy: runs in the gateway, on the host, at the far end of a sandbox's egress channel.
// Every multiplexed connection the in-sandbox bridge opens is one proxy request, sniffed from its
// first bytes: SOCKS5 (0x05), HTTP CONNECT, or plain HTTP with an absolute-form request line.
//
// The decision is the pure core's (src/policy/egress/egress.ts), never re-implemented here, and the
// sequence (judge the name, resolve once, judge the addresses, connect to exactly the checked
// address, audit) is connect.ts's, shared with the gateway's own connections to remote servers.
import type * as net from "node:net";
import type { Duplex } from "node:stream";
import type { AuditEntry } from "../audit/record.js";
import type { EgressPolicy } from "../policy/egress/egress.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, type EgressProtocol, judgeAndConnect, type Refusal, refuseAudit, safeAudit } from "./connect.js";
import { Mux, MuxProtocolError, splice } from "./mux.js";

export type { EgressProtocol } from "./connect.js";

export interface EgressOptions {
  /** The server whose sandbox this channel belongs to (audit records name it). */
  server: string;
  policy: EgressPolicy;
  /** Resolves a name to addresses, once per connection. Default: dns.promises.lookup(host, { all: true, verbatim: true }). */
  resolve?: (host: string) => Promise<string[]>;
  /** Opens the outbound TCP connection to a checked address. Default: net.connect. */
  connect?: (address: string, port: number) => net.Socket;
  /** Receives one entry per decision (and per failed connect). An exception refuses the connection. */
  audit?: (entry: AuditEntry) => void;
  /** Limit for the request head or SOCKS handshake, for resolving, and for connecting (each). Default 10 s. */
  timeoutMs?: number;
  /** Concurrent connections per channel. Default 256. */
  maxStreams?: number;
  /** Called once when the channel is gone (the sandbox exited, close() was called, or a protocol error). */
  onClose?: (err: Error | undefined) => void;
}

export interface EgressHandle {
  /** Stops the proxy: every connection and the channel are closed. Idempotent. */
  close(): void;
}

/** Request heads (request line and headers) and SOCKS handshakes larger than this are refused. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 100;
const DEFAULT_TIMEOUT_MS = DEFAULT_CONNECT_TIMEOUT_MS;

/** Judges and relays every connection the bridge opens on `channel` (a sandbox's fd 3, our end). */
export function attachEgress(channel: Duplex, opts: EgressOptions): EgressHandle {
  const mux = new Mux(channel, { role: "acceptor", maxStreams: opts.maxStreams });
  const live = new Set<Duplex>();
  const ctx: Ctx = { ...opts, track: live };
  mux.on("stream", (stream) => {
    void serve(stream, ctx).catch(() => stream.destroy());
  });
  mux.once("close", (err) => {
    for (const s of live) s.destroy();
    live.clear();
    if (err instanceof MuxProtocolError) {
      safeAudit(opts.audit, { kind: "server", event: "egress-channel-error", server: opts.server, error: `egress channel torn down: ${err.message}` });
    }
    opts.onClose?.(err);
  });
  return {
    close() {
      mux.close();
    },
  };
}

/**
 * Serves one proxy connection (one mux stream, or any duplex in tests): sniffs the protocol, judges
 * the target, and relays. Resolves when the decision has been acted on.
 */
export function serveEgressConnection(conn: Duplex, opts: EgressOptions): Promise<void> {
  return serve(conn, { ...opts, track: new Set() });
}

interface Ctx extends EgressOptions {
  /** Outbound sockets, destroyed when the channel goes. */
  track: Set<Duplex>;
}

// ---------------------------------------------------------------------------------------------
// Reading the head

class HeadError extends Error {
  constructor(
    message: string,
    readonly kind: "eof" | "timeout" | "too-large" | "malformed",
  ) {
    super(message);
  }
}

/** Collects a connection's first bytes until the head is complete; then hands back the rest. */
class HeadReader {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failure: HeadError | undefined;
  private ended = false;

  constructor(private readonly s: Duplex) {
    s.on("data", this.onData);
    s.on("end", this.onEnd);
    s.on("close", this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    // Enough for any valid head; more waits in the stream (and its flow-control window).
    if (this.buf.length >= MAX_HEAD_BYTES) this.s.pause();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private notify() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  fail(err: HeadError) {
    this.failure ??= err;
    this.notify();
  }

  get bytes(): Buffer {
    return this.buf;
  }

  /** Waits until at least n bytes are buffered. */
  async need(n: number): Promise<void> {
    while (this.buf.length < n) await this.more();
  }

  /** Waits for the end of an HTTP head; returns the offset just past its blank line. */
  async headEnd(): Promise<number> {
    let from = 0;
    for (;;) {
      const i = this.buf.indexOf("\r\n\r\n", from, "latin1");
      if (i >= 0) {
        if (i + 4 > MAX_HEAD_BYTES) throw new HeadError("the request head is too large", "too-large");
        return i + 4;
      }
      if (this.buf.length >= MAX_HEAD_BYTES) throw new HeadError("the request head is too large", "too-large");
      from = Math.max(0, this.buf.length - 3);
      await this.more();
    }
  }

  private async more(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.ended) throw new HeadError("the client closed the connection", "eof");
    await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
  }

  /** Drops n bytes from the front. */
  consume(n: number) {
    this.buf = this.buf.subarray(n);
  }

  /** Stops collecting; returns the bytes read past the head (stream left paused). */
  release(): Buffer {
    this.s.pause();
    this.s.off("data", this.onData);
    this.s.off("end", this.onEnd);
    this.s.off("close", this.onEnd);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}

// ---------------------------------------------------------------------------------------------
// Serving one connection

async function serve(conn: Duplex, ctx: Ctx): Promise<void> {
  conn.on("error", () => {});
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const reader = new HeadReader(conn);
  const timer = setTimeout(() => reader.fail(new HeadError("the request head took too long", "timeout")), timeoutMs);
  timer.unref();
  let protocol: EgressProtocol | undefined;
  try {
    await reader.need(1);
    const first = reader.bytes[0] as number;
    if (first === 0x05) {
      protocol = "socks5";
      return await socks5(conn, reader, ctx, timer);
    }
    if (first >= 0x41 && first <= 0x5a) return await http(conn, reader, ctx, timer);
    clearTimeout(timer);
    reader.release();
    refuseAudit(ctx, undefined, "a connection that is neither SOCKS5 nor an HTTP proxy request", {});
    conn.destroy();
  } catch (err) {
    clearTimeout(timer);
    reader.release();
    if (err instanceof HeadError) {
      if (err.kind !== "eof") refuseAudit(ctx, undefined, err.message, protocol ? { protocol } : {});
      conn.destroy();
      return;
    }
    conn.destroy();
    throw err;
  }
}

/** Ends a refused connection: sends `reply`, discards what the client still sends, and does not wait forever. */
function finish(conn: Duplex, reply: Buffer | undefined, lingerMs: number) {
  conn.on("data", () => {});
  conn.resume();
  if (reply) conn.end(reply);
  else conn.end();
  const t = setTimeout(() => conn.destroy(), lingerMs);
  t.unref();
  conn.once("close", () => clearTimeout(t));
}

// ---- SOCKS5 (RFC 1928): no authentication, CONNECT only ----

const SOCKS_OK = 0x00;
const SOCKS_NOT_ALLOWED = 0x02;
const SOCKS_HOST_UNREACHABLE = 0x04;
const SOCKS_CONNECTION_REFUSED = 0x05;
const SOCKS_TTL_EXPIRED = 0x06;
const SOCKS_COMMAND_NOT_SUPPORTED = 0x07;
const SOCKS_ATYP_NOT_SUPPORTED = 0x08;

function socksReply(code: number): Buffer {
  // The bound address is not disclosed: 0.0.0.0:0.
  return Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}

async function socks5(conn: Duplex, r: HeadReader, ctx: Ctx, timer: NodeJS.Timeout): Promise<void> {
  const protocol: EgressProtocol = "socks5";
  const linger = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await r.need(2);
  const nMethods = r.bytes[1] as number;
  if (nMethods === 0) throw new HeadError("a SOCKS5 greeting without methods", "malformed");
  await r.need(2 + nMethods);
  const methods = r.bytes.subarray(2, 2 + nMethods);
  if (!methods.includes(0x00)) {
    clearTimeout(timer);
    r.release();
    refuseAudit(ctx, undefined, "the SOCKS5 client offered no method without authentication", { protocol });
    finish(conn, Buffer.from([0x05, 0xff]), linger);
    return;
  }
  r.consume(2 + nMethods);
  conn.write(Buffer.from([0x05, 0x00]));

  await r.need(4);
  const [ver, cmd, rsv, atyp] = r.bytes as unknown as [number, number, number, number];
  if (ver !== 0x05 || rsv !== 0x00) throw new HeadError("a malformed SOCKS5 request", "malformed");
  let host: string;
  let end: number;
  if (atyp === 0x01) {
    await r.need(4 + 4 + 2);
    host = [...r.bytes.subarray(4, 8)].join(".");
    end = 8;
  } else if (atyp === 0x03) {
    await r.need(5);
    const len = r.bytes[4] as number;
    await r.need(5 + len + 2);
    // latin1: one character per byte, so a NUL or any other byte reaches the policy as it was sent.
    host = r.bytes.subarray(5, 5 + len).toString("latin1");
    end = 5 + len;
  } else if (atyp === 0x04) {
    await r.need(4 + 16 + 2);
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(r.bytes.readUInt16BE(4 + 2 * i).toString(16));
    host = groups.join(":");
    end = 20;
  } else {
    clearTimeout(timer);
    r.release();
    refuseAudit(ctx, undefined, `SOCKS5 address type ${atyp} is not supported`, { protocol });
    finish(conn, socksReply(SOCKS_ATYP_NOT_SUPPORTED), linger);
    return;
  }
  const port = r.bytes.readUInt16BE(end);
  r.consume(end + 2);
  clearTimeout(timer);
  const early = r.release();
  if (cmd !== 0x01) {
    refuseAudit(ctx, undefined, `SOCKS5 command ${cmd} is not supported (CONNECT only)`, { host, port, protocol });
    finish(conn, socksReply(SOCKS_COMMAND_NOT_SUPPORTED), linger);
    return;
  }
  const outcome = await judgeAndConnect(ctx, protocol, host, port, ctx.policy.decideHost(host, port), conn);
  if (!outcome.ok) {
    const code =
      outcome.kind === "policy" || outcome.kind === "audit"
        ? SOCKS_NOT_ALLOWED
        : outcome.kind === "refused"
          ? SOCKS_CONNECTION_REFUSED
          : outcome.kind === "timeout"
            ? SOCKS_TTL_EXPIRED
            : SOCKS_HOST_UNREACHABLE;
    finish(conn, socksReply(code), linger);
    return;
  }
  conn.write(socksReply(SOCKS_OK));
  relay(conn, outcome.socket, early);
}

// ---- HTTP: CONNECT, or a plain request in absolute form ----

interface Head {
  method: string;
  target: string;
  minor: "0" | "1";
  headers: [string, string][];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHead(text: string): Head | string {
  const lines = text.split("\r\n");
  // The head ends with an empty line, so the split ends with two empty strings.
  lines.length -= 2;
  const requestLine = lines[0] ?? "";
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/.exec(requestLine);
  if (!m) return "the request line is not an HTTP/1.x request";
  if (lines.length - 1 > MAX_HEADERS) return "too many header fields";
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    // Bare CR or LF, NUL, other controls and obsolete line folding are refused, not interpreted.
    const h = /^([^:\s]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/.exec(line);
    if (!h || !TOKEN.test(h[1] as string)) return "a malformed header field";
    headers.push([(h[1] as string).toLowerCase(), h[2] as string]);
  }
  return { method: m[1] as string, target: m[2] as string, minor: m[3] as "0" | "1", headers };
}

function httpReply(status: number, text: string, message: string): Buffer {
  const body = `mcp-warden egress proxy: ${message}\n`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function failureReply(o: Refusal): Buffer {
  switch (o.kind) {
    case "policy":
    case "audit":
      return httpReply(403, "Forbidden", o.reason);
    case "timeout":
      return httpReply(504, "Gateway Timeout", o.reason);
    default:
      return httpReply(502, "Bad Gateway", o.reason);
  }
}

async function http(conn: Duplex, r: HeadReader, ctx: Ctx, timer: NodeJS.Timeout): Promise<void> {
  const linger = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let headLength: number;
  try {
    headLength = await r.headEnd();
  } catch (err) {
    if (!(err instanceof HeadError) || err.kind === "eof") throw err;
    clearTimeout(timer);
    const protocol = r.bytes.subarray(0, 8).toString("latin1") === "CONNECT " ? "http-connect" : "http";
    r.release();
    refuseAudit(ctx, undefined, err.message, { protocol });
    finish(conn, err.kind === "too-large" ? httpReply(431, "Request Header Fields Too Large", err.message) : httpReply(408, "Request Timeout", err.message), linger);
    return;
  }
  clearTimeout(timer);
  const head = parseHead(r.bytes.subarray(0, headLength).toString("latin1"));
  r.consume(headLength);
  const early = r.release();
  if (typeof head === "string") {
    refuseAudit(ctx, undefined, head, { protocol: "http" });
    finish(conn, httpReply(400, "Bad Request", head), linger);
    return;
  }
  if (head.method === "CONNECT") return connectMethod(conn, head, early, ctx);
  return plain(conn, head, early, ctx);
}

async function connectMethod(conn: Duplex, head: Head, early: Buffer, ctx: Ctx): Promise<void> {
  const protocol: EgressProtocol = "http-connect";
  const linger = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(head.target);
  if (!m) {
    const reason = "the CONNECT target is not host:port";
    refuseAudit(ctx, undefined, reason, { protocol });
    finish(conn, httpReply(400, "Bad Request", reason), linger);
    return;
  }
  const host = m[1] as string;
  const port = Number(m[2]);
  const outcome = await judgeAndConnect(ctx, protocol, host, port, ctx.policy.decideHost(host, port), conn);
  if (!outcome.ok) {
    finish(conn, failureReply(outcome), linger);
    return;
  }
  conn.write("HTTP/1.1 200 Connection established\r\n\r\n");
  relay(conn, outcome.socket, early);
}

/** Header fields that concern only this hop; Host is rewritten from the judged URL. */
const HOP_BY_HOP = new Set(["connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade", "host"]);
/** Never dropped because Connection names them: the body's framing must stay what was checked. */
const FRAMING = new Set(["content-length", "transfer-encoding"]);

async function plain(conn: Duplex, head: Head, early: Buffer, ctx: Ctx): Promise<void> {
  const protocol: EgressProtocol = "http";
  const linger = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const bad = (reason: string, status = 400, text = "Bad Request") => {
    refuseAudit(ctx, undefined, reason, { protocol });
    finish(conn, httpReply(status, text, reason), linger);
  };
  // The target is checked to parse before the policy sees it, so no reason quotes a path or query.
  if (!/^http:\/\//i.test(head.target)) return bad("only absolute http:// request targets are proxied (use CONNECT for https)");
  let url: URL;
  try {
    url = new URL(head.target);
  } catch {
    return bad("the request target is not a valid URL");
  }
  if (url.protocol !== "http:") return bad("only absolute http:// request targets are proxied (use CONNECT for https)");

  // Body framing (RFC 9112 section 6): exactly one request is forwarded, so its end must be known.
  const te = head.headers.filter(([n]) => n === "transfer-encoding").map(([, v]) => v);
  const cl = head.headers.filter(([n]) => n === "content-length").map(([, v]) => v.trim());
  let framer: BodyFramer;
  if (te.length > 0) {
    if (cl.length > 0) return bad("both Transfer-Encoding and Content-Length");
    if (te.join(",").trim().toLowerCase() !== "chunked") return bad("only the chunked transfer coding is supported", 501, "Not Implemented");
    framer = new ChunkedFramer();
  } else if (cl.length > 0) {
    if (!cl.every((v) => /^\d{1,15}$/.test(v) && v === cl[0])) return bad("an invalid Content-Length");
    framer = new LengthFramer(Number(cl[0]));
  } else {
    framer = new LengthFramer(0);
  }

  const hostname = url.hostname;
  const port = url.port === "" ? 80 : Number(url.port);
  const outcome = await judgeAndConnect(ctx, protocol, hostname, port, ctx.policy.decideUrl(head.target), conn);
  if (!outcome.ok) {
    finish(conn, failureReply(outcome), linger);
    return;
  }
  const upstream = outcome.socket;

  const connectionTokens = new Set(
    head.headers
      .filter(([n]) => n === "connection" || n === "proxy-connection")
      .flatMap(([, v]) => v.split(","))
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== "" && !FRAMING.has(t)),
  );
  let out = `${head.method} ${url.pathname}${url.search} HTTP/1.${head.minor}\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of head.headers) {
    if (HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
    out += `${name}: ${value}\r\n`;
  }
  out += "Connection: close\r\n\r\n";

  // Response: everything the server sends, then end. The request: the head and exactly one body.
  upstream.pipe(conn);
  upstream.on("error", () => conn.destroy());
  upstream.on("close", () => {
    if (!upstream.readableEnded) conn.destroy();
  });
  // By the time the client's stream closes the response has ended (or was cut): the upstream
  // connection has no further use, even if the server would keep it open.
  conn.on("close", () => upstream.destroy());
  upstream.write(out, "latin1");

  let done = false;
  const stopForwarding = () => {
    done = true;
    // Anything after the body (a pipelined request) is read and dropped, never forwarded: it could
    // name another host than the one judged.
    conn.off("data", onData);
    conn.on("data", () => {});
    conn.resume();
  };
  const onData = (chunk: Buffer) => {
    if (done) return;
    let take: number;
    try {
      take = framer.feed(chunk);
    } catch {
      conn.destroy();
      upstream.destroy();
      return;
    }
    const ok = take > 0 ? upstream.write(take === chunk.length ? chunk : chunk.subarray(0, take)) : true;
    if (framer.complete) {
      stopForwarding();
      return;
    }
    if (!ok) {
      conn.pause();
      upstream.once("drain", () => {
        if (!done) conn.resume();
      });
    }
  };
  if (framer.complete) stopForwarding();
  else {
    conn.on("data", onData);
    if (early.length > 0) onData(early);
    if (!done) conn.resume();
  }
  conn.on("end", () => {
    // The client closed its side before the body was complete: the request is cut short.
    if (!done) upstream.destroy();
  });
}

interface BodyFramer {
  /** How many bytes of `chunk` belong to the body. Throws on a malformed body. */
  feed(chunk: Buffer): number;
  readonly complete: boolean;
}

class LengthFramer implements BodyFramer {
  constructor(private remaining: number) {}
  get complete() {
    return this.remaining === 0;
  }
  feed(chunk: Buffer): number {
    const n = Math.min(this.remaining, chunk.length);
    this.remaining -= n;
    return n;
  }
}

/** Follows a chunked body byte by byte (sizes, extensions, trailers) to find where it ends; strict CRLF. */
export class ChunkedFramer implements BodyFramer {
  private state: "size" | "data" | "data-cr" | "data-lf" | "trailer" | "done" = "size";
  private line = "";
  private left = 0;
  private trailerBytes = 0;
  get complete() {
    return this.state === "done";
  }
  feed(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.left, chunk.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = "data-cr";
        continue;
      }
      const c = chunk[i++] as number;
      if (this.state === "data-cr") {
        if (c !== 0x0d) throw new Error("chunk data not followed by CRLF");
        this.state = "data-lf";
      } else if (this.state === "data-lf") {
        if (c !== 0x0a) throw new Error("chunk data not followed by CRLF");
        this.state = "size";
      } else {
        // "size" line or a "trailer" line, each ending in CRLF.
        if (c === 0x0a) {
          if (!this.line.endsWith("\r")) throw new Error("bare LF in a chunked body");
          const text = this.line.slice(0, -1);
          this.line = "";
          if (this.state === "size") {
            const m = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;[\x20-\x7e\t]*)?$/.exec(text);
            if (!m) throw new Error("an invalid chunk size line");
            this.left = parseInt(m[1] as string, 16);
            this.state = this.left === 0 ? "trailer" : "data";
          } else if (text === "") {
            this.state = "done";
          } else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\x00-\x08\x0a-\x1f\x7f]*$/.test(text)) {
            throw new Error("an invalid trailer field");
          }
        } else {
          if (this.line.endsWith("\r")) throw new Error("bare CR in a chunked body");
          this.line += String.fromCharCode(c);
          if (this.state === "size" && this.line.length > 1024) throw new Error("a chunk size line is too long");
          if (this.state === "trailer" && (this.trailerBytes += 1) > MAX_HEAD_BYTES) throw new Error("the trailer is too large");
        }
      }
    }
    return i;
  }
}

/** Tunnel: the bytes the client sent early first, then both ways until both sides end. */
function relay(conn: Duplex, socket: net.Socket, early: Buffer) {
  if (early.length > 0) socket.write(early);
  splice(conn, socket);
}
