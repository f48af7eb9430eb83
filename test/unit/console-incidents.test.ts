// The console's Incidents page, its pure parts and its routes with a stand-in run: the report page,
// the form and the standalone download given hostile data from servers and callers (nothing opens
// an element or an attribute, invisible characters are shown, no inline script or style); the five
// steps as sections with a step navigation; the form's values read fail-closed; containment refused
// to a non-admin before anything runs; the bounded store of finished reports.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AuditEntry, AuditSink } from "../../src/audit/index.js";
import type { AuditRecord } from "../../src/audit/record.js";
import type { IncidentRun } from "../../src/cli/incident.js";
import type { ActivitySource } from "../../src/fronts/console/activity.js";
import { IncidentReports, incidentRoutes, KEEP_MS, MAX_REPORTS, readIncidentForm } from "../../src/fronts/console/incidents.js";
import { DEFAULT_FORM, incidentFormPage, incidentReportPage, reportSections, standaloneReportHtml } from "../../src/fronts/console/incidents-page.js";
import type { ConsoleRole } from "../../src/fronts/console/roles.js";
import type { ConsoleContext } from "../../src/fronts/console/routes.js";
import { ActivityCollector } from "../../src/incident/activity.js";
import { compileRedaction } from "../../src/incident/redaction.js";
import { buildIncidentReport, type ContainmentFact, type IncidentReport } from "../../src/incident/report.js";
import { buildToolTable } from "../../src/policy/guards/fs-tools.js";
import type { ResolvedSettings } from "../../src/settings/index.js";

const HOSTILE = `</code></td><script>alert(1)</script><img src=x onerror="alert(2)">'"\`&\u202eevil\u200b`;
const viewer = { name: "Ada", role: "admin", csrf: "csrf-token-value" };

/** No element or attribute a hostile string could have opened survives; no inline code at all. */
function assertInert(page: string): void {
  assert.doesNotMatch(page, /<script>alert/);
  assert.doesNotMatch(page, /<img /);
  assert.doesNotMatch(page, /"alert\(2\)"/, "the attacker's quotes are entities: no attribute can be opened or closed");
  assert.doesNotMatch(page, /\u202e|\u200b/, "invisible characters are shown as escapes, never sent raw");
  for (const m of page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1]!, /\bsrc="\/console\/static\/console\.js"/, "a script without our src");
    assert.equal(m[2]!.trim(), "", "an inline script");
  }
  // Inside tags only: in text, a hostile " onerror=" is escaped and harmless (every `<` of text is an entity).
  for (const found of page.match(/<[^>]*>/g) ?? []) {
    // Attribute values without their text (a quote inside one is an entity, so `"` ends it).
    const tag = found.replace(/"[^"]*"/g, '""');
    assert.doesNotMatch(tag, /\sstyle\s*=/i, `a style attribute: ${tag}`);
    assert.doesNotMatch(tag, /\son[a-z]+\s*=/i, `an event-handler attribute: ${tag}`);
  }
  assert.doesNotMatch(page, /<style\b/i, "an inline stylesheet");
}

let seq = 0;
const rec = (r: Partial<AuditRecord> & { kind: AuditRecord["kind"] }): AuditRecord =>
  ({ v: 1, seq: seq++, time: new Date(Date.UTC(2026, 0, 10, 12, seq)).toISOString(), prev: "0".repeat(64), ...r }) as AuditRecord;

/** A report whose every list holds something hostile: tool names, arguments, paths, hosts, principals, containment output. */
function hostileReport(containment: Partial<ContainmentFact> = {}): IncidentReport {
  const principal = { subject: HOSTILE, method: "jwt", session: "sha256:aaaa" };
  const records = [
    rec({ kind: "call", event: "decided", server: "bad", tool: `mcp__bad__${HOSTILE}`, arguments: { path: `/srv/${HOSTILE}`, url: `https://evil.example/${HOSTILE}` }, decision: "allow", rule: `mcp__bad__${HOSTILE}`, principal }),
    rec({ kind: "call", event: "decided", server: "bad", tool: "mcp__bad__delete_repo", arguments: { repo: HOSTILE }, decision: "deny", outcome: "denied", principal }),
    rec({ kind: "request", event: "egress", server: "bad", decision: "allow", detail: { host: `evil${HOSTILE}.example`, port: 443 } }),
    rec({ kind: "call", event: "decided", server: `other`, tool: `mcp__other__${HOSTILE}`, decision: "allow", principal }),
  ];
  const redaction = compileRedaction({ secrets: [], values: [] });
  const c = new ActivityCollector({ server: "bad", since: new Date(Date.UTC(2026, 0, 10)), pathTools: buildToolTable(undefined), guardedPaths: false, sqlArguments: () => ["sql"], redaction });
  for (const r of records) c.observe(r, { writer: "audit-1.jsonl" });
  for (const r of records) c.observeSession(r, { writer: "audit-1.jsonl" });
  return buildIncidentReport({
    server: "bad",
    generatedAt: "2026-01-11T00:00:00.000Z",
    since: "2026-01-10T00:00:00.000Z",
    settings: { name: "bad", configured: true, transport: "stdio", sandbox: "none", layer: "project", file: `/p/${HOSTILE}.json`, credentials: [{ name: `TOKEN_${HOSTILE}`, where: "env", detail: HOSTILE, likelySecret: true, action: "rotate this" }] },
    activity: c.facts(),
    auditLog: { store: "file", where: `/audit/${HOSTILE}`, status: "intact", details: [HOSTILE] },
    containment: { action: "disable", deny: true, ran: true, ok: true, output: [`set mcpServers.bad.disabled = true ${HOSTILE}`, `line two\u001b[31m`], command: "mcp-warden servers disable bad --deny", ...containment },
    redaction,
  } as Parameters<typeof buildIncidentReport>[0]);
}

describe("the Incidents pages with hostile data", () => {
  test("the report page: five steps as sections with a navigation, download links, everything escaped", () => {
    const report = hostileReport();
    const page = incidentReportPage(viewer, { id: "A".repeat(22), report, keptUntil: Date.UTC(2026, 0, 11, 1) }).text;
    assertInert(page);
    for (let i = 1; i <= 5; i++) {
      assert.match(page, new RegExp(`<section class="incident-step" id="step-${i}">`), `step ${i} is a section`);
      assert.match(page, new RegExp(`<a href="#step-${i}">`), `the navigation links step ${i}`);
    }
    assert.deepEqual(
      reportSections(report).steps.map((s) => s.title),
      ["1. Contain", "2. Review", "3. Exposure", "4. Credentials", "5. Policy"],
    );
    for (const ext of ["md", "json", "html"]) assert.ok(page.includes(`href="/console/incidents/${"A".repeat(22)}.${ext}"`), ext);
    assert.match(page, /id="containment-status">contained</);
    assert.match(page, /2 tool call\(s\)/, "the calls are counted");
    assert.ok(page.includes("&#60;script&#62;alert(1)&#60;/script&#62;"), "the tool name is shown as text");
    assert.ok(!page.includes("\u001b"), "an escape sequence in containment output is not sent raw");
    assert.match(page, /whatever their role/, "the page says who can download");
  });

  test("the form: containment only for an admin, the CSRF token, hostile server names from the log as text", () => {
    const servers = [
      { name: "fx", configured: true },
      { name: HOSTILE, configured: false },
    ];
    const admin = incidentFormPage(viewer, { servers, canContain: true, values: { ...DEFAULT_FORM, server: HOSTILE }, error: HOSTILE, where: `the audit log in ${HOSTILE}` }).text;
    assertInert(admin);
    assert.match(admin, /<input type="hidden" name="csrf" value="csrf-token-value">/);
    assert.match(admin, /name="contain" value="disable"/);
    assert.match(admin, /name="deny" value="on"/);
    for (const step of ["Contain", "Review", "Exposure", "Credentials", "Policy"]) assert.ok(admin.includes(`<strong>${step}</strong>`), step);
    const view = incidentFormPage({ ...viewer, role: "viewer" }, { servers, canContain: false, values: DEFAULT_FORM, where: "x" }).text;
    assertInert(view);
    assert.doesNotMatch(view, /name="contain"|name="deny"/, "no containment choice for a viewer");
    assert.match(view, /id="no-containment"/);
  });

  test("the standalone HTML: escaped, its own CSP allows only its inline stylesheet", () => {
    const file = standaloneReportHtml(hostileReport());
    assert.doesNotMatch(file, /<script/i);
    assert.doesNotMatch(file, /<img /);
    assert.doesNotMatch(file, /\u202e|\u200b/, "invisible characters are shown as escapes");
    assert.match(file, /\\u200b/);
    assert.match(file, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'/);
    assert.match(file, /<article class="incident-report">/);
    assert.equal(file.match(/<style>/g)?.length, 1);
  });

  test("a failed containment says so at the top", () => {
    const page = incidentReportPage(viewer, { id: "B".repeat(22), report: hostileReport({ ok: false, output: ["mcp-warden servers disable: no such file"] }), keptUntil: 0 }).text;
    assert.match(page, /id="containment-status">containment FAILED</);
    assert.match(page, /class="decision-deny"/);
  });
});

describe("the Incidents form's values", () => {
  const form = (o: Record<string, string>) => new URLSearchParams(o);
  test("read as typed; another name wins over the list", () => {
    assert.deepEqual(readIncidentForm(form({ server: "fx", other: "old-one", since: "24h", contain: "disable", deny: "on" })), {
      values: { server: "old-one", since: "24h", until: "", contain: "disable", deny: true, layer: "" },
    });
    assert.deepEqual(readIncidentForm(form({ server: "fx" })).values, { server: "fx", since: "7d", until: "", contain: "none", deny: false, layer: "" });
    assert.equal(readIncidentForm(form({ server: "fx", deny: "on", layer: "user" })).values.layer, "user");
  });
  test("an unknown containment or denylist value is an error, never taken as none", () => {
    assert.match(readIncidentForm(form({ server: "fx", contain: "DISABLE" })).error ?? "", /unknown containment/);
    assert.match(readIncidentForm(form({ server: "fx", deny: "yes" })).error ?? "", /denylist/);
    assert.match(readIncidentForm(form({ since: "1h" })).error ?? "", /choose a server/);
    // The command line's layer is not one a change may be written to; nor is anything else.
    for (const layer of ["cli", "USER", "../user"]) assert.match(readIncidentForm(form({ server: "fx", deny: "on", layer })).error ?? "", /unknown settings layer/, layer);
  });
});

describe("the store of finished reports", () => {
  test("bounded to the last MAX_REPORTS, none older than KEEP_MS", () => {
    let now = 1_000_000;
    const store = new IncidentReports(() => now);
    const report = hostileReport();
    const ids = Array.from({ length: MAX_REPORTS + 1 }, () => store.put(report));
    assert.equal(new Set(ids).size, ids.length, "ids are distinct");
    assert.ok(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id)));
    assert.equal(store.get(ids[0]!), undefined, "the oldest went past the bound");
    assert.equal(store.get(ids[1]!)?.report, report);
    now += KEEP_MS + 1;
    assert.equal(store.get(ids.at(-1)!), undefined, "expired after an hour");
  });
});

describe("the Incidents routes", () => {
  function setup() {
    const runs: IncidentRun[] = [];
    const audited: AuditEntry[] = [];
    const audit = { where: "memory", append: (e: AuditEntry) => void audited.push(e) } as unknown as AuditSink;
    const activity = { where: "memory", page: async () => ({ records: [{ ref: "r", record: rec({ kind: "call", server: "gone-server" }) }], scanLimited: false, damaged: 0 }) } as unknown as ActivitySource;
    const settings = { servers: [{ name: "fx", entry: {} }], state: {} } as unknown as ResolvedSettings;
    const routes = incidentRoutes({
      settings: () => settings,
      env: {},
      cwd: "/",
      activity,
      audit,
      run: async (r) => {
        runs.push(r);
        return { ok: true, report: hostileReport(r.disable || r.deny ? {} : { action: "none", deny: false, ran: false }) };
      },
    });
    const notices: string[] = [];
    const call = async (method: "GET" | "POST", path: string, role: ConsoleRole, body: Record<string, string> = {}) => {
      const route = routes.find((r) => r.method === method && r.path.test(path));
      assert.ok(route, `a route for ${method} ${path}`);
      const ctx: ConsoleContext = {
        req: { request: new Request(`http://127.0.0.1${path}`, { method }), body: "", address: "127.0.0.1", proto: "http", hostAllowed: true },
        url: new URL(`http://127.0.0.1${path}`),
        match: route.path.exec(path)!,
        session: { principal: { subject: "user-x", groups: [], scopes: [], method: "oidc", issuer: "https://idp" }, name: "X", csrf: "t", createdAt: 0, lastSeen: 0 },
        role,
        viewer: { name: "X", role, csrf: "t" },
        form: new URLSearchParams(body),
        notify: async (t) => void notices.push(t),
        takeNotice: async () => notices.shift(),
      };
      return { route, res: await route.handle(ctx) };
    };
    return { runs, audited, call };
  }

  test("a viewer or approver asking for containment is refused before anything runs, and it is audited", async () => {
    for (const role of ["viewer", "approver"] as const) {
      const { runs, audited, call } = setup();
      for (const body of [{ server: "fx", contain: "disable" } as Record<string, string>, { server: "fx", deny: "on" }, { server: "fx", contain: "remove" }, { server: "fx", contain: "bogus", deny: "on" }]) {
        const { route, res } = await call("POST", "/console/incidents", role, body);
        assert.equal(route.needs, "read");
        assert.equal(res.status, 403, `${role} ${JSON.stringify(body)}`);
        assert.match(await res.text(), /needs the admin role/);
      }
      assert.equal(runs.length, 0, "nothing ran");
      assert.equal(audited.filter((e) => e.event === "console-incident-refused").length, 4);
    }
  });

  test("a viewer runs a report without containment; an admin with disable + deny; both audited, then downloadable", async () => {
    const { runs, audited, call } = setup();
    const form = await call("GET", "/console/incidents", "viewer");
    const formText = await form.res.text();
    assert.match(formText, /<option value="gone-server"/, "a server seen in the log is offered");
    assert.doesNotMatch(formText, /name="contain"/);

    const viewerRun = await call("POST", "/console/incidents", "viewer", { server: "fx", since: "24h" });
    assert.equal(viewerRun.res.status, 303);
    assert.equal(runs[0]!.disable ?? runs[0]!.remove ?? runs[0]!.deny, undefined, "no containment asked");
    assert.equal(runs[0]!.since, "24h");

    const adminRun = await call("POST", "/console/incidents", "admin", { server: "fx", contain: "disable", deny: "on" });
    assert.equal(adminRun.res.status, 303);
    assert.equal(runs[1]!.disable, true);
    assert.equal(runs[1]!.deny, true);
    const recorded = audited.filter((e) => e.event === "console-incident");
    assert.equal(recorded.length, 2);
    assert.equal(recorded[1]!.principal?.subject, "user-x");
    assert.equal(recorded[1]!.server, "bad");
    assert.deepEqual([recorded[1]!.detail?.containment, recorded[1]!.detail?.deny, recorded[1]!.detail?.contained], ["disable", true, true]);

    const location = adminRun.res.headers.get("location")!;
    assert.match(location, /^\/console\/incidents\/[A-Za-z0-9_-]{22}$/);
    const page = await call("GET", location, "viewer");
    assert.equal(page.res.status, 200);
    const md = await call("GET", `${location}.md`, "viewer");
    assert.match(md.res.headers.get("content-disposition") ?? "", /^attachment; filename="incident-bad-20260111T000000\.md"$/);
    assert.match(md.res.headers.get("content-type") ?? "", /^text\/markdown/);
    assert.match(await md.res.text(), /^# Incident report: bad/);
    const json = await call("GET", `${location}.json`, "viewer");
    assert.equal((JSON.parse(await json.res.text()) as IncidentReport).contain.containment.deny, true);
    const missing = await call("GET", `/console/incidents/${"Z".repeat(22)}.md`, "admin");
    assert.equal(missing.res.status, 404);
  });

  test("a usage error shows the form again with the message, and nothing is audited", async () => {
    const { audited, call } = setup();
    const { res } = await call("POST", "/console/incidents", "admin", { server: "fx", contain: "sideways" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /id="incident-error">unknown containment/);
    assert.equal(audited.length, 0);
  });
});
