// `npm run demo`: a scripted MCP client session through mcp-warden on the bundled example, so a
// person can see in a terminal what the gateway does: allowed, denied and approval-needing
// calls, and the audit log they leave. State (pins, logs, the audit log) goes to .cache/demo in the
// checkout (MCP_WARDEN_DEMO_DIR moves it), replaced at each run and kept afterwards, so that
// `mcp-warden audit --dir .cache/demo/mcp-warden/audit` shows the session again.
import { mkdirSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/src/cli.cjs");
const state = resolve(process.env.MCP_WARDEN_DEMO_DIR ?? join(root, ".cache/demo"));
rmSync(state, { recursive: true, force: true });
mkdirSync(state, { recursive: true, mode: 0o700 });
const env = { ...process.env, XDG_STATE_HOME: state, MEMORY_FILE_PATH: join(state, "memory.jsonl") } as Record<string, string>;
const auditDir = join(state, "mcp-warden", "audit");
const shown = (path: string) => (path.startsWith(root + "/") ? relative(root, path) : path);

/** The tools the servers offer that the deny rules hide, as `mcp-warden scan` reports them (it starts the servers itself). */
function hiddenByRules(): string[] {
  const r = spawnSync(process.execPath, [cli, "scan", "--json", "--settings", "examples/settings.json"], { cwd: root, env, encoding: "utf8", timeout: 120_000 });
  try {
    const report = JSON.parse(r.stdout) as { servers: { name: string; tools: { name: string; decision: string; rule?: string }[] }[] };
    return report.servers.flatMap((s) => s.tools.filter((t) => t.decision === "deny" && t.rule !== undefined).map((t) => `${s.name}__${t.name} (${t.rule})`));
  } catch {
    return [`(mcp-warden scan did not answer: ${r.stderr.trim() || `exit ${r.status}`})`];
  }
}

const transport = new StdioClientTransport({ command: process.execPath, args: [cli, "run", "--settings", "examples/settings.json"], cwd: root, env, stderr: "pipe" });
// The demo client can be asked (elicitation), as Claude Code can: it plays the person, approving
// the first question once and declining the second, and prints what it was shown.
const client = new Client({ name: "mcp-warden-demo", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
const answers = ["allow-once", "deny"];
client.setRequestHandler("elicitation/create", async (req) => {
  const message = String((req.params as { message?: unknown }).message ?? "");
  const answer = answers.shift() ?? "deny";
  console.log(`\n  [the person is asked]\n    ${message.split("\n").slice(0, 4).join("\n    ")}\n  [and answers: ${answer}]`);
  return answer === "deny" ? { action: "decline" } : { action: "accept", content: { decision: answer } };
});
await client.connect(transport);

const tools = (await client.listTools()).tools.map((t) => t.name);
console.log(`\nThe client sees ${tools.length} tools from 3 servers, for example:\n  ${tools.slice(0, 8).join("\n  ")}\n  ...`);
console.log(`Hidden by deny rules (the servers offer them, the client never sees them):\n  ${hiddenByRules().join("\n  ")}\n`);

async function call(name: string, args: Record<string, unknown>) {
  process.stdout.write(`call ${name} ${JSON.stringify(args)}\n  -> `);
  try {
    const r = await client.callTool({ name, arguments: args });
    console.log(`allowed: ${JSON.stringify(r.content).slice(0, 120)}`);
  } catch (e) {
    console.log(`refused (${(e as { code?: number }).code}): ${(e as Error).message}`);
  }
}
await call("everything__echo", { message: "hello through the gateway" });
await call("files__read_text_file", { path: join(root, "examples/files/hello.txt") });
await call("files__write_file", { path: join(root, "examples/files/x.txt"), content: "no" });
await call("memory__create_entities", { entities: [] });
await call("everything__get-tiny-image", {});
await client.close();

console.log("\nThe audit log of this session (mcp-warden audit --kind call):\n");
spawnSync(process.execPath, [cli, "audit", "--dir", auditDir, "--kind", "call"], { stdio: "inherit" });
spawnSync(process.execPath, [cli, "audit", "verify", "--dir", auditDir], { stdio: "inherit" });
console.log(
  `\nThe audit log is kept in ${shown(auditDir)} until the next demo run. Show it again with:\n` +
    `  node dist/src/cli.cjs audit --dir ${shown(auditDir)}\n(or \`mcp-warden audit --dir ${auditDir}\` once mcp-warden is on your PATH)`,
);
