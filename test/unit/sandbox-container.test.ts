// The docker/podman backend's argument builder, its availability probe and the reaper of orphaned
// containers. No container engine runs here: the probe, cleanup and reaper tests use a fake engine,
// a small shell script on PATH that records its arguments and prints canned output. It is a real
// process started by the code under test, just not a real engine.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { containerBackend, DEFAULT_CONTAINER_LIMITS, ENGINE_CLIENT_ENV, type ContainerBackendOptions } from "../../src/sandbox/container.js";
import { reapContainers } from "../../src/sandbox/reap-containers.js";
import { SIMULATED_DOCKER_HOST as DOCKER_HOST, SIMULATED_PODMAN_HOST as PODMAN_HOST } from "./simulated-container-host.js";
import { forgetContainerHosts } from "../../src/sandbox/container-host.js";
import type { LaunchSpec, SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-ctr-")));
after(() => rmSync(root, { recursive: true, force: true }));

// A host tree: project/ (writable), data/ (readable) with secrets inside both.
const project = join(root, "project");
const data = join(root, "data");
for (const d of [project, join(project, ".git/hooks"), join(project, "keys"), data, join(data, "private")]) mkdirSync(d, { recursive: true });
writeFileSync(join(project, ".env"), "TOKEN=x");
writeFileSync(join(data, "notes.txt"), "n");
writeFileSync(join(data, "private/k"), "k");

const spec = (over: Partial<LaunchSpec> = {}): LaunchSpec => ({ command: "node", args: ["server.js"], env: { LOG_LEVEL: "debug" }, ...over });
const policy = (over: Partial<SandboxPolicy> = {}, fs: Partial<SandboxPolicy["filesystem"]> = {}): SandboxPolicy => ({
  type: "docker",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [], ...fs },
  network: {},
  limits: {},
  env: [],
  image: "node:22-slim",
  ...over,
});
const ctx = (over: Partial<SandboxContext> = {}): SandboxContext => ({ home: "/home/u", mandatoryDeny: [], ...over });
const backend = (opts: ContainerBackendOptions = {}) => containerBackend("docker", { server: "files", gatewayPid: 4242, hostname: "host-a", removeOnCleanup: false, host: DOCKER_HOST, ...opts });

/** The engine's own arguments: everything before `--`. */
function engineArgs(args: string[]): string[] {
  const i = args.indexOf("--");
  assert.ok(i > 0, "a -- separates the engine's options from the image");
  return args.slice(0, i);
}
const valuesOf = (args: string[], flag: string) => engineArgs(args).filter((a) => a.startsWith(`${flag}=`)).map((a) => a.slice(flag.length + 1));
const mounts = (args: string[]) => valuesOf(args, "--mount");

describe("container backend: hardening", () => {
  const { command, args } = backend().wrap(spec(), policy(), ctx());
  it("runs `<engine> run --rm -i`", () => {
    assert.equal(command, "docker");
    assert.deepEqual(args.slice(0, 3), ["run", "--rm", "-i"]);
  });
  it("has every hardening flag", () => {
    const e = engineArgs(args);
    for (const flag of ["--read-only", "--network=none", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--log-driver=none"]) assert.ok(e.includes(flag), flag);
    assert.equal(valuesOf(args, "--pids-limit").length, 1);
    assert.equal(valuesOf(args, "--tmpfs")[0]?.split(":")[0], "/tmp");
  });
  it("runs as a non-root user: the gateway's own, or nobody when the gateway is root", () => {
    const [user] = valuesOf(args, "--user");
    assert.match(user ?? "", /^\d+:\d+$/);
    assert.ok(!(user ?? "").split(":").includes("0"));
    if (process.getuid?.() === 0) assert.equal(user, "65534:65534");
    else assert.equal(user, `${process.getuid?.()}:${process.getgid?.()}`);
    assert.equal(valuesOf(backend({ user: "1000:1000" }).wrap(spec(), policy(), ctx()).args, "--user")[0], "1000:1000");
    assert.throws(() => backend({ user: "0:0" }).wrap(spec(), policy(), ctx()), /root/);
    assert.throws(() => backend({ user: "1000:0" }).wrap(spec(), policy(), ctx()), /root/);
    assert.throws(() => backend({ user: "root" }).wrap(spec(), policy(), ctx()), /numeric/);
  });
  it("adds --runtime only when the policy names one", () => {
    assert.deepEqual(valuesOf(args, "--runtime"), []);
    assert.deepEqual(valuesOf(backend().wrap(spec(), policy({ runtime: "runsc" }), ctx()).args, "--runtime"), ["runsc"]);
    assert.throws(() => backend().wrap(spec(), policy({ runtime: "-v" }), ctx()), /runtime/);
  });
  it("podman: keeps its own proxy and host environment out, and maps the user with --userns when asked", () => {
    const p = containerBackend("podman", { podmanUserns: "keep-id", podmanRemote: false, removeOnCleanup: false, host: PODMAN_HOST });
    const a = p.wrap(spec(), policy({ type: "podman" }), ctx()).args;
    assert.equal(p.type, "podman");
    for (const flag of ["--http-proxy=false", "--env-host=false", "--userns=keep-id", "--read-only", "--network=none"]) assert.ok(engineArgs(a).includes(flag), flag);
    const remote = containerBackend("podman", { podmanUserns: null, podmanRemote: true, removeOnCleanup: false, host: PODMAN_HOST }).wrap(spec(), policy({ type: "podman" }), ctx()).args;
    assert.ok(!remote.includes("--env-host=false"), "podman-remote has no --env-host flag");
    assert.ok(!remote.some((x) => x.startsWith("--userns")));
    assert.ok(remote.includes("--http-proxy=false"));
    // conmon drops an `oom` file into its working directory: never the gateway's.
    if (process.platform === "linux") assert.equal(p.wrap(spec(), policy({ type: "podman" }), ctx()).cwd, "/proc");
    assert.equal(backend().wrap(spec(), policy(), ctx()).cwd, undefined, "docker's client writes nothing");
  });
  it("refuses a policy meant for another backend", () => {
    assert.throws(() => backend().wrap(spec(), policy({ type: "podman" }), ctx()), /podman sandbox, not docker/);
  });
});

describe("container backend: limits", () => {
  it("defaults to 1 CPU, 2 GB and a pids limit, with no swap on top", () => {
    const { args } = backend().wrap(spec(), policy(), ctx());
    assert.deepEqual(valuesOf(args, "--cpus"), ["1"]);
    assert.deepEqual(valuesOf(args, "--memory"), ["2g"]);
    assert.deepEqual(valuesOf(args, "--memory-swap"), ["2g"]);
    assert.deepEqual(valuesOf(args, "--pids-limit"), [String(DEFAULT_CONTAINER_LIMITS.pids)]);
  });
  it("takes the policy's limits over the defaults, each on its own", () => {
    const { args } = backend().wrap(spec(), policy({ limits: { cpus: 0.5, memory: "512m", pids: 64 } }), ctx());
    assert.deepEqual(valuesOf(args, "--cpus"), ["0.5"]);
    assert.deepEqual(valuesOf(args, "--memory"), ["512m"]);
    assert.deepEqual(valuesOf(args, "--pids-limit"), ["64"]);
    const some = backend().wrap(spec(), policy({ limits: { memory: "1g" } }), ctx()).args;
    assert.deepEqual(valuesOf(some, "--cpus"), ["1"]);
    assert.deepEqual(valuesOf(some, "--memory"), ["1g"]);
  });
  it("refuses limits the engine would misread", () => {
    for (const limits of [{ cpus: 0 }, { cpus: -1 }, { cpus: Number.NaN }, { memory: "lots" }, { memory: "--privileged" }, { pids: 1.5 }, { pids: 0 }])
      assert.throws(() => backend().wrap(spec(), policy({ limits }), ctx()), /limits\./, JSON.stringify(limits));
  });
});

describe("container backend: files", () => {
  it("mounts allowRead read-only and allowWrite read-write, at the same paths", () => {
    const m = mounts(backend().wrap(spec(), policy({}, { allowRead: [data], allowWrite: [project] }), ctx()).args);
    assert.ok(m.includes(`type=bind,src=${data},dst=${data},readonly`), m.join("\n"));
    assert.ok(m.includes(`type=bind,src=${project},dst=${project}`), m.join("\n"));
  });
  it("podman: masks a denied directory with a tmpfs that copies nothing up from under it (podman's default would copy the hidden files in)", () => {
    const p = containerBackend("podman", { server: "files", gatewayPid: 4242, hostname: "host-a", removeOnCleanup: false, podmanUserns: null, host: PODMAN_HOST });
    const m = mounts(p.wrap(spec(), policy({ type: "podman" }, { allowRead: [data], denyRead: [join(data, "private")] }), ctx()).args);
    assert.ok(m.includes(`type=tmpfs,dst=${join(data, "private")},ro,tmpfs-mode=0,notmpcopyup`), m.join("\n"));
  });
  it("masks denied directories with an empty read-only tmpfs and denied files with /dev/null, in read-only and writable mounts", () => {
    const m = mounts(
      backend().wrap(spec(), policy({}, { allowRead: [data], allowWrite: [project], denyRead: [join(data, "private"), join(project, ".env")] }), ctx({ mandatoryDeny: [join(project, "keys")] })).args,
    );
    assert.ok(m.includes(`type=tmpfs,dst=${join(data, "private")},ro,tmpfs-mode=0`), m.join("\n"));
    assert.ok(m.includes(`type=bind,src=/dev/null,dst=${join(project, ".env")},readonly`), m.join("\n"));
    assert.ok(m.includes(`type=tmpfs,dst=${join(project, "keys")},ro,tmpfs-mode=0`), "mandatory denies are masked too");
  });
  it("re-mounts a denyWrite path inside a writable mount read-only over itself", () => {
    const m = mounts(backend().wrap(spec(), policy({}, { allowWrite: [project], denyWrite: [join(project, ".git/hooks")] }), ctx()).args);
    const hooks = join(project, ".git/hooks");
    assert.ok(m.includes(`type=bind,src=${hooks},dst=${hooks},readonly`), m.join("\n"));
  });
  it("pins every directory between a writable mount and a mask onto itself (a mount point cannot be renamed away), parents first", () => {
    const m = mounts(backend().wrap(spec(), policy({}, { allowWrite: [project], denyWrite: [join(project, ".git/hooks")] }), ctx()).args);
    const git = join(project, ".git");
    assert.ok(m.includes(`type=bind,src=${git},dst=${git}`), `the parent of the read-only hooks is pinned, writable:\n${m.join("\n")}`);
    assert.ok(m.indexOf(`type=bind,src=${git},dst=${git}`) < m.indexOf(`type=bind,src=${join(git, "hooks")},dst=${join(git, "hooks")},readonly`));
    assert.ok(!m.some((x) => x === `type=bind,src=${project},dst=${project},readonly`), "the writable mount itself stays writable");
    const ro = mounts(backend().wrap(spec(), policy({}, { allowRead: [project], denyWrite: [join(project, ".git/hooks")] }), ctx()).args);
    assert.ok(!ro.some((x) => x.startsWith(`type=bind,src=${git},`)), `nothing to pin in a read-only mount:\n${ro.join("\n")}`);
  });
  it("deny wins over an allow at or under it: not mounted, or mounted read-only", () => {
    const hidden = mounts(backend().wrap(spec(), policy({}, { allowRead: [join(data, "private"), data], denyRead: [data] }), ctx()).args);
    assert.deepEqual(hidden, [], "nothing under a denied path is mounted");
    const viaMandatory = mounts(backend().wrap(spec(), policy({}, { allowWrite: [join(project, "keys")] }), ctx({ mandatoryDeny: [project] })).args);
    assert.deepEqual(viaMandatory, []);
    const frozen = mounts(backend().wrap(spec(), policy({}, { allowWrite: [join(project, ".git")] }, ), ctx()).args);
    assert.ok(frozen.includes(`type=bind,src=${join(project, ".git")},dst=${join(project, ".git")}`));
    const ro = mounts(backend().wrap(spec(), policy({}, { allowWrite: [join(project, ".git")], denyWrite: [project] }), ctx()).args);
    assert.deepEqual(ro, [`type=bind,src=${join(project, ".git")},dst=${join(project, ".git")},readonly`]);
  });
  it("a path both readable and writable is mounted once, writable", () => {
    const m = mounts(backend().wrap(spec(), policy({}, { allowRead: [project], allowWrite: [project] }), ctx()).args);
    assert.deepEqual(m, [`type=bind,src=${project},dst=${project}`]);
  });
  it("refuses a denied path that does not exist inside a writable mount, and ignores it where nothing can be created", () => {
    assert.throws(
      () => backend().wrap(spec(), policy({}, { allowWrite: [project] }), ctx({ mandatoryDeny: [join(project, ".mcp-warden")] })),
      /does not exist.*writable mount.*Create it first, or narrow allowWrite/,
    );
    assert.throws(() => backend().wrap(spec(), policy({}, { allowWrite: [project], denyWrite: [join(project, "out")] }), ctx()), /denyWrite path/);
    const m = mounts(backend().wrap(spec(), policy({}, { allowRead: [data], allowWrite: [project] }), ctx({ mandatoryDeny: [join(data, "missing")] })).args);
    assert.equal(m.length, 2, "nothing to hide in a read-only mount");
    const inside = mounts(backend().wrap(spec(), policy({}, { allowWrite: [project], denyRead: [join(project, "keys")] }), ctx({ mandatoryDeny: [join(project, "keys/none")] })).args);
    assert.equal(inside.length, 2, "a missing path inside a masked directory is already hidden");
  });
  it("compares real paths: a symlinked allow is mounted from its target, and denies through it are masked", () => {
    const link = join(root, "link-to-data");
    if (!existsSync(link)) symlinkSync(data, link);
    const m = mounts(backend().wrap(spec(), policy({}, { allowRead: [link], denyRead: [join(data, "notes.txt")] }), ctx()).args);
    assert.ok(m.includes(`type=bind,src=${data},dst=${link},readonly`), m.join("\n"));
    assert.ok(m.includes(`type=bind,src=/dev/null,dst=${join(link, "notes.txt")},readonly`), m.join("\n"));
  });
  it("skips allowed paths that do not exist, and does not mount a tmpfs over an allowed /tmp", () => {
    assert.deepEqual(mounts(backend().wrap(spec(), policy({}, { allowRead: [join(root, "nope")] }), ctx()).args), []);
    const a = backend().wrap(spec(), policy({}, { allowWrite: ["/tmp"] }), ctx()).args;
    assert.deepEqual(valuesOf(a, "--tmpfs"), []);
  });
  it("refuses paths that cannot be written into a --mount value, relative paths and the whole file system", () => {
    for (const bad of [join(root, "a,b"), join(root, 'a"b'), join(root, "a\nb"), "relative/path"])
      assert.throws(() => backend().wrap(spec(), policy({}, { allowRead: [bad] }), ctx()), /container sandbox/, JSON.stringify(bad));
    assert.throws(() => backend().wrap(spec(), policy({}, { denyRead: [join(root, "x,type=bind,src=/")] }), ctx()), /comma/);
    assert.throws(() => backend().wrap(spec(), policy({}, { allowRead: ["/"] }), ctx()), /whole file system/);
  });
});

describe("container backend: environment", () => {
  it("passes exactly spec.env to the container, and nothing of the host's", () => {
    process.env.WARDEN_TEST_CANARY = "host-secret";
    try {
      const { args, env } = backend({ hostEnv: { ...process.env, PATH: "/usr/bin", DOCKER_HOST: "unix:///run/d.sock" } }).wrap(
        spec({ env: { LOG_LEVEL: "debug", MULTI: "a\nb", EQ: "x=y" } }),
        policy({ env: ["WARDEN_TEST_CANARY"] }),
        ctx(),
      );
      assert.deepEqual(valuesOf(args, "--env"), ["LOG_LEVEL=debug", "MULTI=a\nb", "EQ=x=y"]);
      assert.ok(!args.some((a) => a.includes("host-secret")), "no host variable in the arguments");
      assert.ok(!Object.values(env).includes("host-secret"), "nor in the engine client's environment");
      assert.ok(Object.keys(env).every((k) => ENGINE_CLIENT_ENV.includes(k)), Object.keys(env).join());
      assert.equal(env.DOCKER_HOST, "unix:///run/d.sock");
      assert.ok(!("LOG_LEVEL" in env), "the server's variables do not configure the engine client");
    } finally {
      delete process.env.WARDEN_TEST_CANARY;
    }
  });
  it("refuses names the engine would misread", () => {
    assert.throws(() => backend().wrap(spec({ env: { "A=B": "1" } }), policy(), ctx()), /variable name/);
    assert.throws(() => backend().wrap(spec({ env: { "": "1" } }), policy(), ctx()), /variable name/);
  });
  it("sets the working directory", () => {
    assert.deepEqual(valuesOf(backend().wrap(spec({ cwd: project }), policy(), ctx()).args, "--workdir"), [project]);
    assert.throws(() => backend().wrap(spec({ cwd: "rel" }), policy(), ctx()), /working directory/);
  });
});

describe("container backend: image, network, labels and argument order", () => {
  it("refuses to start without an image, and refuses an image that looks like an option", () => {
    const { image: _, ...noImage } = policy();
    assert.throws(() => backend().wrap(spec(), noImage as SandboxPolicy, ctx()), /no image.*sandbox\.image/);
    assert.throws(() => backend().wrap(spec(), policy({ image: "" }), ctx()), /no image/);
    assert.throws(() => backend().wrap(spec(), policy({ image: "--privileged" }), ctx()), /not a valid image/);
    assert.throws(() => backend().wrap(spec(), policy({ image: "alpine latest" }), ctx()), /not a valid image/);
  });
  it("refuses network allowances when no egress channel was prepared, and allowUnixSockets always, with the reason", () => {
    for (const network of [{ allowedDomains: ["github.com"] }, { allowLocalhost: true }])
      assert.throws(() => backend().wrap(spec(), policy({ network }), ctx()), /no egress proxy channel was prepared.*Start it through mcp-warden/, JSON.stringify(network));
    const sockets = { allowUnixSockets: ["/var/run/x.sock"] } as SandboxPolicy["network"];
    assert.throws(() => backend().wrap(spec(), policy({ network: sockets }), ctx()), /allowUnixSockets is not available for containers/);
    const denyOnly = backend().wrap(spec(), policy({ network: { deniedDomains: ["evil.example"] } }), ctx());
    assert.ok(denyOnly.args.includes("--network=none"));
  });
  it("keeps --network none and passes no descriptor when the egress bridge is set up", () => {
    const l = backend().wrap(spec(), policy(), ctx({ egressFd: 3, bridge: { node: "/usr/bin/node", script: "/x/bridge-main.js", port: 3128 } }));
    assert.ok(engineArgs(l.args).includes("--network=none"));
    assert.deepEqual(l.extraFds, []);
  });
  it("labels the container and names it uniquely", () => {
    const a = backend().wrap(spec(), policy(), ctx());
    const b = backend().wrap(spec(), policy(), ctx());
    assert.deepEqual(valuesOf(a.args, "--label"), ["mcp-warden=1", "mcp-warden.gateway-pid=4242", "mcp-warden.gateway-host=host-a", "mcp-warden.server=files"]);
    assert.match(a.containerName, /^mcp-warden-files-4242-[0-9a-f]{8}$/);
    assert.deepEqual(valuesOf(a.args, "--name"), [a.containerName]);
    assert.notEqual(a.containerName, b.containerName);
    const named = backend().wrap(spec(), policy(), { ...ctx(), server: "my server/1" });
    assert.ok(valuesOf(named.args, "--label").includes("mcp-warden.server=my server/1"), "the context's server name wins");
    assert.match(named.containerName, /^mcp-warden-my_server_1-4242-/);
    const defaults = containerBackend("docker", { removeOnCleanup: false, host: DOCKER_HOST }).wrap(spec(), policy(), ctx());
    assert.ok(valuesOf(defaults.args, "--label").includes(`mcp-warden.gateway-pid=${process.pid}`));
    assert.ok(valuesOf(defaults.args, "--label").includes(`mcp-warden.gateway-host=${hostname()}`));
    assert.throws(() => backend().wrap(spec(), policy(), { ...ctx(), server: "a\nb" }), /control character/);
  });
  it("puts the image right after --, then the command, and nothing after the command is an engine option", () => {
    const hostile = ["--privileged", "-v", "/:/host", "--network=host", "--", "-e"];
    const { args } = backend().wrap(spec({ command: "--rm", args: hostile }), policy(), ctx());
    const sep = args.indexOf("--");
    assert.equal(args[sep + 1], "node:22-slim");
    assert.deepEqual(args.slice(sep + 2), ["--rm", ...hostile]);
    assert.ok(!engineArgs(args).includes("--privileged"));
    assert.ok(engineArgs(args).every((a, i) => i === 0 || a.startsWith("-")), "every engine argument before -- is a flag in one piece");
    assert.throws(() => backend().wrap(spec({ command: "" }), policy(), ctx()), /no command/);
  });
});

// ---------------------------------------------------------------------------------------------
// The fake engine: a real shell script (a real process), not a container engine.

const fakeDir = join(root, "fake-bin");
const fakeLog = join(root, "fake-engine.log");
const fakeReply = join(root, "fake-engine.reply");
mkdirSync(fakeDir, { recursive: true });
/** Writes the fake `docker`: it records its arguments (one call a line, \x1f-separated) and replays. */
function fakeEngine(body: string): string {
  const file = join(fakeDir, "docker");
  writeFileSync(
    file,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\037' "$a" >> '${fakeLog}'; done\nprintf '\\n' >> '${fakeLog}'\n${body}\n`,
  );
  chmodSync(file, 0o755);
  rmSync(fakeLog, { force: true });
  return file;
}
const calls = (): string[][] =>
  existsSync(fakeLog)
    ? readFileSync(fakeLog, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("\x1f").slice(0, -1))
    : [];
const fakeEnv = { PATH: `${fakeDir}:/usr/bin:/bin` };

describe("container backend: available()", () => {
  // No simulated host here: available() asks the (stand-in) engine.
  const probing = (opts: ContainerBackendOptions = {}) => containerBackend("docker", { removeOnCleanup: false, ...opts });
  it("is ok when `<engine> info` answers, with one probe that also tells what the engine can do", () => {
    fakeEngine(`echo '{"ServerVersion":"28.2.2","CgroupVersion":"2","MemoryLimit":true,"CpuCfsQuota":true,"PidsLimit":true,"Runtimes":{"runc":{}}}'`);
    forgetContainerHosts();
    assert.deepEqual(probing({ hostEnv: fakeEnv }).available(), { ok: true });
    assert.deepEqual(calls(), [["info", "--format", "{{json .}}"]]);
    assert.deepEqual(probing({ hostEnv: fakeEnv }).available(), { ok: true });
    assert.equal(calls().length, 1, "asked once per process");
    forgetContainerHosts();
  });
  it("says the service does not answer, and how to start it, when info fails", () => {
    fakeEngine(`echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1`);
    forgetContainerHosts();
    const a = probing({ hostEnv: fakeEnv }).available();
    assert.equal(a.ok, false);
    if (!a.ok) {
      assert.match(a.why, /does not answer.*Cannot connect/);
      assert.match(a.install, /systemctl start docker|Docker Desktop/);
    }
  });
  it("says what to install when the engine is missing", () => {
    const a = probing({ hostEnv: { PATH: join(root, "empty") } }).available();
    assert.equal(a.ok, false);
    if (!a.ok) {
      assert.match(a.why, /not installed/);
      assert.match(a.install, /docs\.docker\.com/);
    }
    const p = containerBackend("podman", { hostEnv: { PATH: join(root, "empty") } }).available();
    assert.ok(!p.ok && /podman\.io/.test(p.install));
  });
  it("gives up after its timeout", () => {
    fakeEngine(`exec sleep 5`);
    forgetContainerHosts();
    const started = Date.now();
    const a = probing({ hostEnv: fakeEnv, infoTimeoutMs: 300 }).available();
    assert.ok(Date.now() - started < 3000);
    assert.ok(!a.ok && /did not answer within 300 ms/.test(a.why));
  });
});

describe("container backend: cleanup", () => {
  it("force-removes the container once, however often it is called", async () => {
    fakeEngine(`exit 0`);
    const l = containerBackend("docker", { hostEnv: fakeEnv, server: "s", host: DOCKER_HOST }).wrap(spec(), policy(), ctx());
    l.cleanup();
    l.cleanup();
    for (let i = 0; i < 100 && calls().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(calls(), [["rm", "-f", l.containerName]]);
  });
});

describe("reapContainers", () => {
  const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
  const reaperEngine = (psOutput: string, rmBody = `shift; shift; for id in "$@"; do echo "$id"; done`) => {
    writeFileSync(fakeReply, psOutput);
    fakeEngine(`case "$1" in ps) cat '${fakeReply}' ;; rm) ${rmBody} ;; esac`);
  };

  it("lists labelled containers and force-removes those whose gateway on this host is dead", async () => {
    reaperEngine(
      [
        `aaa111 ${deadPid} host-a`,
        `bbb222 ${process.pid} host-a`,
        `ccc333 ${process.ppid} host-a`,
        `ddd444 ${deadPid} host-b`,
        `eee555  `,
        `fff666 not-a-pid host-a`,
        `ggg777 ${deadPid}`,
        `bad;id ${deadPid} host-a`,
        `hhh888 ${deadPid} host-a`,
        "",
      ].join("\n"),
    );
    const r = await reapContainers("docker", { env: fakeEnv, hostname: "host-a" });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.removed, ["aaa111", "hhh888"]);
    assert.deepEqual(r.alive, ["bbb222", "ccc333"]);
    assert.deepEqual(r.skipped, ["ddd444", "eee555", "fff666", "ggg777", `bad;id ${deadPid} host-a`]);
    const [ps, rm] = calls();
    assert.deepEqual(ps, ["ps", "--all", "--no-trunc", "--filter", "label=mcp-warden=1", "--format", '{{.ID}} {{.Label "mcp-warden.gateway-pid"}} {{.Label "mcp-warden.gateway-host"}}']);
    assert.deepEqual(rm, ["rm", "--force", "aaa111", "hhh888"]);
  });
  it("removes nothing when every gateway is alive", async () => {
    reaperEngine(`bbb222 ${process.pid} host-a\n`);
    const r = await reapContainers("docker", { env: fakeEnv, hostname: "host-a", isAlive: () => false });
    assert.deepEqual(r, { removed: [], alive: ["bbb222"], skipped: [] }, "its own containers are kept whatever isAlive says");
    assert.equal(calls().length, 1);
  });
  it("uses the given liveness check", async () => {
    reaperEngine(`aaa111 77777 host-a\n`);
    const r = await reapContainers("docker", { env: fakeEnv, hostname: "host-a", isAlive: (pid) => pid !== 77777 });
    assert.deepEqual(r.removed, ["aaa111"]);
  });
  it("reports failures instead of throwing", async () => {
    fakeEngine(`echo 'permission denied while trying to connect' >&2; exit 1`);
    const listed = await reapContainers("docker", { env: fakeEnv, hostname: "host-a" });
    assert.match(listed.error ?? "", /listing docker containers failed: permission denied/);
    reaperEngine(`aaa111 ${deadPid} host-a\n`, `echo 'Error: removal in progress' >&2; exit 1`);
    const removing = await reapContainers("docker", { env: fakeEnv, hostname: "host-a" });
    assert.match(removing.error ?? "", /removing docker containers failed: Error: removal in progress/);
    assert.deepEqual(removing.removed, []);
    const missing = await reapContainers("podman", { env: { PATH: join(root, "empty") } });
    assert.match(missing.error ?? "", /`podman` not found/);
  });
});
