// Issue 11, finding 6, attacked through the real hook (`mcp-warden hook`, one process per call, the
// PreToolUse JSON on stdin) and the real `check --batch` / `test`: a `cd` into a symlink to ~/.ssh, a
// cwd inside ~/.ssh or at `/`, and a project root of `/` or home must not make files "inside the
// working directory". The near misses (the project and its real subdirectories) stay allowed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { auditRecords, CLI, cli, scratch, type Scratch } from "./harness.js";

type Decision = "allow" | "ask" | "deny";

/** A scratch HOME with a fake ~/.ssh/id_rsa and a project holding `sshlink -> ~/.ssh`. */
function machine(): Scratch & { ssh: string; sshlink: string } {
  const s = scratch({});
  const ssh = join(s.home, ".ssh");
  mkdirSync(ssh, { recursive: true });
  writeFileSync(join(ssh, "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n");
  mkdirSync(join(s.project, "src"), { recursive: true });
  writeFileSync(join(s.project, "src", "a.ts"), "export {};\n");
  const sshlink = join(s.project, "sshlink");
  symlinkSync(ssh, sshlink);
  // The user's own settings: allow rules live here, not in the project, so that they hold whatever
  // a project layer may set. The project's own file only exists (it marks the project root).
  mkdirSync(join(s.home, ".config", "mcp-warden"), { recursive: true });
  writeFileSync(
    join(s.home, ".config", "mcp-warden", "settings.json"),
    JSON.stringify({ permissions: { allow: ["Bash"] }, audit: { dir: s.auditDir } }),
  );
  return { ...s, ssh, sshlink };
}

function hook(s: Scratch, tool: string, input: Record<string, unknown>, cwd: string, env: NodeJS.ProcessEnv = {}): { decision: Decision; reason: string } {
  const stdin = JSON.stringify({ session_id: "cwd-1", cwd, permission_mode: "default", hook_event_name: "PreToolUse", tool_name: tool, tool_input: input });
  const r = spawnSync(process.execPath, [CLI, "hook"], { cwd: s.project, env: { ...s.env, ...env }, input: stdin, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { hookSpecificOutput: { permissionDecision: Decision; permissionDecisionReason: string } };
  return { decision: out.hookSpecificOutput.permissionDecision, reason: out.hookSpecificOutput.permissionDecisionReason };
}

/** The attacks and the near misses, for one way of telling the hook where the project is. */
function attacks(name: string, setup: () => { s: ReturnType<typeof machine>; env: NodeJS.ProcessEnv }) {
  describe(`the hook's working directories (${name})`, () => {
    let s: ReturnType<typeof machine>;
    let env: NodeJS.ProcessEnv;
    before(() => ({ s, env } = setup()));
    after(() => s.cleanup());

    it("asks before `cd sshlink` (a symlink to ~/.ssh), even under a blanket Bash allow", () => {
      for (const command of ["cd sshlink", "cd sshlink && ls", "pushd ./sshlink"]) {
        const v = hook(s, "Bash", { command }, s.project, env);
        assert.equal(v.decision, "ask", `${command}: ${v.reason}`);
        assert.match(v.reason, /not inside the working directories/);
      }
    });

    it("does not allow `Read id_rsa` with the cwd in the symlinked ~/.ssh", () => {
      for (const file_path of ["id_rsa", "./id_rsa", join(s.sshlink, "id_rsa")]) {
        const v = hook(s, "Read", { file_path }, s.sshlink, env);
        assert.equal(v.decision, "ask", `${file_path}: ${v.reason}`);
        assert.match(v.reason, /outside the working directories/);
      }
    });

    it("does not allow `Read ./id_rsa` with the cwd in ~/.ssh itself", () => {
      const v = hook(s, "Read", { file_path: "./id_rsa" }, s.ssh, env);
      assert.notEqual(v.decision, "allow", v.reason);
    });

    it("does not allow reads with a cwd of /", () => {
      for (const file_path of ["/etc/hostname", "etc/hostname", join(s.ssh, "id_rsa")]) {
        const v = hook(s, "Read", { file_path }, "/", env);
        assert.equal(v.decision, "ask", `${file_path}: ${v.reason}`);
      }
    });

    it("still allows reads in the project, from the project and from a real subdirectory", () => {
      assert.equal(hook(s, "Read", { file_path: "src/a.ts" }, s.project, env).decision, "allow");
      assert.equal(hook(s, "Read", { file_path: "a.ts" }, join(s.project, "src"), env).decision, "allow");
      assert.equal(hook(s, "Read", { file_path: join(s.project, "src", "a.ts") }, join(s.project, "src"), env).decision, "allow");
    });

    it("still allows `cd src && cat a.ts`", () => {
      const v = hook(s, "Bash", { command: "cd src && cat a.ts" }, s.project, env);
      assert.equal(v.decision, "allow", v.reason);
    });
  });
}

attacks("CLAUDE_PROJECT_DIR set", () => {
  const s = machine();
  return { s, env: { CLAUDE_PROJECT_DIR: s.project } };
});

attacks("no CLAUDE_PROJECT_DIR, the project holds .mcp-warden/", () => {
  const s = machine();
  mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
  writeFileSync(join(s.project, ".mcp-warden", "settings.json"), "{}");
  return { s, env: {} };
});

describe("the hook with a project root of / or home, or none", () => {
  let s: ReturnType<typeof machine>;
  before(() => (s = machine()));
  after(() => s.cleanup());

  it("CLAUDE_PROJECT_DIR=/ or =$HOME (or an ancestor of home) allows no read by default", () => {
    for (const root of ["/", s.home, join(s.home, "..")]) {
      for (const [file_path, cwd] of [[join(s.ssh, "id_rsa"), s.home], ["id_rsa", s.ssh], [join(s.project, "src", "a.ts"), s.project], ["/etc/hostname", "/"]] as const) {
        const v = hook(s, "Read", { file_path }, cwd, { CLAUDE_PROJECT_DIR: root });
        assert.equal(v.decision, "ask", `root ${root}, ${file_path} from ${cwd}: ${v.reason}`);
      }
    }
    const v = hook(s, "Read", { file_path: join(s.project, "src", "a.ts") }, s.project, { CLAUDE_PROJECT_DIR: s.home });
    assert.match(v.reason, /never a working directory/);
  });

  it("CLAUDE_PROJECT_DIR pointing at a symlink to home is refused as well", () => {
    const link = join(s.dir, "home-link");
    symlinkSync(s.home, link);
    assert.equal(hook(s, "Read", { file_path: join(s.ssh, "id_rsa") }, s.home, { CLAUDE_PROJECT_DIR: link }).decision, "ask");
  });

  it("without CLAUDE_PROJECT_DIR and without .mcp-warden/ the cwd is no working directory", () => {
    const v = hook(s, "Read", { file_path: join(s.project, "src", "a.ts") }, s.project);
    assert.equal(v.decision, "ask", v.reason);
    assert.match(v.reason, /no project root/);
  });

  it("records the project root the hook judged with in the audit log", () => {
    hook(s, "Read", { file_path: "src/a.ts" }, s.project, { CLAUDE_PROJECT_DIR: s.project });
    const last = auditRecords(s).filter((r) => r.kind === "decision").at(-1) as { detail?: Record<string, unknown> };
    assert.equal(last.detail?.projectRoot, s.project);
  });
});

describe("check --batch and test judge built-in tools with the same working directories", () => {
  let s: ReturnType<typeof machine>;
  before(() => {
    s = machine();
    mkdirSync(join(s.project, ".mcp-warden"), { recursive: true });
  });
  after(() => s.cleanup());
  const settings = { permissions: { allow: ["Bash"] } };

  it("check --batch: / and home are no project root; a symlinked cwd below a project is outside; the project itself is inside", () => {
    const lines = [
      { id: "slash", settings, tool: "Read", input: { file_path: "/etc/hostname" }, cwd: "/" },
      { id: "home", settings, tool: "Read", input: { file_path: ".ssh/id_rsa" }, cwd: s.home },
      { id: "sshlink", settings, tool: "Read", input: { file_path: "id_rsa" }, cwd: s.sshlink },
      { id: "cd", settings, tool: "Bash", input: { command: "cd sshlink" }, cwd: s.project },
      { id: "project", settings, tool: "Read", input: { file_path: "src/a.ts" }, cwd: s.project },
      { id: "subdir", settings, tool: "Read", input: { file_path: "a.ts" }, cwd: join(s.project, "src") },
      { id: "cd-src", settings, tool: "Bash", input: { command: "cd src && cat a.ts" }, cwd: s.project },
    ];
    const r = cli(s, ["check", "--batch"], lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    assert.equal(r.code, 0, r.stderr);
    const got = Object.fromEntries(r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; decision: Decision }).map((a) => [a.id, a.decision]));
    assert.deepEqual(got, { slash: "ask", home: "ask", sshlink: "ask", cd: "ask", project: "allow", subdir: "allow", "cd-src": "allow" });
  });

  it("check --batch keeps its contract: without .mcp-warden/ the cwd is the project root", () => {
    const plain = join(s.dir, "plain");
    mkdirSync(plain);
    writeFileSync(join(plain, "b.ts"), "");
    const r = cli(s, ["check", "--batch"], JSON.stringify({ id: "p", settings, tool: "Read", input: { file_path: "b.ts" }, cwd: plain }) + "\n");
    assert.equal((JSON.parse(r.stdout) as { decision: Decision }).decision, "allow", r.stdout);
  });

  it("mcp-warden test: a read from / asks, a read in the project is allowed", () => {
    const file = join(s.project, "cwd.test.json");
    writeFileSync(
      file,
      JSON.stringify([
        { name: "root cwd", tool: "Read", input: { file_path: "/etc/hostname" }, cwd: "/", settings, expect: "ask" },
        { name: "sshlink cwd", tool: "Read", input: { file_path: "id_rsa" }, cwd: "sshlink", settings, expect: "ask" },
        { name: "project", tool: "Read", input: { file_path: "src/a.ts" }, settings, expect: "allow" },
      ]),
    );
    const r = cli(s, ["test", file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 passed, 0 failed/);
  });
});
