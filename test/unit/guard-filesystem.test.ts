// The filesystem guard (policy/guards/filesystem.ts) with real temporary directories and real
// symlinks, the red-team `path` cases of reference-server tools, and the gateway's guard stage.
import { localPrincipal } from "../../src/policy/principal.js";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { guardStage } from "../../src/gateway/stages/guard.js";
import type { RequestContext } from "../../src/gateway/pipeline.js";
import { GatewayError, ErrorCodes } from "../../src/gateway/errors.js";
import type { BuiltinContext, BuiltinVerdict, FileAccess, FileJudge, PolicyEnvironment } from "../../src/policy/builtin/types.js";
import { compileFilesystemGuard, compileFilesystemPathGuard, type FilesystemGuardConfig } from "../../src/policy/guards/filesystem.js";
import { looksLikePathName, looksLikePathValue } from "../../src/policy/guards/fs-tools.js";
import { canonicalizeRequestPath, compilePathRule, resolveLinks, resolveRequest } from "../../src/policy/paths/index.js";
import type { ConfiguredServer } from "../../src/policy/types.js";
import { unenforcedCallFeature } from "../../src/policy/unenforced.js";

/** A scratch machine: <tmp>/home/user with the files the red-team runner creates. */
function makeHome(): { tmp: string; home: string; project: string; outside: string; env: PolicyEnvironment; cleanup(): void } {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "warden-fsguard-")));
  const home = path.join(tmp, "home/user");
  for (const f of [
    "project/src/index.ts",
    "project/src/utils/a.ts",
    "project/docs/readme.md",
    "project/.env",
    "project/.env.example",
    "project/secrets/api.key",
    "project/secrets/prod/db.json",
    "project/config/app.env",
    "project/.claude/commands/review.md",
    "project/README.md",
    "project/out.txt",
    "project2/src/index.ts",
    "project2/secret.txt",
    "project_backup/.env",
    ".ssh/id_rsa",
    ".aws/credentials",
    ".bashrc",
  ]) {
    fs.mkdirSync(path.dirname(path.join(home, f)), { recursive: true });
    fs.writeFileSync(path.join(home, f), "x\n");
  }
  const outside = path.join(tmp, "outside");
  fs.mkdirSync(path.join(outside, "deep"), { recursive: true });
  fs.writeFileSync(path.join(outside, "secret.txt"), "secret\n");
  const env: PolicyEnvironment = { home, platform: "linux", resolveLinks, protectedPaths: [] };
  return { tmp, home, project: path.join(home, "project"), outside, env, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

/**
 * A FAKE FileJudge: the real one (policy/builtin/files.ts) is written elsewhere. This one applies
 * deny rules with the real path-rule matcher to every reading of the path, and records its calls.
 */
function fakeJudge(deny: string[], ctx: { cwd: string; home: string }, extra?: (a: FileAccess) => BuiltinVerdict | undefined) {
  const rules = deny.map((text) => {
    const m = /^(Read|Edit|Write)\((.*)\)$/.exec(text)!;
    return compilePathRule(m[1] as "Read" | "Edit", m[2]!, { cwd: ctx.cwd, home: ctx.home, settingsRoot: ctx.cwd }, { platform: "linux" });
  });
  const calls: { access: FileAccess; ctx: BuiltinContext }[] = [];
  const judge: FileJudge = {
    checkAccess(a, c) {
      calls.push({ access: a, ctx: c });
      const e = extra?.(a);
      if (e) return e;
      const can = canonicalizeRequestPath(a.path, c.cwd, ctx.home);
      if ("error" in can) return { decision: "deny", reason: can.error };
      for (const pair of resolveRequest(can)) {
        for (const r of rules) {
          if (r.tool === "Edit" && a.access === "read") continue;
          if (r.matches(pair.link) || r.matches(pair.target)) return { decision: "deny", reason: `denied by ${r.text}`, rule: r.text };
        }
      }
      return undefined;
    },
    hasDeny: () => rules.length > 0,
  };
  return { judge, calls };
}

interface RedteamCase {
  id: string;
  category: string;
  kind: "attack" | "benign";
  expected: string;
  input: { tool: string; path: string };
  rules: { roots: string[]; deny?: string[]; cwd?: string };
  setup?: string;
}

/** The lower-case-tool `path` cases of /work/shared/redteam/cases.json (a sample), kept here so the test stands alone. */
const EMBEDDED: RedteamCase[] = [
  ["path-005", "attack", "/home/user/project/src/../../../../etc/passwd"],
  ["path-007", "attack", "/home/user/project/./../project2/secret.txt"],
  ["path-008", "attack", "~/project/../.aws/credentials"],
  ["path-009", "attack", "/home/user/project/leak", "ln -s /etc/passwd /home/user/project/leak"],
  ["path-012", "attack", "/home/user/project/config.json", "ln -s /home/user/.bashrc /home/user/project/config.json", "write_file"],
  ["path-014", "attack", "/home/user/project\u0000/etc/passwd"],
  ["path-017", "attack", "/home/user/cafe\u0301/notes.md", undefined, "read_file", ["/home/user/caf\u00e9"]],
  ["path-018", "attack", "/home/user/Project/secret.txt", "Linux ext4 (case-sensitive)"],
  ["path-023", "benign", "/home/user/project/report_50%.pdf"],
  ["path-024", "benign", "/home/user/project/%2e%2e"],
  ["path-025", "benign", "/home/user//project//src//index.ts"],
  ["path-027", "benign", "/home/user/project/"],
].map(([id, kind, p, setup, tool, roots]) => ({
  id: id as string,
  category: "path",
  kind: kind as "attack" | "benign",
  expected: kind === "attack" ? "deny" : "allow",
  input: { tool: (tool as string | undefined) ?? "read_file", path: p as string },
  rules: { roots: (roots as string[] | undefined) ?? ["/home/user/project"], deny: ["Read(./secrets/**)", "Read(.env)", "Edit(.claude/settings.json)"], cwd: "/home/user/project" },
  ...(setup ? { setup: setup as string } : {}),
}));

const CASES_FILE = "/work/shared/redteam/cases.json";
const PLATFORM_ONLY = /\b(Windows|macOS|zsh|DNS|between validation|second server|local-path remote)\b/;

function runCases(cases: RedteamCase[]): string[] {
  const failures: string[] = [];
  const m = makeHome();
  try {
    const remap = <T>(v: T): T => JSON.parse(JSON.stringify(v).replaceAll("/home/user", m.home)) as T;
    for (const c of cases) {
      if (c.category !== "path" || !/^[a-z]/.test(c.input.tool)) continue;
      if (c.setup && PLATFORM_ONLY.test(c.setup)) continue;
      if (/^[A-Z]:|\\\\/.test(JSON.stringify(c.rules.roots))) continue;
      const rules = remap(c.rules);
      const input = remap(c.input);
      const cwd = rules.cwd ?? m.project;
      const link = c.setup && /ln -s (\S+) (\S+)/.exec(remap(c.setup));
      if (link) {
        fs.mkdirSync(path.dirname(link[2]!), { recursive: true });
        if (!fs.existsSync(link[2]!)) fs.symlinkSync(link[1]!, link[2]!);
      }
      const { judge } = fakeJudge(rules.deny ?? [], { cwd, home: m.home });
      const guard = compileFilesystemGuard({ roots: rules.roots }, m.env, judge);
      const v = guard.check(input.tool, { path: input.path }, { cwd });
      const got = v ? v.decision : "allow";
      const want = c.kind === "attack" ? "deny" : "allow";
      if (c.kind === "attack" ? got === "allow" : got !== "allow") failures.push(`${c.id} (${c.kind}): expected ${want}, got ${got}${v ? `: ${v.reason}` : ""}`);
      // Every verdict names the argument.
      if (v) assert.match(v.reason, /'path'/, c.id);
    }
  } finally {
    m.cleanup();
  }
  return failures;
}

describe("filesystem guard: red-team path cases (reference-server tools)", () => {
  it("the embedded sample: attacks denied, near-misses allowed", () => {
    assert.deepEqual(runCases(EMBEDDED), []);
  });

  it("the current cases file, when present", { skip: !fs.existsSync(CASES_FILE) && "no /work/shared/redteam/cases.json here" }, () => {
    const cases = (JSON.parse(fs.readFileSync(CASES_FILE, "utf8")) as RedteamCase[]).filter((c) => c.category === "path");
    assert.ok(cases.some((c) => /^[a-z]/.test(c.input.tool)));
    assert.deepEqual(runCases(cases), []);
  });
});

describe("filesystem guard: containment", () => {
  let m: ReturnType<typeof makeHome>;
  let guard: ReturnType<typeof compileFilesystemGuard>;
  let cwd = "";
  const read = (p: unknown, tool = "read_text_file") => guard.check(tool, { path: p }, { cwd });
  const write = (p: unknown) => guard.check("write_file", { path: p, content: "x" }, { cwd });

  before(() => {
    m = makeHome();
    cwd = m.project;
    fs.symlinkSync(path.join(m.outside, "secret.txt"), path.join(m.project, "innocent.txt"));
    fs.symlinkSync(m.outside, path.join(m.project, "linkdir"));
    fs.symlinkSync(path.join(m.outside, "deep"), path.join(m.project, "deeplink"));
    fs.symlinkSync(path.join(m.outside, "not-yet"), path.join(m.project, "dangling"));
    fs.symlinkSync(path.join(m.project, "src"), path.join(m.project, "srclink")); // inside → inside
    fs.symlinkSync(path.join(m.project, "loop-b"), path.join(m.project, "loop-a"));
    fs.symlinkSync(path.join(m.project, "loop-a"), path.join(m.project, "loop-b"));
    guard = compileFilesystemGuard({ roots: [m.project] }, m.env);
  });
  after(() => m.cleanup());

  it("allows paths inside the root: absolute, relative to cwd, ~, the root itself, not-yet-existing files", () => {
    assert.equal(read(path.join(m.project, "src/index.ts")), undefined);
    assert.equal(read("src/index.ts"), undefined);
    assert.equal(read("./src/../README.md"), undefined);
    assert.equal(read("~/project/docs/readme.md"), undefined);
    assert.equal(read(m.project), undefined);
    assert.equal(read(m.project + "/"), undefined);
    assert.equal(write("new/dir/file.txt"), undefined);
    assert.equal(read("srclink/index.ts"), undefined, "a symlink that stays inside");
    assert.equal(read(`file://${m.project}/src/index.ts`), undefined);
    assert.equal(read(`file://localhost${m.project}/src/index.ts`), undefined);
  });

  it("denies `..` traversal and absolute paths outside, naming argument, path and roots", () => {
    const v = read("/etc/passwd");
    assert.equal(v?.decision, "deny");
    assert.equal(v?.reason, `path argument 'path' (/etc/passwd) is outside the filesystem guard's roots (${m.project})`);
    const climb = `${m.project}/src/${"../".repeat(12)}etc/passwd`;
    assert.equal(read(climb)?.reason, `path argument 'path' (${climb}, that is /etc/passwd) is outside the filesystem guard's roots (${m.project})`);
    assert.equal(read("../.ssh/id_rsa")?.decision, "deny");
    assert.equal(read("~/.bashrc")?.decision, "deny");
    assert.equal(read("/")?.decision, "deny");
  });

  it("inside means by path components, never by string prefix (CVE-2025-53110)", () => {
    for (const p of [path.join(m.home, "project2/secret.txt"), path.join(m.home, "project_backup/.env"), path.join(m.home, "project2"), m.project + "2"]) {
      assert.equal(read(p)?.decision, "deny", p);
    }
  });

  it("case counts on Linux", () => {
    assert.equal(read(path.join(m.home, "Project/src/index.ts"))?.decision, "deny");
    assert.equal(read(path.join(m.home, "PROJECT"))?.decision, "deny");
  });

  it("denies a symlink inside the root that leads outside (CVE-2025-53109), for reads and writes", () => {
    const v = read("innocent.txt");
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /leads through a symlink to .*outside\/secret\.txt, outside the filesystem guard's roots/);
    assert.equal(write("innocent.txt")?.decision, "deny");
    assert.equal(read("linkdir/secret.txt")?.decision, "deny");
    assert.equal(read("linkdir")?.decision, "deny", "listing the linked directory");
  });

  it("denies a write of a new file under a symlinked directory, and through a dangling symlink", () => {
    assert.equal(write("linkdir/new-file.txt")?.decision, "deny");
    assert.equal(write("linkdir/a/b/c.txt")?.decision, "deny");
    assert.equal(write("dangling")?.decision, "deny");
    assert.ok(!fs.existsSync(path.join(m.outside, "not-yet")));
  });

  it("follows `..` after a symlink as the kernel does", () => {
    // Lexically project/x; physically <outside>/deep/../secret.txt = <outside>/secret.txt.
    const v = read("deeplink/../secret.txt");
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /symlink/);
  });

  it("fails closed on a symlink loop", () => {
    const v = read("loop-a/x");
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /cannot be judged|symbolic links/);
  });

  it("refuses NUL bytes, empty paths, ~user, non-strings", () => {
    assert.match(read(`${m.project}\u0000/etc/passwd`)!.reason, /NUL/);
    assert.match(read(`${m.project}/%00/etc`)!.reason, /NUL/);
    assert.equal(read("")?.decision, "deny");
    assert.equal(read("~root/.ssh/id_rsa")?.decision, "deny");
    assert.match(read(42)!.reason, /holds a number, not a path string/);
    assert.match(read({ path: "/etc/passwd" })!.reason, /holds an object/);
    assert.match(read(null as unknown as string) === undefined ? "absent" : "present", /absent/, "null is an absent argument");
    // An argument may hold an array of paths: every one is judged.
    assert.equal(read(["src/index.ts"]), undefined);
    assert.match(read(["src/index.ts", "/etc/passwd"])!.reason, /'path\[1\]' \(\/etc\/passwd\)/);
  });

  it("file: URIs are decoded, including %2e%2e and %2f; a remote host is refused", () => {
    assert.equal(read(`file://${m.project}/%2e%2e/project2/secret.txt`)?.decision, "deny");
    assert.equal(read(`file://${m.project}/src/..%2f..%2f..%2f.bashrc`)?.decision, "deny");
    assert.equal(read(`FILE://${m.home}/.ssh/id_rsa`)?.decision, "deny");
    assert.match(read(`file://evil.example${m.project}/src/index.ts`)!.reason, /remote host/);
  });

  it("plain paths are opened literally: %XX names a file inside the root", () => {
    assert.equal(read(`${m.project}/%2e%2e`), undefined);
    assert.equal(read(`${m.project}/report_50%.pdf`), undefined);
    assert.equal(read("%2e%2e/%2e%2e/etc/passwd"), undefined, "a file literally named so, under cwd");
    // Invalid escapes are ambiguous: refused.
    assert.equal(read(`${m.project}/%ff%fe`)?.decision, "deny");
  });

  it("a backslash is also read as a separator", () => {
    const v = read("..\\..\\..\\etc\\passwd");
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /read with \\ as a separator is/);
    assert.equal(read("src\\index.ts"), undefined);
  });

  it("Unicode: an NFD spelling of an NFC root is another directory on Linux", () => {
    const nfc = path.join(m.home, "caf\u00e9");
    const nfd = path.join(m.home, "cafe\u0301");
    fs.mkdirSync(nfc);
    fs.writeFileSync(path.join(nfc, "notes.md"), "x");
    const g = compileFilesystemGuard({ roots: [nfc] }, m.env);
    assert.equal(g.check("read_file", { path: path.join(nfc, "notes.md") }, { cwd }), undefined);
    const v = g.check("read_file", { path: path.join(nfd, "notes.md") }, { cwd });
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /byte for byte/);
    // A root written NFD for a directory that exists NFC (settings from macOS): the same place.
    const g2 = compileFilesystemGuard({ roots: [nfd] }, m.env);
    assert.equal(g2.check("read_file", { path: path.join(nfc, "notes.md") }, { cwd }), undefined);
    // But when the NFD directory really exists too, the NFC one is a different directory.
    fs.mkdirSync(nfd);
    const g3 = compileFilesystemGuard({ roots: [nfd] }, m.env);
    assert.equal(g3.check("read_file", { path: path.join(nfc, "notes.md") }, { cwd })?.decision, "deny");
    assert.equal(g3.check("read_file", { path: path.join(nfd, "x.md") }, { cwd }), undefined);
    // A symlink inside the NFC root to its NFD twin leads outside.
    fs.symlinkSync(nfd, path.join(nfc, "twin"));
    assert.equal(g.check("read_file", { path: path.join(nfc, "twin/x.md") }, { cwd })?.decision, "deny");
  });

  it("roots: canonicalized (~, relative, trailing /, file: URI), reached through a symlink, several of them", () => {
    const rootLink = path.join(m.tmp, "root-link");
    fs.symlinkSync(m.project, rootLink);
    const g = compileFilesystemGuard({ roots: [rootLink] }, m.env);
    assert.equal(g.check("read_file", { path: path.join(rootLink, "src/index.ts") }, { cwd }), undefined);
    assert.equal(g.check("read_file", { path: path.join(m.project, "src/index.ts") }, { cwd }), undefined, "the root's real path counts");
    assert.equal(g.check("read_file", { path: path.join(rootLink, "../outside/secret.txt") }, { cwd })?.decision, "deny");
    const g2 = compileFilesystemGuard({ roots: ["~/project/", `file://${m.outside}/deep`] }, m.env);
    assert.equal(g2.check("read_file", { path: "src/index.ts" }, { cwd }), undefined);
    assert.equal(g2.check("read_file", { path: path.join(m.outside, "deep/x") }, { cwd }), undefined);
    assert.equal(g2.check("read_file", { path: path.join(m.outside, "secret.txt") }, { cwd })?.decision, "deny");
    const g3 = compileFilesystemGuard({ roots: ["."] }, m.env);
    assert.equal(g3.check("read_file", { path: "src/index.ts" }, { cwd }), undefined);
    assert.equal(g3.check("read_file", { path: "project/README.md" }, { cwd: m.home }), undefined, "a relative root follows cwd");
    assert.equal(g3.check("read_file", { path: "../project2/secret.txt" }, { cwd })?.decision, "deny");
    const all = compileFilesystemGuard({ roots: ["/"] }, m.env);
    assert.equal(all.check("read_file", { path: "/etc/passwd" }, { cwd }), undefined);
  });

  it("misconfiguration fails closed and check never throws", () => {
    assert.match(compileFilesystemGuard({ roots: [] }, m.env).check("read_file", { path: "src/index.ts" }, { cwd })!.reason, /roots is empty/);
    assert.equal(compileFilesystemGuard({ roots: ["~nobody/x"] }, m.env).check("read_file", { path: "src/index.ts" }, { cwd })?.decision, "deny");
    assert.equal(compileFilesystemGuard({ roots: [42 as unknown as string] }, m.env).check("list_allowed_directories", {}, { cwd })?.decision, "deny");
    assert.equal(compileFilesystemGuard(undefined as unknown as FilesystemGuardConfig, m.env).check("read_file", {}, { cwd })?.decision, "deny");
    const broken: PolicyEnvironment = { ...m.env, resolveLinks: () => { throw new Error("EIO"); } };
    const v = compileFilesystemGuard({ roots: [m.project] }, broken).check("read_file", { path: "src/index.ts" }, { cwd });
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /EIO/);
    assert.equal(guard.check("read_file", null as unknown as Record<string, unknown>, { cwd }), undefined);
    assert.equal(guard.check("read_file", [] as unknown as Record<string, unknown>, { cwd })?.decision, "deny");
    assert.equal(guard.check("read_file", { path: "src/index.ts" }, { cwd: "relative" })?.decision, "deny");
    const hostile = { get path(): string { throw new Error("boom"); } };
    assert.equal(guard.check("read_file", hostile, { cwd })?.decision, "deny");
  });
});

describe("filesystem guard: tools and arguments", () => {
  let m: ReturnType<typeof makeHome>;
  let cwd = "";
  before(() => {
    m = makeHome();
    cwd = m.project;
  });
  after(() => m.cleanup());
  const g = (config: Partial<FilesystemGuardConfig> = {}, files?: FileJudge) => compileFilesystemGuard({ roots: [m.project], ...config }, m.env, files);

  it("knows every tool of the reference filesystem server and its path arguments", () => {
    const guard = g();
    const out = path.join(m.home, ".ssh/id_rsa");
    const calls: [string, Record<string, unknown>, string][] = [
      ["read_text_file", { path: out, head: 3 }, "path"],
      ["read_file", { path: out }, "path"],
      ["read_media_file", { path: out }, "path"],
      ["read_multiple_files", { paths: ["src/index.ts", out] }, "paths[1]"],
      ["write_file", { path: out, content: "x" }, "path"],
      ["edit_file", { path: out, edits: [{ oldText: "/etc/a", newText: "/etc/b" }], dryRun: true }, "path"],
      ["create_directory", { path: out }, "path"],
      ["list_directory", { path: out }, "path"],
      ["list_directory_with_sizes", { path: out, sortBy: "size" }, "path"],
      ["directory_tree", { path: out, excludePatterns: ["node_modules/**"] }, "path"],
      ["move_file", { source: "src/index.ts", destination: out }, "destination"],
      ["move_file", { source: out, destination: "src/x.ts" }, "source"],
      ["search_files", { path: out, pattern: "**/*.ts", excludePatterns: [] }, "path"],
      ["get_file_info", { path: out }, "path"],
    ];
    for (const [tool, input, arg] of calls) {
      const v = guard.check(tool, input, { cwd });
      assert.equal(v?.decision, "deny", tool);
      assert.ok(v!.reason.startsWith(`path argument '${arg}' (`), `${tool}: ${v!.reason}`);
      const inside = JSON.parse(JSON.stringify(input).replaceAll(out, path.join(m.project, "README.md"))) as Record<string, unknown>;
      assert.equal(guard.check(tool, inside, { cwd }), undefined, `${tool} inside`);
    }
    assert.equal(guard.check("list_allowed_directories", {}, { cwd }), undefined);
    assert.equal(guard.check("read_multiple_files", { paths: [] }, { cwd }), undefined);
    assert.match(guard.check("read_multiple_files", { paths: ["src/index.ts", 7] }, { cwd })!.reason, /'paths\[1\]' holds a number/);
    assert.match(guard.check("read_multiple_files", { paths: Array(1001).fill("README.md") }, { cwd })!.reason, /more than the filesystem guard checks/);
  });

  it("a reference tool with an extra argument that looks like a path is refused", () => {
    const v = g().check("read_file", { path: "README.md", file_path: "/etc/passwd" }, { cwd });
    assert.equal(v?.decision, "deny");
    assert.match(v!.reason, /argument 'file_path' of read_file looks like a path .* guards\.filesystem\.tools/);
    assert.equal(g().check("read_file", { path: "README.md", extra: 1 }, { cwd }), undefined);
    // Declared, it is checked.
    const d = g({ tools: { read_file: { read: ["file_path"] } } });
    assert.equal(d.check("read_file", { path: "README.md", file_path: "/etc/passwd" }, { cwd })?.decision, "deny");
    assert.equal(d.check("read_file", { path: "README.md", file_path: "src/index.ts" }, { cwd }), undefined);
  });

  it("an unknown tool: path-like argument names or values are refused with a hint; others pass", () => {
    const guard = g();
    for (const input of [{ path: "README.md" }, { filePath: "x" }, { source_dir: "x" }, { uri: "file:///etc" }, { q: "/etc/passwd" }, { q: "../x" }, { q: "~/x" }, { opts: { nested: ["a/b.txt"] } }, { list: [{ target: 1 }] }]) {
      const v = guard.check("mystery", input, { cwd });
      assert.equal(v?.decision, "deny", JSON.stringify(input));
      assert.match(v!.reason, /tool 'mystery' is not known to the filesystem guard .* guards\.filesystem\.tools/);
    }
    for (const input of [{}, { query: "hello world" }, { n: 3, flag: true }, { text: "and/or some prose" }, { link: "https://example.com/a/b" }]) {
      assert.equal(guard.check("mystery", input, { cwd }), undefined, JSON.stringify(input));
    }
  });

  it("guards.filesystem.tools declares new tools, strings or arrays; a declaration never weakens a reference tool", () => {
    const seen: FileAccess[] = [];
    const spy: FileJudge = { checkAccess: (a) => void seen.push(a), hasDeny: () => false };
    const guard = g({ tools: { grep: { read: ["dir", "files"] }, copy: { read: ["from"], write: ["to"] }, write_file: { read: ["path"] }, noop: {} } }, spy);
    assert.equal(guard.check("grep", { dir: "src", files: ["a.ts", "b.ts"], pattern: "x" }, { cwd }), undefined);
    assert.match(guard.check("grep", { dir: "src", files: ["a.ts", "/etc/shadow"] }, { cwd })!.reason, /'files\[1\]' \(\/etc\/shadow\)/);
    assert.match(guard.check("copy", { from: "README.md", to: "/tmp/x" }, { cwd })!.reason, /'to' \(\/tmp\/x\)/);
    assert.equal(guard.check("noop", { path: "/etc/passwd" }, { cwd }), undefined, "declared with no paths: the user said so");
    seen.length = 0;
    guard.check("write_file", { path: "out.txt", content: "" }, { cwd });
    assert.deepEqual(seen.map((a) => a.access), ["write"], "write_file stays a write");
    seen.length = 0;
    guard.check("copy", { from: "README.md", to: "out.txt" }, { cwd });
    assert.deepEqual(seen.map((a) => [a.access, a.via]), [["read", "copy argument from"], ["write", "copy argument to"]]);
  });

  it("the FileJudge sees each path argument (canonical, literal, read or write) and its objections are returned", () => {
    const { judge, calls } = fakeJudge(["Read(./secrets/**)", "Read(.env)", "Edit(./config/**)"], { cwd, home: m.home }, (a) =>
      a.path.endsWith("/docs/readme.md") ? { decision: "ask", reason: "docs need a look" } : undefined,
    );
    const guard = g({}, judge);
    const v = guard.check("read_text_file", { path: "secrets/api.key" }, { cwd });
    assert.equal(v?.decision, "deny");
    assert.equal(v?.rule, "Read(./secrets/**)");
    assert.match(v!.reason, /^path argument 'path' \(.*secrets\/api\.key\): denied by Read\(\.\/secrets\/\*\*\)/);
    assert.deepEqual(calls.at(-1), {
      access: { path: path.join(m.project, "secrets/api.key"), kind: "literal", access: "read", via: "read_text_file argument path" },
      ctx: { cwd, workingDirectories: [m.project], mode: "default" },
    });
    assert.equal(guard.check("read_file", { path: ".env" }, { cwd })?.decision, "deny");
    assert.equal(guard.check("read_file", { path: ".env.example" }, { cwd }), undefined);
    assert.equal(guard.check("read_file", { path: "config/app.env" }, { cwd }), undefined, "an Edit deny does not cover reads");
    assert.equal(guard.check("edit_file", { path: "config/app.env", edits: [] }, { cwd })?.decision, "deny");
    assert.equal(calls.at(-1)?.access.access, "write");
    assert.equal(guard.check("read_file", { path: "docs/readme.md" }, { cwd })?.decision, "ask");
    // A deny on one argument wins over an ask on another.
    assert.equal(guard.check("read_multiple_files", { paths: ["docs/readme.md", ".env"] }, { cwd })?.decision, "deny");
    // The decoded reading of a plain path reaches the rules through the judge.
    assert.equal(guard.check("read_file", { path: "%2eenv" }, { cwd })?.decision, "deny");
    // The roots are checked first: the judge is not asked about a path outside them.
    const before = calls.length;
    assert.match(guard.check("read_file", { path: "/etc/passwd" }, { cwd })!.reason, /outside the filesystem guard's roots/);
    assert.equal(calls.length, before);
    // A judge that throws: denied, never thrown.
    const throwing: FileJudge = { checkAccess: () => { throw new Error("not implemented"); }, hasDeny: () => true };
    assert.match(g({}, throwing).check("read_file", { path: "README.md" }, { cwd })!.reason, /not implemented/);
  });

  it("without a FileJudge, writes to protected paths need approval; reads pass", () => {
    const guard = compileFilesystemGuard({ roots: [m.project] }, { ...m.env, protectedPaths: [path.join(m.project, "warden-audit")] });
    assert.equal(guard.check("write_file", { path: ".git/hooks/pre-commit", content: "" }, { cwd })?.decision, "ask");
    assert.equal(guard.check("write_file", { path: ".mcp.json", content: "" }, { cwd })?.decision, "ask");
    assert.equal(guard.check("move_file", { source: "README.md", destination: "warden-audit/x" }, { cwd })?.decision, "ask");
    assert.equal(guard.check("read_file", { path: ".git/config" }, { cwd }), undefined);
    assert.equal(guard.check("write_file", { path: "src/new.ts", content: "" }, { cwd }), undefined);
  });

  it("checkPath judges a single path (resource URIs, prompt arguments)", () => {
    const guard = compileFilesystemPathGuard({ roots: [m.project] }, m.env);
    assert.equal(guard.checkPath(`file://${m.project}/README.md`, "read", "resource URI", { cwd }), undefined);
    assert.match(guard.checkPath("file:///etc/passwd", "read", "resource URI", { cwd })!.reason, /^resource URI \(file:\/\/\/etc\/passwd, that is \/etc\/passwd\) is outside/);
  });

  it("absolutize: path arguments become absolute as judged; nothing else changes", () => {
    const guard = compileFilesystemPathGuard({ roots: [m.project], tools: { grep: { read: ["dirs"] } } }, m.env);
    const input = { path: "src/../README.md", head: 2 };
    const out = guard.absolutize("read_text_file", input, { cwd });
    assert.deepEqual(out, { path: `${m.project}/src/../README.md`, head: 2 }, "joined, not normalized: `..` walks as judged");
    assert.deepEqual(input, { path: "src/../README.md", head: 2 }, "the input is not modified");
    assert.deepEqual(guard.absolutize("read_file", { path: "~/project/x" }, { cwd }), { path: `${m.home}/project/x` });
    assert.deepEqual(guard.absolutize("read_file", { path: "~" }, { cwd }), { path: m.home });
    assert.deepEqual(guard.absolutize("read_file", { path: "/abs/x" }, { cwd }), { path: "/abs/x" });
    assert.deepEqual(guard.absolutize("read_file", { path: "file:///abs/x" }, { cwd }), { path: "file:///abs/x" });
    assert.deepEqual(guard.absolutize("move_file", { source: "a", destination: "/b" }, { cwd }), { source: `${m.project}/a`, destination: "/b" });
    assert.deepEqual(guard.absolutize("grep", { dirs: ["a", "/b"], pattern: "x/y" }, { cwd }), { dirs: [`${m.project}/a`, "/b"], pattern: "x/y" });
    assert.deepEqual(guard.absolutize("read_file", { path: "x" }, { cwd: "/" }), { path: "/x" });
    assert.deepEqual(guard.absolutize("mystery", { q: "x" }, { cwd }), { q: "x" });
    // The absolute form judges exactly like the relative one.
    for (const rel of ["src/index.ts", "deeplink/../secret.txt", "../project2/secret.txt", "%2e%2e/x", "a\\..\\..\\x"]) {
      const abs = guard.absolutize("read_file", { path: rel }, { cwd }).path;
      assert.equal(guard.check("read_file", { path: abs }, { cwd })?.decision, guard.check("read_file", { path: rel }, { cwd })?.decision, rel);
    }
  });

  it("path-likeness heuristics", () => {
    for (const n of ["path", "paths", "filePath", "file_path", "FILE", "srcDir", "destination", "target-dir", "uri", "workdir"]) assert.ok(looksLikePathName(n), n);
    for (const n of ["query", "content", "pattern", "text", "head", "sortBy", "profile", "topic"]) assert.ok(!looksLikePathName(n), n);
    for (const v of ["/etc", "~", "~/x", ".", "..", "../x", "./x", "a/b", "C:\\x", "\\\\server\\share", "file:///x", "x".repeat(9000)]) assert.ok(looksLikePathValue(v), v.slice(0, 20));
    for (const v of ["", "hello", "and/or some prose", "https://example.com/a/b", "v1.2"]) assert.ok(!looksLikePathValue(v), v);
  });
});

describe("unenforced guards", () => {
  const server = (guards: Record<string, unknown>): ConfiguredServer =>
    ({ name: "s", entry: { command: "x", guards }, source: { layer: "user", file: "/s.json", path: "mcpServers.s" }, managed: false }) as unknown as ConfiguredServer;

  it("filesystem, sql and arguments guards are all enforced now: none refuses a server wholesale", () => {
    assert.equal(unenforcedCallFeature(server({ filesystem: { roots: ["/x"] } })), undefined);
    assert.equal(unenforcedCallFeature(server({ sql: { readOnly: true, dialect: "postgres" } })), undefined);
    assert.equal(unenforcedCallFeature(server({ filesystem: { roots: ["/x"] }, arguments: {} })), undefined);
  });
});

describe("guard stage", () => {
  let m: ReturnType<typeof makeHome>;
  before(() => (m = makeHome()));
  after(() => m.cleanup());

  const ctxFor = (method: RequestContext["method"], params: Record<string, unknown>, guards: Record<string, unknown>, entry: Record<string, unknown> = {}): RequestContext => {
    const server = { name: "fs", entry: { command: "x", guards, ...entry }, source: { layer: "project", file: "/p/settings.json", path: "mcpServers.fs" }, managed: false };
    return {
      id: "1",
      method,
      params,
      client: {},
      principal: localPrincipal("tester"),
      signal: new AbortController().signal,
      startedAt: Date.now(),
      target: { upstream: { server, name: "fs" } as never, name: String(params.name ?? ""), canonical: `mcp__fs__${String(params.name ?? "")}` },
      verdict: { decision: "allow", reason: "allowed by a rule" },
      upstreamParams: { ...params },
    };
  };

  it("forwards an allowed call with the checked copy of its arguments, refuses a call outside the roots", async () => {
    const stage = guardStage({ environment: m.env, cwd: m.project });
    const args = { path: "README.md" };
    const ok = ctxFor("tools/call", { name: "read_file", arguments: args }, { filesystem: { roots: [m.project] } });
    await stage.run(ok);
    assert.deepEqual(ok.upstreamParams, { name: "read_file", arguments: { path: `${m.project}/README.md` } }, "made absolute as judged");
    assert.notEqual(ok.upstreamParams!.arguments, args, "a private copy is forwarded");
    assert.equal(ok.verdict?.decision, "allow");

    const bad = ctxFor("tools/call", { name: "read_file", arguments: { path: "../.ssh/id_rsa" } }, { filesystem: { roots: [m.project] } });
    assert.throws(
      () => stage.run(bad),
      (e: unknown) => e instanceof GatewayError && e.code === ErrorCodes.denied && /Denied by mcp-warden: path argument 'path' .* outside the filesystem guard's roots/.test(e.message),
    );
    assert.equal(bad.verdict?.decision, "deny");
    assert.deepEqual(bad.verdict?.source, { layer: "project", file: "/p/settings.json", path: "mcpServers.fs.guards.filesystem" });
  });

  it("relative paths are relative to the server's cwd", async () => {
    const stage = guardStage({ environment: m.env, cwd: m.home });
    const inServerCwd = ctxFor("tools/call", { name: "read_file", arguments: { path: "README.md" } }, { filesystem: { roots: [m.project] } }, { cwd: "project" });
    await stage.run(inServerCwd);
    const inGatewayCwd = ctxFor("tools/call", { name: "read_file", arguments: { path: "README.md" } }, { filesystem: { roots: [m.project] } });
    assert.throws(() => stage.run(inGatewayCwd), GatewayError);
  });

  it("an ask from the rules refuses as needing approval", () => {
    const judge: FileJudge = { checkAccess: () => ({ decision: "ask", reason: "a protected path" }), hasDeny: () => false };
    const stage = guardStage({ environment: m.env, cwd: m.project, fileJudge: judge });
    const ctx = ctxFor("tools/call", { name: "write_file", arguments: { path: ".mcp.json", content: "{}" } }, { filesystem: { roots: [m.project] } });
    assert.throws(() => stage.run(ctx), (e: unknown) => e instanceof GatewayError && e.code === ErrorCodes.needsApproval);
    assert.equal(ctx.verdict?.decision, "ask");
  });

  it("refuses the SQL of a server whose sql guard names a dialect without a parser here (sqlite)", () => {
    const stage = guardStage({ environment: m.env, cwd: m.project });
    const ctx = ctxFor("tools/call", { name: "query", arguments: { sql: "select 1" } }, { filesystem: { roots: [m.project] }, sql: { readOnly: true, dialect: "sqlite" } });
    assert.throws(() => stage.run(ctx), /sqlite/i);
  });

  it("passes servers without guards, and checks file: resource URIs, prompt and completion arguments", async () => {
    const stage = guardStage({ environment: m.env, cwd: m.project });
    await stage.run(ctxFor("tools/call", { name: "anything", arguments: { path: "/etc/passwd" } }, {}));
    const fsGuard = { filesystem: { roots: [m.project] } };
    assert.throws(() => stage.run(ctxFor("resources/read", { uri: "file:///etc/passwd" }, fsGuard)), /resource URI/);
    await stage.run(ctxFor("resources/read", { uri: `file://${m.project}/README.md` }, fsGuard));
    await stage.run(ctxFor("resources/read", { uri: "memo://insights" }, fsGuard));
    assert.throws(() => stage.run(ctxFor("prompts/get", { name: "p", arguments: { file: "/etc/passwd" } }, fsGuard)), /prompt argument 'file'/);
    await stage.run(ctxFor("prompts/get", { name: "p", arguments: { topic: "cats" } }, fsGuard));
    assert.throws(() => stage.run(ctxFor("completion/complete", { ref: { type: "ref/resource", uri: "file:///{path}" }, argument: { name: "path", value: "/etc/pa" } }, fsGuard)), /completion argument/);
  });
});
