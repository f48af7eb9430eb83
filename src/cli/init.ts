// `mcp-warden init`: move the servers of an MCP client config into mcp-warden settings and point
// the client at `mcp-warden run` instead, keeping backups of both files.
//
// Where servers go follows the scope the client gave them, so the gateway sees the same servers
// the client did:
//   .mcp.json (or any {mcpServers} file)       → ./.mcp-warden/settings.json        (project layer)
//   ~/.claude.json, top-level mcpServers        → ~/.config/mcp-warden/settings.json (user layer: every project)
//   ~/.claude.json, projects[cwd].mcpServers    → ./.mcp-warden/settings.local.json  (local layer: private,
//                                                 so its secrets do not land in a file meant for git)
//
// A literal secret in a server moved into the project layer (meant for version control) stays out of
// it: the project entry reads a `${VAR}` instead, and the entry as given goes to the local layer
// (git-ignored), which wins whole on this machine (init-secrets.ts). The person running init then
// approves the moved servers' launch configurations (init-approve.ts) and, unless told not to, gets a
// starter policy from the servers' tool annotations (init-starter-policy.ts): the client lists the
// servers' tools at once.
import { findOnPath } from "../adapters/executables.js";
import { existsSync, realpathSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { visibleText } from "../policy/integrity/display.js";
import { loadSettings, parseSettingsObject, settingsFiles, SettingsError, type ResolvedSettings } from "../settings/index.js";
import { approveMovedServers } from "./init-approve.js";
import { pinStoreWhere } from "../adapters/pin-store-factory.js";
import { appendLines, gitIgnorePlan } from "./init-gitignore.js";
import { splitSecrets, type MovedSecret } from "./init-secrets.js";
import { listToolsOf, starterRules, type StarterRules } from "./init-starter-policy.js";
import { pinFile } from "./pins.js";
import { EditError, isObject, jsonEqual, readJsonDocument, validateSettingsData, writeJsonDocument, type JsonDocument, type JsonObject } from "./settings-edit.js";
import { countOf, shellWord, showUrl } from "./servers.js";
import { clean } from "./status.js";

/** The name the client knows the gateway by. */
export const GATEWAY_ENTRY_NAME = "mcp-warden";

export interface InitOptions {
  from?: string;
  dryRun?: boolean;
  /** Build permission rules from the moved servers' tool annotations (default true). */
  starterPolicy?: boolean;
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
  added: { name: string; entry: JsonObject; from: string; literal?: true }[];
  same: string[];
}

/** Everything init decided before writing, for the plan, the writes and what follows them. */
interface Plan {
  targets: Map<string, PlannedTarget>;
  /** Servers whose literal secrets stay out of the project layer. */
  secrets: { name: string; moved: MovedSecret[] }[];
  /** By server name: the files its entry is (or will be) in, and the entry as shown (secrets templated). */
  servers: Map<string, { files: string[]; shown: JsonObject; rulesFile: string }>;
  /** Things to tell the user about the plan. */
  notes: string[];
  /** Settings files written by this run (a second write need not keep a backup of the first). */
  written: Set<string>;
}

export async function initCommand(opts: InitOptions, out: NodeJS.WritableStream): Promise<number> {
  try {
    return await init(opts, out);
  } catch (err) {
    if (err instanceof EditError) {
      process.stderr.write(`mcp-warden init: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

/** The entry the client runs: `mcp-warden run`, or this install by absolute paths with its reason. */
export interface GatewayEntry {
  entry: { command: string; args: string[] };
  /** `mcp-warden` on the PATH (the path found), or undefined when the entry uses absolute paths. */
  onPath?: string;
  /** This install's CLI (dist/src/cli.cjs). */
  cli: string;
}

/**
 * `mcp-warden run` when `mcp-warden` is on the PATH, so the entry works on every machine that has
 * it; otherwise `node <this install's dist/src/cli.cjs> run`, absolute, which works on this one.
 */
export function gatewayEntry(env: NodeJS.ProcessEnv = process.env): GatewayEntry {
  // This module is dist/src/cli/init.js; the CLI is dist/src/cli.cjs.
  const cli = fileURLToPath(new URL("../cli.cjs", import.meta.url));
  if (!existsSync(cli)) throw new EditError(`cannot find the mcp-warden CLI at ${cli}; is this install built?`, 1);
  const onPath = findOnPath(GATEWAY_ENTRY_NAME, env.PATH);
  if (onPath !== undefined) return { entry: { command: GATEWAY_ENTRY_NAME, args: ["run"] }, onPath, cli };
  return { entry: { command: process.execPath, args: [cli, "run"] }, cli };
}


async function init(opts: InitOptions, out: NodeJS.WritableStream): Promise<number> {
  const { cwd, env } = opts;
  const sourceFile = resolve(cwd, opts.from ?? ".mcp.json");
  const source = readJsonDocument(sourceFile, env);
  if (!source.exists) throw new EditError(`${sourceFile} does not exist${opts.from ? "" : " (give --from FILE to convert another MCP config)"}`, 1);
  const newSource = structuredClone(source.data);
  const paths = settingsFiles({ cwd, env });
  const locations = findLocations(sourceFile, newSource, cwd, paths);
  const gateway = gatewayEntry(env);
  const ours = gateway.entry;

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

  const plan = planTargets(locations, toMove, paths.local, env);

  // The client launches the gateway in place of the servers; an existing gateway entry is kept as written.
  for (const loc of locations) {
    const existing = loc.servers[GATEWAY_ENTRY_NAME];
    loc.holder.mcpServers = { [GATEWAY_ENTRY_NAME]: isObject(existing) ? existing : ours };
  }
  const localTarget = plan.targets.get(paths.local);
  const ignore = localTarget && localTarget.added.length > 0 ? gitIgnorePlan(cwd, paths.local, sourceFile, plan.secrets.length > 0, localTarget.doc.exists) : undefined;

  printPlan(out, sourceFile, locations, plan, opts.dryRun === true);
  const dry = opts.dryRun === true;
  if (ignore?.lines.length) out.write(`${dry ? "would add" : "adding"} to ${ignore.file} (kept out of version control): ${ignore.lines.join(", ")}\n`);
  else if (ignore?.none) out.write(`note: no .gitignore and no git repository here; keep ${relative(cwd, paths.local)} out of version control\n`);
  if (dry) {
    out.write(`would approve the launch configuration of ${[...plan.servers.keys()].map(visibleText).join(", ")} (recorded in ${pinFile(env)}, as \`mcp-warden pins approve\` does)\n`);
    if (opts.starterPolicy !== false) out.write("would then start them to build a starter policy from their tool annotations (no server is started in a dry run)\n");
    out.write("dry run: nothing was written\n");
    return 0;
  }

  // Settings first: if rewriting the source then fails, the servers exist in both places (a rerun
  // skips the ones already moved) rather than in neither.
  for (const t of plan.targets.values()) {
    if (t.added.length === 0) continue;
    const w = writeJsonDocument(t.doc, t.data, validateSettingsData, new Date(), env);
    plan.written.add(t.doc.file);
    out.write(`wrote ${t.doc.file}${w.backup ? ` (previous content saved as ${w.backup})` : ""}${w.trust === "kept" ? " (trusted: you wrote it with mcp-warden)" : ""}\n`);
    if (w.trustNote) out.write(`note: ${w.trustNote}\n`);
  }
  if (ignore?.lines.length) {
    try {
      appendLines(ignore.file, ignore.lines);
    } catch (err) {
      out.write(`note: could not add to ${ignore.file} (${(err as Error).message}); add ${ignore.lines.join(", ")} yourself\n`);
    }
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
  const written = locations.map((l) => (l.holder.mcpServers as JsonObject)[GATEWAY_ENTRY_NAME]);
  if (written.some((e) => jsonEqual(e, ours))) {
    if (gateway.onPath === undefined)
      out.write(
        `note: \`mcp-warden\` is not on your PATH, so the client runs this install by absolute paths (${shellWord(process.execPath)} ${shellWord(gateway.cli)}), which work on this machine only; ` +
          `to make the entry portable, put mcp-warden on the PATH (\`npm install -g .\` in the mcp-warden checkout) and write {"command": "mcp-warden", "args": ["run"]} in its place\n`,
      );
    else if (safeRealpath(gateway.onPath) !== safeRealpath(gateway.cli))
      out.write(`note: the client runs the \`mcp-warden\` on the PATH (${gateway.onPath}); this command is ${gateway.cli}. Both must be the install you mean to use\n`);
  }

  const code = await afterWrite(opts, plan, out);
  out.write("restart your MCP client so it launches mcp-warden; `mcp-warden servers list` shows the servers it fronts\n");
  return code;
}

/** Approves the moved servers as the written settings define them, then builds the starter policy. */
async function afterWrite(opts: InitOptions, plan: Plan, out: NodeJS.WritableStream): Promise<number> {
  const { cwd, env } = opts;
  const names = () => [...plan.servers.keys()].map((n) => `\`mcp-warden pins approve ${n}\``).join(", ");
  let settings: ResolvedSettings;
  try {
    settings = loadSettings({ cwd, env, cliFiles: [] });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`mcp-warden init: the settings do not load, so no server was approved:\n${err.message}\nfix them, then run ${names()}\n`);
    return 1;
  }
  let outcomes;
  try {
    outcomes = await approveMovedServers(settings, new Map([...plan.servers].map(([n, s]) => [n, s.files])), env);
  } catch (err) {
    process.stderr.write(`mcp-warden init: could not record the approvals in ${pinStoreWhere(settings, env)} (${(err as Error).message}); fix that, then run ${names()}\n`);
    return 1;
  }
  const approved = outcomes.filter((o) => o.status === "approved" || o.status === "already");
  if (approved.length) {
    out.write(`approved, as you, the launch configuration of each server moved (recorded in ${pinStoreWhere(settings, env)}; \`mcp-warden pins reset NAME\` takes one back):\n`);
    for (const o of approved) {
      const s = o.server!;
      out.write(`  ${visibleText(o.name)}  ${describeEntry(plan.servers.get(o.name)!.shown)}  (${s.source.layer} settings${o.status === "already" ? ", approved before" : ""})\n`);
    }
  }
  for (const o of outcomes) {
    if (o.status === "elsewhere")
      out.write(`note: the server '${visibleText(o.name)}' that runs here is the one in ${o.server!.source.layer} settings ${o.server!.source.file}, not the one init moved; init did not approve it\n`);
    if (o.status === "missing") out.write(`note: no server '${visibleText(o.name)}' runs with these settings (see \`mcp-warden doctor\`); init did not approve it\n`);
  }
  if (opts.starterPolicy === false || approved.length === 0) return 0;
  try {
    await starterPolicy(settings, approved.map((o) => o.name), plan, env, out);
  } catch (err) {
    process.stderr.write(
      `mcp-warden init: could not build the starter policy: ${(err as Error).message}\nthe servers are approved; every tool is \`ask\` until you add rules (README: Permission rules for MCP tools)\n`,
    );
    return 1;
  }
  return 0;
}

/** Starts the approved servers, shows the rules their annotations give, and writes them where each server is defined. */
async function starterPolicy(settings: ResolvedSettings, names: string[], plan: Plan, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<void> {
  out.write(`starting ${names.map(visibleText).join(", ")} to read their tool annotations (stopped afterwards)...\n`);
  const listed = await listToolsOf(settings, env, names);
  const byFile = new Map<string, StarterRules>();
  out.write("starter policy from the servers' own tool annotations (claims of the servers: review them; edit the rules at any time):\n");
  for (const l of listed) {
    if ("error" in l) {
      out.write(`  ${visibleText(l.name)}: could not list its tools, so no rules: ${visibleText(l.error)}\n`);
      continue;
    }
    const rules = starterRules(l.name, l.tools, l.flagged);
    out.write(`  ${visibleText(l.name)}: ${countOf(l.tools.length, "tool").slice(1, -1)}\n`);
    for (const r of rules.allow) out.write(`    allow  ${visibleText(r)}  (readOnlyHint)\n`);
    for (const r of rules.ask) out.write(`    ask    ${visibleText(r)}  (destructiveHint)\n`);
    for (const t of rules.left.filter((x) => x.why)) out.write(`    -      ${visibleText(t.tool)}: default ask (${visibleText(t.why!)})\n`);
    const plain = rules.left.filter((x) => !x.why).length;
    if (plain) out.write(`    ${plain} other tool(s) left to the default, ask\n`);
    const file = plan.servers.get(l.name)!.rulesFile;
    const acc = byFile.get(file) ?? { allow: [], ask: [], left: [] };
    acc.allow.push(...rules.allow);
    acc.ask.push(...rules.ask);
    byFile.set(file, acc);
  }
  for (const [file, rules] of byFile) {
    const doc = readJsonDocument(file, env);
    const data = structuredClone(doc.data);
    const permissions = isObject(data.permissions) ? data.permissions : (data.permissions = {});
    let added = 0;
    for (const kind of ["allow", "ask"] as const) {
      const list = Array.isArray(permissions[kind]) ? (permissions[kind] as unknown[]) : [];
      for (const r of rules[kind]) if (!list.includes(r)) (list.push(r), added++);
      if (list.length) permissions[kind] = list;
    }
    if (added === 0) {
      out.write(`the starter policy adds nothing to ${file}\n`);
      continue;
    }
    const w = writeJsonDocument(doc, data, validateSettingsData, new Date(), env);
    // The previous content is what this run wrote a moment ago (its own original has a backup already).
    if (w.backup && plan.written.has(file)) rmSync(w.backup, { force: true });
    else if (w.backup) out.write(`previous content of ${file} saved as ${w.backup}\n`);
    out.write(`wrote ${added} rule(s) into ${file} (permissions.allow, permissions.ask)\n`);
    if (w.trust === "untrusted") out.write(`note: ${file} is not trusted, so its allow rules have no effect (asks still apply) until you review it and run \`mcp-warden trust\`\n`);
    else if (w.trustNote) out.write(`note: ${w.trustNote}\n`);
  }
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

/**
 * Merges the servers into each target file; a name already there with another definition is refused.
 * A server bound for the project layer with literal secrets goes there with `${VAR}` references, and
 * as given to the local layer, which wins whole on this machine.
 */
function planTargets(locations: Location[], toMove: { loc: Location; name: string }[], localFile: string, env: NodeJS.ProcessEnv): Plan {
  const plan: Plan = { targets: new Map(), secrets: [], servers: new Map(), notes: [], written: new Set() };
  const clashes: string[] = [];
  const target = (file: string, layer: TargetLayer): PlannedTarget => {
    let t = plan.targets.get(file);
    if (!t) {
      const doc = readJsonDocument(file, env);
      if (doc.exists)
        try {
          parseSettingsObject(doc.data, doc.file);
        } catch (err) {
          if (err instanceof SettingsError) throw new EditError(`${doc.file} is not valid settings; fix it first:\n${err.message}`, 2);
          throw err;
        }
      t = { layer, doc, data: structuredClone(doc.data), added: [], same: [] };
      plan.targets.set(file, t);
    }
    return t;
  };
  const place = (t: PlannedTarget, name: string, entry: JsonObject, from: string, literal = false) => {
    const servers = isObject(t.data.mcpServers) ? t.data.mcpServers : (t.data.mcpServers = {});
    if (Object.hasOwn(servers, name)) {
      if (jsonEqual(servers[name], entry)) t.same.push(name);
      else clashes.push(`server '${name}' is already defined differently in ${t.doc.file}`);
      return;
    }
    servers[name] = structuredClone(entry);
    t.added.push({ name, entry, from, ...(literal ? { literal: true as const } : {}) });
  };
  for (const { loc, name } of toMove) {
    const entry = loc.servers[name] as JsonObject;
    const split = splitSecrets(name, entry);
    const files = [loc.targetFile];
    const project = loc.layer === "project" ? target(loc.targetFile, "project") : undefined;
    const there = project && isObject(project.data.mcpServers) ? project.data.mcpServers[name] : undefined;
    if (project && split.moved.length && there !== undefined && jsonEqual(there, entry)) {
      // The project file holds this very entry, literals and all: nothing to move, but say so.
      project.same.push(name);
      plan.notes.push(
        `server '${clean(name)}' in ${project.doc.file} already holds literal secrets (${split.moved.map((m) => clean(m.field)).join(", ")}); init leaves it as it is: move them to ${localFile} before you commit that file`,
      );
    } else if (project && split.moved.length) {
      plan.secrets.push({ name, moved: split.moved });
      place(target(loc.targetFile, "project"), name, split.shared, loc.label);
      place(target(localFile, "local"), name, entry, loc.label, true);
      files.push(localFile);
    } else place(target(loc.targetFile, loc.layer), name, entry, loc.label);
    const before = plan.servers.get(name)?.files ?? [];
    // Shown with its secrets templated, whatever the layer: output never carries a credential.
    plan.servers.set(name, { files: [...before, ...files], shown: split.shared, rulesFile: loc.targetFile });
  }
  if (clashes.length) throw new EditError(`${clashes.join("\n")}\nrename or remove one of the two definitions, then run init again; nothing was written`, 2);
  const local = plan.targets.get(localFile);
  if (local?.doc.exists && local.doc.trusted !== true && local.added.some((a) => a.literal))
    // An untrusted local file cannot replace a server a trusted layer defines: the project entry,
    // with its `${VAR}`s unset here, would run in its place (or fail to load).
    throw new EditError(
      `${localFile} is not trusted, so the server entries with literal secrets that init would write there could not replace the project's; review it and run \`mcp-warden trust\` in ${dirname(dirname(localFile))}, then run init again; nothing was written`,
      2,
    );
  return plan;
}

function printPlan(out: NodeJS.WritableStream, sourceFile: string, locations: Location[], plan: Plan, dryRun: boolean): void {
  out.write(`${dryRun ? "would convert" : "converting"} ${sourceFile}\n`);
  for (const t of plan.targets.values()) {
    out.write(`  into ${t.doc.file} (${t.layer} layer${t.doc.exists ? "" : ", new file"}):\n`);
    for (const a of t.added) out.write(`    + ${clean(a.name)}  ${describeEntry(plan.servers.get(a.name)!.shown)}  (from ${a.from}${a.literal ? "; with its literal secrets" : ""})\n`);
    for (const n of t.same) out.write(`    = ${clean(n)}  already there with the same definition\n`);
  }
  if (plan.secrets.length) {
    const local = [...plan.targets.values()].find((t) => t.layer === "local")!.doc.file;
    out.write("  literal secrets stay out of the project settings, which are meant for version control:\n");
    for (const s of plan.secrets) out.write(`    ${clean(s.name)}: ${s.moved.map((m) => `${clean(m.field)} → \${${m.variable}}`).join(", ")}\n`);
    const variables = [...new Set(plan.secrets.flatMap((s) => s.moved.map((m) => m.variable)))];
    out.write(
      `    on this machine the entries in ${local} run, with the values as they were (a server defined in several layers is taken whole from the highest); ` +
        `anyone else using the project sets ${variables.join(", ")} in the environment their MCP client starts mcp-warden with\n`,
    );
  }
  for (const n of plan.notes) out.write(`  note: ${n}\n`);
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
