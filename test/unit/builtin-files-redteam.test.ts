// The red-team `path` cases for built-in tools (Read, Edit, Write), run through FilePolicy the way
// ../shared/redteam/run.mjs runs them through `check --batch`: a scratch home with a small project,
// the case's deny/allow rules, cwd, `ln -s` setups, default mode. The sample cases are copied here
// (their ids name them); when the shared case file is present, every built-in path case in it runs too.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { compileFileRules } from "../../src/policy/builtin/files.js";
import type { BuiltinRule, Effect } from "../../src/policy/builtin/types.js";
import { resolveLinks } from "../../src/policy/paths/index.js";
import { parseRule } from "../../src/policy/rules.js";

interface PathCase {
  id: string;
  category: string;
  kind?: string;
  input: { tool: string; path: string };
  rules: { deny?: string[]; allow?: string[]; ask?: string[]; cwd?: string };
  expected: string;
  acceptable?: string[] | null;
  setup?: string | null;
}

const BASE_RULES = { deny: ["Read(./secrets/**)", "Read(.env)", "Edit(.claude/settings.json)"], cwd: "/home/user/project" };

const SAMPLE: PathCase[] = [
  { id: "path-036", category: "path", input: { tool: "Read", path: "./secrets-example/README.md" }, rules: BASE_RULES, expected: "allow" },
  { id: "path-040", category: "path", input: { tool: "Read", path: "./settings.cfg" }, rules: BASE_RULES, expected: "deny", setup: "ln -s .env /home/user/project/settings.cfg" },
  { id: "path-041", category: "path", input: { tool: "Read", path: "./.env.example" }, rules: BASE_RULES, expected: "allow" },
  { id: "path-046", category: "path", input: { tool: "Edit", path: ".Claude/Settings.json" }, rules: BASE_RULES, expected: "deny", setup: "macOS, case-insensitive filesystem" },
  { id: "path-051", category: "path", input: { tool: "Edit", path: ".vscode/settings.json" }, rules: { ...BASE_RULES, allow: ["Edit(./**)"] }, expected: "ask", acceptable: ["ask", "deny"] },
  { id: "path-052", category: "path", input: { tool: "Edit", path: ".mcp.json" }, rules: { ...BASE_RULES, allow: ["Edit(./**)"] }, expected: "ask", acceptable: ["ask", "deny"] },
];

/** The shared case file, when this checkout sits beside it. */
function sharedCases(): PathCase[] {
  const file = "/work/shared/redteam/cases.json";
  try {
    const all = JSON.parse(fs.readFileSync(file, "utf8")) as PathCase[];
    return all.filter((c) => c.category === "path" && /^[A-Z]/.test(c.input?.tool ?? ""));
  } catch {
    return [];
  }
}

/** The files run.mjs creates in its scratch home. */
const HOME_FILES = [
  "project/src/index.ts", "project/src/utils/a.ts", "project/docs/readme.md", "project/.env", "project/.env.example",
  "project/secrets/api.key", "project/secrets/prod/db.json", "project/config/app.env", "project/.claude/commands/review.md",
  "project/README.md", "project/out.txt", "project2/src/index.ts", "project2/secret.txt", "project_backup/.env",
  ".ssh/id_rsa", ".aws/credentials", ".bashrc",
];

let root = "";
let HOME = "";

const remap = <T>(v: T): T => JSON.parse(JSON.stringify(v).replaceAll("/home/user", HOME)) as T;

function rules(r: PathCase["rules"]): BuiltinRule[] {
  const out: BuiltinRule[] = [];
  for (const effect of ["deny", "ask", "allow"] as Effect[]) {
    (r[effect] ?? []).forEach((text, i) => {
      const p = parseRule(text);
      if (p.kind !== "builtin") return; // mcp__ rules are not the file judge's
      const b: BuiltinRule = { effect, tool: p.tool, text, source: { layer: "request", file: "<case>", path: `permissions.${effect}[${i}]` } };
      if (p.specifier !== undefined) b.specifier = p.specifier;
      out.push(b);
    });
  }
  return out;
}

function run(c: PathCase): string | undefined {
  const r = remap(c.rules);
  const input = remap(c.input);
  const cwd = r.cwd ?? path.join(HOME, "project");
  if (c.setup) {
    const m = /ln -s (\S+) (\S+)/.exec(remap(c.setup));
    if (m) {
      const [, target, link] = m as unknown as [string, string, string];
      fs.mkdirSync(path.dirname(link), { recursive: true });
      if (!fs.existsSync(link)) fs.symlinkSync(target, link);
    }
  }
  const platform: NodeJS.Platform = c.setup && /macOS/.test(c.setup) ? "darwin" : c.setup && /Windows/.test(c.setup) ? "win32" : "linux";
  const policy = compileFileRules(rules(r), { home: HOME, platform, resolveLinks, protectedPaths: [] });
  return policy.decide(input.tool, { file_path: input.path }, { cwd, workingDirectories: [cwd], mode: "default" })?.decision;
}

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "warden-redteam-files-")));
  HOME = path.join(root, "home/user");
  for (const f of HOME_FILES) {
    fs.mkdirSync(path.dirname(path.join(HOME, f)), { recursive: true });
    fs.writeFileSync(path.join(HOME, f), "x\n");
  }
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("red-team path cases for built-in tools", () => {
  const seen = new Set<string>();
  for (const c of [...SAMPLE, ...sharedCases()]) {
    const key = `${c.id}:${JSON.stringify(c.input)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const ok = c.acceptable ?? [c.expected];
    it(`${c.id}: ${c.input.tool} ${c.input.path} → ${ok.join("/")}`, (t) => {
      if (c.setup && /Windows/.test(c.setup)) {
        t.skip("a Windows case");
        return;
      }
      const got = run(c);
      assert.ok(got !== undefined && ok.includes(got), `${c.id}: expected ${ok.join(" or ")}, got ${String(got)}`);
    });
  }
});
