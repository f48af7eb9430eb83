// How a held question is put into words, the same in the console (src/fronts/console/pages.ts) and
// on the terminal (src/cli/approvals.ts): answer labels, time left, what happens to the held call,
// and text made visible (the arguments and a changed tool's diff are written by whoever steers the
// model, so no character in them may hide). Pure: no I/O.
import type { ApprovalAnswer, PendingApproval } from "./broker.js";
import { hasInvisibleCharacters, visibleText } from "../policy/integrity/display.js";

export const ANSWER_LABELS: Record<ApprovalAnswer, string> = {
  "allow-once": "Allow once",
  "allow-session": "Allow for this session",
  "allow-always": "Always allow (adds an allow rule to your local settings)",
  deny: "Deny",
};

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
