// Whether a tool definition a server lists may reach the model: the one judgment the gateway's
// catalog and `check --batch` ({"server", "toolDefinition", "pinned"?}) share. Pure: no I/O.
//   deny  = hidden: the permission rules deny the tool, or the definition carries poisoning signs
//           (hidden instructions, invisible characters, padding, ...), or it cannot be pinned;
//   ask   = needs re-approval: it differs from the approved (pinned) definition, or a tool not
//           approved before takes an approved tool's place;
//   allow = exposed: it matches its pin, or it is new to a server with no pins yet (pinned on first use).
import type { Verdict } from "../types.js";
import { canonicalToolDefinition, comparePin, PinInputError, type PinnedTool, renderDiff, toolDigest } from "./pins.js";
import { scanToolDefinition, type ScanContext, type ToolDefinition } from "./poisoning.js";

export interface DefinitionContext extends ScanContext {
  /** The permission rules' verdict on the tool's canonical name (a deny hides it). */
  policy?: Verdict;
  /** Scan for poisoning (default true; settings `integrity.scanDefinitions`). */
  scan?: boolean;
}

/** A pin made from an approved definition (as `check --batch` receives it). */
export function pinOf(definition: Record<string, unknown>): PinnedTool {
  const canonical = canonicalToolDefinition(definition);
  return { name: String(canonical.name), digest: toolDigest(canonical), definition: canonical, approvedAt: "" };
}

export function judgeToolDefinition(tool: Record<string, unknown>, pinned: PinnedTool | undefined, context: DefinitionContext = {}): Verdict {
  if (typeof tool.name !== "string" || tool.name === "") return { decision: "deny", reason: "the tool definition has no name" };
  if (context.policy?.decision === "deny") return { ...context.policy, reason: `hidden: ${context.policy.reason}` };
  const findings = context.scan === false ? [] : scanToolDefinition(tool as ToolDefinition, context);
  if (findings.length) {
    const shown = findings
      .slice(0, 3)
      .map((f) => `${f.kind} in ${f.field}: ${f.reason} (${f.excerpt})`)
      .join("; ");
    return { decision: "deny", reason: `hidden: the definition of ${JSON.stringify(tool.name)} looks poisoned: ${shown}${findings.length > 3 ? `; and ${findings.length - 3} more` : ""}` };
  }
  try {
    if (pinned === undefined) return { decision: "allow", reason: `${JSON.stringify(tool.name)} is new and clean: pinned on first use` };
    const status = comparePin(pinned, tool);
    if (pinned.name !== tool.name) {
      // A different name is a different tool: it must not inherit the approval of the one it replaces.
      return { decision: "ask", reason: `${JSON.stringify(tool.name)} was never approved; it takes the place of approved ${JSON.stringify(pinned.name)}` };
    }
    if (status.status === "same") return { decision: "allow", reason: `${JSON.stringify(tool.name)} matches its approved definition` };
    if (status.status === "changed") return { decision: "ask", reason: `${JSON.stringify(tool.name)} changed since it was approved (${status.diff.summary}); it is hidden until approved again:\n${renderDiff(status.diff)}` };
    return { decision: "ask", reason: `${JSON.stringify(tool.name)} was never approved` };
  } catch (error) {
    if (error instanceof PinInputError) return { decision: "deny", reason: `hidden: the definition cannot be pinned: ${error.message}` };
    throw error;
  }
}
