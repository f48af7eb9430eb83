// Conformance: every request that names an item works as the FIRST request after the handshake,
// without a list call before it (the MCP conformance suite found `completion/complete` on a prompt
// reference failing with "Unknown prompt" unless prompts were listed first). Each case gets a fresh
// gateway in front of the real server-everything, in both protocol eras, eager and lazy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect, EVERYTHING, scratch, type Connected } from "./harness.js";

export type Era = "legacy" | "modern";
type Startup = "eager" | "lazy";

const FIRST_REQUESTS: { what: string; run(c: Connected): Promise<void> }[] = [
  {
    what: "completion/complete on a prompt reference",
    async run(c) {
      const r = await c.client.complete({ ref: { type: "ref/prompt", name: "everything__completable-prompt" }, argument: { name: "department", value: "Eng" } });
      assert.deepEqual(r.completion.values, ["Engineering"]);
    },
  },
  {
    what: "completion/complete on a resource template",
    async run(c) {
      const r = await c.client.complete({ ref: { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" }, argument: { name: "resourceId", value: "7" } });
      assert.deepEqual(r.completion.values, ["7"]);
    },
  },
  {
    what: "prompts/get",
    async run(c) {
      const r = await c.client.getPrompt({ name: "everything__completable-prompt", arguments: { department: "Sales", name: "Eve" } });
      assert.match(JSON.stringify(r.messages), /promote Eve to the head of the Sales team/);
    },
  },
  {
    what: "resources/read of a resource reached through a template",
    async run(c) {
      const r = await c.client.readResource({ uri: "demo://resource/dynamic/text/3" });
      assert.match(JSON.stringify(r.contents), /Resource 3: This is a plaintext resource/);
    },
  },
  {
    what: "resources/read of a listed resource",
    async run(c) {
      const r = await c.client.readResource({ uri: "demo://resource/static/document/instructions.md" });
      assert.ok(r.contents.length === 1 && JSON.stringify(r.contents[0]).length > 100);
    },
  },
  {
    what: "tools/call",
    async run(c) {
      const r = await c.client.callTool({ name: "everything__echo", arguments: { message: "first" } });
      assert.match(JSON.stringify(r.content), /Echo: first/);
    },
  },
];

/** The cases for one client era, eager and lazy servers (one test file per era keeps each file short). */
export function firstRequestSuites(era: Era): void {
  for (const startup of ["eager", "lazy"] as Startup[]) {
    describe(`first request after the handshake (${era} client, ${startup} server)`, () => {
      for (const { what, run } of FIRST_REQUESTS) {
        test(`${what} works without a list call first`, async () => {
          const s = scratch({ permissions: { allow: ["mcp__everything"] }, mcpServers: { everything: { command: process.execPath, args: [EVERYTHING], startup } } });
          const c = await connect(s, { era });
          try {
            await run(c);
          } finally {
            await c.close();
            s.cleanup();
          }
        });
      }
    });
  }
}
