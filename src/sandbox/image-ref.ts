// Container image references and digest pins. Pure: no I/O (the engine is asked in image-pin.ts).
//
// A reference is `name[:tag][@sha256:<64 hex>]`. A reference with a digest is *pinned*: it names one
// image's content, not whatever a tag points to today. Only sha256 is accepted (what both engines
// use); a reference with some other `@...` part is invalid, never treated as unpinned.

export interface ImageReference {
  /** As written. */
  given: string;
  /** `name[:tag]`, without the digest. */
  name: string;
  /** The pinned digest, `sha256:<64 lowercase hex>`; undefined: a tag (or bare name) only. */
  digest?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The parts of an image reference, or an error message saying what is wrong with it. */
export function parseImageReference(image: string): ImageReference | { error: string } {
  const at = image.indexOf("@");
  if (at < 0) return { given: image, name: image };
  const name = image.slice(0, at);
  const digest = image.slice(at + 1);
  if (name === "") return { error: `${JSON.stringify(image)} has a digest but no image name before the '@'` };
  if (!DIGEST.test(digest))
    return { error: `${JSON.stringify(image)}: a pinned image is written name@sha256:<64 lowercase hex digits> (or name:tag@sha256:...), and "${digest}" is not such a digest` };
  return { given: image, name, digest };
}

/** Whether `image` is pinned by a (well-formed) digest. */
export function isPinned(image: string): boolean {
  const r = parseImageReference(image);
  return !("error" in r) && r.digest !== undefined;
}

/** `sha256:<hex>` for an engine's image ID (podman prints the hex alone, docker with the prefix). */
export function normalizeImageId(id: string): string {
  const hex = id.startsWith("sha256:") ? id.slice("sha256:".length) : id;
  return `sha256:${hex.toLowerCase()}`;
}

/** The digest part of a RepoDigests entry (`name@sha256:...`), or undefined. */
export function repoDigestOf(entry: string): string | undefined {
  const at = entry.lastIndexOf("@");
  const d = at < 0 ? "" : entry.slice(at + 1);
  return DIGEST.test(d) ? d : undefined;
}

/**
 * Why a settings' sandbox image breaks managed settings' `requireImageDigest`, or undefined.
 * Only container sandboxes have images; the others are not concerned.
 */
export function imageDigestRefusal(type: string, image: string | undefined): string | undefined {
  if (type !== "docker" && type !== "podman") return undefined;
  if (image === undefined || isPinned(image)) return undefined;
  return (
    `managed settings require container images pinned by digest (requireImageDigest), and the ${type} image ${JSON.stringify(image)} is not: ` +
    `write it as ${JSON.stringify(`${image}@sha256:<digest>`)} (\`${type} image inspect --format '{{.Id}}' ${image}\` shows the local image's ID; ` +
    `a registry digest from \`${type} image inspect --format '{{.RepoDigests}}'\` works too)`
  );
}
