// Shapes: comparing globs that are not expanded yet (a shell's `src/*.ts`) with path rules and
// protected paths, conservatively: brace expansion, bash's leading-dot rule, `**`, case.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anySeg, bashGlobShapes, compilePathRule, expandBraces, globMeetsShape, litSeg, overlaps, protectedShapes, ruleShapes } from "../../src/policy/paths/index.js";
import type { PathRuleContext, Seg } from "../../src/policy/paths/index.js";

const CTX: PathRuleContext = { cwd: "/home/u/project", home: "/home/u", settingsRoot: "/home/u/project" };

function g(pattern: string): Seg[][] {
  const s = bashGlobShapes(pattern, CTX.cwd, CTX.home);
  assert.ok(s !== undefined, pattern);
  return s;
}

function meets(pattern: string, spec: string, platform: NodeJS.Platform = "linux"): boolean {
  const rule = compilePathRule("Read", spec, CTX, { platform });
  return ruleShapes(rule).some((s) => globMeetsShape(g(pattern), s));
}

describe("expandBraces", () => {
  it("expands alternatives, nested and in sequence; a group without a comma is literal", () => {
    assert.deepEqual(expandBraces("a{b,c}d"), ["abd", "acd"]);
    assert.deepEqual(expandBraces("{a,b{c,d}}"), ["a", "bc", "bd"]);
    assert.deepEqual(expandBraces("{a,b}{1,2}"), ["a1", "a2", "b1", "b2"]);
    assert.deepEqual(expandBraces("x{y}z"), ["x{y}z"]);
    assert.deepEqual(expandBraces("\\{a,b}"), ["\\{a,b}"]);
    assert.deepEqual(expandBraces("{a,b"), ["{a,b"]);
  });
  it("gives up (undefined) rather than produce an explosion of alternatives", () => {
    assert.equal(expandBraces("{a,b}".repeat(10)), undefined);
  });
});

describe("bashGlobShapes", () => {
  it("makes the glob absolute from cwd or ~, and resolves `..` after literal components", () => {
    assert.deepEqual(g("src/../docs/x").map((s) => s.map((c) => c.lit)), [["home", "u", "project", "docs", "x"]]);
    assert.deepEqual(g("~/a").map((s) => s.map((c) => c.lit)), [["home", "u", "a"]]);
  });
  it("cannot read `..` after a glob component or a ~user prefix: undefined", () => {
    assert.equal(bashGlobShapes("*/../x", CTX.cwd, CTX.home), undefined);
    assert.equal(bashGlobShapes("~bob/*", CTX.cwd, CTX.home), undefined);
  });
});

describe("overlaps", () => {
  const lit = (...xs: string[]): Seg[] => xs.map(litSeg);
  it("literal components must agree, `**` takes any number", () => {
    assert.equal(overlaps(lit("a", "b"), lit("a", "b"), false), true);
    assert.equal(overlaps(lit("a", "b"), lit("a", "c"), false), false);
    assert.equal(overlaps(lit("a", "b", "c"), [litSeg("a"), anySeg()], false), true);
    assert.equal(overlaps(lit("a"), [litSeg("a"), anySeg()], false), true, "`**` may take nothing");
    assert.equal(overlaps([anySeg(), litSeg("x")], [litSeg("a"), anySeg(), litSeg("y")], false), false);
    assert.equal(overlaps([anySeg(), litSeg("x")], [litSeg("a"), anySeg(), litSeg("x")], false), true);
  });
  it("case folds only when asked", () => {
    assert.equal(overlaps(lit("A"), lit("a"), false), false);
    assert.equal(overlaps(lit("A"), lit("a"), true), true);
  });
});

describe("glob against rule shapes", () => {
  it("bash's * and ? do not match a leading dot; a literal leading dot does", () => {
    assert.equal(meets("*", ".env"), false);
    assert.equal(meets("?env", ".env"), false);
    assert.equal(meets(".*", ".env"), true);
    assert.equal(meets("a/*/b", ".git/"), false);
    assert.equal(meets("a/.*/b", ".git/"), true);
  });
  it("a bare name rule covers the name at any depth and everything under it", () => {
    assert.equal(meets("/srv/app/.env", ".env"), true);
    assert.equal(meets("/srv/app/.env/x", ".env"), true);
    assert.equal(meets("/srv/*/x.txt", ".env"), false);
  });
  it("glob components compare by their literal ends when both are globs", () => {
    assert.equal(meets("logs/*.txt", "./logs/*.log"), false);
    assert.equal(meets("logs/a*", "./logs/*.log"), true);
    assert.equal(meets("logs/b*", "./logs/a*"), false);
  });
  it("a character class and a negated class", () => {
    assert.equal(meets("[sx]ecrets/k", "./secrets/**"), true);
    assert.equal(meets("[!s]ecrets/k", "./secrets/**"), false);
  });
  it("extglob or leftover braces match anything (cannot be read here)", () => {
    assert.equal(meets("@(x|secrets)/k", "./secrets/**"), true);
    assert.equal(meets("{1..3}/k", "./1/**"), true);
  });
  it("rule braces spanning a `/` are expanded before the pattern is split", () => {
    assert.equal(meets("b/c", "./{a,b/c}"), true);
    assert.equal(meets("b/d", "./{a,b/c}"), false);
  });
  it("macOS folds case for deny rules, Linux does not", () => {
    assert.equal(meets("SECRETS/*", "./secrets/**", "darwin"), true);
    assert.equal(meets("SECRETS/*", "./secrets/**", "linux"), false);
  });
});

describe("protectedShapes", () => {
  const shapes = protectedShapes({ cwd: CTX.cwd, home: CTX.home, extra: ["/var/log/warden"] });
  const hit = (pattern: string): string | undefined => shapes.find((s) => globMeetsShape(g(pattern), s.shape))?.reason;
  it("a glob that may reach .git, .mcp.json, a start-up file or mcp-warden's own files", () => {
    assert.match(hit(".*/hooks/pre-commit") ?? "", /\.git/);
    assert.match(hit("*/.mcp.json") ?? "", /mcp\.json/);
    assert.match(hit("~/.bash*") ?? "", /start-up/);
    assert.match(hit("/var/log/*/audit.jsonl") ?? "", /mcp-warden/);
    assert.match(hit(".GIT/*") ?? "", /\.git/, "protected names compare case-insensitively");
  });
  it("globs that cannot reach one", () => {
    assert.equal(hit("src/*.ts"), undefined);
    assert.equal(hit("~/*.txt"), undefined);
  });
});
