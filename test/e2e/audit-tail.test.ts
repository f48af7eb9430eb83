// The tail of the audit log, attacked on disk after real runs: the real gateway (`mcp-warden run` with
// the fixture server, an SDK client), the real hook, and the real `mcp-warden audit verify`.
// Deleting the newest segment or cutting its last records is detected; in keyed mode, also when the
// checkpoint is rewritten to match, as long as the attacker cannot read the key.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { CLI, cli, connect, FILESYSTEM, FIXTURE, ROOT, scratch, waitForExit, type Scratch } from "./harness.js";
import { spawnSync } from "node:child_process";

const segments = (s: Scratch) => readdirSync(s.auditDir).filter((f) => f.endsWith(".jsonl")).sort();
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.map((l) => `${l}\n`).join(""));
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/**
 * What an attacker who can write the audit directory but not read the key does to hide a cut: make
 * the checkpoint hold `head` for `name`, consistently: a closed writer's head is among the sealed
 * heads, whose file is named after its SHA-256, which the checkpoint holds. Only the HMAC cannot be redone.
 */
function rewriteHead(dir: string, name: string, head: { seq: number; hash: string }): void {
  const cp = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8"));
  if (name in cp.segments) {
    cp.segments[name] = head;
  } else {
    const sealed = JSON.parse(readFileSync(join(dir, cp.sealed.file), "utf8"));
    assert.ok(name in sealed.segments, "the closed gateway's head is sealed");
    sealed.segments[name] = head;
    const text = `${JSON.stringify(sealed)}\n`;
    unlinkSync(join(dir, cp.sealed.file));
    cp.sealed = { file: `checkpoint.sealed-${sha256(text).slice(0, 16)}.json`, count: cp.sealed.count, digest: sha256(text) };
    writeFileSync(join(dir, cp.sealed.file), text);
  }
  writeFileSync(join(dir, "checkpoint.json"), JSON.stringify(cp));
}

/** One gateway session: connect, `calls` echo calls, close, and wait until the gateway has exited. */
async function session(s: Scratch, calls: number): Promise<void> {
  const c = await connect(s);
  try {
    for (let i = 0; i < calls; i++) {
      const r = await c.client.callTool({ name: "fixture__echo", arguments: { text: `call ${i}` } });
      assert.ok(!r.isError, JSON.stringify(r));
    }
  } finally {
    const pid = c.transport.pid;
    await c.close();
    if (pid) await waitForExit(pid, 15_000);
  }
}

function gatewayScratch(extra: Record<string, unknown> = {}): Scratch {
  return scratch({
    permissions: { allow: ["mcp__fixture__echo"] },
    mcpServers: { fixture: { command: process.execPath, args: [FIXTURE] } },
    ...extra,
  });
}

function keyFile(s: Scratch, bytes = 32): string {
  const dir = join(s.dir, "keys");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "audit.key");
  writeFileSync(file, Buffer.alloc(bytes, 0x5a), { mode: 0o400 });
  return file;
}

const verify = (s: Scratch, ...args: string[]) => cli(s, ["audit", "verify", "--dir", s.auditDir, ...args]);

describe("audit verify after real gateway runs", () => {
  test("(c) an intact log verifies: exit 0, every segment's head checked", async () => {
    const s = gatewayScratch();
    try {
      await session(s, 2);
      await session(s, 1);
      const r = verify(s);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^audit log intact: \d+ records in 2 segments, every chain and every segment's head checked against the checkpoint \(unkeyed\)/);
    } finally {
      s.cleanup();
    }
  });

  test("(a) the newest segment deleted: exit 1, naming it", async () => {
    const s = gatewayScratch();
    try {
      await session(s, 2);
      await session(s, 2);
      const newest = segments(s).at(-1)!;
      unlinkSync(join(s.auditDir, newest));
      const r = verify(s);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`audit log broken at ${join(s.auditDir, newest).replace(/[.]/g, "\\.")} \\(seq \\d+\\): segment missing: the checkpoint records it up to seq \\d+; it was deleted or renamed`));
    } finally {
      s.cleanup();
    }
  });

  test("(b) the last records of the newest segment cut: exit 1, naming the segment and the missing seq, and a later run does not hide it", async () => {
    const s = gatewayScratch();
    try {
      await session(s, 3);
      const file = join(s.auditDir, segments(s).at(-1)!);
      const all = lines(file);
      const lastSeq = JSON.parse(all.at(-1)!).seq as number;
      writeLines(file, all.slice(0, -3));
      const r = verify(s);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`broken at ${file.replace(/[.]/g, "\\.")} \\(seq ${lastSeq}\\): its records end at seq ${lastSeq - 3} but the checkpoint records seq ${lastSeq}: the last 3 records were cut off`));
      await session(s, 1); // a new writer updates the checkpoint: only its own head
      assert.equal(verify(s).code, 1, "the cut segment's head stays in the checkpoint");
    } finally {
      s.cleanup();
    }
  });
});

describe("keyed mode with the real gateway", () => {
  test("(d) intact with the key readable: exit 0, HMAC verified; segment and checkpoint rewritten consistently without the key: exit 1", async () => {
    const s = gatewayScratch();
    const key = keyFile(s);
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8"));
    settings.audit.hmacKeyFile = key;
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    try {
      await session(s, 3);
      let r = cli(s, ["audit", "verify", "--settings", s.settingsFile]); // the directory and the key from the settings
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /checked against the keyed checkpoint \(HMAC verified\)/);

      // The attacker cuts the tail and makes the checkpoint agree, but cannot sign it.
      const name = segments(s).at(-1)!;
      const file = join(s.auditDir, name);
      const kept = lines(file).slice(0, -2);
      writeLines(file, kept);
      rewriteHead(s.auditDir, name, { seq: JSON.parse(kept.at(-1)!).seq, hash: sha256(kept.at(-1)!) });

      r = verify(s, "--key-file", key);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /checkpoint\.json: the checkpoint's HMAC does not match its content \(key id [0-9a-f]{16}\): it was rewritten without the key/);
      // Without the key the consistent rewrite is invisible to the unkeyed checks, and verify says it could not check the HMAC.
      r = verify(s); // the default settings layers of this scratch machine name no key
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /audit log unverified: the checkpoint is keyed \(key id [0-9a-f]{16}\) but no key was given/);
    } finally {
      s.cleanup();
    }
  });

  test("a key shorter than 32 bytes: the gateway does not start and says how to make a key", () => {
    const s = gatewayScratch();
    const key = keyFile(s, 16);
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8"));
    settings.audit.hmacKeyFile = key;
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    try {
      const r = spawnSync(process.execPath, [CLI, "run", "--settings", s.settingsFile], { cwd: s.project, env: s.env, input: "", encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 4, r.stderr);
      assert.match(r.stderr, /cannot start: the audit key .*audit\.key holds 16 bytes; at least 32 are needed: make one with: head -c 32 \/dev\/urandom > .*audit\.key; chmod 400/);
    } finally {
      s.cleanup();
    }
  });
});

describe("the hook's shared segment", () => {
  const hookJson = (s: Scratch, tool: string, input: Record<string, unknown>, mode = "default") =>
    JSON.stringify({ session_id: "tail", cwd: s.project, hook_event_name: "PreToolUse", permission_mode: mode, tool_name: tool, tool_input: input });
  const runHookWith = (s: Scratch, input: string) => {
    // CLAUDE_PROJECT_DIR, as Claude Code sets it: the project is the hook's working directory.
    const env = { ...s.env, CLAUDE_PROJECT_DIR: s.project };
    const r = spawnSync(process.execPath, [CLI, "hook", "--settings", s.settingsFile], { cwd: s.project, env, input, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).hookSpecificOutput as { permissionDecision: string; permissionDecisionReason: string };
  };
  const runHook = (s: Scratch, command: string) => runHookWith(s, hookJson(s, "Bash", { command }));

  test("(e) several hook calls, then its tail cut: exit 1, naming the segment", () => {
    const s = scratch({ permissions: { allow: ["Bash(git status:*)"] } });
    try {
      for (let i = 0; i < 4; i++) assert.equal(runHook(s, `git status ${i}`).permissionDecision, "allow");
      const [name] = segments(s);
      assert.equal(segments(s).length, 1, "the hook processes share one segment");
      assert.equal(verify(s).code, 0);
      const file = join(s.auditDir, name!);
      writeLines(file, lines(file).slice(0, -1));
      const r = verify(s);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`broken at ${file.replace(/[.]/g, "\\.")} \\(seq 4\\): its records end at seq 3 but the checkpoint records seq 4`));
    } finally {
      s.cleanup();
    }
  });

  test("with a key shorter than 32 bytes the hook denies, saying how to make a key", () => {
    const s = scratch({ permissions: { allow: ["Bash(git status:*)"] } });
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8"));
    settings.audit.hmacKeyFile = keyFile(s, 8);
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    try {
      const d = runHook(s, "git status");
      assert.equal(d.permissionDecision, "deny");
      assert.match(d.permissionDecisionReason, /cannot write the audit log, so the call is refused: the audit key .* holds 8 bytes; at least 32 are needed: make one with: head -c 32/);
    } finally {
      s.cleanup();
    }
  });

  test("a hook without the key, writing where a keyed gateway wrote, denies instead of overwriting the keyed checkpoint", async () => {
    const s = gatewayScratch();
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8"));
    writeFileSync(join(s.dir, "keyed.json"), JSON.stringify({ ...settings, audit: { ...settings.audit, hmacKeyFile: keyFile(s) } }));
    const plain = s.settingsFile;
    try {
      s.settingsFile = join(s.dir, "keyed.json");
      await session(s, 1);
      s.settingsFile = plain;
      const before = readFileSync(join(s.auditDir, "checkpoint.json"), "utf8");
      const d = runHookWith(s, hookJson(s, "Bash", { command: "git status" }));
      assert.equal(d.permissionDecision, "deny");
      assert.match(d.permissionDecisionReason, /is keyed \(key id [0-9a-f]{16}\) but this process has no key: set audit\.hmacKeyFile/);
      assert.equal(readFileSync(join(s.auditDir, "checkpoint.json"), "utf8"), before);
    } finally {
      s.cleanup();
    }
  });

  test("the key file is never the agent's: reading or writing it is denied even under broad Read and Edit allows that let a neighbouring file through", () => {
    const s = scratch({ permissions: { allow: ["Edit(./**)", "Read(./**)", "Bash(cat:*)"] } });
    // Inside the project only to show the protection; the README says to keep it outside.
    const dir = join(s.project, "keys");
    mkdirSync(dir);
    const key = join(dir, "audit.key");
    writeFileSync(key, Buffer.alloc(32, 1), { mode: 0o600 });
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8"));
    settings.audit.hmacKeyFile = key;
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    try {
      const neighbour = runHookWith(s, hookJson(s, "Write", { file_path: join(dir, "notes.txt"), content: "x" }));
      assert.equal(neighbour.permissionDecision, "allow", neighbour.permissionDecisionReason);
      const d = runHookWith(s, hookJson(s, "Write", { file_path: key, content: "attacker's key" }));
      assert.equal(d.permissionDecision, "deny", d.permissionDecisionReason);
      assert.match(d.permissionDecisionReason, /audit\.hmacKeyFile/);
      const readNeighbour = runHookWith(s, hookJson(s, "Read", { file_path: join(dir, "notes.txt") }));
      assert.equal(readNeighbour.permissionDecision, "allow", readNeighbour.permissionDecisionReason);
      for (const [tool, input] of [
        ["Read", { file_path: key }],
        ["Bash", { command: `cat ${key}` }],
        ["Bash", { command: "cat keys/audit.key | base64" }],
      ] as const) {
        const r = runHookWith(s, hookJson(s, tool, input));
        assert.equal(r.permissionDecision, "deny", `${tool} ${JSON.stringify(input)}: ${r.permissionDecisionReason}`);
      }
      // A recursive search over the key's directory is put to a person (it would read the key).
      const grep = runHookWith(s, hookJson(s, "Grep", { pattern: ".", path: dir }));
      assert.equal(grep.permissionDecision, "ask", grep.permissionDecisionReason);
    } finally {
      s.cleanup();
    }
  });

  test("with a key the agent's user cannot read the hook denies (fail closed)", { skip: process.getuid?.() === 0 ? "running as root: file modes do not keep root out" : false }, () => {
    const s = scratch({ permissions: { allow: ["Bash(git status:*)"] } });
    const key = keyFile(s);
    chmodSync(key, 0o000);
    const settings = JSON.parse(readFileSync(s.settingsFile, "utf8"));
    settings.audit.hmacKeyFile = key;
    writeFileSync(s.settingsFile, JSON.stringify(settings));
    try {
      assert.equal(runHook(s, "git status").permissionDecision, "deny");
    } finally {
      s.cleanup();
    }
  });
});

const bwrap = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux" };

describe("the key is hidden from sandboxed servers", { skip: bwrap.ok ? false : `bubblewrap unavailable: ${bwrap.why}` }, () => {
  test("a sandboxed server allowed to read the key's directory still cannot read the key", async () => {
    const s = scratch({});
    const key = keyFile(s);
    writeFileSync(join(s.dir, "keys", "neighbour.txt"), "readable neighbour\n");
    writeFileSync(
      s.settingsFile,
      JSON.stringify({
        permissions: { allow: ["mcp__fs"] },
        mcpServers: {
          fs: {
            command: process.execPath,
            args: [FILESYSTEM, "/"],
            sandbox: { type: "bubblewrap", filesystem: { allowRead: [join(s.dir, "keys"), join(ROOT, "node_modules")] } },
          },
        },
        audit: { dir: s.auditDir, fsyncIntervalMs: 50, hmacKeyFile: key },
        gateway: { logDir: s.logDir },
        approvals: { page: false },
      }),
    );
    const c = await connect(s);
    try {
      const read = (path: string) => c.client.callTool({ name: "fs__read_text_file", arguments: { path } });
      const ok = await read(join(s.dir, "keys", "neighbour.txt"));
      assert.ok(!ok.isError, JSON.stringify(ok));
      const denied = await read(key);
      assert.ok(denied.isError, JSON.stringify(denied));
      assert.doesNotMatch(JSON.stringify(denied), /ZZZZ/, "no byte of the key (0x5a = Z) came back");
    } finally {
      await c.close();
      s.cleanup();
    }
  });
});
