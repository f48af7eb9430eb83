// The stdio front: one client on stdin/stdout, acting as the OS user running mcp-warden. Speaks both
// protocol eras through the SDK's serveStdio over the gateway core (src/gateway/gateway.ts).
import { userInfo } from "node:os";
import type { Readable, Writable } from "node:stream";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import type { Gateway } from "../gateway/gateway.js";
import { makeDownstream } from "../gateway/downstream.js";
import { ErrorCodes } from "../gateway/errors.js";
import { localPrincipal } from "../policy/principal.js";
import { guessMessageId, JsonLinesTransport, type LineProblem } from "../transport/json-lines.js";
import { HotPath } from "../gateway/hot-path.js";

/** Serves the stdio client until stdin ends; then the core closes. */
export function serveStdioFront(core: Gateway, input: Readable, output: Writable, maxMessageBytes: number): void {
  const stdio = makeDownstream(localPrincipal(localUserName()), { remote: false });
  // tools/call from a 2025-era client after the handshake, without the SDK server's per-message work.
  const hot = new HotPath({
    enabled: core.hotPathEnabled(),
    server: () => stdio.server,
    forward: (params, ctx) => core.forwardHot(params, ctx, stdio),
    onError: (e) => core.log(`client connection: ${e.message}`),
  });
  const transport = new JsonLinesTransport(input, output, {
    maxMessageBytes,
    onProblem: (p) => answerProblem(p),
    observe: (m) => {
      // Eager servers start with the client's first real message: an SDK client probing the era
      // spawns a throwaway copy of mcp-warden that only ever sends server/discover.
      const method = (m as { method?: string }).method;
      if (method !== "server/discover") core.startEager();
      // The handshake is done: a 2025-era client's initialized notification, or a 2026-07-28
      // client's first request beyond discovery (that era has no handshake).
      const handshakeOver = method === "notifications/initialized" || (method !== undefined && !method.startsWith("notifications/") && method !== "initialize" && method !== "server/discover");
      if (handshakeOver) core.handshakeDone();
    },
  });
  /** A line from the client that is not a usable message: answered, and serving goes on. */
  const answerProblem = (p: LineProblem) => {
    const id = guessMessageId(p, "request");
    const error =
      p.kind === "oversized"
        ? { code: ErrorCodes.invalidRequest, message: `message of ${p.bytes} bytes exceeds the limit of ${maxMessageBytes} bytes (gateway.maxMessageBytes)` }
        : p.kind === "not-json"
          ? { code: ErrorCodes.parseError, message: "Parse error: the line is not valid JSON" }
          : { code: ErrorCodes.invalidRequest, message: "Invalid Request: not a JSON-RPC 2.0 message" };
    core.audit.append({ kind: "request", event: "rejected", error: error.message, detail: { bytes: p.bytes } });
    void transport.send({ jsonrpc: "2.0", id: id as never, error } as never).catch(() => undefined);
  };
  const handle = serveStdio(
    () => {
      const server = core.connect(stdio);
      hot.adopt(server);
      return server;
    },
    {
      transport,
      onerror: (e) => core.log(`client connection: ${e.message}`),
    },
  );
  core.onClose(() => handle.close().catch(() => undefined));
  // serveStdio owns the transport's callbacks; learn about the end of stdin from the stream.
  const ended = () => {
    hot.closeAll();
    void core.close("client closed the connection");
  };
  input.once("end", ended);
  input.once("close", ended);
}

/**
 * The OS user's name: the local caller's principal, and the local console's person. A uid when the
 * system has no name for it.
 */
export function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? "unknown"}`;
  }
}
