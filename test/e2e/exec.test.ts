// `mcp-warden exec`: a real command in the real bubblewrap sandbox, with the egress proxy judging its
// connections to a test server on 127.0.0.1.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backendAvailability } from "../../src/sandbox/launch.js";
import { auditRecords, CLI, scratch, type Scratch } from "./harness.js";

const available = process.platform === "linux" ? backendAvailability("bubblewrap") : { ok: false as const, why: "not Linux", install: "" };

describe("mcp-warden exec", { skip: available.ok ? false : `bubblewrap unavailable: ${available.why}` }, () => {
  let s: Scratch;
  let server: Server;
  let port = 0;
  before(async () => {
    s = scratch({});
    mkdirSync(join(s.home, ".ssh"), { recursive: true });
    writeFileSync(join(s.home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
    server = createServer((_req, res) => res.end("hello-from-host\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server?.close();
    s?.cleanup();
  });

  const exec = (args: string[], opts: { settings?: object; input?: string } = {}) => {
    const file = join(s.dir, `exec-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ audit: { dir: s.auditDir }, ...(opts.settings ?? {}) }));
    return spawnSync(process.execPath, [CLI, "exec", "--settings", file, "--", ...args], { cwd: s.project, env: s.env, input: opts.input ?? "", encoding: "utf8", timeout: 60_000 });
  };
  /** Like exec, without blocking this process: the test's HTTP server must keep answering meanwhile. */
  const execAsync = (args: string[], settings: object) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const file = join(s.dir, `exec-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({ audit: { dir: s.auditDir }, ...settings }));
      const child = spawn(process.execPath, [CLI, "exec", "--settings", file, "--", ...args], { cwd: s.project, env: s.env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  const fetchScript = (url: string) =>
    `require("http").get({ host: "127.0.0.1", port: 3128, path: ${JSON.stringify(url)} }, (r) => { process.stdout.write(String(r.statusCode) + " "); r.pipe(process.stdout); }).on("error", (e) => { console.log("ERR " + e.code); process.exit(3); })`;

  it("passes stdin, stdout and the exit status through", () => {
    const r = exec(["sh", "-c", "cat; echo done; exit 7"], { input: "from-stdin\n" });
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stdout, "from-stdin\ndone\n");
  });

  it("writes in the working directory, and the home directory's secrets are not there", () => {
    const r = exec(["sh", "-c", `echo made > out.txt; cat ${join(s.home, ".ssh", "id_rsa")} || echo hidden`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hidden/);
    assert.doesNotMatch(r.stdout, /PRIVATE KEY/);
    assert.equal(readFileSync(join(s.project, "out.txt"), "utf8"), "made\n");
  });

  it("has no network without a network policy: the host's loopback service is unreachable", () => {
    const r = exec(["node", "-e", `require("http").get("http://127.0.0.1:${port}/", (r) => r.pipe(process.stdout)).on("error", (e) => { console.log("ERR " + e.code); process.exit(3); })`]);
    assert.equal(r.status, 3, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /hello-from-host/);
  });

  it("reaches an allowed address through the egress proxy, and is refused an unlisted one", async () => {
    const settings = { sandbox: { network: { allowedDomains: ["127.0.0.1/32"] } } };
    const ok = await execAsync(["node", "-e", fetchScript(`http://127.0.0.1:${port}/`)], settings);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^200 hello-from-host/);
    const denied = await execAsync(["node", "-e", fetchScript(`http://example.com/`)], settings);
    assert.match(denied.stdout, /^403 /);
    const egress = auditRecords(s).filter((r) => r.event === "egress");
    assert.ok(egress.some((r) => r.decision === "allow"), "the allowed connection is audited");
    assert.ok(egress.some((r) => r.decision === "deny"), "the refused one too");
  });

  it("refuses a profile that does not exist, running nothing", () => {
    const file = join(s.dir, "profiles.json");
    writeFileSync(file, JSON.stringify({ audit: { dir: s.auditDir }, sandboxProfiles: { build: {} } }));
    const r = spawnSync(process.execPath, [CLI, "exec", "--settings", file, "--profile", "nope", "--", "touch", "never"], { cwd: s.project, env: s.env, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no sandbox profile named "nope"/);
    assert.ok(!existsSync(join(s.project, "never")));
  });
});
