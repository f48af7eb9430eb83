// `mcp-warden run` reloads its settings files while a client is connected, as serve does: the real
// gateway, the real fixture server and the real CLI editing the settings. Proved here:
// - `servers disable --deny` contains a server in the session running now: its process ends, its
//   tools leave the client's list, a call to it is refused, `server`/`blocked` is audited with
//   `by: settings-reload`, and the command reports that this gateway stopped it;
// - a rule written to the settings applies to the next call, without a restart; a settings file that
//   no longer parses changes nothing (the rules in force stay, the rejection is audited);
// - an "allow for this session" grant ends when a reload changes the rules (it was bound to them).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { alive, auditRecords, connect, FIXTURE, scratch, waitFor, waitForExit, wardenAsync, type Connected, type Scratch } from "./harness.js";

const text = (r: { content?: unknown }) => JSON.stringify(r.content);
/** A tool call's answer, or the JSON-RPC error the gateway refused it with (a denial is one). */
async function call(c: Connected, name: string, args: Record<string, unknown>): Promise<{ ok: boolean; text: string }> {
  try {
    const r = await c.client.callTool({ name, arguments: args });
    return { ok: r.isError !== true, text: text(r) };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}
/** Polls an asynchronous check until it holds, bounded in time. */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const readSettings = (s: Scratch) => JSON.parse(readFileSync(s.settingsFile, "utf8")) as Record<string, unknown>;

describe("run reloads its settings while a client is connected", () => {
  let s: Scratch;
  let c: Connected;
  const pidFile = () => join(s.dir, "fx.pid");
  let asked = 0;
  const answers: Record<string, unknown>[] = [];

  before(async () => {
    s = scratch({});
    writeFileSync(
      s.settingsFile,
      JSON.stringify({
        ...readSettings(s),
        mcpServers: {
          fx: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_PID_FILE: join(s.dir, "fx.pid") } },
          other: { command: process.execPath, args: [FIXTURE] },
        },
        permissions: { allow: ["mcp__fx__echo", "mcp__other__echo"], ask: ["mcp__other__env"] },
      }),
    );
    c = await connect(s, {
      elicitation: () => {
        asked++;
        return answers.shift() ?? { action: "decline" };
      },
    });
  });
  after(async () => {
    await c?.close().catch(() => undefined);
    s?.cleanup();
  });

  it("an 'allow for this session' grant ends when a reload changes the rules, and holds while they stay", async () => {
    answers.push({ action: "accept", content: { decision: "allow-session" } });
    const first = await call(c, "other__env", { name: "HOME" });
    assert.ok(first.ok, first.text);
    assert.equal(asked, 1);
    assert.ok((await call(c, "other__env", { name: "HOME" })).ok);
    assert.equal(asked, 1, "the grant holds under the same rules");
    // A rule for another tool: the rules changed, so the grant made under the old ones ends.
    const settings = readSettings(s);
    const permissions = settings.permissions as Record<string, string[]>;
    writeFileSync(s.settingsFile, JSON.stringify({ ...settings, permissions: { ...permissions, deny: ["mcp__other__crash"] } }));
    await waitFor("the reload", () => auditRecords(s).some((r) => r.kind === "gateway" && r.event === "settings-reloaded"));
    const after = await call(c, "other__env", { name: "HOME" });
    assert.equal(asked, 2, "asked again under the new rules");
    assert.ok(!after.ok, "declined this time");
    assert.match(after.text, /denied by a person/);
  });

  it("a rule written to the settings applies to the next call; a file that no longer parses leaves the rules in force", async () => {
    const before = await call(c, "other__echo", { text: "before" });
    assert.match(before.text, /echo: before/);
    const settings = readSettings(s);
    const permissions = settings.permissions as Record<string, string[]>;
    writeFileSync(s.settingsFile, JSON.stringify({ ...settings, permissions: { ...permissions, deny: [...(permissions.deny ?? []), "mcp__other__echo"] } }));
    await until("the rule in force", async () => !(await call(c, "other__echo", { text: "x" })).ok);
    const denied = await call(c, "other__echo", { text: "after" });
    assert.match(denied.text, /denied by rule "mcp__other__echo"/);

    const rejectedBefore = auditRecords(s).filter((r) => r.event === "settings-reload-rejected").length;
    writeFileSync(s.settingsFile, "{ not json");
    await waitFor("the rejection", () => auditRecords(s).filter((r) => r.event === "settings-reload-rejected").length > rejectedBefore);
    const still = await call(c, "other__echo", { text: "still" });
    assert.match(still.text, /denied by rule "mcp__other__echo"/, "the deny rule in force stays: a broken file loosens nothing");
    assert.match(c.stderr(), /settings reload rejected, the previous settings stay in force/);
    // Put back as it was before the broken write, with the deny rule, and wait for that reload.
    const reloads = auditRecords(s).filter((r) => r.event === "settings-reloaded").length;
    writeFileSync(s.settingsFile, JSON.stringify({ ...settings, permissions: { ...permissions, deny: [...(permissions.deny ?? []), "mcp__other__echo"] } }));
    await waitFor("the good file reloaded", () => auditRecords(s).filter((r) => r.event === "settings-reloaded").length > reloads);
  });

  it("`servers disable --deny` stops the server in the running session: process ended, tools gone, calls refused, audited, and the command says so", async () => {
    const ok = await call(c, "fx__echo", { text: "running" });
    assert.match(ok.text, /echo: running/);
    const pid = Number(readFileSync(pidFile(), "utf8"));
    assert.ok(alive(pid));
    let listChanged = 0;
    c.client.setNotificationHandler("notifications/tools/list_changed", () => void listChanged++);

    const r = await wardenAsync(s, ["servers", "disable", "fx", "--deny", "--settings", s.settingsFile]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /stopped 'fx' \(its settings reload\)/, r.stdout);
    assert.doesNotMatch(r.stdout, /still runs/);

    await waitForExit(pid, 5_000);
    assert.ok(!alive(pid), "the server's process ended");
    await until("the client told its list changed", async () => listChanged > 0);
    let tools: string[] = [];
    await until("fx's tools gone from the list", async () => {
      tools = (await c.client.listTools()).tools.map((t) => t.name);
      return !tools.some((t) => t.startsWith("fx__"));
    });
    assert.ok(tools.includes("other__echo") || tools.includes("other__env"), "the other server goes on");
    const refused = await call(c, "fx__echo", { text: "after" });
    assert.ok(!refused.ok, refused.text);
    const blocked = auditRecords(s).find((x) => x.kind === "server" && x.event === "blocked" && x.server === "fx");
    assert.ok(blocked, "server/blocked audited");
    assert.equal((blocked.detail as { by?: string }).by, "settings-reload");
    assert.equal(blocked.decision, "deny");
  });
});
