// `mcp-warden deploy kubernetes`: the release's manifests (YAML) from a values file, optionally with
// the gateway's settings file put into the ConfigMap. The chart in deploy/helm/mcp-warden holds the
// same defaults (values.yaml) and these manifests rendered from them.
import { readFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";
import { DeployValuesError, kubernetesManifests, type Manifest } from "../deploy/kubernetes.js";

interface Io {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

/** Helm's rule: maps merge key by key, anything else (lists included) is replaced. */
export function mergeValues(base: unknown, over: unknown): unknown {
  const isMap = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, val] of Object.entries(over)) out[k] = mergeValues(base[k], val);
  return out;
}

function readYaml(file: string): unknown {
  const text = readFileSync(file, "utf8");
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length > 1) throw new DeployValuesError(`${file}: holds ${Array.isArray(docs) ? docs.length : "no"} YAML documents; a values file is one map`);
  const doc = docs[0];
  if (doc === undefined) return {};
  if (doc.errors.length > 0) throw new DeployValuesError(`${file}: not valid YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
  return doc.toJS() ?? {};
}

/** The manifests as one multi-document YAML text. */
export function manifestsYaml(manifests: Manifest[]): string {
  return manifests.map((m) => `---\n${stringify(m, { lineWidth: 0, aliasDuplicateObjects: false })}`).join("");
}

export function deployKubernetesCommand(opts: { values: string[]; settings?: string }, io: Io): number {
  try {
    let values: unknown = {};
    for (const file of opts.values) values = mergeValues(values, readYaml(file));
    if (opts.settings !== undefined) {
      // Replaced whole, not merged: the ConfigMap holds exactly this file.
      const settings = JSON.parse(readFileSync(opts.settings, "utf8")) as unknown;
      values = { ...(values as Record<string, unknown>), settings };
    }
    io.out.write(manifestsYaml(kubernetesManifests(values)));
    return 0;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const message = e.code === "ENOENT" ? `cannot read ${e.path}: no such file; pass an existing --values or --settings file` : e instanceof SyntaxError ? `the settings file is not JSON: ${e.message}` : e.message;
    io.err.write(`mcp-warden: deploy kubernetes: ${message}\n`);
    return 2;
  }
}
