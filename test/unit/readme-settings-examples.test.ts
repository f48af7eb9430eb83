// The README's settings examples load as written: every ```json block preceded by
// `<!-- settings-example -->` is extracted, written to a file and loaded the way every command loads
// settings (strict JSON, the schema, ${VAR} expansion, then every rule compiled), with no warning.
// A block that looks like a whole settings file but carries no marker fails too, so a new example
// cannot slip past this test.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { compileSettings } from "../../src/check/judge.js";
import { loadSettings } from "../../src/settings/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const MARKER = "<!-- settings-example -->";

interface Block {
  line: number;
  lang: string;
  text: string;
  marked: boolean;
}

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```([a-z]*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    const before = markdown.slice(0, m.index).trimEnd();
    blocks.push({ line: before.split("\n").length + 1, lang: m[1] ?? "", text: m[2] ?? "", marked: before.endsWith(MARKER) });
  }
  return blocks;
}

const blocks = codeBlocks(README);
const examples = blocks.filter((b) => b.marked);
const topLevelFields = Object.keys((JSON.parse(readFileSync(join(ROOT, "schema/settings.schema.json"), "utf8")) as { properties: Record<string, unknown> }).properties);

describe("README settings examples", () => {
  it("there are marked examples, each a ```json block (settings files are strict JSON)", () => {
    assert.ok(examples.length >= 6, `found ${examples.length}`);
    for (const b of examples) assert.equal(b.lang, "json", `README.md:${b.line}`);
  });

  it("every block that looks like a whole settings file is marked", () => {
    for (const b of blocks) {
      const first = /^\s*\{\s*"([^"]+)"/.exec(b.text)?.[1];
      if (first !== undefined && topLevelFields.includes(first)) assert.ok(b.marked, `README.md:${b.line} starts a settings object but is not marked ${MARKER}`);
    }
  });

  for (const b of examples) {
    it(`the example at README.md:${b.line} loads as written`, () => {
      const dir = mkdtempSync(join(tmpdir(), "warden-readme-"));
      try {
        const home = join(dir, "home");
        const project = join(home, "project");
        mkdirSync(project, { recursive: true });
        mkdirSync(join(dir, "managed"));
        const env: NodeJS.ProcessEnv = {
          HOME: home,
          XDG_CONFIG_HOME: join(home, ".config"),
          XDG_STATE_HOME: join(home, ".local/state"),
          MCP_WARDEN_MANAGED_DIR: join(dir, "managed"),
          PATH: process.env.PATH,
          // The variables the README says the examples need.
          GITHUB_TOKEN: "ghp_example",
          DOCS_TOKEN: "docs-example",
        };
        // As the user's own settings file, the layer a reader puts an example in.
        const file = join(home, ".config/mcp-warden/settings.json");
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, b.text);
        const settings = loadSettings({ cwd: project, env, cliFiles: [] });
        assert.deepEqual(settings.warnings, []);
        assert.ok(settings.files.some((f) => f.file === file && f.layer === "user"));
        compileSettings(settings, env);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
