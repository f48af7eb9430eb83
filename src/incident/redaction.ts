// Redaction for the incident report: what the audit log holds was redacted when it was written,
// but a log written with secret scanning off, or before a secret was configured, may still hold
// one. Everything the report takes from a record passes through here: the configured secrets
// (servers' env and header values) become [REDACTED], known token formats and configured values
// become [REDACTED:<kind>], and the kinds found are reported, never the text.
import { compileRedactor } from "../audit/redact.js";
import { compileSecretScanner } from "../policy/integrity/secrets.js";

export interface Redaction {
  text(s: string): string;
  /** A redacted copy of `v`, and the kinds of secrets that were found in it. */
  value(v: unknown): { value: unknown; kinds: string[] };
}

export interface RedactionInput {
  /** Every configured secret value (ResolvedSettings.secrets). */
  secrets: readonly string[];
  /** Named secret values (ResolvedSettings.secretScanning.values). */
  values: readonly { name: string; value: string }[];
}

export function compileRedaction(input: RedactionInput): Redaction {
  const redactor = compileRedactor(input.secrets);
  const scanner = compileSecretScanner({ values: [...input.values], formats: true });
  const value = (v: unknown) => {
    const first = redactor.active ? redactor.value(v) : v;
    if (first === undefined || first === null || typeof first === "boolean") return { value: first, kinds: [] };
    const { value: redacted, findings } = scanner.redact(first);
    return { value: redacted, kinds: [...new Set(findings.map((f) => f.kind))] };
  };
  return {
    text: (s) => {
      const v = value(s).value;
      return typeof v === "string" ? v : "[REDACTED]";
    },
    value,
  };
}
