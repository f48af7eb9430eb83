// The value of every setting that no layer sets. One place, because two parts need them: the merge
// (resolve.ts) and the trust rules (narrow.ts), which judge an untrusted value against what the
// trusted layers, or these defaults, would give.

export const GATEWAY_DEFAULTS = {
  separator: "__",
  prefix: true,
  startup: "eager",
  callTimeoutMs: 60_000,
  maxMessageBytes: 8 * 1024 * 1024,
  restart: { maxRestarts: 5, initialDelayMs: 250, maxDelayMs: 30_000 },
  pageSize: 1000,
} as const;

export const AUDIT_DEFAULTS = { fsyncIntervalMs: 100 } as const;

export const APPROVAL_DEFAULTS = { timeoutMs: 120_000, client: true, page: true, holdMs: 45_000, retryWindowMs: 600_000 } as const;

/** Defaults a security team can accept: a server may not use the user's model unasked, may ask the user only while the user waits on one of its calls. */
export const CLIENT_REQUEST_DEFAULTS = { sampling: "ask", elicitation: "duringCalls", roots: "allow" } as const;

export const INTEGRITY_DEFAULTS = {
  pins: true,
  scanDefinitions: true,
  maxResultBytes: 1024 * 1024,
  stripControlCharacters: false,
  keepLogControlCharacters: false,
} as const;

export const SECRET_SCANNING_DEFAULTS = { arguments: "block", results: "redact", formats: true } as const;
