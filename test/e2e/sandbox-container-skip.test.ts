// The container suite (sandbox-container.test.ts) skips a backend only when its engine is really
// absent, and then says what to install; it never fails for that. Here the engines are made absent
// for real: the suite runs with a PATH that holds only `sh` (no podman, dockerd or docker), so every
// backend, gVisor's included, must skip with its reason. (On this host the engines are installed,
// and the suite itself runs all of them with no skips.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./harness.js";

test("with no engine installed, every container backend skips, saying what to install, and nothing fails", () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-no-engine-"));
  try {
    symlinkSync("/bin/sh", join(dir, "sh"));
    const env: NodeJS.ProcessEnv = { PATH: dir, HOME: process.env.HOME ?? "/root" };
    const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", join(ROOT, "dist/test/e2e/sandbox-container.test.js")], { env, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# fail 0$/m);
    const skips = r.stdout.split("\n").filter((l) => /^ok \d+ - .* sandbox against the real engine # SKIP/.test(l));
    assert.equal(skips.length, 4, r.stdout);
    for (const label of ["podman", "docker", "podman\\+runsc", "docker\\+runsc"]) {
      const line = skips.find((l) => new RegExp(`- ${label} sandbox`).test(l)) ?? "";
      assert.match(line, /is not installed \(apt-get install .*\.ci\/run does this\)/, label);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
