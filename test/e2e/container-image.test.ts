// The product's container image (Dockerfile), built and run for real with podman and runc: a
// multi-stage build from a node base imported from this host (no registry), then `serve` as uid 1000
// on a read-only root filesystem with every capability dropped, answering /healthz, its RFC 9728
// document and (without a key) 401.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ROOT } from "./harness.js";
import { engineEnv, nodeBaseImage, podmanProblem } from "./container-harness.js";

// This host's podman needs runc (cgroup v1 hybrid) and explicit ulimits (its defaults fail with EPERM).
const HOST_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
const env = engineEnv();
const problem = podmanProblem();

/** Everything the Dockerfile copies, hashed: the image's tag, so an unchanged tree is not rebuilt. */
function contextHash(baseImage: string): string {
  const h = createHash("sha256").update(baseImage);
  const walk = (rel: string) => {
    const abs = join(ROOT, rel);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) walk(join(rel, name));
    } else {
      h.update(rel).update("\0").update(readFileSync(abs));
    }
  };
  for (const f of ["Dockerfile", ".dockerignore", "package.json", "package-lock.json", "tsconfig.json"]) walk(f);
  for (const d of ["schema", "scripts", "src", "test", "bench"]) walk(d);
  return h.digest("hex").slice(0, 16);
}

function podman(args: string[], timeout = 60_000) {
  return spawnSync("podman", args, { env, encoding: "utf8", timeout });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The status of a request naming `host` in its Host header (fetch does not let a caller set Host). */
function statusWithHost(port: number, method: string, path: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: { host, "content-type": "application/json" }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

/** Builds the image unless this exact tree was built before (the build is bounded to 4 minutes). */
function wardenImage(): string {
  const base = nodeBaseImage("podman", ROOT, env);
  const ref = `localhost/mcp-warden:test-${contextHash(base)}`;
  if (podman(["image", "inspect", ref]).status === 0) return ref;
  // --format docker: the OCI image format has no HEALTHCHECK.
  const r = podman(["build", ...HOST_FLAGS, "--format", "docker", "--build-arg", `BASE_IMAGE=${base}`, "-t", ref, ROOT], 240_000);
  assert.equal(r.status, 0, `podman build failed:\n${(r.stderr || r.error?.message || "").slice(-2000)}`);
  // Each changed tree is a new tag: drop the older test images (their layers are shared or stale).
  const older = podman(["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=localhost/mcp-warden:test-*"]);
  const stale = older.stdout.split("\n").filter((t) => t.startsWith("localhost/mcp-warden:test-") && t !== ref);
  if (stale.length > 0) podman(["rmi", ...stale]);
  return ref;
}

test("the image builds from a host-imported node base: uid 1000, HEALTHCHECK on /healthz, entrypoint cli.cjs serve, no npm or dev dependencies left", { skip: problem, timeout: 300_000 }, () => {
  const image = wardenImage();
  const inspect = podman(["image", "inspect", image]);
  assert.equal(inspect.status, 0, inspect.stderr);
  const image0 = (JSON.parse(inspect.stdout) as Array<{ Healthcheck?: { Test: string[] }; Config: { User: string; Entrypoint: string[]; Cmd: string[]; Healthcheck?: { Test: string[] } } }>)[0]!;
  const config = image0.Config;
  // podman shows a docker-format image's HEALTHCHECK beside Config, docker inside it.
  const healthcheck = image0.Healthcheck ?? config.Healthcheck;
  assert.equal(config.User, "1000:1000");
  assert.deepEqual(config.Entrypoint, ["node", "/app/dist/src/cli.cjs"]);
  assert.equal(config.Cmd[0], "serve");
  assert.match(healthcheck?.Test.join(" ") ?? "(none)", /\/healthz/);
  // What is in the final stage: node and the production tree; no npm, npx, npm cache or dev packages.
  const look = podman(["run", "--rm", ...HOST_FLAGS, "--entrypoint", "/bin/sh", image, "-c",
    "for p in /usr/local/bin/npm /usr/local/bin/npx /usr/local/lib/node_modules/npm /root/.npm /app/node_modules/typescript /app/node_modules/esbuild /app/src /app/dist/test; do [ -e $p ] && echo present: $p; done; [ -f /app/node_modules/zod/package.json ] && echo zod; [ -f /app/dist/src/cli.cjs ] && echo cli; node --version"]);
  assert.equal(look.status, 0, look.stderr);
  assert.doesNotMatch(look.stdout, /present:/);
  assert.match(look.stdout, /^zod$/m);
  assert.match(look.stdout, /^cli$/m);
  assert.match(look.stdout, /^v\d+\./m);
});

test("the image serves as uid 1000 with --read-only and --cap-drop ALL: /healthz ok, the HEALTHCHECK passes, RFC 9728 document, 401 without a key, a pod-address Host answered on /healthz but refused on /mcp, audit in the state volume", { skip: problem, timeout: 300_000 }, async () => {
  const image = wardenImage();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "warden-image-"));
  const name = `mcp-warden-image-test-${process.pid}`;
  try {
    const settings = join(dir, "settings.json");
    writeFileSync(settings, JSON.stringify({ remote: { resource: `http://127.0.0.1:${port}/mcp` } }));
    const key = spawnSync(process.execPath, [CLI, "keys", "create", "probe", "--settings", settings], { encoding: "utf8", env: { ...process.env, HOME: dir }, timeout: 30_000 });
    assert.equal(key.status, 0, key.stderr);
    // The container's uid 1000 reads the bind-mounted file.
    chmodSync(settings, 0o644);
    const run = podman(["run", "-d", "--name", name, ...HOST_FLAGS, "--read-only", "--user", "1000", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
      "-v", `${settings}:/config/settings.json:ro`, "-p", `127.0.0.1:${port}:8787`, image]);
    assert.equal(run.status, 0, `podman run failed: ${run.stderr}`);

    let health: Response | undefined;
    for (let i = 0; i < 120 && health?.status !== 200; i++) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (health?.status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    const logs = () => podman(["logs", name]).stderr;
    assert.equal(health?.status, 200, `no /healthz answer within 30 s; logs:\n${logs()}`);
    assert.equal(await health!.text(), "ok\n");

    // The kubelet names the pod's address in Host, which is no host the gateway serves: the health
    // paths answer anyway, the MCP endpoint does not (DNS rebinding protection stays).
    assert.equal(await statusWithHost(port, "GET", "/healthz", "10.1.2.3:8787"), 200);
    assert.equal(await statusWithHost(port, "POST", "/mcp", "10.1.2.3:8787"), 403);

    const check = podman(["healthcheck", "run", name]);
    assert.equal(check.status, 0, `HEALTHCHECK failed: ${check.stdout}${check.stderr}`);

    const prm = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource`);
    assert.equal(prm.status, 200);
    assert.equal(((await prm.json()) as { resource: string }).resource, `http://127.0.0.1:${port}/mcp`);
    const anonymous = await fetch(`http://127.0.0.1:${port}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(anonymous.status, 401);

    const inside = podman(["exec", name, "sh", "-c", "id -u; grep CapEff /proc/1/status; touch /app/x 2>&1; ls /var/lib/mcp-warden/state/mcp-warden/audit"]);
    assert.equal(inside.status, 0, inside.stderr);
    assert.match(inside.stdout, /^1000$/m);
    assert.match(inside.stdout, /CapEff:\s+0000000000000000/);
    assert.match(inside.stdout, /Read-only file system/);
    assert.match(inside.stdout, /audit-.*\.jsonl/);
  } finally {
    podman(["rm", "-f", "-v", name]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the image's base can be swapped: the Dockerfile takes BASE_IMAGE as a build argument", () => {
  // Offline check of the file the user edits nothing in: the official image is one --build-arg away.
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  assert.match(dockerfile, /^ARG BASE_IMAGE=mcp-warden-base\/node:20$/m);
  assert.equal(dockerfile.match(/^FROM \$\{BASE_IMAGE\}/gm)?.length, 2);
  assert.ok(existsSync(join(ROOT, "deploy/container/import-host-node.sh")));
});
