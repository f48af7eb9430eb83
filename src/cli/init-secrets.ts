// Literal secrets in a server entry that `init` moves into the project layer, which is meant for
// version control. Pure: no I/O.
//
// `splitSecrets` returns the entry with each literal secret replaced by a `${VAR}` reference (the
// "shared" entry, for `.mcp-warden/settings.json`) and says what it replaced. `init` writes the entry
// as given to `.mcp-warden/settings.local.json` (kept out of git): a server defined in several layers
// is taken whole from the highest (settings/resolve.ts), so on this machine the local entry, literal
// values included, is the one that runs, and the project file names only the variables others set.
//
// What counts as a literal secret (erring toward moving too much, which costs a variable, never a leak):
//   - env and header values whose name announces a credential (GITHUB_TOKEN, Authorization, X-Api-Key);
//   - arguments after or inside a credential flag (`--token X`, `--api-key=X`);
//   - a URL's password and its credential-named query values (`?key=...`);
//   - anything the secret scanner recognizes by format (ghp_..., sk-..., JWTs, Bearer ..., PEM keys).
// A value made only of `${VAR}` references (and an auth scheme word) holds no literal.
import { compileSecretScanner, isSecretName, type SecretScanner } from "../policy/integrity/secrets.js";

type Json = Record<string, unknown>;

export interface MovedSecret {
  /** Where in the entry, for messages: `env.GITHUB_TOKEN`, `headers.Authorization`, `args[3]`, `url password`, `url query 'key'`. */
  field: string;
  /** The variable the shared entry reads in its place. */
  variable: string;
}

export interface SecretSplit {
  /** The entry with every literal secret replaced by a `${VAR}` reference; a copy of the input when nothing was moved. */
  shared: Json;
  moved: MovedSecret[];
}

/** Names that announce a credential: the scanner's test, plus the broader one settings use for arguments, plus `*_KEY`/`*_PAT`. */
export function isCredentialName(name: string): boolean {
  return isSecretName(name) || /TOKEN|SECRET|PASSW|KEY|AUTH|CRED|COOKIE|SESSION/i.test(name) || /(?:^|[_-])pat$/i.test(name);
}

let scanner: SecretScanner | undefined;
/** Whether the secret scanner recognizes a credential format in the text. */
function hasFormatSecret(text: string): boolean {
  scanner ??= compileSecretScanner({ formats: true });
  return scanner.scan(text).length > 0;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * The literal text of a value: outside `${VAR}` references, plus defaults of 8 characters or more (a
 * shorter default such as `${TOKEN:-none}` is a placeholder). `$$` is a literal `$`, not a secret.
 */
function literalText(value: string): string {
  return value.replace(/\$\$/g, "").replace(REFERENCE, (_m, _name: string, fallback: string | undefined) => (fallback !== undefined && (fallback.length >= 8 || hasFormatSecret(fallback)) ? ` ${fallback} ` : " "));
}

/** Whether a credential-named value holds literal text worth moving (not empty, not a flag, not only references). */
function hasLiteral(value: string, schemeAllowed = false): boolean {
  const rest = literalText(value).trim();
  if (rest === "" || /^(?:true|false)$/i.test(rest)) return false;
  // `Bearer ${TOKEN}`: the scheme word alone is no secret.
  if (schemeAllowed && value.includes("${") && /^[A-Za-z][\w-]*$/.test(rest)) return false;
  return true;
}

/** A literal found by format in a value (whatever its name). */
function formatLiteral(value: string): boolean {
  return literalText(value).trim() !== "" && hasFormatSecret(value);
}

export function splitSecrets(server: string, entry: Json): SecretSplit {
  const shared = structuredClone(entry);
  const moved: MovedSecret[] = [];
  const used = new Set<string>();
  const variable = (...parts: string[]): string => {
    let base = parts.join("_").toUpperCase().replace(/[^A-Z0-9_]+/g, "_").replace(/_+/g, "_").replace(/^_+|_+$/g, "");
    if (!/^[A-Z_]/.test(base)) base = `MCP_${base}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    return name;
  };
  // The same literal in two places (an env var and a flag) becomes one variable.
  const byValue = new Map<string, string>();
  const move = (field: string, literal: string, name: () => string): string => {
    let v = byValue.get(literal);
    if (v === undefined) byValue.set(literal, (v = name()));
    moved.push({ field, variable: v });
    return "${" + v + "}";
  };

  if (isRecord(shared.env)) {
    for (const [key, value] of Object.entries(shared.env)) {
      if (typeof value !== "string") continue;
      if ((isCredentialName(key) && hasLiteral(value)) || formatLiteral(value))
        shared.env[key] = move(`env.${key}`, value, () => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && !used.has(key.toUpperCase()) ? variable(key) : variable(server, key)));
    }
  }
  if (isRecord(shared.headers)) {
    for (const [key, value] of Object.entries(shared.headers)) {
      if (typeof value !== "string") continue;
      if (!((isCredentialName(key) && hasLiteral(value, true)) || formatLiteral(value))) continue;
      // Keep the scheme readable: `Bearer ${REMOTE_AUTHORIZATION}`.
      const scheme = /^(\s*(?:Bearer|Basic|Token|Bot|Digest|ApiKey)\s+)\S/i.exec(value)?.[1];
      shared.headers[key] = (scheme ?? "") + move(`headers.${key}`, value.slice(scheme?.length ?? 0), () => variable(server, key));
    }
  }
  if (Array.isArray(shared.args)) {
    const args = shared.args as unknown[];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (typeof a !== "string") continue;
      const inline = /^(--?([A-Za-z][\w.-]*)=)(.*)$/s.exec(a);
      const previous = i > 0 && typeof args[i - 1] === "string" ? /^--?([A-Za-z][\w.-]*)$/.exec(args[i - 1] as string)?.[1] : undefined;
      if (inline && isCredentialName(inline[2]!) && hasLiteral(inline[3]!)) args[i] = inline[1] + move(`args[${i}]`, inline[3]!, () => variable(server, inline[2]!));
      else if (previous !== undefined && isCredentialName(previous) && !a.startsWith("-") && hasLiteral(a)) args[i] = move(`args[${i}]`, a, () => variable(server, previous));
      else if (formatLiteral(a)) args[i] = move(`args[${i}]`, a, () => variable(server, `arg${i}`));
    }
  }
  if (typeof shared.url === "string") shared.url = splitUrl(shared.url, server, variable, move);
  for (const field of ["command", "cwd"] as const) {
    const v = shared[field];
    if (typeof v === "string" && formatLiteral(v)) shared[field] = move(field, v, () => variable(server, field));
  }
  return { shared, moved };
}

/** A URL's password and credential-named query values become references; a format found elsewhere moves the whole URL. */
function splitUrl(url: string, server: string, variable: (...p: string[]) => string, move: (field: string, literal: string, name: () => string) => string): string {
  let out = url;
  const auth = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@]*)@/.exec(out);
  if (auth) {
    const userinfo = auth[2]!;
    const colon = userinfo.indexOf(":");
    if (colon >= 0 && hasLiteral(userinfo.slice(colon + 1)))
      out = auth[1] + userinfo.slice(0, colon + 1) + move("url password", userinfo.slice(colon + 1), () => variable(server, "password")) + "@" + out.slice(auth[0].length);
    else if (colon < 0 && formatLiteral(userinfo)) out = auth[1] + move("url user", userinfo, () => variable(server, "user")) + "@" + out.slice(auth[0].length);
  }
  const q = out.indexOf("?");
  if (q >= 0) {
    const hash = out.indexOf("#", q);
    const end = hash < 0 ? out.length : hash;
    const params = out.slice(q + 1, end).split("&").map((pair) => {
      const eq = pair.indexOf("=");
      if (eq < 0) return pair;
      const key = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if ((isCredentialName(key) && hasLiteral(value)) || formatLiteral(value)) return `${key}=${move(`url query '${key}'`, value, () => variable(server, key))}`;
      return pair;
    });
    out = out.slice(0, q + 1) + params.join("&") + out.slice(end);
  }
  if (formatLiteral(out)) return move("url", url, () => variable(server, "url"));
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
