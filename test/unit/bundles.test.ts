// The single-file bundles (scripts/bundle.ts) run in strict mode, as the ES modules they are built from:
// a banner placed before esbuild's "use strict" would make it an ordinary string, not a directive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
const bundles = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".bundle.cjs"));

test("every bundle starts with the \"use strict\" directive (hook, exec, run, settings loader, secrets, egress bridge)", () => {
  for (const name of ["hook/main.bundle.cjs", "cli/exec-main.bundle.cjs", "cli/run-main.bundle.cjs", "egress/bridge-main.bundle.cjs"]) assert.ok(bundles.includes(name), `${name} is built`);
  for (const name of bundles) {
    const head = readFileSync(join(SRC, name), "utf8").slice(0, 20);
    assert.match(head, /^"use strict";/, `${name} begins with the directive`);
  }
});
