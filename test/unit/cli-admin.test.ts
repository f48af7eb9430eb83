// The admin commands (status, servers, init, doctor), driven through the real CLI process in a
// scratch HOME, XDG dirs, managed dir and project, so nothing on this machine is read or touched.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { clean, isAlive } from "../../src/cli/status.js";
import { stripUrl } from "../../src/cli/servers.js";
import { detectIndent, jsonEqual } from "../../src/cli/settings-edit.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CLI = join(ROOT, "dist/src/cli.cjs");

// Values that must never appear in any output.
const ENV_SECRET = "ghp_envSecretValue1234567";
const HEADER_SECRET = "Bearer hdrSecretValue7654321";
const QUERY_SECRET = "querySecretValue999";
const USERINFO_SECRET = "userinfoPw555";

interface Scratch {
  root: string;
  home: string;
  project: string;
  managed: string;
  env: NodeJS.ProcessEnv;
  files: { user: string; project: string; local: string; managed: string; managedMcp: string };
  runDir: string;
}

const scratches: string[] = [];
afterEach(() => {
  for (const d of scratches.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): Scratch {
  const root = mkdtempSync(join(tmpdir(), "warden-cli-admin-"));
  scratches.push(root);
  const home = join(root, "home");
  const project = join(root, "project");
  const managed = join(root, "managed");
  for (const d of [home, project, managed]) mkdirSync(d, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_STATE_HOME: join(home, ".state"),
    MCP_WARDEN_MANAGED_DIR: managed,
  };
  return {
    root,
    home,
    project,
    managed,
    env,
    files: {
      user: join(home, ".config/mcp-warden/settings.json"),
      project: join(project, ".mcp-warden/settings.json"),
      local: join(project, ".mcp-warden/settings.local.json"),
      managed: join(managed, "managed-settings.json"),
      managedMcp: join(managed, "managed-mcp.json"),
    },
    runDir: join(home, ".state/mcp-warden/run"),
  };
}

function writeJson(file: string, value: unknown, indent: string | number = 2): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, indent) + "\n");
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, "utf8"));
}

function cli(sc: Scratch, args: string[], cwd = sc.project) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: sc.env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr };
}

function backupsOf(file: string): string[] {
  const dir = dirname(file);
  const base = file.slice(dir.length + 1);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(`${base}.bak-`)).map((n) => join(dir, n)) : [];
}

function assertNoSecrets(text: string): void {
  for (const s of [ENV_SECRET, HEADER_SECRET, "hdrSecretValue7654321", QUERY_SECRET, USERINFO_SECRET]) assert.ok(!text.includes(s), `output leaks ${s}:\n${text}`);
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  assert.ok(r.pid && r.pid > 0);
  return r.pid;
}

const SECRET_SERVERS = {
  github: { command: "npx", args: ["-y", "server-github", "--token", "${GH_TOKEN:-none}"], env: { GITHUB_TOKEN: ENV_SECRET } },
  remote: { type: "http", url: `https://alice:${USERINFO_SECRET}@api.example.com/mcp?key=${QUERY_SECRET}`, headers: { Authorization: HEADER_SECRET } },
};

describe("display helpers", () => {
  test("stripUrl removes userinfo, query and fragment, also from ${VAR} templates", () => {
    assert.deepEqual(stripUrl("https://u:p@h.example/mcp?k=1#f"), { url: "https://h.example/mcp", hidden: true });
    assert.deepEqual(stripUrl("${BASE}/mcp?key=${KEY}"), { url: "${BASE}/mcp", hidden: true });
    assert.deepEqual(stripUrl("https://h.example/a@b"), { url: "https://h.example/a@b", hidden: false });
  });

  test("clean turns terminal escape sequences into visible text", () => {
    assert.equal(clean("bad\u001b[31mred\nnext"), "bad\\u001b[31mred next");
  });

  test("isAlive never signals process groups: 0 and negative pids are not alive", () => {
    assert.equal(isAlive(0), false);
    assert.equal(isAlive(-1), false);
    assert.equal(isAlive(process.pid), true);
    assert.equal(isAlive(deadPid()), false);
  });

  test("detectIndent keeps a file's indentation; jsonEqual ignores key order", () => {
    assert.equal(detectIndent('{\n    "a": 1\n}'), "    ");
    assert.equal(detectIndent("{}"), "  ");
    assert.ok(jsonEqual({ a: [1, { b: 2, c: 3 }] }, { a: [1, { c: 3, b: 2 }] }));
    assert.ok(!jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
  });
});

describe("status", () => {
  test("with no gateway running, lists configured servers as awaiting approval (a project's own) or blocked, with the reason", () => {
    const sc = scratch();
    writeJson(sc.files.project, {
      mcpServers: {
        ok: { command: "node" },
        off: { command: "node", disabled: true },
        // A sandbox that cannot run on this machine (seatbelt is macOS only): the server is refused.
        boxed: { command: "node", sandbox: { type: process.platform === "darwin" ? "bubblewrap" : "seatbelt" } },
      },
    });
    const r = cli(sc, ["status"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /no running gateway/);
    assert.match(r.stdout, /ok\s+awaiting approval: server 'ok' comes from the project settings .* `mcp-warden pins approve ok`/);
    assert.match(r.stdout, /off\s+blocked: .*disabled/);
    assert.match(r.stdout, /boxed\s+blocked: .*sandbox cannot run here/);

    const j = JSON.parse(cli(sc, ["status", "--json"]).stdout);
    assert.deepEqual(j.gateways, []);
    assert.deepEqual(
      j.configured.map((c: any) => [c.name, c.state]),
      [["boxed", "blocked"], ["off", "blocked"], ["ok", "awaiting approval"]],
    );
  });

  test("shows a live gateway from its status file, with secrets from the settings redacted", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: SECRET_SERVERS });
    mkdirSync(sc.runDir, { recursive: true });
    // This test process is alive, so its pid stands in for a running gateway.
    writeJson(join(sc.runDir, `${process.pid}.json`), {
      pid: process.pid,
      cwd: "/somewhere/project",
      updatedAt: "2026-01-01T00:00:00.000Z",
      settingsFiles: [{ layer: "project", file: sc.files.project }],
      auditFile: "/somewhere/audit/0001.jsonl",
      servers: [
        { name: "github", state: "ready", transport: "stdio", tools: 26, prompts: 0, resources: 0, restarts: 2, sandbox: "none", stderrLog: "/logs/github.stderr.log" },
        { name: "remote", state: "failed", transport: "http", tools: 0, prompts: 0, resources: 0, restarts: 5, sandbox: "none", lastError: `401 for token ${ENV_SECRET}` },
      ],
    });
    const r = cli(sc, ["status"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, new RegExp(`gateway pid ${process.pid}\\s+cwd /somewhere/project`));
    assert.match(r.stdout, /github\s+ready\s+stdio\s+26\s+2\s+none/);
    assert.match(r.stdout, /remote\s+failed\s+http\s+0\s+5\s+none\s+401 for token \[REDACTED\]/);
    assert.match(r.stdout, /github stderr log: \/logs\/github.stderr.log/);
    assert.doesNotMatch(r.stdout, /no running gateway/);
    assertNoSecrets(r.all);

    const j = JSON.parse(cli(sc, ["status", "--json"]).stdout);
    assert.equal(j.gateways.length, 1);
    assert.equal(j.gateways[0].pid, process.pid);
    assert.equal(j.gateways[0].servers[0].tools, 26);
    assert.equal(j.configured.length, 2);
    assertNoSecrets(JSON.stringify(j));
  });

  test("removes a status file whose process has exited and reports no running gateway", () => {
    const sc = scratch();
    const pid = deadPid();
    const file = join(sc.runDir, `${pid}.json`);
    writeJson(file, { pid, cwd: "/x", updatedAt: "t", settingsFiles: [], servers: [] });
    const r = cli(sc, ["status"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /no running gateway/);
    assert.equal(existsSync(file), false, "stale status file should be removed");
  });

  test("ignores (and keeps) a status file whose name does not match the pid inside", () => {
    const sc = scratch();
    const file = join(sc.runDir, `${deadPid()}.json`);
    writeJson(file, { pid: process.pid, cwd: "/x", updatedAt: "t", settingsFiles: [], servers: [] });
    const r = cli(sc, ["status", "--json"]);
    assert.equal(r.code, 0, r.all);
    assert.deepEqual(JSON.parse(r.stdout).gateways, []);
    assert.match(r.stderr, /malformed status file/);
    assert.ok(existsSync(file));
  });
});

describe("servers list", () => {
  test("shows transport, command or URL, layer and policy, but no env/header values, URL credentials or query", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: SECRET_SERVERS, deniedMcpServers: [{ serverName: "remote" }] });
    // GH_TOKEN is set: the template must be shown, not its value.
    sc.env.GH_TOKEN = "ghTokenFromEnv42";
    const r = cli(sc, ["servers", "list"]);
    assert.equal(r.code, 0, r.all);
    assertNoSecrets(r.all);
    assert.ok(!r.all.includes("ghTokenFromEnv42"));
    assert.match(r.stdout, /github\s+stdio\s+npx -y server-github --token \$\{GH_TOKEN:-none\}\s+<1 env var>\s+project: /);
    assert.match(r.stdout, /remote\s+http\s+https:\/\/api\.example\.com\/mcp \(credentials\/query hidden\)\s+<1 header>/);
    assert.match(r.stdout, /remote .*deny: .*deniedMcpServers/);

    const j = cli(sc, ["servers", "list", "--json"]);
    assertNoSecrets(j.all);
    const byName = Object.fromEntries(JSON.parse(j.stdout).servers.map((s: any) => [s.name, s]));
    assert.deepEqual(byName.github.env, ["GITHUB_TOKEN"]);
    assert.equal(byName.github.layer, "project");
    assert.equal(byName.github.file, sc.files.project);
    assert.equal(byName.github.decision, "allow");
    assert.equal(byName.remote.url, "https://api.example.com/mcp");
    assert.equal(byName.remote.urlPartsHidden, true);
    assert.deepEqual(byName.remote.headers, ["Authorization"]);
    assert.equal(byName.remote.decision, "deny");
  });
});

describe("servers disable / remove", () => {
  test("disable sets disabled: true in the layer that defines the server, keeps a backup, and the settings still load", () => {
    const sc = scratch();
    const userBefore = { mcpServers: { github: SECRET_SERVERS.github, memory: { command: "mem" } } };
    writeJson(sc.files.user, userBefore, 4);
    writeJson(sc.files.project, { mcpServers: { other: { command: "o" } } });
    const projectText = readFileSync(sc.files.project, "utf8");
    const userText = readFileSync(sc.files.user, "utf8");

    const r = cli(sc, ["servers", "disable", "github"]);
    assert.equal(r.code, 0, r.all);
    assertNoSecrets(r.all);
    assert.match(r.stdout, /set mcpServers\.github\.disabled = true/);
    assert.match(r.stdout, /will not start server 'github'/);
    assert.match(r.stdout, /no running gateway found/);

    const after = readJson(sc.files.user);
    assert.equal(after.mcpServers.github.disabled, true);
    assert.deepEqual(after.mcpServers.memory, { command: "mem" });
    assert.match(readFileSync(sc.files.user, "utf8"), /^ {4}"mcpServers"/m, "4-space indentation kept");
    assert.equal(statSync(sc.files.user).mode & 0o777, 0o600);
    assert.equal(readFileSync(sc.files.project, "utf8"), projectText, "other layers untouched");
    const backups = backupsOf(sc.files.user);
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(backups[0]!, "utf8"), userText);
    assert.equal(statSync(backups[0]!).mode & 0o777, 0o600);

    const list = JSON.parse(cli(sc, ["servers", "list", "--json"]).stdout).servers;
    const gh = list.find((s: any) => s.name === "github");
    assert.equal(gh.disabled, true);
    assert.equal(gh.decision, "deny");
  });

  test("running disable again writes nothing and no new backup", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a", disabled: true } } });
    const before = readFileSync(sc.files.project, "utf8");
    const r = cli(sc, ["servers", "disable", "a"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /already true/);
    assert.equal(readFileSync(sc.files.project, "utf8"), before);
    assert.deepEqual(backupsOf(sc.files.project), []);
  });

  test("a no-op in a layer that is overridden still warns (exit 1) that the server runs from the higher layer", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a" } } });
    writeJson(sc.files.user, { mcpServers: { a: { command: "a", disabled: true } } });
    // Only a trusted project layer can replace the user's server of the same name.
    assert.equal(cli(sc, ["trust"]).code, 0);
    const before = readFileSync(sc.files.user, "utf8");
    const r = cli(sc, ["servers", "disable", "a", "--layer", "user"]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.stdout, /nothing to change/);
    assert.match(r.stderr, /still configured and allowed to run, from the project layer/);
    assert.equal(readFileSync(sc.files.user, "utf8"), before);
  });

  test("--deny adds one deniedMcpServers entry, and a second run does not duplicate it", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a" } }, deniedMcpServers: [{ serverName: "zzz" }] });
    assert.equal(cli(sc, ["servers", "disable", "a", "--deny"]).code, 0);
    assert.deepEqual(readJson(sc.files.project).deniedMcpServers, [{ serverName: "zzz" }, { serverName: "a" }]);
    const again = cli(sc, ["servers", "disable", "a", "--deny"]);
    assert.equal(again.code, 0, again.all);
    assert.deepEqual(readJson(sc.files.project).deniedMcpServers, [{ serverName: "zzz" }, { serverName: "a" }]);
    assert.equal(backupsOf(sc.files.project).length, 1, "only the first run wrote");
  });

  test("refuses a --layer that does not define the server (exit 2, names the defining layer); with --deny writes only the deny entry there", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a" } } });
    const r = cli(sc, ["servers", "disable", "a", "--layer", "user"]);
    assert.equal(r.code, 2, r.all);
    assert.match(r.stderr, /not defined in the user layer/);
    assert.match(r.stderr, /defined in the project layer/);
    assert.equal(existsSync(sc.files.user), false);

    const d = cli(sc, ["servers", "disable", "a", "--layer", "user", "--deny"]);
    assert.equal(d.code, 0, d.all);
    assert.deepEqual(readJson(sc.files.user), { deniedMcpServers: [{ serverName: "a" }] });
    assert.equal(readJson(sc.files.project).mcpServers.a.disabled, undefined, "the project layer is not changed");
  });

  test("remove deletes the entry from its layer", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a" }, b: { command: "b" } } });
    const r = cli(sc, ["servers", "remove", "a"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /removed mcpServers\.a/);
    assert.match(r.stdout, /'a' is no longer configured/);
    assert.deepEqual(readJson(sc.files.project), { mcpServers: { b: { command: "b" } } });
    assert.equal(backupsOf(sc.files.project).length, 1);
  });

  test("remove exits 1 and warns when a lower layer still defines the server", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "from-project" } } });
    writeJson(sc.files.user, { mcpServers: { a: { command: "from-user" } } });
    assert.equal(cli(sc, ["trust"]).code, 0);
    const r = cli(sc, ["servers", "remove", "a"]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.stderr, /still configured and allowed to run, from the user layer/);
    assert.equal(readJson(sc.files.project).mcpServers.a, undefined);
  });

  test("a removal that would make the settings fail to load is rolled back", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a" } } });
    // Uncovered by the removal, this entry needs a variable that is not set.
    writeJson(sc.files.user, { mcpServers: { a: { command: "a", env: { K: "${UNSET_FOR_TEST_9}" } } } });
    assert.equal(cli(sc, ["trust"]).code, 0);
    const before = readFileSync(sc.files.project, "utf8");
    const r = cli(sc, ["servers", "remove", "a"]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.stderr, /no longer load/);
    assert.match(r.stderr, /restored/);
    assert.equal(readFileSync(sc.files.project, "utf8"), before);
    // Restored content is trusted again, as it was before the change.
    assert.match(cli(sc, ["trust", "--list"]).stdout, /: trusted\n/);
  });

  test("refuses to change a server from managed-mcp.json (exit 2) and writes nothing", () => {
    const sc = scratch();
    writeJson(sc.files.managedMcp, { mcpServers: { corp: { command: "corp" } } });
    const before = readFileSync(sc.files.managedMcp, "utf8");
    for (const action of ["disable", "remove"]) {
      const r = cli(sc, ["servers", action, "corp"]);
      assert.equal(r.code, 2, r.all);
      assert.match(r.stderr, /managed-mcp\.json, which this command does not change/);
    }
    assert.equal(readFileSync(sc.files.managedMcp, "utf8"), before);
    assert.deepEqual(readdirSync(sc.managed), ["managed-mcp.json"]);
  });

  test("an unknown server is a usage error", () => {
    const sc = scratch();
    const r = cli(sc, ["servers", "disable", "nope"]);
    assert.equal(r.code, 2, r.all);
    assert.match(r.stderr, /no server named 'nope'/);
  });

  test("a managed settings file that cannot be written is a clear error (exit 1)", { skip: process.getuid?.() === 0 ? "root can write anywhere" : false }, () => {
    const sc = scratch();
    writeJson(sc.files.managed, { mcpServers: { corp: { command: "corp" } } });
    chmodSync(sc.managed, 0o555);
    try {
      const r = cli(sc, ["servers", "disable", "corp"]);
      assert.equal(r.code, 1, r.all);
      assert.match(r.stderr, /cannot write .*managed-settings\.json: permission denied \(managed settings/);
      assert.equal(readJson(sc.files.managed).mcpServers.corp.disabled, undefined);
    } finally {
      chmodSync(sc.managed, 0o755);
    }
  });
});

describe("init", () => {
  const MCP_JSON = { mcpServers: SECRET_SERVERS };

  test("moves stdio and http servers into .mcp-warden/settings.json and points .mcp.json at `mcp-warden run`, with a backup", () => {
    const sc = scratch();
    const source = join(sc.project, ".mcp.json");
    writeJson(source, MCP_JSON);
    const original = readFileSync(source, "utf8");

    const r = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    assertNoSecrets(r.all);
    assert.match(r.stdout, /\+ github .*<1 env var>/);
    assert.match(r.stdout, /\+ remote .*<1 header>/);

    // The literal secrets stay out of the project layer (test/unit/cli-init.test.ts has the details).
    assertNoSecrets(readFileSync(sc.files.project, "utf8"));
    assert.deepEqual(readJson(sc.files.local), MCP_JSON);
    assert.deepEqual(readJson(source), { mcpServers: { "mcp-warden": { command: process.execPath, args: [CLI, "run"] } } });
    const backups = backupsOf(source);
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(backups[0]!, "utf8"), original);

    // The moved servers load as settings.
    const list = cli(sc, ["servers", "list", "--json"]);
    assert.equal(list.code, 0, list.all);
    assert.deepEqual(JSON.parse(list.stdout).servers.map((s: any) => [s.name, s.transport]), [["github", "stdio"], ["remote", "http"]]);
  });

  test("a second run changes nothing and says so", () => {
    const sc = scratch();
    const source = join(sc.project, ".mcp.json");
    writeJson(source, MCP_JSON);
    assert.equal(cli(sc, ["init", "--no-starter-policy"]).code, 0);
    const snapshot = (d: string) => readdirSync(d, { recursive: true }).map(String).sort().map((n) => [n, statSync(join(d, n)).isFile() ? readFileSync(join(d, n), "utf8") : ""]);
    const before = snapshot(sc.project);
    const r = cli(sc, ["init"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /already launches only mcp-warden; nothing to do/);
    assert.deepEqual(snapshot(sc.project), before);
  });

  test("--dry-run prints the plan and writes nothing", () => {
    const sc = scratch();
    const source = join(sc.project, ".mcp.json");
    writeJson(source, MCP_JSON);
    const original = readFileSync(source, "utf8");
    const r = cli(sc, ["init", "--dry-run"]);
    assert.equal(r.code, 0, r.all);
    assertNoSecrets(r.all);
    assert.match(r.stdout, /would convert/);
    assert.match(r.stdout, /\+ github/);
    assert.match(r.stdout, /dry run: nothing was written/);
    assert.equal(readFileSync(source, "utf8"), original);
    assert.deepEqual(readdirSync(sc.project), [".mcp.json"]);
  });

  test("merges into existing settings, skips an identical server, refuses a clashing one (exit 2, nothing written)", () => {
    const sc = scratch();
    const source = join(sc.project, ".mcp.json");
    writeJson(sc.files.project, { permissions: { deny: ["mcp__github__delete_repo"] }, mcpServers: { github: SECRET_SERVERS.github } });
    writeJson(source, { mcpServers: { github: SECRET_SERVERS.github, extra: { command: "x" } } });
    const ok = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(ok.code, 0, ok.all);
    assert.match(ok.stdout, /= github\s+already there/);
    const merged = readJson(sc.files.project);
    assert.deepEqual(merged.permissions, { deny: ["mcp__github__delete_repo"] });
    assert.deepEqual(Object.keys(merged.mcpServers).sort(), ["extra", "github"]);

    const sc2 = scratch();
    const source2 = join(sc2.project, ".mcp.json");
    writeJson(sc2.files.project, { mcpServers: { extra: { command: "different" } } });
    writeJson(source2, { mcpServers: { extra: { command: "x" } } });
    const before = [readFileSync(source2, "utf8"), readFileSync(sc2.files.project, "utf8")];
    const clash = cli(sc2, ["init"]);
    assert.equal(clash.code, 2, clash.all);
    assert.match(clash.stderr, /server 'extra' is already defined differently/);
    assert.deepEqual([readFileSync(source2, "utf8"), readFileSync(sc2.files.project, "utf8")], before);
  });

  test("an unknown field is an error naming the server and the field (exit 2, nothing written)", () => {
    const sc = scratch();
    const source = join(sc.project, ".mcp.json");
    writeJson(source, { mcpServers: { weird: { command: "w", oauth: { clientId: "x" } } } });
    const r = cli(sc, ["init"]);
    assert.equal(r.code, 2, r.all);
    assert.match(r.stderr, /server 'weird'.*oauth.*unknown field 'oauth'/);
    assert.equal(existsSync(sc.files.project), false);
  });

  test("--from ~/.claude.json: top-level servers go to the user layer, projects[cwd] servers to the local layer, the rest of the file is kept", () => {
    const sc = scratch();
    const claude = join(sc.home, ".claude.json");
    const other = { mcpServers: { keep: { command: "k" } }, allowedTools: [] };
    writeJson(claude, {
      numStartups: 7,
      mcpServers: { globalsrv: { command: "g" } },
      projects: { [sc.project]: { allowedTools: ["Bash"], mcpServers: { localsrv: { type: "sse", url: "https://l.example.com/sse" } } }, "/elsewhere": other },
    });
    const r = cli(sc, ["init", "--from", claude, "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    assert.deepEqual(readJson(sc.files.user).mcpServers, { globalsrv: { command: "g" } });
    assert.deepEqual(readJson(sc.files.local).mcpServers, { localsrv: { type: "sse", url: "https://l.example.com/sse" } });
    const rewritten = readJson(claude);
    const ours = { "mcp-warden": { command: process.execPath, args: [CLI, "run"] } };
    assert.equal(rewritten.numStartups, 7);
    assert.deepEqual(rewritten.mcpServers, ours);
    assert.deepEqual(rewritten.projects[sc.project], { allowedTools: ["Bash"], mcpServers: ours });
    assert.deepEqual(rewritten.projects["/elsewhere"], other, "other projects untouched");
    assert.equal(backupsOf(claude).length, 1);
  });

  test("a missing source file exits 1", () => {
    const sc = scratch();
    const r = cli(sc, ["init"]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.stderr, /\.mcp\.json does not exist/);
  });
});

describe("doctor", () => {
  test("--json reports node, platform, sandbox backends, settings files and directories, and exits 0 here", () => {
    const sc = scratch();
    writeJson(sc.files.project, { mcpServers: { a: { command: "a", env: { T: ENV_SECRET } } } });
    const r = cli(sc, ["doctor", "--json"]);
    assert.equal(r.code, 0, r.all);
    assertNoSecrets(r.all);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ok, true);
    assert.equal(j.node.version, process.versions.node);
    assert.equal(j.node.ok, true);
    assert.equal(j.platform.os, process.platform);
    assert.equal(j.sandbox.enforced, true);
    assert.equal(j.sandbox.default, process.platform === "linux" ? "bubblewrap" : process.platform === "darwin" ? "seatbelt" : null);
    for (const k of ["bubblewrap", "seatbelt", "docker", "podman"]) assert.equal(typeof j.sandbox[k].found, "boolean", k);
    assert.equal(j.settings.ok, true);
    assert.equal(j.settings.servers, 1);
    const files = Object.fromEntries(j.settings.files.map((f: any) => [f.kind, f]));
    // Not trusted yet (`mcp-warden trust`): it may only tighten the policy, and doctor says so.
    assert.deepEqual(files.project, { kind: "project", file: sc.files.project, exists: true, ok: true, trusted: false });
    assert.equal(files.user.exists, false);
    assert.equal(files["managed-mcp"].exists, false);
    const dirs = Object.fromEntries(j.directories.map((d: any) => [d.name, d]));
    assert.equal(dirs.state.path, join(sc.home, ".state/mcp-warden"));
    assert.equal(dirs.state.writable, true);
    assert.equal(dirs.audit.required, true);
    assert.equal(existsSync(join(sc.home, ".state")), false, "doctor creates nothing");

    const text = cli(sc, ["doctor"]);
    assert.equal(text.code, 0, text.all);
    assert.match(text.stdout, /result: ok/);
  });

  test("an invalid settings file: exit 2, and the file and problem are named", () => {
    const sc = scratch();
    writeJson(sc.files.user, { mcpServers: { a: { command: "a", bogus: 1 } } });
    const r = cli(sc, ["doctor", "--json"]);
    assert.equal(r.code, 2, r.all);
    const j = JSON.parse(r.stdout);
    assert.equal(j.settings.ok, false);
    const user = j.settings.files.find((f: any) => f.kind === "user");
    assert.equal(user.ok, false);
    assert.match(user.error, /mcpServers\.a\.bogus.*unknown field 'bogus'/);
  });

  test("a permission rule that does not compile is a settings error for doctor, status and servers list (exit 2)", () => {
    const sc = scratch();
    writeJson(sc.files.project, { permissions: { deny: ["Bash(unclosed"] }, mcpServers: { a: { command: "a" } } });
    const d = cli(sc, ["doctor", "--json"]);
    assert.equal(d.code, 2, d.all);
    assert.match(JSON.parse(d.stdout).settings.error, /Bash\(unclosed/);
    for (const args of [["status"], ["servers", "list"]]) {
      const r = cli(sc, args);
      assert.equal(r.code, 2, r.all);
      assert.match(r.stderr, /settings error: .*Bash\(unclosed/);
    }
  });

  test("a state directory that cannot be created: exit 1", () => {
    const sc = scratch();
    const blocker = join(sc.root, "not-a-dir");
    writeFileSync(blocker, "");
    sc.env.XDG_STATE_HOME = join(blocker, "state");
    const r = cli(sc, ["doctor"]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.stdout, /FAIL\s+state: /);
  });
});
