// A changed tool's definition diff travels with the shared question (so every replica's Approvals
// page shows it): bounded at 16 KiB and cut at a line (never inside a character) with a note saying
// so, secrets redacted, validated strictly when read back, and shown for a question held elsewhere.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PendingApproval } from "../../src/approvals/broker.js";
import { boundedDiff, DIFF_CUT_NOTE, MAX_SHARED_DIFF_BYTES, parseSharedQuestion, sharedQuestionOf } from "../../src/approvals/shared-approvals.js";
import { compileRedactor } from "../../src/audit/redact.js";
import { approvalsPage } from "../../src/fronts/console/pages.js";

const REPLICA = "0123456789abcdef0123456789abcdef";
const change = (diff: string): PendingApproval => ({
  id: "q1",
  kind: "tool-change",
  server: "fx",
  serverIdentity: "sha256:x",
  tool: "mcp__fx__echo",
  reason: "tool echo changed since it was approved",
  diff,
  policyVersion: "v",
  answers: ["allow-once", "deny"],
  createdAt: 1_000,
  expiresAt: 2_000,
});

describe("a shared question's diff", () => {
  it("a small diff is published whole and reads back", () => {
    const diff = '  description:\n-   "Echo the text back."\n+   "Echo the text back. Also cc the archive."';
    const q = sharedQuestionOf(change(diff), REPLICA);
    assert.equal(q.diff, diff);
    const back = parseSharedQuestion(JSON.stringify(q));
    assert.ok(typeof back !== "string", String(back));
    assert.equal(back.diff, diff);
  });

  it("a large diff is cut at a line within 16 KiB, never inside a character, and ends with the note", () => {
    const line = "+ ünïcödé 😀 ".repeat(8);
    const diff = Array.from({ length: 400 }, (_, i) => `${i}: ${line}`).join("\n");
    assert.ok(Buffer.byteLength(diff) > 3 * MAX_SHARED_DIFF_BYTES);
    const cut = boundedDiff(diff);
    assert.ok(cut.endsWith(DIFF_CUT_NOTE));
    const kept = cut.slice(0, -DIFF_CUT_NOTE.length);
    assert.ok(Buffer.byteLength(kept) <= MAX_SHARED_DIFF_BYTES);
    assert.ok(Buffer.byteLength(kept) > MAX_SHARED_DIFF_BYTES / 2);
    assert.ok(diff.startsWith(`${kept}\n`), "a whole number of lines of the original");
    assert.doesNotMatch(cut, /\uFFFD/);
    // One long line: cut at a character boundary.
    const oneLine = "😀".repeat(10_000);
    const cutLine = boundedDiff(oneLine).slice(0, -DIFF_CUT_NOTE.length);
    assert.ok(oneLine.startsWith(cutLine) && cutLine.length > 0 && Buffer.byteLength(cutLine) <= MAX_SHARED_DIFF_BYTES);
    assert.doesNotMatch(cutLine, /\uFFFD/);
    assert.equal(boundedDiff("x".repeat(MAX_SHARED_DIFF_BYTES)), "x".repeat(MAX_SHARED_DIFF_BYTES), "exactly the bound is not cut");
    const published = sharedQuestionOf(change(diff), REPLICA);
    assert.equal(published.diff, cut);
    const back = parseSharedQuestion(JSON.stringify(published));
    assert.ok(typeof back !== "string", String(back));
    assert.equal(back.diff, cut);
  });

  it("configured secrets are redacted from the published diff", () => {
    const q = sharedQuestionOf(change("+ token sk-live-SECRET-1234"), REPLICA, (v) => compileRedactor(["sk-live-SECRET-1234"]).value(v));
    assert.equal(q.diff, "+ token [REDACTED]");
  });

  it("reading back refuses a diff longer than the bound or not a string", () => {
    const q = sharedQuestionOf(change("x"), REPLICA);
    const tooLong = parseSharedQuestion(JSON.stringify({ ...q, diff: "x".repeat(MAX_SHARED_DIFF_BYTES + Buffer.byteLength(DIFF_CUT_NOTE) + 1) }));
    assert.match(String(tooLong), /^question: diff: longer than 16384 bytes/);
    assert.match(String(parseSharedQuestion(JSON.stringify({ ...q, diff: ["x"] }))), /^question: diff:/);
    assert.match(String(parseSharedQuestion(JSON.stringify({ ...q, diff: 7 }))), /^question: diff:/);
  });

  it("the Approvals page shows the diff of a question another replica holds, escaped", () => {
    const q = sharedQuestionOf(change('+ "<script>alert(1)</script>\u202e"'), REPLICA);
    const page = approvalsPage({ name: "Carol", role: "approver", csrf: "t".repeat(43) }, { questions: [q], owner: "oidc|x|carol", canAnswer: true, now: 1_500 }).text;
    assert.match(page, /Held by another replica/);
    assert.match(page, /What changed<\/h3><pre class="diff">\+ &#34;&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.doesNotMatch(page, /<script>alert|\u202e/);
  });
});
