// How long the console's pages take to answer on an audit log of 100,000 records, with the file
// log and with PostgreSQL. The console runs in this process (the same createConsole serve builds,
// its real page routes and activity sources); only the sign-in is a bench adapter that hands out an
// admin session, since the OIDC round trip is not what is measured. Each page is asked `n` times
// after one cold request; the numbers are the server's time from request to response body.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ApprovalBroker } from "../src/approvals/broker.js";
import { AuditLog } from "../src/audit/log.js";
import { PostgresAuditSink } from "../src/audit/postgres.js";
import type { AuditEntry, AuditSink } from "../src/audit/index.js";
import { fileActivity, postgresActivity, type ActivitySource } from "../src/fronts/console/activity.js";
import { createConsole } from "../src/fronts/console/console.js";
import { html } from "../src/fronts/console/html.js";
import { ConsoleSessions, SESSION_COOKIE } from "../src/fronts/console/sessions.js";
import { approverActions } from "../src/fronts/http/approvals-endpoint.js";
import { loadSettings } from "../src/settings/index.js";
import { initStateSchema } from "../src/state/postgres-schema.js";
import { pgScratch, postgresUnavailable } from "../test/e2e/postgres-harness.js";
import { median } from "./stdio.js";

export interface PageTiming {
  page: string;
  coldMs: number;
  p50Ms: number;
  p95Ms: number;
}

export interface ConsolePagesBenchResult {
  records: number;
  file: PageTiming[];
  postgres?: PageTiming[];
  postgresSkipped?: string;
}

const TOOLS = ["mcp__github__create_issue", "mcp__github__list_issues", "mcp__fs__read_file", "mcp__fs__write_file", "mcp__db__query"];
const USERS = ["user-alice", "user-bob", "user-carol", "user-dave"];

/** A realistic mix: each call is a decision record and, unless denied, an outcome record. */
function entry(i: number): AuditEntry {
  const call = Math.floor(i / 2);
  const tool = TOOLS[call % TOOLS.length]!;
  const decision = call % 50 === 7 ? "deny" : call % 20 === 3 ? "ask" : "allow";
  const principal = { subject: USERS[call % USERS.length]!, method: "oidc", issuer: "https://idp.example" };
  const base = { server: tool.split("__")[1]!, tool, id: `${call}`, principal } as const;
  if (i % 2 === 0) return { kind: "call", event: "decided", ...base, decision, rule: decision === "allow" ? tool : decision === "deny" ? "mcp__fs__write_file" : "mcp__github__*", reason: `${decision} by rule`, arguments: { path: `/srv/data/${call}.txt`, n: call } };
  return { kind: "call", event: "outcome", ...base, outcome: decision === "deny" ? "denied" : "ok", durationMs: 1 + (call % 7) };
}

function fill(sink: AuditSink, n: number): void {
  for (let i = 0; i < n; i++) sink.append(entry(i));
}

const single = (ms: number) => ({ coldMs: ms, p50Ms: ms, p95Ms: ms });

/** `logAt`: where the settings say the audit log is (the incident run reads it from there). */
async function timePages(activity: ActivitySource, settingsDir: string, logAt: Record<string, unknown>, n: number, more?: () => void): Promise<PageTiming[]> {
  const settingsFile = join(settingsDir, "settings.json");
  writeFileSync(settingsFile, JSON.stringify({ permissions: { allow: ["mcp__github__*"], deny: ["mcp__fs__write_file"] }, ...logAt }));
  const env = { HOME: settingsDir, PATH: process.env.PATH, MCP_WARDEN_MANAGED_DIR: join(settingsDir, "managed") };
  const settings = loadSettings({ cwd: settingsDir, env, cliFiles: [settingsFile] });
  const sessions = new ConsoleSessions({ idleMs: 3_600_000, maxMs: 3_600_000 });
  const { cookie, session } = sessions.create({ subject: "bench-admin", groups: [], scopes: [], method: "oidc", issuer: "https://idp.example" }, "bench");
  const audit = AuditLog.open({ dir: mkdtempSync(join(tmpdir(), "warden-bench-console-own-")), fsyncIntervalMs: 1000, secrets: [] });
  const broker = new ApprovalBroker({ timeoutMs: 60_000 });
  const console = createConsole({
    signIn: () => ({
      open: async () => undefined,
      signInPath: () => undefined,
      howToSignIn: html`bench`,
      roleOf: () => "admin",
      noRole: () => html`bench`,
    }),
    sessions,
    publicOrigin: "http://127.0.0.1:1",
    session: { idleMs: 3_600_000, maxMs: 3_600_000 },
    settings: () => settings,
    env,
    cwd: settingsDir,
    approvals: approverActions(broker, audit),
    servers: () => [{ name: "github", state: "ready" }, { name: "fs", state: "ready" }, { name: "db", state: "ready" }],
    activity,
    audit,
  });
  const get = async (path: string): Promise<number> => {
    const request = new Request(`http://127.0.0.1:1${path}`, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    const t = process.hrtime.bigint();
    const res = await console.handle({ request, body: "", address: "127.0.0.1", proto: "http", hostAllowed: true });
    const text = await res.text();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (res.status !== 200) throw new Error(`the console answered ${res.status} for ${path}: ${text.slice(0, 300)}`);
    return ms;
  };
  const out: PageTiming[] = [];
  // serve reads the chart's hour once at start, before anyone signs in: timed on its own.
  out.push({ page: "Overview, the first request after start (waits for the chart's first read of the hour)", ...single(await get("/console")) });
  const first = await activity.page({}, undefined, 1);
  const ref = first.records[0]?.ref;
  if (!ref) throw new Error("the bench log has no records");
  const pages: [string, string][] = [
    ["Overview (chart of the last hour from memory, open questions, recent denials)", "/console"],
    ["Activity, newest 50", "/console/activity"],
    ["Activity, denials only", "/console/activity?decision=deny"],
    ["Activity, one principal and tool", "/console/activity?principal=user-bob&tool=mcp__fs__*"],
    ["Activity, a tool no record has (the scan bound)", "/console/activity?tool=mcp__none__x"],
    ["A record with today's check answer", `/console/activity/${ref}`],
  ];
  try {
    for (const [page, path] of pages) {
      const coldMs = await get(path);
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push(await get(path));
      times.sort((a, b) => a - b);
      out.push({ page, coldMs, p50Ms: median(times), p95Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.95))]! });
    }
    // An incident report over the whole log (POST, then its page): the two bounded passes and
    // `audit verify` of the range. Not a page view: a run a person starts and waits for.
    {
      const request = new Request("http://127.0.0.1:1/console/incidents", {
        method: "POST",
        headers: { cookie: `${SESSION_COOKIE}=${cookie}`, "content-type": "application/x-www-form-urlencoded" },
      });
      const body = new URLSearchParams({ csrf: session.csrf, server: "github", since: "1h", contain: "none" }).toString();
      const t = process.hrtime.bigint();
      const res = await console.handle({ request, body, address: "127.0.0.1", proto: "http", hostAllowed: true });
      const location = res.headers.get("location");
      if (res.status !== 303 || !location) throw new Error(`the incident run answered ${res.status}: ${(await res.text()).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(-700)}`);
      const runMs = Number(process.hrtime.bigint() - t) / 1e6;
      out.push({ page: "An incident report over the whole log (run once: POST, both passes, audit verify)", ...single(runMs) });
      const pageMs = await get(location);
      out.push({ page: "The finished incident report's page", ...single(pageMs) });
    }
    if (more) {
      // A chart refresh after more records arrived: the file source reads only the new ones.
      more();
      const t = process.hrtime.bigint();
      await activity.callsPerMinute(new Date(Date.now() - 3_600_000));
      out.push({ page: "The chart's refresh after 1,000 more records (in the background, every 5 s at most)", ...single(Number(process.hrtime.bigint() - t) / 1e6) });
    }
  } finally {
    await console.close();
    await audit.close();
  }
  return out;
}

export async function runConsolePagesBench(quick: boolean): Promise<ConsolePagesBenchResult> {
  const records = quick ? 10_000 : 100_000;
  const n = quick ? 5 : 20;
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-console-"));
  try {
    const fileLog = AuditLog.open({ dir: join(dir, "audit"), fsyncIntervalMs: 1000, secrets: [] });
    fill(fileLog, records);
    await fileLog.flush();
    const file = await timePages(fileActivity(join(dir, "audit")), dir, { audit: { dir: join(dir, "audit") } }, n, () => {
      for (let i = 0; i < 1000; i++) fileLog.append(entry(records + i));
    });
    await fileLog.close();
    const result: ConsolePagesBenchResult = { records, file };
    const unavailable = await postgresUnavailable();
    if (unavailable) return { ...result, postgresSkipped: unavailable };
    const scratch = await pgScratch();
    try {
      const c = new pg.Client({ connectionString: scratch.adminUrl });
      await c.connect();
      await initStateSchema(c);
      await c.end();
      const sink = new PostgresAuditSink({ url: scratch.adminUrl });
      fill(sink, records);
      await sink.close();
      const v = new pg.Client({ connectionString: scratch.adminUrl });
      await v.connect();
      await v.query("ANALYZE");
      await v.end();
      return { ...result, postgres: await timePages(postgresActivity(scratch.adminUrl), dir, { audit: { dir: join(dir, "audit") }, state: { postgres: scratch.adminUrl } }, n) };
    } finally {
      await scratch.drop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (x: number) => (x < 10 ? x.toFixed(1) : Math.round(x).toString());

export function consolePagesSection(r: ConsolePagesBenchResult): string[] {
  const rows = (t: PageTiming[]) => t.map((p) => `| ${p.page} | ${ms(p.coldMs)} | ${ms(p.p50Ms)} | ${ms(p.p95Ms)} |`);
  return [
    "## The console's pages on a large audit log",
    "",
    `The console of \`serve\` in this process (its real routes and activity sources; a bench sign-in hands out an admin session) answering each page on an audit log of ${r.records.toLocaleString("en-US")} records (half decisions, half outcomes, all within the last hour, the chart's worst case). Milliseconds from request to the whole body; "cold" is the first request, then the median and 95th percentile of the next ones. Target: every page within 100 ms.`,
    "",
    "### File audit log",
    "",
    "| page | cold | p50 | p95 |",
    "|---|---:|---:|---:|",
    ...rows(r.file),
    "",
    "### PostgreSQL audit log",
    "",
    ...(r.postgres ? ["| page | cold | p50 | p95 |", "|---|---:|---:|---:|", ...rows(r.postgres)] : [`Not measured: ${r.postgresSkipped}.`]),
    "",
    "How: an activity page reads the log newest first from its end and stops when the page is full or after 20,000 records (then it offers to continue with the next 20,000), so its cost does not grow with the log; on PostgreSQL it is one keyset query on the time index, never OFFSET. The overview's chart of the hour is read once when serve starts, then kept in memory and refreshed in the background at most every 5 s; with the file log a refresh reads only the records appended since the last one. Long synchronous reads give way to the event loop every 2,000 records, so the gateway's calls are not held up behind a page. An incident report is a run a person starts and waits for, not a page view: it reads the range twice (bounded passes) and verifies the audit chain, so it costs in proportion to the log; its finished page is served from memory.",
    "",
  ];
}
