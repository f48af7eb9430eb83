// The upstreams a gateway (or `mcp-warden scan`) runs for its settings: the policy decides whether a
// server may run at all, then src/sandbox/gate.ts whether and how it is sandboxed (or, for a remote
// server, which network policy its connections obey). One place, so `scan` starts servers exactly as
// the gateway would.
import { join } from "node:path";
import type { AuditEntry } from "../audit/record.js";
import { fsEnvironment } from "../adapters/fs-environment.js";
import { compilePolicy, type CompiledPolicy } from "../policy/index.js";
import type { ConfiguredServer, Verdict } from "../policy/types.js";
import { sandboxFor } from "../sandbox/gate.js";
import { mandatoryDenies } from "../sandbox/policy.js";
import type { ResolvedSettings } from "../settings/index.js";
import { stateDir } from "../settings/paths.js";
import { type ClientRequestHandlers, Upstream } from "../upstream/upstream.js";
import { noCallerCredential, type UpstreamCredential } from "../upstream/credential.js";

export interface UpstreamPlan {
  upstreams: Map<string, Upstream>;
  /**
   * Another instance of an allowed server (remote mode: one per principal or session), with its own
   * handlers and, for a token-exchange server, the credential of the caller it serves.
   */
  instances: Map<string, (instance: string, handlers: ClientRequestHandlers, credential?: UpstreamCredential) => Upstream>;
  /** Servers that do not run, and why. */
  blocked: { server: ConfiguredServer; verdict: Verdict }[];
}

export function planUpstreams(
  s: ResolvedSettings,
  ctx: {
    env: NodeJS.ProcessEnv;
    policy: CompiledPolicy;
    home: string;
    protectedPaths: string[];
    /** Where sandbox egress and remote-connection decisions go. */
    audit: (entry: AuditEntry) => void;
    clientRequestHandlers: ClientRequestHandlers;
  },
): UpstreamPlan {
  const mandatoryDeny = mandatoryDenies(ctx.home, ctx.protectedPaths);
  const cacheDir = join(stateDir(ctx.env), "cache");
  const upstreams = new Map<string, Upstream>();
  const instances: UpstreamPlan["instances"] = new Map();
  const blocked: UpstreamPlan["blocked"] = [];
  for (const server of s.servers) {
    let verdict = ctx.policy.decideServer(server);
    const sandbox = verdict.decision === "allow" ? sandboxFor(server, s, ctx.home, process.cwd(), cacheDir) : { kind: "none" as const };
    if (sandbox.kind === "refused") verdict = sandbox.verdict;
    if (verdict.decision !== "allow") {
      blocked.push({ server, verdict });
      continue;
    }
    // A token-exchange server's instance without a caller (stdio mode, or the gateway's own) gets no credential at all.
    const make = (handlers: ClientRequestHandlers, instance?: string, credential?: UpstreamCredential) =>
      new Upstream(server, {
        logDir: s.gateway.logDir,
        maxMessageBytes: s.gateway.maxMessageBytes,
        callTimeoutMs: s.gateway.callTimeoutMs,
        restart: s.gateway.restart,
        env: ctx.env,
        ...(sandbox.kind === "sandboxed" ? { sandbox: { policy: sandbox.policy, egress: sandbox.egress, home: ctx.home, mandatoryDeny, cacheDir, audit: ctx.audit } } : {}),
        ...(sandbox.kind === "remote" ? { remoteEgress: { policy: sandbox.egress, audit: ctx.audit } } : {}),
        clientRequestHandlers: handlers,
        ...(instance !== undefined ? { instance } : {}),
        ...(server.entry.tokenExchange ? { credential: credential ?? noCallerCredential(server.name) } : {}),
      });
    upstreams.set(server.name, make(ctx.clientRequestHandlers));
    instances.set(server.name, (instance, handlers, credential) => make(handlers, instance, credential));
  }
  return { upstreams, instances, blocked };
}

/**
 * The upstreams a command (not a gateway) starts briefly to list what servers offer (`scan`,
 * `init`'s starter policy): the same policy, sandboxes and network checks as the gateway, no audit,
 * and every request a server sends to the client refused (nobody is there to answer it).
 */
export function planForListing(settings: ResolvedSettings, env: NodeJS.ProcessEnv, command: string): { plan: UpstreamPlan; policy: CompiledPolicy } {
  const environment = fsEnvironment({ env, settingsFiles: settings.files.map((f) => f.file), auditDir: settings.audit.dir, auditKeyFile: settings.audit.hmacKeyFile });
  const policy = compilePolicy(settings.policy, environment);
  const refuse = async (): Promise<never> => {
    throw new Error(`mcp-warden ${command} does not answer server requests`);
  };
  const plan = planUpstreams(settings, {
    env,
    policy,
    home: environment.home,
    protectedPaths: environment.protectedPaths,
    audit: () => undefined,
    clientRequestHandlers: { elicit: refuse, sample: refuse, listRoots: refuse },
  });
  return { plan, policy };
}
