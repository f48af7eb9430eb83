// Runs the pinned MCP conformance suite (@modelcontextprotocol/conformance, under the pinned Node 22
// of scripts/test-tools.ts) against a server URL, and reads its per-scenario checks.json files.
// Also the two targets' plumbing: server-everything's own Streamable HTTP mode, and the relay that
// gives the conformance client the API key it cannot send itself.
import { spawnUntilReady } from "./serve-harness.js";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findConformance, findNode22 } from "../../scripts/test-tools.js";
import { closedPort, EVERYTHING, ROOT, waitForExit } from "./harness.js";

const LOOPBACK_PRELOAD = join(ROOT, "dist/test/fixtures/loopback-listen.js");

export interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | string;
  errorMessage?: string;
  details?: Record<string, unknown>;
}

export type Verdict = "pass" | "fail" | "no verdict";

export interface ScenarioResult {
  scenario: string;
  /** pass: at least one SUCCESS and no FAILURE; fail: any FAILURE; no verdict: neither. */
  verdict: Verdict;
  checks: Check[];
  /** The FAILURE checks' messages. */
  failures: string[];
}

/** Why the suite cannot run here (tools not installed), or undefined when it can. */
export function conformanceUnavailable(): string | undefined {
  const node = findNode22();
  if (!node.ok) return node.why;
  const suite = findConformance();
  return suite.ok ? undefined : suite.why;
}

export function conformanceVersions(): { node22: string; conformance: string; serverEverything: string; warden: string } {
  const version = (file: string) => (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  const node = findNode22();
  const suite = findConformance();
  return {
    node22: node.ok ? node.version : "?",
    conformance: suite.ok ? suite.version : "?",
    serverEverything: version(join(ROOT, "node_modules/@modelcontextprotocol/server-everything/package.json")),
    warden: version(join(ROOT, "package.json")),
  };
}

/** Runs the conformance CLI (async: a relay in this process must keep answering meanwhile); bounded. */
function conformanceCli(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const node = findNode22();
  const suite = findConformance();
  if (!node.ok) throw new Error(node.why);
  if (!suite.ok) throw new Error(suite.why);
  const child = spawn(node.binary, [suite.binary, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, NO_COLOR: "1" } });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`conformance ${args.join(" ")} did not finish within ${timeoutMs} ms; output so far: ${out.slice(-2000)}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The server scenarios the pinned suite has (`list --server`), pending ones included. */
export async function listServerScenarios(): Promise<string[]> {
  const { out } = await conformanceCli(["list", "--server"], 30_000);
  return [...out.matchAll(/^\s*-\s+(\S+)/gm)].map((m) => m[1]!);
}

/** Every server scenario (`--suite all`) against `url`; results by scenario. The exit code only says whether some failed. */
export async function runConformance(url: string, outDir: string, scenario?: string): Promise<Map<string, ScenarioResult>> {
  const args = ["server", "--url", url, "--output-dir", outDir, ...(scenario ? ["--scenario", scenario] : ["--suite", "all"])];
  const { out } = await conformanceCli(args, 90_000);
  const results = new Map<string, ScenarioResult>();
  for (const dir of readdirSync(outDir)) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
    if (!m) continue;
    const checks = JSON.parse(readFileSync(join(outDir, dir, "checks.json"), "utf8")) as Check[];
    const failures = checks.filter((c) => c.status === "FAILURE").map((c) => c.errorMessage ?? c.id);
    const verdict: Verdict = failures.length ? "fail" : checks.some((c) => c.status === "SUCCESS") ? "pass" : "no verdict";
    results.set(m[1]!, { scenario: m[1]!, verdict, checks, failures });
  }
  if (results.size === 0) throw new Error(`the conformance run wrote no results to ${outDir}; its output: ${out.slice(-2000)}`);
  return results;
}

export interface Running {
  url: string;
  stop(): Promise<void>;
}

/** server-everything in its own Streamable HTTP mode, on 127.0.0.1 (see test/fixtures/loopback-listen.ts). */
export async function startEverythingHttp(): Promise<Running> {
  const port = await closedPort();
  const r = await spawnUntilReady(["--import", pathToFileURL(LOOPBACK_PRELOAD).href, EVERYTHING, "streamableHttp"], {
    env: { PATH: process.env.PATH, PORT: String(port) },
    watch: "stderr",
    ready: /listening on port \d+/,
    what: "server-everything (streamableHttp)",
    timeoutMs: 15_000,
    // It logs every request on stdout: nobody reads it, so do not let a full pipe stall it.
    quietStdout: true,
  });
  return { url: `http://127.0.0.1:${port}/mcp`, stop: r.stop };
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);
const endToEnd = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP_BY_HOP.has(k)));

/**
 * TEST ONLY. The conformance CLI (0.1.16) has no option to send an Authorization header, and serve
 * has no unauthenticated mode (nor should it). This relay on 127.0.0.1 plays the part of a client
 * holding an API key: it forwards every request to serve with `Authorization: Bearer <key>` added,
 * and everything else, Host and Origin included, unchanged, so serve's own Host/Origin checks judge
 * exactly what the conformance client sent. Responses (SSE streams too) are piped back as they come.
 */
export async function startAuthHeaderRelay(port: number, target: { port: number }, apiKey: string): Promise<Running> {
  const server = createServer((req, res) => {
    const upstream = request({ host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: { ...endToEnd(req.headers), authorization: `Bearer ${apiKey}` } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`relay: serve did not answer: ${e.message}`);
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
