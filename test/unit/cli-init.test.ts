// `mcp-warden init` through the real CLI process, in a scratch HOME, XDG dirs, managed dir and
// project: the parts of a first run around the happy path of test/e2e/init-first-run.test.ts. What
// it refuses to do (write secrets where they would not win, vouch for an untrusted file, approve a
// server it did not write, start anything in a dry run), and what it says when it cannot do better.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { closedPort } from "../e2e/harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CLI = join(ROOT, "dist/src/cli.cjs");
const EVERYTHING = join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const TOKEN = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8";

interface Scratch {
  home: string;
  project: string;
  env: NodeJS.ProcessEnv;
  project_: string;
  local: string;
  user: string;
  pins: string;
}

const roots: string[] = [];
afterEach(() => {
  for (const d of roots.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): Scratch {
  const root = mkdtempSync(join(tmpdir(), "warden-cli-init-"));
  roots.push(root);
  const home = join(root, "home");
  const project = join(root, "project");
  for (const d of [home, project, join(root, "managed")]) mkdirSync(d, { recursive: true });
  // No `mcp-warden` on this PATH: only node's directory and the system's.
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_STATE_HOME: join(home, ".state"),
    MCP_WARDEN_MANAGED_DIR: join(root, "managed"),
  };
  return {
    home,
    project,
    env,
    project_: join(project, ".mcp-warden/settings.json"),
    local: join(project, ".mcp-warden/settings.local.json"),
    user: join(home, ".config/mcp-warden/settings.json"),
    pins: join(home, ".state/mcp-warden/pins.json"),
  };
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

function cli(sc: Scratch, args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: sc.project, env: sc.env, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr };
}

/** A stdio "server" that only leaves a marker file when started (then exits: it fails to start as MCP). */
function markerServer(marker: string) {
  return { command: process.execPath, args: ["-e", "require('fs').writeFileSync(process.env.MARKER_FILE, 'started')"], env: { MARKER_FILE: marker } };
}

function pinnedNames(sc: Scratch): string[] {
  if (!existsSync(sc.pins)) return [];
  const data = JSON.parse(readFileSync(sc.pins, "utf8")) as { servers: Record<string, { serverName: string }> | { serverName: string }[] };
  return Object.values(data.servers).map((r) => r.serverName).sort();
}

describe("init (CLI)", () => {
  test("--dry-run shows the secret plan and the approvals it would make, and writes, approves and starts nothing", () => {
    const sc = scratch();
    const marker = join(sc.home, "started");
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { probe: markerServer(marker), github: { command: "gh-server", env: { GITHUB_TOKEN: TOKEN } } } });
    const r = cli(sc, ["init", "--dry-run"]);
    assert.equal(r.code, 0, r.all);
    assert.ok(!r.all.includes(TOKEN));
    assert.match(r.stdout, /github: env\.GITHUB_TOKEN → \$\{GITHUB_TOKEN\}/);
    assert.match(r.stdout, /would approve the launch configuration of probe, github/);
    assert.match(r.stdout, /no server is started in a dry run/);
    assert.deepEqual(readdirSync(sc.project), [".mcp.json"]);
    assert.equal(existsSync(marker), false, "a server was started in a dry run");
    assert.equal(existsSync(sc.pins), false, "a dry run recorded approvals");
  });

  test("--no-starter-policy approves the moved servers but starts none of them", () => {
    const sc = scratch();
    const marker = join(sc.home, "started");
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { probe: markerServer(marker) } });
    const r = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    assert.equal(existsSync(marker), false);
    assert.deepEqual(pinnedNames(sc), ["probe"]);
    // Control: without the flag the same server is started to read its annotations (and its failure is reported, not fatal).
    const sc2 = scratch();
    const marker2 = join(sc2.home, "started");
    writeJson(join(sc2.project, ".mcp.json"), { mcpServers: { probe: markerServer(marker2) } });
    const r2 = cli(sc2, ["init"]);
    assert.equal(r2.code, 0, r2.all);
    assert.equal(readFileSync(marker2, "utf8"), "started");
    assert.match(r2.stdout, /probe: could not list its tools, so no rules/);
  });

  test("without `mcp-warden` on the PATH the entry uses absolute paths, and init says how to make it portable", () => {
    const sc = scratch();
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { a: { command: "a-server" } } });
    const r = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    const entry = JSON.parse(readFileSync(join(sc.project, ".mcp.json"), "utf8")).mcpServers["mcp-warden"];
    assert.deepEqual(entry, { command: process.execPath, args: [CLI, "run"] });
    assert.match(r.stdout, /`mcp-warden` is not on your PATH.*npm install -g/);
  });

  test("an existing untrusted project file stays untrusted; init says so, and that the starter policy's allow rules have no effect there", () => {
    const sc = scratch();
    // Written by the repository, never trusted by this user.
    writeJson(sc.project_, { permissions: { deny: ["mcp__everything__get-env"] } });
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { everything: { command: process.execPath, args: [EVERYTHING] } } });
    const r = cli(sc, ["init"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /settings\.json is not trusted, so it stays untrusted/);
    assert.match(r.stdout, /is not trusted, so its allow rules have no effect/);
    // The deny rule there wins over the read-only annotation: no allow is offered for get-env.
    const written = JSON.parse(readFileSync(sc.project_, "utf8"));
    assert.ok(written.permissions.allow.includes("mcp__everything__echo"));
    assert.ok(!written.permissions.allow.includes("mcp__everything__get-env"));
    const doctor = JSON.parse(cli(sc, ["doctor", "--json"]).stdout);
    assert.equal(doctor.settings.files.find((f: { kind: string }) => f.kind === "project").trusted, false);
    // The server itself was approved (a project may add servers; the person running init approved it).
    assert.deepEqual(pinnedNames(sc), ["everything"]);
  });

  test("an untrusted existing local file is not where init puts secrets: exit 2, nothing written", () => {
    const sc = scratch();
    writeJson(sc.local, { permissions: { ask: ["mcp__*"] } });
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { github: { command: "gh-server", env: { GITHUB_TOKEN: TOKEN } } } });
    const before = readFileSync(join(sc.project, ".mcp.json"), "utf8");
    const r = cli(sc, ["init"]);
    assert.equal(r.code, 2, r.all);
    assert.match(r.stderr, /settings\.local\.json is not trusted.*run `mcp-warden trust`.*nothing was written/s);
    assert.equal(readFileSync(join(sc.project, ".mcp.json"), "utf8"), before);
    assert.equal(existsSync(sc.project_), false);
  });

  test("a server your user settings define under the same name is the one that runs: init does not approve it", () => {
    const sc = scratch();
    writeJson(sc.user, { mcpServers: { shared: { command: "users-own-server" } } });
    // The repository's untrusted project file cannot replace a server of the user's (a trusted one could: it is a higher layer).
    writeJson(sc.project_, {});
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { shared: { command: "repos-server" }, mine: { command: "my-server" } } });
    const r = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /note: the server 'shared' that runs here is the one in user settings .*init did not approve it/);
    assert.deepEqual(pinnedNames(sc), ["mine"]);
  });

  test("in a git repository without a .gitignore, init creates one for the local layer; without either it says to keep the file out of version control", () => {
    const sc = scratch();
    mkdirSync(join(sc.project, ".git"));
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { github: { command: "gh-server", env: { GITHUB_TOKEN: TOKEN } } } });
    const r = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    const ignored = readFileSync(join(sc.project, ".gitignore"), "utf8").split("\n");
    assert.ok(ignored.includes(".mcp-warden/settings.local.json"));

    const sc2 = scratch();
    writeJson(join(sc2.project, ".mcp.json"), { mcpServers: { github: { command: "gh-server", env: { GITHUB_TOKEN: TOKEN } } } });
    const r2 = cli(sc2, ["init", "--no-starter-policy"]);
    assert.equal(r2.code, 0, r2.all);
    assert.equal(existsSync(join(sc2.project, ".gitignore")), false);
    assert.match(r2.stdout, /no \.gitignore and no git repository here; keep \.mcp-warden\/settings\.local\.json out of version control/);
  });

  test("a server that fails to start is reported without its secrets: the URL's password and key, the header's credential", async () => {
    const sc = scratch();
    const port = await closedPort();
    const remote = { type: "http", url: `http://alice:urlPassword4711@127.0.0.1:${port}/mcp?key=queryKey4712`, headers: { Authorization: "Bearer headerCred4713" } };
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { remote } });
    const r = cli(sc, ["init"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /remote: could not list its tools, so no rules: /);
    for (const secret of ["urlPassword4711", "queryKey4712", "headerCred4713"]) assert.ok(!r.all.includes(secret), `init printed ${secret}:\n${r.all}`);
  });

  test("a project file that already holds the same entry with its literal secret is left as it is, with a note", () => {
    const sc = scratch();
    const github = { command: "gh-server", env: { GITHUB_TOKEN: TOKEN } };
    writeJson(sc.project_, { mcpServers: { github } });
    writeJson(join(sc.project, ".mcp.json"), { mcpServers: { github } });
    const r = cli(sc, ["init", "--no-starter-policy"]);
    assert.equal(r.code, 0, r.all);
    assert.ok(!r.all.includes(TOKEN));
    assert.match(r.stdout, /= github\s+already there/);
    assert.match(r.stdout, /already holds literal secrets \(env\.GITHUB_TOKEN\).*before you commit/);
    assert.equal(existsSync(sc.local), false);
  });
});
