// Requests a server sends to the client (sampling, elicitation, roots) are policy, like tool calls:
// each kind is allowed, allowed only while one of that server's calls is open (`duringCalls`),
// asked of a person, or denied, per server (settings `clientRequests`; defaults in
// settings/resolve.ts: sampling ask, elicitation duringCalls, roots allow). A server must not reach
// the user's model, or put a form in front of the user ("enter your GitHub token"), just because it
// is running. The request and the client's answer are audited, and the answer is scanned for
// secrets like a call's arguments: what a person types into a form is leaving towards the server.
import type { AuditSink } from "../audit/index.js";
import type { ApprovalBroker } from "../approvals/broker.js";
import type { SecretFinding, SecretScanner } from "../policy/integrity/secrets.js";
import type { ConfiguredServer } from "../policy/types.js";
import { clientRequestsFor, type ClientRequestConfig, type ResolvedSettings } from "../settings/resolve.js";
import { ErrorCodes, GatewayError } from "./errors.js";
import type { InputMethod } from "./input-broker.js";

export interface ClientRequestServices {
  settings: Pick<ResolvedSettings, "clientRequests" | "secretScanning" | "servers">;
  audit: AuditSink;
  broker: ApprovalBroker;
  scanner: SecretScanner;
  /** Digest of the rules in force now. */
  policyVersion(): string;
  identityOf(server: string): string;
  /** Whether one of this server's calls is open right now (the request can ride on it). */
  /** `instance`: the upstream instance's key (remote mode); default the server's name. */
  inCall(server: string, instance?: string): boolean;
  /** Tells the person a question waits (stderr, the client's log), with where to answer. */
  announce(text: string, questionId: string): void;
  /** Whether a person can be asked at all (the approval page, which `mcp-warden approvals` also uses, is on). */
  canAsk(): boolean;
  /** Sends the request on to the client: within the open call, else as a request of its own. */
  send(server: string, method: InputMethod, params: Record<string, unknown>, signal: AbortSignal, instance?: string): Promise<Record<string, unknown>>;
}

const KIND: Record<InputMethod, keyof ClientRequestConfig> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

export class ClientRequestGate {
  private readonly configured: Map<string, ConfiguredServer>;

  constructor(private readonly s: ClientRequestServices) {
    this.configured = new Map(s.settings.servers.map((x) => [x.name, x]));
  }

  /** Judges, (maybe) asks, forwards, scans and audits one request of `server` to the client. */
  async handle(server: string, method: InputMethod, params: Record<string, unknown>, signal: AbortSignal, instance?: string): Promise<Record<string, unknown>> {
    const kind = KIND[method];
    const configured = this.configured.get(server);
    // A server the settings do not know cannot be judged: refused (fail closed).
    const action = configured ? clientRequestsFor(configured, this.s.settings)[kind] : "deny";
    const inCall = this.s.inCall(server, instance);
    const shownParams = method === "roots/list" ? undefined : params;
    let refusal: string | undefined;
    if (action === "deny") refusal = `settings deny ${kind} requests of server '${server}' (clientRequests.${kind})`;
    else if (action === "duringCalls" && !inCall)
      refusal = `server '${server}' sent a ${kind} request while none of its calls was open; clientRequests.${kind} is "duringCalls"`;
    // Awaited: with PostgreSQL the request reaches the client only once its record is committed.
    await this.s.audit.appendDurable({
      kind: "request",
      event: "to-client",
      server,
      method,
      arguments: shownParams,
      decision: refusal ? "deny" : action === "ask" ? "ask" : "allow",
      reason: refusal ?? (action === "ask" ? `clientRequests.${kind} is "ask"` : `clientRequests.${kind} is "${action}"`),
      detail: { inCall },
    });
    if (refusal) throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${refusal}. Change clientRequests.${kind} in the settings to allow it.`);
    if (action === "ask") await this.ask(server, method, kind, params, signal);

    let answer: Record<string, unknown>;
    try {
      answer = await this.s.send(server, method, params, signal, instance);
    } catch (e) {
      this.s.audit.append({ kind: "request", event: "from-client", server, method, outcome: "error", error: (e as Error).message });
      throw e;
    }
    return this.checkAnswer(server, method, answer);
  }

  /** A person decides first (approval page, `mcp-warden approvals`); no answer in time is a deny. */
  private async ask(server: string, method: InputMethod, kind: keyof ClientRequestConfig, params: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    const reason = `server '${server}' asks to send a ${kind} request to your client (${method})`;
    if (!this.s.canAsk()) {
      this.s.audit.append({ kind: "approval", event: "answered", server, method, decision: "deny", reason, detail: { answer: "deny", by: "unreachable", subject: "client-request" } });
      throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${reason}, and no person can be asked (approvals.page is off); set clientRequests.${kind} to "allow" or "duringCalls" to let it through`);
    }
    const { id, result } = this.s.broker.open(
      {
        kind: "client-request",
        server,
        serverIdentity: this.s.identityOf(server),
        method,
        ...(method === "roots/list" ? {} : { arguments: params }),
        reason,
        policyVersion: this.s.policyVersion(),
        answers: ["allow-once", "deny"],
      },
      signal,
    );
    this.s.audit.append({ kind: "approval", event: "asked", server, method, reason, detail: { approval: id, subject: "client-request" } });
    this.s.announce(`${reason} (question ${id}): \`mcp-warden approvals approve ${id}\` to let it through, \`mcp-warden approvals deny ${id}\` to refuse`, id);
    const r = await result;
    this.s.audit.append({ kind: "approval", event: "answered", server, method, decision: r.answer === "deny" ? "deny" : "allow", detail: { approval: id, answer: r.answer, by: r.by, subject: "client-request" } });
    if (r.answer === "deny")
      throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: a person did not approve server '${server}''s ${kind} request (${r.by === "timeout" ? "no answer in time" : r.by === "cancelled" ? "the request was withdrawn" : r.by === "unreachable" ? "nobody could be asked" : `declined on the ${r.by}`})`);
  }

  /** The client's answer is audited, and scanned for secrets before it goes back to the server. */
  private checkAnswer(server: string, method: InputMethod, answer: Record<string, unknown>): Record<string, unknown> {
    const mode = this.s.settings.secretScanning.arguments;
    let findings: SecretFinding[] = mode === "off" ? [] : this.s.scanner.scan(answer, "answer");
    let recorded: unknown = answer;
    let forwarded = answer;
    if (findings.length) {
      const redacted = this.s.scanner.redact(answer, "answer");
      findings = redacted.findings;
      recorded = redacted.value;
      if (mode === "redact") forwarded = redacted.value as Record<string, unknown>;
      this.s.audit.append({
        kind: "integrity",
        event: "secret-in-client-answer",
        server,
        method,
        decision: mode === "block" ? "deny" : "allow",
        detail: { action: mode, findings: findings.map((f) => ({ kind: f.kind, path: f.path })) },
      });
    }
    const blocked = findings.length > 0 && mode === "block";
    this.s.audit.append({ kind: "request", event: "from-client", server, method, arguments: recorded, outcome: blocked ? "denied" : "ok" });
    if (blocked) {
      const where = findings.slice(0, 5).map((f) => `${f.kind} at ${f.path}`).join(", ");
      throw new GatewayError(
        ErrorCodes.denied,
        `Denied by mcp-warden: the client's answer contains a secret (${where}); it is not passed to server '${server}'. Set secretScanning.arguments to "redact" to pass such answers with the secret removed.`,
      );
    }
    return forwarded;
  }
}
