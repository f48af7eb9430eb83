// Deciding and connecting: the one sequence every outbound connection mcp-warden makes or relays
// goes through — a sandboxed server's connection through the egress proxy (proxy.ts) and the
// gateway's own connections to remote MCP servers (remote-fetch.ts).
//
//   1. the policy's first verdict on the name the client asked for (decideHost / decideUrl):
//      deny or ask is refused (nothing can approve a connection yet);
//   2. the name is resolved ONCE (IP literals are not resolved);
//   3. decideAddresses on what it resolved to (a name pointing at loopback, a private network or
//      cloud metadata is refused unless an entry allows that address);
//   4. the connection goes to exactly the first checked address, never to the name again, so a DNS
//      answer that changes between the check and the connect (rebinding) cannot move the target.
// Each decision is audited with host, port, address and protocol; never a path, query, header or
// body (they may carry credentials). An audit log that cannot record a decision refuses it.
import { promises as dns } from "node:dns";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { AuditEntry } from "../audit/record.js";
import type { EgressPolicy } from "../policy/egress/egress.js";
import type { Verdict } from "../policy/types.js";

/** How the connection was asked for: the proxy's three protocols, or the gateway's own client. */
export type EgressProtocol = "socks5" | "http-connect" | "http" | "mcp-upstream";

export interface ConnectContext {
  /** The server the connection is for (audit records name it). */
  server: string;
  policy: EgressPolicy;
  /** Resolves a name to addresses, once per connection. Default: dns.promises.lookup(host, { all: true, verbatim: true }). */
  resolve?: (host: string) => Promise<string[]>;
  /**
   * Opens the outbound connection to a checked address; `name` is the checked host name (for TLS
   * server name indication and certificate checks). Default: a plain TCP connection. A TLS socket is
   * ready on `secureConnect`, any other on `connect`.
   */
  connect?: (address: string, port: number, name: string) => net.Socket;
  /** Receives one entry per decision (and per failed connect). An exception refuses the connection. */
  audit?: (entry: AuditEntry) => void;
  /** Limit for resolving and for connecting (each). Default 10 s. */
  timeoutMs?: number;
  /** Open outbound sockets, so their owner can close them all. */
  track?: Set<Duplex>;
}

export type Refusal = { ok: false; kind: "policy" | "audit" | "resolve" | "refused" | "unreachable" | "timeout"; reason: string };
export type Outcome = { ok: true; socket: net.Socket; address: string } | Refusal;

export interface Detail {
  host?: string;
  port?: number;
  address?: string;
  protocol?: EgressProtocol;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export function safeAudit(audit: ConnectContext["audit"], entry: AuditEntry): boolean {
  if (!audit) return true;
  try {
    audit(entry);
    return true;
  } catch {
    return false;
  }
}

export function printable(host: string): string {
  return host.length > 300 ? `${host.slice(0, 300)}...` : host;
}

export function egressEntry(ctx: Pick<ConnectContext, "server">, v: Verdict, d: Detail, extra: Partial<AuditEntry> = {}): AuditEntry {
  const detail: Record<string, unknown> = {};
  if (d.host !== undefined) detail.host = printable(d.host);
  if (d.port !== undefined) detail.port = d.port;
  if (d.address !== undefined) detail.address = d.address;
  if (d.protocol !== undefined) detail.protocol = d.protocol;
  const e: AuditEntry = { kind: "request", event: "egress", server: ctx.server, decision: v.decision, reason: v.reason, ...extra, detail };
  if (v.rule !== undefined) e.rule = v.rule;
  return e;
}

/** Audits a refusal (a policy verdict, or a request that could not be read). */
export function refuseAudit(ctx: Pick<ConnectContext, "server" | "audit">, v: Verdict | undefined, reason: string, d: Detail) {
  safeAudit(ctx.audit, egressEntry(ctx, v ?? { decision: "deny", reason }, d, { outcome: "denied" }));
}

/** The name as the policy judged it: `[::1]` → `::1`, lower case, no trailing dot, IPv4 in dotted form. */
export function canonicalHost(host: string): string | undefined {
  const inner = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  try {
    const h = new URL(`http://${net.isIP(inner) === 6 ? `[${inner}]` : inner}/`).hostname;
    return (h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h).toLowerCase().replace(/\.$/, "");
  } catch {
    return undefined;
  }
}

async function defaultResolve(host: string): Promise<string[]> {
  const all = await dns.lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

function defaultConnect(address: string, port: number): net.Socket {
  return net.connect({ host: address, port, allowHalfOpen: true, noDelay: true });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: "ETIMEDOUT" })), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/**
 * Judges a connection to host:port (`first`: the policy's verdict on the name) and, when every check
 * allows it, connects to the checked address. `client`: the connection this one serves, if any; when
 * it goes away, the attempt is abandoned.
 */
export async function judgeAndConnect(ctx: ConnectContext, protocol: EgressProtocol, host: string, port: number, first: Verdict, client?: Duplex): Promise<Outcome> {
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const d: Detail = { host, port, protocol };
  if (first.decision !== "allow") {
    // "ask" is refused too: nothing can approve a connection yet.
    refuseAudit(ctx, first, first.reason, d);
    return { ok: false, kind: "policy", reason: first.decision === "ask" ? `${first.reason}; approval is not available, so the connection is refused` : first.reason };
  }
  const name = canonicalHost(host);
  if (name === undefined) {
    // Unreachable when the policy allowed the host, but never connect to something unparsed.
    const reason = `${JSON.stringify(printable(host))} is not a valid host`;
    refuseAudit(ctx, undefined, reason, d);
    return { ok: false, kind: "policy", reason };
  }

  let addresses: string[];
  if (net.isIP(name) !== 0) {
    addresses = [name];
  } else {
    try {
      const got = await withTimeout((ctx.resolve ?? defaultResolve)(name), timeoutMs, `resolving ${name}`);
      addresses = Array.isArray(got) ? got.map((a) => String(a)) : [];
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      const reason = `${name} could not be resolved${code ? ` (${code})` : ""}`;
      refuseAudit(ctx, undefined, reason, d);
      return { ok: false, kind: code === "ETIMEDOUT" ? "timeout" : "resolve", reason };
    }
  }
  const checked = ctx.policy.decideAddresses(name, addresses);
  if (checked.decision !== "allow") {
    refuseAudit(ctx, checked, checked.reason, d);
    return { ok: false, kind: "policy", reason: checked.reason };
  }
  const address = addresses[0] as string;
  d.address = address;
  if (!safeAudit(ctx.audit, egressEntry(ctx, first, d))) return { ok: false, kind: "audit", reason: "the decision could not be audited" };
  if (client?.destroyed) return { ok: false, kind: "unreachable", reason: "the client went away" };

  let socket: net.Socket;
  try {
    socket = (ctx.connect ?? defaultConnect)(address, port, name);
  } catch (err) {
    return connectFailed(ctx, d, err as Error);
  }
  ctx.track?.add(socket);
  socket.once("close", () => ctx.track?.delete(socket));
  socket.on("error", () => {});
  const onClientGone = () => socket.destroy();
  client?.once("close", onClientGone);
  try {
    await connected(socket, timeoutMs);
  } catch (err) {
    socket.destroy();
    return connectFailed(ctx, d, err as Error);
  } finally {
    client?.off("close", onClientGone);
  }
  if (client?.destroyed) {
    socket.destroy();
    return { ok: false, kind: "unreachable", reason: "the client went away" };
  }
  return { ok: true, socket, address };
}

function connectFailed(ctx: ConnectContext, d: Detail, err: Error): Refusal {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = `connecting to ${d.address}:${d.port} failed${code ? ` (${code})` : ""}`;
  safeAudit(ctx.audit, egressEntry(ctx, { decision: "allow", reason }, d, { outcome: "error", error: err.message }));
  return { ok: false, kind: code === "ECONNREFUSED" ? "refused" : code === "ETIMEDOUT" ? "timeout" : "unreachable", reason };
}

/** Resolves when the socket is usable: connected, and for TLS, with the handshake and certificate check done. */
function connected(socket: net.Socket, timeoutMs: number): Promise<void> {
  const secure = socket instanceof tls.TLSSocket;
  const ready = secure ? "secureConnect" : "connect";
  if (!secure && !socket.connecting && !socket.destroyed && socket.readyState === "open") return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(Object.assign(new Error(`connecting took longer than ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
    }, timeoutMs);
    t.unref();
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error("the connection closed before it was established"));
    };
    const cleanup = () => {
      clearTimeout(t);
      socket.off(ready, onReady);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    socket.once(ready, onReady);
    socket.once("error", onError);
    socket.once("close", onClose);
  });
}
