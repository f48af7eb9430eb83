// `mcp-warden test FILE`: policy unit tests written by users. Each test is a `check` request plus
// the decision it must get, so a change to the rules can be checked before it reaches anyone.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as z from "zod/v4";
import { asPrincipal, judge, judgeToolCall, compileSettings, principalPolicies, PrincipalRequest, requestPrincipal, sqlParserLoaded, type CompiledSettings } from "../check/check.js";
import { PolicyError } from "../policy/index.js";
import { loadSettings, SettingsError } from "../settings/index.js";
import { gatewaySandboxRefusal } from "../sandbox/gate.js";
import { stateDir } from "../settings/paths.js";
import { exposedNameHint } from "./tool-name-hint.js";

const PolicyTest = z.strictObject({
  name: z.string().optional(),
  tool: z.string().min(1),
  input: z.record(z.string(), z.unknown()).optional(),
  cwd: z.string().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  /** Judge as this remote caller (as `check --as`). */
  principal: PrincipalRequest.optional(),
  expect: z.enum(["allow", "ask", "deny"]),
  /** The rule text that must decide (as written in the settings). */
  expectRule: z.string().optional(),
});
type PolicyTest = z.infer<typeof PolicyTest>;

export interface PolicyTestOptions {
  file: string;
  cliFiles: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Tests from a JSON array, or JSON Lines (one test per line; blank lines skipped). */
function readTests(file: string): unknown[] {
  const text = readFileSync(file, "utf8");
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    const data: unknown = JSON.parse(text);
    if (!Array.isArray(data)) throw new Error("expected a JSON array of tests");
    return data;
  }
  return text.split("\n").flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch {
      throw new Error(`line ${i + 1} is not valid JSON`);
    }
  });
}

export async function policyTestCommand(opts: PolicyTestOptions, out: NodeJS.WritableStream): Promise<number> {
  await sqlParserLoaded;
  const file = resolve(opts.cwd, opts.file);
  let raw: unknown[];
  try {
    raw = readTests(file);
  } catch (error) {
    process.stderr.write(`mcp-warden test: ${file}: ${(error as Error).message}\n`);
    return 2;
  }
  const tests: PolicyTest[] = [];
  for (const [i, t] of raw.entries()) {
    const parsed = PolicyTest.safeParse(t);
    if (!parsed.success) {
      process.stderr.write(`mcp-warden test: ${file}: test ${i + 1}: ${z.prettifyError(parsed.error).replace(/\n/g, "; ")}\n`);
      return 2;
    }
    tests.push(parsed.data);
  }
  if (tests.length === 0) {
    process.stderr.write(`mcp-warden test: ${file} holds no tests\n`);
    return 2;
  }

  // Tests without inline settings are judged by the layered settings, loaded once.
  let layered: CompiledSettings | undefined;
  if (tests.some((t) => t.settings === undefined)) {
    try {
      layered = compileSettings(loadSettings({ cwd: opts.cwd, env: opts.env, cliFiles: opts.cliFiles }), opts.env, gatewaySandboxRefusal(join(stateDir(opts.env), "cache")));
      if (Object.keys(layered.settings.principals).length > 0) principalPolicies(layered);
    } catch (error) {
      if (error instanceof SettingsError || error instanceof PolicyError) {
        process.stderr.write(`mcp-warden test: settings error: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
  }

  const baseCwd = dirname(file);
  let failed = 0;
  tests.forEach((t, i) => {
    const name = t.name ?? `test ${i + 1} (${t.tool})`;
    const cwd = resolve(baseCwd, t.cwd ?? ".");
    const input = t.input ?? {};
    const got =
      t.settings === undefined
        ? judgeToolCall(t.principal ? asPrincipal(layered as CompiledSettings, requestPrincipal(t.principal)) : (layered as CompiledSettings), t.tool, input, cwd)
        : judge({ id: name, settings: t.settings, tool: t.tool, input, cwd, ...(t.principal ? { principal: t.principal } : {}) }, opts.env);
    const problems: string[] = [];
    if (got.decision !== t.expect) problems.push(`expected ${t.expect}, got ${got.decision}`);
    if (t.expectRule !== undefined && got.rule !== t.expectRule)
      problems.push(`expected rule ${JSON.stringify(t.expectRule)}, got ${got.rule === undefined ? "no rule" : JSON.stringify(got.rule)}`);
    if (problems.length === 0) return;
    failed++;
    out.write(`FAIL ${name}: ${problems.join("; ")}\n     reason: ${got.reason}\n`);
    const hint = exposedNameHint(t.tool, t.settings === undefined ? (layered as CompiledSettings).settings : { gateway: { separator: "__", prefix: true }, servers: [] });
    if (hint) out.write(`     hint: ${hint.why}; write "tool": ${JSON.stringify(hint.canonical)}\n`);
  });
  out.write(`policy tests: ${tests.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
