// The container tests (sandbox-container.test.ts) skip with a reason, and do not fail, when an
// engine answers but the test image is neither present nor can be pulled (a machine without network).
// The engine here is a stand-in `podman` on PATH whose `info` answers and whose `pull` and
// `image inspect` fail as a real podman does offline; the container test file runs under it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./harness.js";

test("an engine that answers without a pullable image: the container tests skip, naming the image and the pull error", () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-fake-engine-"));
  try {
    const calls = join(dir, "calls.log");
    writeFileSync(
      join(dir, "podman"),
      [
        "#!/bin/sh",
        `echo "$*" >> '${calls}'`,
        'case "$1" in',
        "  info) echo 5.0.0 ;;",
        "  pull) echo 'Error: initializing source docker://alpine:3: pinging container registry registry-1.docker.io: dial tcp: lookup registry-1.docker.io: no such host' >&2; exit 125 ;;",
        "  image) echo 'Error: alpine:3: image not known' >&2; exit 125 ;;",
        "  *) echo 'Error: no image' >&2; exit 125 ;;",
        "esac",
      ].join("\n"),
    );
    chmodSync(join(dir, "podman"), 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    delete env.MCP_WARDEN_TEST_IMAGE;
    // Run as a test run of its own, not as a child reporting to this one.
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", join(ROOT, "dist/test/e2e/sandbox-container.test.js")], { env, encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# fail 0$/m);
    const podmanSkips = r.stdout.split("\n").filter((l) => /# SKIP podman answers, but there is no alpine:3 image here/.test(l));
    assert.equal(podmanSkips.length, 4, r.stdout);
    assert.match(podmanSkips[0]!, /no such host/, "the pull's own error is quoted");
    assert.match(podmanSkips[0]!, /MCP_WARDEN_TEST_IMAGE/, "and what to do");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
