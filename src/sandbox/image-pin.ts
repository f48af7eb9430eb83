// Digest-pinned container images, checked against the engine's local image store.
//
// No registry is asked: what can be checked is the local image. A pinned reference
// (`name[:tag]@sha256:<hex>`) is accepted when a local image's ID, or one of its RepoDigests (the
// registry manifest digest it was pulled by), equals the pin; the container then runs BY THAT ID,
// so a tag moved between this check and the start cannot swap the image. A local image under the
// same name whose digest differs is refused (the message says what was found and what to do), and
// so is a pinned image that is not present at all (pull it first: the engine checks the digest when
// pulling by digest). A reference without a digest runs as written, as before.
//
// `describeImage` is the same look-up, reported instead of thrown, for `doctor` and `scan`.
import { spawnSync } from "node:child_process";
import type { ContainerEngine } from "./container.js";
import { normalizeImageId, parseImageReference, repoDigestOf } from "./image-ref.js";

export interface LocalImage {
  /** `sha256:<hex>`. */
  id: string;
  repoDigests: string[];
}

type Inspected = { found: true; image: LocalImage } | { found: false; said: string };

export interface EngineClient {
  engine: ContainerEngine;
  /** The engine executable (default: the engine's name on PATH). */
  executable: string;
  /** The engine client's environment. */
  env: Record<string, string> | NodeJS.ProcessEnv;
  /** How long one `image inspect` may take; default 30 s. */
  timeoutMs?: number;
}

/** `<engine> image inspect <ref>`: the local image, or the engine's words on why there is none. */
export function inspectLocalImage(client: EngineClient, ref: string): Inspected {
  const timeout = client.timeoutMs ?? 30_000;
  const r = spawnSync(client.executable, ["image", "inspect", ref], {
    env: client.env,
    encoding: "utf8",
    timeout,
    killSignal: "SIGKILL",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 8 * 1024 * 1024,
  });
  if (r.error !== undefined) return { found: false, said: `\`${client.executable} image inspect\` could not be run: ${r.error.message}` };
  if (r.signal !== null) return { found: false, said: `\`${client.executable} image inspect\` did not answer within ${timeout} ms` };
  const said = (r.stderr ?? "").trim().split("\n").filter((l) => l.trim() !== "").slice(-1)[0]?.slice(0, 300) ?? "";
  if (r.status !== 0) return { found: false, said: said || `exit status ${r.status}` };
  try {
    const parsed = JSON.parse(r.stdout) as { Id?: unknown; RepoDigests?: unknown }[];
    const first = Array.isArray(parsed) ? parsed[0] : undefined;
    if (first === undefined || typeof first.Id !== "string" || first.Id === "") return { found: false, said: "the engine's answer names no image ID" };
    const repoDigests = Array.isArray(first.RepoDigests) ? first.RepoDigests.filter((d): d is string => typeof d === "string") : [];
    return { found: true, image: { id: normalizeImageId(first.Id), repoDigests } };
  } catch {
    return { found: false, said: "the engine's answer is not the JSON `image inspect` prints" };
  }
}

/** Whether the local image is the one `digest` pins: its ID or a RepoDigest equals it. */
export function matchesPin(image: LocalImage, digest: string): boolean {
  return image.id === digest || image.repoDigests.some((d) => repoDigestOf(d) === digest);
}

export type ImageResolution =
  /** Run `run`: the image's ID for a pinned reference, the reference itself otherwise. */
  | { ok: true; pinned: boolean; run: string; id?: string }
  | { ok: false; pinned: true; why: string };

/** What a pinned or unpinned reference runs, checked against the local store (never throws). */
export function resolveImage(client: EngineClient, image: string): ImageResolution {
  const ref = parseImageReference(image);
  if ("error" in ref) return { ok: false, pinned: true, why: ref.error };
  if (ref.digest === undefined) return { ok: true, pinned: false, run: image };
  const digest = ref.digest;
  const engine = client.engine;
  // By the whole reference (a RepoDigest match), then by ID: either must name the pinned content.
  for (const lookup of [image, digest]) {
    const r = inspectLocalImage(client, lookup);
    if (r.found && matchesPin(r.image, digest)) return { ok: true, pinned: true, run: r.image.id, id: r.image.id };
  }
  const byName = inspectLocalImage(client, ref.name);
  if (byName.found) {
    const digests = byName.image.repoDigests.map(repoDigestOf).filter((d): d is string => d !== undefined);
    return {
      ok: false,
      pinned: true,
      why:
        `the image ${JSON.stringify(image)} is pinned to ${digest}, but the local ${JSON.stringify(ref.name)} is ${byName.image.id}` +
        `${digests.length > 0 ? ` (registry digest ${[...new Set(digests)].join(", ")})` : ""}, a different image. ` +
        `Pull the pinned one (\`${engine} pull ${image}\`), or, if the local image is the one you trust, pin it: ${JSON.stringify(`${ref.name}@${byName.image.id}`)}; refusing to start`,
    };
  }
  return {
    ok: false,
    pinned: true,
    why:
      `the pinned image ${JSON.stringify(image)} is not present in the local ${engine} store (${byName.said}). ` +
      `Pull it first (\`${engine} pull ${image}\`: the engine checks the digest), or build or load it locally; refusing to start`,
  };
}

export interface ImageReport {
  image: string;
  pinned: boolean;
  /** The local image's ID (`sha256:...`) that runs, or would run; undefined when there is none. */
  id?: string;
  /** Why it would not start, or that it is not present locally (an unpinned image may still be pulled at start). */
  problem?: string;
}

/** For `doctor` and `scan`: the image, whether it is pinned, and the local image it runs or would run. */
export function describeImage(client: EngineClient, image: string): ImageReport {
  const resolved = resolveImage(client, image);
  if (!resolved.ok) return { image, pinned: true, problem: resolved.why };
  if (resolved.pinned) return { image, pinned: true, ...(resolved.id !== undefined ? { id: resolved.id } : {}) };
  const local = inspectLocalImage(client, image);
  if (local.found) return { image, pinned: false, id: local.image.id };
  return { image, pinned: false, problem: `not present locally (${local.said}); the engine would try to pull it at start` };
}
