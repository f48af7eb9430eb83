// Every `bash` case of the shared red-team set (/work/shared/redteam/cases.json) through
// compileBashRules(...).decide(...), mapped the way the runner maps them: rules.allow/deny become
// permission rules, rules.denylist becomes deny rules whose specifier is the entry verbatim, and the
// case's Read(...) deny rules become a FileJudge built from the path-rule matcher.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compileBashRules } from "../../src/policy/builtin/bash.js";
import type { BuiltinContext, BuiltinRule, FileJudge } from "../../src/policy/builtin/types.js";
import { canonicalizeRequestPath, compilePathRule, denyMatches } from "../../src/policy/paths/index.js";
import { parseRule } from "../../src/policy/rules.js";
import picomatch from "picomatch/posix.js";
import type { Source } from "../../src/policy/types.js";

const CASES = "/work/shared/redteam/cases.json";
const CWD = "/home/user/project";
const HOME = "/home/user";
const CTX: BuiltinContext = { cwd: CWD, workingDirectories: [CWD], mode: "default" };

interface Case {
  id: string;
  category: string;
  kind: "attack" | "benign";
  input: string;
  rules: { allow?: string[]; deny?: string[]; denylist?: string[] };
  expected: "allow" | "ask" | "deny";
  acceptable?: string[];
}

function source(path: string): Source {
  return { layer: "project", file: "/home/user/project/.mcp-warden/settings.json", path };
}

/** The BuiltinRules the settings layer would hand the judge for these rule texts. */
function bashRules(rules: { allow?: string[]; deny?: string[]; ask?: string[]; denylist?: string[] }): BuiltinRule[] {
  const out: BuiltinRule[] = [];
  for (const effect of ["allow", "ask", "deny"] as const)
    (rules[effect] ?? []).forEach((text, k) => {
      const p = parseRule(text);
      if (p.kind !== "builtin" || p.tool !== "Bash") return;
      const r: BuiltinRule = { effect, tool: "Bash", text, source: source(`permissions.${effect}[${k}]`) };
      if (p.specifier !== undefined) r.specifier = p.specifier;
      out.push(r);
    });
  (rules.denylist ?? []).forEach((text, k) => out.push({ effect: "deny", tool: "Bash", specifier: text, text, source: source(`toolPermissions.Bash.denyCommands[${k}]`) }));
  return out;
}

/**
 * A FileJudge from Read(...) deny rules, enough for these cases: a literal path is canonicalized
 * against the case's cwd and home and matched with the deny reading; a glob is denied when it could
 * name a denied path (its last segment matches a bare-name rule, or a rule's directory lies under its
 * static prefix); a path known only at run time is left to the Bash judge's own fail-closed answer.
 */
function readDenyJudge(texts: string[]): FileJudge {
  const rules = texts.flatMap((t) => {
    const p = parseRule(t);
    if (p.kind !== "builtin" || p.tool !== "Read" || p.specifier === undefined) return [];
    return [{ text: t, spec: p.specifier, rule: compilePathRule("Read", p.specifier, { cwd: CWD, home: HOME, settingsRoot: CWD }, { platform: "linux" }) }];
  });
  const literal = (path: string, ctx: BuiltinContext): string | undefined => {
    const c = canonicalizeRequestPath(path, ctx.cwd, HOME);
    return "error" in c ? undefined : c.path;
  };
  return {
    hasDeny: () => rules.length > 0,
    checkAccess(a, ctx) {
      if (a.kind === "unknown") return undefined;
      for (const r of rules) {
        if (a.kind === "literal") {
          const p = literal(a.path, ctx);
          if (p === undefined) return { decision: "deny", reason: `cannot read ${a.path}`, rule: r.text };
          if (denyMatches(r.rule, { link: p, target: p })) return { decision: "deny", reason: `${r.text} denies ${p}`, rule: r.text };
          continue;
        }
        const last = a.path.split("/").pop() as string;
        const prefix = literal(a.path.slice(0, Math.max(0, a.path.search(/[*?[]/))).replace(/[^/]*$/, "") || ".", ctx);
        const sample = literal(r.spec.replace(/\*\*/g, "x").replace(/\*/g, "x").replace(/^\/\//, "/"), ctx);
        const bare = !r.spec.replace(/\/$/, "").includes("/");
        const hit = bare ? picomatch(last, { dot: true })(r.spec) : prefix !== undefined && sample !== undefined && (sample.startsWith(`${prefix}/`) || r.rule.matches(prefix));
        if (hit) return { decision: "deny", reason: `${a.path} may name a file ${r.text} denies`, rule: r.text };
      }
      return undefined;
    },
  };
}

const cases: Case[] = existsSync(CASES) ? (JSON.parse(readFileSync(CASES, "utf8")) as Case[]).filter((c) => c.category === "bash") : [];

describe("red-team bash cases", () => {
  it("the shared case file is present and has bash cases", () => {
    assert.ok(cases.length >= 55, `expected the bash cases of ${CASES}`);
  });
  for (const c of cases) {
    it(`${c.id} (${c.kind}): ${JSON.stringify(c.input).slice(0, 90)} → ${c.expected}`, () => {
      const policy = compileBashRules(bashRules(c.rules));
      const v = policy.decide({ command: c.input }, CTX, readDenyJudge(c.rules.deny ?? []));
      const ok = [c.expected, ...(c.acceptable ?? [])];
      assert.ok(ok.includes(v.decision), `${c.id}: got ${v.decision} (${v.reason}), expected ${ok.join(" or ")}`);
      if (c.kind === "benign") assert.equal(v.decision, "allow", `${c.id}: a benign near miss must be allowed (${v.reason})`);
    });
  }
});
