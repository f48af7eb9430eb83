// Resolving remote mode's settings: `principals` (per-caller rules, merged by selector) and `remote`.
// Pure: no I/O. The layers come sanitized by narrow.ts (what a project may not set is gone).
import type { Source, Sourced } from "../policy/types.js";
import type { PrincipalRules } from "../policy/principals.js";
import { joinPath } from "./errors.js";
import type { SettingsLayer } from "./resolve.js";
import type { RemoteSettings } from "./schema.js";

const src = (l: SettingsLayer, path: string): Source => ({ layer: l.layer, file: l.file, path });
const sourced = <T>(l: SettingsLayer, list: readonly T[] | undefined, base: string): Sourced<T>[] =>
  (list ?? []).map((value, i) => ({ value, source: src(l, `${base}[${i}]`) }));

/**
 * `principals`, merged by selector. With managed `allowManagedPermissionRulesOnly`, allows and
 * autoApproveTools of other layers are dropped as the base rules are; their asks and denies stay,
 * since they only restrict.
 */
export function resolvePrincipals(layers: SettingsLayer[], managedRulesOnly: boolean, warnings: string[]): Record<string, PrincipalRules> {
  // No prototype: a selector is data, never an inherited property.
  const out: Record<string, PrincipalRules> = Object.create(null);
  for (const l of layers) {
    for (const [selector, entry] of Object.entries(l.settings.principals ?? {})) {
      const at = joinPath("principals", selector);
      const e = (out[selector] ??= { allow: [], ask: [], deny: [], autoApprove: [], rateLimits: { perTool: Object.create(null) } });
      const p = entry.permissions;
      if (managedRulesOnly && l.layer !== "managed") {
        const dropped = (p?.allow?.length ?? 0) + (entry.autoApproveTools?.length ?? 0);
        if (dropped > 0)
          warnings.push(
            `${l.file}: ${dropped} entr${dropped === 1 ? "y" : "ies"} of ${at} (permissions.allow, autoApproveTools) ignored: managed settings set allowManagedPermissionRulesOnly`,
          );
      } else {
        e.allow.push(...sourced(l, p?.allow, `${at}.permissions.allow`));
        e.autoApprove.push(...sourced(l, entry.autoApproveTools, `${at}.autoApproveTools`));
      }
      e.ask.push(...sourced(l, p?.ask, `${at}.permissions.ask`));
      e.deny.push(...sourced(l, p?.deny, `${at}.permissions.deny`));
      const limits = entry.rateLimits;
      if (limits?.perPrincipal !== undefined && e.rateLimits.perPrincipal === undefined)
        e.rateLimits.perPrincipal = { value: limits.perPrincipal, source: src(l, `${at}.rateLimits.perPrincipal`) };
      for (const [tool, rate] of Object.entries(limits?.perTool ?? {}))
        if (!Object.hasOwn(e.rateLimits.perTool, tool)) e.rateLimits.perTool[tool] = { value: rate, source: src(l, joinPath(`${at}.rateLimits.perTool`, tool)) };
    }
  }
  return out;
}

/** `remote`, merged as ResolvedSettings.remote says. */
export function resolveRemote(layers: SettingsLayer[]): RemoteSettings {
  const all = layers.map((l) => l.settings.remote).filter((r): r is RemoteSettings => r !== undefined);
  /** Each field of these objects from the highest one that sets it. */
  const fields = <T extends object>(objs: (T | undefined)[], merge: { [K in keyof T]?: (values: NonNullable<T[K]>[]) => T[K] } = {}): T | undefined => {
    const present = objs.filter((o): o is T => o !== undefined);
    if (present.length === 0) return undefined;
    const out = {} as T;
    for (const key of new Set(present.flatMap((o) => Object.keys(o) as (keyof T)[]))) {
      const values = present.map((o) => o[key]).filter((v): v is NonNullable<T[keyof T]> => v !== undefined);
      if (values.length === 0) continue;
      const merged = merge[key] ? merge[key](values) : values[0];
      if (merged !== undefined) out[key] = merged;
    }
    return out;
  };
  type Auth = NonNullable<RemoteSettings["auth"]>;
  const remote = fields<RemoteSettings>(all, {
    auth: (v) =>
      fields<Auth>(v, {
        // By key name; the highest layer's entry whole (never one layer's hash with another's subject).
        apiKeys: (lists) => Object.assign(Object.create(null), ...[...lists].reverse()),
      }),
    sessions: (v) => fields(v),
    rateLimits: (v) => fields(v),
    metrics: (v) => fields(v),
    tracing: (v) => fields(v),
    // Each field from the highest layer that sets it; `roles` whole from one layer.
    console: (v) => fields(v),
  });
  // A copy: the resolved settings never alias a layer's objects.
  return remote === undefined ? {} : structuredClone(remote);
}
