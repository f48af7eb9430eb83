// Claims about processes, tested with real processes: a record appended before SIGKILL is in the
// file, and the fsync timer does not keep a process alive.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuditLog, readRecords, verifyAudit } from "../../src/audit/index.js";

/** The outcome and the counts of a verify result (the checkpoint details are tested in audit-tail). */
const counts = (v: { ok: boolean; segments: number; records: number }) => ({ ok: v.ok, segments: v.segments, records: v.records });

const CHILD = fileURLToPath(new URL("../fixtures/audit-kill-child.js", import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-durable-"));
  dirs.push(d);
  return d;
}

function startChild(dir: string, mode: "wait" | "exit") {
  const child = spawn(process.execPath, [CHILD, dir, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const appended = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
      const m = /^appended (.+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before appending: ${stderr}`)));
  });
  return { child, appended, exited };
}

test("a record appended just before SIGKILL is in the file and the log verifies", async () => {
  const dir = tempDir();
  const { child, appended, exited } = startChild(dir, "wait");
  const file = await appended;
  child.kill("SIGKILL"); // no chance to fsync, flush or close
  const { signal } = await exited;
  assert.equal(signal, "SIGKILL");
  assert.ok(readFileSync(file, "utf8").endsWith("\n"), "the last line is complete");
  const records = [...readRecords(dir)].map((x) => x.record);
  assert.deepEqual(
    records.map((r) => [r.seq, r.kind, r.event, r.id]),
    [
      [0, "gateway", "segment-start", undefined],
      [1, "call", "decided", "child-1"],
    ],
  );
  assert.deepEqual(counts(verifyAudit(dir)), { ok: true, segments: 1, records: 2 });
});

test("an open log with a pending fsync interval does not keep the process from exiting", async () => {
  const dir = tempDir();
  const { child, appended, exited } = startChild(dir, "exit");
  await appended;
  // The interval is an hour; if its timer were not unref'd the child would never exit and this test would time out.
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000).unref());
  const result = await Promise.race([exited, timeout]);
  if (result === "timeout") child.kill("SIGKILL");
  assert.deepEqual(result, { code: 0, signal: null });
  assert.equal(verifyAudit(dir).records, 2);
});

test("a child process spawned while the log is open does not inherit its file descriptor", { skip: process.platform !== "linux" }, () => {
  const dir = tempDir();
  const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
  try {
    // The child lists where each of its open descriptors points.
    const script = 'const fs=require("fs");for(const f of fs.readdirSync("/proc/self/fd")){try{console.log(fs.readlinkSync("/proc/self/fd/"+f))}catch{}}';
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const targets = r.stdout.trim().split("\n");
    assert.ok(targets.length >= 3, "the listing works (stdio at least)");
    assert.ok(!targets.includes(log.file), `audit file leaked into the child: ${r.stdout}`);
  } finally {
    log.close();
  }
});
