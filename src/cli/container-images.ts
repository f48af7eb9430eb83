// The images of the configured container sandboxes, for `doctor` and `scan`: per server (and, for
// doctor, per exec profile) the image as written, whether it is pinned by digest, and the local
// image ID it runs or would run (the same look-up the backend makes at start: image-pin.ts).
// Only looks: `<engine> image inspect`, nothing pulled or changed.
import { engineEnvironment, type ContainerEngine } from "../sandbox/container.js";
import { describeImage, type ImageReport } from "../sandbox/image-pin.js";
import { chooseSandbox } from "../sandbox/policy.js";
import type { ResolvedSettings } from "../settings/index.js";
import { homeDir } from "../settings/paths.js";

export interface ContainerImageCheck extends ImageReport {
  /** `server NAME` or `profile NAME`. */
  subject: string;
  engine: ContainerEngine;
}

const isEngine = (t: string): t is ContainerEngine => t === "docker" || t === "podman";

/** One image's report, asked of the engine the sandbox names. */
export function imageCheck(engine: ContainerEngine, image: string | undefined, env: NodeJS.ProcessEnv): ImageReport {
  if (image === undefined) return { image: "", pinned: false, problem: `no image: a ${engine} sandbox needs sandbox.image` };
  return describeImage({ engine, executable: engine, env: engineEnvironment(env), timeoutMs: 10_000 }, image);
}

/** Every configured stdio server (and, with `profiles`, every exec profile) that runs in docker or podman. */
export function containerImages(settings: ResolvedSettings, env: NodeJS.ProcessEnv, opts: { profiles?: boolean; cwd?: string } = {}): ContainerImageCheck[] {
  const home = homeDir(env);
  const cwd = opts.cwd ?? process.cwd();
  const out: ContainerImageCheck[] = [];
  for (const server of settings.servers) {
    if (server.entry.url !== undefined) continue;
    // Without requireImageDigest: the image is reported even where that setting refuses it.
    const { policy } = chooseSandbox(server.entry.sandbox, settings.sandbox, {
      home,
      platform: process.platform,
      baseDir: server.entry.cwd ?? cwd,
      serverCwd: server.entry.cwd,
      requireSandbox: settings.requireSandbox === true,
    });
    if (policy !== undefined && isEngine(policy.type)) out.push({ subject: `server ${server.name}`, engine: policy.type, ...imageCheck(policy.type, policy.image, env) });
  }
  if (opts.profiles === true)
    for (const [name, profile] of Object.entries(settings.sandboxProfiles ?? {}))
      if (profile.type !== undefined && isEngine(profile.type)) out.push({ subject: `profile ${name}`, engine: profile.type, ...imageCheck(profile.type, profile.image, env) });
  return out;
}

/** One line for people: the image, pinned or not, and what runs. */
export function describeImageLine(c: Pick<ContainerImageCheck, "engine" | "image" | "pinned" | "id" | "problem">): string {
  const pin = c.pinned ? "pinned by digest" : "NOT pinned (a tag can be moved to another image)";
  const runs = c.id !== undefined ? `runs ${c.id}` : c.pinned ? "no local image matches the pin" : "no local image";
  return `${c.engine} image ${c.image === "" ? "(none)" : c.image}: ${pin}; ${runs}${c.problem !== undefined ? ` — ${c.problem}` : ""}`;
}
