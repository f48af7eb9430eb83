// `npm run demo`: a scripted MCP client session through mcp-warden on the bundled example, so a
// person can see in a terminal what the gateway does: allowed, denied and approval-needing
// calls, and the audit log they leave. State goes to a temporary directory.
import { mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/src/cli.cjs");
const state = mkdtempSync(join(tmpdir(), "mcp-warden-demo-"));
const env = { ...process.env, XDG_STATE_HOME: state, MEMORY_FILE_PATH: join(state, "memory.jsonl") } as Record<string, string>;

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
console.log(`Hidden by deny rules: ${["everything__get-env", "files__write_file", "memory__delete_entities"].filter((t) => !tools.includes(t)).join(", ")}\n`);

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
const auditDir = join(state, "mcp-warden", "audit");
spawnSync(process.execPath, [cli, "audit", "--dir", auditDir, "--kind", "call"], { stdio: "inherit" });
spawnSync(process.execPath, [cli, "audit", "verify", "--dir", auditDir], { stdio: "inherit" });
rmSync(state, { recursive: true, force: true });
