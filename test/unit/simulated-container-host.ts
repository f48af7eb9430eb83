// What a container engine can do, SIMULATED for unit tests that build command lines without an
// engine: every limit enforced, gVisor registered with docker (network off, host pipes open, the
// OCI seccomp profile applied) and
// runtimes found at /usr/bin/<name>. container-host.test.ts covers the detection itself and the
// hosts that fall short; the e2e suites use the real detection.
import { dockerHostFrom, podmanHostFrom, type HostDetection } from "../../src/sandbox/container-host.js";
import type { ContainerEngine } from "../../src/sandbox/container.js";

export const SIMULATED_DOCKER_HOST: HostDetection = dockerHostFrom(
  {
    ServerVersion: "28.2.2",
    CgroupVersion: "2",
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsQuota: true,
    PidsLimit: true,
    DefaultRuntime: "runc",
    Runtimes: { runc: {}, runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--host-fifo=open", "--oci-seccomp"] } },
  },
  {},
);
export const SIMULATED_PODMAN_HOST: HostDetection = podmanHostFrom(
  { host: { cgroupVersion: "v2", security: { rootless: false }, ociRuntime: { name: "crun" }, cgroupControllers: ["cpu", "memory", "pids"] } },
  {},
);

/** The backend options that make wrap use the simulated host and runtime lookup. */
export function simulatedHost(engine: ContainerEngine): { host: HostDetection; findRuntime: (name: string) => string } {
  return { host: engine === "docker" ? SIMULATED_DOCKER_HOST : SIMULATED_PODMAN_HOST, findRuntime: (name) => (name.startsWith("/") ? name : `/usr/bin/${name}`) };
}
