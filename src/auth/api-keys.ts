// Static API keys for agents and CI: `mcpw_` and the base64url of 32 random bytes. Settings hold
// only "sha256:<hex>" of a key, so a leaked settings file does not leak keys; a presented key is
// hashed and looked up. (SHA-256 without salt is enough: the keys are 256 random bits, not passwords.)
import { createHash, randomBytes } from "node:crypto";
import type { ApiKeyEntry as Entry } from "./settings-types.js";

export const API_KEY_PREFIX = "mcpw_";
/** `mcpw_` + 43 base64url characters (32 bytes). */
const API_KEY_SHAPE = /^mcpw_[A-Za-z0-9_-]{43}$/;

/** A new key from the CSPRNG. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString("base64url");
}

/** What settings store for a key. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

/** Whether a bearer token is meant as an API key (it is then never tried as a JWT). */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

export type ApiKeyCheck =
  | { ok: true; name: string; entry: Entry }
  | { ok: false; reason: string; name?: string; entry?: Entry };

/** The configured keys, by hash. */
export class ApiKeyTable {
  private readonly byHash = new Map<string, { name: string; entry: Entry }>();

  constructor(keys: Readonly<Record<string, Entry>> | undefined) {
    for (const [name, entry] of Object.entries(keys ?? {})) this.byHash.set(entry.hash, { name, entry });
  }

  get size(): number {
    return this.byHash.size;
  }

  check(key: string, now: number): ApiKeyCheck {
    if (!API_KEY_SHAPE.test(key)) return { ok: false, reason: "the API key is malformed (a key is mcpw_ and 43 base64url characters, as `mcp-warden keys create` prints it)" };
    const found = this.byHash.get(hashApiKey(key));
    if (!found) return { ok: false, reason: "the API key is unknown or revoked" };
    if (found.entry.expires !== undefined) {
      const expires = Date.parse(found.entry.expires);
      // An expiry that does not parse is treated as past: fail closed.
      if (!(expires > now)) return { ok: false, reason: `the API key "${found.name}" expired on ${found.entry.expires}`, ...found };
    }
    return { ok: true, ...found };
  }
}
