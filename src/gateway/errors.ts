// JSON-RPC errors the gateway answers with. Codes -32001..-32004 are mcp-warden's own.

export const ErrorCodes = {
  denied: -32001,
  needsApproval: -32002,
  unavailable: -32003,
  timeout: -32004,
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
