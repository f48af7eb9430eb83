// `mcp-warden exec --profile NAME` with a podman profile: a real command in a real container (the
// busybox test image, no registry), through the lean entry (`exec ... -- CMD`, src/cli/exec-main.ts)
// and the full command line (no `--`). stdin, stdout, stderr and the exit status pass through, the
// working directory is there (writable by default, read-only when the profile allows no writes),
// the home directory's secrets are not, and the audit log records the run as it does for bubblewrap.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { auditRecords, CLI, scratch, type Scratch } from "./harness.js";
import { BUSYBOX, busyboxImage, engineEnv, imageId, podmanProblem } from "./container-harness.js";

const problem = podmanProblem() ?? (BUSYBOX === undefined ? "no static busybox to build the test image from (apt-get install busybox-static)" : undefined);

describe("mcp-warden exec --profile with a podman profile", { skip: problem ?? false, timeout: 600_000 }, () => {
  let s: Scratch;
  let settings = "";
  let image = "";
  let id = "";

  before(() => {
    s = scratch({});
    const env = engineEnv();
    image = busyboxImage("podman", env);
    id = imageId("podman", image, env);
    mkdirSync(join(s.home, ".ssh"), { recursive: true });
    writeFileSync(join(s.home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
    writeFileSync(join(s.project, "input.txt"), "project file\n");
    mkdirSync(join(s.project, "private"));
    writeFileSync(join(s.project, "private", "key.txt"), "DENIED-DIR\n");
    writeFileSync(join(s.project, "token.txt"), "DENIED-FILE\n");
    // The container runs as nobody when the tests run as root (never as root): let it write here.
    chmodSync(s.project, 0o777);
    settings = join(s.dir, "exec-settings.json");
    writeFileSync(
      settings,
      JSON.stringify({
        audit: { dir: s.auditDir },
        sandboxProfiles: {
          box: { type: "podman", image },
          readonly: { type: "podman", image, filesystem: { allowWrite: [] } },
          projectonly: { type: "podman", image, filesystem: { allowRead: [s.project] } },
          denied: { type: "podman", image, filesystem: { denyRead: [join(s.project, "private"), join(s.project, "token.txt")] } },
          pinned: { type: "podman", image: `${image}@${id}` },
          wrongpin: { type: "podman", image: `${image}@sha256:${"3f".repeat(32)}` },
        },
      }),
    );
  });
  after(() => s?.cleanup());

  /** The lean entry: `exec [--settings F] --profile P -- CMD...`. */
  const exec = (profile: string, command: string[], input = "", cwd = s.project) =>
    spawnSync(process.execPath, [CLI, "exec", "--settings", settings, "--profile", profile, "--", ...command], { cwd, env: s.env, input, encoding: "utf8", timeout: 120_000 });

  it("passes stdin, stdout, stderr and the exit status through (lean entry)", () => {
    const r = exec("box", ["sh", "-c", "cat; echo done; echo to-stderr >&2; exit 7"], "from-stdin\n");
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stdout, "from-stdin\ndone\n");
    assert.match(r.stderr, /to-stderr/);
  });

  it("passes them through on the full command line too (no `--`, so the lean entry hands over)", () => {
    const r = spawnSync(process.execPath, [CLI, "exec", "--settings", settings, "--profile", "box", "cat"], { cwd: s.project, env: s.env, input: "full-path\n", encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "full-path\n");
  });

  it("runs in the working directory, which is writable by default, and the home directory's secrets are not there", () => {
    const r = exec("box", ["sh", "-c", `pwd; cat input.txt; echo made > out.txt; cat ${join(s.home, ".ssh", "id_rsa")} || echo hidden; ls ${s.home} || echo no-home`]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], s.project);
    assert.match(r.stdout, /project file/);
    assert.match(r.stdout, /hidden/);
    assert.doesNotMatch(r.stdout, /PRIVATE KEY/);
    assert.equal(readFileSync(join(s.project, "out.txt"), "utf8"), "made\n");
  });

  it("with a profile that allows no writes, the working directory is still there, read-only", () => {
    const r = exec("readonly", ["sh", "-c", "pwd; cat input.txt; echo x > blocked.txt && echo WROTE"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, new RegExp(`^${s.project}\\nproject file\\n`));
    assert.doesNotMatch(r.stdout, /WROTE/);
    assert.match(r.stderr, /read-only file system/i);
    assert.ok(!existsSync(join(s.project, "blocked.txt")));
  });

  it("run from the home directory, sees an empty read-only directory there, not the home directory (paths the profile allows below it stay visible)", () => {
    const r = exec("box", ["sh", "-c", "pwd; ls -A; touch made-in-home || echo refused"], "", s.home);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${s.home}\nrefused\n`);
    assert.ok(!existsSync(join(s.home, "made-in-home")));
    const below = exec("projectonly", ["sh", "-c", "ls -A; cat project/input.txt"], "", s.home);
    assert.equal(below.status, 0, below.stderr);
    assert.equal(below.stdout, "project\nproject file\n");
  });

  it("hides denied paths inside the writable working directory: a directory is empty, a file unreadable", () => {
    const r = exec("denied", ["sh", "-c", "ls -A private; cat private/key.txt token.txt; cat input.txt"]);
    assert.match(r.stdout, /project file/);
    assert.doesNotMatch(r.stdout, /DENIED/);
    assert.doesNotMatch(r.stderr, /invalid mount option/);
  });

  it("records the run and its exit status in the audit log, with the podman sandbox and the profile", () => {
    const before = auditRecords(s).length;
    const r = exec("box", ["sh", "-c", "exit 3"]);
    assert.equal(r.status, 3, r.stderr);
    const records = auditRecords(s).slice(before);
    const started = records.find((e) => e.event === "exec");
    assert.ok(started, JSON.stringify(records));
    assert.equal(started.decision, "allow");
    assert.deepEqual(started.arguments, ["sh", "-c", "exit 3"]);
    assert.deepEqual({ sandbox: (started.detail as Record<string, unknown>).sandbox, profile: (started.detail as Record<string, unknown>).profile }, { sandbox: "podman", profile: "box" });
    const exited = records.find((e) => e.event === "exec-exited");
    assert.deepEqual(exited?.detail, { status: 3 });
  });

  it("runs a profile's image pinned by digest, and refuses a pin the local image does not match, running nothing", () => {
    const ok = exec("pinned", ["sh", "-c", "echo pinned-ran"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, "pinned-ran\n");
    const bad = exec("wrongpin", ["sh", "-c", "echo x > never.txt"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, new RegExp(`pinned to sha256:(3f){32}, but the local .* is ${id}`));
    assert.ok(!existsSync(join(s.project, "never.txt")));
  });

  it("with managed requireImageDigest, a tag-only profile is refused and a pinned one runs", () => {
    const managed = join(s.dir, "managed", "managed-settings.json");
    writeFileSync(managed, JSON.stringify({ requireImageDigest: true }));
    try {
      const refused = exec("box", ["sh", "-c", "echo x > never2.txt"]);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /requireImageDigest/);
      assert.ok(!existsSync(join(s.project, "never2.txt")));
      const pinned = exec("pinned", ["sh", "-c", "echo still-runs"]);
      assert.equal(pinned.status, 0, pinned.stderr);
      assert.equal(pinned.stdout, "still-runs\n");
    } finally {
      writeFileSync(managed, "{}");
    }
  });
});
