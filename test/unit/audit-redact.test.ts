// Secret redaction: the pure function, and the guarantee that matters: a secret never reaches the file.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { AuditLog, redactValue, verifyAudit } from "../../src/audit/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-redact-"));
  dirs.push(d);
  return d;
}

const TOKEN = "ghp_Z9yXwVuT8sRqPo7nMlKj";

describe("redactValue", () => {
  test("replaces each occurrence inside nested objects and arrays, and leaves the input untouched", () => {
    const input = { a: [{ b: `Bearer ${TOKEN}` }, "plain", 3], c: { d: { e: `${TOKEN}+${TOKEN}` } }, f: true, g: null };
    const snapshot = structuredClone(input);
    const out = redactValue(input, [TOKEN]);
    assert.deepEqual(out, { a: [{ b: "Bearer [REDACTED]" }, "plain", 3], c: { d: { e: "[REDACTED]+[REDACTED]" } }, f: true, g: null });
    assert.deepEqual(input, snapshot);
  });

  test("redacts object keys, keeping two keys that redact alike apart", () => {
    const out = redactValue({ [`x-${TOKEN}`]: 1, [`x-${TOKEN}2`]: 2 }, [TOKEN]) as Record<string, unknown>;
    assert.deepEqual(Object.values(out).sort(), [1, 2]);
    assert.ok(!JSON.stringify(out).includes(TOKEN));
  });

  test("a secret that contains another is removed whole (longest first)", () => {
    assert.equal(redactValue("k=abcdefgh;", ["abcd", "abcdefgh"]), "k=[REDACTED];");
  });

  test("secrets are matched literally, not as patterns", () => {
    assert.equal(redactValue("aXbbbc(d)", ["a.b*c(d)"]), "aXbbbc(d)");
    assert.equal(redactValue("x a.b*c(d) y", ["a.b*c(d)"]), "x [REDACTED] y");
  });

  test("values shorter than 4 characters are not treated as secrets", () => {
    assert.equal(redactValue("yes, abc", ["abc", "", "y"]), "yes, abc");
  });

  test("a number containing a numeric secret is redacted", () => {
    assert.deepEqual(redactValue({ pin: 48213377 }, ["48213377"]), { pin: "[REDACTED]" });
    assert.deepEqual(redactValue({ n: 5 }, ["48213377"]), { n: 5 });
  });

  test("values with toJSON are redacted in their JSON form", () => {
    const when = new Date("2031-02-03T04:05:06.000Z");
    assert.deepEqual(redactValue({ when }, ["2031-02-03"]), { when: "[REDACTED]T04:05:06.000Z" });
  });

  test("a __proto__ key from parsed JSON stays an ordinary key", () => {
    const out = redactValue(JSON.parse(`{"__proto__": {"t": "${TOKEN}"}}`), [TOKEN]) as object;
    assert.equal(JSON.stringify(out), '{"__proto__":{"t":"[REDACTED]"}}');
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  test("a circular structure is refused", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.throws(() => redactValue(a, [TOKEN]), /circular/);
  });
});

describe("AuditLog with secrets", () => {
  test("a secret in nested arguments, error, reason and detail keys appears nowhere in the file, and the chain verifies", () => {
    const dir = tempDir();
    const log = AuditLog.open({ dir, fsyncIntervalMs: 0, secrets: [TOKEN, "ab"] });
    const returned = log.append({
      kind: "call",
      event: "completed",
      server: "tabular",
      tool: "mcp__github__create_issue",
      arguments: { headers: [{ Authorization: `token ${TOKEN}` }], body: { nested: { deeper: [TOKEN] } } },
      error: `upstream said: bad credentials ${TOKEN}`,
      reason: `matched ${TOKEN}`,
      detail: { [TOKEN]: "as a key" },
    });
    log.close();
    const text = readFileSync(log.file, "utf8");
    assert.ok(!text.includes(TOKEN), "secret must not be written");
    assert.ok(!JSON.stringify(returned).includes(TOKEN), "nor returned");
    const r = JSON.parse(text.split("\n")[1]!);
    assert.equal(r.arguments.headers[0].Authorization, "token [REDACTED]");
    assert.deepEqual(r.arguments.body.nested.deeper, ["[REDACTED]"]);
    assert.equal(r.error, "upstream said: bad credentials [REDACTED]");
    assert.equal(r.reason, "matched [REDACTED]");
    assert.deepEqual(r.detail, { "[REDACTED]": "as a key" });
    assert.equal(r.server, "tabular", "the too-short secret 'ab' did not shred other text");
    assert.equal(verifyAudit(dir).ok, true);
  });

  test("a secret that happens to occur in the previous segment's file name does not break the segment link", () => {
    const dir = tempDir();
    const a = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
    a.close();
    const stamp = basename(a.file).slice("audit-".length, "audit-".length + 19); // e.g. 20250131T123456.789
    const b = AuditLog.open({ dir, fsyncIntervalMs: 1000, secrets: [stamp] });
    b.append({ kind: "call", reason: `at ${stamp}` });
    b.close();
    const [start, call] = readFileSync(b.file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(start.detail.previousSegment, basename(a.file));
    assert.equal(call.reason, "at [REDACTED]", "caller data is still redacted");
    assert.equal(verifyAudit(dir).ok, true);
  });
});
