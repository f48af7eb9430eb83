// One connection of a client to the gateway: the stdio client, or one remote session (2025 era) or
// request (2026-07-28) on the HTTP front. The core (gateway.ts) serves every downstream with the same
// upstreams, policy, integrity review and audit log; a downstream holds only what is its own: who is
// calling, and the SDK server instance speaking the protocol to it.
import { createHash } from "node:crypto";
import type { Server } from "@modelcontextprotocol/server";
import { auditedPrincipal, type Principal } from "../policy/principal.js";

export interface Downstream {
  /** Updated with each request of a session (refreshPrincipal): a token's new groups count at once. */
  principal: Principal;
  /**
   * Binds what belongs to this caller (input rounds, held calls): a caller can never resume or answer
   * for another principal's call. The same for every session of one principal.
   */
  readonly owner: string;
  /** The SDK server instance speaking to this client (replaced when serveStdio builds a new one). */
  server: Server | undefined;
  /**
   * True on the HTTP front. Remote downstreams get no messages outside their own requests but for
   * list changes: an upstream's log lines and out-of-call requests could belong to anybody.
   */
  readonly remote: boolean;
  /** What the audit log records of this caller: principal, session hash, address. */
  audited: NonNullable<import("../audit/record.js").AuditEntry["principal"]>;
}

/**
 * A session's later request came with a newer token of the same principal (same owner): its claims
 * (groups, scopes, organization) are the ones that count from now on, so a group removed at the
 * identity provider stops granting its rules with the next token, not at the end of the session.
 */
export function refreshPrincipal(d: Downstream, p: Principal, address: string): void {
  if (ownerOf(p) !== d.owner) throw new Error("a session's principal cannot change owner");
  d.principal = p;
  d.audited = { ...auditedPrincipal(p), ...(d.audited.session !== undefined ? { session: d.audited.session } : {}), address };
}

/** The owner key of a principal: issuer and method keep two issuers' "alice" apart. */
export function ownerOf(p: Principal): string {
  return `${p.method}|${p.issuer ?? ""}|${p.subject}`;
}

export function makeDownstream(principal: Principal, opts: { remote: boolean; sessionId?: string; address?: string }): Downstream {
  return {
    principal,
    owner: ownerOf(principal),
    server: undefined,
    remote: opts.remote,
    audited: {
      ...auditedPrincipal(principal),
      // The session ID is a bearer credential: only a hash of it is ever recorded.
      ...(opts.sessionId !== undefined ? { session: sessionHash(opts.sessionId) } : {}),
      ...(opts.address !== undefined ? { address: opts.address } : {}),
    },
  };
}

/** A short, stable hash of a session ID for audit records (the ID itself is a credential). */
export function sessionHash(id: string): string {
  return "sha256:" + createHash("sha256").update(id).digest("hex").slice(0, 16);
}
