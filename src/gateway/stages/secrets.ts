// secrets: what leaves through a call's arguments and what comes back in its result is scanned for
// configured secret values and common secret formats (src/policy/integrity/secrets.ts). Arguments:
// refuse the call (default) or forward it redacted; results: redact (default) or replace with an
// error. Whatever the setting, the audit log gets the redacted arguments: it records that a secret
// was seen and where, never the secret.
import type { AuditSink } from "../../audit/index.js";
import { compileSecretScanner, type SecretFinding, type SecretScanner } from "../../policy/integrity/secrets.js";
import type { SecretScanningConfig } from "../../settings/resolve.js";
import { ErrorCodes, GatewayError } from "../errors.js";
import type { RequestContext, Stage } from "../pipeline.js";

export function secretScannerFor(config: SecretScanningConfig): SecretScanner {
  return compileSecretScanner({ values: config.values, formats: config.formats });
}

const where = (findings: SecretFinding[]) =>
  findings
    .slice(0, 5)
    .map((f) => `${f.kind} at ${f.path}`)
    .join(", ") + (findings.length > 5 ? ` and ${findings.length - 5} more` : "");

/** Before the decision is audited: arguments (tools/call) or params (prompts/get). */
export function secretArgumentsStage(config: SecretScanningConfig, scanner: SecretScanner, audit: AuditSink): Stage {
  return {
    name: "secrets-arguments",
    run(ctx: RequestContext) {
      if (ctx.method !== "tools/call" && ctx.method !== "prompts/get") return;
      const params = ctx.upstreamParams ?? ctx.params;
      const args = params.arguments;
      if (args === undefined) return;
      // Scanning does not copy; the redacted copy is made only for the rare call that holds a secret.
      if (!scanner.scan(args, "arguments").length) return;
      const { value: redacted, findings } = scanner.redact(args, "arguments");
      // Recorded redacted whatever the setting: the audit log never holds the secret.
      ctx.auditArguments = redacted;
      audit.append({
        kind: "integrity",
        event: "secret-in-arguments",
        id: ctx.id,
        server: ctx.target?.upstream.name,
        tool: ctx.target?.canonical,
        decision: config.arguments === "block" ? "deny" : "allow",
        detail: { action: config.arguments, findings: findings.map((f) => ({ kind: f.kind, path: f.path })) },
      });
      if (config.arguments === "block") {
        const reason = `the arguments contain a secret (${where(findings)}); mcp-warden does not let secrets leave through tool calls`;
        ctx.verdict = { decision: "deny", reason };
        throw new GatewayError(ErrorCodes.denied, `Denied by mcp-warden: ${reason}. Set secretScanning.arguments to "redact" to forward such calls with the secret removed.`, {
          decision: "deny",
          reason,
        });
      }
      if (config.arguments === "redact") ctx.upstreamParams = { ...params, arguments: redacted };
    },
  };
}

/** After forwarding: the result, before the client sees it. */
export function secretResultsStage(config: SecretScanningConfig, scanner: SecretScanner, audit: AuditSink): Stage {
  return {
    name: "secrets-results",
    // A result ends the pipeline for ordinary stages; this one exists to look at it.
    always: true,
    run(ctx: RequestContext) {
      if (config.results === "off" || !ctx.result || ctx.error) return;
      if (!scanner.scan(ctx.result, "result").length) return;
      const { value: redacted, findings } = scanner.redact(ctx.result, "result");
      audit.append({
        kind: "integrity",
        event: "secret-in-result",
        id: ctx.id,
        server: ctx.target?.upstream.name,
        tool: ctx.target?.canonical,
        detail: { action: config.results, findings: findings.map((f) => ({ kind: f.kind, path: f.path })) },
      });
      if (config.results === "block") {
        ctx.result = undefined;
        throw new GatewayError(ErrorCodes.denied, `mcp-warden withheld the result: it contains a secret (${where(findings)}).`, { decision: "deny" });
      }
      ctx.result = redacted as Record<string, unknown>;
    },
  };
}
