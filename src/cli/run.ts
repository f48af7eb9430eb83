// `mcp-warden run`: the gateway on stdio. Reached from the full command line (program.ts) and from
// the lean entry (run-main.ts, bundled into one file so that a client's gateway starts fast).
import { Gateway } from "../gateway/gateway.js";
import { remoteOnlyNotes } from "../settings/remote-only.js";
import { EXIT } from "./exit-codes.js";
import { loadOrExit } from "./load-settings.js";
import { compilePolicy } from "../policy/index.js";
import type { ResolvedSettings } from "../settings/index.js";
import { reloadSettings, type SettingsReloader } from "../ops/settings-reload.js";

/** Starts the gateway on this process's stdin and stdout; resolves once it serves. */
export async function runCommand(settingsFiles: string[]): Promise<void> {
  const settings = await loadOrExit(settingsFiles);
  for (const w of settings.warnings) process.stderr.write(`mcp-warden: warning: ${w}\n`);
  for (const n of remoteOnlyNotes(settings)) process.stderr.write(`mcp-warden: note: ${n}\n`);
  if (process.stdin.isTTY) {
    process.stderr.write(
      `mcp-warden: serving MCP on stdio with ${settings.servers.length} server(s) configured. Connect an MCP client (see README), or run \`npm run demo\` for a scripted session. Ctrl-C stops.\n`,
    );
  }
  let gateway: Gateway;
  try {
    gateway = new Gateway({ settings, env: process.env, input: process.stdin, output: process.stdout, onExit: () => process.exit(EXIT.ok) });
    await gateway.start();
  } catch (error) {
    process.stderr.write(`mcp-warden: cannot start: ${(error as Error).message}\n`);
    process.exit(error instanceof Error && error.name === "PolicyError" ? EXIT.usage : EXIT.runtime);
  }
  const reloader = reloadOnChange(gateway, settings, settingsFiles);
  // A stray rejection must not take down every session of this client; it is reported, not ignored.
  process.on("unhandledRejection", (reason) => process.stderr.write(`mcp-warden: internal error: ${String((reason as Error)?.stack ?? reason)}\n`));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      reloader.close();
      void gateway.close(`signal ${signal}`);
    });
  }
}

/**
 * The settings files are watched as serve watches them: a valid change applies its rules to the next
 * call, and a server it disables, denies or removes is stopped at once (`servers disable --deny`,
 * `incident --deny` and the console contain a server in the sessions running now, not only in the
 * next one). A change that does not load or compile leaves the settings in force, and says so.
 */
function reloadOnChange(gateway: Gateway, initial: ResolvedSettings, cliFiles: string[]): SettingsReloader {
  const env = process.env;
  return reloadSettings({
    audit: gateway.audit,
    env,
    cliFiles,
    initial,
    applyPolicy: async (next) => {
      // Compiled in full before anything is replaced: a rule that does not compile changes nothing.
      const base = compilePolicy(next.policy, gateway.environment);
      await gateway.replacePolicy(() => base, base, next);
    },
    livePrincipalLimits: false,
    log: (m) => process.stderr.write(`mcp-warden: ${m}\n`),
  });
}
