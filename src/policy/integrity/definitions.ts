// Whether what a server lists may reach the client: the one judgment the gateway's catalog and
// `check --batch` ({"server", "toolDefinition", "pinned"?}) share. Pure: no I/O.
// Tools, prompts and resource templates are pinned (pins.ts) and judged alike:
//   deny  = hidden: the permission rules deny it (tools), or the definition carries poisoning signs
//           (hidden instructions, invisible characters, padding, ...) in any field, or it cannot be pinned;
//   ask   = needs re-approval: it differs from the approved (pinned) definition, or an item not
//           approved before takes an approved one's place;
//   allow = exposed: it matches its pin, or it is new and clean (pinned on first use), or it matches a
//           version 1 tool pin and has now passed the scan as a whole (`repin`: pin it as version 2).
// Resources are often dynamic lists, so they are not pinned: judgeResource only scans (deny = hidden).
import type { Verdict } from "../types.js";
import { compareDefinition, definitionDigest, makePin, PinInputError, type PinKind, type PinnedTool, type PinStatus, renderDiff } from "./pins.js";
import { scanDefinition, type DefinitionKind, type PoisoningFinding, type ScanContext } from "./poisoning.js";

export interface DefinitionContext extends ScanContext {
  /** The permission rules' verdict on the tool's canonical name (a deny hides it). */
  policy?: Verdict;
  /** Scan for poisoning (default true; settings `integrity.scanDefinitions`: false turns every scan off). */
  scan?: boolean;
  /**
   * Skip the scan of a definition that matches its version 2 pin exactly: it was scanned when it was
   * pinned (the gateway's review at each start). Never skips for a version 1 pin, which was never
   * scanned as a whole, nor for anything new or changed. Default false: `check` and `scan` scan all.
   */
  trustPinned?: boolean;
}

export interface DefinitionVerdict extends Verdict {
  /** How the definition compares with its pin, when it could be compared. */
  pinStatus?: PinStatus["status"];
  /** On allow: record a version 2 pin of this definition (makePin): it is new, or upgrades a version 1 pin. */
  repin?: true;
  /** The version 2 digest of the definition, when it can be pinned. */
  digest?: string;
}

const SCAN_KINDS: Record<PinKind, DefinitionKind> = { tools: "tool", prompts: "prompt", resourceTemplates: "resourceTemplate" };

/** A pin made from an approved definition (as `check --batch` receives it): version 2, the whole definition. */
export function pinOf(definition: Record<string, unknown>): PinnedTool {
  return makePin("tools", definition, { approvedAt: "" });
}

export function judgeToolDefinition(tool: Record<string, unknown>, pinned: PinnedTool | undefined, context: DefinitionContext = {}): DefinitionVerdict {
  return judgePinnable("tools", tool, pinned, context);
}

export function judgePromptDefinition(prompt: Record<string, unknown>, pinned: PinnedTool | undefined, context: DefinitionContext = {}): DefinitionVerdict {
  return judgePinnable("prompts", prompt, pinned, context);
}

export function judgeResourceTemplate(template: Record<string, unknown>, pinned: PinnedTool | undefined, context: DefinitionContext = {}): DefinitionVerdict {
  return judgePinnable("resourceTemplates", template, pinned, context);
}

/** A listed resource: scanned, never pinned. deny = hidden (poisoned, or not a resource). */
export function judgeResource(resource: Record<string, unknown>, context: DefinitionContext = {}): DefinitionVerdict {
  if (typeof resource !== "object" || resource === null || Array.isArray(resource) || typeof resource.uri !== "string" || resource.uri === "")
    return { decision: "deny", reason: "hidden: the resource has no 'uri'" };
  const label = `resource ${JSON.stringify(resource.uri)}`;
  if (context.scan !== false) {
    const findings = scanDefinition("resource", resource, context);
    if (findings.length) return { decision: "deny", reason: `hidden: ${label} looks poisoned: ${describe(findings)}` };
  }
  return { decision: "allow", reason: `${label} is clean` };
}

function judgePinnable(kind: PinKind, item: Record<string, unknown>, pinned: PinnedTool | undefined, context: DefinitionContext): DefinitionVerdict {
  const noun = kind === "tools" ? "tool definition" : kind === "prompts" ? "prompt" : "resource template";
  if (typeof item !== "object" || item === null || Array.isArray(item)) return { decision: "deny", reason: `hidden: the ${noun} is not an object` };
  if (typeof item.name !== "string" || item.name === "") return { decision: "deny", reason: `the ${noun} has no name` };
  // Tools keep their bare quoted name in reasons, as before prompts and templates were judged too.
  const label = kind === "tools" ? JSON.stringify(item.name) : `${kind === "prompts" ? "prompt" : "resource template"} ${JSON.stringify(item.name)}`;
  if (context.policy?.decision === "deny") return { ...context.policy, reason: `hidden: ${context.policy.reason}` };

  let status: PinStatus | undefined;
  let digest: string | undefined;
  let unpinnable: string | undefined;
  try {
    status = compareDefinition(kind, pinned, item);
    digest = definitionDigest(kind, item);
  } catch (error) {
    if (!(error instanceof PinInputError)) throw error;
    unpinnable = error.message;
  }
  const skipScan = context.scan === false || (context.trustPinned === true && status?.status === "same");
  if (!skipScan) {
    const findings = scanDefinition(SCAN_KINDS[kind], item, context);
    if (findings.length) {
      const what = kind === "tools" ? `the definition of ${label}` : label;
      return { decision: "deny", reason: `hidden: ${what} looks poisoned: ${describe(findings)}`, ...(digest ? { digest } : {}) };
    }
  }
  if (unpinnable !== undefined || status === undefined || digest === undefined) return { decision: "deny", reason: `hidden: the definition cannot be pinned: ${unpinnable ?? "unknown error"}` };
  const seen = { pinStatus: status.status, digest };
  if (pinned !== undefined && pinned.name !== item.name) {
    // A different name is a different item: it must not inherit the approval of the one it replaces.
    return { decision: "ask", reason: `${label} was never approved; it takes the place of approved ${JSON.stringify(pinned.name)}`, ...seen };
  }
  switch (status.status) {
    case "new":
      return { decision: "allow", reason: `${label} is new and clean: pinned on first use`, ...seen, repin: true };
    case "same":
      return { decision: "allow", reason: `${label} matches its approved definition`, ...seen };
    case "upgrade":
      return { decision: "allow", reason: `${label} matches the fields its older pin covered and passed the scan as a whole: pinned again, every field`, ...seen, repin: true };
    case "changed":
      return { decision: "ask", reason: `${label} changed since it was approved (${status.diff.summary}); it is hidden until approved again:\n${renderDiff(status.diff)}`, ...seen };
  }
}

function describe(findings: PoisoningFinding[]): string {
  const shown = findings
    .slice(0, 3)
    .map((f) => `${f.kind} in ${f.field}: ${f.reason} (${f.excerpt})`)
    .join("; ");
  return `${shown}${findings.length > 3 ? `; and ${findings.length - 3} more` : ""}`;
}
