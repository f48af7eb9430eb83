// Digest pins against a real docker engine (a private dockerd; no registry): docker reports image IDs
// with their `sha256:` prefix and no RepoDigests for a locally imported image, unlike podman
// (test/e2e/container-npm-server.test.ts covers podman through the gateway). The backend runs a
// pinned image by its ID, and refuses a pin the local image does not match or an image not present.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { containerBackend } from "../../src/sandbox/container.js";
import { describeImage } from "../../src/sandbox/image-pin.js";
import type { SandboxLaunch, SandboxPolicy } from "../../src/sandbox/types.js";
import { BUSYBOX, busyboxImage, dockerdProblem, imageId, startDockerd, type PrivateDockerd } from "./container-harness.js";

const problem = dockerdProblem() ?? (BUSYBOX === undefined ? "no static busybox to build the test image from (apt-get install busybox-static)" : undefined);
const FOREIGN = `sha256:${"3f".repeat(32)}`;

function run(launch: SandboxLaunch): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("digest-pinned images with a real docker engine", { skip: problem ?? false, timeout: 600_000 }, () => {
  let dockerd: PrivateDockerd;
  let image = "";
  let id = "";
  before(async () => {
    dockerd = await startDockerd();
    image = busyboxImage("docker", dockerd.env);
    id = imageId("docker", image, dockerd.env);
  });
  after(async () => {
    await dockerd?.stop();
  });

  const backend = () => containerBackend("docker", { hostEnv: dockerd.env, server: "pin", removeOnCleanup: false });
  const policy = (img: string): SandboxPolicy => ({ type: "docker", filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] }, network: {}, limits: {}, env: [], image: img });
  const ctx = { home: "/nonexistent-home", mandatoryDeny: [] };

  it("runs a pinned image by its ID", async () => {
    const launch = backend().wrap({ command: "sh", args: ["-c", "echo pinned-ran"], env: {} }, policy(`${image}@${id}`), ctx);
    const after = launch.args.slice(launch.args.indexOf("--") + 1);
    assert.equal(after[0], id, "the image argument is the ID, not the tag");
    const r = await run(launch);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "pinned-ran\n");
  });

  it("refuses a pin the local image does not match, saying what was found and what to do", () => {
    assert.throws(
      () => backend().wrap({ command: "sh", args: [], env: {} }, policy(`${image}@${FOREIGN}`), ctx),
      (e: Error) => e.message.includes(`pinned to ${FOREIGN}, but the local "${image}" is ${id}`) && /docker pull/.test(e.message),
    );
  });

  it("refuses a pinned image that is not present at all", () => {
    assert.throws(() => backend().wrap({ command: "sh", args: [], env: {} }, policy(`localhost/absent:1@${FOREIGN}`), ctx), /not present in the local docker store/);
  });

  it("describes a tag-only image as not pinned, with the ID it would run", () => {
    assert.deepEqual(describeImage({ engine: "docker", executable: "docker", env: dockerd.env }, image), { image, pinned: false, id });
  });
});
