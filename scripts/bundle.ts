// Bundles the entry points that must start fast into one CommonJS file each: the hook
// (dist/src/hook/main.bundle.cjs), `exec`, `run` and the egress bridge. The hook starts once per tool
// call of a coding agent; resolving and loading ~50 small ES modules costs more than the decision
// itself, and one CommonJS file skips the ES module loader's per-module work (see
// docs/PERFORMANCE.md). src/cli.cts falls back to the unbundled modules when a bundle is absent.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../src/hook/", import.meta.url));
/**
 * A banner goes before esbuild's own "use strict", which then is no directive: the bundle would run in
 * sloppy mode (a failed write to a frozen object ignored, not thrown; slower code), unlike the ES
 * modules it comes from. Every banner starts with the directive.
 */
const STRICT = '"use strict"; ';
/** What every bundle shares: one CommonJS file for Node 20, whitespace and syntax minified. */
const common = { bundle: true, platform: "node", format: "cjs", target: "node20", minifyWhitespace: true, minifySyntax: true, logLevel: "warning" } as const;
/**
 * For a bundle whose code computes URLs from import.meta.url: it is the bundle's own URL, so such a
 * bundle sits at the depth of the modules it holds (dist/src/<folder>/). `more` follows in the banner.
 */
const ownUrl = (more = "") => ({
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: STRICT + 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' + more },
});
await build({
  ...common,
  entryPoints: [dist + "main.js"],
  outfile: dist + "main.bundle.cjs",
  // The bundle sits where main.js does (dist/src/hook/), so URLs computed from import.meta.url
  // (the schema fingerprint) resolve to the same files.
  ...ownUrl(" const __wardenRequire = require;"),
  // The full settings loader is the second bundle below, required only for a settings text never validated before.
  // The secret scanner is its own bundle (the third below), required only for MCP tools; the
  // unbundled hook's dynamic import of the ES module stays out of this one.
  external: ["./load.js", "../policy/integrity/secrets.js"],
});
// The full settings loader with zod, for the hook's rare slow path (fast-load.ts). CommonJS so that
// the hook, itself compiled from a code cache (src/cli.cts), can require it without a dynamic import.
await build({
  ...common,
  entryPoints: [fileURLToPath(new URL("../src/settings/load.js", import.meta.url))],
  outfile: dist + "settings-load.bundle.cjs",
  // jsonc-parser's UMD build loads its parts with a require esbuild cannot follow; its ES build bundles cleanly.
  mainFields: ["module", "main"],
});
// The secret scanner, required by the hook only for MCP tools (it is the largest module it uses).
await build({
  ...common,
  entryPoints: [fileURLToPath(new URL("../src/policy/integrity/secrets.js", import.meta.url))],
  outfile: dist + "secrets.bundle.cjs",
});
// `mcp-warden exec`'s lean entry (src/cli/exec-main.ts): with the Bash sandbox it runs for every Bash
// command of an agent. It sits where exec-main.js does (dist/src/cli/), at the same depth as the hook's,
// so URLs from import.meta.url (the egress bridge, the schema fingerprint) resolve to the same files.
const cliDist = fileURLToPath(new URL("../src/cli/", import.meta.url));
await build({
  ...common,
  entryPoints: [cliDist + "exec-main.js"],
  outfile: cliDist + "exec-main.bundle.cjs",
  ...ownUrl(' const __wardenRequire = (id) => require(id.startsWith("./") ? "../hook/" + id.slice(2) : id);'),
  external: ["./load.js", "../policy/integrity/secrets.js"],
});
// `mcp-warden run`'s lean entry (src/cli/run-main.ts): an agent's session waits for its gateway to
// start. Next to exec's, so URLs from import.meta.url resolve to the same files. Packages the gateway
// loads only for some settings (PostgreSQL, Redis, tracing, the SQL parser's WASM, which is found
// next to its own module) stay outside and are required when used: the bundle is compiled by vm.Script
// (src/cli.cts), where `import()` is unavailable, so dynamic imports become requires.
await build({
  ...common,
  entryPoints: [cliDist + "run-main.js"],
  outfile: cliDist + "run-main.bundle.cjs",
  ...ownUrl(),
  mainFields: ["module", "main"],
  supported: { "dynamic-import": false },
  external: ["libpg-query", "pg", "ioredis", "@opentelemetry/*", "prom-client"],
});
// The egress bridge as one file: containers get it bind-mounted alone (src/sandbox/container-egress.ts),
// with no package.json or sibling modules next to it. Only node: built-ins remain outside.
const egressDist = fileURLToPath(new URL("../src/egress/", import.meta.url));
await build({ ...common, entryPoints: [egressDist + "bridge-main.js"], outfile: egressDist + "bridge-main.bundle.cjs" });
console.log(`wrote ${egressDist}bridge-main.bundle.cjs`);
console.log(`wrote ${cliDist}exec-main.bundle.cjs and ${cliDist}run-main.bundle.cjs`);
console.log(`wrote ${dist}main.bundle.cjs, ${dist}settings-load.bundle.cjs and ${dist}secrets.bundle.cjs`);
