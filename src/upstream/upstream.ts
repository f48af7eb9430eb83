// One upstream MCP server: starting it, keeping its item lists, restarting it with backoff after
// a crash, and failing its in-flight calls at once when it dies.
import { currentTraceparent } from "./trace-context.js";
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Prompt, Resource, ResourceTemplateType as ResourceTemplate, Tool, Transport } from "@modelcontextprotocol/client";
import * as z from "zod/v4";
import type { ConfiguredServer } from "../policy/types.js";
import { ProcessTransport, childEnvironment } from "../transport/process.js";
import type { AuditEntry } from "../audit/record.js";
import { attachEgress, type EgressHandle } from "../egress/proxy.js";
import type { CheckedFetch } from "../egress/remote-fetch.js";
import type { EgressPolicy } from "../policy/egress/egress.js";
import { prepareSandboxedLaunch } from "../sandbox/launch.js";
import type { SandboxPolicy } from "../sandbox/types.js";
import { guessMessageId, type LineProblem } from "../transport/json-lines.js";
import { ErrorCodes, GatewayError } from "../gateway/errors.js";
import { credentialErrorIn, type UpstreamCredential } from "./credential.js";
import { DirectRequests } from "./direct-request.js";
import { describe, isConnectionClosed, resettableTimeout, sleep, translateError } from "./request-errors.js";
import { hasClientRequestIds } from "../gateway/sdk-internals.js";
import { SdkError, SdkErrorCode } from "@modelcontextprotocol/client";

/** `awaiting-approval`: its launch configuration waits for a person; nothing of it runs. */
export type UpstreamState = "stopped" | "awaiting-approval" | "starting" | "ready" | "restarting" | "failed";

export interface UpstreamOptions {
  logDir: string;
  maxMessageBytes: number;
  callTimeoutMs: number;
  restart: { maxRestarts: number; initialDelayMs: number; maxDelayMs: number };
  env: NodeJS.ProcessEnv;
  /** Handlers for requests the server sends to the client (elicitation, sampling, roots). */
  clientRequestHandlers: ClientRequestHandlers;
  /**
   * Remote mode: this is one of several instances of the server (one per principal or session); the
   * partition names it in `instanceKey` and in its stderr log's file name.
   */
  instance?: string;
  /**
   * Asked before every start (and restart), before any process is spawned or connection opened:
   * undefined lets it start; a reason keeps it in `awaiting-approval` (src/gateway/launch-approval.ts).
   */
  approveLaunch?: () => Promise<string | undefined>;
  /** The sandbox a stdio server runs in (src/sandbox/gate.ts), and where its egress decisions go. */
  sandbox?: {
    policy: SandboxPolicy;
    egress: EgressPolicy;
    home: string;
    mandatoryDeny: string[];
    /** mcp-warden's cache directory (a backend's remembered probe answers). */
    cacheDir?: string;
    audit: (entry: AuditEntry) => void;
  };
  /** A remote server: the policy every connection to it obeys (src/egress/remote-fetch.ts), and where its decisions go. */
  remoteEgress?: {
    policy: EgressPolicy;
    audit: (entry: AuditEntry) => void;
  };
  /**
   * A remote server: the Authorization header of every HTTP request to it, asked for per request
   * (token exchange). It replaces any static one; a request it refuses is never sent.
   */
  credential?: UpstreamCredential;
}

export interface ClientRequestHandlers {
  elicit(server: string, params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>>;
  sample(server: string, params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>>;
  listRoots(server: string, signal: AbortSignal): Promise<Record<string, unknown>>;
}

/** Results pass through untouched: the upstream's schema is its own business, not the gateway's. */
const AnyResult = z.looseObject({});

export interface ItemLists {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
}

/** Running this long counts as stable: a later crash starts a fresh restart budget. */
const STABLE_MS = 60_000;

const EMPTY_LISTS: ItemLists = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

export class Upstream extends EventEmitter {
  state: UpstreamState = "stopped";
  lastError: string | undefined;
  /** The last crash, kept after a restart succeeds (lastError is cleared then), for `mcp-warden status`. */
  lastCrash: { error: string; at: string } | undefined;
  restarts = 0;
  lists: ItemLists = EMPTY_LISTS;
  protocolVersion: string | undefined;
  readonly stderrLog: string;
  private client: Client | undefined;
  private transport: ProcessTransport | Transport | undefined;
  /** A remote server's connections (closed with the transport). */
  private remoteFetch: CheckedFetch | undefined;
  private starting: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readyAt = 0;
  private subscription: { close(): Promise<void> } | undefined;
  private progressCounter = 0;
  private readonly progress = new Map<string, (p: { progress: number; total?: number; message?: string }) => void>();
  private readonly resourceSubscriptions = new Set<string>();
  /** In-flight calls, failed at once when the server dies (the SDK would also, but with a vaguer message). */
  private inflight = new Set<(error: Error) => void>();
  /** Requests the hot path wrote straight to a 2025-era stdio server (direct-request.ts). */
  private readonly direct = new DirectRequests();

  constructor(
    readonly server: ConfiguredServer,
    private options: UpstreamOptions,
  ) {
    super();
    this.instanceKey = options.instance === undefined ? server.name : `${server.name}#${options.instance}`;
    this.stderrLog = join(options.logDir, options.instance === undefined ? `${server.name}.stderr.log` : `${server.name}.${options.instance}.stderr.log`);
  }

  /** The server's name, or `<name>#<partition>` for one of its per-principal or per-session instances. */
  readonly instanceKey: string;

  get name() {
    return this.server.name;
  }

  /** Sets the check every start must pass first (the gateway's launch approval). */
  setLaunchApproval(check: () => Promise<string | undefined>): void {
    this.options.approveLaunch = check;
  }

  /** The sandbox backend this server runs in, if any. */
  get sandboxType(): string | undefined {
    return this.options.sandbox?.policy.type;
  }

  get transportKind(): "stdio" | "http" | "sse" {
    const t = this.server.entry.type ?? (this.server.entry.url ? "http" : "stdio");
    return t === "streamable-http" ? "http" : t;
  }

  /** This server's live process group (stdio servers), for the status file. */
  get processGroup(): { pgid: number; startTicks: number } | undefined {
    return this.transport instanceof ProcessTransport && !this.transport.exitInfo ? this.transport.group : undefined;
  }

  get capabilities() {
    return this.client?.getServerCapabilities();
  }

  get serverInfo() {
    return this.client?.getServerVersion();
  }

  /** Starts the server unless it is running; resolves when it is ready, rejects when it cannot start. */
  ensureStarted(): Promise<void> {
    if (this.state === "ready") return Promise.resolve();
    if (this.state === "failed") return Promise.reject(new GatewayError(ErrorCodes.unavailable, this.unavailableMessage()));
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /**
   * Starts a never-started server (or one waiting for approval, which may have been given since),
   * or joins a start under way; undefined when neither applies.
   */
  startIfIdle(): Promise<void> | undefined {
    if (this.starting) return this.starting.catch(() => undefined);
    if ((this.state === "stopped" || this.state === "awaiting-approval") && !this.stopping) return this.ensureStarted().catch(() => undefined);
    return undefined;
  }

  private unavailableMessage() {
    return `server '${this.name}' is unavailable${this.lastError ? `: ${this.lastError}` : ""}`;
  }

  private async start(): Promise<void> {
    // Approval comes before anything runs: no process, no connection, so no message of an
    // unapproved server can reach the client. Waiting for a person is not a crash: no restart backoff.
    const waiting = this.options.approveLaunch ? await this.options.approveLaunch().catch((e: Error) => `the approval of server '${this.name}' cannot be checked: ${e.message}`) : undefined;
    if (waiting !== undefined) {
      const changed = this.state !== "awaiting-approval" || this.lastError !== waiting;
      this.state = "awaiting-approval";
      this.lastError = waiting;
      if (changed) this.emit("state");
      throw new GatewayError(ErrorCodes.unavailable, waiting);
    }
    this.state = this.restarts > 0 ? "restarting" : "starting";
    this.emit("state");
    const protocol = this.server.entry.protocol ?? "auto";
    try {
      try {
        await this.connect(protocol);
      } catch (error) {
        // Some legacy servers exit on the unknown server/discover probe: retry with the 2025 handshake.
        if (protocol !== "auto" || this.stopping || credentialErrorIn(error)) throw error;
        await this.teardown();
        await this.connect("legacy");
      }
    } catch (error) {
      await this.teardown();
      // No credential for this caller (yet): nothing reached the server, so it is no crash. The next
      // request tries again (with a new token, say) instead of waiting out a restart backoff.
      const refused = credentialErrorIn(error);
      if (refused) {
        this.state = "stopped";
        this.lastError = refused.message;
        this.emit("state");
        throw refused;
      }
      const message = describe(error);
      this.lastError = message;
      this.scheduleRestart();
      throw new GatewayError(ErrorCodes.unavailable, `server '${this.name}' failed to start: ${message}`);
    }
  }

  private async connect(protocol: string): Promise<void> {
    const client = new Client(
      { name: "mcp-warden", version: "0.1.0" },
      {
        capabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } },
        versionNegotiation:
          protocol === "legacy" ? { mode: "legacy" } : protocol === "auto" ? { mode: "auto", probe: { timeoutMs: 5000 } } : { mode: { pin: protocol } },
        listMaxPages: 256,
      },
    );
    const transport = this.makeTransport();
    this.client = client;
    this.transport = transport;
    client.onclose = () => {
      // As the SDK fails its own pending requests when the connection closes.
      this.direct.failAll(new SdkError(SdkErrorCode.ConnectionClosed, "Connection closed"));
      void this.onClosed(client);
    };
    client.onerror = (e) => this.emit("log", `protocol error: ${e.message}`);
    client.setRequestHandler("elicitation/create", (req, ctx) =>
      this.options.clientRequestHandlers.elicit(this.name, req.params as Record<string, unknown>, ctx.mcpReq.signal) as never,
    );
    client.setRequestHandler("sampling/createMessage", (req, ctx) =>
      this.options.clientRequestHandlers.sample(this.name, req.params as Record<string, unknown>, ctx.mcpReq.signal) as never,
    );
    client.setRequestHandler("roots/list", (_req, ctx) => this.options.clientRequestHandlers.listRoots(this.name, ctx.mcpReq.signal) as never);
    for (const kind of ["tools", "prompts", "resources"] as const) {
      client.setNotificationHandler(`notifications/${kind}/list_changed`, () => {
        void this.refreshLists(kind).catch((e: Error) => this.emit("log", `could not refresh the ${kind} list: ${e.message}`));
      });
    }
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      this.emit("notification", n);
    });
    client.setNotificationHandler("notifications/message", (n) => {
      this.emit("notification", n);
    });
    await client.connect(transport as Transport, { timeout: this.options.callTimeoutMs });
    this.interceptProgress(transport as never);
    this.protocolVersion = client.getNegotiatedProtocolVersion?.();
    await this.refreshLists();
    await this.listen();
    this.state = "ready";
    this.readyAt = Date.now();
    this.lastError = undefined;
    this.emit("state");
    this.emit("ready");
  }

  private makeTransport(): ProcessTransport | Transport {
    const entry = this.server.entry;
    const kind = this.transportKind;
    if (kind === "stdio") {
      const spec = { command: entry.command!, args: entry.args ?? [], env: childEnvironment(entry.env ?? {}, this.options.env), cwd: entry.cwd };
      const common = {
        stderrLog: this.stderrLog,
        maxMessageBytes: this.options.maxMessageBytes,
        onProblem: (p: LineProblem) => this.onStdoutProblem(p),
        onLogProblem: (message: string) => this.emit("log", `stderr log: ${message}`),
      };
      const sb = this.options.sandbox;
      if (!sb) return new ProcessTransport({ ...spec, ...common });
      // Sandboxed: the backend's command line; the host variables the sandbox passes through join
      // the server's own env; the egress channel (fd 3) goes to a proxy judging every connection.
      for (const name of sb.policy.env) if (this.options.env[name] !== undefined && spec.env[name] === undefined) spec.env[name] = this.options.env[name] as string;
      const prepared = prepareSandboxedLaunch(spec, sb.policy, { home: sb.home, mandatoryDeny: sb.mandatoryDeny, server: this.name, ...(sb.cacheDir !== undefined ? { cacheDir: sb.cacheDir } : {}) });
      if (prepared.launch.limitsNote) this.emit("log", prepared.launch.limitsNote);
      // A container's channel is the proxy's pair of named pipes, open before the container starts.
      let egress: EgressHandle | undefined = prepared.egressFifos?.serve({ server: this.name, policy: sb.egress, audit: sb.audit });
      return new ProcessTransport({
        ...common,
        command: prepared.launch.command,
        args: prepared.launch.args,
        env: prepared.launch.env,
        ...(prepared.launch.cwd !== undefined ? { cwd: prepared.launch.cwd } : {}),
        extraStdio: prepared.extraStdio,
        onExtraStreams: ([channel]) => {
          if (prepared.egress && channel) egress = attachEgress(channel, { server: this.name, policy: sb.egress, audit: sb.audit });
        },
        cleanup: () => {
          egress?.close();
          prepared.launch.cleanup();
        },
      });
    }
    const url = new URL(entry.url!);
    const credential = this.options.credential;
    const headers: Record<string, string> = { ...(entry.headers ?? {}) };
    // With a per-request credential no static one is ever sent (the settings refuse one anyway).
    if (credential) for (const h of Object.keys(headers)) if (h.toLowerCase() === "authorization") delete headers[h];
    // fetch refuses a URL with user:password: send them as Basic authorization instead (unless the
    // entry sets its own), and keep them out of the URL that errors and logs may quote.
    if (url.username || url.password) {
      if (!credential && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization"))
        headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    const requestInit = { headers };
    // Without a policy (only in-process tests build upstreams that way) nothing would judge the
    // connection, so none is made.
    const egress = this.options.remoteEgress;
    if (!egress) throw new Error("no network policy for a remote server");
    // undici is loaded at the first remote connection, not at every gateway start (it costs ~50 ms).
    const made = import("../egress/remote-fetch.js").then((m) => m.checkedFetch({ server: this.name, policy: egress.policy, audit: egress.audit }));
    let resolved: CheckedFetch | undefined;
    this.remoteFetch = {
      fetch: async (url, init) => {
        // Read before any await: the forwarded request's span (tracing on), for this HTTP request.
        const traceparent = currentTraceparent();
        const checked = (resolved ??= await made);
        if (!credential && traceparent === undefined) return checked.fetch(url, init);
        const headers = new Headers(init?.headers);
        if (traceparent !== undefined) headers.set("traceparent", traceparent);
        // Asked before every request (the caller's token may have been renewed); when it cannot be
        // had, this throws and the request is never sent.
        if (credential) headers.set("authorization", await credential(init?.signal ?? undefined));
        return checked.fetch(url, { ...init, headers });
      },
      close: async () => (await made.catch(() => undefined))?.close(),
    };
    const fetch = this.remoteFetch.fetch;
    return kind === "sse" ? new SSEClientTransport(url, { requestInit, fetch }) : new StreamableHTTPClientTransport(url, { requestInit, fetch });
  }

  /**
   * On a 2026-07-28 connection change notifications come only on a subscriptions/listen stream
   * (2025-era servers send them unsolicited). Reopened whenever the resource subscriptions change.
   */
  private async listen(): Promise<void> {
    const client = this.client;
    if (!client || client.getProtocolEra?.() !== "modern") return;
    const caps = client.getServerCapabilities() ?? {};
    const filter = {
      ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
      ...(caps.resources?.subscribe && this.resourceSubscriptions.size ? { resourceSubscriptions: [...this.resourceSubscriptions] } : {}),
    };
    const previous = this.subscription;
    this.subscription = undefined;
    await previous?.close().catch(() => undefined);
    if (!Object.keys(filter).length) return;
    this.subscription = await client.listen(filter, { timeout: this.options.callTimeoutMs }).catch((e: Error) => {
      this.emit("log", `cannot open subscriptions/listen: ${e.message}`);
      return undefined;
    });
  }

  /** resources/subscribe and /unsubscribe: a request in the 2025 era, the listen filter in 2026-07-28. */
  private async changeResourceSubscription(method: string, params: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    const uri = String(params?.uri);
    if (method === "resources/subscribe") this.resourceSubscriptions.add(uri);
    else this.resourceSubscriptions.delete(uri);
    await this.listen();
    return {};
  }

  /**
   * A line on the server's stdout that is not a usable message. Junk is logged and skipped; an
   * oversized response fails its own request at once instead of leaving it to time out.
   */
  private onStdoutProblem(p: LineProblem) {
    this.emit("log", `ignored a ${p.kind} line of ${p.bytes} bytes on stdout`);
    if (p.kind !== "oversized") return;
    const id = guessMessageId(p, "response");
    if (id === null || !(this.transport instanceof ProcessTransport)) return;
    this.transport.onmessage?.({
      jsonrpc: "2.0",
      id,
      error: { code: ErrorCodes.unavailable, message: `server '${this.name}' answered with ${p.bytes} bytes, over the limit of ${this.options.maxMessageBytes} bytes (gateway.maxMessageBytes)` },
    } as never);
  }

  /**
   * Fetches every list the server offers (all pages). With `changed`, "listChanged" is emitted in
   * the same tick as the new lists replace the old ones: the gateway starts their integrity review
   * synchronously on that event, so no request can see a new definition between the replacement
   * and the start of its review (it would be hidden as "not reviewed yet" without being waited for).
   */
  async refreshLists(changed?: "tools" | "prompts" | "resources"): Promise<void> {
    const client = this.client;
    if (!client) return;
    const caps = client.getServerCapabilities() ?? {};
    const [tools, prompts, resources, resourceTemplates] = await Promise.all([
      caps.tools ? client.listTools(undefined, { cacheMode: "bypass" }).then((r) => r.tools) : [],
      caps.prompts ? client.listPrompts(undefined, { cacheMode: "bypass" }).then((r) => r.prompts) : [],
      caps.resources ? client.listResources(undefined, { cacheMode: "bypass" }).then((r) => r.resources).catch(() => []) : [],
      caps.resources
        ? client.listResourceTemplates(undefined, { cacheMode: "bypass" }).then((r) => r.resourceTemplates).catch(() => [])
        : [],
    ]);
    this.lists = { tools, prompts, resources, resourceTemplates };
    if (changed !== undefined) this.emit("listChanged", changed);
  }

  /**
   * Whether a request can be written straight to the server's pipe (`direct`): a stdio server on the
   * 2025 era (no envelope to add), with the SDK client's id counter at hand.
   */
  private canSendDirect(client: Client): boolean {
    return this.transport instanceof ProcessTransport && client.getProtocolEra?.() === "legacy" && hasClientRequestIds(client);
  }

  /**
   * Forwards one request; the result passes through as the server sent it. `direct` (the hot path)
   * writes it straight to a 2025-era stdio server's pipe, which behaves as the SDK client does; for
   * any other server, or with progress, the SDK client sends it.
   */
  async request(
    method: string,
    params: Record<string, unknown> | undefined,
    opts: { signal?: AbortSignal; timeoutMs?: number; onprogress?: (p: { progress: number; total?: number; message?: string }) => void; direct?: boolean },
  ): Promise<Record<string, unknown>> {
    await this.ensureStarted();
    const client = this.client!;
    if ((method === "resources/subscribe" || method === "resources/unsubscribe") && client.getProtocolEra?.() === "modern") {
      return this.changeResourceSubscription(method, params);
    }
    const timeout = opts.timeoutMs ?? this.server.entry.timeoutMs ?? this.options.callTimeoutMs;
    let failInflight!: (error: Error) => void;
    const died = new Promise<never>((_, reject) => {
      failInflight = reject;
    });
    this.inflight.add(failInflight);
    // Progress is taken off the wire by the interceptor below (see interceptProgress), under a token
    // of our own; the call's timeout restarts with every progress notification.
    let token: string | undefined;
    let timeoutControl: { abort: AbortController; reset(): void; clear(): void; expired: Promise<never> } | undefined;
    if (opts.onprogress) {
      token = `warden-progress-${++this.progressCounter}`;
      timeoutControl = resettableTimeout(timeout, opts.signal, () => new GatewayError(ErrorCodes.timeout, `server '${this.name}' did not answer ${method} within ${timeout} ms of its last progress`));
      const onprogress = opts.onprogress;
      this.progress.set(token, (p) => {
        timeoutControl!.reset();
        onprogress(p);
      });
      params = { ...params, _meta: { ...(params?._meta as Record<string, unknown> | undefined), progressToken: token } };
    }
    const direct = opts.direct === true && !timeoutControl && this.canSendDirect(client);
    try {
      return await Promise.race([
        direct
          ? this.direct.request(client, this.transport as ProcessTransport, method, params, { ...(opts.signal ? { signal: opts.signal } : {}), timeout })
          : (client.request({ method, params } as never, AnyResult, {
              signal: timeoutControl?.abort.signal ?? opts.signal,
              timeout: timeoutControl ? 2_147_483_647 : timeout,
            }) as Promise<Record<string, unknown>>),
        died,
        ...(timeoutControl ? [timeoutControl.expired] : []),
      ]);
    } catch (error) {
      // The SDK fails pending requests as soon as stdout closes; wait a moment for the exit status,
      // so the caller learns how the server died, not just that the pipe closed.
      if (isConnectionClosed(error)) {
        const reason = await Promise.race([died.catch((e: Error) => e), sleep(2000)]);
        if (reason instanceof Error) throw reason;
      }
      const refused = credentialErrorIn(error);
      if (refused) throw refused;
      const translated = translateError(error, this.name, method, timeout, opts.signal?.aborted === true);
      // Nothing closes an HTTP connection when a remote server goes away: a transport failure is
      // the only sign, so treat it like a crash and reconnect with backoff.
      if (this.transportKind !== "stdio" && translated.code === ErrorCodes.unavailable) this.markBroken(translated.message);
      throw translated;
    } finally {
      this.inflight.delete(failInflight);
      if (token) this.progress.delete(token);
      timeoutControl?.clear();
    }
  }

  /**
   * Progress notifications are handled as they come off the wire, before the SDK client sees them:
   * the SDK dispatches a notification a tick after it arrives but forgets the request's progress
   * handler as soon as the response arrives, so the last progress before a response was lost.
   */
  private interceptProgress(transport: { onmessage?: (m: never, extra?: never) => void }) {
    const sdk = transport.onmessage;
    if (!sdk) return;
    transport.onmessage = (message: never, extra?: never) => {
      // An answer to a request the hot path sent directly never reaches the SDK client.
      if (this.direct.take(message as Record<string, unknown>)) return;
      const m = message as { method?: string; params?: { progressToken?: unknown } };
      if (m.method === "notifications/progress" && typeof m.params?.progressToken === "string") {
        const handler = this.progress.get(m.params.progressToken);
        if (handler) {
          const { progressToken: _t, ...p } = m.params as { progressToken: string; progress: number; total?: number; message?: string };
          handler(p);
          return;
        }
      }
      sdk(message, extra);
    };
  }

  private markBroken(why: string) {
    if (this.state !== "ready" || this.stopping) return;
    this.lastError = why;
    this.lastCrash = { error: why, at: new Date().toISOString() };
    this.lists = EMPTY_LISTS;
    this.state = "restarting";
    const client = this.client;
    this.client = undefined;
    void client?.close().catch(() => undefined);
    this.emit("crashed", why);
    this.emit("listChanged", "tools");
    this.scheduleRestart();
  }

  async notify(method: string, params?: Record<string, unknown>) {
    if (this.state !== "ready" || !this.client || this.client.getProtocolEra?.() === "modern") return;
    await this.client.notification({ method, params } as never).catch(() => undefined);
  }

  private async onClosed(client: Client) {
    if (client !== this.client) return;
    const transport = this.transport;
    if (transport instanceof ProcessTransport) await Promise.race([transport.exited, sleep(1000)]);
    if (client !== this.client) return;
    const exit = transport instanceof ProcessTransport ? transport.exitInfo : undefined;
    const how = exit ? (exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`) : "closed the connection";
    const error = new GatewayError(ErrorCodes.unavailable, `server '${this.name}' ${how} while handling this call`);
    for (const fail of this.inflight) fail(error);
    this.inflight.clear();
    this.client = undefined;
    if (this.stopping) return;
    const wasReady = this.state === "ready";
    // A server that ran for a while before crashing gets a fresh restart budget.
    if (wasReady && Date.now() - this.readyAt > STABLE_MS) this.restarts = 0;
    this.lastError = `${how}; see ${this.stderrLog}`;
    this.lists = EMPTY_LISTS;
    if (wasReady) {
      this.state = "restarting";
      this.lastCrash = { error: this.lastError, at: new Date().toISOString() };
      this.emit("crashed", this.lastError);
      this.emit("listChanged", "tools");
      this.scheduleRestart();
    }
  }

  private scheduleRestart() {
    if (this.stopping) return;
    const { maxRestarts, initialDelayMs, maxDelayMs } = this.options.restart;
    if (this.restarts >= maxRestarts) {
      this.state = "failed";
      this.emit("state");
      this.emit("failed", this.lastError);
      return;
    }
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** this.restarts);
    this.restarts++;
    this.state = "restarting";
    this.emit("state");
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.emit("restarting", this.restarts);
      this.ensureStarted().then(
        () => this.emit("listChanged", "tools"),
        () => undefined,
      );
    }, delay);
    this.restartTimer.unref();
  }

  private async teardown() {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close().catch(() => undefined);
    const client = this.client;
    const transport = this.transport;
    this.client = undefined;
    this.transport = undefined;
    await client?.close().catch(() => undefined);
    if (transport instanceof ProcessTransport) await transport.close().catch(() => undefined);
    const remoteFetch = this.remoteFetch;
    this.remoteFetch = undefined;
    await remoteFetch?.close();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.teardown();
    this.state = "stopped";
    this.emit("state");
  }
}
