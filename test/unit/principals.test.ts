// Per-principal policy (remote mode's `principals`): the settings as every command loads them
// (schema, then resolveSettings over real layers), then compilePrincipalPolicies and the real engine.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { localPrincipal, type Principal } from "../../src/policy/principal.js";
import { compilePrincipalPolicies, compilePrincipalRules, DEFAULT_POLICY_CACHE_LIMIT, parseRate } from "../../src/policy/principals.js";
import { PolicyError } from "../../src/policy/rules.js";
import { parseSettingsObject, resolveSettings, type ResolvedSettings, type SettingsLayer } from "../../src/settings/index.js";

const FILES = {
  managed: "/etc/mcp-warden/managed-settings.json",
  cli: "/ops/serve.json",
  user: "/home/u/.config/mcp-warden/settings.json",
  project: "/repo/.mcp-warden/settings.json",
} as const;

function layer(name: keyof typeof FILES, settings: unknown, trusted?: boolean): SettingsLayer {
  const file = FILES[name];
  const l: SettingsLayer = { layer: name, file, settings: parseSettingsObject(settings, file) };
  if (trusted !== undefined) l.trusted = trusted;
  return l;
}

const resolve = (...layers: SettingsLayer[]) => resolveSettings(layers, { env: { HOME: "/home/u" } });
const compile = (r: ResolvedSettings) => compilePrincipalPolicies(r);

function caller(subject: string, o: { clientId?: string; groups?: string[]; org?: string } = {}): Principal {
  return { subject, groups: o.groups ?? [], scopes: [], method: "oidc", ...(o.clientId ? { clientId: o.clientId } : {}), ...(o.org ? { org: o.org } : {}) };
}

const WRITE = "mcp__db__write_rows";
const decide = (pp: ReturnType<typeof compile>, p: Principal, tool = WRITE) => pp.forPrincipal(p).decideTool({ tool, input: {} });

describe("per-principal rules", () => {
  it("client A may call a tool that client B is denied, each verdict naming its entry's file and path", () => {
    const pp = compile(
      resolve(
        layer("user", {
          principals: {
            "client:agent-a": { permissions: { allow: [WRITE] } },
            "client:ci-bot": { permissions: { deny: ["mcp__*__write*"] } },
          },
        }),
      ),
    );
    const a = decide(pp, caller("svc-a", { clientId: "agent-a" }));
    const b = decide(pp, caller("svc-b", { clientId: "ci-bot" }));
    assert.equal(a.decision, "allow");
    assert.deepEqual(a.source, { layer: "user", file: FILES.user, path: 'principals["client:agent-a"].permissions.allow[0]' });
    assert.equal(b.decision, "deny");
    assert.deepEqual(b.source, { layer: "user", file: FILES.user, path: 'principals["client:ci-bot"].permissions.deny[0]' });
    // A caller matching neither: unmatched asks.
    assert.equal(decide(pp, caller("svc-c", { clientId: "other" })).decision, "ask");
    assert.equal(pp.base.decideTool({ tool: WRITE, input: {} }).decision, "ask");
  });

  it("a deny of the layers beats a principal's allow of the same tool", () => {
    const pp = compile(resolve(layer("user", { permissions: { deny: ["mcp__db__write*"] }, principals: { "user:alice": { permissions: { allow: ["mcp__db"] }, autoApproveTools: [WRITE] } } })));
    const v = decide(pp, caller("alice"));
    assert.equal(v.decision, "deny");
    assert.equal(v.source?.path, "permissions.deny[0]");
    // The allow still works for the tools the deny does not cover.
    assert.equal(decide(pp, caller("alice"), "mcp__db__read_rows").decision, "allow");
  });

  it("a managed deny beats an allow given to a principal by a lower layer, and a managed ask beats it too", () => {
    const pp = compile(
      resolve(
        layer("managed", { permissions: { deny: ["mcp__db__write_rows"], ask: ["mcp__db__export"] } }),
        layer("user", { principals: { "user:alice": { permissions: { allow: ["mcp__db__*"] } }, "*": { autoApproveTools: ["mcp__db__export"] } } }),
      ),
    );
    const v = decide(pp, caller("alice"));
    assert.equal(v.decision, "deny");
    assert.equal(v.source?.layer, "managed");
    assert.equal(decide(pp, caller("alice"), "mcp__db__export").decision, "ask");
    assert.equal(decide(pp, caller("alice"), "mcp__db__read_rows").decision, "allow");
  });

  it("group and org selectors apply to callers carrying that group or organization, exactly (case included)", () => {
    const pp = compile(
      resolve(
        layer("user", {
          principals: {
            "group:dev": { permissions: { allow: ["mcp__db__read_rows", WRITE] } },
            "org:acme": { permissions: { deny: [WRITE] } },
          },
        }),
      ),
    );
    assert.equal(decide(pp, caller("bob", { groups: ["ops", "dev"] }), "mcp__db__read_rows").decision, "allow");
    assert.equal(decide(pp, caller("bob", { groups: ["dev"] })).decision, "allow");
    // The organization's deny wins over the group's allow.
    assert.equal(decide(pp, caller("bob", { groups: ["dev"], org: "acme" })).decision, "deny");
    assert.equal(decide(pp, caller("bob", { groups: ["Dev"] }), "mcp__db__read_rows").decision, "ask");
    assert.equal(decide(pp, caller("bob", { org: "ACME" })).decision, "ask");
  });

  it("`*` applies to every authenticated remote caller but not to the local stdio user", () => {
    const pp = compile(resolve(layer("user", { principals: { "*": { permissions: { allow: [WRITE], deny: ["mcp__db__drop"] } } } })));
    assert.equal(decide(pp, caller("anyone")).decision, "allow");
    assert.equal(decide(pp, caller("anyone"), "mcp__db__drop").decision, "deny");
    assert.equal(decide(pp, { ...caller("key"), method: "api-key" }).decision, "allow");
    const local = localPrincipal("anyone");
    assert.equal(pp.forPrincipal(local), pp.base);
    assert.equal(decide(pp, local).decision, "ask");
  });

  it("an entry's autoApproveTools allow for that caller only", () => {
    const pp = compile(resolve(layer("user", { principals: { "user:alice": { autoApproveTools: ["mcp__db__*"] } } })));
    const v = decide(pp, caller("alice"));
    assert.equal(v.decision, "allow");
    assert.equal(v.source?.path, 'principals["user:alice"].autoApproveTools[0]');
    assert.equal(decide(pp, caller("bob")).decision, "ask");
  });

  it("with managed allowManagedPermissionRulesOnly a user-layer principal allow is dropped (with a warning); its deny and a managed principal allow stay", () => {
    const r = resolve(
      layer("managed", { allowManagedPermissionRulesOnly: true, principals: { "group:admins": { permissions: { allow: ["mcp__db__read_rows"] } } } }),
      layer("user", { principals: { "user:alice": { permissions: { allow: [WRITE], deny: ["mcp__db__drop"] }, autoApproveTools: ["mcp__db__export"] } } }),
    );
    const pp = compile(r);
    assert.equal(decide(pp, caller("alice")).decision, "ask");
    assert.equal(decide(pp, caller("alice"), "mcp__db__export").decision, "ask");
    assert.equal(decide(pp, caller("alice"), "mcp__db__drop").decision, "deny");
    assert.equal(decide(pp, caller("alice", { groups: ["admins"] }), "mcp__db__read_rows").decision, "allow");
    assert.ok(r.warnings.some((w) => w.includes(FILES.user) && w.includes('principals["user:alice"]') && w.includes("allowManagedPermissionRulesOnly")), r.warnings.join("\n"));
    // Sanity: without the managed flag the same user layer does allow.
    const open = compile(resolve(layer("user", { principals: { "user:alice": { permissions: { allow: [WRITE] } } } })));
    assert.equal(decide(open, caller("alice")).decision, "allow");
  });

  it("an untrusted project layer cannot give a principal an allow, but its deny for a principal counts", () => {
    const r = resolve(
      layer("project", { principals: { "user:alice": { permissions: { allow: [WRITE], deny: ["mcp__db__drop"] } } } }, false),
      layer("user", {}),
    );
    const pp = compile(r);
    assert.equal(decide(pp, caller("alice")).decision, "ask");
    assert.equal(decide(pp, caller("alice"), "mcp__db__drop").decision, "deny");
  });

  it("the same selector in several layers concatenates their rules, each keeping its own file and path", () => {
    const r = resolve(
      layer("cli", { principals: { "client:ci-bot": { permissions: { deny: ["mcp__db__drop"] }, rateLimits: { perPrincipal: "10/min", perTool: { "mcp__db__*": "5/min" } } } } }),
      layer("user", { principals: { "client:ci-bot": { permissions: { allow: [WRITE] }, rateLimits: { perPrincipal: "600/min", perTool: { "mcp__*__search*": "60/min", "mcp__db__*": "50/min" } } } } }),
    );
    const e = r.principals["client:ci-bot"]!;
    assert.deepEqual(e.deny, [{ value: "mcp__db__drop", source: { layer: "cli", file: FILES.cli, path: 'principals["client:ci-bot"].permissions.deny[0]' } }]);
    assert.deepEqual(e.allow, [{ value: WRITE, source: { layer: "user", file: FILES.user, path: 'principals["client:ci-bot"].permissions.allow[0]' } }]);
    // Rate limits: per field and per tool key, the highest layer.
    assert.equal(e.rateLimits.perPrincipal?.value, "10/min");
    assert.equal(e.rateLimits.perTool["mcp__db__*"]?.value, "5/min");
    assert.equal(e.rateLimits.perTool["mcp__*__search*"]?.source.layer, "user");
    const pp = compile(r);
    assert.equal(decide(pp, caller("x", { clientId: "ci-bot" })).decision, "allow");
    assert.equal(decide(pp, caller("x", { clientId: "ci-bot" }), "mcp__db__drop").decision, "deny");
  });

  it("a bad rule in a principal entry is a PolicyError naming its file and JSON path when the policies compile", () => {
    const r = resolve(layer("user", { principals: { "client:x": { permissions: { deny: ["mcp__db__write_rows", "mcp____"] } } } }));
    assert.throws(
      () => compile(r),
      (e: unknown) => e instanceof PolicyError && e.source?.file === FILES.user && e.source.path === 'principals["client:x"].permissions.deny[1]',
    );
  });

  it("a selector the schema would refuse is refused by the core too (a misspelt deny must not silently match nobody)", () => {
    const r = resolve(layer("user", {}));
    const principals = { "users:alice": { allow: [], ask: [], deny: [{ value: WRITE, source: { layer: "user" as const, file: FILES.user, path: "x" } }], autoApprove: [], rateLimits: { perTool: {} } } };
    assert.throws(() => compilePrincipalRules(r.policy, principals), /invalid principals key "users:alice"/);
  });

  it("a caller whose identity is malformed is denied everything, never judged by the base policy", () => {
    const pp = compile(resolve(layer("user", { permissions: { allow: ["mcp__db"] }, principals: { "*": { permissions: { deny: ["mcp__x"] } } } })));
    const broken = { subject: "x", groups: null, scopes: [], method: "oidc" } as unknown as Principal;
    assert.equal(decide(pp, broken, "mcp__db__read_rows").decision, "deny");
  });
});

describe("compiling per principal", () => {
  it("a caller matching no entry with rules gets the base policy object itself; a repeated caller the same cached object", () => {
    const pp = compile(resolve(layer("user", { principals: { "user:alice": { permissions: { allow: [WRITE] } }, "user:rl": { rateLimits: { perPrincipal: "5/s" } } } })));
    assert.equal(pp.forPrincipal(caller("bob")), pp.base);
    assert.equal(pp.forPrincipal(caller("rl")), pp.base, "an entry with only rate limits needs no policy of its own");
    assert.equal(pp.cachedPolicies, 0);
    const first = pp.forPrincipal(caller("alice"));
    assert.notEqual(first, pp.base);
    assert.equal(pp.forPrincipal(caller("alice", { groups: ["unconfigured"] })), first, "unconfigured groups change nothing");
    assert.equal(pp.cachedPolicies, 1);
  });

  it("the policy for a set of entries does not depend on the order of the caller's groups", () => {
    const pp = compile(resolve(layer("user", { principals: { "group:a": { permissions: { allow: [WRITE] } }, "group:b": { permissions: { deny: ["mcp__db__drop"] } } } })));
    assert.equal(pp.forPrincipal(caller("x", { groups: ["a", "b"] })), pp.forPrincipal(caller("y", { groups: ["b", "a", "zzz"] })));
    assert.equal(pp.cachedPolicies, 1);
  });

  it("the cache is bounded: more distinct group combinations than its limit never hold more policies, and every answer stays right", () => {
    const groups = Array.from({ length: 11 }, (_, i) => `g${i}`);
    const principals = Object.fromEntries(groups.map((g, i) => [`group:${g}`, { permissions: i === 0 ? { deny: [WRITE] } : { allow: [`mcp__s${i}__t`] } }]));
    const pp = compile(resolve(layer("user", { principals })));
    const combos = DEFAULT_POLICY_CACHE_LIMIT + 100;
    const subset = (n: number) => groups.filter((_, i) => (n >> i) & 1);
    for (let n = 1; n <= combos; n++) {
      const p = caller("attacker", { groups: subset(n) });
      const expectWrite = n & 1 ? "deny" : "ask";
      assert.equal(decide(pp, p).decision, expectWrite, `combo ${n}`);
    }
    assert.equal(pp.cachedPolicies, DEFAULT_POLICY_CACHE_LIMIT);
    // An evicted combination compiles again and still answers rightly.
    assert.equal(decide(pp, caller("attacker", { groups: subset(2) }), "mcp__s1__t").decision, "allow");
    assert.equal(decide(pp, caller("attacker", { groups: subset(2) }), "mcp__s2__t").decision, "ask");
    assert.equal(pp.cachedPolicies, DEFAULT_POLICY_CACHE_LIMIT);
  });

  it("eviction takes the least recently used policy", () => {
    const r = resolve(layer("user", { principals: { "user:a": { permissions: { allow: [WRITE] } }, "user:b": { permissions: { allow: [WRITE] } }, "user:c": { permissions: { allow: [WRITE] } } } }));
    const pp = compilePrincipalRules(r.policy, r.principals, { cacheLimit: 2 });
    const a = pp.forPrincipal(caller("a"));
    const b = pp.forPrincipal(caller("b"));
    assert.equal(pp.forPrincipal(caller("a")), a); // a is now the most recent
    pp.forPrincipal(caller("c")); // evicts b
    assert.equal(pp.cachedPolicies, 2);
    assert.equal(pp.forPrincipal(caller("a")), a);
    assert.notEqual(pp.forPrincipal(caller("b")), b);
  });

  it("reuses a base policy compiled already", () => {
    const r = resolve(layer("user", { principals: { "user:a": { permissions: { allow: [WRITE] } } } }));
    const base = compilePrincipalPolicies(r).base;
    assert.equal(compilePrincipalPolicies(r, undefined, base).forPrincipal(caller("b")), base);
  });
});

describe("rate limits per principal", () => {
  const r = resolve(
    layer("user", {
      principals: {
        "*": { rateLimits: { perPrincipal: "1000/min", perTool: { "mcp__*__search*": "100/min" } } },
        "org:acme": { rateLimits: { perPrincipal: "500/min" } },
        "group:a": { rateLimits: { perPrincipal: "100/min" } },
        "group:b": { rateLimits: { perPrincipal: "1/s", perTool: { "mcp__*__search*": "30/min" } } },
        "client:bot": { rateLimits: { perPrincipal: "20/min" } },
        "user:alice": { rateLimits: { perPrincipal: "10/min" } },
      },
    }),
  );
  const pp = compile(r);
  const rate = (p: Principal) => pp.rateLimitsFor(p).perPrincipal;

  it("the most specific selector wins: user > client > group > org > *", () => {
    const all = { clientId: "bot", groups: ["a", "b"], org: "acme" };
    assert.equal(rate(caller("alice", all))?.selector, "user:alice");
    assert.equal(rate(caller("bob", all))?.selector, "client:bot");
    assert.equal(rate(caller("bob", { groups: ["a"], org: "acme" }))?.selector, "group:a");
    assert.equal(rate(caller("bob", { org: "acme" }))?.selector, "org:acme");
    assert.deepEqual(rate(caller("bob")), { rate: "1000/min", selector: "*", source: { layer: "user", file: FILES.user, path: 'principals["*"].rateLimits.perPrincipal' } });
    assert.equal(rate(localPrincipal("bob")), undefined);
  });

  it("between equally specific entries the lower rate wins, per field and per tool key", () => {
    // group:a 100/min against group:b 1/s (60/min): b's is lower, whatever the order of the groups.
    assert.equal(rate(caller("bob", { groups: ["a", "b"] }))?.selector, "group:b");
    assert.equal(rate(caller("bob", { groups: ["b", "a"] }))?.selector, "group:b");
    assert.equal(pp.rateLimitsFor(caller("bob", { groups: ["b"] })).perTool["mcp__*__search*"]?.rate, "30/min");
    assert.equal(pp.rateLimitsFor(caller("bob", { groups: ["a"] })).perTool["mcp__*__search*"]?.rate, "100/min");
  });

  it("parseRate reads the schema's rate forms", () => {
    assert.deepEqual(parseRate("600/min"), { tokens: 600, seconds: 60 });
    assert.deepEqual(parseRate(" 5 / hour "), { tokens: 5, seconds: 3600 });
    assert.equal(parseRate("lots"), undefined);
  });
});

describe("remote settings resolution", () => {
  it("each remote field comes from the highest layer that sets it; apiKeys merge by name, tls stays whole", () => {
    const hash = (c: string) => `sha256:${c.repeat(64)}`;
    const r = resolve(
      layer("managed", { remote: { auth: { issuer: "http://127.0.0.1:4455", apiKeys: { ci: { hash: hash("a"), subject: "ci-managed" } } } }, forceLoginMethod: "sso" }),
      layer("cli", { remote: { listen: "127.0.0.1:9999", tls: { cert: "/c2.pem", key: "/k2.pem" } } }),
      layer("user", {
        remote: {
          listen: "127.0.0.1:8787",
          resource: "http://127.0.0.1:8787/mcp",
          tls: { cert: "/c.pem", key: "/k.pem" },
          auth: { issuer: "http://evil.example", groupsClaim: "groups", apiKeys: { ci: { hash: hash("b"), groups: ["x"] }, dev: { hash: hash("c") } } },
          sessions: { idleMinutes: 30 },
          rateLimits: { perPrincipal: "600/min", perTool: { "mcp__*__search*": "60/min" } },
        },
        forceLoginMethod: "any",
        forceLoginOrgUUID: "org-1",
      }),
    );
    assert.deepEqual(r.remote, {
      listen: "127.0.0.1:9999",
      resource: "http://127.0.0.1:8787/mcp",
      tls: { cert: "/c2.pem", key: "/k2.pem" },
      auth: { issuer: "http://127.0.0.1:4455", groupsClaim: "groups", apiKeys: { ci: { hash: hash("a"), subject: "ci-managed" }, dev: { hash: hash("c") } } },
      sessions: { idleMinutes: 30 },
      rateLimits: { perPrincipal: "600/min", perTool: { "mcp__*__search*": "60/min" } },
    });
    assert.equal(r.forceLoginMethod, "sso");
    assert.equal(r.forceLoginOrgUUID, "org-1");
  });

  it("no layer sets remote: an empty object and no forced login", () => {
    const r = resolve(layer("user", {}));
    assert.deepEqual(r.remote, {});
    assert.equal(r.forceLoginMethod, undefined);
    assert.deepEqual(Object.keys(r.principals), []);
  });

  it("a trusted project layer still cannot set remote, principals' rate limits or the forced login", () => {
    const r = resolve(
      layer("project", { remote: { listen: "0.0.0.0:80" }, forceLoginMethod: "any", principals: { "*": { rateLimits: { perPrincipal: "100000/s" } } } }, true),
      layer("user", { remote: { listen: "127.0.0.1:8787" }, forceLoginMethod: "sso" }),
    );
    assert.equal(r.remote.listen, "127.0.0.1:8787");
    assert.equal(r.forceLoginMethod, "sso");
    assert.equal(r.principals["*"]?.rateLimits.perPrincipal, undefined);
  });
});
