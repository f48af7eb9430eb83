// The console of `mcp-warden run`, served by the gateway's local page server on 127.0.0.1
// (src/adapters/approval-page.ts). One person: the OS user who started the gateway, signed in with a
// one-time ticket (signin-local.ts) as admin. Questions are this gateway's broker's, answered as
// given on the page server (`by: "page"`; the person answers their own client's calls); activity is the audit log run writes; sessions live in this process's memory.
import { postgresUrlOf } from "../../audit/postgres-url.js";
import type { AuditSink } from "../../audit/index.js";
import type { ApprovalBroker } from "../../approvals/broker.js";
import type { Principal } from "../../policy/principal.js";
import type { ResolvedSettings } from "../../settings/index.js";
import { approverActions } from "../http/approvals-endpoint.js";
import { fileActivity, postgresActivity } from "./activity.js";
import { type Console, createConsole } from "./console.js";
import type { ServersSource } from "./servers.js";
import { localSignIn } from "./signin-local.js";

export interface LocalConsoleWiring {
  /** The page server's origin, http://127.0.0.1:PORT. */
  origin: string;
  /** The page server's admin token: console tickets are signed with it. */
  adminToken: string;
  /** The local person (method "local"). */
  principal: Principal;
  broker: ApprovalBroker;
  audit: AuditSink;
  /** The settings in force (run reloads them when their files change). */
  settings: () => ResolvedSettings;
  env: NodeJS.ProcessEnv;
  cwd: string;
  servers: () => { name: string; state: string; error?: string }[];
  /** The core's view of each server for the Servers page. */
  serverDetails?: Omit<ServersSource, "pins">;
}

/** Sessions end after this long without a request, and this long after sign-in regardless. */
const SESSION = { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000 };

export function localConsole(w: LocalConsoleWiring): Console {
  // Where the audit log is stays as the gateway started: a change there takes a restart.
  const started = w.settings();
  const postgres = postgresUrlOf(started.state, w.env);
  return createConsole({
    signIn: ({ sessions }) => localSignIn({ adminToken: w.adminToken, principal: w.principal, sessions, audit: w.audit }),
    publicOrigin: w.origin,
    session: SESSION,
    settings: w.settings,
    env: w.env,
    cwd: w.cwd,
    approvals: approverActions(w.broker, w.audit, undefined, { answerOwnCalls: true, by: "page" }),
    servers: w.servers,
    ...(w.serverDetails ? { serverDetails: w.serverDetails } : {}),
    activity: postgres !== undefined ? postgresActivity(postgres) : fileActivity(started.audit.dir),
    audit: w.audit,
  });
}
