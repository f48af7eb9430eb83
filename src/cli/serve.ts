// `mcp-warden serve`: loads the settings, builds the gateway core and the adapters the HTTP front
// runs (authenticator, rate limiter, per-principal rules, Claude Code's http hook), and serves until
// a signal drains it. Refuses to start without a way to authenticate: there is no anonymous mode.
import type { Principal } from "../policy/principal.js";
import type { ResolvedSettings } from "../settings/index.js";

export interface ServeCommandOptions {
  settings: ResolvedSettings;
  env: NodeJS.ProcessEnv;
  listen?: string;
  /** The `--settings` files, for the hook endpoint's settings (reloaded when they change). */
  cliFiles?: string[];
}

/** A reason serve must not start, as one sentence saying what to do; undefined when it may. */
export function serveRefusal(settings: ResolvedSettings): string | undefined {
  const auth = settings.remote?.auth;
  const keys = Object.keys(auth?.apiKeys ?? {}).length;
  if (!auth?.issuer && !auth?.jwksUri && keys === 0) {
    return "serve needs a way to authenticate callers: set remote.auth.issuer (an OpenID provider) or create an API key with `mcp-warden keys create NAME`";
  }
  if (settings.forceLoginMethod === "sso" && !auth?.issuer && !auth?.jwksUri) {
    return "forceLoginMethod is \"sso\" but remote.auth.issuer is not set: set the OpenID provider's issuer URL";
  }
  for (const server of settings.servers) {
    const exchange = server.entry.tokenExchange;
    if (!exchange || server.entry.disabled) continue;
    if (!auth?.issuer) return `server '${server.name}' uses tokenExchange, which trades callers' access tokens of the identity provider, but remote.auth.issuer is not set: set it`;
  }
  return undefined;
}

/** The token exchangers of the servers that use one; a missing client secret is a refusal naming its variable. */
async function tokenExchangers(settings: ResolvedSettings, env: NodeJS.ProcessEnv): Promise<Map<string, import("../auth/token-exchange.js").TokenExchanger>> {
  const { TokenExchanger, TokenExchangeError } = await import("../auth/token-exchange.js");
  const out = new Map<string, import("../auth/token-exchange.js").TokenExchanger>();
  for (const server of settings.servers) {
    const x = server.entry.tokenExchange;
    if (!x || server.entry.disabled) continue;
    const secret = env[x.clientSecretEnv];
    if (!secret)
      throw new ServeRefused(`server '${server.name}': the environment variable ${x.clientSecretEnv} (tokenExchange.clientSecretEnv) is not set; set it to the client secret of '${x.clientId}' at the identity provider`);
    try {
      out.set(
        server.name,
        new TokenExchanger({
          server: server.name,
          issuer: settings.remote!.auth!.issuer!,
          clientId: x.clientId,
          clientSecret: secret,
          ...(x.audience !== undefined ? { audience: x.audience } : {}),
          ...(x.resource !== undefined ? { resource: x.resource } : {}),
          ...(x.scope !== undefined ? { scope: x.scope } : {}),
          ...(x.tokenEndpoint !== undefined ? { tokenEndpoint: x.tokenEndpoint } : {}),
        }),
      );
    } catch (e) {
      if (e instanceof TokenExchangeError) throw new ServeRefused(e.message);
      throw e;
    }
  }
  return out;
}

export async function runServe(opts: ServeCommandOptions, log: (m: string) => void): Promise<{ url: string; close(reason: string): Promise<void> }> {
  const { settings, env } = opts;
  const refusal = serveRefusal(settings);
  if (refusal) throw new ServeRefused(refusal);
  const { resolveRemote, serve } = await import("../fronts/http/serve.js");
  const { Gateway, VERSION } = await import("../gateway/gateway.js");
  const { createAuthenticator, AuthConfigError } = await import("../auth/authenticator.js");
  const { FailureBudget } = await import("../auth/failure-budget.js");
  const { RateLimiter, DEFAULT_STORE_TIMEOUT_MS } = await import("../limits/index.js");
  const { openSharedState } = await import("./serve-state.js");
  const { compilePrincipalPolicies } = await import("../policy/principals.js");
  const { createClaudeCodeHookHandler } = await import("../fronts/http/claude-code-hook.js");
  const { reloadingSettings } = await import("../fronts/http/hook-settings.js");
  const { asPrincipal } = await import("../check/judge.js");
  const { approvalsEndpoint, approverActions } = await import("../fronts/http/approvals-endpoint.js");
  const { buildConsole, consoleRefusal } = await import("../fronts/console/setup.js");
  const consoleProblem = consoleRefusal(settings, env);
  if (consoleProblem) throw new ServeRefused(consoleProblem);

  const remote = resolveRemote(settings.remote, opts.listen);
  let authenticator;
  try {
    authenticator = createAuthenticator({
      resource: remote.resource,
      auth: settings.remote?.auth ?? {},
      ...(settings.forceLoginMethod ? { forceLoginMethod: settings.forceLoginMethod } : {}),
      ...(settings.forceLoginOrgUUID ? { forceLoginOrgUUID: settings.forceLoginOrgUUID } : {}),
    });
  } catch (e) {
    // A configuration that cannot authenticate anybody safely is the operator's to fix.
    if (e instanceof AuthConfigError) throw new ServeRefused(e.message);
    throw e;
  }
  const exchangers = await tokenExchangers(settings, env);
  // Before the core starts: Redis unreachable with rate limits configured means serve does not start,
  // with nothing to undo (sessions alone carry on without it: serve-state.ts).
  let shared;
  try {
    shared = await openSharedState(settings, env, log, { commandTimeoutMs: DEFAULT_STORE_TIMEOUT_MS, sessions: remote.sessions });
  } catch (e) {
    throw new ServeRefused((e as Error).message);
  }
  const { CallerTokens } = await import("../auth/caller-tokens.js");
  const { exchangedCredential } = await import("../gateway/exchanged-credential.js");
  const callerTokens = exchangers.size ? new CallerTokens() : undefined;
  const core = new Gateway({ settings, env });
  // Replaced whole by a settings reload (src/ops/settings-reload.ts); the rate limiter reads the current one.
  let principals = compilePrincipalPolicies(settings, core.environment, core.policy);
  core.setPolicyFor((p) => principals.forPrincipal(p));
  const anyPrincipalLimits = Object.values(settings.principals ?? {}).some((e) => e.rateLimits !== undefined);
  const limiter = new RateLimiter({
    settings: settings.remote?.rateLimits,
    ...(shared?.limitStore ? { store: shared.limitStore } : {}),
    onStoreHealth: (error) => {
      const onError = settings.remote?.rateLimits?.onStoreError ?? "deny";
      if (error !== undefined) log(`rate limits: the limit store fails (${error}); remote.rateLimits.onStoreError is "${onError}"`);
      else log("rate limits: the limit store answers again");
      core.audit.append({ kind: "gateway", event: error !== undefined ? "limit-store-failing" : "limit-store-recovered", ...(error !== undefined ? { error, detail: { onStoreError: onError } } : {}) });
    },
    ...(anyPrincipalLimits
      ? {
          principalLimits: (p: Principal) => {
            const r = principals.rateLimitsFor(p);
            return {
              ...(r.perPrincipal ? { perPrincipal: r.perPrincipal.rate } : {}),
              perTool: Object.fromEntries(Object.entries(r.perTool).map(([k, v]) => [k, v.rate])),
              source: r.perPrincipal ? `principals["${r.perPrincipal.selector}"]` : "principals",
            };
          },
        }
      : {}),
  });
  const budget = new FailureBudget();
  const ops = await import("./serve-ops.js");
  let endpointSessions: () => number = () => 0;
  let metrics;
  let readiness;
  try {
    metrics = ops.buildMetrics(core, settings, env, () => endpointSessions());
    readiness = ops.readinessChecks(core, settings, env, authenticator.keysReachable);
  } catch (e) {
    // remote.metrics or a store URL that cannot be used: the operator's to fix before serve starts.
    await core.close("the operations settings are not usable");
    await shared?.close();
    throw new ServeRefused((e as Error).message);
  }
  // Claude Code's http hook: one central policy (serve's own settings and directory), per caller,
  // recorded in serve's audit log; the settings are reloaded when a file changes.
  const hookSettings = reloadingSettings({ env, cliFiles: opts.cliFiles ?? [], project: { dir: process.cwd() } });
  const hook = createClaudeCodeHookHandler({
    settings: { forCall: (call) => asPrincipal(hookSettings.forCall(call), call.principal) },
    audit: (entry) => core.audit.append(entry),
    auditDurable: () => core.audit.flush(),
  });
  // No upstream state is shared between principals unless a server is marked `share: "shared"`.
  core.enablePerCallerUpstreams({
    idleMs: remote.sessions.idleMs,
    maxInstances: MAX_UPSTREAM_INSTANCES,
    // A token-exchange server's instance sends, with each request, a token issued for its caller.
    credentialFor: (server, caller) => {
      const exchanger = exchangers.get(server.name);
      return exchanger && callerTokens ? exchangedCredential({ server: server.name, caller, exchanger, callerTokens, audit: (entry) => core.audit.append(entry) }) : undefined;
    },
  });
  const tracing = settings.remote?.tracing;
  const tracer = tracing ? (await import("../ops/tracing.js")).createTracer(tracing, VERSION) : undefined;
  if (tracer) core.setTracer(tracer);
  // With state.redis, approvers answer on any replica the questions every replica holds.
  // Approvers answer held calls through /v1/approvals even with the local approval page off.
  // So do the console's approvers and admins (remote.console.roles).
  const consoleRoles = settings.remote?.console?.enabled !== false ? settings.remote?.console?.roles : undefined;
  if ((settings.remote?.auth?.approvers ?? []).length > 0 || (consoleRoles?.approver ?? []).length > 0 || (consoleRoles?.admin ?? []).length > 0) {
    core.enableApproverChannel(settings.remote?.console && settings.remote.console.enabled !== false ? `the console (${new URL(remote.resource).origin}/console/approvals) or /v1/approvals` : "/v1/approvals");
  }
  const sharedApprovals = await shared?.shareApprovals(core.approvals, { sessionGrantMs: remote.sessions.maxMs, secrets: settings.secrets });
  await core.startCore({ front: "http", resource: remote.resource });
  const approverAnswers = approverActions(core.approvals, core.audit, sharedApprovals);
  // The console reads the settings a reload last applied (roles, approvers, the policy it explains with).
  let currentSettings = settings;
  const consoleBuilt = buildConsole({
    settings: () => currentSettings,
    env,
    resource: remote.resource,
    approvals: approverAnswers,
    servers: () => core.status().map((s) => ({ name: s.name, state: s.state, ...((s.lastError ?? s.blockedBy) !== undefined ? { error: (s.lastError ?? s.blockedBy)! } : {}) })),
    audit: core.audit,
    // With state.redis a console session is every replica's: no sticky routing needed.
    ...(shared ? { sessions: shared.consoleSessions, incidentReports: shared.incidentReports } : {}),
    serverDetails: { status: () => core.status(), instancesOf: (name) => core.instancesOf(name) },
  });
  let serving;
  try {
    serving = await serve({
      core,
      audit: core.audit,
      remote,
      authenticator,
      ...(limiter.active ? { limiter } : {}),
      hook,
      approvals: approvalsEndpoint(approverAnswers, settings.remote?.auth?.approvers ?? []),
      ...(consoleBuilt ? { console: consoleBuilt.console } : {}),
      auditFailure: (address) => budget.take(address),
      metrics: {
        text: () => metrics.metrics.text(),
        access: metrics.access,
        authFailure: (status) => metrics.metrics.authFailure(status),
        rateLimited: (limit) => metrics.metrics.rateLimited(limit),
      },
      readiness: readiness.run,
      ...(shared ? { sessionStore: shared.sessionStore } : {}),
      ...(callerTokens ? { callerTokens } : {}),
      log,
    });
  } catch (e) {
    await consoleBuilt?.console.close();
    await core.close(`could not listen on ${remote.host}:${remote.port}`);
    await shared?.close();
    readiness.close();
    throw new Error(`cannot listen on ${remote.host}:${remote.port}: ${(e as Error).message} (choose another with --listen HOST:PORT)`);
  }
  endpointSessions = () => serving.endpoint.sessions.size;
  if (consoleBuilt)
    log(
      `console at ${new URL(consoleBuilt.redirectUri).origin}/console (sign-in redirect URI ${consoleBuilt.redirectUri}${consoleBuilt.postLogoutRedirectUri ? `, post-logout redirect URI ${consoleBuilt.postLogoutRedirectUri}` : ""})`,
    );
  core.startEager();
  // Settings changes are loaded, validated and, when valid, their rules applied without a restart.
  const { compilePolicy } = await import("../policy/index.js");
  const { reloadSettings } = await import("../ops/settings-reload.js");
  const reloader = reloadSettings({
    audit: core.audit,
    env,
    cliFiles: opts.cliFiles ?? [],
    initial: settings,
    applyPolicy: async (next) => {
      // Compiled in full before anything is replaced: a rule that does not compile changes nothing.
      const base = compilePolicy(next.policy, core.environment);
      const compiled = compilePrincipalPolicies(next, core.environment, base);
      principals = compiled;
      await core.replacePolicy((p) => compiled.forPrincipal(p), base, next);
      currentSettings = next;
    },
    onResult: (result) => metrics.metrics.reload(result),
    livePrincipalLimits: anyPrincipalLimits,
    log,
  });
  // Failed authentications over a source's budget were counted, not audited: their counts are.
  const writeSuppressed = () => {
    const counts = budget.drain();
    if (counts.length) core.audit.append({ kind: "request", event: "auth-failed-suppressed", detail: { sources: counts } });
  };
  const drainTimer = setInterval(writeSuppressed, 60_000);
  drainTimer.unref();
  const close = serving.close.bind(serving);
  serving.close = async (reason: string) => {
    clearInterval(drainTimer);
    reloader.close();
    writeSuppressed();
    await close(reason);
    // The last spans go out (bounded by the exporter's timeout); a collector that is down costs only them.
    await tracer?.shutdown();
    hook.close();
    readiness.close();
    await shared?.close();
  };
  if (settings.bashSandbox.enabled) {
    log("note: sandboxed Bash (sandbox.enabled or a Bash networkPolicy) is applied by the command hook (`mcp-warden hook`) only; the http hook at /v1/hooks/claude-code judges Bash commands but cannot wrap them, since they run on Claude Code's machine");
  }
  if (!isLoopback(remote.host) && !remote.tls) {
    log(`warning: listening on ${remote.host} without TLS; put a TLS-terminating proxy in front (remote.trustedProxies) or set remote.tls`);
  }
  return serving;
}

export class ServeRefused extends Error {}

/** Per-caller upstream instances running at once; past it a new caller is refused, never given another's. */
const MAX_UPSTREAM_INSTANCES = 256;

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || host.startsWith("127.");
}
