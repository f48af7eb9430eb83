// Which sandbox a server gets, from settings: precedence, defaults, the flat form, requireSandbox.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseSandbox, mandatoryDenies } from "../../src/sandbox/policy.js";

const ctx = { home: "/home/u", platform: "linux" as NodeJS.Platform, baseDir: "/home/u/project", requireSandbox: false };

describe("chooseSandbox", () => {
  it("runs unsandboxed without sandbox settings, and with type none", () => {
    assert.deepEqual(chooseSandbox(undefined, undefined, ctx), {});
    assert.deepEqual(chooseSandbox({ type: "none" }, { type: "bubblewrap" }, ctx), {});
  });
  it("takes the server's own sandbox over the global one, whole", () => {
    const c = chooseSandbox({ filesystem: { allowRead: ["./data"] } }, { type: "docker", filesystem: { allowWrite: ["/tmp/x"] } }, ctx);
    assert.equal(c.policy?.type, "bubblewrap", "the platform default, not the global type");
    assert.deepEqual(c.policy?.filesystem.allowRead, ["/home/u/project/data"]);
    assert.deepEqual(c.policy?.filesystem.allowWrite, []);
  });
  it("folds the flat form in and expands ~ and relative paths", () => {
    const c = chooseSandbox({ allowRead: ["~/docs"], allowWrite: ["out"], allowExecute: ["/opt/tool/bin"], allowNetwork: ["github.com"], denyNetwork: ["gist.github.com"] }, undefined, ctx);
    assert.deepEqual(c.policy?.filesystem.allowRead, ["/home/u/docs", "/opt/tool/bin"]);
    assert.deepEqual(c.policy?.filesystem.allowWrite, ["/home/u/project/out"]);
    assert.deepEqual(c.policy?.network, { allowedDomains: ["github.com"], deniedDomains: ["gist.github.com"] });
  });
  it("lets a server write its own cwd by default", () => {
    const c = chooseSandbox({}, undefined, { ...ctx, serverCwd: "/srv/app", baseDir: "/srv/app" });
    assert.deepEqual(c.policy?.filesystem.allowWrite, ["/srv/app"]);
  });
  it("does not make the home directory, / or an ancestor of home writable by default", () => {
    for (const cwd of ["/home/u", "/", "/home"]) assert.deepEqual(chooseSandbox({}, undefined, { ...ctx, serverCwd: cwd, baseDir: cwd }).policy?.filesystem.allowWrite, [], cwd);
    assert.deepEqual(chooseSandbox({}, undefined, { ...ctx, serverCwd: "/home/u/project", baseDir: "/home/u/project" }).policy?.filesystem.allowWrite, ["/home/u/project"]);
  });
  it("with requireSandbox, sandboxes servers that set none and refuses type none", () => {
    const req = { ...ctx, requireSandbox: true };
    assert.equal(chooseSandbox(undefined, undefined, req).policy?.type, "bubblewrap");
    assert.match(chooseSandbox({ type: "none" }, undefined, req).refused ?? "", /requireSandbox/);
  });
  it("with requireImageDigest, refuses a docker or podman image without a digest, and accepts a pinned one", () => {
    const req = { ...ctx, requireImageDigest: true };
    const pin = `sha256:${"ab".repeat(32)}`;
    for (const type of ["docker", "podman"] as const) {
      assert.match(chooseSandbox({ type, image: "node:22-slim" }, undefined, req).refused ?? "", /requireImageDigest.*node:22-slim@sha256:<digest>/);
      assert.equal(chooseSandbox({ type, image: `node:22-slim@${pin}` }, undefined, req).policy?.image, `node:22-slim@${pin}`);
      assert.equal(chooseSandbox({ type, image: `node@${pin}` }, undefined, req).refused, undefined);
      // A malformed digest is not a pin.
      assert.match(chooseSandbox({ type, image: "node@sha256:abc" }, undefined, req).refused ?? "", /requireImageDigest/);
      assert.equal(chooseSandbox({ type, image: "node:22-slim" }, undefined, ctx).refused, undefined, "without the setting a tag is fine");
    }
    assert.equal(chooseSandbox({ type: "bubblewrap" }, undefined, req).refused, undefined, "other backends have no image");
  });
  it("refuses when the platform has no default backend", () => {
    assert.match(chooseSandbox({}, undefined, { ...ctx, platform: "win32" }).refused ?? "", /no sandbox backend/);
    assert.equal(chooseSandbox({}, undefined, { ...ctx, platform: "darwin" }).policy?.type, "seatbelt");
  });
});

describe("mandatoryDenies", () => {
  it("hides credentials, start-up files and mcp-warden's own files", () => {
    const d = mandatoryDenies("/home/u", ["/home/u/.config/mcp-warden", "relative/ignored"]);
    for (const p of ["/home/u/.ssh", "/home/u/.aws", "/home/u/.gnupg", "/home/u/.config/gcloud", "/home/u/.kube", "/home/u/.docker", "/home/u/.bashrc", "/home/u/.zshrc", "/home/u/.config/mcp-warden"])
      assert.ok(d.includes(p), p);
    assert.ok(!d.includes("relative/ignored"));
  });
});
