// JSON-RPC errors the gateway answers with. Codes -32050..-32054 are mcp-warden's own, chosen
// clear of the codes MCP and its SDKs reserve (-32000/-32001 SDK, -32002 resource not found,
// -32021/-32022 capability and version, -32042 URL elicitation).

export const ErrorCodes = {
  denied: -32050,
  needsApproval: -32051,
  unavailable: -32052,
  timeout: -32053,
  /** A rate limit refused the request; data carries retryAfterSeconds (the HTTP front's 429 Retry-After) and limit. */
  rateLimited: -32054,
  cancelled: -32800,
  invalidParams: -32602,
  methodNotFound: -32601,
  invalidRequest: -32600,
  parseError: -32700,
  internal: -32603,
} as const;

/** A JSON-RPC error for the client, with a code and a message a person can act on. */
export class GatewayError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError(ErrorCodes.internal, `internal error in mcp-warden: ${message}`);
}
