// The docs' screenshot script keeps working as the pages change: run as a real process into a
// scratch directory, it signs in, visits every page and runs an incident, writing one PNG per page.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "./harness.js";
import { oidcUnavailable } from "./oidc.js";
import { browserUnavailable } from "./playwright.js";

const unavailable = oidcUnavailable() ?? browserUnavailable();
const skip = unavailable === undefined || process.env.CI ? false : `the screenshot script cannot run here: ${unavailable}`;
const PAGES = ["overview", "approvals", "activity", "record", "servers", "server", "policy", "incidents", "incident-report"];

describe("the console's screenshot script", { skip, timeout: 180_000 }, () => {
  it("writes a PNG of every page, the incident report included", async () => {
    const out = mkdtempSync(join(tmpdir(), "warden-shots-"));
    try {
      const child = spawn(process.execPath, [join(ROOT, "dist/scripts/console-screenshots.js"), "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      assert.equal(code, 0, stderr);
      assert.deepEqual(readdirSync(out).sort(), PAGES.map((p) => `${p}.png`).sort());
      for (const p of PAGES) {
        const png = readFileSync(join(out, `${p}.png`));
        assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", p);
        assert.ok(png.length > 10_000, `${p}.png is ${png.length} bytes`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
