// The file pin store, with real files and real processes: round trip, strict reading (fail closed),
// atomic replacement, mode 0600, concurrent writers in several processes, and stale locks.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filePinStore, PinStoreError, type PinStore } from "../../src/adapters/pin-store.js";
import { canonicalToolDefinition, legacyServerIdentity, legacyToolDigest, makePin, serverIdentity, toolDigest, type PinnedTool } from "../../src/policy/integrity/pins.js";

const STORE_URL = new URL("../../src/adapters/pin-store.js", import.meta.url).href;
const PINS_URL = new URL("../../src/policy/integrity/pins.js", import.meta.url).href;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-pins-"));
  dirs.push(d);
  return d;
}

const githubEntry = { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] };
const github = serverIdentity({ name: "github", layer: "user", entry: githubEntry });
const remote = serverIdentity({ name: "remote", layer: "user", entry: { url: "https://mcp.example.com/mcp" } });

function pin(name: string, description = `does ${name}`, by?: string): PinnedTool {
  const definition = canonicalToolDefinition({ name, description, inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } });
  return { name, version: 2, digest: toolDigest(definition), definition, approvedAt: "2026-01-01T00:00:00.000Z", ...(by ? { approvedBy: by } : {}) };
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<PinStoreError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PinStoreError, `expected a PinStoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a rejection with code ${code}`);
}

/** A node child process running an ES module script; argv[1..] are passed on. */
function child(script: string, args: string[]): { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, ["--input-type=module", "-e", script, "--", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += String(d)));
  proc.stderr!.on("data", (d) => (err += String(d)));
  const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exit };
}

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("round trip", () => {
  test("approve, pin, read back (also from a fresh store), reset a tool, reset the server", async () => {
    const file = join(tempDir(), "state", "pins.json");
    const store = filePinStore(file);
    assert.equal(await store.getServer(github.digest), undefined, "a missing file is an empty store");
    assert.deepEqual(await store.list(), []);

    await store.approveServer(github, "github", "alice");
    await store.pinTools(github.digest, [pin("create_issue", undefined, "alice"), pin("list_issues")]);
    await store.approveServer(remote, "remote");

    for (const s of [store, filePinStore(file)]) {
      const got = await s.getServer(github.digest);
      assert.ok(got);
      assert.deepEqual(got.identity, github);
      assert.equal(got.serverName, "github");
      assert.equal(got.approvedBy, "alice");
      assert.match(got.approvedAt, /^\d{4}-\d{2}-\d{2}T/);
      assert.deepEqual(Object.keys(got.tools).sort(), ["create_issue", "list_issues"]);
      assert.deepEqual({ ...got.tools.create_issue }, pin("create_issue", undefined, "alice"));
      assert.deepEqual((await s.list()).map((p) => p.serverName), ["github", "remote"]);
    }

    await store.pinTools(github.digest, [pin("create_issue", "a new description")]);
    assert.equal((await store.getServer(github.digest))!.tools.create_issue!.definition.description, "a new description", "replaced");
    assert.equal(Object.keys((await store.getServer(github.digest))!.tools).length, 2, "others kept");

    // Re-approving the same identity keeps its pins.
    await store.approveServer(github, "github");
    const again = await store.getServer(github.digest);
    assert.equal(again!.serverName, "github");
    assert.equal(again!.approvedBy, undefined);
    assert.equal(Object.keys(again!.tools).length, 2);
    // A version 2 identity belongs to its server name.
    await rejectsWith(store.approveServer(github, "gh"), "invalid-argument", /identity is that of server "github"/);

    await store.resetTool(github.digest, "create_issue");
    await store.resetTool(github.digest, "not-there");
    assert.deepEqual(Object.keys((await store.getServer(github.digest))!.tools), ["list_issues"]);
    await store.resetServer(github.digest);
    await store.resetServer(github.digest);
    assert.equal(await store.getServer(github.digest), undefined);
    assert.deepEqual((await filePinStore(file).list()).map((p) => p.serverName), ["remote"]);
  });

  test("the on-disk format: version 2, servers by identity digest, pins by kind and name; env and header names only, no secrets", async () => {
    const file = join(tempDir(), "pins.json");
    const secret = "ghp_THIS_IS_A_SECRET_TOKEN_123";
    const entry = { ...githubEntry, env: { GITHUB_TOKEN: secret, NODE_OPTIONS: "--max-old-space-size=512" } };
    const identity = serverIdentity({ name: "github", layer: "project", entry });
    const store = filePinStore(file);
    await store.approveServer(identity, "github");
    await store.pinTools(identity.digest, [pin("create_issue")]);
    await store.pinItems(identity.digest, "prompts", [makePin("prompts", { name: "triage", arguments: [{ name: "issue", required: true }] }, { approvedAt: "2026-01-01T00:00:00.000Z" })]);
    const text = readFileSync(file, "utf8");
    assert.ok(!text.includes(secret));
    const data = JSON.parse(text) as { version: number; servers: Record<string, Record<string, unknown> & { tools: Record<string, PinnedTool>; prompts: Record<string, PinnedTool> }> };
    assert.deepEqual(Object.keys(data), ["version", "servers"]);
    assert.equal(data.version, 2);
    assert.deepEqual(Object.keys(data.servers), [identity.digest]);
    const s = data.servers[identity.digest]!;
    assert.deepEqual(s.identity, {
      version: 2,
      name: "github",
      layer: "project",
      kind: "stdio",
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-github"],
      env: { NODE_OPTIONS: "--max-old-space-size=512" },
      envNames: ["GITHUB_TOKEN"],
      headerNames: [],
      digest: identity.digest,
    });
    assert.deepEqual(Object.keys(s), ["identity", "serverName", "approvedAt", "tools", "prompts", "resourceTemplates"]);
    assert.deepEqual(s.tools.create_issue, pin("create_issue"));
    assert.equal(s.prompts.triage!.version, 2);
    assert.deepEqual(s.resourceTemplates, {});
  });

  test("returned pins are frozen, and tool lookups do not reach Object.prototype", async () => {
    const store = filePinStore(join(tempDir(), "pins.json"));
    await store.approveServer(github, "github");
    await store.pinTools(github.digest, [pin("create_issue")]);
    const got = (await store.getServer(github.digest))!;
    assert.ok(Object.isFrozen(got) && Object.isFrozen(got.tools) && Object.isFrozen(got.tools.create_issue!.definition));
    assert.equal(got.tools.constructor, undefined);
    assert.equal(got.tools.toString, undefined);
  });

  test("tool names such as __proto__ and constructor are stored as data", async () => {
    const file = join(tempDir(), "pins.json");
    const store = filePinStore(file);
    await store.approveServer(github, "github");
    await store.pinTools(github.digest, [pin("__proto__"), pin("constructor")]);
    const got = (await filePinStore(file).getServer(github.digest))!;
    assert.deepEqual(Object.keys(got.tools).sort(), ["__proto__", "constructor"]);
    assert.equal(got.tools["__proto__"]!.name, "__proto__");
  });

  test("bad arguments are refused before anything is written", async () => {
    const file = join(tempDir(), "pins.json");
    const store = filePinStore(file);
    await rejectsWith(store.pinTools(github.digest, [pin("x")]), "invalid-argument", /approve the server first/);
    await rejectsWith(store.approveServer({ ...github, digest: remote.digest }, "github"), "invalid-argument", /digest does not match/);
    await rejectsWith(store.approveServer({ ...github, env: { NODE_OPTIONS: "--require /tmp/x.js" } }, "github"), "invalid-argument", /digest does not match/);
    await rejectsWith(store.approveServer({ ...legacyServerIdentity(githubEntry), env: { A: "b" } } as never, "github"), "invalid-argument", /unknown or misplaced field "env"/);
    await rejectsWith(store.approveServer(github, ""), "invalid-argument");
    await store.approveServer(github, "github");
    await rejectsWith(store.pinTools(github.digest, [{ ...pin("x"), digest: pin("y").digest }]), "invalid-argument", /digest that does not match its definition/);
    await rejectsWith(store.pinTools(github.digest, [{ ...pin("x"), name: "y" }]), "invalid-argument", /name that differs/);
    await rejectsWith(store.pinTools(github.digest, [pin("x"), pin("x", "other")]), "invalid-argument", /given twice/);
    assert.deepEqual(Object.keys((await store.getServer(github.digest))!.tools), []);
  });

  test("a change in another process's store is seen by a store that has read before (cache invalidation)", async () => {
    const file = join(tempDir(), "pins.json");
    const a = filePinStore(file);
    const b = filePinStore(file);
    await a.approveServer(github, "github");
    assert.equal(Object.keys((await b.getServer(github.digest))!.tools).length, 0);
    await a.pinTools(github.digest, [pin("one")]);
    assert.deepEqual(Object.keys((await b.getServer(github.digest))!.tools), ["one"], "a write within the racy window is seen");
    // An old file is served from the cache: the same frozen object twice.
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(file, past, past);
    const first = await b.getServer(github.digest);
    assert.equal(await b.getServer(github.digest), first);
    await a.pinTools(github.digest, [pin("two")]);
    utimesSync(file, past, past); // even with the old mtime back, the inode (and ctime) changed
    assert.deepEqual(Object.keys((await b.getServer(github.digest))!.tools).sort(), ["one", "two"]);
  });
});

describe("fail closed on a bad file", () => {
  async function withFile(content: string): Promise<{ file: string; store: PinStore }> {
    const file = join(tempDir(), "pins.json");
    writeFileSync(file, content, { mode: 0o600 });
    return { file, store: filePinStore(file) };
  }

  async function validFile(): Promise<{ file: string; data: Record<string, unknown> }> {
    const file = join(tempDir(), "pins.json");
    const store = filePinStore(file);
    await store.approveServer(github, "github");
    await store.pinTools(github.digest, [pin("create_issue")]);
    return { file, data: JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown> };
  }

  test("a truncated file is an error naming the file, for reads and for writes, and is left as it is", async () => {
    const { file: good } = await validFile();
    const text = readFileSync(good, "utf8");
    const { file, store } = await withFile(text.slice(0, text.length / 2));
    const err = await rejectsWith(store.getServer(github.digest), "corrupt", /not JSON/);
    assert.ok(err.message.includes(file));
    await rejectsWith(store.list(), "corrupt");
    await rejectsWith(store.approveServer(remote, "remote"), "corrupt");
    await rejectsWith(store.resetServer(github.digest), "corrupt");
    assert.equal(readFileSync(file, "utf8"), text.slice(0, text.length / 2), "a write never replaces a corrupt file");
  });

  test("empty files, wrong shapes, unknown fields and older/unsupported versions are corrupt", async () => {
    const { data } = await validFile();
    const server = () => structuredClone((data.servers as Record<string, Record<string, unknown>>)[github.digest]!);
    const variants: [string, unknown][] = [
      ["empty", undefined],
      ["array", []],
      ["no version", { servers: {} }],
      ["version 0", { version: 0, servers: {} }],
      ["version as text", { version: "1", servers: {} }],
      ["unknown top-level field", { ...data, extra: true }],
      ["servers not an object", { version: 2, servers: [] }],
      ["unknown server field", { version: 2, servers: { [github.digest]: { ...server(), comment: "x" } } }],
      ["serverName is not the identity's name", { version: 2, servers: { [github.digest]: { ...server(), serverName: "other" } } }],
      ["migratedFrom not a digest", { version: 2, servers: { [github.digest]: { ...server(), migratedFrom: "x" } } }],
      ["no prompts map", (() => {
        const s = server();
        delete s.prompts;
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["a prompt pin without a version (only tools had version 1)", (() => {
        const s = server();
        const p = makePin("prompts", { name: "p" }, { approvedAt: "x" }) as unknown as Record<string, unknown>;
        delete p.version;
        s.prompts = { p };
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["a template pinned as a tool (digest domains differ)", (() => {
        const s = server();
        s.resourceTemplates = { t: makePin("tools", { name: "t", uriTemplate: "file:///{p}" }, { approvedAt: "x" }) };
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["version 1 file with a version 2 server record", { version: 1, servers: { [github.digest]: server() } }],
      ["server under another digest", { version: 2, servers: { [remote.digest]: server() } }],
      ["identity edited", { version: 2, servers: { [github.digest]: { ...server(), identity: { ...github, args: ["-y", "@evil/x"] } } } }],
      ["identity with a code-changing value added", { version: 2, servers: { [github.digest]: { ...server(), identity: { ...github, env: { LD_PRELOAD: "/tmp/x.so" } } } } }],
      ["identity with a secret value stored", { version: 2, servers: { [github.digest]: { ...server(), identity: { ...github, env: { GITHUB_TOKEN: "ghp_x" } } } } }],
      ["identity with an unsorted env name list", { version: 2, servers: { [github.digest]: { ...server(), identity: { ...github, envNames: ["B", "A"] } } } }],
      ["tool description edited", (() => {
        const s = server();
        ((s.tools as Record<string, Record<string, Record<string, unknown>>>).create_issue!.definition!).description = "tampered";
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["tool under another name", (() => {
        const s = server();
        const tools = s.tools as Record<string, unknown>;
        s.tools = { other: tools.create_issue };
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["unknown tool field", (() => {
        const s = server();
        (s.tools as Record<string, Record<string, unknown>>).create_issue!.note = 1;
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["a field added to a version 2 definition", (() => {
        const s = server();
        ((s.tools as Record<string, Record<string, Record<string, unknown>>>).create_issue!.definition!)._meta = {};
        return { version: 2, servers: { [github.digest]: s } };
      })()],
      ["unpinned field in a version 1 definition", (() => {
        const legacy = legacyServerIdentity(githubEntry);
        const definition = { name: "x", _meta: {} };
        const tool = { name: "x", digest: legacyToolDigest(definition), definition, approvedAt: "x" };
        return { version: 1, servers: { [legacy.digest]: { identity: legacy, serverName: "github", approvedAt: "x", tools: { x: tool } } } };
      })()],
      ["missing approvedAt", (() => {
        const s = server();
        delete s.approvedAt;
        return { version: 2, servers: { [github.digest]: s } };
      })()],
    ];
    for (const [what, value] of variants) {
      const { store } = await withFile(value === undefined ? "" : JSON.stringify(value));
      await rejectsWith(store.getServer(github.digest), "corrupt").catch((e: Error) => assert.fail(`${what}: ${e.message}`));
    }
  });

  test("a newer version is its own error, even with fields this version does not know", async () => {
    const { store } = await withFile(JSON.stringify({ version: 3, servers: {}, shards: [] }));
    await rejectsWith(store.getServer(github.digest), "version", /newer mcp-warden/);
  });

  test("a hostile definition in the file (deep nesting) is an error, not a crash", async () => {
    const deep = `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`;
    const { file, data } = await validFile();
    const text = JSON.stringify(data).replace('"inputSchema":{', `"inputSchema":{"deep":${deep},`);
    writeFileSync(file, text);
    await rejectsWith(filePinStore(file).getServer(github.digest), "corrupt", /nested deeper/);
  });

  test("a symlink, a directory or an unreadable file at the path is an error", async () => {
    const dir = tempDir();
    const { file: real } = await validFile();
    symlinkSync(real, join(dir, "link.json"));
    await rejectsWith(filePinStore(join(dir, "link.json")).getServer(github.digest), "corrupt", /symbolic link/);
    mkdirSync(join(dir, "adir.json"));
    await rejectsWith(filePinStore(join(dir, "adir.json")).getServer(github.digest), "corrupt", /not a regular file/);
    if (process.getuid?.() !== 0) {
      chmodSync(real, 0o000);
      await rejectsWith(filePinStore(real).getServer(github.digest), "io", /cannot read/);
      chmodSync(real, 0o600);
    }
  });
});

describe("durability", () => {
  test("the file is 0600 whatever the umask and the old file's mode, and no temp file is left", async () => {
    const dir = tempDir();
    const file = join(dir, "pins.json");
    writeFileSync(file, JSON.stringify({ version: 1, servers: {} }), { mode: 0o644 });
    chmodSync(file, 0o644);
    const old = process.umask(0);
    try {
      await filePinStore(file).approveServer(github, "github");
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["pins.json"], "no temp or lock file left");
  });

  test("a writer killed mid-way never leaves a partial file: readers always parse it, and leftovers are cleaned", async () => {
    const dir = tempDir();
    const file = join(dir, "pins.json");
    const script = `
      const { filePinStore } = await import(process.argv[1]);
      const { serverIdentity, canonicalToolDefinition, toolDigest } = await import(process.argv[2]);
      const store = filePinStore(process.argv[3]);
      const id = serverIdentity({ name: "s", layer: "user", entry: { command: "node", args: ["server.js"] } });
      await store.approveServer(id, "s");
      process.stdout.write("ready\\n");
      for (let i = 0; ; i++) {
        // Large definitions make each write take a while, so the kill lands inside one.
        const definition = canonicalToolDefinition({ name: "t" + (i % 50), description: "x".repeat(200000 + i) });
        await store.pinTools(id.digest, [{ name: definition.name, digest: toolDigest(definition), definition, approvedAt: new Date().toISOString() }]);
      }`;
    const c = child(script, [STORE_URL, PINS_URL, file]);
    await waitFor(() => c.out().includes("ready"));
    let reads = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      const text = readFileSync(file, "utf8");
      assert.doesNotThrow(() => JSON.parse(text), "every read sees a whole file");
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    c.proc.kill("SIGKILL");
    await c.exit;
    assert.ok(reads > 10);
    const store = filePinStore(file, { lockStaleMs: 60_000 });
    // The killed writer may have left its lock (its pid is dead: broken at once) and a temp file.
    const server = await store.getServer(serverIdentity({ name: "s", layer: "user", entry: { command: "node", args: ["server.js"] } }).digest);
    assert.ok(server && Object.keys(server.tools).length > 0);
    await store.approveServer(github, "github");
    assert.deepEqual(readdirSync(dir).sort(), ["pins.json"]);
  });
});

describe("concurrency", () => {
  test("writers in several processes at once lose no update", async () => {
    const file = join(tempDir(), "pins.json");
    const shared = serverIdentity({ name: "shared", layer: "user", entry: { command: "node", args: ["shared.js"] } });
    await filePinStore(file).approveServer(shared, "shared");
    const WRITERS = 6;
    const EACH = 12;
    const script = `
      const { filePinStore } = await import(process.argv[1]);
      const { serverIdentity, canonicalToolDefinition, toolDigest } = await import(process.argv[2]);
      const [file, id, each] = process.argv.slice(3);
      const store = filePinStore(file, { lockWaitMs: 60000 });
      const shared = serverIdentity({ name: "shared", layer: "user", entry: { command: "node", args: ["shared.js"] } });
      process.stdout.write("ready\\n");
      await new Promise((r) => process.stdin.once("data", r));
      await store.approveServer(serverIdentity({ name: "own" + id, layer: "user", entry: { command: "node", args: ["own-" + id + ".js"] } }), "own" + id);
      for (let j = 0; j < Number(each); j++) {
        const definition = canonicalToolDefinition({ name: "w" + id + "_t" + j, description: "tool " + j });
        await store.pinTools(shared.digest, [{ name: definition.name, digest: toolDigest(definition), definition, approvedAt: new Date().toISOString() }]);
      }
      process.stdout.write("done\\n");
      process.exit(0);`;
    const children = Array.from({ length: WRITERS }, (_, i) => child(script, [STORE_URL, PINS_URL, file, String(i), String(EACH)]));
    await waitFor(() => children.every((c) => c.out().includes("ready")));
    for (const c of children) c.proc.stdin!.write("go\n"); // start together
    const codes = await Promise.all(children.map((c) => c.exit));
    assert.deepEqual(codes, Array(WRITERS).fill(0), children.map((c) => c.err()).join("\n"));
    const store = filePinStore(file);
    const tools = Object.keys((await store.getServer(shared.digest))!.tools);
    assert.equal(tools.length, WRITERS * EACH);
    for (let i = 0; i < WRITERS; i++) for (let j = 0; j < EACH; j++) assert.ok(tools.includes(`w${i}_t${j}`), `w${i}_t${j}`);
    assert.equal((await store.list()).length, WRITERS + 1);
    assert.deepEqual(readdirSync(join(file, "..")).sort(), ["pins.json"]);
  });

  test("concurrent changes within one process, through one store or two, all land", async () => {
    const file = join(tempDir(), "pins.json");
    const a = filePinStore(file);
    const b = filePinStore(file);
    await a.approveServer(github, "github");
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).pinTools(github.digest, [pin(`t${i}`)])));
    assert.equal(Object.keys((await a.getServer(github.digest))!.tools).length, 40);
  });
});

describe("stale locks", () => {
  async function deadPid(): Promise<number> {
    const c = child("", []);
    const pid = c.proc.pid!;
    await c.exit;
    return pid;
  }

  test("a lock left by a dead process on this host is broken at once", async () => {
    const file = join(tempDir(), "pins.json");
    const { hostname } = await import("node:os");
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: await deadPid(), host: hostname(), at: new Date().toISOString() }));
    const started = Date.now();
    await filePinStore(file, { lockStaleMs: 60_000, lockWaitMs: 5000 }).approveServer(github, "github");
    assert.ok(Date.now() - started < 2000);
    assert.ok(!existsSync(`${file}.lock`));
  });

  test("an old lock without a readable holder is broken once it is older than lockStaleMs", async () => {
    const file = join(tempDir(), "pins.json");
    writeFileSync(`${file}.lock`, "");
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${file}.lock`, old, old);
    await filePinStore(file).approveServer(github, "github");
    assert.ok((await filePinStore(file).getServer(github.digest)) !== undefined);
  });

  test("a live holder's lock makes a writer wait, bounded: it fails closed, then succeeds once the lock is stale", async () => {
    const file = join(tempDir(), "pins.json");
    const { hostname } = await import("node:os");
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
    const started = Date.now();
    await rejectsWith(filePinStore(file, { lockWaitMs: 200, lockStaleMs: 60_000 }).approveServer(github, "github"), "lock-timeout", /within 200 ms/);
    assert.ok(Date.now() - started < 2000);
    assert.ok(!existsSync(file), "nothing written without the lock");
    // A holder this slow is presumed hung: after lockStaleMs the lock is taken over.
    await filePinStore(file, { lockWaitMs: 5000, lockStaleMs: 300 }).approveServer(github, "github");
    assert.ok((await filePinStore(file).getServer(github.digest)) !== undefined);
    assert.ok(!existsSync(`${file}.lock`));
  });

  test("several processes finding the same stale lock: one breaks it, every update lands (8 processes, 3 rounds)", async () => {
    // Each round plants a different stale lock, then 8 processes race to break it and write. A late
    // breaker that removes a newer, live lock lets two writers in at once: an update goes missing.
    const dir = tempDir();
    const file = join(dir, "pins.json");
    await filePinStore(file).approveServer(github, "github");
    const { hostname } = await import("node:os");
    const { randomBytes } = await import("node:crypto");
    const dead = await deadPid();
    const ownerText = (pid: number) => JSON.stringify({ pid, host: hostname(), at: new Date().toISOString() });
    const plant = [
      // An older mcp-warden's lock file, left by a dead process.
      () => writeFileSync(`${file}.lock`, ownerText(dead)),
      // A lock directory left by a dead process.
      () => {
        mkdirSync(`${file}.lock`);
        writeFileSync(join(`${file}.lock`, `owner-${randomBytes(16).toString("hex")}`), ownerText(dead));
      },
      // A lock directory of a live but hung holder (this process): stale by age only.
      () => {
        mkdirSync(`${file}.lock`);
        const owner = join(`${file}.lock`, `owner-${randomBytes(16).toString("hex")}`);
        writeFileSync(owner, ownerText(process.pid));
        const old = new Date(Date.now() - 60_000);
        utimesSync(owner, old, old);
      },
    ];
    const script = `
      const { filePinStore } = await import(process.argv[1]);
      const { serverIdentity, canonicalToolDefinition, toolDigest } = await import(process.argv[2]);
      const [file, id] = process.argv.slice(3);
      const store = filePinStore(file, { lockWaitMs: 30000 });
      const gh = serverIdentity({ name: "github", layer: "user", entry: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] } });
      let buffered = "";
      let queue = Promise.resolve();
      process.stdin.on("data", (d) => {
        buffered += d;
        for (let nl; (nl = buffered.indexOf("\\n")) >= 0; ) {
          const round = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          queue = queue.then(async () => {
            if (round === "end") process.exit(0);
            const definition = canonicalToolDefinition({ name: "p" + id + "r" + round });
            await store.pinTools(gh.digest, [{ name: definition.name, digest: toolDigest(definition), definition, approvedAt: "now" }]);
            process.stdout.write("done " + round + "\\n");
          }).catch((e) => {
            process.stderr.write(String(e && e.stack || e) + "\\n");
            process.exit(1);
          });
        }
      });
      process.stdout.write("ready\\n");`;
    const N = 8;
    const children = Array.from({ length: N }, (_, i) => child(script, [STORE_URL, PINS_URL, file, String(i)]));
    let exited = 0;
    for (const c of children) void c.exit.then(() => exited++);
    const until = async (what: string) => {
      await waitFor(() => exited > 0 || children.every((c) => c.out().includes(what)));
      assert.equal(exited, 0, `a writer died:\n${children.map((c) => c.err()).join("\n")}`);
    };
    try {
      await until("ready");
      const expected = new Set<string>();
      for (let round = 0; round < plant.length; round++) {
        plant[round]!();
        for (const c of children) c.proc.stdin!.write(`${round}\n`); // all at once, onto the stale lock
        await until(`done ${round}`);
        for (let i = 0; i < N; i++) expected.add(`p${i}r${round}`);
        const tools = Object.keys((await filePinStore(file).getServer(github.digest))!.tools).sort();
        assert.deepEqual(tools, [...expected].sort(), `round ${round}: every update lands`);
        assert.deepEqual(readdirSync(dir), ["pins.json"], `round ${round}: no lock or leftover remains`);
      }
      for (const c of children) c.proc.stdin!.write("end\n");
      assert.deepEqual(await Promise.all(children.map((c) => c.exit)), Array(N).fill(0), children.map((c) => c.err()).join("\n"));
    } finally {
      for (const c of children) c.proc.kill("SIGKILL");
    }
  });

  test("the lock directory: a dead holder's or an empty one is taken over; a live holder's, or one not made here, is waited on (fail closed)", async () => {
    const { hostname } = await import("node:os");
    const { randomBytes } = await import("node:crypto");
    const owner = (lock: string, pid: number) => {
      mkdirSync(lock);
      const path = join(lock, `owner-${randomBytes(16).toString("hex")}`);
      writeFileSync(path, JSON.stringify({ pid, host: hostname(), at: new Date().toISOString() }));
      return path;
    };
    const dead = await deadPid();

    const dir = tempDir();
    const file = join(dir, "pins.json");
    owner(`${file}.lock`, dead);
    await filePinStore(file, { lockStaleMs: 60_000, lockWaitMs: 2000 }).approveServer(github, "github");
    mkdirSync(`${file}.lock`); // a release cut short between its two steps
    await filePinStore(file, { lockStaleMs: 60_000, lockWaitMs: 2000 }).approveServer(remote, "remote");
    assert.deepEqual(readdirSync(dir), ["pins.json"]);
    assert.equal((await filePinStore(file).list()).length, 2);

    const live = owner(`${file}.lock`, process.pid);
    await rejectsWith(filePinStore(file, { lockWaitMs: 200, lockStaleMs: 60_000 }).resetServer(github.digest), "lock-timeout", /within 200 ms/);
    assert.ok(existsSync(live), "a live holder's lock is never removed");
    rmSync(`${file}.lock`, { recursive: true });

    mkdirSync(`${file}.lock`);
    writeFileSync(join(`${file}.lock`, "something-else"), "");
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(`${file}.lock`, "something-else"), old, old);
    await rejectsWith(filePinStore(file, { lockWaitMs: 200, lockStaleMs: 100 }).resetServer(github.digest), "lock-timeout");
    assert.ok(existsSync(join(`${file}.lock`, "something-else")), "a lock directory not made here is not guessed at");
    assert.equal((await filePinStore(file).list()).length, 2, "nothing written without the lock");
  });

  test("staging directories left by crashed lock takers are removed; a live waiter's is not", async () => {
    const { hostname } = await import("node:os");
    const { randomBytes } = await import("node:crypto");
    const dir = tempDir();
    const file = join(dir, "pins.json");
    const dead = await deadPid();
    const staging = (pid: number, withOwner: boolean) => {
      const nonce = randomBytes(16).toString("hex");
      const path = `${file}.lock.${pid}.${nonce}.tmp`;
      mkdirSync(path);
      if (withOwner) writeFileSync(join(path, `owner-${nonce}`), JSON.stringify({ pid, host: hostname(), at: new Date().toISOString() }));
      return path;
    };
    staging(dead, true); // crashed before installing its lock
    staging(dead, false); // crashed before writing its owner file
    const waiting = staging(process.pid, true); // a live waiter's, touched moments ago
    await filePinStore(file).approveServer(github, "github");
    assert.deepEqual(readdirSync(dir).sort(), ["pins.json", waiting.slice(dir.length + 1)].sort());
  });
});
