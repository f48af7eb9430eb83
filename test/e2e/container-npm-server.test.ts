// A real npm server (@modelcontextprotocol/server-filesystem) in a real podman container behind the
// real gateway (`mcp-warden run`, an SDK client): its package and the directory it serves are
// read-only mounts, nothing else of the host is there. Its image is pinned by digest and runs by ID;
// `scan` and `doctor` report each container server's image, and pins that do not match, images
// that are not there and (with managed requireImageDigest) tag-only images keep servers from starting.
// The image is built here from the host's node and busybox (no registry).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, FILESYSTEM, ROOT, scratch, wardenCli, type Connected, type Scratch } from "./harness.js";
import { BUSYBOX, engineEnv, imageId, NODE, nodeImage, podmanProblem } from "./container-harness.js";

const problem = podmanProblem() ?? (BUSYBOX === undefined ? "no static busybox to build the test image from (apt-get install busybox-static)" : undefined);

const text = (r: unknown) => JSON.stringify((r as { content?: unknown }).content ?? r);
/** A digest no image here has. */
const FOREIGN_DIGEST = `sha256:${"3f".repeat(32)}`;

interface ContainerMount {
  Destination: string;
  Source: string;
}

/** The running containers of a gateway's server (by the labels the backend sets). */
function containersOf(env: NodeJS.ProcessEnv, server: string, gatewayPid: number): { image: string; imageName: string; mounts: ContainerMount[] }[] {
  const ids = spawnSync("podman", ["ps", "-q", "--no-trunc", "--filter", `label=mcp-warden.server=${server}`, "--filter", `label=mcp-warden.gateway-pid=${gatewayPid}`], { env, encoding: "utf8", timeout: 30_000 });
  assert.equal(ids.status, 0, ids.stderr);
  return ids.stdout
    .split("\n")
    .filter(Boolean)
    .map((id) => {
      const r = spawnSync("podman", ["container", "inspect", id], { env, encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      const [c] = JSON.parse(r.stdout) as { Image: string; ImageName: string; Mounts: ContainerMount[] }[];
      return { image: c!.Image, imageName: c!.ImageName, mounts: c!.Mounts };
    });
}

describe("server-filesystem from npm in a podman container behind the gateway", { skip: problem ?? false, timeout: 600_000 }, () => {
  let s: Scratch;
  let c: Connected;
  let env: NodeJS.ProcessEnv;
  let image = "";
  let id = "";
  let served = "";
  const modules = join(ROOT, "node_modules");

  before(async () => {
    s = scratch({});
    env = engineEnv();
    image = nodeImage("podman", env);
    id = imageId("podman", image, env);
    served = join(s.dir, "served");
    mkdirSync(served);
    writeFileSync(join(served, "hello.txt"), "hello from the served root\n");
    writeFileSync(join(s.home, "secret.txt"), "HOME-SECRET\n");
    const sandbox = (img: string) => ({ type: "podman", image: img, filesystem: { allowRead: [modules, served], allowWrite: [] } });
    writeFileSync(
      s.settingsFile,
      JSON.stringify({
        permissions: { allow: ["mcp__npmfs", "mcp__npmwide"] },
        mcpServers: {
          // Pinned by digest: runs by the image's ID.
          npmfs: { command: NODE, args: [FILESYSTEM, served], sandbox: sandbox(`${image}@${id}`) },
          // Its own check lets it read anything ("/"): only the container keeps the home directory out.
          npmwide: { command: NODE, args: [FILESYSTEM, "/"], sandbox: sandbox(image) },
        },
        audit: { dir: s.auditDir, fsyncIntervalMs: 50 },
        gateway: { logDir: s.logDir },
        approvals: { page: false },
      }),
    );
    c = await connect(s);
  });
  after(async () => {
    await c?.close();
    s?.cleanup();
  });

  const call = (name: string, args: Record<string, unknown>) => c.client.callTool({ name, arguments: args });

  it("lists the server's tools and reads a file from its read-only root", async () => {
    const tools = (await c.client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes("npmfs__read_text_file"), tools.join(", "));
    assert.ok(tools.includes("npmfs__write_file"), tools.join(", "));
    const r = await call("npmfs__read_text_file", { path: join(served, "hello.txt") });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /hello from the served root/);
  });

  it("notes each container server's limits at its start: engine, runtime, and each limit enforced (all of them, rootful here)", () => {
    for (const name of ["npmfs", "npmwide"])
      assert.match(c.stderr(), new RegExp(`${name}: podman limits, under \\S+ \\([^)]*\\): memory 2g \\(default\\) enforced; cpus 1 \\(default\\) enforced; pids 512 \\(default\\) enforced`), c.stderr());
  });

  it("runs the image pinned by digest by its ID, not by its tag (the tag-only server by its tag)", () => {
    const pid = c.transport.pid;
    assert.ok(pid !== null && pid !== undefined);
    const running = containersOf(env, "npmfs", pid);
    assert.equal(running.length, 1, JSON.stringify(running));
    // ImageName is the reference the container was started with.
    assert.equal(running[0]!.imageName, id);
    assert.equal(`sha256:${running[0]!.image}`, id);
    const tagged = containersOf(env, "npmwide", pid);
    assert.equal(tagged.length, 1, JSON.stringify(tagged));
    assert.equal(tagged[0]!.imageName, image);
  });

  it("cannot write into its root: the mount is read-only", async () => {
    const target = join(served, "written.txt");
    const r = await call("npmfs__write_file", { path: target, content: "should not land" });
    assert.ok(r.isError, text(r));
    assert.match(text(r), /read-only file system|EROFS/i);
    assert.ok(!existsSync(target), "nothing was written on the host");
  });

  it("refuses a secret in HOME by the server's own check (outside its root)", async () => {
    const r = await call("npmfs__read_text_file", { path: join(s.home, "secret.txt") });
    assert.ok(r.isError, text(r));
    assert.match(text(r), /outside allowed directories|access denied/i);
    assert.doesNotMatch(text(r), /HOME-SECRET/);
  });

  it("a server whose own check allows every path still cannot read HOME: it is not mounted in the container", async () => {
    const inRoot = await call("npmwide__read_text_file", { path: join(served, "hello.txt") });
    assert.ok(!inRoot.isError, text(inRoot));
    const r = await call("npmwide__read_text_file", { path: join(s.home, "secret.txt") });
    assert.ok(r.isError, text(r));
    assert.match(text(r), /ENOENT|no such file/i);
    assert.doesNotMatch(text(r), /HOME-SECRET/);
    const running = containersOf(env, "npmwide", c.transport.pid!);
    assert.equal(running.length, 1);
    const binds = running[0]!.mounts.filter((m) => m.Source !== "" && m.Source.startsWith("/") && m.Destination !== "/tmp");
    assert.deepEqual(binds.map((m) => m.Destination).sort(), [modules, served].sort(), JSON.stringify(running[0]!.mounts));
    assert.ok(!running[0]!.mounts.some((m) => m.Destination.startsWith(s.home) || m.Source.startsWith(s.home)), "nothing of HOME is mounted");
  });
});

describe("images pinned by digest: scan and doctor report them, mismatches are refused", { skip: problem ?? false, timeout: 600_000 }, () => {
  let s: Scratch;
  let env: NodeJS.ProcessEnv;
  let image = "";
  let id = "";
  let served = "";
  const modules = join(ROOT, "node_modules");

  before(() => {
    s = scratch({});
    env = engineEnv();
    image = nodeImage("podman", env);
    id = imageId("podman", image, env);
    served = join(s.dir, "served");
    mkdirSync(served);
    const server = (img: string) => ({ command: NODE, args: [FILESYSTEM, served], sandbox: { type: "podman", image: img, filesystem: { allowRead: [modules, served], allowWrite: [] } } });
    // The user's settings file: `doctor` reads the settings files, not --settings.
    const userSettings = join(s.env.XDG_CONFIG_HOME as string, "mcp-warden", "settings.json");
    mkdirSync(dirname(userSettings), { recursive: true });
    writeFileSync(
      userSettings,
      JSON.stringify({
        mcpServers: {
          pinned: server(`${image}@${id}`),
          tagonly: server(image),
          mismatch: server(`${image}@${FOREIGN_DIGEST}`),
          absent: server(`localhost/mcp-warden-test-absent:1@${FOREIGN_DIGEST}`),
        },
        audit: { dir: s.auditDir },
        gateway: { logDir: s.logDir },
        approvals: { page: false },
      }),
    );
  });
  after(() => s?.cleanup());

  type ScanEntry = { name: string; status: string; reason?: string; image?: { image: string; pinned: boolean; id?: string; problem?: string } };
  const scan = (): ScanEntry[] => {
    const r = wardenCli(s, ["scan", "--json"], { timeoutMs: 300_000 });
    assert.ok(r.stdout.trim().startsWith("{"), r.stdout + r.stderr);
    return (JSON.parse(r.stdout) as { servers: ScanEntry[] }).servers;
  };
  const byName = (servers: ScanEntry[], name: string) => {
    const e = servers.find((x) => x.name === name);
    assert.ok(e, `${name} in ${JSON.stringify(servers)}`);
    return e;
  };

  it("scan runs the pinned and the tag-only server, shows each image's ID, and fails the mismatched and the absent pins", () => {
    const servers = scan();
    const pinned = byName(servers, "pinned");
    assert.equal(pinned.status, "ran", pinned.reason);
    assert.deepEqual(pinned.image && { pinned: pinned.image.pinned, id: pinned.image.id }, { pinned: true, id });
    const tag = byName(servers, "tagonly");
    assert.equal(tag.status, "ran", tag.reason);
    assert.deepEqual(tag.image && { pinned: tag.image.pinned, id: tag.image.id }, { pinned: false, id });
    const mismatch = byName(servers, "mismatch");
    assert.equal(mismatch.status, "failed");
    assert.match(mismatch.reason ?? "", new RegExp(`pinned to ${FOREIGN_DIGEST}, but the local .* is ${id}`));
    assert.match(mismatch.reason ?? "", /podman pull/);
    assert.equal(mismatch.image?.pinned, true);
    assert.equal(mismatch.image?.id, undefined);
    const absent = byName(servers, "absent");
    assert.equal(absent.status, "failed");
    assert.match(absent.reason ?? "", /not present in the local podman store/);
  });

  it("doctor lists every container server's image, pinned or not, and what it runs", () => {
    const r = wardenCli(s, ["doctor", "--json"], { timeoutMs: 120_000 });
    const report = JSON.parse(r.stdout) as { images: { subject: string; pinned: boolean; id?: string; problem?: string }[] };
    const of = (subject: string) => report.images.find((i) => i.subject === subject);
    assert.deepEqual({ pinned: of("server pinned")?.pinned, id: of("server pinned")?.id }, { pinned: true, id });
    assert.deepEqual({ pinned: of("server tagonly")?.pinned, id: of("server tagonly")?.id }, { pinned: false, id });
    assert.match(of("server mismatch")?.problem ?? "", /a different image/);
    const human = wardenCli(s, ["doctor"], { timeoutMs: 120_000 });
    assert.match(human.stdout, /server tagonly: podman image \S+: NOT pinned/);
    assert.match(human.stdout, new RegExp(`server pinned: podman image \\S+: pinned by digest; runs ${id}`));
  });

  it("with managed requireImageDigest, the tag-only server is refused and the pinned one still runs", () => {
    writeFileSync(join(s.dir, "managed", "managed-settings.json"), JSON.stringify({ requireImageDigest: true }));
    try {
      const servers = scan();
      const tag = byName(servers, "tagonly");
      assert.equal(tag.status, "blocked");
      assert.match(tag.reason ?? "", /requireImageDigest/);
      assert.match(tag.reason ?? "", /@sha256:<digest>/);
      assert.equal(byName(servers, "pinned").status, "ran");
    } finally {
      writeFileSync(join(s.dir, "managed", "managed-settings.json"), "{}");
    }
  });
});
