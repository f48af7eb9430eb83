// The working directory of a container sandbox (src/sandbox/container-workdir.ts, through the
// backend's argument builder): visible read-only unless allowed writable, refused in a denied path,
// an empty read-only directory when it is the home directory or above it. No engine runs here.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { containerBackend } from "../../src/sandbox/container.js";
import type { LaunchSpec, SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";
import { simulatedHost } from "./simulated-container-host.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-ctr-cwd-")));
after(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, "home");
const project = join(home, "project");
const secrets = join(home, ".ssh");
for (const d of [project, join(project, "sub"), secrets]) mkdirSync(d, { recursive: true });

const spec = (cwd: string): LaunchSpec => ({ command: "sh", args: [], env: {}, cwd });
const policy = (fs: Partial<SandboxPolicy["filesystem"]> = {}): SandboxPolicy => ({
  type: "podman",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [], ...fs },
  network: {},
  limits: {},
  env: [],
  image: "localhost/busybox:1",
});
const ctx: SandboxContext = { home, mandatoryDeny: [secrets] };
const wrap = (cwd: string, p: SandboxPolicy) => containerBackend("podman", { server: "x", gatewayPid: 1, hostname: "h", removeOnCleanup: false, podmanUserns: null, ...simulatedHost("podman") }).wrap(spec(cwd), p, ctx);
const mounts = (args: string[]) => args.slice(0, args.indexOf("--")).filter((a) => a.startsWith("--mount=")).map((a) => a.slice("--mount=".length));

describe("container sandbox: the working directory", () => {
  it("is mounted read-only when the policy does not mention it", () => {
    assert.deepEqual(mounts(wrap(project, policy()).args), [`type=bind,src=${project},dst=${project},readonly`]);
  });
  it("is left to the policy when an allowed path holds it (writable stays writable)", () => {
    assert.deepEqual(mounts(wrap(join(project, "sub"), policy({ allowWrite: [project] })).args), [`type=bind,src=${project},dst=${project}`]);
    assert.deepEqual(mounts(wrap(join(project, "sub"), policy({ allowRead: [project] })).args), [`type=bind,src=${project},dst=${project},readonly`]);
  });
  it("is refused inside a denied path", () => {
    assert.throws(() => wrap(secrets, policy()), /working directory .* is in the denied path/);
    assert.throws(() => wrap(project, policy({ denyRead: [project] })), /denied path/);
  });
  it("is an empty read-only directory when it is the home directory or above it, never the real one", () => {
    for (const cwd of [home, root]) {
      const m = mounts(wrap(cwd, policy()).args);
      assert.deepEqual(m, [`type=tmpfs,dst=${cwd},ro,tmpfs-mode=0755,notmpcopyup`], cwd);
    }
    assert.deepEqual(mounts(wrap("/", policy()).args), [], "/ exists in every image");
  });
});
