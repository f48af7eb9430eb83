// `${VAR}` expansion in server entries, as MCP clients do it for `.mcp.json`.
// Only `command`, `args[]`, `env` values, `cwd`, `url` and `headers` values are expanded; names, rules,
// sandbox and guard settings never are, so a variable cannot change what the policy says.
// A leading `~/` is NOT expanded either: the MCP client does not do it, and a path that meant one thing
// in `.mcp.json` must mean the same thing here.
import { SettingsError, joinPath } from "./errors.js";
import type { ServerEntry } from "./schema.js";

export interface ExpandWhere {
  file: string;
  /** JSON path of the string being expanded, for error messages. */
  path: string;
  /** Called with each variable's value as it is substituted (to collect secrets). */
  onValue?: (name: string, value: string) => void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (default used when VAR is unset or empty, as in the shell; it
 * may be empty and is taken literally). `$$` is a literal `$`. A bare `$NAME` is an error rather than
 * literal text, because it is almost always a shell habit that would silently pass "$NAME" on.
 * Substituted values are not expanded again.
 */
export function expandString(text: string, env: NodeJS.ProcessEnv, where: ExpandWhere): string {
  let out = "";
  let i = 0;
  const fail = (what: string) => new SettingsError(where.file, where.path, what);
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
    } else if (next === "{") {
      const close = text.indexOf("}", dollar + 2);
      if (close < 0) throw fail(`unclosed '\${' in ${JSON.stringify(text)} (write '$$' for a literal '$')`);
      const body = text.slice(dollar + 2, close);
      const sep = body.indexOf(":-");
      const name = sep < 0 ? body : body.slice(0, sep);
      if (!NAME.test(name)) throw fail(`invalid variable name ${JSON.stringify(name)} in '\${${body}}'`);
      const fallback = sep < 0 ? undefined : body.slice(sep + 2);
      if (fallback !== undefined && fallback.includes("${"))
        throw fail(`'\${${body}}': a default cannot contain another '\${...}'`);
      const value = env[name];
      if (fallback !== undefined) out += value === undefined || value === "" ? fallback : value;
      else if (value === undefined)
        throw fail(`variable ${name} is not set (write '\${${name}:-}' if an empty value is acceptable)`);
      else out += value;
      if (value !== undefined && value !== "") where.onValue?.(name, value);
      i = close + 1;
    } else if (next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z0-9_]*/.exec(text.slice(dollar + 1))![0];
      throw fail(`'$${name}' is not expanded: write '\${${name}}' to use the variable, or '$$${name}' for the literal text`);
    } else {
      // A lone `$` (end of string, `$1`, `$(`...) is plain text.
      out += "$";
      i = dollar + 1;
    }
  }
  return out;
}

/**
 * Returns a copy of a validated server entry with its expandable fields expanded; `path` is the entry's
 * JSON path (`mcpServers.github`). The result is checked again where expansion could break what the
 * schema checked: a command must not become empty and a url must still be http(s).
 */
/** Variable names that hold credentials even when they are passed as command-line arguments. */
const SECRET_NAME = /TOKEN|SECRET|PASSW|KEY|AUTH|CRED|COOKIE|SESSION/i;

export function expandServerEntry(entry: ServerEntry, env: NodeJS.ProcessEnv, file: string, path: string, secrets?: Set<string>): ServerEntry {
  // Values substituted into env, headers and url are secrets; into args only when the name says so
  // (args are mostly paths, and redacting every path would blind the audit log).
  const secret = (name: string, value: string) => void secrets?.add(value);
  const secretByName = (name: string, value: string) => void (SECRET_NAME.test(name) && secrets?.add(value));
  const at = (...keys: (string | number)[]) => ({ file, path: keys.reduce<string>((p, k) => joinPath(p, k), path), onValue: keys[0] === "args" || keys[0] === "command" || keys[0] === "cwd" ? secretByName : secret });
  const out: ServerEntry = { ...entry };
  if (entry.command !== undefined) {
    out.command = expandString(entry.command, env, at("command"));
    if (out.command === "") throw new SettingsError(file, at("command").path, "'command' is empty after ${VAR} expansion");
  }
  if (entry.args) out.args = entry.args.map((a, i) => expandString(a, env, at("args", i)));
  if (entry.env) out.env = expandRecord(entry.env, env, (k) => at("env", k));
  if (entry.cwd !== undefined) out.cwd = expandString(entry.cwd, env, at("cwd"));
  if (entry.url !== undefined) {
    const url = expandString(entry.url, env, at("url"));
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url))
      // Name the template, not the expanded value: the value may carry a secret.
      throw new SettingsError(file, at("url").path, `${JSON.stringify(entry.url)} does not expand to an http:// or https:// URL`);
    out.url = url;
  }
  if (entry.headers) out.headers = expandRecord(entry.headers, env, (k) => at("headers", k));
  return out;
}

function expandRecord(
  record: Record<string, string>,
  env: NodeJS.ProcessEnv,
  at: (key: string) => ExpandWhere,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) out[k] = expandString(v, env, at(k));
  return out;
}

/**
 * The host variables each expandable field of an entry is filled from (`env.X` → [AWS_SECRET]), by
 * field path, for the launch identity a person approves: a repository's server that asks for your
 * `${AWS_SECRET_ACCESS_KEY}` says so before it runs. Names only, never values; `$$` is no reference.
 */
export function referencedVariables(entry: ServerEntry): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const scan = (field: string, text: string | undefined) => {
    if (text === undefined) return;
    const names: string[] = [];
    for (const m of text.replace(/\$\$/g, "").matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) if (!names.includes(m[1]!)) names.push(m[1]!);
    if (names.length) out[field] = names.sort();
  };
  scan("command", entry.command);
  entry.args?.forEach((a, i) => scan(`args[${i}]`, a));
  for (const [k, v] of Object.entries(entry.env ?? {})) scan(`env.${k}`, v);
  scan("cwd", entry.cwd);
  scan("url", entry.url);
  for (const [k, v] of Object.entries(entry.headers ?? {})) scan(`headers.${k.toLowerCase()}`, v);
  return out;
}
