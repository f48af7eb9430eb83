// The hook's Bash sandbox settings, merged across layers: the top-level `sandbox`'s `enabled`,
// `autoAllowBashIfSandboxed`, `excludedCommands`, `failIfUnavailable` (Claude Code's names) and
// `toolPermissions.Bash.networkPolicy` (the first seed's). Pure.
//
// Directions (merge-rules.ts): turning the sandbox on and refusing to run without one only restrict,
// so a `true` from any layer counts; auto-allowing and exempting commands loosen, so only trusted
// layers set them; of networkPolicy, allowDomains comes from trusted layers only (narrow.ts drops an
// untrusted one's), denyDomains from every layer, and a `false` allowLocalhost anywhere wins.
import type { NetworkPolicySettings } from "../policy/egress/egress.js";
import type { Sourced } from "../policy/types.js";
import { isTrustedLayer } from "./narrow.js";
import type { SettingsLayer } from "./resolve.js";

export interface BashSandboxConfig {
  /** Whether the hook runs Bash commands sandboxed: `sandbox.enabled` or a Bash networkPolicy in some layer. */
  enabled: boolean;
  /** What turned it on, for messages. */
  enabledBy: string[];
  autoAllow: boolean;
  excludedCommands: Sourced<string>[];
  /** Default true: a security setting that cannot be honoured refuses, it does not silently run unsandboxed. */
  failIfUnavailable: boolean;
  /** From networkPolicy, in the egress policy's terms; undefined: the global sandbox's network settings. */
  network?: NetworkPolicySettings;
}

/**
 * `input`: the layers as read (highest precedence first), before trust took anything out, because the
 * top-level sandbox has merge rules of its own; `sanitized`: the same layers after trust (narrow.ts),
 * for toolPermissions. `rulesFrom`: whether a layer's permission entries count (allowManagedPermissionRulesOnly).
 */
export function resolveBashSandbox(input: SettingsLayer[], sanitized: SettingsLayer[], rulesFrom: (l: SettingsLayer) => boolean, warnings: string[]): BashSandboxConfig {
  const out: BashSandboxConfig = { enabled: false, enabledBy: [], autoAllow: false, excludedCommands: [], failIfUnavailable: true };
  const ignored = (l: SettingsLayer, field: string, value: unknown, why: string) =>
    warnings.push(`${l.layer} settings ${l.file}: sandbox.${field} ${JSON.stringify(value)} ignored: ${why}; run \`mcp-warden trust\` in the project to trust this exact content`);
  let autoAllowSet = false;
  let trustedFalse = false;
  for (const l of input) {
    const s = l.settings.sandbox;
    if (s === undefined) continue;
    const trusted = isTrustedLayer(l);
    if (s.enabled === true) {
      out.enabled = true;
      out.enabledBy.push(`sandbox.enabled in ${l.file}`);
    } else if (s.enabled === false && !trusted) ignored(l, "enabled", false, `untrusted ${l.layer} settings may only turn the Bash sandbox on`);
    if (s.failIfUnavailable === false) {
      if (trusted) trustedFalse = true;
      else ignored(l, "failIfUnavailable", false, `untrusted ${l.layer} settings may only make a missing sandbox refuse`);
    }
    if (s.autoAllowBashIfSandboxed !== undefined) {
      if (!trusted) ignored(l, "autoAllowBashIfSandboxed", s.autoAllowBashIfSandboxed, `untrusted ${l.layer} settings may only tighten the policy`);
      else if (!autoAllowSet) {
        out.autoAllow = s.autoAllowBashIfSandboxed;
        autoAllowSet = true;
      }
    }
    if (s.excludedCommands !== undefined) {
      if (!trusted) ignored(l, "excludedCommands", s.excludedCommands, `untrusted ${l.layer} settings may only tighten the policy`);
      else s.excludedCommands.forEach((value, i) => out.excludedCommands.push({ value, source: { layer: l.layer, file: l.file, path: `sandbox.excludedCommands[${i}]` } }));
    }
  }
  // A `true` anywhere wins (it only restricts), whatever a higher layer's `false` says.
  out.failIfUnavailable = !trustedFalse || input.some((l) => l.settings.sandbox?.failIfUnavailable === true);

  let allowDomains: string[] | undefined;
  const denyDomains: string[] = [];
  let allowLocalhost: boolean | undefined;
  let any = false;
  for (const l of sanitized) {
    const policy = l.settings.toolPermissions?.Bash?.networkPolicy;
    if (policy === undefined || !rulesFrom(l)) continue;
    any = true;
    out.enabledBy.push(`toolPermissions.Bash.networkPolicy in ${l.file}`);
    if (policy.allowDomains !== undefined) allowDomains = [...new Set([...(allowDomains ?? []), ...policy.allowDomains])];
    denyDomains.push(...(policy.denyDomains ?? []));
    if (policy.allowLocalhost === false) allowLocalhost = false;
    else if (policy.allowLocalhost === true && allowLocalhost === undefined) allowLocalhost = true;
  }
  if (any) {
    out.enabled = true;
    // `"*"` in the seed's denyDomains means "everything not allowed", which is the egress policy's
    // default; as an entry it would be refused (only a `*.` prefix is a wildcard there).
    const deny = [...new Set(denyDomains.filter((d) => d !== "*"))];
    out.network = { allowedDomains: allowDomains ?? [], deniedDomains: deny, allowLocalhost: allowLocalhost === true };
  }
  return out;
}
