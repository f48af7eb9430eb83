// Keeps one segment's head recorded in the checkpoint, for a long-running writer (the gateway's
// AuditLog). An update costs a few milliseconds, nearly all of it the fsync of the new checkpoint
// file, so it runs in the background: the lock is tried without waiting (its holders keep it for
// milliseconds) and the write and fsync are asynchronous; the event loop never waits on another
// process or on the disk. Heads arriving while an update is in flight are coalesced into the next.
// close() records the final head synchronously, superseding an update in flight under that
// update's own lock.
import { constants, renameSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  CHECKPOINT_FILE,
  CHECKPOINT_LOCK_STALE_MS,
  CheckpointError,
  commitCheckpoint,
  holdInBackground,
  lockCheckpoint,
  prepareCheckpoint,
  removeObsolete,
  updateCheckpoint,
  type AuditKey,
  type Head,
  type PreparedCheckpoint,
} from "./checkpoint.js";
import { releaseLock, stillHeld, type HeldLock } from "./lock.js";

/** A head that cannot be recorded this long (the lock always held) fails the writer: fail closed. */
const LAG_LIMIT_MS = 15_000;
/** Retry delay after finding the lock held. */
const RETRY_MS = 20;

interface Flight {
  lock: HeldLock;
  head: Head;
  /** Its temp file, renamed over the checkpoint once written and fsynced. */
  tmp: string;
  /** close(), or a synchronous taker of this process, took this flight's lock over: its write is dropped. */
  superseded: boolean;
  unregister: () => void;
}

export class CheckpointWriter {
  readonly #dir: string;
  readonly #name: string;
  readonly #key: AuditKey | undefined;
  readonly #onFailure: (e: Error) => void;
  #recorded: Head | undefined;
  #wanted: Head | undefined;
  #flight: Flight | undefined;
  #retry: NodeJS.Timeout | undefined;
  #dueSince: number | undefined;
  #stopped = false;

  constructor(dir: string, name: string, key: AuditKey | undefined, onFailure: (e: Error) => void) {
    this.#dir = dir;
    this.#name = name;
    this.#key = key;
    this.#onFailure = onFailure;
  }

  /**
   * Records `head` now, waiting at most `waitMs` for the lock, and seals the segments `seal` names.
   * Throws CheckpointError when it cannot.
   */
  recordNow(head: Head, waitMs: number, seal?: (name: string) => boolean): void {
    if (!updateCheckpoint(this.#dir, new Map([[this.#name, head]]), this.#key, waitMs, seal))
      throw new CheckpointError(`could not take the audit checkpoint lock in ${this.#dir} within ${waitMs} ms; another mcp-warden is writing (if none is running, remove ${join(this.#dir, "checkpoint.lock")})`);
    this.#recorded = head;
  }

  /** Records `head` in the background, once recordNow has recorded the first one. Failures go to onFailure. */
  recordSoon(head: Head): void {
    // Before the first recordNow (the segment-start, while opening), that call records it.
    if (this.#stopped || this.#recorded === undefined) return;
    this.#wanted = head;
    if (this.#flight === undefined && this.#retry === undefined) this.#start();
  }

  /**
   * Records the final head synchronously (waiting at most `waitMs`), seals the segment (nobody
   * writes it any more) and stops. Returns false when it could not (the records are written;
   * verify then counts them as not yet covered).
   */
  close(head: Head | undefined, waitMs: number): boolean {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const flight = this.#flight;
    this.#flight = undefined;
    if (flight) {
      flight.unregister();
      flight.superseded = true;
      // Its write is dropped; removed here too, since the process may exit before it completes.
      rmSync(flight.tmp, { force: true });
    }
    if (head === undefined) {
      if (flight) releaseLock(flight.lock);
      return true;
    }
    const own = (name: string) => name === this.#name;
    try {
      if (!flight) return updateCheckpoint(this.#dir, new Map([[this.#name, head]]), this.#key, waitMs, own);
      // The update in flight holds the lock: record the newer head under it; its own write is dropped.
      try {
        return commitCheckpoint(this.#dir, prepareCheckpoint(this.#dir, new Map([[this.#name, head]]), this.#key, own), flight.lock);
      } finally {
        releaseLock(flight.lock);
      }
    } catch {
      return false;
    }
  }

  #start(): void {
    const head = this.#wanted;
    if (this.#stopped || head === undefined || head === this.#recorded) return;
    let lock: HeldLock | undefined;
    let prepared: PreparedCheckpoint;
    try {
      lock = lockCheckpoint(this.#dir, 0);
      if (!lock) return this.#busy();
      prepared = prepareCheckpoint(this.#dir, new Map([[this.#name, head]]), this.#key);
    } catch (e) {
      if (lock) releaseLock(lock);
      return this.#fail(e as Error);
    }
    const flight: Flight = { lock, head, tmp: join(this.#dir, `.${randomBytes(6).toString("hex")}.tmp`), superseded: false, unregister: () => undefined };
    this.#flight = flight;
    flight.unregister = holdInBackground(this.#dir, lock, () => {
      // Another writer of this process takes the lock (and releases it): this update starts again later.
      flight.superseded = true;
      rmSync(flight.tmp, { force: true });
      if (this.#flight === flight) this.#flight = undefined;
      this.#busy();
    });
    writeTemp(flight.tmp, prepared.text).then(
      () => {
        const tmp = flight.tmp;
        if (flight.superseded) return rmSync(tmp, { force: true });
        let committed = false;
        try {
          // Synchronous from the check to the rename: close() cannot run in between.
          if (stillHeld(flight.lock, CHECKPOINT_LOCK_STALE_MS)) {
            renameSync(tmp, join(this.#dir, CHECKPOINT_FILE));
            removeObsolete(this.#dir, prepared);
            committed = true;
          } else {
            rmSync(tmp, { force: true });
          }
        } catch (e) {
          rmSync(tmp, { force: true });
          this.#end(flight);
          return this.#fail(new CheckpointError(`cannot write the audit checkpoint ${join(this.#dir, CHECKPOINT_FILE)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
        }
        this.#end(flight);
        if (!committed) return this.#busy(); // we stalled past the lease: try again on what is on disk
        this.#recorded = flight.head;
        this.#dueSince = undefined;
        if (this.#wanted !== this.#recorded) this.#start();
      },
      (e: NodeJS.ErrnoException) => {
        if (flight.superseded) return;
        this.#end(flight);
        this.#fail(new CheckpointError(`cannot write the audit checkpoint in ${this.#dir}: ${e.code ?? e.message}`));
      },
    );
  }

  #end(flight: Flight): void {
    flight.unregister();
    releaseLock(flight.lock);
    if (this.#flight === flight) this.#flight = undefined;
  }

  #busy(): void {
    this.#dueSince ??= Date.now();
    if (Date.now() - this.#dueSince > LAG_LIMIT_MS) {
      return this.#fail(new CheckpointError(`could not record the audit checkpoint in ${this.#dir} for ${LAG_LIMIT_MS} ms: its lock is held (if no mcp-warden is writing, remove ${join(this.#dir, "checkpoint.lock")})`));
    }
    this.#retry ??= setTimeout(() => {
      this.#retry = undefined;
      this.#start();
    }, RETRY_MS).unref();
  }

  #fail(e: Error): void {
    this.#stopped = true;
    this.#onFailure(e);
  }
}

/** The asynchronous half of safe-files' writeFileAtomic: a fresh temp file (O_EXCL, O_NOFOLLOW, 0600), written and fsynced. */
async function writeTemp(tmp: string, text: string): Promise<void> {
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    rmSync(tmp, { force: true });
    throw e;
  }
  await fh.close();
}
