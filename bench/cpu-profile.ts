// Where a process's CPU time went, from the .cpuprofile V8 writes under `node --cpu-prof`: self
// time per function and per area (a package in node_modules, a directory of mcp-warden, Node's own
// internals, the garbage collector). Idle time is left out, so the shares are of busy time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Busy time sampled, in ms. */
  busyMs: number;
  /** The functions with the most self time. */
  frames: { name: string; where: string; area: string; share: number }[];
  /** Self time by area, largest first. */
  areas: { area: string; share: number }[];
  /** Time in named functions and everything they call (see INCLUSIVE), in the order given. */
  inclusive: { label: string; share: number }[];
}

/**
 * Pieces of serve's request path, by the function that runs each. Time spent after an `await` is
 * V8's to the microtask that resumes it, not to the function: these shares are lower bounds.
 */
export const INCLUSIVE: { label: string; frame: RegExp }[] = [
  { label: "HTTP listener: parse, checks, Request (src/fronts/http/http-server.ts `handle`)", frame: /^handle@.*\/fronts\/http\/http-server\.js$/ },
  { label: "writing the response to the socket (http-server.ts `writeResponse`)", frame: /^writeResponse@.*\/fronts\/http\/http-server\.js$/ },
  { label: "authentication (src/auth `authenticate`)", frame: /^authenticate@.*\/auth\/authenticator\.js$/ },
  { label: "the SDK's Streamable HTTP server transport (`handlePostRequest`)", frame: /^handlePostRequest@.*@modelcontextprotocol\/server\// },
  { label: "schema validation (zod `safeParse`)", frame: /^safeParse@.*\/zod\// },
  { label: "the gateway pipeline (src/gateway `runPipeline`)", frame: /^runPipeline@.*\/gateway\/pipeline\.js$/ },
  { label: "audit appends (src/audit `append`)", frame: /^append@.*\/audit\/log\.js$/ },
  { label: "sending to the upstream (src/upstream `request`)", frame: /^request@.*\/upstream\/upstream\.js$/ },
  { label: "garbage collection", frame: /^\(garbage collector\)@$/ },
];

/** The profile V8 wrote for `pid` in `dir` (file names end in .<pid>.<thread>.<seq>.cpuprofile). */
export function profileFileFor(dir: string, pid: number): string | undefined {
  const f = readdirSync(dir).find((n) => n.endsWith(".cpuprofile") && n.split(".").includes(String(pid)));
  return f === undefined ? undefined : join(dir, f);
}

/** The area a frame's script belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native code: system calls, JSON, hashing)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /\/dist\/src\/([^/]+)/.exec(url);
  if (src) return `mcp-warden src/${src[1]!.replace(/\.js$/, "")}`;
  return url.replace(/^file:\/\//, "");
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusiveUs = INCLUSIVE.map(() => 0);
  const frames = new Map<string, { name: string; where: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === "(idle)") continue;
    busy += us;
    // Each piece counts a sample once, however deep it recurses.
    const hit = INCLUSIVE.map(() => false);
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const key = `${f.functionName}@${f.url}`;
      INCLUSIVE.forEach((x, i) => {
        if (!hit[i] && x.frame.test(key)) hit[i] = true;
      });
    }
    hit.forEach((h, i) => {
      if (h) inclusiveUs[i] = inclusiveUs[i]! + us;
    });
    const area = areaOf(cf.url, cf.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const file = cf.url.split("/").pop() ?? "";
    const where = cf.url ? `${file}:${cf.lineNumber + 1}` : "";
    const key = `${cf.functionName}@${cf.url}:${cf.lineNumber}`;
    const f = frames.get(key) ?? { name: cf.functionName || "(anonymous)", where, area, us: 0 };
    f.us += us;
    frames.set(key, f);
  }
  const share = (us: number) => (busy ? us / busy : 0);
  return {
    busyMs: busy / 1000,
    frames: [...frames.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, area: f.area, share: share(f.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, share: share(us) })),
    inclusive: INCLUSIVE.map((x, i) => ({ label: x.label, share: share(inclusiveUs[i]!) })),
  };
}
