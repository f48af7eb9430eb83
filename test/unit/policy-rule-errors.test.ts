// Rule errors: every bad rule of every layer is reported at once (one failed compile, never a policy
// with a rule left out), and a misspelled built-in tool name is refused with the name it meant.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicy, parseRule, PolicyError } from "../../src/policy/index.js";
import type { PolicyInput, Sourced } from "../../src/policy/index.js";
import { FILE_TOOLS } from "../../src/policy/builtin/files.js";
import { AGENT_INTERNAL_TOOLS } from "../../src/policy/builtin/index.js";
import { KNOWN_BUILTIN_TOOLS, misspelledToolName, OWN_JUDGE_TOOLS } from "../../src/policy/tool-names.js";

const FILE = "/home/dev/project/.mcp-warden/settings.json";

function rules(list: string, values: string[]): Sourced<string>[] {
  return values.map((value, i) => ({ value, source: { layer: "project", file: FILE, path: `permissions.${list}[${i}]` } }));
}

function input(o: { allow?: string[]; ask?: string[]; deny?: string[]; toolPermissions?: Record<string, unknown> } = {}): PolicyInput {
  const i: PolicyInput = {
    allow: rules("allow", o.allow ?? []),
    ask: rules("ask", o.ask ?? []),
    deny: rules("deny", o.deny ?? []),
    autoApprove: [],
    defaultMode: "default",
    bypassDisabled: false,
    servers: [],
    deniedMcpServers: [],
    exclusiveManagedServers: false,
  };
  if (o.toolPermissions) i.toolPermissions = [{ value: o.toolPermissions as never, source: { layer: "project", file: FILE, path: "toolPermissions" } }];
  return i;
}

function problemsOf(i: PolicyInput): PolicyError {
  try {
    compilePolicy(i);
  } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    return e;
  }
  assert.fail("the policy compiled");
}

describe("misspelled built-in tool names", () => {
  it("Raed(.env) is refused with the rule it probably meant", () => {
    assert.throws(() => parseRule("Raed(.env)"), (e: unknown) => e instanceof PolicyError && /there is no built-in tool "Raed"; did you mean "Read\(\.env\)"\?/.test(e.message));
  });

  for (const [typo, meant] of [
    ["Raed", "Read"],
    ["Edti", "Edit"],
    ["Wirte", "Write"],
    ["WebFecth", "WebFetch"],
    ["WebSaerch", "WebSearch"],
    ["MultEdit", "MultiEdit"],
    ["bash", "Bash"],
    ["read", "Read"],
    ["ls", "LS"],
    ["webfetch", "WebFetch"],
  ] as const) {
    it(`${typo} → ${meant}`, () => assert.equal(misspelledToolName(typo), meant));
  }

  it("known names, names far from every known one and short names are not typos (a client's newer tool)", () => {
    for (const name of KNOWN_BUILTIN_TOOLS) assert.equal(misspelledToolName(name), undefined, name);
    for (const name of ["FancyNewTool", "Go", "Fmt", "Deploy", "mcp_like_name"]) assert.equal(misspelledToolName(name), undefined, name);
    assert.equal(parseRule("FancyNewTool(target:prod)").kind, "builtin");
  });

  it("a case variant of a tool judged by name in any case (deny websearch) is no typo", () => {
    assert.equal(misspelledToolName("websearch"), undefined);
    assert.doesNotThrow(() => compilePolicy(input({ deny: ["websearch"] })));
  });

  it("the list covers every tool a judge of ours knows by name", () => {
    for (const t of [...FILE_TOOLS, ...AGENT_INTERNAL_TOOLS, "Bash", "WebFetch"]) assert.ok(KNOWN_BUILTIN_TOOLS.includes(t), t);
    for (const t of OWN_JUDGE_TOOLS) assert.ok(KNOWN_BUILTIN_TOOLS.includes(t), t);
    for (const t of FILE_TOOLS) assert.ok(OWN_JUDGE_TOOLS.has(t), t);
  });

  it("a misspelled toolPermissions key is refused too", () => {
    const e = problemsOf(input({ toolPermissions: { Wirte: { requireApproval: true } } }));
    assert.match(e.message, /toolPermissions\.Wirte: there is no built-in tool "Wirte"; did you mean "Write"\?/);
  });
});

describe("every rule error at once", () => {
  it("bad rules of every list, parse and compile errors alike, are all named with file and path", () => {
    const e = problemsOf(
      input({
        deny: ["mcp__ok", "Raed(.env)", "Bash(rm -rf *"],
        ask: ["mcp__"],
        allow: ["Bash(cd x && make)", "WebFetch(domain:a.com/path)", "Read(src/**)"],
      }),
    );
    assert.equal(e.problems?.length, 5, e.message);
    assert.match(e.message, /^5 problems in the rules:\n/);
    for (const path of ["permissions.deny[1]", "permissions.deny[2]", "permissions.ask[0]", "permissions.allow[0]", "permissions.allow[1]"]) {
      assert.ok(e.message.includes(`${FILE} at ${path}`), path);
      assert.ok(e.problems?.some((p) => p.source?.path === path), path);
    }
    assert.ok(!e.message.includes("permissions.allow[2]"), "a good rule is not reported");
    assert.ok(!e.message.includes("permissions.deny[0]"));
  });

  it("one bad rule is reported as before: its own error, with rule and source", () => {
    const e = problemsOf(input({ deny: ["mcp__ok", "Raed(.env)"] }));
    assert.equal(e.problems, undefined);
    assert.equal(e.rule, "Raed(.env)");
    assert.equal(e.source?.path, "permissions.deny[1]");
  });
});
