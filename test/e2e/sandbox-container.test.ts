// The docker and podman backends against a real engine: the hardening holds inside a running
// container, stdio carries MCP-style lines both ways, denied paths are hidden, and the reaper removes
// the container of a dead gateway. Every test skips, with the reason, when the engine does not
// answer; when only the engine's client is installed (no service), the client still checks that it
// accepts the argument list (docker parses and validates every option before it connects). When
// the engine answers but the image is neither present nor can be pulled (no network), the tests
// that need it skip, saying so.
// The image is alpine:3 unless MCP_WARDEN_TEST_IMAGE names another (it needs sh, id, ls, cat).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { containerBackend, engineEnvironment, type ContainerEngine } from "../../src/sandbox/container.js";
import { reapContainers } from "../../src/sandbox/reap-containers.js";
import type { LaunchSpec, SandboxLaunch, SandboxPolicy } from "../../src/sandbox/types.js";

const IMAGE = process.env.MCP_WARDEN_TEST_IMAGE ?? "alpine:3";

function run(launch: SandboxLaunch, input = "", timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/** Why the test image cannot be had (undefined: it is present, or was just pulled). */
function imageProblem(engine: ContainerEngine): string | undefined {
  const env = engineEnvironment();
  const present = () => spawnSync(engine, ["image", "inspect", IMAGE], { env, stdio: "ignore", timeout: 60_000 }).status === 0;
  if (present()) return undefined;
  const pull = spawnSync(engine, ["pull", "--quiet", IMAGE], { env, encoding: "utf8", timeout: 300_000, stdio: ["ignore", "pipe", "pipe"] });
  if (pull.status === 0 && present()) return undefined;
  const said = (pull.stderr ?? "").trim().split("\n").filter(Boolean).slice(-1)[0]?.slice(0, 300) ?? pull.error?.message ?? `exit ${pull.status}`;
  return `${engine} answers, but there is no ${IMAGE} image here and \`${engine} pull ${IMAGE}\` failed (${said}); pull it, or set MCP_WARDEN_TEST_IMAGE to a local image that has sh, id, ls and cat`;
}

for (const engine of ["docker", "podman"] as ContainerEngine[]) {
  const availability = containerBackend(engine).available();
  const clientOnly = !availability.ok && !/not installed/.test(availability.why);
  const skip = availability.ok ? (imageProblem(engine) ?? false) : `${engine} does not answer: ${availability.why} — ${availability.install}`;

  describe(`${engine} sandbox against the real engine`, { timeout: 600_000 }, () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), `warden-${engine}-`)));
    const readable = join(dir, "readable");
    const writable = join(dir, "writable");
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    before(() => {
      for (const d of [join(readable, "private"), join(writable, "frozen"), join(writable, "keys")]) mkdirSync(d, { recursive: true });
      writeFileSync(join(readable, "file.txt"), "visible");
      writeFileSync(join(readable, "secret.txt"), "SECRET-FILE");
      writeFileSync(join(readable, "private/k.txt"), "SECRET-DIR");
      writeFileSync(join(writable, "keys/id"), "SECRET-KEY");
      // The container's user is the gateway's own, or nobody when the tests run as root.
      for (const d of [writable, join(writable, "frozen")]) chmodSync(d, 0o777);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const policy = (): SandboxPolicy => ({
      type: engine,
      filesystem: { allowRead: [readable], denyRead: [join(readable, "secret.txt"), join(readable, "private")], allowWrite: [writable], denyWrite: [join(writable, "frozen")] },
      network: {},
      limits: { memory: "256m", pids: 64 },
      env: [],
      image: IMAGE,
    });
    const ctx = { home: dir, mandatoryDeny: [join(writable, "keys")] };
    const spec = (script: string, env: Record<string, string> = {}): LaunchSpec => ({ command: "sh", args: ["-c", script], env: { R: readable, W: writable, ...env }, cwd: writable });

    it("the engine's client accepts every argument it is given", { skip: clientOnly ? false : skip || "the engine answers: the tests below run it for real" }, () => {
      const launch = containerBackend(engine, { server: "e2e", removeOnCleanup: false }).wrap(spec("true"), policy(), ctx);
      const r = spawnSync(launch.command, launch.args, { env: launch.env, encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
      assert.notEqual(r.status, 0, "no service, so it cannot have run");
      assert.doesNotMatch(r.stderr, /unknown flag|unknown shorthand|invalid argument|flag needs an argument|invalid reference format|requires at least|invalid value/i, r.stderr);
    });

    it("runs read-only, unprivileged, without network and with only the server's environment", { skip }, async () => {
      process.env.WARDEN_E2E_CANARY = "host-only";
      const script = [
        'echo "uid=$(id -u)"',
        "touch /probe 2>/dev/null && echo rootfs=rw || echo rootfs=ro",
        "echo t > /tmp/t 2>/dev/null && echo tmp=rw || echo tmp=ro",
        'echo "read=$(cat "$R/file.txt")"',
        'echo "maskedfile=$(cat "$R/secret.txt" 2>&1)"',
        'echo "maskeddir=$(cat "$R/private/k.txt" 2>&1 | head -c 60)"',
        'echo "mandatory=$(cat "$W/keys/id" 2>&1 | head -c 60)"',
        'echo x > "$R/new" 2>/dev/null && echo readmount=rw || echo readmount=ro',
        'echo x > "$W/new" 2>/dev/null && echo writemount=rw || echo writemount=ro',
        'echo x > "$W/frozen/f" 2>/dev/null && echo frozen=rw || echo frozen=ro',
        'echo "pwd=$(pwd)"',
        'echo "ifaces=$(ls /sys/class/net | tr "\\n" " ")"',
        "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status",
        "echo ---env---",
        "env",
      ].join("\n");
      try {
        const launch = containerBackend(engine, { server: "e2e" }).wrap(spec(script, { SERVER_TOKEN: "mine" }), policy(), ctx);
        const r = await run(launch);
        launch.cleanup();
        assert.equal(r.code, 0, r.stderr);
        const [head = "", env = ""] = r.stdout.split("---env---\n");
        const has = (line: string) => assert.ok(head.split("\n").includes(line), `${line}\n---\n${head}\n${r.stderr}`);
        assert.doesNotMatch(head, /^uid=0$/m);
        for (const line of ["rootfs=ro", "tmp=rw", "read=visible", "maskedfile=", "readmount=ro", "writemount=rw", "frozen=ro", `pwd=${writable}`, "ifaces=lo ", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"]) has(line);
        assert.doesNotMatch(head, /SECRET/);
        assert.match(env, /^SERVER_TOKEN=mine$/m);
        assert.doesNotMatch(env, /host-only|WARDEN_E2E_CANARY/);
      } finally {
        delete process.env.WARDEN_E2E_CANARY;
      }
    });

    it("carries the server's stdin and stdout both ways, untouched", { skip }, async () => {
      const lines = `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize" })}\n${JSON.stringify({ jsonrpc: "2.0", method: "x", params: { s: "é \u0001" } })}\n`;
      const launch = containerBackend(engine, { server: "e2e" }).wrap({ command: "cat", args: [], env: {} }, policy(), ctx);
      const r = await run(launch, lines);
      launch.cleanup();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, lines);
    });

    it("reaps the container of a gateway that is gone, and keeps its own", { skip }, async () => {
      const orphan = containerBackend(engine, { server: "e2e-orphan", gatewayPid: deadPid, removeOnCleanup: false }).wrap(spec("sleep 300"), policy(), ctx);
      const mine = containerBackend(engine, { server: "e2e-mine", removeOnCleanup: false }).wrap(spec("sleep 300"), policy(), ctx);
      const clients = [orphan, mine].map((l) => spawn(l.command, l.args, { env: l.env, stdio: ["pipe", "ignore", "ignore"] }));
      const listed = (name: string) =>
        spawnSync(engine, ["ps", "-q", "--no-trunc", "--filter", `name=^${name}$`], { env: engineEnvironment(), encoding: "utf8" }).stdout.trim();
      try {
        let orphanId = "";
        for (let i = 0; i < 120 && (orphanId === "" || listed(mine.containerName) === ""); i++) {
          await new Promise((r) => setTimeout(r, 500));
          orphanId = listed(orphan.containerName);
        }
        assert.notEqual(orphanId, "", "the orphan started");
        const report = await reapContainers(engine);
        assert.equal(report.error, undefined);
        assert.ok(report.removed.includes(orphanId), JSON.stringify(report));
        assert.equal(listed(orphan.containerName), "");
        assert.notEqual(listed(mine.containerName), "", "this gateway's container is kept");
      } finally {
        for (const l of [orphan, mine]) spawnSync(engine, ["rm", "-f", l.containerName], { env: engineEnvironment(), stdio: "ignore" });
        for (const c of clients) c.kill("SIGKILL");
      }
    });
  });
}
