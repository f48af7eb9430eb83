// Which pin store the settings choose, in one place: the gateway and every CLI command that reads or
// changes approvals and pins (pins, servers, status, scan, init) call pinStoreFor, so they all see
// the same store. `state.postgres` set: PostgreSQL, shared by replicas (pin-store-postgres.ts);
// otherwise `<stateDir>/pins.json` on this machine.
import { join } from "node:path";
import { postgresUrlOf } from "../audit/postgres-url.js";
import type { ResolvedSettings } from "../settings/index.js";
import { stateDir } from "../settings/paths.js";
import { pinStoreOver, PinStoreError, type PinStore } from "./pin-store-core.js";
import { PINS_TABLE, postgresPinStore } from "./pin-store-postgres.js";
import { filePinStore } from "./pin-store.js";

export function pinFilePath(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), "pins.json");
}

/** The store for these settings. Close it when done (it may hold connections). */
export function pinStoreFor(settings: Pick<ResolvedSettings, "state">, env: NodeJS.ProcessEnv): PinStore {
  let url: string | undefined;
  try {
    url = postgresUrlOf(settings.state, env);
  } catch (e) {
    // A `${VAR}` that is not set: every use fails (closed) and says why, rather than falling back to the file.
    return failingPinStore(`the pins are in PostgreSQL (state.postgres), but ${(e as Error).message}`);
  }
  return url !== undefined ? postgresPinStore(url) : filePinStore(pinFilePath(env));
}

/** Where pinStoreFor's store keeps the pins, for messages (without opening it). */
export function pinStoreWhere(settings: Pick<ResolvedSettings, "state">, env: NodeJS.ProcessEnv): string {
  return settings.state.postgres !== undefined ? `PostgreSQL table ${PINS_TABLE} (state.postgres)` : pinFilePath(env);
}

/** Runs `fn` with the settings' store and closes it afterwards. */
export async function withPinStore<T>(settings: Pick<ResolvedSettings, "state">, env: NodeJS.ProcessEnv, fn: (store: PinStore) => Promise<T>): Promise<T> {
  const store = pinStoreFor(settings, env);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function failingPinStore(message: string): PinStore {
  const fail = () => Promise.reject(new PinStoreError("io", message));
  return pinStoreOver({ where: "PostgreSQL (state.postgres)", read: fail, readAll: fail, mutate: fail, close: async () => undefined });
}
