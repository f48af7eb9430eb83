// The audit sink a gateway writes to: PostgreSQL when `state.postgres` names one (the log every
// replica shares), otherwise the file log on this machine; observed either way, so serve's metrics
// count the records (ObservedAuditSink.observe).
import type { ResolvedSettings } from "../settings/index.js";
import { AuditLog } from "./log.js";
import { ObservedAuditSink } from "./observed.js";
import { PostgresAuditSink } from "./postgres.js";
import { postgresUrlOf } from "./postgres-url.js";

export function openAuditSink(s: ResolvedSettings, env: NodeJS.ProcessEnv, log: (message: string) => void): ObservedAuditSink {
  const postgres = postgresUrlOf(s.state, env);
  return new ObservedAuditSink(
    postgres !== undefined
      ? new PostgresAuditSink({
          url: postgres,
          secrets: s.secrets,
          // The failure itself cannot be recorded (the log is what failed); the next writer's first record names it.
          onHealth: (failure) => log(failure !== undefined ? failure : "the audit log in PostgreSQL is back: calls are recorded and forwarded again (a new writer chain started)"),
        })
      : AuditLog.open({ dir: s.audit.dir, fsyncIntervalMs: s.audit.fsyncIntervalMs, secrets: s.secrets, hmacKeyFile: s.audit.hmacKeyFile }),
  );
}
