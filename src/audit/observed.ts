// An audit sink that also tells observers (serve's metrics) about every entry it accepts, whatever
// the sink behind it (the file log, PostgreSQL). Observers count; they never change or hold up a
// record, and their failures are not the audit log's.
import type { AuditEntry, AuditRecord } from "./record.js";
import type { AuditSink } from "./sink.js";

export class ObservedAuditSink implements AuditSink {
  private readonly observers: ((entry: AuditEntry) => void)[] = [];

  constructor(private readonly inner: AuditSink) {}

  get where(): string {
    return this.inner.where;
  }

  get durableOnAppend(): boolean {
    return this.inner.durableOnAppend;
  }

  /** Calls `fn` with every entry accepted from now on. */
  observe(fn: (entry: AuditEntry) => void): void {
    this.observers.push(fn);
  }

  append(entry: AuditEntry): AuditRecord {
    const record = this.inner.append(entry);
    this.tell(entry);
    return record;
  }

  appendSoon(entry: AuditEntry): AuditRecord {
    const record = this.inner.appendSoon(entry);
    this.tell(entry);
    return record;
  }

  async appendDurable(entry: AuditEntry): Promise<AuditRecord> {
    const record = await this.inner.appendDurable(entry);
    this.tell(entry);
    return record;
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }

  private tell(entry: AuditEntry) {
    for (const fn of this.observers) {
      try {
        fn(entry);
      } catch {
        // The record is written; only the count is lost.
      }
    }
  }
}
