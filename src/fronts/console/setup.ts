// Building the console from serve's settings (remote.console), or saying why it cannot be built.
import { postgresUrlOf } from "../../audit/postgres-url.js";
import type { AuditSink } from "../../audit/index.js";
import type { ResolvedSettings } from "../../settings/index.js";
import type { ApproverActions } from "../http/approvals-endpoint.js";
import { fileActivity, postgresActivity } from "./activity.js";
import { type Console, createConsole } from "./console.js";
import type { IncidentReportStore } from "./incidents.js";
import type { ConsoleSessionStore } from "./sessions.js";
import { pinStoreFor } from "../../adapters/pin-store-factory.js";
import type { ServersSource } from "./servers.js";
import { oidcSignIn } from "./signin-oidc.js";

/** Why the console settings cannot work, as one sentence saying what to do; undefined when they can. */
export function consoleRefusal(settings: ResolvedSettings, env: NodeJS.ProcessEnv): string | undefined {
  const c = settings.remote?.console;
  if (!c || c.enabled === false) return undefined;
  if (!settings.remote?.auth?.issuer) return "remote.console signs people in through the identity provider, but remote.auth.issuer is not set: set it (or remove remote.console)";
  if (c.clientSecretEnv !== undefined && !env[c.clientSecretEnv])
    return `remote.console.clientSecretEnv names ${c.clientSecretEnv}, which is not set: set it to the client secret of '${c.clientId}' at the identity provider`;
  return undefined;
}

export interface ConsoleWiring {
  settings: () => ResolvedSettings;
  env: NodeJS.ProcessEnv;
  /** remote.resource (resolved): its origin is the console's unless remote.console.publicUrl says otherwise. */
  resource: string;
  approvals: ApproverActions;
  servers: () => { name: string; state: string; error?: string }[];
  audit: AuditSink;
  /** A session store every replica shares (state.redis); without it, this process's memory. */
  sessions?: (times: { idleMs: number; maxMs: number }) => ConsoleSessionStore;
  /** Finished incident reports every replica shares (state.redis). */
  incidentReports?: () => IncidentReportStore;
  /** The core's view of each server for the Servers page (the pin store is opened here). */
  serverDetails?: Omit<ServersSource, "pins">;
}

/** The console, or undefined when remote.console is unset or disabled. Call consoleRefusal first. */
export function buildConsole(w: ConsoleWiring): { console: Console; redirectUri: string; postLogoutRedirectUri?: string } | undefined {
  const settings = w.settings();
  const c = settings.remote?.console;
  if (!c || c.enabled === false) return undefined;
  const auth = settings.remote!.auth!;
  const publicOrigin = c.publicUrl !== undefined ? new URL(c.publicUrl).origin : new URL(w.resource).origin;
  const redirectUri = `${publicOrigin}/console/callback`;
  const postLogoutRedirectUri = c.signOutAtProvider === false ? undefined : `${publicOrigin}/console/signed-out`;
  const postgres = postgresUrlOf(settings.state, w.env);
  const secret = c.clientSecretEnv !== undefined ? w.env[c.clientSecretEnv] : undefined;
  const times = { idleMs: (c.idleMinutes ?? 30) * 60_000, maxMs: (c.maxHours ?? 12) * 3_600_000 };
  const console = createConsole({
    signIn: ({ sessions, secure, safeReturn }) =>
      oidcSignIn({
        oidc: {
          issuer: auth.issuer!,
          clientId: c.clientId,
          ...(secret !== undefined ? { clientSecret: secret } : {}),
          redirectUri,
          scopes: c.scopes ?? ["openid", "profile", "email"],
          algorithms: auth.algorithms ?? ["RS256", "PS256", "ES256", "EdDSA"],
          clockSkewSeconds: auth.clockSkewSeconds ?? 30,
          claims: { groups: auth.groupsClaim ?? "groups", org: auth.orgClaim ?? "org_id" },
        },
        sessions,
        audit: w.audit,
        roles: () => w.settings().remote?.console?.roles ?? {},
        approvers: () => w.settings().remote?.auth?.approvers ?? [],
        secure,
        safeReturn,
        ...(postLogoutRedirectUri !== undefined ? { postLogoutRedirectUri } : {}),
      }),
    ...(w.sessions ? { sessions: w.sessions(times) } : {}),
    ...(w.incidentReports ? { incidentReports: w.incidentReports() } : {}),
    publicOrigin,
    session: times,
    settings: w.settings,
    env: w.env,
    cwd: process.cwd(),
    approvals: w.approvals,
    servers: w.servers,
    activity: postgres !== undefined ? postgresActivity(postgres) : fileActivity(settings.audit.dir),
    audit: w.audit,
    ...(w.serverDetails ? { serverDetails: { ...w.serverDetails, pins: pinStoreFor(settings, w.env) } } : {}),
  });
  return { console, redirectUri, ...(postLogoutRedirectUri !== undefined ? { postLogoutRedirectUri } : {}) };
}
