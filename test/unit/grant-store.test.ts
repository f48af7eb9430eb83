// The held-call store ("approve, then retry"): a grant is bound to the exact call, used once (also
// against concurrent processes), expires, and is never read through a symlink, from a file not ours
// or from a malformed record. Concurrency is attacked with real child processes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { ARGUMENTS_MAX_BYTES, HeldCallStore } from "../../src/adapters/grant-store.js";
import { type CallBinding, type HeldCall, heldCallState, retryInstructions } from "../../src/approvals/retry-grants.js";

const root = mkdtempSync(join(tmpdir(), "warden-grants-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `s${n++}`, "held-calls");

const BINDING: CallBinding = { client: "inspector", serverIdentity: "sha256:server", tool: "mcp__fx__echo", argumentsDigest: "sha256:args", policyVersion: "sha256:policy" };

function question(id: string, over: Partial<HeldCall> = {}, now = 1_000_000): HeldCall {
  return {
    version: 1,
    id,
    binding: BINDING,
    server: "fx",
    arguments: { text: "hi" },
    reason: "matched an ask rule",
    answers: ["allow-once", "allow-session", "deny"],
    createdAt: now,
    expiresAt: now + 60_000,
    retryWindowMs: 10_000,
    gateway: { pid: 4242, cwd: "/p", auditDir: "/p/audit" },
    ...over,
  };
}

function storeAt(dir: string, clock: { t: number }) {
  return new HeldCallStore(dir, () => clock.t);
}

describe("held-call store", () => {
  test("an approval lets the exact call through once; a second use finds nothing", () => {
    const clock = { t: 1_000_000 };
    const store = storeAt(freshDir(), clock);
    store.save(question("a1"));
    assert.equal(store.list()[0]!.status.state, "pending");
    assert.equal(store.consume(BINDING), undefined, "an unanswered question is no grant");
    clock.t += 1000;
    const r = store.answer("a1", { answer: "allow-once", by: "cli" });
    assert.ok(r.ok);
    assert.equal(r.entry.status.state, "granted");
    const used = store.consume(BINDING);
    assert.equal(used?.question.id, "a1");
    assert.equal(store.consume(BINDING), undefined);
    assert.deepEqual(store.list(), []);
  });

  test("a grant is bound to every field of the call", () => {
    const clock = { t: 1_000_000 };
    const store = storeAt(freshDir(), clock);
    store.save(question("b1"));
    assert.ok(store.answer("b1", { answer: "allow-once", by: "page" }).ok);
    for (const field of Object.keys(BINDING) as (keyof CallBinding)[]) {
      assert.equal(store.consume({ ...BINDING, [field]: `${BINDING[field]}x` }), undefined, field);
    }
    assert.equal(store.consume({ ...BINDING, client: "" }), undefined, "a client with no name is another client");
    assert.ok(store.consume(BINDING));
  });

  test("the first answer wins; an answer the question does not offer, or after it expired, is refused", () => {
    const clock = { t: 1_000_000 };
    const store = storeAt(freshDir(), clock);
    store.save(question("c1"));
    assert.ok(store.answer("c1", { answer: "deny", by: "cli" }).ok);
    const second = store.answer("c1", { answer: "allow-once", by: "cli" });
    assert.ok(!second.ok);
    assert.equal(store.consume(BINDING), undefined, "denied");

    store.save(question("c2"));
    assert.ok(!store.answer("c2", { answer: "allow-always", by: "cli" }).ok, "not offered");
    clock.t += 60_001;
    assert.ok(!store.answer("c2", { answer: "allow-once", by: "cli" }).ok, "expired");
  });

  test("a grant expires retryWindowMs after the answer; prune removes it and reports it exactly once", () => {
    const clock = { t: 1_000_000 };
    const store = storeAt(freshDir(), clock);
    store.save(question("d1"));
    clock.t += 50_000;
    assert.ok(store.answer("d1", { answer: "allow-once", by: "cli" }).ok);
    clock.t += 9_999;
    assert.equal(store.list()[0]!.status.state, "granted", "the window runs from the answer, past the question's own time");
    clock.t += 1;
    assert.deepEqual(store.list()[0]!.status, { state: "expired", granted: true, at: clock.t });
    assert.equal(store.consume(BINDING), undefined);
    const pruned = store.prune();
    assert.deepEqual(pruned.map((p) => p.question.id), ["d1"]);
    assert.deepEqual(store.prune(), []);
    assert.deepEqual(readdirSync(store.dir), []);
  });

  test("files are private; oversized arguments are left out (the digest still binds)", () => {
    const clock = { t: 1_000_000 };
    const store = storeAt(freshDir(), clock);
    store.save(question("e1", { arguments: { blob: "x".repeat(ARGUMENTS_MAX_BYTES + 1) } }));
    assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(store.dir, "e1.json")).mode & 0o777, 0o600);
    assert.equal(store.get("e1")!.question.arguments, undefined);
    assert.ok(store.answer("e1", { answer: "allow-once", by: "cli" }).ok);
    assert.equal(statSync(join(store.dir, "e1.answer.json")).mode & 0o777, 0o600);
  });

  test("a symlink, a malformed record or a record for another id is never a grant", () => {
    const clock = { t: 1_000_000 };
    const dir = freshDir();
    const store = storeAt(dir, clock);
    store.save(question("f1"));
    assert.ok(store.answer("f1", { answer: "allow-once", by: "cli" }).ok);
    // A granted question copied under another name through a symlink.
    symlinkSync(join(dir, "f1.json"), join(dir, "f2.json"));
    symlinkSync(join(dir, "f1.answer.json"), join(dir, "f2.answer.json"));
    // A record with a field no version knows, and one naming another id.
    writeFileSync(join(dir, "f3.json"), JSON.stringify({ ...question("f3"), grantAll: true }));
    writeFileSync(join(dir, "f3.answer.json"), JSON.stringify({ version: 1, id: "f3", answer: "allow-once", by: "cli", at: clock.t }));
    writeFileSync(join(dir, "f4.json"), JSON.stringify(question("f1")));
    writeFileSync(join(dir, "f4.answer.json"), JSON.stringify({ version: 1, id: "f4", answer: "allow-once", by: "cli", at: clock.t }));
    // A real question whose answer is a symlink to a forged answer elsewhere.
    store.save(question("f5"));
    const forged = join(root, "forged-answer.json");
    writeFileSync(forged, JSON.stringify({ version: 1, id: "f5", answer: "allow-once", by: "cli", at: clock.t }));
    symlinkSync(forged, join(dir, "f5.answer.json"));

    const problems: string[] = [];
    const ids = store.list(problems).map((e) => [e.question.id, e.status.state]);
    assert.deepEqual(ids, [["f1", "granted"]]);
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.ok(problems.some((p) => /f2.*symbolic link/.test(p)));
    assert.ok(problems.some((p) => /f5.*symbolic link/.test(p)));
    // f5 cannot be answered through the planted link either: the link is not written through.
    assert.ok(!store.answer("f5", { answer: "allow-once", by: "cli" }).ok);
    assert.equal(JSON.parse(readFileSync(forged, "utf8")).id, "f5", "the link's target is untouched");
    assert.equal(store.consume(BINDING)?.question.id, "f1");
    assert.equal(store.consume(BINDING), undefined);
  });

  test("a store directory that is a symlink grants nothing", () => {
    const clock = { t: 1_000_000 };
    const real = freshDir();
    const store = storeAt(real, clock);
    store.save(question("g1"));
    assert.ok(store.answer("g1", { answer: "allow-once", by: "cli" }).ok);
    const linked = join(dirname(dirname(real)), "linked-held-calls");
    symlinkSync(real, linked);
    const problems: string[] = [];
    assert.equal(storeAt(linked, clock).consume(BINDING, problems), undefined);
    assert.match(problems.join("\n"), /not a directory \(a link or a file\)/);
  });

  test("eight processes race to use one grant: exactly one gets it", async () => {
    const dir = freshDir();
    const store = new HeldCallStore(dir);
    store.save(question("h1", { createdAt: Date.now(), expiresAt: Date.now() + 60_000 }));
    assert.ok(store.answer("h1", { answer: "allow-once", by: "cli" }).ok);
    const module = join(dirname(fileURLToPath(import.meta.url)), "../../src/adapters/grant-store.js");
    const script = `import(${JSON.stringify(module)}).then((m) => { const s = new m.HeldCallStore(${JSON.stringify(dir)}); const go = ${Date.now() + 1500}; while (Date.now() < go); process.stdout.write(s.consume(${JSON.stringify(BINDING)}) ? "got" : "none"); })`;
    const outs = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.on("error", reject);
        child.on("close", () => resolve(out));
      })),
    );
    assert.equal(outs.filter((o) => o === "got").length, 1, outs.join(","));
    assert.equal(outs.filter((o) => o === "none").length, 7);
  });
});

describe("held-call state and text", () => {
  test("an answer dated outside the question's time, or not offered, is a denial", () => {
    const q = question("s1");
    assert.equal(heldCallState(q, { version: 1, id: "s1", answer: "allow-once", by: "cli", at: q.createdAt - 1 }, q.createdAt).state, "denied");
    assert.equal(heldCallState(q, { version: 1, id: "s1", answer: "allow-once", by: "cli", at: q.expiresAt + 1 }, q.expiresAt + 2).state, "denied");
    assert.equal(heldCallState(q, { version: 1, id: "s1", answer: "allow-always", by: "cli", at: q.createdAt }, q.createdAt).state, "denied");
    assert.equal(heldCallState(q, undefined, q.expiresAt).state, "expired");
  });

  test("the instructions name the command and the retry, and never a link that could approve (they reach the model)", () => {
    const t = retryInstructions({ tool: "mcp__fx__echo", reason: "ask rule", id: "abc123", retryWindowMs: 600_000, why: "this client cannot show the question" });
    assert.match(t, /`mcp-warden approvals approve abc123`/);
    assert.doesNotMatch(t, /approvals list|console/, "no console without one");
    assert.doesNotMatch(t, /http:|\?t=/);
    const withConsole = retryInstructions({ tool: "mcp__fx__echo", reason: "ask rule", id: "abc123", retryWindowMs: 600_000, why: "x", console: true });
    assert.match(withConsole, /answers it in the console: `mcp-warden console` prints a sign-in link/);
    assert.doesNotMatch(withConsole, /http:|\?t=|approvals list/);
    assert.match(t, /again with exactly the same arguments within 10 min: it goes through once/);
  });
});
