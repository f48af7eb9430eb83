// `mcp-warden approvals list [--json] | approve ID [--session|--always] | deny ID`: answers the
// questions running gateways hold, through each gateway's local approval API. Gateways are found by
// their status files (`<runtimeDir>/<pid>.json`, field `approvals: {url, token}`); requests go to
// 127.0.0.1 only, so a tampered status file cannot send the admin token anywhere else.
//
// A question about a call whose client could not wait also lives on disk (src/adapters/grant-store.ts):
// when no running gateway holds it (the gateway stopped), it is listed and answered there, and the
// answer is audited here; the next gateway lets the identical call through once when it is retried.
//
// `list` only reads, so the Claude Code hook lets an agent run it: it never prints anything that
// answers a question (an older gateway's question page link). It names the console's Approvals page
// instead, which needs a sign-in link from `mcp-warden console` (a command the hook asks about).
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { APPROVAL_ANSWERS, type ApprovalAnswer, type PendingApproval } from "../approvals/broker.js";
import { hasHiddenCharacters, visibleLines } from "../approvals/display.js";
import { formatMinutes } from "../approvals/retry-grants.js";
import { HeldCallStore, type StoredHeldCall } from "../adapters/grant-store.js";
import { writeLocalAllowRule } from "../adapters/local-rules.js";
import { AuditLog } from "../audit/index.js";
import { hasInvisibleCharacters, renderArguments, visibleText } from "../policy/integrity/display.js";
import { runtimeDir } from "../settings/paths.js";
import { isAlive } from "../upstream/orphans.js";

export type ApprovalsAction = "list" | "approve" | "deny";

export interface ApprovalsOptions {
  id?: string;
  scope?: "once" | "session" | "always";
  json?: boolean;
  env: NodeJS.ProcessEnv;
  /** Per-request timeout (tests shorten it). */
  timeoutMs?: number;
}

export interface GatewayEndpoint {
  pid: number;
  /** Always http://127.0.0.1:PORT or http://localhost:PORT. */
  url: URL;
  token: string;
}

/**
 * `stored`: a question on disk that no running gateway holds (its call has ended). `console`: the
 * Approvals page of the holding gateway's local console (no token: it needs a sign-in).
 */
type Listed = PendingApproval & { console?: string; stored?: boolean };

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_RESPONSE = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5_000;

export async function approvalsCommand(action: ApprovalsAction, opts: ApprovalsOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const fail = (code: number, msg: string) => {
    err.write(`mcp-warden approvals: ${msg}\n`);
    return code;
  };
  if (action !== "list" && action !== "approve" && action !== "deny") return fail(2, `unknown action ${JSON.stringify(visibleText(String(action)))} (list, approve or deny)`);
  if (action === "list" && (opts.id !== undefined || opts.scope !== undefined)) return fail(2, "list takes no id, --session or --always");
  if (action !== "list") {
    if (opts.id === undefined || opts.id === "") return fail(2, `${action} needs the approval's id (see mcp-warden approvals list)`);
    if (!ID_RE.test(opts.id)) return fail(2, `${JSON.stringify(visibleText(opts.id))} is not an approval id`);
    if (action === "deny" && opts.scope !== undefined && opts.scope !== "once") return fail(2, "deny takes no --session or --always");
    if (opts.scope !== undefined && !["once", "session", "always"].includes(opts.scope)) return fail(2, `unknown scope ${JSON.stringify(visibleText(String(opts.scope)))}`);
  }
  if (opts.json && action !== "list") return fail(2, "--json applies to list only");

  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const statuses = readGatewayStatuses(opts.env, (m) => err.write(`mcp-warden approvals: warning: ${m}\n`));
  const gateways = statuses.flatMap((g) => (g.approvals ? [g.approvals] : []));
  // run's gateways serve a console on their page server; serve's page server has none.
  const consoleOf = new Map(statuses.flatMap((g) => (g.approvals && g.console?.enabled === true ? [[g.pid, `${g.approvals.url.origin}/console/approvals`] as const] : [])));
  // Questions whose call ended, on disk; those a running gateway still holds are answered through it.
  const store = HeldCallStore.forEnv(opts.env);
  const problems: string[] = [];
  const stored = store.list(problems).filter((e) => e.status.state === "pending");
  for (const p of problems) err.write(`mcp-warden approvals: warning: ${visibleText(p)}\n`);
  if (gateways.length === 0 && stored.length === 0) {
    if (action !== "list" && store.get(opts.id!) !== undefined) return answerStored(action, store, opts, out, err);
    return fail(1, `no running gateway with an approval page (status files are read from ${visibleText(runtimeDir(opts.env))}), and no stored question (${visibleText(store.dir)})`);
  }

  // Every gateway's pending list; one that does not answer is reported and skipped.
  const lists: { gateway: GatewayEndpoint; approvals: Listed[] }[] = [];
  for (const g of gateways) {
    try {
      const r = await call(g, "GET", "/api/approvals", undefined, timeoutMs);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      const page = consoleOf.get(g.pid);
      lists.push({ gateway: g, approvals: parseList(r.body).map((a) => (page !== undefined ? { ...a, console: page } : a)) });
    } catch (e) {
      err.write(`mcp-warden approvals: warning: gateway pid ${g.pid} did not answer: ${visibleText((e as Error).message)}\n`);
    }
  }
  if (lists.length === 0 && stored.length === 0) return fail(1, "no running gateway answered");
  const live = new Set(lists.flatMap((l) => l.approvals.map((a) => a.id)));
  const orphans = stored.filter((e) => !live.has(e.question.id));

  if (action === "list") {
    const all = [...lists.flatMap((l) => l.approvals.map((a) => ({ ...a, gateway: l.gateway.pid }))), ...orphans.map(listedFromStore)];
    if (opts.json) {
      out.write(terminalSafeJson({ approvals: all }) + "\n");
      return 0;
    }
    if (all.length === 0) {
      out.write("no pending approvals\n");
      return 0;
    }
    for (const [i, a] of all.entries()) {
      if (i > 0) out.write("\n");
      out.write(formatApproval(a, a.gateway));
    }
    return 0;
  }

  const id = opts.id!;
  const answer: ApprovalAnswer = action === "deny" ? "deny" : opts.scope === "session" ? "allow-session" : opts.scope === "always" ? "allow-always" : "allow-once";
  const holder = lists.find((l) => l.approvals.some((a) => a.id === id));
  if (!holder && store.get(id) !== undefined) return answerStored(action, store, opts, out, err);
  if (!holder) return fail(1, `no pending approval ${id} (already answered, expired or never asked; see mcp-warden approvals list)`);
  const pending = holder.approvals.find((a) => a.id === id)!;
  if (!pending.answers.includes(answer)) return fail(1, `${answer} is not an answer to approval ${id} (it accepts ${pending.answers.join(", ")})`);
  let r: { status: number; body: string };
  try {
    r = await call(holder.gateway, "POST", `/api/approvals/${encodeURIComponent(id)}`, JSON.stringify({ answer }), timeoutMs);
  } catch (e) {
    return fail(1, `gateway pid ${holder.gateway.pid} did not answer: ${visibleText((e as Error).message)}`);
  }
  if (r.status !== 200) return fail(1, `approval ${id} not answered: ${visibleText(errorOf(r.body) ?? `HTTP ${r.status}`)}`);
  const what = pending.tool !== undefined ? `${visibleText(pending.tool)} on ${visibleText(pending.server)}` : visibleText(pending.server);
  const done: Record<ApprovalAnswer, string> = {
    "allow-once": "allowed once",
    "allow-session": "allowed for this session",
    "allow-always": "always allowed (an allow rule is added to your local settings)",
    deny: "denied",
  };
  out.write(`${done[answer]}: ${what} (approval ${id}, gateway pid ${holder.gateway.pid})\n`);
  if (pending.callEnded && answer !== "deny" && pending.retryWindowMs !== undefined)
    out.write(`its call has ended: retry it with the same arguments within ${formatMinutes(pending.retryWindowMs)}; it goes through once\n`);
  return 0;
}

/**
 * Answers a question no running gateway holds, on disk: the first answer wins, it is audited in the
 * asking gateway's audit directory, and a later gateway lets the identical call through once.
 */
async function answerStored(action: "approve" | "deny", store: HeldCallStore, opts: ApprovalsOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const fail = (code: number, msg: string) => {
    err.write(`mcp-warden approvals: ${msg}\n`);
    return code;
  };
  const id = opts.id!;
  const problems: string[] = [];
  const entry = store.get(id, problems);
  if (!entry) return fail(1, visibleText(problems[0] ?? `no pending approval ${id} (already answered, expired or never asked; see mcp-warden approvals list)`));
  const q = entry.question;
  const gone = `the gateway that asked (pid ${q.gateway.pid}) ${isAlive(q.gateway.pid) ? "does not answer" : "is no longer running"}`;
  if (entry.status.state !== "pending") return fail(1, `approval ${id} is ${entry.status.state === "expired" ? "expired" : "already answered"}`);
  const answer: ApprovalAnswer = action === "deny" ? "deny" : opts.scope === "always" ? "allow-always" : opts.scope === "session" ? "allow-session" : "allow-once";
  // A session belongs to a running gateway: with none, there is no session to allow.
  if (answer === "allow-session") return fail(1, `--session needs the gateway that asked, and ${gone}: approve once (then retry the call), or use --always`);
  if (!q.answers.includes(answer)) return fail(1, `${answer} is not an answer to approval ${id} (it accepts ${q.answers.join(", ")})`);
  // The answer is audited, or not given: the log opens first, where the gateway that asked keeps it.
  let audit: AuditLog;
  try {
    audit = AuditLog.open({ dir: q.gateway.auditDir, fsyncIntervalMs: 0, ...(q.gateway.auditKeyFile !== undefined ? { hmacKeyFile: q.gateway.auditKeyFile } : {}) });
  } catch (e) {
    return fail(1, `the audit log in ${visibleText(q.gateway.auditDir)} cannot be written (${visibleText((e as Error).message)}); nothing was answered`);
  }
  try {
    const r = store.answer(id, { answer, by: "cli" });
    if (!r.ok) return fail(1, `approval ${id} not answered: ${visibleText(r.reason)}`);
    const until = r.entry.status.state === "granted" ? r.entry.status.until : undefined;
    audit.append({
      kind: "approval",
      event: "answered",
      server: q.server,
      tool: q.binding.tool,
      decision: answer === "deny" ? "deny" : "allow",
      detail: { approval: id, answer, by: "cli", afterCall: true, gatewayRunning: false, ...(until !== undefined ? { retryUntil: new Date(until).toISOString() } : {}) },
    });
    const what = `${visibleText(q.binding.tool)} on ${visibleText(q.server)}`;
    if (answer === "deny") {
      out.write(`denied: ${what} (approval ${id}; ${gone})\n`);
      return 0;
    }
    out.write(`allowed once: ${what} (approval ${id}; ${gone})\n`);
    out.write(`retry the call with the same arguments within ${formatMinutes(q.retryWindowMs)}: a gateway started with the same settings lets it through once\n`);
    if (answer === "allow-always") {
      try {
        out.write(`allow rule ${visibleText(q.binding.tool)} written to ${visibleText(writeLocalAllowRule(q.binding.tool, { cwd: q.gateway.cwd, env: opts.env }))}\n`);
      } catch (e) {
        return fail(1, `the call is allowed once, but the allow rule could not be written: ${visibleText((e as Error).message)}`);
      }
    }
    return 0;
  } finally {
    audit.close();
  }
}

/** A stored question as `list` shows it (as the API lists a pending one). */
function listedFromStore(e: StoredHeldCall): Listed & { gateway: number } {
  const q = e.question;
  return {
    kind: "call",
    id: q.id,
    server: q.server,
    serverIdentity: q.binding.serverIdentity,
    tool: q.binding.tool,
    ...(q.arguments !== undefined ? { arguments: q.arguments } : {}),
    argumentsDigest: q.binding.argumentsDigest,
    reason: q.reason,
    ...(q.rule !== undefined ? { rule: q.rule } : {}),
    ...(q.ruleFile !== undefined ? { ruleFile: q.ruleFile } : {}),
    policyVersion: q.binding.policyVersion,
    // No running gateway: no session to allow.
    answers: q.answers.filter((a) => a !== "allow-session"),
    createdAt: q.createdAt,
    expiresAt: q.expiresAt,
    callEnded: true,
    retryWindowMs: q.retryWindowMs,
    stored: true,
    gateway: q.gateway.pid,
  };
}

/** What a live gateway's status file says about its page server and console. */
export interface GatewayStatusEntry {
  pid: number;
  /** The directory the gateway runs in (its project). */
  cwd?: string;
  /** Its page server's API, once the page server has started. */
  approvals?: GatewayEndpoint;
  /** run's local console: whether it is on (approvals.page); absent for serve and older gateways. */
  console?: { enabled: boolean };
}

/** The status files of live gateways; malformed or foreign entries are reported and skipped. */
export function readGatewayStatuses(env: NodeJS.ProcessEnv, warn: (m: string) => void = () => {}): GatewayStatusEntry[] {
  const dir = runtimeDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") warn(`cannot read ${visibleText(dir)}: ${visibleText((e as Error).message)}`);
    return [];
  }
  const found: GatewayStatusEntry[] = [];
  for (const name of names.sort()) {
    // `<pid>.json` only; `.tmp` files are status updates being written.
    const m = /^([1-9][0-9]{0,9})\.json$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (!isAlive(pid)) continue;
    const file = join(dir, name);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      warn(`ignoring unreadable status file ${visibleText(file)}: ${visibleText((e as Error).message)}`);
      continue;
    }
    const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    // The name says which process owns the file; a file that disagrees is not trusted.
    if (r.pid !== pid) {
      warn(`ignoring malformed status file ${visibleText(file)}`);
      continue;
    }
    const entry: GatewayStatusEntry = { pid };
    if (typeof r.cwd === "string") entry.cwd = r.cwd;
    const c = r.console as Record<string, unknown> | undefined;
    if (typeof c === "object" && c !== null && typeof c.enabled === "boolean") entry.console = { enabled: c.enabled };
    const a = r.approvals as Record<string, unknown> | undefined;
    // No approvals entry: a gateway without an approval page (older, off, or not started yet).
    if (a !== undefined) {
      if (typeof a !== "object" || a === null || typeof a.url !== "string" || typeof a.token !== "string" || a.token === "") {
        warn(`ignoring malformed approvals entry in ${visibleText(file)}`);
      } else {
        const url = loopbackUrl(a.url);
        // Never print the token; the URL is printed without userinfo, query or fragment.
        if (!url) warn(`ignoring approvals url in ${visibleText(file)}: not http://127.0.0.1:PORT or http://localhost:PORT`);
        else entry.approvals = { pid, url, token: a.token };
      }
    }
    found.push(entry);
  }
  return found;
}

/** The URL when it names this machine's loopback over plain http with an explicit port, else undefined. */
export function loopbackUrl(s: string): URL | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" || u.username !== "" || u.password !== "" || u.port === "") return undefined;
  if (u.hostname !== "127.0.0.1" && u.hostname !== "localhost") return undefined;
  return u;
}

/** One HTTP exchange with a gateway's approval API, always to 127.0.0.1, bounded in time and size. */
function call(g: GatewayEndpoint, method: "GET" | "POST", path: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      // The page checks Host; `localhost` is still connected to 127.0.0.1 so no resolver is consulted.
      Host: `${g.url.hostname}:${g.url.port}`,
      Authorization: `Bearer ${g.token}`,
      Accept: "application/json",
    };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    const req = request({ host: "127.0.0.1", port: Number(g.url.port), method, path, headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE) {
          req.destroy(new Error("response too large"));
          return;
        }
        chunks.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", (e) => reject(e.name === "AbortError" ? new Error(`no answer within ${timeoutMs} ms`) : e));
    req.end(body);
  });
}

/**
 * The approvals of an API answer; entries without the fields the output relies on are dropped. An
 * older gateway's answer (from before the question pages were removed) carries each question page's
 * one-time link (`url`): it is dropped here, so it is never printed (whoever holds the link can answer).
 */
function parseList(body: string): Listed[] {
  const v = JSON.parse(body) as { approvals?: unknown };
  if (!Array.isArray(v?.approvals)) throw new Error("malformed answer");
  return v.approvals
    .filter((a): a is Listed & { url?: unknown } => {
      const x = a as Record<string, unknown>;
      return (
        typeof x === "object" &&
        x !== null &&
        typeof x.id === "string" &&
        typeof x.server === "string" &&
        typeof x.reason === "string" &&
        typeof x.expiresAt === "number" &&
        Array.isArray(x.answers) &&
        x.answers.every((y) => (APPROVAL_ANSWERS as readonly unknown[]).includes(y))
      );
    })
    .map(({ url: _link, console: _console, stored: _stored, ...a }) => a);
}

function errorOf(body: string): string | undefined {
  try {
    const e = (JSON.parse(body) as { error?: unknown }).error;
    return typeof e === "string" ? e : undefined;
  } catch {
    return undefined;
  }
}

function timeLeft(ms: number): string {
  if (ms <= 0) return "expired";
  const s = Math.ceil(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

function indent(text: string, by: string): string {
  return text
    .split("\n")
    .map((l) => by + l)
    .join("\n");
}

/** One pending approval for a terminal: every string from the gateway made visible first. */
function formatApproval(a: Listed, gatewayPid: number): string {
  const v = (s: unknown) => visibleText(String(s));
  const where = a.stored ? `asked by gateway pid ${gatewayPid}, ${isAlive(gatewayPid) ? "which does not answer" : "no longer running"}` : `gateway pid ${gatewayPid}`;
  const lines = [`${v(a.id)}  ${v(a.server)}${a.tool !== undefined ? `  ${v(a.tool)}` : ""}${a.method !== undefined ? `  ${v(a.method)}` : ""}  expires in ${timeLeft(a.expiresAt - Date.now())}  (${where})`];
  lines.push(`  reason: ${v(a.reason)}`);
  if (a.callEnded && typeof a.retryWindowMs === "number")
    lines.push(`  the call has ended (its client could not wait): approving lets the identical call through once when it is retried within ${formatMinutes(a.retryWindowMs)}`);
  if (a.rule !== undefined) lines.push(`  rule: ${v(a.rule)}${a.ruleFile !== undefined ? ` (${v(a.ruleFile)})` : ""}`);
  if (a.arguments !== undefined) {
    if (hasHiddenCharacters(a.arguments)) lines.push("  warning: the arguments contain hidden characters (shown as escapes below)");
    lines.push("  arguments:", indent(renderArguments(a.arguments, { width: 96 }), "    "));
  } else if (a.stored) lines.push("  arguments: too large to store; the digest below binds the approval to them");
  if (a.argumentsDigest !== undefined) lines.push(`  arguments digest: ${v(a.argumentsDigest)}`);
  if (a.diff !== undefined) lines.push("  changed:", indent(visibleLines(String(a.diff)), "    "));
  if (typeof a.console === "string") lines.push(`  console: ${v(a.console)} (sign in with \`mcp-warden console\`)`);
  const verbs = [a.answers.includes("allow-once") || a.answers.includes("allow-session") || a.answers.includes("allow-always") ? `mcp-warden approvals approve ${v(a.id)}` : "", a.answers.includes("deny") ? `mcp-warden approvals deny ${v(a.id)}` : ""].filter(Boolean);
  const flags = [a.answers.includes("allow-session") ? "--session" : "", a.answers.includes("allow-always") ? "--always" : ""].filter(Boolean);
  lines.push(`  answer: ${verbs.join("  |  ")}${flags.length ? `  (approve takes ${flags.join(" or ")})` : ""}`);
  return lines.join("\n") + "\n";
}

/**
 * JSON whose text is safe on a terminal: JSON.stringify leaves bidi, zero-width and tag characters
 * raw, so those (and C1 controls) become \u escapes. The value is unchanged for a JSON reader.
 */
function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[^\x20-\x7e\n]/gu, (ch) =>
    hasInvisibleCharacters(ch) || /[\u007f-\u009f]/.test(ch)
      ? [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`).join("")
      : ch,
  );
}
