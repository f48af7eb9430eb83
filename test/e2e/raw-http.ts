// Raw HTTP/1.x over a socket, for what fetch and node:http refuse to send: a missing or doubled
// Host, HTTP/1.0, headers one byte at a time, a chunked body that never ends, plain HTTP to a TLS
// port. Every exchange is bounded by a timeout and always destroys its socket. Also the JSON-RPC
// replies of a response body, and a POST over https trusting a given CA.
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface RawReply {
  /** The status code of the first response, 0 when none arrived. */
  status: number;
  /** Everything the server sent. */
  text: string;
  /** Whether the server closed the connection (before our timeout). */
  closed: boolean;
  /** Milliseconds from connecting to the close (or to the timeout). */
  ms: number;
  error?: string;
}

export interface RawOptions {
  /** Give up (and destroy the socket) after this long; default 5000 ms. */
  timeoutMs?: number;
  /** Over TLS, trusting this CA certificate (PEM). */
  ca?: string;
  /** Resolve as soon as a complete status line has arrived, without waiting for the close. */
  untilStatus?: boolean;
}

/** One request head, headers given as pairs so that they may repeat or be left out. */
export function requestHead(method: string, path: string, headers: [string, string][], version = "HTTP/1.1"): string {
  return `${method} ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
}

/** A POST to /mcp over a raw socket, with the headers given as pairs (repeated or missing at will). */
export function rawMcpPost(port: number, headers: [string, string][], body: unknown, version = "HTTP/1.1") {
  const text = JSON.stringify(body);
  const all: [string, string][] = [["Content-Type", "application/json"], ["Accept", "application/json, text/event-stream"], ["Content-Length", String(Buffer.byteLength(text))], ["Connection", "close"], ...headers];
  return rawExchange(port, requestHead("POST", "/mcp", all, version) + text);
}

/**
 * Opens a connection, writes `parts` (a function gets the socket and writes itself, for slow
 * senders), and collects what the server sends until it closes or `timeoutMs` passes.
 */
export function rawExchange(port: number, parts: string | ((socket: Socket) => void), opts: RawOptions = {}): Promise<RawReply> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const socket: Socket = opts.ca ? tlsConnect({ host: "127.0.0.1", port, ca: opts.ca }) : netConnect({ host: "127.0.0.1", port });
    let text = "";
    let error: string | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, closed, ms: Date.now() - started, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on(opts.ca ? "secureConnect" : "connect", () => {
      if (typeof parts === "string") socket.write(parts);
      else parts(socket);
    });
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (opts.untilStatus && /^HTTP\/1\.[01] \d{3}[^\r]*\r\n/.test(text)) finish(false);
    });
    socket.on("error", (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
    socket.on("close", () => finish(true));
  });
}

/** Sends `head`, then keeps uploading 8 KiB pieces (bounded: 3.2 MB) until the server closes; what came back and how much went out. */
export async function uploadUntilClosed(port: number, head: string, piece: (chunk: string) => string) {
  let sent = 0;
  const total = 400 * 8192;
  const r = await rawExchange(
    port,
    (socket) => {
      socket.write(head);
      const chunk = "x".repeat(8192);
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= total) return clearInterval(timer);
        socket.write(piece(chunk));
        sent += chunk.length;
      }, 5);
      socket.once("close", () => clearInterval(timer));
    },
    { timeoutMs: 6000 },
  );
  return { ...r, sent, total };
}

/** Writes `text` one byte every `everyMs` until the socket closes or the text runs out. */
export function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/** The JSON-RPC messages of a response body: plain JSON, or the `data:` lines of an SSE stream. */
export function messagesOf(body: string): Record<string, unknown>[] {
  const trimmed = body.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const v = JSON.parse(trimmed) as unknown;
    return (Array.isArray(v) ? v : [v]) as Record<string, unknown>[];
  }
  return trimmed
    .split("\n")
    .filter((l) => l.startsWith("data:") && l.slice(5).trim().startsWith("{"))
    .map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>);
}

/** The error or result of the response with `id` among a response body's messages. */
export function reply(body: string, id: unknown): { result?: { isError?: boolean; content?: { text?: string }[] }; error?: { message: string } } {
  const m = messagesOf(body).find((x) => x.id === id);
  assert.ok(m, `a response with id ${JSON.stringify(id)} in: ${body.slice(0, 500)}`);
  return m as never;
}
export const replyText = (r: ReturnType<typeof reply>) => r.error?.message ?? (r.result?.content ?? []).map((c) => c.text).join("");

/** A POST over https trusting `ca` (or nothing but the system's roots); the status and body, or the TLS error. */
export function httpsPost(url: string, ca: string | undefined, body: unknown, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; text: string } | { error: string }> {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = httpsRequest(url, { method: "POST", ...(ca ? { ca } : {}), headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18", "content-length": String(Buffer.byteLength(data)), ...headers } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(data);
  });
}

