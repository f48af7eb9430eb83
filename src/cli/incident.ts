// `mcp-warden incident SERVER`: the second seed's incident response for one server, as a report.
// Contain (only when asked: --disable, --remove, --deny, through `servers disable|remove`'s own code),
// then review its activity, assess its exposure, name the credentials to rotate and the policy to
// change, from the settings and the audit log (read in two bounded passes: src/incident/read-log.ts).
// runIncident does all of that and is what the console's Incidents page calls too; this command renders
// and writes its report.
// Exit codes: 0 report written; 1 the audit log is broken or unreadable, or containment failed (the
// report is still written); 2 usage error (nothing changed, no report).
import { resolve } from "node:path";
import { writeFileAtomic } from "../adapters/safe-files.js";
import { parseTimeArg } from "../audit/query.js";
import { compilePolicy, PolicyError, type CompiledPolicy } from "../policy/index.js";
import { buildToolTable } from "../policy/guards/fs-tools.js";
import { loadSettings, SettingsError, type ResolvedSettings } from "../settings/index.js";
import { serverNameProblem } from "../settings/server-name.js";
import { ActivityCollector } from "../incident/activity.js";
import { readActivity, verifyLog, type LogSource } from "../incident/read-log.js";
import { compileRedaction } from "../incident/redaction.js";
import { buildIncidentReport, type ContainmentFact, type IncidentReport } from "../incident/report.js";
import { renderMarkdown } from "../incident/render-markdown.js";
import { serverFacts, type PolicyVerdictFact } from "../incident/server-facts.js";
import { describeSql, loadSqlFacts } from "../incident/sql-facts.js";
import { serversChangeCommand } from "./servers.js";
import { clean, serverVerdict } from "./status.js";

/** What one incident run needs: the CLI's options and the console's form both come down to this. */
export interface IncidentRun {
  server: string;
  since?: string;
  until?: string;
  disable?: boolean;
  remove?: boolean;
  deny?: boolean;
  layer?: string;
  settings: ResolvedSettings;
  /** `state.postgres`, expanded: read that log instead of the file log. */
  postgres?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  now?: Date;
}

export interface IncidentOptions extends IncidentRun {
  json?: boolean;
  markdown?: boolean;
  out?: string;
}

/** The report, or why nothing was done (a usage error: nothing changed, no report). */
export type IncidentOutcome = { ok: true; report: IncidentReport } | { ok: false; usage: string };

const DEFAULT_SINCE = "7d";

export async function incidentCommand(opts: IncidentOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (opts.json && opts.markdown) {
    err.write("mcp-warden incident: choose one of --json and --markdown\n");
    return 2;
  }
  const outcome = await runIncident(opts);
  if (!outcome.ok) {
    err.write(`mcp-warden incident: ${outcome.usage}\n`);
    return 2;
  }
  const { report } = outcome;
  const text = opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderMarkdown(report);
  const code = report.problems.length > 0 ? 1 : 0;
  if (opts.out === undefined) {
    out.write(text);
    return code;
  }
  const file = resolve(opts.cwd, opts.out);
  try {
    // 0600: the report names files, hosts and principals.
    writeFileAtomic(file, text);
  } catch (e) {
    err.write(`mcp-warden incident: cannot write ${file} (${clean((e as Error).message)}); the report follows on stdout instead. Choose another --out path next time.\n`);
    out.write(text);
    return 1;
  }
  err.write(`${summaryLine(report)}; report written to ${file}\n`);
  return code;
}

/**
 * The five steps for one server, as the CLI and the console both run them: validate, contain (only
 * when asked), collect the activity (two bounded passes over the log) and build the report.
 */
export async function runIncident(opts: IncidentRun): Promise<IncidentOutcome> {
  const usage = (message: string): IncidentOutcome => ({ ok: false, usage: message });
  const name = opts.server;
  const nameProblem = serverNameProblem(name);
  if (nameProblem) return usage(`'${clean(name)}' is not a server name (${nameProblem}); \`mcp-warden servers list\` lists the configured servers`);
  if (opts.remove && opts.disable) return usage("choose one of --remove and --disable (--deny adds the denylist entry to either)");
  const now = opts.now ?? new Date();
  let since: Date;
  let until: Date | undefined;
  try {
    since = parseTimeArg(opts.since ?? DEFAULT_SINCE, now);
    until = opts.until !== undefined ? parseTimeArg(opts.until, now) : undefined;
  } catch (e) {
    return usage((e as Error).message);
  }
  if (until && since > until) return usage(`--since (${since.toISOString()}) is after --until (${until.toISOString()}): give the earlier time to --since`);

  const { settings } = opts;
  let policy: CompiledPolicy;
  try {
    policy = compilePolicy(settings.policy);
  } catch (e) {
    if (e instanceof PolicyError) return usage(`settings error: ${e.message}`);
    throw e;
  }
  const configured = settings.servers.find((s) => s.name === name);
  const redaction = compileRedaction({ secrets: settings.secrets, values: settings.secretScanning.values });
  const facts = serverFacts(settings, name, configured ? serverVerdict(policy, configured, settings) : undefined, redaction);
  const sqlReady = await loadSqlFacts();
  const collector = new ActivityCollector({
    server: name,
    since,
    ...(until ? { until } : {}),
    pathTools: buildToolTable(configured?.entry.guards?.filesystem?.tools),
    guardedPaths: configured?.entry.guards?.filesystem !== undefined,
    sqlArguments: sqlArgumentsOf(configured?.entry.guards?.sql?.arguments),
    ...(sqlReady ? { describeSql } : {}),
    redaction,
  });
  const source: LogSource =
    opts.postgres !== undefined ? { store: "postgres", url: opts.postgres } : { store: "file", dir: settings.audit.dir, ...(settings.audit.hmacKeyFile ? { keyFile: settings.audit.hmacKeyFile } : {}) };
  const range = { since, ...(until ? { until } : {}) };

  let readError: string | undefined;
  let read = false;
  const readOnce = async () => {
    if (read) return;
    read = true;
    try {
      await readActivity(source, collector, range);
    } catch (e) {
      readError = clean((e as Error).message);
    }
  };
  if (!configured) {
    // Nothing is changed for a name that is neither configured nor in the log: most likely a typo.
    await readOnce();
    if (readError === undefined && collector.facts().recordsOfServer === 0)
      return usage(
        `no server named '${name}' is configured, and the audit log has no record of it since ${since.toISOString()}. ` +
          "`mcp-warden servers list` lists the configured servers; --since 30d looks further back.",
      );
  }

  const containment = await contain(opts, name);
  const policyAfter = containment.ran ? verdictAfter(opts, name, redaction.text) : undefined;
  await readOnce();

  const report = buildIncidentReport({
    server: name,
    generatedAt: now.toISOString(),
    since: since.toISOString(),
    ...(until ? { until: until.toISOString() } : {}),
    settings: facts,
    activity: readError !== undefined ? { error: readError } : collector.facts(),
    auditLog: await verifyLog(source),
    containment,
    ...(policyAfter ? { policyAfter } : {}),
    ...(sqlReady ? {} : { sqlUnparsed: true }),
    redaction,
  });
  return { ok: true, report };
}

/** Step 1, only when asked: the same code as `mcp-warden servers disable|remove [--deny]`, its output captured. */
async function contain(opts: IncidentRun, name: string): Promise<ContainmentFact> {
  const action = opts.remove ? "remove" : opts.disable || opts.deny ? "disable" : "none";
  const deny = opts.deny === true;
  const command = `mcp-warden servers ${action === "remove" ? "remove" : "disable"} ${name} --deny${opts.layer ? ` --layer ${opts.layer}` : ""}`;
  const base = { action, deny, ...(opts.layer !== undefined ? { layer: opts.layer } : {}), command } as const;
  if (action === "none") return { ...base, ran: false, ok: false, output: [] };
  const lines: string[] = [];
  const capture = { write: (chunk: string | Uint8Array) => (lines.push(...String(chunk).split("\n").filter((l) => l !== "")), true) } as unknown as NodeJS.WritableStream;
  let exit: number;
  try {
    exit = await serversChangeCommand({ action, server: name, deny, settings: opts.settings, cwd: opts.cwd, env: opts.env, ...(opts.layer !== undefined ? { layer: opts.layer } : {}) }, capture, capture);
  } catch (e) {
    lines.push(`mcp-warden servers ${action}: ${clean((e as Error).message)}`);
    exit = 1;
  }
  return { ...base, ran: true, ok: exit === 0, output: lines.map(clean), command: `mcp-warden servers ${action} ${name}${deny ? " --deny" : ""}${opts.layer ? ` --layer ${opts.layer}` : ""}` };
}

/** What a gateway starting now would do with the server, from the settings as they are after containment. */
function verdictAfter(opts: IncidentRun, name: string, redact: (s: string) => string): PolicyVerdictFact | undefined {
  // settings.files lists --settings files highest precedence first; loadSettings wants command-line order.
  const cliFiles = opts.settings.files.filter((f) => f.layer === "cli").map((f) => f.file).reverse();
  try {
    const after = loadSettings({ cwd: opts.cwd, env: opts.env, cliFiles });
    const s = after.servers.find((x) => x.name === name);
    if (!s) return { decision: "deny", reason: "it is no longer configured" };
    const v = serverVerdict(compilePolicy(after.policy), s, after);
    return { decision: v.decision, reason: redact(v.reason), ...(v.rule !== undefined ? { rule: redact(v.rule) } : {}), ...(v.source ? { source: v.source } : {}) };
  } catch (e) {
    if (e instanceof SettingsError || e instanceof PolicyError) return { decision: "unknown", reason: `the settings no longer load: ${redact(e.message)}` };
    throw e;
  }
}

/** The SQL argument names of a tool as the SQL guard reads them (call-guards.ts): one list, or per tool, then `*`, then the defaults. */
function sqlArgumentsOf(config: string[] | Record<string, string[]> | undefined): (tool: string) => readonly string[] {
  const defaults = ["sql", "query"];
  if (config === undefined) return () => defaults;
  if (Array.isArray(config)) return () => config;
  return (tool) => (Object.hasOwn(config, tool) ? config[tool] : config["*"]) ?? defaults;
}

function summaryLine(r: IncidentReport): string {
  const c = r.contain.containment;
  const contained = !c.ran ? "nothing changed (give --deny to contain)" : c.ok ? "contained" : "CONTAINMENT FAILED";
  return `mcp-warden incident ${r.server}: audit log ${r.auditLog.status}; ${contained}; ${r.review.calls} call(s) reviewed${r.problems.length ? `; problems: ${r.problems.length}` : ""}`;
}
