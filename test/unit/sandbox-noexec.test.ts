// allowExecute false or a list: settings (schema, merge), the policy, the bubblewrap plan (no system
// directories, programs bound as single files with their libraries), refusals (package runners,
// scripts, other backends). The real server under real bubblewrap: test/e2e/sandbox-noexec.test.ts.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { networkSettingsOf } from "../../src/policy/egress/egress.js";
import { planBwrap } from "../../src/sandbox/bubblewrap.js";
import { resolveHostPath } from "../../src/sandbox/bwrap-paths.js";
import { executeRefusal } from "../../src/sandbox/launch.js";
import { packageRunnerRefusal, readElf, runtimeFiles } from "../../src/sandbox/no-exec.js";
import { chooseSandbox } from "../../src/sandbox/policy.js";
import type { SandboxPolicy } from "../../src/sandbox/types.js";
import { executeAtLeastAsStrict } from "../../src/settings/merge-rules.js";
import { narrowSandbox } from "../../src/settings/narrow.js";
import { Settings } from "../../src/settings/schema.js";
import type { SettingsLayer } from "../../src/settings/index.js";

const ctx = { home: "/home/u", platform: "linux" as NodeJS.Platform, baseDir: "/home/u/project", requireSandbox: false };
const notLinux = process.platform !== "linux" ? "bubblewrap is Linux-only" : false;

describe("allowExecute in the settings", () => {
  it("accepts false, true and a list; refuses other values", () => {
    for (const v of [false, true, ["/usr/bin/git"]]) assert.ok(Settings.safeParse({ sandbox: { allowExecute: v } }).success, JSON.stringify(v));
    for (const v of ["no", 0, [1]]) assert.ok(!Settings.safeParse({ sandbox: { allowExecute: v } }).success, JSON.stringify(v));
  });
  it("ranks false strictest, a narrower list next, true loosest", () => {
    assert.ok(executeAtLeastAsStrict(false, true) && executeAtLeastAsStrict(false, ["/a"]) && executeAtLeastAsStrict(false, false));
    assert.ok(executeAtLeastAsStrict(["/a"], ["/a", "/b"]) && executeAtLeastAsStrict(["/a"], undefined));
    assert.ok(!executeAtLeastAsStrict(["/a", "/c"], ["/a"]), "a list with an entry the baseline lacks");
    assert.ok(!executeAtLeastAsStrict(["/a"], false) && !executeAtLeastAsStrict(true, false) && !executeAtLeastAsStrict(true, ["/a"]));
    assert.ok(!executeAtLeastAsStrict("yes", true), "a value of the wrong type is never strict enough");
  });
  const layer: SettingsLayer = { layer: "project", file: "/repo/.mcp-warden/settings.json", settings: {} };
  const narrow = (base: object | undefined, untrusted: object) => {
    const warnings: string[] = [];
    return { out: narrowSandbox(base, untrusted, { layer, at: "sandbox", global: true }, warnings), warnings };
  };
  it("an untrusted layer can turn execution off, but not back on", () => {
    assert.equal(narrow({ allowExecute: ["/a"] }, { allowExecute: false }).out?.allowExecute, false);
    const on = narrow({ allowExecute: false }, { allowExecute: true });
    assert.equal(on.out?.allowExecute, false);
    assert.match(on.warnings.join("\n"), /allowExecute.*ignored: it is looser/);
    assert.equal(narrow({ allowExecute: false }, { allowExecute: ["/bin/sh"] }).out?.allowExecute, false);
  });
  it("an untrusted list is intersected with the trusted one, with a warning per dropped entry", () => {
    const r = narrow({ allowExecute: ["/a", "/b"] }, { allowExecute: ["/a", "/bin/sh"] });
    assert.deepEqual(r.out?.allowExecute, ["/a"]);
    assert.match(r.warnings.join("\n"), /\/bin\/sh.*entry dropped/);
    assert.deepEqual(narrow(undefined, { allowExecute: ["/a"] }).out?.allowExecute, ["/a"], "narrows the default (any program)");
  });
});

describe("allowExecute and the flat form in the policy", () => {
  it("false becomes execute false; a list becomes execute and readable", () => {
    assert.equal(chooseSandbox({ allowExecute: false }, undefined, ctx).policy?.execute, false);
    const c = chooseSandbox({ allowExecute: ["/opt/tool/bin/tool"] }, undefined, ctx);
    assert.deepEqual(c.policy?.execute, ["/opt/tool/bin/tool"]);
    assert.ok(c.policy?.filesystem.allowRead.includes("/opt/tool/bin/tool"));
    assert.equal(chooseSandbox({ allowExecute: true }, undefined, ctx).policy?.execute, undefined);
  });
  it("an explicitly empty write list means nothing writable, not the server's directory", () => {
    const srv = { ...ctx, serverCwd: "/srv/app", baseDir: "/srv/app" };
    assert.deepEqual(chooseSandbox({ allowWrite: [] }, undefined, srv).policy?.filesystem.allowWrite, []);
    assert.deepEqual(chooseSandbox({ filesystem: { allowWrite: [] } }, undefined, srv).policy?.filesystem.allowWrite, []);
    assert.deepEqual(chooseSandbox({}, undefined, srv).policy?.filesystem.allowWrite, ["/srv/app"], "absent: the default stays");
  });
  it('denyNetwork ["*"] means "nothing else" (the default), not a deny of what allowNetwork names', () => {
    assert.deepEqual(networkSettingsOf({ allowNetwork: ["api.company.internal"], denyNetwork: ["*"] }), { allowedDomains: ["api.company.internal"], deniedDomains: [] });
  });
});

describe("refusals", () => {
  it("a package runner is refused with how to resolve the package ahead of time", () => {
    const why = packageRunnerRefusal("production-api", "npx", ["-y", "@company/mcp-api-server"]);
    assert.match(why ?? "", /allowExecute false.*'npx' fetches @company\/mcp-api-server.*npm install --prefix .*production-api @company\/mcp-api-server.*command to the node binary/);
    for (const c of ["uvx", "/usr/local/bin/pnpm", "bunx"]) assert.ok(packageRunnerRefusal("s", c, ["pkg"]), c);
    assert.equal(packageRunnerRefusal("s", "/usr/bin/node", ["server.js"]), undefined);
  });
  it("backends other than bubblewrap refuse allowExecute (they cannot honour it)", () => {
    const base: SandboxPolicy = { type: "docker", filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] }, network: {}, limits: {}, env: [] };
    for (const type of ["docker", "podman", "seatbelt"] as const) assert.match(executeRefusal({ ...base, type, execute: false }) ?? "", /bubblewrap sandbox only/);
    assert.equal(executeRefusal({ ...base, type: "bubblewrap", execute: false }), undefined);
    assert.equal(executeRefusal({ ...base, type: "docker" }), undefined);
  });
});

describe("the bubblewrap plan with allowExecute false", { skip: notLinux }, () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "warden-noexec-unit-")));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = (execute: false | string[] | undefined): SandboxPolicy => ({
    type: "bubblewrap",
    filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] },
    network: {},
    limits: {},
    env: [],
    ...(execute === undefined ? {} : { execute }),
  });
  const node = realpathSync(process.execPath);
  const spec = { command: process.execPath, args: ["-e", "0"], env: { PATH: "/usr/bin:/bin" } };
  const binds = (o: string[]) => o.flatMap((x, i) => (x === "--ro-bind" || x === "--bind" ? [o[i + 2] as string] : []));

  it("binds no system program directory, only the node binary and its libraries as single files", () => {
    const plan = planBwrap(spec, policy(false), { home: dir, mandatoryDeny: [] });
    const b = binds(plan.options);
    for (const d of ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/usr/bin", "/usr/lib"]) assert.ok(!b.includes(d), `${d} is bound: ${b.join(" ")}`);
    assert.ok(b.includes(node), "the node binary");
    assert.ok(b.includes("/etc"), "/etc, secrets masked as always");
    for (const f of runtimeFiles(node, "node").slice(1)) assert.ok(b.includes(realpathSync(f)), `library ${f}`);
    const control = binds(planBwrap(spec, policy(undefined), { home: dir, mandatoryDeny: [] }).options);
    assert.ok(control.includes("/usr"), "without allowExecute the system directories are there");
  });
  it("a listed program is bound with its libraries", () => {
    const id = ["/usr/bin/id", "/bin/id"].find((p) => readElf(realpathSync(p)) !== undefined);
    if (id === undefined) return;
    const b = binds(planBwrap(spec, policy([id]), { home: dir, mandatoryDeny: [] }).options);
    assert.ok(b.includes(realpathSync(id)));
    assert.ok(!b.includes("/usr/bin"));
  });
  it("a listed program reached through links keeps the name it is started by", () => {
    const sh = resolveHostPath("/bin/sh");
    if (!sh.exists || sh.path === "/bin/sh") return; // no link to follow here
    const o = planBwrap(spec, policy(["/bin/sh"]), { home: dir, mandatoryDeny: [] }).options;
    assert.ok(binds(o).includes(sh.path));
    const links = o.flatMap((x, i) => (x === "--symlink" ? [`${o[i + 2]} -> ${o[i + 1]}`] : []));
    assert.ok(links.some((l) => l.endsWith(`-> ${sh.path}`) && (l.startsWith("/usr/bin/sh ") || l.startsWith("/bin/sh "))), links.join("\n"));
  });
  it("refuses a script as the command: it could not start its interpreter", () => {
    const script = join(dir, "server.sh");
    writeFileSync(script, "#!/bin/sh\necho hi\n");
    chmodSync(script, 0o755);
    assert.throws(() => planBwrap({ ...spec, command: script, args: [] }, policy(false), { home: dir, mandatoryDeny: [] }), /not a binary program \(a script\?\).*set the command to the interpreter/);
  });
  it("reads the loader of an ELF program, and nothing from a non-ELF file", () => {
    assert.match(readElf(node)?.interpreter ?? "static", /ld-|static/);
    const text = join(dir, "t.txt");
    writeFileSync(text, "not an ELF file, long enough to fill a header of sixty-four bytes......");
    assert.equal(readElf(text), undefined);
  });
});
