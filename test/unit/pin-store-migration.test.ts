// The pin file version 2 and the migration from version 1, with real files (and real processes for
// the race): a version 1 file is read as it is and written back as version 2; adoptLegacy copies a
// version 1 approval under a version 2 identity only under its rules; prompts and resource templates
// have their own pins.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filePinStore, PinStoreError } from "../../src/adapters/pin-store.js";
import { judgeToolDefinition } from "../../src/policy/integrity/definitions.js";
import { legacyServerIdentity, makePin, serverIdentity, type ServerEntryLike } from "../../src/policy/integrity/pins.js";
import type { LayerName } from "../../src/policy/types.js";

const STORE_URL = new URL("../../src/adapters/pin-store.js", import.meta.url).href;
const PINS_URL = new URL("../../src/policy/integrity/pins.js", import.meta.url).href;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const entry: ServerEntryLike = { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] };
const LEGACY = "sha256:f0468b6bc16c7d51e3703d63fb86effe7b327c1ad0f5dac60e00298ea87082d1";

/** A pin file exactly as the version before this one wrote it (captured from its filePinStore). */
function v1File(approvedBy = "first use"): string {
  return `{
  "version": 1,
  "servers": {
    "${LEGACY}": {
      "identity": {
        "kind": "stdio",
        "command": "npx",
        "args": [
          "-y",
          "@modelcontextprotocol/server-github"
        ],
        "digest": "${LEGACY}"
      },
      "serverName": "github",
      "approvedAt": "2025-06-01T00:00:00.000Z",
      "approvedBy": "${approvedBy}",
      "tools": {
        "create_issue": {
          "name": "create_issue",
          "digest": "sha256:9ff259a12a276fb23b4b4f427d159bcae80260d84a7dfa89eca072f15293d6c1",
          "definition": {
            "description": "Create an issue",
            "inputSchema": {
              "properties": {
                "title": {
                  "type": "string"
                }
              },
              "required": [
                "title"
              ],
              "type": "object"
            },
            "name": "create_issue"
          },
          "approvedAt": "2025-06-01T00:00:00.000Z",
          "approvedBy": "first use"
        }
      }
    }
  }
}
`;
}
const createIssue = { name: "create_issue", description: "Create an issue", inputSchema: { type: "object", properties: { title: { type: "string" } }, required: ["title"] } };

function withV1File(approvedBy?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "warden-pins-v1-"));
  dirs.push(dir);
  const file = join(dir, "pins.json");
  writeFileSync(file, v1File(approvedBy), { mode: 0o600 });
  return file;
}

const v2 = (name = "github", layer: LayerName = "user", e: ServerEntryLike = entry) => serverIdentity({ name, layer, entry: e });

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof PinStoreError && e.code === code && (!message || message.test(e.message)));
}

describe("a version 1 pin file", () => {
  test("the fixture is what version 1 recorded for this entry", () => {
    assert.equal(legacyServerIdentity(entry).digest, LEGACY);
  });

  test("is read as it is: a version 1 identity, its tools as version 1 pins, no prompts or templates", async () => {
    const store = filePinStore(withV1File());
    const record = (await store.getServer(LEGACY))!;
    assert.ok(record);
    assert.deepEqual(record.identity, legacyServerIdentity(entry));
    assert.equal(record.tools.create_issue!.version, 1);
    assert.deepEqual({ ...record.prompts }, {});
    assert.deepEqual({ ...record.resourceTemplates }, {});
    // The old pin still vouches for the fields it covered: the tool is exposed and re-pinned whole.
    const v = judgeToolDefinition({ ...createIssue, _meta: { "vendor/x": 1 } }, record.tools.create_issue, { trustPinned: true });
    assert.deepEqual([v.decision, v.pinStatus, v.repin], ["allow", "upgrade", true]);
  });

  test("is written back as version 2 at the next change, its version 1 records unchanged (pins marked version 1)", async () => {
    const file = withV1File();
    const store = filePinStore(file);
    const before = await store.getServer(LEGACY);
    await store.approveServer(v2("other"), "other");
    const data = JSON.parse(readFileSync(file, "utf8")) as { version: number; servers: Record<string, { tools: Record<string, { version?: number }>; prompts: object }> };
    assert.equal(data.version, 2);
    assert.equal(data.servers[LEGACY]!.tools.create_issue!.version, 1);
    assert.deepEqual(data.servers[LEGACY]!.prompts, {});
    assert.deepEqual(await filePinStore(file).getServer(LEGACY), before);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test("a version 1 tool pin is upgraded in place by pinning the tool again as version 2", async () => {
    const file = withV1File();
    const store = filePinStore(file);
    await store.pinTools(LEGACY, [makePin("tools", { ...createIssue, _meta: { "vendor/x": 1 } }, { approvedBy: "first use" })]);
    const pin = (await filePinStore(file).getServer(LEGACY))!.tools.create_issue!;
    assert.equal(pin.version, 2);
    assert.deepEqual(pin.definition._meta, { "vendor/x": 1 });
  });
});

describe("adoptLegacy", () => {
  test("copies the version 1 record (tool pins, approvedBy) under the new identity, notes the migration, keeps the old record", async () => {
    const file = withV1File();
    const store = filePinStore(file);
    const identity = v2();
    const adopted = await store.adoptLegacy(identity, LEGACY);
    assert.ok(adopted);
    assert.deepEqual(adopted.identity, identity);
    assert.equal(adopted.approvedBy, "first use");
    assert.equal(adopted.approvedAt, "2025-06-01T00:00:00.000Z");
    assert.equal(adopted.note, "migrated");
    assert.equal(adopted.migratedFrom, LEGACY);
    assert.deepEqual(Object.keys(adopted.tools), ["create_issue"]);
    const fresh = filePinStore(file);
    assert.deepEqual(await fresh.getServer(identity.digest), adopted);
    assert.ok(await fresh.getServer(LEGACY), "the old record stays");
    assert.equal(await store.adoptLegacy(identity, LEGACY), undefined, "once a record exists for the new identity, nothing is copied again");
  });

  test("refused: another server name, a code-changing variable set, a legacy digest that is unknown or not version 1", async () => {
    const file = withV1File();
    const store = filePinStore(file);
    const text = readFileSync(file, "utf8");
    assert.equal(await store.adoptLegacy(v2("github-copy"), LEGACY), undefined, "the same command line under another name");
    for (const env of [{ NODE_OPTIONS: "--require ./x.js" }, { LD_PRELOAD: "/tmp/x.so" }, { PATH: "/tmp/bin:/usr/bin" }] as Record<string, string>[])
      assert.equal(await store.adoptLegacy(v2("github", "user", { ...entry, env }), LEGACY), undefined, JSON.stringify(env));
    assert.equal(await store.adoptLegacy(v2(), `sha256:${"0".repeat(64)}`), undefined);
    assert.equal(readFileSync(file, "utf8"), text, "nothing written");
    // A version 2 record under the legacy digest argument is not a version 1 approval.
    const other = v2("github", "cli");
    await store.approveServer(other, "github");
    assert.equal(await store.adoptLegacy(v2(), other.digest), undefined);
    // A non-secret env NAME is fine: version 1 never covered env, and no code-changing value is set.
    assert.ok(await store.adoptLegacy(v2("github", "user", { ...entry, env: { GITHUB_TOKEN: "ghp_x" } }), LEGACY));
  });

  test("a project or local server adopts only an approval a person gave, never one given on first use", async () => {
    const firstUse = filePinStore(withV1File("first use"));
    assert.equal(await firstUse.adoptLegacy(v2("github", "project"), LEGACY), undefined);
    assert.equal(await firstUse.adoptLegacy(v2("github", "local"), LEGACY), undefined);
    const approved = filePinStore(withV1File("approval"));
    assert.equal((await approved.adoptLegacy(v2("github", "project"), LEGACY))?.approvedBy, "approval");
  });

  test("bad arguments are refused", async () => {
    const store = filePinStore(withV1File());
    await rejectsWith(store.adoptLegacy(legacyServerIdentity(entry) as never, LEGACY), "invalid-argument", /version 2 identity/);
    await rejectsWith(store.adoptLegacy({ ...v2(), layer: "managed" }, LEGACY), "invalid-argument", /digest does not match/);
    await rejectsWith(store.adoptLegacy(v2(), "not-a-digest"), "invalid-argument", /sha256/);
  });

  test("gateways in several processes adopting at once: exactly one copies (the decision is made under the lock)", async () => {
    const file = withV1File();
    const script = `
      const { filePinStore } = await import(process.argv[1]);
      const { serverIdentity } = await import(process.argv[2]);
      const store = filePinStore(process.argv[3], { lockWaitMs: 30000 });
      const identity = serverIdentity({ name: "github", layer: "user", entry: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] } });
      process.stdout.write("ready\\n");
      await new Promise((r) => process.stdin.once("data", r));
      const adopted = await store.adoptLegacy(identity, process.argv[4]);
      process.stdout.write(adopted ? "adopted\\n" : "none\\n");
      process.exit(0);`;
    const children = Array.from({ length: 4 }, () => {
      const proc = spawn(process.execPath, ["--input-type=module", "-e", script, "--", STORE_URL, PINS_URL, file, LEGACY], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      proc.stdout.on("data", (d) => (out += String(d)));
      proc.stderr.on("data", (d) => (err += String(d)));
      const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
      return { proc, out: () => out, err: () => err, exit };
    });
    try {
      const end = Date.now() + 20_000;
      while (!children.every((c) => c.out().includes("ready"))) {
        assert.ok(Date.now() < end, "children did not start");
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const c of children) c.proc.stdin.write("go\n");
      const codes = await Promise.all(children.map((c) => c.exit));
      assert.deepEqual(codes, [0, 0, 0, 0], children.map((c) => c.err()).join("\n"));
      assert.deepEqual(children.map((c) => c.out().trim().split("\n").pop()).sort(), ["adopted", "none", "none", "none"]);
      assert.ok(await filePinStore(file).getServer(v2().digest));
    } finally {
      for (const c of children) c.proc.kill();
    }
  });
});

describe("prompt and resource-template pins", () => {
  test("pinned, read back, reset per item and with the server; a pin of another kind is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-pins-kinds-"));
    dirs.push(dir);
    const file = join(dir, "pins.json");
    const store = filePinStore(file);
    const identity = v2();
    await store.approveServer(identity, "github");
    const prompt = makePin("prompts", { name: "triage", description: "Triage an issue", arguments: [{ name: "issue", required: true }] });
    const template = makePin("resourceTemplates", { name: "file", uriTemplate: "repo://{path}", mimeType: "text/plain" });
    await store.pinItems(identity.digest, "prompts", [prompt]);
    await store.pinItems(identity.digest, "resourceTemplates", [template]);
    await store.pinTools(identity.digest, [makePin("tools", { name: "triage" })]);
    const got = (await filePinStore(file).getServer(identity.digest))!;
    assert.deepEqual(got.prompts.triage, prompt);
    assert.deepEqual(got.resourceTemplates.file, template);
    assert.equal(got.prompts.constructor, undefined);
    assert.ok((await filePinStore(file).list())[0]!.resourceTemplates.file);

    await rejectsWith(store.pinItems(identity.digest, "prompts", [makePin("tools", { name: "x" })]), "invalid-argument", /digest that does not match/);
    await rejectsWith(store.pinItems(identity.digest, "prompts", [{ ...makePin("prompts", { name: "x" }), version: 1 }]), "invalid-argument", /only tools had version 1 pins/);
    await rejectsWith(store.pinItems(identity.digest, "servers" as never, [prompt]), "invalid-argument", /unknown kind/);

    await store.resetItem(identity.digest, "prompts", "triage");
    const after = (await store.getServer(identity.digest))!;
    assert.deepEqual(Object.keys(after.prompts), []);
    assert.deepEqual(Object.keys(after.tools), ["triage"], "a tool of the same name is another pin");
    assert.deepEqual(Object.keys(after.resourceTemplates), ["file"]);
    await store.resetServer(identity.digest);
    assert.equal(await store.getServer(identity.digest), undefined);
  });
});
