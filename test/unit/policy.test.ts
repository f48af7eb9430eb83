// The policy core: rule parsing, canonical names, and decideTool over permission rules and modes.
// Server-level checks (allowedMcpServers, deniedMcpServers, denyTools, ...) are in policy-servers.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalToolName, compilePolicy, parseCanonical, parseRule, PolicyError } from "../../src/policy/index.js";
import type { ConfiguredServer, PolicyInput, Source, Sourced, Verdict } from "../../src/policy/index.js";
import { fold, Glob, GlobList } from "../../src/policy/glob.js";

const FILE = "/home/dev/project/.mcp-warden/settings.json";

function rules(list: string, values: string[]): Sourced<string>[] {
  return values.map((value, i) => ({ value, source: { layer: "project", file: FILE, path: `permissions.${list}[${i}]` } }));
}

interface Opts {
  allow?: string[];
  ask?: string[];
  deny?: string[];
  autoApprove?: string[];
  defaultMode?: PolicyInput["defaultMode"];
  bypassDisabled?: boolean;
  servers?: ConfiguredServer[];
}

function input(o: Opts = {}): PolicyInput {
  return {
    allow: rules("allow", o.allow ?? []),
    ask: rules("ask", o.ask ?? []),
    deny: rules("deny", o.deny ?? []),
    autoApprove: (o.autoApprove ?? []).map((value, i) => ({ value, source: { layer: "user", file: FILE, path: `autoApproveTools[${i}]` } })),
    defaultMode: o.defaultMode ?? "default",
    bypassDisabled: o.bypassDisabled ?? false,
    servers: o.servers ?? [],
    deniedMcpServers: [],
    exclusiveManagedServers: false,
  };
}

function decide(o: Opts, tool: string): Verdict {
  return compilePolicy(input(o)).decideTool({ tool, input: {} });
}

function decision(o: Opts, tool: string): Verdict["decision"] {
  return decide(o, tool).decision;
}

const UNMATCHED = "no rule matches; unmatched tools need approval";

describe("parseRule", () => {
  it("parses a bare built-in tool and keeps it as kind builtin without specifier", () => {
    assert.deepEqual(parseRule("Bash"), { kind: "builtin", text: "Bash", tool: "Bash" });
    assert.deepEqual(parseRule("Edit"), { kind: "builtin", text: "Edit", tool: "Edit" });
  });

  it("treats Bash(*) as the same rule as Bash", () => {
    const star = parseRule("Bash(*)");
    assert.equal(star.kind, "builtin");
    assert.equal(star.tool, "Bash");
    assert.equal("specifier" in star ? star.specifier : undefined, undefined);
  });

  it("keeps the raw specifier of built-in rules", () => {
    assert.deepEqual(parseRule("Bash(npm run test:*)"), { kind: "builtin", text: "Bash(npm run test:*)", tool: "Bash", specifier: "npm run test:*" });
    assert.deepEqual(parseRule("Read(./secrets/**)"), { kind: "builtin", text: "Read(./secrets/**)", tool: "Read", specifier: "./secrets/**" });
    assert.deepEqual(parseRule("WebFetch(domain:example.com)"), {
      kind: "builtin",
      text: "WebFetch(domain:example.com)",
      tool: "WebFetch",
      specifier: "domain:example.com",
    });
  });

  it("accepts balanced parentheses inside a specifier", () => {
    const r = parseRule("Bash(echo (hi))");
    assert.equal(r.kind, "builtin");
    assert.equal(r.kind === "builtin" && r.specifier, "echo (hi)");
  });

  it("parses server-only MCP rules, with and without globs", () => {
    assert.deepEqual(parseRule("mcp__github"), { kind: "mcp", text: "mcp__github", server: "github" });
    assert.deepEqual(parseRule("mcp__*"), { kind: "mcp", text: "mcp__*", server: "*" });
  });

  it("splits MCP tool rules at the first __ after the server, keeping __ inside the tool", () => {
    assert.deepEqual(parseRule("mcp__github__get_*"), { kind: "mcp", text: "mcp__github__get_*", server: "github", tool: "get_*" });
    assert.deepEqual(parseRule("mcp__*__delete*"), { kind: "mcp", text: "mcp__*__delete*", server: "*", tool: "delete*" });
    assert.deepEqual(parseRule("mcp__github__create_issue__delete_all"), {
      kind: "mcp",
      text: "mcp__github__create_issue__delete_all",
      server: "github",
      tool: "create_issue__delete_all",
    });
  });

  it("recognizes the mcp__ prefix in any case, so MCP__x in a deny list is an MCP rule", () => {
    assert.equal(parseRule("MCP__github").kind, "mcp");
  });

  const invalid: [string, RegExp][] = [
    ["", /empty/],
    ["   ", /empty/],
    ["Bash\u0000", /control character U\+0000/],
    ["mcp__github__delete\u200b", /invisible or control character U\+200B/],
    ["mcp__github__x\u202e", /U\+202E/],
    [" mcp__github", /leading or trailing whitespace/],
    ["mcp__github ", /leading or trailing whitespace/],
    ["Bash(", /unbalanced/],
    ["Bash(npm run", /unbalanced/],
    ["Bash(echo (hi)", /unbalanced/],
    ["Bash(a)b", /after the closing parenthesis/],
    ["Bash(a))", /after the closing parenthesis/],
    ["Bash()", /empty specifier/],
    ["Bash(  )", /empty specifier/],
    ["Bash)", /not a tool name/],
    ["mcp__", /followed by a server name/],
    ["mcp____tool", /server name after 'mcp__' is empty/],
    ["mcp__github__", /tool name after 'mcp__github__' is empty/],
    ["mcp__github(x)", /take no \(specifier\)/],
    ["mcp__git.hub__x", /can never match a server name/],
    ["*", /not a tool name/],
    ["Bash*", /not a tool name/],
    ["1Bash", /not a tool name/],
    ["Web Fetch", /not a tool name/],
  ];
  for (const [text, problem] of invalid) {
    it(`rejects ${JSON.stringify(text)} with a PolicyError naming the rule`, () => {
      assert.throws(
        () => parseRule(text),
        (e: unknown) => e instanceof PolicyError && e.message.includes(JSON.stringify(text)) && problem.test(e.message) && e.rule === text,
      );
    });
  }
});

describe("canonical names", () => {
  it("splits server and tool at the first __ after mcp__", () => {
    assert.deepEqual(parseCanonical("mcp__github__create_issue"), { server: "github", tool: "create_issue" });
  });

  it("keeps __ inside the tool name", () => {
    assert.deepEqual(parseCanonical("mcp__github__create_issue__delete_all"), { server: "github", tool: "create_issue__delete_all" });
  });

  it("returns undefined for malformed names", () => {
    for (const bad of ["mcp__", "mcp__github", "mcp____tool", "mcp__github__", "Bash", "github__create_issue", "MCP__github__x", ""])
      assert.equal(parseCanonical(bad), undefined, bad);
  });

  it("canonicalToolName builds what parseCanonical splits", () => {
    const name = canonicalToolName("db", "run__query");
    assert.equal(name, "mcp__db__run__query");
    assert.deepEqual(parseCanonical(name), { server: "db", tool: "run__query" });
  });
});

describe("compilePolicy errors", () => {
  for (const list of ["allow", "ask", "deny"] as const) {
    it(`names the file and JSON path of an invalid ${list} rule`, () => {
      const i = input({ [list]: ["mcp__github", "mcp__"] });
      assert.throws(
        () => compilePolicy(i),
        (e: unknown) =>
          e instanceof PolicyError &&
          e.message.includes(FILE) &&
          e.message.includes(`permissions.${list}[1]`) &&
          e.message.includes('"mcp__"') &&
          e.rule === "mcp__" &&
          e.source?.path === `permissions.${list}[1]` &&
          e.source.file === FILE,
      );
    });
  }

  it("names the file and JSON path of an invalid autoApproveTools entry", () => {
    assert.throws(
      () => compilePolicy(input({ autoApprove: ["Bash(oops"] })),
      (e: unknown) => e instanceof PolicyError && e.message.includes(FILE) && e.message.includes("autoApproveTools[0]") && /unbalanced/.test(e.message),
    );
  });

  it("rejects a rule that is not a string", () => {
    const i = input();
    i.deny = [{ value: 42 as unknown as string, source: { layer: "user", file: FILE, path: "permissions.deny[0]" } }];
    assert.throws(() => compilePolicy(i), (e: unknown) => e instanceof PolicyError && e.message.includes("permissions.deny[0]"));
  });

  it("rejects an unknown defaultMode rather than guessing", () => {
    const i = input();
    (i as { defaultMode: string }).defaultMode = "yolo";
    assert.throws(() => compilePolicy(i), (e: unknown) => e instanceof PolicyError && /defaultMode/.test(e.message));
  });

  it("rejects a rule without a source", () => {
    const i = input();
    i.allow = [{ value: "mcp__x" } as Sourced<string>];
    assert.throws(() => compilePolicy(i), PolicyError);
  });
});

describe("decideTool: names", () => {
  it("denies a built-in tool call that comes without a working directory, even when allowed", () => {
    const v = decide({ allow: ["Bash", "WebFetch"] }, "WebFetch");
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /no absolute working directory/);
  });

  it("denies malformed MCP names, even under allow mcp__*", () => {
    for (const name of ["mcp__", "mcp__github", "mcp____tool", "mcp__github__"]) {
      const v = decide({ allow: ["mcp__*"] }, name);
      assert.equal(v.decision, "deny", name);
      assert.match(v.reason, /malformed/, name);
    }
  });

  it("denies a request whose tool is not a string", () => {
    const p = compilePolicy(input({ allow: ["mcp__*"] }));
    assert.equal(p.decideTool({ tool: 7 as unknown as string, input: {} }).decision, "deny");
    assert.equal(p.decideTool(null as unknown as { tool: string; input: Record<string, unknown> }).decision, "deny");
  });

  it("denies names an upstream might read differently (NUL, zero-width, edge space), even under allow mcp__*", () => {
    for (const name of ["mcp__github__delete_repo\u0000", "mcp__github__delete\u200b_repo", "mcp__github__delete_repo ", "mcp__github__x\n"]) {
      const v = decide({ allow: ["mcp__*"], deny: ["mcp__github__delete_repo"] }, name);
      assert.equal(v.decision, "deny", JSON.stringify(name));
      assert.match(v.reason, /malformed tool name/);
    }
  });

  it("denies absurdly long names instead of matching them", () => {
    assert.equal(decision({ allow: ["mcp__*"] }, "mcp__x__" + "a".repeat(600)), "deny");
  });
});

describe("decideTool: deny and ask rules match broadly", () => {
  it("denies an exact name and reports the rule as written with its source", () => {
    const v = decide({ deny: ["mcp__github__get_me", "mcp__github__delete_repo"] }, "mcp__github__delete_repo");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "mcp__github__delete_repo");
    assert.deepEqual(v.source, { layer: "project", file: FILE, path: "permissions.deny[1]" });
  });

  it("matches deny rules case-insensitively", () => {
    assert.equal(decision({ deny: ["mcp__github__delete_repo"], allow: ["mcp__GitHub"] }, "mcp__GitHub__DELETE_Repo"), "deny");
    assert.equal(decision({ deny: ["MCP__GITHUB__DELETE_REPO"], allow: ["mcp__github"] }, "mcp__github__delete_repo"), "deny");
  });

  it("folds case beyond ASCII lower-casing (ß and SS)", () => {
    assert.equal(decision({ deny: ["mcp__docs__STRASSE"], allow: ["mcp__docs"] }, "mcp__docs__straße"), "deny");
  });

  it("a server-only deny covers every tool of the server, including tools with __", () => {
    const o = { deny: ["mcp__github"], allow: ["mcp__github2", "mcp__githubx"] };
    assert.equal(decision(o, "mcp__github__get_me"), "deny");
    assert.equal(decision(o, "mcp__GITHUB__a__b"), "deny");
    assert.equal(decision(o, "mcp__github2__get_me"), "allow");
    assert.equal(decision(o, "mcp__githubx__get_me"), "allow");
  });

  it("deny mcp__*__delete* denies mcp__db__Delete_rows (case-insensitive)", () => {
    assert.equal(decision({ deny: ["mcp__*__delete*"], allow: ["mcp__db"] }, "mcp__db__Delete_rows"), "deny");
  });

  it("deny mcp__*__delete* denies a tool whose own name contains __delete", () => {
    const v = decide({ deny: ["mcp__*__delete*"], allow: ["mcp__github"] }, "mcp__github__create_issue__delete_all");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "mcp__*__delete*");
  });

  it("deny mcp__*__delete* does not deny mcp__db__list_deleted_items", () => {
    assert.equal(decision({ deny: ["mcp__*__delete*"], allow: ["mcp__db"] }, "mcp__db__list_deleted_items"), "allow");
  });

  it("deny globs with a literal server only hit that server", () => {
    const o = { deny: ["mcp__db__drop_*"], allow: ["mcp__db", "mcp__db2"] };
    assert.equal(decision(o, "mcp__DB__Drop_table"), "deny");
    assert.equal(decision(o, "mcp__db__drop_x__y"), "deny");
    assert.equal(decision(o, "mcp__db2__drop_table"), "allow");
    assert.equal(decision(o, "mcp__db__list_drop_x"), "allow");
  });

  it("a deny * crosses / and other characters picomatch would stop at", () => {
    assert.equal(decision({ deny: ["mcp__*__delete*"], allow: ["mcp__fs"] }, "mcp__fs__delete/recursive"), "deny");
    assert.equal(decision({ deny: ["mcp__fs__*rm*"], allow: ["mcp__fs"] }, "mcp__fs__a/b/rm.c"), "deny");
  });

  it("treats ? [ { . as literal characters, not glob syntax", () => {
    const o = { deny: ["mcp__fs__rm?"], allow: ["mcp__fs"] };
    assert.equal(decision(o, "mcp__fs__rm?"), "deny");
    assert.equal(decision(o, "mcp__fs__rmx"), "allow");
  });

  it("deny mcp__* denies every MCP tool", () => {
    assert.equal(decision({ deny: ["mcp__*"], allow: ["mcp__github"] }, "mcp__github__get_me"), "deny");
  });

  it("a server-glob-only deny also covers mcp__<server>__<tool>", () => {
    const o = { deny: ["mcp__*hub"], allow: ["mcp__github", "mcp__gitlab"] };
    assert.equal(decision(o, "mcp__github__get_me"), "deny");
    assert.equal(decision(o, "mcp__gitlab__get_me"), "allow");
  });

  it("deny beats ask and allow; ask beats allow", () => {
    assert.equal(decision({ deny: ["mcp__x__t"], ask: ["mcp__x__t"], allow: ["mcp__x__t"] }, "mcp__x__t"), "deny");
    const v = decide({ ask: ["mcp__x__t"], allow: ["mcp__x__t"] }, "mcp__x__t");
    assert.equal(v.decision, "ask");
    assert.equal(v.rule, "mcp__x__t");
    assert.deepEqual(v.source, { layer: "project", file: FILE, path: "permissions.ask[0]" });
  });

  it("ask rules match as broadly as deny rules", () => {
    const o = { ask: ["mcp__*__send*"], allow: ["mcp__mail"] };
    assert.equal(decision(o, "mcp__mail__SEND_email"), "ask");
    assert.equal(decision(o, "mcp__mail__draft__send_later"), "ask");
    assert.equal(decision(o, "mcp__mail__list_sent"), "allow");
  });

  it("built-in deny rules do not affect MCP tools", () => {
    assert.equal(decision({ deny: ["Bash", "Read(./secrets/**)"], allow: ["mcp__x"] }, "mcp__x__t"), "allow");
  });
});

describe("decideTool: allow rules match structurally and case-sensitively", () => {
  it("allows an exact name and reports the rule and its source", () => {
    const v = decide({ allow: ["mcp__github__create_issue"] }, "mcp__github__create_issue");
    assert.equal(v.decision, "allow");
    assert.equal(v.rule, "mcp__github__create_issue");
    assert.deepEqual(v.source, { layer: "project", file: FILE, path: "permissions.allow[0]" });
  });

  it("allow mcp__github__create_issue does not allow mcp__github__create_issue__delete_all", () => {
    assert.equal(decision({ allow: ["mcp__github__create_issue"] }, "mcp__github__create_issue__delete_all"), "ask");
  });

  it("allow mcp__github__create_issue does not allow mcp__GitHub__create_issue", () => {
    assert.equal(decision({ allow: ["mcp__github__create_issue"] }, "mcp__GitHub__create_issue"), "ask");
    assert.equal(decision({ allow: ["mcp__github__create_issue"] }, "mcp__github__Create_Issue"), "ask");
  });

  it("mcp__x and mcp__x__* allow every tool of x and of no other server", () => {
    for (const rule of ["mcp__github", "mcp__github__*"]) {
      assert.equal(decision({ allow: [rule] }, "mcp__github__get_me"), "allow", rule);
      assert.equal(decision({ allow: [rule] }, "mcp__github__a__b"), "allow", rule);
      assert.equal(decision({ allow: [rule] }, "mcp__github2__get_me"), "ask", rule);
      assert.equal(decision({ allow: [rule] }, "mcp__GitHub__get_me"), "ask", rule);
    }
  });

  it("a tool glob matches the tool only", () => {
    const o = { allow: ["mcp__github__get_*"] };
    assert.equal(decision(o, "mcp__github__get_issue"), "allow");
    assert.equal(decision(o, "mcp__github__list_issues"), "ask");
    assert.equal(decision(o, "mcp__github__Get_issue"), "ask");
    assert.equal(decision(o, "mcp__github2__get_issue"), "ask");
  });

  it("a server glob matches the server only: mcp__*__get_* does not allow mcp__db__list__get_x", () => {
    const o = { allow: ["mcp__*__get_*"] };
    assert.equal(decision(o, "mcp__db__get_row"), "allow");
    // As a deny, the same pattern would match: `*` would swallow `db__list`.
    assert.equal(decision(o, "mcp__db__list__get_x"), "ask");
    assert.equal(decision({ deny: ["mcp__*__get_*"], allow: ["mcp__db"] }, "mcp__db__list__get_x"), "deny");
  });

  it("a server-glob-only allow allows every tool of the matching servers", () => {
    const o = { allow: ["mcp__git*"] };
    assert.equal(decision(o, "mcp__github__x"), "allow");
    assert.equal(decision(o, "mcp__gitlab__y__z"), "allow");
    assert.equal(decision(o, "mcp__GitHub__x"), "ask");
    assert.equal(decision(o, "mcp__bitbucket__x"), "ask");
  });

  it("mcp__* allows every MCP tool", () => {
    assert.equal(decision({ allow: ["mcp__*"] }, "mcp__anything__at_all"), "allow");
  });

  it("autoApproveTools entries allow like allow rules and are reported as such", () => {
    const v = decide({ autoApprove: ["mcp__github__get_*"] }, "mcp__github__get_issue");
    assert.equal(v.decision, "allow");
    assert.equal(v.rule, "mcp__github__get_*");
    assert.match(v.reason, /autoApproveTools/);
    assert.deepEqual(v.source, { layer: "user", file: FILE, path: "autoApproveTools[0]" });
    assert.equal(decision({ autoApprove: ["mcp__github__get_*"] }, "mcp__github__x__get_issue"), "ask");
  });

  it("an unmatched tool needs approval", () => {
    const v = decide({ allow: ["mcp__github__get_me"] }, "mcp__github__get_issue");
    assert.equal(v.decision, "ask");
    assert.equal(v.reason, UNMATCHED);
    assert.equal(v.rule, undefined);
  });
});

describe("decideTool: modes", () => {
  const o = { deny: ["mcp__x__bad"], ask: ["mcp__x__risky"], allow: ["mcp__x__fine"] };

  it("bypassPermissions turns an explicit ask into allow and says so", () => {
    const v = decide({ ...o, defaultMode: "bypassPermissions" }, "mcp__x__risky");
    assert.equal(v.decision, "allow");
    assert.match(v.reason, /bypassPermissions mode/);
    assert.equal(v.rule, "mcp__x__risky");
  });

  it("bypassPermissions turns an unmatched tool into allow", () => {
    const v = decide({ ...o, defaultMode: "bypassPermissions" }, "mcp__x__other");
    assert.equal(v.decision, "allow");
    assert.match(v.reason, /bypassPermissions mode/);
  });

  it("bypassPermissions never changes a deny", () => {
    assert.equal(decision({ ...o, defaultMode: "bypassPermissions" }, "mcp__x__bad"), "deny");
    assert.equal(decision({ ...o, defaultMode: "bypassPermissions" }, "Bash"), "deny");
  });

  it("disabled bypassPermissions behaves as default and says bypass is disabled", () => {
    for (const tool of ["mcp__x__risky", "mcp__x__other"]) {
      const v = decide({ ...o, defaultMode: "bypassPermissions", bypassDisabled: true }, tool);
      assert.equal(v.decision, "ask", tool);
      assert.match(v.reason, /bypassPermissions mode is disabled/, tool);
    }
    assert.equal(decision({ ...o, defaultMode: "bypassPermissions", bypassDisabled: true }, "mcp__x__fine"), "allow");
  });

  it("dontAsk turns ask into deny, explicit or unmatched, and leaves allow alone", () => {
    const explicit = decide({ ...o, defaultMode: "dontAsk" }, "mcp__x__risky");
    assert.equal(explicit.decision, "deny");
    assert.match(explicit.reason, /dontAsk/);
    assert.equal(decision({ ...o, defaultMode: "dontAsk" }, "mcp__x__other"), "deny");
    assert.equal(decision({ ...o, defaultMode: "dontAsk" }, "mcp__x__fine"), "allow");
  });

  it("acceptEdits and plan behave as default for MCP tools", () => {
    for (const defaultMode of ["acceptEdits", "plan", "default"] as const) {
      assert.equal(decision({ ...o, defaultMode }, "mcp__x__risky"), "ask", defaultMode);
      assert.equal(decide({ ...o, defaultMode }, "mcp__x__other").reason, UNMATCHED, defaultMode);
      assert.equal(decision({ ...o, defaultMode }, "mcp__x__fine"), "allow", defaultMode);
      assert.equal(decision({ ...o, defaultMode }, "mcp__x__bad"), "deny", defaultMode);
    }
  });
});

describe("compiled policy", () => {
  it("counts rules of every list", () => {
    assert.equal(compilePolicy(input({ allow: ["mcp__a", "Bash"], ask: ["mcp__b"], deny: ["mcp__c"], autoApprove: ["mcp__d__x"] })).ruleCount, 5);
  });

  it("returns frozen verdicts that later changes to the input cannot alter", () => {
    const i = input({ deny: ["mcp__x__t"] });
    const p = compilePolicy(i);
    (i.deny[0] as Sourced<string>).value = "mcp__y";
    ((i.deny[0] as Sourced<string>).source as Source).path = "elsewhere";
    const v = p.decideTool({ tool: "mcp__x__t", input: {} });
    assert.equal(v.decision, "deny");
    assert.equal(v.source?.path, "permissions.deny[0]");
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.source));
  });

  it("does not backtrack on crafted names: many-star globs against a long run finish quickly", () => {
    const p = compilePolicy(input({ deny: ["mcp__*a*a*a*a*a*a*a*a*b", ...Array.from({ length: 20 }, (_, k) => `mcp__*a*a*a*a*a*a*c${k}`)] }));
    const name = "mcp__x__" + "a".repeat(500);
    const t0 = performance.now();
    const v = p.decideTool({ tool: name, input: {} });
    assert.equal(v.decision, "ask");
    assert.ok(performance.now() - t0 < 200, "a decision must not take long");
  });

  it("finds the same rule with hundreds of globs as a rule-by-rule scan would", () => {
    // Many globs take the indexed path; the answer must equal the first matching rule in order.
    const deny = Array.from({ length: 300 }, (_, k) => `mcp__*__op${k}_*`);
    deny.push("mcp__*__*nuke*");
    const p = compilePolicy(input({ deny, allow: ["mcp__*"] }));
    assert.equal(p.decideTool({ tool: "mcp__s__op42_x", input: {} }).rule, "mcp__*__op42_*");
    assert.equal(p.decideTool({ tool: "mcp__s__OP299_x", input: {} }).rule, "mcp__*__op299_*");
    assert.equal(p.decideTool({ tool: "mcp__s__x__op7_y", input: {} }).rule, "mcp__*__op7_*");
    assert.equal(p.decideTool({ tool: "mcp__s__a_nuke_b", input: {} }).rule, "mcp__*__*nuke*");
    assert.equal(p.decideTool({ tool: "mcp__s__op300_x", input: {} }).decision, "allow");
    assert.equal(p.decideTool({ tool: "mcp__s__op42", input: {} }).decision, "allow");
  });

  it("finds server-glob allow rules with many of them", () => {
    const allow = Array.from({ length: 50 }, (_, k) => `mcp__team${k}-*__read_*`);
    const p = compilePolicy(input({ allow }));
    assert.equal(p.decideTool({ tool: "mcp__team7-docs__read_page", input: {} }).rule, "mcp__team7-*__read_*");
    assert.equal(p.decideTool({ tool: "mcp__team7-docs__write_page", input: {} }).decision, "ask");
    assert.equal(p.decideTool({ tool: "mcp__team7-docs__x__read_page", input: {} }).decision, "ask");
    // `team1-*` must not claim `team17-docs`: the rule reported is the one that matches.
    assert.equal(p.decideTool({ tool: "mcp__team17-docs__read_page", input: {} }).rule, "mcp__team17-*__read_*");
    assert.equal(p.decideTool({ tool: "mcp__team77-docs__read_page", input: {} }).decision, "ask");
  });
});

describe("glob", () => {
  /** Reference semantics, straight from the definition. Fine for short test strings. */
  function reference(pattern: string, s: string): boolean {
    const src = pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[\\s\\S]*");
    return new RegExp(`^${src}$`).test(s);
  }

  function random(seed: number) {
    let x = seed;
    return () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  }

  it("Glob.test agrees with the reference definition on random patterns and texts", () => {
    const r = random(7);
    const alphabet = ["a", "b", "_", "/", "*"];
    const word = (n: number, chars: string[]) => Array.from({ length: Math.floor(r() * n) }, () => chars[Math.floor(r() * chars.length)]).join("");
    let matched = 0;
    for (let i = 0; i < 5000; i++) {
      const pattern = word(8, alphabet);
      const text = word(10, alphabet.slice(0, 4));
      const want = reference(pattern, text);
      if (want) matched++;
      assert.equal(new Glob(pattern).test(text), want, `${JSON.stringify(pattern)} vs ${JSON.stringify(text)}`);
    }
    assert.ok(matched > 200, "the random cases must include matches");
  });

  it("GlobList.find returns the first matching pattern, indexed or not", () => {
    const r = random(11);
    const alphabet = ["a", "b", "c", "_", "*"];
    const word = (n: number, chars: string[]) => Array.from({ length: 1 + Math.floor(r() * n) }, () => chars[Math.floor(r() * chars.length)]).join("");
    for (let round = 0; round < 40; round++) {
      const patterns = Array.from({ length: 3 + Math.floor(r() * 40) }, () => word(6, alphabet));
      const list = new GlobList<number>();
      patterns.forEach((p, i) => list.add(p, i));
      list.seal();
      for (let t = 0; t < 100; t++) {
        const text = word(10, alphabet.slice(0, 4));
        const exact = patterns.findIndex((p) => p === text);
        const first = exact >= 0 ? exact : patterns.findIndex((p) => p.includes("*") && reference(p, text));
        assert.equal(list.find(text), first < 0 ? undefined : first, `${JSON.stringify(text)} in ${JSON.stringify(patterns)}`);
      }
    }
  });

  it("fold maps case variants beyond ASCII together", () => {
    assert.equal(fold("STRASSE"), fold("straße"));
    assert.equal(fold("ΟΔΟΣ"), fold("οδος"));
    assert.equal(fold("MCP__GitHub__X"), "mcp__github__x");
  });
});
