// `mcp-warden pins list | reset` over the three kinds of pins (tools, prompts, resource templates).
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { filePinStore } from "../../src/adapters/pin-store.js";
import { pinFile, pinsCommand } from "../../src/cli/pins.js";
import { makePin, serverIdentity } from "../../src/policy/integrity/pins.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(action: "list" | "reset", opts: { server?: string; tool?: string; json?: boolean }, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = "";
  let e = "";
  out.on("data", (d) => (o += String(d)));
  err.on("data", (d) => (e += String(d)));
  const code = await pinsCommand(action, { ...opts, env }, out, err);
  return { code, out: o, err: e };
}

test("pins list shows prompt and template pins beside tool pins; reset SERVER NAME forgets every pin of that name", async () => {
  const home = mkdtempSync(join(tmpdir(), "warden-cli-pins-"));
  dirs.push(home);
  const env = { HOME: home, XDG_STATE_HOME: join(home, "state") };
  const store = filePinStore(pinFile(env));
  const identity = serverIdentity({ name: "gh", layer: "user", entry: { command: "node", args: ["gh.js"] } });
  await store.approveServer(identity, "gh");
  await store.pinTools(identity.digest, [makePin("tools", { name: "create_issue" }), makePin("tools", { name: "triage" })]);
  await store.pinItems(identity.digest, "prompts", [makePin("prompts", { name: "triage" })]);
  await store.pinItems(identity.digest, "resourceTemplates", [makePin("resourceTemplates", { name: "file", uriTemplate: "repo://{path}" })]);

  const listed = await run("list", {}, env);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, /^ {2}create_issue {2}sha256:/m);
  assert.match(listed.out, /^ {2}prompt triage {2}sha256:/m);
  assert.match(listed.out, /^ {2}template file {2}sha256:/m);
  const json = JSON.parse((await run("list", { json: true }, env)).out) as { servers: { prompts: Record<string, unknown>; resourceTemplates: Record<string, unknown> }[] };
  assert.deepEqual(Object.keys(json.servers[0]!.prompts), ["triage"]);
  assert.deepEqual(Object.keys(json.servers[0]!.resourceTemplates), ["file"]);

  const reset = await run("reset", { server: "gh", tool: "triage" }, env);
  assert.equal(reset.code, 0, reset.err);
  const after = (await filePinStore(pinFile(env)).getServer(identity.digest))!;
  assert.deepEqual(Object.keys(after.tools), ["create_issue"]);
  assert.deepEqual(Object.keys(after.prompts), []);
  assert.deepEqual(Object.keys(after.resourceTemplates), ["file"]);
});
