// Newline-delimited JSON-RPC over a pair of streams, for both sides of the gateway.
// Written here rather than using the SDK's stdio transports because those close the whole
// connection on one oversized or malformed message; a gateway must reject that one message
// and keep serving every other request.
import type { Readable, Writable } from "node:stream";
import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/server";

export interface LineProblem {
  kind: "oversized" | "not-json" | "not-jsonrpc";
  /** The first bytes of the offending line, for finding its id; never logged whole. */
  head: string;
  /** The last bytes of an oversized line (a response's id often comes last). */
  tail?: string;
  bytes: number;
}

export interface JsonLinesOptions {
  maxMessageBytes: number;
  /** Called for a line that is not a usable JSON-RPC message; the transport keeps going. */
  onProblem?: (problem: LineProblem) => void;
  /** Sees every message before it is dispatched. */
  observe?: (message: JSONRPCMessage) => void;
}

const NEWLINE = 0x0a;
const HEAD_BYTES = 2048;

export class JsonLinesTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  sessionId?: string;

  private chunks: Buffer[] = [];
  private buffered = 0;
  /** While discarding an oversized line: how many bytes were dropped so far, and its head. */
  private skipping: { bytes: number; head: string; tail: string } | undefined;
  private closed = false;
  private started = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: JsonLinesOptions,
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error("transport already started");
    this.started = true;
    this.input.on("data", this.onData);
    this.input.on("end", this.onEnd);
    this.input.on("close", this.onEnd);
    this.input.on("error", this.onStreamError);
    this.output.on("error", this.onStreamError);
  }

  private onData = (chunk: Buffer) => {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.skipping) {
        this.skipping.bytes += piece.length;
        this.skipping.tail = (this.skipping.tail + piece.subarray(Math.max(0, piece.length - HEAD_BYTES)).toString("utf8")).slice(-HEAD_BYTES);
      } else if (this.buffered + piece.length > this.options.maxMessageBytes) {
        const head = Buffer.concat([...this.chunks, piece.subarray(0, HEAD_BYTES)]).subarray(0, HEAD_BYTES).toString("utf8");
        this.skipping = { bytes: this.buffered + piece.length, head, tail: piece.subarray(Math.max(0, piece.length - HEAD_BYTES)).toString("utf8") };
        this.chunks = [];
        this.buffered = 0;
      } else if (piece.length) {
        this.chunks.push(piece);
        this.buffered += piece.length;
      }
      if (nl === -1) break;
      this.finishLine();
      start = nl + 1;
    }
  };

  private finishLine() {
    if (this.skipping) {
      const { bytes, head, tail } = this.skipping;
      this.skipping = undefined;
      this.options.onProblem?.({ kind: "oversized", head, tail, bytes });
      return;
    }
    const line = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    const text = line.toString("utf8").trim();
    if (!text) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.options.onProblem?.({ kind: "not-json", head: text.slice(0, HEAD_BYTES), bytes: line.length });
      return;
    }
    if (!isJsonRpcMessage(value)) {
      this.options.onProblem?.({ kind: "not-jsonrpc", head: text.slice(0, HEAD_BYTES), bytes: line.length });
      return;
    }
    try {
      this.options.observe?.(value);
      this.onmessage?.(value);
    } catch (error) {
      this.onerror?.(error as Error);
    }
  }

  private onEnd = () => {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  };

  private onStreamError = (error: Error) => {
    this.onerror?.(error);
  };

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error("transport closed");
    const line = JSON.stringify(message) + "\n";
    // Messages sent in the same turn of the event loop (answers to the calls of one read, say) leave
    // in one system call: the stream is corked until the turn's microtasks have run.
    if (!this.corked) {
      this.corked = true;
      this.output.cork();
      process.nextTick(this.uncork);
    }
    const ok = this.output.write(line);
    if (!ok) await new Promise<void>((resolve) => this.output.once("drain", resolve));
  }

  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.output.uncork();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off("data", this.onData);
    this.onclose?.();
  }
}

/** Structural check only: the SDK validates each method's params; this keeps junk out of it. */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== "2.0") return false;
  const hasId = typeof m.id === "string" || (typeof m.id === "number" && Number.isFinite(m.id));
  if (typeof m.method === "string") return m.id === undefined || hasId;
  if (!hasId) return false;
  return ("result" in m && typeof m.result === "object" && m.result !== null) || ("error" in m && typeof m.error === "object" && m.error !== null);
}

/**
 * Best-effort id of a message we could not parse, so the sender gets an answer it can match.
 * Requests carry their id near the start; the SDK writes a response's id last, and a response's
 * head may contain nested "id" fields from the result, so responses are read from the tail only.
 */
export function guessMessageId(p: LineProblem, kind: "request" | "response"): string | number | null {
  const m =
    kind === "request"
      ? /^\s*\{[^{]*?"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,15})/.exec(p.head)
      : /"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,15})\s*\}\s*$/.exec(p.tail ?? p.head);
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as string | number;
  } catch {
    return null;
  }
}
