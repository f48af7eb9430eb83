// Sandboxed Bash through the hook under the real Claude Code binary (issue 14, "CLI with scoping").
// `claude -p` runs offline against the fake Messages API (claude-code-run.ts) with `mcp-warden hook`
// installed; the user's settings hold the first seed's `toolPermissions.Bash.networkPolicy` and
// `sandbox.autoAllowBashIfSandboxed`. The hook answers each Bash call with `updatedInput`: the
// command wrapped in `mcp-warden exec --bash-sandbox`, which Claude Code then runs. The results are
// what Claude Code sent back to the model.
//
// The network test hosts, within "no traffic off this machine": two node:http servers on 127.0.0.1.
// The policy allows the address 127.0.0.1 by an IP entry (allowDomains: ["127.0.0.1"]) and keeps
// allowLocalhost false, so the server reached as `localhost` is one the policy denies (a loopback
// name), while the one reached as `127.0.0.1` is allowed. Names of our own cannot be made resolvable
// on the host without changing its resolver, so the two differ by how they are named, not by where
// they listen; each server counts its requests, and the control run shows the denied one is reachable.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { claudeSkip, runClaude, type ClaudeRun } from "./claude-code-run.js";
import { auditRecords, CLI, scratch, type Scratch } from "./harness.js";

const sandbox = backendAvailability("bubblewrap");
const skip = claudeSkip || (sandbox.ok ? false : `bubblewrap cannot run here: ${sandbox.why}`);
if (skip) console.log(`skipped: ${skip}`);

const KEY_MARKER = "FAKE-KEY-5f2b9e0c71aa";
const ALLOWED_MARKER = "allowed-server-body-3b1d";
const DENIED_MARKER = "denied-server-body-9c4e";

interface TestServer {
  server: Server;
  port: number;
  hits: string[];
}

async function httpServer(body: string): Promise<TestServer> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

describe("real Claude Code + mcp-warden hook: Bash runs sandboxed under toolPermissions.Bash.networkPolicy", { skip }, () => {
  let s: Scratch;
  let allowed: TestServer;
  let denied: TestServer;
  let run: ClaudeRun;
  const ids = { allowed: "toolu_curl_allowed", denied: "toolu_curl_denied", key: "toolu_cat_key", write: "toolu_write_project" };

  before(async () => {
    s = scratch({});
    allowed = await httpServer(ALLOWED_MARKER);
    denied = await httpServer(DENIED_MARKER);
    mkdirSync(join(s.home, ".ssh"), { recursive: true });
    writeFileSync(join(s.home, ".ssh", "id_rsa"), `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`);
    const userSettings = join(s.env.XDG_CONFIG_HOME as string, "mcp-warden", "settings.json");
    mkdirSync(dirname(userSettings), { recursive: true });
    writeFileSync(
      userSettings,
      JSON.stringify({
        toolPermissions: { Bash: { networkPolicy: { allowDomains: ["127.0.0.1"], denyDomains: ["*"], allowLocalhost: false } } },
        sandbox: { autoAllowBashIfSandboxed: true },
        audit: { dir: s.auditDir, fsyncIntervalMs: 50 },
      }),
    );
    const q = (x: string) => `'${x.replaceAll("'", `'\\''`)}'`;
    const hooks = { PreToolUse: [{ matcher: "*", hooks: [{ type: "command", command: `${q(process.execPath)} ${q(CLI)} hook`, timeout: 30 }] }] };
    run = await runClaude({
      dir: s.dir,
      env: s.env,
      cwd: s.project,
      settings: { hooks },
      script: [
        { id: ids.allowed, name: "Bash", input: { command: `curl -fsS http://127.0.0.1:${allowed.port}/from-sandbox`, description: "fetch from the allowed server" } },
        { id: ids.denied, name: "Bash", input: { command: `curl -fsS http://localhost:${denied.port}/from-sandbox`, description: "fetch from the denied server" } },
        { id: ids.key, name: "Bash", input: { command: "cat ~/.ssh/id_rsa", description: "read the key" } },
        { id: ids.write, name: "Bash", input: { command: "echo 'written in the sandbox' > out.txt && cat out.txt", description: "write in the project" } },
      ],
    });
  });
  after(async () => {
    await Promise.all([allowed, denied].filter(Boolean).map((t) => new Promise((r) => t.server.close(r))));
    s?.cleanup();
  });

  /** The hook's decision record for a tool call: allowed, with the original and the sandboxed command. */
  function sandboxedDecision(id: string): { command: string; sandboxed: string } {
    const record = auditRecords(s).find((r) => r.kind === "decision" && (r.detail as { toolUseId?: unknown } | undefined)?.toolUseId === id);
    assert.ok(record, `the hook recorded no decision for ${id}`);
    assert.equal(record.decision, "allow", record.reason as string);
    const detail = record.detail as { sandbox?: string; sandboxedCommand?: string };
    assert.equal(detail.sandbox, "bash");
    assert.match(detail.sandboxedCommand ?? "", /'exec' '--bash-sandbox' .*'--' '\/bin\/(ba)?sh' '-c' /);
    return { command: (record.arguments as { command: string }).command, sandboxed: detail.sandboxedCommand as string };
  }

  it("curl to the server the policy allows succeeds, from inside the sandbox", () => {
    const d = sandboxedDecision(ids.allowed);
    assert.equal(d.command, `curl -fsS http://127.0.0.1:${allowed.port}/from-sandbox`, "the audit keeps the original command");
    const result = run.results.get(ids.allowed);
    assert.equal(result?.isError, false, result?.text);
    assert.ok(result?.text.includes(ALLOWED_MARKER), result?.text);
    assert.deepEqual(allowed.hits, ["/from-sandbox"]);
  });

  it("curl to the server the policy denies fails, and the server sees no request", async () => {
    sandboxedDecision(ids.denied);
    const result = run.results.get(ids.denied);
    assert.equal(result?.isError, true, result?.text);
    assert.ok(!result?.text.includes(DENIED_MARKER), result?.text);
    assert.match(result?.text ?? "", /loopback name|allowLocalhost|403/);
    assert.deepEqual(denied.hits, []);
    // Control: the same server answers a request that does not go through the sandbox.
    const direct = await fetch(`http://127.0.0.1:${denied.port}/direct`);
    assert.equal(await direct.text(), DENIED_MARKER);
  });

  it("`cat ~/.ssh/id_rsa` fails inside the sandbox; the key never reaches the model", () => {
    sandboxedDecision(ids.key);
    const result = run.results.get(ids.key);
    assert.equal(result?.isError, true, result?.text);
    // The file is there on the host; inside, the home directory is not bound and ~/.ssh is masked.
    assert.ok(existsSync(join(s.home, ".ssh", "id_rsa")));
    assert.match(result?.text ?? "", /No such file or directory|Permission denied/);
    assert.ok(!run.sent.includes(KEY_MARKER), "the key's content was sent to the model");
  });

  it("a write in the project works and lands in the project on the host", () => {
    sandboxedDecision(ids.write);
    const result = run.results.get(ids.write);
    assert.equal(result?.isError, false, result?.text);
    assert.ok(result?.text.includes("written in the sandbox"), result?.text);
    assert.ok(existsSync(join(s.project, "out.txt")));
    assert.equal(readFileSync(join(s.project, "out.txt"), "utf8"), "written in the sandbox\n");
  });
});
