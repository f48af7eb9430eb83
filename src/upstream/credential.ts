// A per-request credential for a remote upstream: the value of the Authorization header of each HTTP
// request to it, asked for just before the request is sent (remote mode's token exchange: the
// calling user's token for the upstream). When it cannot be had, the request is not sent at all.
import { ErrorCodes, GatewayError } from "../gateway/errors.js";

/** Resolves to the whole Authorization header value (`Bearer ...`), or rejects with an UpstreamCredentialError. */
export type UpstreamCredential = (signal?: AbortSignal) => Promise<string>;

/** No credential for this request: nothing was sent. Not a crash of the server (no restart backoff). */
export class UpstreamCredentialError extends GatewayError {
  constructor(message: string) {
    super(ErrorCodes.unavailable, message);
  }
}

/** The credential error an SDK or transport error carries (directly or as a cause), if any. */
export function credentialErrorIn(error: unknown): UpstreamCredentialError | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e !== undefined && e !== null; depth++) {
    if (e instanceof UpstreamCredentialError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The credential of a token-exchange server's instance that serves no remote caller: always refused. */
export function noCallerCredential(server: string): UpstreamCredential {
  return () =>
    Promise.reject(
      new UpstreamCredentialError(
        `server '${server}' gets a token for each caller by token exchange (tokenExchange): it serves authenticated callers of \`mcp-warden serve\` only`,
      ),
    );
}
