// `Tool` and `Tool(param:value)` rules for the other built-in tools (WebSearch, Task, ...): matching,
// the strict allow reading and the lenient deny/ask reading, precedence, and rule errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileParamRules } from "../../src/policy/builtin/params.js";
import type { ParamPolicy } from "../../src/policy/builtin/params.js";
import type { BuiltinRule, Effect } from "../../src/policy/builtin/types.js";
import { parseRule, PolicyError } from "../../src/policy/rules.js";

function rule(effect: Effect, text: string, i = 0): BuiltinRule {
  const p = parseRule(text);
  if (p.kind !== "builtin") throw new Error(`not a built-in rule: ${text}`);
  const r: BuiltinRule = { effect, tool: p.tool, text, source: { layer: "local", file: "/p/.mcp-warden/settings.local.json", path: `permissions.${effect}[${i}]` } };
  if (p.specifier !== undefined) r.specifier = p.specifier;
  return r;
}

function policy(rules: [Effect, string][]): ParamPolicy {
  return compileParamRules(rules.map(([e, t], i) => rule(e, t, i)));
}

describe("compileParamRules: matching", () => {
  it("`Tool` matches every call of that tool and no other tool", () => {
    const p = policy([["allow", "WebSearch"]]);
    const v = p.decide("WebSearch", { query: "anything" });
    assert.equal(v?.decision, "allow");
    assert.equal(v?.rule, "WebSearch");
    assert.equal(v?.source?.path, "permissions.allow[0]");
    assert.equal(p.decide("Task", { prompt: "x" }), undefined);
  });

  it("`Tool(*)` is `Tool`", () => {
    assert.equal(policy([["deny", "Task(*)"]]).decide("Task", {})?.decision, "deny");
  });

  it("`Tool(param:value)` matches a string parameter with `*` globs", () => {
    const p = policy([["allow", "Task(subagent_type:code-*)"]]);
    assert.equal(p.decide("Task", { subagent_type: "code-reviewer" })?.decision, "allow");
    assert.equal(p.decide("Task", { subagent_type: "general" }), undefined);
    assert.equal(p.decide("Task", { subagent_type: "xcode-reviewer" }), undefined, "the glob is anchored at both ends");
    assert.equal(p.decide("Task", {}), undefined, "a missing parameter does not match");
    assert.equal(p.decide("WebSearch", { subagent_type: "code-x" }), undefined);
  });

  it("`*` crosses every character, `/` included", () => {
    assert.equal(policy([["deny", "WebSearch(query:*secret*)"]]).decide("WebSearch", { query: "a/b secret c/d" })?.decision, "deny");
  });

  it("numbers and booleans compare by their JSON text", () => {
    const p = policy([["allow", "BashOutput(bash_id:7)"], ["allow", "TodoWrite(merge:true)"]]);
    assert.equal(p.decide("BashOutput", { bash_id: 7 })?.decision, "allow");
    assert.equal(p.decide("BashOutput", { bash_id: "7" })?.decision, "allow");
    assert.equal(p.decide("BashOutput", { bash_id: 70 }), undefined);
    assert.equal(p.decide("TodoWrite", { merge: true })?.decision, "allow");
    assert.equal(p.decide("TodoWrite", { merge: "TRUE" }), undefined, "allow is case-sensitive");
  });

  it("an allow never matches an object, array or null value", () => {
    const p = policy([["allow", "Task(prompt:*)"]]);
    assert.equal(p.decide("Task", { prompt: ["a"] }), undefined);
    assert.equal(p.decide("Task", { prompt: { a: 1 } }), undefined);
    assert.equal(p.decide("Task", { prompt: null }), undefined);
  });

  it("a parameter inherited from the prototype is not the input's", () => {
    assert.equal(policy([["allow", "Task(constructor:*)"]]).decide("Task", {}), undefined);
  });
});

describe("compileParamRules: deny and ask read leniently", () => {
  it("case-insensitive for deny and ask, case-sensitive for allow", () => {
    assert.equal(policy([["deny", "WebSearch(query:*password*)"]]).decide("WebSearch", { query: "my PassWord list" })?.decision, "deny");
    assert.equal(policy([["ask", "WebSearch(query:*password*)"]]).decide("WebSearch", { query: "PASSWORD" })?.decision, "ask");
    assert.equal(policy([["allow", "WebSearch(query:*password*)"]]).decide("WebSearch", { query: "PASSWORD" }), undefined);
  });

  it("Unicode: a decomposed spelling meets a composed deny", () => {
    assert.equal(policy([["deny", "WebSearch(query:café*)"]]).decide("WebSearch", { query: "cafe\u0301 menu" })?.decision, "deny");
  });

  it("a deny matches an array through any element, and an object through its JSON text", () => {
    const p = policy([["deny", "Task(subagent_type:evil)"], ["deny", "Task(prompt:*rm -rf*)"]]);
    assert.equal(p.decide("Task", { subagent_type: ["ok", "evil"] })?.decision, "deny");
    assert.equal(p.decide("Task", { prompt: { text: "please rm -rf /" } })?.decision, "deny");
    assert.equal(p.decide("Task", { subagent_type: ["ok"] }), undefined);
  });

  it("a deny rule's tool name matches in any case", () => {
    assert.equal(policy([["deny", "websearch"]]).decide("WebSearch", {})?.decision, "deny");
    assert.equal(policy([["allow", "websearch"]]).decide("WebSearch", {}), undefined);
  });
});

describe("compileParamRules: precedence", () => {
  it("deny beats ask beats allow, in any order", () => {
    const rules: [Effect, string][] = [["allow", "WebSearch"], ["ask", "WebSearch(query:*x*)"], ["deny", "WebSearch(query:*xx*)"]];
    const p = policy(rules);
    assert.equal(p.decide("WebSearch", { query: "axxb" })?.decision, "deny");
    assert.equal(p.decide("WebSearch", { query: "axb" })?.decision, "ask");
    assert.equal(p.decide("WebSearch", { query: "ab" })?.decision, "allow");
  });

  it("the verdict names the rule and its source in one sentence", () => {
    const v = policy([["deny", "WebSearch(query:*x*)"]]).decide("WebSearch", { query: "x" });
    assert.match(v?.reason ?? "", /^WebSearch call is denied by WebSearch\(query:\*x\*\) \(\/p\/\.mcp-warden\/settings\.local\.json at permissions\.deny\[0\]\)\.$/);
  });

  it("leaves Bash, Read, Edit, Write and WebFetch rules to their own judges", () => {
    const p = policy([["deny", "Bash"], ["deny", "Read"], ["deny", "Edit"], ["deny", "Write"], ["deny", "WebFetch"]]);
    for (const t of ["Bash", "Read", "Edit", "Write", "WebFetch"]) assert.equal(p.decide(t, {}), undefined, t);
  });

  it("never throws: a hostile input ends in deny", () => {
    const hostile = new Proxy({}, { getOwnPropertyDescriptor() { throw new Error("boom"); } }) as Record<string, unknown>;
    assert.equal(policy([["allow", "Task(prompt:*)"]]).decide("Task", hostile)?.decision, "deny");
  });
});

describe("compileParamRules: errors", () => {
  it("a specifier that is not name:value is a PolicyError naming the rule and source", () => {
    for (const text of ["WebSearch(foo)", "Task(:x)", "Task(sub agent:x)", "Task(prompt:)"]) {
      assert.throws(
        () => policy([["allow", "WebSearch"], ["deny", text]]),
        (e: unknown) => e instanceof PolicyError && e.rule === text && e.source?.path === "permissions.deny[1]" && e.message.includes("settings.local.json"),
        text,
      );
    }
  });
});
