/**
 * Captures the real `tools/list` answers of MCP servers published on npm into
 * test/fixtures/tool-definitions/<package>.json, the corpus that
 * test/unit/integrity-poisoning-corpus.test.ts scans for false positives.
 *
 * It speaks JSON-RPC over stdio itself (no SDK client) so the definitions are stored exactly as the
 * server sent them, unvalidated and unnormalized: initialize (protocolVersion 2025-06-18),
 * notifications/initialized, then tools/list, following nextCursor.
 *
 * The servers are NOT dependencies of this project. Install them into scratch directories outside the
 * repository, then point the script at those directories:
 *
 *   mkdir /tmp/mcpcorpus && cd /tmp/mcpcorpus && npm init -y
 *   PUPPETEER_SKIP_DOWNLOAD=1 npm i --ignore-scripts @modelcontextprotocol/server-github ...
 *   cd /work/main && npx tsc -p tsconfig.json --outDir .build-poison
 *   node .build-poison/scripts/capture-tool-definitions.js /tmp/mcpcorpus /work/main [more dirs...]
 *
 * Each directory is searched for node_modules/<package>/package.json; targets not installed in any of
 * them are reported and skipped, as are servers that fail to start or to answer within the timeout.
 * Servers run with dummy credentials (they only need them to start and list tools), in a scratch
 * HOME and working directory so that nothing they write lands in the repository.
 *
 * Capture of 2026-11-22: 24 servers, 419 tools. Skipped: @modelcontextprotocol/server-redis (connects
 * to Redis before answering), @modelcontextprotocol/server-gdrive (needs OAuth credentials on disk),
 * @supabase/mcp-server-supabase (fetches its tool list from the Supabase API; no network here).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface Target {
  pkg: string;
  /** which bin entry of the package to run; the first one when omitted */
  bin?: string;
  args?: string[];
  env?: Record<string, string>;
}

const SCRATCH = "/tmp/mcp-capture-scratch";

const TARGETS: Target[] = [
  { pkg: "@modelcontextprotocol/server-everything", args: ["stdio"] },
  { pkg: "@modelcontextprotocol/server-filesystem", args: [SCRATCH] },
  { pkg: "@modelcontextprotocol/server-memory", env: { MEMORY_FILE_PATH: join(SCRATCH, "memory.jsonl") } },
  { pkg: "@modelcontextprotocol/server-sequential-thinking" },
  { pkg: "@modelcontextprotocol/server-github", env: { GITHUB_PERSONAL_ACCESS_TOKEN: "dummy" } },
  { pkg: "@modelcontextprotocol/server-gitlab", env: { GITLAB_PERSONAL_ACCESS_TOKEN: "dummy" } },
  { pkg: "@modelcontextprotocol/server-slack", env: { SLACK_BOT_TOKEN: "xoxb-dummy", SLACK_TEAM_ID: "T000" } },
  { pkg: "@modelcontextprotocol/server-brave-search", env: { BRAVE_API_KEY: "dummy" } },
  { pkg: "@modelcontextprotocol/server-google-maps", env: { GOOGLE_MAPS_API_KEY: "dummy" } },
  { pkg: "@modelcontextprotocol/server-everart", env: { EVERART_API_KEY: "dummy" } },
  { pkg: "@modelcontextprotocol/server-postgres", args: ["postgresql://localhost:1/dummy"] },
  { pkg: "@modelcontextprotocol/server-puppeteer" },
  { pkg: "@modelcontextprotocol/server-redis", args: ["redis://localhost:1"] },
  {
    pkg: "@modelcontextprotocol/server-aws-kb-retrieval",
    env: { AWS_ACCESS_KEY_ID: "dummy", AWS_SECRET_ACCESS_KEY: "dummy", AWS_REGION: "us-east-1" },
  },
  { pkg: "@modelcontextprotocol/server-gdrive" },
  { pkg: "@playwright/mcp" },
  { pkg: "chrome-devtools-mcp", bin: "chrome-devtools-mcp" },
  { pkg: "@upstash/context7-mcp" },
  { pkg: "@notionhq/notion-mcp-server", env: { NOTION_TOKEN: "dummy" } },
  { pkg: "tavily-mcp", env: { TAVILY_API_KEY: "tvly-dummy" } },
  { pkg: "firecrawl-mcp", env: { FIRECRAWL_API_KEY: "fc-dummy" } },
  { pkg: "@wonderwhy-er/desktop-commander", bin: "desktop-commander" },
  { pkg: "mongodb-mcp-server", env: { MDB_MCP_TELEMETRY: "disabled" } },
  { pkg: "@zereight/mcp-gitlab", env: { GITLAB_PERSONAL_ACCESS_TOKEN: "dummy", GITLAB_API_URL: "http://localhost:1/api/v4" } },
  { pkg: "@circleci/mcp-server-circleci", env: { CIRCLECI_TOKEN: "dummy" } },
  { pkg: "@supabase/mcp-server-supabase", args: ["--access-token", "dummy"] },
  { pkg: "@sentry/mcp-server", args: ["--access-token", "dummy"] },
];

const TIMEOUT_MS = 30_000;

function findPackage(dirs: string[], pkg: string): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, "node_modules", pkg);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  return undefined;
}

async function listTools(cmd: string, args: string[], env: Record<string, string>): Promise<unknown[]> {
  const child = spawn(cmd, args, {
    cwd: SCRATCH,
    env: { PATH: process.env.PATH ?? "", HOME: join(SCRATCH, "home"), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let buffer = "";
  let stderr = "";
  const pending = new Map<number, (msg: Record<string, unknown>) => void>();
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-2000);
  });
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // some servers log to stdout; ignore non-JSON lines
      }
      if (typeof msg.id === "number" && ("result" in msg || "error" in msg)) pending.get(msg.id)?.(msg);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.on("exit", (code) => reject(new Error(`exited with ${code}: ${stderr.trim().slice(-400)}`))),
  );
  let nextId = 1;
  const send = (method: string, params?: unknown): Promise<Record<string, unknown>> => {
    const id = nextId++;
    const answer = new Promise<Record<string, unknown>>((res) => pending.set(id, res));
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    return answer;
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms: ${stderr.trim().slice(-400)}`)), TIMEOUT_MS);
  });
  const session = async (): Promise<unknown[]> => {
    const init = await send("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "mcp-warden-corpus-capture", version: "0.1.0" },
    });
    if (init.error) throw new Error(`initialize failed: ${JSON.stringify(init.error)}`);
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    const tools: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const res = await send("tools/list", cursor ? { cursor } : {});
      if (res.error) throw new Error(`tools/list failed: ${JSON.stringify(res.error)}`);
      const result = res.result as { tools?: unknown[]; nextCursor?: string };
      tools.push(...(result.tools ?? []));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return tools;
  };
  try {
    return await Promise.race([session(), exited, timeout]);
  } finally {
    clearTimeout(timer);
    child.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  const dirs = process.argv.slice(2).map((d) => resolve(d));
  if (dirs.length === 0) {
    console.error("usage: capture-tool-definitions <dir-with-node_modules>...");
    process.exit(2);
  }
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const outDir = join(repoRoot, "test", "fixtures", "tool-definitions");
  mkdirSync(outDir, { recursive: true });
  mkdirSync(join(SCRATCH, "home"), { recursive: true });
  const captured = new Date().toISOString().slice(0, 10);
  let total = 0;
  for (const target of TARGETS) {
    const dir = findPackage(dirs, target.pkg);
    if (!dir) {
      console.log(`skip ${target.pkg}: not installed in ${dirs.join(", ")}`);
      continue;
    }
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      version: string;
      bin?: string | Record<string, string>;
    };
    const bins = typeof manifest.bin === "string" ? { [target.pkg]: manifest.bin } : (manifest.bin ?? {});
    const binPath = target.bin ? bins[target.bin] : Object.values(bins)[0];
    if (!binPath) {
      console.log(`skip ${target.pkg}: no bin`);
      continue;
    }
    try {
      const tools = await listTools(process.execPath, [join(dir, binPath), ...(target.args ?? [])], target.env ?? {});
      if (tools.length === 0) {
        console.log(`skip ${target.pkg}: listed no tools`);
        continue;
      }
      const file = join(outDir, target.pkg.replace(/^@/, "").replace(/\//g, "__") + ".json");
      writeFileSync(file, JSON.stringify({ package: target.pkg, version: manifest.version, captured, tools }, null, 2) + "\n");
      total += tools.length;
      console.log(`ok   ${target.pkg}@${manifest.version}: ${tools.length} tools`);
    } catch (err) {
      console.log(`skip ${target.pkg}: ${(err as Error).message.replace(/\s+/g, " ").slice(0, 300)}`);
    }
  }
  console.log(`total ${total} tools`);
}

await main();
