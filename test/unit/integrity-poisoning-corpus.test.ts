// False-positive check of the tool-poisoning scanner against REAL tool definitions captured from MCP
// servers published on npm (test/fixtures/tool-definitions/, one file per package, captured with
// scripts/capture-tool-definitions.ts). None of them is poisoned, so every finding is a false positive.
//
// Each tool is scanned twice: alone, and with every other captured server's tools as ScanContext
// (as if all of them were configured behind one gateway), which exercises the shadowing check on real
// overlapping names (read_file, create_issue, search_repositories ...).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { scanToolDefinition } from "../../src/policy/integrity/poisoning.js";
import type { PoisoningFinding, ScanContext, ToolDefinition } from "../../src/policy/integrity/poisoning.js";

interface CorpusFile {
  package: string;
  version: string;
  captured: string;
  tools: ToolDefinition[];
}

// The compiled test runs from <outDir>/test/unit; the fixtures stay in the source tree.
function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "test", "fixtures", "tool-definitions");
    try {
      if (readdirSync(candidate).some((f) => f.endsWith(".json"))) return candidate;
    } catch {
      // keep going up
    }
    dir = dirname(dir);
  }
  throw new Error("test/fixtures/tool-definitions not found");
}

function loadCorpus(): CorpusFile[] {
  const dir = fixturesDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as CorpusFile);
}

function countStrings(value: unknown): number {
  if (typeof value === "string") return 1;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countStrings(v), 0);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).reduce((n, [, v]) => n + 1 + countStrings(v), 0); // each key is a string too
  }
  return 0;
}

test("the corpus of real tool definitions is large enough to mean something (8+ servers, 100+ tools)", () => {
  const corpus = loadCorpus();
  const tools = corpus.reduce((n, c) => n + c.tools.length, 0);
  assert.ok(corpus.length >= 8, `servers: ${corpus.length}`);
  assert.ok(tools >= 100, `tools: ${tools}`);
  for (const c of corpus) {
    assert.ok(c.package && c.version && c.captured && Array.isArray(c.tools) && c.tools.length > 0, `malformed fixture ${c.package}`);
  }
});

test("scanning every real tool definition flags nothing (false positives = 0), alone and with all other servers as context", () => {
  const corpus = loadCorpus();
  const serverName = (pkg: string): string => pkg.replace(/^@/, "").replace(/[/@]/g, "-");
  const everyTool = corpus.flatMap((c) => c.tools.map((t) => ({ server: serverName(c.package), name: t.name })));
  const falsePositives: { pkg: string; tool: string; finding: PoisoningFinding }[] = [];
  let tools = 0;
  let strings = 0;
  for (const c of corpus) {
    const ctx: ScanContext = { server: serverName(c.package), otherTools: everyTool };
    for (const t of c.tools) {
      tools++;
      strings += countStrings(t);
      for (const finding of [...scanToolDefinition(t), ...scanToolDefinition(t, ctx)]) falsePositives.push({ pkg: c.package, tool: t.name, finding });
    }
  }
  console.log(`# poisoning corpus: ${corpus.length} servers, ${tools} tools, ${strings} strings scanned, ${falsePositives.length} findings`);
  assert.deepEqual(falsePositives, []);
});
