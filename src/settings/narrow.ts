// Applying the merge rules (merge-rules.ts) to project and local layers before the layers merge:
// what an untrusted layer may not set is taken out, what it may only tighten is kept only when it
// does, and sandboxes are narrowed rather than replaced. Every value ignored or narrowed leaves a
// warning naming the layer, the file, the JSON path and how to lift it. Pure: the loader has already
// resolved what needs the file system (trust, real paths of directories).
import path from "node:path";
import type { LayerName } from "../policy/types.js";
import { joinPath } from "./errors.js";
import { atLeastAsStrict, hasRulesBelow, ruleFor, SANDBOX_FIELDS, sizeBytes, type MergeRule, type Tighten } from "./merge-rules.js";
import type { SettingsLayer } from "./resolve.js";
import type { ServerEntry, Settings } from "./schema.js";

type Sandbox = NonNullable<Settings["sandbox"]>;
type Json = Record<string, unknown>;

/** Project and local settings come from a directory the user may not have written. */
export const isRepositoryLayer = (l: Pick<SettingsLayer, "layer">) => l.layer === "project" || l.layer === "local";
/** Managed, command-line, user and request layers always; project and local ones only when trusted (absent: not). */
export const isTrustedLayer = (l: Pick<SettingsLayer, "layer" | "trusted">) => !isRepositoryLayer(l) || l.trusted === true;

export interface TrustOutcome {
  /** The layers with what they may not set taken out (copies; the input is not changed). */
  layers: SettingsLayer[];
  /** The global sandbox from the trusted layers (the highest that sets one). */
  trustedSandbox?: Sandbox;
  /** The global sandbox in effect: the trusted one narrowed by untrusted layers. */
  sandbox?: Sandbox;
  untrustedFiles: { layer: LayerName; file: string }[];
}

/** Layers highest precedence first, as resolveSettings takes them. */
export function applyTrust(input: SettingsLayer[], warnings: string[]): TrustOutcome {
  const untrustedFiles = input.filter((l) => !isTrustedLayer(l)).map((l) => ({ layer: l.layer, file: l.file }));
  const layers = input.map((l) => (isRepositoryLayer(l) ? { ...l, settings: sanitize(l, input, warnings) } : l));

  const trustedPick = input.find((l) => isTrustedLayer(l) && l.settings.sandbox !== undefined);
  const outcome: TrustOutcome = { layers, untrustedFiles };
  let sandbox = trustedPick?.settings.sandbox;
  if (sandbox !== undefined) outcome.trustedSandbox = sandbox;
  for (const l of input) {
    const own = l.settings.sandbox;
    if (isTrustedLayer(l) || own === undefined) continue;
    sandbox = narrowSandbox(sandbox, own, { layer: l, at: "sandbox", global: true }, warnings);
  }
  if (sandbox !== undefined) outcome.sandbox = sandbox;
  return outcome;
}

/** What a server defined by an untrusted layer keeps of its own sandbox, client-request actions and timeout. */
export function narrowServer(
  entry: ServerEntry,
  layer: SettingsLayer,
  at: string,
  base: { trustedSandbox?: Sandbox; clientRequests: Record<string, string>; callTimeoutMs: number },
  warnings: string[],
): ServerEntry {
  const out: ServerEntry = { ...entry };
  const check = (field: string, value: unknown, baseline: unknown, t: Tighten) => {
    if (value === undefined || atLeastAsStrict(t, value, baseline)) return true;
    warnings.push(note(layer, joinPath(at, field), value, `ignored: it is looser than the global ${JSON.stringify(baseline)}, and a server of untrusted ${layer.layer} settings may only be held tighter`, "trust"));
    return false;
  };
  const r = (p: string) => ruleFor(["mcpServers", "*", ...p.split(".")])!.rule.tighten!;
  if (!check("timeoutMs", entry.timeoutMs, base.callTimeoutMs, r("timeoutMs"))) delete out.timeoutMs;
  if (entry.clientRequests) {
    const cr: NonNullable<ServerEntry["clientRequests"]> = {};
    for (const k of ["sampling", "elicitation", "roots"] as const)
      if (entry.clientRequests[k] !== undefined && check(`clientRequests.${k}`, entry.clientRequests[k], base.clientRequests[k], r(`clientRequests.${k}`)))
        cr[k] = entry.clientRequests[k];
    out.clientRequests = cr;
  }
  if (entry.sandbox !== undefined) {
    const s = narrowSandbox(base.trustedSandbox, entry.sandbox, { layer, at: joinPath(at, "sandbox"), global: false }, warnings);
    if (s === undefined) delete out.sandbox;
    else out.sandbox = s;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

function sanitize(l: SettingsLayer, all: SettingsLayer[], warnings: string[]): Settings {
  const trusted = isTrustedLayer(l);
  const out = structuredClone(l.settings) as Json;
  const walk = (obj: Json, at: string[]) => {
    for (const key of Object.keys(obj)) {
      const p = [...at, key];
      // Servers and the global sandbox have merge rules of their own (resolveServers, narrowSandbox).
      if (at.length === 0 && (key === "mcpServers" || key === "sandbox")) continue;
      const hit = ruleFor(p);
      const value = obj[key];
      if (hit) {
        const kept = apply(hit.rule, p, value);
        if (kept === DROP) delete obj[key];
        else obj[key] = kept;
      } else if (isJson(value) && hasRulesBelow(p)) {
        const before = Object.keys(value).length;
        walk(value, p);
        // An object emptied here (a sandbox profile, say) must not stay behind as an empty definition.
        if (before > 0 && Object.keys(value).length === 0) delete obj[key];
      } else {
        // Validated settings hold no such field; a layer built in code might. Never let it through.
        warnings.push(note(l, show(p), undefined, "ignored: not a known setting", "none"));
        delete obj[key];
      }
    }
  };
  const apply = (rule: MergeRule, p: string[], value: unknown): unknown => {
    const at = show(p);
    switch (rule.direction) {
      case "any":
      case "server":
      case "managedOnly": // reported by resolveSettings, as for every non-managed layer
        return value;
      case "userOnly":
        warnings.push(note(l, at, value, `ignored: only managed, command-line and user settings may set it, even when ${l.layer} settings are trusted`, "user"));
        return DROP;
      case "trusted":
        if (trusted) return value;
        warnings.push(note(l, at, value, `ignored: untrusted ${l.layer} settings may only tighten the policy`, "trust"));
        return DROP;
      case "tighten": {
        if (trusted && !rule.evenTrusted) return value;
        const t = rule.tighten!;
        if (t.kind === "narrowList") return value; // resolveSettings intersects untrusted lists
        if (t.kind === "inProject") return trusted ? value : inProject(l, at, value, warnings);
        const baseline = baselineOf(all, p, rule);
        if (atLeastAsStrict(t, value, baseline)) return value;
        warnings.push(
          rule.evenTrusted
            ? note(l, at, value, `ignored: ${l.layer} settings may only strengthen this protection (${JSON.stringify(baseline)} stays), even when trusted: a repository cannot turn off protections against its own servers`, "user")
            : note(l, at, value, `ignored: it is looser than ${JSON.stringify(baseline)}, and untrusted ${l.layer} settings may only tighten the policy`, "trust"),
        );
        return DROP;
      }
    }
  };
  walk(out, []);
  return out as Settings;
}

const DROP = Symbol("drop");

/** The value the layers allowed to move the field freely give it (the highest that sets it), else its default. */
function baselineOf(all: SettingsLayer[], p: string[], rule: MergeRule): unknown {
  for (const l of all) {
    if (!isTrustedLayer(l) || (rule.evenTrusted && isRepositoryLayer(l))) continue;
    const v = getPath(l.settings as Json, p);
    if (v !== undefined) return v;
  }
  return rule.fallback;
}

/** additionalDirectories of an untrusted layer: only those whose real path (resolved by the loader) is inside the project, as real paths. */
function inProject(l: SettingsLayer, at: string, value: unknown, warnings: string[]): unknown {
  if (!Array.isArray(value)) return DROP;
  const root = l.projectRoot;
  const kept: string[] = [];
  value.forEach((d, i) => {
    const real = typeof d === "string" ? l.realDirectories?.get(d) : undefined;
    const where = `${at}[${i}]`;
    if (root === undefined || real === undefined)
      warnings.push(note(l, where, d, "ignored: it does not resolve to an existing directory, and untrusted settings may add only existing directories inside the project", "trust"));
    else if (real !== root && !real.startsWith(root === "/" ? "/" : `${root}/`))
      warnings.push(note(l, where, d, `ignored: its real path ${real} is outside the project ${root}, and untrusted ${l.layer} settings may add working directories only inside it`, "trust"));
    else if (!kept.includes(real)) kept.push(real);
  });
  return kept;
}

// ---------------------------------------------------------------------------------------------------
// Sandboxes

interface SandboxContext {
  layer: SettingsLayer;
  /** JSON path of the untrusted sandbox, for messages. */
  at: string;
  /** The global sandbox (it also confines the user's own servers), not a server's own. */
  global: boolean;
}

/** Allow lists that mean the same thing in the nested and the flat form: intersected as one. */
const ALLOW_GROUPS: readonly (readonly string[])[] = [
  ["filesystem.allowRead", "allowRead"],
  ["filesystem.allowWrite", "allowWrite"],
  ["network.allowedDomains", "allowNetwork"],
  ["network.allowUnixSockets"],
  ["env"],
];

/**
 * `untrusted` applied to `base` (the trusted sandbox, or what earlier untrusted layers left): only
 * restrictions are added. A server's own sandbox with no trusted global one to narrow is taken whole
 * (any sandbox is stricter than none; its type none changes nothing). The global one, with no
 * trusted sandbox (or one of type none), narrows the default sandbox instead: it also confines
 * `mcp-warden exec`, whose default is strict, and remote servers, which unsandboxed may reach their
 * own host only; so it adds restrictions but allows nothing the default does not, and cannot choose
 * a container image the user's servers would run in.
 */
export function narrowSandbox(base: Sandbox | undefined, untrusted: Sandbox, ctx: SandboxContext, warnings: string[]): Sandbox | undefined {
  const say = (field: string, value: unknown, why: string) => warnings.push(note(ctx.layer, field ? `${ctx.at}.${field}` : ctx.at, value, why, "trust"));
  if (base === undefined || base.type === "none") {
    if (!ctx.global) return untrusted.type === "none" ? base : untrusted;
    if (untrusted.type === "none") return base;
    base = {};
  }
  if (untrusted.type === "none") {
    // The type stays; the rest still adds restrictions.
    say("type", "none", `ignored: untrusted ${ctx.layer.layer} settings cannot remove the sandbox (type ${JSON.stringify(base.type ?? "default")} stays)`);
    const { type: _none, ...rest } = untrusted;
    untrusted = rest;
  }

  const out = structuredClone(base) as Json;
  const u = untrusted as Json;
  const b = base as Json;
  for (const [field, t] of Object.entries(SANDBOX_FIELDS)) {
    const p = field.split(".");
    const value = getPath(u, p);
    if (value === undefined) continue;
    const trustedValue = getPath(b, p);
    switch (t.kind) {
      case "keepTrusted":
        if (value !== trustedValue) say(field, value, `ignored: untrusted ${ctx.layer.layer} settings cannot change the sandbox's ${field} (${JSON.stringify(trustedValue ?? "default")} stays)`);
        break;
      case "union":
        setPath(out, p, [...new Set([...asList(trustedValue), ...asList(value)])]);
        break;
      case "onlyFalse":
        if (value !== false && trustedValue !== true) say(field, value, "ignored: the trusted sandbox does not allow it");
        else setPath(out, p, value === true && trustedValue === true);
        break;
      case "lower":
      case "size":
        if (trustedValue === undefined ? (t.kind === "size" ? sizeBytes(value) !== undefined : typeof value === "number") : atLeastAsStrict(t, value, trustedValue)) setPath(out, p, value);
        else say(field, value, `ignored: it is above the trusted sandbox's ${JSON.stringify(trustedValue)}`);
        break;
      case "execute": {
        // false is strictest, a list narrows (entries the trusted list lacks are dropped), true is loosest.
        const allowed = trustedValue ?? true;
        if (value === false || (value === true && allowed === true)) setPath(out, p, value);
        else if (Array.isArray(value) && allowed !== false) {
          const kept = allowed === true ? asList(value) : asList(value).filter((v) => asList(allowed).includes(v));
          for (const v of asList(value)) if (!kept.includes(v)) say(field, v, "entry dropped: the trusted sandbox does not allow running it, and untrusted settings may only narrow it");
          setPath(out, p, kept);
        } else say(field, value, `ignored: it is looser than the trusted sandbox's ${JSON.stringify(allowed)}`);
        break;
      }
      case "intersect":
        break; // below, by group
      default:
        say(field, value, "ignored");
    }
  }
  for (const group of ALLOW_GROUPS) {
    const given = group.filter((f) => getPath(u, f.split(".")) !== undefined);
    if (given.length === 0) continue;
    const allowed = new Set(group.flatMap((f) => asList(getPath(b, f.split(".")))));
    const kept: string[] = [];
    for (const f of given)
      for (const entry of asList(getPath(u, f.split(".")))) {
        if (allowed.has(entry)) {
          if (!kept.includes(entry)) kept.push(entry);
        } else say(f, entry, "entry dropped: the trusted sandbox does not allow it, and untrusted settings may only narrow it");
      }
    // An empty write list means "the server's own directory" (sandbox/policy.ts): never let narrowing turn into that.
    if (group[0] === "filesystem.allowWrite" && kept.length === 0 && allowed.size > 0) {
      say(given[0]!, getPath(u, given[0]!.split(".")), "ignored: nothing the trusted sandbox allows would be left, and an empty write list means the default; the trusted list stays");
      continue;
    }
    for (const f of group.slice(1)) deletePath(out, f.split("."));
    setPath(out, group[0]!.split("."), kept);
  }
  return out as Sandbox;
}

// ---------------------------------------------------------------------------------------------------

function note(l: SettingsLayer, at: string, value: unknown, why: string, lift: "trust" | "user" | "none"): string {
  const root = path.dirname(path.dirname(l.file));
  const how =
    lift === "trust" ? `; run \`mcp-warden trust\` in ${root} to trust this exact content` : lift === "user" ? "; set it in your user settings if you want it" : "";
  return `${l.layer} settings ${l.file}: ${at}${value === undefined ? "" : ` ${showValue(value)}`} ${why}${how}`;
}

function showValue(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const show = (p: string[]) => p.reduce<string>((out, seg) => joinPath(out, seg), "");

function isJson(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function getPath(obj: Json, p: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const seg of p) {
    if (!isJson(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

function setPath(obj: Json, p: readonly string[], value: unknown): void {
  let cur = obj;
  for (const seg of p.slice(0, -1)) {
    if (!isJson(cur[seg])) cur[seg] = {};
    cur = cur[seg] as Json;
  }
  cur[p[p.length - 1]!] = value;
}

function deletePath(obj: Json, p: readonly string[]): void {
  const parent = getPath(obj, p.slice(0, -1));
  if (isJson(parent)) delete parent[p[p.length - 1]!];
}
