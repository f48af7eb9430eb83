// Path-rule matching for the file tools (Read, Edit, Write). See rules.ts for the pattern semantics.
export { canonicalizeRequestPath } from "./canonical.js";
export type { CanonicalPath } from "./canonical.js";
export { allowMatches, compilePathRule, denyMatches, isCaseInsensitivePlatform, ruleCovers } from "./rules.js";
export type { CompiledPathRule, LinkPair, PathAnchor, PathRuleContext, PathRuleLayout, PathRuleOptions } from "./rules.js";
export { fsEnvironment, resolveContext, resolveLinks, resolveRequest } from "./links.js";
export { HOME_STARTUP_FILES, isProtectedPath, protectedReason, protectedShapes } from "./protected.js";
export { anySeg, bashGlobShapes, expandBraces, globMeetsShape, literalPrefix, litSeg, overlaps, pathSegs, ruleShapes } from "./shapes.js";
export type { Seg, Shape } from "./shapes.js";
export type { ProtectedPathContext } from "./protected.js";
