// An empty, read-only directory in a container: a tmpfs mount, written so both engines honour it.
// - `ro`, not `readonly`: podman 4 refuses `readonly` on a tmpfs ("invalid mount option"); docker takes both.
// - podman copies what lies under a tmpfs mount point into it by default (`tmpcopyup`): over a
//   denied directory inside a bind mount that would copy the very files the mask is there to hide.
//   `notmpcopyup` turns that off; docker never copies up (and does not know the option).
import type { ContainerEngine } from "./container.js";

/** The `--mount` value of an empty read-only directory at `dst`. */
export function emptyDirMount(engine: ContainerEngine, dst: string, mode: string): string {
  return `type=tmpfs,dst=${dst},ro,tmpfs-mode=${mode}${engine === "podman" ? ",notmpcopyup" : ""}`;
}
