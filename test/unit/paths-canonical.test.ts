// canonicalizeRequestPath: the absolute, normalized form of a path a file tool asks for. No I/O.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalizeRequestPath, compilePathRule } from "../../src/policy/paths/index.js";

const CWD = "/home/u/project";
const HOME = "/home/u";

function ok(input: string): string {
  const r = canonicalizeRequestPath(input, CWD, HOME);
  assert.ok("path" in r, `expected a path for ${JSON.stringify(input)}, got ${JSON.stringify(r)}`);
  return r.path;
}

function err(input: string, re: RegExp): void {
  const r = canonicalizeRequestPath(input, CWD, HOME);
  assert.ok("error" in r, `expected an error for ${JSON.stringify(input)}, got ${JSON.stringify(r)}`);
  assert.match(r.error, re);
}

describe("canonicalizeRequestPath: relative and absolute", () => {
  it("resolves a relative path against cwd", () => {
    assert.equal(ok("src/a.ts"), "/home/u/project/src/a.ts");
    assert.equal(ok("./src/a.ts"), "/home/u/project/src/a.ts");
    assert.equal(ok("."), "/home/u/project");
  });
  it("keeps an absolute path", () => {
    assert.equal(ok("/etc/passwd"), "/etc/passwd");
  });
  it("normalizes . and .. and repeated separators, drops a trailing /", () => {
    assert.equal(ok("/etc//ssh/./sshd_config"), "/etc/ssh/sshd_config");
    assert.equal(ok("//etc/passwd"), "/etc/passwd");
    assert.equal(ok("/a/b/../c/"), "/a/c");
    assert.equal(ok("src/"), "/home/u/project/src");
  });
  it("`..` escapes are resolved, so they cannot hide behind an allowed prefix", () => {
    assert.equal(ok("./src/../../x"), "/home/u/x");
    assert.equal(ok("src/../../../../../../etc/shadow"), "/etc/shadow");
    assert.equal(ok("/../../etc"), "/etc");
    const allow = compilePathRule("Edit", "./src/**", { cwd: CWD, home: HOME, settingsRoot: CWD }, { platform: "linux" });
    assert.equal(allow.matchesForAllow(ok("./src/../../x")), false);
    assert.equal(allow.matchesForAllow(ok("./src/./a/../b")), true);
  });
  it("keeps the kernel's view of `..` in physical (for resolveLinks), only when there is a `..`", () => {
    assert.deepEqual(canonicalizeRequestPath("./link/../x", CWD, HOME), { path: "/home/u/project/x", physical: "/home/u/project/link/../x" });
    assert.deepEqual(canonicalizeRequestPath("/a//./b/../c", CWD, HOME), { path: "/a/c", physical: "/a/b/../c" });
    assert.deepEqual(canonicalizeRequestPath("~/a/../b", CWD, HOME), { path: "/home/u/b", physical: "/home/u/a/../b" });
    assert.deepEqual(canonicalizeRequestPath("/a/./b", CWD, HOME), { path: "/a/b" });
  });
  it("keeps a backslash as a file-name character (POSIX)", () => {
    assert.equal(ok("a\\..\\b"), "/home/u/project/a\\..\\b");
  });
});

describe("canonicalizeRequestPath: ~ expansion", () => {
  it("expands ~ and ~/", () => {
    assert.equal(ok("~"), "/home/u");
    assert.equal(ok("~/.ssh/id_rsa"), "/home/u/.ssh/id_rsa");
    assert.equal(ok("~/../other/x"), "/home/other/x");
  });
  it("rejects ~user (fail closed: unknown home)", () => {
    err("~root/.ssh/id_rsa", /~user/);
  });
  it("a ~ that is not leading is literal", () => {
    assert.equal(ok("a/~/b"), "/home/u/project/a/~/b");
  });
});

describe("canonicalizeRequestPath: file:// URIs", () => {
  it("decodes a local file URI", () => {
    assert.equal(ok("file:///etc/passwd"), "/etc/passwd");
    assert.equal(ok("file://localhost/etc/passwd"), "/etc/passwd");
    assert.equal(ok("FILE:///etc/hosts"), "/etc/hosts");
    assert.equal(ok("file:///home/u/my%20file.txt"), "/home/u/my file.txt");
  });
  it("decodes %2e%2e and resolves it", () => {
    assert.equal(ok("file:///home/u/project/%2e%2e/secret"), "/home/u/secret");
    assert.equal(ok("file:///home/u/project/%2E%2E/%2e%2E/etc/passwd"), "/home/etc/passwd");
    assert.equal(ok("file:///home/u/project/src/%2e%2e%2f%2e%2e%2fx"), "/home/u/x");
  });
  it("rejects a remote host, an encoded NUL, invalid encoding", () => {
    err("file://evil.example/etc/passwd", /remote host/);
    err("file:///etc/passwd%00.txt", /NUL/);
    err("file:///etc/%ff", /percent-encoding/);
  });
});

describe("canonicalizeRequestPath: percent-escapes in plain paths", () => {
  it("keeps the literal reading and adds the decoded one", () => {
    const r = canonicalizeRequestPath("/home/u/project/%2e%2e/secret", CWD, HOME);
    assert.deepEqual(r, { path: "/home/u/project/%2e%2e/secret", decoded: "/home/u/secret", decodedPhysical: "/home/u/project/../secret" });
    const s = canonicalizeRequestPath("%2essh/id_rsa", "/home/u", HOME);
    assert.deepEqual(s, { path: "/home/u/%2essh/id_rsa", decoded: "/home/u/.ssh/id_rsa" });
  });
  it("a deny matches the decoded reading", () => {
    const deny = compilePathRule("Read", "~/.ssh/**", { cwd: CWD, home: HOME, settingsRoot: CWD }, { platform: "linux" });
    const r = canonicalizeRequestPath("~/%2essh/id_rsa", CWD, HOME);
    assert.ok("path" in r && r.decoded !== undefined);
    assert.equal(deny.matches(r.path), false);
    assert.equal(deny.matches(r.decoded), true);
  });
  it("decodes only runs of well-formed escapes", () => {
    assert.deepEqual(canonicalizeRequestPath("/a/50%off%20sale.txt", CWD, HOME), { path: "/a/50%off%20sale.txt", decoded: "/a/50%off sale.txt" });
  });
  it("no decoded field when there is nothing to decode or decoding changes nothing", () => {
    assert.deepEqual(canonicalizeRequestPath("/a/100%.txt", CWD, HOME), { path: "/a/100%.txt" });
    assert.deepEqual(canonicalizeRequestPath("/a/b", CWD, HOME), { path: "/a/b" });
  });
  it("rejects an encoded NUL and escapes that are not UTF-8", () => {
    err("/etc/passwd%00", /NUL/);
    err("/etc/%c3%28", /not valid UTF-8/);
  });
});

describe("canonicalizeRequestPath: rejections and Unicode", () => {
  it("rejects NUL, empty and over-long input", () => {
    err("/etc/passwd\0.txt", /NUL/);
    err("", /empty/);
    err("/" + "a/".repeat(2100), /longer than 4096/);
    assert.ok(ok("/" + "a/".repeat(2000)).length > 0);
  });
  it("rejects a non-absolute cwd or home", () => {
    assert.ok("error" in canonicalizeRequestPath("a", "rel", HOME));
    assert.ok("error" in canonicalizeRequestPath("a", CWD, "rel"));
  });
  it("normalizes to NFC", () => {
    assert.equal(ok("/tmp/cafe\u0301"), "/tmp/caf\u00e9");
    assert.equal(ok("file:///tmp/cafe%CC%81"), "/tmp/caf\u00e9");
  });
});
