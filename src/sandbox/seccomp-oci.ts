// The seccomp profile of the docker and podman sandboxes, generated from the same policy as
// bubblewrap's BPF filter (./seccomp.ts: DENIED and CONDITIONAL are the one source of truth), in the
// JSON profile format both engines read (`--security-opt seccomp=FILE`; docker 20.10 and podman 4.3
// turn it into the OCI runtime spec's linux.seccomp, which runc installs through libseccomp).
//
// Why a denylist that replaces the engine's default allowlist, rather than our denials merged into it:
// - One policy, one result: the escape table promises the same refusals under bubblewrap, docker,
//   podman and their versions. The engines' defaults differ and are weaker here: for a container
//   user without capabilities, docker 20.10's built-in profile allows ptrace and socket(AF_UNIX), and
//   podman 4.3's (/usr/share/containers/seccomp.json) also allows keyctl and unshare(CLONE_NEWUSER)
//   (both seen in a container on this host kind). Docker's built-in profile cannot be read from the
//   client, so a merge would mean vendoring a copy that drifts from the installed engine.
// - Appending our rules to an engine default does not work: those profiles allow `socket`, `ioctl`,
//   `clone` and `ptrace` outright, and a rule added after an unconditional allow of the same syscall
//   has no effect. Seen with podman 4.3, runc 1.1.5 and libseccomp 2.5.4: podman's default plus our
//   socket and ptrace rules still let both through. A merge would have to rewrite the allowlist's
//   entries, per engine version.
// - What the default allowlist adds for an unprivileged caller is mostly gated on capabilities
//   (mount, swapon, reboot, init_module, settimeofday, ...): every capability is dropped
//   (`--cap-drop ALL`, no-new-privileges), so those fail in the kernel anyway. What is lost: the
//   default's refusal of syscalls newer than its list and of a few unprivileged ones (personality
//   flags, NUMA memory policy, kcmp). The same holds for bubblewrap, which runs this very list.
//   libseccomp knows syscalls by name only up to its version: a name it does not know (open_tree_attr
//   with libseccomp 2.5.4) is skipped by runc, so such a syscall stays allowed (open_tree_attr can
//   only clone a mount with CAP_SYS_ADMIN, which the container lacks).
// Arguments are compared with SCMP_CMP_MASKED_EQ: libseccomp compares all 64 bits of an argument,
// while the kernel reads an int argument (socket's domain, ioctl's request) from the low 32 only, so
// a plain SCMP_CMP_EQ would let `socket(0x100000001, ...)` through as AF_UNIX. In the format,
// `value` is the mask and `valueTwo` the value the masked argument must equal.
//
// Architectures: only the host's native one is listed (x86_64 or aarch64). A syscall made through
// another ABI (i386 `int 0x80`, x32, arm32) does not match the profile's architecture and gets
// libseccomp's "bad architecture" action, never the default allow: under runc 1.1 the process is
// killed (seen for an x32 call in a container on this host kind).
//
// gVisor (runsc) applies the profile only with its `--oci-seccomp` flag (./container-seccomp.ts), in
// its own kernel, and ignores `errnoRet` (every refusal is EPERM): a clone3 refused with EPERM instead
// of ENOSYS makes glibc's thread creation fail (node aborts at start), so the gVisor profile has no
// clone3 rule. gVisor (2022-12) answers clone3 with ENOSYS itself, and its namespaces are its own.
import { createHash } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePrivateDir, unsafeFileReason, writeFileAtomic } from "../adapters/safe-files.js";
import {
  AF_UNIX,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  DENIED,
  ENOSYS,
  EPERM,
  SOCK_DGRAM,
  SOCK_TYPE_MASK,
  TIOCLINUX,
  TIOCSTI,
  hostSeccompArch,
  type SeccompArch,
} from "./seccomp.js";

/** An argument condition in the profile format (docker's and podman's JSON; the OCI spec's LinuxSeccompArg). */
export interface ProfileArg {
  index: number;
  value: number;
  valueTwo: number;
  op: "SCMP_CMP_MASKED_EQ";
}

export interface ProfileRule {
  names: string[];
  action: "SCMP_ACT_ERRNO";
  errnoRet: number;
  args?: ProfileArg[];
  comment: string;
}

export interface SeccompProfile {
  defaultAction: "SCMP_ACT_ALLOW";
  architectures: string[];
  syscalls: ProfileRule[];
}

const SCMP_ARCH: Record<SeccompArch, string> = { x86_64: "SCMP_ARCH_X86_64", aarch64: "SCMP_ARCH_AARCH64" };
const LOW_32_BITS = 0xffffffff;

const masked = (index: number, mask: number, value: number): ProfileArg => ({ index, value: mask, valueTwo: value, op: "SCMP_CMP_MASKED_EQ" });

/** The profile for `arch` (default: this host's), for runc or gVisor. Throws where the filter has no table (fail closed). */
export function seccompProfile(arch: SeccompArch | undefined = hostSeccompArch(), opts: { gvisor?: boolean } = {}): SeccompProfile {
  const scmpArch = arch === undefined ? undefined : SCMP_ARCH[arch];
  if (scmpArch === undefined) throw new Error(`container sandbox: no seccomp profile for this architecture (${arch ?? process.arch}); only x86_64 and aarch64 are supported`);
  const deny = (names: string[], comment: string, args?: ProfileArg[], errnoRet = EPERM): ProfileRule => ({ names, action: "SCMP_ACT_ERRNO", errnoRet, ...(args ? { args } : {}), comment });
  // One rule per namespace bit: the rules for one syscall are alternatives (OR), the args of one rule all hold (AND).
  const namespaceBits = { CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET };
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: [scmpArch],
    syscalls: [
      ...Object.entries(DENIED).map(([name, entry]) => deny([name], entry.why)),
      ...(opts.gvisor ? [] : [deny(["clone3"], "its flags are in memory a filter cannot read: ENOSYS, so libc falls back to clone", undefined, ENOSYS)]),
      ...Object.entries(namespaceBits).map(([bit, flag]) => deny(["clone"], `clone asking for a new namespace (${bit})`, [masked(0, flag, flag)])),
      deny(["socket"], "AF_UNIX: a socket path in a mounted directory reaches host services (ssh-agent, docker.sock, dbus)", [masked(0, LOW_32_BITS, AF_UNIX)]),
      deny(["socketpair"], "a datagram pair: a datagram socket can send to any socket path afterwards", [masked(1, SOCK_TYPE_MASK, SOCK_DGRAM)]),
      deny(["ioctl"], "TIOCSTI types into a terminal", [masked(1, LOW_32_BITS, TIOCSTI)]),
      deny(["ioctl"], "TIOCLINUX types into a terminal", [masked(1, LOW_32_BITS, TIOCLINUX)]),
    ],
  };
}

/**
 * The profile's file, for `--security-opt seccomp=FILE`: named by a hash of its content in a private
 * per-user directory (`<parent>/mcp-warden-<uid>`, 0700, ours), written once (atomically) and reused
 * by every launch, so nothing is left per launch. It is read back on every call and rewritten when it
 * is not exactly the expected text, or not a plain file of ours. Throws with what to do.
 */
export function seccompProfileFile(profile: SeccompProfile = seccompProfile(), parent: string = tmpdir()): string {
  const text = `${JSON.stringify(profile, null, 1)}\n`;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const dir = join(parent, `mcp-warden-${process.getuid?.() ?? "user"}`);
  const file = join(dir, `seccomp-${hash}.json`);
  try {
    ensurePrivateDir(dir);
    let current: string | undefined;
    try {
      if (lstatSync(file).isFile() && unsafeFileReason(file) === undefined) current = readFileSync(file, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== text) writeFileAtomic(file, text, 0o600);
  } catch (err) {
    throw new Error(`container sandbox: cannot write the seccomp profile ${file}: ${(err as Error).message}; set TMPDIR to a directory of yours`);
  }
  return file;
}
