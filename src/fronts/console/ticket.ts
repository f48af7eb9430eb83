// One-time tickets into `run`'s local console. `mcp-warden console` mints one from the admin token
// in the gateway's 0600 status file (so only the same OS user can), and the gateway's local page
// server checks it: a random nonce, an expiry and an HMAC of both under the admin token. A ticket is
// short-lived and single use (the console remembers the nonces it took until they expire). Pure but
// for the clock and randomness the callers pass in; no I/O.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** How long a ticket opens the console. */
export const TICKET_TTL_MS = 5 * 60_000;
/** The path a ticket opens. */
export const ENTER_PATH = "/console/enter";

const VERSION = "v1";
const SHAPE = /^v1\.([A-Za-z0-9_-]{22})\.([0-9]{13,15})\.([A-Za-z0-9_-]{43})$/;

function mac(key: string, nonce: string, expiresAt: string): Buffer {
  // Domain-separated: the admin token also authenticates the approvals API, never as this.
  return createHmac("sha256", key).update(`mcp-warden console ticket ${VERSION}\n${nonce}\n${expiresAt}`).digest();
}

/** A fresh ticket under `key` (the gateway's admin token), valid for TICKET_TTL_MS from `now`. */
export function mintTicket(key: string, now: number = Date.now(), nonce: string = randomBytes(16).toString("base64url")): string {
  const expiresAt = String(now + TICKET_TTL_MS);
  return `${VERSION}.${nonce}.${expiresAt}.${mac(key, nonce, expiresAt).toString("base64url")}`;
}

/** The link a ticket opens, on the gateway's local origin (http://127.0.0.1:PORT). */
export function ticketUrl(origin: string, ticket: string): string {
  return `${origin}${ENTER_PATH}?t=${encodeURIComponent(ticket)}`;
}

export type TicketCheck = { ok: true; nonce: string; expiresAt: number } | { ok: false; reason: string };

/**
 * Whether `ticket` was minted under `key` and is still valid at `now`. Single use is the caller's
 * (TicketGate): this only checks shape, signature and time. An expiry further out than a ticket's
 * lifetime is refused too, whoever signed it.
 */
export function checkTicket(ticket: string | null | undefined, key: string, now: number = Date.now()): TicketCheck {
  const m = typeof ticket === "string" ? SHAPE.exec(ticket) : null;
  if (!m) return { ok: false, reason: "the link is incomplete or not a console link" };
  const [, nonce, expires, given] = m as unknown as [string, string, string, string];
  if (!timingSafeEqual(mac(key, nonce, expires), Buffer.from(given, "base64url"))) return { ok: false, reason: "the link was not made by this gateway (it is forged, or from another gateway or an earlier run)" };
  const expiresAt = Number(expires);
  if (expiresAt <= now) return { ok: false, reason: "the link has expired (a link works for five minutes)" };
  if (expiresAt > now + TICKET_TTL_MS) return { ok: false, reason: "the link's expiry is further out than a link may be valid" };
  return { ok: true, nonce, expiresAt };
}

/**
 * Tickets taken: each nonce once, remembered until its ticket expires. Bounded: when it holds `max`
 * live nonces, further tickets are refused (fail closed) until some expire, rather than forgetting
 * one that could then be used again.
 */
export class TicketGate {
  private readonly taken = new Map<string, number>();

  constructor(
    private readonly key: string,
    private readonly opts: { max?: number; now?: () => number } = {},
  ) {}

  take(ticket: string | null | undefined): TicketCheck {
    const now = (this.opts.now ?? Date.now)();
    const checked = checkTicket(ticket, this.key, now);
    if (!checked.ok) return checked;
    for (const [n, until] of this.taken) if (until <= now) this.taken.delete(n);
    if (this.taken.has(checked.nonce)) return { ok: false, reason: "the link was already used (a link works once)" };
    if (this.taken.size >= (this.opts.max ?? 1000)) return { ok: false, reason: "too many links were used in the last five minutes; wait a few minutes" };
    this.taken.set(checked.nonce, checked.expiresAt);
    return checked;
  }
}
