// The settings watcher of serve and run (src/ops/settings-reload.ts) on real files in a temporary
// directory: a change is loaded and applied once after its burst of writes; a change written while
// another is being applied is applied right after it, not at the next poll (a containment must not
// wait for it); a load that throws is reported and changes nothing.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { watchSettings } from "../../src/ops/settings-reload.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("the settings watcher", () => {
  let dir: string;
  let file: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "warden-reload-"));
    mkdirSync(join(dir, "managed"));
    file = join(dir, "settings.json");
    env = { HOME: dir, XDG_CONFIG_HOME: join(dir, ".config"), XDG_STATE_HOME: join(dir, ".state"), MCP_WARDEN_MANAGED_DIR: join(dir, "managed") };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A watcher whose poll never comes within a test (60 s): only the watch and the watcher's own logic can apply a change. */
  function watcher(applyMs: number) {
    writeFileSync(file, JSON.stringify({ v: 0 }));
    const started: number[] = [];
    const applied: number[] = [];
    const rejected: string[] = [];
    const w = watchSettings<{ v: number }>({
      cwd: dir,
      env,
      cliFiles: [file],
      directories: [],
      load: () => JSON.parse(readFileSync(file, "utf8")) as { v: number },
      apply: async (next) => {
        started.push(next.v);
        await sleep(applyMs);
        applied.push(next.v);
      },
      rejected: (e) => rejected.push(e.message),
      debounceMs: 50,
      pollMs: 60_000,
    });
    return { w, started, applied, rejected };
  }

  it("a burst of writes is one reload of the last content", async () => {
    const { w, applied } = watcher(0);
    try {
      for (let v = 1; v <= 5; v++) writeFileSync(file, JSON.stringify({ v }));
      await until("the reload", () => applied.length > 0);
      await sleep(200);
      assert.deepEqual(applied, [5]);
    } finally {
      w.close();
    }
  });

  it("a change written while another is being applied is applied right after it, not at the next poll", async () => {
    const { w, started, applied } = watcher(400);
    try {
      writeFileSync(file, JSON.stringify({ v: 1 }));
      // Written while v1 is being applied (its apply takes 400 ms).
      await until("v1 being applied", () => started.includes(1));
      writeFileSync(file, JSON.stringify({ v: 2 }));
      await until("the second change applied", () => applied.includes(2), 3_000);
      assert.deepEqual(applied, [1, 2]);
    } finally {
      w.close();
    }
  });

  it("a file that does not load is reported and applies nothing; the next good one applies", async () => {
    const { w, applied, rejected } = watcher(0);
    try {
      writeFileSync(file, "{ broken");
      await until("the rejection", () => rejected.length > 0);
      assert.equal(applied.length, 0);
      writeFileSync(file, JSON.stringify({ v: 7 }));
      await until("the good file", () => applied.includes(7));
    } finally {
      w.close();
    }
  });
});
