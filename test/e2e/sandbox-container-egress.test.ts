// The seed's first example in a container: a server limited to `api.company.internal` runs in a
// `--network none` container behind the real `mcp-warden run`, reaches that host through
// mcp-warden's egress proxy (the proxy's two named pipes in a directory bind-mounted into the
// container, the bridge on the container's own loopback; no Unix socket: the seccomp profile refuses
// them) and is refused another host; both decisions are in the audit log.
// For podman, podman with gVisor, a private dockerd, and that dockerd with gVisor. Also
// `mcp-warden exec` with a container profile, and the refusal of a docker gVisor runtime that was
// registered without --host-fifo=open or without --oci-seccomp.
//
// DNS is a hosts file only the gateway sees (it runs under bwrap with the whole host bound in and
// its own /etc/hosts): both names point at a 127.0.0.1 HTTP server, so nothing leaves the machine.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { busyboxImage, dockerdProblem, engineEnv, nodeImage, startDockerd, type PrivateDockerd, CONTAINER_VARIANTS, type ContainerVariant, variantProblem } from "./container-harness.js";
import { auditRecords, CLI, connect, ROOT, scratch, type Scratch } from "./harness.js";

const PROBE = join(ROOT, "dist/test/fixtures/exec-probe-server.js");
const bwrap = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };

let api: http.Server;
let port: number;
let dir: string;
let hosts: string;
let dockerd: PrivateDockerd | undefined;
let dockerdFailure: string | undefined;

before(async () => {
  api = http.createServer((req, res) => {
    const text = `hello-from-api ${req.headers.host} ${req.url}`;
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  });
  api.listen(0, "127.0.0.1");
  await once(api, "listening");
  port = (api.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), "warden-egress-"));
  hosts = join(dir, "hosts");
  writeFileSync(hosts, "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 api.company.internal\n127.0.0.1 denied.company.internal\n");
  if (dockerdProblem() === undefined) {
    try {
      dockerd = await startDockerd();
    } catch (e) {
      dockerdFailure = (e as Error).message;
    }
  }
});

after(async () => {
  api?.closeAllConnections();
  api?.close();
  await dockerd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The gateway, and exec, under bwrap with the private /etc/hosts. */
const wrap = () => ["bwrap", "--dev-bind", "/", "/", "--ro-bind", hosts, "/etc/hosts", "--die-with-parent", "--"];

type Variant = ContainerVariant;
const VARIANTS = CONTAINER_VARIANTS;

function problem(v: Variant): string | false {
  if (!bwrap.ok) return `bubblewrap unavailable (needed for the gateway's private /etc/hosts): ${bwrap.why}`;
  return variantProblem(v) ?? false;
}

/** The engine client's environment for a variant (docker: the private dockerd). */
function clientEnv(v: Variant): Record<string, string> {
  if (v.engine === "podman") return {};
  if (dockerd === undefined) throw new Error(`the private dockerd did not start: ${dockerdFailure ?? "unknown"}`);
  return { DOCKER_HOST: dockerd.env.DOCKER_HOST as string };
}

const text = (r: unknown) => ((r as { content?: { text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");

function withEnv(s: Scratch, extra: Record<string, string>): Scratch {
  Object.assign(s.env, extra);
  return s;
}

describe("a containerized server limited to api.company.internal, behind the gateway", { timeout: 900_000 }, () => {
  for (const v of VARIANTS) {
    it(`${v.label}: reaches the allowed host through the proxy, is refused the other, has only loopback, and both decisions are audited`, { skip: problem(v) }, async () => {
      const env = clientEnv(v);
      const image = nodeImage(v.engine, engineEnv(env));
      const runtime = v.gvisor ? "runsc" : undefined;
      const s = withEnv(
        scratch({
          permissions: { allow: ["mcp__corpapi"] },
          mcpServers: {
            corpapi: {
              command: "/usr/local/bin/node",
              args: [PROBE],
              sandbox: {
                type: v.engine,
                image,
                ...(runtime ? { runtime } : {}),
                filesystem: { allowRead: [join(ROOT, "dist"), join(ROOT, "node_modules"), join(ROOT, "package.json")] },
                // The seed's example; the address entry lets the name resolve to this test's loopback server.
                network: { allowedDomains: ["api.company.internal", "127.0.0.1/32"] },
              },
            },
          },
        }),
        env,
      );
      const c = await connect(s, { wrap: wrap() });
      try {
        const ok = await c.client.callTool({ name: "corpapi__fetch", arguments: { url: `http://api.company.internal:${port}/orders` } });
        assert.equal(text(ok), `ok: hello-from-api api.company.internal:${port} /orders`, c.stderr());
        const denied = await c.client.callTool({ name: "corpapi__fetch", arguments: { url: `http://denied.company.internal:${port}/` } });
        assert.match(text(denied), /^failed: 403 mcp-warden egress proxy: denied\.company\.internal:\d+ is not in allowedDomains/);
        // No interface but loopback: the proxy is the only way out.
        const ifaces = await c.client.callTool({ name: "corpapi__read_file", arguments: { path: "/proc/net/dev" } });
        const names = [...text(ifaces).matchAll(/^\s*([A-Za-z0-9_.-]+):\s*\d/gm)].map((m) => m[1]);
        assert.deepEqual(names, ["lo"], text(ifaces));
        // The channel's pipes were single-use: unlinked before the server started, so it finds neither.
        for (const pipe of ["to-bridge", "from-bridge"]) {
          const opened = text(await c.client.callTool({ name: "corpapi__read_file", arguments: { path: `/.mcp-warden-egress/${pipe}` } }));
          assert.match(opened, /^failed: .*ENOENT/, opened);
        }
        // The runtime asked for is the one that ran: gVisor's kernel is its own, runc's the host's.
        const version = text(await c.client.callTool({ name: "corpapi__read_file", arguments: { path: "/proc/version" } }));
        const hostVersion = `ok: ${readFileSync("/proc/version", "utf8")}`;
        if (v.gvisor) assert.notEqual(version, hostVersion, version);
        else assert.equal(version, hostVersion);
      } finally {
        await c.close();
      }
      try {
        // The gateway removed its container when it stopped.
        const left = () => spawnSync(v.engine, ["ps", "-aq", "--filter", "label=mcp-warden.server=corpapi"], { env: engineEnv(env), encoding: "utf8", timeout: 30_000 }).stdout.trim();
        for (let i = 0; i < 60 && left() !== ""; i++) await new Promise((r) => setTimeout(r, 500));
        assert.equal(left(), "", "no container is left behind");
        const records = auditRecords(s);
        const egress = records.filter((r) => r.event === "egress" && r.server === "corpapi");
        const allowed = egress.find((r) => r.decision === "allow");
        assert.deepEqual(allowed?.detail, { host: "api.company.internal", port, address: "127.0.0.1", protocol: "http" }, JSON.stringify(egress));
        const refused = egress.find((r) => r.decision === "deny");
        assert.deepEqual(refused?.detail, { host: "denied.company.internal", port, protocol: "http" }, JSON.stringify(egress));
        assert.match(String(refused?.reason), /not in allowedDomains/);
        const started = records.find((r) => r.kind === "server" && r.event === "started" && r.server === "corpapi");
        assert.equal((started?.detail as { sandbox?: string } | undefined)?.sandbox, v.engine);
      } finally {
        s.cleanup();
      }
    });
  }
});

/** `mcp-warden exec` under the private /etc/hosts; resolves with its status and output. */
function execCli(s: Scratch, settingsFile: string, command: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrap()[0] as string, [...wrap().slice(1), process.execPath, CLI, "exec", "--settings", settingsFile, "--profile", "box", "--", ...command], {
      cwd: s.project,
      env: s.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`exec did not finish in time; stderr: ${stderr}`));
    }, 120_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function profileSettings(s: Scratch, box: Record<string, unknown>): string {
  const file = join(s.dir, "exec-settings.json");
  writeFileSync(file, JSON.stringify({ audit: { dir: s.auditDir, fsyncIntervalMs: 0 }, sandboxProfiles: { box } }));
  return file;
}

describe("mcp-warden exec with a container profile and allowed domains", { timeout: 600_000 }, () => {
  const podman = VARIANTS[0] as Variant;
  it("podman: busybox wget reaches api.company.internal through the proxy and is refused denied.company.internal; both audited", { skip: problem(podman) }, async () => {
    const env = clientEnv(podman);
    const s = withEnv(scratch({}), env);
    try {
      const image = busyboxImage("podman", engineEnv(env));
      const file = profileSettings(s, { type: "podman", image, network: { allowedDomains: ["api.company.internal", "127.0.0.1/32"] } });
      const script = `wget -q -O- http://api.company.internal:${port}/exec; echo; wget -q -O- http://denied.company.internal:${port}/ 2>&1; echo "denied=$?"`;
      const r = await execCli(s, file, ["sh", "-c", script]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^hello-from-api api\\.company\\.internal:${port} /exec$`, "m"));
      assert.match(r.stdout, /403 Forbidden[\s\S]*denied=1/);
      const egress = auditRecords(s).filter((x) => x.event === "egress");
      assert.deepEqual(
        egress.map((x) => [x.server, x.decision, (x.detail as { host: string }).host]),
        [
          ["exec:sh", "allow", "api.company.internal"],
          ["exec:sh", "deny", "denied.company.internal"],
        ],
      );
    } finally {
      s.cleanup();
    }
  });

  const dockerGvisor = VARIANTS[3] as Variant;
  for (const [runtime, missing] of [
    ["runsc-no-fifo", "--host-fifo=open"],
    ["runsc-no-seccomp", "--oci-seccomp"],
  ] as const) {
    it(`docker: a gVisor runtime registered without ${missing} is refused before anything runs, saying what to add`, { skip: problem(dockerGvisor) }, async () => {
      const env = clientEnv(dockerGvisor);
      const s = withEnv(scratch({}), env);
      try {
        const image = busyboxImage("docker", engineEnv(env));
        const file = profileSettings(s, { type: "docker", image, runtime, network: { allowedDomains: ["api.company.internal"] } });
        const r = await execCli(s, file, ["sh", "-c", "echo ran"]);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.doesNotMatch(r.stdout, /ran/);
        // "-" and "=" are plain characters in a pattern.
        const said = `runtime "${runtime}" is gVisor .*without ${missing}.*Add "${missing}" to its "runtimeArgs"`;
        assert.match(r.stderr, new RegExp(said));
        const ps = spawnSync("docker", ["ps", "-aq", "--filter", "label=mcp-warden=1"], { env: engineEnv(env), encoding: "utf8" });
        assert.equal(ps.stdout.trim(), "", "no container was created");
      } finally {
        s.cleanup();
      }
    });
  }
});
