// Server identity version 2: approval keyed by server name, settings layer and launch identity,
// including the values of the environment variables that change what code runs, and only the
// names of other variables and of headers (their values may be secrets and are never stored).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  diffIdentities,
  isCodeChangingEnvName,
  legacyServerIdentity,
  PinInputError,
  renderDiff,
  serverIdentity,
  setsCodeChangingEnv,
  verifyServerIdentity,
  type ServerEntryLike,
} from "../../src/policy/integrity/pins.js";
import type { LayerName } from "../../src/policy/types.js";

const entry: ServerEntryLike = { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"], env: { GITHUB_TOKEN: "ghp_a", LOG_LEVEL: "info" } };
const id = (e: ServerEntryLike = entry, name = "github", layer: LayerName = "user") => serverIdentity({ name, layer, entry: e });

// The variables the issue names, one of each family in the shared list, and npm's lower-case form.
const CODE_CHANGING = [
  "NODE_OPTIONS", "NODE_PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH",
  "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONUSERBASE", "PATH", "PERL5LIB", "PERL5OPT", "RUBYOPT", "RUBYLIB",
  "BASH_ENV", "ENV", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "GEM_PATH", "GEM_HOME",
  "NPM_CONFIG_NODE_OPTIONS", "npm_config_node_options", "npm_config_prefix", "NPM_CONFIG_REGISTRY", "GIT_EXEC_PATH",
  "GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_PARAMETERS", "LUA_PATH", "LUA_CPATH", "PIP_INDEX_URL", "UV_INDEX_URL",
];

describe("which environment variables change what code runs", () => {
  test("every variable the issue lists, and the shared Bash list's command variables, are code-changing", () => {
    for (const name of [...CODE_CHANGING, "PAGER", "EDITOR", "GIT_ASKPASS"]) assert.ok(isCodeChangingEnvName(name), name);
  });

  test("ordinary variables are not: their values stay out of the identity", () => {
    for (const name of ["GITHUB_TOKEN", "API_KEY", "LOG_LEVEL", "LANG", "TZ", "DATABASE_URL", "MY_PATH_HINT", "NODE_ENV"]) assert.ok(!isCodeChangingEnvName(name), name);
  });
});

describe("server identity, version 2", () => {
  test("has the sha256:<hex> form, is stable, and differs from the version 1 identity of the same entry", () => {
    const a = id();
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(id().digest, a.digest);
    assert.equal(id({ ...entry, env: { LOG_LEVEL: "info", GITHUB_TOKEN: "ghp_a" } }).digest, a.digest, "env order is no change");
    assert.notEqual(a.digest, legacyServerIdentity(entry).digest);
    assert.equal(a.version, 2);
  });

  test("the server name and the settings layer are part of it: the same command line under another name, or from the project layer, is another server", () => {
    const base = id().digest;
    assert.notEqual(id(entry, "github2").digest, base);
    for (const layer of ["managed", "cli", "local", "project", "request"] as LayerName[]) assert.notEqual(id(entry, "github", layer).digest, base, layer);
  });

  test("launch fields as in version 1: command, args, cwd, URL", () => {
    const base = id().digest;
    assert.notEqual(id({ ...entry, command: "bunx" }).digest, base);
    assert.notEqual(id({ ...entry, args: ["-y", "@evil/server-github"] }).digest, base);
    assert.notEqual(id({ ...entry, cwd: "/tmp" }).digest, base);
    const remote = serverIdentity({ name: "r", layer: "user", entry: { url: "https://mcp.example.com/mcp" } });
    assert.equal(remote.url, "https://mcp.example.com/mcp");
    assert.equal(serverIdentity({ name: "r", layer: "user", entry: { url: "HTTPS://MCP.example.com:443/mcp#x", type: "sse" } }).digest, remote.digest);
    assert.notEqual(serverIdentity({ name: "r", layer: "user", entry: { url: "https://mcp.example.com/mcp2" } }).digest, remote.digest);
  });

  test("a change of a code-changing variable's value is a new identity, for each variable; the value is shown", () => {
    for (const name of CODE_CHANGING) {
      const before = id({ ...entry, env: { ...entry.env, [name]: "/opt/a" } });
      const after = id({ ...entry, env: { ...entry.env, [name]: "/opt/b" } });
      assert.notEqual(before.digest, after.digest, name);
      assert.notEqual(before.digest, id().digest, `${name} added`);
      assert.equal(before.env[name], "/opt/a", name);
      assert.ok(setsCodeChangingEnv(before), name);
    }
    const d = diffIdentities(id(), id({ ...entry, env: { ...entry.env, NODE_OPTIONS: "--require /repo/evil.js" } }));
    assert.equal(d.summary, "env.NODE_OPTIONS added");
    assert.match(renderDiff(d), /\+ "--require \/repo\/evil\.js"/);
  });

  test("adding an env variable or a header is a new identity (its name); changing a value that is not code is not", () => {
    const base = id();
    assert.deepEqual(base.envNames, ["GITHUB_TOKEN", "LOG_LEVEL"]);
    assert.equal(id({ ...entry, env: { ...entry.env, GITHUB_TOKEN: "ghp_rotated", LOG_LEVEL: "debug" } }).digest, base.digest, "rotating a token asks nobody");
    assert.notEqual(id({ ...entry, env: { ...entry.env, EXTRA: "1" } }).digest, base.digest);
    assert.notEqual(id({ ...entry, env: { GITHUB_TOKEN: "ghp_a" } }).digest, base.digest, "a name removed");
    assert.ok(!setsCodeChangingEnv(base));

    const r = (headers: Record<string, string>) => serverIdentity({ name: "r", layer: "user", entry: { url: "https://mcp.example.com/mcp", headers } });
    const withAuth = r({ Authorization: "Bearer a" });
    assert.deepEqual(withAuth.headerNames, ["authorization"]);
    assert.equal(r({ authorization: "Bearer b" }).digest, withAuth.digest, "header names are case-insensitive; values are not identity");
    assert.notEqual(r({ Authorization: "Bearer a", "X-Forwarded-Host": "evil.example" }).digest, withAuth.digest);
    assert.notEqual(r({}).digest, withAuth.digest);
  });

  test("the serialized identity holds no secret: no non-code env value, no header value, no URL credential, no value of a code variable named as a credential", () => {
    const secrets = ["ghp_SECRETSECRETSECRET123", "hunter2-db-password", "Bearer-sk-live-SECRET", "npmTokenSECRET", "s3cr3t-registry-pass"];
    const identity = serverIdentity({
      name: "svc",
      layer: "project",
      entry: {
        command: "node",
        args: ["server.js"],
        env: {
          GITHUB_TOKEN: secrets[0]!,
          DB_URL: `postgres://app:${secrets[1]}@db/app`,
          npm_config__authToken: secrets[3]!,
          NPM_CONFIG_REGISTRY: `https://user:${secrets[4]}@registry.example.com/`,
          NODE_OPTIONS: "--max-old-space-size=256",
        },
        headers: { Authorization: secrets[2]! },
      },
    });
    const text = JSON.stringify(identity);
    for (const s of secrets) assert.ok(!text.includes(s), `${s} must not be stored`);
    assert.deepEqual(identity.env, { NODE_OPTIONS: "--max-old-space-size=256", NPM_CONFIG_REGISTRY: "https://registry.example.com/" });
    assert.deepEqual(identity.envNames, ["DB_URL", "GITHUB_TOKEN", "npm_config__authToken"]);
    // Rotating the registry password is no new code.
    const rotated = serverIdentity({ name: "svc", layer: "project", entry: { command: "node", args: ["server.js"], env: { NPM_CONFIG_REGISTRY: "https://user:other@registry.example.com/" } } });
    const plain = serverIdentity({ name: "svc", layer: "project", entry: { command: "node", args: ["server.js"], env: { NPM_CONFIG_REGISTRY: "https://registry.example.com/" } } });
    assert.equal(rotated.digest, plain.digest);
    const otherRegistry = serverIdentity({ name: "svc", layer: "project", entry: { command: "node", args: ["server.js"], env: { NPM_CONFIG_REGISTRY: "https://evil.example/" } } });
    assert.notEqual(otherRegistry.digest, plain.digest);
  });

  test("invalid input is refused", () => {
    assert.throws(() => serverIdentity({ name: "", layer: "user", entry }), PinInputError);
    assert.throws(() => serverIdentity({ name: "x", layer: "repo" as LayerName, entry }), /unknown settings layer/);
    assert.throws(() => serverIdentity({ name: "x", layer: "user", entry: { ...entry, env: { A: 1 as unknown as string } } }), PinInputError);
    assert.throws(() => serverIdentity({ name: "x", layer: "user", entry: { url: "https://x.example/", headers: [] as unknown as Record<string, string> } }), PinInputError);
    assert.throws(() => serverIdentity({ name: "x", layer: "user", entry: {} }), PinInputError);
  });

  test("a key named __proto__ in env stays data", () => {
    const env = JSON.parse('{"__proto__": "x", "PATH": "/usr/bin"}') as Record<string, string>;
    const i = id({ ...entry, env });
    assert.deepEqual(i.envNames, ["__proto__"]);
    assert.equal(i.env.PATH, "/usr/bin");
    assert.equal(Object.getPrototypeOf(i.env), Object.prototype);
  });
});

describe("verifyServerIdentity (what the pin store reads back)", () => {
  test("round trips through JSON, version 2 and version 1", () => {
    const v2 = id({ ...entry, env: { ...entry.env, PATH: "/usr/bin" } });
    assert.deepEqual(verifyServerIdentity(JSON.parse(JSON.stringify(v2))), v2);
    const v1 = legacyServerIdentity(entry);
    assert.deepEqual(verifyServerIdentity(JSON.parse(JSON.stringify(v1))), v1);
  });

  test("any edit is refused: a value, a moved name, a changed layer, an unknown field, a secret value smuggled in", () => {
    const v2 = id({ ...entry, env: { ...entry.env, PATH: "/usr/bin" } });
    const bad: [string, unknown][] = [
      ["PATH edited", { ...v2, env: { PATH: "/tmp" } }],
      ["PATH moved to the names", { ...v2, env: {}, envNames: [...v2.envNames, "PATH"].sort() }],
      ["a secret value stored", { ...v2, env: { ...v2.env, GITHUB_TOKEN: "ghp_a" } }],
      ["layer", { ...v2, layer: "managed" }],
      ["name", { ...v2, name: "other" }],
      ["unknown field", { ...v2, extra: 1 }],
      ["header names not lower case", { ...v2, headerNames: ["Authorization"] }],
      ["version 3", { ...v2, version: 3 }],
      ["v1 with a name", { ...legacyServerIdentity(entry), name: "github" }],
      ["not an object", "x"],
    ];
    for (const [what, value] of bad) assert.throws(() => verifyServerIdentity(value), PinInputError, what);
  });
});

describe("host variables in the identity", () => {
  test("which variable fills a field is identity; no references keeps the identity without the field; it reads back", () => {
    const plain = id();
    const a = serverIdentity({ name: "github", layer: "user", entry, variables: { "env.GITHUB_TOKEN": ["GH_TOKEN"] } });
    const b = serverIdentity({ name: "github", layer: "user", entry, variables: { "env.GITHUB_TOKEN": ["AWS_SECRET_ACCESS_KEY"] } });
    assert.notEqual(a.digest, plain.digest);
    assert.notEqual(a.digest, b.digest);
    assert.equal(serverIdentity({ name: "github", layer: "user", entry, variables: {} }).digest, plain.digest, "an empty map is no field");
    assert.equal("variables" in plain, false);
    assert.deepEqual(verifyServerIdentity(JSON.parse(JSON.stringify(b))), b);
    const forged = { ...JSON.parse(JSON.stringify(b)), variables: { "env.GITHUB_TOKEN": ["GH_TOKEN"] } };
    assert.throws(() => verifyServerIdentity(forged), /digest does not match/);
  });
});
