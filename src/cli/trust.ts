// `mcp-warden trust [DIR]`: the user vouches for the exact content of a project's settings files
// (`DIR/.mcp-warden/settings.json` and `settings.local.json`). Until then those files may only
// tighten the policy (settings/merge-rules.ts). The command first shows what trusting changes: what
// the files may not do while untrusted, and the servers they define. `--dry-run` shows only;
// `--list` lists what is trusted; `--revoke` forgets DIR's files.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { loadSettingsLayers, resolveSettings, SettingsError, settingsFiles, type SettingsLayer } from "../settings/index.js";
import { readBytes } from "../settings/files.js";
import { readTrustStore, recordTrust, revokeTrust, sha256Hex, trustKey, trustStoreFile } from "../settings/trust.js";
import { describeIoError } from "./settings-edit.js";
import { shellWord, showUrl } from "./servers.js";
import { clean } from "./status.js";

export interface TrustOptions {
  dir?: string;
  dryRun?: boolean;
  list?: boolean;
  revoke?: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export async function trustCommand(opts: TrustOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const usage = (what: string) => {
    err.write(`mcp-warden trust: ${what}\nusage: mcp-warden trust [DIR] [--dry-run] | mcp-warden trust --list | mcp-warden trust --revoke [DIR]\n`);
    return 2;
  };
  if (opts.list && (opts.dir !== undefined || opts.revoke || opts.dryRun)) return usage("--list takes no DIR and goes with no other option");
  if (opts.revoke && opts.dryRun) return usage("--revoke does not go with --dry-run");
  if (opts.list) return list(opts.env, out, err);
  const dir = resolve(opts.cwd, opts.dir ?? ".");
  try {
    if (!statSync(dir).isDirectory()) return usage(`${dir} is not a directory`);
  } catch {
    return usage(`${dir} does not exist`);
  }
  const paths = settingsFiles({ cwd: dir, env: opts.env });
  const files = [paths.local, paths.project];
  try {
    if (opts.revoke) {
      const removed = revokeTrust(opts.env, files);
      out.write(removed.length ? removed.map((f) => `no longer trusted: ${clean(f)}\n`).join("") : `nothing was trusted in ${clean(dir)}\n`);
      return 0;
    }
    return show(dir, opts, out, err);
  } catch (e) {
    if (e instanceof SettingsError) {
      err.write(`mcp-warden trust: the settings do not load, so there is nothing to trust yet; fix this first:\n${e.message}\n`);
      return 2;
    }
    err.write(`mcp-warden trust: cannot update ${clean(trustStoreFile(opts.env))}: ${describeIoError(e)}\n`);
    return 1;
  }
}

function show(dir: string, opts: TrustOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const { store, warning } = readTrustStore(opts.env);
  if (warning) err.write(`mcp-warden trust: warning: ${clean(warning)}\n`);
  const loaded = loadSettingsLayers({ cwd: dir, env: opts.env });
  const repository = loaded.layers.filter((l) => l.layer === "project" || l.layer === "local");
  if (repository.length === 0) {
    out.write(`no project or local settings in ${clean(`${dir}/.mcp-warden`)}; nothing to trust\n`);
    return 0;
  }
  // What trust lifts: the warnings with these files untrusted that are gone once they are trusted.
  const as = (trusted: boolean) => {
    const layers = loaded.layers.map((l) => (l.layer === "project" || l.layer === "local" ? { ...l, trusted } : l));
    const opts2: Parameters<typeof resolveSettings>[1] = { env: opts.env };
    if (loaded.managedMcp) opts2.managedMcp = loaded.managedMcp;
    return resolveSettings(layers, opts2).warnings;
  };
  // Trusted, they must load (that is what gateways will use); untrusted, they may fail to (say, a
  // user's server they would replace needs a variable that is not set): then that is what trust lifts.
  const trusted = as(true);
  let untrusted: string[];
  try {
    untrusted = as(false);
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    untrusted = [];
    out.write(`while untrusted, the settings do not load: ${clean(e.message)}\n`);
  }

  for (const l of repository) {
    const state = l.trusted ? "trusted already" : Object.hasOwn(store.files, trustKey(l.file)?.key ?? "") ? "changed since it was trusted" : "not trusted";
    out.write(`${l.layer} settings: ${clean(l.file)} (${state}; sha256 ${l.sha256?.slice(0, 16)}...)\n`);
    const mine = (w: string) => w.startsWith(`${l.layer} settings ${l.file}:`);
    const lifted = untrusted.filter((w) => mine(w) && !trusted.includes(w));
    const kept = trusted.filter(mine);
    out.write(lifted.length ? "  ignored or narrowed while untrusted, in effect once trusted:\n" : "  nothing in it is ignored while untrusted\n");
    for (const w of lifted) out.write(`    - ${clean(w.slice(`${l.layer} settings ${l.file}: `.length).replace(/; run `mcp-warden trust`.*$/, ""))}\n`);
    if (kept.length) out.write("  ignored even when trusted:\n");
    for (const w of kept) out.write(`    - ${clean(w.slice(`${l.layer} settings ${l.file}: `.length))}\n`);
    describeServers(l, out);
  }
  out.write("servers from project or local settings still need a person's approval before they start; trusting these files does not approve them\n");
  if (opts.dryRun) {
    out.write("dry run: nothing was recorded\n");
    return 0;
  }
  // The digests of the bytes shown above, so a change made meanwhile is not trusted with them.
  recordTrust(opts.env, repository.map((l) => ({ file: l.file, sha256: l.sha256 ?? "" })));
  out.write(`trusted: ${repository.map((l) => clean(l.file)).join(", ")} (recorded in ${clean(trustStoreFile(opts.env))}); any change to them makes them untrusted again\n`);
  return 0;
}

function describeServers(l: SettingsLayer, out: NodeJS.WritableStream): void {
  const servers = Object.entries(l.settings.mcpServers ?? {});
  if (servers.length === 0) {
    out.write("  defines no servers\n");
    return;
  }
  out.write("  servers it defines:\n");
  for (const [name, e] of servers) {
    const remote = e.url !== undefined;
    const what = remote ? showUrl(e.url ?? "") : [e.command ?? "", ...(e.args ?? [])].map(shellWord).join(" ");
    const extra = [
      e.cwd !== undefined ? `cwd ${e.cwd}` : "",
      // Names only: the values are often credentials, and the names are what changes the code that runs (NODE_OPTIONS, LD_PRELOAD).
      e.env && Object.keys(e.env).length ? `env ${Object.keys(e.env).join(", ")} (values hidden)` : "",
      e.headers && Object.keys(e.headers).length ? `headers ${Object.keys(e.headers).join(", ")} (values hidden)` : "",
      e.sandbox ? `own sandbox ${JSON.stringify(e.sandbox.type ?? "default")}` : "",
      e.disabled ? "disabled" : "",
    ].filter(Boolean);
    out.write(`    ${clean(name)}: ${clean(what)}${extra.length ? `  [${clean(extra.join("; "))}]` : ""}\n`);
  }
}

function list(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const { store, warning } = readTrustStore(env);
  if (warning) err.write(`mcp-warden trust: warning: ${clean(warning)}\n`);
  const keys = Object.keys(store.files).sort();
  if (keys.length === 0) {
    out.write(`no trusted settings files (${clean(trustStoreFile(env))})\n`);
    return 0;
  }
  for (const key of keys) {
    const rec = store.files[key]!;
    let state: string;
    try {
      const bytes = readBytes(key);
      state = bytes === undefined ? "missing" : sha256Hex(bytes) === rec.sha256 ? "trusted" : "changed since trusted: untrusted until trusted again";
    } catch (e) {
      state = `unreadable: ${describeIoError(e)}`;
    }
    out.write(`${clean(key)}\n  project ${clean(rec.project)}, trusted at ${clean(rec.trustedAt)}: ${state}\n`);
  }
  return 0;
}
