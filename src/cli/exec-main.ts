// `mcp-warden exec`'s lean entry point. With the Bash sandbox on, every Bash command of a coding agent
// runs through exec, so it starts like the hook (src/hook/main.ts): one CommonJS bundle compiled from
// a V8 code cache (src/cli.cts, scripts/bundle.ts), no command-line framework, settings read
// with JSON.parse when their text was validated before (settings/fast-load.ts).
//
// It understands exactly what the full command line's `exec` takes: `--settings FILE` (repeatable),
// `--profile NAME`, `--bash-sandbox`, `--project-root DIR`, then `--` and the command. Anything else
// (`--help`, an unknown option, no `--`) returns undefined, and the caller hands the arguments to
// the full command line, which answers as it always has.
import { loadSettingsFast } from "../settings/fast-load.js";
import { execCommand } from "./exec.js";

export interface ExecArgs {
  cliFiles: string[];
  profile?: string;
  bashSandbox: boolean;
  projectRoot?: string;
  command: string[];
}

/** The arguments after `exec`, or undefined for anything the lean path does not handle. */
export function parseExecArgs(args: readonly string[]): ExecArgs | undefined {
  const out: ExecArgs = { cliFiles: [], bashSandbox: false, command: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = (name: string): string | undefined => {
      if (a === name) return i + 1 < args.length ? (args[++i] as string) : undefined;
      return a.startsWith(`${name}=`) ? a.slice(name.length + 1) : undefined;
    };
    if (a === "--") {
      out.command = args.slice(i + 1);
      return out.command.length > 0 ? out : undefined;
    }
    if (a === "--bash-sandbox") {
      out.bashSandbox = true;
      continue;
    }
    if (a === "--settings" || a.startsWith("--settings=")) {
      const v = value("--settings");
      if (v === undefined) return undefined;
      out.cliFiles.push(v);
    } else if (a === "--profile" || a.startsWith("--profile=")) {
      const v = value("--profile");
      if (v === undefined || out.profile !== undefined) return undefined;
      out.profile = v;
    } else if (a === "--project-root" || a.startsWith("--project-root=")) {
      const v = value("--project-root");
      if (v === undefined || !v.startsWith("/") || out.projectRoot !== undefined) return undefined;
      out.projectRoot = v;
    } else return undefined;
  }
  return undefined;
}

/** Runs exec; undefined when the arguments are for the full command line. */
export async function execMain(args: string[]): Promise<number | undefined> {
  const parsed = parseExecArgs(args);
  if (parsed === undefined) return undefined;
  if (parsed.projectRoot !== undefined && !parsed.bashSandbox) return undefined;
  const env = process.env;
  const cwd = process.cwd();
  let settings;
  try {
    // The Bash sandbox's settings are the project's, as the hook read them.
    settings = await loadSettingsFast({ cwd: parsed.projectRoot ?? cwd, env, cliFiles: parsed.cliFiles });
  } catch (error) {
    process.stderr.write(`mcp-warden: settings error: ${(error as Error).message}\n`);
    return 2;
  }
  return execCommand({
    settings,
    ...(parsed.profile !== undefined ? { profile: parsed.profile } : {}),
    command: parsed.command,
    cwd,
    env,
    ...(parsed.bashSandbox ? { bashSandbox: parsed.projectRoot !== undefined ? { projectRoot: parsed.projectRoot } : {} } : {}),
  });
}
