// The PinStore contract (pin-store-contract.ts) against both stores: the file store on a temp
// directory, and the PostgreSQL store on the machine's real PostgreSQL (a private schema per test,
// reached as a gateway role that holds only the grants `state init-postgres --role` gives).
import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { filePinStore, type PinStore } from "../../src/adapters/pin-store.js";
import { postgresPinStore } from "../../src/adapters/pin-store-postgres.js";
import { initStateSchema } from "../../src/state/postgres-schema.js";
import { pgScratch, postgresUnavailable, type PgScratch } from "../e2e/postgres-harness.js";
import { pinStoreContract } from "./pin-store-contract.js";

const dirs: string[] = [];
const scratches: PgScratch[] = [];
const stores: PinStore[] = [];
after(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const db of scratches.splice(0)) await db.drop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

pinStoreContract("file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-pins-contract-"));
  dirs.push(dir);
  return { open: () => filePinStore(join(dir, "pins.json")) };
});

pinStoreContract(
  "PostgreSQL",
  async () => {
    const db = await pgScratch();
    scratches.push(db);
    const role = await db.createRole();
    const owner = new pg.Client({ connectionString: db.adminUrl });
    await owner.connect();
    await initStateSchema(owner, role).finally(() => owner.end());
    return {
      open: () => {
        const store = postgresPinStore(db.urlFor(role));
        stores.push(store);
        return store;
      },
    };
  },
  { skip: await postgresUnavailable() },
);
