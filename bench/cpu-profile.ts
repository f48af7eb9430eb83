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
  /** µs on the monotonic clock (the one `process.hrtime` reads, in any process on the machine). */
  startTime: number;
}

/** A stretch of the monotonic clock, in µs (`process.hrtime.bigint() / 1000n`): only samples within it count. */
export interface Window {
  fromUs: number;
  toUs: number;
}

/** Self time per profile node, of the samples within `window` (all of them without one). */
function selfTimes(p: Profile, window?: Window): Map<number, number> {
  const self = new Map<number, number>();
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  return self;
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

export function summarizeProfile(file: string, top = 12, pieces: { label: string; frame: RegExp }[] = INCLUSIVE, window?: Window): ProfileSummary {
  const INCLUSIVE = pieces;
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = selfTimes(p, window);
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

/** Who a sample's time is charged to (see attributeProfile). */
export interface Owner {
  label: string;
  /** Matches `<functionName>@<url>` of a frame this owner runs. */
  frame: RegExp;
}

export interface Attribution {
  busyMs: number;
  /** Per owner (in the order given, then the rest), its share of busy time and what of it was spent in zod and in native code. */
  rows: { label: string; share: number; zodShare: number; nativeShare: number }[];
}

/**
 * Busy time charged to the innermost frame on each sample's stack that one of `owners` matches:
 * what zod, JSON, Node's internals or native code do on someone's behalf is charged to whoever asked
 * (a zod parse called by the SDK server is the SDK server's cost). Samples that no owner's frame is
 * on go to `rest` (event loop, pipe reads and writes started by libuv), the garbage collector to its own row.
 */
export function attributeProfile(file: string, owners: Owner[], window?: Window, rest = "(no owner on the stack: event loop, stream internals)"): Attribution {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = selfTimes(p, window);
  const labels = [...owners.map((o) => o.label), "(garbage collector)", rest];
  const us = new Map(labels.map((l) => [l, { all: 0, zod: 0, native: 0 }]));
  let busy = 0;
  for (const [id, t] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === "(idle)") continue;
    busy += t;
    let label = cf.functionName === "(garbage collector)" ? "(garbage collector)" : undefined;
    for (let cur: number | undefined = id; label === undefined && cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const key = `${f.functionName}@${f.url}`;
      label = owners.find((o) => o.frame.test(key))?.label;
    }
    const row = us.get(label ?? rest)!;
    row.all += t;
    const area = areaOf(cf.url, cf.functionName);
    if (area === "zod") row.zod += t;
    if (area.startsWith("(native")) row.native += t;
  }
  const share = (x: number) => (busy ? x / busy : 0);
  return {
    busyMs: busy / 1000,
    rows: labels.map((label) => {
      const r = us.get(label)!;
      return { label, share: share(r.all), zodShare: share(r.zod), nativeShare: share(r.native) };
    }),
  };
}
