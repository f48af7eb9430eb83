// `mcp-warden run`'s lean entry point. An agent's client starts a gateway for every session, and the
// session waits for it: the gateway is loaded as one CommonJS bundle compiled from a V8 code cache
// (src/cli.cts, scripts/bundle.ts) instead of a few hundred ES modules and the command-line framework.
//
// It understands exactly what the full command line's `run` takes: `--settings FILE` (repeatable).
// Anything else (`--help`, an unknown option) returns undefined, and the caller hands the arguments
// to the full command line, which answers as it always has.
import { runCommand } from "./run.js";

/** The settings files after `run`, or undefined for anything the lean path does not handle. */
export function parseRunArgs(args: readonly string[]): string[] | undefined {
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--settings" && i + 1 < args.length) files.push(args[++i] as string);
    else if (a.startsWith("--settings=")) files.push(a.slice("--settings=".length));
    else return undefined;
  }
  return files;
}

/** Starts the gateway (resolves once it serves); undefined when the arguments are for the full command line. */
export async function runMain(args: string[]): Promise<number | undefined> {
  const files = parseRunArgs(args);
  if (files === undefined) return undefined;
  await runCommand(files);
  return 0;
}
