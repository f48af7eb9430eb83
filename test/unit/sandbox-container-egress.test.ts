// Egress for containers, argument building (src/sandbox/container-egress.ts and the network part of
// container.ts): the proxy's pipe directory and the node runtime mounted, the command started by the
// bridge, gVisor's host-fifo flag and read-write pipe directory, and the refusals. No engine runs
// here; `ldd` does.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { containerBackend, type ContainerBackendOptions, type ContainerEngine } from "../../src/sandbox/container.js";
import { nodeRuntime, parseLdd, type NodeRuntime } from "../../src/sandbox/container-egress.js";
import { dockerRuntimeRefusal, isGvisor } from "../../src/sandbox/container-seccomp.js";
import type { LaunchSpec, SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";
import { simulatedHost } from "./simulated-container-host.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-ctr-egress-")));
after(() => rmSync(root, { recursive: true, force: true }));
const fifoDir = join(root, "mcp-warden-egress-abc");
mkdirSync(fifoDir);
const bridge = join(root, "bridge-main.bundle.cjs");
writeFileSync(bridge, "// bridge");

/** A runtime as `ldd` would describe it (paths need not exist: wrap only writes them into arguments). */
const RUNTIME: NodeRuntime = {
  loader: { src: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", name: "ld-linux-x86-64.so.2" },
  files: [
    { src: "/opt/node/bin/node", name: "node" },
    { src: "/lib/x86_64-linux-gnu/libc.so.6", name: "libc.so.6" },
  ],
};

const spec = (): LaunchSpec => ({ command: "node", args: ["server.js"], env: { LOG_LEVEL: "debug" } });
const policy = (over: Partial<SandboxPolicy> = {}): SandboxPolicy => ({
  type: "docker",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] },
  network: { allowedDomains: ["api.company.internal"] },
  limits: {},
  env: [],
  image: "node:22-slim",
  ...over,
});
const egressCtx = (over: Partial<SandboxContext> = {}): SandboxContext => ({
  home: "/home/u",
  mandatoryDeny: [],
  egressFifos: { dir: fifoDir },
  bridge: { node: "/opt/node/bin/node", script: bridge, port: 3128 },
  ...over,
});
const backend = (engine: ContainerEngine = "docker", opts: ContainerBackendOptions = {}) =>
  containerBackend(engine, { server: "api", gatewayPid: 4242, hostname: "h", removeOnCleanup: false, podmanUserns: null, podmanRemote: false, nodeRuntime: () => RUNTIME, ...simulatedHost(engine), ...opts });

const split = (args: string[]) => {
  const i = args.indexOf("--");
  return { engine: args.slice(0, i), image: args[i + 1], command: args.slice(i + 2) };
};
const mounts = (args: string[]) => split(args).engine.filter((a) => a.startsWith("--mount=")).map((a) => a.slice("--mount=".length));

describe("container egress: arguments", () => {
  it("mounts the pipe directory and the node runtime read-only, and nothing else of the network", () => {
    const l = backend().wrap(spec(), policy(), egressCtx());
    const e = split(l.args).engine;
    assert.ok(e.includes("--network=none"), "the container's network stays none");
    assert.ok(!e.some((a) => /^--network=(?!none$)|^--net=|^-p|^--publish|^--add-host/.test(a)), e.join(" "));
    assert.deepEqual(mounts(l.args), [
      "type=bind,src=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2,dst=/.mcp-warden/ld-linux-x86-64.so.2,readonly",
      "type=bind,src=/opt/node/bin/node,dst=/.mcp-warden/node,readonly",
      "type=bind,src=/lib/x86_64-linux-gnu/libc.so.6,dst=/.mcp-warden/libc.so.6,readonly",
      `type=bind,src=${bridge},dst=/.mcp-warden/bridge.cjs,readonly`,
      `type=bind,src=${fifoDir},dst=/.mcp-warden-egress,readonly`,
    ]);
    assert.deepEqual(l.extraFds, [], "no descriptor is passed");
  });

  it("starts the command under the bridge: loader, node, bridge, the two pipes and port, then the server's own command line", () => {
    const l = backend().wrap(spec(), policy(), egressCtx());
    const { image, command } = split(l.args);
    assert.equal(image, "node:22-slim");
    assert.deepEqual(command, [
      "/.mcp-warden/ld-linux-x86-64.so.2",
      "--library-path",
      "/.mcp-warden",
      "/.mcp-warden/node",
      "/.mcp-warden/bridge.cjs",
      "--fifo-in",
      "/.mcp-warden-egress/to-bridge",
      "--fifo-out",
      "/.mcp-warden-egress/from-bridge",
      "--port",
      "3128",
      "--",
      "node",
      "server.js",
    ]);
  });

  it("sets no proxy variable through the engine: the bridge sets them for the command, as under bubblewrap", () => {
    const l = backend().wrap(spec(), policy(), egressCtx());
    const envs = split(l.args).engine.filter((a) => a.startsWith("--env="));
    assert.deepEqual(envs, ["--env=LOG_LEVEL=debug"]);
  });

  it("runs a static node directly, without a loader", () => {
    const l = backend("docker", { nodeRuntime: () => ({ files: [{ src: "/opt/node", name: "node" }] }) }).wrap(spec(), policy(), egressCtx());
    assert.deepEqual(split(l.args).command.slice(0, 2), ["/.mcp-warden/node", "/.mcp-warden/bridge.cjs"]);
  });

  it("gives podman's gVisor runtime --runtime-flag=host-fifo=open and the pipe directory read-write, and no other runtime or launch", () => {
    const gvisor = backend("podman").wrap(spec(), policy({ type: "podman", runtime: "/usr/bin/runsc" }), egressCtx());
    const engineArgs = split(gvisor.args).engine;
    assert.ok(engineArgs.includes("--runtime-flag=host-fifo=open"));
    assert.ok(!engineArgs.some((a) => /host-uds/.test(a)), "no host socket is opened to gVisor");
    // gVisor refuses to open a pipe for writing on a read-only mount.
    assert.ok(mounts(gvisor.args).includes(`type=bind,src=${fifoDir},dst=/.mcp-warden-egress`));
    const runc = backend("podman").wrap(spec(), policy({ type: "podman", runtime: "runc" }), egressCtx());
    assert.ok(!runc.args.some((a) => a.startsWith("--runtime-flag")));
    assert.ok(mounts(runc.args).includes(`type=bind,src=${fifoDir},dst=/.mcp-warden-egress,readonly`));
    const noNetwork = backend("podman").wrap(spec(), policy({ type: "podman", runtime: "/usr/bin/runsc", network: {} }), { home: "/home/u", mandatoryDeny: [] });
    assert.ok(!noNetwork.args.includes("--runtime-flag=host-fifo=open"));
    assert.ok(!mounts(noNetwork.args).some((m) => m.includes("/.mcp-warden")), "no runtime mounts without egress");
  });

  it("names the container's user, to which the pipes are handed", () => {
    assert.equal(backend("docker", { user: "65534:65534" }).wrap(spec(), policy(), egressCtx()).user, "65534:65534");
  });

  it("refuses a missing bridge bundle and paths that cannot be written into --mount", () => {
    assert.throws(() => backend().wrap(spec(), policy(), egressCtx({ bridge: { node: "/n", script: join(root, "absent.cjs"), port: 3128 } })), /egress bridge .* is missing; build mcp-warden \(npm run build\)/);
    assert.throws(() => backend().wrap(spec(), policy(), egressCtx({ egressFifos: { dir: "/tmp/a,b" } })), /cannot be mounted into a container/);
    assert.throws(() => backend("docker", { nodeRuntime: () => ({ files: [{ src: "/opt/x,readonly=false", name: "node" }] }) }).wrap(spec(), policy(), egressCtx()), /cannot be mounted/);
  });
});

describe("container egress: node's runtime files", () => {
  const LDD = [
    "\tlinux-vdso.so.1 (0x00007ffc1d5f2000)",
    "\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f09af79d000)",
    "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f09af400000)",
    "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f09af21e000)",
    "\t/lib64/ld-linux-x86-64.so.2 (0x00007f09af7b6000)",
  ].join("\n");
  const same = (p: string) => p;

  it("reads ldd's libraries by the names the loader looks for, and the loader; linux-vdso has no file", () => {
    assert.deepEqual(parseLdd(LDD, "/usr/bin/node", same), {
      loader: { src: "/lib64/ld-linux-x86-64.so.2", name: "ld-linux-x86-64.so.2" },
      files: [
        { src: "/usr/bin/node", name: "node" },
        { src: "/lib/x86_64-linux-gnu/libdl.so.2", name: "libdl.so.2" },
        { src: "/lib/x86_64-linux-gnu/libstdc++.so.6", name: "libstdc++.so.6" },
        { src: "/lib/x86_64-linux-gnu/libc.so.6", name: "libc.so.6" },
      ],
    });
  });

  it("fails closed on a library that is not found, or an answer without a loader; a static node needs none", () => {
    assert.throws(() => parseLdd(`${LDD}\n\tlibfoo.so.1 => not found`, "/usr/bin/node", same), /libfoo\.so\.1 is not found/);
    assert.throws(() => parseLdd("\tlibc.so.6 => /lib/libc.so.6 (0x1)", "/usr/bin/node", same), /no program loader/);
    assert.deepEqual(parseLdd("\tnot a dynamic executable", "/usr/bin/node", same), { files: [{ src: "/usr/bin/node", name: "node" }] });
  });

  it("finds this host's node runtime with the real ldd", () => {
    const r = nodeRuntime(process.execPath);
    assert.equal(r.files[0]?.name, "node");
    assert.equal(r.files[0]?.src, realpathSync(process.execPath));
    if (r.loader !== undefined) {
      assert.match(r.loader.name, /^ld-/);
      assert.ok(r.files.some((f) => /^libc\.so/.test(f.name)), "libc is among the files");
    }
  });
});

describe("container egress: gVisor", () => {
  it("recognizes runsc by name or path", () => {
    assert.ok(isGvisor("runsc") && isGvisor("/usr/bin/runsc") && isGvisor("/opt/runsc-nonet"));
    assert.ok(!isGvisor("runc") && !isGvisor("/usr/bin/crun") && !isGvisor(undefined));
  });

  it("refuses a docker runtime that is runsc without --oci-seccomp, or without --host-fifo=open when it has egress, saying what to add; accepts one with them, and other runtimes", () => {
    const runtimes = {
      runc: { path: "runc" },
      runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--host-fifo=open", "--oci-seccomp"] },
      noFifo: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--oci-seccomp"] },
      bare: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none"] },
      uds: { path: "/usr/bin/runsc", runtimeArgs: ["--host-uds=open", "--oci-seccomp"] },
    };
    assert.equal(dockerRuntimeRefusal(runtimes, "runc", true), undefined);
    assert.equal(dockerRuntimeRefusal(runtimes, "runsc", true), undefined);
    assert.equal(dockerRuntimeRefusal(runtimes, "noFifo", false), undefined, "no egress: the pipes are not needed");
    assert.equal(dockerRuntimeRefusal(runtimes, "unknown", true), undefined, "docker itself refuses a runtime it does not know");
    for (const name of ["noFifo", "uds"])
      assert.match(dockerRuntimeRefusal(runtimes, name, true) ?? "", /is gVisor \(\/usr\/bin\/runsc\): without --host-fifo=open the container cannot open.*Add "--host-fifo=open" to its "runtimeArgs" in \/etc\/docker\/daemon\.json/);
    assert.match(dockerRuntimeRefusal(runtimes, "bare", false) ?? "", /without --oci-seccomp gVisor ignores mcp-warden's seccomp profile.*Add "--oci-seccomp" to its "runtimeArgs"/);
    assert.match(dockerRuntimeRefusal(runtimes, "bare", true) ?? "", /Add "--oci-seccomp" and "--host-fifo=open" to its "runtimeArgs"/);
  });
});
