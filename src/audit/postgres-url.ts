// `state.postgres` as a connection URL: `${VAR}` expanded (the password stays out of settings files).
import { expandString } from "../settings/expand.js";

export function postgresUrlOf(state: { postgres?: string }, env: NodeJS.ProcessEnv): string | undefined {
  if (state.postgres === undefined) return undefined;
  return expandString(state.postgres, env, { file: "settings", path: "state.postgres" });
}
