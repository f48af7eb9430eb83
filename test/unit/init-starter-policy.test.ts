// init's starter policy from tool annotations: which tool gets which rule, and which gets none.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { starterRules, withoutSecrets } from "../../src/cli/init-starter-policy.js";
import { compilePolicy, parseRule } from "../../src/policy/index.js";

describe("starterRules", () => {
  test("readOnlyHint → allow, destructiveHint → ask, others → no rule (the default ask)", () => {
    const r = starterRules("gh", [
      { name: "get_issue", annotations: { readOnlyHint: true } },
      { name: "delete_repo", annotations: { destructiveHint: true } },
      { name: "create_issue", annotations: { readOnlyHint: false, destructiveHint: false } },
      { name: "plain" },
    ]);
    assert.deepEqual(r.allow, ["mcp__gh__get_issue"]);
    assert.deepEqual(r.ask, ["mcp__gh__delete_repo"]);
    assert.deepEqual(r.left, [{ tool: "create_issue" }, { tool: "plain" }]);
  });

  test("a tool claiming both read-only and destructive gets ask, not allow", () => {
    const r = starterRules("s", [{ name: "wipe", annotations: { readOnlyHint: true, destructiveHint: true } }]);
    assert.deepEqual(r.allow, []);
    assert.deepEqual(r.ask, ["mcp__s__wipe"]);
  });

  test("only the boolean true counts: a string 'true' or 1 is no claim", () => {
    const r = starterRules("s", [
      { name: "a", annotations: { readOnlyHint: "true" } },
      { name: "b", annotations: { readOnlyHint: 1 } },
    ]);
    assert.deepEqual(r.allow, []);
  });

  test("a name with a glob star or parentheses gets no rule: it would match other tools or not parse", () => {
    const r = starterRules("s", [
      { name: "*", annotations: { readOnlyHint: true } },
      { name: "read(all)", annotations: { readOnlyHint: true } },
      { name: "x y", annotations: { readOnlyHint: true } },
    ]);
    assert.deepEqual(r.allow, []);
    assert.equal(r.left.length, 3);
    for (const l of r.left) assert.match(l.why ?? "", /cannot match literally/);
  });

  test("a read-only tool the poisoning scan flags gets no allow, with the reason", () => {
    const r = starterRules("s", [{ name: "read", annotations: { readOnlyHint: true } }], () => "hidden: looks poisoned");
    assert.deepEqual(r.allow, []);
    assert.deepEqual(r.left, [{ tool: "read", why: "read-only, but hidden: looks poisoned" }]);
  });

  test("every rule it writes parses, and an allow matches exactly its own tool", () => {
    const r = starterRules("every-thing", [
      { name: "get-env", annotations: { readOnlyHint: true } },
      { name: "a.b_c", annotations: { readOnlyHint: true } },
    ]);
    for (const rule of [...r.allow, ...r.ask]) parseRule(rule);
    const source = { layer: "user" as const, file: "t", path: "p" };
    const policy = compilePolicy({
      allow: r.allow.map((value) => ({ value, source })),
      ask: [],
      deny: [],
      autoApprove: [],
      defaultMode: "default",
      bypassDisabled: false,
      servers: [],
      deniedMcpServers: [],
      exclusiveManagedServers: false,
    });
    assert.equal(policy.decideTool({ tool: "mcp__every-thing__get-env", input: {} }).decision, "allow");
    assert.equal(policy.decideTool({ tool: "mcp__every-thing__get-envX", input: {} }).decision, "ask");
  });
});

describe("withoutSecrets", () => {
  test("a URL loses its userinfo, query and fragment; configured secret values are replaced", () => {
    const message = "failed: Request cannot be constructed from a URL that includes credentials: https://alice:pw123456@h.example/mcp?key=abc#f (token tok-98765)";
    const out = withoutSecrets(message, ["tok-98765"]);
    assert.equal(out, "failed: Request cannot be constructed from a URL that includes credentials: https://h.example/mcp (credentials/query hidden) (token [REDACTED])");
  });

  test("a message without URLs or secrets is unchanged", () => {
    assert.equal(withoutSecrets("server 'x' failed to start: Connection closed", ["unrelated-secret"]), "server 'x' failed to start: Connection closed");
  });
});
