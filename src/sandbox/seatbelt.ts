// The seatbelt sandbox backend (macOS): `sandbox-exec -p <profile> -- <command> <args...>` with a
// profile generated from the policy, in Apple's Sandbox Profile Language (SBPL). In SBPL a later
// rule wins over an earlier one, so the profile goes from broad allows to narrow denies:
//
// - `(version 1) (deny default)`; processes may exec and fork, and signal or inspect only
//   processes in the same sandbox; a short list of sysctls, Mach services and devices a process
//   needs to start (no sysctl that reveals other processes' arguments or environment).
// - Network: none, except, when the egress bridge is set up (`ctx.bridge`), outbound connections to
//   mcp-warden's proxy on `localhost:<port>`; the proxy judges every destination. No Unix sockets:
//   a policy with `allowUnixSockets` is refused.
// - Reads: allowed everywhere (so `allowRead` needs no rule) except the denyRead and mandatory
//   paths: `(deny file-read* (subpath …))` for a directory or a path that does not exist yet,
//   `(literal …)` for an existing file.
// - Writes: only under allowWrite and a private temporary directory (created per launch, removed by
//   `cleanup()`, and given to the server as TMPDIR unless its env sets TMPDIR), plus /dev/null and
//   the already open descriptors (/dev/fd, /dev/stdout, /dev/stderr); never to denyWrite, denyRead
//   or mandatory paths.
// - A denied path's ancestors can be neither unlinked nor created (renamed away or replaced):
//   `(deny file-write-unlink file-write-create (literal <ancestor>))`, so moving a directory that
//   holds a denied path does not carry the path out of its rule.
// - Every path appears as given and as the kernel sees it (symlinks resolved, /tmp, /var and /etc
//   under /private). Strings are SBPL string literals with `\` and `"` escaped; a path with a
//   control character (newline included) or an invalid UTF-16 sequence cannot be written safely
//   and is refused, as is a relative path.
// - What seatbelt cannot do is refused (fail closed): resource limits, an image or a runtime.
//   Known limit: a hard link made before the server started is a second path to the same file,
//   and the rules are about paths.
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Availability, LaunchSpec, SandboxBackend, SandboxContext, SandboxLaunch, SandboxPolicy } from "./types.js";

export const SANDBOX_EXEC = "/usr/bin/sandbox-exec";

const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** An SBPL string literal for `s`; throws for a string that cannot be written safely. */
export function sbplString(s: string): string {
  if (CONTROL.test(s)) throw new Error(`seatbelt sandbox: ${JSON.stringify(s)} contains a control character, which a sandbox profile cannot hold safely; refusing to start`);
  if (LONE_SURROGATE.test(s)) throw new Error(`seatbelt sandbox: ${JSON.stringify(s)} is not valid Unicode; refusing to start`);
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function checkPath(p: string, what: string): string {
  if (typeof p !== "string" || !path.posix.isAbsolute(p)) throw new Error(`seatbelt sandbox: ${what} ${JSON.stringify(p)} is not an absolute path`);
  sbplString(p);
  return path.posix.normalize(p).replace(/(.)\/+$/, "$1");
}

/** The real path of `p`: symlinks resolved, for a missing path those of its nearest existing ancestor. */
function realOf(p: string): string {
  const rest: string[] = [];
  let dir = p;
  for (;;) {
    try {
      return path.posix.join(realpathSync(dir), ...rest);
    } catch {
      if (dir === "/") return p;
      rest.unshift(path.posix.basename(dir));
      dir = path.posix.dirname(dir);
    }
  }
}

/** The names the kernel may see for `p`: as given, resolved, and with or without macOS's /private. */
function variants(p: string): string[] {
  const out = new Set<string>([p, realOf(p)]);
  for (const v of [...out]) {
    const m = /^\/private(\/(?:tmp|var|etc)(?:\/.*)?)$/.exec(v);
    if (m?.[1]) out.add(m[1]);
    else if (/^\/(?:tmp|var|etc)(?:\/|$)/.test(v)) out.add(`/private${v}`);
  }
  return [...out];
}

function isFile(p: string): boolean {
  try {
    return !statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A filter for `p`: `literal` for an existing file, `subpath` for a directory or a missing path. */
function filter(p: string): string {
  return `(${isFile(p) ? "literal" : "subpath"} ${sbplString(p)})`;
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let d = path.posix.dirname(p); d !== "/"; d = path.posix.dirname(d)) out.push(d);
  return out;
}

const MACH_SERVICES = [
  "com.apple.system.opendirectoryd.libinfo",
  "com.apple.system.opendirectoryd.membership",
  "com.apple.system.logger",
  "com.apple.logd",
  "com.apple.system.notification_center",
  "com.apple.bsd.dirhelper",
];

const SYSCTL_NAMES = [
  "kern.argmax",
  "kern.hostname",
  "kern.maxfiles",
  "kern.maxfilesperproc",
  "kern.maxproc",
  "kern.ngroups",
  "kern.osproductversion",
  "kern.osrelease",
  "kern.ostype",
  "kern.osvariant_status",
  "kern.osversion",
  "kern.secure_kernel",
  "kern.tcsm_available",
  "kern.tcsm_enable",
  "kern.usrstack64",
  "kern.version",
  "kern.willshutdown",
  "machdep.ptrauth_enabled",
  "sysctl.proc_cputype",
  "vm.loadavg",
];
const SYSCTL_PREFIXES = ["hw.", "machdep.cpu.", "kern.proc.pid."];

export interface SeatbeltProfileOptions {
  /** The launch's private temporary directory (writable). */
  tmpDir?: string;
}

interface NetworkWithSockets {
  allowUnixSockets?: string[];
}

/** The SBPL profile for `policy`. Throws (fail closed) for what the profile cannot express. */
export function seatbeltProfile(policy: SandboxPolicy, ctx: SandboxContext, opts: SeatbeltProfileOptions = {}): string {
  if (policy.type !== "seatbelt") throw new Error(`seatbelt sandbox: the policy is for the ${policy.type} sandbox, not seatbelt`);
  const limits = Object.entries(policy.limits).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (limits.length > 0)
    throw new Error(`seatbelt sandbox: resource limits (${limits.join(", ")}) cannot be enforced by seatbelt; remove them or use the docker or podman sandbox; refusing to start`);
  if (policy.image !== undefined || policy.runtime !== undefined)
    throw new Error("seatbelt sandbox: `image` and `runtime` apply to the docker and podman sandboxes only; refusing to start");
  if (((policy.network as NetworkWithSockets).allowUnixSockets ?? []).length > 0)
    throw new Error("seatbelt sandbox: allowUnixSockets is not supported; refusing to start");

  const fsPolicy = policy.filesystem;
  const hidden = [...fsPolicy.denyRead, ...ctx.mandatoryDeny].map((p) => checkPath(p, "denied path"));
  const frozen = fsPolicy.denyWrite.map((p) => checkPath(p, "denyWrite path"));
  const writable = fsPolicy.allowWrite.map((p) => checkPath(p, "allowWrite path"));
  for (const p of fsPolicy.allowRead) checkPath(p, "allowRead path");
  if (opts.tmpDir !== undefined) writable.push(checkPath(opts.tmpDir, "temporary directory"));
  const uniq = (xs: string[]) => [...new Set(xs)];
  const hiddenAll = uniq(hidden.flatMap(variants));
  const frozenAll = uniq([...hidden, ...frozen].flatMap(variants));
  const writableAll = uniq(writable.flatMap(variants));
  const ancestorsAll = uniq(frozenAll.flatMap(ancestors));

  const out: string[] = [
    "(version 1)",
    "(deny default)",
    "",
    "; processes",
    "(allow process-exec)",
    "(allow process-fork)",
    "(allow process-info* (target same-sandbox))",
    "(allow signal (target same-sandbox))",
    "(allow mach-priv-task-port (target same-sandbox))",
    "",
    "; what a process needs to start and run",
    "(allow user-preference-read)",
    "(allow iokit-get-properties)",
    "(allow ipc-posix-shm)",
    "(allow ipc-posix-sem)",
    `(allow mach-lookup ${MACH_SERVICES.map((n) => `(global-name ${sbplString(n)})`).join(" ")})`,
    `(allow sysctl-read ${SYSCTL_NAMES.map((n) => `(sysctl-name ${sbplString(n)})`).join(" ")} ${SYSCTL_PREFIXES.map((n) => `(sysctl-name-prefix ${sbplString(n)})`).join(" ")})`,
    '(allow sysctl-write (sysctl-name "kern.tcsm_enable"))',
    '(allow file-ioctl (literal "/dev/null") (literal "/dev/zero") (literal "/dev/random") (literal "/dev/urandom") (literal "/dev/dtracehelper"))',
    "",
    "; network",
  ];
  if (ctx.bridge !== undefined) {
    const port = ctx.bridge.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`seatbelt sandbox: the egress proxy port ${String(port)} is not a port number`);
    out.push(`(allow network-outbound (remote ip "localhost:${port}"))`);
  } else out.push("; none");
  out.push("", "; reads: everywhere but the denied paths", "(allow file-read*)");
  if (hiddenAll.length > 0) out.push(`(deny file-read* ${hiddenAll.map(filter).join(" ")})`);
  out.push(
    "",
    "; writes: only the allowed paths, the private temporary directory and the open descriptors",
    '(allow file-write* (literal "/dev/null"))',
    '(allow file-write-data (literal "/dev/stdout") (literal "/dev/stderr") (subpath "/dev/fd"))',
  );
  if (writableAll.length > 0) out.push(`(allow file-write* ${writableAll.map((p) => `(subpath ${sbplString(p)})`).join(" ")})`);
  if (frozenAll.length > 0) out.push(`(deny file-write* ${frozenAll.map(filter).join(" ")})`);
  if (ancestorsAll.length > 0) {
    out.push("", "; a denied path's ancestors can be neither moved away nor replaced");
    out.push(`(deny file-write-unlink file-write-create ${ancestorsAll.map((p) => `(literal ${sbplString(p)})`).join(" ")})`);
  }
  return `${out.join("\n")}\n`;
}

export interface SeatbeltOptions {
  /** Default process.platform. */
  platform?: NodeJS.Platform;
  /** Default /usr/bin/sandbox-exec. */
  sandboxExec?: string;
  /** Where each launch's private temporary directory is made; default os.tmpdir(). */
  tmpRoot?: string;
}

/** A seatbelt backend (the options are for tests). */
export function seatbeltBackend(opts: SeatbeltOptions = {}): SandboxBackend {
  const exe = opts.sandboxExec ?? SANDBOX_EXEC;
  const available = (): Availability => {
    const platform = opts.platform ?? process.platform;
    if (platform !== "darwin")
      return { ok: false, why: `seatbelt (sandbox-exec) exists only on macOS, and this is ${platform}`, install: "Use the bubblewrap sandbox on Linux, or docker or podman (set sandbox.type)." };
    if (!existsSync(exe))
      return { ok: false, why: `${exe} is missing`, install: "sandbox-exec ships with macOS; restore it (reinstall or update macOS), or use docker or podman (set sandbox.type)." };
    return { ok: true };
  };

  const wrap = (spec: LaunchSpec, policy: SandboxPolicy, ctx: SandboxContext): SandboxLaunch => {
    if (typeof spec.command !== "string" || spec.command === "") throw new Error("seatbelt sandbox: no command to run");
    const tmp = realOf(mkdtempSync(path.join(opts.tmpRoot ?? tmpdir(), "mcp-warden-sbx-")));
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      rmSync(tmp, { recursive: true, force: true });
    };
    try {
      const profile = seatbeltProfile(policy, ctx, { tmpDir: tmp });
      const env = { ...spec.env };
      if (env.TMPDIR === undefined) env.TMPDIR = tmp;
      const launch: SandboxLaunch = { command: exe, args: ["-p", profile, "--", spec.command, ...spec.args], env, extraFds: [], cleanup };
      if (spec.cwd !== undefined) launch.cwd = spec.cwd;
      return launch;
    } catch (e) {
      cleanup();
      throw e;
    }
  };

  return { type: "seatbelt", available, wrap };
}

export const seatbelt: SandboxBackend = seatbeltBackend();
