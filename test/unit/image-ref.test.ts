// Image references and digest pins (src/sandbox/image-ref.ts), and what counts as the pinned image
// (image-pin.ts matchesPin). The look-up against a real engine is tested in
// test/e2e/container-npm-server.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchesPin } from "../../src/sandbox/image-pin.js";
import { isPinned, normalizeImageId, parseImageReference, repoDigestOf } from "../../src/sandbox/image-ref.js";

const HEX = "0123456789abcdef".repeat(4);
const OTHER = "f".repeat(64);

describe("parseImageReference", () => {
  it("splits name, tag and digest", () => {
    assert.deepEqual(parseImageReference("node:22"), { given: "node:22", name: "node:22" });
    assert.deepEqual(parseImageReference(`node@sha256:${HEX}`), { given: `node@sha256:${HEX}`, name: "node", digest: `sha256:${HEX}` });
    assert.deepEqual(parseImageReference(`localhost:5000/team/node:22@sha256:${HEX}`), {
      given: `localhost:5000/team/node:22@sha256:${HEX}`,
      name: "localhost:5000/team/node:22",
      digest: `sha256:${HEX}`,
    });
  });
  it("refuses a digest that is not sha256 with 64 lowercase hex digits, and a digest without a name", () => {
    for (const bad of [`node@sha512:${HEX}${HEX}`, "node@sha256:abc", `node@sha256:${HEX.toUpperCase()}`, `node@${HEX}`, `@sha256:${HEX}`, `node@sha256:${HEX}@sha256:${HEX}`]) {
      const r = parseImageReference(bad);
      assert.ok("error" in r, bad);
      assert.equal(isPinned(bad), false, bad);
    }
  });
  it("a tag alone is not a pin", () => {
    assert.equal(isPinned("node:22"), false);
    assert.equal(isPinned(`node:22@sha256:${HEX}`), true);
  });
});

describe("matching a local image against a pin", () => {
  it("accepts the image's ID or one of its registry digests, and nothing else", () => {
    const image = { id: normalizeImageId(HEX), repoDigests: [`docker.io/library/node@sha256:${OTHER}`] };
    assert.equal(matchesPin(image, `sha256:${HEX}`), true);
    assert.equal(matchesPin(image, `sha256:${OTHER}`), true);
    assert.equal(matchesPin(image, `sha256:${"1".repeat(64)}`), false);
    assert.equal(matchesPin({ id: `sha256:${HEX}`, repoDigests: [] }, `sha256:${OTHER}`), false);
  });
  it("normalizes podman's bare IDs and docker's prefixed ones alike", () => {
    assert.equal(normalizeImageId(HEX), `sha256:${HEX}`);
    assert.equal(normalizeImageId(`sha256:${HEX}`), `sha256:${HEX}`);
    assert.equal(repoDigestOf(`node@sha256:${HEX}`), `sha256:${HEX}`);
    assert.equal(repoDigestOf("node:22"), undefined);
  });
});
