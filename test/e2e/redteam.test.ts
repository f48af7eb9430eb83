// The shared red-team cases of the categories this version covers (all of them: bash, path, sql, network, mcp), run by
// their own runner against this build, as part of the suite CI runs; then our own variants of the same
// classes (test/fixtures/redteam-variants.json) through the same runner.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, sharedDir } from "./harness.js";

const shared = sharedDir("redteam");
const RUNNER = "dir" in shared ? join(shared.dir, "run.mjs") : "";

describe("shared red-team cases", () => {
  it("stops every attack of every category and allows every near-miss", { skip: RUNNER && existsSync(RUNNER) ? false : "skip" in shared ? shared.skip : `no runner at ${RUNNER}` }, () => {
    const r = spawnSync(process.execPath, [RUNNER, "--verbose"], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
    const last = r.stdout.trim().split("\n").at(-1) ?? "";
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(last, /^redteam: \d+ passed, 0 failed/);
  });
  // The shared cases are a sample of larger classes: these are ours, of the same classes (a URL whose
  // host depends on the parser; files that run code or steer an agent later), with their near-misses.
  it("stops our own variants of the shared classes and allows their near-misses", { skip: RUNNER && existsSync(RUNNER) ? false : "skip" in shared ? shared.skip : `no runner at ${RUNNER}` }, () => {
    const r = spawnSync(process.execPath, [RUNNER, "--verbose", join(ROOT, "test/fixtures/redteam-variants.json")], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
    const last = r.stdout.trim().split("\n").at(-1) ?? "";
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(last, /^redteam: 19 passed, 0 failed, 0 skipped$/);
  });
});
