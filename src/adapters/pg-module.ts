// The PostgreSQL client library (pg), loaded when first used: most gateways never talk to PostgreSQL,
// and loading it is tens of milliseconds of every start. pg is CommonJS, so it is required synchronously
// (constructors that open pools stay synchronous); in the gateway's bundle it stays an outside package.
import { createRequire } from "node:module";
import type pg from "pg";

let loaded: typeof pg | undefined;

/** The pg module (required on the first call). */
export function pgModule(): typeof pg {
  loaded ??= createRequire(import.meta.url)("pg") as typeof pg;
  return loaded;
}
