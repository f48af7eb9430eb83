// The console's Incidents page (/console/incidents): run `mcp-warden incident` from a form and walk
// its report. The run is the CLI's own (runIncident in src/cli/incident.ts: containment through
// `servers disable|remove --deny`'s code, the log read in its two bounded passes, the same report).
//
// Who may do what: any console role runs a report (reading needs "read"); containment changes the
// settings and needs "administer", checked here on the server before anything runs (the route itself
// needs only "read", so the check cannot be left to the pipeline). Finished reports are kept in this
// process's memory, bounded (the last MAX_REPORTS, for KEEP_MS), under a random id: any signed-in
// console user may open and download them, as the page says. One run at a time per process: two
// containments must not edit the same settings file at once.
import { randomBytes } from "node:crypto";
import { postgresUrlOf } from "../../audit/postgres-url.js";
import type { AuditSink } from "../../audit/index.js";
import { makeDownstream } from "../../gateway/downstream.js";
import type { IncidentOutcome, IncidentRun } from "../../cli/incident.js";
import { isEditableLayer } from "../../cli/settings-edit.js";
import type { IncidentReport } from "../../incident/report.js";
import { renderMarkdown } from "../../incident/render-markdown.js";
import type { ResolvedSettings } from "../../settings/index.js";
import { serverNameProblem } from "../../settings/server-name.js";
import type { ActivitySource } from "./activity.js";
import { html, htmlResponse, messagePage, SECURITY_HEADERS } from "./html.js";
import { CONTAINMENTS, type Containment, DEFAULT_FORM, type IncidentFormValues, incidentFormPage, incidentReportPage, standaloneReportHtml } from "./incidents-page.js";
import { may } from "./roles.js";
import { type ConsoleContext, type ConsoleRoute, seeOther } from "./routes.js";

export const MAX_REPORTS = 20;
export const KEEP_MS = 3_600_000;
/** The newest calls whose servers the form offers beside the configured ones. */
const SEEN_CALLS = 200;
const ID = "[A-Za-z0-9_-]{22}";

export interface IncidentDeps {
  settings: () => ResolvedSettings;
  env: NodeJS.ProcessEnv;
  cwd: string;
  activity: ActivitySource;
  audit: AuditSink;
  /** Where finished reports are kept; this process's memory unless given. */
  reports?: IncidentReportStore;
  /** The run itself; the CLI's runIncident unless a test gives another. */
  run?: (r: IncidentRun) => Promise<IncidentOutcome>;
  now?: () => number;
}

export interface Kept {
  report: IncidentReport;
  at: number;
}

/**
 * Where finished reports are kept: this process's memory (IncidentReports), or Redis with
 * state.redis so that a report's link works on every replica (src/state/redis-incident-reports.ts).
 */
export interface IncidentReportStore {
  put(report: IncidentReport): Promise<string> | string;
  get(id: string): Promise<(Kept & { until: number }) | undefined> | (Kept & { until: number }) | undefined;
}

/** Finished reports, newest last: at most `max`, none older than `keepMs`. */
export class IncidentReports implements IncidentReportStore {
  private readonly kept = new Map<string, Kept>();
  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = MAX_REPORTS,
    private readonly keepMs = KEEP_MS,
  ) {}

  put(report: IncidentReport): string {
    this.prune();
    while (this.kept.size >= this.max) this.kept.delete(this.kept.keys().next().value!);
    const id = randomBytes(16).toString("base64url");
    this.kept.set(id, { report, at: this.now() });
    return id;
  }

  get(id: string): (Kept & { until: number }) | undefined {
    this.prune();
    const k = this.kept.get(id);
    return k && { ...k, until: k.at + this.keepMs };
  }

  private prune(): void {
    const oldest = this.now() - this.keepMs;
    for (const [id, k] of this.kept) {
      if (k.at > oldest) break; // Insertion order is time order.
      this.kept.delete(id);
    }
  }
}

/** The form's fields, or why they are not acceptable (fail closed: an unknown value is an error, never "none"). */
export function readIncidentForm(form: URLSearchParams): { values: IncidentFormValues; error?: string } {
  const text = (k: string) => (form.get(k) ?? "").trim().slice(0, 200);
  const server = text("other") || text("server");
  const containRaw = form.get("contain") ?? "none";
  const denyRaw = form.get("deny");
  const contain = (CONTAINMENTS as readonly string[]).includes(containRaw) ? (containRaw as Containment) : "none";
  const layerRaw = form.get("layer") ?? "";
  const layer = layerRaw === "" || isEditableLayer(layerRaw) ? layerRaw : "";
  const values: IncidentFormValues = { server, since: text("since") || DEFAULT_FORM.since, until: text("until"), contain, deny: denyRaw === "on", layer };
  if (layer !== layerRaw) return { values, error: `unknown settings layer "${layerRaw.slice(0, 40)}": choose managed, local, project or user, or the layer that defines the server` };
  if (contain !== containRaw) return { values, error: `unknown containment "${containRaw.slice(0, 40)}": choose none, disable or remove` };
  if (denyRaw !== null && denyRaw !== "on") return { values, error: `unknown value "${denyRaw.slice(0, 40)}" for the denylist choice: tick the box or leave it` };
  if (server === "") return { values, error: "choose a server, or type its name" };
  return { values };
}

const filename = (r: IncidentReport, ext: string) => `incident-${r.server.replace(/[^A-Za-z0-9_-]/g, "_")}-${r.generatedAt.slice(0, 19).replace(/[^0-9T]/g, "")}.${ext}`;

export function incidentRoutes(deps: IncidentDeps): ConsoleRoute[] {
  const now = deps.now ?? Date.now;
  const fallback = new IncidentReports(now);
  const reports: IncidentReportStore = deps.reports ?? fallback;
  const run = deps.run ?? (async (r: IncidentRun) => (await import("../../cli/incident.js")).runIncident(r));
  let running = false;

  /** Configured servers, then those of the newest calls in the log (bounded read); a log that cannot be read leaves them out. */
  async function serverChoices(): Promise<{ name: string; configured: boolean; disabled?: boolean }[]> {
    const configured = deps.settings().servers.map((s) => ({ name: s.name, configured: true, ...(s.entry.disabled === true ? { disabled: true } : {}) }));
    const names = new Set(configured.map((s) => s.name));
    const seen: { name: string; configured: boolean }[] = [];
    const page = await deps.activity.page({ kind: "call" }, undefined, SEEN_CALLS).catch(() => ({ records: [] }));
    for (const { record } of page.records) {
      // A name the run would refuse is not offered (it can still be typed, and is then refused with the reason).
      if (record.server === undefined || names.has(record.server) || serverNameProblem(record.server) !== undefined) continue;
      names.add(record.server);
      seen.push({ name: record.server, configured: false });
    }
    return [...configured, ...seen.sort((a, b) => a.name.localeCompare(b.name))];
  }

  async function form(c: ConsoleContext, status: number, values: IncidentFormValues, error?: string): Promise<Response> {
    const notice = await c.takeNotice();
    return htmlResponse(
      status,
      incidentFormPage(c.viewer, { servers: await serverChoices(), canContain: may(c.role, "administer"), values, where: deps.activity.where, ...(error ? { error } : {}), ...(notice ? { notice } : {}) }),
    );
  }

  async function post(c: ConsoleContext): Promise<Response> {
    const { values, error } = readIncidentForm(c.form);
    const containing = values.contain !== "none" || values.deny;
    const who = makeDownstream(c.session.principal, { remote: true, address: c.req.address }).audited;
    // Before anything else, the form's values included: a viewer learns nothing by asking.
    if (containing && !may(c.role, "administer")) {
      deps.audit.append({ kind: "request", event: "console-incident-refused", principal: who, reason: "containment needs the admin role", detail: { role: c.role, contain: values.contain, deny: values.deny } });
      return messagePage(
        403,
        "Not allowed",
        html`Your role (${c.role}) may not contain a server: disabling, removing or denying it needs the admin role. Nothing was done. <a href="/console/incidents">Run the report without containment</a>, or ask an admin.`,
        c.viewer,
      );
    }
    if (error) return form(c, 400, values, error);
    if (running) return form(c, 503, values, "another incident is being run on this server right now; try again in a minute");
    running = true;
    let outcome: IncidentOutcome;
    try {
      const settings = deps.settings();
      let postgres: string | undefined;
      try {
        postgres = postgresUrlOf(settings.state, deps.env);
      } catch (e) {
        return form(c, 503, values, `state.postgres cannot be used (${(e as Error).message}): fix the settings, then try again. Nothing was done.`);
      }
      outcome = await run({
        server: values.server,
        since: values.since,
        ...(values.until !== "" ? { until: values.until } : {}),
        ...(values.contain === "disable" ? { disable: true } : values.contain === "remove" ? { remove: true } : {}),
        ...(values.deny ? { deny: true } : {}),
        ...(values.layer !== "" ? { layer: values.layer } : {}),
        settings,
        ...(postgres !== undefined ? { postgres } : {}),
        cwd: deps.cwd,
        env: deps.env,
        now: new Date(now()),
      });
    } finally {
      running = false;
    }
    if (!outcome.ok) return form(c, 400, values, outcome.usage.replace(/--(since|until)\b/g, "“$1”"));
    const report = outcome.report;
    let id: string;
    try {
      id = await reports.put(report);
    } catch (e) {
      // Kept here instead: its link works on this replica (the page says so when it is opened elsewhere).
      id = fallback.put(report);
      await c.notify(`The report could not be shared with the other replicas (${(e as Error).message}); this server keeps it.`);
    }
    const k = report.contain.containment;
    deps.audit.append({
      kind: "request",
      event: "console-incident",
      principal: who,
      server: report.server,
      ...(k.ran && !k.ok ? { outcome: "error" as const, error: "containment failed" } : {}),
      detail: { since: report.range.since, until: report.range.until, containment: k.action, deny: k.deny, contained: k.ran && k.ok, problems: report.problems.length, report: id },
    });
    await c.notify(`Incident report for ${report.server} ready${k.ran ? (k.ok ? "; the server is contained" : "; CONTAINMENT FAILED (step 1 says why)") : ""}.`);
    return seeOther(`/console/incidents/${id}`);
  }

  /** A kept report: from this server's fallback, else the store; "unavailable" when the store fails. */
  const kept = async (id: string): Promise<(Kept & { until: number }) | undefined | "unavailable"> => {
    const local = fallback.get(id);
    if (local) return local;
    try {
      return await reports.get(id);
    } catch {
      return "unavailable";
    }
  };
  const unavailable = (c: ConsoleContext) =>
    messagePage(503, "The report cannot be read now", html`Reports are kept in Redis (state.redis), which does not answer. Reload in a minute, or ask the operator to check Redis.`, c.viewer, { "retry-after": "30" });

  const gone = (c: ConsoleContext) =>
    messagePage(404, "No such report", html`This report is not kept (reports are kept for an hour, the last ${MAX_REPORTS}${deps.reports ? "" : ", by the server that ran them"}). <a href="/console/incidents">Run it again</a>.`, c.viewer);

  return [
    { method: "GET", path: /^\/console\/incidents$/, needs: "read", handle: (c) => form(c, 200, DEFAULT_FORM) },
    { method: "POST", path: /^\/console\/incidents$/, needs: "read", handle: post },
    {
      method: "GET",
      path: new RegExp(`^/console/incidents/(${ID})$`),
      needs: "read",
      handle: async (c) => {
        const k = await kept(c.match[1]!);
        if (k === "unavailable") return unavailable(c);
        if (!k) return gone(c);
        const notice = await c.takeNotice();
        return htmlResponse(200, incidentReportPage(c.viewer, { id: c.match[1]!, report: k.report, keptUntil: k.until, ...(notice ? { notice } : {}) }));
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/console/incidents/(${ID})\\.(md|json|html)$`),
      needs: "read",
      handle: async (c) => {
        const k = await kept(c.match[1]!);
        if (k === "unavailable") return unavailable(c);
        if (!k) return gone(c);
        const ext = c.match[2]!;
        const [body, type] =
          ext === "md" ? [renderMarkdown(k.report), "text/markdown"] : ext === "json" ? [`${JSON.stringify(k.report, null, 2)}\n`, "application/json"] : [standaloneReportHtml(k.report), "text/html"];
        return new Response(body, {
          status: 200,
          headers: { ...SECURITY_HEADERS, "content-type": `${type}; charset=utf-8`, "content-disposition": `attachment; filename="${filename(k.report, ext)}"` },
        });
      },
    },
  ];
}
