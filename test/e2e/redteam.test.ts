// The shared red-team cases of the categories this version covers (all of them: bash, path, sql, network, mcp), run by
// their own runner against this build, as part of the suite CI runs.
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
});
