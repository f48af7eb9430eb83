// FileJudge.checkAccess and hasDeny: the objections the file rules raise against a file that a shell
// command (or an MCP tool's path argument) reads or writes: literal paths, globs not expanded yet,
// paths unknown before run time, and recursive reads of whole trees.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { compileFileRules } from "../../src/policy/builtin/files.js";
import type { FilePolicy } from "../../src/policy/builtin/files.js";
import type { BuiltinContext, BuiltinRule, Effect, FileAccess, PolicyEnvironment } from "../../src/policy/builtin/types.js";
import { resolveLinks } from "../../src/policy/paths/index.js";
import { parseRule } from "../../src/policy/rules.js";

let root = "";
let home = "";
let proj = "";
let outside = "";
let audit = "";

function rule(effect: Effect, text: string, i: number): BuiltinRule {
  const p = parseRule(text);
  if (p.kind !== "builtin") throw new Error(`not a built-in rule: ${text}`);
  const r: BuiltinRule = { effect, tool: p.tool, text, source: { layer: "user", file: "/u/settings.json", path: `permissions.${effect}[${i}]` } };
  if (p.specifier !== undefined) r.specifier = p.specifier;
  return r;
}

function policy(rules: [Effect, string][], over: Partial<PolicyEnvironment> = {}): FilePolicy {
  return compileFileRules(
    rules.map(([e, t], i) => rule(e, t, i)),
    { home, platform: "linux", resolveLinks, protectedPaths: [audit], ...over },
  );
}

function ctx(over: Partial<BuiltinContext> = {}): BuiltinContext {
  return { cwd: proj, workingDirectories: [proj], mode: "default", ...over };
}

const read = (p: string, more: Partial<FileAccess> = {}): FileAccess => ({ path: p, kind: "literal", access: "read", via: "cat", ...more });
const write = (p: string, more: Partial<FileAccess> = {}): FileAccess => ({ path: p, kind: "literal", access: "write", via: "> redirect", ...more });
const glob = (p: string, access: "read" | "write" = "read", more: Partial<FileAccess> = {}): FileAccess => ({ path: p, kind: "glob", access, via: access === "read" ? "cat" : "rm", ...more });
const unknown = (p: string, access: "read" | "write"): FileAccess => ({ path: p, kind: "unknown", access, via: "cat" });

function check(p: FilePolicy, a: FileAccess, c: BuiltinContext = ctx()): string | undefined {
  return p.checkAccess(a, c)?.decision;
}

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "warden-access-")));
  home = path.join(root, "home", "u");
  proj = path.join(home, "project");
  outside = path.join(root, "outside");
  audit = path.join(root, "state");
  for (const f of ["project/src/a.ts", "project/.env", "project/secrets/k", ".ssh/id_rsa"]) {
    fs.mkdirSync(path.dirname(path.join(home, f)), { recursive: true });
    fs.writeFileSync(path.join(home, f), "");
  }
  fs.mkdirSync(path.join(outside, "deep"), { recursive: true });
  fs.writeFileSync(path.join(outside, "secret.txt"), "");
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(proj, "innocent.txt"));
  fs.symlinkSync(outside, path.join(proj, "linkdir"));
  fs.symlinkSync(path.join(proj, "secrets"), path.join(proj, "public"));
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("checkAccess: literal paths", () => {
  it("raises only objections: a deny rule denies, an ask rule asks, nothing else says anything", () => {
    const p = policy([["deny", "Read(.env)"], ["ask", "Read(./docs/**)"]]);
    const v = p.checkAccess(read(".env"), ctx());
    assert.equal(v?.decision, "deny");
    assert.equal(v?.rule, "Read(.env)");
    assert.equal(v?.source?.path, "permissions.deny[0]");
    assert.match(v?.reason ?? "", /^cat reads \.env.*Read\(\.env\)/);
    assert.equal(check(p, read("docs/x.md")), "ask");
    assert.equal(check(p, read("src/a.ts")), undefined);
    assert.equal(check(p, read("/etc/hosts")), undefined, "a read outside the working directories is no objection (the command's own rule decides)");
  });

  it("a Read deny covers writes; an Edit deny covers only writes", () => {
    assert.equal(check(policy([["deny", "Read(.env)"]]), write(".env")), "deny");
    const e = policy([["deny", "Edit(./src/**)"]]);
    assert.equal(check(e, write("src/a.ts")), "deny");
    assert.equal(check(e, read("src/a.ts")), undefined);
  });

  it("a write outside the working directories asks unless an Edit allow covers it", () => {
    assert.equal(check(policy([]), write("/tmp/out.txt")), "ask");
    assert.equal(check(policy([]), write("../elsewhere.txt")), "ask");
    assert.equal(check(policy([]), write("src/new.ts")), undefined);
    assert.equal(check(policy([["allow", "Edit(//tmp/**)"]]), write("/tmp/out.txt")), undefined);
    assert.equal(check(policy([["allow", "Read(//tmp/**)"]]), write("/tmp/out.txt")), "ask", "a Read allow grants no writes");
  });

  it("writes to /dev/null, /dev/stdout, /dev/stderr and /dev/fd/N are no objection", () => {
    const p = policy([]);
    for (const f of ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/2", "/dev/fd/17"]) assert.equal(check(p, write(f)), undefined, f);
    assert.equal(check(p, write("/dev/sda")), "ask");
    assert.equal(check(p, write("/dev/fd/x")), "ask");
  });

  it("a write to a protected path asks with keepAsk; a deny still wins", () => {
    const p = policy([["allow", "Edit"]]);
    for (const f of [".git/config", ".claude/settings.local.json", "~/.zshrc", path.join(audit, "audit.log")]) {
      const v = p.checkAccess(write(f), ctx());
      assert.equal(v?.decision, "ask", f);
      assert.equal(v?.keepAsk, true, f);
    }
    assert.equal(check(policy([["deny", "Edit(./.git/**)"]]), write(".git/config")), "deny");
    assert.equal(check(p, read(".git/config")), undefined);
  });

  it("symlinks: a deny applies to the link or its target; a write through a link out of the project asks", () => {
    const p = policy([["deny", `Read(/${outside}/**)`]]);
    assert.equal(check(p, read("innocent.txt")), "deny");
    assert.equal(check(p, read("linkdir/deep/x")), "deny");
    assert.equal(check(policy([]), write("linkdir/new.txt")), "ask", "the target is outside the working directories");
    assert.equal(check(policy([["deny", "Read(./secrets/**)"]]), read("public/k")), "deny", "public → secrets");
  });

  it("fails closed: an unparseable path, a NUL, a throwing resolver", () => {
    assert.equal(check(policy([]), read("a\u0000b")), "deny");
    assert.equal(check(policy([]), read("~nobody/x")), "deny");
    const boom = policy([], {
      resolveLinks: () => {
        throw new Error("EIO");
      },
    });
    assert.equal(check(boom, read("src/a.ts")), "deny");
    assert.equal(check(policy([]), { path: 42, kind: "literal", access: "read", via: "cat" } as unknown as FileAccess), "deny");
    assert.equal(check(policy([]), { path: "x", kind: "weird", access: "read", via: "cat" } as unknown as FileAccess), "deny");
  });
});

describe("checkAccess: recursive access of a tree", () => {
  it("a recursive read of a directory that may hold a denied path asks, naming the rule", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    const v = p.checkAccess(read(".", { recursive: true, via: "grep -r" }), ctx());
    assert.equal(v?.decision, "ask");
    assert.equal(v?.rule, "Read(./secrets/**)");
    assert.match(v?.reason ?? "", /recursively/);
    assert.equal(check(p, read("src", { recursive: true })), undefined, "src cannot hold ./secrets");
    assert.equal(check(p, read("secrets", { recursive: true })), "deny", "the tree itself is denied");
    assert.equal(check(p, read(".")), undefined, "not recursive: reading the directory entry is no read of its files");
  });

  it("a bare-name deny may be anywhere, so any recursive read asks", () => {
    const p = policy([["deny", "Read(.env)"]]);
    assert.equal(check(p, read("src", { recursive: true })), "ask");
    assert.equal(check(p, read("/opt/app", { recursive: true })), "ask");
    assert.equal(check(policy([["deny", "Edit(.env)"]]), read("src", { recursive: true })), undefined, "an Edit deny does not govern reads");
  });

  it("a recursive read through a symlinked directory is judged at the target too", () => {
    const p = policy([["deny", `Read(/${outside}/deep/**)`]]);
    assert.equal(check(p, read("linkdir", { recursive: true })), "ask");
  });

  it("a recursive write of a tree holding the project or home asks with keepAsk", () => {
    const p = policy([["allow", "Edit"]]);
    const v = p.checkAccess(write(home, { recursive: true, via: "rm -r" }), ctx());
    assert.equal(v?.decision, "ask");
    assert.equal(v?.keepAsk, true);
    assert.equal(p.checkAccess(write("src", { recursive: true }), ctx()), undefined);
  });
});

describe("checkAccess: globs", () => {
  it("bash's * does not match a leading dot: `*` cannot reach .env, `.*` can", () => {
    const p = policy([["deny", "Read(.env)"]]);
    assert.equal(check(p, glob("*")), undefined);
    assert.equal(check(p, glob("src/*.ts")), undefined);
    assert.equal(check(p, glob("*.env")), undefined);
    assert.equal(check(p, glob(".*")), "deny");
    assert.equal(check(p, glob(".e*")), "deny");
    assert.equal(check(p, glob("config/.en?")), "deny");
    assert.equal(check(p, glob("*/.env")), "deny");
    assert.equal(check(p, glob(".[a-f]nv")), "deny");
    assert.equal(check(p, glob(".[!e]nv")), undefined);
  });

  it("an anchored deny: globs under its directory are denied, globs elsewhere are not", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    assert.equal(check(p, glob("secrets/*")), "deny");
    assert.equal(check(p, glob("sec*/k")), "deny");
    assert.equal(check(p, glob("*/k")), "deny");
    assert.equal(check(p, glob("s?crets/*.json")), "deny");
    assert.equal(check(p, glob("src/*")), undefined);
    assert.equal(check(p, glob("docs/*.md")), undefined);
    assert.equal(check(p, glob("/tmp/*")), undefined);
  });

  it("globs meet home and absolute rules, with ~ expanded", () => {
    assert.equal(check(policy([["deny", "Read(~/.ssh/**)"]]), glob("~/.ssh/*")), "deny");
    assert.equal(check(policy([["deny", "Read(~/.ssh/**)"]]), glob("~/.s*/id_*")), "deny");
    assert.equal(check(policy([["deny", "Read(~/.ssh/**)"]]), glob("~/*/id_rsa")), undefined, "* does not match .ssh");
    assert.equal(check(policy([["deny", "Read(//etc/passwd)"]]), glob("/e?c/pass*")), "deny");
    assert.equal(check(policy([["deny", "Read(//etc/passwd)"]]), glob("/etc/*.conf")), undefined);
  });

  it("two globs that agree on their literal ends are taken to overlap", () => {
    const p = policy([["deny", "Read(./logs/*.secret)"]]);
    assert.equal(check(p, glob("logs/a*")), "deny");
    assert.equal(check(p, glob("logs/*.txt")), undefined);
    assert.equal(check(p, glob("logs/x*.secret")), "deny");
  });

  it("brace alternatives are expanded on both sides", () => {
    assert.equal(check(policy([["deny", "Read(./{secrets,keys}/**)"]]), glob("keys/*")), "deny");
    assert.equal(check(policy([["deny", "Read(./secrets/**)"]]), glob("{src,secrets}/*")), "deny");
    assert.equal(check(policy([["deny", "Read(./secrets/**)"]]), glob("{src,docs}/*")), undefined);
  });

  it("the glob's literal directory is also judged where its symlinks lead", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    assert.equal(check(p, glob("public/*")), "deny");
  });

  it("a glob that cannot be read conservatively is judged as an unknown path", () => {
    const p = policy([["deny", "Read(./secrets/**)"]]);
    assert.equal(check(p, glob("src/*/../../secrets/k")), "deny");
    assert.equal(check(policy([]), glob("src/*/../x")), undefined, "no deny rule: nothing to object to for a read");
  });

  it("a recursive read of a glob that may contain a denied path asks", () => {
    const p = policy([["deny", "Read(./secrets/prod/**)"]]);
    assert.equal(check(p, glob("se*", "read", { recursive: true })), "ask");
    assert.equal(check(p, glob("se*", "read")), undefined, "not recursive: `se*` names secrets, not secrets/prod/...");
  });

  it("glob writes: protected targets ask with keepAsk, outside asks, inside is no objection", () => {
    const p = policy([]);
    const g = p.checkAccess(glob(".git/hooks/*", "write"), ctx());
    assert.equal(g?.decision, "ask");
    assert.equal(g?.keepAsk, true);
    assert.equal(p.checkAccess(glob(".*/config", "write"), ctx())?.keepAsk, true, ".* may be .git");
    assert.equal(p.checkAccess(glob("~/.bash*", "write"), ctx())?.keepAsk, true);
    assert.equal(check(p, glob("build/*.o", "write")), undefined);
    assert.equal(check(p, glob("/tmp/*.log", "write")), "ask");
    assert.equal(check(policy([["allow", "Edit(//tmp/**)"]]), glob("/tmp/*.log", "write")), undefined);
    assert.equal(check(policy([["allow", "Edit(//tmp/*.txt)"]]), glob("/tmp/*.log", "write")), "ask", "only a whole-tree allow is trusted for a glob");
  });

  it("case: on macOS a glob meets a deny whatever the case", () => {
    assert.equal(check(policy([["deny", "Read(./Secrets/**)"]], { platform: "darwin" }), glob("SECRETS/*")), "deny");
    assert.equal(check(policy([["deny", "Read(./Secrets/**)"]]), glob("SECRETS/*")), undefined);
  });
});

describe("checkAccess: paths unknown before run time", () => {
  it("denied when any deny rule governs that access, else asked when an ask rule does", () => {
    assert.equal(check(policy([["deny", "Read(.env)"]]), unknown("$FILE", "read")), "deny");
    assert.equal(check(policy([["deny", "Read(.env)"]]), unknown("$FILE", "write")), "deny", "a Read deny governs writes");
    assert.equal(check(policy([["deny", "Edit(.env)"]]), unknown("$FILE", "read")), undefined);
    assert.equal(check(policy([["ask", "Read(./docs/**)"]]), unknown("$(ls)", "read")), "ask");
  });

  it("with no rule: an unknown write asks, an unknown read is no objection", () => {
    assert.equal(check(policy([]), unknown("$OUT", "write")), "ask");
    assert.equal(check(policy([]), unknown("{}", "read")), undefined);
  });
});

describe("hasDeny", () => {
  it("says whether a deny rule governs reads or writes", () => {
    const r = policy([["deny", "Read(.env)"]]);
    assert.equal(r.hasDeny("read"), true);
    assert.equal(r.hasDeny("write"), true);
    const e = policy([["deny", "Write(./dist/**)"], ["ask", "Read(x)"]]);
    assert.equal(e.hasDeny("read"), false);
    assert.equal(e.hasDeny("write"), true);
    assert.equal(policy([["allow", "Read"], ["deny", "Grep"]]).hasDeny("read"), false, "a tool-only rule is not a path deny");
  });
});
