import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { childEnvironment, ProcessTransport } from "../../src/transport/process.js";
import { guessMessageId, JsonLinesTransport } from "../../src/transport/json-lines.js";
import { PassThrough } from "node:stream";

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
