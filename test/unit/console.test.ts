// The console's pure parts: the one escaping helper and the pages built with it, given hostile
// strings from agents, tools and servers; the role mapping; the sessions' expiry and sign-in binding;
// and reading the real audit log newest first (pages, cursors, references, a partial last line).
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AuditLog, type AuditEntry } from "../../src/audit/index.js";
import { linesBackward, readNewestFirst } from "../../src/audit/newest-first.js";
import type { PendingApproval } from "../../src/approvals/broker.js";
import { fileActivity } from "../../src/fronts/console/activity.js";
import { html, preformatted } from "../../src/fronts/console/html.js";
import { activityTable, approvalsPage, recordPage } from "../../src/fronts/console/pages.js";
import { consoleRole, may } from "../../src/fronts/console/roles.js";
import { ConsoleSessions, parseCookies } from "../../src/fronts/console/sessions.js";
import { ownerOf } from "../../src/gateway/downstream.js";
import type { Principal } from "../../src/policy/principal.js";
import { renderArguments, visibleText } from "../../src/policy/integrity/display.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "warden-console-"));
  dirs.push(d);
  return d;
};

const HOSTILE = `</pre><script>alert(1)</script><img src=x onerror="alert(2)">'"\`&\u202eevil\u200b`;
const viewer = { name: `<b>${HOSTILE}</b>`, role: "approver", csrf: `tok"en<` };

/** No element or attribute an attacker's string could have opened survives escaping. */
function assertInert(page: string): void {
  assert.doesNotMatch(page, /<script>alert/);
  assert.doesNotMatch(page, /<img /);
  assert.doesNotMatch(page, /"alert\(2\)"/, "the attacker's quotes are entities: no attribute can be opened or closed");
  assert.doesNotMatch(page, /\u202e|\u200b/, "invisible characters are shown as escapes, never sent raw");
  assert.doesNotMatch(page, /<b>/);
}

describe("html: the one escaping helper", () => {
  test("plain strings are made visible and escaped; markup built by html is kept; preformatted keeps its line feeds", () => {
    const inner = html`<em>${HOSTILE}</em>`;
    const out = html`<p title="${HOSTILE}">${HOSTILE}${inner}${preformatted("a\nb<")}${[1, "<x>", undefined, null, false]}</p>`.text;
    assertInert(out);
    assert.ok(out.includes("&#60;/pre&#62;&#60;script&#62;"), out);
    assert.ok(out.includes(visibleText("\u202e")), "the bidi override is shown as its escape");
    assert.ok(out.includes("<em>"), "html inside html is not escaped twice");
    assert.ok(out.includes("a\nb&#60;"), "preformatted text keeps its newline and is escaped");
    assert.ok(out.includes("1&#60;x&#62;"));
    assert.doesNotMatch(out, /undefined|null|false/);
    // An attribute cannot be closed early: every quote is an entity.
    assert.doesNotMatch(out, /title="[^"]*"[^>]*onerror/);
  });
});

describe("pages with hostile data", () => {
  const principal: Principal = { subject: "user-carol", groups: ["approvers"], scopes: [], method: "oidc", issuer: "https://idp" };
  const question = (over: Partial<PendingApproval> = {}): PendingApproval => ({
    id: "abc123",
    kind: "tool-change",
    server: `srv${HOSTILE}`,
    serverIdentity: "sha256:x",
    tool: `mcp__srv__${HOSTILE}`,
    arguments: { [HOSTILE]: HOSTILE, nested: { deep: [HOSTILE] } },
    argumentsDigest: "sha256:d",
    reason: `reason ${HOSTILE}`,
    rule: `rule ${HOSTILE}`,
    diff: `- old\n+ new ${HOSTILE}`,
    policyVersion: "v",
    principal: "oidc|https://idp|user-alice",
    answers: ["allow-once", "deny"],
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    ...over,
  });

  test("the approvals page shows every hostile string as text, with the arguments in full and the diff, and answer buttons bound to the question", () => {
    const page = approvalsPage(viewer, { questions: [question()], owner: ownerOf(principal), canAnswer: true, now: Date.now() }).text;
    assertInert(page);
    assert.ok(page.includes('action="/console/approvals/abc123"'));
    assert.ok(page.includes('name="answer" value="allow-once"') && page.includes('name="answer" value="deny"'));
    assert.doesNotMatch(page, /value="allow-session"/, "only the answers the question offers");
    assert.ok(page.includes('name="csrf" value="tok&#34;en&#60;"'), "the CSRF token is escaped in its attribute");
    assert.ok(page.includes("Hidden characters"));
    // The arguments exactly as renderArguments lays them out (then escaped).
    const rendered = renderArguments(question().arguments, { width: 100 }).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
    assert.ok(page.includes(rendered));
    assert.ok(page.includes("What changed"));
  });

  test("a viewer gets no buttons; nor does an approver for a question about their own call", () => {
    const asViewer = approvalsPage(viewer, { questions: [question()], owner: ownerOf(principal), canAnswer: false, now: Date.now() }).text;
    assert.doesNotMatch(asViewer, /<button type="submit" name="answer"/);
    assert.match(asViewer, /cannot answer/);
    const own = approvalsPage(viewer, { questions: [question({ principal: ownerOf(principal) })], owner: ownerOf(principal), canAnswer: true, now: Date.now() }).text;
    assert.doesNotMatch(own, /<button type="submit" name="answer"/);
    assert.match(own, /your own call/);
  });

  test("the activity table and a record's page escape every field", () => {
    const record = {
      v: 1 as const,
      seq: 3,
      time: "2025-06-01T12:00:00.000Z",
      prev: "0".repeat(64),
      kind: "call" as const,
      event: "decided",
      principal: { subject: HOSTILE, method: "oidc" },
      server: HOSTILE,
      tool: `mcp__x__${HOSTILE}`,
      decision: "deny" as const,
      reason: HOSTILE,
      rule: HOSTILE,
      ruleSource: { layer: "user" as const, file: HOSTILE, path: HOSTILE },
      arguments: { a: HOSTILE },
    };
    assertInert(activityTable([{ ref: "r1", record }]).text);
    const page = recordPage(viewer, record, { verdict: { decision: "deny", reason: HOSTILE, rule: HOSTILE }, as: HOSTILE, caveats: [HOSTILE] }).text;
    assertInert(page);
    assert.match(page, /today's policy/);
  });
});

describe("roles", () => {
  const p = (over: Partial<Principal>): Principal => ({ subject: "u", groups: [], scopes: [], method: "oidc", issuer: "https://idp", ...over });
  const roles = { admin: ["group:secops"], approver: ["group:approvers", "user:bob"], viewer: ["org:acme"] };

  test("the highest matching role wins; remote.auth.approvers are approvers; nothing matching is no role", () => {
    assert.equal(consoleRole(p({ groups: ["secops", "approvers"] }), roles, []), "admin");
    assert.equal(consoleRole(p({ subject: "bob" }), roles, []), "approver");
    assert.equal(consoleRole(p({ org: "acme" }), roles, []), "viewer");
    assert.equal(consoleRole(p({ subject: "dave", org: "acme" }), roles, ["user:dave"]), "approver");
    assert.equal(consoleRole(p({ groups: ["eng"] }), roles, []), undefined);
    assert.equal(consoleRole(p({}), {}, []), undefined, "no roles configured: nobody gets in");
    assert.equal(consoleRole(p({}), { viewer: ["*"] }, []), "viewer", "* is anyone who signs in");
    assert.equal(consoleRole(p({}), {}, ["*"]), undefined, "an approvers list of * grants nobody, as for /v1/approvals");
    assert.equal(consoleRole({ subject: "u", groups: ["secops"], scopes: [], method: "local" }, { admin: ["*"] }, []), undefined, "the local user is no signed-in person");
  });

  test("what each role may do", () => {
    assert.deepEqual((["read", "answer", "administer"] as const).map((a) => may("viewer", a)), [true, false, false]);
    assert.deepEqual((["read", "answer", "administer"] as const).map((a) => may("approver", a)), [true, true, false]);
    assert.deepEqual((["read", "answer", "administer"] as const).map((a) => may("admin", a)), [true, true, true]);
    assert.equal(may(undefined, "read"), false);
  });
});

describe("sessions", () => {
  const principal: Principal = { subject: "u", groups: [], scopes: [], method: "oidc" };
  test("a session ends after its idle time, and after its absolute time however active", () => {
    let now = 0;
    const s = new ConsoleSessions({ idleMs: 1000, maxMs: 3000, now: () => now });
    const { cookie } = s.create(principal, "U");
    now = 900;
    assert.ok(s.get(cookie));
    now = 1800;
    assert.ok(s.get(cookie), "activity restarts the idle time");
    now = 2900;
    assert.equal(s.get(cookie), undefined, "idle for 1100 ms");
    const second = s.create(principal, "U").cookie;
    for (now = 3000; now < 5900; now += 500) assert.ok(s.get(second));
    now = 6000;
    assert.equal(s.get(second), undefined, "three seconds after sign-in");
    assert.equal(s.get("made-up"), undefined);
    assert.equal(s.get(undefined), undefined);
  });

  test("a sign-in is taken once, only by the browser that started it, within ten minutes", () => {
    let now = 0;
    const s = new ConsoleSessions({ idleMs: 1000, maxMs: 3000, now: () => now });
    const pending = { state: "st", nonce: "n", verifier: "v" };
    const binding = s.beginSignIn(pending, "/console/activity");
    assert.equal(s.takeSignIn("st", "another browser"), undefined);
    assert.deepEqual(s.takeSignIn("st", binding), { pending, returnTo: "/console/activity" });
    assert.equal(s.takeSignIn("st", binding), undefined, "used once");
    const late = s.beginSignIn({ ...pending, state: "st2" }, "/console");
    now = 10 * 60_000 + 1;
    assert.equal(s.takeSignIn("st2", late), undefined, "expired");
  });

  test("cookies parse, the first of a repeated name wins", () => {
    assert.deepEqual([...parseCookies("a=1; b=2; a=3;junk; c=")], [["a", "1"], ["b", "2"], ["c", ""]]);
    assert.equal(parseCookies(null).size, 0);
  });
});

describe("reading the file audit log newest first", () => {
  const entries = (from: number, n: number): AuditEntry[] =>
    Array.from({ length: n }, (_, i) => ({ kind: "call", event: "decided", id: String(from + i), server: i % 2 ? "odd" : "even", tool: `mcp__s__t${from + i}`, decision: i % 3 === 0 ? "deny" : "allow" }));

  function writeLog(): { dir: string; ids: string[] } {
    const dir = tempDir();
    for (const [from, n] of [[0, 40], [40, 3000], [3040, 25]] as const) {
      const log = AuditLog.open({ dir, fsyncIntervalMs: 1000 });
      for (const e of entries(from, n)) log.append(e);
      log.close();
    }
    return { dir, ids: Array.from({ length: 3065 }, (_, i) => String(3064 - i)) };
  }

  test("every record once, newest first, across segments and chunks; a line without its newline is left out", () => {
    const { dir, ids } = writeLog();
    const segments = [...readNewestFirst(dir)].filter((x) => x.record?.kind === "call").map((x) => x.record!.id);
    assert.deepEqual(segments, ids);
    const last = readNewestFirst(dir).next().value!;
    appendFileSync(join(dir, last.segment), '{"v":1,"partial');
    assert.equal(readNewestFirst(dir).next().value!.offset, last.offset, "the partial line is not a record yet");
    const lines = [...linesBackward(join(dir, last.segment))];
    assert.equal(lines.at(-1)!.offset, 0);
  });

  test("pages follow their cursors without gap or repeat, references open the same record, and filters apply", async () => {
    const { dir, ids } = writeLog();
    const activity = fileActivity(dir);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await activity.page({ kind: "call" }, cursor, 97);
      for (const r of page.records) {
        seen.push(r.record.id!);
        assert.equal((await activity.get(r.ref))?.id, r.record.id);
      }
      if (!page.next) break;
      cursor = page.next;
    }
    assert.deepEqual(seen, ids);
    const denials = await activity.page({ decision: "deny", server: "even" }, undefined, 10);
    assert.equal(denials.records.length, 10);
    assert.ok(denials.records.every((r) => r.record.decision === "deny" && r.record.server === "even"));
    assert.equal(await activity.get("not-a-ref"), undefined);
    assert.equal(await activity.get(Buffer.from(JSON.stringify(["../../etc/passwd", 0])).toString("base64url")), undefined, "only segment names");
    const mid = (await activity.page({}, undefined, 1)).records[0]!;
    const [segment, offset] = JSON.parse(Buffer.from(mid.ref, "base64url").toString()) as [string, number];
    assert.equal(await activity.get(Buffer.from(JSON.stringify([segment, offset + 1])).toString("base64url")), undefined, "not a line start");
  });

  test("a search that finds little stops at its bound and offers to continue from there", async () => {
    const { dir } = writeLog();
    const activity = fileActivity(dir, { maxScan: 500 });
    let cursor: string | undefined;
    const found: string[] = [];
    let limitedPages = 0;
    for (let i = 0; i < 20; i++) {
      const page = await activity.page({ tool: "mcp__s__t5" }, cursor, 10);
      found.push(...page.records.map((r) => r.record.id!));
      if (page.scanLimited) limitedPages++;
      assert.ok(page.records.length > 0 || page.scanLimited || !page.next);
      if (!page.next) break;
      cursor = page.next;
    }
    assert.deepEqual(found, ["5"]);
    assert.ok(limitedPages >= 5, `${limitedPages} pages stopped at the bound before the match`);
    const since = await fileActivity(dir).page({ since: new Date(Date.now() + 60_000) }, undefined, 10);
    assert.equal(since.records.length, 0);
    assert.equal(since.next, undefined, "newest first: past the range's start it stops");
  });

  test("calls per minute count the decided tool calls by decision", async () => {
    const { dir } = writeLog();
    const { minutes, partial } = await fileActivity(dir).callsPerMinute(new Date(Date.now() - 3_600_000));
    assert.equal(partial, false);
    const total = minutes.reduce((a, m) => ({ allow: a.allow + m.allow, deny: a.deny + m.deny, ask: a.ask + m.ask }), { allow: 0, ask: 0, deny: 0 });
    const all = [...entries(0, 40), ...entries(40, 3000), ...entries(3040, 25)];
    assert.deepEqual(total, { allow: all.filter((e) => e.decision === "allow").length, ask: 0, deny: all.filter((e) => e.decision === "deny").length });
  });
});
