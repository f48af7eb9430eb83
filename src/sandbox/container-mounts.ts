// Where a container's files come from: the allowed paths as bind mounts, deny first, masks over
// what is denied inside them, and pins that keep masks from being moved away. The rules are in
// container.ts's header ("Files"); this file turns a SandboxPolicy into `--mount` arguments.
import { realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { ContainerEngine } from "./container.js";
import { emptyDirMount } from "./container-tmpfs.js";
import type { SandboxContext, SandboxPolicy } from "./types.js";

function fail(engine: ContainerEngine, why: string): never {
  throw new Error(`${engine} sandbox: ${why}`);
}
// ---------------------------------------------------------------------------------------------
// Paths

// A character that cannot be written into a `--mount` value safely (its CSV fields) or that no
// sane path has: control characters, the comma (field separator) and the double quote (CSV quoting).
const UNSAFE_MOUNT_CHAR = /[\u0000-\u001f\u007f,"]/;

function checkPath(p: string, what: string): string {
  if (!path.posix.isAbsolute(p)) throw new Error(`container sandbox: ${what} ${JSON.stringify(p)} is not an absolute path`);
  if (UNSAFE_MOUNT_CHAR.test(p))
    throw new Error(`container sandbox: ${what} ${JSON.stringify(p)} contains a comma, a double quote or a control character, which cannot be passed to the engine safely; refusing to start`);
  return path.posix.normalize(p).replace(/(.)\/+$/, "$1");
}

type Kind = "dir" | "file" | "missing";

interface Resolved {
  /** As given, normalized. */
  given: string;
  /** Symlinks resolved; for a missing path, its nearest existing ancestor's real path plus the rest. */
  real: string;
  kind: Kind;
}

function resolvePath(p: string): Resolved {
  let real: string;
  let kind: Kind;
  try {
    real = realpathSync(p);
    kind = statSync(real).isDirectory() ? "dir" : "file";
  } catch {
    kind = "missing";
    let dir = path.posix.dirname(p);
    const rest = [path.posix.basename(p)];
    for (;;) {
      try {
        real = path.posix.join(realpathSync(dir), ...rest);
        break;
      } catch {
        if (dir === "/") {
          real = p;
          break;
        }
        rest.unshift(path.posix.basename(dir));
        dir = path.posix.dirname(dir);
      }
    }
  }
  return { given: p, real, kind };
}

/** Whether `p` is `base` or inside it. */
function within(p: string, base: string): boolean {
  return p === base || base === "/" || p.startsWith(`${base}/`);
}

// ---------------------------------------------------------------------------------------------
// Mounts

interface Mount {
  /** Path inside the container. */
  dst: string;
  /** Host path (real). */
  src: string;
  writable: boolean;
}

/** `--mount` arguments and whether a mount is at /tmp, for the filesystem part of the policy. */
export function mountArgs(engine: ContainerEngine, policy: SandboxPolicy, ctx: SandboxContext): { args: string[]; tmpTaken: boolean } {
  const fsPolicy = policy.filesystem;
  const hidden = [...fsPolicy.denyRead, ...ctx.mandatoryDeny].map((p) => resolvePath(checkPath(p, "denied path")));
  const frozen = fsPolicy.denyWrite.map((p) => resolvePath(checkPath(p, "denyWrite path")));

  // The allowed mounts, deny first: hidden ancestors drop a mount, frozen ancestors make it read-only.
  const byDst = new Map<string, Mount>();
  const add = (p: string, writable: boolean) => {
    const r = resolvePath(checkPath(p, writable ? "allowWrite path" : "allowRead path"));
    if (r.given === "/" || r.real === "/") fail(engine, `the whole file system ("/") cannot be mounted into a container; allow narrower paths`);
    if (r.kind === "missing") return;
    if (hidden.some((h) => within(r.real, h.real) || within(r.given, h.given))) return;
    const w = writable && !frozen.some((f) => within(r.real, f.real) || within(r.given, f.given));
    const prev = byDst.get(r.given);
    byDst.set(r.given, { dst: r.given, src: r.real, writable: w || (prev?.writable ?? false) });
  };
  for (const p of fsPolicy.allowRead) add(p, false);
  for (const p of fsPolicy.allowWrite) add(p, true);
  const mounts = [...byDst.values()];

  // The mount that decides what happens at a path inside the container: the deepest one holding it.
  const holder = (dst: string): Mount | undefined => {
    let best: Mount | undefined;
    for (const m of mounts) if (within(dst, m.dst) && (best === undefined || m.dst.length > best.dst.length)) best = m;
    return best;
  };
  // Where a host path (real) appears inside the container: once per mount holding it.
  const placesOf = (r: Resolved): string[] => {
    const out = new Set<string>();
    for (const m of mounts) if (r.real !== m.src && within(r.real, m.src)) out.add(m.dst + r.real.slice(m.src.length));
    return [...out];
  };

  const masks = new Map<string, string>();
  const masked = (place: string) => [...masks.keys()].some((m) => within(place, m));
  const refuse = (r: Resolved, place: string, what: string) =>
    fail(
      engine,
      `${what} ${JSON.stringify(r.given)} does not exist, and it lies in the writable mount ${JSON.stringify(holder(place)?.dst)}: ` +
        `the server could create it, and masking it would create it on the host. Create it first, or narrow allowWrite; refusing to start`,
    );
  // Hide what exists (a directory under an empty read-only tmpfs, anything else under /dev/null).
  for (const r of hidden) {
    if (r.kind === "missing") continue;
    for (const place of placesOf(r))
      masks.set(place, r.kind === "dir" ? emptyDirMount(engine, place, "0") : `type=bind,src=/dev/null,dst=${place},readonly`);
  }
  // Freeze what exists and is writable (not already hidden): the same path again, read-only.
  for (const r of frozen) {
    if (r.kind === "missing") continue;
    for (const place of placesOf(r)) if (!masked(place) && holder(place)?.writable) masks.set(place, `type=bind,src=${r.real},dst=${place},readonly`);
  }
  // What does not exist can only be left alone where nothing may be created.
  for (const r of [...hidden, ...frozen]) {
    if (r.kind !== "missing") continue;
    for (const place of placesOf(r)) if (!masked(place) && holder(place)?.writable) refuse(r, place, frozen.includes(r) ? "the denyWrite path" : "the denied path");
  }

  // Pins: inside a writable mount, every directory between the mount and a mask is bound onto itself
  // (still writable), so that it cannot be renamed away (a mount point cannot be renamed: EBUSY) and
  // the protected path recreated in its place: `mv .mcp-warden x` would otherwise move the host's
  // settings directory, mask and all, and leave the gateway to read whatever the server writes.
  const pins = new Map<string, string>();
  for (const place of masks.keys()) {
    const m = holder(place);
    if (!m?.writable) continue;
    for (let dir = path.posix.dirname(place); dir !== m.dst && within(dir, m.dst); dir = path.posix.dirname(dir))
      if (!masks.has(dir)) pins.set(dir, `type=bind,src=${m.src}${dir.slice(m.dst.length)},dst=${dir}`);
  }

  const args: string[] = [];
  for (const m of mounts.sort((a, b) => a.dst.localeCompare(b.dst))) args.push(`--mount=type=bind,src=${m.src},dst=${m.dst}${m.writable ? "" : ",readonly"}`);
  // Parents before children: the engines mount in order of depth, and so does this list.
  for (const [, spec] of [...pins, ...masks].sort(([a], [b]) => a.localeCompare(b))) args.push(`--mount=${spec}`);
  return { args, tmpTaken: byDst.has("/tmp") };
}
