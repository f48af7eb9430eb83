// Loading and layering settings files: which files are read, in what precedence, and how they merge.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test, type TestContext } from "node:test";
import {
  SettingsError,
  loadSettings,
  readSettingsFile,
  resolveSettings,
  parseSettingsText,
  type ResolvedSettings,
  type SettingsLayer,
} from "../../src/settings/index.js";
import { recordTrust } from "../../src/settings/trust.js";

/** The rules that come from settings files, without mcp-warden's built-in denies (the status files' approval tokens). */
const settingsRules = <T extends { source: { file: string } }>(rules: T[]): T[] => rules.filter((r) => r.source.file !== "<mcp-warden built-in>");

/** A throwaway HOME / XDG / managed dir / project, so no test reads the real /etc or ~. */
function world(t: TestContext) {
  const root = mkdtempSync(join(tmpdir(), "warden-settings-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const home = join(root, "home");
  const xdg = join(root, "xdg");
  const state = join(root, "state");
  const managed = join(root, "managed");
  const cwd = join(root, "project");
  for (const d of [home, xdg, state, managed, cwd]) mkdirSync(d, { recursive: true });
  const env: NodeJS.ProcessEnv = { HOME: home, XDG_CONFIG_HOME: xdg, XDG_STATE_HOME: state, MCP_WARDEN_MANAGED_DIR: managed };
  const files = {
    managed: join(managed, "managed-settings.json"),
    managedMcp: join(managed, "managed-mcp.json"),
    dropIn: (name: string) => join(managed, "managed-settings.d", name),
    local: join(cwd, ".mcp-warden", "settings.local.json"),
    project: join(cwd, ".mcp-warden", "settings.json"),
    user: join(xdg, "mcp-warden", "settings.json"),
    cli: (name: string) => join(root, name),
  };
  const write = (file: string, content: unknown) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
    return file;
  };
  // These tests are about merging the layers a user wrote: the project and local files are trusted
  // (as after `mcp-warden trust`). What untrusted ones may do is in settings-trust.test.ts.
  const trustRepositoryFiles = () => {
    const present = [files.local, files.project].filter((f) => existsSync(f) && statSync(f).isFile());
    if (present.length) recordTrust(env, present.map((f) => ({ file: f, bytes: readFileSync(f) })));
  };
  const load = (cliFiles?: string[], extraEnv: NodeJS.ProcessEnv = {}): ResolvedSettings => {
    trustRepositoryFiles();
    return loadSettings({ cwd, env: { ...env, ...extraEnv }, ...(cliFiles ? { cliFiles } : {}) });
  };
  return { root, home, xdg, state, managed, cwd, env, files, write, load };
}

function throwsSettingsError(fn: () => unknown, expected: { file?: string; path?: string; includes?: string[] }): SettingsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SettingsError, `expected a SettingsError, got ${String(caught)}`);
  if (expected.file !== undefined) assert.equal(caught.file, expected.file);
  if (expected.path !== undefined) assert.equal(caught.path, expected.path);
  for (const text of expected.includes ?? []) assert.ok(caught.message.includes(text), `message lacks ${JSON.stringify(text)}:\n${caught.message}`);
  return caught;
}

const stdio = (command = "node") => ({ command });

test("every layer is read, and the highest existing one wins: managed > cli (later first) > local > project > user", (t) => {
  const w = world(t);
  const all = {
    managed: w.write(w.files.managed, { gateway: { callTimeoutMs: 1 } }),
    cli2: w.write(w.files.cli("second.json"), { gateway: { callTimeoutMs: 2 } }),
    cli1: w.write(w.files.cli("first.json"), { gateway: { callTimeoutMs: 3 } }),
    local: w.write(w.files.local, { gateway: { callTimeoutMs: 4 } }),
    project: w.write(w.files.project, { gateway: { callTimeoutMs: 5 } }),
    user: w.write(w.files.user, { gateway: { callTimeoutMs: 6 } }),
  };
  const cli = [all.cli1, all.cli2];
  const r = w.load(cli);
  assert.deepEqual(r.files, [
    { layer: "managed", file: all.managed },
    { layer: "cli", file: all.cli2 },
    { layer: "cli", file: all.cli1 },
    { layer: "local", file: all.local },
    { layer: "project", file: all.project },
    { layer: "user", file: all.user },
  ]);
  // Take away the winner each time: the next layer down must take over.
  assert.equal(w.load(cli).gateway.callTimeoutMs, 1);
  rmSync(all.managed);
  assert.equal(w.load(cli).gateway.callTimeoutMs, 2);
  assert.equal(w.load([all.cli1]).gateway.callTimeoutMs, 3); // the later --settings file dropped from the arguments
  assert.equal(w.load([]).gateway.callTimeoutMs, 4);
  rmSync(all.local);
  assert.equal(w.load().gateway.callTimeoutMs, 5);
  rmSync(all.project);
  assert.equal(w.load().gateway.callTimeoutMs, 6);
  rmSync(all.user);
  assert.equal(w.load().gateway.callTimeoutMs, 60_000);
});

test("with no settings files at all, loading succeeds with the documented defaults", (t) => {
  const w = world(t);
  const r = w.load();
  assert.deepEqual(r.files, []);
  assert.deepEqual(r.gateway, {
    separator: "__",
    prefix: true,
    startup: "eager",
    callTimeoutMs: 60_000,
    maxMessageBytes: 8 * 1024 * 1024,
    restart: { maxRestarts: 5, initialDelayMs: 250, maxDelayMs: 30_000 },
    logDir: join(w.state, "mcp-warden", "logs"),
    pageSize: 1000,
  });
  assert.deepEqual(r.audit, { dir: join(w.state, "mcp-warden", "audit"), fsyncIntervalMs: 100 });
  assert.equal(r.policy.defaultMode, "default");
  assert.equal(r.policy.bypassDisabled, false);
  assert.equal(r.policy.allowedMcpServers, undefined);
  assert.equal(r.policy.exclusiveManagedServers, false);
  assert.deepEqual(r.servers, []);
});

test("the user layer falls back to ~/.config/mcp-warden when XDG_CONFIG_HOME is unset", (t) => {
  const w = world(t);
  const file = w.write(join(w.home, ".config", "mcp-warden", "settings.json"), { permissions: { deny: ["Bash"] } });
  const env = { ...w.env };
  delete env.XDG_CONFIG_HOME;
  const r = loadSettings({ cwd: w.cwd, env });
  assert.deepEqual(r.files, [{ layer: "user", file }]);
});

test("a deny in the user layer survives a project allow for the same tool, with its source", (t) => {
  const w = world(t);
  w.write(w.files.user, { permissions: { deny: ["mcp__github__other", "mcp__github__delete_repo"] } });
  w.write(w.files.project, { permissions: { allow: ["mcp__github__*"], ask: ["mcp__github__create_issue"] } });
  const r = w.load();
  assert.deepEqual(r.policy.deny[1], {
    value: "mcp__github__delete_repo",
    source: { layer: "user", file: w.files.user, path: "permissions.deny[1]" },
  });
  assert.deepEqual(r.policy.allow, [
    { value: "mcp__github__*", source: { layer: "project", file: w.files.project, path: "permissions.allow[0]" } },
  ]);
  assert.equal(r.policy.ask[0]?.source.path, "permissions.ask[0]");
});

test("rules from all layers are concatenated, highest layer first; autoApproveTools become policy.autoApprove", (t) => {
  const w = world(t);
  w.write(w.files.managed, { permissions: { allow: ["A"] }, autoApproveTools: ["mcp__m__*"] });
  w.write(w.files.local, { permissions: { allow: ["B"] } });
  w.write(w.files.user, { permissions: { allow: ["C"] }, autoApproveTools: ["mcp__u__read"] });
  const r = w.load();
  assert.deepEqual(r.policy.allow.map((s) => [s.value, s.source.layer]), [["A", "managed"], ["B", "local"], ["C", "user"]]);
  assert.deepEqual(r.policy.autoApprove.map((s) => [s.value, s.source.layer, s.source.path]), [
    ["mcp__m__*", "managed", "autoApproveTools[0]"],
    ["mcp__u__read", "user", "autoApproveTools[0]"],
  ]);
});

test("defaultMode comes from the highest layer that sets it; disableBypassPermissionsMode from any layer", (t) => {
  const w = world(t);
  w.write(w.files.project, { permissions: { defaultMode: "plan" } });
  w.write(w.files.user, { permissions: { defaultMode: "bypassPermissions", disableBypassPermissionsMode: "disable" } });
  const r = w.load();
  assert.equal(r.policy.defaultMode, "plan");
  assert.equal(r.policy.bypassDisabled, true);
});

test("a later --settings file has higher precedence than an earlier one", (t) => {
  const w = world(t);
  const a = w.write(w.files.cli("a.json"), { mcpServers: { s: { command: "from-a" } } });
  const b = w.write(w.files.cli("b.json"), { mcpServers: { s: { command: "from-b" } } });
  assert.equal(w.load([a, b]).servers[0]?.entry.command, "from-b");
  assert.equal(w.load([b, a]).servers[0]?.entry.command, "from-a");
});

test("a missing --settings file is an error, while missing layer files are skipped", (t) => {
  const w = world(t);
  const missing = join(w.root, "nope.json");
  throwsSettingsError(() => w.load([missing]), { file: missing, includes: ["not found"] });
});

test("relative --settings paths are resolved against cwd and listed as absolute", (t) => {
  const w = world(t);
  const file = w.write(join(w.cwd, "extra.json"), {});
  assert.deepEqual(w.load(["extra.json"]).files, [{ layer: "cli", file }]);
});

test("a settings path that is a directory is an error, not a missing file", (t) => {
  const w = world(t);
  mkdirSync(w.files.project, { recursive: true });
  throwsSettingsError(() => w.load(), { file: w.files.project, includes: ["directory"] });
});

test("managed drop-ins are read after managed-settings.json in name order; the last has the highest precedence", (t) => {
  const w = world(t);
  const base = w.write(w.files.managed, { permissions: { deny: ["base"] }, gateway: { callTimeoutMs: 1, startup: "lazy" } });
  const b = w.write(w.files.dropIn("20-b.json"), { permissions: { deny: ["b"] }, gateway: { callTimeoutMs: 20 } });
  const a = w.write(w.files.dropIn("10-a.json"), { permissions: { deny: ["a"] }, gateway: { callTimeoutMs: 10, separator: "_" } });
  w.write(w.files.dropIn("README.txt"), "not json, not read");
  w.write(w.files.dropIn(".hidden.json"), "{ not even valid");
  const r = w.load();
  assert.deepEqual(r.files, [
    { layer: "managed", file: b },
    { layer: "managed", file: a },
    { layer: "managed", file: base },
  ]);
  assert.equal(r.gateway.callTimeoutMs, 20);
  assert.equal(r.gateway.separator, "_");
  assert.equal(r.gateway.startup, "lazy");
  assert.deepEqual(settingsRules(r.policy.deny).map((d) => d.value), ["b", "a", "base"]);
  assert.ok(r.warnings.some((m) => m.includes(".hidden.json")), r.warnings.join("\n"));
});

test("an invalid managed drop-in is an error naming that drop-in", (t) => {
  const w = world(t);
  const bad = w.write(w.files.dropIn("50-bad.json"), { permissions: { dney: ["x"] } });
  throwsSettingsError(() => w.load(), { file: bad, path: "permissions.dney", includes: ["did you mean 'deny'"] });
});

test("per server name the highest layer's entry wins whole, and records its file, path and managed flag", (t) => {
  const w = world(t);
  w.write(w.files.user, { mcpServers: { github: { command: "gh-old", env: { TOKEN: "x" } }, mem: stdio() } });
  w.write(w.files.project, { mcpServers: { github: { command: "gh-new" } } });
  w.write(w.files.managed, { mcpServers: { corp: stdio() } });
  const r = w.load();
  assert.equal(r.servers, r.policy.servers);
  assert.deepEqual(
    r.servers.map((s) => [s.name, s.source.layer, s.managed]),
    [["corp", "managed", true], ["github", "project", false], ["mem", "user", false]],
  );
  const github = r.servers.find((s) => s.name === "github")!;
  assert.deepEqual(github.entry, { command: "gh-new" }, "no env merged in from the user layer");
  assert.deepEqual(github.source, { layer: "project", file: w.files.project, path: "mcpServers.github" });
});

test("managed-mcp.json is the exclusive server set: other servers are dropped with a warning, its servers are managed", (t) => {
  const w = world(t);
  w.write(w.files.managedMcp, { mcpServers: { corp: { command: "corp-server" } } });
  w.write(w.files.user, { mcpServers: { mine: stdio() } });
  w.write(w.files.managed, { mcpServers: { alsoManaged: stdio() } });
  const r = w.load();
  assert.equal(r.policy.exclusiveManagedServers, true);
  assert.deepEqual(r.servers, [
    {
      name: "corp",
      entry: { command: "corp-server" },
      source: { layer: "managed", file: w.files.managedMcp, path: "mcpServers.corp" },
      managed: true,
    },
  ]);
  assert.ok(r.warnings.some((m) => m.includes("'mine'") && m.includes(w.files.user)), r.warnings.join("\n"));
  assert.ok(r.warnings.some((m) => m.includes("'alsoManaged'")), r.warnings.join("\n"));
  assert.deepEqual(r.files[0], { layer: "managed", file: w.files.managedMcp });
});

test("managed-mcp.json is validated: an unknown field is an error naming it", (t) => {
  const w = world(t);
  w.write(w.files.managedMcp, { mcpServers: { corp: stdio() }, servers: {} });
  throwsSettingsError(() => w.load(), { file: w.files.managedMcp, path: "servers", includes: ["unknown field 'servers'"] });
});

test("allowManagedPermissionRulesOnly outside managed settings is ignored with a warning", (t) => {
  const w = world(t);
  w.write(w.files.project, { allowManagedPermissionRulesOnly: true, allowManagedMcpServersOnly: true });
  w.write(w.files.user, { permissions: { allow: ["X"] }, allowedMcpServers: [{ serverName: "a" }] });
  const r = w.load();
  assert.deepEqual(r.policy.allow.map((a) => a.value), ["X"]);
  assert.deepEqual(r.policy.allowedMcpServers?.map((a) => a.value), [{ serverName: "a" }]);
  assert.equal(r.warnings.filter((m) => m.startsWith(w.files.project) && m.includes("only honoured in managed")).length, 2);
});

test("allowManagedPermissionRulesOnly in managed settings keeps only managed rules and autoApproveTools", (t) => {
  const w = world(t);
  w.write(w.files.dropIn("00-lock.json"), { allowManagedPermissionRulesOnly: true });
  w.write(w.files.managed, { permissions: { deny: ["managed-deny"], allow: ["managed-allow"] }, autoApproveTools: ["mcp__m__*"] });
  w.write(w.files.project, {
    permissions: { allow: ["project-allow"], deny: ["project-deny"], disableBypassPermissionsMode: "disable" },
    autoApproveTools: ["mcp__p__*"],
    toolPermissions: { Bash: { allowCommands: ["ls"] } },
  });
  const r = w.load();
  assert.deepEqual(r.policy.allow.map((a) => a.value), ["managed-allow"]);
  assert.deepEqual(settingsRules(r.policy.deny).map((a) => a.value), ["managed-deny"]);
  assert.deepEqual(r.policy.autoApprove.map((a) => a.value), ["mcp__m__*"]);
  assert.deepEqual(r.toolPermissions, []);
  assert.equal(r.policy.bypassDisabled, true, "disabling bypass only restricts, so it still counts");
  assert.ok(r.warnings.some((m) => m.startsWith(w.files.project) && m.includes("allowManagedPermissionRulesOnly")), r.warnings.join("\n"));
});

test("with allowManagedPermissionRulesOnly, only the managed layer may set defaultMode (no bypass from a project)", (t) => {
  const w = world(t);
  w.write(w.files.managed, { allowManagedPermissionRulesOnly: true });
  w.write(w.files.project, { permissions: { defaultMode: "bypassPermissions" } });
  assert.equal(w.load().policy.defaultMode, "default");
  w.write(w.files.managed, { allowManagedPermissionRulesOnly: true, permissions: { defaultMode: "dontAsk" } });
  assert.equal(w.load().policy.defaultMode, "dontAsk");
});

test("a managed drop-in saying allowManagedPermissionRulesOnly: false does not undo another managed file's true", (t) => {
  const w = world(t);
  w.write(w.files.managed, { allowManagedPermissionRulesOnly: true });
  w.write(w.files.dropIn("99-unlock.json"), { allowManagedPermissionRulesOnly: false });
  w.write(w.files.project, { permissions: { allow: ["project-allow"] } });
  assert.deepEqual(w.load().policy.allow, []);
});

test("allowedMcpServers is undefined when no layer sets it, and the union of all layers otherwise", (t) => {
  const w = world(t);
  w.write(w.files.user, { deniedMcpServers: [{ serverName: "bad" }] });
  assert.equal(w.load().policy.allowedMcpServers, undefined);
  w.write(w.files.project, { allowedMcpServers: [{ serverName: "p" }] });
  w.write(w.files.user, { allowedMcpServers: [{ serverUrl: "https://u.example/*" }] });
  assert.deepEqual(w.load().policy.allowedMcpServers, [
    { value: { serverName: "p" }, source: { layer: "project", file: w.files.project, path: "allowedMcpServers[0]" } },
    { value: { serverUrl: "https://u.example/*" }, source: { layer: "user", file: w.files.user, path: "allowedMcpServers[0]" } },
  ]);
});

test("allowManagedMcpServersOnly in managed settings without a managed allowlist means lockdown ([])", (t) => {
  const w = world(t);
  w.write(w.files.managed, { allowManagedMcpServersOnly: true, deniedMcpServers: [{ serverName: "m-bad" }] });
  w.write(w.files.project, { allowedMcpServers: [{ serverName: "p" }], deniedMcpServers: [{ serverName: "p-bad" }] });
  const r = w.load();
  assert.deepEqual(r.policy.allowedMcpServers, []);
  assert.deepEqual(r.policy.deniedMcpServers.map((d) => d.value), [{ serverName: "m-bad" }, { serverName: "p-bad" }]);
  assert.ok(r.warnings.some((m) => m.startsWith(w.files.project) && m.includes("allowedMcpServers")), r.warnings.join("\n"));
});

test("allowManagedMcpServersOnly in managed settings keeps only the managed allowlist", (t) => {
  const w = world(t);
  w.write(w.files.managed, { allowManagedMcpServersOnly: true, allowedMcpServers: [{ serverName: "corp" }] });
  w.write(w.files.user, { allowedMcpServers: [{ serverName: "mine" }] });
  assert.deepEqual(w.load().policy.allowedMcpServers?.map((a) => [a.value, a.source.layer]), [[{ serverName: "corp" }, "managed"]]);
});

test("a typo'd field is an error naming the file and the JSON path", (t) => {
  const w = world(t);
  w.write(w.files.project, { mcpServers: { github: { comand: "gh" } } });
  throwsSettingsError(() => w.load(), {
    file: w.files.project,
    path: "mcpServers.github.comand",
    includes: [`${w.files.project}: at mcpServers.github.comand: unknown field 'comand'`],
  });
});

test("a JSON syntax error in a layer file gives the file and line:column", (t) => {
  const w = world(t);
  w.write(w.files.user, '{\n  "permissions": {\n    "deny": ["a" "b"]\n  }\n}\n');
  const err = throwsSettingsError(() => w.load(), { file: w.files.user, includes: ["line 3, column 18"] });
  assert.equal(err.line, 3);
  assert.equal(err.column, 18); // the second string, where a comma was due
});

test("${VAR} is expanded from the given env in the loaded server entry", (t) => {
  const w = world(t);
  w.write(w.files.project, { mcpServers: { gh: { command: "${TOOLS}/gh", args: ["--token=${TOKEN:-none}"] } } });
  const r = w.load(undefined, { TOOLS: "/opt/tools" });
  assert.deepEqual(r.servers[0]?.entry, { command: "/opt/tools/gh", args: ["--token=none"] });
});

test("a missing variable is an error with the file, the JSON path and the variable name", (t) => {
  const w = world(t);
  w.write(w.files.project, { mcpServers: { github: { command: "gh", env: { GITHUB_TOKEN: "${GH_TOKEN_FOR_TEST}" } } } });
  throwsSettingsError(() => w.load(), { file: w.files.project, path: "mcpServers.github.env.GITHUB_TOKEN", includes: ["GH_TOKEN_FOR_TEST"] });
});

test("a variable missing only in an entry overridden by a higher layer is not an error", (t) => {
  const w = world(t);
  w.write(w.files.user, { mcpServers: { github: { command: "gh", env: { T: "${NOT_SET_ANYWHERE}" } } } });
  w.write(w.files.project, { mcpServers: { github: { command: "gh" } } });
  assert.deepEqual(w.load().servers[0]?.entry, { command: "gh" });
});

test("prefix: false with two enabled servers is an error naming the file that set prefix", (t) => {
  const w = world(t);
  w.write(w.files.user, { gateway: { prefix: false } });
  w.write(w.files.project, { mcpServers: { a: stdio(), b: stdio() } });
  throwsSettingsError(() => w.load(), { file: w.files.user, path: "gateway.prefix", includes: ["'a'", "'b'"] });
});

test("prefix: false with one enabled and one disabled server is accepted", (t) => {
  const w = world(t);
  w.write(w.files.project, { gateway: { prefix: false }, mcpServers: { a: stdio(), b: { command: "x", disabled: true } } });
  assert.equal(w.load().gateway.prefix, false);
});

test("two servers whose names differ only in case are an error", (t) => {
  const w = world(t);
  w.write(w.files.user, { mcpServers: { GitHub: stdio() } });
  w.write(w.files.project, { mcpServers: { github: stdio() } });
  throwsSettingsError(() => w.load(), { path: "mcpServers.github", includes: ["'GitHub'", "'github'", "case"] });
});

test("a server name containing the configured separator is an error naming the server", (t) => {
  const w = world(t);
  w.write(w.files.user, { gateway: { separator: "-" } });
  w.write(w.files.project, { mcpServers: { "my-server": stdio() } });
  throwsSettingsError(() => w.load(), { file: w.files.project, path: "mcpServers.my-server", includes: ["'my-server'", "'-'", w.files.user] });
});

test("an invalid server name is rejected at mcpServers.<name>", (t) => {
  const w = world(t);
  w.write(w.files.project, { mcpServers: { "a__b": stdio() } });
  throwsSettingsError(() => w.load(), { file: w.files.project, path: "mcpServers.a__b", includes: ["invalid name"] });
});

test("relative audit.dir and logDir resolve against the directory of the file that set them", (t) => {
  const w = world(t);
  // audit.dir and logDir come from managed, command-line and user settings only (never a project's).
  const cli = w.write(w.files.cli("conf/extra.json"), { audit: { dir: "audit-here" } });
  w.write(w.files.user, { audit: { dir: "/ignored/lower/layer" }, gateway: { logDir: "../logs" } });
  const r = w.load([cli]);
  assert.equal(r.audit.dir, join(w.root, "conf", "audit-here"));
  assert.equal(r.gateway.logDir, join(w.xdg, "logs"));
});

test("a leading ~ in audit.dir is refused rather than taken as a directory named '~'", (t) => {
  const w = world(t);
  w.write(w.files.user, { audit: { dir: "~/audit" } });
  throwsSettingsError(() => w.load(), { file: w.files.user, path: "audit.dir" });
});

test("gateway fields merge per field across layers, restart included", (t) => {
  const w = world(t);
  w.write(w.files.project, { gateway: { restart: { maxRestarts: 1 } } });
  w.write(w.files.user, { gateway: { restart: { maxRestarts: 9, maxDelayMs: 1000 }, startup: "lazy" } });
  const g = w.load().gateway;
  assert.deepEqual(g.restart, { maxRestarts: 1, initialDelayMs: 250, maxDelayMs: 1000 });
  assert.equal(g.startup, "lazy");
});

test("restart.initialDelayMs above maxDelayMs is an error", (t) => {
  const w = world(t);
  w.write(w.files.user, { gateway: { restart: { maxDelayMs: 100 } } });
  throwsSettingsError(() => w.load(), { file: w.files.user, path: "gateway.restart.maxDelayMs" });
});

test("secrets collect env and header values, the credential after an auth scheme, and substituted variables", (t) => {
  const w = world(t);
  w.write(w.files.project, {
    mcpServers: {
      gh: { command: "gh", env: { TOKEN: "${GH_T}", EMPTY: "", PLAIN: "plain-value" } },
      api: { url: "https://api.example/mcp?key=${URL_K}", headers: { Authorization: "Bearer ${API_T}", "X-Literal": "Token lit-credential" } },
      off: { command: "x", disabled: true, env: { K: "disabled-but-configured" } },
      cli: { command: "tool", args: ["--root", "${ROOT_DIR}", "--api-key", "${CLI_API_KEY}"] },
    },
  });
  const r = w.load(undefined, { GH_T: "ghp_secret", API_T: "tok123", URL_K: "urlkey99", ROOT_DIR: "/srv/data", CLI_API_KEY: "clikey77" });
  assert.deepEqual(
    new Set(r.secrets),
    new Set(["ghp_secret", "plain-value", "Bearer tok123", "tok123", "Token lit-credential", "lit-credential", "urlkey99", "clikey77", "disabled-but-configured"]),
  );
  assert.ok(!r.secrets.includes("/srv/data"), "a path substituted into args is not treated as a secret");
  assert.ok(!r.secrets.includes(""));
});

test("sandbox comes whole from the highest layer; toolPermissions are carried per layer", (t) => {
  const w = world(t);
  w.write(w.files.project, { sandbox: { type: "none" }, toolPermissions: { Bash: { denyCommands: ["rm"] } } });
  w.write(w.files.user, { sandbox: { type: "docker", env: ["A"] }, toolPermissions: { Bash: { allowCommands: ["ls"] } } });
  const r = w.load();
  assert.deepEqual(r.sandbox, { type: "none" });
  assert.deepEqual(r.toolPermissions.map((p) => [p.source.layer, p.source.path, p.value]), [
    ["project", "toolPermissions", { Bash: { denyCommands: ["rm"] } }],
    ["user", "toolPermissions", { Bash: { allowCommands: ["ls"] } }],
  ]);
});

test("resolveSettings works on one in-memory 'request' layer (check --batch)", () => {
  const file = "<check request 7>";
  const settings = parseSettingsText(JSON.stringify({ permissions: { deny: ["Bash"] }, mcpServers: { s: stdio() } }), file);
  const r = resolveSettings([{ layer: "request", file, settings }], { env: {} });
  assert.deepEqual(settingsRules(r.policy.deny), [{ value: "Bash", source: { layer: "request", file, path: "permissions.deny[0]" } }]);
  assert.deepEqual(r.files, [{ layer: "request", file }]);
  assert.equal(r.servers[0]?.source.layer, "request");
});

test("resolveSettings refuses a relative audit.dir from a layer with no file location", () => {
  const file = "<check request 8>";
  const layers: SettingsLayer[] = [{ layer: "request", file, settings: { audit: { dir: "rel" } } }];
  throwsSettingsError(() => resolveSettings(layers, { env: {} }), { file, path: "audit.dir" });
});

test("resolveSettings refuses layers given lowest precedence first", () => {
  const layers: SettingsLayer[] = [
    { layer: "user", file: "/u.json", settings: {} },
    { layer: "managed", file: "/m.json", settings: {} },
  ];
  assert.throws(() => resolveSettings(layers, { env: {} }), /highest precedence first/);
});

test("resolveSettings checks server names even for layers built in code", () => {
  const layers: SettingsLayer[] = [{ layer: "request", file: "<r>", settings: { mcpServers: { "bad name": { command: "x" } } } }];
  throwsSettingsError(() => resolveSettings(layers, { env: {} }), { path: 'mcpServers["bad name"]' });
});

test("readSettingsFile reads one file and fails on a missing one", (t) => {
  const w = world(t);
  const file = w.write(w.files.project, { permissions: { allow: ["A"] } });
  assert.deepEqual(readSettingsFile(file), { permissions: { allow: ["A"] } });
  throwsSettingsError(() => readSettingsFile(join(w.root, "missing.json")), { includes: ["not found"] });
});

test("requireSandbox counts only in managed settings; elsewhere it is ignored with a warning", (t) => {
  const w = world(t);
  w.write(w.files.project, { requireSandbox: true });
  const ignored = w.load();
  assert.equal(ignored.requireSandbox, false);
  assert.ok(ignored.warnings.some((m) => m.startsWith(w.files.project) && m.includes("'requireSandbox' is only honoured in managed")));
  w.write(w.files.managed, { requireSandbox: true });
  assert.equal(w.load().requireSandbox, true);
});

test("requireImageDigest counts only in managed settings; the user's or a project's is ignored with a warning", (t) => {
  const w = world(t);
  w.write(w.files.user, { requireImageDigest: true });
  w.write(w.files.project, { requireImageDigest: true });
  const ignored = w.load();
  assert.equal(ignored.requireImageDigest, false);
  for (const f of [w.files.user, w.files.project])
    assert.ok(ignored.warnings.some((m) => m.startsWith(f) && m.includes("'requireImageDigest' is only honoured in managed")), f);
  w.write(w.files.managed, { requireImageDigest: true });
  assert.equal(w.load().requireImageDigest, true);
});

test("sandbox profiles merge by name, the higher layer's profile winning whole", (t) => {
  const w = world(t);
  w.write(w.files.user, { sandboxProfiles: { build: { allowWrite: ["./dist"] }, lint: { type: "none" } } });
  w.write(w.files.project, { sandboxProfiles: { build: { filesystem: { allowWrite: ["./out"] } } } });
  const r = w.load();
  assert.deepEqual(r.sandboxProfiles?.build, { filesystem: { allowWrite: ["./out"] } });
  assert.deepEqual(r.sandboxProfiles?.lint, { type: "none" });
});

test("project settings cannot switch integrity or secret scanning off; the user's layer can, and a warning names the project file", () => {
  const layer = (name: "project" | "user", file: string, settings: object) => ({ layer: name, file, settings: parseSettingsText(JSON.stringify(settings), file) });
  const off = { integrity: { pins: false, scanDefinitions: false }, secretScanning: { arguments: "off", results: "off", formats: false } };
  const fromProject = resolveSettings([layer("project", "/p/.mcp-warden/settings.json", off)], { env: {} });
  assert.deepEqual(fromProject.integrity, { pins: true, scanDefinitions: true, maxResultBytes: 1024 * 1024, stripControlCharacters: false, keepLogControlCharacters: false });
  assert.equal(fromProject.secretScanning.arguments, "block");
  assert.equal(fromProject.secretScanning.results, "redact");
  assert.equal(fromProject.secretScanning.formats, true);
  assert.ok(fromProject.warnings.some((w) => w.includes("/p/.mcp-warden/settings.json") && /cannot turn off protections/.test(w)));
  const fromUser = resolveSettings([layer("user", "/home/u/.config/mcp-warden/settings.json", off)], { env: {} });
  assert.equal(fromUser.integrity.pins, false);
  assert.equal(fromUser.secretScanning.arguments, "off");
});

test("secret values scanned for: header values and their credentials, secret-named env entries, listed variables; never other env values", () => {
  const file = "/u/settings.json";
  const settings = parseSettingsText(
    JSON.stringify({
      secretScanning: { values: ["EXTRA_CREDENTIAL_VAR"] },
      mcpServers: {
        s: { command: "x", env: { GITHUB_TOKEN: "ghp-value-123456", OPENAI_KEY: "key-value-123456", MEMORY_FILE_PATH: "/tmp/memory.jsonl" } },
        r: { url: "https://mcp.example.com/", headers: { Authorization: "Bearer header-token-123456" } },
      },
    }),
    file,
  );
  const r = resolveSettings([{ layer: "user", file, settings }], { env: { EXTRA_CREDENTIAL_VAR: "listed-value-123456" } });
  const values = r.secretScanning.values.map((v) => v.value).sort();
  assert.deepEqual(values, ["Bearer header-token-123456", "ghp-value-123456", "header-token-123456", "key-value-123456", "listed-value-123456"]);
});
