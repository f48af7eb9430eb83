// `npm run demo` (scripts/demo.ts) against the real example servers: the tools it says the deny rules
// hide are computed from what the servers offer (not a fixed list), and the session's audit log is
// kept where the demo says, so `mcp-warden audit` shows it after the demo has exited.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, ROOT, scratch } from "./harness.js";

test("the demo lists every tool the deny rules hide, and keeps its audit log for `mcp-warden audit`", () => {
  const s = scratch({});
  try {
    const demoDir = join(s.dir, "demo");
    const r = spawnSync(process.execPath, [join(ROOT, "dist/scripts/demo.js")], { cwd: ROOT, env: { ...s.env, MCP_WARDEN_DEMO_DIR: demoDir }, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const hidden = /Hidden by deny rules[^\n]*\n((?: {2}\S.*\n)+)/.exec(r.stdout)?.[1] ?? "";
    const names = hidden.split("\n").map((l) => l.trim().split(" ")[0]).filter(Boolean);
    // Every tool of the example's servers that a deny rule of examples/settings.json covers, and no other.
    for (const t of ["everything__get-env", "files__write_file", "files__edit_file", "files__move_file", "memory__delete_entities", "memory__delete_observations", "memory__delete_relations"])
      assert.ok(names.includes(t), `${t} missing from: ${hidden}`);
    for (const t of ["everything__echo", "files__read_text_file", "memory__create_entities"]) assert.ok(!names.includes(t), t);
    assert.match(hidden, /memory__delete_entities \(mcp__\*__delete\*\)/, "each with the rule that hides it");

    const auditDir = join(demoDir, "mcp-warden", "audit");
    assert.ok(r.stdout.includes(`The audit log is kept in ${auditDir}`), r.stdout.slice(-400));
    const after = spawnSync(process.execPath, [CLI, "audit", "--dir", auditDir, "--kind", "call", "--json"], { cwd: s.project, env: s.env, encoding: "utf8" });
    assert.equal(after.status, 0, after.stderr);
    const records = after.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { tool?: string; decision?: string });
    assert.ok(records.some((x) => x.tool === "mcp__everything__echo" && x.decision === "allow"));
    assert.ok(records.some((x) => x.tool === "mcp__files__write_file" && x.decision === "deny"));
  } finally {
    s.cleanup();
  }
});
