// `mcp-warden scan [--json]`: starts every configured server as the gateway would (same policy,
// same sandboxes, same network checks), lists its tools, and reports what the gateway would do with
// each: expose, hide as poisoned, or hold back as changed since approved. Nothing is pinned or
// approved here, and no tool is called; every server is stopped afterwards. A server whose launch
// waits for a person's approval (src/gateway/launch-approval.ts) is not started unless asked to
// (`--include-unapproved`): scanning a cloned repository must not run its code.
import { join } from "node:path";
import { fsEnvironment } from "../adapters/fs-environment.js";
import { filePinStore } from "../adapters/pin-store.js";
import { planUpstreams } from "../gateway/upstreams.js";
import { canonicalToolName, compilePolicy } from "../policy/index.js";
import { judgeToolDefinition } from "../policy/integrity/definitions.js";
import { visibleText } from "../policy/integrity/display.js";
import { launchStatus, type LaunchStatus } from "../gateway/launch-approval.js";
import type { Decision } from "../policy/types.js";
import type { ResolvedSettings } from "../settings/index.js";
import { stateDir } from "../settings/paths.js";

export interface ScanReport {
  servers: {
    name: string;
    /** ran: listed its tools; blocked: the policy or its sandbox keeps it from running; failed: it did not start; awaiting-approval: not started, its launch needs a person's approval. */
    status: "ran" | "blocked" | "failed" | "awaiting-approval";
    reason?: string;
    /** Whether its launch configuration is the approved one (pins on). */
    identity?: "approved" | "new" | "changed" | "new-project-server";
    tools: { name: string; decision: Decision; reason: string }[];
  }[];
  /** Tools hidden (deny) or held back (ask), over all servers. */
  flagged: number;
}

export async function scan(settings: ResolvedSettings, env: NodeJS.ProcessEnv, opts: { includeUnapproved?: boolean } = {}): Promise<ScanReport> {
  const environment = fsEnvironment({ env, settingsFiles: settings.files.map((f) => f.file), auditDir: settings.audit.dir, auditKeyFile: settings.audit.hmacKeyFile });
  const policy = compilePolicy(settings.policy, environment);
  const refuse = async () => {
    throw new Error("mcp-warden scan does not answer server requests");
  };
  const plan = planUpstreams(settings, {
    env,
    policy,
    home: environment.home,
    protectedPaths: environment.protectedPaths,
    audit: () => undefined,
    clientRequestHandlers: { elicit: refuse, sample: refuse, listRoots: refuse },
  });
  const store = filePinStore(join(stateDir(env), "pins.json"));
  const report: ScanReport = { servers: [], flagged: 0 };
  for (const { server, verdict } of plan.blocked) report.servers.push({ name: server.name, status: "blocked", reason: verdict.reason, tools: [] });

  // Launch approval first: a server nobody approved is reported, not run (unless asked to).
  const launches = new Map<string, LaunchStatus>();
  const upstreams = [];
  for (const u of plan.upstreams.values()) {
    const launch = await launchStatus(store, u.server);
    launches.set(u.name, launch);
    if (launch.status === "needs-approval" && !opts.includeUnapproved) {
      report.servers.push({ name: u.name, status: "awaiting-approval", reason: `${launch.why}; \`mcp-warden scan --include-unapproved\` runs it anyway`, identity: launch.subject, tools: [] });
      report.flagged++;
      continue;
    }
    upstreams.push(u);
  }
  const started = await Promise.allSettled(upstreams.map((u) => u.ensureStarted()));
  try {
    const others = upstreams.flatMap((u) => u.lists.tools.map((t) => ({ server: u.name, name: t.name })));
    for (const [i, u] of upstreams.entries()) {
      const outcome = started[i]!;
      if (outcome.status === "rejected") {
        report.servers.push({ name: u.name, status: "failed", reason: (outcome.reason as Error).message, tools: [] });
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
        if (v.decision !== "allow" && rules.decision !== "deny") report.flagged++;
        entry.tools.push({ name: tool.name, decision: v.decision, reason: v.reason });
      }
      report.servers.push(entry);
    }
  } finally {
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
  }
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
    for (const t of s.tools) {
      const firstLine = t.reason.split("\n")[0] ?? "";
      out.write(`  ${label[t.decision]} ${visibleText(t.name)}${t.decision === "allow" ? "" : `: ${visibleText(firstLine)}`}\n`);
    }
  }
  out.write(`${report.flagged} tool(s) flagged over ${report.servers.length} server(s)\n`);
  return report.flagged ? 1 : 0;
}
