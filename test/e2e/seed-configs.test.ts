// The configuration examples of the two seed documents (../shared/seed-configs/), loaded verbatim
// through the real CLI: every file loads (`check --batch` with its settings; `run` for the files
// that define servers, each file as the settings layer it is written for), and every decision
// expectations.json promises is the one `check` gives. The shared folder is read-only in CI, so the
// files are copied into the scratch machine before use, byte for byte.
//
// Issue 14 has five parts built on separate branches. What another part implements is marked
// `todo` with that part's name (a failing todo test does not fail the run); the lead removes each
// mark when its part merges. Nothing here is weakened to pass: a todo test asserts the full promise.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI, closedPort, connect, FIXTURE, scratch, type Scratch, sharedDir, wardenCli } from "./harness.js";

const shared = sharedDir("seed-configs");
const SHARED = "dir" in shared ? shared.dir : "";
/** Skips every describe here, with where it looked, when this checkout has no shared folder beside it. */
const SKIP = { skip: "skip" in shared ? shared.skip : false };
const FILES = (SHARED ? readdirSync(SHARED) : [])
  .filter((f) => f.endsWith(".json") && f !== "expectations.json")
  .sort();
type Expectation = { tool: string; input: Record<string, unknown>; expect: "allow" | "ask" | "deny" | "allow-or-ask" };
const EXPECTATIONS = (SHARED ? JSON.parse(readFileSync(join(SHARED, "expectations.json"), "utf8")) : {}) as Record<string, Expectation[]>;

/** The variables the examples use, set to dummy values (README of the seed configs). */
const DUMMY_ENV = {
  PROD_API_TOKEN: "dummy-prod-api-token",
  GITHUB_TOKEN: "dummy-github-token",
  DATABASE_URL: "postgres://dummy:dummy-db-password@127.0.0.1:1/dummy",
  COMPANY_TOKEN: "dummy-company-token",
};

/** Files that cannot load until another part of issue 14 merges: the part and what it adds. */
const LOAD_TODO: Record<string, string> = {};
const todoFor = (file: string): { todo?: string } => (LOAD_TODO[file] !== undefined ? { todo: LOAD_TODO[file] } : {});

/**
 * Decisions the documents' text promises beyond expectations.json (the first seed's hybrid example:
 * "local development uses CLI tools with strict permissions"; its denyCommands' `> /dev/sda`).
 */
const EXTRA: Record<string, (Expectation & { todo?: string })[]> = {
  "000-hybrid.json": [
    { tool: "Bash", input: { command: "git log --oneline -5" }, expect: "allow" },
    { tool: "Bash", input: { command: "npm run build" }, expect: "allow" },
    { tool: "Bash", input: { command: "git push origin main" }, expect: "ask" },
    { tool: "Bash", input: { command: "npm publish" }, expect: "ask" },
    { tool: "Bash", input: { command: "sudo rm -rf /var/lib" }, expect: "deny" },
  ],
  "000-deny-commands.json": [
    // `> /dev/sda` means nothing writes the disk: every shell writer is caught, not only `>`.
    { tool: "Bash", input: { command: "cat disk.img > /dev/sda" }, expect: "deny" },
    { tool: "Bash", input: { command: "dd if=disk.img of=/dev/sda" }, expect: "deny" },
    { tool: "Bash", input: { command: "cat disk.img | tee /dev/sda" }, expect: "deny" },
    { tool: "Bash", input: { command: "exec rm -rf ~" }, expect: "deny" },
  ],
};

const ids = (file: string, i: number | "load") => `${file}#${i}`;

describe("the seed documents' configuration examples, verbatim", SKIP, () => {
  let s: Scratch;
  let seeds: string;
  const answers = new Map<string, { decision: string; reason: string; rule?: string; source?: { path: string } }>();

  before(() => {
    s = scratch({});
    Object.assign(s.env, DUMMY_ENV);
    seeds = join(s.dir, "seed-configs");
    mkdirSync(seeds);
    for (const f of [...FILES, "expectations.json"]) copyFileSync(join(SHARED, f), join(seeds, f));
    writeFileSync(join(s.project, "README.md"), "hello\n");

    const requests: Record<string, unknown>[] = [];
    for (const file of FILES) {
      const settings = JSON.parse(readFileSync(join(seeds, file), "utf8")) as Record<string, unknown>;
      const base = { settings, cwd: s.project };
      requests.push({ id: ids(file, "load"), ...base, tool: "Read", input: { file_path: join(s.project, "README.md") } });
      [...(EXPECTATIONS[file] ?? []), ...(EXTRA[file] ?? [])].forEach((e, i) => requests.push({ id: ids(file, i), ...base, tool: e.tool, input: e.input }));
    }
    const r = spawnSync(process.execPath, [CLI, "check", "--batch"], {
      cwd: s.project,
      env: s.env,
      input: requests.map((q) => JSON.stringify(q)).join("\n") + "\n",
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    for (const line of r.stdout.trim().split("\n")) {
      const a = JSON.parse(line) as { id: string; decision: string; reason: string };
      answers.set(a.id, a);
    }
    assert.equal(answers.size, requests.length, "one answer per request");
  });
  after(() => s.cleanup());

  it("every expectation names a file of the folder (none is silently skipped)", () => {
    assert.equal(FILES.length, 16, `the seed folder holds 16 examples: ${FILES.join(", ")}`);
    for (const file of Object.keys(EXPECTATIONS)) assert.ok(FILES.includes(file), `${file} of expectations.json is not in the folder`);
  });

  for (const file of FILES) {
    it(`${file} loads: check judges with it instead of refusing it as a settings error`, todoFor(file), () => {
      const a = answers.get(ids(file, "load"))!;
      assert.doesNotMatch(a.reason, /invalid settings|cannot judge/, a.reason);
      assert.equal(a.decision, "allow", a.reason);
    });
    const all: (Expectation & { todo?: string })[] = [...(EXPECTATIONS[file] ?? []), ...(EXTRA[file] ?? [])];
    all.forEach((e, i) => {
      const todo: string | undefined = e.todo ?? LOAD_TODO[file];
      it(`${file}: ${e.tool} ${JSON.stringify(e.input)} → ${e.expect}`, todo ? { todo } : {}, () => {
        const a = answers.get(ids(file, i))!;
        const want = e.expect === "allow-or-ask" ? ["allow", "ask"] : [e.expect];
        assert.ok(want.includes(a.decision), `${a.decision}: ${a.reason}`);
      });
    });
  }

  it("a decision names the seed entry that made it (file and JSON path)", () => {
    const denied = answers.get(ids("000-deny-commands.json", 0))!;
    assert.match(denied.source?.path ?? "", /^denyCommands\[\d\]$/, JSON.stringify(denied));
    const asked = answers.get(ids("000-require-approval.json", 2))!;
    assert.equal(asked.source?.path, "requireApproval.Write[0]", JSON.stringify(asked));
    const allowed = answers.get(ids("000-auto-approve.json", 0))!;
    assert.equal(allowed.source?.path, "autoApproveTools[2]", JSON.stringify(allowed));
  });
});

describe("the examples that define servers, through `run`", SKIP, () => {
  let s: Scratch;
  let argsLog: string;

  before(() => {
    // No server is downloaded: `npx` is a stand-in on PATH that records its arguments and runs the
    // fixture server. Remote servers are never contacted (lazy start, no request that needs them).
    s = scratch({ gateway: { startup: "lazy" } });
    Object.assign(s.env, DUMMY_ENV);
    const bin = join(s.dir, "bin");
    mkdirSync(bin);
    argsLog = join(s.dir, "npx-args.log");
    writeFileSync(join(bin, "npx"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argsLog}'\nexec '${process.execPath}' '${FIXTURE}'\n`);
    chmodSync(join(bin, "npx"), 0o755);
    s.env.PATH = `${bin}:${s.env.PATH}`;
  });
  after(() => s.cleanup());

  /** Puts one example verbatim where it belongs: managed-mcp.json for 003-managed-mcp, else the user's settings. */
  function install(file: string) {
    const user = join(s.env.XDG_CONFIG_HOME!, "mcp-warden", "settings.json");
    const managedMcp = join(s.env.MCP_WARDEN_MANAGED_DIR!, "managed-mcp.json");
    mkdirSync(join(s.env.XDG_CONFIG_HOME!, "mcp-warden"), { recursive: true });
    writeFileSync(user, "{}\n");
    rmSync(managedMcp, { force: true });
    copyFileSync(join(SHARED, file), file === "003-managed-mcp.json" ? managedMcp : user);
  }

  const withServers = FILES.filter((f) => "mcpServers" in (JSON.parse(readFileSync(join(SHARED, f), "utf8")) as object));

  it("the examples with servers are the six the README lists", () => {
    assert.deepEqual(withServers, ["000-github-tools.json", "000-hybrid.json", "000-production-api.json", "003-database-readonly.json", "003-filesystem-server.json", "003-managed-mcp.json"]);
  });

  for (const file of withServers) {
    const remoteOnly = file === "000-hybrid.json" || file === "003-managed-mcp.json";
    // As printed, the production server is started by `npx -y`, which must start other programs
    // (a shell, node): its allowExecute false refuses that, so the server is blocked with what to do
    // instead (sandbox-noexec.test.ts runs the same sandbox block around a resolved server).
    const refusedByDesign = file === "000-production-api.json";
    const what = remoteOnly ? "" : refusedByDesign ? " and blocks its npx server, saying how to resolve it" : " and lists its server's tools";
    it(`${file}: run starts with it${what}`, todoFor(file), async () => {
      install(file);
      const c = await connect(s);
      try {
        if (refusedByDesign) {
          const { tools } = await c.client.listTools();
          assert.deepEqual(tools, [], "no tool of a server that cannot start as configured");
          const status = wardenCli(s, ["status", "--json"], { timeoutMs: 60_000 });
          assert.match(status.stdout, /allowExecute false, and 'npx' fetches @company\/mcp-api-server/);
          assert.match(status.stdout, /npm install --prefix/);
        } else if (!remoteOnly) {
          const { tools } = await c.client.listTools();
          assert.ok(tools.length > 0, `no tools listed; stderr: ${c.stderr()}`);
          if (file === "000-github-tools.json") {
            // allowedTools: of the stand-in's tools only create_issue is one of the four; denyTools' are gone.
            assert.deepEqual(tools.map((t) => t.name), ["github-tools__create_issue"]);
          }
        }
        assert.doesNotMatch(c.stderr(), /settings error|cannot start/, c.stderr());
        if (file === "000-hybrid.json") {
          for (const name of ["prod-database", "secrets-manager"])
            assert.match(c.stderr(), new RegExp(`note: server '${name}' is remote: its sandbox settings \\(allowNetwork, allowRead, allowWrite\\) are enforced only where mcp-warden deploys the server \\(its network lists by "mcp-warden deploy kubernetes"\\)`));
        } else assert.doesNotMatch(c.stderr(), /is remote: its sandbox/);
      } finally {
        await c.close();
      }
    });
  }

  it("003-database-readonly: the server gets its arguments with ${DATABASE_URL} filled in and --readonly kept", () => {
    const lines = readFileSync(argsLog, "utf8").split("\n");
    assert.ok(lines.includes(`-y @bytebase/dbhub --dsn ${DUMMY_ENV.DATABASE_URL} --readonly`), lines.join("\n"));
  });

  it("000-hybrid: doctor says the remote servers' sandboxes are not enforced here", () => {
    install("000-hybrid.json");
    const r = wardenCli(s, ["doctor"], { timeoutMs: 60_000 });
    assert.match(r.stdout, /server 'prod-database' is remote: its sandbox settings \(allowNetwork, allowRead, allowWrite\) are enforced only where mcp-warden deploys the server/);
    assert.match(r.stdout, /server 'secrets-manager' is remote/);
  });

  it("003-force-login: run says at start that nothing on stdio enforces the SSO login", async () => {
    install("003-force-login.json");
    const c = await connect(s);
    try {
      assert.match(c.stderr(), /forceLoginMethod and forceLoginOrgUUID are enforced by `mcp-warden serve` only/);
    } finally {
      await c.close();
    }
  });

  it("003-managed-deny as managed settings: a user's bypassPermissions mode cannot turn an ask into an allow", () => {
    install("000-auto-approve.json");
    copyFileSync(join(SHARED, "003-managed-deny.json"), join(s.env.MCP_WARDEN_MANAGED_DIR!, "managed-settings.json"));
    try {
      writeFileSync(join(s.env.XDG_CONFIG_HOME!, "mcp-warden", "settings.json"), JSON.stringify({ permissions: { defaultMode: "bypassPermissions" } }));
      const r = wardenCli(s, ["check", "--tool", "mcp__github__list_issues"]);
      const answer = JSON.parse(r.stdout) as { decision: string; reason: string };
      assert.equal(answer.decision, "ask", answer.reason);
      assert.match(answer.reason, /bypass/i);
    } finally {
      rmSync(join(s.env.MCP_WARDEN_MANAGED_DIR!, "managed-settings.json"), { force: true });
    }
  });
});

describe("scan and a remote server that carries a sandbox", SKIP, () => {
  it("scan reports the hybrid example's sandbox as not enforced here (the server at a closed local port)", async () => {
    const hybrid = JSON.parse(readFileSync(join(SHARED, "000-hybrid.json"), "utf8")) as { mcpServers: Record<string, { sandbox: unknown }> };
    const port = await closedPort();
    const s = scratch({ mcpServers: { "prod-database": { url: `http://127.0.0.1:${port}/database`, sandbox: hybrid.mcpServers["prod-database"]!.sandbox } } });
    try {
      const r = wardenCli(s, ["scan", "--json", "--settings", s.settingsFile], { timeoutMs: 60_000 });
      const report = JSON.parse(r.stdout) as { servers: { name: string; status: string; note?: string }[] };
      const entry = report.servers.find((x) => x.name === "prod-database");
      assert.ok(entry, r.stdout + r.stderr);
      assert.match(entry.note ?? "", /is remote: its sandbox settings \(allowNetwork, allowRead, allowWrite\) are enforced only where mcp-warden deploys the server/);
      const text = wardenCli(s, ["scan", "--settings", s.settingsFile], { timeoutMs: 60_000 });
      assert.match(text.stdout, /note: server 'prod-database' is remote/);
    } finally {
      s.cleanup();
    }
  });
});
