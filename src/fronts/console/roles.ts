// Console roles. A person signed in to the console gets the highest role whose selectors
// (remote.console.roles: `group:secops`, `user:<sub>`, `org:<id>`, `*` for anyone who signs in)
// match the principal their ID token names, with the same claim mapping as access tokens
// (remote.auth.groupsClaim, orgClaim). Roles nest: admin > approver > viewer. Principals listed in
// remote.auth.approvers are approvers here too: they already answer questions through
// /v1/approvals, and the console is one more way to do it. Pure: no I/O.
import { isApprover } from "../http/approvals-endpoint.js";
import { type Principal, principalSelectors } from "../../policy/principal.js";

export type ConsoleRole = "admin" | "approver" | "viewer";

export interface ConsoleRoles {
  admin?: readonly string[];
  approver?: readonly string[];
  viewer?: readonly string[];
}

/** What a role may do; every route checks it on the server. */
export type ConsoleAction = "read" | "answer" | "administer";

const RANK: Record<ConsoleRole, number> = { viewer: 1, approver: 2, admin: 3 };
const NEEDS: Record<ConsoleAction, ConsoleRole> = { read: "viewer", answer: "approver", administer: "admin" };

/** The highest role `p` holds, or undefined for none (the console then answers 403). */
export function consoleRole(p: Principal, roles: ConsoleRoles, approvers: readonly string[]): ConsoleRole | undefined {
  const mine = new Set(principalSelectors(p));
  const holds = (list: readonly string[] | undefined) => (list ?? []).some((s) => mine.has(s));
  if (holds(roles.admin)) return "admin";
  if (holds(roles.approver) || isApprover(p, approvers)) return "approver";
  if (holds(roles.viewer)) return "viewer";
  return undefined;
}

export function may(role: ConsoleRole | undefined, action: ConsoleAction): boolean {
  return role !== undefined && RANK[role] >= RANK[NEEDS[action]];
}

/** Who grants roles, for the 403 page: the selectors an operator would add the person to. */
export function roleHint(roles: ConsoleRoles): string {
  const listed = [...new Set([...(roles.viewer ?? []), ...(roles.approver ?? []), ...(roles.admin ?? [])])];
  return listed.length > 0 ? listed.join(", ") : "none configured";
}
