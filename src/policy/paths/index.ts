// Path-rule matching for the file tools (Read, Edit, Write). See rules.ts for the pattern semantics.
export { canonicalizeRequestPath } from "./canonical.js";
export type { CanonicalPath } from "./canonical.js";
export { allowMatches, compilePathRule, denyMatches, isCaseInsensitivePlatform, ruleCovers } from "./rules.js";
export type { CompiledPathRule, LinkPair, PathAnchor, PathRuleContext, PathRuleOptions } from "./rules.js";
export { resolveContext, resolveLinks, resolveRequest } from "./links.js";
export { isProtectedPath, protectedReason } from "./protected.js";
export type { ProtectedPathContext } from "./protected.js";
