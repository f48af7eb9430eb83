// The layered settings as a command loads them: every rule compiled once, any error a message and exit 2.
import { EXIT } from "./exit-codes.js";

/** Loads the layered settings and checks every rule compiles; any error ends the command with exit 2. */
export async function loadOrExit(cliFiles: string[]) {
  // Imported here, not at the top: commands that never read settings start without the schema library.
  const { loadSettings, SettingsError } = await import("../settings/index.js");
  const { PolicyError } = await import("../policy/index.js");
  const { compileSettings, principalPolicies } = await import("../check/judge.js");
  try {
    const settings = loadSettings({ cwd: process.cwd(), env: process.env, cliFiles });
    const compiled = compileSettings(settings, process.env);
    if (Object.keys(settings.principals).length > 0) principalPolicies(compiled);
    return settings;
  } catch (error) {
    if (error instanceof SettingsError || error instanceof PolicyError) {
      process.stderr.write(`mcp-warden: settings error: ${error.message}\n`);
      process.exit(EXIT.usage);
    }
    throw error;
  }
}
