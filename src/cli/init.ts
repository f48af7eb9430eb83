// `mcp-warden init`: move the servers of an MCP client config into mcp-warden settings and point
// the client at `mcp-warden run` instead, keeping backups of both files.
//
// Where servers go follows the scope the client gave them, so the gateway sees the same servers
// the client did:
//   .mcp.json (or any {mcpServers} file)       → ./.mcp-warden/settings.json        (project layer)
//   ~/.claude.json, top-level mcpServers        → ~/.config/mcp-warden/settings.json (user layer: every project)
//   ~/.claude.json, projects[cwd].mcpServers    → ./.mcp-warden/settings.local.json  (local layer: private,
//                                                 so its secrets do not land in a file meant for git)
import { existsSync, realpathSync } from "node:fs";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSettingsObject, settingsFiles, SettingsError } from "../settings/index.js";
import { EditError, isObject, jsonEqual, readJsonDocument, validateSettingsData, writeJsonDocument, type JsonDocument, type JsonObject } from "./settings-edit.js";
import { countOf, shellWord, showUrl } from "./servers.js";
import { clean } from "./status.js";

/** The name the client knows the gateway by. */
export const GATEWAY_ENTRY_NAME = "mcp-warden";

export interface InitOptions {
  from?: string;
  dryRun?: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

type TargetLayer = "project" | "user" | "local";

/** One `mcpServers` object in the source file. */
interface Location {
  /** JSON path in the source file, for messages. */
  label: string;
  /** The object holding `mcpServers` in the copy of the source that will be written. */
  holder: JsonObject;
  servers: JsonObject;
  layer: TargetLayer;
  targetFile: string;
}

interface PlannedTarget {
  layer: TargetLayer;
  doc: JsonDocument;
  data: JsonObject;
  added: { name: string; entry: JsonObject; from: string }[];
  same: string[];
}

export async function initCommand(opts: InitOptions, out: NodeJS.WritableStream): Promise<number> {
  try {
    return init(opts, out);
  } catch (err) {
    if (err instanceof EditError) {
      process.stderr.write(`mcp-warden init: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

/** `node <this install's dist/src/cli.cjs> run`, with absolute paths: the client may not have our PATH. */
export function gatewayEntry(): { command: string; args: string[] } {
  // This module is dist/src/cli/init.js; the CLI is dist/src/cli.cjs.
  const cli = fileURLToPath(new URL("../cli.cjs", import.meta.url));
  if (!existsSync(cli)) throw new EditError(`cannot find the mcp-warden CLI at ${cli}; is this install built?`, 1);
  return { command: process.execPath, args: [cli, "run"] };
}

function init(opts: InitOptions, out: NodeJS.WritableStream): number {
  const { cwd, env } = opts;
  const sourceFile = resolve(cwd, opts.from ?? ".mcp.json");
  const source = readJsonDocument(sourceFile);
  if (!source.exists) throw new EditError(`${sourceFile} does not exist${opts.from ? "" : " (give --from FILE to convert another MCP config)"}`, 1);
  const newSource = structuredClone(source.data);
  const paths = settingsFiles({ cwd, env });
  const locations = findLocations(sourceFile, newSource, cwd, paths);
  const ours = gatewayEntry();

  // Validate every entry before deciding anything, and report all bad ones at once.
  const problems: string[] = [];
  for (const loc of locations)
    for (const [name, entry] of Object.entries(loc.servers)) {
      if (name === GATEWAY_ENTRY_NAME) continue;
      try {
        parseSettingsObject({ mcpServers: { [name]: entry } }, sourceFile);
      } catch (err) {
        if (!(err instanceof SettingsError)) throw err;
        problems.push(`server '${clean(name)}' in ${loc.label}: ${err.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
      }
    }
  if (problems.length) throw new EditError(`cannot convert ${sourceFile}:\n  ${problems.join("\n  ")}`, 2);

  const toMove = locations.flatMap((loc) => Object.keys(loc.servers).filter((n) => n !== GATEWAY_ENTRY_NAME).map((n) => ({ loc, name: n })));
  if (toMove.length === 0) {
    const launchesUs = locations.some((l) => Object.hasOwn(l.servers, GATEWAY_ENTRY_NAME));
    out.write(launchesUs ? `${sourceFile} already launches only mcp-warden; nothing to do\n` : `no MCP servers in ${sourceFile}; nothing to do\n`);
    for (const l of locations) {
      const e = l.servers[GATEWAY_ENTRY_NAME];
      if (isObject(e) && !jsonEqual(e, ours))
        out.write(`note: ${l.label}.${GATEWAY_ENTRY_NAME} runs ${describeEntry(e)}, not this install (${[ours.command, ...ours.args].map(shellWord).join(" ")})\n`);
    }
    return 0;
  }

  const targets = planTargets(locations, toMove);

  // The client launches the gateway in place of the servers; an existing gateway entry is kept as written.
  for (const loc of locations) {
    const existing = loc.servers[GATEWAY_ENTRY_NAME];
    loc.holder.mcpServers = { [GATEWAY_ENTRY_NAME]: isObject(existing) ? existing : ours };
  }

  printPlan(out, sourceFile, locations, targets, opts.dryRun === true);
  if (opts.dryRun) {
    out.write("dry run: nothing was written\n");
    return 0;
  }

  // Settings first: if rewriting the source then fails, the servers exist in both places (a rerun
  // skips the ones already moved) rather than in neither.
  for (const t of targets.values()) {
    if (t.added.length === 0) continue;
    const w = writeJsonDocument(t.doc, t.data, validateSettingsData, new Date(), env);
    out.write(`wrote ${t.doc.file}${w.backup ? ` (previous content saved as ${w.backup})` : ""}${w.trust === "kept" ? " (trusted: you wrote it with mcp-warden)" : ""}\n`);
    if (w.trustNote) out.write(`note: ${w.trustNote}\n`);
  }
  let w;
  try {
    w = writeJsonDocument(source, newSource);
  } catch (err) {
    if (err instanceof EditError)
      throw new EditError(`${err.message}\nthe servers were copied into mcp-warden settings, but ${sourceFile} still lists them; fix the problem and run init again`, err.exitCode);
    throw err;
  }
  out.write(`rewrote ${sourceFile} (previous content saved as ${w.backup})\n`);
  out.write("restart your MCP client so it launches mcp-warden; `mcp-warden servers list` shows the servers it will front\n");
  return 0;
}

function findLocations(sourceFile: string, data: JsonObject, cwd: string, paths: ReturnType<typeof settingsFiles>): Location[] {
  const claudeForm = basename(sourceFile) === ".claude.json" || isObject(data.projects);
  if (!claudeForm) {
    if (data.mcpServers === undefined) throw new EditError(`${sourceFile} has no 'mcpServers'; is it an MCP client config?`, 2);
    if (!isObject(data.mcpServers)) throw new EditError(`${sourceFile}: 'mcpServers' must be an object`, 2);
    return [{ label: "mcpServers", holder: data, servers: data.mcpServers, layer: "project", targetFile: resolve(cwd, paths.project) }];
  }
  const locations: Location[] = [];
  if (data.mcpServers !== undefined) {
    if (!isObject(data.mcpServers)) throw new EditError(`${sourceFile}: 'mcpServers' must be an object`, 2);
    locations.push({ label: "mcpServers", holder: data, servers: data.mcpServers, layer: "user", targetFile: resolve(cwd, paths.user) });
  }
  if (isObject(data.projects)) {
    // Claude Code keys projects by absolute path; try the path as given and with symlinks resolved.
    const keys = [...new Set([resolve(cwd), safeRealpath(cwd)])];
    const key = keys.find((k) => isObject((data.projects as JsonObject)[k]));
    const project = key === undefined ? undefined : ((data.projects as JsonObject)[key] as JsonObject);
    if (project && project.mcpServers !== undefined) {
      if (!isObject(project.mcpServers)) throw new EditError(`${sourceFile}: projects[${JSON.stringify(key)}].mcpServers must be an object`, 2);
      locations.push({ label: `projects[${JSON.stringify(key)}].mcpServers`, holder: project, servers: project.mcpServers, layer: "local", targetFile: resolve(cwd, paths.local) });
    }
  }
  if (locations.length === 0) throw new EditError(`${sourceFile} has no 'mcpServers', at the top level or under projects[${JSON.stringify(resolve(cwd))}]`, 2);
  return locations;
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** Merges the servers into each target file; a name already there with another definition is refused. */
function planTargets(locations: Location[], toMove: { loc: Location; name: string }[]): Map<string, PlannedTarget> {
  const targets = new Map<string, PlannedTarget>();
  const clashes: string[] = [];
  for (const { loc, name } of toMove) {
    let t = targets.get(loc.targetFile);
    if (!t) {
      const doc = readJsonDocument(loc.targetFile);
      if (doc.exists)
        try {
          parseSettingsObject(doc.data, doc.file);
        } catch (err) {
          if (err instanceof SettingsError) throw new EditError(`${doc.file} is not valid settings; fix it first:\n${err.message}`, 2);
          throw err;
        }
      t = { layer: loc.layer, doc, data: structuredClone(doc.data), added: [], same: [] };
      targets.set(loc.targetFile, t);
    }
    const entry = loc.servers[name] as JsonObject;
    const servers = isObject(t.data.mcpServers) ? t.data.mcpServers : (t.data.mcpServers = {});
    if (Object.hasOwn(servers, name)) {
      if (jsonEqual(servers[name], entry)) t.same.push(name);
      else clashes.push(`server '${name}' is already defined differently in ${t.doc.file}`);
      continue;
    }
    servers[name] = structuredClone(entry);
    t.added.push({ name, entry, from: loc.label });
  }
  if (clashes.length) throw new EditError(`${clashes.join("\n")}\nrename or remove one of the two definitions, then run init again; nothing was written`, 2);
  return targets;
}

function printPlan(out: NodeJS.WritableStream, sourceFile: string, locations: Location[], targets: Map<string, PlannedTarget>, dryRun: boolean): void {
  out.write(`${dryRun ? "would convert" : "converting"} ${sourceFile}\n`);
  for (const t of targets.values()) {
    out.write(`  into ${t.doc.file} (${t.layer} layer${t.doc.exists ? "" : ", new file"}):\n`);
    for (const a of t.added) out.write(`    + ${a.name}  ${describeEntry(a.entry)}  (from ${a.from})\n`);
    for (const n of t.same) out.write(`    = ${n}  already there with the same definition\n`);
  }
  for (const loc of locations) {
    const e = loc.holder.mcpServers as JsonObject;
    out.write(`  ${loc.label} in ${sourceFile} becomes only "${GATEWAY_ENTRY_NAME}": ${describeEntry(e[GATEWAY_ENTRY_NAME] as JsonObject)}\n`);
  }
}

/** Transport and command or URL, with counts in place of env and header values (they are secrets). */
function describeEntry(e: JsonObject): string {
  const parts: string[] = [];
  if (typeof e.url === "string") parts.push(String(e.type ?? "http"), showUrl(e.url));
  else {
    parts.push(String(e.type ?? "stdio"));
    const words = [typeof e.command === "string" ? e.command : "", ...(Array.isArray(e.args) ? e.args.map(String) : [])];
    parts.push(words.map(shellWord).join(" "));
  }
  for (const [v, what] of [[e.env, "env var"], [e.headers, "header"]] as const) {
    const n = isObject(v) ? Object.keys(v).length : 0;
    if (n > 0) parts.push(countOf(n, what));
  }
  return clean(parts.join(" "));
}
