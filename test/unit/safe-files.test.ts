// The file primitives every file mcp-warden writes goes through, attacked with what a repository or
// a server could plant where those files go: links, FIFOs, hard links, directories, foreign owners.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, closeSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assertSafeFile, createExclusiveNoFollow, ensurePrivateDir, openAppendNoFollow, UnsafeFileError, writeFileAtomic } from "../../src/adapters/safe-files.js";
import { loadSettingsFast } from "../../src/settings/fast-load.js";

const isRoot = process.getuid?.() === 0;
const OTHER_UID = 4242;

describe("safe-files", () => {
  let dir: string;
  let victim: string;
  const VICTIM_TEXT = "export PATH=$HOME/bin:$PATH\n";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "warden-safe-files-"));
    victim = join(dir, "bashrc");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** A fresh directory of ours per test, with the victim file beside it. */
  const fresh = () => {
    writeFileSync(victim, VICTIM_TEXT);
    const d = join(dir, `case-${n++}`);
    mkdirSync(d, { mode: 0o700 });
    return d;
  };
  const unsafe = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof UnsafeFileError, `expected UnsafeFileError, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  };

  test("openAppendNoFollow refuses a symlink to an existing file, naming it and saying to remove it; the target is unchanged", () => {
    const d = fresh();
    const log = join(d, "s.stderr.log");
    symlinkSync(victim, log);
    assert.throws(() => openAppendNoFollow(log), unsafe(new RegExp(`${log.replace(/[.]/g, "\\.")} is a symbolic link.*Remove it`)));
    assert.equal(readFileSync(victim, "utf8"), VICTIM_TEXT);
  });

  test("openAppendNoFollow refuses a dangling symlink without creating its target", () => {
    const d = fresh();
    const log = join(d, "s.stderr.log");
    const target = join(dir, `created-through-link-${n}`);
    symlinkSync(target, log);
    assert.throws(() => openAppendNoFollow(log), unsafe(/symbolic link/));
    assert.equal(existsSync(target), false);
  });

  test("openAppendNoFollow refuses a FIFO at once (no reader needed, nothing blocks)", () => {
    const d = fresh();
    const fifo = join(d, "s.stderr.log");
    const r = spawnSync("mkfifo", [fifo]);
    assert.equal(r.status, 0, "mkfifo");
    assert.throws(() => openAppendNoFollow(fifo), unsafe(/not a regular file/));
  });

  test("openAppendNoFollow refuses a directory and a hard link to another file", () => {
    const d = fresh();
    mkdirSync(join(d, "a.log"));
    assert.throws(() => openAppendNoFollow(join(d, "a.log")), unsafe(/is a directory/));
    linkSync(victim, join(d, "b.log"));
    assert.throws(() => openAppendNoFollow(join(d, "b.log")), unsafe(/2 hard links/));
    assert.equal(readFileSync(victim, "utf8"), VICTIM_TEXT);
  });

  test("openAppendNoFollow refuses a file of another user", { skip: isRoot ? false : "needs root to give a file to another user" }, () => {
    const d = fresh();
    const log = join(d, "s.stderr.log");
    writeFileSync(log, "theirs\n", { mode: 0o666 });
    chownSync(log, OTHER_UID, OTHER_UID);
    assert.throws(() => openAppendNoFollow(log), unsafe(new RegExp(`belongs to uid ${OTHER_UID}`)));
    assert.equal(readFileSync(log, "utf8"), "theirs\n");
  });

  test("openAppendNoFollow creates a missing file 0600 and appends to a plain file of ours", () => {
    const d = fresh();
    const log = join(d, "s.stderr.log");
    for (const text of ["one\n", "two\n"]) {
      const fd = openAppendNoFollow(log);
      writeSync(fd, text);
      closeSync(fd);
    }
    assert.equal(readFileSync(log, "utf8"), "one\ntwo\n");
    assert.equal(statSync(log).mode & 0o777, 0o600);
  });

  test("createExclusiveNoFollow refuses any existing name, a link included, and leaves it alone", () => {
    const d = fresh();
    symlinkSync(victim, join(d, "link"));
    writeFileSync(join(d, "file"), "x");
    assert.throws(() => createExclusiveNoFollow(join(d, "link")), unsafe(/symbolic link/));
    assert.throws(() => createExclusiveNoFollow(join(d, "file")), unsafe(/appeared while mcp-warden was creating it/));
    assert.equal(readFileSync(victim, "utf8"), VICTIM_TEXT);
    closeSync(createExclusiveNoFollow(join(d, "new")));
    assert.equal(statSync(join(d, "new")).mode & 0o777, 0o600);
  });

  test("assertSafeFile accepts a missing or plain file and refuses a link", () => {
    const d = fresh();
    assertSafeFile(join(d, "missing"));
    writeFileSync(join(d, "plain"), "x");
    assertSafeFile(join(d, "plain"));
    symlinkSync(victim, join(d, "link"));
    assert.throws(() => assertSafeFile(join(d, "link")), unsafe(/symbolic link/));
  });

  test("ensurePrivateDir creates a 0700 directory and refuses a symlink to a directory, a file, and a directory of another user", () => {
    const d = fresh();
    ensurePrivateDir(join(d, "new", "logs"));
    assert.equal(statSync(join(d, "new", "logs")).mode & 0o777, 0o700);
    mkdirSync(join(d, "real"));
    symlinkSync(join(d, "real"), join(d, "linked"));
    assert.throws(() => ensurePrivateDir(join(d, "linked")), unsafe(/is a symbolic link/));
    writeFileSync(join(d, "file"), "");
    assert.throws(() => ensurePrivateDir(join(d, "file")), unsafe(/is not a directory/));
    if (isRoot) {
      mkdirSync(join(d, "theirs"));
      chownSync(join(d, "theirs"), OTHER_UID, OTHER_UID);
      assert.throws(() => ensurePrivateDir(join(d, "theirs")), unsafe(new RegExp(`belongs to uid ${OTHER_UID}`)));
    }
  });

  test("writeFileAtomic replaces a symlink at the target name by a file of its own; the link's target is unchanged and no temp file is left", () => {
    const d = fresh();
    const status = join(d, "123.json");
    symlinkSync(victim, status);
    writeFileAtomic(status, '{"pid":123}');
    assert.equal(readFileSync(victim, "utf8"), VICTIM_TEXT);
    const st = lstatSync(status);
    assert.ok(st.isFile() && !st.isSymbolicLink());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(readFileSync(status, "utf8"), '{"pid":123}');
    assert.deepEqual(readdirSync(d), ["123.json"]);
  });

  test("writeFileAtomic refuses a directory at the target name and leaves no temp file", () => {
    const d = fresh();
    mkdirSync(join(d, "state.json"));
    writeFileSync(join(d, "state.json", "inner"), "x");
    assert.throws(() => writeFileAtomic(join(d, "state.json"), "{}"), unsafe(/is a directory/));
    assert.deepEqual(readdirSync(d), ["state.json"]);
  });

  test("settings-validation markers are created new: dangling links planted at their (predictable) names are not followed to create their targets", async () => {
    const d = fresh();
    const settingsFile = join(d, "settings.json");
    writeFileSync(settingsFile, JSON.stringify({ permissions: { deny: ["Bash(curl:*)"] } }));
    mkdirSync(join(d, "managed"));
    const envFor = (state: string) => ({ HOME: d, XDG_CONFIG_HOME: join(d, "config"), XDG_STATE_HOME: join(d, state), MCP_WARDEN_MANAGED_DIR: join(d, "managed") });
    const markers = (state: string) => join(d, state, "mcp-warden", "cache", "validated");
    // A first load shows which names the markers of this text get (a repository can compute them too).
    await loadSettingsFast({ cwd: d, env: envFor("state-a"), cliFiles: [settingsFile] });
    const names = readdirSync(markers("state-a"));
    assert.ok(names.length > 0);
    mkdirSync(markers("state-b"), { recursive: true, mode: 0o700 });
    // A link to an existing file would pass for a marker; a dangling one is what a writer follows.
    const targets = names.map((_, i) => join(d, `created-through-marker-${i}`));
    names.forEach((name, i) => symlinkSync(targets[i]!, join(markers("state-b"), name)));
    await loadSettingsFast({ cwd: d, env: envFor("state-b"), cliFiles: [settingsFile] });
    for (const target of targets) assert.equal(existsSync(target), false, `${target} was created through a marker's link`);
    for (const name of names) assert.ok(lstatSync(join(markers("state-b"), name)).isSymbolicLink());
  });
});
