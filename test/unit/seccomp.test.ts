// The generated seccomp filter, decoded from its bytes and run by a small classic-BPF interpreter
// over hand-made seccomp_data, for every entry on both architectures.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  AF_UNIX,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_X86_64,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  CONDITIONAL,
  DENIED,
  ENOSYS,
  EPERM,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  TIOCLINUX,
  TIOCSTI,
  X32_SYSCALL_BIT,
  hostSeccompArch,
  seccompFilterBytes,
  seccompProgram,
  type SeccompArch,
} from "../../src/sandbox/seccomp.js";

import { decode, run, seccompData } from "./bpf-run.js";

const program = decode(seccompFilterBytes());
const ARCHES: [SeccompArch, number][] = [
  ["x86_64", AUDIT_ARCH_X86_64],
  ["aarch64", AUDIT_ARCH_AARCH64],
];
const decide = (arch: number, nr: number, args: bigint[] = []) => run(program, seccompData(arch, nr, args));
const ERR = (errno: number) => (SECCOMP_RET_ERRNO | errno) >>> 0;

describe("seccomp filter: encoding", () => {
  it("is struct sock_filter[] little-endian, within BPF_MAXINSNS, every jump forward and in range", () => {
    const insns = seccompProgram();
    assert.deepEqual(program, insns.map((i) => ({ ...i, k: i.k >>> 0 })));
    assert.ok(program.length > 10 && program.length <= 4096);
    program.forEach((insn, pc) => {
      if ((insn.code & 0x07) === 0x05) {
        assert.ok(pc + 1 + insn.jt < program.length && pc + 1 + insn.jf < program.length, `jump at ${pc} stays inside`);
      }
    });
    const last = program[program.length - 1];
    assert.equal(last?.code, 0x06, "ends with a return");
    // First instruction loads the architecture.
    assert.deepEqual(program[0], { code: 0x20, jt: 0, jf: 0, k: 4 });
  });

  it("knows the host architecture", () => {
    assert.equal(hostSeccompArch("x64"), "x86_64");
    assert.equal(hostSeccompArch("arm64"), "aarch64");
    assert.equal(hostSeccompArch("ia32"), undefined);
    assert.equal(hostSeccompArch("riscv64"), undefined);
  });
});

describe("seccomp filter: architecture", () => {
  for (const [name, value] of [
    ["i386 (int 0x80 on x86_64)", 0x40000003],
    ["arm (compat on aarch64)", 0x40000028],
    ["aarch64 big-endian", 0x800000b7],
    ["riscv64", 0xc00000f3],
    ["zero", 0],
  ] as const) {
    it(`kills the process for ${name}`, () => {
      assert.equal(decide(value, 39), SECCOMP_RET_KILL_PROCESS);
      assert.equal(decide(value, 101), SECCOMP_RET_KILL_PROCESS);
    });
  }

  it("refuses the x32 ABI on x86_64 (ENOSYS), also for otherwise allowed calls", () => {
    assert.equal(decide(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 0), ERR(ENOSYS)); // x32 read
    assert.equal(decide(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 41, [1n]), ERR(ENOSYS)); // x32 socket
    assert.equal(decide(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 101), ERR(ENOSYS));
    assert.equal(decide(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 512), ERR(ENOSYS)); // x32-only numbers
  });
});

describe("seccomp filter: decisions", () => {
  for (const [arch, audit] of ARCHES) {
    for (const [name, entry] of Object.entries(DENIED)) {
      it(`${arch}: ${name} (${entry[arch]}) fails with EPERM`, () => {
        assert.equal(decide(audit, entry[arch]), ERR(EPERM));
        assert.equal(decide(audit, entry[arch], [0n, 0n, 0n, 0n, 0n, 0n]), ERR(EPERM));
        assert.ok(entry.why.length > 10, "documented");
      });
    }

    it(`${arch}: ordinary calls are allowed`, () => {
      const nrs = arch === "x86_64" ? { read: 0, write: 1, openat: 257, execve: 59, mmap: 9, futex: 202, wait4: 61, getpid: 39, connect: 42 } : { read: 63, write: 64, openat: 56, execve: 221, mmap: 222, futex: 98, wait4: 260, getpid: 172, connect: 203 };
      for (const [name, nr] of Object.entries(nrs)) assert.equal(decide(audit, nr), SECCOMP_RET_ALLOW, name);
    });

    it(`${arch}: clone is allowed for threads and processes, refused with a namespace flag`, () => {
      const nr = CONDITIONAL.clone[arch];
      const threadFlags = 0x3d0f00n; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
      assert.equal(decide(audit, nr, [threadFlags]), SECCOMP_RET_ALLOW);
      assert.equal(decide(audit, nr, [0x01200011n]), SECCOMP_RET_ALLOW); // fork(): CHILD_SETTID|CHILD_CLEARTID|SIGCHLD
      assert.equal(decide(audit, nr, [0x4111n]), SECCOMP_RET_ALLOW); // vfork-like CLONE_VM|CLONE_VFORK|SIGCHLD
      for (const flag of [CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET]) {
        assert.equal(decide(audit, nr, [BigInt(flag) | 0x11n]), ERR(EPERM), `flag ${flag.toString(16)}`);
      }
      // High bits are ignored by the kernel for clone: they cannot hide a namespace flag or cause one.
      assert.equal(decide(audit, nr, [(1n << 40n) | BigInt(CLONE_NEWUSER)]), ERR(EPERM));
      assert.equal(decide(audit, nr, [1n << 40n]), SECCOMP_RET_ALLOW);
    });

    it(`${arch}: clone3 fails with ENOSYS (libc falls back to clone)`, () => {
      assert.equal(decide(audit, CONDITIONAL.clone3[arch], [0n, 88n]), ERR(ENOSYS));
    });

    it(`${arch}: socket(AF_UNIX) fails with EPERM, other families pass`, () => {
      const nr = CONDITIONAL.socket[arch];
      assert.equal(decide(audit, nr, [BigInt(AF_UNIX), 1n, 0n]), ERR(EPERM));
      assert.equal(decide(audit, nr, [BigInt(AF_UNIX), 0x80801n, 0n]), ERR(EPERM)); // SOCK_STREAM|CLOEXEC|NONBLOCK
      assert.equal(decide(audit, nr, [BigInt(AF_UNIX), 2n, 0n]), ERR(EPERM));
      // The kernel reads `int domain`: high bits set still mean AF_UNIX, and must not slip through.
      assert.equal(decide(audit, nr, [(0xffffffffn << 32n) | 1n, 1n, 0n]), ERR(EPERM));
      assert.equal(decide(audit, nr, [2n, 1n, 0n]), SECCOMP_RET_ALLOW); // AF_INET
      assert.equal(decide(audit, nr, [10n, 2n, 0n]), SECCOMP_RET_ALLOW); // AF_INET6 datagram
      assert.equal(decide(audit, nr, [16n, 3n, 0n]), SECCOMP_RET_ALLOW); // AF_NETLINK
    });

    it(`${arch}: socketpair(AF_UNIX, SOCK_STREAM) passes (libuv pipes), datagram pairs fail`, () => {
      const nr = CONDITIONAL.socketpair[arch];
      assert.equal(decide(audit, nr, [1n, 1n, 0n, 0x7ff0n]), SECCOMP_RET_ALLOW);
      assert.equal(decide(audit, nr, [1n, 0x80001n, 0n, 0x7ff0n]), SECCOMP_RET_ALLOW); // | SOCK_CLOEXEC
      assert.equal(decide(audit, nr, [1n, 5n, 0n, 0x7ff0n]), SECCOMP_RET_ALLOW); // SOCK_SEQPACKET
      assert.equal(decide(audit, nr, [1n, 2n, 0n, 0x7ff0n]), ERR(EPERM));
      assert.equal(decide(audit, nr, [1n, 0x80802n, 0n, 0x7ff0n]), ERR(EPERM));
    });
  }

  for (const [arch, audit] of ARCHES) {
    it(`${arch}: ioctl TIOCSTI and TIOCLINUX fail with EPERM (also with high bits set), other requests pass`, () => {
      const nr = CONDITIONAL.ioctl[arch];
      assert.equal(decide(audit, nr, [0n, BigInt(TIOCSTI), 0x7ff0n]), ERR(EPERM));
      assert.equal(decide(audit, nr, [0n, BigInt(TIOCLINUX), 0x7ff0n]), ERR(EPERM));
      assert.equal(decide(audit, nr, [0n, (1n << 32n) | BigInt(TIOCSTI), 0x7ff0n]), ERR(EPERM));
      assert.equal(decide(audit, nr, [0n, 0x5401n, 0x7ff0n]), SECCOMP_RET_ALLOW); // TCGETS
      assert.equal(decide(audit, nr, [0n, 0x541bn, 0x7ff0n]), SECCOMP_RET_ALLOW); // FIONREAD
      assert.equal(decide(audit, nr, [0n, 0x5421n, 0x7ff0n]), SECCOMP_RET_ALLOW); // FIONBIO
    });
  }

  it("numbers differ where the tables differ (no copy-paste between architectures)", () => {
    assert.notEqual(DENIED.ptrace?.x86_64, DENIED.ptrace?.aarch64);
    assert.equal(decide(AUDIT_ARCH_AARCH64, 101), SECCOMP_RET_ALLOW); // 101 is nanosleep on aarch64
    assert.equal(decide(AUDIT_ARCH_X86_64, 117), SECCOMP_RET_ALLOW); // 117 is setresuid on x86_64
    assert.equal(decide(AUDIT_ARCH_X86_64, 41, [1n]), ERR(EPERM)); // socket(AF_UNIX) on x86_64
    assert.equal(decide(AUDIT_ARCH_X86_64, 198, [1n]), SECCOMP_RET_ALLOW); // 198 is lremovexattr on x86_64
    assert.equal(decide(AUDIT_ARCH_AARCH64, 198, [1n]), ERR(EPERM)); // socket(AF_UNIX) on aarch64
  });
});

describe("seccomp filter: numbers match the kernel headers (when installed)", () => {
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  };
  const table = (text: string, re: RegExp) => {
    const out = new Map<string, number>();
    for (const m of text.matchAll(re)) out.set(m[1] as string, Number(m[2]));
    return out;
  };
  const x86 = read("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") ?? read("/usr/include/asm/unistd_64.h");
  const generic = read("/usr/include/asm-generic/unistd.h");
  const all = { ...DENIED, ...CONDITIONAL };

  it("x86_64", { skip: x86 === undefined ? "no x86_64 unistd_64.h here" : false }, () => {
    const t = table(x86 as string, /#define __NR_(\w+) (\d+)/g);
    let checked = 0;
    for (const [name, entry] of Object.entries(all)) {
      const n = t.get(name);
      if (n === undefined) continue; // newer than these headers
      assert.equal(entry.x86_64, n, name);
      checked++;
    }
    assert.ok(checked >= 30, `checked ${checked}`);
  });

  it("aarch64 (asm-generic)", { skip: generic === undefined ? "no asm-generic/unistd.h here" : false }, () => {
    const t = table(generic as string, /#define __NR(?:3264)?_(\w+) (\d+)/g);
    let checked = 0;
    for (const [name, entry] of Object.entries(all)) {
      const n = t.get(name);
      if (n === undefined) continue;
      assert.equal(entry.aarch64, n, name);
      checked++;
    }
    assert.ok(checked >= 30, `checked ${checked}`);
  });
});
