// Server names become part of `mcp__<server>__<tool>`; a name must not be able to smuggle the
// separator. Plain code (no zod) so that resolving settings does not need the schema library.
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/;

/** Why a server name is not allowed, or undefined. The same rules as the schema's ServerName. */
export function serverNameProblem(name: string): string | undefined {
  if (name.length > 64) return "a server name has at most 64 characters";
  if (!SERVER_NAME_PATTERN.test(name))
    return "a server name is letters, digits, '-' and single '_', starting with a letter or digit, and never contains '__'";
  if (name.endsWith("_")) return "a server name must not end with '_'";
  return undefined;
}
