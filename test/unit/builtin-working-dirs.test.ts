// Working directories of built-in tools (src/policy/builtin/working-dirs.ts) on a real file system:
// the project root plus additionalDirectories, by real path; never the call's cwd by itself, never
// `/`, home or an ancestor of home; a cwd outside them makes the whole call outside; `cd` into a
// place that resolves outside them asks.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compilePolicy, type PolicyInput, type Source } from "../../src/policy/index.js";
import { fsEnvironment } from "../../src/policy/paths/index.js";
import { holdsHome, workingContext } from "../../src/policy/builtin/working-dirs.js";

let root: string;
let home: string;
let project: string;
let ssh: string;
const source: Source = { layer: "user", file: "/nonexistent/settings.json", path: "permissions" };

before(() => {
  // realpath: tmpdir() may itself be a symlink (macOS /var); the tests compare real paths.
  root = realpathSync(mkdtempSync(join(tmpdir(), "warden-wd-")));
  home = join(root, "home");
  project = join(home, "project");
  ssh = join(home, ".ssh");
  for (const d of [join(project, "src", "deep"), ssh, join(root, "extra"), join(root, "elsewhere")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(project, "src", "a.ts"), "");
  writeFileSync(join(ssh, "id_rsa"), "KEY");
  writeFileSync(join(root, "extra", "notes.md"), "");
  symlinkSync(ssh, join(project, "sshlink"));
  // The project reached through a symlink elsewhere (a session started in a linked checkout).
  symlinkSync(project, join(root, "elsewhere", "project-link"));
});
after(() => rmSync(root, { recursive: true, force: true }));

function policy(o: { allow?: string[]; deny?: string[]; mode?: PolicyInput["defaultMode"]; additionalDirectories?: string[] } = {}) {
  const list = (xs: string[] = []) => xs.map((value) => ({ value, source }));
  return compilePolicy(
    {
      allow: list(o.allow),
      ask: [],
      deny: list(o.deny),
      autoApprove: [],
      defaultMode: o.mode ?? "default",
      bypassDisabled: false,
      servers: [],
      deniedMcpServers: [],
      exclusiveManagedServers: false,
      additionalDirectories: list(o.additionalDirectories),
    },
    fsEnvironment({ home, platform: "linux" }),
  );
}

/** null: no project root. */
function decide(tool: string, input: Record<string, unknown>, cwd: string, projectRoot: string | null = project, o: Parameters<typeof policy>[0] = {}) {
  const req: { tool: string; input: Record<string, unknown>; cwd: string; projectRoot?: string } = { tool, input, cwd };
  if (projectRoot !== null) req.projectRoot = projectRoot;
  return policy(o).decideTool(req);
}
const read = (file: string, cwd: string, projectRoot: string | null = project, o?: Parameters<typeof policy>[0]) => decide("Read", { file_path: file }, cwd, projectRoot, o);

describe("holdsHome: the sandbox's rule for a writable cwd", () => {
  it("is true for /, home and its ancestors, false for anything under home or beside it", () => {
    assert.equal(holdsHome("/", "/home/u"), true);
    assert.equal(holdsHome("/home", "/home/u"), true);
    assert.equal(holdsHome("/home/u", "/home/u"), true);
    assert.equal(holdsHome("/home/u/p", "/home/u"), false);
    assert.equal(holdsHome("/home/us", "/home/u"), false);
    assert.equal(holdsHome("/srv", "/home/u"), false);
  });
});

describe("the project root is a working directory; the cwd by itself is not", () => {
  it("allows a read inside the project from the project and from a real subdirectory of it", () => {
    assert.equal(read(join(project, "src", "a.ts"), project).decision, "allow");
    assert.equal(read("a.ts", join(project, "src")).decision, "allow");
    assert.equal(read("../src/a.ts", join(project, "src", "deep")).decision, "allow");
  });
  it("asks for a read in the cwd when there is no project root", () => {
    const v = decide("Read", { file_path: join(project, "src", "a.ts") }, project, null);
    assert.equal(v.decision, "ask");
    assert.match(v.reason, /no project root was found/);
  });
  it("refuses /, the home directory and an ancestor of home as a project root, also through a symlink", () => {
    for (const r of ["/", home, dirname(home)]) {
      const v = read(join(project, "src", "a.ts"), project, r);
      assert.equal(v.decision, "ask", r);
      assert.match(v.reason, /never a working directory/, r);
    }
    const homeLink = join(root, "elsewhere", "home-link");
    symlinkSync(home, homeLink);
    assert.equal(read(join(project, "src", "a.ts"), project, homeLink).decision, "ask");
  });
  it("with additionalDirectories only, a cwd inside one of them works and one outside does not", () => {
    const o = { additionalDirectories: [join(root, "extra")] };
    assert.equal(decide("Read", { file_path: "notes.md" }, join(root, "extra"), null, o).decision, "allow");
    assert.equal(decide("Read", { file_path: join(root, "extra", "notes.md") }, project, null, o).decision, "ask");
  });
  it("resolves a relative additionalDirectories entry against the project root, not the cwd", () => {
    const o = { additionalDirectories: ["../../extra"] };
    assert.equal(read(join(root, "extra", "notes.md"), project, project, o).decision, "allow");
    // From a deeper cwd the same entry would name another place if it were cwd-relative.
    assert.equal(read(join(root, "extra", "notes.md"), join(project, "src"), project, o).decision, "allow");
    assert.equal(decide("Read", { file_path: join(root, "extra", "notes.md") }, project, null, { additionalDirectories: ["extra"] }).decision, "ask");
  });
});

describe("a cwd that leads outside the working directories", () => {
  it("does not make ~/.ssh inside when the cwd is a symlink to it (the finding)", () => {
    const cwd = join(project, "sshlink");
    for (const f of ["id_rsa", "./id_rsa", join(cwd, "id_rsa"), join(ssh, "id_rsa")]) {
      const v = read(f, cwd);
      assert.equal(v.decision, "ask", f);
      assert.match(v.reason, /outside the working directories/, f);
    }
  });
  it("does not make ~/.ssh inside when the cwd is ~/.ssh itself", () => {
    assert.equal(read("id_rsa", ssh).decision, "ask");
    assert.equal(read(join(ssh, "id_rsa"), ssh).decision, "ask");
  });
  it("does not make every file inside when the cwd is /", () => {
    assert.equal(read("/etc/hostname", "/").decision, "ask");
    assert.equal(read("etc/hostname", "/").decision, "ask");
  });
  it("judges the whole call as outside: even a project file, and the reason says why", () => {
    const v = read(join(project, "src", "a.ts"), ssh);
    assert.equal(v.decision, "ask");
    assert.match(v.reason, /the call's working directory .*\.ssh is outside the working directories/);
  });
  it("turns off allow rules anchored at the cwd, keeps the others and every deny", () => {
    const cwd = join(project, "sshlink");
    assert.equal(read("id_rsa", cwd, project, { allow: ["Read(./**)"] }).decision, "ask");
    assert.equal(read("id_rsa", cwd, project, { allow: ["Read(id_rsa)"] }).decision, "ask");
    assert.equal(read(join(ssh, "id_rsa"), cwd, project, { allow: [`Read(/${ssh}/**)`] }).decision, "allow");
    assert.equal(read("id_rsa", cwd, project, { deny: ["Read(~/.ssh/**)"] }).decision, "deny");
    // The same cwd-anchored allow still works from inside the project.
    assert.equal(read("a.ts", join(project, "src"), project, { allow: ["Read(./**)"] }).decision, "allow");
  });
  it("asks for edits in acceptEdits mode too", () => {
    const v = decide("Write", { file_path: "authorized_keys", content: "x" }, join(project, "sshlink"), project, { mode: "acceptEdits" });
    assert.equal(v.decision, "ask");
  });
  it("keeps a cwd that is the project reached through a symlink (the session's own spelling)", () => {
    const cwd = join(root, "elsewhere", "project-link");
    assert.equal(read("src/a.ts", cwd).decision, "allow");
    assert.equal(read("sshlink/id_rsa", cwd).decision, "ask");
  });
});

describe("workingContext", () => {
  it("lists the project root and the cwd alias, and sets cwdOutside only when the cwd really lies outside", () => {
    const env = fsEnvironment({ home, platform: "linux" });
    const inside = workingContext({ cwd: join(project, "src"), projectRoot: project, additionalDirectories: [], mode: "default" }, env);
    assert.equal(inside.cwdOutside, undefined);
    assert.ok(inside.workingDirectories.includes(project));
    const out = workingContext({ cwd: join(project, "sshlink"), projectRoot: project, additionalDirectories: [], mode: "default" }, env);
    assert.match(out.cwdOutside ?? "", /really .*\.ssh/);
    assert.ok(!out.workingDirectories.includes(join(project, "sshlink")));
  });
});

describe("cd by real path", () => {
  const bash = (command: string, cwd = project, o: Parameters<typeof policy>[0] = { allow: ["Bash(cat:*)", "Bash(ls:*)"] }) => decide("Bash", { command }, cwd, project, o);
  it("asks for cd into a symlink that leads outside, even under a blanket Bash allow", () => {
    for (const c of ["cd sshlink", "cd ./sshlink", `cd ${join(project, "sshlink")}`, "pushd sshlink", "cd sshlink && ls", "cd src/../sshlink"]) {
      const v = bash(c, project, { allow: ["Bash"] });
      assert.equal(v.decision, "ask", c);
      assert.match(v.reason, /not inside the working directories/, c);
    }
  });
  it("allows cd into a real subdirectory, and the command after it", () => {
    assert.equal(bash("cd src && cat a.ts").decision, "allow");
    assert.equal(bash("cd src/deep && ls").decision, "allow");
  });
  it("allows cd from outside back into the project", () => {
    assert.equal(bash(`cd ${join(project, "src")} && ls`, ssh).decision, "allow");
  });
  it("asks for cd to / and to home", () => {
    assert.equal(bash("cd / && ls").decision, "ask");
    assert.equal(bash("cd ~ && ls").decision, "ask");
  });
});
