// The seccomp filter every bubblewrap sandbox runs under: a classic BPF program (an array of
// `struct sock_filter`, 8 bytes per instruction, little-endian) generated here, with no compiler,
// libseccomp or python needed at run time. bwrap reads it from a file descriptor (`--seccomp FD`)
// and installs it after PR_SET_NO_NEW_PRIVS, as the last step before it executes the command.
//
// Policy: allow everything except the entries of DENIED (each documented with why), which fail with
// EPERM; `clone` only when it creates no namespace; `clone3` fails with ENOSYS (its flags live in
// memory a filter cannot read; libc then falls back to `clone`, which is checked); `socket(AF_UNIX)`
// fails with EPERM (a path-bound Unix socket reaches host services straight through the network
// namespace); `socketpair` stays allowed (libuv makes child pipes with it) except for datagram pairs
// (a datagram socket can `sendto`/`connect` any socket path afterwards); `ioctl` TIOCSTI/TIOCLINUX
// fail with EPERM (typing into a terminal).
//
// Architectures: x86_64 and aarch64 (both little-endian). The filter first checks
// `seccomp_data.arch` and kills the process for any other value: that closes the i386 (`int 0x80`)
// and arm32 compat entry points, whose syscall numbers differ. On x86_64, numbers with the x32 bit
// (0x40000000) fail with ENOSYS, as on a kernel built without x32: the x32 table is another way in.

/** AUDIT_ARCH_* values: EM_* | __AUDIT_ARCH_64BIT (0x80000000) | __AUDIT_ARCH_LE (0x40000000). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
/** x86_64: syscall numbers of the x32 ABI carry this bit. */
export const X32_SYSCALL_BIT = 0x40000000;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const EPERM = 1;
export const ENOSYS = 38;

/** Namespace bits of clone's flags (all in the low 32 bits; CLONE_NEWTIME only exists for clone3/unshare). */
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NAMESPACE_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/** ioctl requests that push input into a terminal (the kernel reads the request as an unsigned int). */
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
/** socket(2)/socketpair(2): the type argument's low bits; SOCK_NONBLOCK and SOCK_CLOEXEC are above. */
export const SOCK_TYPE_MASK = 0xf;

export type SeccompArch = "x86_64" | "aarch64";

/** Syscall numbers per architecture (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: include/uapi/asm-generic/unistd.h). */
export interface SyscallNumbers {
  x86_64: number;
  aarch64: number;
}

/** Refused outright with EPERM, with the reason. Numbers are data, checked against kernel headers in the tests. */
export const DENIED: Record<string, SyscallNumbers & { why: string }> = {
  // Reading or changing another process: sandboxed processes all run as one uid, so without this a
  // compromised server could inject into the egress bridge that holds its network access.
  ptrace: { x86_64: 101, aarch64: 117, why: "attaching to and controlling another process (the bridge, a sibling)" },
  process_vm_readv: { x86_64: 310, aarch64: 270, why: "reads another process's memory without ptrace" },
  process_vm_writev: { x86_64: 311, aarch64: 271, why: "writes another process's memory without ptrace" },
  pidfd_getfd: { x86_64: 438, aarch64: 438, why: "steals a file descriptor from another process (the bridge's egress socket)" },
  process_madvise: { x86_64: 440, aarch64: 440, why: "acts on another process's memory" },
  // The kernel keyring is not namespaced per sandbox: keys of the user's session would be reachable.
  keyctl: { x86_64: 250, aarch64: 219, why: "the kernel keyring is shared with the user's session (stored credentials)" },
  add_key: { x86_64: 248, aarch64: 217, why: "adds keys to the kernel keyring" },
  request_key: { x86_64: 249, aarch64: 218, why: "looks up keys in the kernel keyring, may call out to user space helpers" },
  // Large kernel attack surface no MCP server needs.
  bpf: { x86_64: 321, aarch64: 280, why: "eBPF: a large, often exploited kernel attack surface" },
  io_uring_setup: { x86_64: 425, aarch64: 425, why: "io_uring performs I/O outside the syscall path seccomp filters; frequent kernel exploit target" },
  io_uring_enter: { x86_64: 426, aarch64: 426, why: "io_uring (see io_uring_setup)" },
  io_uring_register: { x86_64: 427, aarch64: 427, why: "io_uring (see io_uring_setup)" },
  perf_event_open: { x86_64: 298, aarch64: 241, why: "performance counters: side channels and kernel attack surface" },
  userfaultfd: { x86_64: 323, aarch64: 282, why: "used to stall the kernel at chosen points in race exploits" },
  // Changing the file system view: the sandbox's mounts are the policy (deny masks are mounts).
  mount: { x86_64: 165, aarch64: 40, why: "could unmount or cover the deny masks and read-only binds" },
  umount2: { x86_64: 166, aarch64: 39, why: "would remove a deny mask and reveal what it hides" },
  pivot_root: { x86_64: 155, aarch64: 41, why: "changes the root of the mount namespace" },
  open_tree: { x86_64: 428, aarch64: 428, why: "new mount API: clones a mount (detached from the masks over it)" },
  open_tree_attr: { x86_64: 467, aarch64: 467, why: "new mount API (Linux 6.15): open_tree with attribute changes" },
  move_mount: { x86_64: 429, aarch64: 429, why: "new mount API: attaches or moves a mount" },
  fsopen: { x86_64: 430, aarch64: 430, why: "new mount API: creates a file system context" },
  fsconfig: { x86_64: 431, aarch64: 431, why: "new mount API: configures a file system context" },
  fsmount: { x86_64: 432, aarch64: 432, why: "new mount API: creates a mount" },
  fspick: { x86_64: 433, aarch64: 433, why: "new mount API: reconfigures an existing mount (could make it writable)" },
  mount_setattr: { x86_64: 442, aarch64: 442, why: "changes mount attributes (read-only) of a mount tree" },
  open_by_handle_at: { x86_64: 304, aarch64: 265, why: "opens files by handle, bypassing path-based masks (the 'shocker' escape)" },
  // Namespaces: a new user namespace gives full capabilities inside it, and with them the mount API.
  setns: { x86_64: 308, aarch64: 268, why: "joins another namespace (through an inherited or /proc file descriptor)" },
  unshare: { x86_64: 272, aarch64: 97, why: "new namespaces: a user namespace regains capabilities (mount, ...) inside it" },
  // Kernel modules and kexec need capabilities the sandbox never has; refusing them is defence in depth.
  kexec_load: { x86_64: 246, aarch64: 104, why: "loads a new kernel" },
  kexec_file_load: { x86_64: 320, aarch64: 294, why: "loads a new kernel" },
  init_module: { x86_64: 175, aarch64: 105, why: "loads kernel code" },
  finit_module: { x86_64: 313, aarch64: 273, why: "loads kernel code" },
  delete_module: { x86_64: 176, aarch64: 106, why: "unloads kernel code" },
};

/** Allowed only with some arguments. */
export const CONDITIONAL: Record<"clone" | "clone3" | "socket" | "socketpair" | "ioctl", SyscallNumbers & { why: string }> = {
  clone: { x86_64: 56, aarch64: 220, why: "needed for threads and processes; refused (EPERM) when its flags (argument 0) ask for a new namespace" },
  clone3: { x86_64: 435, aarch64: 435, why: "its flags are in memory a filter cannot read: ENOSYS, so glibc and others fall back to clone" },
  socket: { x86_64: 41, aarch64: 198, why: "AF_UNIX (argument 0 = 1) refused (EPERM): Unix socket paths reach host services through the network namespace" },
  socketpair: { x86_64: 53, aarch64: 199, why: "allowed (libuv's child pipes) except SOCK_DGRAM pairs (argument 1): a datagram socket can send to any socket path" },
  ioctl: { x86_64: 16, aarch64: 29, why: "TIOCSTI and TIOCLINUX (argument 1) refused (EPERM): they type into a terminal the sandbox shares (defence in depth besides --new-session)" },
};

/** One BPF instruction. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Classic BPF opcodes used here.
export const BPF_LD_W_ABS = 0x20; // A = *(u32 *)(seccomp_data + k)
export const BPF_ALU_AND_K = 0x54; // A &= k
export const BPF_JMP_JA = 0x05; // pc += k
export const BPF_JMP_JEQ_K = 0x15; // pc += (A == k) ? jt : jf
export const BPF_JMP_JSET_K = 0x45; // pc += (A & k) ? jt : jf
export const BPF_RET_K = 0x06; // return k

/** Offsets in struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }. */
export const OFFSET_NR = 0;
export const OFFSET_ARCH = 4;
/** The low 32 bits of argument i (little-endian). The kernel reads int arguments from these bits only. */
export const offsetArgLow = (i: number) => 16 + 8 * i;

type Target = string;
type Item =
  | { label: string }
  | { code: number; k: number; jt?: Target; jf?: Target } // conditional jump: targets are labels; undefined = next instruction
  | { ret: number }
  | { insn: SockFilter };

/** A tiny assembler: forward jumps to labels, resolved with range checks (jt/jf are 8 bits). */
function assemble(items: Item[]): SockFilter[] {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const item of items) {
    if ("label" in item) {
      if (labels.has(item.label)) throw new Error(`seccomp: duplicate label ${item.label}`);
      labels.set(item.label, pc);
    } else pc++;
  }
  const out: SockFilter[] = [];
  const offset = (from: number, target: Target | undefined): number => {
    if (target === undefined) return 0;
    const to = labels.get(target);
    if (to === undefined) throw new Error(`seccomp: unknown label ${target}`);
    const off = to - (from + 1);
    if (off < 0 || off > 255) throw new Error(`seccomp: jump to ${target} out of range (${off})`);
    return off;
  };
  for (const item of items) {
    if ("label" in item) continue;
    const here = out.length;
    if ("ret" in item) out.push({ code: BPF_RET_K, jt: 0, jf: 0, k: item.ret >>> 0 });
    else if ("insn" in item) out.push(item.insn);
    else out.push({ code: item.code, jt: offset(here, item.jt), jf: offset(here, item.jf), k: item.k >>> 0 });
  }
  if (out.length > 4096) throw new Error("seccomp: program longer than BPF_MAXINSNS");
  return out;
}

const load = (offset: number): Item => ({ insn: { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: offset } });

/** The filter as instructions. */
export function seccompProgram(): SockFilter[] {
  const items: Item[] = [
    load(OFFSET_ARCH),
    { code: BPF_JMP_JEQ_K, k: AUDIT_ARCH_X86_64, jt: "x86_64" },
    { code: BPF_JMP_JEQ_K, k: AUDIT_ARCH_AARCH64, jt: "aarch64" },
    { ret: SECCOMP_RET_KILL_PROCESS },
  ];
  for (const arch of ["x86_64", "aarch64"] as const) {
    items.push({ label: arch }, load(OFFSET_NR));
    if (arch === "x86_64") items.push({ code: BPF_JMP_JSET_K, k: X32_SYSCALL_BIT, jt: "enosys" });
    for (const entry of Object.values(DENIED)) items.push({ code: BPF_JMP_JEQ_K, k: entry[arch], jt: "eperm" });
    items.push(
      { code: BPF_JMP_JEQ_K, k: CONDITIONAL.clone[arch], jt: "clone" },
      { code: BPF_JMP_JEQ_K, k: CONDITIONAL.clone3[arch], jt: "enosys" },
      { code: BPF_JMP_JEQ_K, k: CONDITIONAL.socket[arch], jt: "socket" },
      { code: BPF_JMP_JEQ_K, k: CONDITIONAL.socketpair[arch], jt: "socketpair" },
      { code: BPF_JMP_JEQ_K, k: CONDITIONAL.ioctl[arch], jt: "ioctl" },
      { ret: SECCOMP_RET_ALLOW },
    );
  }
  // Argument checks, the same on both architectures (same argument positions, both little-endian).
  items.push(
    { label: "clone" }, // clone(flags, ...): the kernel uses only the low 32 bits of flags
    load(offsetArgLow(0)),
    { code: BPF_JMP_JSET_K, k: CLONE_NAMESPACE_FLAGS, jt: "eperm", jf: "allow" },
    { label: "socket" }, // socket(domain, type, protocol): domain is an int
    load(offsetArgLow(0)),
    { code: BPF_JMP_JEQ_K, k: AF_UNIX, jt: "eperm", jf: "allow" },
    { label: "socketpair" }, // socketpair(domain, type, protocol, sv)
    load(offsetArgLow(1)),
    { insn: { code: BPF_ALU_AND_K, jt: 0, jf: 0, k: SOCK_TYPE_MASK } },
    { code: BPF_JMP_JEQ_K, k: SOCK_DGRAM, jt: "eperm", jf: "allow" },
    { label: "ioctl" }, // ioctl(fd, request, ...): request is an unsigned int, compared on its low 32 bits
    load(offsetArgLow(1)),
    { code: BPF_JMP_JEQ_K, k: TIOCSTI, jt: "eperm" },
    { code: BPF_JMP_JEQ_K, k: TIOCLINUX, jt: "eperm", jf: "allow" },
    { label: "eperm" },
    { ret: SECCOMP_RET_ERRNO | EPERM },
    { label: "enosys" },
    { ret: SECCOMP_RET_ERRNO | ENOSYS },
    { label: "allow" },
    { ret: SECCOMP_RET_ALLOW },
  );
  return assemble(items);
}

/** The filter as bwrap reads it: struct sock_filter[], 8 bytes each, little-endian. */
export function seccompFilterBytes(program: SockFilter[] = seccompProgram()): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(insn.jt, i * 8 + 2);
    buf.writeUInt8(insn.jf, i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The seccomp architecture of this Node process, or undefined where the filter has no table. */
export function hostSeccompArch(arch: string = process.arch): SeccompArch | undefined {
  if (arch === "x64") return "x86_64";
  if (arch === "arm64") return "aarch64";
  return undefined;
}
