// Where audit records go: the file log (log.ts, the default, nothing to install) or PostgreSQL
// (postgres.ts, `state.postgres`, shared by several replicas). Callers see one small interface.
import type { AuditEntry, AuditRecord } from "./record.js";

export interface AuditSink {
  /** Where the records go, for the status file and messages (never a URL with a password). */
  readonly where: string;
  /**
   * Whether append() leaves the record where this process's death cannot lose it (the file log: in
   * the kernel). False for PostgreSQL, whose records wait in this process for their INSERT: a call's
   * outcome record is then awaited before the response goes back, so a replica killed right after
   * answering has still recorded every call it answered.
   */
  readonly durableOnAppend: boolean;
  /**
   * Chains one record (redacted) and hands it to the sink; throws when the sink is closed or has
   * failed. The file log has written it into the kernel on return; PostgreSQL inserts it within the
   * current turn of the event loop, in order with everything else this writer appends.
   */
  append(entry: AuditEntry): AuditRecord;
  /** Like append, for records nothing waits on (a call's outcome): the write may be batched. */
  appendSoon(entry: AuditEntry): AuditRecord;
  /**
   * Appends and resolves only once this record, and every record appended before it, is durable in
   * the sink; rejects when it cannot be (fail closed). For the record a forwarded call depends on.
   */
  appendDurable(entry: AuditEntry): Promise<AuditRecord>;
  /** Resolves once every record appended so far is durable; rejects when it cannot be. */
  flush(): Promise<void>;
  /** Writes what is pending and releases the sink. Idempotent. */
  close(): void | Promise<void>;
}
