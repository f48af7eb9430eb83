// Recursive reads and globs whose tree a deny rule's shape could reach are judged by what is on disk:
// allowed when a walk shows no denied path there, asked (or denied) when one is, or when the line
// could change the disk before it reads.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fsEnvironment } from "../../src/adapters/fs-environment.js";
import { compilePolicy, type PolicyInput, type Source } from "../../src/policy/index.js";

let root: string;
let project: string;
const source: Source = { layer: "project", file: "/x/.mcp-warden/settings.json", path: "permissions" };

before(() => {
  root = mkdtempSync(join(tmpdir(), "warden-walk-"));
  project = join(root, "home", "project");
  for (const d of ["src/a", "docs", "linked", "deep"]) mkdirSync(join(project, d), { recursive: true });
  writeFileSync(join(project, ".env"), "SECRET=1\n");
  writeFileSync(join(project, "src", "a", "x.ts"), "");
  writeFileSync(join(project, "docs", "readme.md"), "");
  symlinkSync("../.env", join(project, "linked", "settings.cfg"));
  let d = join(project, "deep");
  for (let i = 0; i < 3; i++) writeFileSync(join(d, `f${i}.ts`), "");
  d = join(d, "dir");
  mkdirSync(d);
  writeFileSync(join(d, ".env"), "");
});
after(() => rmSync(root, { recursive: true, force: true }));

function decide(tool: string, input: Record<string, unknown>) {
  const rules = (xs: string[]) => xs.map((value) => ({ value, source }));
  const policy: PolicyInput = {
    allow: rules(["Bash(grep:*)", "Bash(cat:*)", "Bash(find:*)", "Bash(xargs:*)", "Bash(ln:*)", "Bash(mkdir:*)"]),
    ask: [],
    deny: rules(["Read(.env)"]),
    autoApprove: [],
    defaultMode: "default",
    bypassDisabled: false,
    servers: [],
    deniedMcpServers: [],
    exclusiveManagedServers: false,
  };
  return compilePolicy(policy, fsEnvironment({ env: { HOME: join(root, "home") } })).decideTool({ tool, input, cwd: project, projectRoot: project });
}
const bash = (command: string) => decide("Bash", { command }).decision;

describe("recursive reads judged by what is on disk", () => {
  it("allow grep -r over a tree that holds no denied file", () => {
    assert.equal(bash("grep -rn TODO src/"), "allow");
    assert.equal(decide("Grep", { pattern: "TODO", path: join(project, "src") }).decision, "allow");
  });
  it("ask when the tree holds a denied file, at any depth", () => {
    assert.equal(bash("grep -rn TODO ."), "ask");
    assert.equal(bash("grep -rn TODO deep"), "ask");
    assert.equal(decide("Grep", { pattern: "TODO", path: project }).decision, "ask");
  });
  it("ask when the tree holds a symlink to a denied file", () => {
    assert.equal(bash("grep -r SECRET linked"), "ask");
  });
  it("judge by the rules alone when an earlier command of the line may change the disk", () => {
    assert.equal(bash("grep -rn TODO src/"), "allow", "control");
    assert.equal(bash("mkdir -p src/b && grep -rn TODO src/"), "ask");
  });
});

describe("globs judged by what is on disk", () => {
  it("allow a glob whose matches hold no denied path", () => {
    assert.equal(bash("find . -name '*.md' | xargs grep -n TODO"), "allow");
    assert.equal(bash("cat docs/*"), "allow");
  });
  it("deny a glob that reaches a symlink to a denied file", () => {
    assert.equal(bash("cat linked/*"), "deny");
  });
  it("deny a glob that matches a denied file", () => {
    assert.equal(bash("cat .e*"), "deny");
  });
});
