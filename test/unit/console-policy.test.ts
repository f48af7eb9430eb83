// The console's Policy page: the renderer given hostile strings; the view of real resolved settings
// (evaluation order, sources, what a principal entry adds); the "test a call" box, whose answers
// must equal `mcp-warden check`'s own (`judge` of check.ts, the code behind `check --batch`) for
// the same settings, call and caller; and the box's refusals (400, never a decision) for what it
// cannot judge.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { judge } from "../../src/check/check.js";
import { compiledFor } from "../../src/fronts/console/explain.js";
import { type CallForm, callForm, judgeCall, parseCallQuery, parseViewAs, policyRoutes, policyView, type PolicyView } from "../../src/fronts/console/policy.js";
import { policyPage } from "../../src/fronts/console/policy-page.js";
import type { ConsoleContext } from "../../src/fronts/console/routes.js";
import { visibleText } from "../../src/policy/integrity/display.js";
import { parseSettingsObject, resolveSettings, type ResolvedSettings } from "../../src/settings/index.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const home = mkdtempSync(join(tmpdir(), "warden-console-policy-"));
dirs.push(home);
const project = join(home, "project");
mkdirSync(project, { recursive: true });
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_STATE_HOME: join(home, ".local/state") };

const HOSTILE = `</code><script>alert(1)</script><img src=x onerror="alert(2)">'"\`&\u202eevil\u200b`;
const viewer = { name: "Victor", role: "viewer", csrf: "tok" };

function assertInert(page: string): void {
  assert.doesNotMatch(page, /<script>alert/);
  assert.doesNotMatch(page, /<img /);
  assert.doesNotMatch(page, /"alert\(2\)"/, "the attacker's quotes are entities: no attribute can be opened or closed");
  assert.doesNotMatch(page, /\u202e|\u200b/, "invisible characters are shown as escapes, never sent raw");
}

/** Settings as `check --batch` resolves a request's: one layer, "request", file `<check request ID>`. */
const ID = "console-policy";
function resolved(raw: Record<string, unknown>): ResolvedSettings {
  const file = `<check request ${ID}>`;
  return resolveSettings([{ layer: "request", file, settings: parseSettingsObject(raw, file) }], { env });
}

const RAW = {
  mcpServers: { fx: { command: "node", args: ["server.js"], denyTools: ["drop_*"] } },
  permissions: {
    allow: ["mcp__fx__create_issue", "mcp__fx__list_*", "Bash(npm run test)"],
    ask: ["mcp__fx__echo"],
    deny: ["mcp__fx__delete_repo", "Bash(rm -rf *)"],
  },
  deniedMcpServers: [{ serverName: "evil" }],
  toolPermissions: { Bash: { denyCommands: ["curl *"] } },
  principals: {
    "group:auditors": { permissions: { deny: ["mcp__fx__create_issue"] } },
    "user:svc-a": { permissions: { allow: ["mcp__fx__publish", "mcp__fx__echo", "mcp__fx__write_rows"] } },
    "*": { permissions: { ask: ["mcp__fx__write_*"] } },
  },
};

describe("the policy view of resolved settings", () => {
  test("rules in evaluation order (deny, ask, allow), each with its layer, file and JSON path; server lists and per-server patterns", async () => {
    const settings = resolved(RAW);
    const v = policyView(settings, (await compiledFor(settings, env)).policy);
    const effects = v.rules.map((r) => r.effect);
    assert.deepEqual(effects, [...effects].sort((a, b) => ["deny", "ask", "allow"].indexOf(a) - ["deny", "ask", "allow"].indexOf(b)), "deny first, then ask, then allow");
    const deleteRepo = v.rules.find((r) => r.rule === "mcp__fx__delete_repo");
    assert.deepEqual(deleteRepo, { effect: "deny", rule: "mcp__fx__delete_repo", kind: "permissions.deny", source: { layer: "request", file: `<check request ${ID}>`, path: "permissions.deny[0]" } });
    assert.ok(v.rules.some((r) => r.effect === "deny" && r.rule === "curl *" && r.source.path === "toolPermissions.Bash.denyCommands[0]"));
    assert.equal(v.rules.filter((r) => r.principal !== undefined).length, 0, "the layers alone without `as`");
    assert.deepEqual(v.deniedMcpServers, [{ matcher: '{"serverName":"evil"}', source: { layer: "request", file: `<check request ${ID}>`, path: "deniedMcpServers[0]" } }]);
    assert.equal(v.allowedMcpServers, undefined);
    const fx = v.servers.find((s) => s.name === "fx")!;
    assert.equal(fx.decision, "allow");
    assert.deepEqual(fx.denyTools, [{ pattern: "drop_*", source: { layer: "request", file: `<check request ${ID}>`, path: "mcpServers.fx.denyTools[0]" } }]);
    assert.deepEqual(v.principals.map((p) => p.selector), ["group:auditors", "user:svc-a", "*"]);
  });

  test("viewed as a principal: the entries it matches (and `*`) add their rules, marked with the selector, in the engine's order", async () => {
    const settings = resolved(RAW);
    const policy = (await compiledFor(settings, env)).policy;
    const v = policyView(settings, policy, "group:auditors");
    assert.deepEqual(v.applied, ["group:auditors", "*"]);
    const added = v.rules.filter((r) => r.principal !== undefined);
    assert.deepEqual(
      added.map((r) => [r.effect, r.rule, r.principal, r.source.path]),
      [
        ["deny", "mcp__fx__create_issue", "group:auditors", 'principals["group:auditors"].permissions.deny[0]'],
        ["ask", "mcp__fx__write_*", "*", 'principals["*"].permissions.ask[0]'],
      ],
    );
    // The layers' rules of each effect come before the entries' (as principals.ts concatenates them).
    const denies = v.rules.filter((r) => r.effect === "deny");
    assert.equal(denies.at(-1)!.principal, "group:auditors");
    assert.deepEqual(policyView(settings, policy, "user:nobody").applied, ["*"]);
    assert.deepEqual(parseViewAs("group:x"), { as: "group:x" });
    assert.match(parseViewAs("team:x").problem ?? "", /user:<subject>, group:<name>/);
  });

  test("a secret value of the settings (a server's env) never shows, wherever it occurs", async () => {
    const secret = "sk-live-0123456789abcdef";
    const settings = resolved({ mcpServers: { fx: { command: "node", env: { TOKEN: secret } } }, permissions: { deny: [`Bash(curl -H ${secret} *)`] } });
    const v = policyView(settings, (await compiledFor(settings, env)).policy);
    assert.ok(!JSON.stringify(v).includes(secret));
    assert.ok(v.rules.some((r) => r.rule.includes("[REDACTED]")));
  });
});

describe("the renderer with hostile strings", () => {
  const src = { layer: "user" as const, file: `/home/${HOSTILE}/settings.json`, path: `permissions.deny[${HOSTILE}]` };
  const view: PolicyView = {
    files: [{ layer: "user", file: src.file, untrusted: true }],
    mode: "default",
    bypassDisabled: false,
    rules: [
      { effect: "deny", rule: `mcp__x__${HOSTILE}`, kind: "permissions.deny", source: src },
      { effect: "ask", rule: `Bash(${HOSTILE})`, kind: "permissions.ask", source: src, principal: `group:${HOSTILE}` },
      { effect: "allow", rule: HOSTILE, kind: "toolPermissions", source: src },
    ],
    servers: [{ name: HOSTILE, source: src, managed: false, decision: "deny", reason: HOSTILE, rule: HOSTILE, ruleSource: src, denyTools: [{ pattern: HOSTILE, source: src }], allowedTools: [] }],
    allowedMcpServers: [{ matcher: HOSTILE, source: src }],
    narrowMcpServers: [[{ matcher: HOSTILE, source: src }]],
    deniedMcpServers: [{ matcher: HOSTILE, source: src }],
    exclusiveManagedServers: true,
    requirePinnedPackages: true,
    principals: [{ selector: `group:${HOSTILE}`, rules: [{ effect: "deny", rule: HOSTILE, kind: "principals permissions.deny", source: src, principal: `group:${HOSTILE}` }], rates: [{ what: HOSTILE, rate: HOSTILE, source: src }] }],
    as: `group:${HOSTILE}`,
    applied: [`group:${HOSTILE}`],
    warnings: [HOSTILE],
  };
  const form: CallForm = { tool: HOSTILE, input: `{"a": "${HOSTILE}"}</textarea><script>alert(1)</script>`, subject: HOSTILE, groups: HOSTILE, org: HOSTILE, client: HOSTILE };

  test("every rule, file, path, selector, reason, warning and typed field is text; the textarea cannot be closed", () => {
    const page = policyPage(viewer, {
      view,
      asTyped: HOSTILE,
      asProblem: HOSTILE,
      selectors: [HOSTILE],
      form,
      testing: true,
      answer: { decision: "deny", reason: HOSTILE, rule: HOSTILE, source: src, as: HOSTILE, matched: [HOSTILE], cwd: HOSTILE },
      problem: HOSTILE,
    }).text;
    assertInert(page);
    assert.equal(page.match(/<\/textarea>/g)?.length, 1, "only the page's own closing tag");
    assert.ok(page.includes(visibleText("\u202e")), "the bidi override is shown as its escape");
    assert.doesNotMatch(page, /\sstyle\s*=|<style/i, "no inline style (the CSP would block it)");
    assert.match(page, /id="answer-decision"/);
    assert.match(page, /id="test-error"/);
  });

  test("a denied rule's row shows its layer and file; the added rules are marked with their entry", () => {
    const page = policyPage(viewer, { view, asTyped: "", selectors: [], form: callForm(new URLSearchParams()), testing: false }).text;
    const deny = /<table id="rules-deny"[\s\S]*?<\/table>/.exec(page)?.[0] ?? "";
    assert.match(deny, /mcp__x__/);
    assert.match(deny, /<td class="layer">user<\/td>/);
    assert.match(deny, /<td class="file"><code>\/home\/&#60;\/code&#62;/);
    assert.match(/<table id="rules-ask"[\s\S]*?<\/table>/.exec(page)?.[0] ?? "", /added by group:/);
    assert.doesNotMatch(page, /id="answer"/, "no answer without a test");
  });
});

describe("test a call: the answer is check's", () => {
  const settings = resolved(RAW);
  const cases: { name: string; tool: string; input: Record<string, unknown>; principal?: { subject: string; groups?: string[]; clientId?: string; org?: string }; expect: string }[] = [
    { name: "allowed MCP tool", tool: "mcp__fx__create_issue", input: { title: "x" }, expect: "allow" },
    { name: "ask rule", tool: "mcp__fx__echo", input: { text: "hi" }, expect: "ask" },
    { name: "deny rule", tool: "mcp__fx__delete_repo", input: {}, expect: "deny" },
    { name: "server denyTools", tool: "mcp__fx__drop_table", input: {}, expect: "deny" },
    { name: "unmatched", tool: "mcp__fx__other", input: {}, expect: "ask" },
    { name: "denied server by name", tool: "mcp__evil__anything", input: {}, expect: "deny" },
    { name: "Bash deny", tool: "Bash", input: { command: "rm -rf /tmp/x" }, expect: "deny" },
    { name: "Bash allow", tool: "Bash", input: { command: "npm run test" }, expect: "allow" },
    { name: "group entry denies what the layers allow", tool: "mcp__fx__create_issue", input: {}, principal: { subject: "victor", groups: ["auditors"] }, expect: "deny" },
    { name: "user entry allows what no layer rule matches", tool: "mcp__fx__publish", input: {}, principal: { subject: "svc-a" }, expect: "allow" },
    { name: "the same call without the caller is unmatched", tool: "mcp__fx__publish", input: {}, expect: "ask" },
    { name: "a layer's ask beats a user entry's allow", tool: "mcp__fx__echo", input: {}, principal: { subject: "svc-a" }, expect: "ask" },
    { name: "`*` ask beats a user allow", tool: "mcp__fx__write_rows", input: {}, principal: { subject: "svc-a", clientId: "c", org: "o" }, expect: "ask" },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.expect}, with check's reason, rule and source`, async () => {
      const mine = await judgeCall({ tool: c.tool, input: c.input, ...(c.principal ? { principal: c.principal } : {}) }, settings, env, project);
      const theirs = judge({ id: ID, settings: RAW, tool: c.tool, input: c.input, cwd: project, ...(c.principal ? { principal: c.principal } : {}) }, env);
      assert.equal(theirs.decision, c.expect, `check itself: ${theirs.reason}`);
      const { id: _id, ...expected } = theirs;
      assert.deepEqual({ decision: mine.decision, reason: mine.reason, ...(mine.rule !== undefined ? { rule: mine.rule } : {}), ...(mine.source ? { source: mine.source } : {}) }, expected);
    });
  }

  test("the box's fields become the same request: groups split on commas, a caller only with a subject", () => {
    const q = (o: Partial<CallForm>) => parseCallQuery({ tool: "", input: "", subject: "", groups: "", org: "", client: "", ...o }, settings);
    assert.deepEqual(q({ tool: "mcp__fx__echo", input: ' {"a": 1} ', subject: " alice ", groups: "dev, oncall,,", org: "acme", client: "ci" }), {
      request: { tool: "mcp__fx__echo", input: { a: 1 }, principal: { subject: "alice", groups: ["dev", "oncall"], clientId: "ci", org: "acme" } },
    });
    assert.deepEqual(q({ tool: "Bash" }), { request: { tool: "Bash", input: {} } }, "empty arguments are {}");
  });

  test("what cannot be judged is refused with what to fix, never judged", () => {
    const problem = (o: Partial<CallForm>) => {
      const r = parseCallQuery({ tool: "mcp__fx__echo", input: "{}", subject: "", groups: "", org: "", client: "", ...o }, settings);
      assert.ok("problem" in r, `expected a refusal for ${JSON.stringify(o)}`);
      return r.problem;
    };
    assert.match(problem({ input: "{not json" }), /not valid JSON .*write a JSON object/);
    assert.match(problem({ input: "[1]" }), /must be a JSON object .*not an array/);
    assert.match(problem({ input: '"x"' }), /not a string/);
    assert.match(problem({ input: "x".repeat(20_000) }), /longer than 16384 characters/);
    assert.match(problem({ tool: "" }), /give a tool name/);
    assert.match(problem({ tool: "frobnicate" }), /neither an MCP tool name .* nor a Claude Code tool/);
    assert.match(problem({ tool: "Baash" }), /did you mean Bash/);
    assert.match(problem({ tool: "mcp__fx" }), /write mcp__<server>__<tool>/);
    assert.match(problem({ tool: "MCP__fx__echo" }), /lower case/);
    assert.match(problem({ tool: "mcp__fx__echo\u200b" }), /invisible or control character U\+200B/);
    assert.match(problem({ tool: "fx__echo" }), /rules judge the canonical name mcp__fx__echo/);
    assert.match(problem({ tool: "x".repeat(600) }), /longer than 512/);
    assert.match(problem({ groups: "dev" }), /give its subject too/);
    assert.match(problem({ subject: "a", groups: Array.from({ length: 70 }, (_, i) => `g${i}`).join(",") }), /at most 64 groups/);
  });
});

describe("the route", () => {
  const settings = resolved(RAW);
  const route = policyRoutes({ settings: () => settings, env, cwd: project })[0]!;
  const get = async (q: string) => {
    const url = new URL(`http://127.0.0.1/console/policy${q}`);
    const ctx = { url, viewer, match: route.path.exec(url.pathname)!, form: new URLSearchParams() } as unknown as ConsoleContext;
    const res = await route.handle(ctx);
    return { status: res.status, text: await res.text() };
  };

  test("GET /console/policy needs only the read action", () => {
    assert.equal(route.method, "GET");
    assert.equal(route.needs, "read");
    assert.ok(route.path.test("/console/policy"));
    assert.ok(!route.path.test("/console/policy/x"));
  });

  test("a call is answered on the page with check's decision; bad JSON and an unknown name answer 400 with no decision", async () => {
    const denied = await get(`?tool=mcp__fx__delete_repo&input=${encodeURIComponent("{}")}`);
    assert.equal(denied.status, 200);
    assert.match(denied.text, /id="answer-decision"><span class="decision-deny">deny</);
    assert.match(denied.text, /<code id="answer-rule">mcp__fx__delete_repo<\/code>/);
    const bad = await get(`?tool=mcp__fx__create_issue&input=${encodeURIComponent("{oops")}`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /id="test-error">Not judged: the arguments are not valid JSON/);
    assert.doesNotMatch(bad.text, /id="answer"/);
    const unknown = await get("?tool=frobnicate");
    assert.equal(unknown.status, 400);
    assert.doesNotMatch(unknown.text, /id="answer"/);
    const as = await get("?as=team:x");
    assert.equal(as.status, 400);
    assert.match(as.text, /id="as-error"/);
    const plain = await get("");
    assert.equal(plain.status, 200);
    assert.doesNotMatch(plain.text, /id="answer"|id="test-error"/);
  });
});
