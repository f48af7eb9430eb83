// Every field of the settings schema has exactly one merge rule (settings/merge-rules.ts), and no
// rule names a field the schema lacks: a new field cannot silently default to "the project wins".
// Then, data-driven from the table: an untrusted project or local layer setting each field to its
// loosest value leaves the resolved settings exactly as loose as the user's own settings made them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type * as z from "zod/v4";
import { ServerGate } from "../../src/policy/servers.js";
import type { ConfiguredServer } from "../../src/policy/types.js";
import { chooseSandbox } from "../../src/sandbox/policy.js";
import { MERGE_RULES, SANDBOX_FIELDS, type MergeRule } from "../../src/settings/merge-rules.js";
import { clientRequestsFor, resolveSettings, type ResolvedSettings, type SettingsLayer } from "../../src/settings/resolve.js";
import { Settings } from "../../src/settings/schema.js";

type Zod = z.ZodType;
const def = (s: Zod) => (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;

function unwrap(s: Zod): Zod {
  while (["optional", "nullable", "default"].includes(def(s).type)) s = def(s).innerType as Zod;
  return s;
}

const LEAF_TYPES = new Set(["string", "number", "boolean", "enum", "literal", "unknown", "array"]);

/** Every field path of the schema (`*` for a record key) with its leaf schema. Lists are leaves: a list merges as a whole. */
function fieldPaths(schema: Zod, at: string[] = [], out = new Map<string, Zod>()): Map<string, Zod> {
  const d = def(schema);
  switch (d.type) {
    case "optional":
    case "nullable":
    case "default":
      return fieldPaths(d.innerType as Zod, at, out);
    case "pipe":
      return fieldPaths(d.in as Zod, at, out);
    case "object":
      for (const [k, v] of Object.entries(d.shape as Record<string, Zod>)) fieldPaths(v, [...at, k], out);
      return out;
    case "record": {
      const inner = unwrap(d.valueType as Zod);
      if (["object", "record"].includes(def(inner).type)) return fieldPaths(inner, [...at, "*"], out);
      out.set(at.join("."), schema);
      return out;
    }
    case "union": {
      const objects = (d.options as Zod[]).filter((o) => def(unwrap(o)).type === "object");
      if (objects.length > 0) for (const o of objects) fieldPaths(o, at, out);
      else out.set(at.join("."), schema);
      return out;
    }
    default:
      // A schema construct this walk does not know could hide fields: fail rather than guess.
      assert.ok(LEAF_TYPES.has(d.type), `the field walk does not know zod type '${d.type}' at ${at.join(".")}; teach it`);
      out.set(at.join("."), schema);
      return out;
  }
}

const FIELDS = fieldPaths(Settings as unknown as Zod);

test("the field walk finds the fields it must (guards against a walk that finds nothing)", () => {
  for (const p of ["permissions.allow", "mcpServers.*.env", "sandbox.network.allowedDomains", "mcpServers.*.guards.arguments.*.*.enum", "sandboxProfiles.*.limits.memory", "clientRequests.roots"])
    assert.ok(FIELDS.has(p), p);
  assert.ok(FIELDS.size > 100, `only ${FIELDS.size} fields found`);
});

test("every schema field has exactly one merge rule, and every merge rule names a schema field", () => {
  const missing = [...FIELDS.keys()].filter((p) => !Object.hasOwn(MERGE_RULES, p));
  const extra = Object.keys(MERGE_RULES).filter((p) => !FIELDS.has(p));
  assert.deepEqual(missing, [], `fields without a merge rule (add them to MERGE_RULES in src/settings/merge-rules.ts): ${missing.join(", ")}`);
  assert.deepEqual(extra, [], `merge rules for fields the schema lacks: ${extra.join(", ")}`);
  // A tighten rule on a scalar needs a way to be judged: a default, or the global field it is held to.
  // (Sandbox fields are judged against the trusted sandbox instead.)
  for (const [p, r] of Object.entries(MERGE_RULES))
    if (r.direction === "tighten" && !/(^|\.)sandbox\./.test(p) && ["rank", "onlyTrue", "onlyFalse"].includes(r.tighten!.kind))
      assert.ok(r.fallback !== undefined || r.against !== undefined, `${p}: a ranked or boolean tighten rule needs a fallback or 'against'`);
});

test("the fields the issue names move as it says", () => {
  const dir = (p: string) => MERGE_RULES[p]!.direction;
  const kind = (p: string) => MERGE_RULES[p]!.tighten?.kind;
  for (const p of ["permissions.deny", "permissions.ask", "deniedMcpServers", "$schema", "permissions.disableBypassPermissionsMode"]) assert.equal(dir(p), "any", p);
  for (const p of ["permissions.allow", "autoApproveTools", "toolPermissions.*.allowCommands", "sandboxProfiles.*.type", "gateway.separator", "gateway.prefix"]) assert.equal(dir(p), "trusted", p);
  for (const p of ["audit.dir", "audit.hmacKeyFile", "gateway.logDir"]) assert.equal(dir(p), "userOnly", p);
  // Remote mode is the operator's: no project or local layer sets any of it, trusted or not.
  for (const p of Object.keys(MERGE_RULES).filter((k) => k.startsWith("remote.") || k.startsWith("principals.*.rateLimits.")))
    assert.equal(dir(p), "userOnly", p);
  for (const p of ["forceLoginMethod", "forceLoginOrgUUID"]) assert.equal(dir(p), "userOnly", p);
  for (const p of ["principals.*.permissions.allow", "principals.*.autoApproveTools"]) assert.equal(dir(p), "trusted", p);
  for (const p of ["principals.*.permissions.deny", "principals.*.permissions.ask"]) assert.equal(dir(p), "any", p);
  for (const p of ["allowManagedMcpServersOnly", "allowManagedPermissionRulesOnly", "requireSandbox", "requireImageDigest"]) assert.equal(dir(p), "managedOnly", p);
  assert.equal(kind("permissions.defaultMode"), "rank");
  assert.equal(kind("allowedMcpServers"), "narrowList");
  assert.equal(kind("permissions.additionalDirectories"), "inProject");
  for (const p of ["integrity.pins", "integrity.scanDefinitions", "secretScanning.formats", "integrity.stripControlCharacters", "secretScanning.arguments", "secretScanning.results", "integrity.keepLogControlCharacters", "integrity.maxResultBytes"])
    assert.equal(MERGE_RULES[p]!.evenTrusted, true, `${p} is a protection even trusted project settings cannot lower`);
});

// ---------------------------------------------------------------------------------------------------
// Data-driven: the loosest value of each field, from an untrusted layer, changes nothing.

const USER_FILE = "/home/u/.config/mcp-warden/settings.json";
const SANDBOX = {
  type: "bubblewrap",
  filesystem: { allowRead: ["/r"], denyRead: ["/dr"], allowWrite: ["/w"], denyWrite: ["/dw"] },
  network: { allowedDomains: ["a.example"], deniedDomains: ["d.example"], allowLocalhost: false, allowUnixSockets: ["/s.sock"] },
  limits: { cpus: 1, memory: "512m", pids: 64 },
  env: ["HOME"],
  image: "img",
  runtime: "runc",
  allowNetwork: ["b.example"],
  denyNetwork: ["e.example"],
  allowRead: ["/r2"],
  allowWrite: ["/w2"],
  allowExecute: ["/x"],
};
/** The user's own settings: every tightenable field set to a middle value. */
const USER = {
  permissions: { allow: ["Bash(ls:*)"], defaultMode: "default" },
  mcpServers: { a: { command: "node", args: ["a.js"] }, r: { url: "https://r.example.com/mcp" } },
  allowedMcpServers: [{ serverName: "a" }, { serverName: "r" }, { serverName: "p" }],
  sandbox: SANDBOX,
  gateway: { callTimeoutMs: 1000, maxMessageBytes: 1000, restart: { maxRestarts: 2, initialDelayMs: 10, maxDelayMs: 100 } },
  audit: { fsyncIntervalMs: 10 },
  approvals: { timeoutMs: 5000, client: false, page: false },
  secretScanning: { arguments: "redact", results: "redact", formats: true },
  integrity: { pins: true, scanDefinitions: true, maxResultBytes: 1000, stripControlCharacters: true, keepLogControlCharacters: false },
  clientRequests: { sampling: "ask", elicitation: "ask", roots: "ask" },
  // Remote mode, keyed where the attacks below write ("p" stands for every record key): an untrusted
  // value that got through would replace or join these.
  remote: { listen: "127.0.0.1:8787", auth: { issuer: "http://127.0.0.1:4455", apiKeys: { p: { hash: `sha256:${"a".repeat(64)}`, subject: "ci" } } }, rateLimits: { perPrincipal: "600/min" } },
  principals: { p: { permissions: { allow: ["mcp__a__read"], deny: ["mcp__a__write"] }, rateLimits: { perPrincipal: "10/min" } } },
  forceLoginMethod: "sso",
  forceLoginOrgUUID: "org-1",
};

const HUGE = 2 ** 40;

/** Values an attacker would choose for a leaf: for tighten rules the loosest; otherwise samples of its type. */
function attackValues(pattern: string, rule: MergeRule, schema: Zod, sandboxBase: Record<string, unknown>): unknown[] {
  const t = rule.tighten;
  if (t) {
    switch (t.kind) {
      case "lower":
        return [HUGE];
      case "size":
        return ["999g"];
      case "onlyTrue":
        return [false];
      case "onlyFalse":
        return [true];
      case "rank":
        return [t.order[0]![0]];
      case "keepTrusted":
        return pattern.endsWith(".type") ? ["none", "docker"] : ["attacker/image"];
      case "union":
        return [[]];
      case "intersect": {
        // Everything the trusted sandbox allows in this field's group, plus what it does not.
        const field = pattern.replace(/^(mcpServers\.\*\.)?sandbox\./, "");
        const group = [["filesystem.allowRead", "allowRead"], ["filesystem.allowWrite", "allowWrite"], ["network.allowedDomains", "allowNetwork"]].find((g) => g.includes(field)) ?? [field];
        const trusted = group.flatMap((f) => (getPath(sandboxBase, f.split(".")) as string[] | undefined) ?? []);
        return [[...trusted, "/", "*", "evil.example", "LD_PRELOAD"]];
      }
      case "execute":
        // Any program, or the trusted list plus a shell.
        return [true, ["/x", "/bin/sh"]];
      case "inProject":
        return [["/", "/etc", "~"]];
      case "narrowList":
        return [[...USER.allowedMcpServers, { serverName: "evil" }, { serverCommand: ["*"] }, { serverUrl: "*" }]];
    }
  }
  return samples(schema);
}

function samples(schema: Zod): unknown[] {
  const s = unwrap(schema);
  const d = def(s);
  switch (d.type) {
    case "string":
      return ["x"];
    case "number":
      return [HUGE];
    case "boolean":
      return [true, false];
    case "enum":
      return Object.values(d.entries as Record<string, string>);
    case "literal":
      return [(d.values as unknown[])[0]];
    case "array":
      return [["*", "/"]];
    case "record":
      return [{ LD_PRELOAD: "/tmp/evil.so" }];
    case "union":
      return samples((d.options as Zod[])[0]!);
    default:
      return ["x"];
  }
}

function getPath(obj: Record<string, unknown>, p: string[]): unknown {
  let cur: unknown = obj;
  for (const k of p) cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function withPath(p: string[], value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let cur = root;
  for (const k of p.slice(0, -1)) cur = (cur[k] = {}) as Record<string, unknown>;
  cur[p[p.length - 1]!] = value;
  return root;
}

/** Sorted deep copy, so lists compare as sets. */
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
  return v;
}

/** What the settings do, independent of how they are written: server gates, sandboxes, client-request actions, the rest as resolved. */
function effect(r: ResolvedSettings): unknown {
  const gate = new ServerGate(r.policy);
  const probe = (name: string, entry: ConfiguredServer["entry"]): ConfiguredServer => ({ name, entry, managed: false, source: { layer: "user", file: USER_FILE, path: "x" } });
  const ctx = { home: "/home/u", platform: "linux" as const, baseDir: "/repo", requireSandbox: r.requireSandbox === true };
  const { warnings: _w, files: _f, untrustedFiles: _u, sandbox: _s, servers: _servers, policy, ...rest } = r;
  const { servers: _ps, allowedMcpServers: _a, narrowMcpServers: _n, ...policyRest } = policy;
  return canon({
    ...rest,
    policy: policyRest,
    gate: [...r.servers, probe("evil", { command: "evil" }), probe("web", { url: "https://evil.example/" })].map((s) => [s.name, gate.decide(s).decision]),
    unconfigured: ["a", "evil"].map((n) => gate.decideUnconfigured(n)?.decision ?? "rules"),
    servers: r.servers.map((s) => {
      const { sandbox: _sb, clientRequests: _cr, ...entry } = s.entry;
      return { name: s.name, layer: s.source.layer, entry, sandbox: chooseSandbox(s.entry.sandbox, r.sandbox, ctx), clientRequests: clientRequestsFor(s, r) };
    }),
  });
}

const repoFile = (layer: "project" | "local") => `/repo/.mcp-warden/${layer === "project" ? "settings.json" : "settings.local.json"}`;
const resolve = (layers: SettingsLayer[]) => resolveSettings(layers, { env: { HOME: "/home/u" } });
const user: SettingsLayer = { layer: "user", file: USER_FILE, settings: USER as SettingsLayer["settings"] };

for (const layer of ["project", "local"] as const) {
  describe(`an untrusted ${layer} layer setting a field to its loosest value does not loosen the result`, () => {
    const file = repoFile(layer);
    const baseline = effect(resolve([user]));
    for (const [pattern, rule] of Object.entries(MERGE_RULES)) {
      if (rule.direction === "any") continue;
      const server = pattern.startsWith("mcpServers.*.");
      // A field of a server the user defines ("a": the project cannot replace it), or of a new server
      // ("p": its tighten fields are held to the user's global settings).
      const name = server && rule.direction === "server" ? "a" : "p";
      const p = pattern.split(".").map((k) => (k === "*" ? name : k));
      for (const value of attackValues(pattern, rule, FIELDS.get(pattern)!, server ? SANDBOX : (USER.sandbox as Record<string, unknown>))) {
        test(`${pattern} = ${JSON.stringify(value)}`, () => {
          const attack: SettingsLayer = { layer, file, settings: withPath(p, value) as SettingsLayer["settings"] };
          const r = resolve([attack, user]);
          let expected = baseline;
          if (server && name === "p") {
            // The same new server without the field: what the field adds must be nothing.
            const plain = withPath(p.slice(0, 2), { command: "node" }) as { mcpServers: { p: Record<string, unknown> } };
            const withField = structuredClone(plain);
            Object.assign(withField.mcpServers.p, withPath(p.slice(2), value));
            expected = effect(resolve([{ layer, file, settings: plain as SettingsLayer["settings"] }, user]));
            assert.deepEqual(effect(resolve([{ layer, file, settings: withField as SettingsLayer["settings"] }, user])), expected);
            return;
          }
          assert.deepEqual(effect(r), expected);
          const quiet = rule.tighten?.kind === "union" || rule.tighten?.kind === "narrowList" || rule.direction === "managedOnly";
          if (!quiet)
            assert.ok(
              r.warnings.some((w) => w.includes(`${layer} settings ${file}`) && w.includes(p.slice(0, rule.direction === "server" ? 2 : p.length).join("."))),
              `no warning names ${layer}, ${file} and ${p.join(".")}:\n${r.warnings.join("\n")}`,
            );
        });
      }
    }
  });
}

test("sanity: the same loosening from a trusted layer does change the result (the data-driven tests can fail)", () => {
  const file = repoFile("project");
  const loose = { permissions: { defaultMode: "bypassPermissions", allow: ["Bash"] }, sandbox: { type: "none" }, gateway: { callTimeoutMs: HUGE } };
  const trusted = resolve([{ layer: "project", file, trusted: true, settings: loose as SettingsLayer["settings"] }, user]);
  const untrusted = resolve([{ layer: "project", file, settings: loose as SettingsLayer["settings"] }, user]);
  assert.equal(trusted.policy.defaultMode, "bypassPermissions");
  assert.equal(trusted.sandbox?.type, "none");
  assert.equal(trusted.gateway.callTimeoutMs, HUGE);
  assert.deepEqual(effect(untrusted), effect(resolve([user])));
  assert.deepEqual(untrusted.untrustedFiles, [{ layer: "project", file }]);
  assert.deepEqual(trusted.untrustedFiles, []);
});

test("sanity: remote mode's fields are part of what the data-driven tests compare", () => {
  const file = repoFile("project");
  const loose = { principals: { p: { permissions: { allow: ["mcp__*"] } } } };
  const trusted = resolve([{ layer: "project", file, trusted: true, settings: loose as SettingsLayer["settings"] }, user]);
  assert.notDeepEqual(effect(trusted), effect(resolve([user])), "a trusted project's principal allow counts, so the effect must show it");
  const cli: SettingsLayer = { layer: "cli", file: "/ops/serve.json", settings: { remote: { listen: "0.0.0.0:80", auth: { apiKeys: { p: { hash: `sha256:${"b".repeat(64)}` } } } }, forceLoginMethod: "any", forceLoginOrgUUID: "org-2" } };
  const r = resolve([cli, user]);
  assert.equal(r.remote.listen, "0.0.0.0:80");
  assert.equal(r.remote.auth?.apiKeys?.p?.subject, undefined, "an API key is taken whole from the highest layer");
  assert.equal(r.forceLoginMethod, "any");
  assert.notDeepEqual(effect(r), effect(resolve([user])));
});

test("every sandbox field has a rule in each place a sandbox appears", () => {
  for (const f of Object.keys(SANDBOX_FIELDS)) for (const prefix of ["sandbox", "mcpServers.*.sandbox", "sandboxProfiles.*"]) assert.ok(MERGE_RULES[`${prefix}.${f}`], `${prefix}.${f}`);
});
