// The console's HTML: one tagged template, `html`, through which every page is written. Whatever is
// interpolated is untrusted by default: a plain string has its invisible characters made visible
// (visibleText: control, bidi, zero-width and tag characters shown as escapes) and is then
// HTML-escaped, so a tool name, an argument or a reason from an agent or a server can neither inject
// markup nor hide text. Only two things pass otherwise: the result of another `html` template (already
// built this way) and `preformatted(text)`, text already made visible line by line (renderArguments,
// visibleLines), which is HTML-escaped but keeps its line feeds. Pure: no I/O.
import { visibleText } from "../../policy/integrity/display.js";

/** Where serve mounts the console. */
export const CONSOLE_PATH = "/console";

/** Markup built by `html`: safe to interpolate as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Text already made visible (every line passed through visibleText): escaped, line feeds kept. */
class Preformatted {
  constructor(readonly text: string) {}
}

export type Interpolated = Html | Preformatted | string | number | boolean | undefined | null | readonly Interpolated[];

/** HTML-escapes text; safe in element content and in double- or single-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** For text that renderArguments or visibleLines has already made visible. */
export function preformatted(text: string): Preformatted {
  return new Preformatted(text);
}

function piece(v: Interpolated): string {
  if (v === undefined || v === null || v === false) return "";
  if (v instanceof Html) return v.text;
  if (v instanceof Preformatted) return escapeHtml(v.text);
  if (Array.isArray(v)) return v.map(piece).join("");
  return escapeHtml(visibleText(String(v)));
}

/** The template every page is written with (see the file's comment for what it escapes and how). */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += piece(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** A query string from parameters (empty ones left out), for links built by pages. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * No inline script or style anywhere: the console's only script and stylesheet are its own static
 * files. Referrer-Policy is same-origin rather than no-referrer: with no-referrer a browser sends
 * `Origin: null` on every POST, and the front's Origin check (remote.allowedOrigins) needs the real
 * one; a Referer still never leaves the console's origin.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

export interface Viewer {
  /** Who is signed in, as shown in the header. */
  name: string;
  role: string;
  csrf: string;
}

const NAV: readonly [path: string, label: string][] = [
  ["/console", "Overview"],
  ["/console/approvals", "Approvals"],
  ["/console/activity", "Activity"],
  ["/console/servers", "Servers"],
  ["/console/policy", "Policy"],
  ["/console/incidents", "Incidents"],
];

/**
 * A whole page. `live`: the script refreshes the elements marked data-live every few seconds.
 * `script: false`: the page has no script at all (run's page server's own page for /a/...).
 */
export function layout(opts: { title: string; viewer?: Viewer; current?: string; live?: boolean; script?: boolean }, body: Html): Html {
  const nav = opts.viewer
    ? html`<nav>${NAV.map(([path, label]) => html`<a href="${path}"${opts.current === path ? html` aria-current="page"` : ""}>${label}</a>`)}</nav>
<form class="signout" method="post" action="/console/signout"><input type="hidden" name="csrf" value="${opts.viewer.csrf}"><span class="who">${opts.viewer.name} (${opts.viewer.role})</span> <button type="submit">Sign out</button></form>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${opts.viewer ? html`<meta name="csrf-token" content="${opts.viewer.csrf}">` : ""}
<title>${opts.title} · mcp-warden</title>
<link rel="stylesheet" href="/console/static/console.css">
${opts.script === false ? "" : html`<script src="/console/static/console.js" defer></script>`}
</head>
<body${opts.live ? html` data-refresh="5"` : ""}>
<header><span class="brand">mcp-warden</span>${nav}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** An HTML response with the console's headers. */
export function htmlResponse(status: number, page: Html, headers: Record<string, string> = {}): Response {
  return new Response(page.text, { status, headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", ...headers } });
}

/** A page that says what happened and what to do next. */
export function messagePage(status: number, title: string, message: Html | string, viewer?: Viewer, headers: Record<string, string> = {}): Response {
  return htmlResponse(status, layout({ title, ...(viewer ? { viewer } : {}) }, html`<h1>${title}</h1>\n<p>${message}</p>`), headers);
}

/**
 * A page that sets cookies and goes on to `to` by a meta refresh (with a link for the reader), not a
 * redirect. After a sign-in: a navigation that began outside the console (the provider's cross-site
 * redirect, a link from a terminal) would not carry a SameSite=Strict cookie into a redirect's next
 * request; from this page it does. After a sign-out: the browser got here by submitting a form, and
 * the CSP's form-action would stop a redirect to the provider's origin.
 */
function continuePage(title: string, message: Html, linkText: string, to: string, setCookies: readonly string[]): Response {
  const headers = new Headers({ ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" });
  for (const c of setCookies) headers.append("set-cookie", c);
  const page = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${to}"><title>${title} · mcp-warden</title><link rel="stylesheet" href="/console/static/console.css"></head><body><main><p>${message} <a id="continue" href="${to}">${linkText}</a>.</p></main></body></html>`;
  return new Response(page.text, { status: 200, headers });
}

/** The end of a sign-out: on to the identity provider's end-session page. */
export function signedOutResponse(providerUrl: string, setCookie: string): Response {
  return continuePage("Signed out", html`You are signed out of the console.`, "Sign out at the identity provider too", providerUrl, [setCookie]);
}

/** The end of a sign-in: the cookies set, on to `returnTo`. */
export function signedInResponse(returnTo: string, setCookies: readonly string[]): Response {
  return continuePage("Signed in", html`Signed in.`, "Continue", returnTo, setCookies);
}
