// Loading settings without loading the schema library, for commands that run before every tool
// call (the PreToolUse hook). Validating with zod costs ~40 ms of module loading per process; the
// texts rarely change. So a text that passed full validation once is remembered by its SHA-256
// (with a fingerprint of the schema it passed), and next time it is read with JSON.parse.
//
// Why this is safe: the settings object always comes from the file's own text, never from the
// cache. A marker only says "this exact text passed this exact schema": strict JSON without
// duplicate or `__proto__` keys (so JSON.parse builds the same object) and no unknown fields. A
// forged marker could at most let an invalid text skip validation; the markers live in mcp-warden's
// state directory, which the policy protects from the agent's edits. Any miss falls back to the full
// loader (load.ts), which then records the texts it validated.
import { createHash } from "node:crypto";
import { closeSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createExclusiveNoFollow, ensurePrivateDir } from "../adapters/safe-files.js";
import { readSettingsLayers, type LoadedLayers, type LoadOptions } from "./files.js";
import { stateDir } from "./paths.js";
import { resolveSettings, type ResolvedSettings } from "./resolve.js";
import type { Settings } from "./schema.js";

class NotValidatedYet extends Error {}

/** Defined only inside the hook's bundle: its own `require`. */
declare const __wardenRequire: ((id: string) => unknown) | undefined;

let fingerprintCache: string | undefined;
/** The published JSON Schemas are generated from the zod schema at build: their text fingerprints it. */
function schemaFingerprint(): string {
  if (fingerprintCache === undefined) {
    const h = createHash("sha256");
    for (const f of ["settings.schema.json", "managed-mcp.schema.json"]) h.update(readFileSync(new URL(`../../../schema/${f}`, import.meta.url)));
    fingerprintCache = h.digest("hex");
  }
  return fingerprintCache;
}

function markerDir(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), "cache", "validated");
}

function markerName(kind: "settings" | "managed-mcp", text: string): string {
  return createHash("sha256").update(schemaFingerprint()).update("\0" + kind + "\0").update(text).digest("hex");
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Loads and merges the layers like loadSettings(), validating only texts not validated before. */
export async function loadSettingsFast(opts: LoadOptions): Promise<ResolvedSettings> {
  const dir = markerDir(opts.env);
  const known = (kind: "settings" | "managed-mcp", text: string): unknown => {
    if (!existsSync(join(dir, markerName(kind, text)))) throw new NotValidatedYet();
    return JSON.parse(stripBom(text));
  };
  let loaded: LoadedLayers;
  try {
    loaded = readSettingsLayers(opts, {
      settings: (text) => known("settings", text) as Settings,
      managedMcp: (text) => (known("managed-mcp", text) as { mcpServers: LoadedLayers["layers"][number]["settings"]["mcpServers"] }).mcpServers ?? {},
    });
  } catch (error) {
    if (!(error instanceof NotValidatedYet)) throw error;
    loaded = await loadAndRemember(opts, dir);
  }
  const resolveOpts: Parameters<typeof resolveSettings>[1] = { env: opts.env };
  if (loaded.managedMcp) resolveOpts.managedMcp = loaded.managedMcp;
  const resolved = resolveSettings(loaded.layers, resolveOpts);
  resolved.warnings.unshift(...loaded.warnings);
  return resolved;
}

/** The full loader; every text it validated gets a marker. */
async function loadAndRemember(opts: LoadOptions, dir: string): Promise<LoadedLayers> {
  // In the hook's CommonJS bundle the full loader (with zod) is a second bundle, required only here
  // (scripts/bundle.ts defines __wardenRequire); elsewhere it is the ES module next to this one.
  const { parseSettingsText, parseManagedMcpText } = (
    typeof __wardenRequire === "function" ? __wardenRequire("./settings-load.bundle.cjs") : await import("./load.js")
  ) as typeof import("./load.js");
  const validated: string[] = [];
  const loaded = readSettingsLayers(opts, {
    settings: (text, file) => {
      const s = parseSettingsText(text, file);
      validated.push(markerName("settings", text));
      return s;
    },
    managedMcp: (text, file) => {
      const m = parseManagedMcpText(text, file).mcpServers;
      validated.push(markerName("managed-mcp", text));
      return m;
    },
  });
  try {
    ensurePrivateDir(dir);
    // A marker is an empty file created new (never through a link planted at its name); one that
    // exists already, whatever it is, is left alone.
    for (const name of validated) {
      try {
        closeSync(createExclusiveNoFollow(join(dir, name)));
      } catch {
        // Taken already: the next run validates again if it is not a marker of ours.
      }
    }
  } catch {
    // A read-only (or unsafe) state directory only costs speed: the next run validates again.
  }
  return loaded;
}
