// `mcp-warden scan [--json]`: starts every configured server as the gateway would (same policy,
// same sandboxes, same network checks), lists its tools, and reports what the gateway would do with
// each: expose, hide as poisoned, or hold back as changed since approved. Nothing is pinned or
// approved here, and no tool is called; every server is stopped afterwards.
import { join } from "node:path";
import { fsEnvironment } from "../adapters/fs-environment.js";
import { filePinStore, type ServerPins } from "../adapters/pin-store.js";
import { planUpstreams } from "../gateway/upstreams.js";
import { canonicalToolName, compilePolicy } from "../policy/index.js";
import { judgeToolDefinition } from "../policy/integrity/definitions.js";
import { visibleText } from "../policy/integrity/display.js";
import { serverIdentity } from "../policy/integrity/pins.js";
import type { Decision } from "../policy/types.js";
import type { ResolvedSettings } from "../settings/index.js";
import { stateDir } from "../settings/paths.js";

export interface ScanReport {
  servers: {
    name: string;
    /** ran: listed its tools; blocked: the policy or its sandbox keeps it from running; failed: it did not start. */
    status: "ran" | "blocked" | "failed";
    reason?: string;
    /** Whether its launch configuration is the approved one (pins on). */
    identity?: "approved" | "new" | "changed" | "new-project-server";
    tools: { name: string; decision: Decision; reason: string }[];
  }[];
  /** Tools hidden (deny) or held back (ask), over all servers. */
  flagged: number;
}

export async function scan(settings: ResolvedSettings, env: NodeJS.ProcessEnv): Promise<ScanReport> {
  const environment = fsEnvironment({ env, settingsFiles: settings.files.map((f) => f.file), auditDir: settings.audit.dir });
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
  const store = settings.integrity.pins ? filePinStore(join(stateDir(env), "pins.json")) : undefined;
  const pinned: ServerPins[] = store ? await store.list() : [];
  const report: ScanReport = { servers: [], flagged: 0 };
  for (const { server, verdict } of plan.blocked) report.servers.push({ name: server.name, status: "blocked", reason: verdict.reason, tools: [] });

  const started = await Promise.allSettled([...plan.upstreams.values()].map((u) => u.ensureStarted()));
  const upstreams = [...plan.upstreams.values()];
  try {
    const others = upstreams.flatMap((u) => u.lists.tools.map((t) => ({ server: u.name, name: t.name })));
    for (const [i, u] of upstreams.entries()) {
      const outcome = started[i]!;
      if (outcome.status === "rejected") {
        report.servers.push({ name: u.name, status: "failed", reason: (outcome.reason as Error).message, tools: [] });
        continue;
      }
      const identity = serverIdentity(u.server.entry);
      const record = pinned.find((r) => r.identity.digest === identity.digest);
      const entry: ScanReport["servers"][number] = { name: u.name, status: "ran", tools: [] };
      if (store) {
        entry.identity = record
          ? "approved"
          : pinned.some((r) => r.serverName === u.name)
            ? "changed"
            : u.server.source.layer === "project"
              ? "new-project-server"
              : "new";
      }
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

export async function scanCommand(opts: { settings: ResolvedSettings; env: NodeJS.ProcessEnv; json?: boolean }, out: NodeJS.WritableStream): Promise<number> {
  const report = await scan(opts.settings, opts.env);
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
