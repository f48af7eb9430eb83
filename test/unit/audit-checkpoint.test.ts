// The checkpoint writers: concurrent processes, the lock, keys, and files planted in the audit
// directory. Real child processes for concurrency; verify is the judge of the outcome.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuditKeyError, AuditLog, CheckpointError, appendShared, readAuditKey, readCheckpoint, readSealed, verifyAudit } from "../../src/audit/index.js";
import { tryTakeLock, releaseLock } from "../../src/audit/lock.js";

const CHILD = fileURLToPath(new URL("../fixtures/audit-writer-child.js", import.meta.url));

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-cp-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function keyFile(dir: string, bytes = 32, name = "audit.key"): string {
  const file = join(dir, name);
  writeFileSync(file, Buffer.alloc(bytes, name.length + bytes), { mode: 0o400 });
  return file;
}

function lastLines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

function runChild(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("concurrent writers", () => {
  for (const keyed of [false, true]) {
    test(`four gateway-like logs and two hook-like processes write at once${keyed ? " (keyed)" : ""}: every segment's final head is in the checkpoint and the log verifies intact`, async () => {
      const dir = join(tempDir(), "audit");
      const key = keyed ? keyFile(dirs.at(-1)!) : "";
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => runChild([dir, "log", "60", key])),
        ...Array.from({ length: 2 }, () => runChild([dir, "shared", "25", key])),
      ]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const read = readCheckpoint(dir);
      assert.equal(read.state, "ok");
      const cp = read.state === "ok" ? read.checkpoint : undefined;
      const sealed = cp?.sealed ? readSealed(dir, cp.sealed) : undefined;
      assert.equal(sealed?.state, "ok");
      const heads = new Map([...(sealed?.state === "ok" ? sealed.segments : []), ...cp!.segments]);
      assert.equal(sealed?.state === "ok" && sealed.segments.size, 4, "the four closed logs' heads are sealed");
      const segments = readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
      assert.equal(segments.length, 5, "four logs and one shared segment");
      for (const name of segments) {
        const ls = lastLines(join(dir, name));
        assert.deepEqual(heads.get(name)?.seq, ls.length - 1, `${name}: the checkpoint holds its last record`);
      }
      const shared = segments.map((n) => lastLines(join(dir, n))).find((ls) => ls.length === 51);
      assert.ok(shared, "the shared segment holds its segment-start and all 50 hook records");
      const v = verifyAudit(dir, keyed ? { key: readAuditKey(key) } : {});
      assert.deepEqual([v.status, v.uncovered, v.problems, v.unverified], ["intact", 0, [], []]);
      assert.equal(v.checkpoint?.hmac, keyed ? "verified" : "unkeyed");
      assert.deepEqual(
        readdirSync(dir).filter((f) => !f.endsWith(".jsonl") && f !== "checkpoint.json" && f !== "hook.current" && f !== cp!.sealed?.file),
        [],
        "no lock, staging directory or temp file is left behind",
      );
    });
  }
});

describe("several logs in one process", () => {
  test("a log opening or closing while another log of the process updates the checkpoint in the background takes the lock over instead of waiting for it", async () => {
    const dir = tempDir();
    const a = AuditLog.open({ dir, fsyncIntervalMs: 0 }); // a background checkpoint update after every append
    for (let round = 0; round < 20; round++) {
      a.append({ kind: "call", id: `a${round}` }); // starts a background update holding the lock
      // Without the takeover, this open would wait for a lock whose holder cannot run meanwhile, and fail after 5 s.
      const b = AuditLog.open({ dir, fsyncIntervalMs: 0 });
      b.append({ kind: "call", id: `b${round}` });
      b.close();
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 100)); // a's dropped updates start again
    a.append({ kind: "call", id: "last" });
    a.close();
    const v = verifyAudit(dir);
    assert.deepEqual([v.status, v.segments, v.uncovered], ["intact", 21, 0]);
  });
});

describe("the lock", () => {
  test("a lock held by a live process makes a second taker wait and give up after its bound", () => {
    const dir = tempDir();
    const held = tryTakeLock(join(dir, "x.lock"), 0, 10_000)!;
    assert.ok(held);
    const t = Date.now();
    assert.equal(tryTakeLock(join(dir, "x.lock"), 50, 10_000), undefined);
    assert.ok(Date.now() - t >= 50);
    releaseLock(held);
    const again = tryTakeLock(join(dir, "x.lock"), 0, 10_000);
    assert.ok(again, "free once released");
    releaseLock(again);
  });

  test("a lock left by a dead process on this host is broken at once", () => {
    const dir = tempDir();
    const lock = join(dir, "x.lock");
    mkdirSync(lock);
    // pid 2^22+1 exceeds Linux's pid_max: no such process.
    writeFileSync(join(lock, `owner-${"a".repeat(32)}`), JSON.stringify({ pid: 4_194_305, host: hostname(), at: new Date().toISOString() }));
    const taken = tryTakeLock(lock, 1000, 60_000);
    assert.ok(taken);
    releaseLock(taken);
  });

  test("a symlink planted at the lock is never removed: the taker gives up (fail closed)", () => {
    const dir = tempDir();
    const victim = join(dir, "victim");
    mkdirSync(victim);
    symlinkSync(victim, join(dir, "x.lock"));
    assert.equal(tryTakeLock(join(dir, "x.lock"), 30, 1), undefined);
    assert.ok(lstatSync(join(dir, "x.lock")).isSymbolicLink());
    assert.deepEqual(readdirSync(victim), []);
  });
});

describe("keys", () => {
  test("a key shorter than 32 bytes is refused before anything is written, with how to make one", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    const short = keyFile(root, 31);
    assert.throws(() => AuditLog.open({ dir, fsyncIntervalMs: 0, hmacKeyFile: short }), (e: Error) => e instanceof AuditKeyError && /31 bytes; at least 32/.test(e.message) && /head -c 32 \/dev\/urandom/.test(e.message));
    assert.throws(() => appendShared({ dir, fsyncIntervalMs: 0, owner: "hook", hmacKeyFile: short }, { kind: "decision" }), AuditKeyError);
    assert.equal(existsSync(dir), false, "no audit directory, segment or checkpoint was created");
  });

  test("a missing key file, or a directory in its place, is refused", () => {
    const root = tempDir();
    assert.throws(() => AuditLog.open({ dir: join(root, "a"), fsyncIntervalMs: 0, hmacKeyFile: join(root, "none") }), /does not exist; make one with: head -c 32/);
    assert.throws(() => AuditLog.open({ dir: join(root, "a"), fsyncIntervalMs: 0, hmacKeyFile: root }), /not a regular file/);
  });

  test("a writer without a key refuses a keyed checkpoint instead of overwriting it (fail closed)", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    AuditLog.open({ dir, fsyncIntervalMs: 0, hmacKeyFile: keyFile(root) }).close();
    const before = readFileSync(join(dir, "checkpoint.json"), "utf8");
    assert.throws(() => AuditLog.open({ dir, fsyncIntervalMs: 0 }), (e: Error) => e instanceof CheckpointError && /is keyed \(key id [0-9a-f]{16}\) but this process has no key: set audit\.hmacKeyFile/.test(e.message));
    assert.throws(() => appendShared({ dir, fsyncIntervalMs: 0, owner: "hook" }, { kind: "decision" }), CheckpointError);
    assert.equal(readFileSync(join(dir, "checkpoint.json"), "utf8"), before);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith(".jsonl")).length, 1, "the refused writer's segment was removed: it held nothing but its start");
  });

  test("every segment-start names the key id, so verify knows which key signs the checkpoint", () => {
    const root = tempDir();
    const key = keyFile(root);
    const log = AuditLog.open({ dir: join(root, "audit"), fsyncIntervalMs: 0, hmacKeyFile: key });
    log.close();
    const start = JSON.parse(lastLines(log.file)[0]!);
    assert.equal(start.detail.keyId, readAuditKey(key).id);
    assert.equal(start.detail.checkpointed, true);
  });
});

describe("files planted in the audit directory", () => {
  test("a symlink at checkpoint.json is replaced, never written through, and verify reports the replacement", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    mkdirSync(dir, { mode: 0o700 });
    const victim = join(root, "bashrc");
    writeFileSync(victim, "original\n");
    symlinkSync(victim, join(dir, "checkpoint.json"));
    const log = AuditLog.open({ dir, fsyncIntervalMs: 0 });
    log.append({ kind: "call" });
    log.close();
    assert.equal(readFileSync(victim, "utf8"), "original\n");
    assert.ok(lstatSync(join(dir, "checkpoint.json")).isFile());
    const aside = readdirSync(dir).find((f) => /^checkpoint\.unreadable-/.test(f));
    assert.ok(aside && lstatSync(join(dir, aside)).isSymbolicLink(), "the planted link is kept aside as found");
    const v = verifyAudit(dir);
    assert.equal(v.status, "broken");
    assert.match(v.problems.map((p) => p.reason).join("\n"), /found the checkpoint damaged or unreadable and started a new one/);
  });

  test("a symlink at the shared segment's pointer file is replaced, never followed", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    mkdirSync(dir, { mode: 0o700 });
    const victim = join(root, "profile");
    writeFileSync(victim, "original\n");
    symlinkSync(victim, join(dir, "hook.current"));
    appendShared({ dir, fsyncIntervalMs: 0, owner: "hook" }, { kind: "decision" });
    appendShared({ dir, fsyncIntervalMs: 0, owner: "hook" }, { kind: "decision" });
    assert.equal(readFileSync(victim, "utf8"), "original\n");
    assert.ok(lstatSync(join(dir, "hook.current")).isFile());
    const segments = readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
    assert.equal(segments.length, 1);
    assert.equal(readFileSync(join(dir, "hook.current"), "utf8"), `${segments[0]}\n`);
    assert.equal(verifyAudit(dir).status, "intact");
  });

  test("an audit directory that is a symlink is refused", () => {
    const root = tempDir();
    mkdirSync(join(root, "real"));
    symlinkSync(join(root, "real"), join(root, "audit"));
    assert.throws(() => AuditLog.open({ dir: join(root, "audit"), fsyncIntervalMs: 0 }), /symbolic link/);
    assert.deepEqual(readdirSync(join(root, "real")), []);
  });

  test("a symlink named like a segment is never read through: verify reports it, the next writer still starts", () => {
    const root = tempDir();
    const dir = join(root, "audit");
    AuditLog.open({ dir, fsyncIntervalMs: 0 }).close();
    writeFileSync(join(root, "secret"), "not an audit record\n");
    const planted = "audit-29990101T000000.000-1.jsonl";
    symlinkSync(join(root, "secret"), join(dir, planted));
    const log = AuditLog.open({ dir, fsyncIntervalMs: 0 });
    log.close();
    const start = JSON.parse(lastLines(log.file)[0]!);
    assert.equal(start.detail.previousSegment, planted);
    assert.equal(start.detail.previousHash, null, "the link's target was not read");
    const v = verifyAudit(dir);
    assert.equal(v.status, "broken");
    assert.equal(v.firstBroken?.file, planted);
    assert.match(v.firstBroken!.reason, /cannot read the segment: ELOOP/);
    void basename;
  });
});
