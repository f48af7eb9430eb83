// Server-level policy: decideServer (managed-only set, deniedMcpServers, allowedMcpServers, disabled),
// and how server configuration (denyTools, allowedTools) enters decideTool.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicy, PolicyError } from "../../src/policy/index.js";
import type { ConfiguredServer, PolicyInput, Sourced, Verdict } from "../../src/policy/index.js";
import type { ServerEntry, ServerMatcher } from "../../src/settings/schema.js";

const USER = "/home/dev/.config/mcp-warden/settings.json";
const MANAGED = "/etc/mcp-warden/managed-settings.json";

function server(name: string, entry: ServerEntry, managed = false): ConfiguredServer {
  return { name, entry, managed, source: { layer: managed ? "managed" : "user", file: managed ? MANAGED : USER, path: `mcpServers.${name}` } };
}

const stdio = (name: string, command: string, args: string[] = [], extra: Partial<ServerEntry> = {}) => server(name, { command, args, ...extra });
const http = (name: string, url: string, extra: Partial<ServerEntry> = {}) => server(name, { type: "http", url, ...extra });

function matchers(list: string, values: ServerMatcher[]): Sourced<ServerMatcher>[] {
  return values.map((value, i) => ({ value, source: { layer: "managed", file: MANAGED, path: `${list}[${i}]` } }));
}

interface Opts {
  servers?: ConfiguredServer[];
  allowed?: ServerMatcher[];
  denied?: ServerMatcher[];
  exclusive?: boolean;
  allow?: string[];
  ask?: string[];
  deny?: string[];
}

function input(o: Opts): PolicyInput {
  const rules = (list: string, values: string[] = []) =>
    values.map((value, i) => ({ value, source: { layer: "user" as const, file: USER, path: `permissions.${list}[${i}]` } }));
  const i: PolicyInput = {
    allow: rules("allow", o.allow),
    ask: rules("ask", o.ask),
    deny: rules("deny", o.deny),
    autoApprove: [],
    defaultMode: "default",
    bypassDisabled: false,
    servers: o.servers ?? [],
    deniedMcpServers: matchers("deniedMcpServers", o.denied ?? []),
    exclusiveManagedServers: o.exclusive ?? false,
  };
  if (o.allowed) i.allowedMcpServers = matchers("allowedMcpServers", o.allowed);
  return i;
}

function decideServer(o: Opts, s: ConfiguredServer): Verdict {
  return compilePolicy(input({ ...o, servers: [...(o.servers ?? []), s] })).decideServer(s);
}

function decideTool(o: Opts, tool: string): Verdict {
  return compilePolicy(input(o)).decideTool({ tool, input: {} });
}

const github = stdio("github", "npx", ["-y", "@modelcontextprotocol/server-github"]);
const remote = http("remote", "https://mcp.example.com/mcp");

describe("decideServer: no restrictions", () => {
  it("allows a server when no list, managed-only mode or disabled flag applies", () => {
    assert.equal(decideServer({}, github).decision, "allow");
    assert.equal(decideServer({}, remote).decision, "allow");
  });

  it("treats an undefined allowedMcpServers as no restriction", () => {
    assert.equal(decideServer({ denied: [{ serverName: "other" }] }, github).decision, "allow");
  });
});

describe("decideServer: managed-mcp.json exclusive set", () => {
  it("denies servers that are not managed", () => {
    const v = decideServer({ exclusive: true }, github);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /managed-mcp\.json defines the exclusive server set/);
  });

  it("allows managed servers", () => {
    assert.equal(decideServer({ exclusive: true }, server("corp", { command: "corp-mcp" }, true)).decision, "allow");
  });
});

describe("decideServer: deniedMcpServers", () => {
  it("serverName denies by name, case-insensitively, and reports the matcher and its source", () => {
    for (const name of ["github", "GitHub"]) {
      const v = decideServer({ denied: [{ serverName: "x" }, { serverName: name }] }, github);
      assert.equal(v.decision, "deny", name);
      assert.equal(v.rule, JSON.stringify({ serverName: name }));
      assert.deepEqual(v.source, { layer: "managed", file: MANAGED, path: "deniedMcpServers[1]" });
    }
    assert.equal(decideServer({ denied: [{ serverName: "github2" }] }, github).decision, "allow");
  });

  it("serverCommand denies stdio servers whose command and args match element by element", () => {
    assert.equal(decideServer({ denied: [{ serverCommand: ["npx", "-y", "@modelcontextprotocol/server-github"] }] }, github).decision, "deny");
    assert.equal(decideServer({ denied: [{ serverCommand: ["npx", "*", "@modelcontextprotocol/*"] }] }, github).decision, "deny");
    assert.equal(decideServer({ denied: [{ serverCommand: ["NPX", "-Y", "@ModelContextProtocol/*"] }] }, github).decision, "deny");
  });

  it("serverCommand needs the same number of elements", () => {
    assert.equal(decideServer({ denied: [{ serverCommand: ["npx", "-y"] }] }, github).decision, "allow");
    assert.equal(decideServer({ denied: [{ serverCommand: ["npx", "-y", "*", "*"] }] }, github).decision, "allow");
    assert.equal(decideServer({ denied: [{ serverCommand: ["npx"] }] }, stdio("bare", "npx")).decision, "deny");
  });

  it("serverCommand never matches a remote server", () => {
    assert.equal(decideServer({ denied: [{ serverCommand: ["*"] }] }, remote).decision, "allow");
  });

  it("serverUrl denies remote servers by glob, case-insensitively", () => {
    assert.equal(decideServer({ denied: [{ serverUrl: "https://mcp.example.com/*" }] }, remote).decision, "deny");
    assert.equal(decideServer({ denied: [{ serverUrl: "https://MCP.EXAMPLE.COM/*" }] }, remote).decision, "deny");
    assert.equal(decideServer({ denied: [{ serverUrl: "https://other.example.com/*" }] }, remote).decision, "allow");
  });

  it("serverUrl denies a differently written URL of the same server (normalized form)", () => {
    const s = http("sneaky", "HTTPS://MCP.Example.COM:443/mcp");
    assert.equal(decideServer({ denied: [{ serverUrl: "https://mcp.example.com/mcp" }] }, s).decision, "deny");
    // Only the normalized form (default port dropped) matches this glob.
    assert.equal(decideServer({ denied: [{ serverUrl: "https://mcp.example.com/*" }] }, s).decision, "deny");
  });

  it("serverUrl denies an unparsable URL whose raw text matches", () => {
    const s = http("broken", "http://[not-a-host/mcp");
    assert.equal(decideServer({ denied: [{ serverUrl: "http://[not-a-host*" }] }, s).decision, "deny");
  });

  it("serverUrl never matches a stdio server", () => {
    assert.equal(decideServer({ denied: [{ serverUrl: "*" }] }, github).decision, "allow");
  });

  it("the denylist wins over the allowlist", () => {
    const v = decideServer({ denied: [{ serverName: "github" }], allowed: [{ serverName: "github" }] }, github);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /deniedMcpServers/);
  });
});

describe("decideServer: allowedMcpServers", () => {
  it("[] is a lockdown", () => {
    const v = decideServer({ allowed: [] }, github);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /not on allowedMcpServers/);
    assert.match(v.reason, /lockdown/);
  });

  it("serverName allows by exact name only", () => {
    const v = decideServer({ allowed: [{ serverName: "github" }] }, github);
    assert.equal(v.decision, "allow");
    assert.equal(v.rule, JSON.stringify({ serverName: "github" }));
    assert.equal(decideServer({ allowed: [{ serverName: "GitHub" }] }, github).decision, "deny");
  });

  it("serverCommand allows by exact, case-sensitive element globs of the same length", () => {
    assert.equal(decideServer({ allowed: [{ serverCommand: ["npx", "-y", "@modelcontextprotocol/*"] }] }, github).decision, "allow");
    assert.equal(decideServer({ allowed: [{ serverCommand: ["NPX", "-y", "@modelcontextprotocol/*"] }] }, github).decision, "deny");
    assert.equal(decideServer({ allowed: [{ serverCommand: ["npx", "-y"] }] }, github).decision, "deny");
    assert.equal(decideServer({ allowed: [{ serverCommand: ["*"] }] }, remote).decision, "deny");
  });

  it("serverUrl allows by case-sensitive glob on the raw or normalized URL", () => {
    assert.equal(decideServer({ allowed: [{ serverUrl: "https://mcp.example.com/*" }] }, remote).decision, "allow");
    assert.equal(decideServer({ allowed: [{ serverUrl: "https://mcp.example.com/MCP" }] }, remote).decision, "deny");
    // The URL is written in capitals; its normalized form matches.
    assert.equal(decideServer({ allowed: [{ serverUrl: "https://mcp.example.com/mcp" }] }, http("caps", "HTTPS://MCP.EXAMPLE.COM/mcp")).decision, "allow");
    // Only the normalized form (default port dropped) matches this glob.
    assert.equal(decideServer({ allowed: [{ serverUrl: "https://mcp.example.com/*" }] }, http("port", "https://mcp.example.com:443/mcp")).decision, "allow");
    // A pattern without the trailing slash names the same origin.
    assert.equal(decideServer({ allowed: [{ serverUrl: "https://mcp.example.com" }] }, http("root", "https://mcp.example.com/")).decision, "allow");
    assert.equal(decideServer({ allowed: [{ serverUrl: "*" }] }, github).decision, "deny");
  });

  it("serverUrl never allows an unparsable URL, even when the raw text matches", () => {
    const s = http("broken", "http://[not-a-host/mcp");
    assert.equal(decideServer({ allowed: [{ serverUrl: "http://[not-a-host/mcp" }] }, s).decision, "deny");
    assert.equal(decideServer({ allowed: [{ serverUrl: "*" }] }, s).decision, "deny");
  });
});

describe("decideServer: disabled", () => {
  it("denies a disabled server", () => {
    const v = decideServer({}, stdio("off", "x", [], { disabled: true }));
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /disabled in settings/);
    assert.deepEqual(v.source, { layer: "user", file: USER, path: "mcpServers.off" });
  });

  it("reports the denylist before the disabled flag", () => {
    assert.match(decideServer({ denied: [{ serverName: "off" }] }, stdio("off", "x", [], { disabled: true })).reason, /deniedMcpServers/);
  });
});

describe("server matchers: invalid entries", () => {
  const bad: [string, unknown][] = [
    ["two kinds at once", { serverName: "a", serverUrl: "https://a" }],
    ["empty serverCommand", { serverCommand: [] }],
    ["empty serverName", { serverName: "" }],
    ["unknown key", { serverHost: "a" }],
  ];
  for (const [what, value] of bad) {
    it(`rejects ${what} with a PolicyError naming file and path`, () => {
      assert.throws(
        () => compilePolicy(input({ denied: [value as ServerMatcher] })),
        (e: unknown) => e instanceof PolicyError && e.message.includes(MANAGED) && e.message.includes("deniedMcpServers[0]") && e.source?.path === "deniedMcpServers[0]",
      );
    });
  }
});

describe("decideTool: server configuration", () => {
  it("a denied server denies its tools with the server verdict's rule and source", () => {
    const v = decideTool({ servers: [github], denied: [{ serverName: "github" }], allow: ["mcp__github"] }, "mcp__github__get_me");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, JSON.stringify({ serverName: "github" }));
    assert.equal(v.source?.path, "deniedMcpServers[0]");
  });

  it("a disabled server denies its tools", () => {
    assert.equal(decideTool({ servers: [stdio("off", "x", [], { disabled: true })], allow: ["mcp__off"] }, "mcp__off__t").decision, "deny");
  });

  it("denyTools denies case-insensitively, naming the entry and its JSON path", () => {
    const s = stdio("db", "db-mcp", [], { denyTools: ["list_tables", "drop_*"] });
    const v = decideTool({ servers: [s], allow: ["mcp__db"] }, "mcp__db__DROP_Table");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "drop_*");
    assert.deepEqual(v.source, { layer: "user", file: USER, path: "mcpServers.db.denyTools[1]" });
    assert.equal(decideTool({ servers: [s], allow: ["mcp__db"] }, "mcp__db__List_Tables").rule, "list_tables");
    assert.equal(decideTool({ servers: [s], allow: ["mcp__db"] }, "mcp__db__query").decision, "allow");
  });

  it("allowedTools denies every tool it does not list (case-sensitive)", () => {
    const s = stdio("db", "db-mcp", [], { allowedTools: ["query", "list_*"] });
    const v = decideTool({ servers: [s], allow: ["mcp__db"] }, "mcp__db__drop_table");
    assert.equal(v.decision, "deny");
    assert.equal(v.reason, 'not in allowedTools of server "db"');
    assert.equal(decideTool({ servers: [s], allow: ["mcp__db"] }, "mcp__db__Query").decision, "deny");
  });

  it("an allowedTools entry allows the tool it matches, reported with its JSON path", () => {
    const s = stdio("db", "db-mcp", [], { allowedTools: ["query", "list_*"] });
    const v = decideTool({ servers: [s] }, "mcp__db__list_tables");
    assert.equal(v.decision, "allow");
    assert.equal(v.rule, "list_*");
    assert.deepEqual(v.source, { layer: "user", file: USER, path: "mcpServers.db.allowedTools[1]" });
  });

  it("an empty allowedTools denies every tool", () => {
    assert.equal(decideTool({ servers: [stdio("db", "db-mcp", [], { allowedTools: [] })], allow: ["mcp__db"] }, "mcp__db__query").decision, "deny");
  });

  it("deny and ask rules still apply to tools on allowedTools", () => {
    const s = stdio("db", "db-mcp", [], { allowedTools: ["*"] });
    assert.equal(decideTool({ servers: [s], deny: ["mcp__*__drop*"] }, "mcp__db__drop_table").decision, "deny");
    assert.equal(decideTool({ servers: [s], ask: ["mcp__db__query"] }, "mcp__db__query").decision, "ask");
  });

  it("a server that is not configured is judged by rules only", () => {
    assert.equal(decideTool({ servers: [github], allow: ["mcp__other"] }, "mcp__other__t").decision, "allow");
    assert.equal(decideTool({ servers: [github] }, "mcp__other__t").decision, "ask");
  });

  it("a name differing only in case from a configured server is denied, so denyTools cannot be sidestepped", () => {
    const s = stdio("db", "db-mcp", [], { denyTools: ["drop_table"] });
    const v = decideTool({ servers: [s], allow: ["mcp__*"] }, "mcp__DB__drop_table");
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /spelled "db"/);
  });

  it("an unconfigured server is still denied by a serverName denylist entry", () => {
    assert.equal(decideTool({ denied: [{ serverName: "Evil" }], allow: ["mcp__*"] }, "mcp__evil__t").decision, "deny");
  });

  it("an unconfigured server needs a serverName allowlist entry when there is an allowlist", () => {
    assert.equal(decideTool({ allowed: [{ serverCommand: ["*"] }], allow: ["mcp__*"] }, "mcp__x__t").decision, "deny");
    assert.equal(decideTool({ allowed: [{ serverName: "x" }], allow: ["mcp__*"] }, "mcp__x__t").decision, "allow");
  });

  it("an unconfigured server is denied in managed-only mode", () => {
    assert.equal(decideTool({ exclusive: true, allow: ["mcp__*"] }, "mcp__x__t").decision, "deny");
  });

  it("rejects an invalid denyTools entry with its JSON path", () => {
    const s = stdio("db", "db-mcp", [], { denyTools: ["ok", "bad\u0000"] });
    assert.throws(
      () => compilePolicy(input({ servers: [s] })),
      (e: unknown) => e instanceof PolicyError && e.message.includes(USER) && e.message.includes("mcpServers.db.denyTools[1]"),
    );
  });

  it("rejects two servers with the same name", () => {
    assert.throws(() => compilePolicy(input({ servers: [github, github] })), PolicyError);
  });
});

describe("decideServerItems", () => {
  it("denies the items of a server that a deny rule covers entirely", () => {
    for (const rule of ["mcp__github", "mcp__github__*", "mcp__*", "mcp__git*"]) {
      const v = compilePolicy(input({ servers: [github], deny: [rule] })).decideServerItems("github");
      assert.equal(v.decision, "deny", rule);
      assert.equal(v.rule, rule);
    }
  });

  it("allows the items when deny rules cover only some tools", () => {
    const p = compilePolicy(input({ servers: [github], deny: ["mcp__github__delete_repo", "mcp__*__drop*", "mcp__gitlab"] }));
    assert.equal(p.decideServerItems("github").decision, "allow");
  });

  it("denies the items of a denied server", () => {
    assert.equal(compilePolicy(input({ servers: [github], denied: [{ serverName: "github" }] })).decideServerItems("github").decision, "deny");
  });
});
