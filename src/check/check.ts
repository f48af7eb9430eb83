// `mcp-warden check`: the policy decision point as a command. It judges a request as the running
// gateway would, with the same code (policy core + the same refusal of unenforced settings),
// and never starts or contacts a server.
import * as z from "zod/v4";
import type { Verdict } from "../policy/types.js";
import { parseSettingsObject, resolveSettings, SettingsError } from "../settings/index.js";
import { join } from "node:path";
import { gatewaySandboxRefusal } from "../sandbox/gate.js";
import { stateDir } from "../settings/paths.js";
import { asPrincipal, compileSettings, judgeEgress, judgeToolCall, principalPolicies, provideSecretScanner, provideSqlGuard, type CompiledSettings } from "./judge.js";
import type { Principal } from "../policy/principal.js";
import { compileSqlGuard, loadSqlParser } from "../policy/guards/sql.js";
import { compileSecretScanner } from "../policy/integrity/secrets.js";
import { canonicalToolName } from "../policy/index.js";
import { judgeToolDefinition, pinOf } from "../policy/integrity/definitions.js";
import type { PinnedTool } from "../policy/integrity/pins.js";

export { asPrincipal, compileSettings, judgeToolCall, principalPolicies, type CompiledSettings } from "./judge.js";

export interface CheckAnswer {
  id: string;
  decision: "allow" | "ask" | "deny";
  reason: string;
  rule?: string;
  source?: { layer: string; file: string; path: string };
}

/**
 * The caller to judge as (remote mode's `principals` rules), as a verified token would name it; it
 * counts as an authenticated remote caller, so `*` entries apply.
 */
export const PrincipalRequest = z.strictObject({
  subject: z.string().min(1),
  clientId: z.string().min(1).optional(),
  groups: z.array(z.string().min(1)).optional(),
  org: z.string().min(1).optional(),
});
export type PrincipalRequest = z.infer<typeof PrincipalRequest>;

/** The principal `check --as` and a request's `principal` stand for. */
export function requestPrincipal(r: PrincipalRequest): Principal {
  const p: Principal = { subject: r.subject, groups: [...(r.groups ?? [])], scopes: [], method: "oidc" };
  return { ...p, ...(r.clientId !== undefined ? { clientId: r.clientId } : {}), ...(r.org !== undefined ? { org: r.org } : {}) };
}

const Base = { id: z.string(), settings: z.record(z.string(), z.unknown()), cwd: z.string().optional(), principal: PrincipalRequest.optional() };
const ToolCheck = z.strictObject({ ...Base, tool: z.string().min(1), input: z.record(z.string(), z.unknown()) });
const UrlCheck = z.strictObject({ ...Base, server: z.string(), url: z.string() });
const DefinitionCheck = z.strictObject({
  ...Base,
  server: z.string(),
  toolDefinition: z.record(z.string(), z.unknown()),
  pinned: z.record(z.string(), z.unknown()).optional(),
});

export type CheckRequest = z.infer<typeof ToolCheck> | z.infer<typeof UrlCheck> | z.infer<typeof DefinitionCheck>;

provideSecretScanner(compileSecretScanner);
provideSqlGuard(compileSqlGuard);
/**
 * PostgreSQL's parser (WASM) for SQL guards, loading: await it before judging (loadCheck does).
 * Until it is loaded, or if it cannot load, SQL-guarded calls are refused, not judged. Not a
 * top-level await, so that the gateway's single-file bundle (scripts/bundle.ts) can hold this module.
 */
export const sqlParserLoaded: Promise<void> = loadSqlParser().catch(() => undefined);

/** This module with PostgreSQL's parser loaded: how every command and page gets `check`. */
export async function loadCheck(): Promise<typeof import("./check.js")> {
  await sqlParserLoaded;
  return import("./check.js");
}

/** Compiled settings by their text: a batch usually repeats the same settings many times. */
const compiled = new Map<string, CompiledSettings>();

function compile(requestId: string, raw: Record<string, unknown>, env: NodeJS.ProcessEnv): CompiledSettings {
  const key = JSON.stringify(raw);
  let hit = compiled.get(key);
  if (!hit) {
    const file = `<check request ${requestId}>`;
    const settings = resolveSettings([{ layer: "request", file, settings: parseSettingsObject(raw, file) }], { env });
    hit = compileSettings(settings, env, gatewaySandboxRefusal(join(stateDir(env), "cache")));
    // A bad `principals` rule is an error of the settings, whether or not this request names a caller.
    if (Object.keys(settings.principals).length > 0) principalPolicies(hit);
    if (compiled.size > 256) compiled.clear();
    compiled.set(key, hit);
  }
  return hit;
}

/** A listed tool definition: exposed (allow), needs re-approval (ask) or hidden (deny), as the gateway judges it. */
function judgeDefinition(c: CompiledSettings, server: string, tool: Record<string, unknown>, pinned: Record<string, unknown> | undefined): Verdict {
  const name = typeof tool.name === "string" ? tool.name : "";
  const policy = c.policy.decideTool({ tool: canonicalToolName(server, name), input: {} });
  let pin: PinnedTool | undefined;
  try {
    pin = pinned === undefined ? undefined : pinOf(pinned);
  } catch (e) {
    return { decision: "deny", reason: `the pinned definition cannot be read: ${(e as Error).message}` };
  }
  return judgeToolDefinition(tool, pin, { server, policy });
}

/** Judges one request object. Never throws: whatever cannot be judged is denied with the reason. */
export function judge(request: unknown, env: NodeJS.ProcessEnv): CheckAnswer {
  const id = typeof (request as { id?: unknown })?.id === "string" ? (request as { id: string }).id : "";
  try {
    const kind = requestKind(request);
    if (!kind) return deny(id, "not a check request: expected {id, settings} with tool+input, server+url, or server+toolDefinition");
    const parsed = kind.schema.safeParse(request);
    if (!parsed.success) return deny(id, `malformed check request: ${z.prettifyError(parsed.error).replace(/\n/g, "; ")}`);
    const req = parsed.data as CheckRequest;
    const compiled = compile(id, req.settings, env);
    const c = req.principal === undefined ? compiled : asPrincipal(compiled, requestPrincipal(req.principal));
    if ("tool" in req) return answer(id, judgeToolCall(c, req.tool, req.input, req.cwd ?? process.cwd()));
    if ("url" in req) return answer(id, judgeEgress(c, req.server, req.url));
    return answer(id, judgeDefinition(c, req.server, req.toolDefinition, req.pinned));
  } catch (error) {
    if (error instanceof SettingsError) return deny(id, `invalid settings: ${error.message}`);
    return deny(id, `cannot judge this request: ${(error as Error).message}`);
  }
}

function requestKind(r: unknown): { schema: z.ZodType } | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return undefined;
  if ("tool" in r) return { schema: ToolCheck };
  if ("url" in r) return { schema: UrlCheck };
  if ("toolDefinition" in r) return { schema: DefinitionCheck };
  return undefined;
}

function answer(id: string, v: Verdict): CheckAnswer {
  const a: CheckAnswer = { id, decision: v.decision, reason: v.reason };
  if (v.rule !== undefined) a.rule = v.rule;
  if (v.source) a.source = v.source;
  return a;
}

function deny(id: string, reason: string): CheckAnswer {
  return { id, decision: "deny", reason };
}

/** `check --batch`: one JSON line in, one JSON line out, in order; a bad line is denied, never fatal. */
export async function runBatch(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, env: NodeJS.ProcessEnv): Promise<void> {
  const { createInterface } = await import("node:readline");
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      output.write(JSON.stringify(deny("", `line ${n} is not valid JSON`)) + "\n");
      continue;
    }
    output.write(JSON.stringify(judge(request, env)) + "\n");
  }
}
