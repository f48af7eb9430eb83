// `mcp-warden scan [--json]`: starts every configured server as the gateway would (same policy,
// same sandboxes, same network checks), lists its tools, and reports what the gateway would do with
// each: expose, hide as poisoned, or hold back as changed since approved. Nothing is pinned or
// approved here, and no tool is called; every server is stopped afterwards. A server whose launch
// waits for a person's approval (src/gateway/launch-approval.ts) is not started unless asked to
// (`--include-unapproved`): scanning a cloned repository must not run its code.
//
// Exit 1 ("flagged") when a person must look: a tool hidden as poisoned or held back as changed, a
// server waiting for approval, and a server that could not be checked (it failed to start, or its
// sandbox cannot run here). A CI job must not pass a server it never saw. What the rules deny on
// purpose (a denied tool, a denied or disabled server) is reported, not flagged.
import { pinStoreFor } from "../adapters/pin-store-factory.js";
import { planForListing } from "../gateway/upstreams.js";
import { canonicalToolName } from "../policy/index.js";
import { judgeToolDefinition } from "../policy/integrity/definitions.js";
import { visibleText } from "../policy/integrity/display.js";
import { launchStatus, REPOSITORY_LAYERS, type LaunchStatus } from "../gateway/launch-approval.js";
import type { Decision } from "../policy/types.js";
import type { ResolvedSettings } from "../settings/index.js";
import { unpinnedPackageNote } from "../settings/package-notes.js";
import { remoteSandboxNotes } from "../settings/remote-only.js";
import { containerImages, describeImageLine, type ContainerImageCheck } from "./container-images.js";

export interface ScanReport {
  servers: {
    name: string;
    /** ran: listed its tools; blocked: the policy or its sandbox keeps it from running; failed: it did not start; awaiting-approval: not started, its launch needs a person's approval. */
    status: "ran" | "blocked" | "failed" | "awaiting-approval";
    /** Whether this server itself counts as flagged (failed, awaiting approval, a sandbox that cannot run here). */
    flagged?: boolean;
    reason?: string;
    /** Something the gateway does not do for this server, said so it is not silently ignored (a remote server's sandbox). */
    note?: string;
    /** Whether its launch configuration is the approved one (pins on). */
    identity?: "approved" | "new" | "changed" | "new-project-server";
    /** A docker/podman server's image: as written, whether pinned by digest, the local image ID it runs (or would). */
    image?: Omit<ContainerImageCheck, "subject">;
    /** rule: the permission rule that denies the tool (hidden on purpose, not flagged). */
    tools: { name: string; decision: Decision; reason: string; rule?: string }[];
  }[];
  /** Everything flagged: tools hidden as poisoned or held back as changed, plus flagged servers. Non-zero: exit 1. */
  flagged: number;
  /** The same, by kind. */
  counts: { tools: number; failed: number; awaitingApproval: number };
}

export async function scan(settings: ResolvedSettings, env: NodeJS.ProcessEnv, opts: { includeUnapproved?: boolean } = {}): Promise<ScanReport> {
  const { plan, policy } = planForListing(settings, env, "scan");
  const store = pinStoreFor(settings, env);
  const report: ScanReport = { servers: [], flagged: 0, counts: { tools: 0, failed: 0, awaitingApproval: 0 } };
  for (const { server, verdict } of plan.blocked) {
    // Denied or disabled by the rules: on purpose. Allowed, but its sandbox cannot run here: not checked.
    const unchecked = policy.decideServer(server).decision === "allow";
    report.servers.push({ name: server.name, status: "blocked", reason: verdict.reason, ...(unchecked ? { flagged: true } : {}), tools: [] });
    if (unchecked) report.counts.failed++;
  }

  // Launch approval first: a server nobody approved is reported, not run (unless asked to).
  const launches = new Map<string, LaunchStatus>();
  const upstreams = [];
  for (const u of plan.upstreams.values()) {
    let found: LaunchStatus;
    try {
      found = await launchStatus(store, u.server);
    } catch (e) {
      // Fail closed: an approval that cannot be checked is not one; the server is not started.
      report.servers.push({ name: u.name, status: "failed", reason: `its approval cannot be checked: ${(e as Error).message}`, flagged: true, tools: [] });
      report.counts.failed++;
      continue;
    }
    const launch = found;
    launches.set(u.name, launch);
    // As the gateway decides (integrity.ts approveLaunch): with pins off, only a repository's servers wait.
    const waits = launch.status === "needs-approval" && (settings.integrity.pins || REPOSITORY_LAYERS.has(u.server.source.layer));
    if (waits && !opts.includeUnapproved) {
      report.servers.push({
        name: u.name,
        status: "awaiting-approval",
        reason: `${launch.why}; \`mcp-warden pins approve ${u.name}\` shows and approves it, \`mcp-warden scan --include-unapproved\` runs it anyway`,
        identity: launch.subject,
        flagged: true,
        tools: [],
      });
      report.counts.awaitingApproval++;
      continue;
    }
    upstreams.push(u);
  }
  await store.close();
  const started = await Promise.allSettled(upstreams.map((u) => u.ensureStarted()));
  try {
    const others = upstreams.flatMap((u) => u.lists.tools.map((t) => ({ server: u.name, name: t.name })));
    for (const [i, u] of upstreams.entries()) {
      const outcome = started[i]!;
      if (outcome.status === "rejected") {
        const log = u.server.entry.url === undefined ? ` (its stderr is in ${u.stderrLog})` : "";
        report.servers.push({ name: u.name, status: "failed", reason: `${(outcome.reason as Error).message}${log}`, flagged: true, tools: [] });
        report.counts.failed++;
        continue;
      }
      const launch = launches.get(u.name)!;
      const record = launch.status === "approved" ? launch.record : undefined;
      const entry: ScanReport["servers"][number] = { name: u.name, status: "ran", tools: [] };
      entry.identity = launch.status === "approved" ? "approved" : launch.status === "first-use" ? "new" : launch.subject;
      for (const tool of u.lists.tools) {
        const rules = policy.decideTool({ tool: canonicalToolName(u.name, tool.name), input: {} });
        const v = judgeToolDefinition(tool as unknown as Record<string, unknown>, record?.tools[tool.name], {
          server: u.name,
          otherTools: others,
          policy: rules,
          scan: settings.integrity.scanDefinitions,
        });
        if (v.decision !== "allow" && rules.decision !== "deny") report.counts.tools++;
        entry.tools.push({ name: tool.name, decision: v.decision, reason: v.reason, ...(rules.decision === "deny" && rules.rule !== undefined ? { rule: rules.rule } : {}) });
      }
      report.servers.push(entry);
    }
  } finally {
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
  }
  // Whatever became of it (ran, failed, awaiting approval), a remote server's sandbox is said to be unenforced here.
  for (const entry of report.servers) {
    const server = settings.servers.find((s) => s.name === entry.name);
    const note = server === undefined ? undefined : (remoteSandboxNotes([server])[0] ?? unpinnedPackageNote(server));
    if (note !== undefined) entry.note = note;
  }
  const images = new Map(containerImages(settings, env).map(({ subject, ...image }) => [subject, image]));
  for (const entry of report.servers) {
    const image = images.get(`server ${entry.name}`);
    if (image !== undefined) entry.image = image;
  }
  report.flagged = report.counts.tools + report.counts.failed + report.counts.awaitingApproval;
  return report;
}

export async function scanCommand(opts: { settings: ResolvedSettings; env: NodeJS.ProcessEnv; json?: boolean; includeUnapproved?: boolean }, out: NodeJS.WritableStream): Promise<number> {
  const report = await scan(opts.settings, opts.env, { includeUnapproved: opts.includeUnapproved === true });
  if (opts.json) {
    out.write(JSON.stringify(report, null, 2) + "\n");
    return report.flagged ? 1 : 0;
  }
  const label: Record<Decision, string> = { allow: "ok      ", ask: "CHANGED ", deny: "HIDDEN  " };
  for (const s of report.servers) {
    out.write(`${visibleText(s.name)}: ${s.status}${s.identity ? ` (launch configuration: ${s.identity})` : ""}${s.reason ? ` — ${visibleText(s.reason)}` : ""}\n`);
    if (s.note) out.write(`  note: ${visibleText(s.note)}\n`);
    if (s.image) out.write(`  ${visibleText(describeImageLine(s.image))}\n`);
    for (const t of s.tools) {
      const firstLine = t.reason.split("\n")[0] ?? "";
      out.write(`  ${label[t.decision]} ${visibleText(t.name)}${t.decision === "allow" ? "" : `: ${visibleText(firstLine)}`}\n`);
    }
  }
  const { tools, failed, awaitingApproval } = report.counts;
  const servers = [failed ? `${failed} server(s) not checked (did not start)` : "", awaitingApproval ? `${awaitingApproval} server(s) awaiting approval` : ""].filter(Boolean);
  out.write(`${tools} tool(s) flagged${servers.length ? `, ${servers.join(", ")},` : ""} over ${report.servers.length} server(s)\n`);
  if (failed) out.write("A server that did not start could not be checked: fix what its line above says, or take it out of service with `mcp-warden servers disable NAME`.\n");
  return report.flagged ? 1 : 0;
}
