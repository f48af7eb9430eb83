// The settings format, as one zod schema. Every object is strict: an unknown or misspelled
// field is an error that names its JSON path, never something silently ignored.
// The JSON Schema published for editors (schema/settings.schema.json) is generated from this.
import * as z from "zod/v4";

import { SERVER_NAME_PATTERN } from "./server-name.js";

export { SERVER_NAME_PATTERN };
export const ServerName = z
  .string()
  .max(64)
  .regex(SERVER_NAME_PATTERN, "a server name is letters, digits, '-' and single '_', starting with a letter or digit, and never contains '__'")
  .refine((s) => !s.endsWith("_"), "a server name must not end with '_'");

const StringList = z.array(z.string());

export const PermissionRules = z.strictObject({
  allow: StringList.optional(),
  ask: StringList.optional(),
  deny: StringList.optional(),
  /** Claude Code's modes; `bypassPermissions` turns `ask` into `allow` (deny still wins) unless disabled. */
  defaultMode: z.enum(["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk"]).optional(),
  /** `"disable"` in any layer forbids bypassPermissions mode. */
  disableBypassPermissionsMode: z.literal("disable").optional(),
  additionalDirectories: StringList.optional(),
});

/** Sandbox settings: accepted now so settings written for them validate; enforced by the sandbox issue. */
export const SandboxSettings = z.strictObject({
  type: z.enum(["bubblewrap", "docker", "podman", "seatbelt", "none"]).optional(),
  filesystem: z
    .strictObject({
      allowRead: StringList.optional(),
      denyRead: StringList.optional(),
      allowWrite: StringList.optional(),
      denyWrite: StringList.optional(),
    })
    .optional(),
  network: z
    .strictObject({
      allowedDomains: StringList.optional(),
      deniedDomains: StringList.optional(),
      allowLocalhost: z.boolean().optional(),
      allowUnixSockets: StringList.optional(),
    })
    .optional(),
  limits: z
    .strictObject({ cpus: z.number().positive().optional(), memory: z.string().optional(), pids: z.number().int().positive().optional() })
    .optional(),
  env: StringList.optional(),
  /** docker/podman: the image the server runs in (required for those backends). */
  image: z.string().min(1).optional(),
  /** docker/podman: an OCI runtime such as "runsc" (gVisor). */
  runtime: z.string().min(1).optional(),
  // The second seed's flat form, normalized later.
  allowNetwork: StringList.optional(),
  denyNetwork: StringList.optional(),
  allowRead: StringList.optional(),
  allowWrite: StringList.optional(),
  /**
   * Which programs the server may start: true (any, the default), false (none: the sandbox shows only
   * the server's own runtime and package, no shells or system programs), or a list (only these).
   */
  allowExecute: z.union([z.boolean(), StringList]).optional(),
});

/**
 * The top-level `sandbox`: a sandbox (for servers and `exec`) plus Claude Code's switches for running
 * the agent's Bash commands in it through the hook (src/hook/bash-sandbox.ts). Not in a server's or
 * a profile's sandbox, where they would mean nothing.
 */
export const GlobalSandboxSettings = SandboxSettings.extend({
  /** The PreToolUse hook runs allowed and asked Bash commands inside mcp-warden's sandbox. */
  enabled: z.boolean().optional(),
  /** A Bash command that runs sandboxed is allowed without asking, unless a deny or ask rule matches it. */
  autoAllowBashIfSandboxed: z.boolean().optional(),
  /** Commands (word prefixes, as in allowCommands) that run unsandboxed, under the normal rules. */
  excludedCommands: StringList.optional(),
  /** No sandbox here: deny Bash commands (true, the default) or judge them unsandboxed (false). */
  failIfUnavailable: z.boolean().optional(),
});

/** Server-specific guards: accepted now; a configured guard that is not enforced yet fails closed. */
export const GuardSettings = z.strictObject({
  filesystem: z
    .strictObject({
      roots: StringList,
      tools: z.record(z.string(), z.strictObject({ read: StringList.optional(), write: StringList.optional() })).optional(),
    })
    .optional(),
  sql: z
    .strictObject({
      readOnly: z.boolean(),
      dialect: z.string(),
      functions: z.strictObject({ allow: StringList.optional() }).optional(),
      /** The arguments holding SQL (default `sql` and `query`): one list for every tool, or per tool name (`*` for the rest). */
      arguments: z.union([StringList, z.record(z.string(), StringList)]).optional(),
    })
    .optional(),
  arguments: z
    .record(
      z.string(),
      z.record(
        z.string(),
        z.strictObject({
          enum: z.array(z.unknown()).optional(),
          pattern: z.string().optional(),
          maxLength: z.number().int().nonnegative().optional(),
          paths: StringList.optional(),
        }),
      ),
    )
    .optional(),
});

const StartupMode = z.enum(["eager", "lazy"]);

/**
 * What a server's own request to the client (sampling, elicitation, roots) may do:
 * `allow` in and outside calls; `duringCalls` only while one of the server's calls is open (denied
 * outside); `ask` a person first (approval page, `mcp-warden approvals`); `deny` never.
 */
export const ClientRequestAction = z.enum(["allow", "duringCalls", "ask", "deny"]);

/** Requests servers send to the client, by kind. Defaults: sampling ask, elicitation duringCalls, roots allow. */
export const ClientRequestSettings = z.strictObject({
  sampling: ClientRequestAction.optional(),
  elicitation: ClientRequestAction.optional(),
  roots: ClientRequestAction.optional(),
});

/**
 * Remote mode: the upstream's credential is a token the identity provider issues for the calling user
 * (RFC 8693 token exchange of the caller's access token), never the caller's own token.
 */
export const TokenExchangeSettings = z.strictObject({
  /** The gateway's own client id at the identity provider. */
  clientId: z.string().min(1),
  /** The NAME of the environment variable holding the gateway's client secret (never the secret itself). */
  clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the name of an environment variable (letters, digits and '_'), not the secret itself"),
  /** The `audience` parameter: whom the issued token is for. */
  audience: z.string().min(1).optional(),
  /** The `resource` parameter (RFC 8707): the upstream's URL the issued token is for. */
  resource: z.string().url().optional(),
  /** Scopes asked for the issued token, space-separated. */
  scope: z.string().min(1).optional(),
  /** The token endpoint; default the `token_endpoint` of remote.auth.issuer's discovery document. */
  tokenEndpoint: z.string().url().optional(),
});

/** One upstream server, in the shape of Claude Code's `.mcp.json` entries plus mcp-warden's own fields. */
export const ServerEntry = z
  .strictObject({
    type: z.enum(["stdio", "http", "streamable-http", "sse"]).optional(),
    command: z.string().min(1).optional(),
    args: StringList.optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    url: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** Only these upstream tool names (or `*` globs) exist for the client; the rest are denied. */
    allowedTools: StringList.optional(),
    /** These upstream tool names (or `*` globs) are denied. */
    denyTools: StringList.optional(),
    startup: StartupMode.optional(),
    /** Per-call timeout for this server, in milliseconds. */
    timeoutMs: z.number().int().positive().optional(),
    /** A disabled server is neither started nor exposed. */
    disabled: z.boolean().optional(),
    /** `legacy` (2025 initialize handshake), `auto` (probe with server/discover) or a pinned revision. */
    protocol: z
      .union([
        z.enum(["legacy", "auto"]),
        // zod reports only this branch's message for a wrong string, so it names every accepted form.
        z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected "legacy", "auto" or a protocol revision date like "2025-06-18"'),
      ])
      .optional(),
    sandbox: SandboxSettings.optional(),
    guards: GuardSettings.optional(),
    /** This server's requests to the client; each kind not set here comes from the global `clientRequests`. */
    clientRequests: ClientRequestSettings.optional(),
    /**
     * Remote mode (`serve`): how this server's upstream is shared between callers. `shared`: one for
     * everybody (stateless tools); `perPrincipal`: one per principal, reaped when idle (the default
     * for stdio servers); `perSession`: one per session.
     */
    share: z.enum(["shared", "perPrincipal", "perSession"]).optional(),
    /** Remote mode: the upstream's credential comes from an RFC 8693 token exchange for each caller (http and sse servers). */
    tokenExchange: TokenExchangeSettings.optional(),
  })
  .superRefine((entry, ctx) => {
    const type = entry.type ?? (entry.url ? "http" : "stdio");
    if (type === "stdio") {
      if (!entry.command) ctx.addIssue({ code: "custom", message: "a stdio server needs 'command'", path: ["command"] });
      if (entry.url) ctx.addIssue({ code: "custom", message: "a stdio server takes 'command', not 'url'", path: ["url"] });
      if (entry.headers) ctx.addIssue({ code: "custom", message: "'headers' is for http and sse servers", path: ["headers"] });
    } else {
      if (!entry.url) ctx.addIssue({ code: "custom", message: `a ${type} server needs 'url'`, path: ["url"] });
      // A url may start with a ${VAR} (`${API_BASE:-https://example.com}/mcp`); settings/expand.ts checks
      // the scheme again after expansion, so an expanded url that is not http(s) is still an error.
      else if (!/^(https?:\/\/|\$\{)/i.test(entry.url))
        ctx.addIssue({ code: "custom", message: "'url' must start with http:// or https://", path: ["url"] });
      for (const k of ["command", "args", "env", "cwd"] as const)
        if (entry[k] !== undefined) ctx.addIssue({ code: "custom", message: `'${k}' is for stdio servers`, path: [k] });
    }
    if (entry.tokenExchange) {
      if (type === "stdio") ctx.addIssue({ code: "custom", message: "'tokenExchange' is for http and sse servers", path: ["tokenExchange"] });
      // The credential is the caller's: one upstream for every caller would hand one caller's token to all.
      if (entry.share === "shared")
        ctx.addIssue({ code: "custom", message: "a server with 'tokenExchange' acts for each caller: 'share' must be \"perPrincipal\" or \"perSession\", not \"shared\"", path: ["share"] });
      // The exchanged token is the only credential such a server gets: a static one would be ambiguous.
      const authHeader = Object.keys(entry.headers ?? {}).find((h) => h.toLowerCase() === "authorization");
      if (authHeader) ctx.addIssue({ code: "custom", message: "'tokenExchange' supplies the Authorization header: remove it from 'headers'", path: ["headers", authHeader] });
      if (entry.url && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(entry.url))
        ctx.addIssue({ code: "custom", message: "'tokenExchange' supplies the credential: remove the user:password from 'url'", path: ["url"] });
    }
  });

/** An entry of allowedMcpServers / deniedMcpServers: exactly one way of matching. */
export const ServerMatcher = z.union([
  z.strictObject({ serverName: z.string().min(1) }),
  z.strictObject({ serverCommand: z.array(z.string()).min(1) }),
  z.strictObject({ serverUrl: z.string().min(1) }),
]);

export const GatewaySettings = z.strictObject({
  /** Separator between server and item names in exposed names (`github__create_issue`). */
  separator: z
    .string()
    .min(1)
    .max(8)
    .regex(/^[A-Za-z0-9_.-]+$/, "the separator is made of letters, digits, '_', '.' or '-'")
    .optional(),
  /** `false`: expose items without a server prefix; allowed only with a single upstream server. */
  prefix: z.boolean().optional(),
  startup: StartupMode.optional(),
  /** Default per-call timeout, in milliseconds. */
  callTimeoutMs: z.number().int().positive().optional(),
  /** Largest JSON-RPC message accepted from the client or an upstream, in bytes. */
  maxMessageBytes: z.number().int().positive().optional(),
  restart: z
    .strictObject({
      maxRestarts: z.number().int().nonnegative().optional(),
      initialDelayMs: z.number().int().nonnegative().optional(),
      maxDelayMs: z.number().int().positive().optional(),
    })
    .optional(),
  /** Where per-server stderr logs and status files go (default: the state directory). */
  logDir: z.string().optional(),
  /** Items per page of the merged lists the client sees. */
  pageSize: z.number().int().positive().max(10000).optional(),
});

export const AuditSettings = z.strictObject({
  /** Directory of the audit log (default: $XDG_STATE_HOME/mcp-warden/audit). */
  dir: z.string().optional(),
  fsyncIntervalMs: z.number().int().nonnegative().optional(),
  /**
   * Keyed mode: a file holding the HMAC key (at least 32 bytes) that signs the audit checkpoint, so
   * that whoever cannot read the key cannot rewrite or cut the log unnoticed. Managed, command-line
   * or user settings only.
   */
  hmacKeyFile: z.string().min(1).optional(),
});

/** How `ask` reaches a person. */
export const ApprovalSettings = z.strictObject({
  /** How long a held call waits for an answer, in milliseconds; then it is denied. */
  timeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
  /** Ask through the client's elicitation when the client supports it. */
  client: z.boolean().optional(),
  /** Serve the local page server on 127.0.0.1: the console (`mcp-warden console`) and the `mcp-warden approvals` API. */
  page: z.boolean().optional(),
  /**
   * A client that cannot be asked in band (no elicitation, or `client: false`) gets its held call
   * answered after this long with an error saying how to approve and retry (clients give up after
   * 60 s by default). A client that sent a progressToken is kept waiting up to `timeoutMs` instead.
   */
  holdMs: z.number().int().min(1000).max(3_600_000).optional(),
  /** How long a question whose call has ended stays answerable, and an approval given then lets the identical call through (once). */
  retryWindowMs: z.number().int().min(1000).max(86_400_000).optional(),
});

const SecretAction = z.enum(["block", "redact", "off"]);

/** Secrets in flight: tool-call arguments and results scanned for configured secrets and common formats. */
export const SecretScanningSettings = z.strictObject({
  /** What a secret in a call's arguments does: refuse the call (default), forward it redacted, or nothing. */
  arguments: SecretAction.optional(),
  /** What a secret in a result does: redact it (default), replace the result with an error, or nothing. */
  results: SecretAction.optional(),
  /** Environment variables whose values are secrets (besides servers' headers and secret-named env entries). */
  values: StringList.optional(),
  /** Detect common formats (private keys, cloud and forge tokens); default true. */
  formats: z.boolean().optional(),
});

/** What servers tell the model: tool pins and the poisoning scan. */
export const IntegritySettings = z.strictObject({
  /** Pin tool definitions and server launch configurations; changes need a person's approval (default true). */
  pins: z.boolean().optional(),
  /** Hide tools whose definitions carry poisoning signs (default true). */
  scanDefinitions: z.boolean().optional(),
  /** Largest tool result passed to the client, in bytes of JSON (default 1 MiB); a larger one becomes an error result. */
  maxResultBytes: z.number().int().positive().optional(),
  /** Remove control characters and ANSI escapes from text results (default false). */
  stripControlCharacters: z.boolean().optional(),
  /** Forward servers' log messages with their control characters and escape sequences (default false: removed). */
  keepLogControlCharacters: z.boolean().optional(),
});

/** A rate such as "600/min", "10/s" or "5000/hour": a token bucket of that many tokens refilled over the period. */
export const Rate = z
  .string()
  .regex(/^\s*[1-9]\d*\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/, 'a rate is "<count>/<s|min|hour>", e.g. "600/min"');

/** Token buckets: every call (and every list) takes one token from each bucket that applies. */
export const RateLimitSettings = z.strictObject({
  /** Across every caller. */
  global: Rate.optional(),
  /** Per principal (subject), across their sessions. */
  perPrincipal: Rate.optional(),
  /** Per principal and tool, by canonical tool name or glob (`mcp__*__search*`). */
  perTool: z.record(z.string(), Rate).optional(),
  /** Per upstream server, across every caller, by server name or `*`. */
  perServer: z.record(z.string(), Rate).optional(),
  /**
   * When the limit store (Redis, with `state.redis`) cannot answer in time: `deny` (default, fail
   * closed: calls get 429 until it answers), `local` (each replica meters calls with its own buckets,
   * the same limits per replica) or `allow` (calls go unmetered). The policy judges every call either way.
   */
  onStoreError: z.enum(["deny", "local", "allow"]).optional(),
});

/** One static API key: only its SHA-256 is stored (`mcp-warden keys create NAME` prints the key once). */
export const ApiKeyEntry = z.strictObject({
  /** "sha256:<hex>" of the key. */
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 hex digits>" (made by `mcp-warden keys create NAME`)'),
  /** The principal's subject; default `apikey:<name>`. */
  subject: z.string().min(1).optional(),
  groups: StringList.optional(),
  org: z.string().optional(),
  scopes: StringList.optional(),
  /** When the key stops working (ISO 8601). */
  expires: z.string().datetime({ offset: true }).optional(),
});

/** Remote mode's authentication: an OAuth 2.1 resource server (JWT access tokens) and static API keys. */
export const RemoteAuthSettings = z.strictObject({
  /** The OpenID issuer whose JWT access tokens are accepted (discovery at <issuer>/.well-known/openid-configuration). */
  issuer: z.string().url().optional(),
  /** The JWKS URL, when discovery is not used. */
  jwksUri: z.string().url().optional(),
  /** Accepted signature algorithms (asymmetric only); default RS256, PS256, ES256, EdDSA. */
  algorithms: z.array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"])).min(1).optional(),
  /** Allowed clock skew for exp and nbf, in seconds (default 30, at most 300). */
  clockSkewSeconds: z.number().int().min(0).max(300).optional(),
  /** The claims that carry groups, the organization and the client id. */
  groupsClaim: z.string().min(1).optional(),
  orgClaim: z.string().min(1).optional(),
  clientIdClaim: z.string().min(1).optional(),
  /** Scopes a request needs, by method (`tools/call`, `tools/list`, ...) or canonical tool name or glob. */
  requiredScopes: z.record(z.string(), StringList).optional(),
  /** Static API keys for agents and CI, by name. */
  apiKeys: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "a key name is letters, digits, '.', '-' and '_'"), ApiKeyEntry).optional(),
  /** Principals (`user:<sub>`, `group:<name>`, `client:<id>`, `org:<id>`) who may answer other principals' questions. */
  approvers: StringList.optional(),
});

/**
 * Shared state for several `serve` replicas: Redis (sessions, rate-limit buckets, approvals'
 * notifications) and PostgreSQL (audit log, pins and server approvals). Unset: files on this machine.
 */
export const StateSettings = z.strictObject({
  /** A redis:// or rediss:// URL; `${VAR}` for a password. */
  redis: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").optional(),
  /** A postgres:// or postgresql:// URL; `${VAR}` for a password. */
  postgres: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL").optional(),
});

export const PrincipalSelector = z
  .string()
  .regex(/^(\*|(user|group|client|org):.+)$/, 'a principal is "user:<subject>", "group:<name>", "client:<client id>", "org:<id>" or "*"');

/**
 * The web console at /console (src/fronts/console/): people sign in through remote.auth.issuer
 * (authorization code with PKCE) and get the highest role whose selectors their claims match.
 */
export const ConsoleSettings = z.strictObject({
  /** Default true when this block is present. */
  enabled: z.boolean().optional(),
  /** The console's client id at the identity provider (redirect URI <publicUrl>/console/callback). */
  clientId: z.string().min(1),
  /** The environment variable holding the client secret; unset: a public client (PKCE only). */
  clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").optional(),
  /** The origin people open the console at (https://warden.example.com); default the origin of remote.resource. */
  publicUrl: z.string().url().regex(/^https?:\/\/[^/?#]+\/?$/, "an origin: scheme://host[:port], no path").optional(),
  /** Scopes asked for at sign-in (default "openid profile email"); add the one your provider needs for the groups claim. */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, "a scope token")).min(1).optional(),
  /** Who holds each role (principal selectors, like `principals` keys). admin includes approver, approver includes viewer. */
  roles: z
    .strictObject({
      admin: z.array(PrincipalSelector).optional(),
      approver: z.array(PrincipalSelector).optional(),
      viewer: z.array(PrincipalSelector).optional(),
    })
    .optional(),
  /** A console session ends after this long without a request (default 30) ... */
  idleMinutes: z.number().positive().max(24 * 60).optional(),
  /** ... and this long after sign-in, whatever happens (default 12). */
  maxHours: z.number().positive().max(24 * 7).optional(),
  /**
   * Signing out also ends the person's session at the identity provider when it has an end-session
   * endpoint (OpenID Connect RP-Initiated Logout; register <publicUrl>/console/signed-out there as a
   * post-logout redirect URI). Default true; false ends the console session only.
   */
  signOutAtProvider: z.boolean().optional(),
});

/** `mcp-warden serve`: the authenticated HTTP front. */
export const RemoteSettings = z.strictObject({
  /** HOST:PORT to listen on (default 127.0.0.1:8787). */
  listen: z.string().min(1).optional(),
  /** This gateway's resource URL: the audience tokens must carry (RFC 8707) and the protected resource of RFC 9728. */
  resource: z.string().url().optional(),
  /** Host header values accepted (DNS rebinding); default: the listen address, localhost names and the resource's host. */
  allowedHosts: StringList.optional(),
  /** Origin header values accepted from browsers; a request with any other Origin gets 403. Default: none but the resource's own. */
  allowedOrigins: StringList.optional(),
  /** Proxies (IP addresses) whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trustedProxies: StringList.optional(),
  /** TLS from PEM files. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Largest request body, in bytes (default 4 MiB). */
  maxBodyBytes: z.number().int().positive().optional(),
  /** Time to receive a request's headers, in milliseconds (default 10000). */
  headersTimeoutMs: z.number().int().positive().optional(),
  /** An idle keep-alive connection is closed after this long, and a request body that stops arriving gets 408, in milliseconds (default 5000). */
  idleTimeoutMs: z.number().int().positive().optional(),
  auth: RemoteAuthSettings.optional(),
  /** The web console at /console; off when unset. */
  console: ConsoleSettings.optional(),
  /** 2025-era sessions. */
  sessions: z
    .strictObject({
      idleMinutes: z.number().positive().optional(),
      maxHours: z.number().positive().optional(),
      /** Sessions one principal may hold at once (default 16); the oldest is ended for a new one. */
      maxPerPrincipal: z.number().int().positive().optional(),
    })
    .optional(),
  rateLimits: RateLimitSettings.optional(),
  /**
   * Who may read `/metrics` (server names and traffic volumes). Default: loopback callers only;
   * with a bearer token set, any address presenting it (unless allowFrom narrows that too).
   */
  metrics: z
    .strictObject({
      /** Addresses or CIDR ranges (IPv4 or IPv6) allowed to scrape, e.g. "10.0.0.0/8"; replaces the loopback default. */
      allowFrom: StringList.optional(),
      /** The environment variable holding the bearer token scrapers must send (Prometheus' `authorization` / `bearer_token_file`). */
      bearerTokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").optional(),
    })
    .optional(),
  /** OpenTelemetry tracing over OTLP/HTTP (JSON): a span per forwarded request, its traceparent passed upstream. Off when unset. */
  tracing: z
    .strictObject({
      /** The collector's traces URL, e.g. http://otel-collector:4318/v1/traces. */
      endpoint: z.string().url().regex(/^https?:\/\//, "an http:// or https:// URL"),
      /** service.name of the spans (default "mcp-warden"). */
      serviceName: z.string().min(1).optional(),
      /** The share of traces started here that are recorded, 0 to 1 (default 1); a caller's sampled parent is always followed. */
      sampleRatio: z.number().min(0).max(1).optional(),
    })
    .optional(),
});

/** What a principal (`user:<sub>`, `group:<name>`, `client:<id>`, `org:<id>`, `*`) adds to the rules. */
export const PrincipalEntry = z.strictObject({
  permissions: z.strictObject({ allow: StringList.optional(), ask: StringList.optional(), deny: StringList.optional() }).optional(),
  autoApproveTools: StringList.optional(),
  rateLimits: z.strictObject({ perPrincipal: Rate.optional(), perTool: z.record(z.string(), Rate).optional() }).optional(),
});

/** Tool-specific lists in the second seed's form; normalized into permission rules. */
export const ToolPermissions = z.record(
  z.string(),
  z.strictObject({
    allowCommands: StringList.optional(),
    denyCommands: StringList.optional(),
    requireApproval: z.union([z.boolean(), StringList]).optional(),
    /** Bash only: the network of sandboxed commands (turns the hook's Bash sandbox on). */
    networkPolicy: z
      .strictObject({ allowDomains: StringList.optional(), denyDomains: StringList.optional(), allowLocalhost: z.boolean().optional() })
      .optional(),
  }),
).superRefine((value, ctx) => {
  for (const [tool, entry] of Object.entries(value))
    if (tool !== "Bash" && entry.networkPolicy !== undefined)
      ctx.addIssue({ code: "custom", path: [tool, "networkPolicy"], message: "networkPolicy applies to Bash only (toolPermissions.Bash.networkPolicy)" });
});

export const Settings = z.strictObject({
  $schema: z.string().optional(),
  permissions: PermissionRules.optional(),
  // The key is validated too, so a bad name is reported at `mcpServers.<name>`.
  mcpServers: z.record(ServerName, ServerEntry).optional(),
  allowedMcpServers: z.array(ServerMatcher).optional(),
  deniedMcpServers: z.array(ServerMatcher).optional(),
  allowManagedMcpServersOnly: z.boolean().optional(),
  allowManagedPermissionRulesOnly: z.boolean().optional(),
  /** Managed layer only: every server runs sandboxed (the platform's default backend when none is set); `type: "none"` is refused. */
  requireSandbox: z.boolean().optional(),
  /**
   * Managed layer only: a docker or podman sandbox's image must be pinned by digest
   * (`name@sha256:<hex>` or `name:tag@sha256:<hex>`); a tag-only image is refused (the server, or
   * `exec`, does not start).
   */
  requireImageDigest: z.boolean().optional(),
  /**
   * Managed layer only: a server started through a package runner (npx, npm exec, pnpm dlx, bunx,
   * uvx, pipx run...) must name one exact version (`pkg@1.2.3`, `pkg==1.2.3`); otherwise it does not
   * start (a new release would run at its next start).
   */
  requirePinnedPackages: z.boolean().optional(),
  /** Named sandboxes for `mcp-warden exec --profile NAME`. */
  sandboxProfiles: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, "a profile name is letters, digits, '-' and '_'"), SandboxSettings).optional(),
  /** Canonical tool names or globs (`mcp__github__get_*`) that are allowed without asking. */
  autoApproveTools: StringList.optional(),
  toolPermissions: ToolPermissions.optional(),
  /** Claude Code's older list of allow rules (`Bash`, `Bash(git status)`, `mcp__github__get_issue`): the same as permissions.allow. */
  allowedTools: StringList.optional(),
  /** The first seed's ask lists: per tool, patterns (`Bash: ["git push*"]`, `Write: ["*.env"]`) or `true` for every use (the only form for an MCP tool). */
  requireApproval: z.record(z.string(), z.union([z.boolean(), StringList])).optional(),
  /** The first seed's deny list for Bash: each entry a Bash pattern, as in toolPermissions.Bash.denyCommands. */
  denyCommands: StringList.optional(),
  /** The same as permissions.disableBypassPermissionsMode (the first seed writes it at the top level). */
  disableBypassPermissionsMode: z.literal("disable").optional(),
  sandbox: GlobalSandboxSettings.optional(),
  gateway: GatewaySettings.optional(),
  audit: AuditSettings.optional(),
  approvals: ApprovalSettings.optional(),
  secretScanning: SecretScanningSettings.optional(),
  integrity: IntegritySettings.optional(),
  /** Requests servers send to the client (sampling, elicitation, roots): allowed, asked or denied. */
  clientRequests: ClientRequestSettings.optional(),
  /** Remote mode (`mcp-warden serve`). */
  remote: RemoteSettings.optional(),
  /** Where replicas of `serve` keep what they share (Redis, PostgreSQL); unset: files on this machine. */
  state: StateSettings.optional(),
  /** Rules added for matching principals in remote mode; deny anywhere still wins. */
  principals: z.record(PrincipalSelector, PrincipalEntry).optional(),
  /** The seed's SSO settings, enforced by `serve`: `sso` accepts only the IdP's tokens (no API keys). */
  forceLoginMethod: z.enum(["sso", "any"]).optional(),
  /** `serve` accepts only tokens whose organization claim (remote.auth.orgClaim) equals this. */
  forceLoginOrgUUID: z.string().min(1).optional(),
});

/** `managed-mcp.json`: the exclusive server set, in `.mcp.json` form. */
export const ManagedMcpFile = z.strictObject({
  $schema: z.string().optional(),
  mcpServers: z.record(ServerName, ServerEntry),
});

export type Settings = z.infer<typeof Settings>;
export type ServerEntry = z.infer<typeof ServerEntry>;
export type ServerMatcher = z.infer<typeof ServerMatcher>;
export type PermissionRules = z.infer<typeof PermissionRules>;
export type GatewaySettings = z.infer<typeof GatewaySettings>;
export type RemoteSettings = z.infer<typeof RemoteSettings>;
export type StateSettings = z.infer<typeof StateSettings>;
export type PrincipalEntry = z.infer<typeof PrincipalEntry>;
