// Bundles the hook's entry point into one file (dist/src/hook/main.bundle.mjs). The hook starts once
// per tool call of a coding agent; resolving and loading ~50 small modules costs more than running
// the decision, and one file cuts that (see docs/PERFORMANCE.md). src/cli.ts falls back to the
// unbundled modules when the bundle is absent.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../src/hook/", import.meta.url));
await build({
  entryPoints: [dist + "main.js"],
  outfile: dist + "main.bundle.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // The full settings loader (zod) is loaded only when a settings text was never validated before.
  external: ["zod", "zod/*", "jsonc-parser"],
  logLevel: "warning",
});
console.log(`wrote ${dist}main.bundle.mjs`);
