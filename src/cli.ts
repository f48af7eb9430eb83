#!/usr/bin/env node
// Entry point. `mcp-warden hook` runs before every tool call of a coding agent, so it is routed here
// before anything else loads: it needs only the policy engine, not the command-line framework or
// the schema library (see src/hook/). The build bundles it into one file, which loads faster.
if (process.argv[2] === "hook") {
  const { hookMain } = (await import(/* the bundle, when built */ "./hook/main.bundle.mjs" as string).catch((error: NodeJS.ErrnoException) => {
    if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    return import("./hook/main.js");
  })) as typeof import("./hook/main.js");
  process.exitCode = await hookMain(process.argv.slice(3));
} else {
  await import("./cli/program.js");
}
export {};
