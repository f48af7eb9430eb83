// "Always allow" (an approval answer): the allow rule goes to the local settings layer
// (`.mcp-warden/settings.local.json` of the gateway's directory), never to managed settings.
import { isObject, readJsonDocument, validateSettingsData, writeJsonDocument } from "../cli/settings-edit.js";
import { settingsFiles } from "../settings/paths.js";

/** Adds `rule` to `permissions.allow` of the local layer; returns the file written (and why the rule may be inert). */
export function writeLocalAllowRule(rule: string, where: { cwd: string; env: NodeJS.ProcessEnv }): string {
  const file = settingsFiles(where).local;
  const doc = readJsonDocument(file, where.env);
  const data = structuredClone(doc.data);
  const permissions = isObject(data.permissions) ? data.permissions : (data.permissions = {});
  const allow = Array.isArray(permissions.allow) ? (permissions.allow as unknown[]) : (permissions.allow = []);
  if (!allow.includes(rule)) allow.push(rule);
  const w = writeJsonDocument(doc, data, validateSettingsData, new Date(), where.env);
  // An untrusted local file stays untrusted, so the rule is inert until the user trusts the file: say so.
  return w.trust === "untrusted" && w.trustNote ? `${w.written} (${w.trustNote})` : w.written;
}
