#!/usr/bin/env node
// Entry point. `mcp-warden hook` runs before every tool call of a coding agent, so it is routed here
// before anything else loads: it needs only the policy engine, not the command-line framework or
// the schema library (see src/hook/).
if (process.argv[2] === "hook") {
  const { hookMain } = await import("./hook/main.js");
  process.exitCode = await hookMain(process.argv.slice(3));
} else {
  await import("./cli/program.js");
}
export {};
