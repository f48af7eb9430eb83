// The file tools' judge (FilePolicy.decide): rule forms and anchors, which tools a rule covers, symlink
// pairs on a real temporary tree, every reading of a path, protected paths, modes and defaults.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { compileFileRules, FILE_TOOLS } from "../../src/policy/builtin/files.js";
import type { FilePolicy } from "../../src/policy/builtin/files.js";
import type { BuiltinContext, BuiltinRule, Effect, PolicyEnvironment } from "../../src/policy/builtin/types.js";
import { fsEnvironment, resolveLinks } from "../../src/policy/paths/index.js";
import { parseRule, PolicyError } from "../../src/policy/rules.js";

let root = "";
let home = "";
let proj = "";
let proj2 = "";
let outside = "";
let audit = "";

function rule(effect: Effect, text: string, i = 0, settingsRoot?: string): BuiltinRule {
  const p = parseRule(text);
  assert.equal(p.kind, "builtin");
  if (p.kind !== "builtin") throw new Error("unreachable");
  const r: BuiltinRule = { effect, tool: p.tool, text, source: { layer: "project", file: "/cfg/settings.json", path: `permissions.${effect}[${i}]` } };
  if (p.specifier !== undefined) r.specifier = p.specifier;
  if (settingsRoot !== undefined) r.settingsRoot = settingsRoot;
  return r;
}

function env(over: Partial<PolicyEnvironment> = {}): PolicyEnvironment {
  return { home, platform: "linux", resolveLinks, protectedPaths: [audit], ...over };
}

function policy(rules: [Effect, string][], over: Partial<PolicyEnvironment> = {}): FilePolicy {
  return compileFileRules(
    rules.map(([e, t], i) => rule(e, t, i)),
    env(over),
  );
}

function ctx(over: Partial<BuiltinContext> = {}): BuiltinContext {
  return { cwd: proj, workingDirectories: [proj], mode: "default", ...over };
}

function decision(p: FilePolicy, tool: string, input: Record<string, unknown>, c: BuiltinContext = ctx()): string | undefined {
  return p.decide(tool, input, c)?.decision;
}

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "warden-files-")));
  home = path.join(root, "home", "u");
  proj = path.join(home, "project");
  proj2 = path.join(home, "project2");
  outside = path.join(root, "outside");
  audit = path.join(root, "warden-state");
  for (const f of ["project/src/index.ts", "project/.env", "project/secrets/api.key", "project/docs/a.md", "project2/secrets/k", ".bashrc", ".ssh/id_rsa"]) {
    fs.mkdirSync(path.dirname(path.join(home, f)), { recursive: true });
    fs.writeFileSync(path.join(home, f), "x\n");
  }
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, "secret.txt"), "x\n");
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(proj, "innocent.txt"));
  fs.symlinkSync(".env", path.join(proj, "settings.cfg"));
  fs.symlinkSync(outside, path.join(proj, "linkdir"));
  fs.symlinkSync(path.join(home, ".bashrc"), path.join(proj, "config.json"));
  fs.symlinkSync(path.join(proj, "loop-b"), path.join(proj, "loop-a"));
  fs.symlinkSync(path.join(proj, "loop-a"), path.join(proj, "loop-b"));
  fs.symlinkSync(proj, path.join(root, "proj-link"));
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("FilePolicy.decide: tools and defaults", () => {
  it("decides exactly the file tools and leaves every other tool to another judge", () => {
    const p = policy([]);
    for (const t of ["Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "NotebookRead", "Grep", "Glob", "LS"]) assert.ok(FILE_TOOLS.has(t), t);
    assert.equal(p.decide("Bash", { command: "ls" }, ctx()), undefined);
    assert.equal(p.decide("WebFetch", { url: "https://x" }, ctx()), undefined);
  });

  it("default mode: a read inside the working directory is allowed (unmatched), outside it asks", () => {
    const p = policy([]);
    const inside = p.decide("Read", { file_path: path.join(proj, "src/index.ts") }, ctx());
    assert.equal(inside?.decision, "allow");
    assert.equal(inside?.unmatched, true);
    const out = p.decide("Read", { file_path: path.join(proj2, "src/x.ts") }, ctx());
    assert.equal(out?.decision, "ask");
    assert.equal(out?.unmatched, true);
    assert.match(out?.reason ?? "", /outside the working directories/);
  });

  it("default and plan modes ask for edits inside the working directory; acceptEdits allows them", () => {
    const p = policy([]);
    const file = { file_path: path.join(proj, "src/index.ts") };
    assert.equal(decision(p, "Edit", file), "ask");
    assert.equal(p.decide("Edit", file, ctx())?.unmatched, true);
    assert.equal(decision(p, "Edit", file, ctx({ mode: "plan" })), "ask");
    assert.equal(decision(p, "Edit", file, ctx({ mode: "acceptEdits" })), "allow");
    assert.equal(decision(p, "Write", { file_path: path.join(proj2, "x") }, ctx({ mode: "acceptEdits" })), "ask", "acceptEdits stops at the working directories");
  });

  it("a sibling directory whose name starts like the working directory is outside it", () => {
    const p = policy([]);
    assert.equal(decision(p, "Read", { file_path: path.join(home, "project_backup/.env") }), "ask");
    assert.equal(decision(p, "Read", { file_path: path.join(proj2, "secrets/k") }), "ask");
  });

  it("additional working directories count as inside", () => {
    const p = policy([]);
    const c = ctx({ workingDirectories: [proj, proj2] });
    assert.equal(decision(p, "Read", { file_path: path.join(proj2, "secrets/k") }, c), "allow");
  });

  it("a working directory reached through a symlink still covers the files under it", () => {
    const p = policy([]);
    const viaLink = path.join(root, "proj-link");
    const c = ctx({ cwd: viaLink, workingDirectories: [viaLink] });
    assert.equal(decision(p, "Read", { file_path: path.join(viaLink, "src/index.ts") }, c), "allow");
    assert.equal(decision(p, "Read", { file_path: path.join(proj, "src/index.ts") }, c), "allow");
  });

  it("bypassPermissions and dontAsk still answer ask (the caller applies the mode)", () => {
    const p = policy([]);
    assert.equal(decision(p, "Edit", { file_path: path.join(proj, "a") }, ctx({ mode: "bypassPermissions" })), "ask");
    assert.equal(decision(p, "Read", { file_path: "/etc/hosts" }, ctx({ mode: "dontAsk" })), "ask");
  });
});

describe("FilePolicy.decide: rule forms and anchors", () => {
  it("a bare name matches at any depth, not a longer name", () => {
    const p = policy([["deny", "Read(.env)"]]);
    const v = p.decide("Read", { file_path: ".env" }, ctx());
    assert.equal(v?.decision, "deny");
    assert.equal(v?.rule, "Read(.env)");
    assert.deepEqual(v?.source, { layer: "project", file: "/cfg/settings.json", path: "permissions.deny[0]" });
    assert.match(v?.reason ?? "", /\.env is denied by Read\(\.env\) \(\/cfg\/settings\.json at permissions\.deny\[0\]\)/);
    assert.equal(decision(p, "Read", { file_path: "config/nested/.env" }), "deny");
    assert.equal(decision(p, "Read", { file_path: "/etc/app/.env" }), "deny", "a deny of a bare name reaches outside the project");
    assert.equal(decision(p, "Read", { file_path: ".env.example" }), "allow");
  });

  it("`./dir/**` covers the directory's files, not a prefix-similar directory", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    assert.equal(decision(p, "Read", { file_path: "./secrets/api.key" }), "deny");
    assert.equal(decision(p, "Read", { file_path: path.join(proj, "secrets/prod/db.json") }), "deny");
    assert.equal(decision(p, "Read", { file_path: "./secrets-example/README.md" }), "allow");
  });

  it("`//path` is absolute", () => {
    const p = policy([["deny", "Read(//etc/**)"]]);
    assert.equal(decision(p, "Read", { file_path: "/etc/hosts" }), "deny");
    assert.equal(decision(p, "Read", { file_path: "../../../../../../etc/hosts" }), "deny");
    assert.equal(decision(p, "Read", { file_path: "/etcetera/x" }), "ask");
  });

  it("`~/path` is under the home directory, whether the request spells it with ~ or not", () => {
    const p = policy([["deny", "Read(~/.ssh/**)"]]);
    assert.equal(decision(p, "Read", { file_path: "~/.ssh/id_rsa" }), "deny");
    assert.equal(decision(p, "Read", { file_path: path.join(home, ".ssh/id_rsa") }), "deny");
    assert.equal(decision(p, "Read", { file_path: path.join(proj, ".ssh/id_rsa") }), "allow");
  });

  it("`/path` is under the settings file's root, not the cwd; without a root it is the cwd", () => {
    const withRoot = compileFileRules([rule("deny", "Edit(/docs/**)", 0, proj)], env());
    const sub = ctx({ cwd: path.join(proj, "src"), workingDirectories: [proj] });
    assert.equal(withRoot.decide("Edit", { file_path: path.join(proj, "docs/a.md") }, sub)?.decision, "deny");
    assert.equal(withRoot.decide("Edit", { file_path: path.join(proj, "src/docs/a.md") }, sub)?.decision, "ask");
    const noRoot = compileFileRules([rule("deny", "Edit(/docs/**)")], env());
    assert.equal(noRoot.decide("Edit", { file_path: path.join(proj, "src/docs/a.md") }, sub)?.decision, "deny");
    assert.equal(noRoot.decide("Edit", { file_path: path.join(proj, "docs/a.md") }, sub)?.decision, "ask");
  });

  it("cwd-anchored rules follow the request's cwd (compiled per cwd, nothing leaks between them)", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    const c1 = ctx();
    const c2 = ctx({ cwd: proj2, workingDirectories: [proj2] });
    assert.equal(decision(p, "Read", { file_path: path.join(proj, "secrets/api.key") }, c1), "deny");
    assert.equal(decision(p, "Read", { file_path: path.join(proj2, "secrets/k") }, c2), "deny");
    assert.equal(decision(p, "Read", { file_path: path.join(proj, "secrets/api.key") }, c2), "ask", "from project2, project's secrets are just outside");
    assert.equal(decision(p, "Read", { file_path: path.join(proj2, "secrets/k") }, c1), "ask");
    // Many working directories in turn (more than the per-cwd cache keeps): answers stay right after evictions.
    for (let i = 0; i < 80; i++) decision(p, "Read", { file_path: "x" }, ctx({ cwd: path.join(root, `w${i}`), workingDirectories: [path.join(root, `w${i}`)] }));
    assert.equal(decision(p, "Read", { file_path: path.join(proj, "secrets/api.key") }, c1), "deny");
  });

  it("a name-only rule covers every path of its access", () => {
    const denyRead = policy([["deny", "Read"]]);
    assert.equal(decision(denyRead, "Read", { file_path: "src/index.ts" }), "deny");
    assert.equal(decision(denyRead, "LS", { path: "." }), "deny");
    const allowEdit = policy([["allow", "Edit"]]);
    assert.equal(decision(allowEdit, "Write", { file_path: "/tmp/anything" }), "allow");
    assert.equal(decision(allowEdit, "Read", { file_path: "/tmp/anything" }), "ask", "an Edit allow grants no reads");
  });

  it("deny beats ask beats allow, whatever the order they are written in", () => {
    assert.equal(decision(policy([["allow", "Read(./docs/**)"], ["ask", "Read(./docs/**)"], ["deny", "Read(./docs/**)"]]), "Read", { file_path: "docs/a.md" }), "deny");
    assert.equal(decision(policy([["allow", "Read(./docs/**)"], ["ask", "Read(./docs/**)"]]), "Read", { file_path: "docs/a.md" }), "ask");
    assert.equal(decision(policy([["allow", "Read(//tmp/pub/**)"]]), "Read", { file_path: "/tmp/pub/a" }), "allow");
  });

  it("an allow needs the whole path: `./src/*` does not allow a file two levels down", () => {
    const p = policy([["allow", "Edit(./src/*)"]]);
    assert.equal(decision(p, "Edit", { file_path: "src/index.ts" }), "allow");
    assert.equal(decision(p, "Edit", { file_path: "src/a/b.ts" }), "ask");
  });

  it("case: on Linux a deny of .env does not cover .ENV; on macOS it does, and an allow never folds case", () => {
    assert.equal(decision(policy([["deny", "Read(.env)"]]), "Read", { file_path: ".ENV" }), "allow");
    assert.equal(decision(policy([["deny", "Read(.env)"]], { platform: "darwin" }), "Read", { file_path: ".ENV" }), "deny");
    assert.equal(decision(policy([["allow", "Read(//opt/Data/**)"]], { platform: "darwin" }), "Read", { file_path: "/opt/data/x" }), "ask");
  });
});

describe("FilePolicy.decide: which tools a rule covers", () => {
  it("an Edit rule covers Edit, Write, MultiEdit and NotebookEdit; a Write rule is an Edit rule", () => {
    for (const text of ["Edit(./dist/**)", "Write(./dist/**)"]) {
      const p = policy([["deny", text]]);
      assert.equal(decision(p, "Edit", { file_path: "dist/a.js" }), "deny", text);
      assert.equal(decision(p, "Write", { file_path: "dist/a.js" }), "deny", text);
      assert.equal(decision(p, "MultiEdit", { file_path: "dist/a.js", edits: [] }), "deny", text);
      assert.equal(decision(p, "NotebookEdit", { notebook_path: "dist/a.ipynb" }), "deny", text);
      assert.equal(decision(p, "Read", { file_path: "dist/a.js" }), "allow", `${text} does not cover reads`);
    }
  });

  it("a Read rule covers Read, NotebookRead, Grep, Glob and LS", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    assert.equal(decision(p, "Read", { file_path: "secrets/api.key" }), "deny");
    assert.equal(decision(p, "NotebookRead", { notebook_path: "secrets/n.ipynb" }), "deny");
    assert.equal(decision(p, "Grep", { pattern: "x", path: "secrets/prod" }), "deny");
    assert.equal(decision(p, "Glob", { pattern: "*", path: "secrets/prod" }), "deny");
    assert.equal(decision(p, "LS", { path: path.join(proj, "secrets/prod") }), "deny");
    assert.equal(decision(p, "LS", { path: path.join(proj, "docs") }), "allow");
  });

  it("a Read deny also blocks writes to that path; an Edit deny does not block reads", () => {
    const p = policy([["deny", "Read(.env)"]]);
    assert.equal(decision(p, "Write", { file_path: ".env" }), "deny");
    assert.equal(decision(p, "Edit", { file_path: "sub/.env" }), "deny");
    const q = policy([["ask", "Read(.env)"]]);
    assert.equal(decision(q, "Edit", { file_path: ".env" }, ctx({ mode: "acceptEdits" })), "ask", "a Read ask also asks for writes");
  });

  it("rules naming another file tool apply to that tool only, with Tool(param:value) matching", () => {
    const p = policy([["deny", "Grep"], ["deny", "LS(path:/etc*)"]]);
    assert.equal(decision(p, "Grep", { pattern: "x" }), "deny");
    assert.equal(decision(p, "Glob", { pattern: "*" }), "allow");
    assert.equal(decision(p, "LS", { path: "/etc/ssl" }), "deny");
    assert.equal(decision(p, "LS", { path: path.join(proj, "docs") }), "allow");
    assert.throws(() => policy([["deny", "LS(/tmp)"]]), PolicyError);
  });
});

describe("FilePolicy.decide: arguments", () => {
  it("a missing or non-string required path is denied with the reason", () => {
    const p = policy([]);
    const v = p.decide("Read", {}, ctx());
    assert.equal(v?.decision, "deny");
    assert.match(v?.reason ?? "", /file_path/);
    assert.equal(decision(p, "Edit", { file_path: 5 }), "deny");
    assert.equal(decision(p, "LS", {}), "deny");
    assert.equal(decision(p, "NotebookEdit", { file_path: path.join(proj, "a.ipynb") }), "deny", "NotebookEdit's path is notebook_path");
    assert.equal(p.decide("Read", null as unknown as Record<string, unknown>, ctx())?.decision, "deny");
  });

  it("a NUL, a ~user path and an over-long path are denied", () => {
    const p = policy([]);
    assert.equal(decision(p, "Read", { file_path: `${proj}\u0000/etc/passwd` }), "deny");
    assert.equal(decision(p, "Read", { file_path: "~root/.ssh/id_rsa" }), "deny");
    assert.equal(decision(p, "Read", { file_path: `${proj}/${"a/".repeat(3000)}` }), "deny");
  });

  it("Grep and Glob without a path search the working directory, and that is judged", () => {
    const p = policy([["deny", "Read(.)"]]);
    assert.equal(decision(p, "Grep", { pattern: "x" }), "deny");
    assert.equal(decision(p, "Glob", { pattern: "*.ts" }), "deny");
    assert.equal(decision(policy([]), "Glob", { pattern: "*.ts" }), "allow");
  });

  it("a Glob pattern that climbs out or is absolute is judged where it searches", () => {
    const p = policy([["deny", `Read(/${outside}/**)`]]);
    assert.equal(decision(p, "Glob", { pattern: "../../../outside/*", path: proj }), "deny");
    assert.equal(decision(p, "Glob", { pattern: `${outside}/**/*.txt` }), "deny");
    assert.equal(decision(policy([]), "Glob", { pattern: "/etc/*" }), "ask", "outside the working directory");
    assert.equal(decision(policy([]), "Glob", { pattern: "src/**/*.ts" }), "allow");
  });

  it("a Glob pattern with `..` after a wildcard could climb anywhere: denied under a Read deny, else judged from /", () => {
    assert.equal(decision(policy([["deny", "Read(//etc/**)"]]), "Glob", { pattern: "*/../../../../etc/*" }), "deny");
    assert.equal(decision(policy([]), "Glob", { pattern: "*/../../x/*" }), "ask");
    assert.equal(decision(policy([["deny", "Read(//etc/**)"]]), "Glob", { pattern: "src/*/..x/*.ts" }), "allow", "`..x` is a name, not `..`");
  });

  it("every path parameter given is judged, not only the one the tool documents", () => {
    const p = policy([["deny", "Read(//etc/**)"]]);
    assert.equal(decision(p, "Read", { file_path: path.join(proj, "src/index.ts"), path: "/etc/shadow" }), "deny");
    assert.equal(decision(p, "Grep", { pattern: "x", file_path: "/etc/shadow" }), "deny");
  });

  it("percent-escapes: a deny matching the decoded reading applies; an allow must cover both readings", () => {
    const p = policy([["deny", "Read(.env)"]]);
    assert.equal(decision(p, "Read", { file_path: "%2eenv" }), "deny");
    assert.equal(decision(p, "Read", { file_path: "sub/%2Eenv" }), "deny");
    assert.equal(decision(policy([]), "Read", { file_path: "report_50%.pdf" }), "allow", "a lone % is no escape");
    // literal reading inside, decoded reading `..` outside: not every reading is inside, so ask.
    assert.equal(decision(policy([]), "Read", { file_path: "%2e%2e/outside.txt" }), "ask");
  });

  it("Unicode: a decomposed spelling meets a composed deny, but on Linux gets no allow (it is another directory there)", () => {
    const cafe = path.join(proj, "caf\u00e9");
    const nfd = path.join(proj, "cafe\u0301", "notes.md");
    const c = ctx({ workingDirectories: [cafe] });
    assert.equal(decision(policy([]), "Read", { file_path: path.join(cafe, "notes.md") }, c), "allow");
    assert.equal(decision(policy([]), "Read", { file_path: nfd }, c), "ask");
    assert.equal(decision(policy([["allow", "Read(./caf\u00e9/**)"]]), "Read", { file_path: nfd }, c), "ask");
    assert.equal(decision(policy([], { platform: "darwin" }), "Read", { file_path: nfd }, c), "allow", "macOS file systems compare normalization-insensitively");
    assert.equal(decision(policy([["deny", "Read(./caf\u00e9/**)"]]), "Read", { file_path: nfd }, c), "deny");
    assert.equal(decision(policy([]), "Read", { file_path: path.join(proj, "cafe%CC%81", "x") }, c), "ask", "decomposed through an escape");
    assert.equal(policy([]).checkAccess({ path: nfd, kind: "literal", access: "write", via: ">" }, c)?.decision, "ask");
  });

  it("a file: URI is judged both as the file it names and as a literal relative path", () => {
    const p = policy([["deny", "Read(.env)"]]);
    assert.equal(decision(p, "Read", { file_path: `file://${proj}/.env` }), "deny");
    const q = policy([["deny", "Read(./file:/**)"]]);
    assert.equal(decision(q, "Read", { file_path: "file:///tmp/x" }), "deny");
  });

  it("decide never throws: a relative cwd or a hostile input object ends in deny", () => {
    const p = policy([["deny", "Read(./x)"]]);
    assert.equal(decision(p, "Read", { file_path: "a" }, ctx({ cwd: "relative/dir" })), "deny");
    const hostile = new Proxy({}, { get() { throw new Error("boom"); } }) as Record<string, unknown>;
    assert.equal(decision(p, "Read", hostile), "deny");
  });
});

describe("FilePolicy.decide: symlinks", () => {
  it("a deny matches the target: a link to .env is .env", () => {
    const p = policy([["deny", "Read(.env)"]]);
    const v = p.decide("Read", { file_path: "./settings.cfg" }, ctx());
    assert.equal(v?.decision, "deny");
    assert.match(v?.reason ?? "", /a link to .*\.env/);
  });

  it("a deny matches the link: the name asked for is enough", () => {
    const p = policy([["deny", "Read(./innocent.txt)"]]);
    assert.equal(decision(p, "Read", { file_path: "innocent.txt" }), "deny");
  });

  it("a link inside the project to a file outside: an allow of the project does not cover it", () => {
    const p = policy([["allow", "Read(./**)"]]);
    assert.equal(decision(p, "Read", { file_path: "src/index.ts" }), "allow");
    assert.equal(decision(p, "Read", { file_path: "innocent.txt" }), "ask");
    assert.equal(decision(policy([]), "Read", { file_path: "innocent.txt" }), "ask", "the default allows only targets inside too");
    assert.equal(decision(policy([]), "Read", { file_path: "linkdir/secret.txt" }), "ask");
  });

  it("a deny of the outside directory catches a path through a linked directory", () => {
    const p = policy([["deny", `Read(/${outside}/**)`]]);
    assert.equal(decision(p, "Read", { file_path: "linkdir/secret.txt" }), "deny");
    assert.equal(decision(p, "Write", { file_path: "linkdir/new/file.txt" }), "deny", "a file not created yet under the link");
  });

  it("`..` after a symlink climbs from the link's target, as the kernel does", () => {
    const p = policy([["deny", `Read(/${root}/secret-sibling)`]]);
    fs.writeFileSync(path.join(root, "secret-sibling"), "x");
    assert.equal(decision(p, "Read", { file_path: "linkdir/../secret-sibling" }), "deny");
  });

  it("a symlink loop, or a resolver that throws, is denied with its reason", () => {
    assert.equal(decision(policy([]), "Read", { file_path: "loop-a" }), "deny");
    const p = policy([], {
      resolveLinks: () => {
        throw new Error("EACCES: permission denied");
      },
    });
    const v = p.decide("Read", { file_path: "src/index.ts" }, ctx());
    assert.equal(v?.decision, "deny");
    assert.match(v?.reason ?? "", /EACCES/);
  });
});

describe("FilePolicy.decide: protected paths", () => {
  it("writes to .git, .claude, .vscode, .mcp.json ask with keepAsk even under Edit(./**)", () => {
    const p = policy([["allow", "Edit(./**)"]]);
    for (const f of [".git/hooks/pre-commit", ".claude/settings.json", ".vscode/tasks.json", ".mcp.json", "sub/.mcp.json"]) {
      const v = p.decide("Edit", { file_path: f }, ctx());
      assert.equal(v?.decision, "ask", f);
      assert.equal(v?.keepAsk, true, f);
    }
    assert.equal(decision(p, "Edit", { file_path: "src/index.ts" }), "allow");
  });

  it("acceptEdits and a name-only Edit allow do not open protected paths", () => {
    assert.equal(policy([]).decide("Write", { file_path: ".claude/settings.json" }, ctx({ mode: "acceptEdits" }))?.keepAsk, true);
    assert.equal(policy([["allow", "Edit"]]).decide("Write", { file_path: "~/.bashrc" }, ctx())?.keepAsk, true);
  });

  it("mcp-warden's own files (env.protectedPaths) are protected", () => {
    const v = policy([["allow", "Edit"]]).decide("Write", { file_path: path.join(audit, "audit.jsonl") }, ctx());
    assert.equal(v?.decision, "ask");
    assert.equal(v?.keepAsk, true);
  });

  it("a write through a symlink into a protected file is protected", () => {
    const v = policy([["allow", "Edit(./**)"]]).decide("Write", { file_path: "config.json" }, ctx());
    assert.equal(v?.decision, "ask");
    assert.equal(v?.keepAsk, true);
    assert.match(v?.reason ?? "", /\.bashrc/);
  });

  it("a deny still wins over protection; reads of protected paths are not protected", () => {
    assert.equal(decision(policy([["deny", "Edit(.claude/settings.json)"]]), "Edit", { file_path: ".claude/settings.json" }), "deny");
    assert.equal(decision(policy([]), "Read", { file_path: ".git/config" }), "allow");
  });
});

describe("FilePolicy.decide: Grep over a tree that may hold denied files", () => {
  it("asks (not denies) when the searched directory may hold a denied path", () => {
    const p = policy([["deny", "Read(.env)"]]);
    const v = p.decide("Grep", { pattern: "KEY", path: proj }, ctx());
    assert.equal(v?.decision, "ask");
    assert.equal(v?.rule, "Read(.env)");
    assert.match(v?.reason ?? "", /recursively/);
  });

  it("does not ask when no deny rule can reach under the directory", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    assert.equal(decision(p, "Grep", { pattern: "x", path: "src" }), "allow");
    assert.equal(decision(p, "Grep", { pattern: "x", path: "." }), "ask");
  });

  it("with an environment that can tell files from directories and list them, a Grep is judged by what it would search", () => {
    const p = compileFileRules([rule("deny", "Read(.env)")], fsEnvironment({ home, platform: "linux" }));
    assert.equal(p.decide("Grep", { pattern: "x", path: path.join(proj, "src/index.ts") }, ctx())?.decision, "allow");
    // src holds no .env (a walk shows it); the project root does.
    assert.equal(p.decide("Grep", { pattern: "x", path: path.join(proj, "src") }, ctx())?.decision, "allow");
    assert.equal(p.decide("Grep", { pattern: "x", path: proj }, ctx())?.decision, "ask");
    assert.equal(p.decide("Grep", { pattern: "x", path: path.join(proj, ".env") }, ctx())?.decision, "deny");
  });
});

describe("compileFileRules: errors", () => {
  it("a bad pattern is a PolicyError naming the rule and its source", () => {
    for (const text of ["Read(src/*/../x)", "Read(a{b)", "Edit(..)"]) {
      assert.throws(
        () => compileFileRules([rule("deny", "Read(.env)"), rule("deny", text, 1)], env()),
        (e: unknown) => e instanceof PolicyError && e.rule === text && e.source?.path === "permissions.deny[1]" && e.message.includes("/cfg/settings.json"),
        text,
      );
    }
  });

  it("ignores rules of other tools (Bash, WebFetch, MCP-free names)", () => {
    const p = compileFileRules([rule("deny", "Bash(rm:*)"), rule("deny", "WebFetch(domain:x.com)"), rule("deny", "Task")], env());
    assert.equal(p.decide("Read", { file_path: "src/index.ts" }, ctx())?.decision, "allow");
    assert.equal(p.hasDeny("read"), false);
  });
});
