// RFC 6750 `WWW-Authenticate: Bearer ...` challenges. Every parameter is a quoted-string whose
// characters stay inside RFC 6750's error_description grammar (printable ASCII but `"` and `\`),
// so nothing a token or claim contains can break out of the header.

/** Printable ASCII without `"` and `\`; anything else becomes a space or a look-alike. */
export function headerSafe(text: string): string {
  return text.replaceAll('"', "'").replaceAll("\\", "/").replaceAll(/[^\x20-\x7e]/g, " ");
}

export interface ChallengeParams {
  error?: string;
  description?: string;
  /** Space-joined into `scope="..."`. */
  scopes?: readonly string[];
  resourceMetadata?: string;
}

/** `Bearer error="...", error_description="...", scope="...", resource_metadata="..."`, each part only when given. */
export function bearerChallenge(p: ChallengeParams): string {
  const parts: string[] = [];
  if (p.error !== undefined) parts.push(`error="${headerSafe(p.error)}"`);
  if (p.description !== undefined) parts.push(`error_description="${headerSafe(p.description)}"`);
  if (p.scopes !== undefined && p.scopes.length > 0) parts.push(`scope="${headerSafe(p.scopes.join(" "))}"`);
  if (p.resourceMetadata !== undefined) parts.push(`resource_metadata="${headerSafe(p.resourceMetadata)}"`);
  return parts.length ? `Bearer ${parts.join(", ")}` : "Bearer";
}
