// The pieces of serve's operations endpoints that need no process: who may read /metrics, which
// labels the metrics carry, what readiness reasons leave out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { metricsAccess } from "../../src/ops/metrics-access.js";
import { GatewayMetrics, limitKind } from "../../src/ops/metrics.js";
import { runReadiness, scrub, shownAddress } from "../../src/ops/readiness.js";

describe("metrics access", () => {
  it("defaults to loopback only (IPv4 127/8 and ::1)", () => {
    const access = metricsAccess(undefined, {});
    assert.equal(access("127.0.0.1", undefined).ok, true);
    assert.equal(access("127.5.6.7", undefined).ok, true);
    assert.equal(access("::1", undefined).ok, true);
    assert.deepEqual(access("10.0.0.5", undefined), { ok: false, status: 403, message: "Forbidden: /metrics is served to the addresses in remote.metrics.allowFrom (default: loopback only)" });
    assert.equal(access("not-an-address", undefined).ok, false);
  });

  it("the loopback default never counts a request that came through a proxy (a local reverse proxy makes everyone loopback)", () => {
    const access = metricsAccess(undefined, {});
    const r = access("127.0.0.1", undefined, true);
    assert.equal(r.ok, false);
    assert.match(r.ok ? "" : r.message, /came through a proxy.*allowFrom or bearerTokenEnv/);
    assert.equal(metricsAccess({ allowFrom: ["127.0.0.1"] }, {})("127.0.0.1", undefined, true).ok, true, "an explicit allowFrom is the operator's choice");
  });

  it("allowFrom replaces the default with addresses and CIDR ranges of both families", () => {
    const access = metricsAccess({ allowFrom: ["10.0.0.0/8", "fd00::/8", "192.168.1.7"] }, {});
    assert.equal(access("10.200.3.4", undefined).ok, true);
    assert.equal(access("fd12::1", undefined).ok, true);
    assert.equal(access("192.168.1.7", undefined).ok, true);
    assert.equal(access("192.168.1.8", undefined).ok, false);
    assert.equal(access("127.0.0.1", undefined).ok, false);
  });

  it("refuses settings it cannot enforce: a malformed range, an unset token variable", () => {
    assert.throws(() => metricsAccess({ allowFrom: ["10.0.0.0/33"] }, {}), /'10\.0\.0\.0\/33' is not an IP address or CIDR range/);
    assert.throws(() => metricsAccess({ allowFrom: ["example.com"] }, {}), /not an IP address/);
    assert.throws(() => metricsAccess({ bearerTokenEnv: "SCRAPE_TOKEN" }, {}), /SCRAPE_TOKEN, which is not set/);
  });

  it("with a token: any address presenting it, unless allowFrom narrows that too", () => {
    const open = metricsAccess({ bearerTokenEnv: "T" }, { T: "tok-123" });
    assert.equal(open("10.0.0.5", "Bearer tok-123").ok, true);
    assert.equal(open("10.0.0.5", "Bearer tok-1234").ok, false);
    assert.equal(open("127.0.0.1", undefined).ok, false);
    const both = metricsAccess({ bearerTokenEnv: "T", allowFrom: ["10.0.0.0/8"] }, { T: "tok-123" });
    assert.equal(both("10.0.0.5", "Bearer tok-123").ok, true);
    assert.equal(both("172.16.0.1", "Bearer tok-123").ok, false);
  });
});

describe("metrics labels", () => {
  it("a rate limit's settings path becomes its kind only (no tool glob, no principal)", () => {
    assert.equal(limitKind('remote.rateLimits.perTool["mcp__fx__*"]'), "perTool");
    assert.equal(limitKind("remote.rateLimits.global"), "global");
    assert.equal(limitKind('principals["user:alice@example.com"].rateLimits.perPrincipal'), "principal.perPrincipal");
    assert.equal(limitKind("remote.rateLimits"), "settings");
  });

  it("a server name outside the settings is counted as unknown; the sandbox failure needs a sandbox", async () => {
    const m = new GatewayMetrics({ servers: () => new Set(["fx"]), sandboxOf: (s) => (s === "fx" ? "bubblewrap" : "none"), openSessions: () => 3 });
    m.observe({ kind: "call", event: "decided", server: "fx", decision: "allow" });
    m.observe({ kind: "call", event: "decided", server: "attacker-chosen-name", decision: "deny", outcome: "denied", durationMs: 2 });
    m.observe({ kind: "server", event: "crashed", server: "fx" });
    const { body } = await m.text();
    assert.match(body, /^mcp_warden_calls_total\{server="fx",decision="allow"\} 1$/m);
    assert.match(body, /^mcp_warden_calls_total\{server="unknown",decision="deny"\} 1$/m);
    assert.ok(!body.includes("attacker-chosen-name"));
    assert.match(body, /^mcp_warden_sandbox_failures_total\{server="fx",sandbox="bubblewrap"\} 1$/m);
    assert.match(body, /^mcp_warden_open_sessions 3$/m);
  });
});

describe("readiness", () => {
  it("a check that throws, or never answers, is not ready; the reasons lose URL credentials", async () => {
    const report = await runReadiness(
      [
        { name: "ok", check: async () => undefined },
        { name: "throws", check: async () => Promise.reject(new Error("cannot reach postgres://warden:hunter2@db:5432/audit")) },
        { name: "hangs", check: () => new Promise(() => undefined) },
      ],
      200,
    );
    assert.equal(report.ready, false);
    assert.deepEqual(report.checks, [
      { name: "ok", ok: true },
      { name: "throws", ok: false, reason: "cannot reach postgres://db:5432/audit" },
      { name: "hangs", ok: false, reason: "no answer within 200 ms" },
    ]);
    assert.equal(scrub("redis://:pw@h:1 and rediss://u:p@h2"), "redis://h:1 and rediss://h2");
    assert.equal(shownAddress("postgresql://u:secret@db.internal:5432/x?sslmode=require"), "postgresql://db.internal:5432");
  });
});
