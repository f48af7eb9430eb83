// What every PinStore must do, whatever it keeps its records in: run by pin-store-contract.test.ts
// against the file store and the PostgreSQL store, so the two keep the same semantics (approve keeps
// pins, adoptLegacy's rules, pins need an approved server, bad arguments change nothing, returned
// records frozen, concurrent changes through several store instances all land).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PinStoreError, type PinStore } from "../../src/adapters/pin-store.js";
import {
  canonicalToolDefinition,
  legacyCanonicalToolDefinition,
  legacyServerIdentity,
  legacyToolDigest,
  makePin,
  serverIdentity,
  toolDigest,
  type PinnedTool,
  type ServerEntryLike,
} from "../../src/policy/integrity/pins.js";
import type { LayerName } from "../../src/policy/types.js";

/** Fresh, empty storage; `open` gives another store instance on it (another process, replica or command). */
export interface ContractStorage {
  open(): PinStore;
}

const githubEntry: ServerEntryLike = { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] };
const github = serverIdentity({ name: "github", layer: "user", entry: githubEntry });
const remote = serverIdentity({ name: "remote", layer: "user", entry: { url: "https://mcp.example.com/mcp" } });
const LEGACY = legacyServerIdentity(githubEntry).digest;
const v2 = (name = "github", layer: LayerName = "user", e: ServerEntryLike = githubEntry) => serverIdentity({ name, layer, entry: e });
const createIssue = { name: "create_issue", description: "Create an issue", inputSchema: { type: "object", properties: { title: { type: "string" } }, required: ["title"] } };

function pin(name: string, description = `does ${name}`, by?: string): PinnedTool {
  const definition = canonicalToolDefinition({ name, description, inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } });
  return { name, version: 2, digest: toolDigest(definition), definition, approvedAt: "2026-01-01T00:00:00.000Z", ...(by ? { approvedBy: by } : {}) };
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof PinStoreError, `expected a PinStoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** A version 1 approval with a version 1 tool pin, as an older mcp-warden recorded it. */
async function seedLegacy(store: PinStore, approvedBy: string): Promise<void> {
  await store.approveServer(legacyServerIdentity(githubEntry), "github", approvedBy);
  // Without a version and with the version 1 digest, a caller's tool pin is a version 1 pin.
  await store.pinTools(LEGACY, [{ name: "create_issue", digest: legacyToolDigest(createIssue), definition: legacyCanonicalToolDefinition(createIssue), approvedAt: "2025-06-01T00:00:00.000Z", approvedBy: "first use" }]);
}

export function pinStoreContract(name: string, storage: () => Promise<ContractStorage>, opts: { skip?: string | boolean } = {}): void {
  describe(`PinStore contract: ${name}`, { skip: opts.skip }, () => {
    test("approve, pin, read back (also through another instance), replace, re-approve keeps pins, reset a tool, reset the server", async () => {
      const s = await storage();
      const store = s.open();
      assert.equal(await store.getServer(github.digest), undefined, "empty storage is an empty store");
      assert.deepEqual(await store.list(), []);

      await store.approveServer(github, "github", "alice");
      await store.pinTools(github.digest, [pin("create_issue", undefined, "alice"), pin("list_issues")]);
      await store.approveServer(remote, "remote");

      for (const st of [store, s.open()]) {
        const got = await st.getServer(github.digest);
        assert.ok(got);
        assert.deepEqual(got.identity, github);
        assert.equal(got.serverName, "github");
        assert.equal(got.approvedBy, "alice");
        assert.match(got.approvedAt, /^\d{4}-\d{2}-\d{2}T/);
        assert.deepEqual(Object.keys(got.tools).sort(), ["create_issue", "list_issues"]);
        assert.deepEqual({ ...got.tools.create_issue }, pin("create_issue", undefined, "alice"));
        assert.deepEqual((await st.list()).map((p) => p.serverName), ["github", "remote"]);
      }

      await store.pinTools(github.digest, [pin("create_issue", "a new description")]);
      assert.equal((await store.getServer(github.digest))!.tools.create_issue!.definition.description, "a new description", "replaced");
      assert.equal(Object.keys((await store.getServer(github.digest))!.tools).length, 2, "others kept");

      await store.approveServer(github, "github");
      const again = await s.open().getServer(github.digest);
      assert.equal(again!.approvedBy, undefined, "the new approval replaces the old one's fields");
      assert.equal(Object.keys(again!.tools).length, 2, "re-approving keeps the pins");
      await rejectsWith(store.approveServer(github, "gh"), "invalid-argument", /identity is that of server "github"/);

      await store.resetTool(github.digest, "create_issue");
      await store.resetTool(github.digest, "not-there");
      assert.deepEqual(Object.keys((await store.getServer(github.digest))!.tools), ["list_issues"]);
      await store.resetServer(github.digest);
      await store.resetServer(github.digest);
      assert.equal(await store.getServer(github.digest), undefined);
      assert.deepEqual((await s.open().list()).map((p) => p.serverName), ["remote"]);
    });

    test("returned records are frozen, and pin lookups do not reach Object.prototype", async () => {
      const store = (await storage()).open();
      await store.approveServer(github, "github");
      await store.pinTools(github.digest, [pin("create_issue")]);
      for (const got of [(await store.getServer(github.digest))!, (await store.list())[0]!]) {
        assert.ok(Object.isFrozen(got) && Object.isFrozen(got.tools) && Object.isFrozen(got.tools.create_issue!.definition));
        assert.equal(got.tools.constructor, undefined);
        assert.equal(got.prompts.toString, undefined);
      }
    });

    test("names such as __proto__ and constructor are stored as data", async () => {
      const s = await storage();
      await s.open().approveServer(github, "github");
      await s.open().pinTools(github.digest, [pin("__proto__"), pin("constructor")]);
      const got = (await s.open().getServer(github.digest))!;
      assert.deepEqual(Object.keys(got.tools).sort(), ["__proto__", "constructor"]);
      assert.equal(got.tools["__proto__"]!.name, "__proto__");
    });

    test("bad arguments are refused before anything is written", async () => {
      const store = (await storage()).open();
      await rejectsWith(store.pinTools(github.digest, [pin("x")]), "invalid-argument", /approve the server first/);
      assert.deepEqual(await store.list(), [], "pinning an unapproved server records nothing");
      await rejectsWith(store.approveServer({ ...github, digest: remote.digest }, "github"), "invalid-argument", /digest does not match/);
      await rejectsWith(store.approveServer({ ...github, env: { NODE_OPTIONS: "--require /tmp/x.js" } }, "github"), "invalid-argument", /digest does not match/);
      await rejectsWith(store.approveServer(github, ""), "invalid-argument");
      await store.approveServer(github, "github");
      await rejectsWith(store.pinTools(github.digest, [{ ...pin("x"), digest: pin("y").digest }]), "invalid-argument", /digest that does not match its definition/);
      await rejectsWith(store.pinTools(github.digest, [{ ...pin("x"), name: "y" }]), "invalid-argument", /name that differs/);
      await rejectsWith(store.pinTools(github.digest, [pin("x"), pin("x", "other")]), "invalid-argument", /given twice/);
      await rejectsWith(store.pinItems(github.digest, "servers" as never, [pin("x")]), "invalid-argument", /unknown kind/);
      assert.deepEqual(Object.keys((await store.getServer(github.digest))!.tools), []);
      assert.deepEqual((await store.list()).map((r) => r.serverName), ["github"]);
    });

    test("prompt and resource-template pins: pinned, read back, reset per item and with the server; a pin of another kind is refused", async () => {
      const s = await storage();
      const store = s.open();
      const identity = v2();
      await store.approveServer(identity, "github");
      const prompt = makePin("prompts", { name: "triage", description: "Triage an issue", arguments: [{ name: "issue", required: true }] });
      const template = makePin("resourceTemplates", { name: "file", uriTemplate: "repo://{path}", mimeType: "text/plain" });
      await store.pinItems(identity.digest, "prompts", [prompt]);
      await store.pinItems(identity.digest, "resourceTemplates", [template]);
      await store.pinTools(identity.digest, [makePin("tools", { name: "triage" })]);
      const got = (await s.open().getServer(identity.digest))!;
      assert.deepEqual(got.prompts.triage, prompt);
      assert.deepEqual(got.resourceTemplates.file, template);
      await rejectsWith(store.pinItems(identity.digest, "prompts", [makePin("tools", { name: "x" })]), "invalid-argument", /digest that does not match/);
      await rejectsWith(store.pinItems(identity.digest, "prompts", [{ ...makePin("prompts", { name: "x" }), version: 1 }]), "invalid-argument", /only tools had version 1 pins/);
      await store.resetItem(identity.digest, "prompts", "triage");
      const after = (await s.open().getServer(identity.digest))!;
      assert.deepEqual(Object.keys(after.prompts), []);
      assert.deepEqual(Object.keys(after.tools), ["triage"], "a tool of the same name is another pin");
      assert.deepEqual(Object.keys(after.resourceTemplates), ["file"]);
    });

    test("a version 1 record: read as recorded, and its tool pin upgraded in place by pinning the tool again as version 2", async () => {
      const s = await storage();
      await seedLegacy(s.open(), "first use");
      const record = (await s.open().getServer(LEGACY))!;
      assert.deepEqual(record.identity, legacyServerIdentity(githubEntry));
      assert.equal(record.tools.create_issue!.version, 1);
      await s.open().pinTools(LEGACY, [makePin("tools", { ...createIssue, _meta: { "vendor/x": 1 } }, { approvedBy: "first use" })]);
      const upgraded = (await s.open().getServer(LEGACY))!.tools.create_issue!;
      assert.equal(upgraded.version, 2);
      assert.deepEqual(upgraded.definition._meta, { "vendor/x": 1 });
    });

    test("adoptLegacy copies a version 1 record under the new identity once, and keeps the old record", async () => {
      const s = await storage();
      const store = s.open();
      await seedLegacy(store, "approval");
      const identity = v2();
      const adopted = await store.adoptLegacy(identity, LEGACY);
      assert.ok(adopted);
      assert.deepEqual(adopted.identity, identity);
      assert.equal(adopted.approvedBy, "approval");
      assert.equal(adopted.note, "migrated");
      assert.equal(adopted.migratedFrom, LEGACY);
      assert.equal(adopted.tools.create_issue!.version, 1);
      assert.ok(Object.isFrozen(adopted));
      assert.deepEqual(await s.open().getServer(identity.digest), adopted);
      assert.ok(await s.open().getServer(LEGACY), "the old record stays");
      assert.equal(await store.adoptLegacy(identity, LEGACY), undefined, "once a record exists for the new identity, nothing is copied again");
    });

    test("adoptLegacy refuses: another name, a code-changing variable, an unknown or non-legacy digest, a project server approved on first use; bad arguments", async () => {
      const s = await storage();
      const store = s.open();
      await seedLegacy(store, "first use");
      assert.equal(await store.adoptLegacy(v2("github-copy"), LEGACY), undefined);
      for (const env of [{ NODE_OPTIONS: "--require ./x.js" }, { LD_PRELOAD: "/tmp/x.so" }] as Record<string, string>[])
        assert.equal(await store.adoptLegacy(v2("github", "user", { ...githubEntry, env }), LEGACY), undefined, JSON.stringify(env));
      assert.equal(await store.adoptLegacy(v2(), `sha256:${"0".repeat(64)}`), undefined);
      assert.equal(await store.adoptLegacy(v2("github", "project"), LEGACY), undefined);
      assert.equal(await store.adoptLegacy(v2("github", "local"), LEGACY), undefined);
      const other = v2("github", "cli");
      await store.approveServer(other, "github");
      assert.equal(await store.adoptLegacy(v2(), other.digest), undefined, "a version 2 record is not a version 1 approval");
      assert.deepEqual((await s.open().list()).map((r) => r.identity.digest).sort(), [LEGACY, other.digest].sort(), "nothing copied");
      await rejectsWith(store.adoptLegacy(legacyServerIdentity(githubEntry) as never, LEGACY), "invalid-argument", /version 2 identity/);
      await rejectsWith(store.adoptLegacy({ ...v2(), layer: "managed" }, LEGACY), "invalid-argument", /digest does not match/);
      await rejectsWith(store.adoptLegacy(v2(), "not-a-digest"), "invalid-argument", /sha256/);
      assert.ok(await store.adoptLegacy(v2("github", "user"), LEGACY), "the user's own layer adopts a first-use approval");
    });

    test("concurrent changes through several instances all land: pins, approvals of one new server, adoptions (exactly one copies)", async () => {
      const s = await storage();
      const stores = [s.open(), s.open(), s.open(), s.open()];
      await stores[0]!.approveServer(github, "github");
      await Promise.all([
        ...Array.from({ length: 40 }, (_, i) => stores[i % stores.length]!.pinTools(github.digest, [pin(`t${i}`)])),
        // The same server approved by every instance at once: one record, whoever wins.
        ...stores.map((st, i) => st.approveServer(remote, "remote", `replica ${i}`)),
        // Re-approving the pinned server meanwhile keeps every pin.
        stores[1]!.approveServer(github, "github", "again"),
      ]);
      const got = (await s.open().getServer(github.digest))!;
      assert.equal(Object.keys(got.tools).length, 40, "no pin lost");
      assert.equal(got.approvedBy, "again");
      assert.match((await s.open().getServer(remote.digest))!.approvedBy ?? "", /^replica \d$/);

      // github's version 2 identity is recorded here already: adoption needs storage without it.
      const fresh = await storage();
      const adopters = [fresh.open(), fresh.open(), fresh.open(), fresh.open()];
      await seedLegacy(adopters[0]!, "approval");
      const results = await Promise.all(adopters.map((st) => st.adoptLegacy(v2(), LEGACY)));
      assert.equal(results.filter((r) => r !== undefined).length, 1, "exactly one instance copies the record");
    });
  });
}
