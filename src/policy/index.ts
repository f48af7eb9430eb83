// The pure policy core: rule parsing, canonical names and the compiled policy. No I/O anywhere below.
export { compilePolicy, type CompiledPolicy } from "./engine.js";
export { parseRule, PolicyError, type ParsedRule } from "./rules.js";
export { canonicalToolName, parseCanonical, MCP_PREFIX, MAX_NAME_LENGTH } from "./names.js";
export { serverKind } from "./servers.js";
export { localPrincipal, principalSelectors, type Principal, type AuthMethod } from "./principal.js";
export {
  compilePrincipalPolicies,
  compilePrincipalRules,
  parseRate,
  type PrincipalPolicies,
  type PrincipalRateLimits,
  type PrincipalRules,
  type PrincipalRulesBySelector,
} from "./principals.js";
export type {
  ConfiguredServer,
  Decision,
  LayerName,
  PolicyInput,
  Source,
  Sourced,
  ToolRequest,
  Verdict,
} from "./types.js";
export { LAYER_ORDER } from "./types.js";
