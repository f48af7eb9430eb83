// A real OpenID provider for tests: starts test/fixtures/oidc-issuer.mjs (oidc-provider under the
// pinned Node 22 of scripts/test-tools.ts) on 127.0.0.1 and fetches JWT access tokens from it with
// the client credentials grant. Clients: client-a, client-b, client-other-org, client-odd-claims,
// client-short (see the fixture for their claims).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { findNode22, findOidcProvider } from "../../scripts/test-tools.js";
import { ROOT } from "./harness.js";

export const OIDC_FIXTURE = join(ROOT, "test/fixtures/oidc-issuer.mjs");

/** Why the provider cannot run here (the Node 22 tools are not installed), or undefined when it can. */
export function oidcUnavailable(): string | undefined {
  const node = findNode22();
  if (!node.ok) return node.why;
  const provider = findOidcProvider();
  return provider.ok ? undefined : provider.why;
}

export interface OidcIssuer {
  /** The issuer URL, http://127.0.0.1:<port>. */
  issuer: string;
  /** A fresh access token for `client` (secret `<client>-secret`), with aud = `resource`. Throws when the provider refuses. */
  token(client: string, resource: string, scope?: string): Promise<string>;
  /** Stops the provider and waits for it to exit. */
  stop(): Promise<void>;
  /** The provider's stderr so far (for failure messages). */
  stderr(): string;
}

/**
 * Starts a provider (port 0: any free one). Each start generates its own signing key: two starts are
 * two issuers. `exchangeSubjectAudience`: the audience a subject token must carry for the
 * `mcp-warden-gateway` client's token exchange (the gateway's resource); without it no exchange works.
 * `consoleRedirectUri`: the console's redirect URI (or several); with it the public client `mcp-warden-console`
 * signs people in (authorization code + PKCE, the fixture's development login form, its ACCOUNTS).
 */
export async function startOidcIssuer(port = 0, opts: { exchangeSubjectAudience?: string; consoleRedirectUri?: string | string[] } = {}): Promise<OidcIssuer> {
  const node = findNode22();
  const provider = findOidcProvider();
  if (!node.ok) throw new Error(node.why);
  if (!provider.ok) throw new Error(provider.why);
  const child: ChildProcess = spawn(node.binary, [OIDC_FIXTURE, provider.binary, String(port)], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH, NODE_ENV: "test", ...(opts.exchangeSubjectAudience ? { EXCHANGE_SUBJECT_AUDIENCE: opts.exchangeSubjectAudience } : {}), ...(opts.consoleRedirectUri ? { CONSOLE_REDIRECT_URI: [opts.consoleRedirectUri].flat().join(",") } : {}) } });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err = (err + d).slice(-20_000)));
  const exited = once(child, "exit");
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the OpenID provider did not start within 20 s: ${err}`)), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { issuer: string }).issuer);
      } catch {
        reject(new Error(`the OpenID provider printed ${line}: ${err}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the OpenID provider exited (${code}) before it was ready: ${err}`));
    });
  });
  let issuer: string;
  try {
    issuer = await ready;
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    issuer,
    stderr: () => err,
    async token(client, resource, scope) {
      const body = new URLSearchParams({ grant_type: "client_credentials", resource });
      if (scope !== undefined) body.set("scope", scope);
      const res = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: { authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString("base64")}`, "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || typeof json.access_token !== "string") throw new Error(`the OpenID provider refused a token for ${client}: ${res.status} ${json.error ?? ""} ${json.error_description ?? ""}`);
      return json.access_token;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
