// Path rules for Read/Edit/Write: anchors, gitignore-style globs, the two readings (fail-closed for
// deny/ask, narrow for allow), case per platform, and symlink pairs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allowMatches, compilePathRule, denyMatches, ruleCovers } from "../../src/policy/paths/index.js";
import type { CompiledPathRule, PathRuleContext } from "../../src/policy/paths/index.js";

const CTX: PathRuleContext = { cwd: "/home/u/project", home: "/home/u", settingsRoot: "/home/u/project" };
const LINUX = { platform: "linux" } as const;
const MAC = { platform: "darwin" } as const;
const WIN = { platform: "win32" } as const;

function rule(spec: string, tool: "Read" | "Edit" | "Write" = "Read", ctx: PathRuleContext = CTX, opts: { platform: NodeJS.Platform } = LINUX): CompiledPathRule {
  return compilePathRule(tool, spec, ctx, opts);
}

/** Both readings agree (the usual case for anchored rules on Linux). */
function both(r: CompiledPathRule, p: string, expected: boolean): void {
  assert.equal(r.matches(p), expected, `${r.text} matches ${p}`);
  assert.equal(r.matchesForAllow(p), expected, `${r.text} matchesForAllow ${p}`);
}

describe("compilePathRule: tool and text", () => {
  it("Write rules are Edit rules", () => {
    const r = rule("./src/**", "Write");
    assert.equal(r.tool, "Edit");
    assert.equal(r.text, "Edit(./src/**)");
    assert.equal(rule("./x").tool, "Read");
  });

  it("reports the anchor", () => {
    assert.equal(rule("//etc/**").anchor, "absolute");
    assert.equal(rule("~/.ssh/**").anchor, "home");
    assert.equal(rule("/docs/**").anchor, "settings");
    assert.equal(rule("./secrets/**").anchor, "cwd");
    assert.equal(rule("src/*.ts").anchor, "cwd");
    assert.equal(rule(".env").anchor, "anywhere");
    assert.equal(rule("secrets/").anchor, "anywhere");
  });
});

describe("compilePathRule: invalid patterns throw", () => {
  for (const bad of ["", "a\0b", "[abc", "a]", "{a,b", "a}", "{a}}", "a{{b}", "\\[x]", "./[x/y", "./a[/]b", "./*/../x", "..", "./a/**/../b"]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => rule(bad), (e: unknown) => e instanceof Error && /invalid path rule/.test(e.message));
    });
  }

  it("rejects a context that is not absolute", () => {
    assert.throws(() => compilePathRule("Read", "./x", { ...CTX, cwd: "rel" }), /cwd is not an absolute path/);
    assert.throws(() => compilePathRule("Read", "./x", { ...CTX, realHome: "rel" }), /realHome is not an absolute path/);
  });

  it("normalizes the context's directories", () => {
    const r = compilePathRule("Read", "./src/**", { ...CTX, cwd: "/home/u/./project/../project//" }, LINUX);
    both(r, "/home/u/project/src/a", true);
  });

  it("accepts balanced brackets, braces and parentheses", () => {
    const r = rule("./{src,lib}/[a-c]*.ts");
    both(r, "/home/u/project/src/a1.ts", true);
    both(r, "/home/u/project/lib/c.ts", true);
    both(r, "/home/u/project/lib/d.ts", false);
    both(r, "/home/u/project/test/a.ts", false);
  });

  it("parentheses, |, +, @, $, ^ are literal characters (no regex groups, no extglobs)", () => {
    both(rule("./foo (copy).txt"), "/home/u/project/foo (copy).txt", true);
    both(rule("./foo (copy).txt"), "/home/u/project/foo copy.txt", false);
    both(rule("report (1)*"), "/home/u/project/docs/report (1) final.pdf", true);
    both(rule("./a(b"), "/home/u/project/a(b", true);
    both(rule("./x)"), "/home/u/project/x)", true);
    both(rule("a|b"), "/home/u/project/a|b", true);
    both(rule("a|b"), "/home/u/project/a", false);
    both(rule("+(a)"), "/home/u/project/+(a)", true);
    both(rule("+(a)"), "/home/u/project/a", false);
    both(rule("@(x|y).txt"), "/home/u/project/x.txt", false);
    both(rule("$HOME^"), "/home/u/project/$HOME^", true);
    both(rule("./(a|b)/../c"), "/home/u/project/c", true); // a literal segment, so `..` may pop it
  });

  it("[!…] and [^…] negate; ] right after [ is a member; \\ escapes", () => {
    const r = rule("[!a]b");
    both(r, "/home/u/project/cb", true);
    both(r, "/home/u/project/ab", false);
    const c = rule("[^a]b");
    both(c, "/home/u/project/cb", true);
    both(c, "/home/u/project/ab", false);
    both(rule("x[]a]"), "/home/u/project/x]", true);
    both(rule("x[]a]"), "/home/u/project/xa", true);
    both(rule("a\\*"), "/home/u/project/a*", true);
    both(rule("a\\*"), "/home/u/project/ab", false);
    both(rule("\\[x\\]"), "/home/u/project/[x]", true);
    both(rule("\\{a,b\\}"), "/home/u/project/{a,b}", true);
  });

  it("a leading ! is literal, not a negation", () => {
    const r = rule("!important");
    assert.equal(r.matches("/home/u/project/!important"), true);
    assert.equal(r.matches("/home/u/project/other"), false);
  });
});

describe("anchor //path: absolute", () => {
  const r = rule("//etc/**", "Edit");
  it("matches under /etc", () => {
    both(r, "/etc/passwd", true);
    both(r, "/etc/ssh/sshd_config", true);
  });
  it("does not match elsewhere or by string prefix", () => {
    both(r, "/etcetera/x", false);
    both(r, "/home/u/project/etc/x", false);
    both(r, "/var/etc/x", false);
  });
  it("a literal absolute file", () => {
    const f = rule("//etc/hosts");
    both(f, "/etc/hosts", true);
    both(f, "/etc/hosts2", false);
    both(f, "/etc/host", false);
  });
  it("// alone covers the whole file system", () => {
    both(rule("//"), "/anything/at/all", true);
  });
});

describe("anchor ~/path: under home", () => {
  const r = rule("~/.ssh/**");
  it("matches under ~/.ssh", () => {
    both(r, "/home/u/.ssh/id_ed25519", true);
    both(r, "/home/u/.ssh/keys/a", true);
  });
  it("not another user's, not a look-alike, not cwd's", () => {
    both(r, "/home/other/.ssh/id_ed25519", false);
    both(r, "/home/u/.sshx/id", false);
    both(r, "/home/u/project/.ssh/id", false);
  });
  it("~ alone is the home directory and everything under it", () => {
    const h = rule("~");
    both(h, "/home/u", true);
    both(h, "/home/u/a/b", true);
    both(h, "/home/u2/a", false);
    both(h, "/home", false);
  });
});

describe("anchor /path: under the settings root", () => {
  const ctx: PathRuleContext = { cwd: "/home/u/project/sub", home: "/home/u", settingsRoot: "/home/u/project" };
  const r = rule("/docs/**", "Edit", ctx);
  it("is relative to settingsRoot, not cwd and not /", () => {
    both(r, "/home/u/project/docs/a.md", true);
    both(r, "/home/u/project/sub/docs/a.md", false);
    both(r, "/docs/a.md", false);
  });
  it("for a user settings file the root is the home", () => {
    const user = rule("/notes/*.md", "Edit", { ...ctx, settingsRoot: "/home/u" });
    both(user, "/home/u/notes/a.md", true);
    both(user, "/home/u/project/notes/a.md", false);
  });
});

describe("anchor ./path and path/with/slash: under cwd", () => {
  const r = rule("./secrets/**");
  it("matches under cwd/secrets", () => {
    both(r, "/home/u/project/secrets/a", true);
    both(r, "/home/u/project/secrets/deep/b.key", true);
    both(r, "/home/u/project/secrets/.hidden", true);
  });
  it("not a nested secrets dir, not outside cwd", () => {
    both(r, "/home/u/project/sub/secrets/a", false);
    both(r, "/home/u/secrets/a", false);
  });
  it("a pattern with an inner slash is anchored at cwd too", () => {
    const s = rule("src/*.ts");
    both(s, "/home/u/project/src/a.ts", true);
    assert.equal(s.matchesForAllow("/home/u/project/src/a.ts/b"), false);
    both(s, "/home/u/project/lib/src/a.ts", false);
  });
  it("./name is anchored (only cwd/name), unlike a bare name", () => {
    const e = rule("./.env");
    both(e, "/home/u/project/.env", true);
    both(e, "/home/u/project/sub/.env", false);
  });
  it(". alone is cwd and everything under it", () => {
    const d = rule(".", "Edit");
    both(d, "/home/u/project/a/b", true);
    both(d, "/home/u/project2/a", false);
  });
  it("`..` in a pattern resolves against its literal prefix", () => {
    const sib = rule("../shared/**");
    both(sib, "/home/u/shared/x", true);
    both(sib, "/home/u/project/shared/x", false);
    const back = rule("./src/../lib/*.js");
    both(back, "/home/u/project/lib/a.js", true);
    both(back, "/home/u/project/src/lib/a.js", false);
    const up = rule("./src/../../x");
    both(up, "/home/u/x", true);
    both(up, "/home/u/project/x", false);
  });
  it("repeated and ./ segments in patterns are ignored", () => {
    both(rule(".//src//./a.ts"), "/home/u/project/src/a.ts", true);
  });
});

describe("prefix confusion: components, never string prefixes", () => {
  for (const spec of ["./**", "//home/u/project/**", "."]) {
    it(`${spec} covers project but not project2 or project_backup`, () => {
      const r = rule(spec, "Edit");
      both(r, "/home/u/project/a", true);
      both(r, "/home/u/project2/a", false);
      both(r, "/home/u/project_backup/a", false);
      both(r, "/home/u/projec/a", false);
    });
  }
  it("a home anchor does not cover /home/u2", () => {
    both(rule("~/**"), "/home/u2/x", false);
  });
});

describe("* vs **", () => {
  it("* does not cross /", () => {
    const r = rule("./src/*");
    both(r, "/home/u/project/src/a.ts", true);
    // Deny reading: the directory src/a matches, so everything under it does too (gitignore).
    // Allow reading: `*` is one level.
    assert.equal(r.matches("/home/u/project/src/a/b.ts"), true);
    assert.equal(r.matchesForAllow("/home/u/project/src/a/b.ts"), false);
    const ts = rule("./src/*.ts");
    both(ts, "/home/u/project/src/a.ts", true);
    both(ts, "/home/u/project/src/deep/a.ts", false);
  });
  it("** crosses directories", () => {
    const r = rule("./src/**/*.ts");
    both(r, "/home/u/project/src/a.ts", true);
    both(r, "/home/u/project/src/deep/er/a.ts", true);
    both(r, "/home/u/project/src/deep/a.js", false);
  });
  it("dir/** matches everything under dir", () => {
    const r = rule("./build/**");
    both(r, "/home/u/project/build/x/y/z", true);
    both(r, "/home/u/project/builds/x", false);
  });
  it("? matches one character, not /", () => {
    const r = rule("./a?c");
    both(r, "/home/u/project/abc", true);
    both(r, "/home/u/project/a/c", false);
  });
});

describe("bare names: any depth", () => {
  const env = rule(".env");
  it("match at any depth under cwd (both readings)", () => {
    both(env, "/home/u/project/.env", true);
    both(env, "/home/u/project/sub/deep/.env", true);
  });
  it("deny reading also matches outside cwd; allow reading does not", () => {
    assert.equal(env.matches("/etc/app/.env"), true);
    assert.equal(env.matches("/home/u/.env"), true);
    assert.equal(env.matchesForAllow("/etc/app/.env"), false);
    assert.equal(env.matchesForAllow("/home/u/project2/.env"), false);
  });
  it("exact name only: no partial component match", () => {
    both(env, "/home/u/project/.env.local", false);
    both(env, "/home/u/project/x.env", false);
    both(env, "/home/u/project/env", false);
  });
  it("a glob bare name: *.pem", () => {
    const pem = rule("*.pem");
    both(pem, "/home/u/project/a.pem", true);
    both(pem, "/home/u/project/certs/deep/server.pem", true);
    both(pem, "/home/u/project/a.pem.bak", false);
    assert.equal(pem.matches("/etc/ssl/private/k.pem"), true);
    assert.equal(pem.matchesForAllow("/etc/ssl/private/k.pem"), false);
  });
  it("a name that matches a directory covers its contents for deny; for allow only with a trailing /", () => {
    const n = rule("node_modules");
    assert.equal(n.matches("/home/u/project/node_modules/x/index.js"), true);
    assert.equal(n.matches("/home/u/project/a/node_modules/b"), true);
    assert.equal(n.matchesForAllow("/home/u/project/node_modules/x/index.js"), false);
    assert.equal(n.matchesForAllow("/home/u/project/a/node_modules"), true);
    const d = rule("node_modules/", "Edit");
    both(d, "/home/u/project/a/node_modules/b/c.js", true);
  });
  it("an allow of a bare glob matches basenames, not directories on the way", () => {
    const md = rule("*.md", "Edit");
    assert.equal(md.matchesForAllow("/home/u/project/docs/a.md"), true);
    assert.equal(md.matchesForAllow("/home/u/project/x.md/evil.sh"), false);
    assert.equal(md.matches("/home/u/project/x.md/evil.sh"), true);
  });
});

describe("trailing slash", () => {
  it("secrets/ is a bare name: the directory and everything under it, at any depth", () => {
    const r = rule("secrets/");
    both(r, "/home/u/project/secrets/a", true);
    both(r, "/home/u/project/x/secrets/a/b", true);
    both(r, "/home/u/project/secrets", true);
    both(r, "/home/u/project/secretsx/a", false);
    assert.equal(r.matches("/srv/secrets/a"), true);
  });
  it("./dir/ is anchored: the directory and everything under it", () => {
    const r = rule("./out/");
    both(r, "/home/u/project/out/a/b", true);
    both(r, "/home/u/project/x/out/a", false);
  });
});

describe("dot files", () => {
  it("* and ** match dot files", () => {
    both(rule("./*"), "/home/u/project/.env", true);
    both(rule("~/**"), "/home/u/.ssh/id_rsa", true);
    both(rule("./config/*"), "/home/u/project/config/.secret", true);
  });
  it(".ssh is matched by a bare name", () => {
    assert.equal(rule(".ssh").matches("/home/u/.ssh/id_rsa"), true);
  });
});

describe("case per platform", () => {
  it("Linux: case-sensitive in both readings", () => {
    const r = rule(".env", "Read", CTX, LINUX);
    both(r, "/home/u/project/.ENV", false);
    const a = rule("~/.ssh/**", "Read", CTX, LINUX);
    both(a, "/HOME/U/.SSH/id", false);
  });
  for (const opts of [MAC, WIN]) {
    it(`${opts.platform}: deny reading ignores case (glob and anchor), allow reading does not`, () => {
      const r = rule(".env", "Read", CTX, opts);
      assert.equal(r.matches("/home/u/project/.ENV"), true);
      assert.equal(r.matchesForAllow("/home/u/project/.ENV"), false);
      const a = rule("~/.ssh/**", "Read", CTX, opts);
      assert.equal(a.matches("/HOME/U/.SSH/id"), true);
      assert.equal(a.matchesForAllow("/HOME/U/.SSH/id"), false);
      const d = rule("./Docs/*.MD", "Edit", CTX, opts);
      assert.equal(d.matches("/home/u/project/docs/a.md"), true);
      assert.equal(d.matchesForAllow("/home/u/project/Docs/a.MD"), true);
      assert.equal(d.matchesForAllow("/home/u/project/docs/a.md"), false);
    });
  }
  it("defaults to process.platform", () => {
    const r = compilePathRule("Read", ".env", CTX);
    const insensitive = process.platform === "darwin" || process.platform === "win32";
    assert.equal(r.matches("/home/u/project/.ENV"), insensitive);
  });
});

describe("Unicode", () => {
  it("NFC and NFD spellings of a pattern and a path are the same", () => {
    const nfd = "cafe\u0301";
    const nfc = "caf\u00e9";
    both(rule(`./${nfd}/**`), `/home/u/project/${nfc}/x`, true);
    both(rule(`./${nfc}/**`), `/home/u/project/${nfd}/x`, true);
  });
});

describe("matches requires an absolute path", () => {
  it("throws on a relative path (a caller bug: canonicalize first)", () => {
    assert.throws(() => rule(".env").matches("sub/.env"), TypeError);
  });
});

describe("resolved anchors (realCwd etc.)", () => {
  const ctx: PathRuleContext = { ...CTX, cwd: "/var/proj", realCwd: "/private/var/proj", settingsRoot: "/var/proj", realSettingsRoot: "/private/var/proj" };
  it("an anchored rule matches under either spelling of its anchor", () => {
    const r = rule("./src/**", "Edit", ctx);
    both(r, "/var/proj/src/a", true);
    both(r, "/private/var/proj/src/a", true);
    both(r, "/private/var/other/src/a", false);
    const s = rule("/docs/**", "Edit", ctx);
    both(s, "/private/var/proj/docs/a", true);
  });
  it("a bare name's allow reading accepts either spelling of cwd", () => {
    const r = rule("*.md", "Edit", ctx);
    assert.equal(r.matchesForAllow("/private/var/proj/a/b.md"), true);
    assert.equal(r.matchesForAllow("/private/var/elsewhere/b.md"), false);
  });
});

describe("symlink pairs: deny matches either, allow needs both", () => {
  const inside = "/home/u/project/link-to-etc/passwd";
  const outside = "/etc/passwd";
  const pair = { link: inside, target: outside };
  it("an allow under cwd does not cover a link that leads outside", () => {
    const allow = rule("./**", "Edit");
    assert.equal(allow.matchesForAllow(inside), true);
    assert.equal(allowMatches(allow, pair), false);
  });
  it("an allow covering both link and target applies", () => {
    const allow = rule("//**", "Edit");
    assert.equal(allowMatches(allow, pair), true);
    assert.equal(allowMatches(rule("./**"), { link: "/home/u/project/a", target: "/home/u/project/a" }), true);
  });
  it("a deny on the target applies through the link", () => {
    assert.equal(denyMatches(rule("//etc/**"), pair), true);
  });
  it("a deny on the link applies even though the target is elsewhere", () => {
    assert.equal(denyMatches(rule("./link-to-etc/**"), pair), true);
  });
  it("a deny matching neither does not apply", () => {
    assert.equal(denyMatches(rule("~/.ssh/**"), pair), false);
  });
  it("a bare-name deny on the target outside cwd applies", () => {
    assert.equal(denyMatches(rule(".env"), { link: "/home/u/project/config", target: "/srv/app/.env" }), true);
  });
});

describe("ruleCovers", () => {
  const read = rule("./x");
  const edit = rule("./x", "Edit");
  it("Edit rules cover writes only", () => {
    assert.equal(ruleCovers(edit, "write", "allow"), true);
    assert.equal(ruleCovers(edit, "write", "deny"), true);
    assert.equal(ruleCovers(edit, "read", "allow"), false);
    assert.equal(ruleCovers(edit, "read", "deny"), false);
  });
  it("Read rules cover reads; a Read deny or ask also covers writes; a Read allow does not", () => {
    assert.equal(ruleCovers(read, "read", "allow"), true);
    assert.equal(ruleCovers(read, "write", "deny"), true);
    assert.equal(ruleCovers(read, "write", "ask"), true);
    assert.equal(ruleCovers(read, "write", "allow"), false);
  });
});

describe("cost", () => {
  it("a backtracking-prone pattern on a long path stays cheap (one regex test per reading, not per ancestor)", () => {
    const path = "/home/u/project/" + Array.from({ length: 190 }, () => "a".repeat(20)).join("/");
    const r = rule("./**/*a*a*a*a*b");
    const t = performance.now();
    assert.equal(r.matches(path), false);
    assert.equal(r.matchesForAllow(path), false);
    assert.ok(performance.now() - t < 1000, "took too long");
  });
});
