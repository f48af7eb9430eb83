// The question page of `run`'s local page server (/a/ID?t=TOKEN) and its message pages, in the
// console's look: its layout and stylesheet, under its strict CSP (no inline style or script), written
// with its `html` template, which makes every invisible character visible and escapes. The arguments
// shown are written by whoever steers the model; nothing on the page is executable. Pure: no I/O.
import type { ApprovalAnswer, PendingApproval } from "../approvals/broker.js";
import { CONSOLE_PATH, type Html, html, layout, preformatted, SECURITY_HEADERS } from "../fronts/console/html.js";
import { hasInvisibleCharacters, renderArguments, visibleText } from "../policy/integrity/display.js";

export const ANSWER_LABELS: Record<ApprovalAnswer, string> = {
  "allow-once": "Allow once",
  "allow-session": "Allow for this session",
  "allow-always": "Always allow (adds an allow rule to your local settings)",
  deny: "Deny",
};

/**
 * The console's headers, but no Referer at all: the question page's URL carries its token. (Its
 * form then posts with `Origin: null`, which the page server accepts only with Sec-Fetch-Site
 * same-origin.)
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = { ...SECURITY_HEADERS, "referrer-policy": "no-referrer" };

const TITLE = "Approval needed";

/** Multi-line text made visible line by line; a CR before LF goes with the line break. */
export function visibleLines(s: string): string {
  return s.split(/\r?\n/).map(visibleText).join("\n");
}

/** Whether any key or string anywhere in a JSON-like value holds characters a reader would not see. */
export function hasHiddenCharacters(v: unknown, depth = 0): boolean {
  if (depth > 64) return true; // Too deep to check cheaply: warn rather than vouch for it.
  if (typeof v === "string") return hasInvisibleCharacters(v);
  if (Array.isArray(v)) return v.some((x) => hasHiddenCharacters(x, depth + 1));
  if (v && typeof v === "object") return Object.entries(v).some(([k, x]) => hasInvisibleCharacters(k) || hasHiddenCharacters(x, depth + 1));
  return false;
}

export function formatTimeLeft(ms: number): string {
  if (ms <= 0) return "expired";
  const s = Math.ceil(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/** What happens to the request while the question is open. */
export function holdingNote(p: PendingApproval): string {
  const window = p.retryWindowMs !== undefined ? formatWindow(p.retryWindowMs) : undefined;
  if (p.callEnded && window) return `The call has ended: its client could not wait for you. If you allow it, the identical call (same arguments) goes through once when it is retried within ${window} of your answer.`;
  if (window) return `mcp-warden is holding this request until you answer. If its client stops waiting first, allowing it lets the identical call through once when it is retried within ${window}.`;
  return "mcp-warden is holding this request until you answer.";
}

function formatWindow(ms: number): string {
  return ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
}

/** The link from every page of the page server into the console (which needs a ticket of its own). */
const consoleLink = html`<p class="muted console-link"><a href="${CONSOLE_PATH}">All questions and activity in the console</a> (opened with a link from <code>mcp-warden console</code>).</p>`;

/** A page without the console's script: nothing on the page server's own pages runs. */
function page(title: string, body: Html): string {
  return layout({ title, script: false }, html`${body}\n${consoleLink}`).text;
}

export function messagePage(heading: string, message: Html | string): string {
  return page(heading, html`<h1>${heading}</h1>\n<p>${message}</p>`);
}

export function gonePage(): string {
  return messagePage(
    "This approval is no longer pending",
    html`It was answered (here, in the client, in the console or with <code>mcp-warden approvals</code>), it expired (an unanswered question is denied), or the gateway stopped. Nothing more to do on this page.`,
  );
}

export function invalidLinkPage(afterPost: boolean): string {
  return messagePage(
    "This link is not valid",
    afterPost
      ? "The token is wrong or was already used, or the approval is no longer pending (answered elsewhere or expired). Nothing was answered."
      : html`The link's token is wrong or was already used. Answer in the console (run <code>mcp-warden console</code> for a sign-in link), or run <code>mcp-warden approvals list</code> and <code>mcp-warden approvals approve ID</code>.`,
  );
}

const KIND_HEADINGS: Record<PendingApproval["kind"], string> = {
  call: "A tool call is waiting for your approval",
  "tool-change": "A tool's definition changed",
  server: "A server's launch configuration is new or changed",
  "client-request": "A server asks to use your client",
};

/** The question, every argument in full, and one button per answer the question offers. */
export function questionPage(p: PendingApproval, token: string, now: number): string {
  const rows: Html[] = [];
  const row = (k: string, v: Html | string) => rows.push(html`<dt>${k}</dt><dd>${v}</dd>`);
  row("Server", html`<code>${p.server}</code>`);
  if (p.tool !== undefined) row("Tool", html`<code>${p.tool}</code>`);
  if (p.method !== undefined) row("Request", html`<code>${p.method}</code>`);
  row("Reason", p.reason);
  if (p.rule !== undefined) row("Rule", html`<code>${p.rule}</code>${p.ruleFile !== undefined ? html` in <code>${p.ruleFile}</code>` : ""}`);
  else if (p.ruleFile !== undefined) row("Rule file", html`<code>${p.ruleFile}</code>`);
  row("Time left", html`${formatTimeLeft(p.expiresAt - now)} <span class="muted">(then it is denied; reload for the current time)</span>`);
  if (p.argumentsDigest !== undefined) row("Arguments digest", html`<code>${p.argumentsDigest}</code>`);
  row("Request id", html`<code>${p.id}</code>`);
  // No autofocus and no default: a stray Enter must not answer. Deny is styled apart.
  const buttons = p.answers.map((a) => html`<button type="submit" name="answer" value="${a}"${a === "deny" ? html` class="deny"` : ""}>${ANSWER_LABELS[a]}</button>\n`);
  const body = html`<h1>${KIND_HEADINGS[p.kind] ?? "Approval needed"}</h1>
<p class="sub">${holdingNote(p)}</p>
${p.arguments !== undefined && hasHiddenCharacters(p.arguments) ? html`<p class="warn"><strong>Hidden characters:</strong> the arguments contain control, zero-width, bidirectional or tag characters. They are shown below as visible escapes; read them before you allow.</p>` : ""}
<dl>${rows}</dl>
${p.arguments !== undefined ? html`<h2 class="muted">Arguments (in full, exactly as they will be forwarded)</h2><pre id="arguments">${preformatted(renderArguments(p.arguments, { width: 100 }))}</pre>` : ""}
${p.diff !== undefined ? html`<h2 class="muted">What changed</h2><pre id="diff">${preformatted(visibleLines(p.diff))}</pre>` : ""}
<form method="post" action="/a/${encodeURIComponent(p.id)}" class="answers">
<input type="hidden" name="t" value="${token}">
${buttons}</form>
<p class="muted">This link works once. You can also answer with <code>mcp-warden approvals approve ${p.id}</code> or <code>mcp-warden approvals deny ${p.id}</code>.</p>`;
  return page(TITLE, body);
}

export function answeredPage(p: PendingApproval, answer: ApprovalAnswer): string {
  const what = p.tool !== undefined ? html`<code>${p.tool}</code> on <code>${p.server}</code>` : html`<code>${p.server}</code>`;
  const retry = p.callEnded && p.retryWindowMs !== undefined ? html` Its call has ended: retry it, with the same arguments, within ${formatWindow(p.retryWindowMs)}; it goes through once.` : "";
  const outcome: Record<ApprovalAnswer, Html> = {
    "allow-once": p.callEnded ? html`Allowed once: ${what}.${retry}` : html`Allowed once: ${what} proceeds with the arguments shown.`,
    "allow-session": p.callEnded
      ? html`Allowed for this session: calls of ${what} are allowed until the gateway restarts or the rules change.${retry}`
      : html`Allowed for this session: ${what} proceeds, and later calls of it are allowed until the gateway restarts or the rules change.`,
    "allow-always": p.callEnded
      ? html`Always allowed: an allow rule for ${what} is added to your local settings.${retry}`
      : html`Always allowed: ${what} proceeds, and an allow rule is added to your local settings.`,
    deny: html`Denied: ${what} is refused.`,
  };
  return messagePage(answer === "deny" ? "Denied" : "Allowed", html`${outcome[answer]} You can close this page.`);
}
