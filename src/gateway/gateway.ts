// The gateway: an MCP server to the client (stdio, both protocol eras, via the SDK's serveStdio)
// and an MCP client to every configured upstream. Every forwarded request runs the pipeline.
import { createHash } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import type { Server, ServerContext, Tool } from "@modelcontextprotocol/server";
import type { AuditSink } from "../audit/index.js";
import { openAuditSink } from "../audit/open-sink.js";
import type { ObservedAuditSink } from "../audit/observed.js";
import { compileRedactor, type Redactor } from "../audit/redact.js";
import { compilePolicy, canonicalToolName, type CompiledPolicy } from "../policy/index.js";
import type { ResolvedSettings } from "../settings/index.js";
import { runtimeDir } from "../settings/paths.js";
import { reapOrphans } from "../upstream/orphans.js";
import { reapContainers } from "../sandbox/reap-containers.js";
import type { AuditEntry } from "../audit/record.js";
import type { Upstream } from "../upstream/upstream.js";
import { Catalog } from "./catalog.js";
import { InputBroker, type InputMethod } from "./input-broker.js";
import { ErrorCodes, GatewayError } from "./errors.js";
import type { ForwardedMethod, RequestContext, Stage } from "./pipeline.js";
import { capabilityFor, forwardRequest, type ForwardHost } from "./forward-request.js";
import { askStage } from "./stages/ask.js";
import { secretArgumentsStage, secretResultsStage, secretScannerFor } from "./stages/secrets.js";
import { resultsStage } from "./stages/results.js";
import { auditDecisionStage, auditOutcomeStage } from "./stages/audit.js";
import { decideStage } from "./stages/decide.js";
import { forwardStage } from "./stages/forward.js";
import { guardStage } from "./stages/guard.js";
import { fsEnvironment } from "../adapters/fs-environment.js";
import { ApprovalBroker } from "../approvals/broker.js";
import { HeldCallStore } from "../adapters/grant-store.js";
import { launchIdentity } from "./launch-approval.js";
import { pinStoreFor } from "../adapters/pin-store-factory.js";
import { IntegrityGate } from "./integrity.js";
import { buildDownstreamServer, VERSION, type DownstreamHost } from "./downstream-server.js";
import { ApprovalPageHost } from "./approval-page-host.js";
import { instanceStatus, serverStatuses, StatusFile, type InstanceStatus, type ServerStatus } from "./status-file.js";
import { writeLocalAllowRule } from "../adapters/local-rules.js";
import { ClientRequestGate } from "./client-requests.js";
import { stripControls } from "./terminal-text.js";
import { watchUpstream } from "./upstream-events.js";
import { planUpstreams } from "./upstreams.js";
import { loadSqlParser } from "../policy/guards/sql.js";
import type { PolicyEnvironment } from "../policy/builtin/types.js";
import { identifyStage } from "./stages/identify.js";
import { localUserName, serveStdioFront } from "../fronts/stdio.js";
import type { Downstream } from "./downstream.js";
import { shareModeOf, UpstreamPool } from "./upstream-pool.js";
import { localPrincipal, type Principal } from "../policy/principal.js";
import type { ConfiguredServer, Verdict } from "../policy/types.js";
import type { UpstreamCredential } from "../upstream/credential.js";
import type { CallTracer } from "../ops/tracing.js";



export { VERSION } from "./downstream-server.js";

export interface GatewayOptions {
  settings: ResolvedSettings;
  env: NodeJS.ProcessEnv;
  /** The stdio client's streams (not given to the HTTP front's core). */
  input?: Readable;
  output?: Writable;
  /** Called once the gateway has shut down (client gone, or a signal). */
  onExit?: () => void;
}

export type { ServerStatus } from "./status-file.js";

export class Gateway {
  readonly policy: CompiledPolicy;
  readonly audit: ObservedAuditSink;
  readonly upstreams = new Map<string, Upstream>();
  readonly blocked: { name: string; reason: string; transport: string }[] = [];
  private readonly catalog: Catalog;
  private readonly inputs = new InputBroker();
  /** Questions to a person (`ask`), answered by the client, the local console or the CLI. */
  readonly approvals: ApprovalBroker;
  /** Which upstream tools may be exposed (pins, identity, poisoning). */
  private readonly integrity: IntegrityGate;
  /** Servers' requests to the client (sampling, elicitation, roots): policy, audit, secrets. */
  private readonly clientRequests: ClientRequestGate;
  /** The local page server (the console and the API of `mcp-warden approvals`), started at the first question or once the client has connected. */
  private readonly approvalPage: ApprovalPageHost;
  private readonly redactor: Redactor;
  private readonly stages: Stage[];
  private readonly forwardHost: ForwardHost;
  /** Every connected client: the stdio client, or the HTTP front's sessions and requests. */
  private readonly downstreams = new Set<Downstream>();
  /** Told when a list changes (the HTTP front's 2026-07-28 subscription streams). */
  private readonly listChangeListeners = new Set<(kind: "tools" | "prompts" | "resources") => void>();
  /** The rules for a caller: the layers' rules plus the matching `principals` entries'. */
  private policyFor: (p: Principal) => CompiledPolicy = () => this.policy;
  /** The layers' rules in force: the start's, or a settings reload's (replacePolicy). */
  private layersPolicy: CompiledPolicy;
  /** The settings in force: the start's, or a settings reload's (replacePolicy). */
  private settingsNow: ResolvedSettings;
  /**
   * The digest of the rules in force, in every question and grant: a reload that changes the rules
   * ends the "for this session" grants made under the old ones.
   */
  private policyVersion: string;
  /** Remote mode: each caller's own instances of servers that are not shared. */
  private pool: UpstreamPool | undefined;
  private readonly plan: ReturnType<typeof planUpstreams>;
  private readonly statusFile: StatusFile;
  readonly environment: PolicyEnvironment;
  private closing: Promise<void> | undefined;
  /** serve with approvers: where a held call can be answered (/v1/approvals, the console); undefined without. */
  private approverChannel: string | undefined;
  /** Changes whenever a list changes, so stale pagination cursors are refused. */
  private listGeneration = 0;

  constructor(private readonly opts: GatewayOptions) {
    const s = opts.settings;
    this.settingsNow = s;
    this.policyVersion = policyDigest(s);
    this.environment = fsEnvironment({ env: opts.env, settingsFiles: s.files.map((f) => f.file), auditDir: s.audit.dir, auditKeyFile: s.audit.hmacKeyFile });
    this.policy = this.layersPolicy = compilePolicy(s.policy, this.environment);
    this.redactor = compileRedactor(s.secrets);
    // `state.postgres`: the audit log shared by replicas; otherwise the file log on this machine.
    this.audit = openAuditSink(s, opts.env, (message) => this.log(message));
    this.statusFile = new StatusFile(
      opts.env,
      () =>
        this.redactor.value({
          pid: process.pid,
          cwd: process.cwd(),
          updatedAt: new Date().toISOString(),
          settingsFiles: this.settingsNow.files,
          auditFile: this.audit.where,
          servers: this.status(),
          // What a later gateway must stop if this one dies without cleaning up.
          children: this.allUpstreams().flatMap((u) => (u.processGroup ? [{ ...u.processGroup, server: u.name }] : [])),
          // Where `mcp-warden approvals` reaches this gateway's questions (the file is 0600).
          ...(this.approvalPage.info ? { approvals: this.approvalPage.info } : {}),
          // run's local console, on the page server (`mcp-warden console` mints its links from the token above).
          ...(opts.input ? { console: { enabled: s.approvals.page } } : {}),
        }) as Record<string, unknown>,
      (message) => this.log(message),
    );
    const plan = (this.plan = planUpstreams(s, {
      env: opts.env,
      policy: this.policy,
      home: this.environment.home,
      protectedPaths: this.environment.protectedPaths,
      audit: (entry: AuditEntry) => this.audit.appendSoon(entry),
      clientRequestHandlers: {
        elicit: (name, params, signal) => this.clientRequests.handle(name, "elicitation/create", params, signal),
        sample: (name, params, signal) => this.clientRequests.handle(name, "sampling/createMessage", params, signal),
        listRoots: (name, signal) => this.clientRequests.handle(name, "roots/list", {}, signal),
      },
    }));
    for (const { server, verdict } of plan.blocked) {
      this.blocked.push({ name: server.name, reason: verdict.reason, transport: server.entry.type ?? (server.entry.url ? "http" : "stdio") });
      this.audit.append({ kind: "server", event: "blocked", server: server.name, decision: "deny", reason: verdict.reason, rule: verdict.rule, ruleSource: verdict.source });
    }
    for (const [name, upstream] of plan.upstreams) {
      this.watch(upstream);
      this.upstreams.set(name, upstream);
    }
    this.catalog = new Catalog(this.upstreams, { separator: s.gateway.separator, prefix: s.gateway.prefix });
    this.approvals = new ApprovalBroker({ timeoutMs: s.approvals.timeoutMs });
    this.approvalPage = new ApprovalPageHost(
      this.approvals,
      s.approvals.page,
      () => this.statusFile.write(),
      (message) => this.log(message),
      // The stdio front's person also gets the console on the page server (serve has its own at /console).
      opts.input
        ? async (page) =>
            (await import("../fronts/console/local.js")).localConsole({
              ...page,
              principal: localPrincipal(localUserName()),
              broker: this.approvals,
              audit: this.audit,
              settings: () => this.settingsNow,
              env: opts.env,
              cwd: process.cwd(),
              servers: () => this.status().map((x) => ({ name: x.name, state: x.state, ...((x.lastError ?? x.blockedBy) !== undefined ? { error: (x.lastError ?? x.blockedBy)! } : {}) })),
              serverDetails: { status: () => this.status(), instancesOf: (name) => this.instancesOf(name) },
            })
        : undefined,
    );
    const identities = new Map(s.servers.map((server) => [server.name, launchIdentity(server).digest]));
    const secrets = secretScannerFor(s.secretScanning);
    // Read when a question is asked, so that a grant is bound to the rules in force then.
    const policyVersion = () => this.policyVersion;
    // state.postgres: shared with every replica; otherwise pins.json. Its connections end with the gateway.
    const pinStore = pinStoreFor(s, opts.env);
    this.closers.push(() => pinStore.close());
    this.integrity = new IntegrityGate({
      store: pinStore,
      pins: s.integrity.pins,
      scan: s.integrity.scanDefinitions,
      broker: this.approvals,
      audit: this.audit,
      policy: this.policy,
      policyVersion,
      upstreams: () => this.allUpstreams(),
      announce: (text) => {
        this.announce(text);
        // A question about a tool or a server waits on the page and in `mcp-warden approvals` too.
        void this.approvalPage.ensure();
      },
      onChange: () => this.listChanged("tools"),
      onLaunchApproved: (upstream) => void this.startApproved(upstream),
      questionTimeoutMs: 24 * 3600_000,
    });
    // Every server's launch waits for its approval (checked before each start and restart).
    for (const upstream of this.upstreams.values()) upstream.setLaunchApproval(() => this.launchApproval(upstream));
    this.clientRequests = new ClientRequestGate({
      settings: s,
      audit: this.audit,
      broker: this.approvals,
      scanner: secrets,
      policyVersion,
      identityOf: (server) => identities.get(server) ?? "unknown",
      inCall: (server, instance) => this.inputs.hasOpenCall(instance ?? server),
      canAsk: () => s.approvals.page,
      announce: (text) => {
        this.announce(text);
        void this.approvalPage.ensure();
      },
      send: (server, method, params, signal, instance) => this.toClient(instance ?? server, method, params, signal),
    });
    const services = { policy: this.policy, policyFor: (p: Principal) => this.policyFor(p), catalog: this.catalog, audit: this.audit, integrity: this.integrity };
    // The request path, in order. Read this list to see where a decision is made.
    this.stages = [
      identifyStage(services),
      decideStage(services),
      secretArgumentsStage(s.secretScanning, secrets, this.audit),
      askStage({
        broker: this.approvals,
        audit: this.audit,
        policyVersion,
        identityOf: (server) => identities.get(server) ?? "unknown",
        pageServer: async () => (await this.approvalPage.ensure()) !== undefined,
        approvers: () => this.approverChannel,
        announce: (rc, text) => this.announce(text, rc),
        // run's console is on the page server, so it is on exactly when the page is (serve's is its own).
        localConsole: opts.input !== undefined && s.approvals.page,
        writeAllowRule: async (rule) => writeLocalAllowRule(rule, { cwd: process.cwd(), env: opts.env }),
        useClient: s.approvals.client,
        // Out of band (page and CLI) only when the page is on: with it off, nobody but the client can answer.
        ...(s.approvals.page ? { heldCalls: HeldCallStore.forEnv(opts.env) } : {}),
        timeoutMs: s.approvals.timeoutMs,
        holdMs: s.approvals.holdMs,
        retryWindowMs: s.approvals.retryWindowMs,
        gateway: { pid: process.pid, cwd: process.cwd(), auditDir: s.audit.dir, ...(s.audit.hmacKeyFile !== undefined ? { auditKeyFile: s.audit.hmacKeyFile } : {}) },
        log: (message) => this.log(message),
        redact: (value) => this.redactor.value(value),
      }),
      guardStage({ environment: this.environment, currentFileJudge: () => this.layersPolicy.fileJudge }),
      auditDecisionStage(services),
      forwardStage(),
      secretResultsStage(s.secretScanning, secrets, this.audit),
      resultsStage(s.integrity),
      auditOutcomeStage(services),
    ];
    // What forward-request.ts needs of the core; the tracer is read at each request (set after construction).
    const core = this;
    this.forwardHost = {
      stages: this.stages,
      integrity: this.integrity,
      inputs: this.inputs,
      get tracer() {
        return core.tracer;
      },
      keepLogControlCharacters: s.integrity.keepLogControlCharacters,
      viewOf: (d) => this.viewOf(d),
      startAll: (upstreams) => this.startAll(upstreams),
    };
  }

  /** Starts serving the stdio client; eager upstreams start with its first real message. */
  async start(): Promise<void> {
    if (!this.opts.input || !this.opts.output) throw new Error("the stdio front needs input and output streams");
    await this.startCore();
    serveStdioFront(this, this.opts.input, this.opts.output, this.opts.settings.gateway.maxMessageBytes);
    this.statusFile.write();
  }

  /** What every front needs first: orphans reaped, the SQL parser loaded, the start audited. */
  async startCore(extra: Record<string, unknown> = {}): Promise<void> {
    // PostgreSQL's parser (WASM) for SQL guards; if it cannot load, those guards refuse every call.
    if (this.opts.settings.servers.some((x) => x.entry.guards?.sql)) await loadSqlParser().catch((e: Error) => this.log(`cannot load the SQL parser: ${e.message}`));
    for (const what of reapOrphans(runtimeDir(this.opts.env))) {
      this.log(`stopped ${what}`);
      this.audit.append({ kind: "server", event: "reaped", detail: { what } });
    }
    // Containers a crashed gateway left behind (labelled with its pid), for the engines in use.
    const engines = new Set([...this.upstreams.values()].flatMap((u) => (u.sandboxType === "docker" || u.sandboxType === "podman" ? [u.sandboxType as "docker" | "podman"] : [])));
    for (const engine of engines) {
      const report = await reapContainers(engine).catch((e: Error) => ({ removed: [] as string[], error: e.message }));
      for (const id of report.removed) this.audit.append({ kind: "server", event: "reaped", detail: { what: `${engine} container ${id}` } });
    }
    // Awaited: a sink that cannot write (PostgreSQL unreachable, no table) stops the start here.
    await this.audit.appendDurable({
      kind: "gateway",
      event: "started",
      detail: { pid: process.pid, version: VERSION, settingsFiles: this.opts.settings.files.map((f) => `${f.layer}:${f.file}`), blocked: this.blocked.map((b) => b.name), ...extra },
    });
  }

  /**
   * The client's handshake is done: the page server (and its console) starts in the background, so
   * `mcp-warden console` finds it before any question. Not before: start-up stays as fast as it was.
   */
  handshakeDone(): void {
    this.approvalPage.startSoon();
  }

  private eagerStarted = false;
  /** Starts the servers marked eager (once); the HTTP front calls it when it listens. */
  startEager() {
    if (this.eagerStarted) return;
    this.eagerStarted = true;
    for (const upstream of this.upstreams.values()) {
      // With per-caller instances, the gateway's own instance of such a server never serves anybody.
      if (this.pool && shareModeOf(upstream.server) !== "shared") continue;
      if ((upstream.server.entry.startup ?? this.opts.settings.gateway.startup) === "eager") {
        upstream.ensureStarted().catch((e: Error) => this.log(e.message));
      }
    }
  }

  /**
   * The servers startEager starts, with their state: readiness wants them all "ready". With
   * per-caller instances only shared servers run eagerly (the others start per caller, on use).
   */
  eagerStates(): { name: string; state: string; error?: string }[] {
    return [...this.upstreams.values()]
      .filter((u) => !(this.pool && shareModeOf(u.server) !== "shared") && (u.server.entry.startup ?? this.opts.settings.gateway.startup) === "eager")
      .map((u) => ({ name: u.name, state: u.state, ...(u.lastError !== undefined ? { error: u.lastError } : {}) }));
  }

  /** Per-caller upstream instances running now (remote mode), for the metrics. */
  instanceCount(): number {
    return this.pool?.all().length ?? 0;
  }

  /**
   * A front's new downstream is served from now on (list changes reach it); `remove` when it ends.
   * Returns the SDK server instance speaking the protocol to it.
   */
  connect(d: Downstream): Server {
    this.downstreams.add(d);
    return buildDownstreamServer(this.downstreamHost(), d);
  }

  /** The SDK server for one 2026-07-28 request: it serves that request only and gets no list changes. */
  serverFor(d: Downstream): Server {
    return buildDownstreamServer(this.downstreamHost(), d);
  }

  /**
   * The upstream server and canonical name behind an exposed tool name, for the HTTP front's scope
   * checks and rate limits before a request is dispatched. Undefined for a name no server offers.
   */
  resolveTool(exposed: string): { server: string; canonical: string } | undefined {
    // By name alone: a caller's own instance may not have listed its tools yet.
    const ref = this.catalog.refOf(exposed);
    return ref ? { server: ref.upstream.name, canonical: canonicalToolName(ref.upstream.name, ref.name) } : undefined;
  }

  disconnect(d: Downstream): void {
    this.downstreams.delete(d);
  }

  /** Called on every list change (tools, prompts, resources), for fronts that push them themselves. */
  onListChanged(listener: (kind: "tools" | "prompts" | "resources") => void): () => void {
    this.listChangeListeners.add(listener);
    return () => this.listChangeListeners.delete(listener);
  }

  /**
   * Remote mode: servers not marked `share: "shared"` get one instance per principal (or session),
   * created on first use and stopped when idle (upstream-pool.ts). Called before the front starts.
   */
  enablePerCallerUpstreams(opts: {
    idleMs: number;
    maxInstances: number;
    /**
     * The per-request credential of a caller's own instance of a server (token exchange), or
     * undefined for a server that has none. The instance serves one principal, so the caller that
     * created it stands for all its requests.
     */
    credentialFor?: (server: ConfiguredServer, caller: Downstream) => UpstreamCredential | undefined;
  }): void {
    const plan = this.plan;
    const { credentialFor, ...poolOpts } = opts;
    this.pool = new UpstreamPool(this.upstreams, {
      ...poolOpts,
      create: (server, partition, caller) => {
        const make = plan.instances.get(server);
        if (!make) throw new GatewayError(ErrorCodes.unavailable, `server '${server}' cannot run`);
        const instanceKey = `${server}#${partition}`;
        const configured = this.upstreams.get(server)?.server;
        const credential = configured ? credentialFor?.(configured, caller) : undefined;
        const upstream = make(
          partition,
          {
            elicit: (name, params, signal) => this.clientRequests.handle(name, "elicitation/create", params, signal, instanceKey),
            sample: (name, params, signal) => this.clientRequests.handle(name, "sampling/createMessage", params, signal, instanceKey),
            listRoots: (name, signal) => this.clientRequests.handle(name, "roots/list", {}, signal, instanceKey),
          },
          credential,
        );
        this.watch(upstream);
        upstream.setLaunchApproval(() => this.launchApproval(upstream));
        this.audit.append({ kind: "server", event: "instance-created", server, detail: { instance: partition } });
        return upstream;
      },
      onStopped: (upstream) => {
        this.integrity.forget(upstream);
        this.audit.append({ kind: "server", event: "instance-stopped", server: upstream.name, detail: { instance: upstream.instanceKey.split("#")[1], reason: "idle" } });
        this.statusFile.schedule();
      },
    });
  }

  /** Every upstream instance: the gateway's own and, in remote mode, each caller's. */
  private allUpstreams(): Upstream[] {
    return [...this.upstreams.values(), ...(this.pool?.all() ?? [])];
  }

  /** The upstreams a caller reaches and the catalog naming their items. */
  private viewOf(d: Downstream): { upstreams: ReadonlyMap<string, Upstream>; catalog: Catalog } {
    if (!this.pool) return { upstreams: this.upstreams, catalog: this.catalog };
    const upstreams = this.pool.viewFor(d);
    return { upstreams, catalog: new Catalog(upstreams, { separator: this.opts.settings.gateway.separator, prefix: this.opts.settings.gateway.prefix }) };
  }

  /** OpenTelemetry tracing (serve's remote.tracing): a span per forwarded request. */
  setTracer(tracer: CallTracer): void {
    this.tracer = tracer;
  }
  private tracer: CallTracer | undefined;

  /** Installs the per-principal rules (the core's own policy stays the rules of the layers). */
  setPolicyFor(policyFor: (p: Principal) => CompiledPolicy): void {
    this.policyFor = policyFor;
  }

  /**
   * A settings reload (serve and run): every later decision (and list) uses `policyFor`, and every
   * later question and grant is bound to the new rules. The running servers' tools are reviewed
   * again under the new layer rules `base` (a tool they newly allow was never reviewed, and stays
   * hidden until it is); then clients are told their lists changed.
   */
  async replacePolicy(policyFor: (p: Principal) => CompiledPolicy, base: CompiledPolicy, settings: ResolvedSettings): Promise<void> {
    this.policyFor = policyFor;
    this.layersPolicy = base;
    this.settingsNow = settings;
    this.policyVersion = policyDigest(settings);
    this.integrity.setPolicy(base);
    await this.stopRefused(base, settings.servers);
    await Promise.all(this.allUpstreams().filter((u) => u.state === "ready").map((u) => this.integrity.review(u).catch((e: Error) => this.log(e.message))));
    this.listChanged("tools");
    this.listChanged("prompts");
    this.listChanged("resources");
  }

  /**
   * A reload's settings that disable, deny or remove a running server stop it now, with every
   * caller's instance of it: containment (`servers disable --deny`, the console) must not wait for a
   * restart. It is blocked from then on; only a restart starts it again.
   */
  private async stopRefused(base: CompiledPolicy, servers: readonly ConfiguredServer[]): Promise<void> {
    for (const [name, upstream] of [...this.upstreams]) {
      const next = servers.find((s) => s.name === name);
      const v: Verdict = next ? base.decideServer(next) : { decision: "deny", reason: `server '${name}' is no longer configured` };
      if (v.decision !== "deny") continue;
      this.upstreams.delete(name);
      const stopped = [upstream, ...(this.pool?.takeServer(name) ?? [])];
      this.blocked.push({ name, reason: `${v.reason} (applied by a settings reload; a restart starts it again if the settings allow it)`, transport: upstream.transportKind });
      await Promise.all(stopped.map((u) => u.stop().catch(() => undefined)));
      for (const u of stopped) this.integrity.forget(u);
      this.audit.append({ kind: "server", event: "blocked", server: name, decision: "deny", reason: v.reason, rule: v.rule, ruleSource: v.source, detail: { by: "settings-reload", instancesStopped: stopped.filter((u) => u.instanceKey.includes("#")).length } });
      this.log(`server '${name}' stopped: ${v.reason}`);
    }
    this.statusFile.schedule();
  }

  /**
   * The instances of a server running now with what the integrity review hides of their tools
   * (the console's Servers page); `perCaller`: callers get their own instances (remote mode).
   */
  instancesOf(server: string): { perCaller: boolean; instances: InstanceStatus[] } {
    const own = this.upstreams.get(server);
    const hidden = (u: Upstream, name: string, item: object) => this.integrity.hiddenReason(u, name, item);
    const perCaller = this.pool !== undefined && own !== undefined && shareModeOf(own.server) !== "shared";
    const instances = own && !perCaller ? [instanceStatus(own, hidden)] : [];
    for (const u of this.pool?.all() ?? []) if (u.name === server) instances.push(instanceStatus(u, hidden, this.pool!.ownerOf(u)));
    return { perCaller, instances };
  }

  /** What the downstream MCP server (downstream-server.ts) needs of the core. */
  private downstreamHost(): DownstreamHost {
    return {
      gateway: this.opts.settings.gateway,
      integrity: this.integrity,
      audit: this.audit,
      upstreams: this.upstreams,
      viewOf: (d) => this.viewOf(d),
      startAll: (upstreams) => this.startAll(upstreams),
      policyFor: (p) => this.policyFor(p),
      forward: (method, params, ctx, d) => this.forwardRequest(method, params, ctx, d),
      verifyRequestState: this.inputs.verify,
      listGeneration: () => this.listGeneration,
    };
  }

  /** Whether the stdio front takes tools/call on the hot path (hot-path.ts); MCP_WARDEN_HOT_PATH=off says no. */
  hotPathEnabled(): boolean {
    return this.opts.env.MCP_WARDEN_HOT_PATH !== "off" && this.tracer === undefined;
  }

  /** A tools/call the stdio front's hot path took: the same request path, forwarded without the SDK client where it can be. */
  forwardHot(params: Record<string, unknown>, ctx: ServerContext, d: Downstream): Promise<unknown> {
    return this.forwardRequest("tools/call", params, ctx, d, true);
  }

  /** Runs one forwarded request through the pipeline (forward-request.ts). */
  private forwardRequest(method: ForwardedMethod, rawParams: unknown, ctx: ServerContext, d: Downstream, direct = false) {
    return forwardRequest(this.forwardHost, method, rawParams, ctx, d, direct);
  }


  /**
   * Why a server may not start yet (naming the command a person runs), or undefined. The model reads
   * it: no link that answers in it, and no command the agent may run that prints one.
   */
  private async launchApproval(upstream: Upstream): Promise<string | undefined> {
    const waiting = await this.integrity.approveLaunch(upstream);
    if (waiting === undefined) return undefined;
    return this.opts.input !== undefined && this.opts.settings.approvals.page ? `${waiting} (or answer it in the console: \`mcp-warden console\` prints a sign-in link)` : waiting;
  }

  /**
   * A question waits: said on stderr, in the log of local clients (a remote client hears only of its
   * own calls, through their progress) and as progress of the held call, if any. `text` never carries
   * a link that answers: clients keep stderr and log notifications in files the agent can read, and
   * may hand progress to the model (see stages/ask.ts).
   */
  private announce(text: string, rc?: RequestContext) {
    this.log(text);
    for (const d of this.downstreams) if (!d.remote) d.server?.sendLoggingMessage({ level: "warning", logger: "mcp-warden", data: text }).catch(() => undefined);
    rc?.onProgress?.({ progress: 0, message: text });
  }

  /**
   * Starts every upstream never started (lazy ones on first use) and waits, bounded, for those
   * starting. A crashed server waiting out its restart backoff is not hurried by client traffic.
   */
  private async startAll(upstreams: ReadonlyMap<string, Upstream> = this.upstreams): Promise<void> {
    const waits = [...upstreams.values()].map((u) => u.startIfIdle()).filter((p) => p !== undefined);
    if (!waits.length) return;
    const limit = Math.min(this.opts.settings.gateway.callTimeoutMs, 30_000);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, limit)))]);
    clearTimeout(timer);
  }

  /**
   * A request an upstream sends to the client (elicitation, sampling, roots). During a call it
   * rides on that call as an input round; outside any call only a 2025-era client can be asked.
   */
  private async toClient(server: string, method: InputMethod, params: Record<string, unknown>, signal: AbortSignal) {
    const inCall = this.inputs.requestInput(server, method, method === "roots/list" ? undefined : params, signal);
    if (inCall) return inCall;
    // Outside a call only the local stdio client can be asked: a remote caller is never asked on
    // behalf of an upstream another principal may be using.
    const local = [...this.downstreams].filter((x) => !x.remote);
    const downstream = local.length === 1 ? local[0]!.server : undefined;
    if (!downstream) throw new GatewayError(ErrorCodes.unavailable, "no client connected that this server's request can go to");
    const caps = downstream.getClientCapabilities() ?? {};
    if (!caps[capabilityFor(method) as keyof typeof caps]) {
      throw new GatewayError(ErrorCodes.methodNotFound, `the client does not support ${method}`);
    }
    if (method === "elicitation/create") return (await downstream.elicitInput(params as never, { signal })) as Record<string, unknown>;
    if (method === "sampling/createMessage") return (await downstream.createMessage(params as never, { signal })) as Record<string, unknown>;
    return (await downstream.listRoots(undefined, { signal })) as Record<string, unknown>;
  }

  /** A person approved a server that was waiting: start it, and tell the client its lists changed. */
  private async startApproved(upstream: Upstream) {
    if (this.closing) return;
    try {
      await upstream.ensureStarted();
      await this.integrity.review(upstream);
    } catch (e) {
      this.log((e as Error).message);
      return;
    }
    this.audit.append({ kind: "server", event: "approved", server: upstream.name });
    this.listChanged("tools");
    this.listChanged("prompts");
    this.listChanged("resources");
  }

  private watch(upstream: Upstream) {
    watchUpstream(upstream, {
      statusChanged: () => this.statusFile.schedule(),
      log: (message) => this.log(message),
      // The gate is built after the first upstreams are watched: looked up when an event comes.
      review: (u) => this.integrity.review(u),
      audit: this.audit,
      // The server's process is spawned by now and this one waits for its handshake: the first review
      // of its lists then finds the poisoning scanner's patterns compiled (a hundred ms or more, once).
      starting: () => setImmediate(() => this.integrity?.warmUp()),
      listChanged: (kind) => this.listChanged(kind),
      // A local client hears every upstream; a remote caller only its own instances (never a shared one).
      listeners: () => [...this.downstreams].flatMap((x) => (x.server && (!x.remote || this.pool?.isFor(upstream, x)) ? [x.server] : [])),
      keepLogControlCharacters: this.opts.settings.integrity.keepLogControlCharacters,
    });
  }

  private listChanged(kind: "tools" | "prompts" | "resources") {
    this.listGeneration++;
    for (const x of this.downstreams) {
      const d = x.server;
      if (!d) continue;
      const send = kind === "tools" ? d.sendToolListChanged() : kind === "prompts" ? d.sendPromptListChanged() : d.sendResourceListChanged();
      send.catch(() => undefined);
    }
    for (const listener of this.listChangeListeners) listener(kind);
  }

  status(): ServerStatus[] {
    return serverStatuses(this.upstreams.values(), this.blocked);
  }

  /** Runs when the gateway closes (a front's own connection, say), before its end is reported. */
  onClose(fn: () => Promise<unknown> | void): void {
    this.closers.push(fn);
  }
  private readonly closers: (() => Promise<unknown> | void)[] = [];

  /** Diagnostics on stderr, with configured secrets removed (errors can quote URLs and headers). */
  /** serve: principals with the approver role answer held calls through /v1/approvals. */
  enableApproverChannel(where: string): void {
    this.approverChannel = where;
  }

  log(message: string) {
    // Messages can quote what a server sent: no escapes, and one line per message.
    const shown = stripControls(this.redactor.string(message)).replace(/\n/g, " ").replace(URL_CREDENTIALS, "$1[REDACTED]@");
    process.stderr.write(`mcp-warden: ${shown}\n`);
  }

  /** Stops every upstream (process groups included), closes the audit log. Idempotent. */
  close(reason: string): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.approvals.close();
        await this.approvalPage.close();
        await Promise.all([...this.upstreams.values()].map((u) => u.stop().catch(() => undefined)));
        await this.pool?.close();
        try {
          this.audit.append({ kind: "gateway", event: "stopped", reason });
        } catch (e) {
          // A failed sink refuses records; shutting down must go on (the failure was reported when it happened).
          this.log(`the stop was not audited: ${(e as Error).message}`);
        }
        await Promise.resolve(this.audit.close()).catch((e: Error) => this.log(`closing the audit log: ${e.message}`));
        this.statusFile.remove();
        for (const fn of this.closers) await Promise.resolve(fn()).catch(() => undefined);
        this.opts.onExit?.();
      })();
    }
    return this.closing;
  }
}

/** `scheme://user:password@`: credentials a URL in an error message may carry (never written to stderr). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;



export type { Tool };

/** The digest of a settings' rules, which questions and "for this session" grants are bound to. */
function policyDigest(s: ResolvedSettings): string {
  return "sha256:" + createHash("sha256").update(JSON.stringify(s.policy)).digest("hex");
}
