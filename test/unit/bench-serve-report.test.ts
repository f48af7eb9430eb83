// The pieces of bench/serve.ts that turn measurements into docs/PERFORMANCE.md: the CPU profile
// summary (self and inclusive shares from a V8 .cpuprofile) and the splice that replaces only the
// serve section of the document.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { areaOf, summarizeProfile } from "../../bench/cpu-profile.js";
import { SERVE_HEADING, spliceSection } from "../../bench/serve.js";

describe("bench: serve section of docs/PERFORMANCE.md", () => {
  it("replaces the serve section in place and keeps the sections around it", () => {
    const doc = ["# Performance", "", "## Before", "kept", "", SERVE_HEADING, "old numbers", "", "## Sandbox start-up", "kept too", ""].join("\n");
    const out = spliceSection(doc, [SERVE_HEADING, "new numbers", ""]);
    assert.equal(out, ["# Performance", "", "## Before", "kept", "", SERVE_HEADING, "new numbers", "", "## Sandbox start-up", "kept too", ""].join("\n"));
  });

  it("puts the section before the sandbox section when the document has none yet", () => {
    const doc = ["# Performance", "## Sandbox start-up", "x"].join("\n");
    assert.equal(spliceSection(doc, [SERVE_HEADING, "n"]), ["# Performance", SERVE_HEADING, "n", "## Sandbox start-up", "x"].join("\n"));
  });

  it("profile summary: self time by function and area, inclusive time by piece, idle left out", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-profile-"));
    try {
      const file = join(dir, "p.cpuprofile");
      const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url, lineNumber: 0 }, children });
      const pipeline = "file:///x/dist/src/gateway/pipeline.js";
      const profile = {
        nodes: [
          frame(1, "(root)", "", [2, 3, 5]),
          frame(2, "runPipeline", pipeline, [4]),
          frame(3, "(idle)", ""),
          frame(4, "safeParse", "file:///x/node_modules/zod/v4/classic/schemas.js"),
          frame(5, "(garbage collector)", ""),
        ],
        // 30 µs in runPipeline itself, 10 in zod under it, 60 in GC, 500 idle.
        samples: [2, 4, 5, 3],
        timeDeltas: [30, 10, 60, 500],
      };
      writeFileSync(file, JSON.stringify(profile));
      const s = summarizeProfile(file);
      assert.equal(s.busyMs, 0.1);
      assert.deepEqual(
        s.areas.map((a) => [a.area, a.share]),
        [["(garbage collector)", 0.6], ["mcp-warden src/gateway", 0.3], ["zod", 0.1]],
      );
      const piece = (label: RegExp) => s.inclusive.find((x) => label.test(x.label))!.share;
      assert.equal(piece(/gateway pipeline/), 0.4, "runPipeline counts the zod call under it");
      assert.equal(piece(/zod/), 0.1);
      assert.equal(piece(/garbage/), 0.6);
      assert.equal(piece(/HTTP listener/), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names areas: packages (scoped too), mcp-warden directories, Node internals", () => {
    assert.equal(areaOf("file:///r/node_modules/@modelcontextprotocol/server/dist/index.mjs", "f"), "@modelcontextprotocol/server");
    assert.equal(areaOf("file:///r/dist/src/fronts/http/serve.js", "route"), "mcp-warden src/fronts");
    assert.equal(areaOf("node:internal/streams/writable", "write"), "node:internal");
  });
});
