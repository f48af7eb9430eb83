// What authenticating a request costs in `mcp-warden serve`: a JWT access token from a real OpenID
// provider (oidc-provider under Node 22, test/e2e/oidc.ts; RS256, 2048-bit key) against an API key.
// - In process: src/auth's authenticator timed call by call (the JWKS cached: the normal case), and
//   cold: the first token a fresh authenticator sees (OIDC discovery and the JWKS fetched over
//   127.0.0.1, then the verification).
// - Through serve: autocannon at 16 connections with each credential (serve's CPU per call), and the
//   first request after a fresh start with each credential.
import { generateApiKey, hashApiKey } from "../src/auth/api-keys.js";
import { createAuthenticator } from "../src/auth/authenticator.js";
import { oidcUnavailable, startOidcIssuer } from "../test/e2e/oidc.js";
import { descendants, load, openSession, type HttpTarget, type LoadSample } from "./http-targets.js";
import { SERVE_TOOL, startBenchServe } from "./serve-launch.js";
import { median, summarize } from "./stdio.js";
import { findBenchTool } from "../scripts/bench-tools.js";

export interface TokenCostResult {
  /** Timed authenticate() calls per credential. */
  calls: number;
  apiKeyUs: { p50: number; p99: number };
  jwtUs: { p50: number; p99: number };
  /** First authenticate() of a fresh authenticator (discovery + JWKS + verify), ms, one per sample. */
  coldMs: number[];
  /** Through serve at 16 connections, by credential (absent without autocannon). */
  serveLoad?: { apiKey: LoadSample; jwt: LoadSample };
  /** The first request to a freshly started serve (authenticated, then answered 400: no session), ms. */
  firstRequest: { apiKeyMs: number[]; jwtMs: number[]; jwtSecondMs: number[] };
}

const RESOURCE = "http://127.0.0.1:8787/mcp";

async function timeOne(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1000;
}

/** A request serve authenticates and then refuses cheaply (a 2025-era call without a session): auth is most of its cost. */
async function noSessionPost(url: string, authorization: string): Promise<number> {
  const t = process.hrtime.bigint();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18", authorization },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.text();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (res.status !== 400) throw new Error(`expected 400 (authenticated, no session), got ${res.status}`);
  return ms;
}

export async function runTokenCost(quick = false): Promise<TokenCostResult | { skipped: string }> {
  const unavailable = oidcUnavailable();
  if (unavailable) return { skipped: `the OpenID provider cannot run here: ${unavailable}` };
  const calls = quick ? 500 : 5000;
  const idp = await startOidcIssuer();
  try {
    const key = generateApiKey();
    const auth = { issuer: idp.issuer, apiKeys: { bench: { hash: hashApiKey(key) } } };
    const token = await idp.token("client-a", RESOURCE);
    const a = createAuthenticator({ resource: RESOURCE, auth });
    const apiTimes = new Float64Array(calls);
    const jwtTimes = new Float64Array(calls);
    try {
      const check = async (authorization: string) => {
        const r = await a.authenticate(authorization);
        if (!r.ok) throw new Error(`the bench credential was refused: ${r.description}`);
      };
      for (let i = 0; i < Math.min(1000, calls); i++) {
        await check(`Bearer ${key}`);
        await check(`Bearer ${token}`);
      }
      for (let i = 0; i < calls; i++) {
        apiTimes[i] = await timeOne(() => check(`Bearer ${key}`));
        jwtTimes[i] = await timeOne(() => check(`Bearer ${token}`));
      }
    } finally {
      a.close();
    }
    const coldMs: number[] = [];
    // The first sample also pays this process's first fetch (undici's loading): dropped.
    for (let i = 0; i < (quick ? 3 : 11) + 1; i++) {
      const fresh = createAuthenticator({ resource: RESOURCE, auth });
      try {
        const us = await timeOne(async () => {
          const r = await fresh.authenticate(`Bearer ${token}`);
          if (!r.ok) throw new Error(`cold verification refused the token: ${r.description}`);
        });
        if (i > 0) coldMs.push(us / 1000);
      } finally {
        fresh.close();
      }
    }

    const firstRequest = { apiKeyMs: [] as number[], jwtMs: [] as number[], jwtSecondMs: [] as number[] };
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      for (const which of i % 2 === 0 ? (["jwt", "apiKey"] as const) : (["apiKey", "jwt"] as const)) {
        const b = await startBenchServe({ issuer: idp.issuer });
        try {
          if (which === "apiKey") firstRequest.apiKeyMs.push(await noSessionPost(b.srv.url, b.apiKeyAuth));
          else {
            const t = await idp.token("client-a", b.resource);
            firstRequest.jwtMs.push(await noSessionPost(b.srv.url, `Bearer ${t}`));
            firstRequest.jwtSecondMs.push(await noSessionPost(b.srv.url, `Bearer ${t}`));
          }
        } finally {
          await b.stop();
        }
      }
    }

    let serveLoad: TokenCostResult["serveLoad"];
    if (findBenchTool("autocannon").ok) {
      const b = await startBenchServe({ issuer: idp.issuer });
      try {
        const jwt = await idp.token("client-a", b.resource);
        const target = async (authorization: string): Promise<HttpTarget> => ({
          name: "serve",
          era: "2025",
          url: b.srv.url,
          frontPid: b.pid,
          tool: SERVE_TOOL,
          headers: await openSession(b.srv.url, { authorization }),
          upstreamPids: () => descendants(b.pid),
        });
        const viaKey = await target(b.apiKeyAuth);
        const viaJwt = await target(`Bearer ${jwt}`);
        await load(viaKey, 16, quick ? 0.5 : 1);
        await load(viaJwt, 16, quick ? 0.5 : 1);
        // Alternating rounds, the median of each: the machine's other load drifts.
        const keyRounds: LoadSample[] = [];
        const jwtRounds: LoadSample[] = [];
        for (let i = 0; i < (quick ? 1 : 3); i++) {
          keyRounds.push(await load(viaKey, 16, quick ? 1 : 2));
          jwtRounds.push(await load(viaJwt, 16, quick ? 1 : 2));
        }
        const mid = (xs: LoadSample[]) => [...xs].sort((x, y) => (x.cpuFrontUs ?? 0) - (y.cpuFrontUs ?? 0))[xs.length >> 1]!;
        const apiKey = mid(keyRounds);
        const jwtLoad = mid(jwtRounds);
        serveLoad = { apiKey, jwt: jwtLoad };
      } finally {
        await b.stop();
      }
    }
    const s = (t: Float64Array) => {
      const x = summarize(t);
      return { p50: x.p50, p99: x.p99 };
    };
    return { calls, apiKeyUs: s(apiTimes), jwtUs: s(jwtTimes), coldMs, ...(serveLoad ? { serveLoad } : {}), firstRequest };
  } finally {
    await idp.stop();
  }
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f0 = (x: number) => Math.round(x).toLocaleString("en-US");

export function tokenSection(r: TokenCostResult | undefined, skipped?: string): string[] {
  const out = ["### The cost of token verification", ""];
  if (!r) {
    out.push(`Not measured: ${skipped ?? "unknown"}. The Node 22 test tools bring the OpenID provider: \`node dist/scripts/test-tools.js install\`.`, "");
    return out;
  }
  const fr = r.firstRequest;
  out.push(
    "A JWT access token from a real OpenID provider (oidc-provider on 127.0.0.1, RS256 with a 2048-bit key, the client credentials grant) against an API key. Every request is authenticated afresh: a JWT's signature is verified on each request (jose), with the issuer's keys cached after the first fetch; an API key is hashed (SHA-256) and looked up.",
    "",
    "| what | API key | JWT | JWT − API key |",
    "|---|---:|---:|---:|",
    `| in process, one \`authenticate()\`, keys cached: p50 | ${f1(r.apiKeyUs.p50)} µs | ${f1(r.jwtUs.p50)} µs | ${f1(r.jwtUs.p50 - r.apiKeyUs.p50)} µs |`,
    `| the same, p99 | ${f1(r.apiKeyUs.p99)} µs | ${f1(r.jwtUs.p99)} µs | |`,
  );
  if (r.serveLoad) {
    const { apiKey: k, jwt: j } = r.serveLoad;
    out.push(
      `| through serve, 16 connections: calls/s | ${f0(k.perSecond)} | ${f0(j.perSecond)} | ${f0(j.perSecond - k.perSecond)} (${f2(j.perSecond / k.perSecond)}x) |`,
      `| through serve: serve's CPU per call | ${k.cpuFrontUs === undefined ? "—" : `${f1(k.cpuFrontUs)} µs`} | ${j.cpuFrontUs === undefined ? "—" : `${f1(j.cpuFrontUs)} µs`} | ${k.cpuFrontUs === undefined || j.cpuFrontUs === undefined ? "—" : `${f1(j.cpuFrontUs - k.cpuFrontUs)} µs`} |`,
    );
  }
  out.push(
    `| first request after serve starts (median of ${fr.apiKeyMs.length}) | ${f1(median(fr.apiKeyMs))} ms | ${f1(median(fr.jwtMs))} ms | ${f1(median(fr.jwtMs) - median(fr.apiKeyMs))} ms |`,
    `| second request with the same JWT | | ${f1(median(fr.jwtSecondMs))} ms | |`,
    `| cold verification in process: discovery + JWKS fetch + verify (median of ${r.coldMs.length}) | | ${f1(median(r.coldMs))} ms | |`,
    "",
    `What each number is: the in-process rows time ${f0(r.calls)} calls of the authenticator alone, alternating credentials, after a warm-up. The serve rows run autocannon at 16 connections for 2 s per credential, three rounds alternating the credential, each on its own 2025-era session (each principal has its own upstream process), and show the round with the median CPU per call; the CPU is serve's own process, from /proc. The difference between the credentials there is within the noise of a loaded machine unless it is large: the in-process row is the cost itself. The first-request rows start a fresh serve for each sample, alternating the credential, and time its first request, which is authenticated and then refused without a session (400), so no upstream work is in it; the JWT's first request pays OIDC discovery and the JWKS fetch from the provider on 127.0.0.1 (two HTTP round trips on loopback) and importing the key, and Node's first \`fetch\` in that process (loading its HTTP client), on top of the first-request costs any credential pays. The cold in-process row is the same cost with nothing else in it: a fresh authenticator's first token. Over a real network to a real identity provider the two fetches cost what that network costs, once per key set (jose refetches on an unknown \`kid\`, at most every 30 s, and when the cached keys are older than 10 minutes).`,
    "",
  );
  return out;
}
