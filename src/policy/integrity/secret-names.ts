// Whether a property or variable name announces a secret ("db_password", "apiKey", "X-Api-Key", not
// "max_tokens" or "pageToken"). One definition for the secret scanner (which judges `name = value`
// assignments and object keys) and for settings (which pick the env entries whose values are secrets).
const EXCLUDED_NAME_WORDS = new Set([
  "count", "type", "types", "name", "names", "length", "len", "size", "limit", "limits", "max", "min", "hint", "policy",
  "url", "uri", "endpoint", "file", "path", "dir", "field", "label", "format", "usage", "budget", "estimate", "page",
  "next", "prev", "previous", "cursor", "continuation", "sync", "resume", "idempotency", "expiry", "expires",
  "expiration", "expire", "expired", "at", "created", "updated", "timestamp", "date", "time", "ttl", "id", "ids",
  "required", "enabled", "strength", "rule", "rules", "regex", "pattern", "prompt", "placeholder", "env", "var",
]);
const SECRET_NAME_WORDS = new Set([
  "password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "secrets", "token", "apikey", "credential",
  "credentials", "creds", "auth", "authorization", "bearer", "privatekey", "secretkey", "accesskey", "signingkey",
]);
const KEY_QUALIFIERS = new Set(["api", "access", "private", "secret", "signing", "encryption", "master", "client", "account", "app", "auth"]);

const secretNameCache = new Map<string, boolean>();

/** Whether a property or variable name announces a secret: "db_password", "apiKey", "X-Api-Key", not "max_tokens" or "pageToken". */
export function isSecretName(name: string): boolean {
  let known = secretNameCache.get(name);
  if (known === undefined) {
    known = nameAnnouncesSecret(name);
    // Names repeat (the same keys in every call); a bound keeps hostile input from growing the cache.
    if (secretNameCache.size >= 4096) secretNameCache.clear();
    secretNameCache.set(name, known);
  }
  return known;
}

function nameAnnouncesSecret(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (words.length === 0 || words.length > 8) return false;
  if (words.some((w) => EXCLUDED_NAME_WORDS.has(w))) return false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (SECRET_NAME_WORDS.has(w)) return true;
    if ((w === "key" || w === "secret") && i > 0 && KEY_QUALIFIERS.has(words[i - 1]!)) return true;
  }
  return false;
}

