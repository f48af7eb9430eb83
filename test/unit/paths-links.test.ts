// resolveLinks with real temporary directories and real symlinks, and the symlink rule helpers over
// resolved pairs.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { allowMatches, canonicalizeRequestPath, compilePathRule, denyMatches, resolveContext, resolveLinks, resolveRequest } from "../../src/policy/paths/index.js";
import type { PathRuleContext } from "../../src/policy/paths/index.js";

describe("resolveLinks", () => {
  let root = ""; // realpath of a fresh temp dir
  let project = "";
  let outside = "";

  before(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "warden-paths-")));
    project = path.join(root, "project");
    outside = path.join(root, "outside");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    fs.mkdirSync(path.join(outside, "deep"), { recursive: true });
    fs.writeFileSync(path.join(project, "src", "a.ts"), "");
    fs.writeFileSync(path.join(outside, "secret.txt"), "");
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(project, "innocent.txt"));
    fs.symlinkSync(outside, path.join(project, "linkdir"));
    fs.symlinkSync("../outside/deep", path.join(project, "rel-link")); // relative link
    fs.symlinkSync(path.join(outside, "not-yet"), path.join(project, "dangling"));
    fs.symlinkSync(path.join(root, "nowhere", "dir"), path.join(project, "dangling-dir"));
    fs.symlinkSync(path.join(project, "loop-b"), path.join(project, "loop-a"));
    fs.symlinkSync(path.join(project, "loop-a"), path.join(project, "loop-b"));
    fs.symlinkSync(path.join(project, "linkdir"), path.join(project, "chain")); // link to a link
  });

  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("a plain existing file: target === link", () => {
    const p = path.join(project, "src", "a.ts");
    assert.deepEqual(resolveLinks(p), { link: p, target: p });
  });

  it("a file that does not exist yet, no symlink: target === link", () => {
    const p = path.join(project, "src", "new", "b.ts");
    assert.deepEqual(resolveLinks(p), { link: p, target: p });
  });

  it("a link inside the project pointing outside", () => {
    const p = path.join(project, "innocent.txt");
    assert.deepEqual(resolveLinks(p), { link: p, target: path.join(outside, "secret.txt") });
  });

  it("a file under a symlinked directory, existing or not yet", () => {
    assert.equal(resolveLinks(path.join(project, "linkdir", "secret.txt")).target, path.join(outside, "secret.txt"));
    assert.equal(resolveLinks(path.join(project, "linkdir", "new", "file.txt")).target, path.join(outside, "new", "file.txt"));
    assert.equal(resolveLinks(path.join(project, "chain", "x")).target, path.join(outside, "x"));
  });

  it("a relative symlink resolves against the link's directory", () => {
    assert.equal(resolveLinks(path.join(project, "rel-link", "f")).target, path.join(outside, "deep", "f"));
  });

  it("a dangling symlink leads to where it points (a write would create that file)", () => {
    assert.equal(resolveLinks(path.join(project, "dangling")).target, path.join(outside, "not-yet"));
    assert.equal(resolveLinks(path.join(project, "dangling-dir", "f.txt")).target, path.join(root, "nowhere", "dir", "f.txt"));
  });

  it("a path under a regular file (ENOTDIR) is kept as is", () => {
    const p = path.join(project, "src", "a.ts", "x");
    assert.deepEqual(resolveLinks(p), { link: p, target: p });
  });

  it("a symlink loop throws", () => {
    assert.throws(() => resolveLinks(path.join(project, "loop-a", "x")), /symbolic links/);
    assert.throws(() => resolveLinks(path.join(project, "loop-a")), /symbolic links/);
  });

  it("`..` after a symlink climbs from the symlink's target, as the kernel does", () => {
    fs.writeFileSync(path.join(root, "sibling.txt"), "");
    const c = canonicalizeRequestPath("linkdir/../sibling.txt", project, root);
    assert.ok("path" in c);
    assert.equal(c.path, path.join(project, "sibling.txt")); // lexical
    const [view, ...more] = resolveRequest(c);
    assert.equal(more.length, 0);
    assert.deepEqual(view, { link: path.join(project, "sibling.txt"), target: path.join(root, "sibling.txt") });
    const allow = compilePathRule("Read", "./**", { cwd: project, home: root, settingsRoot: project }, { platform: "linux" });
    assert.ok(view !== undefined);
    assert.equal(allowMatches(allow, view), false);
    // Without a symlink the kernel's view is the lexical one.
    const plain = canonicalizeRequestPath("src/../src/a.ts", project, root);
    assert.ok("path" in plain);
    assert.deepEqual(resolveRequest(plain), [{ link: path.join(project, "src", "a.ts"), target: path.join(project, "src", "a.ts") }]);
  });

  it("resolveRequest resolves the decoded reading too", () => {
    const c = canonicalizeRequestPath("%6cinkdir/secret.txt", project, root); // %6c = l
    assert.ok("path" in c);
    const views = resolveRequest(c);
    assert.equal(views.length, 2);
    assert.deepEqual(views[0], { link: path.join(project, "%6cinkdir", "secret.txt"), target: path.join(project, "%6cinkdir", "secret.txt") });
    assert.deepEqual(views[1], { link: path.join(project, "linkdir", "secret.txt"), target: path.join(outside, "secret.txt") });
    const deny = compilePathRule("Read", "secret.txt", { cwd: project, home: root, settingsRoot: project }, { platform: "linux" });
    const denyOut = compilePathRule("Read", `/${outside}/**`, { cwd: project, home: root, settingsRoot: project }, { platform: "linux" });
    assert.equal(views.some((v) => denyMatches(deny, v)), true);
    assert.equal(views.some((v) => denyMatches(denyOut, v)), true);
    assert.equal(denyMatches(denyOut, views[0] as { link: string; target: string }), false);
  });

  it("rejects a relative path", () => {
    assert.throws(() => resolveLinks("project/x"), TypeError);
  });

  describe("with rules", () => {
    const ctx = (): PathRuleContext => ({ cwd: project, home: root, settingsRoot: project });

    it("allow needs both: an allow of the project does not cover a link leading outside", () => {
      const allow = compilePathRule("Edit", "./**", ctx(), { platform: "linux" });
      assert.equal(allowMatches(allow, resolveLinks(path.join(project, "innocent.txt"))), false);
      assert.equal(allowMatches(allow, resolveLinks(path.join(project, "linkdir", "new.txt"))), false);
      assert.equal(allowMatches(allow, resolveLinks(path.join(project, "dangling"))), false);
      assert.equal(allowMatches(allow, resolveLinks(path.join(project, "src", "a.ts"))), true);
      assert.equal(allowMatches(allow, resolveLinks(path.join(project, "src", "new.ts"))), true);
    });

    it("deny matches either: a deny of the outside target applies through the project link", () => {
      const deny = compilePathRule("Read", `/${outside}/**`, ctx(), { platform: "linux" }); // `//abs`
      assert.equal(denyMatches(deny, resolveLinks(path.join(project, "innocent.txt"))), true);
      assert.equal(denyMatches(deny, resolveLinks(path.join(project, "linkdir", "new", "f"))), true);
      assert.equal(denyMatches(deny, resolveLinks(path.join(project, "src", "a.ts"))), false);
      const bare = compilePathRule("Read", "secret.txt", ctx(), { platform: "linux" });
      assert.equal(denyMatches(bare, resolveLinks(path.join(project, "innocent.txt"))), true);
    });
  });

  describe("resolveContext: a symlinked working directory", () => {
    it("rules anchored at cwd match targets under its real location", () => {
      const alias = path.join(root, "alias");
      fs.symlinkSync(project, alias);
      const given: PathRuleContext = { cwd: alias, home: root, settingsRoot: alias };
      const resolved = resolveContext(given);
      assert.equal(resolved.realCwd, project);
      assert.equal(resolved.realSettingsRoot, project);
      const file = resolveLinks(path.join(alias, "src", "a.ts"));
      assert.equal(file.target, path.join(project, "src", "a.ts"));
      // Without resolved anchors the target is outside cwd's spelling: the allow does not apply (a prompt).
      assert.equal(allowMatches(compilePathRule("Edit", "./src/**", given, { platform: "linux" }), file), false);
      assert.equal(allowMatches(compilePathRule("Edit", "./src/**", resolved, { platform: "linux" }), file), true);
      // It still does not cover a link out of the project.
      assert.equal(allowMatches(compilePathRule("Edit", "./**", resolved, { platform: "linux" }), resolveLinks(path.join(alias, "innocent.txt"))), false);
    });
  });
});
