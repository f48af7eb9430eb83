// Who is calling: every request carries a principal, and every stage and audit record sees it.
// On stdio it is the local OS user; in remote mode (`serve`) it comes from a verified token or key.
// Pure data: nothing here does I/O.

export type AuthMethod = "local" | "oidc" | "api-key";

export interface Principal {
  /** The token's `sub`, an API key's subject, or the local user's name. */
  readonly subject: string;
  /** The OAuth client the token was issued to (or the API key's name). */
  readonly clientId?: string;
  readonly groups: readonly string[];
  /** The organization claim (remote.auth.orgClaim). */
  readonly org?: string;
  readonly scopes: readonly string[];
  readonly method: AuthMethod;
  /** The token's issuer (oidc only). */
  readonly issuer?: string;
}

/** The principal of a local stdio client: the OS user running mcp-warden. */
export function localPrincipal(userName: string): Principal {
  return Object.freeze({ subject: userName, groups: Object.freeze([]), scopes: Object.freeze([]), method: "local" as const });
}

/** The selectors (`principals` keys) a principal matches, most general first: `*`, org, groups, client, user. */
export function principalSelectors(p: Principal): string[] {
  // The local user is no authenticated remote caller: `*` means "any authenticated caller".
  const out: string[] = p.method === "local" ? [] : ["*"];
  if (p.org !== undefined) out.push(`org:${p.org}`);
  for (const g of p.groups) out.push(`group:${g}`);
  if (p.clientId !== undefined) out.push(`client:${p.clientId}`);
  out.push(`user:${p.subject}`);
  return out;
}

/** What the audit log records of a principal (never a token). */
export function auditedPrincipal(p: Principal): { subject: string; clientId?: string; org?: string; method: AuthMethod } {
  return { subject: p.subject, ...(p.clientId !== undefined ? { clientId: p.clientId } : {}), ...(p.org !== undefined ? { org: p.org } : {}), method: p.method };
}
