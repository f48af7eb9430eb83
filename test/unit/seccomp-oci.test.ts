// The docker/podman seccomp profile (src/sandbox/seccomp-oci.ts), checked against bubblewrap's BPF
// filter (src/sandbox/seccomp.ts) by evaluating both on the same calls: the profile with libseccomp's
// rule semantics (rules for a syscall are alternatives, a rule's arguments all hold, SCMP_CMP_MASKED_EQ
// compares all 64 bits), the filter with the BPF interpreter. Also its file: content-addressed,
// private, rewritten when tampered with.
import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { containerBackend } from "../../src/sandbox/container.js";
import { dockerHostFrom } from "../../src/sandbox/container-host.js";
import { seccompArgs } from "../../src/sandbox/container-seccomp.js";
import { seccompProfile, seccompProfileFile, type SeccompProfile } from "../../src/sandbox/seccomp-oci.js";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, CONDITIONAL, DENIED, ENOSYS, EPERM, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, seccompFilterBytes, type SeccompArch } from "../../src/sandbox/seccomp.js";
import { decode, run, seccompData } from "./bpf-run.js";
import { simulatedHost } from "./simulated-container-host.js";

const root = mkdtempSync(join(tmpdir(), "warden-seccomp-oci-"));
after(() => rmSync(root, { recursive: true, force: true }));

const ALLOW = "allow";
type Decision = typeof ALLOW | number;

/** What libseccomp makes of the profile for `name(args)`: "allow" or the errno. */
function decideProfile(profile: SeccompProfile, name: string, args: bigint[]): Decision {
  for (const rule of profile.syscalls) {
    if (!rule.names.includes(name)) continue;
    const holds = (rule.args ?? []).every((a) => {
      assert.equal(a.op, "SCMP_CMP_MASKED_EQ");
      return (BigInt.asUintN(64, args[a.index] ?? 0n) & BigInt(a.value)) === BigInt(a.valueTwo);
    });
    if (holds) return rule.errnoRet;
  }
  assert.equal(profile.defaultAction, "SCMP_ACT_ALLOW");
  return ALLOW;
}

const program = decode(seccompFilterBytes());
const AUDIT: Record<SeccompArch, number> = { x86_64: AUDIT_ARCH_X86_64, aarch64: AUDIT_ARCH_AARCH64 };

/** What bubblewrap's filter makes of the same call. */
function decideFilter(arch: SeccompArch, nr: number, args: bigint[]): Decision {
  const r = run(program, seccompData(AUDIT[arch], nr, args));
  if (r === SECCOMP_RET_ALLOW) return ALLOW;
  assert.equal((r & 0xffff0000) >>> 0, SECCOMP_RET_ERRNO, `an errno return (${r.toString(16)})`);
  return r & 0xffff;
}

// Argument vectors that exercise every condition: zeros, each namespace flag, thread and fork flags,
// AF_UNIX with and without high bits, other families, stream/datagram/seqpacket pairs, TIOCSTI,
// TIOCLINUX with high bits, ordinary ioctls.
const VECTORS: bigint[][] = [
  [],
  [0n, 0n, 0n],
  ...[0x00020000n, 0x02000000n, 0x04000000n, 0x08000000n, 0x10000000n, 0x20000000n, 0x40000000n].map((f) => [f | 0x11n]),
  [0x3d0f00n],
  [0x01200011n],
  [(1n << 40n) | 0x10000000n],
  [1n << 40n],
  [1n, 1n, 0n],
  [1n, 0x80801n, 0n],
  [(0xffffffffn << 32n) | 1n, 1n, 0n],
  [2n, 1n, 0n],
  [10n, 2n, 0n],
  [1n, 2n, 0n, 0x7ff0n],
  [1n, 5n, 0n, 0x7ff0n],
  [1n, 0x80802n, 0n, 0x7ff0n],
  [0n, 0x5412n, 0x7ff0n],
  [0n, (1n << 32n) | 0x541cn, 0x7ff0n],
  [0n, 0x5401n, 0x7ff0n],
  [0n, 0x541bn, 0x7ff0n],
];

describe("container seccomp profile: the same policy as bubblewrap's filter", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    it(`${arch}: every denied and conditional syscall decides as the BPF filter does, for every argument vector`, () => {
      const profile = seccompProfile(arch);
      const table = { ...DENIED, ...CONDITIONAL };
      let compared = 0;
      for (const [name, entry] of Object.entries(table)) {
        for (const args of VECTORS) {
          assert.equal(decideProfile(profile, name, args), decideFilter(arch, entry[arch], args), `${name}(${args.map((a) => `0x${a.toString(16)}`).join(", ")})`);
          compared++;
        }
      }
      assert.ok(compared >= Object.keys(table).length * VECTORS.length);
      // Calls outside the policy are allowed by both.
      assert.equal(decideProfile(profile, "read", [0n]), ALLOW);
      assert.equal(decideProfile(profile, "connect", [3n]), ALLOW);
    });
  }

  it("names the host's architecture only; refuses an architecture with no table", () => {
    assert.deepEqual(seccompProfile("x86_64").architectures, ["SCMP_ARCH_X86_64"]);
    assert.deepEqual(seccompProfile("aarch64").architectures, ["SCMP_ARCH_AARCH64"]);
    assert.throws(() => seccompProfile("riscv64" as SeccompArch), /architecture \(riscv64\); only x86_64 and aarch64/);
  });

  it("compares int arguments on their low 32 bits only (MASKED_EQ), so high bits cannot hide AF_UNIX", () => {
    const socket = seccompProfile("x86_64").syscalls.find((r) => r.names.includes("socket"));
    assert.deepEqual(socket?.args, [{ index: 0, value: 0xffffffff, valueTwo: 1, op: "SCMP_CMP_MASKED_EQ" }]);
    assert.equal(decideProfile(seccompProfile("x86_64"), "socket", [0x100000001n, 1n, 0n]), EPERM);
  });

  it("gVisor's profile has no clone3 rule (gVisor ignores errnoRet, and an EPERM clone3 breaks glibc's threads); the rest is the same", () => {
    const runc = seccompProfile("x86_64");
    const gvisor = seccompProfile("x86_64", { gvisor: true });
    assert.equal(decideProfile(runc, "clone3", []), ENOSYS);
    assert.equal(decideProfile(gvisor, "clone3", []), ALLOW);
    assert.deepEqual(
      gvisor.syscalls,
      runc.syscalls.filter((r) => !r.names.includes("clone3")),
    );
  });
});

describe("container seccomp profile: its file", () => {
  it("is named by its content in a private per-user directory, written once and reused", () => {
    const file = seccompProfileFile(seccompProfile("x86_64"), root);
    assert.equal(dirname(file), join(root, `mcp-warden-${process.getuid?.()}`));
    assert.match(file, /seccomp-[0-9a-f]{16}\.json$/);
    assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), seccompProfile("x86_64"));
    const inode = statSync(file).ino;
    assert.equal(seccompProfileFile(seccompProfile("x86_64"), root), file);
    assert.equal(statSync(file).ino, inode, "not rewritten when unchanged");
    assert.notEqual(seccompProfileFile(seccompProfile("x86_64", { gvisor: true }), root), file, "another content, another file");
  });

  it("rewrites a file whose content was changed, and replaces a symlink planted at its name", () => {
    const file = seccompProfileFile(seccompProfile("x86_64"), root);
    writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [] }));
    seccompProfileFile(seccompProfile("x86_64"), root);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), seccompProfile("x86_64"));
    const decoy = join(root, "decoy.json");
    writeFileSync(decoy, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [] }));
    unlinkSync(file);
    symlinkSync(decoy, file);
    seccompProfileFile(seccompProfile("x86_64"), root);
    assert.ok(lstatSync(file).isFile(), "a plain file again");
    assert.deepEqual(JSON.parse(readFileSync(decoy, "utf8")), { defaultAction: "SCMP_ACT_ALLOW", syscalls: [] }, "the link's target is untouched");
  });

  it("refuses a directory it cannot write, saying what to do", { skip: process.getuid?.() === 0 ? "root writes anywhere" : false }, () => {
    const ro = join(root, "ro");
    const dir = join(ro, `mcp-warden-${process.getuid?.()}`);
    seccompProfileFile(seccompProfile("x86_64"), ro);
    chmodSync(dir, 0o500);
    try {
      assert.throws(() => seccompProfileFile(seccompProfile("aarch64"), ro), /cannot write the seccomp profile.*set TMPDIR/);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it("is passed to the engine as --security-opt=seccomp=FILE; podman's gVisor also gets --runtime-flag=oci-seccomp", () => {
    assert.deepEqual(seccompArgs("docker", false, "/t/p.json"), ["--security-opt=seccomp=/t/p.json"]);
    assert.deepEqual(seccompArgs("podman", true, "/t/p.json"), ["--security-opt=seccomp=/t/p.json", "--runtime-flag=oci-seccomp"]);
    const policy = { type: "podman" as const, filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] }, network: {}, limits: {}, env: [], image: "busybox", runtime: "/usr/bin/runsc" };
    const l = containerBackend("podman", { removeOnCleanup: false, podmanUserns: null, podmanRemote: false, ...simulatedHost("podman") }).wrap({ command: "true", args: [], env: {} }, policy, { home: "/h", mandatoryDeny: [] });
    const engineArgs = l.args.slice(0, l.args.indexOf("--"));
    assert.ok(engineArgs.includes(`--security-opt=seccomp=${l.seccompProfile}`));
    assert.ok(engineArgs.includes("--runtime-flag=oci-seccomp"));
    assert.deepEqual(JSON.parse(readFileSync(l.seccompProfile, "utf8")).syscalls.some((r: { names: string[] }) => r.names.includes("clone3")), false, "the gVisor profile");
  });

  it("docker: a runtime registered as runsc without --oci-seccomp is refused even without network (the profile would be ignored); with it, the gVisor profile is used", () => {
    const policy = { type: "docker" as const, filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] }, network: {}, limits: {}, env: [], image: "busybox", runtime: "sandboxed" };
    // The daemon as `docker info` would describe it (no daemon runs in unit tests): the runtime "sandboxed" is runsc.
    const backend = (runtimeArgs: string[]) =>
      containerBackend("docker", {
        removeOnCleanup: false,
        host: dockerHostFrom({ ServerVersion: "20.10.24", CgroupVersion: "2", MemoryLimit: true, CpuCfsQuota: true, PidsLimit: true, DefaultRuntime: "runc", Runtimes: { runc: {}, sandboxed: { path: "/usr/bin/runsc", runtimeArgs } } }, {}),
      });
    assert.throws(() => backend(["--network=none"]).wrap({ command: "true", args: [], env: {} }, policy, { home: "/h", mandatoryDeny: [] }), /runtime "sandboxed" is gVisor .*--oci-seccomp.*refusing to start/);
    const l = backend(["--network=none", "--oci-seccomp"]).wrap({ command: "true", args: [], env: {} }, policy, { home: "/h", mandatoryDeny: [] });
    assert.ok(l.args.includes(`--security-opt=seccomp=${l.seccompProfile}`));
    assert.ok(!l.args.some((a) => a.startsWith("--runtime-flag")), "docker has no per-container runtime flags");
    assert.equal(JSON.parse(readFileSync(l.seccompProfile, "utf8")).syscalls.some((r: { names: string[] }) => r.names.includes("clone3")), false, "the gVisor profile");
  });
});
