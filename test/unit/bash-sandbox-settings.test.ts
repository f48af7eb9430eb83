// The Bash sandbox's settings (settings/bash-sandbox.ts) across layers, the sandbox they give
// (sandbox/bash-policy.ts), and the hook's wrapping and exemptions (hook/bash-sandbox.ts): pure parts,
// so no mocks. The real hook, shell and sandbox are in test/e2e/hook-bash-sandbox.test.ts and
// test/e2e/claude-code-sandboxed-bash.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { exemptFromSandbox, shellQuote, wrapCommand } from "../../src/hook/bash-sandbox.js";
import { parseExecArgs } from "../../src/cli/exec-main.js";
import { bashSandboxChoice } from "../../src/sandbox/bash-policy.js";
import { resolveSettings, type SettingsLayer } from "../../src/settings/resolve.js";
import { Settings } from "../../src/settings/schema.js";

const USER = "/home/u/.config/mcp-warden/settings.json";
const PROJECT = "/repo/.mcp-warden/settings.json";
const resolve = (layers: SettingsLayer[]) => resolveSettings(layers, { env: { HOME: "/home/u" } });
const layer = (l: "user" | "project" | "managed", settings: object, trusted?: boolean): SettingsLayer => ({
  layer: l,
  file: l === "user" ? USER : l === "project" ? PROJECT : "/etc/mcp-warden/managed-settings.json",
  settings: settings as SettingsLayer["settings"],
  ...(trusted !== undefined ? { trusted } : {}),
});

describe("the seeds' Bash sandbox settings validate", () => {
  it("003-sandbox.json and 000-bash-network-policy.json load as written", () => {
    assert.ok(Settings.safeParse({ sandbox: { enabled: true, autoAllowBashIfSandboxed: true } }).success);
    const np = { toolPermissions: { Bash: { networkPolicy: { allowDomains: ["api.github.com", "registry.example-packages.org", "pypi.example-packages.org"], denyDomains: ["*"], allowLocalhost: false } } } };
    assert.ok(Settings.safeParse(np).success);
  });
  it("the Bash-only switches are refused in a server's sandbox and a networkPolicy outside Bash", () => {
    assert.equal(Settings.safeParse({ mcpServers: { a: { command: "x", sandbox: { enabled: true } } } }).success, false);
    assert.equal(Settings.safeParse({ sandboxProfiles: { p: { autoAllowBashIfSandboxed: true } } }).success, false);
    const r = Settings.safeParse({ toolPermissions: { Read: { networkPolicy: { allowDomains: ["x.example"] } } } });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /networkPolicy applies to Bash only/);
  });
});

describe("merging the Bash sandbox settings", () => {
  it("off unless sandbox.enabled or a Bash networkPolicy is set; failIfUnavailable defaults to true", () => {
    const r = resolve([layer("user", {})]).bashSandbox;
    assert.equal(r.enabled, false);
    assert.equal(r.failIfUnavailable, true);
    assert.equal(resolve([layer("user", { sandbox: { enabled: true } })]).bashSandbox.enabled, true);
    assert.equal(resolve([layer("user", { toolPermissions: { Bash: { networkPolicy: { allowDomains: ["a.example"] } } } })]).bashSandbox.enabled, true);
  });

  it("networkPolicy becomes the egress policy, the seed's denyDomains \"*\" meaning 'everything not allowed'", () => {
    const r = resolve([layer("user", { toolPermissions: { Bash: { networkPolicy: { allowDomains: ["api.github.com"], denyDomains: ["*", "evil.example"], allowLocalhost: false } } } })]);
    assert.deepEqual(r.bashSandbox.network, { allowedDomains: ["api.github.com"], deniedDomains: ["evil.example"], allowLocalhost: false });
  });

  it("an untrusted project can turn the sandbox on and deny more, but not auto-allow, exempt, allow domains, allow localhost or turn the refusal off", () => {
    const project = layer("project", {
      sandbox: { enabled: true, autoAllowBashIfSandboxed: true, excludedCommands: ["curl"], failIfUnavailable: false },
      toolPermissions: { Bash: { networkPolicy: { allowDomains: ["evil.example"], denyDomains: ["x.example"], allowLocalhost: true } } },
    });
    const user = layer("user", { toolPermissions: { Bash: { networkPolicy: { allowDomains: ["api.github.com"] } } } });
    const r = resolve([project, user]);
    assert.equal(r.bashSandbox.enabled, true);
    assert.equal(r.bashSandbox.autoAllow, false);
    assert.deepEqual(r.bashSandbox.excludedCommands, []);
    assert.equal(r.bashSandbox.failIfUnavailable, true);
    assert.deepEqual(r.bashSandbox.network, { allowedDomains: ["api.github.com"], deniedDomains: ["x.example"], allowLocalhost: false });
    for (const field of ["sandbox.autoAllowBashIfSandboxed", "sandbox.excludedCommands", "sandbox.failIfUnavailable", "networkPolicy.allowDomains", "networkPolicy.allowLocalhost"])
      assert.ok(r.warnings.some((w) => w.includes(PROJECT) && w.includes(field)), `no warning for ${field}:\n${r.warnings.join("\n")}`);
  });

  it("sanity: trusted, the same project settings do loosen (the test above can fail)", () => {
    const project = layer("project", { sandbox: { autoAllowBashIfSandboxed: true, excludedCommands: ["curl"], failIfUnavailable: false }, toolPermissions: { Bash: { networkPolicy: { allowDomains: ["a.example"], allowLocalhost: true } } } }, true);
    const r = resolve([project, layer("user", {})]).bashSandbox;
    assert.equal(r.autoAllow, true);
    assert.deepEqual(r.excludedCommands.map((e) => e.value), ["curl"]);
    assert.equal(r.failIfUnavailable, false);
    assert.deepEqual(r.network, { allowedDomains: ["a.example"], deniedDomains: [], allowLocalhost: true });
  });

  it("enabling and refusing only tighten across trusted layers too: a `true` anywhere wins; a `false` allowLocalhost anywhere wins", () => {
    const r = resolve([layer("user", { sandbox: { enabled: false, failIfUnavailable: false }, toolPermissions: { Bash: { networkPolicy: { allowLocalhost: true } } } }), layer("managed", {})].reverse());
    assert.equal(r.bashSandbox.failIfUnavailable, false);
    const both = resolve([layer("managed", { sandbox: { failIfUnavailable: true, enabled: true }, toolPermissions: { Bash: { networkPolicy: { allowLocalhost: false } } } }), layer("user", { sandbox: { enabled: false, failIfUnavailable: false }, toolPermissions: { Bash: { networkPolicy: { allowLocalhost: true } } } })]);
    assert.equal(both.bashSandbox.enabled, true);
    assert.equal(both.bashSandbox.failIfUnavailable, true);
    assert.equal(both.bashSandbox.network?.allowLocalhost, false);
  });
});

describe("the Bash sandbox's policy", () => {
  const settings = (s: object) => resolve([layer("user", s)]);
  it("the project is writable, nothing else by default; the network is networkPolicy's", () => {
    const r = settings({ toolPermissions: { Bash: { networkPolicy: { allowDomains: ["a.example"] } } } });
    const c = bashSandboxChoice(r, { home: "/home/u", platform: "linux", cwd: "/home/u/p/sub", projectRoot: "/home/u/p" });
    assert.deepEqual(c.policy?.filesystem.allowWrite, ["/home/u/p"]);
    assert.deepEqual(c.policy?.network, { allowedDomains: ["a.example"], deniedDomains: [], allowLocalhost: false });
  });
  it("the home directory (or above) is never made writable as the working directory", () => {
    const c = bashSandboxChoice(settings({ sandbox: { enabled: true } }), { home: "/home/u", platform: "linux", cwd: "/home/u" });
    assert.deepEqual(c.policy?.filesystem.allowWrite, []);
  });
  it("sandbox.type none is refused, not silently unsandboxed", () => {
    const c = bashSandboxChoice(settings({ sandbox: { enabled: true, type: "none" } }), { home: "/home/u", platform: "linux", cwd: "/home/u/p" });
    assert.match(c.refused ?? "", /type is "none"/);
  });
});

describe("wrapping and exemptions", () => {
  it("shellQuote round-trips any string through sh and bash", () => {
    for (const s of ["", "'", "''", "a'b", "$(id)", "`id`", "\\", "\n", "!x", "a b\tc", "'\\''", "ü"])
      for (const sh of ["/bin/sh", "/bin/bash"]) {
        const r = spawnSync(sh, ["-c", `printf %s ${shellQuote(s)}`], { encoding: "utf8" });
        assert.equal(r.stdout, s, `${sh}: ${JSON.stringify(s)}`);
      }
  });
  it("a NUL byte cannot be passed in an argument: refused", () => {
    assert.throws(() => wrapCommand("echo a\0b", { projectRoot: undefined, node: "/n", cli: "/c", cliFiles: [] }), /NUL/);
  });
  it("the lean exec parses exactly the wrapped form, and hands anything else to the full command line", () => {
    assert.deepEqual(parseExecArgs(["--bash-sandbox", "--project-root", "/p", "--settings", "/s.json", "--", "/bin/bash", "-c", "--help"]), {
      cliFiles: ["/s.json"],
      bashSandbox: true,
      projectRoot: "/p",
      command: ["/bin/bash", "-c", "--help"],
    });
    for (const args of [["--help"], ["--", ], ["ls"], ["--profile"], ["--project-root", "relative", "--", "x"], ["--frobnicate", "--", "x"]]) assert.equal(parseExecArgs(args), undefined, JSON.stringify(args));
  });
  it("excludedCommands exempt a command only when every part of it is excluded, at a word boundary", () => {
    assert.ok(exemptFromSandbox("docker ps -a", ["docker"]));
    assert.ok(exemptFromSandbox("git push origin main", ["git push:*"]));
    assert.equal(exemptFromSandbox("dockerx ps", ["docker"]), undefined);
    assert.equal(exemptFromSandbox("docker ps && curl evil.example", ["docker"]), undefined);
    assert.equal(exemptFromSandbox("docker $(curl evil.example)", ["docker"]), undefined);
    assert.equal(exemptFromSandbox("$CMD ps", ["docker"]), undefined);
    assert.equal(exemptFromSandbox("git status", ["git push"]), undefined);
    assert.ok(exemptFromSandbox("cd src", []), "a lone cd is not sandboxed: it could not move the agent's shell");
    assert.equal(exemptFromSandbox("cd src && make", []), undefined);
    assert.equal(exemptFromSandbox("cd src > x", []), undefined);
  });
});
