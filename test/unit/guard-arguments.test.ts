// The arguments guard (policy/guards/arguments.ts): enum, pattern, maxLength and paths constraints on
// any server's tool arguments, with a real temporary directory (and real symlinks) for `paths`.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { PolicyEnvironment } from "../../src/policy/builtin/types.js";
import { compileArgumentGuard, PATTERN_INPUT_LIMIT, type ArgumentGuardConfig } from "../../src/policy/guards/arguments.js";
import { fsEnvironment } from "../../src/policy/paths/index.js";

const cwd = "/work";
const plainEnv: PolicyEnvironment = fsEnvironment({ home: "/home/user", platform: "linux" });

function guard(config: ArgumentGuardConfig, env: PolicyEnvironment = plainEnv) {
  return compileArgumentGuard(config, env);
}

function assertDeny(v: ReturnType<ReturnType<typeof guard>["check"]>, rule: string, ...fragments: string[]): void {
  assert.ok(v, "expected a verdict");
  assert.equal(v.decision, "deny", v.reason);
  assert.equal(v.rule, rule);
  assert.ok(v.reason.includes(`(${rule})`), `reason names its settings path: ${v.reason}`);
  for (const f of fragments) assert.ok(v.reason.includes(f), `reason ${JSON.stringify(v.reason)} should include ${JSON.stringify(f)}`);
}

function assertAllow(v: ReturnType<ReturnType<typeof guard>["check"]>): void {
  assert.ok(v, "expected a verdict (constraints apply)");
  assert.equal(v.decision, "allow", v.reason);
}

describe("arguments guard: enum", () => {
  const g = guard({ create_issue: { owner: { enum: ["acme"] } } });

  it("allows a listed value", () => assertAllow(g.check("create_issue", { owner: "acme", repo: "x" }, { cwd })));

  it("denies another value, naming the constraint and its settings path", () => {
    const v = g.check("create_issue", { owner: "evil" }, { cwd });
    assertDeny(v, "guards.arguments.create_issue.owner.enum", 'argument "owner" of create_issue must be one of ["acme"] (guards.arguments.create_issue.owner.enum)', '"evil"');
  });

  it("an absent argument passes (the server's schema decides whether it is required)", () => {
    assertAllow(g.check("create_issue", { repo: "x" }, { cwd }));
    assertAllow(g.check("create_issue", { owner: undefined }, { cwd }));
    assertAllow(g.check("create_issue", undefined as unknown as Record<string, unknown>, { cwd }));
  });

  it("a present value of the wrong type fails, null included", () => {
    for (const bad of [null, 1, true, ["acme"], { owner: "acme" }]) {
      assertDeny(g.check("create_issue", { owner: bad }, { cwd }), "guards.arguments.create_issue.owner.enum");
    }
  });

  it("compares JSON values deeply, objects regardless of key order", () => {
    const d = guard({ t: { opts: { enum: [{ a: 1, b: [1, 2] }, null, 3] } } });
    assertAllow(d.check("t", { opts: { b: [1, 2], a: 1 } }, { cwd }));
    assertAllow(d.check("t", { opts: null }, { cwd }));
    assertAllow(d.check("t", { opts: 3 }, { cwd }));
    assertDeny(d.check("t", { opts: { a: 1, b: [2, 1] } }, { cwd }), "guards.arguments.t.opts.enum");
    assertDeny(d.check("t", { opts: { a: 1, b: [1, 2], c: 0 } }, { cwd }), "guards.arguments.t.opts.enum");
    assertDeny(d.check("t", { opts: "3" }, { cwd }), "guards.arguments.t.opts.enum");
    assertDeny(d.check("t", { opts: [3] }, { cwd }), "guards.arguments.t.opts.enum");
  });

  it("does not look up inherited properties", () => {
    const d = guard({ t: { toString: { enum: ["x"] } } });
    assertAllow(d.check("t", {}, { cwd }));
  });
});

describe("arguments guard: pattern", () => {
  const g = guard({ create_issue: { owner: { pattern: "acme" } } });

  it("matches the whole string: `acme` does not match `acme-evil` or `evil-acme`", () => {
    assertAllow(g.check("create_issue", { owner: "acme" }, { cwd }));
    for (const bad of ["acme-evil", "evil-acme", "acme\n", "ACME"]) {
      assertDeny(g.check("create_issue", { owner: bad }, { cwd }), "guards.arguments.create_issue.owner.pattern", 'must match "acme" as a whole');
    }
  });

  it("an alternation is anchored as a whole", () => {
    const a = guard({ t: { x: { pattern: "a|b" } } });
    assertAllow(a.check("t", { x: "b" }, { cwd }));
    assertDeny(a.check("t", { x: "ab" }, { cwd }), "guards.arguments.t.x.pattern");
    assertDeny(a.check("t", { x: "bz" }, { cwd }), "guards.arguments.t.x.pattern");
  });

  it("uses the u flag (a code point is one character)", () => {
    const a = guard({ t: { x: { pattern: "." } } });
    assertAllow(a.check("t", { x: "😀" }, { cwd }));
  });

  it("a non-string fails", () => {
    for (const bad of [1, null, ["acme"], { v: "acme" }]) {
      assertDeny(g.check("create_issue", { owner: bad }, { cwd }), "guards.arguments.create_issue.owner.pattern", "must be a string matching");
    }
  });

  it("an invalid pattern throws at compile, naming the tool and the argument", () => {
    assert.throws(() => guard({ create_issue: { owner: { pattern: "(acme" } } }), (e: Error) => {
      assert.match(e.message, /guards\.arguments\.create_issue\.owner\.pattern/);
      assert.match(e.message, /"owner"/);
      assert.match(e.message, /"create_issue"/);
      return true;
    });
    // Invalid only with the u flag.
    assert.throws(() => guard({ t: { x: { pattern: "\\q" } } }), /guards\.arguments\.t\.x\.pattern/);
  });

  it("a pattern that would escape its anchoring group is invalid, not unanchored", () => {
    // `^(?:acme)|(.*)$` would match `acme-evil`; compiled alone, `acme)|(.*` is a syntax error.
    assert.throws(() => guard({ t: { x: { pattern: "acme)|(.*" } } }), /not a valid regular expression/);
  });

  it("a ReDoS-prone pattern with a long input returns (the input is bounded)", () => {
    const r = guard({ t: { x: { pattern: "(a|aa)*c" } } });
    const v = r.check("t", { x: "a".repeat(PATTERN_INPUT_LIMIT + 1) }, { cwd });
    assertDeny(v, "guards.arguments.t.x.pattern", `longer than the ${PATTERN_INPUT_LIMIT} characters`);
    const huge = r.check("t", { x: "a".repeat(5_000_000) }, { cwd });
    assertDeny(huge, "guards.arguments.t.x.pattern");
    assert.ok(huge!.reason.length < 1000, "a huge value is clipped in the message");
  });

  it("maxLength above the default bound raises the bound", () => {
    const r = guard({ t: { x: { pattern: "a*", maxLength: PATTERN_INPUT_LIMIT * 2 } } });
    assertAllow(r.check("t", { x: "a".repeat(PATTERN_INPUT_LIMIT + 5) }, { cwd }));
  });
});

describe("arguments guard: maxLength", () => {
  const g = guard({ t: { title: { maxLength: 3 } } });

  it("strings by code points", () => {
    assertAllow(g.check("t", { title: "abc" }, { cwd }));
    assertAllow(g.check("t", { title: "😀😀😀" }, { cwd })); // 6 UTF-16 units, 3 code points
    assertAllow(g.check("t", { title: "" }, { cwd }));
    assertDeny(g.check("t", { title: "abcd" }, { cwd }), "guards.arguments.t.title.maxLength", "at most 3 characters");
    assertDeny(g.check("t", { title: "😀😀😀😀" }, { cwd }), "guards.arguments.t.title.maxLength");
  });

  it("arrays by element count", () => {
    assertAllow(g.check("t", { title: [1, 2, 3] }, { cwd }));
    assertDeny(g.check("t", { title: [1, 2, 3, 4] }, { cwd }), "guards.arguments.t.title.maxLength", "at most 3 elements", "it holds 4");
  });

  it("other types have no length and fail", () => {
    for (const bad of [12, true, null, { a: 1 }]) {
      assertDeny(g.check("t", { title: bad }, { cwd }), "guards.arguments.t.title.maxLength", "has no length");
    }
  });

  it("maxLength 0 allows only the empty string or array", () => {
    const z = guard({ t: { x: { maxLength: 0 } } });
    assertAllow(z.check("t", { x: "" }, { cwd }));
    assertAllow(z.check("t", { x: [] }, { cwd }));
    assertDeny(z.check("t", { x: "a" }, { cwd }), "guards.arguments.t.x.maxLength");
  });
});

describe("arguments guard: several constraints, tool keys, argument keys", () => {
  it("all constraints on one argument must hold, each denial naming its own", () => {
    const g = guard({ t: { branch: { enum: ["main", "release-very-long"], pattern: "[a-z]+", maxLength: 10 } } });
    assertAllow(g.check("t", { branch: "main" }, { cwd }));
    assertDeny(g.check("t", { branch: "dev" }, { cwd }), "guards.arguments.t.branch.enum");
    assertDeny(g.check("t", { branch: "release-very-long" }, { cwd }), "guards.arguments.t.branch.maxLength");
  });

  it("every constrained argument is checked", () => {
    const g = guard({ t: { owner: { enum: ["acme"] }, repo: { pattern: "[a-z-]+" } } });
    assertAllow(g.check("t", { owner: "acme", repo: "web-app" }, { cwd }));
    assertDeny(g.check("t", { owner: "acme", repo: "Web" }, { cwd }), "guards.arguments.t.repo.pattern");
  });

  it("`*` applies to every tool, together with the tool's own constraints", () => {
    const g = guard({ "*": { owner: { enum: ["acme", "other"] } }, create_issue: { owner: { enum: ["acme"] } } });
    assertAllow(g.check("list_issues", { owner: "other" }, { cwd }));
    assertDeny(g.check("list_issues", { owner: "evil" }, { cwd }), 'guards.arguments["*"].owner.enum');
    assertDeny(g.check("create_issue", { owner: "other" }, { cwd }), "guards.arguments.create_issue.owner.enum");
    assertAllow(g.check("create_issue", { owner: "acme" }, { cwd }));
    assertAllow(g.check("anything", {}, { cwd }));
  });

  it("other `*` globs match tool names; matching ignores case", () => {
    const g = guard({ "create_*": { owner: { enum: ["acme"] } } });
    assertDeny(g.check("create_issue", { owner: "evil" }, { cwd }), 'guards.arguments["create_*"].owner.enum');
    assertDeny(g.check("Create_Issue", { owner: "evil" }, { cwd }), 'guards.arguments["create_*"].owner.enum');
    assert.equal(g.check("list_issues", { owner: "evil" }, { cwd }), undefined);
  });

  it("tools without constraints give undefined, and so do empty constraint objects", () => {
    const g = guard({ create_issue: { owner: { enum: ["acme"] } }, noop: { x: {} }, empty: {} });
    assert.equal(g.check("list_issues", { owner: "evil" }, { cwd }), undefined);
    assert.equal(g.check("noop", { x: 1 }, { cwd }), undefined);
    assert.equal(g.check("empty", { x: 1 }, { cwd }), undefined);
    assert.equal(guard({}).check("t", { x: 1 }, { cwd }), undefined);
  });

  it("arguments that are not an object are refused when constraints apply", () => {
    const g = guard({ t: { x: { enum: [1] } } });
    assertDeny(g.check("t", [1] as unknown as Record<string, unknown>, { cwd }), "guards.arguments", "not an object");
    assertDeny(g.check("t", "x" as unknown as Record<string, unknown>, { cwd }), "guards.arguments");
  });

  it("a dotted key names a nested argument", () => {
    const g = guard({ t: { "repo.owner": { enum: ["acme"] } } });
    assertAllow(g.check("t", { repo: { owner: "acme" } }, { cwd }));
    assertDeny(g.check("t", { repo: { owner: "evil" } }, { cwd }), 'guards.arguments.t["repo.owner"].enum', 'argument "repo.owner" of t');
    // Absent on the way: passes.
    assertAllow(g.check("t", {}, { cwd }));
    assertAllow(g.check("t", { repo: null }, { cwd }));
    assertAllow(g.check("t", { repo: {} }, { cwd }));
    // A top-level argument literally named `repo.owner` is judged too.
    assertDeny(g.check("t", { "repo.owner": "evil", repo: { owner: "acme" } }, { cwd }), 'guards.arguments.t["repo.owner"].enum');
    assertDeny(g.check("t", { "repo.owner": "acme", repo: { owner: "evil" } }, { cwd }), 'guards.arguments.t["repo.owner"].enum');
  });

  it("an array or a scalar on a dotted path is refused, never a crash", () => {
    const g = guard({ t: { "repo.owner": { enum: ["acme"] } } });
    assertDeny(g.check("t", { repo: [{ owner: "evil" }] }, { cwd }), 'guards.arguments.t["repo.owner"]', "cannot be located", "an array");
    assertDeny(g.check("t", { repo: "evil/x" }, { cwd }), 'guards.arguments.t["repo.owner"]', "cannot be located");
    const deep = guard({ t: { "a.b.c": { maxLength: 1 } } });
    assertDeny(deep.check("t", { a: { b: [1, 2] } }, { cwd }), 'guards.arguments.t["a.b.c"]', '"a.b" is an array');
  });

  it("malformed configs throw at compile", () => {
    assert.throws(() => guard({ t: { x: { enum: "acme" as unknown as unknown[] } } }), /guards\.arguments\.t\.x\.enum/);
    assert.throws(() => guard({ t: { x: { maxLength: -1 } } }), /maxLength/);
    assert.throws(() => guard({ t: { x: { paths: [""] } } }), /paths/);
    assert.throws(() => guard({ "": { x: { enum: [] } } }), /must not be empty/);
  });
});

describe("arguments guard: paths", () => {
  let tmp: string;
  let home: string;
  let project: string;
  let outside: string;
  let env: PolicyEnvironment;

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "warden-argguard-")));
    home = path.join(tmp, "home/user");
    project = path.join(home, "project");
    outside = path.join(tmp, "outside");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    fs.mkdirSync(path.join(home, "project2"), { recursive: true });
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(project, "src/a.ts"), "x\n");
    fs.writeFileSync(path.join(outside, "secret.txt"), "secret\n");
    fs.symlinkSync(outside, path.join(project, "escape")); // a symlink inside the root leading out
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(project, "secret-link"));
    env = fsEnvironment({ home, platform: "linux" });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cfg = (roots: string[]): ArgumentGuardConfig => ({ write_file: { path: { paths: roots } } });
  const rule = "guards.arguments.write_file.path.paths";

  it("allows paths inside a root: absolute, relative to cwd, `~`, files that do not exist yet", () => {
    const g = guard(cfg([project]), env);
    assertAllow(g.check("write_file", { path: path.join(project, "src/a.ts") }, { cwd: project }));
    assertAllow(g.check("write_file", { path: "src/new.ts" }, { cwd: project }));
    assertAllow(g.check("write_file", { path: "~/project/src/a.ts" }, { cwd: "/" }));
    assertAllow(g.check("write_file", { path: `file://${project}/src/a.ts` }, { cwd: "/" }));
    assertAllow(g.check("write_file", { path: project }, { cwd: "/" }));
  });

  it("roots may be written with `~`", () => {
    const g = guard(cfg(["~/project"]), env);
    assertAllow(g.check("write_file", { path: path.join(project, "src/a.ts") }, { cwd: "/" }));
    assertDeny(g.check("write_file", { path: path.join(home, "project2/x") }, { cwd: "/" }), rule);
  });

  it("denies `..` escapes and sibling directories sharing a prefix", () => {
    const g = guard(cfg([project]), env);
    assertDeny(g.check("write_file", { path: "../project2/x" }, { cwd: project }), rule, `must be a path inside one of ${JSON.stringify([project])}`);
    assertDeny(g.check("write_file", { path: `${project}/src/../../.bashrc` }, { cwd: "/" }), rule);
    assertDeny(g.check("write_file", { path: `${project}2/x` }, { cwd: "/" }), rule);
    assertDeny(g.check("write_file", { path: "~/.ssh/id_rsa" }, { cwd: project }), rule);
    assertDeny(g.check("write_file", { path: "relative.txt" }, { cwd: outside }), rule);
  });

  it("denies a symlink inside the root that leads outside it", () => {
    const g = guard(cfg([project]), env);
    assertDeny(g.check("write_file", { path: path.join(project, "escape/secret.txt") }, { cwd: "/" }), rule, "symlink");
    assertDeny(g.check("write_file", { path: path.join(project, "escape/new.txt") }, { cwd: "/" }), rule, "symlink");
    assertDeny(g.check("write_file", { path: "secret-link" }, { cwd: project }), rule, "symlink");
  });

  it("denies NUL, percent-encoded `..` (the server may decode) and non-strings", () => {
    const g = guard(cfg([project]), env);
    assertDeny(g.check("write_file", { path: `${project}/a\0b` }, { cwd: "/" }), rule, "NUL");
    assertDeny(g.check("write_file", { path: `${project}/%2e%2e/project2/x` }, { cwd: "/" }), rule, "percent-decoded");
    assertDeny(g.check("write_file", { path: `file://${project}/%2e%2e/project2/x` }, { cwd: "/" }), rule);
    assertAllow(g.check("write_file", { path: `${project}/a%20b.txt` }, { cwd: "/" }));
    for (const bad of [1, null, { p: project }]) assertDeny(g.check("write_file", { path: bad }, { cwd: "/" }), rule, "not a path string");
  });

  it("arrays of paths: each must be inside", () => {
    const g = guard(cfg([project, path.join(home, "project2")]), env);
    assertAllow(g.check("write_file", { path: [path.join(project, "a"), path.join(home, "project2/b")] }, { cwd: "/" }));
    assertAllow(g.check("write_file", { path: [] }, { cwd: "/" }));
    assertDeny(g.check("write_file", { path: [path.join(project, "a"), outside] }, { cwd: "/" }), rule, "element 1");
    assertDeny(g.check("write_file", { path: [path.join(project, "a"), 7] }, { cwd: "/" }), rule, "element 1");
  });

  it("combines with the other constraints", () => {
    const g = guard({ write_file: { path: { paths: [project], pattern: ".*\\.ts" } } }, env);
    assertAllow(g.check("write_file", { path: "src/a.ts" }, { cwd: project }));
    assertDeny(g.check("write_file", { path: "src/a.js" }, { cwd: project }), "guards.arguments.write_file.path.pattern");
    assertDeny(g.check("write_file", { path: "../x.ts" }, { cwd: project }), rule);
  });

  it("an empty roots list allows no path", () => {
    const g = guard(cfg([]), env);
    assertDeny(g.check("write_file", { path: path.join(project, "a") }, { cwd: "/" }), rule, "list of roots is empty");
    assertAllow(g.check("write_file", {}, { cwd: "/" }));
  });
});
