// What untrusted project and local settings may do when layers merge (settings/narrow.ts), the trust
// store (settings/trust.ts), and the loader that tells trusted from untrusted files (settings/files.ts).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { ServerGate } from "../../src/policy/servers.js";
import { chooseSandbox } from "../../src/sandbox/policy.js";
import { loadSettingsFast } from "../../src/settings/fast-load.js";
import { loadSettings, resolveSettings, type SettingsLayer } from "../../src/settings/index.js";
import { isTrusted, readTrustStore, recordTrust, revokeTrust, trustStoreFile } from "../../src/settings/trust.js";

const PROJECT = "/repo/.mcp-warden/settings.json";
const LOCAL = "/repo/.mcp-warden/settings.local.json";
const USER = "/home/u/.config/mcp-warden/settings.json";
type S = SettingsLayer["settings"];
const project = (settings: object, extra: Partial<SettingsLayer> = {}): SettingsLayer => ({ layer: "project", file: PROJECT, settings: settings as S, ...extra });
const local = (settings: object, extra: Partial<SettingsLayer> = {}): SettingsLayer => ({ layer: "local", file: LOCAL, settings: settings as S, ...extra });
const user = (settings: object): SettingsLayer => ({ layer: "user", file: USER, settings: settings as S });
const resolve = (...layers: SettingsLayer[]) => resolveSettings(layers, { env: { HOME: "/home/u" } });
const ctx = { home: "/home/u", platform: "linux" as const, baseDir: "/repo", requireSandbox: false };

describe("untrusted layers merge only towards strict", () => {
  test("a stricter mode, lower limits and stricter client-request actions are kept; looser ones are not", () => {
    const r = resolve(
      project({ permissions: { defaultMode: "dontAsk" }, gateway: { callTimeoutMs: 10 }, clientRequests: { sampling: "deny", roots: "allow" } }),
      user({ gateway: { callTimeoutMs: 100 }, clientRequests: { roots: "ask" } }),
    );
    assert.equal(r.policy.defaultMode, "dontAsk");
    assert.equal(r.gateway.callTimeoutMs, 10);
    assert.deepEqual(r.clientRequests, { sampling: "deny", elicitation: "duringCalls", roots: "ask" });
    assert.ok(r.warnings.some((w) => w.startsWith(`project settings ${PROJECT}: clientRequests.roots "allow" ignored: it is looser than "ask"`)), r.warnings.join("\n"));
  });

  test("acceptEdits is as loose as it sounds: refused from an untrusted layer; plan is as strict as default and kept", () => {
    assert.equal(resolve(project({ permissions: { defaultMode: "acceptEdits" } })).policy.defaultMode, "default");
    assert.equal(resolve(project({ permissions: { defaultMode: "plan" } })).policy.defaultMode, "plan");
  });

  test("deny and ask rules from an untrusted layer count; its allow rules and autoApproveTools do not", () => {
    const r = resolve(project({ permissions: { allow: ["Bash"], deny: ["Read(.env)"], ask: ["WebFetch"] }, autoApproveTools: ["mcp__*"] }));
    assert.deepEqual(r.policy.allow, []);
    assert.deepEqual(r.policy.autoApprove, []);
    assert.deepEqual(r.policy.deny.filter((d) => d.source.file !== "<mcp-warden built-in>").map((d) => d.value), ["Read(.env)"]);
    assert.deepEqual(r.policy.ask.map((d) => d.value), ["WebFetch"]);
  });

  test("a trusted project layer loosens as it always could, but still cannot lower the protections against its own servers", () => {
    const r = resolve(project({ permissions: { allow: ["Bash"], defaultMode: "acceptEdits" }, integrity: { pins: false, maxResultBytes: 10 }, secretScanning: { arguments: "off" } }, { trusted: true }));
    assert.deepEqual(r.policy.allow.map((a) => a.value), ["Bash"]);
    assert.equal(r.policy.defaultMode, "acceptEdits");
    assert.equal(r.integrity.pins, true);
    assert.equal(r.integrity.maxResultBytes, 10, "tightening a protection is fine");
    assert.equal(r.secretScanning.arguments, "block");
    assert.ok(r.warnings.some((w) => w.includes("integrity.pins false ignored") && w.includes("cannot turn off protections")), r.warnings.join("\n"));
  });

  test("audit.dir, audit.hmacKeyFile and gateway.logDir never come from a project or local layer, trusted or not", () => {
    for (const trusted of [false, true]) {
      const r = resolve(local({ audit: { dir: "/repo/audit", hmacKeyFile: "/repo/key" }, gateway: { logDir: "/repo/logs" } }, { trusted }), user({ audit: { dir: "/home/u/audit" } }));
      assert.equal(r.audit.dir, "/home/u/audit");
      assert.equal(r.audit.hmacKeyFile, undefined);
      assert.notEqual(r.gateway.logDir, "/repo/logs");
      for (const f of ["audit.dir", "audit.hmacKeyFile", "gateway.logDir"]) assert.ok(r.warnings.some((w) => w.startsWith(`local settings ${LOCAL}: ${f} `)), f);
    }
  });

  test("additionalDirectories: only entries whose real path (from the loader) is inside the project, kept as real paths", () => {
    const real = new Map([
      ["sub", "/repo/sub"],
      ["link", "/etc"],
      ["/", "/"],
    ]);
    const r = resolve(project({ permissions: { additionalDirectories: ["sub", "link", "/", "missing"] } }, { projectRoot: "/repo", realDirectories: real }));
    assert.deepEqual(r.policy.additionalDirectories?.map((d) => d.value), ["/repo/sub"]);
    assert.equal(r.warnings.filter((w) => w.includes("permissions.additionalDirectories[")).length, 3);
    // Without real paths (a layer built in code), nothing is taken: the check cannot be made.
    assert.deepEqual(resolve(project({ permissions: { additionalDirectories: ["sub"] } })).policy.additionalDirectories, []);
  });

  test("sandbox profiles and toolPermissions allowCommands of an untrusted layer are dropped whole; denyCommands stay", () => {
    const r = resolve(project({ sandboxProfiles: { build: { type: "none" } }, toolPermissions: { Bash: { allowCommands: ["rm"], denyCommands: ["curl"] } } }));
    assert.deepEqual(r.sandboxProfiles, {});
    assert.deepEqual(r.toolPermissions.map((t) => t.value), [{ Bash: { denyCommands: ["curl"] } }]);
  });
});

describe("allowedMcpServers from untrusted layers narrow, never extend", () => {
  const servers = { a: { command: "a" }, b: { command: "b" } };
  test("with a trusted list: a server must be on both", () => {
    const r = resolve(project({ allowedMcpServers: [{ serverName: "a" }, { serverName: "evil" }] }), user({ mcpServers: servers, allowedMcpServers: [{ serverName: "a" }, { serverName: "b" }] }));
    const gate = new ServerGate(r.policy);
    const decide = (n: string) => gate.decide(r.servers.find((s) => s.name === n)!);
    assert.equal(decide("a").decision, "allow");
    assert.equal(decide("b").decision, "deny");
    assert.match(decide("b").reason, new RegExp(`allowedMcpServers of untrusted project settings ${PROJECT}`));
    assert.equal(gate.decideUnconfigured("evil")?.decision, "deny", "not on the trusted list");
  });

  test("without a trusted list the untrusted one still only narrows, and an empty one is a lockdown", () => {
    const narrowed = resolve(local({ allowedMcpServers: [{ serverName: "a" }] }), user({ mcpServers: servers }));
    assert.equal(narrowed.policy.allowedMcpServers, undefined);
    const gate = new ServerGate(narrowed.policy);
    assert.deepEqual(narrowed.servers.map((s) => gate.decide(s).decision), ["allow", "deny"]);
    const locked = resolve(project({ allowedMcpServers: [] }), user({ mcpServers: servers }));
    assert.deepEqual(locked.servers.map((s) => new ServerGate(locked.policy).decide(s).decision), ["deny", "deny"]);
  });

  test("trusted, lists are a union as before", () => {
    const r = resolve(project({ allowedMcpServers: [{ serverName: "b" }] }, { trusted: true }), user({ mcpServers: servers, allowedMcpServers: [{ serverName: "a" }] }));
    assert.deepEqual(r.servers.map((s) => new ServerGate(r.policy).decide(s).decision), ["allow", "allow"]);
  });
});

describe("servers of untrusted layers", () => {
  test("cannot replace a server a trusted layer defines; new ones stay, with their source", () => {
    const r = resolve(project({ mcpServers: { gh: { command: "evil" }, mine: { command: "mine" } } }), user({ mcpServers: { gh: { command: "github-mcp" } } }));
    assert.deepEqual(
      r.servers.map((s) => [s.name, s.entry.command, s.source.layer]),
      [
        ["gh", "github-mcp", "user"],
        ["mine", "mine", "project"],
      ],
    );
    assert.ok(r.warnings.some((w) => w.startsWith(`project settings ${PROJECT}: mcpServers.gh ignored: the user settings (${USER}) define a server of that name`)));
  });

  test("an untrusted local layer can still replace an untrusted project layer's server (neither is the user's)", () => {
    const r = resolve(local({ mcpServers: { x: { command: "from-local" } } }), project({ mcpServers: { x: { command: "from-project" } } }));
    assert.equal(r.servers[0]?.entry.command, "from-local");
  });

  test("their own sandbox only narrows the trusted global one; their timeout and client requests only tighten", () => {
    const global = { type: "bubblewrap", filesystem: { allowRead: ["/data"], allowWrite: ["/data/out"] }, network: { allowedDomains: ["api.example.com"] } };
    const r = resolve(
      project({
        mcpServers: {
          p: {
            command: "p",
            timeoutMs: 10 ** 9,
            clientRequests: { sampling: "allow", elicitation: "deny" },
            sandbox: { type: "none", filesystem: { allowRead: ["/", "/data"], denyRead: ["/data/secret"] }, network: { allowedDomains: ["*"] } },
          },
        },
      }),
      user({ sandbox: global, gateway: { callTimeoutMs: 1000 } }),
    );
    const p = r.servers[0]!;
    assert.equal(p.entry.timeoutMs, undefined);
    assert.deepEqual(p.entry.clientRequests, { elicitation: "deny" });
    const chosen = chooseSandbox(p.entry.sandbox, r.sandbox, ctx).policy!;
    assert.equal(chosen.type, "bubblewrap");
    assert.deepEqual(chosen.filesystem.allowRead, ["/data"]);
    assert.deepEqual(chosen.filesystem.denyRead, ["/data/secret"]);
    assert.deepEqual(chosen.filesystem.allowWrite, ["/data/out"]);
    assert.deepEqual(chosen.network.allowedDomains, [], "'*' is not something the trusted sandbox allows");
  });
});

describe("the global sandbox from an untrusted layer", () => {
  const trusted = {
    type: "bubblewrap",
    filesystem: { allowRead: ["/a", "/b"], allowWrite: ["/a/out"], denyRead: ["/a/secret"] },
    network: { allowedDomains: ["x.example"], allowLocalhost: false },
    limits: { memory: "1g", pids: 100 },
    env: ["HOME", "PATH"],
  };
  test("keeps the trusted type, image and runtime; unions denies; intersects allows; takes lower limits", () => {
    const r = resolve(
      project({
        sandbox: {
          type: "none",
          filesystem: { allowRead: ["/a", "/"], denyWrite: ["/a/x"] },
          allowRead: ["/b"],
          network: { allowedDomains: ["x.example", "evil.example"], allowLocalhost: true },
          limits: { memory: "512m", pids: 1000 },
          env: ["PATH", "LD_PRELOAD"],
        },
      }),
      user({ sandbox: trusted }),
    );
    const s = chooseSandbox(undefined, r.sandbox, ctx).policy!;
    assert.equal(s.type, "bubblewrap");
    assert.deepEqual(s.filesystem.allowRead, ["/a", "/b"]);
    assert.deepEqual(s.filesystem.denyRead, ["/a/secret"]);
    assert.deepEqual(s.filesystem.denyWrite, ["/a/x"]);
    assert.deepEqual(s.network.allowedDomains, ["x.example"]);
    assert.equal(s.network.allowLocalhost, false);
    assert.deepEqual(s.limits, { memory: "512m", pids: 100 });
    assert.deepEqual(s.env, ["PATH"]);
    for (const bad of ['sandbox.type "none"', 'sandbox.filesystem.allowRead "/"', 'sandbox.network.allowedDomains "evil.example"', "sandbox.network.allowLocalhost true", "sandbox.limits.pids 1000", 'sandbox.env "LD_PRELOAD"'])
      assert.ok(r.warnings.some((w) => w.startsWith(`project settings ${PROJECT}: ${bad}`)), `${bad}\n${r.warnings.join("\n")}`);
  });

  test("narrowing a write list to nothing keeps the trusted list (an empty list would mean the default: the server's cwd)", () => {
    const r = resolve(project({ sandbox: { filesystem: { allowWrite: ["/elsewhere"] } } }), user({ sandbox: trusted }));
    assert.deepEqual(chooseSandbox(undefined, r.sandbox, { ...ctx, serverCwd: "/repo" }).policy!.filesystem.allowWrite, ["/a/out"]);
  });

  test("with no trusted sandbox it narrows the default sandbox: restrictions added, nothing allowed the default does not allow, no container", () => {
    const taken = resolve(
      project({ sandbox: { type: "docker", image: "attacker/image", filesystem: { allowRead: ["~"], denyRead: ["/srv"] }, network: { allowedDomains: ["evil.example"], allowLocalhost: true }, limits: { pids: 10 } } }),
    );
    const s = chooseSandbox(undefined, taken.sandbox, ctx).policy!;
    const plain = chooseSandbox({}, undefined, ctx).policy!;
    assert.equal(s.type, plain.type, "the default backend, not the repository's container");
    assert.equal(s.image, undefined);
    assert.deepEqual(s.filesystem, { ...plain.filesystem, denyRead: ["/srv"] });
    assert.deepEqual(s.network.allowedDomains ?? [], []);
    assert.notEqual(s.network.allowLocalhost, true);
    assert.deepEqual(s.limits, { pids: 10 });
    // A repository's `type: none` cannot make `mcp-warden exec` or a user's server less confined either.
    assert.equal(resolve(project({ sandbox: { type: "none" } })).sandbox, undefined);
    assert.equal(resolve(project({ sandbox: { type: "none" } }), user({ sandbox: { type: "none" } })).sandbox?.type, "none");
  });

  test("a new server's own sandbox, with no trusted sandbox to narrow, is taken whole (its own server, approved before it runs)", () => {
    const r = resolve(project({ mcpServers: { p: { command: "p", sandbox: { type: "bubblewrap", filesystem: { allowRead: ["/data"] } } } } }));
    assert.deepEqual(r.servers[0]?.entry.sandbox, { type: "bubblewrap", filesystem: { allowRead: ["/data"] } });
  });
});

// ---------------------------------------------------------------------------------------------------

function world(t: TestContext) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-trust-")));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { HOME: join(root, "home"), XDG_CONFIG_HOME: join(root, "xdg"), XDG_STATE_HOME: join(root, "state"), MCP_WARDEN_MANAGED_DIR: join(root, "managed") };
  const cwd = join(root, "project");
  const file = join(cwd, ".mcp-warden", "settings.json");
  mkdirSync(dirname(file), { recursive: true });
  const write = (v: unknown) => writeFileSync(file, JSON.stringify(v));
  return { root, env, cwd, file, write };
}

describe("the trust store", () => {
  test("a file is trusted for exactly the bytes recorded, in the project it was recorded in", (t) => {
    const w = world(t);
    w.write({ permissions: { allow: ["Bash"] } });
    assert.deepEqual(loadSettings({ cwd: w.cwd, env: w.env }).untrustedFiles, [{ layer: "project", file: w.file }]);
    recordTrust(w.env, [{ file: w.file, bytes: readFileSync(w.file) }]);
    const trusted = loadSettings({ cwd: w.cwd, env: w.env });
    assert.deepEqual(trusted.untrustedFiles, []);
    assert.deepEqual(trusted.policy.allow.map((a) => a.value), ["Bash"]);
    writeFileSync(w.file, readFileSync(w.file, "utf8").replace("Bash", "Bas\u0068"));
    assert.deepEqual(loadSettings({ cwd: w.cwd, env: w.env }).untrustedFiles, [], "same bytes, still trusted");
    writeFileSync(w.file, readFileSync(w.file, "utf8") + " ");
    assert.equal(loadSettings({ cwd: w.cwd, env: w.env }).untrustedFiles.length, 1, "one byte more: untrusted");
    assert.deepEqual(revokeTrust(w.env, [w.file]), [w.file]);
  });

  test("the hook's fast loader reads trust the same way as the full loader", async (t) => {
    const w = world(t);
    w.write({ permissions: { defaultMode: "bypassPermissions" } });
    assert.equal((await loadSettingsFast({ cwd: w.cwd, env: w.env })).policy.defaultMode, "default");
    assert.equal((await loadSettingsFast({ cwd: w.cwd, env: w.env })).policy.defaultMode, "default", "also from the validated-text cache");
    recordTrust(w.env, [{ file: w.file, bytes: readFileSync(w.file) }]);
    assert.equal((await loadSettingsFast({ cwd: w.cwd, env: w.env })).policy.defaultMode, "bypassPermissions");
  });

  test("additionalDirectories are resolved by the loader: a symlink out of the project is refused, a real subdirectory kept as its real path", (t) => {
    const w = world(t);
    mkdirSync(join(w.cwd, "sub"));
    symlinkSync(w.root, join(w.cwd, "up"));
    w.write({ permissions: { additionalDirectories: ["sub", "./up", "up/project/sub"] } });
    const r = loadSettings({ cwd: w.cwd, env: w.env });
    assert.deepEqual(r.policy.additionalDirectories?.map((d) => d.value), [join(w.cwd, "sub")]);
  });

  test("a store that is corrupt, of another version or with a malformed record trusts nothing, with a warning; it never throws", (t) => {
    const w = world(t);
    w.write({});
    recordTrust(w.env, [{ file: w.file, bytes: readFileSync(w.file) }]);
    const store = trustStoreFile(w.env);
    const good = readFileSync(store, "utf8");
    for (const bad of ["{", "[]", '{"version":2,"files":{}}', '{"version":1,"files":[]}', good.replace(/"sha256": "[0-9a-f]+"/, '"sha256": "XYZ"'), '{"version":1,"files":{"relative":{}}}']) {
      writeFileSync(store, bad);
      const { store: s, warning } = readTrustStore(w.env);
      assert.match(warning ?? "", /is not usable/, bad);
      assert.equal(isTrusted(s, w.file, readFileSync(w.file)), false);
      const r = loadSettings({ cwd: w.cwd, env: w.env });
      assert.equal(r.untrustedFiles.length, 1);
      assert.ok(r.warnings.some((x) => x.includes("trust store")));
    }
    assert.equal(readTrustStore({ ...w.env, XDG_STATE_HOME: join(w.root, "nowhere") }).warning, undefined, "no store: nothing trusted, nothing to warn about");
  });
});
