// `mcp-warden doctor` reports each container server: the engine as detected here (real podman), the
// runtime it runs under and each limit enforced or not; a server that would be refused (a pids
// limit gVisor cannot honour; a docker daemon that does not answer) is a FAIL line and a problem.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { ROOT } from "./harness.js";
import { podmanProblem, runscProblem } from "./container-harness.js";

const root = mkdtempSync(join(tmpdir(), "warden-doctor-ctr-"));
after(() => rmSync(root, { recursive: true, force: true }));

const skip = podmanProblem() ?? runscProblem() ?? false;

test("doctor: a line per container server with engine, runtime and limits; refusals are problems", { skip }, () => {
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(project, { recursive: true });
  const settings = join(home, ".config/mcp-warden/settings.json");
  mkdirSync(dirname(settings), { recursive: true });
  writeFileSync(
    settings,
    JSON.stringify({
      mcpServers: {
        plain: { command: "node", args: ["s.js"], sandbox: { type: "podman", image: "node:22-slim", limits: { memory: "256m" } } },
        gvisor: { command: "node", args: ["s.js"], sandbox: { type: "podman", image: "node:22-slim", runtime: "runsc", limits: { pids: 64 } } },
        nodaemon: { command: "node", args: ["s.js"], sandbox: { type: "docker", image: "node:22-slim" } },
      },
    }),
  );
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_STATE_HOME: join(home, ".state"), MCP_WARDEN_MANAGED_DIR: join(root, "managed"), DOCKER_HOST: `unix://${join(root, "no-daemon.sock")}` };
  const r = spawnSync(process.execPath, [join(ROOT, "dist/src/cli.cjs"), "doctor", "--json"], { cwd: project, env, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const j = JSON.parse(r.stdout);
  const by = Object.fromEntries(j.containers.map((c: { server: string }) => [c.server, c]));
  assert.equal(by.plain.ok, true, JSON.stringify(by.plain));
  assert.match(by.plain.host, /^podman \((rootful|rootless), cgroup (v1|hybrid|v2), runtime /);
  assert.deepEqual(
    by.plain.limits.map((l: { name: string; value: string; explicit: boolean }) => [l.name, l.value, l.explicit]),
    [
      ["memory", "256m", true],
      ["cpus", "1", false],
      ["pids", "512", false],
    ],
  );
  if (process.getuid?.() === 0) assert.ok(by.plain.limits.every((l: { enforced: boolean }) => l.enforced), "rootful podman enforces every limit here");
  assert.equal(by.gvisor.ok, false);
  assert.match(by.gvisor.problem, /limits\.pids is 64.*gVisor.*256 or more/);
  assert.equal(by.nodaemon.ok, false);
  assert.match(by.nodaemon.problem, /docker info.*failed|did not answer/);
  assert.ok(j.problems.some((p: string) => /server 'gvisor' would not start in its podman container/.test(p)));

  const text = spawnSync(process.execPath, [join(ROOT, "dist/src/cli.cjs"), "doctor"], { cwd: project, env, encoding: "utf8", timeout: 60_000 });
  assert.match(text.stdout, /container servers\n/);
  assert.match(text.stdout, /ok {4}plain: podman \(.*\), runs under .*; limits: memory 256m enforced; cpus 1 \(default\) enforced; pids 512 \(default\) enforced/);
  assert.match(text.stdout, /FAIL {2}gvisor: podman .*will not start: limits\.pids is 64/);
});
