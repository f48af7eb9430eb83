// `mcp-warden run`'s lean entry takes exactly the settings files; anything else goes to the full command line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRunArgs } from "../../src/cli/run-main.js";

test("the lean run parses repeated --settings in both spellings, in order", () => {
  assert.deepEqual(parseRunArgs([]), []);
  assert.deepEqual(parseRunArgs(["--settings", "/a.json", "--settings=/b.json", "--settings", "c.json"]), ["/a.json", "/b.json", "c.json"]);
});

test("the lean run hands anything else to the full command line (help, unknown options, a missing value, a positional)", () => {
  for (const args of [["--help"], ["-h"], ["--settings"], ["--frobnicate"], ["extra"], ["--settings", "/a.json", "--version"]]) {
    assert.equal(parseRunArgs(args), undefined, JSON.stringify(args));
  }
});
