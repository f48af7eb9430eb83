// A running container's cgroup, read from the host: the limits the engine set and the CPU time
// used. It works the same under runc and gVisor (whose own kernel hides the cgroup files inside),
// because the host places gVisor's sandbox process in the container's cgroup.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import type { TestEngine } from "./container-harness.js";

export interface HostCgroup {
  /** cgroup v1 or v2, as this host mounts it. */
  version: 1 | 2;
  memoryLimit: number | undefined;
  pidsMax: number | undefined;
  /** quota / period; undefined when unlimited. */
  cpus: number | undefined;
  /** CPU time used so far, in nanoseconds. */
  cpuUsageNs(): number;
}

/** The host pid of a running container's first process (gVisor: its sandbox), or undefined. */
export function containerPid(engine: TestEngine, name: string, env: NodeJS.ProcessEnv): number | undefined {
  const r = spawnSync(engine, ["inspect", "--format", "{{.State.Pid}}", name], { env, encoding: "utf8", timeout: 30_000 });
  const pid = Number(r.stdout.trim());
  return r.status === 0 && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

const readNumber = (file: string): number | undefined => {
  try {
    const text = readFileSync(file, "utf8").trim();
    return text === "max" ? undefined : Number(text);
  } catch {
    return undefined;
  }
};

/** The cgroup of host process `pid` (v1: per controller; v2: the unified one). */
export function hostCgroup(pid: number): HostCgroup {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  const v1 = (controller: string): string | undefined => {
    for (const l of lines) {
      const [, controllers = "", p = ""] = l.split(":");
      if (controllers.split(",").includes(controller)) {
        const mount = ["/sys/fs/cgroup/" + controller, "/sys/fs/cgroup/" + controllers].find((m) => {
          try {
            readFileSync(`${m}${p}/cgroup.procs`);
            return true;
          } catch {
            return false;
          }
        });
        return mount === undefined ? undefined : `${mount}${p}`;
      }
    }
    return undefined;
  };
  const memory = v1("memory");
  if (memory !== undefined) {
    const cpu = v1("cpu");
    const cpuacct = v1("cpuacct");
    const quota = cpu === undefined ? undefined : readNumber(`${cpu}/cpu.cfs_quota_us`);
    const period = cpu === undefined ? undefined : readNumber(`${cpu}/cpu.cfs_period_us`);
    const pids = v1("pids");
    return {
      version: 1,
      memoryLimit: readNumber(`${memory}/memory.limit_in_bytes`),
      pidsMax: pids === undefined ? undefined : readNumber(`${pids}/pids.max`),
      cpus: quota === undefined || quota < 0 || period === undefined ? undefined : quota / period,
      cpuUsageNs: () => readNumber(`${cpuacct}/cpuacct.usage`) ?? Number.NaN,
    };
  }
  const unified = lines.find((l) => l.startsWith("0::"))?.slice(3);
  const dir = `/sys/fs/cgroup${unified ?? ""}`;
  const [quota, period] = readFileSync(`${dir}/cpu.max`, "utf8").trim().split(" ");
  return {
    version: 2,
    memoryLimit: readNumber(`${dir}/memory.max`),
    pidsMax: readNumber(`${dir}/pids.max`),
    cpus: quota === "max" ? undefined : Number(quota) / Number(period),
    cpuUsageNs: () => 1000 * Number(/usage_usec (\d+)/.exec(readFileSync(`${dir}/cpu.stat`, "utf8"))?.[1] ?? Number.NaN),
  };
}
