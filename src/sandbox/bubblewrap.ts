// The bubblewrap sandbox backend (Linux). A server runs in new user, PID, IPC, UTS, network and
// (where possible) cgroup namespaces, on a root file system assembled from read-only binds of the
// system directories plus the paths the policy allows, under a seccomp filter (./seccomp.ts).
//
// What the sandbox sees:
// - /usr, /bin, /sbin, /lib*, read-only (merged-/usr symlinks recreated as symlinks); /etc read-only
//   with its secrets masked (shadow, sudoers, SSH host keys, TLS private keys, ...).
// - A fresh /proc (only the sandbox's processes), a minimal /dev, a private tmpfs /tmp; the rest of
//   the root is an empty tmpfs, made read-only once everything is mounted. Nothing else of the host:
//   not the home directory, not /run, not /var.
// - `allowRead` read-only, `allowWrite` writable; the command's directory (and its node_modules tree),
//   the node binary's directory, the bridge script's package and the cwd read-only. The sandbox never
//   binds the home directory (or an ancestor of it) on its own initiative: a command or node binary
//   directly in it is bound as a single file, and a cwd that is the home directory is an empty
//   directory unless the policy allows it. Paths are bound at their physical location (symbolic links
//   resolved); the allowed spelling, when it differs and nothing covers it, is recreated as a link.
// - Deny wins over everything: `denyRead`, `ctx.mandatoryDeny` and the /etc secrets are masked, a
//   directory by an empty read-only tmpfs, a file by a read-only bind of /dev/null (on a nodev mount:
//   opening it fails). Allowed paths inside a denied one are dropped. `denyWrite` under a writable
//   path is bound read-only again, and an allowWrite inside a denyWrite becomes read-only.
// - A denied path that does not exist yet but could be created inside (its parent is writable) gets
//   an empty placeholder on the host (a 0700 directory, or a 0600 empty file for names like .bashrc
//   or settings.json) so that it can be masked; placeholders are left in place (removing one while a
//   sandbox runs would lift the mask). A missing denied path in a read-only area needs no mask.
// - Masks must not be moved away: inside a writable path every directory between the writable root
//   and a masked or read-only path is bound onto itself, so that renaming it fails (EBUSY) instead of
//   letting the sandbox recreate the protected path elsewhere. A denied path reached through a
//   symbolic link that sits in a writable directory cannot be protected (the link can be replaced):
//   wrap() refuses such a policy.
//
// Process: `--die-with-parent`, `--new-session` (no TIOCSTI into the caller's terminal),
// `--cap-drop ALL`, PR_SET_NO_NEW_PRIVS (bwrap always sets it), the environment cleared
// (`--clearenv`) and set to exactly `spec.env`. bwrap itself is started through `env -i`: its own
// environment is readable inside (/proc/1/environ of the sandbox's init), so it must be empty even if
// a caller spawns the launch with more than `launch.env` (which is `{}`). Killing bwrap (the launch's
// process, e.g. through its process group) ends everything inside: the sandbox's init dies with its
// parent and takes the PID namespace with it. Network: only loopback; with `ctx.bridge` the command
// runs under the egress bridge, which reaches the host's proxy through the inherited `ctx.egressFd`.
//
// Limits: bubblewrap has none of its own; ./bwrap-limits.ts chooses per limit a cgroup the gateway
// creates (the launch joins it before bwrap runs) or an rlimit (prlimit: RLIMIT_AS and RLIMIT_NOFILE
// on the launch, RLIMIT_NPROC inside the sandbox), and refuses a limit neither can enforce. The
// launch is then `env -i [sh -c <join the cgroups> … -- env -i] [prlimit … --] bwrap …`.
//
// File descriptors: bwrap is given its options through `--args FD` (an unlinked 0600 file), so that
// the environment's values never show in the host's process list, and the seccomp program through
// `--seccomp FD` (another unlinked 0600 file). `SandboxLaunch.extraFds` holds them, in that order.
// Child fd numbers (see `extraFdChildNumbers`): extraFds[i] becomes the i-th number of 3, 4, 5, ...
// that is not `ctx.egressFd`. With `ctx.egressFd === 3` (the caller's egress socket in slot 3):
// extraFds[0] is child fd 4 and extraFds[1] child fd 5; without egress: 3 and 4. `launchStdio()`
// builds the matching `stdio` array. bwrap reads and closes both descriptors before running the
// command, so a launch is single-use; the egress descriptor stays open through bwrap.
import { spawnSync, type StdioOptions } from "node:child_process";
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, realpathSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join, normalize } from "node:path";
import type { Availability, LaunchSpec, SandboxBackend, SandboxContext, SandboxLaunch, SandboxPolicy } from "./types.js";
import { seccompFilterBytes, hostSeccompArch } from "./seccomp.js";
import { programsListed, runtimeFiles, scriptNeeds } from "./no-exec.js";
import {
  chooseBwrapLimits,
  describeLimits,
  detectLimitsHost,
  innerRlimitOptions,
  limitedLaunchPrefix,
  type LimitsChoice,
  type LimitsHost,
} from "./bwrap-limits.js";
import {
  between,
  codeRootOf,
  depth,
  findCommand,
  looksLikeFile,
  packageRootOf,
  resolveHostPath,
  strictlyWithin,
  within,
  type ResolvedPath,
} from "./bwrap-paths.js";

/** System directories bound read-only (those that exist; symbolic links are recreated as links). */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];

/** Files and directories of /etc never visible inside: password hashes, sudo rules, private keys. */
export const ETC_SECRETS = [
  "/etc/shadow",
  "/etc/shadow-",
  "/etc/gshadow",
  "/etc/gshadow-",
  "/etc/sudoers",
  "/etc/sudoers.d",
  "/etc/security/opasswd",
  "/etc/ssl/private",
  "/etc/pki/tls/private",
  "/etc/krb5.keytab",
  "/etc/ipsec.secrets",
  "/etc/ppp/chap-secrets",
  "/etc/ppp/pap-secrets",
  "/etc/wireguard",
  "/etc/NetworkManager/system-connections",
  "/etc/libvirt/secrets",
];

/** Private SSH host keys (/etc/ssh/ssh_host_*_key); the public halves stay readable. */
function sshHostKeys(): string[] {
  try {
    return readdirSync("/etc/ssh")
      .filter((n) => /^ssh_host_.*_key$/.test(n))
      .map((n) => join("/etc/ssh", n));
  } catch {
    return [];
  }
}

export interface BubblewrapOptions {
  /** The bwrap binary; default: /usr/bin/bwrap, else `bwrap` on the PATH. */
  bwrap?: string;
  /** Where the option and filter files are written before being opened and unlinked; default os.tmpdir(). */
  tmpDir?: string;
}

/** Child fd numbers of `count` extra descriptors: 3, 4, 5, ... skipping the caller's egress fd. */
export function extraFdChildNumbers(count: number, egressFd?: number): number[] {
  const out: number[] = [];
  for (let fd = 3; out.length < count; fd++) if (fd !== egressFd) out.push(fd);
  return out;
}

type StdioElement = Extract<StdioOptions, unknown[]>[number];

/**
 * The `stdio` option for spawning a launch: `base` (fds 0-2), then each of `launch.extraFds` at its
 * child number and, when given, the egress socket at `ctx.egressFd` ("ignore" fills any gap).
 */
export function launchStdio(
  base: [StdioElement, StdioElement, StdioElement],
  launch: Pick<SandboxLaunch, "extraFds">,
  egress?: { fd: number; handle: StdioElement },
): StdioElement[] {
  const stdio: StdioElement[] = [...base];
  const put = (fd: number, v: StdioElement) => {
    while (stdio.length <= fd) stdio.push("ignore");
    stdio[fd] = v;
  };
  const numbers = extraFdChildNumbers(launch.extraFds.length, egress?.fd);
  launch.extraFds.forEach((hostFd, i) => put(numbers[i] as number, hostFd));
  if (egress) put(egress.fd, egress.handle);
  return stdio;
}

function locateBwrap(explicit?: string): string | undefined {
  if (explicit) return explicit;
  const found = findCommand("bwrap", { PATH: `/usr/bin:/bin:${process.env.PATH ?? ""}` }, undefined);
  return found;
}

const INSTALL =
  "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap, pacman -S bubblewrap); if it is " +
  "installed but cannot create namespaces, allow unprivileged user namespaces: sysctl -w " +
  "kernel.unprivileged_userns_clone=1 (Debian), or on Ubuntu 23.10+ sysctl -w " +
  "kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for bwrap), and make sure " +
  "user.max_user_namespaces is not 0";

function checkAvailable(bwrap: string | undefined): Availability {
  if (process.platform !== "linux") return { ok: false, why: "bubblewrap needs Linux", install: "use the docker or podman backend" };
  if (hostSeccompArch() === undefined)
    return { ok: false, why: `no seccomp filter for this architecture (${process.arch}); x86_64 and aarch64 are supported`, install: "use the docker or podman backend" };
  if (bwrap === undefined) return { ok: false, why: "bwrap is not installed (not in /usr/bin or on the PATH)", install: INSTALL };
  const version = spawnSync(bwrap, ["--version"], { encoding: "utf8", timeout: 5000, env: {} });
  if (version.error) return { ok: false, why: `cannot run ${bwrap}: ${version.error.message}`, install: INSTALL };
  const m = /(\d+)\.(\d+)/.exec(version.stdout ?? "");
  if (m && (Number(m[1]) === 0 && Number(m[2]) < 5))
    return { ok: false, why: `${bwrap} is version ${m[0]}; 0.5 or later is needed (--clearenv)`, install: INSTALL };
  const r = spawnSync(bwrap, ["--unshare-all", "--ro-bind", "/", "/", "true"], { encoding: "utf8", timeout: 5000, env: {}, stdio: ["ignore", "ignore", "pipe"] });
  if (r.error) return { ok: false, why: `cannot run ${bwrap}: ${r.error.message}`, install: INSTALL };
  if (r.status !== 0) {
    const err = (r.stderr ?? "").trim() || (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`);
    return { ok: false, why: `bwrap cannot create a sandbox here (user namespaces unavailable?): ${err}`, install: INSTALL };
  }
  return { ok: true };
}

/** A real launch of `true` with every option wrap() uses (fresh /proc, seccomp, ...): some hosts refuse one of them. */
function selfTest(backend: SandboxBackend): Availability {
  const policy: SandboxPolicy = { type: "bubblewrap", filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [] }, network: {}, limits: {}, env: [] };
  let launch: SandboxLaunch | undefined;
  try {
    launch = backend.wrap({ command: "true", args: [], env: { PATH: "/usr/bin:/bin" } }, policy, { home: homedir(), mandatoryDeny: [] });
    const r = spawnSync(launch.command, launch.args, { env: launch.env, encoding: "utf8", timeout: 10_000, stdio: launchStdio(["ignore", "ignore", "pipe"], launch) as StdioOptions });
    if (r.error) return { ok: false, why: `cannot run bwrap: ${r.error.message}`, install: INSTALL };
    if (r.status !== 0) {
      const err = (r.stderr ?? "").trim() || (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`);
      return { ok: false, why: `bwrap runs, but not with the sandbox's options (fresh /proc, network namespace, seccomp) here: ${err}`, install: `${INSTALL}; inside a container, bwrap needs one that allows mounting proc and creating namespaces` };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `cannot prepare a bubblewrap sandbox: ${(e as Error).message}`, install: INSTALL };
  } finally {
    launch?.cleanup();
  }
}

function noNul(s: string, what: string): string {
  if (s.includes("\0")) throw new Error(`sandbox: ${what} contains a NUL byte`);
  return s;
}

/** Everything wrap() decides, before any file descriptor exists: testable without running bwrap. */
export interface BwrapPlan {
  /** bwrap options (they go into the --args file), without --seccomp. */
  options: string[];
  /** The command line run inside (after `--`). */
  command: string[];
  /** Host paths created as mask placeholders (left in place). */
  placeholders: string[];
  /** Each limit's mechanism (./bwrap-limits.ts), and the host facts it was chosen from. */
  limits: LimitsChoice;
  limitsHost: LimitsHost;
}

interface Mount {
  path: string;
  op: "ro" | "rw" | "file" | "symlink" | "proc" | "dev" | "tmpfs";
  /** symlink: the link's target. */
  target?: string;
}

/** Something the command needs readable: a directory, or a single file where the directory is too much. */
interface Needed {
  what: string;
  dir: string;
  file?: string;
}

/** Computes the bwrap options for `spec` under `policy`. Throws when the policy cannot be honoured. */
export function planBwrap(
  spec: LaunchSpec,
  policy: SandboxPolicy,
  ctx: SandboxContext,
  opts: { uid?: number; kernel?: string; limitsHost?: Partial<LimitsHost> } = {},
): BwrapPlan {
  if (policy.image !== undefined) throw new Error("sandbox: bubblewrap runs host files; an `image` needs the docker or podman backend");
  if (policy.runtime !== undefined) throw new Error("sandbox: `runtime` needs the docker or podman backend");
  if (ctx.bridge && ctx.egressFd === undefined) throw new Error("sandbox: the egress bridge needs ctx.egressFd");
  if (ctx.egressFd !== undefined && (!Number.isInteger(ctx.egressFd) || ctx.egressFd < 3))
    throw new Error(`sandbox: egressFd must be an integer >= 3, not ${ctx.egressFd}`);
  const homeReal = resolveHostPath(ctx.home).path;
  /** The home directory, one of its ancestors or `/`: never bound as a whole on the sandbox's own initiative. */
  const tooWide = (dir: string) => within(homeReal, dir);

  // Limits (see the header): a mechanism for each, or a refusal.
  const limitsHost: LimitsHost = { ...detectLimitsHost(), ...opts.limitsHost };
  if (opts.uid !== undefined) limitsHost.uid = opts.uid;
  if (opts.kernel !== undefined) limitsHost.kernel = opts.kernel;
  const limits = chooseBwrapLimits(policy.limits, limitsHost);
  const inside = innerRlimitOptions(limits);
  const prlimit = inside.length > 0 ? limitsHost.prlimit : undefined;

  // The environment, checked (options are NUL-separated in the --args file).
  const envOptions: string[] = ["--clearenv"];
  for (const [k, v] of Object.entries(spec.env)) {
    if (k === "" || k.includes("=") || k.includes("\0")) throw new Error(`sandbox: invalid environment variable name ${JSON.stringify(k)}`);
    envOptions.push("--setenv", k, noNul(v, `the value of ${k}`));
  }

  // The command and what it needs readable.
  const cwd = spec.cwd !== undefined ? resolveHostPath(spec.cwd) : undefined;
  if (cwd && (!cwd.exists || cwd.kind !== "dir")) throw new Error(`sandbox: cwd ${spec.cwd} is not a directory`);
  const found = findCommand(noNul(spec.command, "the command"), spec.env, cwd?.path);
  if (found === undefined) throw new Error(`sandbox: command not found: ${spec.command} (PATH ${spec.env.PATH ?? "(default)"})`);
  const command = join(resolveHostPath(dirname(found)).path, basename(found));
  const needed: Needed[] = [];
  const need = (what: string, file: string, dir = dirname(file)) => {
    const d = resolveHostPath(dir).path;
    needed.push(tooWide(d) ? { what, dir: d, file: resolveHostPath(file).path } : { what, dir: d });
  };
  // allowExecute false or a list (./no-exec.ts): programs are bound as single files with their
  // libraries, never their directories, and the system directories are left out below.
  const restricted = policy.execute !== undefined;
  const needProgram = (what: string, program: string, codeRoot?: string) => {
    if (!restricted) {
      need(what, program);
      if (codeRoot !== undefined) need(what, realpathSync(program), codeRoot);
      return;
    }
    for (const f of runtimeFiles(program, what)) needed.push({ what, dir: dirname(f), file: f });
  };
  needProgram(`the command ${spec.command}`, command, codeRootOf(found));
  if (restricted) {
    for (const n of scriptNeeds(spec.args, cwd?.path ?? "/", ctx.home)) need(n.what, n.file, n.dir);
    for (const p of programsListed(policy.execute)) needProgram(`the allowed program ${p}`, p);
  }
  let inner: string[] = [command, ...spec.args.map((a) => noNul(a, "an argument"))];
  if (ctx.bridge) {
    const node = resolveHostPath(ctx.bridge.node);
    const script = resolveHostPath(ctx.bridge.script);
    if (!node.exists) throw new Error(`sandbox: node binary not found: ${ctx.bridge.node}`);
    if (!script.exists) throw new Error(`sandbox: bridge script not found: ${ctx.bridge.script}`);
    needProgram("the node binary", node.path);
    need("the egress bridge", script.path, packageRootOf(script.path, ctx.home));
    inner = [node.path, script.path, "--fd", String(ctx.egressFd), "--port", String(ctx.bridge.port), "--", ...inner];
  }
  needProgram("the node binary", realpathSync(process.execPath));
  if (prlimit) needProgram("prlimit", prlimit);
  if (prlimit) inner = [prlimit, ...inside, "--", ...inner];

  // Protected paths, resolved: deny (unreadable, unwritable) and denyWrite.
  const denied = [...policy.filesystem.denyRead, ...ctx.mandatoryDeny, ...ETC_SECRETS, ...sshHostKeys()].map(resolveHostPath);
  const isDenied = (p: string) => denied.some((d) => within(p, d.path));
  for (const n of needed) {
    const p = n.file ?? n.dir;
    if (isDenied(p)) throw new Error(`sandbox: ${n.what} (${p}) is in a denied path`);
  }
  if (cwd && isDenied(cwd.path)) throw new Error(`sandbox: the working directory ${cwd.path} is in a denied path`);
  const denyWrite = policy.filesystem.denyWrite.map(resolveHostPath);
  const inDenyWrite = (p: string) => denyWrite.some((d) => within(p, d.path));

  // Mounts: system directories, /proc, /dev, /tmp, then the policy's and the command's paths.
  const mounts = new Map<string, Mount>();
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = lstatSync(dir);
      if (restricted && dir !== "/etc" && !st.isSymbolicLink()) continue; // no system programs (see ./no-exec.ts)
      if (st.isSymbolicLink()) mounts.set(dir, { path: dir, op: "symlink", target: readlinkSync(dir) });
      else if (st.isDirectory()) mounts.set(dir, { path: dir, op: "ro" });
    } catch {
      /* absent here */
    }
  }
  mounts.set("/proc", { path: "/proc", op: "proc" });
  mounts.set("/dev", { path: "/dev", op: "dev" });
  mounts.set("/tmp", { path: "/tmp", op: "tmpfs" });
  const spellings: { target: string; link: string }[] = [];
  const add = (given: string, r: ResolvedPath, op: "ro" | "rw" | "file") => {
    if (!r.exists || isDenied(r.path)) return; // deny wins; a missing path cannot be bound
    if (within(r.path, "/proc") || within(r.path, "/dev"))
      throw new Error(`sandbox: ${given} is inside /proc or /dev, which the sandbox provides itself`);
    const lexical = normalize(given);
    if (lexical !== r.path) spellings.push({ target: r.path, link: lexical });
    const prev = mounts.get(r.path);
    if (prev?.op === "rw" || (prev?.op === "ro" && op === "file")) return;
    mounts.set(r.path, { path: r.path, op: op === "file" && r.kind === "dir" ? "ro" : op });
  };
  for (const p of policy.filesystem.allowRead) add(p, resolveHostPath(p), "ro");
  for (const p of policy.filesystem.allowWrite) {
    const r = resolveHostPath(p);
    add(p, r, inDenyWrite(r.path) ? "ro" : "rw");
  }
  for (const n of needed) add(n.file ?? n.dir, resolveHostPath(n.file ?? n.dir), n.file ? "file" : "ro");
  if (spec.cwd !== undefined && cwd && !tooWide(cwd.path)) add(spec.cwd, cwd, "ro");

  // Drop binds that add nothing: a read-only one inside another bind (inside a writable one it would
  // take writability away), a writable one inside a writable one, a system link inside a user bind.
  const sorted = [...mounts.values()].sort((a, b) => depth(a.path) - depth(b.path));
  const kept: Mount[] = [];
  for (const m of sorted) {
    const cover = [...kept].reverse().find((k) => (k.op === "ro" || k.op === "rw" || k.op === "tmpfs") && strictlyWithin(m.path, k.path));
    if ((m.op === "ro" || m.op === "file" || m.op === "symlink") && cover && cover.op !== "tmpfs") continue;
    if (m.op === "rw" && cover?.op === "rw") continue;
    kept.push(m);
  }
  const hostBinds = kept.filter((m) => m.op === "ro" || m.op === "rw" || m.op === "file");
  /** The innermost host bind containing p: it decides whether p is visible, and writable. */
  const bindOf = (p: string) => hostBinds.filter((m) => within(p, m.path)).sort((a, b) => depth(b.path) - depth(a.path))[0];
  const visible = (p: string) => bindOf(p) !== undefined;
  const writableRoot = (p: string): string | undefined => {
    const b = bindOf(p);
    return b?.op === "rw" && !inDenyWrite(p) ? b.path : undefined;
  };

  // A protected path reached through a symbolic link in a writable directory: the link could be
  // replaced by the sandbox, and the host would then follow the new one. Refused.
  for (const d of [...denied, ...denyWrite]) {
    for (const link of d.links) {
      if (writableRoot(dirname(link)) !== undefined)
        throw new Error(`sandbox: the protected path ${d.path} is reached through the symbolic link ${link}, in a directory the sandbox may write, which could replace it; do not allow writing ${dirname(link)}`);
    }
  }

  // Placeholders: a protected path that does not exist but could be created inside.
  const placeholders: string[] = [];
  const ensure = (r: ResolvedPath): ResolvedPath => {
    if (r.exists) return r;
    let anc = dirname(r.path);
    while (!resolveHostPath(anc).exists) anc = dirname(anc);
    if (resolveHostPath(anc).kind !== "dir" || writableRoot(anc) === undefined) return r; // cannot be created inside: nothing to mask
    mkdirSync(dirname(r.path), { recursive: true, mode: 0o700 });
    try {
      if (looksLikeFile(r.path)) writeFileSync(r.path, "", { mode: 0o600, flag: "wx" });
      else mkdirSync(r.path, { mode: 0o700 });
      placeholders.push(r.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    return resolveHostPath(r.path);
  };

  // denyWrite under a writable bind: bound read-only again (outermost only).
  const readOnlyAgain: ResolvedPath[] = [];
  for (const d0 of [...denyWrite].sort((a, b) => depth(a.path) - depth(b.path))) {
    if (bindOf(d0.path)?.op !== "rw" || isDenied(d0.path)) continue;
    if (readOnlyAgain.some((o) => within(d0.path, o.path))) continue;
    const d = ensure(d0);
    if (d.exists) readOnlyAgain.push(d);
  }
  // Deny masks where the path is visible (outermost only: a mask hides what is inside it).
  const masks: ResolvedPath[] = [];
  for (const d0 of [...denied].sort((a, b) => depth(a.path) - depth(b.path))) {
    if (masks.some((m) => within(d0.path, m.path))) continue;
    const d = ensure(d0);
    if (d.exists && visible(d.path)) masks.push(d);
  }

  // Pins: each directory between a writable bind and a protected path is bound onto itself, so that
  // it cannot be renamed away (a mount point cannot be renamed: EBUSY) and the path recreated.
  const pins = new Set<string>();
  for (const p of [...readOnlyAgain, ...masks]) {
    const b = bindOf(dirname(p.path));
    if (b?.op !== "rw") continue;
    for (const a of between(b.path, p.path)) if (!inDenyWrite(a) && !kept.some((k) => k.path === a)) pins.add(a);
  }

  // The allowed spelling of a path bound at its physical location, where nothing covers it.
  const links: string[] = [];
  const linked = new Set<string>();
  for (const { target, link } of spellings) {
    if (linked.has(link) || isDenied(link)) continue;
    if ([...mounts.keys()].some((m) => within(link, m) || within(m, link))) continue;
    linked.add(link);
    links.push("--symlink", target, link);
  }

  // Assemble: namespaces and process, environment, binds outermost first (pins among them), paths
  // read-only again, masks, links, the root read-only, the working directory.
  const options: string[] = [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-net",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    ...envOptions,
  ];
  const ordered = [...kept, ...[...pins].map((path): Mount => ({ path, op: "rw" }))].sort((a, b) => depth(a.path) - depth(b.path));
  for (const m of ordered) {
    if (m.op === "ro" || m.op === "file") options.push("--ro-bind", m.path, m.path);
    else if (m.op === "rw") options.push("--bind", m.path, m.path);
    else if (m.op === "symlink") options.push("--symlink", m.target as string, m.path);
    else if (m.op === "proc") options.push("--proc", "/proc");
    else if (m.op === "dev") options.push("--dev", "/dev");
    else options.push("--tmpfs", m.path);
  }
  for (const d of readOnlyAgain) options.push("--ro-bind", d.path, d.path);
  for (const d of masks) {
    if (d.kind === "dir") options.push("--tmpfs", d.path, "--remount-ro", d.path);
    else options.push("--ro-bind", "/dev/null", d.path);
  }
  options.push(...links);
  // A TMPDIR inside the private /tmp exists (empty) so that temporary files work.
  const tmpEnv = spec.env.TMPDIR;
  if (tmpEnv !== undefined && tmpEnv.startsWith("/") && strictlyWithin(normalize(tmpEnv), "/tmp") && !visible(normalize(tmpEnv)) && !isDenied(normalize(tmpEnv)))
    options.push("--dir", normalize(tmpEnv));
  let chdir = "/";
  if (cwd) {
    chdir = cwd.path;
    if (!visible(cwd.path) && cwd.path !== "/") options.push("--dir", cwd.path); // home (not bound as a whole): an empty directory
  }
  if (!kept.some((m) => m.path === "/" && m.op === "rw")) options.push("--remount-ro", "/");
  options.push("--chdir", chdir);
  for (const o of options) noNul(o, "a path");
  return { options, command: inner, placeholders, limits, limitsHost };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The bubblewrap backend. */
export function bubblewrapBackend(opts: BubblewrapOptions = {}): SandboxBackend {
  let availability: Availability | undefined;
  const backend: SandboxBackend = {
    type: "bubblewrap",
    available() {
      if (availability === undefined) {
        availability = checkAvailable(locateBwrap(opts.bwrap));
        if (availability.ok) availability = selfTest(backend);
      }
      return availability;
    },
    wrap(spec, policy, ctx) {
      const bwrap = locateBwrap(opts.bwrap);
      if (bwrap === undefined) throw new Error(`sandbox: bwrap is not installed; ${INSTALL}`);
      const plan = planBwrap(spec, policy, ctx);
      const envBinary = isFile("/usr/bin/env") ? "/usr/bin/env" : undefined;
      const { prefix, cgroups } = limitedLaunchPrefix(plan.limits, plan.limitsHost, (ctx as SandboxContext & { server?: string }).server ?? "exec", envBinary);
      const [argsChild, seccompChild] = extraFdChildNumbers(2, ctx.egressFd) as [number, number];
      const options = [...plan.options, "--seccomp", String(seccompChild)];
      const fds: number[] = [];
      let dir: string;
      try {
        dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), "mcp-warden-bwrap-"));
      } catch (e) {
        cgroups?.remove();
        throw e;
      }
      try {
        const argsFile = join(dir, "args");
        const filterFile = join(dir, "seccomp");
        writeFileSync(argsFile, options.map((o) => `${o}\0`).join(""), { mode: 0o600, flag: "wx" });
        writeFileSync(filterFile, seccompFilterBytes(), { mode: 0o600, flag: "wx" });
        fds.push(openSync(argsFile, "r"));
        fds.push(openSync(filterFile, "r"));
      } catch (e) {
        for (const fd of fds) closeSync(fd);
        cgroups?.remove();
        throw e;
      } finally {
        for (const f of ["args", "seccomp"]) {
          try {
            unlinkSync(join(dir, f));
          } catch {
            /* not written */
          }
        }
        rmdirSync(dir);
      }
      let open = true;
      // bwrap's own environment is readable inside (/proc/1/environ of the sandbox's init): it starts
      // from an empty one (`env -i`) even if the caller adds the host's to `launch.env`.
      const bwrapArgs = ["--args", String(argsChild), "--", ...plan.command];
      return {
        command: envBinary ?? bwrap,
        args: envBinary ? ["-i", ...prefix, bwrap, ...bwrapArgs] : bwrapArgs,
        env: {},
        extraFds: fds,
        limitsNote: describeLimits(plan.limits),
        // After the launch's process ended: what is left in its cgroups is killed, then they are removed.
        cleanup() {
          if (!open) return;
          open = false;
          for (const fd of fds) {
            try {
              closeSync(fd);
            } catch {
              /* already closed */
            }
          }
          cgroups?.remove();
        },
      };
    },
  };
  return backend;
}

/** The default bubblewrap backend (/usr/bin/bwrap or `bwrap` on the PATH). */
export const bubblewrap: SandboxBackend = bubblewrapBackend();
