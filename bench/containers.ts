// Benchmark of the container backends' start-up, next to bubblewrap's (bench/sandbox.ts): for
// podman, podman with gVisor (runsc), docker (a private dockerd, as the tests start it) and docker
// with gVisor, the time from spawning `mcp-warden run` to the fixture server's first tool result
// with the server in a container, and `mcp-warden exec --profile box -- /bin/true` against the bare
// engine command running the same image. Images are built locally (test/e2e/container-harness.ts).
// Each variant's rows come from interleaved rounds of one run.
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { CLI, FIXTURE, ROOT, scratch, type Scratch } from "../test/e2e/harness.js";
import { busyboxImage, CONTAINER_VARIANTS, engineEnv, NODE, nodeImage, startDockerd, variantProblem, type PrivateDockerd, type TestEngine } from "../test/e2e/container-harness.js";
import { join } from "node:path";
import { median, startupMs } from "./stdio.js";

export interface ContainerVariantResult {
  name: string;
  /** Why the variant was not measured. */
  skipped?: string;
  /** Median ms: gateway start to the first tool result of the fixture server in the container. */
  gateway?: number;
  /** Median ms: `mcp-warden exec --profile box -- /bin/true`. */
  exec?: number;
  /** Median ms: `<engine> run --rm <the same hardening> <image> /bin/true`, the engine alone. */
  bare?: number;
}

export interface ContainerBenchResult {
  runs: number;
  variants: ContainerVariantResult[];
}

const r1 = (x: number) => Math.round(x * 10) / 10;

function timed(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, args, { env, cwd, stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr?.toString().slice(-500) ?? ""}`);
  return ms;
}

interface Variant {
  name: string;
  engine: TestEngine;
  runtime?: string;
  problem(): string | undefined;
}

const VARIANTS: Variant[] = CONTAINER_VARIANTS.map((v) => ({
  name: v.gvisor ? `${v.engine} with gVisor (runsc)` : v.engine,
  engine: v.engine,
  ...(v.gvisor ? { runtime: "runsc" } : {}),
  problem: () => variantProblem(v),
}));

async function measure(v: Variant, env: NodeJS.ProcessEnv, runs: number): Promise<ContainerVariantResult> {
  const server = nodeImage(v.engine, env);
  const busybox = busyboxImage(v.engine, env);
  const runtime = v.runtime !== undefined ? { runtime: v.runtime } : {};
  // The fixture's compiled code and the SDK it imports are mounted read-only; the image has node.
  const gatewayScratch = scratch({
    permissions: { allow: ["mcp__fixture__echo"] },
    mcpServers: { fixture: { command: NODE, args: [FIXTURE], sandbox: { type: v.engine, image: server, ...runtime, filesystem: { allowRead: [join(ROOT, "dist"), join(ROOT, "node_modules")] } } } },
  });
  const execScratch = scratch({ sandboxProfiles: { box: { type: v.engine, image: busybox, ...runtime } } });
  const withEngine = (s: Scratch) => ({ ...s.env, ...env, HOME: s.home });
  gatewayScratch.env = withEngine(gatewayScratch);
  execScratch.env = withEngine(execScratch);
  const hardening = ["--read-only", "--network=none", "--user=65534:65534", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--log-driver=none"];
  const engineRuntime = v.engine === "podman" ? ["--runtime=runc", "--ulimit=nofile=1024:1024", "--ulimit=nproc=1024:1024"] : [];
  const bareRuntime = v.runtime === undefined ? engineRuntime : v.engine === "podman" ? ["--runtime=/usr/bin/runsc", "--runtime-flag=network=none", "--ulimit=nofile=1024:1024", "--ulimit=nproc=1024:1024"] : ["--runtime=runsc"];
  const bareArgs = ["run", "--rm", ...hardening, ...bareRuntime, busybox, "/bin/true"];
  const execArgs = [CLI, "exec", "--profile", "box", "--settings", execScratch.settingsFile, "--", "/bin/true"];
  try {
    // Warm-up: the first start of each pays image and runtime caches.
    await startupMs("gateway", gatewayScratch);
    timed(process.execPath, execArgs, execScratch.env, execScratch.project);
    timed(v.engine, bareArgs, env);
    const t = { gateway: [] as number[], exec: [] as number[], bare: [] as number[] };
    for (let i = 0; i < runs; i++) {
      t.bare.push(timed(v.engine, bareArgs, env));
      t.exec.push(timed(process.execPath, execArgs, execScratch.env, execScratch.project));
      t.gateway.push(await startupMs("gateway", gatewayScratch));
    }
    return { name: v.name, gateway: r1(median(t.gateway)), exec: r1(median(t.exec)), bare: r1(median(t.bare)) };
  } finally {
    gatewayScratch.cleanup();
    execScratch.cleanup();
  }
}

export async function runContainerBench(runs = 5): Promise<ContainerBenchResult> {
  const variants: ContainerVariantResult[] = [];
  let dockerd: PrivateDockerd | undefined;
  try {
    for (const v of VARIANTS) {
      const problem = v.problem();
      if (problem !== undefined) {
        variants.push({ name: v.name, skipped: problem });
        continue;
      }
      let env = engineEnv();
      if (v.engine === "docker") {
        dockerd ??= await startDockerd();
        env = dockerd.env;
      }
      try {
        variants.push(await measure(v, env, runs));
      } catch (e) {
        variants.push({ name: v.name, skipped: `failed: ${(e as Error).message.slice(0, 300)}` });
      }
    }
  } finally {
    await dockerd?.stop();
  }
  return { runs, variants };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(JSON.stringify(await runContainerBench(), null, 2));

/** The PERFORMANCE.md section: container start-up next to bubblewrap's (`bwrap`: the sandbox bench's rows). */
export function containerSection(r: ContainerBenchResult, bwrap?: { gatewaySandboxed: number; gatewayPlain: number; exec: number }): string[] {
  const f1 = (x: number) => x.toFixed(1);
  const out = [
    "## Container start-up",
    "",
    `Medians of ${r.runs} interleaved runs per backend, after a warm-up start. A server start is the time from spawning \`mcp-warden run\` to the first tool result of the fixture server, run by the host's node inside a locally built image (the fixture's code mounted read-only). \`exec\` is \`mcp-warden exec --profile box -- /bin/true\` with a container profile (a busybox image); the engine alone is \`<engine> run --rm\` of the same image with the same hardening flags. docker is a private dockerd started by the benchmark.`,
    "",
    "| backend | gateway start to first tool result | added over no sandbox | `exec -- /bin/true` | the engine alone | exec over the engine |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  if (bwrap) out.push(`| bubblewrap (section above) | ${f1(bwrap.gatewaySandboxed)} ms | ${f1(bwrap.gatewaySandboxed - bwrap.gatewayPlain)} ms | ${f1(bwrap.exec)} ms | | |`);
  for (const v of r.variants) {
    if (v.gateway === undefined || v.exec === undefined || v.bare === undefined) {
      out.push(`| ${v.name} | not measured: ${(v.skipped ?? "unknown").replace(/\|/g, "/")} | | | | |`);
      continue;
    }
    const added = bwrap ? `${f1(v.gateway - bwrap.gatewayPlain)} ms` : "";
    out.push(`| ${v.name} | ${f1(v.gateway)} ms | ${added} | ${f1(v.exec)} ms | ${f1(v.bare)} ms | ${f1(v.exec - v.bare)} ms |`);
  }
  out.push(
    "",
    "A container costs the engine's own start (creating the container, its mounts and namespaces, and for gVisor its kernel) on every server start and every `exec`: hundreds of milliseconds where bubblewrap needs a few. Use containers for servers, which start once; for an agent's shell commands, the Bash sandbox uses bubblewrap.",
    "",
  );
  return out;
}
